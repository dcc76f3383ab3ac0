import { describe, expect, it } from 'vitest';
import jsonpatch from 'fast-json-patch';
import type { V1Pod } from '@kubernetes/client-node';
import { admitPod, type AdmitInput, type AdmitOptions } from '../../../provider/admission/admit.ts';
import type { ProfileSelector } from '../../../provider/networking/cluster-network.ts';
import type { PodNetworking } from '../../../provider/networking/podnetworking.ts';
import { makePod, makePodNetworking } from '../networking/builders.ts';
import { loadPod } from './fixtures.ts';

const I = 'cn-hangzhou-i';
const J = 'cn-hangzhou-j';
const K = 'cn-hangzhou-k';
const ZONE = 'topology.kubernetes.io/zone';
const shopLabels = { 'kubernetes.io/metadata.name': 'shop', team: 'payments' };
const plain: AdmitOptions = { serverlessMode: false };

const pnWeb = makePodNetworking({ name: 'pn-web', podSelector: { matchLabels: { app: 'web' } }, vSwitches: [{ id: 'vsw-i', zone: I }, { id: 'vsw-k', zone: K }] });

function admit(o: Partial<AdmitInput> & { pod: V1Pod }) {
  return admitPod({ namespaceLabels: shopLabels, podNetworkings: [pnWeb], options: plain, ...o });
}

/** The pod the apiserver would store: the patch applied to a fresh copy. */
function applied(pod: V1Pod, result: ReturnType<typeof admitPod>): V1Pod {
  if (!result.allowed) throw new Error(`denied: ${result.message}`);
  return jsonpatch.applyPatch(structuredClone(pod), result.patch as jsonpatch.Operation[], true, false).newDocument;
}

