// The sync recovers from what a lost answer or an odd code would otherwise turn into a stuck or
// failed pod: a create that already happened under the pod's ClientToken is adopted, cloud codes
// become valid condition reasons, and a pod that waited says so no more once its group exists.
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../../provider/cloud/errors.ts';
import { GROUP_TAGS, type ContainerGroup } from '../../../provider/cloud/model.ts';
import type { CloudPort, PodWriter } from '../../../provider/ports.ts';
import { PROVISIONED_CONDITION } from '../../../provider/pods/annotations.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';
import { conditionReason, podKeyOf, PodSync, type NetworkPlanner } from '../../../provider/pods/sync.ts';
import { makePod } from '../builders.ts';
import { syncDefaults } from './controller-harness.ts';

function group(uid: string): ContainerGroup {
  return {
    id: 'eci-earlier',
    name: 'g',
    status: 'Pending',
    zoneId: 'cn-hangzhou-i',
    vSwitchId: 'vsw-i2',
    securityGroupId: 'sg-1',
    vpcId: 'vpc-1',
    cpu: 2,
    memory: 4,
    containers: [],
    initContainers: [],
    events: [],
    tags: { [GROUP_TAGS.cluster]: 'c1', [GROUP_TAGS.podUid]: uid },
  };
}

function harness(pod: V1Pod, create: () => Promise<{ containerGroupId: string }>, existing: ContainerGroup[] = [], patchStatus?: (status: V1PodStatus) => Promise<void>) {
  const annotations: Record<string, string | null>[] = [];
  const statuses: V1PodStatus[] = [];
  const listed: Record<string, string>[] = [];
  const cloud = {
    createContainerGroup: create,
    describeContainerGroups: async () => [],
    listContainerGroups: async (tags: Record<string, string>) => {
      listed.push(tags);
      return existing.filter((g) => Object.entries(tags).every(([k, v]) => g.tags[k] === v));
    },
  } as unknown as CloudPort;
  const writer: PodWriter = {
    patchPodStatus: async (_key, status) => {
      await patchStatus?.(status);
      statuses.push(status);
    },
    annotatePod: async (_key, a) => void annotations.push(a),
    finishPodDeletion: async () => {},
    recordEvent: () => {},
  };
  const network: NetworkPlanner = {
    plan: async () => ({ kind: 'ready', zoneId: 'cn-hangzhou-i', vSwitchId: 'vsw-i1', securityGroupId: 'sg-1', reason: 'default network' }),
    noteExhausted: () => {},
    noteAllocated: () => {},
  };
  const groups = new GroupIndex();
  const sync = new PodSync({
    cloud,
    pods: { get: () => pod, list: () => [pod] },
    podLookup: { podExists: async () => false },
    writer,
    ...syncDefaults(),
    network,
    groups,
  });
  return { sync, annotations, statuses, listed, groups };
}

const mismatch = new CloudError({ action: 'CreateContainerGroup', code: 'IdempotentParameterMismatch', detail: 'same token, other parameters', requestId: 'R1', httpStatus: 400 });

