// planPod: given what we know of a pod and of its container group, what is the ONE next step?
// Pure: the sync loop loads the inputs, calls this, acts, and reports. Re-running it after any
// partial step gives a step that is safe to take again (create is idempotent under the pod UID).
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { CloudErrorVerdict } from '../cloud/errors.ts';
import { GROUP_TAGS, type ContainerGroup } from '../cloud/model.ts';
import { POD_ANNOTATIONS } from './annotations.ts';

export type PodPlan =
  | { kind: 'create' }
  | { kind: 'report-status'; status: V1PodStatus }
  | { kind: 'delete-group'; containerGroupId: string }
  | { kind: 'await-group-gone'; containerGroupId: string; retryAfterMs: number }
  | { kind: 'finish-deletion'; why: string }
  | { kind: 'mark-lost'; containerGroupId: string }
  | { kind: 'await-group-visible'; containerGroupId: string; retryAfterMs: number }
  | { kind: 'nothing'; why: string };

export interface PlanInputs {
  pod: V1Pod;
  /** The pod's group, if the cloud has one (found by id or by the pod-UID tag). */
  group: ContainerGroup | undefined;
  /**
   * True only when the cloud confirmed the group recorded on the pod does not exist (a
   * successful describe by id that came back empty). A failed or partial lookup is never "gone".
   */
  recordedGroupConfirmedGone: boolean;
  /** The status the group implies for the pod (computed by provider/eci/status). */
  desiredStatus: V1PodStatus | undefined;
  /** Whether desiredStatus differs from the pod's current status in a way worth a patch. */
  statusChanged: boolean;
  /** When this process last asked the cloud to delete the pod's group, if it did. */
  deleteRequestedAt?: Date;
  /** Now (deletion waits until the pod's deletionTimestamp at most). */
  now?: Date;
  /**
   * When this process created the pod's group (epoch ms), if it did. ECI's List/Describe are
   * eventually consistent: a group missing this soon after its create is not "gone".
   */
  createdAtMs?: number;
}

/** A group missing from Describe less than this long after its create is waited for, not marked lost. */
export const VANISH_GRACE_MS = 60_000;
/** How often a pod waits to see its new group. */
export const VISIBLE_POLL_MS = 2_000;

/** How often a pod being deleted looks again whether its group is gone. */
export const DELETION_POLL_MS = 1_000;
/** A group still not Terminating this long after the delete was asked for is asked again. */
export const DELETION_REPEAT_MS = 10_000;

const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

export function isTerminal(pod: V1Pod): boolean {
  return TERMINAL_PHASES.has(pod.status?.phase ?? '');
}

export function recordedGroupId(pod: V1Pod): string | undefined {
  const id = pod.metadata?.annotations?.[POD_ANNOTATIONS.instanceId];
  return id === undefined || id === '' ? undefined : id;
}

export function planPod(inputs: PlanInputs): PodPlan {
  const { pod, group, recordedGroupConfirmedGone, desiredStatus, statusChanged } = inputs;
  if (pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) return planDeletion(inputs, new Date(pod.metadata.deletionTimestamp));

  if (group !== undefined) {
    if (desiredStatus !== undefined && statusChanged) return { kind: 'report-status', status: desiredStatus };
    return { kind: 'nothing', why: 'status up to date' };
  }

  // No group from here on.
  if (isTerminal(pod)) return { kind: 'nothing', why: `pod is ${pod.status?.phase}; a finished pod is never re-created` };
  const recorded = recordedGroupId(pod);
  if (recorded !== undefined && recordedGroupConfirmedGone) {
    const age = inputs.createdAtMs === undefined ? Infinity : (inputs.now ?? new Date()).getTime() - inputs.createdAtMs;
    if (age < VANISH_GRACE_MS) return { kind: 'await-group-visible', containerGroupId: recorded, retryAfterMs: VISIBLE_POLL_MS };
    return { kind: 'mark-lost', containerGroupId: recorded };
  }
  return { kind: 'create' };
}

/**
 * virtual-kubelet's order: delete the group, keep the Pod object while the cloud still has the
 * group (a StatefulSet makes the next `web-0` only once the Pod object is gone), and finish the
 * deletion when the group is gone or the grace period is over. The apiserver sets
 * deletionTimestamp to the moment the grace period ends. `group` must come from a fresh lookup.
 */
