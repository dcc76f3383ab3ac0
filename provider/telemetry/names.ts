// Every span name, span event, attribute key and metric name the provider emits: one place, so the
// webhook, the pod sync, the cloud adapter, the docs (docs/telemetry.md) and dashboards spell them
// the same. Attribute keys follow the OpenTelemetry semantic conventions where one exists
// (`k8s.*` and `error.type` are stable, `cloud.*` is in the registry); the project's own keys live
// under the `eci_vn.` prefix. Only plain data here: no SDK, no exporter.
import type { V1Pod } from '@kubernetes/client-node';
import type { Attributes } from '@opentelemetry/api';

/** The instrumentation scope: `trace.getTracer(TRACER_NAME)` everywhere. */
export const TRACER_NAME = 'eci-virtual-node';

/** The default `service.name` when OTEL_SERVICE_NAME does not set one. */
export const DEFAULT_SERVICE_NAME = 'eci-virtual-node';

/** The prefix of the project's own attributes (documented in docs/telemetry.md). */
export const ATTRIBUTE_PREFIX = 'eci_vn.';

/**
 * The pod annotation that carries the W3C `traceparent` of the admission span, so the provider
 * continues the trace the webhook started (see provider/telemetry/context.ts).
 */
export const TRACE_CONTEXT_ANNOTATION = 'eci-virtual-node.io/traceparent';

/**
 * Span names. A pod's provisioning is one trace: `admission.pod` (webhook) is the root, and
 * `pod.provision` (provider) continues it; deletion is a trace of its own (`pod.delete`).
 */
export const SPAN = {
  /**
   * Root of the pod's provisioning trace: from admission to the first Running (or to a refusal
   * for good). Its ids are chosen when the trace begins (webhook, else the provider's first sync)
   * and carried on the pod; the provider records it when the provisioning ends.
   */
  podProvision: 'pod.provision',
  /** Webhook: one AdmissionReview of a pod CREATE (SERVER). Child of `pod.provision`. */
  admission: 'admission.pod',
  /** PodNetworking matching (webhook and again at sync): candidates, chosen, matching selector terms, why. */
  podNetworkingMatch: 'podnetworking.match',
  /** Webhook: the zone affinity added to the pod; sync: the node's zone checked against it. */
  zoneConstrain: 'zone.constrain',
  /** Admission (else creation) to bound to a node, as the provider's watch saw it. */
  podSchedule: 'pod.schedule',
  /** Provider: one create attempt that is recorded (network choice + CreateContainerGroup). */
  podCreate: 'pod.create',
  /** One wait episode (IPs exhausted, PodNetworking not Ready, ...): reason, retries as bounded events. */
  podWait: 'pod.wait',
  /** vSwitch choice in the node's zone: candidates with CIDR and free IPs, policy, chosen, skipped. */
  vSwitchChoose: 'vswitch.choose',
  /** Security group choice. */
  securityGroupChoose: 'securitygroup.choose',
  /** From the create to the group Running (the pod's start-up time in ECI). */
  podWaitRunning: 'pod.wait_running',
  /** One pod status patch to the apiserver while the pod is provisioned. */
  podStatusPatch: 'pod.status_patch',
  /** Root of a deletion trace: delete the group, then finish the pod's deletion. */
  podDelete: 'pod.delete',
  /** PodNetworking controller: one resolution of a PodNetworking's vSwitches (a trace of its own). */
  podNetworkingResolve: 'podnetworking.resolve',
} as const;

export type SpanName = (typeof SPAN)[keyof typeof SPAN];

/** The prefix of one span per ECI/VPC API attempt: `cloud.CreateContainerGroup`, `cloud.DescribeVSwitches`. */
export const CLOUD_SPAN_PREFIX = 'cloud.';

/** `cloud.<Action>`: the span of one cloud API call attempt. */
export function cloudSpanName(action: string): string {
  return `${CLOUD_SPAN_PREFIX}${action}`;
}

