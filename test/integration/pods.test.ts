// The provider's core on the real control plane and the cloud simulator: a Deployment's pods
// become Running with IPs from the vSwitches, scale-down deletes every group, exit codes and
// restart policies show up on the pod, unsupported fields are reported, finished pods stay.
import { randomUUID } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import type { CloudSim } from '../../adapters/cloudsim/server.ts';
import { startCloudSim } from '../../adapters/cloudsim/server.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { GROUP_TAGS } from '../../provider/cloud/model.ts';
import { translatePod } from '../../provider/eci/translate.ts';
import type { CloudPort } from '../../provider/ports.ts';
import { makePod } from '../unit/builders.ts';
import { apis, useTestNamespace } from './helpers/cluster.ts';
import { cloudOf, deleteNodes, ipInCidr, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement, waitForCloudCalls } from './helpers/provider.ts';
import { budget, fetchText, podsBudget, waitFor, withDeadline } from './helpers/wait.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';

const namespace = useTestNamespace('pods');
let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;
let cloud: CloudPort;
const logs = memoryLogger();

beforeAll(async () => {
  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await testWorld(), log: () => {} });
  config = testConfig(sim);
  cloud = cloudOf(sim);
  provider = await startTestProvider(config, logs.log);
});

afterAll(async () => {
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  if (config) await deleteNodes(config);
  await sim?.stop();
});

const groupsOfCluster = () => cloud.listContainerGroups({ [GROUP_TAGS.cluster]: config.clusterId });

async function podsOf(selector: string): Promise<V1Pod[]> {
  return (await apis().core.listNamespacedPod({ namespace: namespace(), labelSelector: selector })).items;
}

function nakedPod(name: string, spec: Partial<NonNullable<V1Pod['spec']>>): V1Pod {
  return {
    metadata: { name, labels: { test: name } },
    spec: { containers: [{ name: 'main', image: 'nginx:1.27' }], ...virtualNodePlacement(config), ...spec },
  };
}

