import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import { affinityZones, explainPod, formatExplanation, formatWhitelist, renderWhitelist, whitelistOf, whitelistOfPool } from '../../../provider/explain/explain.ts';
import { parseNetworkName } from '../../../adapters/cli/whitelist.ts';
import { parse as parseYaml } from 'yaml';
import { makePod, makePodNetworking, makeVSwitch } from '../networking/builders.ts';

const I = 'cn-hangzhou-i';
const J = 'cn-hangzhou-j';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function runningPod(): V1Pod {
  const pod = makePod({
    name: 'web-0',
    namespace: 'shop',
    uid: 'uid-1',
    nodeName: `vn-${I}`,
    annotations: {
      'k8s.aliyun.com/pod-networking': 'pn-web',
      'eci-virtual-node.io/podnetworking-also-matched': 'pn-other',
      'k8s.aliyun.com/eci-instance-id': 'eci-1',
      'eci-virtual-node.io/vswitch-id': 'vsw-a',
      'eci-virtual-node.io/zone-id': I,
      'eci-virtual-node.io/security-group-id': 'sg-a',
      'eci-virtual-node.io/vswitch-reason': 'PodNetworking pn-web, policy ordered: first eligible in list order in cn-hangzhou-i',
      'eci-virtual-node.io/eni-id': 'eni-1',
      'eci-virtual-node.io/traceparent': `00-${TRACE}-00f067aa0ba902b7-01`,
    },
  });
  pod.metadata!.creationTimestamp = new Date('2026-01-01T00:00:00Z');
  pod.status = {
    phase: 'Running',
    podIP: '192.168.0.7',
    conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date('2026-01-01T00:00:01Z') }],
    containerStatuses: [{ name: 'c0', image: 'nginx', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date('2026-01-01T00:00:21Z') } } }],
  };
  return pod;
}

const group: ContainerGroup = {
  id: 'eci-1',
  name: 'shop-web-0',
  status: 'Running',
  zoneId: I,
  vSwitchId: 'vsw-a',
  securityGroupId: 'sg-a',
  vpcId: 'vpc-1',
  intranetIp: '192.168.0.7',
  eniInstanceId: 'eni-1',
  cpu: 1,
  memory: 2,
  containers: [],
  initContainers: [],
  events: [],
  tags: {},
  creationTime: '2026-01-01T00:00:03Z',
};

