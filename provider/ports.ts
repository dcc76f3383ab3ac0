// Ports: the only ways provider/ reaches the outside world. adapters/ implements them; tests of
// decisions need none of them, tests of orchestration use the real adapters against the real
// control plane and the cloud simulator.
import type { ContainerGroup, SecurityGroup, VSwitch } from './cloud/model.ts';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { ResolvedInputs } from './eci/context.ts';
import type { AnyEventReason, EventReason } from './events/reasons.ts';
import type { ContainerGroupRequest } from './eci/request.ts';
import type { ContainerLogRequest, ExecRequest, GroupMetricSample } from './kubelet-api/model.ts';
import type { PodSyncResultLabel } from './telemetry/names.ts';

/**
 * Per-call options every cloud method takes last. `signal`: the work the call belongs to was
 * cancelled (the Lease was lost, the process stops): the call is not started, or stops waiting
 * for its rate-limit slot or its answer, and throws CloudError code `Aborted`. A write abandoned
 * that way may still take effect in the cloud; ClientToken and adoption make that safe.
 */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends CallOptions {
  /**
   * Each page's groups as it arrives (a group may come twice). Only a hint to start work early:
   * the returned list is the complete answer; a page seen here says nothing about absent groups.
   */
  onPage?: (groups: readonly ContainerGroup[]) => void;
}

/**
 * ECI + VPC, as the provider needs them. Every method throws `CloudError`
 * (provider/cloud/errors.ts) on failure; callers classify it with `classifyCloudError`.
 * Implementations pace calls under the per-action quotas and retry nothing themselves beyond
 * what is safe (reads); a create is retried by the pod sync under the same ClientToken.
 */
export interface CloudPort {
  /**
   * Creates a container group. Idempotent under `request.clientToken` (pod UID + body digest): a
   * repeat of the same body returns the same group id and creates nothing. May throw InvalidVSwitchId.IpNotEnough,
   * Throttling*, IdempotentParameterMismatch, InvalidParameter*, ...
   */
  createContainerGroup(request: ContainerGroupRequest, options?: CallOptions): Promise<{ containerGroupId: string }>;

  /** Full detail of the given groups (batched 20 per call). Unknown ids are simply absent. */
  describeContainerGroups(ids: readonly string[], options?: CallOptions): Promise<ContainerGroup[]>;

  /**
   * Every group carrying ALL of `tags`, across all pages. Throws if any page fails: a partial
   * list must never be mistaken for "the others are gone".
   */
  listContainerGroups(tags: Readonly<Record<string, string>>, options?: ListOptions): Promise<ContainerGroup[]>;

  /**
   * Groups carrying all of `tags` whose status changed in the last `sinceSeconds`, each with a
   * fingerprint of the status the cloud reported: the same fingerprint twice means nothing new
   * (the look-back windows of consecutive polls overlap), so the caller can skip describing it.
   */
  listChangedContainerGroups(tags: Readonly<Record<string, string>>, sinceSeconds: number, options?: CallOptions): Promise<ChangedContainerGroup[]>;

  /**
   * Asks the cloud to delete a group. May be called many times; a group that does not exist counts
   * as deleted. The group may stay listed (Terminating) while ECI stops it: only a describe that
   * no longer returns it says it is gone.
   */
  deleteContainerGroup(containerGroupId: string, options?: CallOptions): Promise<void>;

  /** The given vSwitches with live free-IP counts. Unknown ids are absent from the result. */
  describeVSwitches(ids: readonly string[], options?: CallOptions): Promise<VSwitch[]>;

  /** The given security groups (ECS DescribeSecurityGroups) with their VPCs. Unknown ids are absent. */
  describeSecurityGroups(ids: readonly string[], options?: CallOptions): Promise<SecurityGroup[]>;
}

export interface ChangedContainerGroup {
  id: string;
  fingerprint: string;
}

/** A pod as the queue knows it: the key carries the UID, so a re-created pod is another key. */
export interface PodKey {
  namespace: string;
  name: string;
  uid: string;
}

export interface PodEvent {
  type: 'Normal' | 'Warning';
  /** From provider/events/reasons.ts (users grep for it), or an ECI/cloud code via foreignReason. */
  reason: AnyEventReason;
  message: string;
}

/** Reads pods bound to our virtual nodes (an informer cache: no API call). */
export interface PodStore {
  /** The pod with that namespace/name, whatever its UID; undefined when it is gone. */
  get(namespace: string, name: string): V1Pod | undefined;
  list(): readonly V1Pod[];
}

