// One trace per pod, across two moments in time: the webhook ends its admission span long before
// the provider syncs the pod, so the trace context travels ON THE POD, as the W3C `traceparent`
// of the admission span in an annotation (TRACE_CONTEXT_ANNOTATION). The provider reads it back
// and starts its spans as children of that span. Only @opentelemetry/api: works (and costs next
// to nothing) whether or not the SDK is started.
//
// Format (https://www.w3.org/TR/trace-context/#traceparent-header):
//   version "-" trace-id "-" parent-id "-" trace-flags, e.g.
//   00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
import { context as contextApi, isSpanContextValid, trace, type Context, type Span, type SpanContext } from '@opentelemetry/api';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { TRACE_CONTEXT_ANNOTATION } from './names.ts';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const SAMPLED = 0x01;

/** The `traceparent` string of a span context; undefined for an invalid (no-op) one. */
export function formatTraceparent(spanContext: SpanContext): string | undefined {
  if (!isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * Parses a `traceparent` (remote span context); undefined when it is not one. Follows the spec's
 * rules: version `ff` is invalid, version `00` has exactly four fields, a later version may carry
 * more fields after the fourth (ignored), all-zero ids are invalid.
 */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (value === undefined) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) return undefined;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const spanContext: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16) & SAMPLED, isRemote: true };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/**
 * The value to store in the pod annotation for `span` (or a span context): its `traceparent`, or
 * undefined when tracing is off (the span is a no-op one), in which case write no annotation.
 */
export function injectTraceContext(span: Span | SpanContext): string | undefined {
  const spanContext = 'spanContext' in span && typeof span.spanContext === 'function' ? span.spanContext() : (span as SpanContext);
  return formatTraceparent(spanContext);
}

/**
 * A context whose parent is the span named by `annotationValue`: start the provider's spans in
 * it (`tracer.startSpan(name, {}, ctx)` / `startActiveSpan(name, {}, ctx, fn)`) to continue the
 * admission's trace. A missing or malformed value gives `base` unchanged (a new trace begins).
 */
export function extractTraceContext(annotationValue: string | undefined, base: Context = contextApi.active()): Context {
  const spanContext = parseTraceparent(annotationValue);
  return spanContext === undefined ? base : trace.setSpanContext(base, spanContext);
}

/** extractTraceContext of the pod's TRACE_CONTEXT_ANNOTATION. */
export function podTraceContext(pod: { metadata?: Pick<V1ObjectMeta, 'annotations'> | undefined }, base?: Context): Context {
  return extractTraceContext(pod.metadata?.annotations?.[TRACE_CONTEXT_ANNOTATION], base);
}

/** The annotations to add to a pod for `span`: `{ [TRACE_CONTEXT_ANNOTATION]: traceparent }`, or `{}` when tracing is off. */
export function traceContextAnnotations(span: Span | SpanContext): Record<string, string> {
  const value = injectTraceContext(span);
  return value === undefined ? {} : { [TRACE_CONTEXT_ANNOTATION]: value };
}
