// A create the cloud refuses for a reason worth retrying (a zone out of stock, a 5xx) is retried
// with backoff, and the pod says why meanwhile: one Warning event per distinct failure, without
// the request id (so the retries fold into it). Found by the chaos suite: a pod whose zone was out
// of stock stayed Pending with nothing on it.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../../provider/cloud/errors.ts';
import type { CloudPort, PodEvent, PodKey, PodWriter } from '../../../provider/ports.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';
import { podKeyOf, PodSync, type NetworkPlanner } from '../../../provider/pods/sync.ts';
import { makePod } from '../builders.ts';

function harness(pod: V1Pod, createError: Error) {
  const events: PodEvent[] = [];
  let creates = 0;
  const cloud = {
    createContainerGroup: async () => {
      creates++;
      throw createError;
    },
    describeContainerGroups: async () => [],
  } as unknown as CloudPort;
  const writer: PodWriter = {
    patchPodStatus: async () => {},
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
    writer,
    inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
    network,
    groups: new GroupIndex(),
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    zoneOfNode: () => 'cn-hangzhou-i',
    log: { info: () => {}, warn: () => {}, error: () => {} },
  });
  return { sync, events, creates: () => creates };
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