/**
 * A read straight from the apiserver, for the one decision a lagging cache must never make:
 * deleting a container group because its pod seems gone.
 */
export interface PodLookup {
  /**
   * Whether a pod with this UID exists. `name` is the pod-name tag of its group: read by name when
   * it is the whole name, else the namespace is listed (a shortened tag is not a name).
   */
  podExists(pod: { namespace: string; name: string | undefined; uid: string }): Promise<boolean>;
}

/** Kubernetes writes the pod sync makes. Each is one API call. */
export interface PodWriter {
  /**
   * Strategic-merge patch of the status subresource (conditions merge by type). `annotations`
   * ride on the same request (pods/status takes metadata changes), so the status and what the
   * provider records on the pod are one write.
   */
  patchPodStatus(pod: PodKey, status: V1PodStatus, annotations?: Record<string, string>): Promise<void>;
  /** Merge patch of metadata.annotations (null removes a key). */
  annotatePod(pod: PodKey, annotations: Record<string, string | null>): Promise<void>;
  /**
   * Deletes the pod object now (grace 0) with a UID precondition. Gone or replaced = done. The
   * sync calls it only once the pod's group is gone or its grace period is over.
   */
  finishPodDeletion(pod: PodKey): Promise<void>;
  /**
   * Records an event on the pod. A repeat of the same type, reason and message bumps the count
   * of the Event already written (client-go's correlator). Never throws.
   */
  recordEvent(pod: PodKey, event: PodEvent): void;
}

/** ConfigMaps and Secrets a pod references, read when its group is created. */
export interface PodInputsLoader {
  load(pod: V1Pod): Promise<ResolvedInputs>;
}

/**
 * The ECI actions behind the kubelet API (`kubectl logs`, `kubectl exec`, stats), separate from
 * CloudPort so the pod sync never depends on them. Every method throws `CloudError` like
 * CloudPort (an unknown group: InvalidContainerGroupId.NotFound / InvalidParameter.NotFound; a
 * container that is not running: IncorrectStatus). Implementations share CloudPort's pacing
 * (DescribeContainerLog and ExecContainerCommand: 500/min per account; the metric: 2000/min).
 */
export interface KubeletCloudPort {
  /** DescribeContainerLog: the log text as ECI returns it (lines ending in '\n'). A read: retried. */
  describeContainerLog(request: ContainerLogRequest): Promise<string>;
  /** ExecContainerCommand (Sync=false): the WebSocket URI of the session (works once, briefly). Never retried. */
  execContainerCommand(request: ExecRequest): Promise<{ webSocketUri: string }>;
  /** DescribeContainerGroupMetric: samples oldest first (empty before the group started). A read. */
  describeContainerGroupMetric(containerGroupId: string, options?: { startTime?: string; endTime?: string; periodSeconds?: 15 | 60 | 600 | 3600 }): Promise<GroupMetricSample[]>;
}

/** A pod's network, decided at create time (a PodNetworking's or the default network). */
export type NetworkDecision =
  | { kind: 'ready'; zoneId: string; vSwitchId: string; vSwitchCidr?: string; securityGroupId: string; reason: string; podNetworking?: string; warnings?: { reason: EventReason; message: string }[] }
  | { kind: 'wait'; reason: EventReason; message: string; retryAfterMs: number }
  | { kind: 'refuse'; reason: EventReason; message: string };

/**
 * Decides a pod's network at create time (PodNetworking or the default network). `plan` makes no
 * cloud write; it may read (free IP counts) and throws on a failed read (the sync retries).
 */
export interface NetworkPlanner {
  plan(pod: V1Pod, nodeZone: string): Promise<NetworkDecision>;
  /** The cloud said this vSwitch has no free IP: skip it for a while. */
  noteExhausted(vSwitchId: string, reason: string): void;
  /** A group got an IP of this vSwitch. */
  noteAllocated(vSwitchId: string): void;
}

/** Structured logs (adapters/log implements it). Fields never hold secrets. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** What the pod sync reports to metrics (adapters/telemetry's ProviderMetrics fits). */
export interface PodSyncMetrics {
  /** A pod reached Running, `durationMs` after it was bound to its node. Called once per pod. */
  podBoundToRunning(durationMs: number, traceId?: string): void;
  /** A pod status write answered (or failed) `durationMs` after it was sent. */
  podStatusWrite(durationMs: number): void;
}

/** What the pod controller reports to metrics (adapters/telemetry's ProviderMetrics fits). */
export interface PodControllerMetrics extends PodSyncMetrics {
  /** One syncPod(key) pass. */
  podSync(record: { result: PodSyncResultLabel; durationMs: number }): void;
}
