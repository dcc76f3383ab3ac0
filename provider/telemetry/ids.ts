// The root span of a pod's provisioning (`pod.provision`) is opened at admission and recorded
// when the pod is Running, possibly by another process after a restart: its trace id and span id
// are chosen when the trace begins and travel on the pod (the traceparent annotation). The SDK
// makes span ids itself, so the tracer provider is given an id generator (adapters/telemetry)
// that takes the ids named here for the span started inside `withSpanIds` (synchronously), and
// random ones otherwise. Only plain data here: no SDK.

interface PresetIds {
  traceId: string;
  spanId: string;
}

let preset: PresetIds | undefined;

/** Runs `start` (which starts ONE root span synchronously) so that span gets exactly these ids. */
export function withSpanIds<T>(ids: PresetIds, start: () => T): T {
  preset = { ...ids };
  try {
    return start();
  } finally {
    preset = undefined;
  }
}

/** The span id preset for the span being started, consumed once; undefined: make a random one. */
export function takePresetSpanId(): string | undefined {
  const id = preset?.spanId;
  if (preset !== undefined) preset.spanId = '';
  return id === '' ? undefined : id;
}

/** The trace id preset for the root span being started, consumed once. */
export function takePresetTraceId(): string | undefined {
  const id = preset?.traceId;
  if (preset !== undefined) preset.traceId = '';
  return id === '' ? undefined : id;
}

/** High-resolution wall clock in epoch milliseconds (fractional): span times finer than 1 ms. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
