// The simulator's tag index: each tag's groups in creation order, so a tag-filtered page starts at
// its NextToken by binary search. Checked against the obvious answer (filter every live group by
// the tag, sort by seq) through creates, deletes (past the compaction threshold), retags and a
// load out of order.

import { describe, expect, it } from 'vitest';
import { Store } from '../../../adapters/cloudsim/state.ts';
import type { GroupRecord } from '../../../adapters/cloudsim/state.ts';

type Tag = { key: string; value: string };

function makeGroup(seq: number, tags: Tag[]): GroupRecord {
  return {
    seq, id: `eci-${seq}`, uuid: `uuid-${seq}`, name: `g-${seq}`, regionId: 'r', zoneId: 'z', vpcId: 'vpc', vSwitchId: 'vsw', securityGroupId: 'sg', ip: '10.0.0.1', eniId: `eni-${seq}`,
    cpu: 1, memory: 2, instanceType: '', restartPolicy: 'Always', tags, containers: [], initContainers: [], volumes: [], extra: {},
    status: 'Running', stage: 'running', createdAt: seq, changedAt: seq, events: [],
  };
}

/** The answer without the index: every live group with the tag, in seq order, after `afterSeq`. */
function expected(store: Store, tag: Tag, afterSeq = 0): number[] {
  return [...store.groups.values()]
    .filter((g) => g.seq > afterSeq && g.tags.some((t) => t.key === tag.key && t.value === tag.value))
    .map((g) => g.seq)
    .sort((a, b) => a - b);
}

function listed(store: Store, tag: Tag, afterSeq = 0): number[] {
  return [...store.withTag(tag.key, tag.value, afterSeq)].map((g) => g.seq);
}

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CLUSTER = { key: 'cluster', value: 'c1' };
const OTHER = { key: 'cluster', value: 'c2' };
const TEAM = { key: 'team', value: 'a' };

describe('Store tag index', () => {
  it('lists a tag in creation order from any cursor, with an exact count, through creates, deletes past compaction and retags', () => {
    const store = new Store();
    const rnd = random(16);
    let seq = 0;
    for (let step = 0; step < 6000; step++) {
      const r = rnd();
      const live = [...store.groups.values()];
      if (r < 0.55 || live.length === 0) {
        seq++;
        store.add(makeGroup(seq, rnd() < 0.8 ? [CLUSTER, ...(rnd() < 0.5 ? [TEAM] : [])] : [OTHER]), seq);
      } else if (r < 0.9) {
        store.remove(live[Math.floor(rnd() * live.length)]!.id);
      } else {
        // UpdateContainerGroup with Tag: drop, keep or add the tag (a group may come back to it).
        const g = live[Math.floor(rnd() * live.length)]!;
        const choice = rnd();
        store.setTags(g, choice < 0.33 ? [OTHER] : choice < 0.66 ? [CLUSTER] : [CLUSTER, TEAM]);
      }
      if (step % 97 === 0) {
        for (const tag of [CLUSTER, OTHER, TEAM]) {
          const cursor = Math.floor(rnd() * (seq + 1));
          expect(listed(store, tag, cursor)).toEqual(expected(store, tag, cursor));
          expect(store.countWithTag(tag.key, tag.value)).toBe(expected(store, tag).length);
        }
      }
    }
    for (const tag of [CLUSTER, OTHER, TEAM]) expect(listed(store, tag)).toEqual(expected(store, tag));
  });

  it('keeps creation order when groups are loaded out of order (a restored state)', () => {
    const store = new Store();
    for (const seq of [5, 2, 9, 1, 7]) store.add(makeGroup(seq, [CLUSTER]), seq);
    expect(listed(store, CLUSTER)).toEqual([1, 2, 5, 7, 9]);
    expect(listed(store, CLUSTER, 5)).toEqual([7, 9]);
    expect(store.countWithTag(CLUSTER.key, CLUSTER.value)).toBe(5);
  });

  it('lists a group once after it lost a tag and got it back', () => {
    const store = new Store();
    for (let seq = 1; seq <= 3; seq++) store.add(makeGroup(seq, [CLUSTER]), seq);
    const g = store.groups.get('eci-2')!;
    store.setTags(g, [OTHER]);
    expect(listed(store, CLUSTER)).toEqual([1, 3]);
    store.setTags(g, [CLUSTER]);
    expect(listed(store, CLUSTER)).toEqual([1, 2, 3]);
    expect(store.countWithTag(CLUSTER.key, CLUSTER.value)).toBe(3);
    expect(store.countWithTag(OTHER.key, OTHER.value)).toBe(0);
  });
});
