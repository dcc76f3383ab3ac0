// `npm run sandbox` end to end: a control plane of its own, the cloud simulator, the provider as a
// child process, the webhook, the demo. Once it says it is ready, every "Try next" command it
// printed runs verbatim in bash after its `source` line, with the machine's PATH minus the test's
// Node 24 (as on a fresh machine), and must succeed. Then Ctrl-C (SIGINT) stops it. A demo pod on
// the demo PodNetworking gets an IP inside one of that PodNetworking's vSwitch CIDRs (read from
// the world file, not from the sandbox), the default-network pods inside the default vSwitches';
// the provider gave its Lease up on the way out; and every process the sandbox started (found in
// /proc while it ran, by parent pid) is gone afterwards.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEMO, SANDBOX_WORLD_FILE } from '../../adapters/cli/sandbox.ts';
import { loadWorldFile } from '../../adapters/cloudsim/world.ts';
import { isProcessAlive, killGroup } from '../controlplane/processes.ts';
import { budget, waitForExit, waitForOutput } from '../helpers/deadline.ts';
import { ipInCidr } from './helpers/provider.ts';

const REPO = join(import.meta.dirname, '..', '..');
const SANDBOX_RUN_MS = budget({ baseMs: 360_000 });
/** One printed command (kubectl, or eci-virtual-node starting Node and the cloud clients). */
const COMMAND_MS = budget({ baseMs: 60_000 });
/** How long a printed command that streams (`logs -f`) runs before it is stopped. */
const FOLLOW_SECONDS = 10;
/** After SIGINT: the sandbox stops the provider, the control plane, and removes its files. */
const SANDBOX_STOP_MS = budget({ baseMs: 60_000 });

/** The machine's PATH without the Node 24 the tests run with: what a newcomer's shell has. */
function freshMachinePath(): string {
  return (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => dir !== '' && !dir.includes('eci-virtual-node/node24') && !dir.endsWith('node_modules/.bin'))
    .join(':');
}

/** Runs `line` in bash after `source`: its exit code and output (never throws). */
function runInShell(sourceLine: string, line: string): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', `set -e\n${sourceLine}\n${line}`],
      { env: { HOME: process.env.HOME, PATH: freshMachinePath(), LANG: 'C.UTF-8' }, timeout: COMMAND_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
        resolve({ code: e === null ? 0 : e.killed === true ? `killed after ${COMMAND_MS / 1000} s` : (e.code ?? e.message), stdout, stderr });
      },
    );
  });
}

/** pid -> parent pid of every process on the machine. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // exited while we looked
    }
  }
  return parents;
}

/** Every live descendant of `root`, with its command line. */
function descendants(root: number): Map<number, string> {
  const parents = parentPids();
  const found = new Map<number, string>();
  for (const pid of parents.keys()) {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p !== root) continue;
      try {
        // cmdline can read empty for a moment (seen for kube-apiserver on a loaded machine); the
        // process name (comm) is always there.
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
        found.set(pid, cmdline || `[${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}]`);
      } catch {
        // gone
      }
      break;
    }
  }
  return found;
}

