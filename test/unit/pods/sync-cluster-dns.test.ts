// ClusterFirst pods and the cluster DNS, as the pod sync sends them: with a cluster DNS (found
// or configured) the group gets it and the pod no warning; without one, the "no cluster DNS"
// warning is about the provider's setup, so it is reported once per process (one log line, one
// event on the first pod), not as the same Warning on every pod.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ClusterDns } from '../../../provider/eci/cluster-dns.ts';
import type { ContainerGroupRequest } from '../../../provider/eci/request.ts';
import type { CloudPort, PodEvent, PodKey, PodWriter } from '../../../provider/ports.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';
import { podKeyOf, PodSync, type NetworkPlanner } from '../../../provider/pods/sync.ts';
import { makePod } from '../builders.ts';

function harness(o: { clusterDns: () => ClusterDns | undefined; processWarnings?: Set<string> }) {
  const pods = new Map<string, V1Pod>();
  const events: (PodEvent & { pod: string })[] = [];
  const warnLogs: string[] = [];
  const requests: ContainerGroupRequest[] = [];
  const cloud = {
    createContainerGroup: async (r: ContainerGroupRequest) => {
      requests.push(r);
      return { containerGroupId: `eci-${requests.length}` };
    },
    describeContainerGroups: async () => [],
  } as unknown as CloudPort;
  const writer: PodWriter = {
    patchPodStatus: async () => {},
    annotatePod: async () => {},
    finishPodDeletion: async () => {},
    recordEvent: (key: PodKey, event: PodEvent) => void events.push({ ...event, pod: key.name }),
  };
  const network: NetworkPlanner = {
    plan: async () => ({ kind: 'ready', zoneId: 'cn-hangzhou-i', vSwitchId: 'vsw-i1', securityGroupId: 'sg-1', reason: 'default network' }),
    noteExhausted: () => {},
    noteAllocated: () => {},
  };
  const sync = new PodSync({
    cloud,
    pods: { get: (_ns: string, name: string) => pods.get(name), list: () => [...pods.values()] },
    podLookup: { podExists: async () => false },
    writer,
    inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
    network,
    groups: new GroupIndex(),
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    zoneOfNode: () => 'cn-hangzhou-i',
    log: { info: () => {}, warn: (msg: string) => void warnLogs.push(msg), error: () => {} },
    clusterDNS: o.clusterDns,
    ...(o.processWarnings === undefined ? {} : { processWarnings: o.processWarnings }),
  });
  const run = async (name: string) => {
    const pod = makePod({ name, namespace: 'shop', uid: `uid-${name}`, nodeName: 'vn-cn-hangzhou-i' });
    pods.set(name, pod);
    await sync.syncPod(podKeyOf(pod));
  };
  return { run, events, warnLogs, requests };
}

const dnsWarnings = <E extends PodEvent>(events: E[]): E[] => events.filter((e) => e.reason === 'UnsupportedField' && e.message.startsWith('spec.dnsPolicy'));

describe('PodSync: ClusterFirst pods and the cluster DNS', () => {
  it('a found cluster DNS goes into the group, and no pod gets the dnsPolicy warning', async () => {
    const h = harness({ clusterDns: () => ({ nameServers: ['10.96.0.10'], clusterDomain: 'cluster.local' }) });
    await h.run('a');
    await h.run('b');
    expect(h.requests.map((r) => [r.dnsPolicy, r.dnsConfig?.nameServers])).toEqual([
      ['None', ['10.96.0.10']],
      ['None', ['10.96.0.10']],
    ]);
    expect(h.requests[0]!.dnsConfig?.searches).toEqual(['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
    expect(dnsWarnings(h.events)).toEqual([]);
    expect(h.warnLogs).toEqual([]);
  });

  it('without a cluster DNS: one log line and one event (on the first pod) for three pods', async () => {
    const h = harness({ clusterDns: () => undefined });
    await h.run('a');
    await h.run('b');
    await h.run('c');
    expect(h.requests.map((r) => r.dnsPolicy)).toEqual(['Default', 'Default', 'Default']);
    const warned = dnsWarnings(h.events);
    expect(warned.map((e) => [e.pod, e.type])).toEqual([['a', 'Warning']]);
    expect(warned[0]!.message).toContain('kube-system/kube-dns');
    expect(warned[0]!.message).toContain('reported once per provider process');
    expect(h.warnLogs.filter((m) => m.includes('no cluster DNS'))).toHaveLength(1);
  });

  it('the once is per process: a second PodSync sharing the set (a new leadership) stays quiet', async () => {
    const processWarnings = new Set<string>();
    const first = harness({ clusterDns: () => undefined, processWarnings });
    await first.run('a');
    const second = harness({ clusterDns: () => undefined, processWarnings });
    await second.run('b');
    expect(dnsWarnings(first.events)).toHaveLength(1);
    expect(dnsWarnings(second.events)).toEqual([]);
  });

  it('reads the DNS at each create: a kube-dns Service that appears later is used for the next pods', async () => {
    const service: { dns?: ClusterDns } = {};
    const h = harness({ clusterDns: () => service.dns });
    await h.run('before');
    service.dns = { nameServers: ['10.96.0.10'], clusterDomain: 'corp.example' };
    await h.run('after');
    expect(h.requests.map((r) => r.dnsPolicy)).toEqual(['Default', 'None']);
    expect(h.requests[1]!.dnsConfig?.searches).toContain('svc.corp.example');
    expect(dnsWarnings(h.events).map((e) => e.pod)).toEqual(['before']);
  });
});
