import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../provider/cloud/errors.ts';
import { TRACER_NAME } from '../../provider/telemetry/names.ts';
import { startTracing } from '../telemetry/tracing.ts';
import { CloudCaller, type CallInfo } from './call.ts';
import { toCloudError } from './errors.ts';

const SECRET = 'super-secret-access-key-value';

/** What @alicloud/openapi-client throws for an error answer. */
function sdkResponseError(code: string, statusCode: number, message = 'nope'): Error {
  const e = new Error(`${code}: code: ${statusCode}, ${message} request id: RID-1`) as Error & { code: string; statusCode: number; data: unknown };
  e.code = code;
  e.statusCode = statusCode;
  e.data = { RequestId: 'RID-1', HostId: 'eci.cn-hangzhou.aliyuncs.com', Code: code, Message: message, statusCode };
  return e;
}

function caller(o: { onCall?: (c: CallInfo) => void; timeoutMs?: number; rateLimits?: Record<string, { perSecond: number; burst: number }> } = {}) {
  const sleeps: number[] = [];
  const c = new CloudCaller({
    timeoutMs: o.timeoutMs ?? 1_000,
    secrets: [SECRET],
    readRetry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...(o.onCall ? { onCall: o.onCall } : {}),
    ...(o.rateLimits ? { rateLimits: o.rateLimits } : {}),
  });
  return { c, sleeps };
}