describe('npm run sandbox', () => {
  const tempRoot = mkdtempSync(join(tmpdir(), 'eci-vn-sandbox-test-'));
  afterAll(() => rmSync(tempRoot, { recursive: true, force: true }));

  it('runs the demo, every printed "Try next" command works verbatim, a demo pod gets an IP from the demo PodNetworking, and after Ctrl-C nothing is left running', async () => {
    const child = spawn(process.execPath, ['adapters/cli/main.ts', 'sandbox', '--keep-dirs'], {
      cwd: REPO,
      env: { ...process.env, TMPDIR: tempRoot, KUBECONFIG: '', OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    // Everything the sandbox starts, seen while it runs (the control plane, the provider): looked
    // for every 200 ms, and once more the moment it says it is ready (when all of it must run).
    const seen = new Map<number, string>();
    const look = () => {
      // Keep the full command line once seen; a later empty read only has the process name.
      for (const [pid, cmd] of descendants(child.pid!)) if (!seen.has(pid) || !cmd.startsWith('[')) seen.set(pid, cmd);
    };
    const onLine = (line: string) => {
      output.push(line);
      if (line.startsWith('Sandbox ready')) look();
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    const watch = setInterval(look, 200);
    // Its own control plane, the provider, the demo pods: minutes on a loaded 2-CPU machine.
    let interrupted = false;
    const interrupt = setTimeout(() => {
      interrupted = true;
      child.kill('SIGINT');
    }, SANDBOX_RUN_MS);
    let code: number | null;
    const commandsRun: { line: string; code: number | string; stdout: string; stderr: string }[] = [];
    try {
      await waitForOutput(child, { pattern: 'Press Ctrl-C to stop.', timeoutMs: SANDBOX_RUN_MS + SANDBOX_STOP_MS, what: 'the sandbox to be ready', output: () => output.join('\n') });
      clearTimeout(interrupt);
      // The "Try next" block: its `source` line, then one command per line (`# ...` is a comment).
      const tryAt = output.findIndex((l) => l.startsWith('Try next'));
      const block = output.slice(tryAt + 2, output.indexOf('', tryAt + 2)).map((l) => l.trim());
      const sourceLine = block[0] ?? '';
      expect(sourceLine, output.join('\n')).toMatch(/^source \S+$/);
      for (const printed of block.slice(1)) {
        const line = printed.replace(/\s+#.*$/, '');
        // A command that follows (logs -f) streams until stopped: it gets a bounded run.
        const follows = /\s-f(\s|$)/.test(line);
        const result = await runInShell(sourceLine, follows ? `timeout ${FOLLOW_SECONDS} ${line}` : line);
        if (follows && result.code === 124) result.code = result.stdout === '' ? 'stopped after the bounded run without printing anything' : 0;
        commandsRun.push({ line, ...result });
      }
      child.kill('SIGINT');
      ({ code } = await waitForExit(child, { timeoutMs: SANDBOX_STOP_MS, what: 'the sandbox to stop after SIGINT', output: () => output.join('\n') }));
    } catch (err) {
      // Stuck even after SIGINT: kill it and what it started (SIGKILL skips its own cleanup).
      look();
      child.kill('SIGKILL');
      for (const pid of seen.keys()) {
        killGroup(pid, 'SIGKILL');
        if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      throw err;
    } finally {
      child.kill('SIGINT');
      clearTimeout(interrupt);
      clearInterval(watch);
    }
    const log = output.join('\n');
    expect(interrupted, `the sandbox was not ready within ${SANDBOX_RUN_MS / 1000} s (then sent SIGINT):\n${log}`).toBe(false);

    // Every printed command worked, as printed; and the ones the sandbox exists to show did what
    // they say: the kubelet API served logs, exec and node stats, explain and whitelist answered.
    const show = (r: (typeof commandsRun)[number]) => `$ ${r.line}\nexit: ${String(r.code)}\n${r.stdout}${r.stderr}`;
    for (const r of commandsRun) expect(r.code, `a printed "Try next" command failed:\n${show(r)}\n\nsandbox output:\n${log}`).toBe(0);
    const ran = (pattern: RegExp) => {
      const r = commandsRun.find((c) => pattern.test(c.line));
      expect(r, `no printed command matches ${String(pattern)}; printed:\n${commandsRun.map((c) => c.line).join('\n')}`).toBeDefined();
      return r!;
    };
    expect(ran(/^kubectl logs -f /).stdout, show(ran(/^kubectl logs -f /))).toContain('[cloudsim] container');
    expect(ran(/^kubectl exec .* -- echo hello$/).stdout).toBe('hello\n');
    const stats = ran(/^kubectl get --raw \/api\/v1\/nodes\/.*\/proxy\/stats\/summary$/);
    expect((JSON.parse(stats.stdout) as { node?: { nodeName?: string } }).node?.nodeName, show(stats)).toBe(stats.line.split('/')[4]);
    expect(ran(/^eci-virtual-node explain /).stdout, show(ran(/^eci-virtual-node explain /))).toContain(SANDBOX_DEMO.podNetworking.name);
    const whitelistWorld = await loadWorldFile(SANDBOX_WORLD_FILE);
    for (const id of SANDBOX_DEMO.podNetworking.vSwitchIds) {
      expect(ran(/^eci-virtual-node whitelist /).stdout).toContain(whitelistWorld.vSwitches.find((v) => v.id === id)!.cidr);
    }
    expect(code, log).toBe(0);

    // It started the control plane and the provider as a child process, and they are all gone.
    const commands = [...seen.values()];
    expect(commands.some((c) => c.includes('kube-apiserver')), `processes seen:\n${commands.join('\n')}\n\n${log}`).toBe(true);
    expect(commands.some((c) => / run$/.test(c) && c.includes('main.ts')), commands.join('\n')).toBe(true);
    expect([...seen.keys()].filter((pid) => isProcessAlive(pid)).map((pid) => seen.get(pid))).toEqual([]);
    expect(output.some((l) => l.startsWith('stopped; files kept in ')), log).toBe(true);

    // The demo pods, as the sandbox read them from the API: every one Running with an IP.
    const start = output.indexOf('Demo pods:');
    expect(start, log).toBeGreaterThan(0);
    const rows = output
      .slice(start + 2, output.indexOf('', start))
      .map((line) => line.trim().split(/\s{2,}/))
      .map(([pod = '', network = '', zone = '', vSwitch = '', ip = '']) => ({ pod, network, zone, vSwitch: vSwitch.split(' ')[0]!, ip }));
    const total = SANDBOX_DEMO.deployments.reduce((sum, d) => sum + d.replicas, 0);
    expect(rows, log).toHaveLength(total);

    const world = await loadWorldFile(SANDBOX_WORLD_FILE);
    const cidrOf = (id: string) => world.vSwitches.find((v) => v.id === id)!.cidr;
    const zoneOf = (id: string) => world.vSwitches.find((v) => v.id === id)!.zoneId;
    const demo = rows.filter((r) => r.network === SANDBOX_DEMO.podNetworking.name);
    expect(demo).toHaveLength(SANDBOX_DEMO.deployments.find((d) => d.name === 'demo-web')!.replicas);
    for (const row of demo) {
      expect(SANDBOX_DEMO.podNetworking.vSwitchIds as readonly string[]).toContain(row.vSwitch);
      expect(ipInCidr(row.ip, cidrOf(row.vSwitch)), `${row.pod} ${row.ip} in ${row.vSwitch} ${cidrOf(row.vSwitch)}`).toBe(true);
      expect(row.zone).toBe(zoneOf(row.vSwitch));
    }
    const others = rows.filter((r) => r.network === 'default');
    expect(others).toHaveLength(total - demo.length);
    for (const row of others) {
      expect(SANDBOX_DEMO.defaultNetwork.vSwitchIds as readonly string[]).toContain(row.vSwitch);
      expect(ipInCidr(row.ip, cidrOf(row.vSwitch)), `${row.pod} ${row.ip} in ${cidrOf(row.vSwitch)}`).toBe(true);
    }

    // The provider led (Lease) and, stopped with SIGTERM, stopped its work and released the Lease.
    const logDir = output.find((l) => l.startsWith('Logs:'))!.replace(/^Logs:\s+/, '').split(' ')[0]!;
    const providerLog = readFileSync(join(logDir, 'provider.log'), 'utf8');
    expect(providerLog).toContain('leader election: leading');
    expect(providerLog).toContain('leader election: released the lease');
    // And it stopped by itself (exit code 0), not by the sandbox's SIGKILL backstop.
    expect(providerLog).toContain('provider stopped');
    expect(output.find((l) => l.startsWith('provider stopped (')), log).toBe('provider stopped (exit code 0)');
  }, SANDBOX_RUN_MS + SANDBOX_STOP_MS + 30_000);
});