describe('explainPod', () => {
  it('derives the decision chain from the annotations, the PodNetworking and the cloud', () => {
    const pn = makePodNetworking({ name: 'pn-web', podSelector: { matchLabels: { app: 'web' } }, vSwitches: [{ id: 'vsw-a', zone: I }, { id: 'vsw-b', zone: J }] });
    const e = explainPod({
      pod: runningPod(),
      events: [{ type: 'Warning', reason: 'MultiplePodNetworkings', message: 'pod matches pn-web, pn-other', count: 1, lastTimestamp: '2026-01-01T00:00:02Z' }],
      podNetworking: pn,
      group,
      vSwitch: makeVSwitch({ id: 'vsw-a', zone: I, free: 42 }),
    });
    expect(e).toMatchObject({
      pod: { namespace: 'shop', name: 'web-0', uid: 'uid-1', node: `vn-${I}`, phase: 'Running' },
      traceId: TRACE,
      network: {
        podNetworking: 'pn-web',
        podNetworkingStatus: 'Ready',
        alsoMatched: ['pn-other'],
        allowedZones: [I, J],
        zone: I,
        vSwitchId: 'vsw-a',
        vSwitchCidr: '192.168.0.0/24',
        vSwitchFreeIps: 42,
        securityGroupId: 'sg-a',
        podIP: '192.168.0.7',
        eniId: 'eni-1',
      },
      cloud: { containerGroupId: 'eci-1', status: 'Running', intranetIp: '192.168.0.7', eniId: 'eni-1' },
      timings: { created: '2026-01-01T00:00:00.000Z', bound: '2026-01-01T00:00:01.000Z', groupCreated: '2026-01-01T00:00:03.000Z', running: '2026-01-01T00:00:21.000Z', boundToRunningSeconds: 20, createdToRunningSeconds: 21 },
      problems: [],
    });
    expect(e.network.podNetworkingReason).toContain('pn-other');
    // The selector terms that made the match are named, not a generic "its selectors match".
    expect(e.network.matchedTerms).toEqual(['podSelector app=web']);
    expect(e.network.podNetworkingReason).toContain('podSelector app=web');
    const text = formatExplanation(e);
    for (const s of ['pn-web', 'podSelector app=web', '192.168.0.0/24', I, 'vsw-a', 'first eligible in list order', 'sg-a', '192.168.0.7', 'eni-1', 'eci-1', TRACE, 'bound->Running', '20 s', 'MultiplePodNetworkings']) expect(text).toContain(s);
  });

  it('breaks the provisioning down step by step in milliseconds from the timings recorded on the pod', () => {
    const pod = runningPod();
    const t0 = Date.parse('2026-01-01T00:00:00.100Z');
    pod.metadata!.annotations!['eci-virtual-node.io/provision-timings'] = JSON.stringify({
      admitted: t0,
      bound: t0 + 12.25,
      createStarted: t0 + 15.5,
      networkChosen: t0 + 18.75,
      created: t0 + 143.125,
      running: t0 + 2_612.5,
      waitedMs: 0,
    });
    const e = explainPod({ pod, events: [] });
    expect(e.steps).toEqual([
      { step: 'scheduling (admission -> bound)', ms: 12.3 },
      { step: 'until the create began (queue, waits)', ms: 3.3 },
      { step: 'of which waiting (IPs, PodNetworking)', ms: 0 },
      { step: 'network choice', ms: 3.3 },
      { step: 'CreateContainerGroup', ms: 124.4 },
      { step: 'ECI start (created -> Running)', ms: 2469.4 },
      { step: 'total (admission -> Running)', ms: 2612.5 },
    ]);
    const text = formatExplanation(e);
    expect(text).toContain('Steps (ms, recorded on the pod)');
    expect(text).toMatch(/CreateContainerGroup\s+124\.4 ms/);
    expect(text).toMatch(/total \(admission -> Running\)\s+2612\.5 ms/);
    // Nothing recorded (a pod from before the annotation existed): no steps, no made-up numbers.
    expect(explainPod({ pod: runningPod(), events: [] }).steps).toEqual([]);
  });

  it('names what disagrees or is missing, and says why a pod waits', () => {
    const pod = runningPod();
    pod.status = { phase: 'Pending', conditions: [{ type: 'eci-virtual-node.io/ContainerGroupProvisioned', status: 'False', reason: 'VSwitchesExhausted', message: 'no vSwitch has a free IP' }] };
    delete pod.metadata!.annotations!['k8s.aliyun.com/eci-instance-id'];
    const e = explainPod({ pod, events: [], podNetworking: undefined, group: undefined });
    expect(e.problems).toEqual(['PodNetworking pn-web named by the pod does not exist (any more)']);
    expect(e.waiting).toEqual({ reason: 'VSwitchesExhausted', message: 'no vSwitch has a free IP' });
    expect(e.timings.running).toBeUndefined();
    expect(formatExplanation(e)).toContain('VSwitchesExhausted');

    const moved = explainPod({ pod: runningPod(), events: [], group: { ...group, vSwitchId: 'vsw-z', intranetIp: '10.0.0.1' } });
    expect(moved.problems).toEqual(expect.arrayContaining([expect.stringContaining('vsw-z'), expect.stringContaining('10.0.0.1')]));
  });

  it('a default-network pod: no PodNetworking, zones from its own affinity', () => {
    const pod = makePod({
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: [J, I] }] }] } } },
    });
    expect(affinityZones(pod)).toEqual([I, J]);
    const e = explainPod({ pod, events: [] });
    expect(e.network.podNetworking).toBeUndefined();
    expect(e.network.podNetworkingReason).toContain('default network');
    expect(e.traceId).toBeUndefined();
    expect(formatExplanation(e)).toContain('(none: default network)');
  });

  it('a pod on a pool node without a PodNetworking: the pool\'s network', () => {
    const e = explainPod({ pod: makePod({}), events: [], pool: { name: 'fixed', terwayConfig: 'eni-config-fixed' } });
    expect(e.network.pool).toBe('fixed');
    expect(e.network.podNetworkingReason).toContain("its node's pool fixed (ConfigMap kube-system/eni-config-fixed over eni-config)");
    expect(formatExplanation(e)).toContain('(none: pool fixed)');
  });

  it('a pod the webhook missed but a PodNetworking selects: that PodNetworking, selected at sync, never the default network', () => {
    const pn = makePodNetworking({ name: 'pn-web', vSwitches: [{ id: 'vsw-a', zone: I }] });
    const e = explainPod({ pod: makePod({ labels: { app: 'web' } }), events: [], selectedAtSync: pn });
    expect(e.network.podNetworking).toBe('pn-web');
    expect(e.network.podNetworkingReason).toContain('selected at sync');
    expect(e.network.allowedZones).toEqual([I]);
    expect(formatExplanation(e)).not.toContain('(none: default network)');
    // The annotation, when present, is what counts.
    const annotated = explainPod({ pod: makePod({ annotations: { 'k8s.aliyun.com/pod-networking': 'pn-db' } }), events: [], selectedAtSync: pn });
    expect(annotated.network.podNetworking).toBe('pn-db');
  });
});

