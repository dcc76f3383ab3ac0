import { describe, expect, it } from 'vitest';
import type { VSwitch } from '../../../provider/cloud/model.ts';
import {
  assessHeadroom,
  holdsNetworkIp,
  ipDriftOf,
  ipInCidr,
  networkKey,
  networkOfPod,
  networksOf,
  networkVSwitches,
  parseDurationMs,
  vSwitchesNotFoundToReport,
  placeByFreeIps,
  rescheduleWhenExhausted,
  type Network,
} from '../../../provider/networking/networks.ts';
import { preferZones } from '../../../provider/networking/zones.ts';
import { makePod, makePodNetworking, makeVSwitch } from './builders.ts';

const H = 'cn-hangzhou-h';
const I = 'cn-hangzhou-i';
const J = 'cn-hangzhou-j';
const ZONE = 'topology.kubernetes.io/zone';
const vsw = (id: string, zone: string, free: number, cidr = '10.0.1.0/26', status: VSwitch['status'] = 'Available'): VSwitch => ({ ...makeVSwitch({ id, zone, free, status }), cidrBlock: cidr });
const web: Network = { kind: 'podnetworking', name: 'web', vSwitchIds: ['vsw-a', 'vsw-b'] };

describe('networksOf / networkOfPod / networkKey', () => {
  it('the default network and every Ready PodNetworking, keyed for metrics', () => {
    const ready = makePodNetworking({ name: 'web', vSwitches: [{ id: 'vsw-a', zone: I }] });
    const failing = makePodNetworking({ name: 'bad', status: { status: 'Fail', message: 'x' } });
    const pool: Network = { kind: 'pool', name: 'fixed', vSwitchIds: ['vsw-f'] };
    const networks = networksOf({ defaultVSwitchIds: ['vsw-d'], podNetworkings: [ready, failing], pools: [pool] });
    expect(networks.map(networkKey)).toEqual(['default', 'podnetworking/web', 'pool/fixed']);
    expect(networks[1]!.vSwitchIds).toEqual(['vsw-a']);
  });

  it('a pod is served by the PodNetworking its annotation names, else a pool, else the default network', () => {
    expect(networkOfPod(makePod({ annotations: { 'k8s.aliyun.com/pod-networking': 'web' } }))).toEqual({ kind: 'podnetworking', name: 'web' });
    expect(networkOfPod(makePod(), () => 'fixed')).toEqual({ kind: 'pool', name: 'fixed' });
    expect(networkOfPod(makePod())).toEqual({ kind: 'default', name: 'default' });
  });

  it('pods hold an IP once bound and until they finish', () => {
    expect(holdsNetworkIp(makePod({ nodeName: 'vn-h' }))).toBe(true);
    expect(holdsNetworkIp(makePod())).toBe(false);
    expect(holdsNetworkIp({ ...makePod({ nodeName: 'vn-h' }), status: { phase: 'Succeeded' } })).toBe(false);
  });
});

describe('assessHeadroom', () => {
  it.each([
    // free IPs across the network's Available vSwitches, pods, ratio -> ok
    ['exactly 2x is enough', [vsw('vsw-a', I, 6), vsw('vsw-b', J, 4)], 5, 2, true, 10],
    ['one IP short of 2x is low', [vsw('vsw-a', I, 5), vsw('vsw-b', J, 4)], 5, 2, false, 9],
    ['a Pending vSwitch counts nothing', [vsw('vsw-a', I, 50, undefined, 'Pending'), vsw('vsw-b', J, 3)], 2, 2, false, 3],
    ['no pods: never low', [vsw('vsw-a', I, 0)], 0, 2, true, 0],
    ['a custom ratio of 1.5', [vsw('vsw-a', I, 15)], 10, 1.5, true, 15],
    ['vSwitches of other networks do not count', [vsw('vsw-a', I, 1), vsw('vsw-z', I, 500)], 1, 2, false, 1],
  ])('%s', (_why, vSwitches, pods, ratio, ok, freeIps) => {
    const h = assessHeadroom({ network: web, vSwitches, pods, ratio });
    expect(h).toMatchObject({ ok, freeIps, pods, reason: ok ? 'Headroom' : 'IPHeadroomLow', network: 'podnetworking/web' });
  });

  it('says what to do when low, and names each vSwitch with its free IPs', () => {
    const h = assessHeadroom({ network: web, vSwitches: [vsw('vsw-a', I, 1), vsw('vsw-b', J, 2)], pods: 2, ratio: 2 });
    expect(h?.message).toBe(
      '3 free IPs for 2 pods, below 2x (4): IPs not yet released after a failure can block new pods. Add a vSwitch to podnetworking/web or free IPs; vsw-a=1, vsw-b=2',
    );
  });

  it('no verdict before the network\'s vSwitches were read', () => {
    expect(assessHeadroom({ network: web, vSwitches: [vsw('vsw-z', I, 9)], pods: 3, ratio: 2 })).toBeUndefined();
  });
});