describe('admitPod: a matching PodNetworking', () => {
  it('annotates the pod and adds the required zone affinity (fixture: ReplicaSet pod)', () => {
    const pod = loadPod('pod-create');
    const result = admit({ pod });
    expect(result).toMatchObject({ allowed: true, warnings: [], matched: { chosen: 'pn-web', alsoMatched: [] } });
    const stored = applied(pod, result);
    expect(stored.metadata?.annotations).toEqual({
      'kubectl.kubernetes.io/restartedAt': '2024-05-06T07:00:00Z',
      'k8s.aliyun.com/pod-networking': 'pn-web',
      'k8s.aliyun.com/pod-eni': 'true',
    });
    expect(stored.spec?.affinity).toEqual({
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: [I, K] }] }] } },
    });
    // everything else is untouched
    expect({ ...stored, metadata: { ...stored.metadata, annotations: undefined }, spec: { ...stored.spec, affinity: undefined } }).toEqual({
      ...pod,
      metadata: { ...pod.metadata, annotations: undefined },
      spec: { ...pod.spec, affinity: undefined },
    });
  });

  it('escapes "/" in annotation keys as ~1 in the patch paths', () => {
    const result = admit({ pod: loadPod('pod-create') });
    if (!result.allowed) throw new Error(result.message);
    expect(result.patch).toEqual(
      expect.arrayContaining([
        { op: 'add', path: '/metadata/annotations/k8s.aliyun.com~1pod-networking', value: 'pn-web' },
        { op: 'add', path: '/metadata/annotations/k8s.aliyun.com~1pod-eni', value: 'true' },
      ]),
    );
  });

  it('a pod without annotations gets the whole map added', () => {
    const pod = makePod({ labels: { app: 'web' } });
    const result = admit({ pod });
    if (!result.allowed) throw new Error(result.message);
    expect(result.patch).toContainEqual({ op: 'add', path: '/metadata/annotations', value: { 'k8s.aliyun.com/pod-networking': 'pn-web', 'k8s.aliyun.com/pod-eni': 'true' } });
  });

  it('merges with the affinity the pod has: intersects the zone term, limits the other term (fixture)', () => {
    const pod = loadPod('pod-create-affinity');
    const pn = makePodNetworking({ name: 'pn-api', podSelector: { matchLabels: { app: 'api' } }, vSwitches: [{ id: 'vsw-i', zone: I }, { id: 'vsw-k', zone: K }] });
    const result = admit({ pod, podNetworkings: [pn] });
    const stored = applied(pod, result);
    expect(stored.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: ZONE, operator: 'In', values: [K] }, { key: 'type', operator: 'In', values: ['virtual-kubelet'] }] },
      { matchExpressions: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['ecs.g7.large'] }, { key: ZONE, operator: 'In', values: [I, K] }] },
    ]);
    expect(stored.spec?.affinity?.podAntiAffinity).toEqual(pod.spec?.affinity?.podAntiAffinity);
  });

  it('re-invocation (reinvocationPolicy IfNeeded) on the admitted pod changes nothing', () => {
    for (const [fixture, pns] of [['pod-create', [pnWeb]], ['pod-create-affinity', [makePodNetworking({ name: 'pn-api', podSelector: { matchLabels: { app: 'api' } }, vSwitches: [{ id: 'vsw-i', zone: I }, { id: 'vsw-k', zone: K }] })]]] as const) {
      const pod = loadPod(fixture);
      const once = applied(pod, admit({ pod, podNetworkings: pns }));
      const again = admit({ pod: once, podNetworkings: pns });
      expect(again).toMatchObject({ allowed: true, patch: [] });
    }
  });

  it('several matches: the oldest (then name) wins, with a warning naming all', () => {
    const younger = makePodNetworking({ name: 'pn-a-younger', podSelector: { matchLabels: { app: 'web' } }, created: '2024-03-01T00:00:00Z' });
    const older = makePodNetworking({ name: 'pn-z-older', podSelector: {}, created: '2023-03-01T00:00:00Z' });
    const byNs = makePodNetworking({ name: 'pn-shop', namespaceSelector: { matchLabels: { team: 'payments' } }, created: '2024-03-01T00:00:00Z' });
    const pod = loadPod('pod-create');
    const result = admit({ pod, podNetworkings: [younger, byNs, older] });
    expect(result).toMatchObject({
      allowed: true,
      matched: { chosen: 'pn-z-older', alsoMatched: ['pn-a-younger', 'pn-shop'] },
      warnings: ['pod matches 3 PodNetworkings (pn-z-older, pn-a-younger, pn-shop); using pn-z-older (oldest, then by name)'],
    });
    // The others are kept on the pod, for the provider's Warning event once the pod has a UID.
    expect(applied(pod, result).metadata?.annotations?.['eci-virtual-node.io/podnetworking-also-matched']).toBe('pn-a-younger,pn-shop');
  });

  it('replacing a different pod-networking annotation is warned about', () => {
    const pod = makePod({ labels: { app: 'web' }, annotations: { 'k8s.aliyun.com/pod-networking': 'pn-hand-written' } });
    const result = admit({ pod });
    expect(result).toMatchObject({ allowed: true, warnings: ['annotation k8s.aliyun.com/pod-networking=pn-hand-written replaced by pn-web (chosen by selectors)'] });
    expect(applied(pod, result).metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBe('pn-web');
  });
});