describe('CloudCaller', () => {
  it('an aborted signal stops a call before it starts, and stops waiting for an answer (code Aborted, no retry)', async () => {
    const { c } = caller();
    const before = new AbortController();
    before.abort();
    let started = 0;
    await expect(c.call('CreateContainerGroup', 'write', async () => (started++, { body: {} }), before.signal)).rejects.toMatchObject({ code: 'Aborted' });
    expect(started).toBe(0);

    const during = new AbortController();
    let answer: (v: { body: object }) => void = () => {};
    const pending = c.call('DescribeContainerGroups', 'read', () => (started++, new Promise<{ body: object }>((r) => (answer = r))), during.signal);
    await new Promise((r) => setTimeout(r, 10));
    expect(started).toBe(1);
    during.abort();
    await expect(pending).rejects.toMatchObject({ code: 'Aborted', action: 'DescribeContainerGroups' });
    expect(started).toBe(1); // a read that was aborted is not retried
    answer({ body: {} });
  });

  it('an abort wakes a call waiting for its rate-limit slot (a create on the token bucket, a read on its queue); it is never sent', async () => {
    const { c } = caller({ rateLimits: { CreateContainerGroup: { perSecond: 0.1, burst: 1 }, DescribeContainerGroups: { perSecond: 0.1, burst: 1 } } });
    for (const [action, kind] of [['CreateContainerGroup', 'write'], ['DescribeContainerGroups', 'read']] as const) {
      let sent = 0;
      const send = async () => (sent++, { body: {} });
      await c.call(action, kind, send);
      // The next slot is 10 s away: the Lease is lost meanwhile.
      const lease = new AbortController();
      const waiting = c.call(action, kind, send, lease.signal);
      const started = performance.now();
      setTimeout(() => lease.abort(), 20);
      await expect(waiting).rejects.toMatchObject({ code: 'Aborted', action });
      expect(performance.now() - started, `${action} woken by the abort`).toBeLessThan(2_000);
      expect(sent, `${action} sent after the abort`).toBe(1);
    }
  });

  it('retries a read on a transient error with growing jittered delays, then succeeds', async () => {
    const infos: CallInfo[] = [];
    const { c, sleeps } = caller({ onCall: (i) => infos.push(i) });
    let n = 0;
    const result = await c.call('DescribeContainerGroups', 'read', async () => {
      n++;
      if (n < 3) throw sdkResponseError(n === 1 ? 'ServiceUnavailable' : 'Throttling.User', n === 1 ? 503 : 400);
      return { body: { requestId: 'RID-ok' } };
    });
    expect(result.body.requestId).toBe('RID-ok');
    expect(n).toBe(3);
    expect(sleeps).toEqual([75, 150]);
    expect(infos.map((i) => [i.attempt, i.code ?? 'ok', i.requestId])).toEqual([
      [1, 'ServiceUnavailable', 'RID-1'],
      [2, 'Throttling.User', 'RID-1'],
      [3, 'ok', 'RID-ok'],
    ]);
  });

  it('gives up on a read after the configured attempts', async () => {
    const { c } = caller();
    let n = 0;
    await expect(
      c.call('DescribeVSwitches', 'read', async () => {
        n++;
        throw sdkResponseError('InternalError', 500);
      }),
    ).rejects.toMatchObject({ code: 'InternalError', httpStatus: 500, requestId: 'RID-1' });
    expect(n).toBe(3);
  });

  it('never retries a write, nor a read that failed for good', async () => {
    const { c } = caller();
    let writes = 0;
    await expect(
      c.call('CreateContainerGroup', 'write', async () => {
        writes++;
        throw sdkResponseError('ServiceUnavailable', 503);
      }),
    ).rejects.toBeInstanceOf(CloudError);
    expect(writes).toBe(1);
    let reads = 0;
    await expect(
      c.call('DescribeContainerGroups', 'read', async () => {
        reads++;
        throw sdkResponseError('InvalidParameter', 400);
      }),
    ).rejects.toMatchObject({ code: 'InvalidParameter' });
    expect(reads).toBe(1);
  });

  it('times out a call that never answers', async () => {
    const { c } = caller({ timeoutMs: 20 });
    await expect(c.call('DeleteContainerGroup', 'write', () => new Promise(() => {}))).rejects.toMatchObject({ code: 'Timeout', action: 'DeleteContainerGroup' });
  });

  it('paces each action under its own budget (sliding window)', async () => {
    const { c } = caller({ rateLimits: { DescribeContainerGroups: { perSecond: 10, burst: 2 } } });
    const starts: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 3 }, () =>
        c.call('DescribeContainerGroups', 'read', async () => {
          starts.push(performance.now() - t0);
        }),
      ),
    );
    // The other action is not held back by DescribeContainerGroups' window.
    const other = performance.now();
    await c.call('DescribeVSwitches', 'read', async () => undefined);
    expect(performance.now() - other).toBeLessThan(100);
    starts.sort((a, b) => a - b);
    expect(starts[1]!).toBeLessThan(100);
    // burst 2 per 2/10 s: the third start waits for the window to slide.
    expect(starts[2]!).toBeGreaterThanOrEqual(180);
  });

  it('paces creates like ECI does, a token bucket: the burst at once, then each call as soon as a token is back', async () => {
    const { c } = caller({ rateLimits: { CreateContainerGroup: { perSecond: 10, burst: 2 } } });
    const create = (starts: number[], t0: number) => c.call('CreateContainerGroup', 'write', async () => void starts.push(performance.now() - t0));
    // One create, then a pause that refills the bucket.
    await create([], performance.now());
    await new Promise((r) => setTimeout(r, 250));
    const starts: number[] = [];
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => create(starts, t0)));
    starts.sort((a, b) => a - b);
    // Two at once (the refilled burst), then one per 100 ms. A window of 2 per 200 ms would have
    // held the third until the pair's window slid (200 ms).
    expect(starts[1]!).toBeLessThan(80);
    expect(starts[2]!).toBeGreaterThanOrEqual(95);
    expect(starts[2]!).toBeLessThan(190);
    expect(starts[3]!).toBeGreaterThanOrEqual(195);
  });
});

