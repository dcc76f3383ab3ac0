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
import { budget, waitFor, waitForExit, withDeadline } from './helpers/wait.ts';

const REPO = join(import.meta.dirname, '..', '..');
/** Per control-plane component (etcd, then kube-apiserver, then the other two): slow on a loaded machine. */
const COMPONENT_START_MS = budget({ baseMs: 120_000 });
const START_MS = 3 * COMPONENT_START_MS;
/** SIGINT/stop to every process gone: each component gets 10 s to stop, then SIGKILL. */
const STOP_MS = budget({ baseMs: 60_000 });
/** vitest's per-test limit: a backstop above the named deadlines of each test. */
const BACKSTOP_MS = START_MS + STOP_MS + 60_000;
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
    const cp = await startControlPlane({ binDir: controlPlane().binDir, tempRoot, startTimeoutMs: COMPONENT_START_MS });
    expect(cp.dir.startsWith(tempRoot)).toBe(true);
    expect(cp.processes.map((p) => p.name).sort()).toEqual(COMPONENTS);
    const running = processesMentioning(cp.dir);
    expect(componentNames(running)).toEqual(COMPONENTS);
    expect([...running.keys()].sort()).toEqual(cp.processes.map((p) => p.pid).sort());

    await withDeadline(cp.stop(), STOP_MS, 'the control plane to stop');

    expect(cp.processes.filter((p) => isProcessAlive(p.pid))).toEqual([]);
    expect([...processesMentioning(cp.dir).values()]).toEqual([]);
    expect(existsSync(cp.dir)).toBe(false);
    expect(readdirSync(tempRoot)).toEqual([]);
  }, BACKSTOP_MS);

  it('a failed start names the component, shows its log tail, and leaves nothing behind', async () => {
    const failure = await startControlPlane({
      binDir: controlPlane().binDir,
      tempRoot,
      extraArgs: { 'kube-apiserver': ['--no-such-flag=1'] },
      startTimeoutMs: COMPONENT_START_MS,
    }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ControlPlaneStartError);
    const message = (failure as Error).message;
    expect(message).toMatch(/kube-apiserver exited \(code \d+\) before it was healthy/);
    expect(message).toContain('unknown flag: --no-such-flag');
    expect(readdirSync(tempRoot)).toEqual([]);
    expect([...processesMentioning(tempRoot).values()]).toEqual([]);
  }, BACKSTOP_MS);

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
    // Ready once it prints its one `source <control-plane dir>/sandbox/env` line.
    const envFile = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`sandbox exited with ${child.exitCode}:\n${output.join('\n')}`);
        return output.find((line) => /^source \S+\/sandbox\/env$/.test(line.trim()))?.trim().slice('source '.length);
      },
      { timeoutMs: START_MS, describe: () => `the sandbox to be ready (its "source <file>" line); output so far:\n${output.join('\n')}` },
    );
    return { child, dir: dirname(dirname(envFile)), output };
  }

  it('Ctrl-C (SIGINT) on the sandbox stops every process and removes its temp dir', async () => {
    const { child, dir, output } = await startSandbox();
    expect(componentNames(processesMentioning(dir))).toEqual(COMPONENTS);

    child.kill('SIGINT');
    const { code } = await waitForExit(child, { timeoutMs: STOP_MS, what: 'the sandbox after SIGINT', output: () => output.join('\n') });
    expect(code, output.join('\n')).toBe(0);

    expect([...processesMentioning(dir).values()]).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(output).toContain('stopped; temp files removed');
  }, BACKSTOP_MS);

  it('after the owner is SIGKILLed (no handler can run), the next start reaps its orphans', async () => {
    const { child, dir, output } = await startSandbox();
    const orphans = processesMentioning(dir);
    expect(componentNames(orphans)).toEqual(COMPONENTS);

    child.kill('SIGKILL');
    await waitForExit(child, { timeoutMs: STOP_MS, what: 'the sandbox after SIGKILL', output: () => output.join('\n') });
    // Nothing cleaned up: the components outlive their owner. This is what the reaper is for.
    expect(componentNames(processesMentioning(dir))).toEqual(COMPONENTS);
    expect(existsSync(dir)).toBe(true);

    expect(reapOrphans(tempRoot)).toEqual([dir]);
    await waitFor(() => processesMentioning(dir).size === 0, {
      timeoutMs: budget({ baseMs: 20_000 }),
      describe: () => `the orphans to die (still running: ${[...processesMentioning(dir).values()].join('; ')})`,
    });
    expect(existsSync(dir)).toBe(false);
  }, BACKSTOP_MS);
});
