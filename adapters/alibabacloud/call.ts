// The ONE decorator every ECI/VPC call goes through: per-action pacing (ECI's token bucket for
// create/delete, a p-queue sliding window for the rest), a timeout, SDK error -> CloudError,
// bounded jittered retries for reads only, an `onCall` hook per attempt for metrics, and a
// `cloud.<Action>` span per attempt: a child of the span active when `call` was entered (captured
// there and passed down explicitly, so the parent never depends on which async context the queue
// starts a task in). Calls made outside any span
// (status polls, relists) are not traced: they would be a trace every poll; metrics count them.
import { context, trace, type Context } from '@opentelemetry/api';
import PQueue from 'p-queue';
import { classifyCloudError, CloudError, CloudErrorCode } from '../../provider/cloud/errors.ts';
import { backoffDelay } from '../../provider/runtime/backoff.ts';
import { systemClock } from '../../provider/runtime/clock.ts';
import { TokenBucket } from '../../provider/runtime/tokenbucket.ts';
import { cloudServiceOf } from '../../provider/telemetry/names.ts';
import { recordCloudCallSpan } from '../telemetry/tracing.ts';
import { toCloudError } from './errors.ts';

/** A per-action budget for the whole account: at most `burst` calls in any `burst / perSecond` seconds. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * ECI's documented per-account, per-region quotas (eci-openapi.md): create/delete burst 100 at
 * 20/s, DescribeContainerGroups 2000/min, DescribeContainerGroupStatus 10000/min. VPC and ECS
 * publish no figure for DescribeVSwitches and DescribeSecurityGroups; 10/s is far below any observed limit.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, RateLimit>> = {
  CreateContainerGroup: { perSecond: 20, burst: 100 },
  DeleteContainerGroup: { perSecond: 20, burst: 100 },
  DescribeContainerGroups: { perSecond: 33, burst: 33 },
  DescribeContainerGroupStatus: { perSecond: 166, burst: 166 },
  DescribeVSwitches: { perSecond: 10, burst: 10 },
  DescribeSecurityGroups: { perSecond: 10, burst: 10 },
};

/**
 * Actions ECI meters with a token bucket (burst, refilled at perSecond: eci-openapi.md): paced by
 * the same bucket, so a burst is spent at once and afterwards a call goes the moment a token is
 * back. A sliding window would allow at most `burst` calls in any burst/perSecond seconds, which
 * after a slow start (pods still being scheduled) lets through up to a burst less than ECI would.
 */
export const TOKEN_BUCKET_ACTIONS: ReadonlySet<string> = new Set(['CreateContainerGroup', 'DeleteContainerGroup']);

/** Used for an action with no entry in the table. */
export const FALLBACK_RATE_LIMIT: RateLimit = { perSecond: 10, burst: 10 };

/** One attempt of one cloud call, for metrics and traces. */
export interface CallInfo {
  action: string;
  /** Time from the start of the attempt (after pacing) to its end. */
  durationMs: number;
  /** Time the attempt waited for its rate-limit slot. */
  queuedMs: number;
  /** 1 for the first attempt. */
  attempt: number;
  /** Set when the attempt failed. */
  code?: string;
  httpStatus?: number;
  requestId?: string;
  /** The API endpoint's host and port (server.address / server.port of the span). */
  serverAddress?: string;
  serverPort?: number;
  /** The sampled trace the call belongs to (the metrics' exemplar). */
  traceId?: string;
}

/** An API endpoint as `host[:port]` (the SDK's `endpoint`) and the protocol it is spoken with. */
export interface CloudEndpoint {
  endpoint: string;
  protocol: string;
}

