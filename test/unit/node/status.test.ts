import { describe, expect, it } from 'vitest';
import type { V1NodeStatus, V1Pod } from '@kubernetes/client-node';
import { DEFAULT_CONFIG, type ProviderConfig } from '../../../provider/config/config.ts';
import { countPodsHoldingIps, nodeConditions, nodeStatus, podCapacity, statusSignature, toSeconds, type NodeStatusInput } from '../../../provider/node/status.ts';

const config: ProviderConfig = {
  ...DEFAULT_CONFIG,
  clusterId: 'c1',
  regionId: 'cn-hangzhou',
  node: { ...DEFAULT_CONFIG.node, namePrefix: 'vn', cpu: '1000', memory: '4000Gi', maxPods: 100, internalIP: '10.1.2.3', kubeletPort: 10250 },
};

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1 = new Date('2026-01-01T00:01:00.250Z');

function input(over: Partial<NodeStatusInput> = {}): NodeStatusInput {
  return {
    zone: 'cn-hangzhou-h',
    nodeName: 'vn-cn-hangzhou-h',
    vSwitchIds: ['vsw-a'],
    freeIps: 40,
    podsHoldingIps: 0,
    cloudReachable: true,
    config,
    kubeletVersion: 'v1.36.3-eci-virtual-node-0.1.0',
    now: T0,
    ...over,
  };
}

const condition = (status: V1NodeStatus, type: string) => status.conditions?.find((c) => c.type === type);

describe('podCapacity', () => {
  it.each([
    { name: 'free IPs below maxPods', maxPods: 100, freeIps: 40, podsHoldingIps: 0, previousPods: undefined, expected: 40 },
    { name: 'pods already holding IPs still fit', maxPods: 100, freeIps: 40, podsHoldingIps: 25, previousPods: undefined, expected: 65 },
    { name: 'never above maxPods', maxPods: 100, freeIps: 4000, podsHoldingIps: 10, previousPods: undefined, expected: 100 },
    { name: 'no free IP, no pod', maxPods: 100, freeIps: 0, podsHoldingIps: 0, previousPods: undefined, expected: 0 },
    { name: 'unknown free IPs keep the last figure', maxPods: 100, freeIps: undefined, podsHoldingIps: 3, previousPods: '17', expected: 17 },
    { name: 'unknown free IPs, nothing published: 0', maxPods: 100, freeIps: undefined, podsHoldingIps: 3, previousPods: undefined, expected: 0 },
    { name: 'unknown free IPs, garbage published: 0', maxPods: 100, freeIps: undefined, podsHoldingIps: 3, previousPods: '1k', expected: 0 },
    { name: 'last figure still capped by maxPods', maxPods: 10, freeIps: undefined, podsHoldingIps: 0, previousPods: '17', expected: 10 },
    // A restart before the pod cache has listed: the running pods must still fit.
    { name: 'pods holding IPs not counted yet keep the last figure', maxPods: 100, freeIps: 40, podsHoldingIps: undefined, previousPods: '65', expected: 65 },
    { name: 'pods holding IPs not counted yet, nothing published: the free IPs', maxPods: 100, freeIps: 40, podsHoldingIps: undefined, previousPods: undefined, expected: 40 },
    { name: 'pods holding IPs not counted yet, garbage published: the free IPs', maxPods: 100, freeIps: 40, podsHoldingIps: undefined, previousPods: '1k', expected: 40 },
    { name: 'nothing known, nothing published: 0', maxPods: 100, freeIps: undefined, podsHoldingIps: undefined, previousPods: undefined, expected: 0 },
  ])('$name -> $expected', ({ maxPods, freeIps, podsHoldingIps, previousPods, expected }) => {
    expect(podCapacity({ maxPods, freeIps, podsHoldingIps, ...(previousPods === undefined ? {} : { previousPods }) })).toBe(expected);
  });
});

describe('countPodsHoldingIps', () => {
  it('counts the pods of the node that are not finished and have an IP', () => {
    const pod = (nodeName: string, phase: string, podIP?: string): V1Pod => ({ spec: { nodeName, containers: [] }, status: { phase, ...(podIP === undefined ? {} : { podIP }) } });
    const pods = [
      pod('vn-h', 'Running', '10.0.0.1'),
      pod('vn-h', 'Pending', '10.0.0.2'),
      pod('vn-h', 'Pending'),
      pod('vn-h', 'Running', ''),
      pod('vn-h', 'Succeeded', '10.0.0.3'),
      pod('vn-h', 'Failed', '10.0.0.4'),
      pod('vn-i', 'Running', '10.0.1.1'),
    ];
    expect([countPodsHoldingIps(pods, 'vn-h'), countPodsHoldingIps(pods, 'vn-i'), countPodsHoldingIps(pods, 'vn-j')]).toEqual([2, 1, 0]);
  });
});

describe('nodeStatus', () => {
  it('publishes capacity, addresses, the daemon endpoint and node info', () => {
    const status = nodeStatus(input({ podsHoldingIps: 5 }));
    const resources = { cpu: '1000', memory: '4000Gi', 'ephemeral-storage': '100Ti', pods: '45' };
    expect(status.capacity).toEqual(resources);
    expect(status.allocatable).toEqual(resources);
    expect(status.addresses).toEqual([
      { type: 'InternalIP', address: '10.1.2.3' },
      { type: 'Hostname', address: 'vn-cn-hangzhou-h' },
    ]);
    expect(status.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
    expect(status.nodeInfo).toMatchObject({ operatingSystem: 'linux', architecture: 'amd64', kubeletVersion: 'v1.36.3-eci-virtual-node-0.1.0' });
  });

  it("advertises the node's own kubelet port when it has one", () => {
    expect(nodeStatus(input({ kubeletPort: 10252 })).daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10252 } });
  });

  it('honours an ephemeral-storage override', () => {
    expect(nodeStatus(input({ ephemeralStorage: '1Ti' })).capacity?.['ephemeral-storage']).toBe('1Ti');
  });
});

