import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { VSwitch } from '../../../provider/cloud/model.ts';
import type { PodNetworking } from '../../../provider/networking/podnetworking.ts';
import { PodNetworkPlanner } from '../../../provider/pods/network.ts';

const vsw = (id: string, zoneId: string, availableIpCount: number): VSwitch => ({
  id,
  vpcId: 'vpc-1',
  zoneId,
  cidrBlock: '10.0.0.0/24',
  availableIpCount,
  status: 'Available',
});

function setup(vSwitches: VSwitch[], podNetworkings: PodNetworking[] = [], namespaces: Record<string, Record<string, string>> = {}) {
  const calls: string[][] = [];
  let clock = 1_000_000;
  const planner = new PodNetworkPlanner({
    cloud: {
      describeVSwitches: async (ids) => {
        calls.push([...ids]);
        return vSwitches.filter((v) => ids.includes(v.id));
      },
    },
    defaults: { vSwitchIds: ['vsw-d1', 'vsw-d2'], securityGroupId: 'sg-default', vSwitchSelectionPolicy: 'ordered' },
    podNetworkings: { get: (name) => podNetworkings.find((p) => p.metadata.name === name), list: () => podNetworkings },
    namespaceLabels: (name) => namespaces[name],
    random: () => 0,
    now: () => clock,
  });
  return { planner, calls, advance: (ms: number) => (clock += ms) };
}

const pod = (podNetworking?: string): V1Pod => ({
  metadata: { name: 'p', namespace: 'n', uid: 'u', annotations: podNetworking ? { 'k8s.aliyun.com/pod-networking': podNetworking } : {} },
  spec: { containers: [] },
});

const readyPn = (name: string, vSwitchOptions: string[], zones: Record<string, string>, extra: Partial<PodNetworking['spec']> = {}): PodNetworking => ({
  metadata: { name },
  spec: { vSwitchOptions, securityGroupIDs: ['sg-first', 'sg-second'], selector: { podSelector: { matchLabels: { app: name } } }, ...extra },
  status: { status: 'Ready', vSwitches: vSwitchOptions.map((id) => ({ id, zone: zones[id] ?? '' })) },
});