/** server.address / server.port of an endpoint (`eci.cn-hangzhou.aliyuncs.com` -> 443 over https). */
export function serverOf(e: CloudEndpoint): { serverAddress: string; serverPort: number } {
  const match = /^(?:[a-z]+:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/i.exec(e.endpoint.trim());
  const address = match?.[1] ?? e.endpoint;
  const port = match?.[2] !== undefined ? Number(match[2]) : e.protocol === 'http' ? 80 : 443;
  return { serverAddress: address, serverPort: port };
}

export interface RetryPolicy {
  /** Total attempts of a read (1 = no retry). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_READ_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2_000 };

export interface CloudCallerOptions {
  rateLimits?: Readonly<Record<string, RateLimit>>;
  /** Per attempt. */
  timeoutMs: number;
  readRetry?: RetryPolicy;
  /** Strings that must never appear in an error (the AccessKey secret). */
  secrets: readonly string[];
  onCall?: (info: CallInfo) => void;
  /** The endpoint of each OpenAPI product (ECI, VPC, ECS), for the spans' server.address/port. */
  endpoints?: Partial<Record<'ECI' | 'VPC' | 'ECS', CloudEndpoint>>;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export type CallKind = 'read' | 'write';

/**
 * Paces, times out, maps and (for reads) retries cloud calls. Create ONE per process and share it
 * (all virtual nodes use the same account quotas).
 */
export class CloudCaller {
  private readonly queues = new Map<string, PQueue>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly limits: Readonly<Record<string, RateLimit>>;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly options: CloudCallerOptions;

  constructor(options: CloudCallerOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
    this.retry = options.readRetry ?? DEFAULT_READ_RETRY;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Runs `fn` as `action`. Reads are retried on transient errors; writes never are. Throws
   * CloudError. An aborted `signal` stops it before it starts, while it waits for its rate-limit
   * slot or a retry, and stops waiting for the answer (code Aborted): the SDK cannot cancel a
   * request on the wire, so a write may still land; ClientToken makes its repeat harmless.
   */
  async call<T>(action: string, kind: CallKind, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const attempts = kind === 'read' ? Math.max(1, this.retry.attempts) : 1;
    const parent = context.active();
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(action, signal);
      try {
        return await this.attempt(action, attempt, fn, parent, signal);
      } catch (err) {
        const cloudError = err as CloudError;
        if (cloudError.code === CloudErrorCode.Aborted) throw cloudError;
        const { verdict } = classifyCloudError(cloudError);
        if (attempt >= attempts || (verdict !== 'retry' && verdict !== 'throttled')) throw cloudError;
        await this.sleep(backoffDelay(attempt, { baseMs: this.retry.baseDelayMs, maxMs: this.retry.maxDelayMs }, this.random));
      }
    }
  }

  private async attempt<T>(action: string, attempt: number, fn: () => Promise<T>, parent: Context, signal: AbortSignal | undefined): Promise<T> {
    const enqueued = this.now();
    const bucket = this.bucketFor(action);
    if (bucket !== undefined) {
      // A lost Lease or shutdown wakes a create waiting for its token; it is then never sent.
      if (!(await bucket.take(signal))) throw abortedError(action);
      return this.paced(action, attempt, fn, parent, signal, enqueued);
    }
    try {
      return await this.queueFor(action).add(() => this.paced(action, attempt, fn, parent, signal, enqueued), signal === undefined ? {} : { signal });
    } catch (err) {
      // p-queue drops a task whose signal aborted while it waited, rejecting with the signal's reason.
      if (signal?.aborted === true && !(err instanceof CloudError)) throw abortedError(action);
      throw err;
    }
  }

  /** One attempt once its rate-limit slot came. */
  private async paced<T>(action: string, attempt: number, fn: () => Promise<T>, parent: Context, signal: AbortSignal | undefined, enqueued: number): Promise<T> {
    // The slot came after the work was cancelled: leave it unused.
    throwIfAborted(action, signal);
    const started = this.now();
    const queuedMs = started - enqueued;
    try {
      const result = await this.withTimeout(action, fn, signal);
      const requestId = requestIdOf(result);
      const httpStatus = statusCodeOf(result);
      this.report({ action, attempt, queuedMs, durationMs: this.now() - started, ...(requestId === undefined ? {} : { requestId }), ...(httpStatus === undefined ? {} : { httpStatus }) }, parent);
      return result;
    } catch (err) {
      const cloudError = toCloudError(action, err, this.options.secrets);
      this.report(
        {
          action,
          attempt,
          queuedMs,
          durationMs: this.now() - started,
          code: cloudError.code,
          ...(cloudError.httpStatus === undefined ? {} : { httpStatus: cloudError.httpStatus }),
          ...(cloudError.requestId === undefined ? {} : { requestId: cloudError.requestId }),
        },
        parent,
      );
      throw cloudError;
    }
  }

  /** Metrics hook and span of one attempt. Neither may fail the call. */
  private report(info: CallInfo, parent: Context): void {
    try {
      const endpoint = this.options.endpoints?.[cloudServiceOf(info.action)];
      if (endpoint !== undefined) Object.assign(info, serverOf(endpoint));
      const spanContext = trace.getSpan(parent)?.spanContext();
      if (spanContext !== undefined && (spanContext.traceFlags & 1) === 1) info.traceId = spanContext.traceId;
      this.options.onCall?.(info);
      if (trace.getSpan(parent) !== undefined) recordCloudCallSpan(info, parent);
    } catch {
      // Telemetry never breaks a cloud call.
    }
  }

  private withTimeout<T>(action: string, fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const { timeoutMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CloudError({ action, code: CloudErrorCode.Timeout, detail: `no answer within ${timeoutMs} ms` })),
        timeoutMs,
      );
      if (signal !== undefined) {
        onAbort = () => reject(abortedError(action));
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    return Promise.race([fn(), timeout]).finally(() => {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    });
  }

  private bucketFor(action: string): TokenBucket | undefined {
    if (!TOKEN_BUCKET_ACTIONS.has(action)) return undefined;
    let bucket = this.buckets.get(action);
    if (bucket === undefined) {
      const limit = this.limits[action] ?? FALLBACK_RATE_LIMIT;
      bucket = new TokenBucket({ qps: limit.perSecond, burst: limit.burst, clock: { now: () => this.now(), sleep: (ms, signal) => systemClock.sleep(ms, signal) } });
      this.buckets.set(action, bucket);
    }
    return bucket;
  }

  private queueFor(action: string): PQueue {
    let queue = this.queues.get(action);
    if (queue === undefined) {
      const limit = this.limits[action] ?? FALLBACK_RATE_LIMIT;
      const burst = Math.max(1, Math.floor(limit.burst));
      // Sliding window: never more than `burst` starts in any burst/perSecond seconds. Stricter than
      // ECI's token bucket (which refills while a burst is spent), never looser.
      queue = new PQueue({ intervalCap: burst, interval: Math.max(1, Math.ceil((burst / limit.perSecond) * 1000)), strict: true });
      this.queues.set(action, queue);
    }
    return queue;
  }
}

function abortedError(action: string): CloudError {
  return new CloudError({ action, code: CloudErrorCode.Aborted, detail: 'cancelled: the work this call belonged to stopped (Lease lost or shutting down)' });
}

function throwIfAborted(action: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(action);
}

function statusCodeOf(result: unknown): number | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const code = (result as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

function requestIdOf(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const body = (result as { body?: { requestId?: unknown } }).body;
  return typeof body?.requestId === 'string' ? body.requestId : undefined;
}
