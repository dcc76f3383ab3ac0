// A create the cloud refuses for a reason worth retrying (a zone out of stock, a 5xx) is retried
// with backoff, and the pod says why meanwhile: one Warning event per distinct failure, without
// the request id (so the retries fold into it). Found by the chaos suite: a pod whose zone was out
// of stock stayed Pending with nothing on it.
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../../provider/cloud/errors.ts';
import type { CloudPort, PodEvent, PodKey, PodWriter } from '../../../provider/ports.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';
import { REFUSAL_RECHECK_MS } from '../../../provider/pods/memory.ts';
import { podKeyOf, PodSync, type NetworkPlanner } from '../../../provider/pods/sync.ts';
import { makePod } from '../builders.ts';

function harness(initial: V1Pod, createError: Error) {
  let pod = initial;
  let nowMs = Date.parse('2026-12-01T10:00:00Z');
  const events: PodEvent[] = [];
  const statusPatches: V1PodStatus[] = [];
  let creates = 0;
  const cloud = {
    createContainerGroup: async () => {
      creates++;
      throw createError;
    },
    describeContainerGroups: async () => [],
  } as unknown as CloudPort;
  const writer: PodWriter = {
    patchPodStatus: async (_key: PodKey, status: V1PodStatus) => void statusPatches.push(status),
    annotatePod: async () => {},
    finishPodDeletion: async () => {},
    // Translation warnings (e.g. no cluster DNS) are not what this test is about.
    recordEvent: (_key: PodKey, event: PodEvent) => void (event.reason === 'UnsupportedField' || events.push(event)),
  };
  const network: NetworkPlanner = {
    plan: async () => ({ kind: 'ready', zoneId: 'cn-hangzhou-i', vSwitchId: 'vsw-i1', securityGroupId: 'sg-1', reason: 'default network' }),
    noteExhausted: () => {},
    noteAllocated: () => {},
  };
  const sync = new PodSync({
    cloud,
    pods: { get: () => pod, list: () => [pod] },
    podLookup: { podExists: async () => false },
    writer,
    inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
    network,
    groups: new GroupIndex(),
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    zoneOfNode: () => 'cn-hangzhou-i',
    log: { info: () => {}, warn: () => {}, error: () => {} },
    now: () => new Date(nowMs),
  });
  // The pod as the informer would show it next: the given change, plus every status written so far.
  const update = (change: (p: V1Pod) => V1Pod = (p) => p) => {
    const conditions = statusPatches.flatMap((st) => st.conditions ?? []);
    pod = change({ ...pod, status: { ...pod.status, conditions } });
  };
  return { sync, events, statusPatches, update, creates: () => creates, advance: (ms: number) => void (nowMs += ms) };
}

const noStock = (requestId: string) =>
  new CloudError({ action: 'CreateContainerGroup', code: 'OperationDenied.NoStock', detail: 'The resource is out of stock in the specified zone.', requestId, httpStatus: 403 });

describe('PodSync: a create refused for a retryable reason', () => {
  it('records a Warning event naming the code, then throws so the queue retries with backoff', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i' });
    const h = harness(pod, noStock('REQ-1'));
    await expect(h.sync.syncPod(podKeyOf(pod))).rejects.toThrow(/OperationDenied.NoStock/);
    expect(h.creates()).toBe(1);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ type: 'Warning', reason: 'ProviderCreateFailed' });
    expect(h.events[0]!.message).toContain('OperationDenied.NoStock');
    expect(h.events[0]!.message).toContain('retrying');
    expect(h.events[0]!.message).not.toContain('REQ-1');
  });

  it('gives retries of the same failure the same message (the writer folds identical events)', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i' });
    const first = harness(pod, noStock('REQ-1'));
    const second = harness(pod, noStock('REQ-2'));
    await first.sync.syncPod(podKeyOf(pod)).catch(() => {});
    await second.sync.syncPod(podKeyOf(pod)).catch(() => {});
    expect(first.events[0]!.message).toBe(second.events[0]!.message);
  });
});

const vpcMismatch = (requestId: string) =>
  new CloudError({
    action: 'CreateContainerGroup',
    code: 'InvalidOperation.VpcMismatch',
    detail: 'The security group sg-1 (vpc-2) and the vSwitch vsw-i1 (vpc-1) are not in the same VPC.',
    requestId,
    httpStatus: 400,
  });

describe('PodSync: a create refused for good (a terminal cloud error)', () => {
  it('is tried once per change of the pod: one create call, one Warning, a condition without the request id', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i' });
    const h = harness(pod, vpcMismatch('REQ-1'));
    // The first refusal, then what would follow: the condition write re-queues the pod, resyncs come.
    for (let i = 0; i < 5; i++) {
      await expect(h.sync.syncPod(podKeyOf(pod))).resolves.toEqual({ kind: 'done' });
      h.update();
    }
    expect(h.creates()).toBe(1);
    expect(h.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'InvalidOperationVpcMismatch' })]);
    expect(h.statusPatches).toHaveLength(1);
    const condition = h.statusPatches[0]!.conditions![0]!;
    expect(condition).toMatchObject({ status: 'False', reason: 'InvalidOperationVpcMismatch' });
    expect(condition.message).toContain('sg-1 (vpc-2)');
    expect(condition.message).not.toContain('REQ-1');
    expect(h.events[0]!.message).not.toContain('REQ-1');
  });

  it('a status write, a provider annotation or a new resourceVersion is no change; a user edit earns exactly one new attempt', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i' });
    const h = harness(pod, vpcMismatch('REQ-1'));
    await h.sync.syncPod(podKeyOf(pod));
    h.update((p) => ({ ...p, metadata: { ...p.metadata, resourceVersion: '99', annotations: { 'eci-virtual-node.io/traceparent': '00-abc-def-01' } } }));
    await h.sync.syncPod(podKeyOf(pod));
    expect(h.creates()).toBe(1);
    h.update((p) => ({ ...p, metadata: { ...p.metadata, labels: { ...p.metadata?.labels, tier: 'web' } } }));
    await h.sync.syncPod(podKeyOf(pod));
    await h.sync.syncPod(podKeyOf(pod));
    expect(h.creates()).toBe(2);
  });

  it('is tried again, quietly, after REFUSAL_RECHECK_MS (a fix made only in the cloud is noticed)', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i' });
    const h = harness(pod, vpcMismatch('REQ-1'));
    await h.sync.syncPod(podKeyOf(pod));
    h.update();
    h.advance(REFUSAL_RECHECK_MS - 1);
    await h.sync.syncPod(podKeyOf(pod));
    expect(h.creates()).toBe(1);
    h.advance(1);
    await h.sync.syncPod(podKeyOf(pod));
    expect(h.creates()).toBe(2);
    // The same answer: nothing new on the pod.
    expect(h.events).toHaveLength(1);
    expect(h.statusPatches).toHaveLength(1);
  });

  it('a pod that is deleted and re-created under the same name is another pod: it is tried again', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i' });
    const h = harness(pod, vpcMismatch('REQ-1'));
    await h.sync.syncPod(podKeyOf(pod));
    h.update((p) => ({ ...p, metadata: { ...p.metadata, uid: 'another-uid' }, status: {} }));
    await h.sync.syncPod({ ...podKeyOf(pod), uid: 'another-uid' });
    expect(h.creates()).toBe(2);
  });
});