/** Span event names (errors use the standard `exception` event via span.recordException). */
export const SPAN_EVENT = {
  /** A PodNetworking that was not chosen, with the reason (`pn-web: podSelector app=web did not match`). */
  podNetworkingSkipped: 'podnetworking.skipped',
  /** A vSwitch passed over, with the reason (`vsw-b: exhausted until 12:04:10`). */
  vSwitchSkipped: 'vswitch.skipped',
  /** The cloud said a vSwitch has no free IP: it is skipped for a while. */
  vSwitchExhausted: 'vswitch.exhausted',
  /** A cloud call attempt was throttled (by our pacing or by the cloud) and will be retried. */
  cloudRetry: 'cloud.retry',
  /** On `pod.wait`: one retry of the waiting pod (at most MAX_WAIT_EVENTS per episode; `eci_vn.wait.retries` counts all). */
  waitRetry: 'pod.wait.retry',
} as const;

/**
 * Attribute keys. Semantic-convention keys first (checked against
 * @opentelemetry/semantic-conventions in test/unit/telemetry/names.test.ts), then the project's.
 */
export const ATTR = {
  // --- OpenTelemetry semantic conventions ---
  podName: 'k8s.pod.name',
  podUid: 'k8s.pod.uid',
  namespaceName: 'k8s.namespace.name',
  nodeName: 'k8s.node.name',
  /** The pod's IP (the ENI's private IP). Semantic conventions' key, not a project one. */
  podIp: 'k8s.pod.ip',
  clusterName: 'k8s.cluster.name',
  /** Always CLOUD_PROVIDER_ALIBABA_CLOUD. */
  cloudProvider: 'cloud.provider',
  cloudRegion: 'cloud.region',
  /** The zone of the pod's node / vSwitch, e.g. `cn-hangzhou-h`. */
  cloudAvailabilityZone: 'cloud.availability_zone',
  /** The class of error an operation ended with: for a cloud call, the cloud's error code (`InvalidVSwitchId.IpNotEnough`). */
  errorType: 'error.type',
  /** The HTTP status of a cloud call (always) or of the admission response. */
  httpStatusCode: 'http.response.status_code',
  httpRequestMethod: 'http.request.method',
  httpRoute: 'http.route',
  urlPath: 'url.path',
  urlScheme: 'url.scheme',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  /** RPC client conventions on cloud call spans: `rpc.system` is RPC_SYSTEM_ALIBABA_CLOUD. */
  rpcSystem: 'rpc.system',
  /** `ECI`, `VPC` or `ECS`. */
  rpcService: 'rpc.service',
  /** The OpenAPI action, e.g. `CreateContainerGroup`. */
  rpcMethod: 'rpc.method',

  // --- eci-virtual-node's own (prefix `eci_vn.`) ---
  /** The pod's generateName while it has no name yet (admission). */
  podGenerateName: 'eci_vn.pod.generate_name',
  /** The PodNetworking chosen for the pod (empty: the default network). */
  podNetworkingName: 'eci_vn.podnetworking.name',
  /** Every Ready PodNetworking considered (string[]). */
  podNetworkingCandidates: 'eci_vn.podnetworking.candidates',
  /** Others that matched as well; the oldest (then name) won (string[]). */
  podNetworkingAlsoMatched: 'eci_vn.podnetworking.also_matched',
  /** Why the choice was made (`matched podSelector app=web`, `no match: default network`). */
  podNetworkingReason: 'eci_vn.podnetworking.reason',
  /** PodNetworkings not chosen, each with the reason (`pn-web: podSelector app=web did not match`) (string[]). */
  podNetworkingSkipped: 'eci_vn.podnetworking.skipped',
  /** The status of the chosen PodNetworking at sync (`Ready`, `Fail`, `Pending`). */
  podNetworkingStatus: 'eci_vn.podnetworking.status',
  /** Zones the pod may run in (string[]). */
  zonesAllowed: 'eci_vn.zones.allowed',
  /** true when the admission added (or would add) the zone affinity. */
  zonesConstrained: 'eci_vn.zones.constrained',
  /** Sync: whether the node's zone (`cloud.availability_zone`) is among the allowed zones. */
  zoneAllowed: 'eci_vn.zones.node_zone_allowed',
  /** The PodNetworking selector terms that matched the pod (`podSelector app=web`) (string[]). */
  podNetworkingMatchedTerms: 'eci_vn.podnetworking.matched_terms',
  /** The chosen vSwitch id. */
  vSwitchId: 'eci_vn.vswitch.id',
  /** The chosen vSwitch's CIDR block: what a database whitelist must allow. */
  vSwitchCidr: 'eci_vn.vswitch.cidr',
  /** `ordered` | `random` | `most`. */
  vSwitchPolicy: 'eci_vn.vswitch.policy',
  /** Candidates in the node's zone with CIDR and free IPs (`vsw-a 10.0.1.0/24 free=120`) (string[]). */
  vSwitchCandidates: 'eci_vn.vswitch.candidates',
  /** Candidates passed over, with the reason (`vsw-b: exhausted until 12:04:10`) (string[]). */
  vSwitchSkipped: 'eci_vn.vswitch.skipped',
  /** Why the chosen one (`most free IPs (120)`). */
  vSwitchReason: 'eci_vn.vswitch.reason',
  /** Free IPs of the chosen vSwitch when it was chosen. */
  vSwitchFreeIps: 'eci_vn.vswitch.free_ips',
  securityGroupId: 'eci_vn.security_group.id',
  /** The security groups offered (string[]); only the first is used. */
  securityGroupCandidates: 'eci_vn.security_group.candidates',
  /** ECI's container group id (`eci-...`), also the `k8s.aliyun.com/eci-instance-id` annotation. */
  containerGroupId: 'eci_vn.container_group.id',
  /** The pod's ENI (`eni-...`). */
  eniId: 'eci_vn.eni.id',
  /** The pod phase a status patch writes (`Pending`, `Running`, ...). */
  podPhase: 'eci_vn.pod.phase',
  /** The API action of a cloud call (`CreateContainerGroup`). */
  cloudAction: 'eci_vn.cloud.action',
  /** The cloud's RequestId of the call (success or failure): quote it to Alibaba Cloud support. */
  cloudRequestId: 'eci_vn.cloud.request_id',
  /** The cloud's error code; the same value as `error.type`, kept for searches by the project prefix. */
  cloudErrorCode: 'eci_vn.cloud.error_code',
  /** 1 for the first attempt. */
  cloudAttempt: 'eci_vn.cloud.attempt',
  /** Time the attempt waited for its rate-limit slot, in milliseconds. */
  cloudThrottleWaitMs: 'eci_vn.cloud.throttle_wait_ms',
  /** What the sync decided: `create`, `report-status`, `delete-group`, `finish-deletion`, `mark-lost`, `nothing`, `pod-gone`. */
  syncPlan: 'eci_vn.sync.plan',
  /** `done`, `requeue`, `error`. */
  syncResult: 'eci_vn.sync.result',
  /** Why a pod waits or was refused (a condition reason: `NoVSwitchAvailable`). */
  waitReason: 'eci_vn.wait.reason',
  /** The message of the wait (the Pending condition's message). */
  waitMessage: 'eci_vn.wait.message',
  /** Retries during one wait episode (all of them; the events are capped). */
  waitRetries: 'eci_vn.wait.retries',
  /** When the provider saw the pod bound to its node (ISO 8601, ms). */
  boundAt: 'eci_vn.pod.bound_at',
  /** The admission patched the pod (false: allowed unchanged). */
  admissionPatched: 'eci_vn.admission.patched',
  /** A dry-run admission (nothing stored). */
  admissionDryRun: 'eci_vn.admission.dry_run',
} as const;