describe('placeByFreeIps', () => {
  const ids = ['vsw-h', 'vsw-i', 'vsw-j'];
  it('leaves out the zone with no free IP while another has some, and prefers zones by free IPs', () => {
    const p = placeByFreeIps({ zones: [H, I, J], vSwitchIds: ids, vSwitches: [vsw('vsw-h', H, 50), vsw('vsw-i', I, 10), vsw('vsw-j', J, 0)] });
    expect(p.zones).toEqual([H, I]);
    expect(p.preferred).toEqual([{ zone: H, weight: 100 }, { zone: I, weight: 20 }]);
    expect(p.notes).toEqual([`${J}: 0 free IPs, left out`]);
  });

  it('keeps every zone when none has free IPs (the pod waits with its reason)', () => {
    const p = placeByFreeIps({ zones: [H, J], vSwitchIds: ids, vSwitches: [vsw('vsw-h', H, 0), vsw('vsw-j', J, 0)] });
    expect(p).toEqual({ zones: [H, J], preferred: [], notes: ['no allowed zone has free IPs: every zone kept (the pod waits with its reason)'] });
  });

  it('keeps a zone not read yet, and has no preference with one zone of room', () => {
    const p = placeByFreeIps({ zones: [H, I, J], vSwitchIds: ids, vSwitches: [vsw('vsw-h', H, 7), vsw('vsw-j', J, 0)] });
    expect(p.zones).toEqual([H, I]);
    expect(p.preferred).toEqual([]);
  });

  it('nothing read: the zones as they are', () => {
    expect(placeByFreeIps({ zones: [I, H], vSwitchIds: ids, vSwitches: [] })).toEqual({ zones: [H, I], preferred: [], notes: [] });
  });

  it('a tiny zone still gets weight 1', () => {
    const p = placeByFreeIps({ zones: [H, I], vSwitchIds: ids, vSwitches: [vsw('vsw-h', H, 1000), vsw('vsw-i', I, 1)] });
    expect(p.preferred).toEqual([{ zone: H, weight: 100 }, { zone: I, weight: 1 }]);
  });
});

describe('preferZones', () => {
  it('adds one weighted term per zone, and nothing when a zone preference exists (re-invocation, or the user\'s own)', () => {
    const once = preferZones({}, [{ zone: H, weight: 100 }, { zone: I, weight: 20 }]);
    expect(once.changed).toBe(true);
    expect(once.affinity.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
      { weight: 100, preference: { matchExpressions: [{ key: ZONE, operator: 'In', values: [H] }] } },
      { weight: 20, preference: { matchExpressions: [{ key: ZONE, operator: 'In', values: [I] }] } },
    ]);
    expect(preferZones(once.affinity, [{ zone: I, weight: 100 }])).toEqual({ affinity: once.affinity, changed: false });
  });
});