describe('PodSync recovery', () => {
  it('adopts the group an earlier create made when the retry hits IdempotentParameterMismatch', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i', uid: 'uid-lost-answer' });
    const h = harness(pod, () => Promise.reject(mismatch), [group('uid-lost-answer')]);
    expect(await h.sync.syncPod(podKeyOf(pod))).toEqual({ kind: 'done' });
    expect(h.listed).toEqual([{ [GROUP_TAGS.cluster]: 'c1', [GROUP_TAGS.podUid]: 'uid-lost-answer' }]);
    expect(h.annotations.at(-1)).toMatchObject({ 'k8s.aliyun.com/eci-instance-id': 'eci-earlier', 'eci-virtual-node.io/vswitch-id': 'vsw-i2' });
    expect(h.groups.forPod('uid-lost-answer')?.id).toBe('eci-earlier');
  });

  it('without such a group, the mismatch is reported on the pod with a valid reason', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i', uid: 'uid-nothing' });
    const h = harness(pod, () => Promise.reject(mismatch));
    await h.sync.syncPod(podKeyOf(pod));
    const condition = h.statuses.flatMap((s) => s.conditions ?? []).find((c) => c.type === PROVISIONED_CONDITION);
    expect(condition).toMatchObject({ status: 'False', reason: 'IdempotentParameterMismatch' });
  });

  it('marks a pod whose group vanished Failed, and writes it again when the first PATCH failed', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i', uid: 'uid-lost', annotations: { 'k8s.aliyun.com/eci-instance-id': 'eci-gone' }, status: { phase: 'Running' } });
    let patches = 0;
    const h = harness(pod, () => Promise.reject(new Error('no create expected')), [], async () => {
      if (++patches === 1) throw new Error('ApiserverTimeout: no answer within 60 s');
    });
    await expect(h.sync.syncPod(podKeyOf(pod))).rejects.toThrow('ApiserverTimeout');
    expect(await h.sync.syncPod(podKeyOf(pod))).toEqual({ kind: 'done' });
    expect(h.statuses.map((s) => s.phase)).toEqual(['Failed']);
    // Written once: the next pass (the cache may not show it yet) writes nothing more.
    await h.sync.syncPod(podKeyOf(pod));
    expect(patches).toBe(2);
  });

  it('turns cloud codes into condition reasons the apiserver accepts', () => {
    expect(conditionReason('Zone.NotOnSale')).toBe('ZoneNotOnSale');
    expect(conditionReason('InvalidVSwitchId.IpNotEnough')).toBe('InvalidVSwitchIdIpNotEnough');
    expect(conditionReason('VSwitchesExhausted')).toBe('VSwitchesExhausted');
    expect(conditionReason('500')).toBe('Error500');
    for (const reason of ['Zone.NotOnSale', 'a-b c', '5xx']) expect(conditionReason(reason)).toMatch(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/);
  });

  it('marks a pod that waited as provisioned once its group is created', async () => {
    const pod = makePod({
      nodeName: 'vn-cn-hangzhou-i',
      uid: 'uid-waited',
      status: { phase: 'Pending', conditions: [{ type: PROVISIONED_CONDITION, status: 'False', reason: 'VSwitchesExhausted', message: 'full' }] },
    });
    const h = harness(pod, async () => ({ containerGroupId: 'eci-new' }));
    await h.sync.syncPod(podKeyOf(pod));
    const condition = h.statuses.flatMap((s) => s.conditions ?? []).find((c) => c.type === PROVISIONED_CONDITION);
    expect(condition).toMatchObject({ status: 'True', reason: 'ContainerGroupCreated' });
    expect(condition?.message).toContain('eci-new');
  });
});

describe('PodSync: a pod stuck in an exhausted zone (opt-in re-creation)', () => {
  function stuck(annotations: Record<string, string>, boundSecondsAgo: number, now: Date) {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i', uid: 'uid-stuck', annotations });
    pod.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9', uid: 'rs', controller: true }];
    pod.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date(now.getTime() - boundSecondsAgo * 1000) }] };
    const deleted: string[] = [];
    const events: string[] = [];
    const statuses: V1PodStatus[] = [];
    const sync = new PodSync({
      cloud: { createContainerGroup: () => Promise.reject(new Error('no create while exhausted')), describeContainerGroups: async () => [], listContainerGroups: async () => [] } as unknown as CloudPort,
      pods: { get: () => pod, list: () => [pod] },
      podLookup: { podExists: async () => false },
      writer: {
        patchPodStatus: async (_key, status) => void statuses.push(status),
        annotatePod: async () => {},
        finishPodDeletion: async (key) => void deleted.push(key.uid),
        recordEvent: (_key, e) => void events.push(`${e.type} ${e.reason}: ${e.message}`),
      },
      ...syncDefaults(),
      network: {
        plan: async () => ({ kind: 'wait', reason: 'VSwitchesExhausted', message: 'no vSwitch of the default network in zone cn-hangzhou-i has a free IP', retryAfterMs: 15_000 }),
        noteExhausted: () => {},
        noteAllocated: () => {},
      },
      now: () => now,
    });
    return { pod, sync, deleted, events, statuses };
  }
  const now = new Date('2026-12-06T06:30:00Z');
  const annotation = { 'eci-virtual-node.io/reschedule-when-exhausted-after': '2m' };

  it('deletes the pod (UID precondition) with a Descheduled event once it waited past the annotation', async () => {
    const h = stuck(annotation, 121, now);
    expect(await h.sync.syncPod(podKeyOf(h.pod))).toEqual({ kind: 'done' });
    expect(h.deleted).toEqual(['uid-stuck']);
    expect(h.events).toEqual(['Normal Descheduled: waited 121 s (over 2m) for a free IP in its zone: deleted so that ReplicaSet web-7d9 re-creates it in a zone with free IPs']);
  });

  it('before the deadline it waits with its reason and looks again at the deadline', async () => {
    const h = stuck(annotation, 115, now);
    expect(await h.sync.syncPod(podKeyOf(h.pod))).toEqual({ kind: 'requeueAfter', ms: 5_000 });
    expect(h.deleted).toEqual([]);
    expect(h.statuses.flatMap((s) => s.conditions ?? []).find((c) => c.type === PROVISIONED_CONDITION)).toMatchObject({ status: 'False', reason: 'VSwitchesExhausted' });
  });

  it('without the annotation it only waits', async () => {
    const h = stuck({}, 3600, now);
    expect(await h.sync.syncPod(podKeyOf(h.pod))).toEqual({ kind: 'requeueAfter', ms: 15_000 });
    expect(h.deleted).toEqual([]);
  });
});
