// Cloud errors as the provider sees them: one error class built by adapters/alibabacloud, the
// error codes in one table, and one pure classification that tells the pod sync what to do.
// Codes and meanings: docs reference eci-openapi.md ("Error codes the provider must classify").

/** Error codes of ECI 2018-08-08 / VPC 2016-04-28 the provider acts on, plus our own for failures with no cloud code. */
export const CloudErrorCode = {
  // The vSwitch (or the account's ENI/IP quota) has no free IP: another vSwitch of the zone may.
  IpNotEnough: 'InvalidVSwitchId.IpNotEnough',
  PrivateIpQuotaExceeded: 'QuotaExceeded.PrivateIpAddress',
  // No capacity in the zone right now.
  NoStock: 'OperationDenied.NoStock',
  InstanceTypeNoStock: 'RecommendEmpty.InstanceTypeNoStock',
  ZoneNotOnSale: 'Zone.NotOnSale',
  // Account quotas (vCPUs, number of groups): frees up as groups are deleted.
  VcpuQuotaExceeded: 'QuotaExceeded.Vcpu',
  ContainerGroupQuotaExceeded: 'QuotaExceeded.ContainerGroup',
  // Flow control.
  Throttling: 'Throttling',
  ThrottlingUser: 'Throttling.User',
  ThrottlingApi: 'Throttling.Api',
  DegradeApi: 'Degrade.Api',
  // Bad configuration or bad request: retrying the same call cannot help.
  SecurityGroupNotFound: 'InvalidSecurityGroupId.NotFound',
  VpcMismatch: 'InvalidOperation.VpcMismatch',
  InvalidParameter: 'InvalidParameter',
  MissingParameter: 'MissingParameter',
  IdempotentParameterMismatch: 'IdempotentParameterMismatch',
  // Credentials (the simulator verifies signatures like the real endpoint).
  SignatureDoesNotMatch: 'SignatureDoesNotMatch',
  AccessKeyNotFound: 'InvalidAccessKeyId.NotFound',
  SignatureNonceUsed: 'SignatureNonceUsed',
  Forbidden: 'Forbidden.RAM',
  // The container group does not exist (any more). ECI answers an unknown id on
  // DescribeContainerGroups/DeleteContainerGroup with InvalidParameter.NotFound (what Terraform's
  // alicloud provider matches); the others are seen on other ECI/ECS actions and accepted too.
  ContainerGroupNotFound: 'InvalidParameter.NotFound',
  ContainerGroupNotFoundAlt: 'ContainerGroup.NotFound',
  InvalidContainerGroupIdNotFound: 'InvalidContainerGroupId.NotFound',
  ResourceNotFound: 'ResourceNotFound',
  // The group is in a state where the action is not allowed yet (e.g. delete while creating).
  IncorrectStatus: 'IncorrectStatus',
  OperationConflict: 'OperationConflict',
  // Transient on the cloud side.
  ServiceUnavailable: 'ServiceUnavailable',
  InternalError: 'InternalError',
  // Ours: no answer from the cloud at all.
  Network: 'Network',
  Timeout: 'Timeout',
  // Ours: the caller cancelled (lost Lease, shutdown) before the answer came.
  Aborted: 'Aborted',
  Unknown: 'Unknown',
} as const;

export type KnownCloudErrorCode = (typeof CloudErrorCode)[keyof typeof CloudErrorCode];

export interface CloudErrorInit {
  /** The OpenAPI action, e.g. CreateContainerGroup. */
  action: string;
  /** The cloud's error code (`InvalidVSwitchId.IpNotEnough`) or ours (`Network`, `Timeout`, `Unknown`). */
  code: string;
  /** The cloud's own message, without our prefix. Never contains credentials. */
  detail: string;
  requestId?: string;
  /** Absent when the cloud never answered (network error, timeout). */
  httpStatus?: number;
  /** A sanitized summary of what the SDK threw (never the SDK error itself: it can carry the signed request). */
  cause?: unknown;
}

