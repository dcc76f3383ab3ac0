import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { extractTraceContext, injectTraceContext } from '../../provider/telemetry/context.ts';
import { nowMs, withSpanIds } from '../../provider/telemetry/ids.ts';
import { ATTR, cloudCallAttributes, cloudSpanName, podAttributes, SPAN, TRACER_NAME } from '../../provider/telemetry/names.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../test/helpers/otlp-receiver.ts';
import { LaneClosedError } from '../../provider/pods/workqueue.ts';
import { inSpan } from '../../provider/telemetry/spans.ts';
import { isSecretAttributeKey, readTracingConfig, recordCloudCallSpan, redactAttributes, REDACTED, startTracing, type Tracing } from './tracing.ts';

const FAKE_SECRET = 'FakeAccessKeySecret0123456789abcdef';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function receiver(): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver();
  cleanups.push(() => r.close());
  return r;
}

async function started(starting: Promise<Tracing>): Promise<Tracing> {
  const tracing = await starting;
  cleanups.push(() => tracing.shutdown());
  return tracing;
}

const json = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

const pod = {
  metadata: { name: 'web-1', namespace: 'shop', uid: 'uid-1', annotations: {} as Record<string, string> },
  spec: { nodeName: 'vn-cn-hangzhou-h', containers: [] },
};

describe('readTracingConfig', () => {
  it.each([
    [{}, 'no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, 'no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_SDK_DISABLED: 'TRUE' }, 'OTEL_SDK_DISABLED=true'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_TRACES_EXPORTER: 'none' }, 'OTEL_TRACES_EXPORTER=none'],
  ])('is off for %j', (env, reason) => {
    expect(readTracingConfig(env)).toMatchObject({ enabled: false, reason });
  });

  it('prefers the traces endpoint, reads the sampler, service name and resource attributes', () => {
    const config = readTracingConfig(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://all:4317',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4317',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs,k8s.cluster.name=c%2C1,broken',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      { serviceName: 'programmatic', serviceVersion: '1.2.3', resourceAttributes: { 'cloud.region': 'cn-hangzhou' } },
    );
    expect(config).toMatchObject({
      enabled: true,
      url: 'http://traces:4317',
      sampler: { kind: 'parentbased_traceidratio', ratio: 0.25 },
      batch: { scheduledDelayMillis: 100 },
      resourceAttributes: {
        'service.name': 'from-attrs',
        'service.version': '1.2.3',
        'k8s.cluster.name': 'c,1',
        'cloud.region': 'cn-hangzhou',
        'cloud.provider': 'alibaba_cloud',
      },
    });
    expect(config.warnings).toEqual(['OTEL_RESOURCE_ATTRIBUTES: "broken" is not key=value; ignored']);
  });

  it('lets OTEL_SERVICE_NAME win, defaults the sampler, and warns about what it cannot honour', () => {
    const config = readTracingConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317',
      OTEL_SERVICE_NAME: 'svc',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=other',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_MAX_QUEUE_SIZE: '-3',
    });
    expect(config).toMatchObject({ enabled: true, sampler: { kind: 'parentbased_always_on' }, resourceAttributes: { 'service.name': 'svc' }, batch: {} });
    expect(config.warnings).toHaveLength(3);
    expect(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' })).toMatchObject({ resourceAttributes: { 'service.name': 'eci-virtual-node' } });
  });
});

describe('redaction', () => {
  it.each([
    ['eci_vn.cloud.access_key_secret', true],
    ['accessKeySecret', true],
    ['http.request.header.authorization', true],
    ['x.security-token', true],
    ['db.password', true],
    ['k8s.secret.name', false],
    ['eci_vn.cloud.request_id', false],
    ['k8s.pod.uid', false],
  ])('%s looks secret: %s', (key, secret) => {
    expect(isSecretAttributeKey(key)).toBe(secret);
  });

  it('masks secret keys and known secret values, and copies nothing when clean', () => {
    const clean = { 'k8s.pod.name': 'web-1', n: 3, list: ['a', 'b'] };
    expect(redactAttributes(clean, [FAKE_SECRET])).toBe(clean);
    expect(
      redactAttributes({ token: 'abc', msg: `signature with ${FAKE_SECRET} failed`, list: ['x', FAKE_SECRET], n: 1 }, [FAKE_SECRET, 'ab']),
    ).toEqual({ token: REDACTED, msg: `signature with ${REDACTED} failed`, list: ['x', REDACTED], n: 1 });
  });

  it('redacts inside map and array values (API 1.10 attribute values)', () => {
    const nested = { 'eci_vn.request': { headers: { Authorization: 'acs x' }, params: [{ note: `k=${FAKE_SECRET}` }], bytes: new Uint8Array([1]) } };
    expect(redactAttributes(nested, [FAKE_SECRET])).toEqual({
      'eci_vn.request': { headers: { Authorization: REDACTED }, params: [{ note: `k=${REDACTED}` }], bytes: new Uint8Array([1]) },
    });
    expect(nested['eci_vn.request'].headers.Authorization).toBe('acs x');
  });
});

