// Restart safety and cloud throttling, with the provider as a real child process (the way it
// runs in production): SIGKILL in the middle of creating 50 pods, start again, and every pod
// runs with exactly one container group; throttling by the cloud slows creation but loses no pod.
import type { ChildProcess } from 'node:child_process';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { GROUP_TAGS } from '../../provider/cloud/model.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { apis, useTestNamespace } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { cloudOf, deleteNodes, spawnProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { budget, fetchText, stopChild, waitFor, waitForExit, waitForOutput } from './helpers/wait.ts';

const namespace = useTestNamespace('restart');
const children: ChildProcess[] = [];
const outputs = new Map<ChildProcess, string[]>();
const outputOf = (child: ChildProcess): string => (outputs.get(child) ?? []).join('');
/** 3 virtual nodes registered by a fresh provider child. */
const NODES_MS = budget({ baseMs: 90_000 });
/** n pods Running: a base for start-up and scheduling, plus each pod's create at the cloud's quota on a loaded machine. */
const runningMs = (pods: number, createsPerSecond: number): number => budget({ baseMs: 90_000, perItemMs: 1_500 + 1_000 / createsPerSecond, items: pods });
/** SIGTERM to exit: the provider stops its loops and informers. */
const STOP_MS = budget({ baseMs: 30_000 });
const sims: CloudSim[] = [];
const configs: ProviderConfig[] = [];

interface AdminState {
  requests: Record<string, { ok: number; errors: Record<string, number> }>;
}

async function adminState(sim: CloudSim): Promise<AdminState> {
  const res = await fetchText(`${sim.adminEndpoint}/admin/state`, { headers: { authorization: `Bearer ${sim.adminToken}` }, what: 'cloudsim admin GET /admin/state' });
  if (!res.ok) throw new Error(`admin state: HTTP ${res.status}`);
  return JSON.parse(res.text) as AdminState;
}

function start(config: ProviderConfig): ChildProcess {
  const { child, output } = spawnProvider(config);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM') process.stderr.write(`provider exited ${code ?? signal}:\n${output.join('').slice(-4000)}\n`);
  });
  children.push(child);
  outputs.set(child, output);
  return child;
}

async function deployment(name: string, replicas: number, config: ProviderConfig): Promise<void> {
  await apis().apps.createNamespacedDeployment({
    namespace: namespace(),
    body: {
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { ...virtualNodePlacement(config), containers: [{ name: 'main', image: 'nginx:1.27' }] } },
      },
    },
  });
}

async function allRunning(app: string, count: number, timeoutMs: number): Promise<k8s.V1Pod[]> {
  const list = async () => (await apis().core.listNamespacedPod({ namespace: namespace(), labelSelector: `app=${app}` })).items;
  return waitFor(
    async () => {
      const pods = await list();
      return pods.length === count && pods.every((p) => p.status?.phase === 'Running') ? pods : undefined;
    },
    {
      timeoutMs,
      intervalMs: 500,
      describe: async () => {
        const phases: Record<string, number> = {};
        for (const p of await list()) phases[p.status?.phase ?? '?'] = (phases[p.status?.phase ?? '?'] ?? 0) + 1;
        return `${count} pods of ${app} Running; phases ${JSON.stringify(phases)}`;
      },
    },
  );
}

async function stopped(child: ChildProcess): Promise<void> {
  await waitForExit(child, { timeoutMs: STOP_MS, what: `provider (pid ${child.pid ?? '?'})`, output: () => outputOf(child) });
}

beforeAll(installPodNetworkingCrd);

afterAll(async () => {
  for (const child of children) {
    await stopChild(child, { what: 'provider', graceMs: STOP_MS, output: () => outputOf(child) });
  }
  for (const config of configs) await deleteNodes(config);
  for (const sim of sims) await sim.stop();
});

