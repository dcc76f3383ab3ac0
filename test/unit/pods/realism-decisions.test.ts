// The pure decisions that let the provider survive a realistic cloud (docs/reliability.md,
// "An unkind cloud"): ClientToken per body, what a failed create says about the group, a group
// missing right after its create, a second group of one pod, no Running without an IP.
import { describe, expect, it } from 'vitest';
import type { CloudContainerStatus, ContainerGroup } from '../../../provider/cloud/model.ts';
import { GROUP_TAGS } from '../../../provider/cloud/model.ts';
import { canonicalJson, clientTokenFor } from '../../../provider/eci/client-token.ts';
import type { ContainerGroupRequest } from '../../../provider/eci/request.ts';
import { podStatusFromGroup } from '../../../provider/eci/status.ts';
import { createOutcome, planPod, surplusGroups, VANISH_GRACE_MS, type PlanInputs } from '../../../provider/pods/plan.ts';
import { makePod } from '../builders.ts';

const body = (o: Partial<ContainerGroupRequest> = {}): ContainerGroupRequest => ({
  regionId: 'cn-hangzhou',
  zoneId: 'cn-hangzhou-h',
  securityGroupId: 'sg-1',
  vSwitchIds: ['vsw-a'],
  containerGroupName: 'shop-web-0',
  restartPolicy: 'Always',
  containers: [],
  initContainers: [],
  volumes: [],
  tags: {},
  clientToken: '',
  hostAliases: [],
  imageRegistryCredentials: [],
  sysctls: [],
  ...o,
});

describe('clientTokenFor', () => {
  const uid = '0f8fad5b-d9cb-469f-a165-70867728950e';
  it('is the pod UID plus a 16-hex digest, within ECI 64 ASCII characters', () => {
    const token = clientTokenFor(uid, body());
    expect(token).toMatch(new RegExp(`^${uid}-[0-9a-f]{16}$`));
    expect(token.length).toBeLessThanOrEqual(64);
  });
  it('is the same for the same body whatever the key order or the old token, and differs when the body differs', () => {
    const a = clientTokenFor(uid, body());
    const reordered = Object.fromEntries(Object.entries(body({ clientToken: 'anything' })).reverse()) as unknown as ContainerGroupRequest;
    expect(clientTokenFor(uid, reordered)).toBe(a);
    expect(clientTokenFor(uid, body({ vSwitchIds: ['vsw-b'] }))).not.toBe(a);
    expect(clientTokenFor('other-uid', body())).not.toBe(a);
  });
  it('canonical JSON leaves undefined members out and sorts keys', () => {
    expect(canonicalJson({ b: 1, a: undefined, c: [1, { y: 2, x: 1 }] })).toBe('{"b":1,"c":[1,{"x":1,"y":2}]}');
  });
  it('canonical JSON keeps empty containers, nulls and undefined array members, and orders keys by code unit', () => {
    expect(canonicalJson({ é: 's"q', Z: null, a: [], b: {}, c: [undefined, null, 'x'], d: { u: undefined } })).toBe('{"Z":null,"a":[],"b":{},"c":[null,null,"x"],"d":{},"é":"s\\"q"}');
  });
  it('keeps the tokens of earlier versions (a restart after an upgrade must find the groups it made)', () => {
    // The digest of body() as the first implementation computed it.
    expect(clientTokenFor(uid, body())).toBe(`${uid}-9e1b72a3b52dcc6a`);
  });
});

describe('createOutcome: what a failed create proves', () => {
  it.each([
    ['retry', 'uncertain'],
    ['failover-vswitch', 'definite'],
    ['terminal', 'definite'],
    ['throttled', 'unchanged'],
    ['gone', 'unchanged'],
  ] as const)('%s -> %s', (verdict, expected) => {
    expect(createOutcome(verdict)).toBe(expected);
  });
});

describe('planPod: a group missing right after its create', () => {
  const now = new Date('2026-12-06T06:00:00Z');
  const inputs = (createdAgoMs: number | undefined): PlanInputs => ({
    pod: makePod({ annotations: { 'k8s.aliyun.com/eci-instance-id': 'eci-new' } }),
    group: undefined,
    recordedGroupConfirmedGone: true,
    desiredStatus: undefined,
    statusChanged: false,
    now,
    ...(createdAgoMs === undefined ? {} : { createdAtMs: now.getTime() - createdAgoMs }),
  });
  it('waits within the grace after the create', () => {
    expect(planPod(inputs(1_000))).toMatchObject({ kind: 'await-group-visible', containerGroupId: 'eci-new' });
  });
  it('marks the pod lost after the grace, or when this process did not create it (a restart)', () => {
    expect(planPod(inputs(VANISH_GRACE_MS + 1))).toEqual({ kind: 'mark-lost', containerGroupId: 'eci-new' });
    expect(planPod(inputs(undefined))).toEqual({ kind: 'mark-lost', containerGroupId: 'eci-new' });
  });
  it('never touches a finished pod whose group expired (retention)', () => {
    const p = inputs(undefined);
    p.pod.status = { phase: 'Succeeded' };
    expect(planPod(p).kind).toBe('nothing');
  });
});

describe('surplusGroups', () => {
  const g = (id: string, uid: string, creationTime: string, status = 'Running') => ({ id, tags: { [GROUP_TAGS.podUid]: uid }, status, creationTime });
  it('keeps the recorded group, else the oldest; Terminating ones and single groups are left alone', () => {
    const groups = [g('eci-b', 'p1', '2026-12-06T06:00:02Z'), g('eci-a', 'p1', '2026-12-06T06:00:01Z'), g('eci-c', 'p2', '2026-12-06T06:00:00Z'), g('eci-d', 'p2', '2026-12-06T06:00:03Z', 'Terminating'), g('eci-e', 'p3', '2026-12-06T06:00:00Z'), g('eci-f', 'p3', '2026-12-06T06:00:09Z')];
    expect(surplusGroups(groups, (uid) => (uid === 'p3' ? 'eci-f' : undefined)).sort()).toEqual(['eci-b', 'eci-e']);
  });
});

describe('podStatusFromGroup: no Running without an IP', () => {
  const running = (name: string): CloudContainerStatus => ({ name, image: 'nginx', ready: true, restartCount: 0, state: { state: 'Running', startTime: '2026-12-06T06:00:00Z' } }) as CloudContainerStatus;
  const group = (o: Partial<ContainerGroup>): ContainerGroup => ({ id: 'eci-1', name: 'x', status: 'Running', zoneId: 'z', vSwitchId: 'v', securityGroupId: 's', vpcId: 'p', cpu: 1, memory: 2, containers: [running('app')], initContainers: [], events: [], tags: {}, ...o });
  const now = new Date('2026-12-06T06:00:05Z');
  it('holds a Running group without an IP at Pending, not ready', () => {
    const s = podStatusFromGroup({ group: group({ intranetIp: '' }), pod: makePod(), now });
    expect(s.phase).toBe('Pending');
    expect(s.podIP).toBeUndefined();
    expect(s.hostIP).toBeUndefined();
    expect(s.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(s.containerStatuses?.every((c) => !c.ready)).toBe(true);
  });
  it('reports Running once the IP is there', () => {
    const s = podStatusFromGroup({ group: group({ intranetIp: '10.0.1.9' }), pod: makePod(), now });
    expect(s.phase).toBe('Running');
    expect(s.podIP).toBe('10.0.1.9');
  });
});
