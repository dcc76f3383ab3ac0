// Errors the simulator answers with, in Alibaba Cloud's shape: HTTP status + JSON
// `{ RequestId, HostId, Code, Message, Recommend }`. One table of codes, so a code and its HTTP
// status are decided in one place (see docs/cloudsim.md, "Error codes").

export class SimError extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra response headers (e.g. `x-acs-retry-after` on throttling). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'SimError';
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

/** Codes with their HTTP status. Where Alibaba documents the pair, it is used as documented. */
export const errorStatus = {
  MissingParameter: 400,
  InvalidParameter: 400,
  IncompleteSignature: 400,
  SignatureDoesNotMatch: 400,
  SignatureNonceUsed: 400,
  'InvalidTimeStamp.Expired': 400,
  'InvalidAccessKeyId.NotFound': 404,
  'InvalidAction.NotFound': 404,
  InvalidVersion: 400,
  'InvalidRegionId.NotFound': 404,
  'Throttling.User': 400,
  'Throttling.Api': 400,
  Throttling: 400,
  'Degrade.Api': 400,
  IdempotentParameterMismatch: 400,
  'InvalidVSwitchId.NotFound': 404,
  'InvalidSecurityGroupId.NotFound': 404,
  'InvalidOperation.VpcMismatch': 400,
  'InvalidVSwitchId.IpNotEnough': 403,
  'OperationDenied.NoStock': 403,
  'QuotaExceeded.ContainerGroup': 403,
  'QuotaExceeded.Vcpu': 403,
  'InvalidContainerGroupId.NotFound': 404,
  IncorrectStatus: 400,
  OperationConflict: 400,
  ServiceUnavailable: 503,
  InternalError: 500,
} as const satisfies Record<string, number>;

export type KnownCode = keyof typeof errorStatus;

export function simError(code: KnownCode, message: string): SimError {
  return new SimError(code, errorStatus[code], message);
}

export function missing(param: string): SimError {
  return simError('MissingParameter', `The input parameter "${param}" that is mandatory for processing this request is not supplied.`);
}

export function invalid(param: string, why?: string): SimError {
  return simError('InvalidParameter', `The specified parameter "${param}" is not valid${why === undefined ? '.' : `: ${why}`}`);
}

export interface ErrorBody {
  RequestId: string;
  HostId: string;
  Code: string;
  Message: string;
  Recommend: string;
}

export function errorBody(err: SimError, requestId: string, hostId: string): ErrorBody {
  return {
    RequestId: requestId,
    HostId: hostId,
    Code: err.code,
    Message: err.message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&requestId=${requestId}`,
  };
}