export type AttributeKey = (typeof ATTR)[keyof typeof ATTR];

/** The semantic conventions' value of `cloud.provider` for Alibaba Cloud. */
export const CLOUD_PROVIDER_ALIBABA_CLOUD = 'alibaba_cloud';

/**
 * The pod's identity as span attributes: name (or generateName at admission), UID, namespace,
 * node and IP, each only when known. Pure; cheap enough to call on every span.
 */
export function podAttributes(pod: Pick<V1Pod, 'metadata' | 'spec' | 'status'>): Attributes {
  const attributes: Attributes = {};
  const meta = pod.metadata;
  if (meta?.name) attributes[ATTR.podName] = meta.name;
  else if (meta?.generateName) attributes[ATTR.podGenerateName] = meta.generateName;
  if (meta?.uid) attributes[ATTR.podUid] = meta.uid;
  if (meta?.namespace) attributes[ATTR.namespaceName] = meta.namespace;
  if (pod.spec?.nodeName) attributes[ATTR.nodeName] = pod.spec.nodeName;
  if (pod.status?.podIP) attributes[ATTR.podIp] = pod.status.podIP;
  return attributes;
}

/**
 * `rpc.system` of cloud call spans. Alibaba Cloud's OpenAPI (RPC style: `Action=...` signed
 * requests over HTTP) has no value in the semantic conventions' list; this one follows their
 * pattern (`aws-api`, `gcp-api` style names are not in the list either, so the cloud is named).
 */
