import { describe, expect, it } from 'vitest';
import type { V1Affinity, V1NodeSelectorTerm } from '@kubernetes/client-node';
import { constrainToZones, isZoneAllowed, nodeSelectorZoneProblem, zonesOf } from '../../../provider/networking/zones.ts';
import { makePod, makePodNetworking } from './builders.ts';

const ZONE = 'topology.kubernetes.io/zone';
const I = 'cn-hangzhou-i';
const J = 'cn-hangzhou-j';
const K = 'cn-hangzhou-k';

function required(...terms: V1NodeSelectorTerm[]): V1Affinity {
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } };
}
const zoneIn = (...values: string[]) => ({ key: ZONE, operator: 'In', values });
const zoneNotIn = (...values: string[]) => ({ key: ZONE, operator: 'NotIn', values });
const disk = { key: 'disk', operator: 'In', values: ['ssd'] };

describe('zonesOf', () => {
  it('distinct sorted zones of status.vSwitches; none when unresolved', () => {
    const pn = makePodNetworking({ name: 'pn', vSwitches: [{ id: 'vsw-1', zone: K }, { id: 'vsw-2', zone: I }, { id: 'vsw-3', zone: K }] });
    expect(zonesOf(pn)).toEqual([I, K]);
    expect(zonesOf(makePodNetworking({ name: 'pn', status: null }))).toEqual([]);
  });
});

describe('constrainToZones', () => {
  const rows: [string, V1Affinity | undefined, string[], V1Affinity][] = [
    ['no affinity: creates the required term', undefined, [K, I], required({ matchExpressions: [zoneIn(I, K)] })],
    ['empty affinity object', {}, [I], required({ matchExpressions: [zoneIn(I)] })],
    [
      'keeps pod (anti-)affinity and preferred node affinity',
      { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] }, nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [zoneIn(J)] } }] } },
      [I],
      {
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] },
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [zoneIn(J)] } }],
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [zoneIn(I)] }] },
        },
      },
    ],
    [
      'adds the zone expression to EVERY term (terms are ORed)',
      required({ matchExpressions: [disk] }, { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }),
      [I, K],
      required(
        { matchExpressions: [disk, zoneIn(I, K)] },
        { matchExpressions: [{ key: 'gpu', operator: 'Exists' }, zoneIn(I, K)] },
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }], matchExpressions: [zoneIn(I, K)] },
      ),
    ],
    ['intersects an existing zone In, in place', required({ matchExpressions: [zoneIn(J, K), disk] }), [I, K], required({ matchExpressions: [zoneIn(K), disk] })],
    ['merges several zone In expressions into one', required({ matchExpressions: [zoneIn(I, J, K), disk, zoneIn(I, K)] }), [I, J], required({ matchExpressions: [zoneIn(I), disk] })],
    ['honours NotIn (kept as is)', required({ matchExpressions: [zoneNotIn(I)] }), [I, K], required({ matchExpressions: [zoneNotIn(I), zoneIn(K)] })],
    ['zone Exists is no limit', required({ matchExpressions: [{ key: ZONE, operator: 'Exists' }] }), [I], required({ matchExpressions: [{ key: ZONE, operator: 'Exists' }, zoneIn(I)] })],
    [
      'drops a term whose intersection is empty, keeps the others',
      required({ matchExpressions: [zoneIn(J)] }, { matchExpressions: [disk] }),
      [I],
      required({ matchExpressions: [disk, zoneIn(I)] }),
    ],
    ['drops an empty term (it matches no node)', required({}, { matchExpressions: [disk] }), [I], required({ matchExpressions: [disk, zoneIn(I)] })],
  ];
  it.each(rows)('%s', (_name, affinity, zones, expected) => {
    const before = structuredClone(affinity);
    const result = constrainToZones(affinity, zones);
    expect(result).toEqual({ ok: true, affinity: expected, changed: true });
    expect(affinity).toEqual(before); // input never mutated
  });

  it.each(rows)('is idempotent: re-running on its output adds nothing (%s)', (_name, affinity, zones) => {
    const first = constrainToZones(affinity, zones);
    if (!first.ok) throw new Error(first.message);
    const second = constrainToZones(first.affinity, zones);
    expect(second).toEqual({ ok: true, affinity: first.affinity, changed: false });
  });

  it.each([
    ['the only term allows other zones', required({ matchExpressions: [zoneIn(J)] }), [I, K], 'zones cn-hangzhou-i, cn-hangzhou-k): term 1 allows only cn-hangzhou-j'],
    ['every term refused', required({ matchExpressions: [zoneIn(J)] }, { matchExpressions: [zoneNotIn(I, K)] }), [I, K], 'term 1 allows only cn-hangzhou-j; term 2 allows any zone except cn-hangzhou-i, cn-hangzhou-k'],
    ['zone DoesNotExist', required({ matchExpressions: [{ key: ZONE, operator: 'DoesNotExist' }] }), [I], 'term 1 allows only nodes without a zone label'],
    ['contradictory zone expressions', required({ matchExpressions: [zoneIn(I), zoneIn(J)] }), [I, J], 'term 1 allows no zone (its zone expressions contradict each other)'],
  ] as [string, V1Affinity, string[], string][])('refuses when no term is left: %s', (_name, affinity, zones, fragment) => {
    const result = constrainToZones(affinity, zones);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain("the pod's required node affinity leaves no zone of the PodNetworking (");
    expect(result.message).toContain(fragment);
  });

  it('refuses an empty zone list (an unresolved PodNetworking)', () => {
    expect(constrainToZones(undefined, [])).toEqual({ ok: false, message: 'the PodNetworking has no resolved zones (status.vSwitches is empty)' });
  });

  it('a second PodNetworking zone set narrows further (intersection), never widens', () => {
    const first = constrainToZones(undefined, [I, J]);
    if (!first.ok) throw new Error(first.message);
    const second = constrainToZones(first.affinity, [J, K]);
    expect(second).toEqual({ ok: true, affinity: required({ matchExpressions: [zoneIn(J)] }), changed: true });
  });
});

