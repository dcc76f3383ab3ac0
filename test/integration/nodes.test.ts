// Virtual nodes on the real control plane and the cloud simulator, through the real adapters:
// one node per zone, found by the real scheduler, kept alive by Leases, re-created when deleted,
// repaired when stripped, NotReady while the cloud cannot be reached (the simulator stopped), not
// while it merely throttles.
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions, type V1Lease, type V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloud } from '../../adapters/alibabacloud/cloud.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { makeKubernetesClients } from '../../adapters/kubernetes/client.ts';
import { renewTimeOf } from '../../adapters/kubernetes/leases.ts';
import { startVirtualNodes, type NodeLog, type VirtualNodes } from '../../adapters/kubernetes/nodes.ts';
import type { ContainerGroupRequest } from '../../provider/eci/request.ts';
import { DEFAULT_CONFIG, type ProviderConfig } from '../../provider/config/config.ts';
import { VIRTUAL_NODE_TOLERATION } from '../../provider/networking/constants.ts';
import { virtualNodeSelector } from '../../provider/node/node.ts';
import { apis, ignoreNotFound, kubeConfig, useTestNamespace } from './helpers/cluster.ts';
import { budget, fetchText, waitFor, withDeadline } from './helpers/wait.ts';

const LEASE_NS = 'kube-node-lease';
const REGION = 'cn-hangzhou';
const suffix = randomBytes(3).toString('hex');
// Zones of their own, so no other test's node can be where this file's pods are required to go.
const ZONE_A = `${REGION}-it${suffix}a`;
const ZONE_B = `${REGION}-it${suffix}b`;
const ZONE_C = `${REGION}-it${suffix}c`;

// Usable IPs of a vSwitch = its addresses - 4 reserved: /27 -> 28, /28 -> 12, /24 -> 252.
const WORLD = {
  regionId: REGION,
  zones: [ZONE_A, ZONE_B, ZONE_C],
  vpcs: [{ id: 'vpc-itest', cidr: '10.0.0.0/16' }],
  vSwitches: [
    { id: 'vsw-itesta', vpcId: 'vpc-itest', zoneId: ZONE_A, cidr: '10.0.1.0/27' },
    { id: 'vsw-itestb1', vpcId: 'vpc-itest', zoneId: ZONE_B, cidr: '10.0.2.0/28' },
    { id: 'vsw-itestb2', vpcId: 'vpc-itest', zoneId: ZONE_B, cidr: '10.0.2.16/28' },
    { id: 'vsw-itestc', vpcId: 'vpc-itest', zoneId: ZONE_C, cidr: '10.0.3.0/24' },
  ],
  securityGroups: [{ id: 'sg-itest', vpcId: 'vpc-itest' }],
  accessKeys: [{ id: 'LTAIitestNodes', secret: 'itest-nodes-secret-not-a-real-key' }],
  persistence: { durability: 'write', snapshotIntervalMs: 60_000 },
};
const VSWITCH_IDS = ['vsw-itesta', 'vsw-itestb1', 'vsw-itestb2', 'vsw-itestc'];
const MAX_PODS = 50;

function makeConfig(clusterId: string, vSwitchIds: string[], endpoint: string): ProviderConfig {
  return {
    ...DEFAULT_CONFIG,
    clusterId,
    regionId: REGION,
    cloud: { ...DEFAULT_CONFIG.cloud, eciEndpoint: endpoint, vpcEndpoint: endpoint, ecsEndpoint: endpoint, protocol: 'http', accessKeyId: WORLD.accessKeys[0]!.id, accessKeySecret: WORLD.accessKeys[0]!.secret },
    defaultNetwork: { ...DEFAULT_CONFIG.defaultNetwork, vSwitchIds, securityGroupId: 'sg-itest' },
    node: { ...DEFAULT_CONFIG.node, namePrefix: `vn-${suffix}`, cpu: '1000', memory: '4000Gi', maxPods: MAX_PODS, internalIP: '127.0.0.1', kubeletPort: 10250 },
  };
}

