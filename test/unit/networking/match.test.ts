import { describe, expect, it } from 'vitest';
import type { V1LabelSelector } from '@kubernetes/client-node';
import { describeSelector, labelSelectorMatches, labelSelectorProblems, matchPodNetworking } from '../../../provider/networking/match.ts';
import { makePod, makePodNetworking } from './builders.ts';

describe('labelSelectorMatches (Kubernetes label-selector semantics)', () => {
  const labels = { app: 'web', tier: 'frontend', 'example.com/team': 'a' };
  const rows: [string, V1LabelSelector | undefined, Record<string, string> | undefined, boolean, string?][] = [
    ['empty selector matches everything', {}, labels, true],
    ['empty selector matches no labels too', {}, undefined, true],
    ['absent selector matches nothing', undefined, labels, false, 'no selector (matches nothing)'],
    ['matchLabels equal', { matchLabels: { app: 'web' } }, labels, true],
    ['matchLabels several, all equal', { matchLabels: { app: 'web', tier: 'frontend' } }, labels, true],
    ['matchLabels other value', { matchLabels: { app: 'api' } }, labels, false, 'app=api did not match (app=web)'],
    ['matchLabels missing label', { matchLabels: { env: 'prod' } }, labels, false, 'env=prod did not match (no label env)'],
    ['matchLabels empty value needs the label present', { matchLabels: { env: '' } }, labels, false, 'env= did not match (no label env)'],
    ['matchLabels empty value, present empty', { matchLabels: { env: '' } }, { env: '' }, true],
    ['prefixed key', { matchLabels: { 'example.com/team': 'a' } }, labels, true],
    ['In hit', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'frontend'] }] }, labels, true],
    ['In miss', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'db'] }] }, labels, false, 'tier in (backend,db) did not match (tier=frontend)'],
    ['In absent label', { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }, labels, false, 'env=prod did not match (no label env)'],
    ['NotIn hit', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['frontend'] }] }, labels, false, 'tier!=frontend did not match (tier=frontend)'],
    ['NotIn other value', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }, labels, true],
    ['NotIn holds when the label is absent', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels, true],
    ['Exists present', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels, true],
    ['Exists absent', { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, labels, false, 'gpu did not match (no label gpu)'],
    ['Exists with empty values list', { matchExpressions: [{ key: 'app', operator: 'Exists', values: [] }] }, labels, true],
    ['DoesNotExist absent', { matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, labels, true],
    ['DoesNotExist present', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels, false, '!app did not match (app=web)'],
    ['labels AND expressions: both hold', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels, true],
    ['labels AND expressions: one fails', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels, false, '!tier did not match (tier=frontend)'],
    ['unknown operator: no match', { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['web'] }] }, labels, false, 'invalid selector: matchExpressions[0].operator: "Equals" is not one of In, NotIn, Exists, DoesNotExist'],
    ['operators are case-sensitive', { matchExpressions: [{ key: 'app', operator: 'in', values: ['web'] }] }, labels, false, 'invalid selector: matchExpressions[0].operator: "in" is not one of In, NotIn, Exists, DoesNotExist'],
    ['In without values: no match', { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] }, labels, false, 'invalid selector: matchExpressions[0].values: must not be empty for operator In'],
    ['Exists with values: no match', { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['web'] }] }, labels, false, 'invalid selector: matchExpressions[0].values: must be empty for operator Exists'],
    ['bad key: no match', { matchLabels: { 'bad key': 'x' } }, { 'bad key': 'x' }, false],
  ];
  it.each(rows)('%s', (_name, selector, have, matches, reason) => {
    const result = labelSelectorMatches(selector, have);
    expect(result.matches).toBe(matches);
    if (reason !== undefined) expect(result).toEqual({ matches: false, reason });
  });

  it('a label named like an Object.prototype key is not present unless set', () => {
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, {}).matches).toBe(false);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }, {}).matches).toBe(true);
  });
});

