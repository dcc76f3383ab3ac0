// Two container groups of one pod (an earlier create that landed unseen, then another): the pod
// keeps the group it records (its IP), whatever order the cloud shows them in, and only the other
// one is collected.
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { GROUP_TAGS, type ContainerGroup } from '../../../provider/cloud/model.ts';
import type { CloudPort } from '../../../provider/ports.ts';
import { POD_ANNOTATIONS } from '../../../provider/pods/annotations.ts';
import { PodController } from '../../../provider/pods/controller.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';
import { EventReason } from '../../../provider/events/reasons.ts';
import { makePod } from '../builders.ts';

const UID = 'uid-web';

function group(id: string, ip: string, creationTime: string): ContainerGroup {
  return {
    id,
    name: 'default-web-0',
    status: 'Running',
    zoneId: 'cn-hangzhou-i',
    vSwitchId: 'vsw-i1',
    securityGroupId: 'sg-1',
    vpcId: 'vpc-1',
    cpu: 1,
    memory: 2,
    intranetIp: ip,
    creationTime,
    containers: [],
    initContainers: [],
    events: [],
    tags: { [GROUP_TAGS.cluster]: 'c1', [GROUP_TAGS.podUid]: UID, [GROUP_TAGS.namespace]: 'default', [GROUP_TAGS.pod]: 'web-0' },
  };
}

describe('GroupIndex with two groups of one pod', () => {
  const first = group('eci-first', '10.0.0.5', '2026-12-06T07:00:00Z');
  const second = group('eci-second', '10.0.0.9', '2026-12-06T07:00:05Z');

  it('keeps the group it holds when another group of the pod is described later', () => {
    const index = new GroupIndex();
    index.put(second);
    index.put(first);
    expect(index.forPod(UID)?.id).toBe('eci-second');
    expect(index.podUidOf('eci-first')).toBe(UID);
  });

  it('lets the group this process created, or the one the pod records, take the place', () => {
    const index = new GroupIndex();
    index.noteCreated(UID, 'eci-second');
    index.put(first); // the unseen earlier one shows first: ours is still coming
    expect(index.forPod(UID)).toBeUndefined();
    index.put(second);
    expect(index.forPod(UID)?.id).toBe('eci-second');
    index.put(first, { replace: true });
    expect(index.forPod(UID)?.id).toBe('eci-first');
  });
});

describe('a pod that records one of its two groups', () => {
  it('reports the recorded group\'s IP and the collector deletes only the other one', async () => {
    const recorded = group('eci-recorded', '10.0.0.5', '2026-12-06T07:00:05Z');
    const older = group('eci-older', '10.0.0.9', '2026-12-06T07:00:00Z');
    const pod: V1Pod = makePod({ name: 'web-0', namespace: 'default', uid: UID, nodeName: 'vn-i' });
    pod.metadata!.annotations = { ...pod.metadata!.annotations, [POD_ANNOTATIONS.instanceId]: 'eci-recorded' };
    pod.status = { phase: 'Pending' };
    const deleted: string[] = [];
    const statuses: V1PodStatus[] = [];
    // The cloud lists the older group last, so a last-wins index would hold it.
    const cloud = {
      listContainerGroups: async () => [recorded, older],
      describeContainerGroups: async (ids: string[]) => [recorded, older].filter((g) => ids.includes(g.id)),
      deleteContainerGroup: async (id: string) => void deleted.push(id),
    } as unknown as CloudPort;
    const controller = new PodController({
      cloud,
      pods: { get: () => pod, list: () => [pod] },
      podsSynced: () => true,
      podLookup: { podExists: async () => true },
      writer: { patchPodStatus: async (_k, status) => void statuses.push(status), annotatePod: async () => {}, finishPodDeletion: async () => {}, recordEvent: () => {} },
      inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
      network: { plan: async () => ({ kind: 'wait', reason: EventReason.VSwitchesExhausted, message: 'unused', retryAfterMs: 1000 }), noteExhausted: () => {}, noteAllocated: () => {} },
      clusterId: 'c1',
      regionId: 'cn-hangzhou',
      zoneOfNode: () => 'cn-hangzhou-i',
      log: { info: () => {}, warn: () => {}, error: () => {} },
      workers: 1,
      statusPollIntervalMs: 60_000,
      resyncIntervalMs: 60_000,
      orphanGracePeriodMs: 0,
      backoffBaseMs: 10,
      backoffMaxMs: 100,
    });
    // Described in the unlucky order: the recorded group first, then the older one.
    await controller.relist();
    controller.groups.put(older);
    controller.enqueue(pod);
    const deadline = Date.now() + 5_000;
    while (statuses.length === 0 || controller.queue.inFlight > 0) {
      if (Date.now() > deadline) throw new Error(`TEST_DEADLINE: a status patch for web-0 within 5 s; have ${statuses.length}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(statuses.map((s) => s.podIP)).toEqual(['10.0.0.5']);
    expect(deleted).toEqual(['eci-older']);
    await controller.stop();
  });
});
