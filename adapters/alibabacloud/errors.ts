// SDK error -> CloudError. What the SDKs throw (checked in their sources):
// - an error answer (4xx/5xx JSON): @alicloud/openapi-client throws a ResponseError with `code`,
//   `statusCode` (from data.statusCode) and `data` = the JSON body ({ RequestId, Code, Message, ...});
//   @alicloud/openapi-core (VPC) throws ClientError/ServerError/ThrottlingError with `code`,
//   `statusCode`, `requestId`, `data`.
// - no answer: Node socket errors (`code` = ECONNREFUSED, ...) or httpx timeouts (name
//   `RequestTimeoutError`); their message can hold the request path, i.e. the full signed query
//   string with every parameter (Secret env values, registry passwords), so it is never copied.
// The SDK error itself is never kept as `cause` (it can reference the signed request); only a
// summary of scalar fields is, and every configured secret is scrubbed from every string.
import { CloudError, CloudErrorCode } from '../../provider/cloud/errors.ts';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  requestId?: unknown;
  message?: unknown;
  data?: unknown;
  syscall?: unknown;
  address?: unknown;
  port?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' && v !== 'undefined' ? v : undefined);

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('<redacted>');
  return out;
}

/** Maps anything a SDK call threw to a CloudError with no secret in it. */
export function toCloudError(action: string, err: unknown, secrets: readonly string[]): CloudError {
  if (err instanceof CloudError) return err;
  const e: SdkErrorShape = typeof err === 'object' && err !== null ? err : { message: String(err) };
  const data = typeof e.data === 'object' && e.data !== null ? (e.data as Record<string, unknown>) : {};
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof data.statusCode === 'number' ? data.statusCode : undefined;
  const cloudCode = str(data.Code) ?? str(data.code) ?? str(e.code);

  if (status !== undefined && cloudCode !== undefined) {
    // The cloud answered with an error document.
    const requestId = str(data.RequestId) ?? str(data.requestId) ?? str(e.requestId);
    const detail = str(data.Message) ?? str(data.message) ?? `HTTP ${status}`;
    return new CloudError({
      action,
      code: scrub(cloudCode, secrets),
      detail: scrub(detail, secrets),
      httpStatus: status,
      ...(requestId === undefined ? {} : { requestId }),
      cause: { name: str(e.name) ?? 'Error', code: cloudCode, statusCode: status },
    });
  }

  const name = str(e.name) ?? 'Error';
  const sysCode = str(e.code);
  if (/timeout/i.test(name) || sysCode === 'ETIMEDOUT' || sysCode === 'ESOCKETTIMEDOUT') {
    return new CloudError({ action, code: CloudErrorCode.Timeout, detail: `${name}: the endpoint did not answer in time`, cause: { name, code: sysCode } });
  }
  if (sysCode !== undefined && NETWORK_CODES.has(sysCode)) {
    const where = str(e.address) === undefined ? '' : ` ${String(e.address)}${typeof e.port === 'number' ? `:${e.port}` : ''}`;
    return new CloudError({
      action,
      code: CloudErrorCode.Network,
      detail: `${str(e.syscall) ?? 'request'} ${sysCode}${where}`,
      cause: { name, code: sysCode },
    });
  }
  // A client-side SDK error (validation, credentials provider, ...) or anything else. Its message
  // is SDK text, not the request; still scrubbed and cut short.
  const message = scrub(str(e.message) ?? 'unknown error', secrets).slice(0, 500);
  return new CloudError({
    action,
    code: sysCode === undefined ? CloudErrorCode.Unknown : scrub(sysCode, secrets),
    detail: `${name}: ${message}`,
    cause: { name, code: sysCode },
  });
}
