// The provider on a cloud as unkind as Alibaba Cloud (the simulator's realism profile), on the
// real control plane: a ClientToken bound at the first attempt, a stale free-IP count that sends
// creates to a full vSwitch, lists that lag behind creates, IPs assigned after the group runs,
// and finished groups removed by retention. Three pods and one job, one provider.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import type { CloudSim } from '../../adapters/cloudsim/server.ts';
import { startCloudSim } from '../../adapters/cloudsim/server.ts';
import { GROUP_TAGS } from '../../provider/cloud/model.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import type { CloudPort } from '../../provider/ports.ts';
import { apis, useTestNamespace } from './helpers/cluster.ts';
import { cloudOf, deleteNodes, ipInCidr, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { budget, podsBudget, waitFor, withDeadline } from './helpers/wait.ts';

const namespace = useTestNamespace('realism');
let sim: CloudSim;
let cloud: CloudPort;
let config: ProviderConfig;
let provider: RunningProvider;
const J1_CIDR = '10.0.3.0/26';

beforeAll(async () => {
  sim = await startCloudSim({
    world: await testWorld({
      lifecycle: {
        schedulingMs: 100,
        pendingMs: 200,
        exitAfterMs: 500,
        terminatingMs: 0,
        realism: {
          clientToken: 'bind-on-first-attempt',
          listLagMs: 800,
          // Longer than pendingMs: each group is Running a while before it has its IP.
          ipAssignDelayMs: 2_000,
          freeIpCacheMs: 120_000,
          retentionMs: 3_600_000,
          retentionScale: 0.001,
          retentionKeep: 0,
        },
      },
    }),
    log: () => {},
  });
  cloud = cloudOf(sim);
  // The free-IP count is cached at 4 for vsw-simtiny; then it fills up behind the cache's back,
  // so the provider's first creates there are refused with IpNotEnough and fail over.
  expect((await cloud.describeVSwitches(['vsw-simtiny']))[0]?.availableIpCount).toBe(4);
  for (let i = 0; i < 4; i++) {
    await cloud.createContainerGroup({
      regionId: sim.regionId,
      securityGroupId: 'sg-simdefault',
      vSwitchIds: ['vsw-simtiny'],
      containerGroupName: `filler-${i}`,
      restartPolicy: 'Always',
      containers: [{ name: 'c', image: 'nginx:1.27', command: [], args: [], env: [], ports: [], volumeMounts: [] }],
      initContainers: [],
      volumes: [],
      tags: { filler: 'yes' },
      clientToken: `filler-${i}`,
      hostAliases: [],
      imageRegistryCredentials: [],
      sysctls: [],
    });
  }
  config = testConfig(sim, { vSwitchIds: ['vsw-simtiny', 'vsw-simj1'] });
  provider = await startTestProvider(config, memoryLogger().log);
});

afterAll(async () => {
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  if (config) await deleteNodes(config);
  await sim?.stop();
});

async function events(pod: V1Pod): Promise<CoreV1Event[]> {
  return (await apis().core.listNamespacedEvent({ namespace: namespace(), fieldSelector: `involvedObject.uid=${pod.metadata!.uid!}` })).items;
}

describe('an unkind cloud', () => {
  it('fails over without IdempotentParameterMismatch, makes one group per pod, and never reports Running without an IP', async () => {
    const { core } = apis();
    const names = ['web-0', 'web-1', 'web-2'];
    for (const name of names) {
      await core.createNamespacedPod({ namespace: namespace(), body: { metadata: { name, labels: { app: 'realism' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }], ...virtualNodePlacement(config) } } });
    }
    const runningWithoutIp = new Set<string>();
    const pods = await waitFor(
      async () => {
        const list = (await core.listNamespacedPod({ namespace: namespace(), labelSelector: 'app=realism' })).items;
        for (const p of list) if (p.status?.phase === 'Running' && !p.status.podIP) runningWithoutIp.add(p.metadata!.name!);
        return list.length === names.length && list.every((p) => p.status?.phase === 'Running') ? list : undefined;
      },
      {
        timeoutMs: podsBudget(names.length),
        intervalMs: 100,
        describe: async () => {
          const list = (await core.listNamespacedPod({ namespace: namespace(), labelSelector: 'app=realism' })).items;
          return `3 pods Running (seen: ${list.map((p) => `${p.metadata!.name}=${p.status?.phase}/${p.status?.podIP ?? 'no IP'}/${p.status?.conditions?.find((c) => c.type === 'eci.aliyun.com/Provisioned')?.reason ?? ''}`).join(', ')})`;
        },
      },
    );
    expect([...runningWithoutIp]).toEqual([]);
    for (const p of pods) expect(ipInCidr(p.status!.podIP!, J1_CIDR), `${p.metadata!.name} ${p.status!.podIP}`).toBe(true);

    // The full vSwitch was tried (the cached count said 4 free) and every pod failed over.
    const all = (await Promise.all(pods.map(events))).flat();
    expect(all.filter((e) => e.reason === 'VSwitchExhausted').length).toBeGreaterThan(0);
    expect(all.filter((e) => /IdempotentParameterMismatch/.test(e.message ?? ''))).toEqual([]);

    // One group per pod, once the lagging list shows them all.
    for (const p of pods) {
      const groups = await waitFor(
        async () => {
          const g = await cloud.listContainerGroups({ [GROUP_TAGS.cluster]: config.clusterId, [GROUP_TAGS.podUid]: p.metadata!.uid! });
          return g.length > 0 ? g : undefined;
        },
        { timeoutMs: budget({ baseMs: 10_000 }), describe: `the group of ${p.metadata!.name} to be listed` },
      );
      expect(groups.map((g) => g.id)).toEqual([p.metadata!.annotations!['k8s.aliyun.com/eci-instance-id']]);
    }
  });

  it('leaves a finished pod Succeeded when retention removes its group, with no ProviderFailed', async () => {
    const { core } = apis();
    await core.createNamespacedPod({
      namespace: namespace(),
      body: { metadata: { name: 'job', labels: { app: 'realism-job' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'sim/exit:0' }], ...virtualNodePlacement(config) } },
    });
    const done = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'job', namespace: namespace() });
        return p.status?.phase === 'Succeeded' ? p : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'the job pod to succeed' },
    );
    const groupId = done.metadata!.annotations!['k8s.aliyun.com/eci-instance-id']!;
    // Retention: 1 h x 0.001 = 3.6 s after the group finished.
    await waitFor(async () => ((await cloud.describeContainerGroups([groupId])).length === 0 ? true : undefined), {
      timeoutMs: budget({ baseMs: 20_000 }),
      describe: `retention to remove group ${groupId}`,
    });
    // Two resyncs of the provider (5 s each) look at the pod again without its group.
    const deadline = Date.now() + 11_000;
    while (Date.now() < deadline) {
      const p = await core.readNamespacedPod({ name: 'job', namespace: namespace() });
      expect(p.status?.phase).toBe('Succeeded');
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect((await events(done)).filter((e) => e.reason === 'ProviderFailed')).toEqual([]);
  });
});
