// The pod sync's promises that only show over time, on the real control plane and the simulator:
// a create the cloud refuses for good costs one call and one event (not a hot loop), and a
// deleted pod keeps its object until its group is gone, so a StatefulSet never runs two web-0.
import { PatchStrategy, setHeaderOptions, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import type { CloudSim } from '../../adapters/cloudsim/server.ts';
import { startCloudSim } from '../../adapters/cloudsim/server.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { GROUP_TAGS, type ContainerGroup } from '../../provider/cloud/model.ts';
import { PROVISIONED_CONDITION } from '../../provider/pods/annotations.ts';
import type { CloudPort } from '../../provider/ports.ts';
import { apis, useTestNamespace } from './helpers/cluster.ts';
import { cloudOf, deleteNodes, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement, waitForCloudCalls } from './helpers/provider.ts';
import { budget, fetchText, podsBudget, waitFor, withDeadline } from './helpers/wait.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';

const namespace = useTestNamespace('pod-sync');
let sim: CloudSim;
let cloud: CloudPort;

beforeAll(async () => {
  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await testWorld(), log: () => {} });
  cloud = cloudOf(sim);
});

afterAll(async () => {
  await sim?.stop();
});

async function admin(path: string, init: { method: string; body?: unknown } = { method: 'GET' }): Promise<unknown> {
  const res = await fetchText(`${sim.adminEndpoint}${path}`, {
    method: init.method,
    headers: { authorization: `Bearer ${sim.adminToken}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    what: `cloudsim admin ${init.method} ${path}`,
  });
  if (!res.ok) throw new Error(`cloudsim admin ${init.method} ${path}: ${res.status} ${res.text}`);
  return JSON.parse(res.text) as unknown;
}

/** CreateContainerGroup calls the simulator answered, by outcome (`ok` or an error code). */
async function createCalls(): Promise<{ ok: number; errors: Record<string, number> }> {
  const state = (await admin('/admin/state')) as { requests: Record<string, { ok: number; errors: Record<string, number> } | undefined> };
  return state.requests.CreateContainerGroup ?? { ok: 0, errors: {} };
}

async function warningsOn(pod: V1Pod): Promise<CoreV1Event[]> {
  const events = await apis().core.listNamespacedEvent({ namespace: namespace(), fieldSelector: `involvedObject.uid=${pod.metadata!.uid!}` });
  return events.items.filter((e) => e.type === 'Warning');
}

describe('a create the cloud refuses for good (the security group is in another VPC)', () => {
  let config: ProviderConfig;
  let provider: RunningProvider;

  beforeAll(async () => {
    // sg-simother is in vpc-simother; the default vSwitches are in vpc-simmain: ECI refuses
    // every create with InvalidOperation.VpcMismatch, a terminal error.
    config = testConfig(sim, { securityGroupId: 'sg-simother' });
    provider = await startTestProvider(config, memoryLogger().log);
  });

  afterAll(async () => {
    if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
    if (config) await deleteNodes(config);
  });

  it('costs one CreateContainerGroup call and one Warning event over 20 s, and one more of each only after the pod changes', async () => {
    const { core } = apis();
    const before = await createCalls();
    const refusedSince = (now: { errors: Record<string, number> }) => (now.errors['InvalidOperation.VpcMismatch'] ?? 0) - (before.errors['InvalidOperation.VpcMismatch'] ?? 0);
    await core.createNamespacedPod({
      namespace: namespace(),
      body: { metadata: { name: 'refused', labels: { test: 'refused' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }], ...virtualNodePlacement(config) } },
    });
    const refused = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'refused', namespace: namespace() });
        const c = p.status?.conditions?.find((x) => x.type === PROVISIONED_CONDITION);
        return c?.status === 'False' && c.reason === 'InvalidOperationVpcMismatch' ? p : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'pod refused to carry the ContainerGroupProvisioned=False condition with reason InvalidOperationVpcMismatch' },
    );
    const condition = refused.status!.conditions!.find((x) => x.type === PROVISIONED_CONDITION)!;
    expect(condition.message).toContain('sg-simother');
    expect(condition.message).not.toMatch(/requestId/i);

    // Long enough for several status polls, full resyncs (every 5 s here) and informer updates:
    // waited for as the provider's own calls (a loaded machine runs fewer loops per second).
    const resourceVersion = refused.metadata!.resourceVersion;
    await waitForCloudCalls(sim, { DescribeContainerGroups: 4, DescribeContainerGroupStatus: 10 }, { timeoutMs: budget({ baseMs: 90_000 }), why: 'four full resyncs and ten status polls after the refusal' });
    expect(refusedSince(await createCalls())).toBe(1);
    // (UnsupportedField warnings about the translation, e.g. no cluster DNS configured, are not the point.)
    const warnings = (await warningsOn(refused)).filter((e) => e.reason !== 'UnsupportedField');
    expect(warnings.map((e) => `${e.reason} x${e.count ?? 1}`)).toEqual(['InvalidOperationVpcMismatch x1']);
    expect(warnings[0]!.message).not.toMatch(/requestId/i);
    // The pod itself was not rewritten in a loop either.
    expect((await core.readNamespacedPod({ name: 'refused', namespace: namespace() })).metadata!.resourceVersion).toBe(resourceVersion);

    // A real change of the pod earns exactly one new attempt.
    await core.patchNamespacedPod({ name: 'refused', namespace: namespace(), body: { metadata: { labels: { edited: 'yes' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await waitFor(async () => refusedSince(await createCalls()) === 2, {
      timeoutMs: budget({ baseMs: 30_000 }),
      describe: async () => `a second create call after the pod changed (seen ${refusedSince(await createCalls())})`,
    });
    await waitForCloudCalls(sim, { DescribeContainerGroups: 1, DescribeContainerGroupStatus: 3 }, { timeoutMs: budget({ baseMs: 60_000 }), why: 'a full resync and three status polls after the second attempt' });
    expect(refusedSince(await createCalls())).toBe(2);
    await core.deleteNamespacedPod({ name: 'refused', namespace: namespace() });
  });
});

describe('deletion honours the grace period', () => {
  let config: ProviderConfig;
  let provider: RunningProvider;

  beforeAll(async () => {
    config = testConfig(sim);
    provider = await startTestProvider(config, memoryLogger().log);
    // ECI takes a while to stop a group; so does the simulator now.
    await admin('/admin/lifecycle', { method: 'PUT', body: { terminatingMs: 4_000 } });
  });

  afterAll(async () => {
    await admin('/admin/lifecycle', { method: 'PUT', body: { terminatingMs: 0 } }).catch(() => {});
    if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
    if (config) await deleteNodes(config);
  });

  it('a StatefulSet never has two container groups for web-0, and the new web-0 runs', async () => {
    const { core, apps } = apis();
    await apps.createNamespacedStatefulSet({
      namespace: namespace(),
      body: {
        metadata: { name: 'web' },
        spec: {
          serviceName: 'web',
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'main', image: 'nginx:1.27' }], terminationGracePeriodSeconds: 30, ...virtualNodePlacement(config) },
          },
        },
      },
    });
    const readWeb0 = () => core.readNamespacedPod({ name: 'web-0', namespace: namespace() });
    const first = await waitFor(async () => ((await readWeb0()).status?.phase === 'Running' ? readWeb0() : undefined), { timeoutMs: podsBudget(1), describe: 'web-0 to run' });
    const firstUid = first.metadata!.uid!;

    const groupsOfWeb0 = async (): Promise<ContainerGroup[]> =>
      cloud.listContainerGroups({ [GROUP_TAGS.cluster]: config.clusterId, [GROUP_TAGS.namespace]: namespace(), [GROUP_TAGS.pod]: 'web-0' });
    const seen: string[] = [];
    let most = 0;
    let oldPodSeenDeleting = false;
    await core.deleteNamespacedPod({ name: 'web-0', namespace: namespace() });
    const second = await waitFor(
      async () => {
        const groups = await groupsOfWeb0();
        most = Math.max(most, groups.length);
        const line = groups.map((g) => `${g.tags[GROUP_TAGS.podUid] === firstUid ? 'old' : 'new'}:${g.status}`).join(',');
        if (seen.at(-1) !== line) seen.push(line);
        const pod = await readWeb0().catch(() => undefined);
        if (pod?.metadata?.uid === firstUid && pod.metadata.deletionTimestamp != null) oldPodSeenDeleting = true;
        return pod !== undefined && pod.metadata!.uid !== firstUid && pod.status?.phase === 'Running' && groups.length === 1 ? pod : undefined;
      },
      { timeoutMs: podsBudget(1, { baseMs: 90_000 }), intervalMs: 100, describe: () => `a new web-0 to run with one group (groups seen over time: ${seen.join(' | ')})` },
    );
    expect(most, `groups of web-0 over time: ${seen.join(' | ')}`).toBe(1);
    // The old Pod object was kept while its group was terminating.
    expect(oldPodSeenDeleting).toBe(true);
    expect(seen.some((s) => s === 'old:Terminating')).toBe(true);
    expect(second.status?.podIP).toBeTruthy();
    await apps.deleteNamespacedStatefulSet({ name: 'web', namespace: namespace() });
  });
});