function planDeletion({ group, deleteRequestedAt, now = new Date() }: PlanInputs, graceEnds: Date): PodPlan {
  if (group === undefined) return { kind: 'finish-deletion', why: 'the container group is gone' };
  // Always ask once, even past the grace period: the group must not outlive the pod. Ask again
  // if the cloud seems to have dropped the request (the group never started terminating).
  const askedRecently = deleteRequestedAt !== undefined && now.getTime() - deleteRequestedAt.getTime() < DELETION_REPEAT_MS;
  if (group.status !== 'Terminating' && !askedRecently && (deleteRequestedAt === undefined || graceEnds.getTime() > now.getTime())) {
    return { kind: 'delete-group', containerGroupId: group.id };
  }
  const left = graceEnds.getTime() - now.getTime();
  if (Number.isNaN(left) || left <= 0) return { kind: 'finish-deletion', why: `the grace period ended while container group ${group.id} was ${group.status}` };
  return { kind: 'await-group-gone', containerGroupId: group.id, retryAfterMs: Math.min(DELETION_POLL_MS, left) };
}

// ---- a failed create --------------------------------------------------------------------------

export type CreateFailurePlan =
  /** IdempotentParameterMismatch: an earlier create under this ClientToken may have made the group: look it up. */
  | { kind: 'look-up-group' }
  /** That earlier create did make it: adopt the group (annotate the pod), no new create. */
  | { kind: 'adopt' }
  /** The vSwitch has no free IP: mark it exhausted and try again at once on another vSwitch. */
  | { kind: 'fail-over' }
  /** Over the API rate limit: no pod-visible failure, try again after a short random wait. */
  | { kind: 'wait'; minMs: number; maxMs: number }
  /** The same create would fail again: condition + event once, remembered until the pod or its network changes. */
  | { kind: 'refuse' }
  /** Transient: an event saying why, then retry with the queue's backoff. */
  | { kind: 'retry'; event: boolean };

export interface CreateFailureInputs {
  verdict: CloudErrorVerdict;
  /** The cloud answered IdempotentParameterMismatch. */
  idempotentMismatch: boolean;
  /** After a `look-up-group`: whether a group of this pod (cluster + pod-UID tags) exists. */
  lookedUp?: 'found' | 'absent';
}

/** What to do after CreateContainerGroup failed. Pure; the sync acts on the answer. */
export function planCreateFailure({ verdict, idempotentMismatch, lookedUp }: CreateFailureInputs): CreateFailurePlan {
  if (idempotentMismatch) {
    if (lookedUp === undefined) return { kind: 'look-up-group' };
    if (lookedUp === 'found') return { kind: 'adopt' };
    // No group under the token: the body really differs from one the cloud refused; that is terminal.
  }
  switch (verdict) {
    case 'failover-vswitch':
      return { kind: 'fail-over' };
    case 'throttled':
      return { kind: 'wait', minMs: 1_000, maxMs: 2_000 };
    case 'terminal':
      return { kind: 'refuse' };
    case 'retry':
      return { kind: 'retry', event: true };
    case 'gone':
      // Not an answer a create can give; retry without telling the user anything new.
      return { kind: 'retry', event: false };
  }
}

/**
 * What a failed create says about whether it made a group. `uncertain`: it may have (timeout,
 * 5xx, network): the next attempt must send the same body. `definite`: the cloud refused this body
 * under its token, so nothing exists under it. `unchanged`: throttled before it was looked at.
 */
export function createOutcome(verdict: CloudErrorVerdict): 'uncertain' | 'definite' | 'unchanged' {
  switch (verdict) {
    case 'retry':
      return 'uncertain';
    case 'failover-vswitch':
    case 'terminal':
      return 'definite';
    case 'throttled':
    case 'gone':
      return 'unchanged';
  }
}

/**
 * Groups of one pod beyond the one it keeps (a create whose answer was lost, then a re-create
 * with another body and so another ClientToken, before the first was listed). Kept: the group
 * recorded on the pod, else the oldest. Pure; the caller deletes the rest after the orphan grace.
 */
export function surplusGroups(
  groups: readonly { id: string; tags: Record<string, string>; status: string; creationTime?: string }[],
  recordedIdOf: (podUid: string) => string | undefined,
): string[] {
  const byPod = new Map<string, { id: string; status: string; creationTime?: string }[]>();
  for (const g of groups) {
    const uid = g.tags[GROUP_TAGS.podUid];
    if (uid === undefined || g.status === 'Terminating') continue;
    byPod.set(uid, [...(byPod.get(uid) ?? []), g]);
  }
  const surplus: string[] = [];
  for (const [uid, list] of byPod) {
    if (list.length < 2) continue;
    const recorded = recordedIdOf(uid);
    const keep = list.find((g) => g.id === recorded) ?? [...list].sort((a, b) => (a.creationTime ?? '').localeCompare(b.creationTime ?? '') || a.id.localeCompare(b.id))[0]!;
    for (const g of list) if (g.id !== keep.id) surplus.push(g.id);
  }
  return surplus;
}
