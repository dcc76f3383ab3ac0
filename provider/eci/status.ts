// ECI container group -> the pod status fields the provider patches, a stable "did it change"
// check, and ECI events -> Kubernetes events (deduplicated). Pure: time comes in as `now`.
// Phase mapping: eci-openapi.md, "Container group status".
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from '@kubernetes/client-node';
import type { CloudContainerStatus, CloudEvent, ContainerGroup, ContainerState } from '../cloud/model.ts';
import { EventReason, foreignReason, type AnyEventReason } from '../events/reasons.ts';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** The pod condition types this module owns (others on the pod are left alone). */
export const OWNED_CONDITIONS = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'] as const;

/** Reasons set on the pod when its group failed as a whole (searchable). */
export const STATUS_REASONS = {
  providerFailed: 'ProviderFailed',
  scheduleFailed: 'ScheduleFailed',
  expired: 'Expired',
} as const;

/** `eci://<group id>/<container name>`: ECI reports no runtime id; this one is stable and says where the container runs. */
export const containerId = (groupId: string, name: string): string => `eci://${groupId}/${name}`;

const anyContainerRunning = (g: ContainerGroup) => g.containers.some((c) => c.currentState?.state === 'Running');

/** ECI group status -> pod phase (before the "never leave a terminal phase" rule). */
export function phaseOf(group: ContainerGroup): PodPhase {
  switch (group.status) {
    case 'Scheduling':
    case 'Pending':
      return 'Pending';
    case 'Running':
      return 'Running';
    case 'Succeeded':
      return 'Succeeded';
    case 'Failed':
    case 'ScheduleFailed':
    case 'Expired':
      return 'Failed';
    case 'Restarting':
    case 'Updating':
      return anyContainerRunning(group) ? 'Running' : 'Pending';
    case 'Terminating':
      return 'Running';
  }
}

