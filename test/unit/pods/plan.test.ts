import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import { planCreateFailure, planPod, type CreateFailureInputs, type CreateFailurePlan, type PlanInputs } from '../../../provider/pods/plan.ts';

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
/** The pods below are deleted with their grace period ending at 12:00:00 (the deletionTimestamp). */
const IN_GRACE = new Date('2026-11-24T11:59:50Z');
const AFTER_GRACE = new Date('2026-11-24T12:00:01Z');
const ASKED_JUST_NOW = new Date('2026-11-24T11:59:49Z');
const ASKED_LONG_AGO = new Date('2026-11-24T11:59:40Z');

const rows: [string, Partial<PlanInputs>, string][] = [
  ['a new pod gets a group', { pod: pod() }, 'create'],
  ['a pod whose group reports a new status gets it', { pod: pod(), group: group(), desiredStatus: running, statusChanged: true }, 'report-status'],
  ['an up-to-date pod needs nothing', { pod: pod(), group: group(), desiredStatus: running, statusChanged: false }, 'nothing'],
  ['a deleted pod with a live group: delete the group first', { pod: pod({ deleting: true }), group: group() }, 'delete-group'],
  ['a deleted pod with a finished group: delete the group too', { pod: pod({ deleting: true }), group: group('Succeeded') }, 'delete-group'],
  ['a deleted pod whose group is terminating: keep the pod while the grace period lasts', { pod: pod({ deleting: true }), group: group('Terminating') }, 'await-group-gone'],
  ['a deleted pod whose group was asked to go and is still listed: keep waiting', { pod: pod({ deleting: true }), group: group(), deleteRequestedAt: ASKED_JUST_NOW }, 'await-group-gone'],
  ['a deleted pod whose group was asked to go 10 s ago and never started terminating: ask again', { pod: pod({ deleting: true }), group: group(), deleteRequestedAt: ASKED_LONG_AGO }, 'delete-group'],
  ['a deleted pod whose group is terminating past the grace period: finish', { pod: pod({ deleting: true }), group: group('Terminating'), now: AFTER_GRACE }, 'finish-deletion'],
  ['a deleted pod past the grace period whose group was never asked to go: delete it first', { pod: pod({ deleting: true }), group: group(), now: AFTER_GRACE }, 'delete-group'],
  ['a deleted pod past the grace period whose group was asked to go: finish', { pod: pod({ deleting: true }), group: group(), deleteRequestedAt: ASKED_LONG_AGO, now: AFTER_GRACE }, 'finish-deletion'],
  ['a deleted pod without a group (confirmed gone): finish', { pod: pod({ deleting: true }) }, 'finish-deletion'],
  ['a finished pod is never re-created', { pod: pod({ phase: 'Succeeded' }) }, 'nothing'],
  ['a failed pod is never re-created', { pod: pod({ phase: 'Failed' }) }, 'nothing'],
  ['a pod whose recorded group is confirmed gone is lost', { pod: pod({ instanceId: 'eci-9' }), recordedGroupConfirmedGone: true }, 'mark-lost'],
  ['an unconfirmed absence is not "gone": create (idempotent) instead', { pod: pod({ instanceId: 'eci-9' }), recordedGroupConfirmedGone: false }, 'create'],
];

describe('planPod', () => {
  it.each(rows)('%s', (_name, partial, expected) => {
    const inputs: PlanInputs = { pod: pod(), group: undefined, recordedGroupConfirmedGone: false, desiredStatus: undefined, statusChanged: false, now: IN_GRACE, ...partial };
    expect(planPod(inputs).kind).toBe(expected);
  });

  it('names the group to delete and the lost group', () => {
    expect(planPod({ pod: pod({ deleting: true }), group: group(), recordedGroupConfirmedGone: false, desiredStatus: undefined, statusChanged: false, now: IN_GRACE })).toEqual({
      kind: 'delete-group',
      containerGroupId: 'eci-1',
    });
    expect(planPod({ pod: pod({ instanceId: 'eci-9' }), group: undefined, recordedGroupConfirmedGone: true, desiredStatus: undefined, statusChanged: false })).toEqual({
      kind: 'mark-lost',
      containerGroupId: 'eci-9',
    });
  });

  it('waits for a terminating group no longer than the grace period, looking again at least every second', () => {
    const base = { pod: pod({ deleting: true }), group: group('Terminating'), recordedGroupConfirmedGone: false, desiredStatus: undefined, statusChanged: false };
    expect(planPod({ ...base, now: IN_GRACE })).toEqual({ kind: 'await-group-gone', containerGroupId: 'eci-1', retryAfterMs: 1_000 });
    expect(planPod({ ...base, now: new Date('2026-11-24T11:59:59.700Z') })).toEqual({ kind: 'await-group-gone', containerGroupId: 'eci-1', retryAfterMs: 300 });
  });
});

describe('planCreateFailure: what a failed CreateContainerGroup leads to', () => {
  const rows: [string, CreateFailureInputs, CreateFailurePlan['kind']][] = [
    ['no free IP in the vSwitch: fail over to another', { verdict: 'failover-vswitch', idempotentMismatch: false }, 'fail-over'],
    ['throttled: wait a moment, no failure shown', { verdict: 'throttled', idempotentMismatch: false }, 'wait'],
    ['terminal (e.g. an SG in another VPC): refuse', { verdict: 'terminal', idempotentMismatch: false }, 'refuse'],
    ['transient (no stock, 5xx): retry with backoff', { verdict: 'retry', idempotentMismatch: false }, 'retry'],
    ['IdempotentParameterMismatch: first look for the group an earlier create made', { verdict: 'terminal', idempotentMismatch: true }, 'look-up-group'],
    ['IdempotentParameterMismatch and the group exists: adopt it', { verdict: 'terminal', idempotentMismatch: true, lookedUp: 'found' }, 'adopt'],
    ['IdempotentParameterMismatch and no group: refuse', { verdict: 'terminal', idempotentMismatch: true, lookedUp: 'absent' }, 'refuse'],
  ];
  it.each(rows)('%s', (_name, inputs, expected) => {
    expect(planCreateFailure(inputs).kind).toBe(expected);
  });

  it('waits 1-2 s when throttled, and tells the user about a transient failure but not about an impossible "gone"', () => {
    expect(planCreateFailure({ verdict: 'throttled', idempotentMismatch: false })).toEqual({ kind: 'wait', minMs: 1_000, maxMs: 2_000 });
    expect(planCreateFailure({ verdict: 'retry', idempotentMismatch: false })).toEqual({ kind: 'retry', event: true });
    expect(planCreateFailure({ verdict: 'gone', idempotentMismatch: false })).toEqual({ kind: 'retry', event: false });
  });
});
