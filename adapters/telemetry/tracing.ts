// OpenTelemetry tracing, configured the standard way (OTEL_* environment variables) and exported
// over OTLP/gRPC (@grpc/grpc-js under @opentelemetry/exporter-trace-otlp-grpc).
//
// - Off unless an OTLP endpoint is set: with OTEL_EXPORTER_OTLP_ENDPOINT and
//   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT both unset (or OTEL_SDK_DISABLED=true, or
//   OTEL_TRACES_EXPORTER=none) nothing is registered, no exporter exists, and every
//   `trace.getTracer(...)` span is the API's non-recording no-op span.
// - Never slows the sync path: spans are queued by a BatchSpanProcessor (bounded; a full queue
//   drops spans) and exported in the background; a collector that is down costs a warning.
// - Secrets never leave the process: every span goes through a redacting exporter that masks
//   attribute values under secret-looking keys (accessKeySecret, token, password,
//   authorization, ...) and any occurrence of the known secret strings (the AccessKey secret) in
//   attribute values, event attributes (exception messages) and status messages.
// Span names and attribute keys: provider/telemetry/names.ts. Trace context on pods:
// provider/telemetry/context.ts.
import { context, diag, DiagLogLevel, propagation, SpanKind, SpanStatusCode, trace, type AnyValue, type Attributes, type Context, type SpanStatus } from '@opentelemetry/api';
// The SDK, its exporter and gRPC are loaded only when tracing starts (startTracing): a process with
// tracing off (the default) does not carry their code (~10 MiB RSS, ~4 MiB heap).
import type * as ContextAsyncHooks from '@opentelemetry/context-async-hooks';
import type * as OtelCore from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type * as Resources from '@opentelemetry/resources';
import type * as SdkTraceModule from '@opentelemetry/sdk-trace';
import type { ReadableSpan, Sampler, SpanExporter, SpanLimits, TimedEvent, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { nowMs, takePresetSpanId, takePresetTraceId } from '../../provider/telemetry/ids.ts';
import { ATTR, CLOUD_PROVIDER_ALIBABA_CLOUD, cloudCallAttributes, cloudSpanName, DEFAULT_SERVICE_NAME, TRACER_NAME } from '../../provider/telemetry/names.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** The few logger methods tracing needs (adapters/log's Logger fits). */
export interface TracingLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface TracingOptions {
  /** Usually `process.env`. The exporter itself also reads OTEL_EXPORTER_OTLP_HEADERS, _CERTIFICATE, _TIMEOUT, _COMPRESSION from process.env. */
  env: Env;
  /** service.name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES sets one. */
  serviceName?: string;
  serviceVersion?: string;
  /** Resource attributes of this process (e.g. cloud.region, k8s.cluster.name); OTEL_RESOURCE_ATTRIBUTES wins on conflicts. */
  resourceAttributes?: Attributes;
  /** Literal strings (the AccessKey secret) masked wherever they appear in an exported span. */
  secrets?: readonly string[];
  log?: TracingLog;
  /** Tests: replaces the OTLP exporter (it is still wrapped by the redaction). */
  createExporter?: (url: string) => SpanExporter;
}

export interface Tracing {
  /** false: tracing is a no-op (nothing registered, no exporter). */
  readonly enabled: boolean;
  /** Why tracing is off, or where spans go (`http://collector:4317`). */
  readonly description: string;
  /** Exports every ended span now; rejects when the collector refused them. */
  forceFlush(): Promise<void>;
  /** Flushes, stops the exporter and unregisters the global tracer provider. Idempotent. */
  shutdown(): Promise<void>;
}

export type SamplerConfig =
  | { kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { kind: 'traceidratio' | 'parentbased_traceidratio'; ratio: number };

export interface BatchConfig {
  scheduledDelayMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  exportTimeoutMillis?: number;
}

export type TracingConfig =
  | { enabled: false; reason: string; warnings: string[] }
  | {
      enabled: true;
      /** The OTLP/gRPC endpoint, e.g. `http://127.0.0.1:4317` (http: plaintext, https: TLS). */
      url: string;
      sampler: SamplerConfig;
      resourceAttributes: Attributes;
      batch: BatchConfig;
      spanLimits: SpanLimits;
      warnings: string[];
    };

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

const nonBlank = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
};

