// decideNetwork: the network a pod gets at sync, from the webhook's annotation AND the selectors
// (the webhook's own matcher) over the PodNetworkings the provider sees now.
import { describe, expect, it } from 'vitest';
import { decideNetwork, type NetworkChoice } from '../../../provider/networking/decide.ts';
import type { PodNetworking } from '../../../provider/networking/podnetworking.ts';
import { makePod, makePodNetworking } from './builders.ts';

const I = 'cn-hangzhou-i';
const J = 'cn-hangzhou-j';
const K = 'cn-hangzhou-k';
const ANNOTATION = 'k8s.aliyun.com/pod-networking';

const web = makePodNetworking({ name: 'pn-web', podSelector: { matchLabels: { app: 'web' } }, vSwitches: [{ id: 'vsw-i', zone: I }] });
const webNewer = makePodNetworking({ name: 'pn-web-newer', created: '2024-02-01T00:00:00Z', podSelector: { matchLabels: { app: 'web' } }, vSwitches: [{ id: 'vsw-j', zone: J }] });
const team = makePodNetworking({ name: 'pn-team', podSelector: {}, namespaceSelector: { matchLabels: { team: 'a' } }, vSwitches: [{ id: 'vsw-j', zone: J }, { id: 'vsw-k', zone: K }] });
const failing = makePodNetworking({ name: 'pn-fail', podSelector: { matchLabels: { app: 'db' } }, status: { status: 'Fail', message: 'security group sg-x is in vpc-2 but the vSwitches are in vpc-1' } });
const unresolved = makePodNetworking({ name: 'pn-new', podSelector: { matchLabels: { app: 'cache' } }, status: null });
const fixed = makePodNetworking({ name: 'pn-fixed', podSelector: { matchLabels: { app: 'static' } }, fixed: true });
const other = makePodNetworking({ name: 'pn-other', podSelector: { matchLabels: { app: 'other' } }, vSwitches: [{ id: 'vsw-k', zone: K }] });
const ALL: PodNetworking[] = [web, webNewer, team, failing, unresolved, fixed, other];

interface Row {
  name: string;
  labels?: Record<string, string>;
  annotation?: string;
  namespaceLabels?: Record<string, string>;
  zone: string;
  podNetworkings?: PodNetworking[];
  hostNetwork?: boolean;
  /** kind, then the PodNetworking (or reason for wait/refuse). */
  want: Partial<Record<string, unknown>> & { kind: NetworkChoice['kind'] };
  /** Substrings of the message (wait/refuse) or of the warnings (podNetworking). */
  says?: string[];
}

