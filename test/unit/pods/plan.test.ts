import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import { planPod, type PlanInputs } from '../../../provider/pods/plan.ts';

function pod({ deleting = false, phase = 'Pending', instanceId }: { deleting?: boolean; phase?: string; instanceId?: string } = {}): V1Pod {
  return {
    metadata: {
      name: 'web-1',
      namespace: 'shop',
      uid: 'uid-1',
      ...(deleting ? { deletionTimestamp: new Date('2026-11-24T12:00:00Z') } : {}),
      annotations: instanceId === undefined ? {} : { 'k8s.aliyun.com/eci-instance-id': instanceId },
    },
    spec: { nodeName: 'vn-a', containers: [{ name: 'c', image: 'nginx' }] },
    status: { phase },
  };
}

function group(status: ContainerGroup['status'] = 'Running'): ContainerGroup {
  return {
    id: 'eci-1',
    name: 'shop-web-1',
    status,
    zoneId: 'z-a',
    vSwitchId: 'vsw-a',
    securityGroupId: 'sg-a',
    vpcId: 'vpc-1',
    cpu: 1,
    memory: 2,
    containers: [],
    initContainers: [],
    events: [],
    tags: {},
  };
}

const running: V1PodStatus = { phase: 'Running' };

const rows: [string, Partial<PlanInputs>, string][] = [
  ['a new pod gets a group', { pod: pod() }, 'create'],
  ['a pod whose group reports a new status gets it', { pod: pod(), group: group(), desiredStatus: running, statusChanged: true }, 'report-status'],
  ['an up-to-date pod needs nothing', { pod: pod(), group: group(), desiredStatus: running, statusChanged: false }, 'nothing'],
  ['a deleted pod with a live group: delete the group first', { pod: pod({ deleting: true }), group: group() }, 'delete-group'],
  ['a deleted pod whose group is already terminating: finish', { pod: pod({ deleting: true }), group: group('Terminating') }, 'finish-deletion'],
  ['a deleted pod without a group: finish', { pod: pod({ deleting: true }) }, 'finish-deletion'],
  ['a finished pod is never re-created', { pod: pod({ phase: 'Succeeded' }) }, 'nothing'],
  ['a failed pod is never re-created', { pod: pod({ phase: 'Failed' }) }, 'nothing'],
  ['a pod whose recorded group is confirmed gone is lost', { pod: pod({ instanceId: 'eci-9' }), recordedGroupConfirmedGone: true }, 'mark-lost'],
  ['an unconfirmed absence is not "gone": create (idempotent) instead', { pod: pod({ instanceId: 'eci-9' }), recordedGroupConfirmedGone: false }, 'create'],
];

describe('planPod', () => {
  it.each(rows)('%s', (_name, partial, expected) => {
    const inputs: PlanInputs = { pod: pod(), group: undefined, recordedGroupConfirmedGone: false, desiredStatus: undefined, statusChanged: false, ...partial };
    expect(planPod(inputs).kind).toBe(expected);
  });

  it('names the group to delete and the lost group', () => {
    expect(planPod({ pod: pod({ deleting: true }), group: group(), recordedGroupConfirmedGone: false, desiredStatus: undefined, statusChanged: false })).toEqual({
      kind: 'delete-group',
      containerGroupId: 'eci-1',
    });
    expect(planPod({ pod: pod({ instanceId: 'eci-9' }), group: undefined, recordedGroupConfirmedGone: true, desiredStatus: undefined, statusChanged: false })).toEqual({
      kind: 'mark-lost',
      containerGroupId: 'eci-9',
    });
  });
});