export const RPC_SYSTEM_ALIBABA_CLOUD = 'alibaba_cloud_openapi';

/** The OpenAPI product (`rpc.service`) of an action: VPC and ECS for the network reads, else ECI. */
export function cloudServiceOf(action: string): 'ECI' | 'VPC' | 'ECS' {
  if (action === 'DescribeVSwitches' || action === 'DescribeVpcs') return 'VPC';
  if (action === 'DescribeSecurityGroups') return 'ECS';
  return 'ECI';
}

/** Attributes of one cloud call attempt (the shape of adapters/alibabacloud's CallInfo), RPC/HTTP client conventions. */
export function cloudCallAttributes(call: {
  action: string;
  attempt: number;
  queuedMs: number;
  requestId?: string | undefined;
  code?: string | undefined;
  httpStatus?: number | undefined;
  serverAddress?: string | undefined;
  serverPort?: number | undefined;
}): Attributes {
  const attributes: Attributes = {
    [ATTR.cloudProvider]: CLOUD_PROVIDER_ALIBABA_CLOUD,
    [ATTR.rpcSystem]: RPC_SYSTEM_ALIBABA_CLOUD,
    [ATTR.rpcService]: cloudServiceOf(call.action),
    [ATTR.rpcMethod]: call.action,
    [ATTR.httpRequestMethod]: 'POST',
    [ATTR.cloudAction]: call.action,
    [ATTR.cloudAttempt]: call.attempt,
    [ATTR.cloudThrottleWaitMs]: Math.round(call.queuedMs),
  };
  if (call.serverAddress) attributes[ATTR.serverAddress] = call.serverAddress;
  if (call.serverPort !== undefined) attributes[ATTR.serverPort] = call.serverPort;
  if (call.requestId) attributes[ATTR.cloudRequestId] = call.requestId;
  if (call.code) {
    attributes[ATTR.errorType] = call.code;
    attributes[ATTR.cloudErrorCode] = call.code;
  }
  // Always present: a success is 200 unless the SDK said otherwise; a failure with no HTTP answer (timeout) has none.
  const status = call.httpStatus ?? (call.code === undefined ? 200 : undefined);
  if (status !== undefined) attributes[ATTR.httpStatusCode] = status;
  return attributes;
}

/** Where the provisioning step timings are recorded on the pod (JSON, epoch ms), for `explain` without a trace backend. */
export const STEP_TIMINGS_ANNOTATION = 'eci-virtual-node.io/provision-timings';

