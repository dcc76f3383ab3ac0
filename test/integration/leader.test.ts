// Two provider replicas (`eci-virtual-node run`, real child processes) with leader election on
// one cluster id and one cloud simulator: only the leader creates container groups; SIGKILL of
// the leader in the middle of a burst of 30 pods hands over to the other within the lease
// duration (plus its polls); every pod ends Running, and the cloud holds exactly one group per
// pod UID (the new leader adopts what the old one created, even creates in flight at the kill).
import type { ChildProcess } from 'node:child_process';
import { PatchStrategy, setHeaderOptions, type V1Lease, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { GROUP_TAGS } from '../../provider/cloud/model.ts';
import type { CloudPort } from '../../provider/ports.ts';
import { apis, useTestNamespace } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { cloudOf, deleteNodes, spawnProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { budget, stopChild, waitFor, waitForExit } from './helpers/wait.ts';

const namespace = useTestNamespace('leader');
const LEASE_DURATION_SECONDS = 6;
const RETRY_PERIOD_MS = 1_000;
/** Worst case from the leader's death to the follower's takeover: its last renewal, the lease duration, two jittered polls. */
const TAKEOVER_BOUND_MS = RETRY_PERIOD_MS + LEASE_DURATION_SECONDS * 1000 + 2 * RETRY_PERIOD_MS * 2.2 + 1_000;
const REPLICAS = 30;
/** The burst Running after the takeover: start-up plus each pod's create and status on a loaded machine. */
const RUNNING_MS = budget({ baseMs: 90_000, perItemMs: 2_000, items: REPLICAS });
const STOP_MS = budget({ baseMs: 30_000 });
const START_MS = budget({ baseMs: 90_000 });

let sim: CloudSim;
let cloud: CloudPort;
let base: ProviderConfig;
const replicas = new Map<string, { child: ChildProcess; output: string[] }>();

function replicaConfig(name: string): ProviderConfig {
  const config = structuredClone(base);
  config.leaderElection = {
    enabled: true,
    namespace: namespace(),
    leaseName: `eci-virtual-node-${base.clusterId}`,
    identity: name,
    leaseDurationSeconds: LEASE_DURATION_SECONDS,
    renewDeadlineMs: 4_000,
    retryPeriodMs: RETRY_PERIOD_MS,
  };
  return config;
}

function startReplica(name: string): void {
  replicas.set(name, spawnProvider(replicaConfig(name)));
}

const outputOf = (name: string) => (replicas.get(name)?.output.join('') ?? '').split('\n').slice(-25).join('\n');
const groupsOfCluster = () => cloud.listContainerGroups({ [GROUP_TAGS.cluster]: base.clusterId });
const burstPods = async (): Promise<V1Pod[]> => (await apis().core.listNamespacedPod({ namespace: namespace(), labelSelector: 'app=burst' })).items;

async function holder(): Promise<string> {
  let lease: V1Lease;
  try {
    lease = await apis().coordination.readNamespacedLease({ name: `eci-virtual-node-${base.clusterId}`, namespace: namespace() });
  } catch {
    return '';
  }
  return lease.spec?.holderIdentity ?? '';
}

async function scale(replicasWanted: number): Promise<void> {
  await apis().apps.patchNamespacedDeploymentScale(
    { name: 'burst', namespace: namespace(), body: { spec: { replicas: replicasWanted } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

beforeAll(async () => {
  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await testWorld(), log: () => {} });
  base = testConfig(sim);
  cloud = cloudOf(sim);
});

afterAll(async () => {
  // Let a live replica delete what the test made, then stop it gracefully.
  const live = [...replicas.values()].filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  if (live.length > 0 && base !== undefined) {
    await apis().apps.deleteNamespacedDeployment({ name: 'burst', namespace: namespace() }).catch(() => undefined);
    await waitFor(async () => (await burstPods()).length === 0, { timeoutMs: budget({ baseMs: 60_000, perItemMs: 1_000, items: REPLICAS }), describe: 'the burst pods to be deleted' }).catch(() => undefined);
  }
  await Promise.all(live.map((r) => stopChild(r.child, { what: 'provider replica', graceMs: STOP_MS, output: () => r.output.join('') })));
  if (base !== undefined) await deleteNodes(base);
  await sim?.stop();
});

describe('two provider replicas with leader election', () => {
  it('SIGKILL of the leader mid-burst: the other takes over within the lease duration, every pod runs, one group per pod', async () => {
    // Replica a starts first and leads; b joins as a follower.
    startReplica('replica-a');
    await waitFor(async () => (await holder()).startsWith('replica-a_'), { timeoutMs: START_MS, describe: () => `replica-a to take the Lease; its output:\n${outputOf('replica-a')}` });
    startReplica('replica-b');
    const nodes = await waitFor(
      async () => {
        const list = await apis().core.listNode({ labelSelector: `eci-virtual-node/cluster=${base.clusterId}` });
        const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === 3 ? ready : undefined;
      },
      { timeoutMs: START_MS, describe: () => `3 Ready virtual nodes; replica-a output:\n${outputOf('replica-a')}` },
    );
    expect(nodes).toHaveLength(3);
    await waitFor(() => replicas.get('replica-b')!.output.join('').includes('waiting for leadership'), {
      timeoutMs: START_MS,
      describe: () => `replica-b to start as a follower; its output:\n${outputOf('replica-b')}`,
    });

    // The burst: a third of it before the kill, the rest while and after the leader is gone.
    await apis().apps.createNamespacedDeployment({
      namespace: namespace(),
      body: {
        metadata: { name: 'burst' },
        spec: {
          replicas: REPLICAS / 3,
          selector: { matchLabels: { app: 'burst' } },
          template: {
            metadata: { labels: { app: 'burst' } },
            spec: { ...virtualNodePlacement(base), containers: [{ name: 'web', image: 'nginx:1.27', resources: { requests: { cpu: '250m', memory: '512Mi' } } }] },
          },
        },
      },
    });
    const groupsAtKill = await waitFor(async () => {
      const groups = await groupsOfCluster();
      return groups.length >= 3 ? groups.length : undefined;
    }, { timeoutMs: START_MS, describe: () => `the leader to create its first groups; replica-a output:\n${outputOf('replica-a')}` });
    const leaderA = replicas.get('replica-a')!.child;
    leaderA.kill('SIGKILL');
    const killedAt = Date.now();
    await waitForExit(leaderA, { timeoutMs: STOP_MS, what: 'replica-a after SIGKILL' });
    await scale(REPLICAS);
    expect(groupsAtKill).toBeLessThan(REPLICAS);

    // Replica b takes the Lease over: not at once (a did not release it), within the bound.
    await waitFor(async () => (await holder()).startsWith('replica-b_'), {
      timeoutMs: TAKEOVER_BOUND_MS + 5_000,
      describe: async () => `replica-b to take the Lease (holder: "${await holder()}"); its output:\n${outputOf('replica-b')}`,
    });
    const tookOverMs = Date.now() - killedAt;
    expect(tookOverMs).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
    expect(tookOverMs).toBeGreaterThan(LEASE_DURATION_SECONDS * 1000 - RETRY_PERIOD_MS * 2.2 - 500);

    const running = await waitFor(
      async () => {
        const pods = await burstPods();
        const ok = pods.filter((p) => p.status?.phase === 'Running' && p.status.podIP && p.metadata?.deletionTimestamp === undefined);
        return ok.length === REPLICAS && pods.length === REPLICAS ? ok : undefined;
      },
      {
        timeoutMs: RUNNING_MS,
        describe: async () => {
          const pods = await burstPods();
          return `${REPLICAS} Running pods; phases: ${JSON.stringify(pods.map((p) => [p.metadata?.name, p.spec?.nodeName, p.status?.phase]))}\nreplica-b output:\n${outputOf('replica-b')}`;
        },
      },
    );

    // Exactly one group per pod UID: nothing created twice across the takeover, nothing orphaned.
    const groups = await groupsOfCluster();
    const uids = groups.map((g) => g.tags[GROUP_TAGS.podUid]);
    expect(groups).toHaveLength(REPLICAS);
    expect(new Set(uids).size).toBe(REPLICAS);
    expect(new Set(uids)).toEqual(new Set(running.map((p) => p.metadata!.uid!)));
    // And the new leader did the rest of the work.
    expect(replicas.get('replica-b')!.output.join('')).toContain('leader election: leading');
    // vitest's limit: a backstop above the sum of the named deadlines of this test.
  }, 4 * START_MS + STOP_MS + TAKEOVER_BOUND_MS + 5_000 + RUNNING_MS + 60_000);
});
