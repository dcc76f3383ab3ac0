// Small helpers over @opentelemetry/api for provider/ code: start a span under an explicit parent,
// make it active while async work runs (so cloud calls made inside become its children), and end
// it with the error recorded. No SDK here: without a started tracing every call is the API's
// no-op and costs next to nothing. Names and keys: ./names.ts.
import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { nowMs } from './ids.ts';
import { ATTR, TRACER_NAME, WORK_QUEUE_STOPPED } from './names.ts';

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** The error's message for a span status (never the whole object: it may carry a request). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Marks the span failed: an `exception` event and ERROR status with the message. */
export function recordError(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException({ name: err.name, message: err.message, ...((err as { code?: unknown }).code === undefined ? {} : { code: String((err as { code?: unknown }).code) }) });
  else span.recordException(String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
}

/**
 * Runs `fn` in a new span child of `parent` (ROOT_CONTEXT: a new trace), active for everything
 * `fn` awaits. A throw records the error on the span and is rethrown; the span always ends.
 */
export async function inSpan<T>(name: string, options: SpanOptions, parent: Context, fn: (span: Span) => Promise<T>): Promise<T> {
  // Both ends from the same high-resolution clock: the SDK's defaults start at Date.now() (whole
  // ms) and, with a start given, end at Date.now() too, which can fall before the start.
  const span = tracer().startSpan(name, { startTime: nowMs(), ...options }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    // A pass the stopping work queue dropped while it waited (WorkQueueStopped) did not fail.
    if ((err as { code?: unknown } | null)?.code === WORK_QUEUE_STOPPED) span.setAttribute(ATTR.syncResult, 'dropped');
    else recordError(span, err);
    throw err;
  } finally {
    span.end(nowMs());
  }
}

/** A span that has already happened (`start`..`end`, epoch ms), e.g. a decision made in one step. */
export function recordSpan(name: string, options: SpanOptions & { startTime: number; endTime?: number }, parent: Context = context.active(), fill?: (span: Span) => void): Span {
  const span = tracer().startSpan(name, options, parent);
  fill?.(span);
  span.end(options.endTime ?? nowMs());
  return span;
}

/** True when the context holds a span that records (tracing on and sampled). */
export function isRecording(ctx: Context = context.active()): boolean {
  return trace.getSpan(ctx)?.isRecording() === true;
}

export { ROOT_CONTEXT };