/** Epoch ms (fractional) of the steps of a pod's provisioning, as recorded on the pod. */
export interface StepTimings {
  /** Admission began (webhook), else the pod's creation. */
  admitted?: number;
  /** The provider saw the pod bound to its node. */
  bound?: number;
  /** The create attempt that succeeded began (network choice). */
  createStarted?: number;
  /** The network was chosen (PodNetworking, zone, vSwitch, security group). */
  networkChosen?: number;
  /** CreateContainerGroup answered. */
  created?: number;
  /** The first Running status was written. */
  running?: number;
  /** Time spent waiting (all wait episodes), ms. */
  waitedMs?: number;
}

/** Parses the step timings annotation; {} when absent or malformed. */
export function parseStepTimings(value: string | undefined): StepTimings {
  if (value === undefined) return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    const out: StepTimings = {};
    for (const key of ['admitted', 'bound', 'createStarted', 'networkChosen', 'created', 'running', 'waitedMs'] as const) {
      const v = (parsed as Record<string, unknown>)[key];
      if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    }
    return out;
  } catch {
    return {};
  }
}

/** Prometheus metric names (base units: seconds; counters end in `_total`). See adapters/telemetry/metrics.ts. */
export const METRIC = {
  /** Histogram by `result`: one syncPod(key) pass. */
  podSyncDuration: 'eci_vn_pod_sync_duration_seconds',
  /** Histogram: from the pod bound to a node (PodScheduled) to Running. */
  podBoundToRunning: 'eci_vn_pod_bound_to_running_seconds',
  /**
   * Histogram: one pod status write (PATCH pods/status), from the request to the apiserver's
   * answer, as the provider waits for it (its connection pool included).
   */
  podStatusWriteDuration: 'eci_vn_pod_status_write_duration_seconds',
  /** Counter by `action`, `code` (`OK` on success, else the cloud's error code). One per attempt. */
  cloudCalls: 'eci_vn_cloud_calls_total',
  /** Histogram by `action`: one attempt, after pacing. */
  cloudCallDuration: 'eci_vn_cloud_call_duration_seconds',
  /** Histogram by `action`: time an attempt waited for its rate-limit slot. */
  cloudThrottleWait: 'eci_vn_cloud_throttle_wait_seconds',
  /** Gauge: pod keys queued or being synced. */
  workqueueDepth: 'eci_vn_workqueue_depth',
  /** Gauge by `phase`: pods on this provider's nodes. */
  pods: 'eci_vn_pods',
  /** Gauge by `vswitch`, `zone`: free IPs the cloud last reported. */
  vSwitchFreeIps: 'eci_vn_vswitch_free_ips',
  /** Gauge by `podnetworking`, `status`: 1 for the current status, 0 for the others. */
  podNetworkingStatus: 'eci_vn_podnetworking_status',
  /** Gauge by `network` (`default`, `podnetworking/<name>`, `pool/<name>`): free IPs of its vSwitches, as last polled. */
  networkFreeIps: 'eci_vn_network_free_ips',
  /** Gauge by `network`: pods on virtual nodes it serves that hold (or are about to hold) an IP. */
  networkPods: 'eci_vn_network_pods',
  /** Gauge by `network`: 1 while free IPs are below the configured ratio x pods (IPHeadroom False), else 0. */
  networkIpHeadroomLow: 'eci_vn_network_ip_headroom_low',
  /** Gauge by `network`: pods whose IP is outside the network's vSwitch CIDRs (the tripwire: should stay 0). */
  networkIpDriftPods: 'eci_vn_network_ip_drift_pods',
  /** Gauge: 1 while this replica holds the Lease and runs the leader work, else 0. */
  leader: 'eci_vn_leader',
} as const;

/** The `code` label of a successful cloud call. */
export const CLOUD_CALL_OK = 'OK';

/** The `result` label of eci_vn_pod_sync_duration_seconds. */
export type PodSyncResultLabel = 'done' | 'requeue' | 'error' | 'dropped';

/** The code of the error that ends a pass a stopping work queue dropped while it waited for a lane slot (provider/pods/workqueue.ts). */
export const WORK_QUEUE_STOPPED = 'WorkQueueStopped';
