// What a virtual node's Ready condition says, and why: one pure decision.
//
// kube-controller-manager's node lifecycle controller answers a node whose Ready condition turns
// from True to anything else by marking every pod of the node not Ready (MarkPodsNotReady): every
// Service endpoint on the node drops until its kubelet repairs the pods. A kubelet that restarts
// does not do that to its node (its Ready condition follows the runtime and the network, not
// whether it has synced its pods yet), and neither does this provider:
// - the cloud cannot be reached: NotReady (CloudUnreachable), whatever the node said before;
// - still syncing (the readiness gate is closed), and the node is Ready now (an earlier run or
//   another replica posted it): it stays Ready, for a bounded time (a provider that cannot sync its
//   pods for minutes must say so). Pods bound meanwhile are safe: the pod controller holds back
//   every pod without a listed group until its start-up list is complete;
//   The gate opens once the pod caches have synced, before the start-up list of every group ends:
//   the same bound holds until that list is done (adoptionGate), or a provider that cannot list
//   its groups (a RAM policy without eci:DescribeContainerGroups, an ECI outage) would keep its
//   nodes Ready while every pod bound to them waits;
// - still syncing, and the node is new, NotReady or Unknown: NotReady (KubeletNotReady) until the
//   gate opens (the scheduler should not bind pods that nothing watches yet);
// - otherwise Ready.
import type { V1NodeCondition } from '@kubernetes/client-node';
import { NODE_REASONS } from './constants.ts';

export interface NodeReadinessInput {
  zone: string;
  cloudReachable: boolean;
  /** Why the cloud is unreachable (shown in the message). */
  lastError?: string;
  /** Why the provider cannot take the node's pods yet (the readiness gate is closed), and since how long; undefined once it can. */
  syncing?: { why: string; forMs: number };
  /** How long a Ready node is kept Ready while syncing; default KEEP_READY_WHILE_SYNCING_MS. */
  keepReadyWhileSyncingMs?: number;
  /** The node's Ready condition as the apiserver has it now; undefined for a node about to be created. */
  previous?: { status?: string };
}

export type ReadyCondition = Required<Pick<V1NodeCondition, 'type' | 'status' | 'reason' | 'message'>>;

/**
 * A restart syncs its pod caches in seconds (10,000 pods: ~10-20 s on a loaded machine); one that
 * has not after 5 minutes is stuck (RBAC, an apiserver it cannot list from), and its nodes say so.
 */
export const KEEP_READY_WHILE_SYNCING_MS = 5 * 60_000;

export function readyCondition(input: NodeReadinessInput): ReadyCondition {
  if (!input.cloudReachable) {
    return {
      type: 'Ready',
      status: 'False',
      reason: NODE_REASONS.cloudUnreachable,
      message: `the cloud API cannot be reached: ${input.lastError ?? 'unknown error'}`,
    };
  }
  const ready = `eci-virtual-node is posting ready status for zone ${input.zone}`;
  if (input.syncing === undefined) return { type: 'Ready', status: 'True', reason: NODE_REASONS.ready, message: ready };
  const { why, forMs } = input.syncing;
  if (input.previous?.status === 'True' && forMs <= (input.keepReadyWhileSyncingMs ?? KEEP_READY_WHILE_SYNCING_MS)) {
    return {
      type: 'Ready',
      status: 'True',
      reason: NODE_REASONS.ready,
      message: `${ready} (kept Ready while it syncs after a restart: ${why}; pods bound meanwhile start once it has)`,
    };
  }
  return { type: 'Ready', status: 'False', reason: NODE_REASONS.providerNotReady, message: why };
}

export interface AdoptionGateInput {
  /** The start-up list of every container group is in the index. */
  adopted: boolean;
  /**
   * Since the adoption last made progress: its start (about when the gate opened) or the last page
   * of groups it received. A long list that keeps receiving pages is not stuck.
   */
  sinceProgressMs: number;
  /** Why the last attempt to list the groups failed, if one did. */
  lastListError?: string;
  /** Pods bound meanwhile and held until the list is done. */
  podsHeld: number;
  /** Default KEEP_READY_WHILE_SYNCING_MS. */
  limitMs?: number;
}

/**
 * The readiness gate after the pod caches synced: open while the adoption makes progress, closed
 * (naming why) once it has made none for the bound a restart is kept Ready for, so the nodes turn
 * NotReady and the scheduler stops binding pods that cannot start. Progress, not elapsed time: a
 * list of 10,000 groups takes minutes on real ECI, and flipping Ready nodes in the middle of it is
 * what the keep-Ready rule exists to avoid.
 */
export function adoptionGate(i: AdoptionGateInput): true | string {
  const limitMs = i.limitMs ?? KEEP_READY_WHILE_SYNCING_MS;
  if (i.adopted || i.sinceProgressMs <= limitMs) return true;
  const error = i.lastListError === undefined ? 'still listing' : `last error: ${i.lastListError}`;
  return `eci-virtual-node has listed no container groups for ${Math.round(i.sinceProgressMs / 1_000)} s (${error}); ${i.podsHeld} pods bound meanwhile wait until it has (check the RAM policy allows eci:DescribeContainerGroups, and ECI's status)`;
}