// vitest's per-test limits below are backstops above the sum of each test's own named deadlines.
describe('provider restarts and cloud throttling', () => {
  it('SIGKILLed while creating 50 pods and started again: 50 groups, one per pod, none duplicated or orphaned', async () => {
    // A create quota of 10/s makes the creation phase last long enough to be interrupted.
    const sim = await startCloudSim({
      world: await testWorld({ rateLimits: { mode: 'quota-true', actions: { CreateContainerGroup: { burst: 10, perSecond: 10 } } } }),
      log: () => {},
    });
    sims.push(sim);
    const config = testConfig(sim);
    configs.push(config);
    const cloud = cloudOf(sim);
    const groups = () => cloud.listContainerGroups({ [GROUP_TAGS.cluster]: config.clusterId });

    const first = start(config);
    await waitFor(async () => (await apis().core.listNode({ labelSelector: `eci-virtual-node/cluster=${config.clusterId}` })).items.length === 3, {
      timeoutMs: NODES_MS,
      describe: () => `the first provider to register its 3 virtual nodes; its output:\n${outputOf(first).slice(-2000)}`,
    });
    await deployment('burst', 50, config);
    const before = await waitFor(
      async () => {
        const n = (await groups()).length;
        return n >= 10 ? n : undefined;
      },
      { timeoutMs: budget({ baseMs: 90_000 }), intervalMs: 100, describe: 'at least 10 groups created before the kill' },
    );
    first.kill('SIGKILL');
    await stopped(first);
    const atKill = (await groups()).length;
    expect(before).toBeGreaterThanOrEqual(10);
    expect(atKill, 'the kill must land in the middle of creation').toBeLessThan(50);

    start(config);
    const pods = await allRunning('burst', 50, runningMs(50, 10));
    const final = await groups();
    const uids = final.map((g) => g.tags[GROUP_TAGS.podUid]);
    expect(final).toHaveLength(50);
    expect(new Set(uids).size).toBe(50);
    expect(new Set(uids)).toEqual(new Set(pods.map((p) => p.metadata!.uid!)));
    // Every pod's IP is its own group's IP.
    const ipByUid = new Map(final.map((g) => [g.tags[GROUP_TAGS.podUid], g.intranetIp]));
    for (const pod of pods) expect(pod.status?.podIP).toBe(ipByUid.get(pod.metadata!.uid));
  }, NODES_MS + budget({ baseMs: 90_000 }) + STOP_MS + runningMs(50, 10) + 60_000);

  it('cloud throttling slows creation, fails no pod, and the provider keeps within the retries', async () => {
    const sim = await startCloudSim({
      world: await testWorld({ rateLimits: { mode: 'quota-true', actions: { CreateContainerGroup: { burst: 3, perSecond: 3 } } } }),
      log: () => {},
    });
    sims.push(sim);
    const config = testConfig(sim);
    configs.push(config);
    const provider = start(config);
    await waitFor(async () => (await apis().core.listNode({ labelSelector: `eci-virtual-node/cluster=${config.clusterId}` })).items.length === 3, {
      timeoutMs: NODES_MS,
      describe: () => `the provider to register its 3 virtual nodes; its output:\n${outputOf(provider).slice(-2000)}`,
    });
    await deployment('throttled', 24, config);
    const pods = await allRunning('throttled', 24, runningMs(24, 3));
    expect(pods.every((p) => p.status?.phase === 'Running')).toBe(true);

    const creates = (await adminState(sim)).requests.CreateContainerGroup;
    const throttled = creates?.errors['Throttling.User'] ?? 0;
    expect(creates?.ok).toBe(24);
    expect(throttled, 'the simulator throttled some creates').toBeGreaterThan(0);
    // Backoff, not a retry storm: far fewer throttled answers than a tight loop would cause.
    expect(throttled).toBeLessThan(24 * 10);
    process.stdout.write(`throttling: ${creates?.ok} creates accepted, ${throttled} throttled\n`);
    provider.kill('SIGTERM');
    await stopped(provider);
    expect(provider.exitCode).toBe(0);
  }, NODES_MS + runningMs(24, 3) + STOP_MS + 60_000);

  it('SIGTERM during start-up (the cloud unreachable) still exits 0', async () => {
    const sim = await startCloudSim({ world: await testWorld(), log: () => {} });
    const config = testConfig(sim);
    await sim.stop(); // nothing answers at its endpoint now: start-up waits for the cloud
    configs.push(config);
    const provider = start(config);
    // In start-up: it has tried the cloud and retries (not a fixed sleep that may end before or after).
    await waitForOutput(provider, { pattern: 'cannot learn the zones of the default vSwitches; retrying', timeoutMs: NODES_MS, what: 'the provider to retry the unreachable cloud in start-up', output: () => outputOf(provider) });
    expect(provider.exitCode).toBeNull();
    provider.kill('SIGTERM');
    await stopped(provider);
    expect(provider.signalCode).toBeNull();
    expect(provider.exitCode).toBe(0);
  }, NODES_MS + STOP_MS + 60_000);
});