function positiveInt(env: Env, name: string, warnings: string[]): number | undefined {
  const raw = nonBlank(env[name]);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (Number.isInteger(value) && value >= 0) return value;
  warnings.push(`${name}=${raw}: not a non-negative integer; ignored`);
  return undefined;
}

/** `key1=value1,key2=value2`, values percent-encoded (the OTEL_RESOURCE_ATTRIBUTES format). */
export function parseResourceAttributes(raw: string | undefined, warnings: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of (raw ?? '').split(',')) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    try {
      const key = eq > 0 ? decodeURIComponent(entry.slice(0, eq).trim()) : '';
      if (key === '') throw new Error('no key');
      out[key] = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      warnings.push(`OTEL_RESOURCE_ATTRIBUTES: "${entry}" is not key=value; ignored`);
    }
  }
  return out;
}

function readSampler(env: Env, warnings: string[]): SamplerConfig {
  const name = (nonBlank(env.OTEL_TRACES_SAMPLER) ?? 'parentbased_always_on').toLowerCase();
  if (!(SAMPLERS as readonly string[]).includes(name)) {
    warnings.push(`OTEL_TRACES_SAMPLER=${name}: not one of ${SAMPLERS.join(', ')}; using parentbased_always_on`);
    return { kind: 'parentbased_always_on' };
  }
  const kind = name as (typeof SAMPLERS)[number];
  if (kind !== 'traceidratio' && kind !== 'parentbased_traceidratio') return { kind };
  const arg = nonBlank(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = arg === undefined ? 1 : Number(arg);
  if (Number.isFinite(ratio) && ratio >= 0 && ratio <= 1) return { kind, ratio };
  warnings.push(`OTEL_TRACES_SAMPLER_ARG=${arg}: not a ratio in [0, 1]; using 1`);
  return { kind, ratio: 1 };
}

/** Reads the OTEL_* variables. Pure: the decision and every warning, nothing started. */
export function readTracingConfig(env: Env, defaults: Pick<TracingOptions, 'serviceName' | 'serviceVersion' | 'resourceAttributes'> = {}): TracingConfig {
  const warnings: string[] = [];
  if (nonBlank(env.OTEL_SDK_DISABLED)?.toLowerCase() === 'true') return { enabled: false, reason: 'OTEL_SDK_DISABLED=true', warnings };
  const exporters = (nonBlank(env.OTEL_TRACES_EXPORTER) ?? 'otlp').split(',').map((e) => e.trim().toLowerCase());
  if (exporters.includes('none')) return { enabled: false, reason: 'OTEL_TRACES_EXPORTER=none', warnings };
  const unsupported = exporters.filter((e) => e !== 'otlp');
  if (unsupported.length > 0) warnings.push(`OTEL_TRACES_EXPORTER: only otlp is supported; ignoring ${unsupported.join(', ')}`);
  const url = nonBlank(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? nonBlank(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (url === undefined) return { enabled: false, reason: 'no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', warnings };
  const protocol = nonBlank(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? nonBlank(env.OTEL_EXPORTER_OTLP_PROTOCOL);
  if (protocol !== undefined && protocol !== 'grpc') warnings.push(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: only grpc is supported; exporting over gRPC`);

  const fromEnv = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES, warnings);
  const serviceName = nonBlank(env.OTEL_SERVICE_NAME) ?? fromEnv[ATTR_SERVICE_NAME] ?? defaults.serviceName ?? DEFAULT_SERVICE_NAME;
  const resourceAttributes: Attributes = {
    [ATTR.cloudProvider]: CLOUD_PROVIDER_ALIBABA_CLOUD,
    ...(defaults.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: defaults.serviceVersion }),
    ...defaults.resourceAttributes,
    ...fromEnv,
    [ATTR_SERVICE_NAME]: serviceName,
  };

  const batch: BatchConfig = {};
  const delay = positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY', warnings);
  if (delay !== undefined) batch.scheduledDelayMillis = delay;
  const queue = positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', warnings);
  if (queue !== undefined) batch.maxQueueSize = queue;
  const size = positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', warnings);
  if (size !== undefined) batch.maxExportBatchSize = size;
  const timeout = positiveInt(env, 'OTEL_BSP_EXPORT_TIMEOUT', warnings);
  if (timeout !== undefined) batch.exportTimeoutMillis = timeout;
  if (batch.maxQueueSize !== undefined && batch.maxExportBatchSize !== undefined && batch.maxExportBatchSize > batch.maxQueueSize) {
    warnings.push('OTEL_BSP_MAX_EXPORT_BATCH_SIZE > OTEL_BSP_MAX_QUEUE_SIZE; using the queue size');
    batch.maxExportBatchSize = batch.maxQueueSize;
  }

  const spanLimits: SpanLimits = {};
  const valueLength = positiveInt(env, 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', warnings) ?? positiveInt(env, 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', warnings);
  if (valueLength !== undefined) spanLimits.attributeValueLengthLimit = valueLength;
  const count = positiveInt(env, 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', warnings) ?? positiveInt(env, 'OTEL_ATTRIBUTE_COUNT_LIMIT', warnings);
  if (count !== undefined) spanLimits.attributeCountLimit = count;
  const events = positiveInt(env, 'OTEL_SPAN_EVENT_COUNT_LIMIT', warnings);
  if (events !== undefined) spanLimits.eventCountLimit = events;

  return { enabled: true, url, sampler: readSampler(env, warnings), resourceAttributes, batch, spanLimits, warnings };
}

type SdkTrace = typeof SdkTraceModule;

export function createSampler(sdk: SdkTrace, config: SamplerConfig): Sampler {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = sdk;
  switch (config.kind) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(config.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.ratio) });
  }
}

// ---------------------------------------------------------------------------------------------
// Redaction

export const REDACTED = '<redacted>';

/**
 * Endings of the last segment of an attribute key (lower-cased, `-` and `_` removed) whose values
 * are never exported: `eci_vn.cloud.access_key_secret`, `http.request.header.authorization`,
 * `x.security_token`, `db.password`. Only the last segment counts, so `k8s.secret.name` (a name,
 * not a secret) is kept.
 */
export const SECRET_KEY_ENDINGS: readonly string[] = ['secret', 'token', 'password', 'passwd', 'authorization', 'privatekey', 'apikey', 'credential', 'credentials', 'cookie'];

/** Secrets shorter than this are not scrubbed from text (a 2-letter "secret" would mangle every span). */
const MIN_SECRET_LENGTH = 4;

export function isSecretAttributeKey(key: string): boolean {
  const last = key.slice(key.lastIndexOf('.') + 1).toLowerCase().replace(/[-_]/g, '');
  return SECRET_KEY_ENDINGS.some((ending) => last.endsWith(ending));
}

function scrubText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/**
 * `value` with known secrets cut out of every string and secret-looking keys of nested maps masked
 * (attribute values may be arrays and maps since API 1.10). The same reference when unchanged.
 */
function scrubValue(value: AnyValue, secrets: readonly string[]): AnyValue {
  if (typeof value === 'string') return secrets.length === 0 ? value : scrubText(value, secrets);
  if (Array.isArray(value)) {
    const items = value as readonly AnyValue[];
    const next = items.map((item) => scrubValue(item, secrets));
    return next.every((item, i) => item === items[i]) ? value : next;
  }
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !(value instanceof Date)) {
    return redactAttributes(value as Attributes, secrets);
  }
  return value;
}

/**
 * The attributes with secret-looking keys masked and known secrets cut out of string values, at
 * any depth. Returns the same object when nothing had to change (the common case costs no copy).
 */
export function redactAttributes(attributes: Attributes, secrets: readonly string[] = []): Attributes {
  const usable = secrets.filter((s) => s.length >= MIN_SECRET_LENGTH);
  let out: Attributes | undefined;
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    const next = isSecretAttributeKey(key) ? REDACTED : scrubValue(value, usable);
    if (next !== value) {
      out ??= { ...attributes };
      out[key] = next;
    }
  }
  return out ?? attributes;
}

/** The span as it may leave the process (the same object when it is already clean). */
export function redactSpan(span: ReadableSpan, secrets: readonly string[] = []): ReadableSpan {
  const usable = secrets.filter((s) => s.length >= MIN_SECRET_LENGTH);
  const attributes = redactAttributes(span.attributes, usable);
  let eventsChanged = false;
  const events: TimedEvent[] = span.events.map((event) => {
    const name = scrubText(event.name, usable);
    const eventAttributes = event.attributes === undefined ? undefined : redactAttributes(event.attributes, usable);
    if (name === event.name && eventAttributes === event.attributes) return event;
    eventsChanged = true;
    return { ...event, name, ...(eventAttributes === undefined ? {} : { attributes: eventAttributes }) };
  });
  let linksChanged = false;
  const links = span.links.map((link) => {
    const linkAttributes = link.attributes === undefined ? undefined : redactAttributes(link.attributes, usable);
    if (linkAttributes === link.attributes) return link;
    linksChanged = true;
    return { ...link, attributes: linkAttributes };
  });
  const message = span.status.message === undefined ? undefined : scrubText(span.status.message, usable);
  const status: SpanStatus = message === span.status.message ? span.status : { ...span.status, message };
  const name = scrubText(span.name, usable);
  if (attributes === span.attributes && !eventsChanged && !linksChanged && status === span.status && name === span.name) return span;
  return {
    name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    ...(span.parentSpanContext === undefined ? {} : { parentSpanContext: span.parentSpanContext }),
    startTime: span.startTime,
    endTime: span.endTime,
    status,
    attributes,
    links,
    events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** Wraps an exporter so that only redacted spans reach it. Runs in the batch export, off the sync path. */
export class RedactingSpanExporter implements SpanExporter {
  private readonly inner: SpanExporter;
  private readonly secrets: readonly string[];

  constructor(options: { exporter: SpanExporter; secrets?: readonly string[] }) {
    this.inner = options.exporter;
    this.secrets = (options.secrets ?? []).filter((s) => s.length >= MIN_SECRET_LENGTH);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(
      spans.map((span) => redactSpan(span, this.secrets)),
      resultCallback,
    );
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

// ---------------------------------------------------------------------------------------------
// Start / stop

let active: TracerProvider | undefined;
/** A start between its check and its registration (the SDK modules loading). */
let starting = false;

/** The SDK reports errors as JSON of the whole exception (with a stack); keep its message. */
function diagText(message: string): string {
  try {
    const parsed = JSON.parse(message) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string') {
      return (parsed as { message: string }).message;
    }
  } catch {
    // not JSON: the message as it is
  }
  return message;
}

function disabled(description: string): Tracing {
  return { enabled: false, description, forceFlush: async () => {}, shutdown: async () => {} };
}

/**
 * Starts tracing from `env` (see readTracingConfig) and registers it globally: afterwards
 * `trace.getTracer(TRACER_NAME)` (from @opentelemetry/api, anywhere, including provider/) records
 * and exports spans, the async-local context follows `startActiveSpan`, and the W3C propagator
 * is installed. When not configured, returns a disabled handle and registers nothing. At most one
 * started tracing per process: shut it down before starting another (tests).
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const config = readTracingConfig(options.env, options);
  for (const warning of config.warnings) options.log?.warn('tracing configuration', { warning });
  if (!config.enabled) return disabled(`tracing off: ${config.reason}`);
  if (active !== undefined || starting) throw new Error('tracing is already started in this process; shut it down first');
  starting = true;
  let sdk: SdkTrace;
  let modules: [typeof Resources, typeof ContextAsyncHooks, typeof OtelCore];
  try {
    [sdk, ...modules] = await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
    ]);
  } finally {
    starting = false;
  }
  const [{ defaultResource, resourceFromAttributes }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }] = modules;
  if (active !== undefined) throw new Error('tracing is already started in this process; shut it down first');

  const exporter = options.createExporter?.(config.url) ?? new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter({ url: config.url });
  const provider = new sdk.TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes(config.resourceAttributes)),
    sampler: createSampler(sdk, config.sampler),
    spanLimits: config.spanLimits,
    idGenerator: presetIdGenerator(sdk),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter: new RedactingSpanExporter({ exporter, secrets: options.secrets ?? [] }), ...config.batch })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!trace.setGlobalTracerProvider(provider)) {
    contextManager.disable();
    void provider.shutdown();
    throw new Error('another global OpenTelemetry tracer provider is registered');
  }
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const log = options.log;
  if (log !== undefined) {
    // Export failures surface through diag; the default diag logger is silent.
    const report = (message: string, args: unknown[]): void =>
      log.warn('opentelemetry: tracing problem', { detail: diagText(message), ...(args.length > 0 ? { args: args.map(String) } : {}) });
    diag.setLogger(
      {
        error: (message, ...args) => report(message, args),
        warn: (message, ...args) => report(message, args),
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
  }
  active = provider;
  const description = `tracing to ${config.url} over OTLP/gRPC (sampler ${config.sampler.kind})`;
  log?.info('tracing started', { endpoint: config.url, sampler: config.sampler.kind, serviceName: config.resourceAttributes[ATTR_SERVICE_NAME] });

  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    description,
    forceFlush: () => provider.forceFlush(),
    shutdown: () =>
      (stopping ??= (async () => {
        try {
          await provider.shutdown();
        } catch (err) {
          // The last flush failed (collector unreachable): those spans are lost, shutdown goes on.
          log?.warn('tracing: final flush failed', { error: err instanceof Error ? err.message : String(err) });
        } finally {
          trace.disable();
          context.disable();
          propagation.disable();
          if (log !== undefined) diag.disable();
          if (active === provider) active = undefined;
        }
      })()),
  };
}

// ---------------------------------------------------------------------------------------------
// Cloud call spans

/** One finished cloud call attempt (adapters/alibabacloud's CallInfo has this shape). */
export interface CloudCallSpanInfo {
  action: string;
  attempt: number;
  durationMs: number;
  queuedMs: number;
  code?: string | undefined;
  httpStatus?: number | undefined;
  requestId?: string | undefined;
  serverAddress?: string | undefined;
  serverPort?: number | undefined;
}

/**
 * Records a `cloud.<Action>` CLIENT span for an attempt that has just ended (CloudCaller's
 * `onCall` fires after the fact): it spans the attempt after pacing, carries the throttle wait,
 * request id and error code, and has ERROR status when the attempt failed. `parent` should be the
 * context captured when the call was made: a task run by p-queue may resume in another caller's
 * async context. A no-op (nothing allocated beyond the call) when tracing is off.
 */
export function recordCloudCallSpan(info: CloudCallSpanInfo, parent: Context = context.active(), endTimeMs: number = nowMs()): void {
  const tracer = trace.getTracer(TRACER_NAME);
  const span = tracer.startSpan(
    cloudSpanName(info.action),
    { kind: SpanKind.CLIENT, startTime: endTimeMs - Math.max(0, info.durationMs), attributes: cloudCallAttributes(info) },
    parent,
  );
  if (info.code !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: info.code });
  span.end(endTimeMs);
}

/** Random ids, except for the span started inside provider/telemetry/ids.ts's withSpanIds (the pod's root span). */
export function presetIdGenerator(sdk: SdkTrace): { generateTraceId(): string; generateSpanId(): string } {
  const random = new sdk.RandomIdGenerator();
  return {
    generateTraceId: () => takePresetTraceId() ?? random.generateTraceId(),
    generateSpanId: () => takePresetSpanId() ?? random.generateSpanId(),
  };
}
