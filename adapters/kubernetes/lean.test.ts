// leanPod / leanObject: what the informer caches keep of an object (no server needed). The pod
// is shaped like one a Deployment makes and the provider has reported (managedFields of three
// managers, the default tolerations, kubectl's last-applied copy).
import { serialize } from 'node:v8';
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { hasFastProperties } from '../../test/helpers/fast-properties.ts';
import { leanObject, leanPod } from './lean.ts';

const managedField = (manager: string, subresource?: string) => ({
  manager,
  operation: 'Update',
  apiVersion: 'v1',
  time: new Date('2026-12-06T05:00:00Z'),
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } },
  ...(subresource === undefined ? {} : { subresource }),
});

function deploymentPod(): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-7d9c-abcde',
      namespace: 'default',
      uid: 'u-1',
      resourceVersion: '1234',
      labels: { app: 'web' },
      annotations: { 'k8s.aliyun.com/pod-networking': 'pn-web', 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Pod"}' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9c', uid: 'rs-1', controller: true }],
      managedFields: [managedField('kube-controller-manager'), managedField('eci-virtual-node', 'status'), managedField('kube-scheduler', 'status')],
    },
    spec: {
      nodeName: 'vn-cn-hangzhou-i',
      schedulerName: 'default-scheduler',
      priority: 0,
      preemptionPolicy: 'PreemptLowerPriority',
      enableServiceLinks: true,
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['cn-hangzhou-i'] }] }] } } },
      containers: [{ name: 'app', image: 'nginx', env: [{ name: 'A', value: '1' }], terminationMessagePath: '/dev/termination-log' }],
      volumes: [{ name: 'cfg', configMap: { name: 'web' } }],
    },
    status: { phase: 'Running', podIP: '10.0.0.7', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

describe('leanPod', () => {
  it('drops managedFields, the last-applied copy and the scheduling-only spec fields', () => {
    const pod = leanPod(deploymentPod());
    expect(pod.metadata?.managedFields).toBeUndefined();
    expect(pod.metadata?.annotations).toEqual({ 'k8s.aliyun.com/pod-networking': 'pn-web' });
    expect(pod.spec?.tolerations).toBeUndefined();
    expect(pod.spec?.schedulerName).toBeUndefined();
    expect(pod.spec?.priority).toBeUndefined();
    expect(pod.spec?.preemptionPolicy).toBeUndefined();
    expect(pod.spec?.enableServiceLinks).toBeUndefined();
  });

  it('keeps what the provider reads: identity, labels, annotations, owner, containers, volumes, affinity, status', () => {
    const original = deploymentPod();
    const pod = leanPod(deploymentPod());
    const { managedFields: _m, ...metadata } = original.metadata!;
    expect(pod.metadata).toEqual({ ...metadata, annotations: { 'k8s.aliyun.com/pod-networking': 'pn-web' } });
    expect(pod.spec?.nodeName).toBe('vn-cn-hangzhou-i');
    expect(pod.spec?.containers).toEqual(original.spec?.containers);
    expect(pod.spec?.volumes).toEqual(original.spec?.volumes);
    expect(pod.spec?.affinity).toEqual(original.spec?.affinity);
    expect(pod.status).toEqual(original.status);
  });

  it('leaves the cached pod\'s objects in V8\'s fast mode (a deleted key makes a hash-table object, ~0.8 KB more a pod)', () => {
    const pod = leanPod(deploymentPod());
    for (const [what, obj] of Object.entries({ metadata: pod.metadata, spec: pod.spec, annotations: pod.metadata?.annotations })) {
      expect({ what, fast: hasFastProperties(obj) }).toEqual({ what, fast: true });
    }
    // Also a spec with many fields (a copy made by keyed stores turns into a hash table past 16).
    const wide = deploymentPod();
    for (let i = 0; i < 30; i++) (wide.spec as unknown as Record<string, unknown>)[`field${i}`] = i;
    expect(hasFastProperties(leanPod(JSON.parse(JSON.stringify(wide)) as V1Pod).spec)).toBe(true);
    // The check itself tells the two apart.
    const deleted: Record<string, unknown> = { ...deploymentPod().spec };
    delete deleted.tolerations;
    expect(hasFastProperties(deleted)).toBe(false);
  });

  it('holds fewer bytes per cached pod (v8 serialized size)', () => {
    const full = serialize(deploymentPod()).length;
    const lean = serialize(leanPod(deploymentPod())).length;
    expect(lean).toBeLessThan(full);
    process.stderr.write(`leanPod: ${full} -> ${lean} bytes (v8 serialize) for a Deployment pod\n`);
  });
});

describe('leanObject', () => {
  it('drops managedFields and keeps the rest of any object (a namespace)', () => {
    const ns = leanObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { team: 'a' }, resourceVersion: '7', managedFields: [managedField('kubectl')] } });
    expect(ns).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { team: 'a' }, resourceVersion: '7' } });
  });

  it('leaves an object without metadata as it is', () => {
    expect(leanObject({ apiVersion: 'v1', kind: 'Status' })).toEqual({ apiVersion: 'v1', kind: 'Status' });
  });
});