describe('ipInCidr / ipDriftOf', () => {
  it.each([
    ['10.0.1.5', '10.0.1.0/26', true],
    ['10.0.1.63', '10.0.1.0/26', true],
    ['10.0.1.64', '10.0.1.0/26', false],
    ['10.0.9.1', '10.0.0.0/16', true],
    ['192.168.0.1', '0.0.0.0/0', true],
    ['10.0.1.300', '10.0.1.0/24', false],
    ['fd00::1', '10.0.1.0/24', false],
  ])('%s in %s: %s', (ip, cidr, inside) => {
    expect(ipInCidr(ip, cidr)).toBe(inside);
  });

  const vSwitches = [vsw('vsw-a', I, 5, '10.0.1.0/26'), vsw('vsw-b', J, 5, '10.0.2.0/26')];
  const podWithIp = (ip: string | undefined) => ({ ...makePod({ name: 'web-1', namespace: 'shop' }), status: ip === undefined ? {} : { podIP: ip } });

  it('fires for an IP outside every CIDR of the network, naming them', () => {
    expect(ipDriftOf({ pod: podWithIp('10.0.3.7'), network: web, vSwitches })).toEqual({
      network: 'podnetworking/web',
      namespace: 'shop',
      pod: 'web-1',
      ip: '10.0.3.7',
      cidrs: ['10.0.1.0/26', '10.0.2.0/26'],
      message:
        'pod IP 10.0.3.7 is outside the vSwitch CIDRs of its network podnetworking/web (10.0.1.0/26, 10.0.2.0/26): a whitelist naming those CIDRs does not admit this pod. Recreate the pod (if the network\'s vSwitches did not change since it started, also report it)',
    });
  });

  it('is quiet for an IP inside, a pod without IP, or a network not read yet', () => {
    expect(ipDriftOf({ pod: podWithIp('10.0.2.9'), network: web, vSwitches })).toBeUndefined();
    expect(ipDriftOf({ pod: podWithIp(undefined), network: web, vSwitches })).toBeUndefined();
    expect(ipDriftOf({ pod: podWithIp('10.9.9.9'), network: web, vSwitches: [] })).toBeUndefined();
  });

  it('does not judge a network one of whose vSwitches was not read yet (a PodNetworking Ready since the last DescribeVSwitches)', () => {
    // The pod got its IP in vsw-b, whose CIDR the last DescribeVSwitches did not bring.
    const onlyA = [vsw('vsw-a', I, 5, '10.0.1.0/26')];
    expect(ipDriftOf({ pod: podWithIp('10.0.2.9'), network: web, vSwitches: onlyA })).toBeUndefined();
    // Once every vSwitch is read, an IP outside all of them still fires.
    expect(ipDriftOf({ pod: podWithIp('10.0.3.7'), network: web, vSwitches })?.ip).toBe('10.0.3.7');
  });

  it('judges a network one of whose vSwitches was asked for and not found against the ones that exist', () => {
    const onlyA = [vsw('vsw-a', I, 5, '10.0.1.0/26')];
    // vsw-b does not exist in the cloud: it holds no pod IP, so an IP outside vsw-a is drift.
    expect(ipDriftOf({ pod: podWithIp('10.0.3.7'), network: web, vSwitches: onlyA, notFound: ['vsw-b'] })).toMatchObject({ ip: '10.0.3.7', cidrs: ['10.0.1.0/26'] });
    expect(ipDriftOf({ pod: podWithIp('10.0.1.9'), network: web, vSwitches: onlyA, notFound: ['vsw-b'] })).toBeUndefined();
    // Every vSwitch missing: nothing to judge against.
    expect(ipDriftOf({ pod: podWithIp('10.0.3.7'), network: web, vSwitches: [], notFound: ['vsw-a', 'vsw-b'] })).toBeUndefined();
  });

  it('reports each vSwitch not found once per network, and again only after it was found in between', () => {
    const pool: Network = { kind: 'pool', name: 'fixed', vSwitchIds: ['vsw-a'] };
    const onlyA = [vsw('vsw-a', I, 5, '10.0.1.0/26')];
    const first = vSwitchesNotFoundToReport({ networks: [web, pool], vSwitches: onlyA, notFound: ['vsw-b'], reported: new Set() });
    expect(first.reports).toEqual([
      {
        network: web,
        vSwitchIds: ['vsw-b'],
        message:
          "vSwitch vsw-b of podnetworking/web not found (DescribeVSwitches knows no such id in this region): its pods' IPs are checked against vsw-a only. Remove the id from the network or create the vSwitch",
      },
    ]);
    // The next checks: nothing new to say.
    const second = vSwitchesNotFoundToReport({ networks: [web, pool], vSwitches: onlyA, notFound: ['vsw-b'], reported: first.reported });
    expect(second.reports).toEqual([]);
    // vsw-b comes back, then goes again: reported again.
    const back = vSwitchesNotFoundToReport({ networks: [web], vSwitches, notFound: [], reported: second.reported });
    expect(back.reports).toEqual([]);
    const again = vSwitchesNotFoundToReport({ networks: [web], vSwitches: onlyA, notFound: ['vsw-b'], reported: back.reported });
    expect(again.reports.map((r) => r.vSwitchIds)).toEqual([['vsw-b']]);
    // Not asked yet is not "not found"; none found says the pods are not checked.
    expect(vSwitchesNotFoundToReport({ networks: [web], vSwitches: onlyA, notFound: [], reported: new Set() }).reports).toEqual([]);
    expect(vSwitchesNotFoundToReport({ networks: [pool], vSwitches: [], notFound: ['vsw-a'], reported: new Set() }).reports[0]?.message).toContain("pool/fixed not found (DescribeVSwitches knows no such id in this region): its pods' IPs are not checked");
  });

  it('networkVSwitches tells read, asked and not found, and not asked yet', () => {
    const three: Network = { kind: 'pool', name: 'fixed', vSwitchIds: ['vsw-a', 'vsw-b', 'vsw-c', 'vsw-a'] };
    expect(networkVSwitches({ network: three, vSwitches: [vsw('vsw-a', I, 5)], notFound: ['vsw-b', 'vsw-z'] })).toEqual({ read: [vsw('vsw-a', I, 5)], notFound: ['vsw-b'], notAsked: ['vsw-c'] });
    // Returned by another read (another manager asked for it): read, not missing.
    expect(networkVSwitches({ network: three, vSwitches: [vsw('vsw-b', J, 5)], notFound: ['vsw-b'] }).notFound).toEqual([]);
  });
});