describe('admitPod: refusals', () => {
  it('refuses when the pod affinity leaves no zone of the PodNetworking, naming both', () => {
    const pod = loadPod('pod-create-affinity');
    pod.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms.pop();
    const pn = makePodNetworking({ name: 'pn-api', podSelector: { matchLabels: { app: 'api' } }, vSwitches: [{ id: 'vsw-i', zone: I }] });
    expect(admit({ pod, podNetworkings: [pn] })).toEqual({
      allowed: false,
      message:
        "PodNetworking pn-api: the pod's required node affinity leaves no zone of the PodNetworking (zones cn-hangzhou-i): term 1 allows only cn-hangzhou-j, cn-hangzhou-k",
    });
  });

  it('refuses a nodeSelector zone outside the PodNetworking', () => {
    const pod = makePod({ labels: { app: 'web' }, nodeSelector: { [ZONE]: J } });
    const result = admit({ pod });
    expect(result).toEqual({
      allowed: false,
      message: "PodNetworking pn-web: the pod's nodeSelector topology.kubernetes.io/zone=cn-hangzhou-j is not among the PodNetworking's zones (cn-hangzhou-i, cn-hangzhou-k)",
    });
  });

  it('refuses a pod whose first-ranked match has Fixed allocation (Fail status, as our controller writes it)', () => {
    const fixed = makePodNetworking({ name: 'pn-static', podSelector: { matchLabels: { app: 'web' } }, fixed: true, created: '2023-01-01T00:00:00Z', status: { status: 'Fail', message: 'Fixed is not supported' } });
    const result = admit({ pod: loadPod('pod-create'), podNetworkings: [pnWeb, fixed] });
    expect(result.allowed).toBe(false);
    if (!result.allowed) expect(result.message).toBe('PodNetworking pn-static matches this pod but has allocationType Fixed (static IP), which pods on virtual nodes (ECI) cannot have: set it to Elastic, or narrow its selectors so this pod does not match');
  });

  it('refuses a Ready Fixed PodNetworking too (status written by another controller)', () => {
    const fixed = makePodNetworking({ name: 'pn-static', podSelector: {}, fixed: true });
    expect(admit({ pod: loadPod('pod-create'), podNetworkings: [fixed] }).allowed).toBe(false);
  });

  it('a younger Fixed match does not block an older Elastic one', () => {
    const fixed = makePodNetworking({ name: 'pn-static', podSelector: {}, fixed: true, created: '2025-01-01T00:00:00Z' });
    const result = admit({ pod: loadPod('pod-create'), podNetworkings: [fixed, pnWeb] });
    expect(result).toMatchObject({ allowed: true, matched: { chosen: 'pn-web', alsoMatched: ['pn-static'] } });
  });
});

describe('admitPod: left alone', () => {
  it.each([
    ['host network pod (fixture)', () => loadPod('hostnetwork-pod'), shopLabels, 'host network pod'],
    ['pod without containers', () => makePod({ labels: { app: 'web' }, containers: 0 }), shopLabels, 'pod has no containers'],
    ['namespace labelled pod-eni=false', () => loadPod('pod-create'), { ...shopLabels, 'k8s.aliyun.com/pod-eni': 'false' }, 'namespace opted out (k8s.aliyun.com/pod-eni=false)'],
  ])('%s', (_name, makeIt, namespaceLabels, reason) => {
    const result = admitPod({ pod: makeIt(), namespaceLabels, podNetworkings: [pnWeb], options: { serverlessMode: true } });
    expect(result).toMatchObject({ allowed: true, patch: [], warnings: [], skipped: reason });
  });

  it('no match: default network, no patch, no warning', () => {
    const result = admit({ pod: makePod({ labels: { app: 'other' } }) });
    expect(result).toMatchObject({ allowed: true, patch: [], warnings: [], matched: { alsoMatched: [] } });
    expect(result.allowed && result.matched.chosen).toBeUndefined();
  });

  it('a matching PodNetworking that is not Ready: default network, with a warning that says so', () => {
    const failing = makePodNetworking({ name: 'pn-web', podSelector: { matchLabels: { app: 'web' } }, status: { status: 'Fail', message: 'vSwitch vsw-x not found' } });
    const result = admit({ pod: loadPod('pod-create'), podNetworkings: [failing] });
    expect(result).toMatchObject({
      allowed: true,
      patch: [],
      warnings: ['PodNetworking pn-web matches this pod but is not Ready (Fail: vSwitch vsw-x not found); the pod uses the cluster default network'],
    });
  });

  it('DaemonSet pod: annotated, but no zone affinity (fixture)', () => {
    const pod = loadPod('daemonset-pod');
    const result = admit({ pod });
    const stored = applied(pod, result);
    expect(stored.metadata?.annotations).toEqual({ 'k8s.aliyun.com/pod-networking': 'pn-web', 'k8s.aliyun.com/pod-eni': 'true' });
    expect(stored.spec?.affinity).toEqual(pod.spec?.affinity);
    expect(result.allowed && result.notes.join('\n')).toContain('DaemonSet pod: no zone affinity');
  });
});