const rows: Row[] = [
  // Without the annotation (webhook unreachable under failurePolicy Ignore, or not registered).
  { name: 'no selector matches: the default network', labels: { app: 'plain' }, zone: I, want: { kind: 'default' } },
  { name: 'selected, node in an allowed zone: its PodNetworking, from the match', labels: { app: 'web' }, zone: I, want: { kind: 'podNetworking', pn: 'pn-web', source: 'match' }, says: ['MultiplePodNetworkings'] },
  {
    name: 'selected, node in another zone: refused with PodNetworkingZoneMismatch naming the PodNetworking, the zone and the allowed zones',
    labels: { app: 'web' },
    zone: K,
    want: { kind: 'refuse', reason: 'PodNetworkingZoneMismatch', podNetworking: 'pn-web' },
    says: ['PodNetworking pn-web', `zone ${K}`, `allows only ${I}`, 'not created on the default network'],
  },
  { name: 'selected by namespace labels (the namespace cache)', labels: { any: 'x' }, namespaceLabels: { team: 'a' }, zone: K, want: { kind: 'podNetworking', pn: 'pn-team', source: 'match', zones: [J, K] } },
  { name: 'namespace labels unknown: the namespaceSelector does not match', labels: { any: 'x' }, zone: K, want: { kind: 'default' } },
  {
    name: 'selected only by a Fail PodNetworking: waits, never the default network',
    labels: { app: 'db' },
    zone: I,
    want: { kind: 'wait', reason: 'PodNetworkingNotReady', podNetworking: 'pn-fail' },
    says: ['pn-fail selects the pod but is Fail', 'sg-x is in vpc-2', 'never runs on the default network'],
  },
  { name: 'selected only by an unresolved PodNetworking: waits', labels: { app: 'cache' }, zone: I, want: { kind: 'wait', reason: 'PodNetworkingNotReady' }, says: ['not resolved yet'] },
  { name: 'selected by a Fixed PodNetworking: refused', labels: { app: 'static' }, zone: I, want: { kind: 'refuse', reason: 'FixedAllocationUnsupported' } },
  { name: 'namespace opted out (pod-eni=false): the default network, as the webhook skips it', labels: { app: 'web' }, namespaceLabels: { 'k8s.aliyun.com/pod-eni': 'false' }, zone: K, want: { kind: 'default' } },
  { name: 'host network pod: not ours to match', labels: { app: 'web' }, hostNetwork: true, zone: K, want: { kind: 'default' } },
  // With the annotation (admitted by the webhook).
  { name: 'annotation agrees with the match', labels: { app: 'web' }, annotation: 'pn-web', zone: I, want: { kind: 'podNetworking', pn: 'pn-web', source: 'annotation' } },
  {
    name: 'annotation names another existing PodNetworking than the match: the annotation wins, with a warning',
    labels: { app: 'web' },
    annotation: 'pn-other',
    zone: K,
    want: { kind: 'podNetworking', pn: 'pn-other', source: 'annotation' },
    says: ['PodNetworkingMismatch', 'names PodNetworking pn-other', 'PodNetworking pn-web selects the pod now', 'keeping pn-other'],
  },
  {
    name: 'annotation names an existing PodNetworking that no longer selects the pod: it wins, with a warning',
    labels: { app: 'plain' },
    annotation: 'pn-web',
    zone: I,
    want: { kind: 'podNetworking', pn: 'pn-web', source: 'annotation' },
    says: ['no PodNetworking selects the pod now'],
  },
  {
    name: 'annotation names a PodNetworking that is gone, another selects the pod: the match, with a warning',
    labels: { app: 'web' },
    annotation: 'pn-gone',
    zone: I,
    want: { kind: 'podNetworking', pn: 'pn-web', source: 'match' },
    says: ['pn-gone, which does not exist; using pn-web'],
  },
  { name: 'annotation names a PodNetworking that is gone, nothing selects the pod: waits', labels: { app: 'plain' }, annotation: 'pn-gone', zone: I, want: { kind: 'wait', reason: 'PodNetworkingNotFound' } },
  { name: 'annotated PodNetworking not Ready: waits', labels: { app: 'db' }, annotation: 'pn-fail', zone: I, want: { kind: 'wait', reason: 'PodNetworkingNotReady' } },
  { name: 'annotated PodNetworking, node outside its zones: ZoneNotAllowed', labels: { app: 'web' }, annotation: 'pn-web', zone: J, want: { kind: 'refuse', reason: 'ZoneNotAllowed' }, says: [`zone ${J}`, `only in ${I}`] },
];

describe('decideNetwork', () => {
  it.each(rows)('$name', (row) => {
    const pod = makePod({
      namespace: 'ns',
      labels: row.labels ?? {},
      ...(row.annotation !== undefined ? { annotations: { [ANNOTATION]: row.annotation } } : {}),
      ...(row.hostNetwork !== undefined ? { hostNetwork: row.hostNetwork } : {}),
    });
    const choice = decideNetwork({ pod, nodeZone: row.zone, namespaceLabels: row.namespaceLabels, podNetworkings: row.podNetworkings ?? ALL });
    const { kind, pn, ...rest } = row.want;
    expect(choice.kind).toBe(kind);
    if (choice.kind === 'podNetworking') {
      const { podNetworking, ...fields } = choice;
      expect(podNetworking.metadata.name).toBe(pn);
      expect(fields).toMatchObject(rest);
      const text = choice.warnings.map((w) => `${w.reason}: ${w.message}`).join('\n');
      for (const s of row.says ?? []) expect(text).toContain(s);
      if ((row.says ?? []).length === 0) expect(choice.warnings).toEqual([]);
    } else {
      expect(choice).toMatchObject(rest);
      for (const s of row.says ?? []) expect('message' in choice ? choice.message : choice.why).toContain(s);
    }
  });

  it('the oldest of several matching PodNetworkings is chosen, as at admission', () => {
    const choice = decideNetwork({ pod: makePod({ labels: { app: 'web' } }), nodeZone: I, namespaceLabels: {}, podNetworkings: [webNewer, web] });
    expect(choice.kind === 'podNetworking' && choice.podNetworking.metadata.name).toBe('pn-web');
  });

  it('a selected pod is never given the default network, whatever its zone or the PodNetworking state', () => {
    for (const zone of [I, J, K]) {
      for (const app of ['web', 'db', 'cache', 'static']) {
        const choice = decideNetwork({ pod: makePod({ labels: { app } }), nodeZone: zone, namespaceLabels: {}, podNetworkings: ALL });
        expect(choice.kind, `app=${app} in ${zone}`).not.toBe('default');
      }
    }
  });
});
