// The harness never leaves anything behind: after stop(), after Ctrl-C on the sandbox, and (via
// the reaper) even after its owner was SIGKILLed. Each case starts its own, second control plane
// in a private temp root, and checks the machine itself (/proc), not the harness's bookkeeping.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlPlaneStartError, reapOrphans, startControlPlane } from '../controlplane/controlplane.ts';
import { isProcessAlive } from '../controlplane/processes.ts';
import { controlPlane } from './helpers/cluster.ts';
import { waitFor } from './helpers/wait.ts';

const REPO = join(import.meta.dirname, '..', '..');
const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

/** Live processes (not zombies) whose command line mentions `text`, by pid. */
function processesMentioning(text: string): Map<number, string> {
  const found = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // exited while we looked
    }
    if (cmdline.includes(text) && isProcessAlive(pid)) found.set(pid, cmdline);
  }
  return found;
}

const componentNames = (processes: Map<number, string>): string[] =>
  [...processes.values()].map((cmd) => cmd.split(' ')[0]!.split('/').at(-1)!).sort();

describe('control-plane harness teardown', () => {
  const tempRoot = mkdtempSync(join(tmpdir(), 'eci-vn-teardown-test-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    reapOrphans(tempRoot);
    rmSync(tempRoot, { recursive: true, force: true });
  });

  it('stop() ends every process it started and removes its temp dir', async () => {
    const cp = await startControlPlane({ binDir: controlPlane().binDir, tempRoot });
    expect(cp.dir.startsWith(tempRoot)).toBe(true);
    expect(cp.processes.map((p) => p.name).sort()).toEqual(COMPONENTS);
    const running = processesMentioning(cp.dir);
    expect(componentNames(running)).toEqual(COMPONENTS);
    expect([...running.keys()].sort()).toEqual(cp.processes.map((p) => p.pid).sort());

    await cp.stop();

    expect(cp.processes.filter((p) => isProcessAlive(p.pid))).toEqual([]);
    expect([...processesMentioning(cp.dir).values()]).toEqual([]);
    expect(existsSync(cp.dir)).toBe(false);
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it('a failed start names the component, shows its log tail, and leaves nothing behind', async () => {
    const failure = await startControlPlane({
      binDir: controlPlane().binDir,
      tempRoot,
      extraArgs: { 'kube-apiserver': ['--no-such-flag=1'] },
    }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ControlPlaneStartError);
    const message = (failure as Error).message;
    expect(message).toMatch(/kube-apiserver exited \(code \d+\) before it was healthy/);
    expect(message).toContain('unknown flag: --no-such-flag');
    expect(readdirSync(tempRoot)).toEqual([]);
    expect([...processesMentioning(tempRoot).values()]).toEqual([]);
  });

  /** Starts `npm run sandbox`'s command with TMPDIR=tempRoot; resolves with its temp dir once ready. */
  async function startSandbox(): Promise<{ child: ChildProcess; dir: string; output: string[] }> {
    const child = spawn(process.execPath, ['adapters/cli/main.ts', 'sandbox'], {
      cwd: REPO,
      env: { ...process.env, TMPDIR: tempRoot },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const output: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => output.push(line));
    createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
    const kubeconfig = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`sandbox exited with ${child.exitCode}:\n${output.join('\n')}`);
        return output.find((line) => line.trim().startsWith('export KUBECONFIG='))?.trim().slice('export KUBECONFIG='.length);
      },
      { timeoutMs: 120_000, describe: () => `the sandbox to be ready; output so far:\n${output.join('\n')}` },
    );
    return { child, dir: dirname(kubeconfig), output };
  }

  it('Ctrl-C (SIGINT) on the sandbox stops every process and removes its temp dir', async () => {
    const { child, dir, output } = await startSandbox();
    expect(componentNames(processesMentioning(dir))).toEqual(COMPONENTS);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited, output.join('\n')).toBe(0);

    expect([...processesMentioning(dir).values()]).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(output).toContain('stopped; temp files removed');
  });

  it('after the owner is SIGKILLed (no handler can run), the next start reaps its orphans', async () => {
    const { child, dir } = await startSandbox();
    const orphans = processesMentioning(dir);
    expect(componentNames(orphans)).toEqual(COMPONENTS);

    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    // Nothing cleaned up: the components outlive their owner. This is what the reaper is for.
    expect(componentNames(processesMentioning(dir))).toEqual(COMPONENTS);
    expect(existsSync(dir)).toBe(true);

    expect(reapOrphans(tempRoot)).toEqual([dir]);
    await waitFor(() => processesMentioning(dir).size === 0, {
      timeoutMs: 10_000,
      describe: () => `the orphans to die (still running: ${[...processesMentioning(dir).values()].join('; ')})`,
    });
    expect(existsSync(dir)).toBe(false);
  });
});