describe('nodeConditions', () => {
  it.each([
    { name: 'reachable', over: {}, ready: ['True', 'KubeletReady'], network: ['False', 'VSwitchesConfigured'] },
    {
      name: 'unreachable',
      over: { cloudReachable: false, lastError: 'DescribeVSwitches: connect ECONNREFUSED' },
      ready: ['False', 'CloudUnreachable'],
      network: ['False', 'VSwitchesConfigured'],
    },
    {
      name: 'provider not synced yet (readiness gate closed), new node',
      over: { syncing: { why: 'pods not synced', forMs: 1_000 } },
      ready: ['False', 'KubeletNotReady'],
      network: ['False', 'VSwitchesConfigured'],
    },
    {
      name: 'gate closed and cloud unreachable: the cloud explains first (it is what to fix)',
      over: { syncing: { why: 'pods not synced', forMs: 1_000 }, cloudReachable: false, lastError: 'x' },
      ready: ['False', 'CloudUnreachable'],
      network: ['False', 'VSwitchesConfigured'],
    },
    { name: 'zone without vSwitches', over: { vSwitchIds: [] }, ready: ['True', 'KubeletReady'], network: ['True', 'NoVSwitches'] },
    { name: 'vSwitches unknown, no history', over: { vSwitchIds: undefined }, ready: ['True', 'KubeletReady'], network: ['Unknown', 'NodeStatusUnknown'] },
  ])('$name', ({ over, ready, network }) => {
    const conditions = nodeConditions(input(over));
    expect(conditions.map((c) => c.type)).toEqual(['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable']);
    const byType = (type: string) => conditions.find((c) => c.type === type)!;
    expect([byType('Ready').status, byType('Ready').reason]).toEqual(ready);
    expect([byType('NetworkUnavailable').status, byType('NetworkUnavailable').reason]).toEqual(network);
    for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) expect(byType(type).status).toBe('False');
    for (const c of conditions) {
      expect(c.lastHeartbeatTime).toEqual(T0);
      expect(c.lastTransitionTime).toEqual(T0);
    }
  });

  it('keeps a Ready node Ready while the provider syncs after a restart, with its transition time', () => {
    const before = nodeStatus(input());
    const restarted = nodeStatus(input({ now: T1, previous: before, syncing: { why: 'pods not synced', forMs: 1_000 } }));
    expect(condition(restarted, 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady', lastTransitionTime: T0, lastHeartbeatTime: toSeconds(T1) });
    const notReadyBefore = nodeStatus(input({ cloudReachable: false }));
    expect(condition(nodeStatus(input({ now: T1, previous: notReadyBefore, syncing: { why: 'pods not synced', forMs: 1_000 } })), 'Ready')).toMatchObject({ status: 'False', reason: 'KubeletNotReady' });
  });

  it('names the error when the cloud is unreachable', () => {
    const ready = nodeConditions(input({ cloudReachable: false, lastError: 'connect ECONNREFUSED 127.0.0.1:1' }))[0]!;
    expect(ready.message).toContain('connect ECONNREFUSED 127.0.0.1:1');
  });

  it('moves the heartbeat every time, the transition only when the status changes', () => {
    const first = nodeStatus(input());
    const same = nodeStatus(input({ now: T1, previous: first }));
    expect(condition(same, 'Ready')?.lastHeartbeatTime).toEqual(toSeconds(T1));
    expect(condition(same, 'Ready')?.lastTransitionTime).toEqual(T0);

    const down = nodeStatus(input({ now: T1, previous: first, cloudReachable: false, lastError: 'x' }));
    expect(condition(down, 'Ready')?.lastTransitionTime).toEqual(toSeconds(T1));
    expect(condition(down, 'MemoryPressure')?.lastTransitionTime).toEqual(T0);
  });

  it('accepts times read back from the apiserver as strings', () => {
    const previous = JSON.parse(JSON.stringify(nodeStatus(input()))) as V1NodeStatus;
    const next = nodeStatus(input({ now: T1, previous }));
    expect(condition(next, 'Ready')?.lastTransitionTime).toEqual(T0);
  });

  it('keeps the last known network condition while vSwitches are unknown', () => {
    const first = nodeStatus(input());
    const later = nodeStatus(input({ now: T1, previous: first, vSwitchIds: undefined, freeIps: undefined, cloudReachable: false }));
    expect(condition(later, 'NetworkUnavailable')).toMatchObject({ status: 'False', reason: 'VSwitchesConfigured', lastTransitionTime: T0 });
    expect(later.allocatable?.['pods']).toBe('40');
  });
});

describe('statusSignature', () => {
  it.each([
    { name: 'a heartbeat alone is no change', change: input({ now: T1 }), changed: false },
    { name: 'capacity', change: input({ freeIps: 39 }), changed: true },
    { name: 'readiness', change: input({ cloudReachable: false }), changed: true },
    { name: 'address', change: input({ config: { ...config, node: { ...config.node, internalIP: '10.9.9.9' } } }), changed: true },
  ])('$name', ({ change, changed }) => {
    const before = nodeStatus(input());
    const after = nodeStatus({ ...change, previous: before });
    expect(statusSignature(after) !== statusSignature(before)).toBe(changed);
  });
});
