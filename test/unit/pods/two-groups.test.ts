// Two container groups of one pod (an earlier create that landed unseen, then another): the pod
// keeps the group it records (its IP), whatever order the cloud shows them in, and only the other
// one is collected.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { POD_ANNOTATIONS } from '../../../provider/pods/annotations.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';
import { makePod } from '../builders.ts';
import { controllerOver, runningGroup, settle } from './controller-harness.ts';

const UID = 'uid-web';

const group = (id: string, ip: string, creationTime: string) => runningGroup({ id, uid: UID, pod: 'web-0', intranetIp: ip, creationTime });

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
    // The cloud lists the older group last, so a last-wins index would hold it.
    const { controller, deleted, statuses } = controllerOver({ groups: [recorded, older], pods: () => [pod], podExists: async () => true });
    // Described in the unlucky order: the recorded group first, then the older one.
    await controller.relist();
    controller.groups.put(older);
    controller.enqueue(pod);
    await settle(controller, 'a status patch for web-0', () => statuses.length > 0);
    expect(statuses.map((s) => s.podIP)).toEqual(['10.0.0.5']);
    expect(deleted).toEqual(['eci-older']);
    await controller.stop();
  });
});