describe('admitPod: serverless mode', () => {
  const serverless: AdmitOptions = { serverlessMode: true };
  const toleration = { key: 'virtual-kubelet.io/provider', operator: 'Equal', value: 'alibabacloud', effect: 'NoSchedule' };

  it('adds the virtual-node toleration, also to pods that match no PodNetworking', () => {
    const pod = loadPod('pod-create');
    const stored = applied(pod, admit({ pod, podNetworkings: [], options: serverless }));
    expect(stored.spec?.tolerations).toEqual([...(pod.spec?.tolerations ?? []), toleration]);
    expect(stored.metadata?.annotations).toEqual(pod.metadata?.annotations);
  });

  it('does not add it twice, nor when a broader toleration exists', () => {
    for (const existing of [toleration, { key: 'virtual-kubelet.io/provider', operator: 'Exists' }, { operator: 'Exists' }]) {
      const pod = makePod({ labels: { app: 'other' } });
      pod.spec!.tolerations = [existing];
      expect(admit({ pod, options: serverless })).toMatchObject({ allowed: true, patch: [] });
    }
  });

  it('a toleration of another effect or value does not count', () => {
    const pod = makePod({ labels: { app: 'other' } });
    pod.spec!.tolerations = [{ key: 'virtual-kubelet.io/provider', operator: 'Equal', value: 'other' }, { key: 'virtual-kubelet.io/provider', operator: 'Exists', effect: 'NoExecute' }];
    const stored = applied(pod, admit({ pod, options: serverless }));
    expect(stored.spec?.tolerations).toHaveLength(3);
  });

  it('uses the configured toleration; not for DaemonSet pods', () => {
    const custom = { key: 'example.com/virtual', operator: 'Exists', effect: 'NoSchedule' };
    const pod = makePod({ labels: { app: 'other' } });
    expect(applied(pod, admit({ pod, options: { serverlessMode: true, virtualNodeToleration: custom } })).spec?.tolerations).toEqual([custom]);
    const ds = loadPod('daemonset-pod');
    expect(applied(ds, admit({ pod: ds, podNetworkings: [], options: serverless })).spec?.tolerations).toEqual(ds.spec?.tolerations);
  });
});

