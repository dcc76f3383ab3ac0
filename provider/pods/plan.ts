// planPod: given what we know of a pod and of its container group, what is the ONE next step?
// Pure: the sync loop loads the inputs, calls this, acts, and reports. Re-running it after any
// partial step gives a step that is safe to take again (create is idempotent under the pod UID).
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { ContainerGroup } from '../cloud/model.ts';
import { POD_ANNOTATIONS } from './annotations.ts';

export type PodPlan =
  | { kind: 'create' }
  | { kind: 'report-status'; status: V1PodStatus }
  | { kind: 'delete-group'; containerGroupId: string }
  | { kind: 'finish-deletion' }
  | { kind: 'mark-lost'; containerGroupId: string }
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
}

const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

export function isTerminal(pod: V1Pod): boolean {
  return TERMINAL_PHASES.has(pod.status?.phase ?? '');
}

export function recordedGroupId(pod: V1Pod): string | undefined {
  const id = pod.metadata?.annotations?.[POD_ANNOTATIONS.instanceId];
  return id === undefined || id === '' ? undefined : id;
}

export function planPod({ pod, group, recordedGroupConfirmedGone, desiredStatus, statusChanged }: PlanInputs): PodPlan {
  const groupAlive = group !== undefined && group.status !== 'Terminating';

  if (pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) {
    if (group !== undefined && groupAlive) return { kind: 'delete-group', containerGroupId: group.id };
    return { kind: 'finish-deletion' };
  }

  if (group !== undefined) {
    if (desiredStatus !== undefined && statusChanged) return { kind: 'report-status', status: desiredStatus };
    return { kind: 'nothing', why: 'status up to date' };
  }

  // No group from here on.
  if (isTerminal(pod)) return { kind: 'nothing', why: `pod is ${pod.status?.phase}; a finished pod is never re-created` };
  const recorded = recordedGroupId(pod);
  if (recorded !== undefined && recordedGroupConfirmedGone) return { kind: 'mark-lost', containerGroupId: recorded };
  return { kind: 'create' };
}