/**
 * A failed cloud call. Built only by adapters/alibabacloud; provider/ reads it.
 * message: `CreateContainerGroup: InvalidVSwitchId.IpNotEnough: <detail> (requestId <id>)`.
 */
export class CloudError extends Error {
  readonly action: string;
  readonly code: string;
  readonly detail: string;
  readonly requestId: string | undefined;
  readonly httpStatus: number | undefined;

  constructor(init: CloudErrorInit) {
    const suffix = init.requestId === undefined || init.requestId === '' ? '' : ` (requestId ${init.requestId})`;
    super(`${init.action}: ${init.code}: ${init.detail}${suffix}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'CloudError';
    this.action = init.action;
    this.code = init.code;
    this.detail = init.detail;
    this.requestId = init.requestId;
    this.httpStatus = init.httpStatus;
  }
}

/**
 * True when `err` is a CloudError whose code is one of `codes`. A code ending in `*` matches as a
 * prefix: `errorCodeIs(err, 'InvalidParameter*')` matches `InvalidParameter.Cpu`.
 */
export function errorCodeIs(err: unknown, ...codes: readonly string[]): boolean {
  if (!(err instanceof CloudError)) return false;
  return codes.some((c) => (c.endsWith('*') ? err.code.startsWith(c.slice(0, -1)) : err.code === c));
}

/**
 * What the caller should do about a failed call:
 * - `retry`: transient (network, 5xx, no stock right now, state conflict): back off and retry the same call.
 * - `throttled`: over the API rate limit: slow down, keep the pod queued; never a pod failure.
 * - `failover-vswitch`: this vSwitch has no free IP: mark it exhausted and use another one of the zone.
 * - `terminal`: the same call will fail again: report on the pod (condition + event), do not retry in a loop.
 * - `gone`: the container group does not exist: for a delete that is success.
 */
export type CloudErrorVerdict = 'retry' | 'throttled' | 'failover-vswitch' | 'terminal' | 'gone';

export interface CloudErrorClassification {
  verdict: CloudErrorVerdict;
  /** What to do, for the pod event / log line. */
  hint: string;
}

const GONE_CODES: ReadonlySet<string> = new Set([
  CloudErrorCode.ContainerGroupNotFound,
  CloudErrorCode.ContainerGroupNotFoundAlt,
  CloudErrorCode.InvalidContainerGroupIdNotFound,
  CloudErrorCode.ResourceNotFound,
]);

const AUTH_CODES: ReadonlySet<string> = new Set([
  CloudErrorCode.SignatureDoesNotMatch,
  CloudErrorCode.AccessKeyNotFound,
  'InvalidAccessKeyId',
  'InvalidAccessKeyId.Inactive',
  CloudErrorCode.Forbidden,
  'Forbidden',
  'NoPermission',
]);

const EXACT: ReadonlyMap<string, CloudErrorClassification> = new Map([
  [CloudErrorCode.IpNotEnough, { verdict: 'failover-vswitch', hint: 'the vSwitch has no free IP: mark it exhausted and create on another vSwitch of the zone (or add a vSwitch to the zone)' }],
  [CloudErrorCode.PrivateIpQuotaExceeded, { verdict: 'failover-vswitch', hint: 'the ENI/private-IP quota is used up: try another vSwitch; raise the quota if it persists' }],
  [CloudErrorCode.NoStock, { verdict: 'retry', hint: 'no ECI capacity in the zone right now: retry with backoff; a pod allowed in other zones can be rescheduled there' }],
  [CloudErrorCode.InstanceTypeNoStock, { verdict: 'retry', hint: 'the requested instance type is out of stock: retry with backoff, or list more specs in k8s.aliyun.com/eci-use-specs' }],
  [CloudErrorCode.VcpuQuotaExceeded, { verdict: 'retry', hint: "the account's ECI vCPU quota is used up: retry with backoff; raise the quota if it persists" }],
  [CloudErrorCode.ContainerGroupQuotaExceeded, { verdict: 'retry', hint: "the account's container group quota is used up: retry with backoff; raise the quota if it persists" }],
  [CloudErrorCode.ZoneNotOnSale, { verdict: 'terminal', hint: 'ECI is not sold in this zone: remove its vSwitches from the configuration or PodNetworking' }],
  [CloudErrorCode.SecurityGroupNotFound, { verdict: 'terminal', hint: 'the security group does not exist: fix defaultNetwork.securityGroupId or the PodNetworking' }],
  [CloudErrorCode.VpcMismatch, { verdict: 'terminal', hint: 'the security group and the vSwitch are in different VPCs: fix the configuration or the PodNetworking' }],
  [CloudErrorCode.IdempotentParameterMismatch, { verdict: 'terminal', hint: 'a create with this pod UID as ClientToken was already sent with other parameters: never resend a changed body under one token; delete and re-create the pod' }],
  [CloudErrorCode.SignatureNonceUsed, { verdict: 'retry', hint: 'signature nonce reused: retry (a new nonce is drawn per call)' }],
  [CloudErrorCode.IncorrectStatus, { verdict: 'retry', hint: 'the container group is in a state that does not allow this action yet: retry later' }],
  [CloudErrorCode.OperationConflict, { verdict: 'retry', hint: 'conflicts with a request in progress: retry later' }],
  [CloudErrorCode.Network, { verdict: 'retry', hint: 'the cloud endpoint did not answer: retry with backoff; check cloud.eciEndpoint and the network if it persists' }],
  [CloudErrorCode.Timeout, { verdict: 'retry', hint: 'the call timed out: retry with backoff (a create is safe to resend under the same ClientToken)' }],
]);

/** Pure: how to react to any error thrown by a CloudPort method (non-CloudErrors count as transient). */
export function classifyCloudError(err: unknown): CloudErrorClassification {
  if (!(err instanceof CloudError)) {
    return { verdict: 'retry', hint: 'unexpected error without a cloud error code: retry with backoff' };
  }
  const { code, httpStatus } = err;
  const exact = EXACT.get(code);
  if (exact !== undefined) return exact;
  if (GONE_CODES.has(code)) return { verdict: 'gone', hint: 'the container group does not exist: for a delete this is done' };
  if (code.startsWith('Throttling') || code === CloudErrorCode.DegradeApi || httpStatus === 429) {
    return { verdict: 'throttled', hint: 'over the ECI API rate limit: back off and keep the pod queued; lower cloud.rateLimits if this is frequent' };
  }
  if (AUTH_CODES.has(code)) {
    return { verdict: 'terminal', hint: 'the AccessKey is wrong or lacks permission: fix the credentials or the RAM policy (every pod is affected)' };
  }
  if (code.startsWith('InvalidParameter') || code.startsWith('MissingParameter')) {
    return { verdict: 'terminal', hint: 'ECI rejected a parameter: the pod spec (or a translation bug) asks for something ECI refuses; see the message for the field' };
  }
  if (code === CloudErrorCode.ServiceUnavailable || code === CloudErrorCode.InternalError || code.startsWith('InternalError')) {
    return { verdict: 'retry', hint: 'the cloud had a transient failure: retry with backoff' };
  }
  if (httpStatus === undefined) return { verdict: 'retry', hint: 'no answer from the cloud: retry with backoff' };
  if (httpStatus >= 500) return { verdict: 'retry', hint: `the cloud answered ${httpStatus}: retry with backoff` };
  if (httpStatus >= 400) return { verdict: 'terminal', hint: `the cloud refused the call (${httpStatus} ${code}): fix the cause named in the message` };
  return { verdict: 'retry', hint: 'unexpected answer: retry with backoff' };
}