describe('whitelistOf', () => {
  it("lists the CIDRs of the PodNetworking's vSwitches in its order, once each, and those the cloud does not know", () => {
    const pn = makePodNetworking({ name: 'pn-db', vSwitches: [{ id: 'vsw-b', zone: J }, { id: 'vsw-a', zone: I }, { id: 'vsw-gone', zone: I }] });
    const a = { ...makeVSwitch({ id: 'vsw-a', zone: I, free: 10 }), cidrBlock: '10.0.1.0/24' };
    const b = { ...makeVSwitch({ id: 'vsw-b', zone: J, free: 20 }), cidrBlock: '10.0.2.0/24' };
    const w = whitelistOf(pn, [a, b]);
    expect(w).toEqual({
      podNetworking: 'pn-db',
      status: 'Ready',
      cidrs: ['10.0.2.0/24', '10.0.1.0/24'],
      vSwitches: [
        { id: 'vsw-b', cidr: '10.0.2.0/24', zone: J, freeIps: 20 },
        { id: 'vsw-a', cidr: '10.0.1.0/24', zone: I, freeIps: 10 },
      ],
      missing: ['vsw-gone'],
    });
    const text = formatWhitelist(w);
    expect(text).toContain('10.0.2.0/24,10.0.1.0/24');
    expect(text).toContain('vsw-gone');
  });
});

describe('renderWhitelist: each format usable as printed', () => {
  const pn = makePodNetworking({ name: 'pn-db', vSwitches: [{ id: 'vsw-b', zone: J }, { id: 'vsw-a', zone: I }] });
  const w = whitelistOf(pn, [
    { ...makeVSwitch({ id: 'vsw-a', zone: I, free: 10 }), cidrBlock: '10.0.1.0/24' },
    { ...makeVSwitch({ id: 'vsw-b', zone: J, free: 20 }), cidrBlock: '10.0.2.0/24' },
  ]);

  it('rds: one line of comma-separated CIDRs', () => {
    expect(renderWhitelist(w, 'rds')).toBe('10.0.2.0/24,10.0.1.0/24');
  });

  it('json: the whitelist object; text: the table', () => {
    expect(JSON.parse(renderWhitelist(w, 'json'))).toEqual(w);
    expect(renderWhitelist(w, 'text')).toBe(formatWhitelist(w));
  });

  it('networkpolicy: a NetworkPolicy with one ipBlock per CIDR', () => {
    expect(parseYaml(renderWhitelist(w, 'networkpolicy'))).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-from-pn-db' },
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.2.0/24' } }, { ipBlock: { cidr: '10.0.1.0/24' } }] }] },
    });
  });

  it('networkpolicy with no CIDR prints no policy (an empty `from` would admit everyone)', () => {
    const empty = whitelistOf(pn, []);
    const printed = renderWhitelist(empty, 'networkpolicy');
    expect(parseYaml(printed)).toBeNull();
    expect(printed).toMatch(/no NetworkPolicy to print/);
  });
});

describe('whitelist of a virtual node pool', () => {
  const vSwitches = [{ ...makeVSwitch({ id: 'vsw-fixed', zone: I, free: 40 }), cidrBlock: '10.0.3.0/26' }];

  it("names the pool in every form and lists its overlay's vSwitches", () => {
    const w = whitelistOfPool('fixed', ['vsw-fixed'], vSwitches);
    expect(w).toEqual({ pool: 'fixed', cidrs: ['10.0.3.0/26'], vSwitches: [{ id: 'vsw-fixed', cidr: '10.0.3.0/26', zone: I, freeIps: 40 }], missing: [] });
    expect(renderWhitelist(w, 'text')).toMatch(/^Pool fixed: allow these CIDRs/);
    expect(renderWhitelist(w, 'rds')).toBe('10.0.3.0/26');
    const policy = parseYaml(renderWhitelist(w, 'networkpolicy')) as { metadata: { name: string } };
    expect(policy.metadata.name).toBe('allow-from-pool-fixed');
    expect(renderWhitelist(w, 'networkpolicy')).toMatch(/^# Ingress from the pods of pool fixed:/);
  });

  it('a pool whose overlay names no vSwitch the cloud knows prints no policy', () => {
    expect(renderWhitelist(whitelistOfPool('fixed', ['vsw-gone'], vSwitches), 'networkpolicy')).toMatch(/^# Pool fixed has no vSwitch CIDR/);
  });
});

describe('whitelist: the network argument', () => {
  it("takes kubectl's kind/name form for pools and PodNetworkings, and a bare name as either", () => {
    expect(parseNetworkName('pool/fixed')).toEqual({ kind: 'pool', name: 'fixed' });
    expect(parseNetworkName('podnetworking/db')).toEqual({ kind: 'podnetworking', name: 'db' });
    expect(parseNetworkName('PodNetworkings/db')).toEqual({ kind: 'podnetworking', name: 'db' });
    expect(parseNetworkName('db')).toEqual({ kind: 'any', name: 'db' });
  });

  it('refuses another kind, naming the argument', () => {
    expect(() => parseNetworkName('node/x')).toThrow(/"node\/x": the kind before "\/" must be podnetworking or pool/);
  });
});