/** Kubernetes timestamps have second precision; so do ours, so a round trip compares equal. */
function toDate(value: string | Date | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return undefined;
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function state(groupId: string, name: string, s: ContainerState | undefined, waitingReason: string): V1ContainerState {
  if (s?.state === 'Running') return { running: defined({ startedAt: toDate(s.startTime) }) };
  if (s?.state === 'Terminated') {
    const exitCode = s.exitCode ?? 0;
    return {
      terminated: defined({
        exitCode,
        signal: s.signal,
        reason: s.reason !== undefined && s.reason !== '' ? s.reason : exitCode === 0 ? 'Completed' : 'Error',
        message: s.message === '' ? undefined : s.message,
        startedAt: toDate(s.startTime),
        finishedAt: toDate(s.finishTime),
        containerID: containerId(groupId, name),
      }),
    };
  }
  const reason = s?.reason !== undefined && s.reason !== '' ? s.reason : s?.detailStatus !== undefined && s.detailStatus !== '' ? s.detailStatus : waitingReason;
  return { waiting: defined({ reason, message: s?.message === '' ? undefined : s?.message }) };
}

function containerStatus(group: ContainerGroup, name: string, specImage: string, cloud: CloudContainerStatus | undefined, waitingReason: string, init: boolean): V1ContainerStatus {
  const current = state(group.id, name, cloud?.currentState, waitingReason);
  const started = current.running !== undefined || current.terminated !== undefined;
  const ready = init ? current.terminated?.exitCode === 0 : cloud?.ready === true && current.running !== undefined;
  const image = specImage !== '' ? specImage : (cloud?.image ?? '');
  const previous = cloud?.previousState === undefined ? undefined : state(group.id, name, cloud.previousState, waitingReason);
  return defined({
    name,
    image,
    // ECI reports no image digest: the reference is the best identity it gives.
    imageID: cloud?.image ?? image,
    containerID: started ? containerId(group.id, name) : undefined,
    ready,
    started,
    restartCount: cloud?.restartCount ?? 0,
    state: current,
    lastState: previous ?? {},
  });
}

function condition(pod: V1Pod, type: string, status: boolean, now: Date, reason?: string, message?: string): V1PodCondition {
  const previous = pod.status?.conditions?.find((c) => c.type === type);
  const statusText = status ? 'True' : 'False';
  const lastTransitionTime = previous !== undefined && previous.status === statusText ? (toDate(previous.lastTransitionTime) ?? toDate(now)) : toDate(now);
  return defined({ type, status: statusText, reason, message, lastTransitionTime });
}

export interface StatusInput {
  group: ContainerGroup;
  pod: V1Pod;
  now: Date;
}

/** The pod status the group implies. Never moves a pod out of Succeeded/Failed. */
export function podStatusFromGroup({ group, pod, now }: StatusInput): V1PodStatus {
  const currentPhase = pod.status?.phase;
  const ips = [group.intranetIp, group.ipv6Address].filter((ip): ip is string => ip !== undefined && ip !== '');
  // ECI assigns the IP after scheduling: a pod is never reported Running without one (Services
  // and readiness would route to nothing). One already reported Running keeps its phase.
  const awaitingIp = ips.length === 0 && phaseOf(group) === 'Running' && currentPhase !== 'Running';
  const phase: PodPhase = currentPhase === 'Succeeded' || currentPhase === 'Failed' ? currentPhase : awaitingIp ? 'Pending' : phaseOf(group);
  const finished = phase === 'Succeeded' || phase === 'Failed';

  const cloudInit = new Map(group.initContainers.map((c) => [c.name, c]));
  const cloudApp = new Map(group.containers.map((c) => [c.name, c]));
  const specInit = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
  // Sidecar init containers run as regular containers on ECI (see translate).
  const specApp = [...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'), ...(pod.spec?.containers ?? [])];

  // A finished pod has no live container, whatever the group last said of one (kubelet's rule).
  const settle = (s: V1ContainerStatus): V1ContainerStatus => (finished ? terminatedStatus(s, toDate(now)) : s);
  const initStatuses = specInit.map((c) => settle(containerStatus(group, c.name, c.image ?? '', cloudInit.get(c.name), 'PodInitializing', true)));
  const initialized = initStatuses.every((s) => s.state?.terminated?.exitCode === 0) || (initStatuses.length > 0 && phase === 'Running');
  const appWaiting = initialized ? 'ContainerCreating' : 'PodInitializing';
  const appStatuses = specApp
    .map((c) => settle(containerStatus(group, c.name, c.image ?? '', cloudApp.get(c.name), appWaiting, false)))
    .map((s) => (awaitingIp ? { ...s, ready: false } : s));

  const unready = appStatuses.filter((s) => !s.ready).map((s) => s.name);
  const containersReady = unready.length === 0 && !finished;
  // kubelet's reasons for a finished pod: PodCompleted (Succeeded), PodFailed (Failed).
  const readyReason = finished ? terminalReadyReason(phase) : containersReady ? undefined : 'ContainersNotReady';
  const readyMessage = finished || containersReady ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const gatesOpen = gates.filter((t) => pod.status?.conditions?.find((c) => c.type === t)?.status !== 'True');
  const ready = containersReady && gatesOpen.length === 0;

  const uninit = initStatuses.filter((s) => s.state?.terminated?.exitCode !== 0).map((s) => s.name);
  const conditions: V1PodCondition[] = [
    condition(pod, 'PodScheduled', true, now),
    condition(
      pod,
      'Initialized',
      initialized,
      now,
      initialized ? undefined : 'ContainersNotInitialized',
      initialized ? undefined : `containers with incomplete status: [${uninit.join(' ')}]`,
    ),
    condition(pod, 'ContainersReady', containersReady, now, readyReason, readyMessage),
    condition(
      pod,
      'Ready',
      ready,
      now,
      ready ? undefined : containersReady ? 'ReadinessGatesNotReady' : readyReason,
      ready ? undefined : containersReady ? `corresponding condition of pod readiness gate "${gatesOpen.join('", "')}" does not exist or is not True` : readyMessage,
    ),
  ];

  const failure = failureOf(group, phase);
  const hostIp = group.intranetIp === '' ? undefined : group.intranetIp;
  return defined({
    phase,
    conditions,
    // An ECI pod has no node of its own: its ENI is its host.
    hostIP: hostIp,
    hostIPs: hostIp === undefined ? undefined : [{ ip: hostIp }],
    podIP: ips[0],
    podIPs: ips.length === 0 ? undefined : ips.map((ip) => ({ ip })),
    startTime: toDate(pod.status?.startTime) ?? toDate(group.creationTime) ?? toDate(now),
    initContainerStatuses: initStatuses.length === 0 ? undefined : initStatuses,
    containerStatuses: appStatuses,
    reason: failure?.reason,
    message: failure?.message,
  });
}

/** What kubelet reports for a container it cannot find once its pod ended. */
export const UNKNOWN_TERMINATION = {
  reason: 'ContainerStatusUnknown',
  message: 'The container could not be located when the pod was terminated',
  exitCode: 137,
} as const;

/**
 * A container of a finished pod: terminated (kept as it is when it already was), never ready.
 * One that was running or waiting ends with kubelet's ContainerStatusUnknown (exit code 137).
 */
function terminatedStatus(s: V1ContainerStatus, now: Date | undefined): V1ContainerStatus {
  if (s.state?.terminated !== undefined) return { ...s, ready: false, started: false };
  const startedAt = toDate(s.state?.running?.startedAt);
  return defined({
    ...s,
    ready: false,
    started: false,
    state: {
      terminated: defined({
        exitCode: UNKNOWN_TERMINATION.exitCode,
        reason: UNKNOWN_TERMINATION.reason,
        message: UNKNOWN_TERMINATION.message,
        startedAt,
        finishedAt: now,
        containerID: s.containerID,
      }),
    },
    // The running state it had is its last known one.
    lastState: s.state?.running !== undefined ? s.state : s.lastState,
  });
}

const terminalReadyReason = (phase: PodPhase): string => (phase === 'Failed' ? 'PodFailed' : 'PodCompleted');

export interface LostPodInput {
  pod: V1Pod;
  containerGroupId: string;
  now: Date;
}

/**
 * The status of a pod whose group vanished from the cloud (deleted outside Kubernetes, expired,
 * released): Failed, not Ready (Services stop routing to its IP), every container terminated.
 */
export function lostPodStatus({ pod, containerGroupId, now }: LostPodInput): V1PodStatus {
  const known = new Map([...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((c) => [c.name, c]));
  const fromSpec = (c: { name: string; image?: string }): V1ContainerStatus =>
    terminatedStatus(known.get(c.name) ?? { name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }, toDate(now));
  const specInit = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
  const specApp = [...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'), ...(pod.spec?.containers ?? [])];
  const notReady = (type: string) => condition(pod, type, false, now, terminalReadyReason('Failed'));
  return defined({
    phase: 'Failed',
    reason: STATUS_REASONS.providerFailed,
    message: `container group ${containerGroupId} no longer exists in ECI`,
    conditions: [notReady('ContainersReady'), notReady('Ready')],
    initContainerStatuses: specInit.length === 0 ? undefined : specInit.map(fromSpec),
    containerStatuses: specApp.map(fromSpec),
  });
}

function failureOf(group: ContainerGroup, phase: PodPhase): { reason: string; message: string } | undefined {
  if (phase !== 'Failed') return undefined;
  const lastWarning = [...group.events].reverse().find((e) => e.type === 'Warning');
  const detail = lastWarning === undefined ? '' : `: ${lastWarning.reason}: ${lastWarning.message}`;
  switch (group.status) {
    case 'ScheduleFailed':
      return { reason: STATUS_REASONS.scheduleFailed, message: `ECI could not place container group ${group.id}${detail}` };
    case 'Expired':
      return { reason: STATUS_REASONS.expired, message: `container group ${group.id} expired (e.g. a spot instance was reclaimed)${detail}` };
    case 'Failed':
      return group.containers.length === 0 ? { reason: STATUS_REASONS.providerFailed, message: `container group ${group.id} failed${detail}` } : undefined;
    default:
      return undefined;
  }
}

// ---- change detection -------------------------------------------------------------------------

const iso = (v: unknown): string | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  if (v instanceof Date) return toDate(v)?.toISOString();
  return typeof v === 'string' ? toDate(v)?.toISOString() : undefined;
};

function stateKey(s: V1ContainerState | undefined): unknown {
  if (s?.running !== undefined) return { running: iso(s.running.startedAt) ?? null };
  if (s?.terminated !== undefined) {
    const t = s.terminated;
    return { terminated: [t.exitCode, t.signal ?? null, t.reason ?? null, t.message ?? null, iso(t.startedAt) ?? null, iso(t.finishedAt) ?? null] };
  }
  if (s?.waiting !== undefined) return { waiting: [s.waiting.reason ?? null, s.waiting.message ?? null] };
  return null;
}

function containerKey(c: V1ContainerStatus): unknown {
  return [c.name, c.image, c.imageID, c.containerID ?? null, c.ready, c.started ?? null, c.restartCount, stateKey(c.state), stateKey(c.lastState)];
}

/** The parts of a status this module sets, in a canonical form (times to the second, no transition times). */
function statusKey(s: V1PodStatus, conditionTypes: readonly string[]): string {
  return JSON.stringify([
    s.phase ?? null,
    s.reason ?? null,
    s.message ?? null,
    s.podIP ?? null,
    (s.podIPs ?? []).map((p) => p.ip),
    s.hostIP ?? null,
    iso(s.startTime) ?? null,
    conditionTypes.map((t) => {
      const c = s.conditions?.find((x) => x.type === t);
      return c === undefined ? null : [c.status, c.reason ?? null, c.message ?? null];
    }),
    (s.initContainerStatuses ?? []).map(containerKey),
    (s.containerStatuses ?? []).map(containerKey),
  ]);
}

/**
 * True when `desired` differs from `current` in anything this module sets (conditions compared by
 * type, status, reason and message; transition times and fields set by others are ignored).
 */
export function podStatusChanged(current: V1PodStatus, desired: V1PodStatus): boolean {
  const types = (desired.conditions ?? []).map((c) => c.type);
  return statusKey(current, types) !== statusKey(desired, types);
}

/** Waiting reasons the provider itself sets while a group is being made: they tell nothing new. */
const DEFAULT_WAITING = new Set(['ContainerCreating', 'PodInitializing']);

/** A status that says more than "Pending, containers being created" (a wait reason, an IP in use, a phase). */
function informative(s: V1PodStatus): boolean {
  if ((s.phase ?? 'Pending') !== 'Pending' || (s.reason ?? '') !== '' || (s.message ?? '') !== '') return true;
  return [...(s.initContainerStatuses ?? []), ...(s.containerStatuses ?? [])].some(
    (c) => c.restartCount > 0 || c.state?.waiting === undefined || !DEFAULT_WAITING.has(c.state.waiting.reason ?? '') || (c.state.waiting.message ?? '') !== '',
  );
}

/**
 * True when both the pod's status and the desired one only say "Pending, containers being
 * created": such a patch is skipped (one apiserver write per pod saved; the status is written
 * when it says something: a wait reason such as ErrImagePull, an init container done, Running).
 */
export function onlyRestatesPending(current: V1PodStatus, desired: V1PodStatus): boolean {
  return !informative(current) && !informative(desired);
}

// ---- events -----------------------------------------------------------------------------------

export interface PodEventInput {
  type: 'Normal' | 'Warning';
  reason: AnyEventReason;
  message: string;
  /** How many times ECI saw it (informative; the event recorder folds repeats). */
  count: number;
}

const REASON = /[^A-Za-z0-9_]/g;

/**
 * The identity of one ECI event occurrence: a count increase is a new occurrence. A 64-bit FNV-1a
 * digest of it as 16 hex characters, since each pod keeps the keys of its reported events for life
 * (the full text was ~900 bytes a pod). Not a cryptographic hash: the keys only tell one pod's few
 * events apart, and every status sync re-keys all of its group's events, where a SHA-1 per event
 * was most of the time spent on events (docs/benchmark.md, "Provider CPU per pod, fifth session").
 */
export function cloudEventKey(e: CloudEvent): string {
  return fnv1a64Hex(`${e.type}|${e.reason}|${e.message}|${e.firstTimestamp ?? ''}#${e.count}`);
}

const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/**
 * FNV-1a, 64 bits, over the string's UTF-16 code units (for Latin-1 text, the bytes: standard
 * FNV-1a), in two 32-bit halves. The 16 hex digits are made in one fromCharCode: a flat string,
 * not a concatenation that V8 would keep as a cons string of two halves.
 */
export function fnv1a64Hex(text: string): string {
  // Offset basis 0xcbf29ce484222325; prime 0x100000001b3 = 0x100 * 2^32 + 0x1b3.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < text.length; i++) {
    lo ^= text.charCodeAt(i);
    // (hi * 2^32 + lo) * prime mod 2^64; lo * 0x1b3 < 2^41 is exact in a double.
    const low = (lo >>> 0) * 0x1b3;
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + Math.floor(low / 0x100000000)) >>> 0;
    lo = low >>> 0;
  }
  const h = (n: number, shift: number) => HEX[(n >>> shift) & 15]!;
  return String.fromCharCode(
    h(hi, 28), h(hi, 24), h(hi, 20), h(hi, 16), h(hi, 12), h(hi, 8), h(hi, 4), h(hi, 0),
    h(lo, 28), h(lo, 24), h(lo, 20), h(lo, 16), h(lo, 12), h(lo, 8), h(lo, 4), h(lo, 0),
  );
}

/**
 * ECI events not recorded yet, folded into at most ONE Kubernetes event (one apiserver write per
 * pod per sync instead of one per ECI event). A single event keeps its reason and message; several
 * become one event whose reason is the latest Warning's (else the latest event's) and whose message
 * lists them in order (`Pulled: ...; Started x2: ...`). `hold` leaves Normal-only news unrecorded,
 * to be folded into a later sync's event. Adds the recorded keys to `alreadyRecorded`.
 * `reportedBefore` (epoch ms): a Normal event last seen before it counts as recorded already
 * (PodSync.beginSyncing); a Warning, or an event without a time, is reported.
 */
export function cloudEventSummary(groupEvents: readonly CloudEvent[], alreadyRecorded: Set<string>, hold = false, reportedBefore?: number): PodEventInput | undefined {
  const fresh = freshEvents(groupEvents, alreadyRecorded, reportedBefore);
  if (fresh.length === 0) return undefined;
  const warnings = fresh.filter(([, e]) => e.type === 'Warning');
  if (hold && warnings.length === 0) return undefined;
  for (const [key] of fresh) alreadyRecorded.add(key);
  if (fresh.length === 1) return fresh[0]![1];
  const headline = (warnings.at(-1) ?? fresh.at(-1)!)[1];
  return {
    type: warnings.length > 0 ? 'Warning' : 'Normal',
    reason: headline.reason,
    message: fresh.map(([, e]) => `${e.reason}${e.count > 1 ? ` x${e.count}` : ''}: ${e.message}`).join('; '),
    count: fresh.reduce((n, [, e]) => n + e.count, 0),
  };
}

/**
 * ECI events not recorded yet, oldest first, as Kubernetes event inputs. Adds their keys to
 * `alreadyRecorded` (the caller keeps one set per pod UID and drops it with the pod).
 */
export function eventsToRecord(groupEvents: readonly CloudEvent[], alreadyRecorded: Set<string>): PodEventInput[] {
  return freshEvents(groupEvents, alreadyRecorded).map(([key, input]) => {
    alreadyRecorded.add(key);
    return input;
  });
}

/**
 * The events whose keys `alreadyRecorded` lacks, once each, oldest first, with their keys; records
 * nothing. Each key is hashed once per sync (the status poll brings every group's events again).
 */
function freshEvents(groupEvents: readonly CloudEvent[], alreadyRecorded: ReadonlySet<string>, reportedBefore?: number): [string, PodEventInput][] {
  const unique = new Map<string, CloudEvent>();
  for (const e of groupEvents) {
    // ECI stamps whole seconds, so "before" is a second earlier; NaN (no time) is never before.
    if (reportedBefore !== undefined && e.type !== 'Warning' && Date.parse(e.lastTimestamp ?? e.firstTimestamp ?? '') + 1000 <= reportedBefore) continue;
    const key = cloudEventKey(e);
    if (!alreadyRecorded.has(key)) unique.set(key, e);
  }
  if (unique.size === 0) return [];
  const ordered = [...unique.entries()].sort(([, a], [, b]) => (a.lastTimestamp ?? a.firstTimestamp ?? '').localeCompare(b.lastTimestamp ?? b.firstTimestamp ?? ''));
  return ordered.map(([key, e]) => {
    const reason = e.reason.replace(REASON, '');
    return [key, { type: e.type, reason: reason === '' ? EventReason.ContainerGroupEvent : foreignReason(reason), message: e.message, count: e.count }];
  });
}
