// Structured logs: one JSON object per line on stdout, `{ level, time, msg, ...fields }`.
// Secrets never reach a line: values under a redacted key (at any depth) are replaced.
// A line written while a recording span is active carries `trace_id` and `span_id` (the
// OpenTelemetry log data model's field names), so a log line leads to its trace.
import { trace } from '@opentelemetry/api';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Keys (compared case-insensitively, ignoring `-` and `_`) whose values are never logged. */
export const DEFAULT_REDACTED_KEYS: readonly string[] = [
  'accessKeySecret',
  'secretAccessKey',
  'securityToken',
  'token',
  'bearerToken',
  'password',
  'authorization',
  'privateKey',
  'clientKey',
];

const REDACTED = '<redacted>';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level?: LogLevel;
  /** More keys to redact, added to DEFAULT_REDACTED_KEYS. */
  redact?: Iterable<string>;
  /** Where lines go; stdout by default. */
  write?: (line: string) => void;
  now?: () => Date;
  fields?: LogFields;
}

const normalizeKey = (key: string): string => key.toLowerCase().replace(/[-_]/g, '');

/** A plain, JSON-safe copy of `value` with redacted keys masked and errors spelled out. */
export function sanitize(value: unknown, redacted: ReadonlySet<string>, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (value instanceof Error) {
    const out: LogFields = { name: value.name, message: value.message };
    for (const key of ['code', 'statusCode', 'requestId', 'action', 'httpStatus'] as const) {
      const v = (value as unknown as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sanitize(v, redacted, seen);
    }
    if (value.cause !== undefined) out['cause'] = sanitize(value.cause, redacted, seen);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => sanitize(v, redacted, seen));
  if (value instanceof Map) return sanitize(Object.fromEntries(value), redacted, seen);
  if (value instanceof Set) return sanitize([...value], redacted, seen);
  const out: LogFields = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = redacted.has(normalizeKey(key)) ? REDACTED : sanitize(v, redacted, seen);
  }
  return out;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const redacted = new Set([...DEFAULT_REDACTED_KEYS, ...(options.redact ?? [])].map(normalizeKey));
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());

  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (LEVELS[level] < threshold) return;
      const body = sanitize({ ...base, ...fields }, redacted) as LogFields;
      const spanContext = trace.getActiveSpan()?.spanContext();
      const head =
        spanContext !== undefined && spanContext.traceFlags !== 0 && spanContext.traceId !== '00000000000000000000000000000000'
          ? { level, time: now().toISOString(), msg, trace_id: spanContext.traceId, span_id: spanContext.spanId }
          : { level, time: now().toISOString(), msg };
      let line: string;
      try {
        // Fields first so they keep their place after the head, the head last so no field overrides it.
        line = JSON.stringify(Object.assign({ ...head }, body, head));
      } catch {
        line = JSON.stringify({ ...head, logError: 'fields could not be serialized' });
      }
      write(line);
    };
    return {
      debug: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.fields ?? {});
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