const FAST = { leaseRenewIntervalMs: 500, statusIntervalMs: 2_000, vSwitchRefreshIntervalMs: 500, retryBaseMs: 200, retryMaxMs: 1_000 };

/** A container group that only takes an IP of `vSwitchId` (what a pod of another cluster would do). */
function ipTaker(vSwitchId: string, n: number): ContainerGroupRequest {
  return {
    regionId: REGION,
    securityGroupId: 'sg-itest',
    vSwitchIds: [vSwitchId],
    containerGroupName: `ip-taker-${n}`,
    restartPolicy: 'Always',
    cpu: 0.25,
    memory: 0.5,
    containers: [{ name: 'c', image: 'registry.invalid/pause:1', command: [], args: [], ports: [], env: [], volumeMounts: [] }],
    initContainers: [],
    volumes: [],
    tags: { 'eci-virtual-node/cluster': `itest-${suffix}-other` },
    clientToken: `ip-taker-${suffix}-${n}`,
    hostAliases: [],
    imageRegistryCredentials: [],
    sysctls: [],
  };
}

/** Collects log lines so a failing test can show what the node manager did. */
function memoryLog(): NodeLog & { lines: string[] } {
  const lines: string[] = [];
  const put = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {}, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`);
  };
  return { lines, info: put('info'), warn: put('warn'), error: put('error') };
}

const condition = (node: V1Node, type: string) => node.status?.conditions?.find((c) => c.type === type);

describe('virtual nodes', () => {
  const k8s = apis();
  const clients = makeKubernetesClients(kubeConfig());
  const clusterId = `itest-${suffix}`;
  const log = memoryLog();
  const namespace = useTestNamespace('nodes');
  let stateDir: string;
  let sim: CloudSim;
  let simPort: number;
  let config: ProviderConfig;
  let cloud: ReturnType<typeof createCloud>;
  /** The real adapter, counting DescribeVSwitches calls. */
  let calls = 0;
  const port = { describeVSwitches: (ids: readonly string[]) => (calls++, cloud.describeVSwitches(ids)) };
  let controller: AbortController;
  let nodes: VirtualNodes;
  let readyNames: readonly string[] = [];

  const startSim = async (): Promise<CloudSim> =>
    startCloudSim({ world: WORLD, ...(simPort === undefined ? {} : { port: simPort }), stateFile: join(stateDir, 'cloudsim.json'), log: () => undefined });
  const admin = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetchText(`${sim.adminEndpoint}${path}`, {
      method,
      headers: { authorization: `Bearer ${sim.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      what: `cloudsim admin ${method} ${path}`,
    });
    if (!res.ok) throw new Error(`cloudsim admin ${method} ${path}: ${res.status} ${res.text}`);
    return JSON.parse(res.text) as unknown;
  };
  const nodeOf = (zone: string): string => {
    const name = nodes.nodeOfZone(zone);
    if (name === undefined) throw new Error(`no node for zone ${zone}; logs:\n${log.lines.join('\n')}`);
    return name;
  };
  const readNode = (name: string) => k8s.core.readNode({ name });
  const readLease = (name: string) => k8s.coordination.readNamespacedLease({ name, namespace: LEASE_NS });
  const describeNodes = async () => {
    const list = await k8s.core.listNode({ labelSelector: virtualNodeSelector(clusterId) });
    const seen = list.items.map(
      (n) =>
        `${n.metadata?.name} uid=${n.metadata?.uid} pods=${n.status?.allocatable?.['pods']} ` +
        (n.status?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason})`).join(','),
    );
    return `nodes: ${seen.join(' | ') || 'none'}\nlogs:\n${log.lines.slice(-30).join('\n')}`;
  };
  const podsOf = async (zone: string) => (await readNode(nodeOf(zone))).status?.allocatable?.['pods'];
  const start = (signal: AbortSignal, onNodesReady?: (names: readonly string[]) => void) =>
    startVirtualNodes({
      clients,
      cloud: port,
      config,
      signal,
      version: 'v1.36.3-eci-virtual-node-0.1.0',
      log,
      timing: FAST,
      ...(onNodesReady === undefined ? {} : { onNodesReady }),
    });

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'itest-nodes-'));
    sim = await startSim();
    simPort = sim.port;
    config = makeConfig(clusterId, VSWITCH_IDS, sim.endpoint);
    cloud = createCloud({
      regionId: REGION,
      eciEndpoint: sim.endpoint,
      vpcEndpoint: sim.endpoint,
      ecsEndpoint: sim.endpoint,
      protocol: 'http',
      credentials: { accessKeyId: config.cloud.accessKeyId, accessKeySecret: config.cloud.accessKeySecret },
      timeouts: { callMs: 3_000 },
    });
    controller = new AbortController();
    nodes = await start(controller.signal, (names) => {
      readyNames = names;
    });
  });

  afterAll(async () => {
    controller?.abort();
    if (nodes) await withDeadline(nodes.stop(), budget({ baseMs: 30_000 }), 'the virtual nodes to stop');
    await sim?.stop();
    const list = await k8s.core.listNode({ labelSelector: virtualNodeSelector(clusterId) });
    for (const node of list.items) {
      await k8s.core.deleteNode({ name: node.metadata!.name! }).catch(ignoreNotFound);
      await k8s.coordination.deleteNamespacedLease({ name: node.metadata!.name!, namespace: LEASE_NS }).catch(ignoreNotFound);
    }
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  });

  it('registers one node per zone with the labels, taint, addresses, capacity and conditions', async () => {
    expect(nodes.nodeNames().sort()).toEqual([nodeOf(ZONE_A), nodeOf(ZONE_B), nodeOf(ZONE_C)].sort());
    expect([...readyNames].sort()).toEqual(nodes.nodeNames().sort());
    expect(nodes.freeIpsOfZone(ZONE_B)).toBe(24);

    const list = await k8s.core.listNode({ labelSelector: virtualNodeSelector(clusterId) });
    expect(list.items).toHaveLength(3);
    // pods = the zone's free IPs (28; 12 + 12), zone C's 252 capped by maxPods.
    const expectedPods: Record<string, string> = { [ZONE_A]: '28', [ZONE_B]: '24', [ZONE_C]: String(MAX_PODS) };
    for (const zone of [ZONE_A, ZONE_B, ZONE_C]) {
      const node = await readNode(nodeOf(zone));
      const name = node.metadata!.name!;
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(nodes.zoneOfNode(name)).toBe(zone);
      expect(node.metadata?.labels).toMatchObject({
        type: 'virtual-kubelet',
        'kubernetes.io/role': 'agent',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'topology.kubernetes.io/zone': zone,
        'topology.kubernetes.io/region': REGION,
        'eci-virtual-node/cluster': clusterId,
      });
      expect(node.spec?.taints).toContainEqual({ key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' });
      expect(node.status?.allocatable?.['pods']).toBe(expectedPods[zone]);
      expect(node.status?.capacity?.['pods']).toBe(expectedPods[zone]);
      expect(node.status?.addresses).toEqual([
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: name },
      ]);
      expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10250);
      expect(node.status?.nodeInfo?.kubeletVersion).toBe('v1.36.3-eci-virtual-node-0.1.0');
      expect(condition(node, 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
      for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable']) {
        expect(condition(node, type)?.status, type).toBe('False');
      }
    }
  });

  it('renews a Lease per node, owned by the node', async () => {
    const name = nodeOf(ZONE_A);
    const node = await readNode(name);
    const first = await waitFor(() => readLease(name), { describe: `lease ${name}` });
    expect(first.spec?.holderIdentity).toBe(name);
    expect(first.spec?.leaseDurationSeconds).toBe(40);
    expect(first.metadata?.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata!.uid! }]);
    const firstRenew = renewTimeOf(first)!;
    expect(firstRenew).toBeInstanceOf(Date);
    const later = await waitFor(
      async () => {
        const lease = await readLease(name);
        return renewTimeOf(lease)!.getTime() > firstRenew.getTime() ? lease : undefined;
      },
      { timeoutMs: budget({ baseMs: 30_000 }), describe: async () => `renewTime of ${name} to move past ${firstRenew.toISOString()}\n${await describeNodes()}` },
    );
    expect(renewTimeOf(later)!.getTime()).toBeGreaterThan(firstRenew.getTime());
  });

  it('follows the free IPs of the zone: pods capacity never above them', async () => {
    // Three container groups outside this cluster take three IPs of zone B.
    for (let n = 0; n < 3; n++) await cloud.createContainerGroup(ipTaker('vsw-itestb1', n));
    await waitFor(async () => (await podsOf(ZONE_B)) === '21', {
      timeoutMs: budget({ baseMs: 30_000 }),
      describe: async () => `pods of the zone-B node to drop to 21 (24 - 3 free IPs)\n${await describeNodes()}`,
    });
    expect(nodes.freeIpsOfZone(ZONE_B)).toBe(21);
  });

  it('is where the real scheduler binds a pod that tolerates the taint and requires its zone', async () => {
    // The ServiceAccount admission plugin refuses pods until the namespace's default account exists.
    await waitFor(() => k8s.core.readNamespacedServiceAccount({ name: 'default', namespace: namespace() }), {
      timeoutMs: budget({ baseMs: 60_000 }),
      describe: `the default ServiceAccount of ${namespace()}`,
    });
    await k8s.core.createNamespacedPod({
      namespace: namespace(),
      body: {
        metadata: { name: 'zone-b' },
        spec: {
          containers: [{ name: 'app', image: 'registry.invalid/app:1', resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
          tolerations: [{ ...VIRTUAL_NODE_TOLERATION }],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: [ZONE_B] }] }],
              },
            },
          },
        },
      },
    });
    const bound = await waitFor(
      async () => {
        const current = await k8s.core.readNamespacedPod({ name: 'zone-b', namespace: namespace() });
        return current.spec?.nodeName ? current : undefined;
      },
      {
        timeoutMs: budget({ baseMs: 60_000 }),
        describe: async () => {
          const current = await k8s.core.readNamespacedPod({ name: 'zone-b', namespace: namespace() });
          return `pod zone-b to be bound; conditions ${JSON.stringify(current.status?.conditions)}\n${await describeNodes()}`;
        },
      },
    );
    expect(bound.spec?.nodeName).toBe(nodeOf(ZONE_B));

    // Once the pod holds an IP (as the pod sync reports it), that IP is no longer among the free
    // ones, yet the pod must still fit: pods = free IPs + pods holding IPs. (This IP is reported
    // on the pod only, so the free IPs stay 21 and the count shows as 22.)
    await k8s.core.patchNamespacedPodStatus(
      { name: 'zone-b', namespace: namespace(), body: { status: { phase: 'Running', podIP: '10.0.2.5', podIPs: [{ ip: '10.0.2.5' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor(async () => (await podsOf(ZONE_B)) === '22', {
      timeoutMs: budget({ baseMs: 30_000 }),
      describe: async () => `pods of the zone-B node to count the pod holding an IP (21 free + 1)\n${await describeNodes()}`,
    });
    await k8s.core.deleteNamespacedPod({ name: 'zone-b', namespace: namespace(), gracePeriodSeconds: 0 }).catch(ignoreNotFound);
    await waitFor(async () => (await podsOf(ZONE_B)) === '21', {
      timeoutMs: budget({ baseMs: 30_000 }),
      describe: async () => `pods of the zone-B node to drop back to 21 once the pod is gone\n${await describeNodes()}`,
    });
  });

  it('re-creates a deleted node within seconds, and moves its Lease to the new node', async () => {
    const name = nodeOf(ZONE_C);
    const before = await readNode(name);
    const deletedAt = Date.now();
    await k8s.core.deleteNode({ name });
    const again = await waitFor(
      async () => {
        const node = await readNode(name);
        return node.metadata?.uid !== before.metadata?.uid ? node : undefined;
      },
      { timeoutMs: budget({ baseMs: 30_000 }), intervalMs: 100, describe: async () => `node ${name} to come back\n${await describeNodes()}` },
    );
    expect(Date.now() - deletedAt).toBeLessThan(10_000);
    expect(again.metadata?.labels?.['topology.kubernetes.io/zone']).toBe(ZONE_C);
    expect(again.spec?.taints).toContainEqual({ key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' });
    expect(condition(again, 'Ready')?.status).toBe('True');
    expect(again.status?.allocatable?.['pods']).toBe(String(MAX_PODS));

    const lease: V1Lease = await waitFor(
      async () => {
        const current = await readLease(name);
        return current.metadata?.ownerReferences?.[0]?.uid === again.metadata?.uid ? current : undefined;
      },
      { timeoutMs: budget({ baseMs: 30_000 }), describe: async () => `lease ${name} to be owned by the new node ${again.metadata?.uid}\n${await describeNodes()}` },
    );
    const renewedAt = renewTimeOf(lease)!.getTime();
    await waitFor(async () => renewTimeOf(await readLease(name))!.getTime() > renewedAt, { timeoutMs: budget({ baseMs: 30_000 }), describe: `lease ${name} to keep being renewed` });
  });

  it('puts back its taint and labels when someone removes them, and keeps a cordon', async () => {
    const name = nodeOf(ZONE_A);
    const current = await readNode(name);
    // A merge patch, as `kubectl label/taint/cordon` send: no resourceVersion to lose against the
    // provider's own node writes (a replace here failed with 409 under load).
    await k8s.core.patchNode(
      { name, body: { metadata: { labels: { 'topology.kubernetes.io/region': 'elsewhere' } }, spec: { taints: [], unschedulable: true } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const repaired = await waitFor(
      async () => {
        const node = await readNode(name);
        const tainted = node.spec?.taints?.some((t) => t.key === 'virtual-kubelet.io/provider' && t.value === 'alibabacloud' && t.effect === 'NoSchedule');
        return tainted && node.metadata?.labels?.['topology.kubernetes.io/region'] === REGION ? node : undefined;
      },
      { timeoutMs: budget({ baseMs: 30_000 }), describe: async () => `node ${name} to get its taint and region label back\n${await describeNodes()}` },
    );
    expect(repaired.metadata?.uid).toBe(current.metadata?.uid);
    expect(repaired.spec?.unschedulable).toBe(true);
    await k8s.core.patchNode({ name, body: { spec: { unschedulable: false } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  });

  it('stays Ready while DescribeVSwitches is only throttled', async () => {
    await admin('PUT', '/admin/faults', { rules: [{ action: 'DescribeVSwitches', rate: 1, code: 'Throttling.User', status: 400, message: 'Request was denied due to user flow control.' }] });
    const callsBefore = calls;
    try {
      // Wait for several throttled refreshes and a periodic status post of every node after them.
      const throttledAt = Date.now();
      const heartbeatAfter = async (zone: string) => {
        const beat = condition(await readNode(nodeOf(zone)), 'Ready')?.lastHeartbeatTime;
        return beat !== undefined && new Date(beat).getTime() >= throttledAt - 1_000;
      };
      await waitFor(
        async () =>
          calls - callsBefore >= 2 &&
          log.lines.some((l) => l.includes('throttled')) &&
          (await heartbeatAfter(ZONE_A)) &&
          (await heartbeatAfter(ZONE_B)) &&
          (await heartbeatAfter(ZONE_C)),
        {
          timeoutMs: budget({ baseMs: 30_000 }) + FAST.statusIntervalMs + 4 * FAST.vSwitchRefreshIntervalMs,
          describe: async () => `2 throttled DescribeVSwitches refreshes (saw ${calls - callsBefore}) and a status post of every node after them\n${await describeNodes()}`,
        },
      );
      for (const zone of [ZONE_A, ZONE_B, ZONE_C]) {
        const node = await readNode(nodeOf(zone));
        expect(condition(node, 'Ready')?.status, zone).toBe('True');
      }
      expect(nodes.cloudReachable()).toBe(true);
    } finally {
      await admin('PUT', '/admin/faults', { rules: [] });
    }
  });

  it('turns Ready False with a reason while the cloud is unreachable, and True again after', async () => {
    await sim.stop();
    const stoppedAt = Date.now();
    try {
      for (const zone of [ZONE_A, ZONE_B, ZONE_C]) {
        const name = nodeOf(zone);
        const node = await waitFor(
          async () => {
            const current = await readNode(name);
            return condition(current, 'Ready')?.status === 'False' ? current : undefined;
          },
          // Generous deadline; the promptness itself is asserted below, with the time it took.
          { timeoutMs: budget({ baseMs: 30_000 }), describe: async () => `node ${name} to turn NotReady\n${await describeNodes()}` },
        );
        const ready = condition(node, 'Ready')!;
        expect(ready.reason).toBe('CloudUnreachable');
        expect(ready.message).toMatch(/DescribeVSwitches: Network: .*ECONNREFUSED/);
        // Capacity stays what it last was: unknown is not zero.
        expect(node.status?.allocatable?.['pods']).toBe({ [ZONE_A]: '28', [ZONE_B]: '21', [ZONE_C]: String(MAX_PODS) }[zone]);
      }
      expect(Date.now() - stoppedAt, 'ms from the cloud going down to every node NotReady').toBeLessThan(FAST.statusIntervalMs * 4);
      expect(nodes.cloudReachable()).toBe(false);
    } finally {
      sim = await startSim();
    }
    for (const zone of [ZONE_A, ZONE_B, ZONE_C]) {
      const name = nodeOf(zone);
      await waitFor(async () => condition(await readNode(name), 'Ready')?.status === 'True', {
        timeoutMs: budget({ baseMs: 30_000 }),
        describe: async () => `node ${name} to turn Ready again\n${await describeNodes()}`,
      });
    }
    // The simulator kept its state: the three groups still hold their IPs.
    expect(await podsOf(ZONE_B)).toBe('21');
  });

  it('after a restart with the cloud down, adopts the existing nodes as NotReady, then Ready once the cloud answers', async () => {
    await nodes.stop();
    controller.abort();
    await sim.stop();
    controller = new AbortController();
    const restart = start(controller.signal);
    let settled = false;
    void restart.then(
      () => (settled = true),
      () => (settled = true),
    );
    try {
      for (const zone of [ZONE_A, ZONE_B, ZONE_C]) {
        const name = nodes.nodeOfZone(zone)!;
        await waitFor(
          async () => {
            const ready = condition(await readNode(name), 'Ready');
            return ready?.status === 'False' && ready.reason === 'CloudUnreachable';
          },
          { timeoutMs: budget({ baseMs: 30_000 }), describe: async () => `adopted node ${name} to turn NotReady\n${await describeNodes()}` },
        );
      }
      expect(settled).toBe(false);
    } finally {
      sim = await startSim();
    }
    nodes = await restart;
    expect(nodes.nodeNames()).toHaveLength(3);
    for (const zone of [ZONE_A, ZONE_B, ZONE_C]) {
      const name = nodeOf(zone);
      await waitFor(async () => condition(await readNode(name), 'Ready')?.status === 'True', {
        timeoutMs: budget({ baseMs: 30_000 }),
        describe: async () => `node ${name} to turn Ready after the restart\n${await describeNodes()}`,
      });
    }
    const list = await k8s.core.listNode({ labelSelector: virtualNodeSelector(clusterId) });
    expect(list.items).toHaveLength(3);
  });

  it('refuses a configuration naming a vSwitch the cloud does not know, and creates nothing', async () => {
    const otherCluster = `itest-${suffix}-bad`;
    const badConfig = makeConfig(otherCluster, ['vsw-itesta', 'vsw-nosuch'], sim.endpoint);
    await expect(
      startVirtualNodes({ clients, cloud: port, config: badConfig, signal: new AbortController().signal, version: 'v0', log, timing: FAST }),
    ).rejects.toThrow(/vsw-nosuch/);
    const list = await k8s.core.listNode({ labelSelector: virtualNodeSelector(otherCluster) });
    expect(list.items).toHaveLength(0);
  });
});
