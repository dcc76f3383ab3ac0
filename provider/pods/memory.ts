// What the pod sync remembers about a pod between passes, in ONE record per pod UID, dropped by
// ONE `forget(uid)` when the pod is gone. Everything here is a cache or a courtesy (events not
// repeated, traces continued, a refused create not resent): losing it (a restart, a new leader)
// costs at most one repeat of each, never a wrong decision. (ECI events an earlier process reported
// are not repeated: PodSync.beginSyncing. A deletion this process finished outlives this record,
// since the pod's last MODIFIED arrives after `forget`: PodSync.finishedDeletions.)
import { hash } from 'node:crypto';
import type { Context } from '@opentelemetry/api';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { TRACE_CONTEXT_ANNOTATION, type StepTimings } from '../telemetry/names.ts';
import type { ContainerGroupRequest } from '../eci/request.ts';
import { POD_ANNOTATIONS } from './annotations.ts';

export interface PodMemory {
  /** The pod's queue key (`ns/name/uid`) once the informers showed it: how a group's owner is queued. */
  queueKey?: string;
  /** ECI events already turned into Kubernetes events. */
  readonly cloudEvents: Set<string>;
  /** Since when (epoch ms) Normal ECI events wait to be folded into one Event. */
  cloudEventsHeldSince?: number;
  /** Annotations decided at create, written with the group's ENI at its first report. */
  annotations?: Record<string, string>;
  /** The status this process last patched, and when, until the cache shows it (see PodSync.alreadyWritten). */
  statusWritten?: { status: V1PodStatus; at: number };
  /** Since when (epoch ms) the annotations wait for a status patch to ride on. */
  annotationsHeldSince?: number;
  /** Annotations this process wrote (the cache may lag behind its own patch). */
  annotationsWritten?: Record<string, string>;
  /** Translation warnings (UnsupportedField, MultiplePodNetworkings) already reported. */
  warned: boolean;
  /**
   * While the pod is being provisioned: the context its provisioning spans are children of (the
   * admission span, or the provider's own root `pod.provision` span). Dropped once Running.
   */
  provisioning?: Context;
  /**
   * The group this process created and has not described yet: when its create answered (the
   * sync's clock, epoch ms), when the first look was planned (ms after that), how many times the
   * sync looked it up by id, and when last (provider/pods/start-look.ts); `noted`: what the looks showed went into the timer's estimate;
   * `inFlight`: a look is waiting for its answer.
   */
  startLook?: { createdAt: number; firstLookMs: number; looks: number; lastAt?: number; noted?: boolean; inFlight?: boolean };
  /** When this process created the pod's group (epoch ms): the start of `pod.wait_running`. */
  createdAt?: number;
  /** This process began the pod's trace (no traceparent annotation): write it on the pod at create. */
  startedTrace?: boolean;
  /** The provisioning trace's root was recorded (Running, refused, deleted): record nothing more in it. */
  traceEnded?: boolean;
  /** When this process first saw the pod bound to its node (epoch ms, high resolution). */
  boundSeenAt?: number;
  /** `pod.schedule` was recorded by this process. */
  scheduleRecorded?: boolean;
  /** Step timings this process measured (merged with the pod's annotation when written). */
  timings?: StepTimings;
  /**
   * The wait episode in progress: since when (epoch ms), why, how many retries, and the first
   * retries as `pod.wait.retry` events (at most MAX_WAIT_EVENTS). One `pod.wait` span when it ends.
   */
  wait?: { reason: string; message: string; since: number; retries: number; events: { at: number; reason: string; message: string }[] };
  /** The bound->Running time was recorded (once per pod). */
  runningRecorded: boolean;
  /**
   * The last create refused for good (terminal cloud error, non-retryable translation error):
   * under which `refusalKey`, why and when (epoch ms). The same key again means nothing changed:
   * no new attempt before REFUSAL_RECHECK_MS.
   */
  refusal?: { key: string; reason: string; at: number };
  /** When this process asked the cloud to delete the pod's group (epoch ms). */
  deleteRequestedAt?: number;
  /**
   * A create whose outcome is unknown (timeout, 5xx, lost answer): it may have made a group, so
   * the next attempt re-sends exactly this request (same body, same ClientToken) instead of a
   * fresh plan whose body, and so token, could differ. Dropped on any definite answer.
   */
  uncertainCreate?: ContainerGroupRequest;
  /** The vanished group this process already marked the pod lost for (once per group). */
  markedLost?: string;
}

/**
 * A refused create is tried again after this long even if nothing the provider sees changed:
 * some fixes happen in the cloud only (a RAM policy, a security group rule, ECI back on sale in a
 * zone). One call per pod per 10 minutes is far below any quota; the pod shows nothing new
 * unless the answer changes.
 */
export const REFUSAL_RECHECK_MS = 10 * 60_000;

export class PodMemories {
  private readonly byUid = new Map<string, PodMemory>();

  /** The pod's record, made on first use. */
  of(uid: string): PodMemory {
    let memory = this.byUid.get(uid);
    if (memory === undefined) {
      memory = { cloudEvents: new Set(), warned: false, runningRecorded: false };
      this.byUid.set(uid, memory);
    }
    return memory;
  }

  /** The pod's record if there is one (reading never makes one). */
  peek(uid: string): PodMemory | undefined {
    return this.byUid.get(uid);
  }

  /** The pod is gone: drop everything remembered about it. */
  forget(uid: string): void {
    this.byUid.delete(uid);
  }

  get size(): number {
    return this.byUid.size;
  }
}

/** Annotations the provider writes itself: a change to them is not a change of the pod. */
const PROVIDER_ANNOTATIONS: ReadonlySet<string> = new Set([
  POD_ANNOTATIONS.instanceId,
  POD_ANNOTATIONS.vSwitchId,
  POD_ANNOTATIONS.zoneId,
  POD_ANNOTATIONS.securityGroupId,
  POD_ANNOTATIONS.vSwitchReason,
  POD_ANNOTATIONS.eniId,
  TRACE_CONTEXT_ANNOTATION,
]);

/**
 * A fingerprint of what the user controls on a pod: spec, labels and annotations (the
 * provider's own annotations and everything in status left out, so writing a condition or an
 * annotation never makes the pod "changed"). Independent of resourceVersion and generation.
 */
export function podChangeFingerprint(pod: V1Pod): string {
  const annotations = Object.entries(pod.metadata?.annotations ?? {})
    .filter(([k]) => !PROVIDER_ANNOTATIONS.has(k))
    .sort(([a], [b]) => a.localeCompare(b));
  const labels = Object.entries(pod.metadata?.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return hash('sha256', JSON.stringify([pod.spec ?? null, labels, annotations]), 'base64url').slice(0, 22);
}

/**
 * The key a refused create is remembered under: the pod's fingerprint and the network the
 * attempt used. A change of either (the user edits the pod, the PodNetworking or the
 * configuration now gives another vSwitch or security group) is worth one new attempt.
 */
export function refusalKey(pod: V1Pod, network: { zoneId: string; vSwitchId: string; securityGroupId: string; podNetworking?: string | undefined }): string {
  return [podChangeFingerprint(pod), network.podNetworking ?? '', network.zoneId, network.vSwitchId, network.securityGroupId].join('|');
}
