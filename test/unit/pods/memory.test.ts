import { describe, expect, it } from 'vitest';
import { PodMemories, podChangeFingerprint, refusalKey } from '../../../provider/pods/memory.ts';
import { makePod } from '../builders.ts';

describe('podChangeFingerprint: what counts as a change of the pod', () => {
  const base = makePod({ labels: { app: 'web' }, annotations: { 'example.com/owner': 'team-a' } });
  const fp = podChangeFingerprint(base);

  it.each([
    ['a status write', { ...base, status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] } }],
    ['a new resourceVersion', { ...base, metadata: { ...base.metadata, resourceVersion: '42' } }],
    ['the provider annotating the pod', { ...base, metadata: { ...base.metadata, annotations: { ...base.metadata!.annotations, 'k8s.aliyun.com/eci-instance-id': 'eci-1', 'eci-virtual-node.io/traceparent': '00-a-b-01' } } }],
  ])('%s is no change', (_what, pod) => {
    expect(podChangeFingerprint(pod)).toBe(fp);
  });

  it.each([
    ['an image', { ...base, spec: { ...base.spec!, containers: [{ name: 'app', image: 'nginx:1.28' }] } }],
    ['a label (PodNetworkings select by labels)', { ...base, metadata: { ...base.metadata, labels: { app: 'web', tier: 'x' } } }],
    ['a user annotation (e.g. k8s.aliyun.com/eci-use-specs)', { ...base, metadata: { ...base.metadata, annotations: { ...base.metadata!.annotations, 'k8s.aliyun.com/eci-use-specs': 'ecs.c6.large' } } }],
  ])('%s is a change', (_what, pod) => {
    expect(podChangeFingerprint(pod)).not.toBe(fp);
  });

  it('a refusal key changes with the network (a fixed security group earns a new attempt)', () => {
    const net = { zoneId: 'z', vSwitchId: 'vsw-1', securityGroupId: 'sg-other' };
    expect(refusalKey(base, net)).toBe(refusalKey(base, { ...net }));
    expect(refusalKey(base, { ...net, securityGroupId: 'sg-fixed' })).not.toBe(refusalKey(base, net));
    expect(refusalKey(base, { ...net, podNetworking: 'pn' })).not.toBe(refusalKey(base, net));
  });
});

describe('PodMemories', () => {
  it('keeps one record per UID and forget drops all of it', () => {
    const memories = new PodMemories();
    const m = memories.of('u1');
    m.cloudEvents.add('e');
    m.refusal = { key: 'k', reason: 'R', at: 0 };
    expect(memories.of('u1')).toBe(m);
    expect(memories.peek('u2')).toBeUndefined();
    expect(memories.size).toBe(1);
    memories.forget('u1');
    expect(memories.peek('u1')).toBeUndefined();
    expect(memories.of('u1').cloudEvents.size).toBe(0);
  });
});