describe('startTracing', () => {
  it('is a no-op when not configured: no exporter, non-recording spans, no annotation', async () => {
    let exportersCreated = 0;
    const tracing = await started(
      startTracing({
        env: {},
        createExporter: () => {
          exportersCreated++;
          throw new Error('must not be called');
        },
      }),
    );
    expect(tracing.enabled).toBe(false);
    expect(tracing.description).toMatch(/tracing off/);
    const span = trace.getTracer(TRACER_NAME).startSpan(SPAN.podProvision, { attributes: podAttributes(pod) });
    expect(span.isRecording()).toBe(false);
    expect(injectTraceContext(span)).toBeUndefined();
    span.end();
    await tracing.forceFlush();
    expect(exportersCreated).toBe(0);
  });

  it('exports over OTLP/gRPC one trace across the annotation: webhook span -> provider span -> cloud call', async () => {
    const r = await receiver();
    const warnings: string[] = [];
    const tracing = await started(
      startTracing({
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_SERVICE_NAME: 'eci-vn-test' },
        serviceVersion: '0.0.0-test',
        resourceAttributes: { [ATTR.cloudRegion]: 'cn-hangzhou' },
        secrets: [FAKE_SECRET],
        log: { info: () => {}, warn: (msg, fields) => warnings.push(`${msg} ${json(fields)}`) },
      }),
    );
    expect(tracing.enabled).toBe(true);
    const tracer = trace.getTracer(TRACER_NAME);

    // "Process A", the webhook: the root span; its context goes into the pod annotation.
    const admission = tracer.startSpan(SPAN.admission, { attributes: { ...podAttributes(pod), [ATTR.podNetworkingName]: 'pn-web' } }, ROOT_CONTEXT);
    const annotation = injectTraceContext(admission);
    expect(annotation).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    admission.end();

    // "Process B", the provider, later: continues the same trace from the annotation alone.
    const parent = extractTraceContext(annotation, ROOT_CONTEXT);
    await tracer.startActiveSpan(SPAN.podProvision, { attributes: { ...podAttributes(pod), [ATTR.vSwitchId]: 'vsw-a' } }, parent, async (provision) => {
      // A nested span picks its parent from the active (async-local) context.
      await tracer.startActiveSpan(cloudSpanName('CreateContainerGroup'), async (call) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        call.setAttributes(cloudCallAttributes({ action: 'CreateContainerGroup', attempt: 1, queuedMs: 0, code: 'Throttling.User', requestId: 'req-42' }));
        call.setAttribute('eci_vn.cloud.access_key_secret', FAKE_SECRET);
        call.setAttribute('http.request.header.authorization', `acs LTAI:${FAKE_SECRET}`);
        call.recordException(new Error(`signature mismatch for ${FAKE_SECRET}`));
        call.setStatus({ code: SpanStatusCode.ERROR, message: `Throttling.User (secret ${FAKE_SECRET})` });
        call.end();
      });
      provision.end();
    });

    await tracing.forceFlush();
    const spans = await r.waitForSpans((s) => s.length >= 3);
    const byName = (name: string): ReceivedSpan => {
      const found = spans.find((s) => s.name === name);
      expect(found, `span ${name}`).toBeDefined();
      return found!;
    };
    const root = byName(SPAN.admission);
    const provision = byName(SPAN.podProvision);
    const call = byName('cloud.CreateContainerGroup');

    expect(root.parentSpanId).toBeUndefined();
    expect(annotation).toBe(`00-${root.traceId}-${root.spanId}-01`);
    expect(provision.traceId).toBe(root.traceId);
    expect(provision.parentSpanId).toBe(root.spanId);
    expect(call.traceId).toBe(root.traceId);
    expect(call.parentSpanId).toBe(provision.spanId);

    expect(provision.attributes).toMatchObject({
      'k8s.pod.name': 'web-1',
      'k8s.namespace.name': 'shop',
      'k8s.pod.uid': 'uid-1',
      'k8s.node.name': 'vn-cn-hangzhou-h',
      'eci_vn.vswitch.id': 'vsw-a',
    });
    expect(root.attributes['eci_vn.podnetworking.name']).toBe('pn-web');
    expect(call.attributes).toMatchObject({ 'error.type': 'Throttling.User', 'eci_vn.cloud.request_id': 'req-42', 'eci_vn.cloud.attempt': 1 });
    expect(call.status.code).toBe('ERROR');
    expect(call.events.map((e) => e.name)).toEqual(['exception']);
    expect(root.resource).toMatchObject({ 'service.name': 'eci-vn-test', 'service.version': '0.0.0-test', 'cloud.region': 'cn-hangzhou', 'cloud.provider': 'alibaba_cloud' });
    expect(root.scope.name).toBe(TRACER_NAME);

    // The secret never reached the collector, whichever way it was put on the span.
    expect(call.attributes['eci_vn.cloud.access_key_secret']).toBe(REDACTED);
    expect(call.attributes['http.request.header.authorization']).toBe(REDACTED);
    expect(call.events[0]?.attributes['exception.message']).toBe(`signature mismatch for ${REDACTED}`);
    expect(call.status.message).toBe(`Throttling.User (secret ${REDACTED})`);
    expect(json(spans)).not.toContain(FAKE_SECRET);
    expect(warnings).toEqual([]);
  });

  it('records the root opened at admission later, with the ids the pod carries, as the parent of everything before', async () => {
    const r = await receiver();
    const tracing = await started(startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint } }));
    const tracer = trace.getTracer(TRACER_NAME);
    // The webhook opens the root (never ended there) and starts admission.pod under it.
    const admittedAt = nowMs();
    const opened = tracer.startSpan(SPAN.podProvision, { root: true, startTime: admittedAt }, ROOT_CONTEXT);
    const annotation = injectTraceContext(opened)!;
    tracer.startSpan(SPAN.admission, { startTime: admittedAt }, trace.setSpan(ROOT_CONTEXT, opened)).end(nowMs());
    // The provider, later and from the annotation alone, records the root with exactly those ids.
    const ids = extractTraceContext(annotation, ROOT_CONTEXT);
    const { traceId, spanId } = trace.getSpanContext(ids)!;
    withSpanIds({ traceId, spanId }, () => tracer.startSpan(SPAN.podProvision, { root: true, startTime: admittedAt }, ROOT_CONTEXT)).end(nowMs());
    // Spans started after it get fresh random ids.
    const after = tracer.startSpan('after', {}, ROOT_CONTEXT);
    after.end();
    expect(after.spanContext().spanId).not.toBe(spanId);
    expect(after.spanContext().traceId).not.toBe(traceId);

    await tracing.forceFlush();
    const spans = await r.waitForSpans((all) => all.length >= 3);
    const root = spans.find((x) => x.name === SPAN.podProvision)!;
    const admission = spans.find((x) => x.name === SPAN.admission)!;
    expect(spans.filter((x) => x.name === SPAN.podProvision)).toHaveLength(1);
    expect(`00-${root.traceId}-${root.spanId}-01`).toBe(annotation);
    expect(root.parentSpanId).toBeUndefined();
    expect(admission.parentSpanId).toBe(root.spanId);
    expect(admission.startTimeUnixNano).toBe(root.startTimeUnixNano);
    expect(admission.endTimeUnixNano).toBeLessThanOrEqual(root.endTimeUnixNano);
    // Sub-millisecond times, not Date.now()'s whole milliseconds.
    expect(root.startTimeUnixNano % 1_000_000n).not.toBe(0n);
  });

  it('honours the sampler: always_off records nothing and exports nothing', async () => {
    const r = await receiver();
    const tracing = await started(startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_TRACES_SAMPLER: 'always_off' } }));
    const span = trace.getTracer(TRACER_NAME).startSpan(SPAN.podDelete);
    expect(span.isRecording()).toBe(false);
    span.end();
    await tracing.forceFlush();
    expect(r.requests()).toBe(0);
  });

  it('does not block span.end when the collector refuses, reports it, and shuts down cleanly', async () => {
    const r = await receiver();
    r.failWith(7); // PERMISSION_DENIED: not retried by the exporter
    const warnings: string[] = [];
    const tracing = await started(
      startTracing({
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_BSP_SCHEDULE_DELAY: '20' },
        log: { info: () => {}, warn: (msg, fields) => warnings.push(`${msg} ${json(fields)}`) },
      }),
    );
    const tracer = trace.getTracer(TRACER_NAME);
    const before = performance.now();
    for (let i = 0; i < 200; i++) tracer.startSpan(SPAN.podCreate).end();
    // Ending spans only queues them; 200 of them take well under a second even on a busy machine.
    expect(performance.now() - before).toBeLessThan(1_000);
    // The background export fails and the failure reaches the log (through OpenTelemetry's diag).
    for (let waited = 0; warnings.length === 0 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(warnings.join('\n')).toMatch(/tracing problem.*7 PERMISSION_DENIED: test receiver told to fail/);
    expect(r.requests()).toBeGreaterThan(0);
    expect(r.spans()).toEqual([]);
    await expect(tracing.shutdown()).resolves.toBeUndefined();
    // After shutdown the global tracer is the no-op one again, and tracing can start anew.
    expect(trace.getTracer(TRACER_NAME).startSpan('after').isRecording()).toBe(false);
    r.failWith(undefined);
    const again = await started(startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint } }));
    trace.getTracer(TRACER_NAME).startSpan('again').end();
    await again.forceFlush();
    expect((await r.waitForSpans((s) => s.length > 0)).map((s) => s.name)).toEqual(['again']);
  });

  it('refuses to start twice, and passes spans through the redaction to a custom exporter', async () => {
    const { seen, exporter } = collectingExporter();
    const tracing = await started(startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }, createExporter: () => exporter, secrets: [FAKE_SECRET] }));
    await expect(startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' } })).rejects.toThrow(/already started/);
    const span = trace.getTracer(TRACER_NAME).startSpan(SPAN.vSwitchChoose, { attributes: { password: 'p', 'eci_vn.vswitch.policy': 'most' } });
    span.end();
    await tracing.forceFlush();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.attributes).toEqual({ password: REDACTED, 'eci_vn.vswitch.policy': 'most' });
    expect(seen[0]?.spanContext().traceId).toBe(span.spanContext().traceId);

    // A cloud call attempt recorded after the fact, under an explicit parent.
    const parentSpan = trace.getTracer(TRACER_NAME).startSpan(SPAN.podProvision);
    recordCloudCallSpan(
      { action: 'CreateContainerGroup', attempt: 1, durationMs: 250, queuedMs: 40, code: 'InvalidVSwitchId.IpNotEnough', requestId: 'req-7' },
      trace.setSpan(ROOT_CONTEXT, parentSpan),
      1_700_000_000_000,
    );
    parentSpan.end();
    await tracing.forceFlush();
    const call = seen.find((s) => s.name === 'cloud.CreateContainerGroup');
    expect(call?.parentSpanContext?.spanId).toBe(parentSpan.spanContext().spanId);
    expect(call?.kind).toBe(SpanKind.CLIENT);
    expect(call?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'InvalidVSwitchId.IpNotEnough' });
    expect(call?.attributes).toMatchObject({ 'eci_vn.cloud.throttle_wait_ms': 40, 'eci_vn.cloud.request_id': 'req-7', 'error.type': 'InvalidVSwitchId.IpNotEnough' });
    expect(call?.duration).toEqual([0, 250_000_000]);
  });
});

