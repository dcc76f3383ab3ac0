// Which zones need a virtual node, and what happens to the nodes: a table of situations a user can
// create (a PodNetworking adds a zone, loses it, fails; a node still has pods; a user cordoned it).
import { describe, expect, it } from 'vitest';
import { neededZones, planZoneNodes, podNetworkingNodes, sameZoneNodes, vSwitchesOfZone, type ZoneNodeAction, type ZoneNodeState } from '../../../provider/node/zone-plan.ts';
import { makePodNetworking } from '../networking/builders.ts';

const H = 'cn-hangzhou-h';
const I = 'cn-hangzhou-i';
const K = 'cn-hangzhou-k';

const pnInK = makePodNetworking({ name: 'pn-k', vSwitches: [{ id: 'vsw-k1', zone: K }, { id: 'vsw-i9', zone: I }] });

describe('neededZones', () => {
  const rows: [what: string, defaults: string[], pns: ReturnType<typeof makePodNetworking>[], expected: [string, string[]][]][] = [
    ['the default network only', [H, I], [], [[H, ['default network']], [I, ['default network']]]],
    ['a Ready PodNetworking adds its zones', [H], [pnInK], [[H, ['default network']], [I, ['PodNetworking pn-k']], [K, ['PodNetworking pn-k']]]],
    ['a zone both need names both', [I], [pnInK], [[I, ['default network', 'PodNetworking pn-k']], [K, ['PodNetworking pn-k']]]],
    ['a Fail PodNetworking adds nothing', [H], [makePodNetworking({ name: 'bad', vSwitches: [{ id: 'vsw-k1', zone: K }], status: { status: 'Fail', message: 'x' } })], [[H, ['default network']]]],
    ['an unresolved PodNetworking adds nothing', [H], [makePodNetworking({ name: 'new', vSwitches: [{ id: 'vsw-k1', zone: K }], status: null })], [[H, ['default network']]]],
    ['a PodNetworking being deleted adds nothing', [H], [makePodNetworking({ name: 'gone', vSwitches: [{ id: 'vsw-k1', zone: K }], deleting: true })], [[H, ['default network']]]],
  ];
  it.each(rows)('%s', (_, defaults, pns, expected) => {
    expect([...neededZones({ defaultZones: defaults, podNetworkings: pns }).entries()]).toEqual(expected);
  });

  it('gives a zone node the default vSwitches first, then the Ready PodNetworkings\' in that zone', () => {
    expect(vSwitchesOfZone({ zone: I, defaultVSwitchIds: ['vsw-i1'], podNetworkings: [pnInK] })).toEqual(['vsw-i1', 'vsw-i9']);
    expect(vSwitchesOfZone({ zone: K, defaultVSwitchIds: [], podNetworkings: [pnInK] })).toEqual(['vsw-k1']);
    expect(vSwitchesOfZone({ zone: H, defaultVSwitchIds: [], podNetworkings: [pnInK] })).toEqual([]);
  });
});

describe('planZoneNodes', () => {
  const node = (zone: string, o: Partial<ZoneNodeState> = {}): ZoneNodeState => ({ zone, unschedulable: false, cordonedByUs: false, activePods: 0, ...o });
  const needs = (...zones: string[]) => new Map(zones.map((z) => [z, ['default network']]));
  const rows: [what: string, needed: Map<string, string[]>, nodes: ZoneNodeState[], expected: ZoneNodeAction[]][] = [
    ['every needed zone has a node: nothing to do', needs(H, I), [node(H), node(I)], []],
    ['a zone appears: register', needs(H, K), [node(H)], [{ kind: 'register', zone: K, needs: ['default network'] }]],
    ['a zone is not needed any more: cordon first', needs(H), [node(H), node(K)], [{ kind: 'cordon', zone: K, reason: expect.stringContaining(K) as unknown as string }]],
    ['cordoned, pods still running: wait', needs(H), [node(H), node(K, { unschedulable: true, cordonedByUs: true, activePods: 2 })], [{ kind: 'wait-for-pods', zone: K, activePods: 2 }]],
    ['cordoned, no pod left: remove', needs(H), [node(H), node(K, { unschedulable: true, cordonedByUs: true })], [{ kind: 'remove', zone: K }]],
    ['cordoned by a user and not needed, no pod: remove', needs(H), [node(H), node(K, { unschedulable: true })], [{ kind: 'remove', zone: K }]],
    ['needed again while cordoned by us: uncordon', needs(H, K), [node(H), node(K, { unschedulable: true, cordonedByUs: true, activePods: 1 })], [{ kind: 'uncordon', zone: K, needs: ['default network'] }]],
    ['needed and cordoned by a user: left alone', needs(H, K), [node(H), node(K, { unschedulable: true })], []],
    [
      'registrations come before removals',
      needs(K),
      [node(H, { unschedulable: true, cordonedByUs: true })],
      [
        { kind: 'register', zone: K, needs: ['default network'] },
        { kind: 'remove', zone: H },
      ],
    ],
  ];
  it.each(rows)('%s', (_, needed, nodes, expected) => {
    expect(planZoneNodes({ needs: needed, nodes })).toEqual(expected);
  });
});

describe('podNetworkingNodes (status.virtualNodes)', () => {
  it('lists the zones of a Ready PodNetworking that have a node, and nothing for one that is not Ready', () => {
    const nodeOf = (zone: string) => (zone === I ? 'vn-i' : undefined);
    expect(podNetworkingNodes(pnInK, nodeOf)).toEqual([{ zone: I, node: 'vn-i' }]);
    expect(podNetworkingNodes(makePodNetworking({ name: 'bad', status: { status: 'Fail' } }), nodeOf)).toEqual([]);
    expect(sameZoneNodes(undefined, [])).toBe(true);
    expect(sameZoneNodes([{ zone: I, node: 'vn-i' }], [{ zone: I, node: 'vn-j' }])).toBe(false);
  });
});
