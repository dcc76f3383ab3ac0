// `/containerLogs/{ns}/{pod}/{container}` over DescribeContainerLog: the query as the kubelet
// validates it (v1.PodLogOptions), the ECI request of each poll, and the cursor that makes a
// followed log (`kubectl logs -f`) a stream of polls without repeats or gaps.
//
// ECI has no streaming log API. A followed log polls with Timestamps=true from the time of the
// last line seen (StartTime is inclusive at the cloud's precision), drops the lines already
// written at exactly that time, and strips the timestamps again unless the caller asked for them.
// limitBytes is applied here, to what the caller receives, so timestamps added for the cursor
// never count against it.
import type { V1Pod } from '@kubernetes/client-node';
import type { ContainerLogRequest } from './model.ts';

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  /** RFC 3339, as given. */
  sinceTime?: string;
  limitBytes?: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Go's strconv.ParseBool, which the kubelet's query decoding uses. */
function parseBool(raw: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return undefined;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The query of a containerLogs request, validated as the kubelet does (a 400 names the field):
 * tailLines >= 0, sinceSeconds >= 1, limitBytes >= 1, sinceTime RFC 3339, at most one of
 * sinceSeconds and sinceTime. An empty value is absent; an unknown parameter is ignored.
 */
export function parseLogOptions(query: URLSearchParams): Parsed<LogOptions> {
  const value: LogOptions = { follow: false, previous: false, timestamps: false };
  for (const key of ['follow', 'previous', 'timestamps'] as const) {
    const raw = query.get(key);
    if (raw === null || raw === '') continue;
    const b = parseBool(raw);
    if (b === undefined) return { ok: false, message: `${key}: "${raw}" is not a boolean` };
    value[key] = b;
  }
  const ints = [
    ['tailLines', 0],
    ['sinceSeconds', 1],
    ['limitBytes', 1],
  ] as const;
  for (const [key, min] of ints) {
    const raw = query.get(key);
    if (raw === null || raw === '') continue;
    if (!/^-?\d+$/.test(raw)) return { ok: false, message: `${key}: "${raw}" is not an integer` };
    const n = Number(raw);
    if (n < min) return { ok: false, message: `${key}: must be greater than or equal to ${min}` };
    value[key] = n;
  }
  const sinceTime = query.get('sinceTime');
  if (sinceTime !== null && sinceTime !== '') {
    if (!RFC3339.test(sinceTime) || Number.isNaN(Date.parse(sinceTime))) return { ok: false, message: `sinceTime: "${sinceTime}" is not an RFC 3339 time` };
    value.sinceTime = sinceTime;
  }
  if (value.sinceSeconds !== undefined && value.sinceTime !== undefined) {
    return { ok: false, message: 'at most one of sinceTime or sinceSeconds may be specified' };
  }
  return { ok: true, value };
}

/** Where a followed log stands: the time of the last line written and how many lines had it. */
export interface LogCursor {
  /** RFC 3339 time of the last line written, as the cloud wrote it. */
  lastTime?: string;
  /** Lines already written with exactly `lastTime`. */
  linesAtLastTime: number;
  /** Bytes written to the caller (for limitBytes). */
  bytesWritten: number;
}

export const START_CURSOR: LogCursor = { linesAtLastTime: 0, bytesWritten: 0 };

/**
 * The DescribeContainerLog request of one poll. The first poll (no cursor time) carries the
 * caller's tail/since; later polls start at the cursor. Timestamps are always asked for: the
 * cursor needs them (`stripTimestamps` removes them again).
 */
export function logRequest(input: { containerGroupId: string; container: string; options: LogOptions; cursor: LogCursor }): ContainerLogRequest {
  const { options, cursor } = input;
  const request: ContainerLogRequest = { containerGroupId: input.containerGroupId, containerName: input.container, timestamps: true };
  if (options.previous) request.previous = true;
  if (cursor.lastTime !== undefined) {
    request.startTime = cursor.lastTime;
    return request;
  }
  if (options.tailLines !== undefined) request.tail = options.tailLines;
  if (options.sinceSeconds !== undefined) request.sinceSeconds = options.sinceSeconds;
  if (options.sinceTime !== undefined) request.startTime = options.sinceTime;
  return request;
}

/** Splits `2026-01-02T03:04:05.123456789Z text` into its time and text (no time: undefined). */
export function splitTimestamp(line: string): { time?: string; text: string } {
  const space = line.indexOf(' ');
  const head = space === -1 ? line : line.slice(0, space);
  if (!RFC3339.test(head)) return { text: line };
  return { time: head, text: space === -1 ? '' : line.slice(space + 1) };
}

/** Compares two RFC 3339 times by instant, then by their fraction digits (nanoseconds). */
export function compareTimes(a: string, b: string): number {
  const ms = Date.parse(a) - Date.parse(b);
  if (ms !== 0) return Math.sign(ms);
  const frac = (t: string) => (/\.(\d+)/.exec(t)?.[1] ?? '').padEnd(9, '0').slice(0, 9);
  return frac(a) < frac(b) ? -1 : frac(a) > frac(b) ? 1 : 0;
}

/**
 * Takes one poll's content (timestamped lines) and returns what to write to the caller and the
 * new cursor: lines before the cursor or already written at its time are dropped, timestamps are
 * kept only when the caller asked, and the output stops at limitBytes (`done` then).
 */
export function advanceLog(input: { content: string; cursor: LogCursor; options: LogOptions }): { output: string; cursor: LogCursor; done: boolean } {
  const { options } = input;
  let { lastTime, linesAtLastTime, bytesWritten } = input.cursor;
  const lines = input.content.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let skipAtLastTime = linesAtLastTime;
  const previousTime = lastTime;
  let output = '';
  for (const line of lines) {
    const { time, text } = splitTimestamp(line);
    if (time !== undefined && previousTime !== undefined) {
      const order = compareTimes(time, previousTime);
      if (order < 0) continue;
      if (order === 0 && skipAtLastTime > 0) {
        skipAtLastTime--;
        continue;
      }
    }
    let piece = `${options.timestamps || time === undefined ? line : text}\n`;
    if (options.limitBytes !== undefined) {
      const room = options.limitBytes - bytesWritten;
      if (room <= 0) return { output, cursor: { lastTime, linesAtLastTime, bytesWritten }, done: true };
      const buf = Buffer.from(piece);
      if (buf.length > room) piece = buf.subarray(0, room).toString();
    }
    output += piece;
    bytesWritten += Buffer.byteLength(piece);
    if (time !== undefined) {
      if (lastTime !== undefined && compareTimes(time, lastTime) === 0) linesAtLastTime++;
      else {
        lastTime = time;
        linesAtLastTime = 1;
      }
    }
  }
  const done = options.limitBytes !== undefined && bytesWritten >= options.limitBytes;
  return { output, cursor: { lastTime, linesAtLastTime, bytesWritten }, done };
}

/** Where a container stands for its logs, from the pod's status (what the pod sync reported). */
export type ContainerLogState =
  | { kind: 'running' }
  | { kind: 'terminated' }
  /** Never started: the kubelet answers 400 "is waiting to start". */
  | { kind: 'waiting'; reason: string }
  | { kind: 'unknownContainer'; known: string[] };

export function containerLogState(pod: V1Pod, container: string): ContainerLogState {
  const specs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  if (!specs.includes(container)) return { kind: 'unknownContainer', known: specs };
  const status = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((s) => s.name === container);
  if (status?.state?.running !== undefined) return { kind: 'running' };
  if (status?.state?.terminated !== undefined || status?.lastState?.terminated !== undefined) return { kind: 'terminated' };
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return { kind: 'terminated' };
  return { kind: 'waiting', reason: status?.state?.waiting?.reason ?? 'ContainerCreating' };
}

/** The kubelet's 400 for a container without logs yet. */
export function waitingMessage(container: string, pod: string, reason: string): string {
  return `container "${container}" in pod "${pod}" is waiting to start: ${reason}`;
}
