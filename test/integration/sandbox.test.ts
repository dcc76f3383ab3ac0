// `npm run sandbox` end to end, non-interactively (`--exit-after-ready`): a control plane of its
// own, the cloud simulator, the provider as a child process, the webhook, the demo. A demo pod on
// the demo PodNetworking gets an IP inside one of that PodNetworking's vSwitch CIDRs (read from
// the world file, not from the sandbox), the default-network pods inside the default vSwitches';
// the provider gave its Lease up on the way out; and every process the sandbox started (found in
// /proc while it ran, by parent pid) is gone afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEMO, SANDBOX_WORLD_FILE } from '../../adapters/cli/sandbox.ts';
import { loadWorldFile } from '../../adapters/cloudsim/world.ts';
import { isProcessAlive, killGroup } from '../controlplane/processes.ts';
import { budget, waitForExit } from '../helpers/deadline.ts';
import { ipInCidr } from './helpers/provider.ts';

const REPO = join(import.meta.dirname, '..', '..');
const SANDBOX_RUN_MS = budget({ baseMs: 360_000 });
/** After SIGINT: the sandbox stops the provider, the control plane, and removes its files. */
const SANDBOX_STOP_MS = budget({ baseMs: 60_000 });

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

  it('--exit-after-ready: runs the demo, a demo pod gets an IP from the demo PodNetworking, and nothing is left running', async () => {
    const child = spawn(process.execPath, ['adapters/cli/main.ts', 'sandbox', '--exit-after-ready', '--keep-dirs'], {
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
    try {
      ({ code } = await waitForExit(child, { timeoutMs: SANDBOX_RUN_MS + SANDBOX_STOP_MS, what: 'npm run sandbox -- --exit-after-ready', output: () => output.join('\n') }));
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
      clearTimeout(interrupt);
      clearInterval(watch);
    }
    const log = output.join('\n');
    expect(interrupted, `the sandbox was not ready and stopped by itself within ${SANDBOX_RUN_MS / 1000} s (then sent SIGINT):\n${log}`).toBe(false);
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