describe('inSpan and a pass the stopping work queue dropped', () => {
  it('marks the span dropped, not failed; any other error is recorded as one', async () => {
    const { seen, exporter } = collectingExporter();
    const tracing = await startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_BSP_SCHEDULE_DELAY: '10' }, createExporter: () => exporter });
    try {
      await expect(inSpan(SPAN.podCreate, {}, ROOT_CONTEXT, () => Promise.reject(new LaneClosedError()))).rejects.toBeInstanceOf(LaneClosedError);
      await expect(inSpan(SPAN.podDelete, {}, ROOT_CONTEXT, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      await tracing.forceFlush();
      const dropped = seen.find((s) => s.name === SPAN.podCreate);
      expect(dropped?.status.code).toBe(SpanStatusCode.UNSET);
      expect(dropped?.attributes[ATTR.syncResult]).toBe('dropped');
      expect(dropped?.events).toEqual([]);
      expect(seen.find((s) => s.name === SPAN.podDelete)?.status.code).toBe(SpanStatusCode.ERROR);
    } finally {
      await tracing.shutdown();
    }
  });
});

/** An exporter that keeps every span it is given. */
function collectingExporter(): { seen: ReadableSpan[]; exporter: SpanExporter } {
  const seen: ReadableSpan[] = [];
  const exporter: SpanExporter = {
    export: (spans: ReadableSpan[], done: (result: ExportResult) => void) => {
      seen.push(...spans);
      done({ code: ExportResultCode.SUCCESS });
    },
    shutdown: async () => {},
  };
  return { seen, exporter };
}