describe('pods on virtual nodes', () => {
  it('runs a Deployment of 20 replicas with IPs from the vSwitch CIDRs, and deletes every group on scale to 0', async () => {
    const { apps } = apis();
    const cidrs = sim.world.vSwitches.filter((v) => config.defaultNetwork.vSwitchIds.includes(v.id)).map((v) => v.cidr);
    await apps.createNamespacedDeployment({
      namespace: namespace(),
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 20,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { ...virtualNodePlacement(config), containers: [{ name: 'web', image: 'nginx:1.27', resources: { requests: { cpu: '250m', memory: '512Mi' } } }] },
          },
        },
      },
    });
    const running = await waitFor(
      async () => {
        const pods = await podsOf('app=web');
        const ok = pods.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
        return ok.length === 20 ? ok : undefined;
      },
      {
        timeoutMs: podsBudget(20),
        describe: async () => {
          const pods = await podsOf('app=web');
          return `20 Running pods with IPs; phases: ${JSON.stringify(pods.map((p) => [p.spec?.nodeName, p.status?.phase, p.status?.podIP]))}`;
        },
      },
    );
    for (const pod of running) {
      expect(cidrs.some((cidr) => ipInCidr(pod.status!.podIP!, cidr)), `${pod.status!.podIP} in ${cidrs.join(',')}`).toBe(true);
      expect(pod.metadata?.annotations?.['k8s.aliyun.com/eci-instance-id']).toMatch(/^eci-/);
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
    // One group per pod, each tagged with its pod's UID; no duplicates.
    const groups = await groupsOfCluster();
    const uids = groups.map((g) => g.tags[GROUP_TAGS.podUid]);
    expect(new Set(uids).size).toBe(groups.length);
    expect(new Set(uids)).toEqual(new Set(running.map((p) => p.metadata!.uid!)));
    // Pods spread over the zones' nodes, each pod's IP from its node's zone.
    const zoneOfVSwitch = new Map(sim.world.vSwitches.map((v) => [v.id, v.zoneId]));
    for (const pod of running) {
      const zone = pod.metadata!.annotations!['eci-virtual-node.io/zone-id'];
      expect(pod.spec!.nodeName).toBe(`${config.node.namePrefix}-${zone}`);
      expect(zoneOfVSwitch.get(pod.metadata!.annotations!['eci-virtual-node.io/vswitch-id']!)).toBe(zone);
    }

    await apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace: namespace(), body: { spec: { replicas: 0 } } },
      (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    await waitFor(async () => (await podsOf('app=web')).length === 0, { timeoutMs: podsBudget(20), describe: 'every pod of web to be gone' });
    await waitFor(async () => (await groupsOfCluster()).length === 0, {
      timeoutMs: podsBudget(1),
      describe: async () => `no container group left; have ${(await groupsOfCluster()).map((g) => g.id).join(',')}`,
    });
  });

  it('shows a container exit code, honours restartPolicy Never and OnFailure, and never re-creates a finished pod', async () => {
    const { core } = apis();
    await core.createNamespacedPod({ namespace: namespace(), body: nakedPod('exit-never', { restartPolicy: 'Never', containers: [{ name: 'main', image: 'sim/exit:3' }] }) });
    await core.createNamespacedPod({ namespace: namespace(), body: nakedPod('exit-onfailure', { restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'sim/exit:3' }] }) });

    const failed = await waitFor(
      async () => {
        const pod = await core.readNamespacedPod({ name: 'exit-never', namespace: namespace() });
        return pod.status?.phase === 'Failed' ? pod : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'exit-never to become Failed' },
    );
    const state = failed.status?.containerStatuses?.[0]?.state?.terminated;
    expect(state?.exitCode).toBe(3);

    const restarted = await waitFor(
      async () => {
        const pod = await core.readNamespacedPod({ name: 'exit-onfailure', namespace: namespace() });
        const status = pod.status?.containerStatuses?.[0];
        return (status?.restartCount ?? 0) >= 1 ? pod : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'exit-onfailure to restart its container' },
    );
    expect(restarted.status?.phase).not.toBe('Failed');
    expect(restarted.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(3);

    // The finished pod keeps its one group: no second group is ever made for it.
    const uid = failed.metadata!.uid!;
    await waitForCloudCalls(sim, { DescribeContainerGroupStatus: 3 }, { timeoutMs: budget({ baseMs: 30_000 }), why: 'three more status polls after the pod failed' });
    const groups = (await groupsOfCluster()).filter((g) => g.tags[GROUP_TAGS.podUid] === uid);
    expect(groups).toHaveLength(1);
  });

  it('reports a field ECI cannot honour with a Warning event and still runs the pod', async () => {
    const { core } = apis();
    await core.createNamespacedPod({
      namespace: namespace(),
      body: nakedPod('hostpath', {
        volumes: [{ name: 'host', hostPath: { path: '/var/log' } }],
        containers: [{ name: 'main', image: 'nginx:1.27', volumeMounts: [{ name: 'host', mountPath: '/host' }] }],
      }),
    });
    const event = await waitFor(
      async () => {
        const events = await core.listNamespacedEvent({ namespace: namespace(), fieldSelector: 'involvedObject.name=hostpath' });
        return events.items.find((e) => e.reason === 'UnsupportedField' && e.message?.includes('spec.volumes[0].hostPath'));
      },
      { timeoutMs: podsBudget(1), describe: 'an UnsupportedField event on pod hostpath' },
    );
    expect(event.type).toBe('Warning');
    const running = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'hostpath', namespace: namespace() });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'pod hostpath to run without the hostPath volume' },
    );
    expect(running.status?.podIP).toBeTruthy();
  });

  it('deletes the group when a pod is deleted, and the pod object goes away', async () => {
    const { core } = apis();
    await core.createNamespacedPod({ namespace: namespace(), body: nakedPod('short-lived', {}) });
    const pod = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'short-lived', namespace: namespace() });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'short-lived to run' },
    );
    const uid = pod.metadata!.uid!;
    await core.deleteNamespacedPod({ name: 'short-lived', namespace: namespace() });
    await waitFor(
      async () => {
        try {
          await core.readNamespacedPod({ name: 'short-lived', namespace: namespace() });
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: podsBudget(1), describe: 'pod short-lived to be gone' },
    );
    expect((await groupsOfCluster()).filter((g) => g.tags[GROUP_TAGS.podUid] === uid)).toHaveLength(0);
  });

  it('deletes a group of this cluster that no pod owns, after the grace period', async () => {
    const orphanPod = makePod({ name: 'ghost', namespace: namespace(), uid: randomUUID(), nodeName: `${config.node.namePrefix}-cn-hangzhou-h` });
    const { request } = translatePod({
      pod: orphanPod,
      network: { zoneId: 'cn-hangzhou-h', vSwitchIds: ['vsw-simh1'], securityGroupId: 'sg-simdefault' },
      resolved: { configMaps: {}, secrets: {} },
      cluster: { clusterId: config.clusterId, nodeName: orphanPod.spec!.nodeName!, regionId: sim.regionId },
    });
    const { containerGroupId } = await cloud.createContainerGroup(request);
    // Another cluster's group with no pod is never touched.
    const foreign = translatePod({
      pod: makePod({ name: 'foreign', namespace: namespace(), uid: randomUUID() }),
      network: { zoneId: 'cn-hangzhou-h', vSwitchIds: ['vsw-simh1'], securityGroupId: 'sg-simdefault' },
      resolved: { configMaps: {}, secrets: {} },
      cluster: { clusterId: `${config.clusterId}-other`, nodeName: 'elsewhere', regionId: sim.regionId },
    });
    const { containerGroupId: foreignId } = await cloud.createContainerGroup(foreign.request);

    await waitFor(async () => (await cloud.describeContainerGroups([containerGroupId])).length === 0, {
      timeoutMs: podsBudget(1),
      describe: `orphaned group ${containerGroupId} to be deleted`,
    });
    expect(await cloud.describeContainerGroups([foreignId])).toHaveLength(1);
    await cloud.deleteContainerGroup(foreignId);
  });

  it('marks a pod Failed (ProviderFailed) when its group vanishes from the cloud', async () => {
    const { core } = apis();
    await core.createNamespacedPod({ namespace: namespace(), body: nakedPod('vanishing', {}) });
    const running = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'vanishing', namespace: namespace() });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'pod vanishing to run' },
    );
    // A True condition keeps no reason from the time it was False (ContainersNotReady while Pending).
    for (const type of ['Ready', 'ContainersReady']) {
      const c = running.status!.conditions!.find((x) => x.type === type);
      expect(c, `${type} of the running pod`).toMatchObject({ status: 'True' });
      expect(c!.reason, `${type} reason`).toBeUndefined();
      expect(c!.message, `${type} message`).toBeUndefined();
    }
    const groupId = running.metadata!.annotations!['k8s.aliyun.com/eci-instance-id']!;
    // Removed behind the provider's back (the admin API frees it at once, like an expired group).
    const res = await fetchText(`${sim.adminEndpoint}/admin/groups/${groupId}`, { method: 'DELETE', headers: { authorization: `Bearer ${sim.adminToken}` } });
    expect(res.ok).toBe(true);
    const failed = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'vanishing', namespace: namespace() });
        return p.status?.phase === 'Failed' ? p : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'pod vanishing to become Failed' },
    );
    expect(failed.status?.reason).toBe('ProviderFailed');
    expect(failed.status?.message).toContain(groupId);
    // Not Ready any more: Services stop routing to the dead IP. Its container is terminated.
    for (const type of ['Ready', 'ContainersReady']) {
      expect(failed.status!.conditions!.find((x) => x.type === type), type).toMatchObject({ status: 'False', reason: 'PodFailed' });
    }
    expect(failed.status!.containerStatuses!.map((c) => [c.name, c.ready, c.state?.terminated?.reason])).toEqual([['main', false, 'ContainerStatusUnknown']]);
    // And it is not re-created behind the user's back.
    expect((await groupsOfCluster()).filter((g) => g.tags[GROUP_TAGS.podUid] === failed.metadata!.uid)).toHaveLength(0);
  });

  it('keeps the group of a pod whose name is too long for an ECI tag (the tag is shortened)', async () => {
    const { core } = apis();
    const name = `long-${'x'.repeat(190)}`;
    const body = nakedPod(name, {});
    body.metadata!.labels = { test: 'long-name' }; // a label value cannot hold the name
    await core.createNamespacedPod({ namespace: namespace(), body });
    const running = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name, namespace: namespace() });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'the long-named pod to run' },
    );
    // Several status polls and a full relist later, the group is still there and the pod runs.
    await waitForCloudCalls(sim, { DescribeContainerGroupStatus: 2, DescribeContainerGroups: 1 }, {
      timeoutMs: budget({ baseMs: 30_000 }) + 3 * config.sync.resyncIntervalMs,
      why: 'two more status polls and a full relist (DescribeContainerGroups) after the pod ran',
    });
    const groups = (await groupsOfCluster()).filter((g) => g.tags[GROUP_TAGS.podUid] === running.metadata!.uid);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.tags[GROUP_TAGS.pod]!.length).toBeLessThanOrEqual(128);
    expect((await core.readNamespacedPod({ name, namespace: namespace() })).status?.phase).toBe('Running');
  });
});