describe('nodeSelectorZoneProblem', () => {
  it('flags a nodeSelector zone outside the PodNetworking', () => {
    expect(nodeSelectorZoneProblem(undefined, [I])).toBeUndefined();
    expect(nodeSelectorZoneProblem({ [ZONE]: I }, [I, K])).toBeUndefined();
    expect(nodeSelectorZoneProblem({ [ZONE]: J }, [K, I])).toBe(
      "the pod's nodeSelector topology.kubernetes.io/zone=cn-hangzhou-j is not among the PodNetworking's zones (cn-hangzhou-i, cn-hangzhou-k)",
    );
  });
});

describe('isZoneAllowed (sync-time check)', () => {
  it.each([
    ['no constraint at all', makePod(), I, undefined, true],
    ['zone among the PodNetworking zones', makePod(), I, [I, K], true],
    ['zone outside the PodNetworking zones', makePod(), J, [I, K], false],
    ['affinity allows the zone', makePod({ affinity: required({ matchExpressions: [zoneIn(I, K), disk] }) }), K, undefined, true],
    ['affinity excludes the zone', makePod({ affinity: required({ matchExpressions: [zoneIn(I)] }) }), K, undefined, false],
    ['one of the ORed terms allows it', makePod({ affinity: required({ matchExpressions: [zoneIn(I)] }, { matchExpressions: [disk] }) }), K, undefined, true],
    ['nodeSelector names another zone', makePod({ nodeSelector: { [ZONE]: I } }), K, undefined, false],
  ] as [string, ReturnType<typeof makePod>, string, string[] | undefined, boolean][])('%s', (_name, pod, zone, allowed, expected) => {
    expect(isZoneAllowed(pod, zone, allowed).allowed).toBe(expected);
  });

  it('says why', () => {
    expect(isZoneAllowed(makePod(), J, [K, I])).toEqual({ allowed: false, reason: "zone cn-hangzhou-j is not among the PodNetworking's zones (cn-hangzhou-i, cn-hangzhou-k)" });
    expect(isZoneAllowed(makePod({ affinity: required({ matchExpressions: [zoneIn(I)] }) }), K)).toEqual({
      allowed: false,
      reason: "the pod's required node affinity does not allow zone cn-hangzhou-k (terms allow: only cn-hangzhou-i)",
    });
  });
});