describe('toCloudError', () => {
  it('maps an error answer to code, status, request id and the cloud message', () => {
    const e = toCloudError('CreateContainerGroup', sdkResponseError('InvalidVSwitchId.IpNotEnough', 403, 'The specified VSwitch has not enough IpAddress.'), [SECRET]);
    expect(e).toMatchObject({ action: 'CreateContainerGroup', code: 'InvalidVSwitchId.IpNotEnough', httpStatus: 403, requestId: 'RID-1' });
    expect(e.message).toBe('CreateContainerGroup: InvalidVSwitchId.IpNotEnough: The specified VSwitch has not enough IpAddress. (requestId RID-1)');
  });

  it('maps openapi-core errors (VPC) that carry requestId on the error', () => {
    const e = Object.assign(new Error('x'), { name: 'ThrottlingError', code: 'Throttling.User', statusCode: 400, requestId: 'RID-9', data: { Code: 'Throttling.User', Message: 'slow down' } });
    expect(toCloudError('DescribeVSwitches', e, [])).toMatchObject({ code: 'Throttling.User', httpStatus: 400, requestId: 'RID-9', detail: 'slow down' });
  });

  it('maps socket errors to Network and timeouts to Timeout, without the request in the message', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 1 });
    expect(toCloudError('DescribeContainerGroups', refused, [])).toMatchObject({ code: 'Network', detail: 'connect ECONNREFUSED 127.0.0.1:1' });
    const timeout = Object.assign(new Error(`ReadTimeout: 15000. POST /?Container.1.EnvironmentVar.1.Value=${SECRET} failed.`), { name: 'RequestTimeoutError' });
    const mapped = toCloudError('CreateContainerGroup', timeout, []);
    expect(mapped.code).toBe('Timeout');
    expect(JSON.stringify({ m: mapped.message, c: mapped.cause })).not.toContain(SECRET);
  });

  it('scrubs the AccessKey secret from anything the cloud or the SDK said', () => {
    const e = toCloudError('CreateContainerGroup', sdkResponseError('SignatureDoesNotMatch', 400, `expected signature for key ${SECRET}`), [SECRET]);
    expect(e.message).not.toContain(SECRET);
    expect(e.message).toContain('<redacted>');
    const plain = toCloudError('CreateContainerGroup', new Error(`credentials ${SECRET} rejected`), [SECRET]);
    expect(plain.code).toBe('Unknown');
    expect(JSON.stringify({ m: plain.message, c: plain.cause, s: plain.stack })).not.toContain(SECRET);
  });

  it('keeps no reference to the SDK error (it can hold the signed request)', () => {
    const sdk = sdkResponseError('InternalError', 500);
    const e = toCloudError('CreateContainerGroup', sdk, []);
    expect(e.cause).not.toBe(sdk);
    expect(e.cause).toEqual({ name: 'Error', code: 'InternalError', statusCode: 500 });
  });

  it('records each attempt as a child of the span active when call() was entered, even when p-queue runs it later', async () => {
    const seen: ReadableSpan[] = [];
    const exporter: SpanExporter = {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) => {
        seen.push(...spans);
        done({ code: 0 });
      },
      shutdown: async () => {},
    };
    const tracing = await startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_BSP_SCHEDULE_DELAY: '10' }, createExporter: () => exporter });
    try {
      // One call per 100 ms: B's attempt waits in the queue and is started later by a timer. (p-queue
      // 10 itself runs a task in its add() context; call() captures the context anyway.)
      const { c } = caller({ rateLimits: { CreateContainerGroup: { perSecond: 10, burst: 1 } } });
      const tracer = trace.getTracer(TRACER_NAME);
      const a = tracer.startSpan('pod A', {}, ROOT_CONTEXT);
      const b = tracer.startSpan('pod B', {}, ROOT_CONTEXT);
      const call = (parent: typeof a) => context.with(trace.setSpan(ROOT_CONTEXT, parent), () => c.call('CreateContainerGroup', 'write', async () => ({ body: { requestId: `RID-${parent === a ? 'a' : 'b'}` } })));
      await Promise.all([call(a), call(b)]);
      // Outside any span: metrics only, no span.
      await c.call('CreateContainerGroup', 'write', async () => ({ body: { requestId: 'RID-none' } }));
      a.end();
      b.end();
      await tracing.forceFlush();
      const calls = seen.filter((s) => s.name === 'cloud.CreateContainerGroup');
      expect(calls.map((s) => [s.attributes['eci_vn.cloud.request_id'], s.parentSpanContext?.spanId])).toEqual([
        ['RID-a', a.spanContext().spanId],
        ['RID-b', b.spanContext().spanId],
      ]);
      expect(calls[1]!.attributes['eci_vn.cloud.throttle_wait_ms']).toBeGreaterThan(0);
    } finally {
      await tracing.shutdown();
    }
  });
});