describe('admitPod never mutates its inputs', () => {
  it('pod and PodNetworkings are unchanged', () => {
    const pod = loadPod('pod-create-affinity');
    const pns: PodNetworking[] = [makePodNetworking({ name: 'pn-api', podSelector: {}, vSwitches: [{ id: 'vsw-k', zone: K }] })];
    const before = structuredClone({ pod, pns });
    admitPod({ pod, namespaceLabels: shopLabels, podNetworkings: pns, options: { serverlessMode: true } });
    expect({ pod, pns }).toEqual(before);
  });

  it('a deeply frozen pod is admitted (every change goes to a copy), with profile selectors, a PodNetworking and trace annotations', () => {
    const pod = deepFreeze(loadPod('pod-create-affinity'));
    const pns: PodNetworking[] = [makePodNetworking({ name: 'pn-api', podSelector: {}, vSwitches: [{ id: 'vsw-k', zone: K }] })];
    const result = admitPod({
      pod,
      namespaceLabels: shopLabels,
      podNetworkings: pns,
      options: { serverlessMode: false },
      profileSelectors: [{ name: 'all', namespaceSelector: {}, objectSelector: {}, effect: { annotations: { 'k8s.aliyun.com/eci-use-specs': 'ecs.c6.large' }, labels: { tier: 'eci' } } }],
      traceAnnotations: { 'eci-virtual-node.io/traceparent': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    expect(result.allowed).toBe(true);
    expect(applied(pod, result).metadata?.annotations).toMatchObject({ 'k8s.aliyun.com/pod-networking': 'pn-api', 'k8s.aliyun.com/eci-use-specs': 'ecs.c6.large' });
  });
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

describe('admitPod: trace context', () => {
  const trace = { 'eci-virtual-node.io/traceparent': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

  it('writes the traceparent into the patch of a pod that may run on a virtual node, and reports what it considered', () => {
    const pod = loadPod('pod-create');
    const result = admit({ pod, traceAnnotations: trace });
    expect(applied(pod, result).metadata?.annotations).toMatchObject({ 'k8s.aliyun.com/pod-networking': 'pn-web', ...trace });
    expect(result.allowed && result.considered).toEqual({ candidates: ['pn-web'], skipped: [], zones: [I, K], zoneConstrained: true });

    const tolerating = makePod({ labels: { app: 'other' } });
    tolerating.spec!.tolerations = [{ key: 'virtual-kubelet.io/provider', operator: 'Equal', value: 'alibabacloud', effect: 'NoSchedule' }];
    expect(applied(tolerating, admit({ pod: tolerating, traceAnnotations: trace })).metadata?.annotations).toEqual(trace);
  });

  it('leaves pods that cannot land on a virtual node untouched, and writes nothing when tracing is off', () => {
    const other = makePod({ labels: { app: 'other' } });
    const result = admit({ pod: other, traceAnnotations: trace });
    expect(result).toMatchObject({ allowed: true, patch: [] });
    expect(result.allowed && result.considered?.skipped).toEqual([expect.stringMatching(/^pn-web: podSelector /)]);
    const pod = loadPod('pod-create');
    expect(applied(pod, admit({ pod, traceAnnotations: {} })).metadata?.annotations).not.toHaveProperty('eci-virtual-node.io/traceparent');
  });
});

describe('admitPod: IP-aware zones (issue 17 item 5)', () => {
  const vsw = (id: string, zone: string, free: number) => ({ id, vpcId: 'vpc-1', zoneId: zone, cidrBlock: '10.0.0.0/24', availableIpCount: free, status: 'Available' as const });
  const pod = () => makePod({ labels: { app: 'web' } });

  it('leaves out the zone whose vSwitches have no free IP while another has some, and prefers by free IPs', () => {
    const three = makePodNetworking({ name: 'pn-web', podSelector: { matchLabels: { app: 'web' } }, vSwitches: [{ id: 'vsw-i', zone: I }, { id: 'vsw-j', zone: J }, { id: 'vsw-k', zone: K }] });
    const result = admit({ pod: pod(), podNetworkings: [three], vSwitches: [vsw('vsw-i', I, 40), vsw('vsw-j', J, 0), vsw('vsw-k', K, 10), vsw('vsw-other', J, 900)] });
    const stored = applied(pod(), result);
    expect(stored.spec?.affinity?.nodeAffinity).toEqual({
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: [I, K] }] }] },
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, preference: { matchExpressions: [{ key: ZONE, operator: 'In', values: [I] }] } },
        { weight: 25, preference: { matchExpressions: [{ key: ZONE, operator: 'In', values: [K] }] } },
      ],
    });
    if (!result.allowed) throw new Error('denied');
    expect(result.notes).toContain(`${J}: 0 free IPs, left out`);
    // Re-invocation (reinvocationPolicy IfNeeded) adds nothing.
    expect(applied(stored, admit({ pod: stored, podNetworkings: [three], vSwitches: [vsw('vsw-i', I, 40), vsw('vsw-j', J, 0), vsw('vsw-k', K, 10)] }))).toEqual(stored);
  });

  it('keeps every zone when none has free IPs, and when the pod itself asks for the exhausted zone only', () => {
    const none = applied(pod(), admit({ pod: pod(), vSwitches: [vsw('vsw-i', I, 0), vsw('vsw-k', K, 0)] }));
    expect(none.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: ZONE, operator: 'In', values: [I, K] }] }]);
    const pinned = makePod({ labels: { app: 'web' }, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: [K] }] }] } } } });
    const result = admit({ pod: pinned, vSwitches: [vsw('vsw-i', I, 30), vsw('vsw-k', K, 0)] });
    expect(result.allowed).toBe(true);
    expect(applied(pinned, result).spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: ZONE, operator: 'In', values: [K] }] }]);
  });

  it('a pod whose nodeSelector names the exhausted zone keeps it (narrowing would leave it unschedulable)', () => {
    const pinned = makePod({ labels: { app: 'web' }, nodeSelector: { [ZONE]: K } });
    const stored = applied(pinned, admit({ pod: pinned, vSwitches: [vsw('vsw-i', I, 30), vsw('vsw-k', K, 0)] }));
    expect(stored.spec?.affinity?.nodeAffinity).toEqual({ requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: [I, K] }] }] } });
  });

  it('without vSwitch data (a follower replica) the zones are the PodNetworking\'s, as before', () => {
    const stored = applied(pod(), admit({ pod: pod() }));
    expect(stored.spec?.affinity?.nodeAffinity).toEqual({ requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: [I, K] }] }] } });
  });
});