describe('rescheduleWhenExhausted (opt-in)', () => {
  const bound = '2026-12-06T06:00:00Z';
  const owned = (kind: string) => ({
    metadata: { name: 'web-1', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind, name: 'web-7d9', uid: 'u', controller: true }] },
    status: { conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date(bound) }] },
  });
  const at = (s: number) => new Date(new Date(bound).getTime() + s * 1000);

  it.each([
    ['5m', 'ReplicaSet', 299, { kind: 'wait', afterMs: 1000 }],
    ['5m', 'ReplicaSet', 300, { kind: 'delete', message: 'waited 300 s (over 5m) for a free IP in its zone: deleted so that ReplicaSet web-7d9 re-creates it in a zone with free IPs' }],
    ['90s', 'StatefulSet', 91, { kind: 'delete' }],
    ['1h30m', 'Job', 5399, { kind: 'wait', afterMs: 1000 }],
    ['5m', 'DaemonSet', 999, { kind: 'keep', why: 'a DaemonSet pod belongs to its node' }],
    ['soon', 'ReplicaSet', 999, { kind: 'keep', why: '"soon" is not a duration such as 5m or 90s' }],
  ])('%s, owned by a %s, %i s after bind', (annotation, kind, seconds, expected) => {
    expect(rescheduleWhenExhausted({ pod: owned(kind), annotation, now: at(seconds) })).toMatchObject(expected);
  });

  it('never without the annotation, nor for a bare pod (nothing would re-create it)', () => {
    expect(rescheduleWhenExhausted({ pod: owned('ReplicaSet'), annotation: undefined, now: at(9999) })).toEqual({ kind: 'keep', why: 'not opted in' });
    expect(rescheduleWhenExhausted({ pod: { metadata: { name: 'bare' }, status: {} }, annotation: '1s', now: at(9999) })).toEqual({ kind: 'keep', why: 'no controller would re-create the pod' });
  });

  it('parses Go-style durations', () => {
    expect([parseDurationMs('90s'), parseDurationMs('5m'), parseDurationMs('1h'), parseDurationMs('2m30s'), parseDurationMs(''), parseDurationMs('5'), parseDurationMs('5ms')]).toEqual([90_000, 300_000, 3_600_000, 150_000, undefined, undefined, undefined]);
  });
});