describe('labelSelectorProblems', () => {
  it.each([
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['x'] }] }, []],
    [{ matchExpressions: [{ key: '', operator: 'Exists' }] }, ['.matchExpressions[0].key']],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn' }] }, ['.matchExpressions[0].values']],
    [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] }, ['.matchExpressions[0].values']],
    [{ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, ['.matchExpressions[0].operator']],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['has space'] }] }, ['.matchExpressions[0].values[0]']],
    [{ matchLabels: { 'Example.com/x': 'y' } }, ['.matchLabels']],
    [{ matchLabels: { a: 'x'.repeat(64) } }, ['.matchLabels[a]']],
  ] as [V1LabelSelector, string[]][])('%j -> %j', (selector, fields) => {
    expect(labelSelectorProblems(selector).map((p) => p.field)).toEqual(fields);
  });

  it('describes selectors in kubectl syntax', () => {
    expect(describeSelector({})).toBe('<everything>');
    expect(
      describeSelector({
        matchLabels: { tier: 'web', app: 'x' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['a', 'b'] },
          { key: 'gpu', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=x,tier=web,env in (a,b),!gpu');
  });
});

describe('matchPodNetworking', () => {
  const pod = makePod({ labels: { app: 'web' }, namespace: 'shop' });
  const nsLabels = { 'kubernetes.io/metadata.name': 'shop', team: 'payments' };

  it('every present selector must match: pod AND namespace', () => {
    const both = makePodNetworking({ name: 'pn-both', podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: { matchLabels: { team: 'payments' } } });
    const podOnly = makePodNetworking({ name: 'pn-pod', podSelector: { matchLabels: { app: 'web' } } });
    const nsOnly = makePodNetworking({ name: 'pn-ns', namespaceSelector: { matchLabels: { team: 'payments' } } });
    const nsWrong = makePodNetworking({ name: 'pn-ns-wrong', podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: { matchLabels: { team: 'search' } } });
    for (const pn of [both, podOnly, nsOnly]) {
      expect(matchPodNetworking({ pod, namespaceLabels: nsLabels, podNetworkings: [pn] }).chosen?.metadata.name).toBe(pn.metadata.name);
    }
    const result = matchPodNetworking({ pod, namespaceLabels: nsLabels, podNetworkings: [nsWrong] });
    expect(result.chosen).toBeUndefined();
    expect(result.skipped).toEqual([{ name: 'pn-ns-wrong', reason: 'pn-ns-wrong: namespaceSelector team=search did not match (team=payments)' }]);
  });

  it('a PodNetworking with neither selector never matches; an empty selector matches every pod', () => {
    const none = makePodNetworking({ name: 'pn-none' });
    const everything = makePodNetworking({ name: 'pn-all', podSelector: {} });
    const result = matchPodNetworking({ pod, namespaceLabels: nsLabels, podNetworkings: [none, everything] });
    expect(result.chosen?.metadata.name).toBe('pn-all');
    expect(result.skipped).toEqual([{ name: 'pn-none', reason: 'pn-none: has neither podSelector nor namespaceSelector (selects no pod)' }]);
  });

  it('reports why a podSelector did not match', () => {
    const pn = makePodNetworking({ name: 'pn-web', podSelector: { matchLabels: { app: 'api' } } });
    const result = matchPodNetworking({ pod, namespaceLabels: nsLabels, podNetworkings: [pn] });
    expect(result.skipped[0]?.reason).toBe('pn-web: podSelector app=api did not match (app=web)');
  });

  it('only Ready PodNetworkings are chosen; matching non-Ready ones are listed', () => {
    const failed = makePodNetworking({ name: 'pn-fail', podSelector: {}, created: '2023-01-01T00:00:00Z', status: { status: 'Fail', message: 'vSwitch vsw-x not found' } });
    const fresh = makePodNetworking({ name: 'pn-new', podSelector: {}, created: '2023-01-02T00:00:00Z', status: null });
    const deleting = makePodNetworking({ name: 'pn-del', podSelector: {}, created: '2022-01-01T00:00:00Z', deleting: true });
    const ready = makePodNetworking({ name: 'pn-ready', podSelector: {}, created: '2024-01-01T00:00:00Z' });
    const result = matchPodNetworking({ pod, namespaceLabels: nsLabels, podNetworkings: [ready, failed, fresh, deleting] });
    expect(result.chosen?.metadata.name).toBe('pn-ready');
    expect(result.alsoMatched).toEqual([]);
    expect(result.notReady.map((pn) => pn.metadata.name)).toEqual(['pn-del', 'pn-fail', 'pn-new']);
    expect(result.skipped.map((s) => s.reason)).toEqual([
      'pn-fail: matches but is Fail: vSwitch vsw-x not found',
      'pn-new: matches but has no status yet (not resolved)',
      'pn-del: matches but is being deleted',
    ]);
  });

  it('several matches: oldest creationTimestamp, then name, whatever the list order', () => {
    const a = makePodNetworking({ name: 'pn-b', podSelector: {}, created: '2024-01-01T00:00:00Z' });
    const b = makePodNetworking({ name: 'pn-a', podSelector: {}, created: '2024-01-01T00:00:00Z' });
    const old = makePodNetworking({ name: 'pn-z', podSelector: {}, created: '2023-06-01T00:00:00Z' });
    const noTime = makePodNetworking({ name: 'pn-0', podSelector: {} });
    delete noTime.metadata.creationTimestamp;
    for (const order of [[a, b, old, noTime], [noTime, old, b, a], [b, noTime, a, old]]) {
      const result = matchPodNetworking({ pod, namespaceLabels: nsLabels, podNetworkings: order });
      expect(result.chosen?.metadata.name).toBe('pn-z');
      expect(result.alsoMatched).toEqual(['pn-a', 'pn-b', 'pn-0']);
    }
  });

  it('accepts Date creationTimestamps (typed client objects) as well as strings', () => {
    const older = makePodNetworking({ name: 'pn-y', podSelector: {} });
    older.metadata.creationTimestamp = new Date('2020-01-01T00:00:00Z');
    const newer = makePodNetworking({ name: 'pn-x', podSelector: {}, created: '2021-01-01T00:00:00Z' });
    expect(matchPodNetworking({ pod, namespaceLabels: nsLabels, podNetworkings: [newer, older] }).chosen?.metadata.name).toBe('pn-y');
  });

  it('a PodNetworking with an invalid selector is skipped with the reason, the others still match', () => {
    const bad = makePodNetworking({ name: 'pn-bad', podSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['web'] }] }, created: '2020-01-01T00:00:00Z' });
    const good = makePodNetworking({ name: 'pn-good', podSelector: { matchLabels: { app: 'web' } } });
    const result = matchPodNetworking({ pod, namespaceLabels: nsLabels, podNetworkings: [bad, good] });
    expect(result.chosen?.metadata.name).toBe('pn-good');
    expect(result.skipped[0]?.reason).toMatch(/^pn-bad: podSelector invalid selector: matchExpressions\[0\]\.operator/);
  });

  it('a namespace whose labels are unknown matches only selectors that hold on no labels', () => {
    const ns = makePodNetworking({ name: 'pn-ns', namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] } });
    expect(matchPodNetworking({ pod, namespaceLabels: undefined, podNetworkings: [ns] }).chosen?.metadata.name).toBe('pn-ns');
  });

  it('no PodNetworkings: nothing chosen, nothing skipped', () => {
    expect(matchPodNetworking({ pod, namespaceLabels: nsLabels, podNetworkings: [] })).toEqual({ alsoMatched: [], skipped: [], notReady: [] });
  });
});