describe('admitPod: eci-profile selectors (non-serverless mode)', () => {
  const selectors: ProfileSelector[] = [
    { name: 'to-eci', objectSelector: { matchLabels: { eci: 'true' } }, effect: { annotations: { 'k8s.aliyun.com/eci-use-specs': 'ecs.c6.large' }, labels: { app: 'web', placed: 'eci' } } },
    { name: 'batch-ns', namespaceSelector: { matchLabels: { team: 'batch' } }, effect: { annotations: {}, labels: {} } },
  ];
  const VIRTUAL = { key: 'type', operator: 'In', values: ['virtual-kubelet'] };

  it('a matching pod gets the toleration, the virtual-node affinity and the effect; the effect labels count for the PodNetworking match', () => {
    const pod = makePod({ labels: { eci: 'true' } });
    const stored = applied(pod, admit({ pod, profileSelectors: selectors }));
    expect(stored.spec?.tolerations).toEqual([{ key: 'virtual-kubelet.io/provider', operator: 'Equal', value: 'alibabacloud', effect: 'NoSchedule' }]);
    expect(stored.metadata?.labels).toEqual({ eci: 'true', app: 'web', placed: 'eci' });
    expect(stored.metadata?.annotations).toMatchObject({ 'k8s.aliyun.com/eci-use-specs': 'ecs.c6.large', 'k8s.aliyun.com/pod-networking': 'pn-web' });
    // Both the virtual-node and the PodNetworking's zone expressions, in the one term.
    expect(stored.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [VIRTUAL, { key: ZONE, operator: 'In', values: [I, K] }] },
    ]);
  });

  it('the pod\'s own labels and annotations win over the effect; every required term gets the affinity; re-admission adds nothing', () => {
    const pod = makePod({
      labels: { eci: 'true', app: 'mine' },
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { matchExpressions: [{ key: 'b', operator: 'Exists' }] }] } } },
    });
    const stored = applied(pod, admit({ pod, podNetworkings: [], profileSelectors: selectors }));
    expect(stored.metadata?.labels?.app).toBe('mine');
    expect(stored.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.map((t) => t.matchExpressions?.at(-1))).toEqual([VIRTUAL, VIRTUAL]);
    const again = admit({ pod: stored, podNetworkings: [], profileSelectors: selectors });
    expect(again.allowed && again.patch).toEqual([]);
  });

  it('by namespace labels; a pod no selector matches, and a DaemonSet pod, are left alone', () => {
    const pod = makePod({});
    expect(applied(pod, admit({ pod, podNetworkings: [], namespaceLabels: { team: 'batch' }, profileSelectors: selectors })).spec?.tolerations).toHaveLength(1);
    expect(admit({ pod, podNetworkings: [], profileSelectors: selectors })).toMatchObject({ patch: [] });
    const ds = makePod({ labels: { eci: 'true' }, ownerKind: 'DaemonSet' });
    expect(admit({ pod: ds, podNetworkings: [], profileSelectors: selectors })).toMatchObject({ patch: [] });
  });

  it('serverless mode: the effect applies, no node affinity is needed', () => {
    const pod = makePod({ labels: { eci: 'true' } });
    const stored = applied(pod, admit({ pod, podNetworkings: [], profileSelectors: selectors, options: { serverlessMode: true } }));
    expect(stored.metadata?.labels?.placed).toBe('eci');
    expect(stored.spec?.affinity).toBeUndefined();
  });
});