describe('PodNetworkPlanner', () => {
  it('uses the default network for a pod without a PodNetworking, in the node zone', async () => {
    const { planner } = setup([vsw('vsw-d1', 'z-a', 10), vsw('vsw-d2', 'z-b', 10)]);
    const decision = await planner.plan(pod(), 'z-b');
    expect(decision).toMatchObject({ kind: 'ready', vSwitchId: 'vsw-d2', securityGroupId: 'sg-default', zoneId: 'z-b' });
  });

  it('uses the PodNetworking vSwitches and its FIRST security group', async () => {
    const pn = readyPn('pn-db', ['vsw-1', 'vsw-2'], { 'vsw-1': 'z-a', 'vsw-2': 'z-a' });
    const { planner } = setup([vsw('vsw-1', 'z-a', 0), vsw('vsw-2', 'z-a', 5)], [pn]);
    const decision = await planner.plan(pod('pn-db'), 'z-a');
    expect(decision).toMatchObject({ kind: 'ready', vSwitchId: 'vsw-2', securityGroupId: 'sg-first', podNetworking: 'pn-db' });
    if (decision.kind === 'ready') expect(decision.reason).toContain('vsw-1: 0 free IPs');
  });

  it('fails over after IpNotEnough and waits with every refusal named when the zone is full', async () => {
    const pn = readyPn('pn-db', ['vsw-1', 'vsw-2'], { 'vsw-1': 'z-a', 'vsw-2': 'z-a' });
    const { planner } = setup([vsw('vsw-1', 'z-a', 3), vsw('vsw-2', 'z-a', 3)], [pn]);
    expect(await planner.plan(pod('pn-db'), 'z-a')).toMatchObject({ vSwitchId: 'vsw-1' });
    planner.noteExhausted('vsw-1', 'InvalidVSwitchId.IpNotEnough');
    expect(await planner.plan(pod('pn-db'), 'z-a')).toMatchObject({ vSwitchId: 'vsw-2' });
    planner.noteExhausted('vsw-2', 'InvalidVSwitchId.IpNotEnough');
    const waiting = await planner.plan(pod('pn-db'), 'z-a');
    expect(waiting.kind).toBe('wait');
    if (waiting.kind === 'wait') {
      expect(waiting.reason).toBe('VSwitchesExhausted');
      expect(waiting.message).toMatch(/vsw-1: exhausted until .*vsw-2: exhausted until/);
    }
  });

  it('waits for a missing or not-Ready PodNetworking, refuses Fixed allocation and a disallowed zone', async () => {
    const failing: PodNetworking = { ...readyPn('pn-bad', ['vsw-x'], {}), status: { status: 'Fail', message: 'vSwitch vsw-x not found' } };
    const fixed = readyPn('pn-fixed', ['vsw-1'], { 'vsw-1': 'z-a' }, { allocationType: { type: 'Fixed' } });
    const zoned = readyPn('pn-a', ['vsw-1'], { 'vsw-1': 'z-a' });
    const { planner } = setup([vsw('vsw-1', 'z-a', 3)], [failing, fixed, zoned]);
    expect(await planner.plan(pod('pn-gone'), 'z-a')).toMatchObject({ kind: 'wait', reason: 'PodNetworkingNotFound' });
    const notReady = await planner.plan(pod('pn-bad'), 'z-a');
    expect(notReady).toMatchObject({ kind: 'wait', reason: 'PodNetworkingNotReady' });
    if (notReady.kind === 'wait') expect(notReady.message).toContain('vsw-x not found');
    expect(await planner.plan(pod('pn-fixed'), 'z-a')).toMatchObject({ kind: 'refuse', reason: 'FixedAllocationUnsupported' });
    expect(await planner.plan(pod('pn-a'), 'z-b')).toMatchObject({ kind: 'refuse', reason: 'ZoneNotAllowed' });
  });

  it('re-derives the PodNetworking at sync for a pod the webhook never saw: its vSwitch in an allowed zone, else refused, never the default network', async () => {
    const pn = readyPn('pn-db', ['vsw-1'], { 'vsw-1': 'z-a' });
    const { planner } = setup([vsw('vsw-1', 'z-a', 5), vsw('vsw-d1', 'z-a', 5), vsw('vsw-d2', 'z-b', 5)], [pn]);
    const selected: V1Pod = { metadata: { name: 'p', namespace: 'n', uid: 'u', labels: { app: 'pn-db' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    const ready = await planner.plan(selected, 'z-a');
    expect(ready).toMatchObject({ kind: 'ready', vSwitchId: 'vsw-1', securityGroupId: 'sg-first', podNetworking: 'pn-db' });
    if (ready.kind === 'ready') expect(ready.reason).toContain('PodNetworking pn-db (selected at sync)');
    const refused = await planner.plan(selected, 'z-b');
    expect(refused).toMatchObject({ kind: 'refuse', reason: 'PodNetworkingZoneMismatch' });
    if (refused.kind === 'refuse') expect(refused.message).toMatch(/PodNetworking pn-db .*zone z-b.*allows only z-a/);
  });

  it('matches namespaceSelectors with the labels from the namespace lookup', async () => {
    const pn: PodNetworking = { ...readyPn('pn-team', ['vsw-1'], { 'vsw-1': 'z-a' }), spec: { vSwitchOptions: ['vsw-1'], securityGroupIDs: ['sg-team'], selector: { namespaceSelector: { matchLabels: { team: 'a' } } } } };
    const { planner } = setup([vsw('vsw-1', 'z-a', 5), vsw('vsw-d1', 'z-a', 5)], [pn], { n: { team: 'a' } });
    const inTeam: V1Pod = { metadata: { name: 'p', namespace: 'n', uid: 'u' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    expect(await planner.plan(inTeam, 'z-a')).toMatchObject({ kind: 'ready', vSwitchId: 'vsw-1', securityGroupId: 'sg-team' });
    const elsewhere: V1Pod = { metadata: { name: 'p', namespace: 'other', uid: 'u2' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    expect(await planner.plan(elsewhere, 'z-a')).toMatchObject({ kind: 'ready', vSwitchId: 'vsw-d1', securityGroupId: 'sg-default' });
  });

  it('keeps the annotated PodNetworking when the selectors now pick another, and says so once in a warning', async () => {
    const a = readyPn('pn-a', ['vsw-1'], { 'vsw-1': 'z-a' });
    const b = readyPn('pn-b', ['vsw-2'], { 'vsw-2': 'z-a' });
    const { planner } = setup([vsw('vsw-1', 'z-a', 5), vsw('vsw-2', 'z-a', 5)], [a, b]);
    const relabelled: V1Pod = { metadata: { name: 'p', namespace: 'n', uid: 'u', labels: { app: 'pn-b' }, annotations: { 'k8s.aliyun.com/pod-networking': 'pn-a' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    const decision = await planner.plan(relabelled, 'z-a');
    expect(decision).toMatchObject({ kind: 'ready', vSwitchId: 'vsw-1', podNetworking: 'pn-a', warnings: [{ reason: 'PodNetworkingMismatch' }] });
  });

  it('asks DescribeVSwitches once per refresh period, and again when the zone looked full', async () => {
    const { planner, calls, advance } = setup([vsw('vsw-d1', 'z-a', 1), vsw('vsw-d2', 'z-b', 0)]);
    await planner.plan(pod(), 'z-a');
    await planner.plan(pod(), 'z-a');
    expect(calls).toHaveLength(1);
    advance(31_000);
    await planner.plan(pod(), 'z-a');
    expect(calls).toHaveLength(2);
    expect((await planner.plan(pod(), 'z-b')).kind).toBe('wait');
    await planner.plan(pod(), 'z-b');
    expect(calls).toHaveLength(3);
  });
});

describe('PodNetworkPlanner: virtual node pools and a hot default network', () => {
  const vSwitches = [vsw('vsw-d1', 'z-a', 10), vsw('vsw-fixed', 'z-a', 10), vsw('vsw-new', 'z-a', 10), vsw('vsw-1', 'z-a', 10)];
  const make = (defaults: () => { vSwitchIds: string[]; securityGroupId: string; vSwitchSelectionPolicy: 'ordered' }, pns: PodNetworking[] = []) =>
    new PodNetworkPlanner({
      cloud: { describeVSwitches: async (ids) => vSwitches.filter((v) => ids.includes(v.id)) },
      defaults,
      poolOfNode: (node) => (node === 'vn-fixed-z-a' ? { pool: 'fixed', terwayConfig: 'eni-config-fixed', network: { vSwitchIds: ['vsw-fixed'], securityGroupId: 'sg-fixed', vSwitchSelectionPolicy: 'ordered' } } : undefined),
      podNetworkings: { get: (name) => pns.find((p) => p.metadata.name === name), list: () => pns },
      namespaceLabels: () => undefined,
      random: () => 0,
    });
  const on = (node: string, labels: Record<string, string> = {}): V1Pod => ({ metadata: { name: 'p', namespace: 'n', uid: 'u', labels }, spec: { nodeName: node, containers: [{ name: 'c' }] } });

  it('a pod on a pool node takes the pool\'s vSwitches and security group; others the default network as it is now', async () => {
    let defaults = { vSwitchIds: ['vsw-d1'], securityGroupId: 'sg-d', vSwitchSelectionPolicy: 'ordered' as const };
    const planner = make(() => defaults);
    expect(await planner.plan(on('vn-fixed-z-a'), 'z-a')).toMatchObject({ kind: 'ready', vSwitchId: 'vsw-fixed', securityGroupId: 'sg-fixed', reason: expect.stringContaining('pool fixed (terway-config eni-config-fixed)') });
    expect(await planner.plan(on('vn-z-a'), 'z-a')).toMatchObject({ vSwitchId: 'vsw-d1', securityGroupId: 'sg-d' });
    defaults = { vSwitchIds: ['vsw-new'], securityGroupId: 'sg-new', vSwitchSelectionPolicy: 'ordered' };
    expect(await planner.plan(on('vn-z-a'), 'z-a')).toMatchObject({ vSwitchId: 'vsw-new', securityGroupId: 'sg-new' });
  });

  it('a PodNetworking that selects a pod on a pool node wins, with a PodNetworkingOverridesPool warning', async () => {
    const pn = readyPn('db', ['vsw-1'], { 'vsw-1': 'z-a' });
    const planner = make(() => ({ vSwitchIds: ['vsw-d1'], securityGroupId: 'sg-d', vSwitchSelectionPolicy: 'ordered' }), [pn]);
    const decision = await planner.plan(on('vn-fixed-z-a', { app: 'db' }), 'z-a');
    expect(decision).toMatchObject({ kind: 'ready', vSwitchId: 'vsw-1', podNetworking: 'db' });
    expect(decision.kind === 'ready' && decision.warnings?.map((w) => w.reason)).toEqual(['PodNetworkingOverridesPool']);
  });
});
