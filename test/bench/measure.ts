// What the benchmark observes: a watch on every benchmark pod (bound / Running / gone times, as
// seen by one watcher, in milliseconds), /proc figures of the systems' processes, per-client
// apiserver request counts (APF flow-schema metrics), and cloud simulator request counts.
import { readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as k8s from '@kubernetes/client-node';
import { parseStepTimings, STEP_TIMINGS_ANNOTATION, type StepTimings } from '../../provider/telemetry/names.ts';
import { apiClient, budget, fetchText, withDeadline } from '../helpers/deadline.ts';

// ---- pods as the watch sees them ---------------------------------------------------------------

export interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  /** When the watch first delivered the pod with a node (PodScheduled true). */
  boundAt?: number;
  /** PodScheduled's lastTransitionTime (second resolution, set by the scheduler). */
  scheduledConditionAt?: number;
  /** When the watch first delivered it Running with Ready true. */
  runningAt?: number;
  failedAt?: number;
  deletedAt?: number;
  /** When the watch last delivered it turning Ready (not Ready before, or first seen). */
  readyAt?: number;
  /** Latest state. */
  ready: boolean;
  phase: string;
  nodeName?: string;
  /** The provider's step timings (epoch ms) as written with the first Running status (eci-vn only). */
  steps?: StepTimings;
}

const isReady = (pod: k8s.V1Pod): boolean => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** One list + watch over every pod with the run's label; resumes after watch ends, relists on 410. */
export class PodRecorder {
  readonly pods = new Map<string, PodRecord>();
  private readonly watch: k8s.Watch;
  private readonly core: k8s.CoreV1Api;
  private stopped = false;
  private request: { abort(): void } | undefined;
  private resourceVersion = '';
  events = 0;

  private readonly labelSelector: string;
  /** Called with every delivered object of one pod (namespace/name), e.g. the watch probe's. */
  private readonly listeners = new Map<string, (pod: k8s.V1Pod, now: number) => void>();

  constructor(kc: k8s.KubeConfig, labelSelector: string) {
    this.labelSelector = labelSelector;
    this.watch = new k8s.Watch(kc);
    this.core = apiClient(kc, k8s.CoreV1Api);
  }

  async start(): Promise<void> {
    await this.relist();
    await this.rewatch();
  }

  stop(): void {
    this.stopped = true;
    this.request?.abort();
  }

  /** Calls `fn` with each delivery of the pod namespace/name until the returned function is called. */
  listen(namespace: string, name: string, fn: (pod: k8s.V1Pod, now: number) => void): () => void {
    const key = `${namespace}/${name}`;
    this.listeners.set(key, fn);
    return () => this.listeners.delete(key);
  }

  inNamespace(namespace: string): PodRecord[] {
    return [...this.pods.values()].filter((p) => p.namespace === namespace);
  }

  private async relist(): Promise<void> {
    const list = await this.core.listPodForAllNamespaces({ labelSelector: this.labelSelector });
    const now = Date.now();
    for (const pod of list.items) this.observe('MODIFIED', pod, now);
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
  }

  private async rewatch(): Promise<void> {
    if (this.stopped) return;
    const restart = (err?: unknown): void => {
      if (this.stopped) return;
      const gone = (err as { code?: number; message?: string } | undefined)?.message?.includes('410') ?? false;
      setTimeout(() => {
        (gone ? this.relist() : Promise.resolve())
          .then(() => this.rewatch())
          .catch(() => restart());
      }, gone ? 0 : 200);
    };
    try {
      this.request = await this.watch.watch(
        '/api/v1/pods',
        { labelSelector: this.labelSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
        (type: string, obj: k8s.V1Pod & { code?: number }) => {
          if (type === 'ERROR') {
            // Expired resourceVersion: relist.
            this.resourceVersion = '';
            return;
          }
          const rv = obj.metadata?.resourceVersion;
          if (rv !== undefined) this.resourceVersion = rv;
          if (type === 'BOOKMARK') return;
          this.observe(type, obj, Date.now());
        },
        (err: unknown) => {
          if (this.resourceVersion === '') {
            restart({ message: '410' });
          } else restart(err);
        },
      );
    } catch (err) {
      restart(err);
    }
  }

  private observe(type: string, pod: k8s.V1Pod, now: number): void {
    this.events++;
    if (this.listeners.size > 0) this.listeners.get(`${pod.metadata?.namespace}/${pod.metadata?.name}`)?.(pod, now);
    const uid = pod.metadata?.uid ?? '';
    let r = this.pods.get(uid);
    if (r === undefined) {
      r = { uid, namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', ready: false, phase: '' };
      this.pods.set(uid, r);
    }
    if (type === 'DELETED') {
      r.deletedAt ??= now;
      r.ready = false;
      r.phase = 'Deleted';
      return;
    }
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True');
    if (pod.spec?.nodeName !== undefined && r.boundAt === undefined) {
      r.boundAt = now;
      r.nodeName = pod.spec.nodeName;
    }
    if (scheduled?.lastTransitionTime !== undefined && r.scheduledConditionAt === undefined) r.scheduledConditionAt = new Date(scheduled.lastTransitionTime).getTime();
    r.phase = pod.status?.phase ?? '';
    const ready = isReady(pod);
    if (ready && !r.ready) r.readyAt = now;
    r.ready = ready;
    if (r.phase === 'Running' && r.ready && r.runningAt === undefined) {
      r.runningAt = now;
      const steps = parseStepTimings(pod.metadata?.annotations?.[STEP_TIMINGS_ANNOTATION]);
      if (steps.running !== undefined) r.steps = steps;
    }
    if (r.phase === 'Failed' && r.failedAt === undefined) r.failedAt = now;
  }
}

/** One write of the watch probe: when it was sent, answered, and delivered by the recorder's watch. */
export interface WatchProbeSample {
  sentAt: number;
  answeredAt?: number;
  seenAt?: number;
}

const PROBE_ANNOTATION = 'bench.eci-virtual-node.io/probe';

/**
 * How late the apiserver's watch delivers a write to the bench, apart from any system under test:
 * a pod of the run's label that nothing schedules (its own schedulerName) gets an annotation
 * patched every `intervalMs`; each patch is timed from its request to its answer and to the
 * recorder's watch delivering it. A ConfigMap beside it gets the same patches, watched on its own
 * (another resource: its own watch cache in the apiserver). With them, the bench's own event-loop
 * delay (max per second): the watches' times are taken on that loop.
 */
export class WatchProbe {
  readonly samples: WatchProbeSample[] = [];
  /** The ConfigMap's writes, by the same sequence numbers. */
  readonly configMapSamples: WatchProbeSample[] = [];
  /** [epoch ms, the bench's longest event-loop delay in the second before it]. */
  readonly loopDelay: [number, number][] = [];
  private readonly o: { kc: k8s.KubeConfig; core: k8s.CoreV1Api; recorder: PodRecorder; namespace: string; name: string; label: Record<string, string>; intervalMs: number };
  private stopped = false;
  private unlisten: (() => void) | undefined;
  private configMapWatch: { abort(): void } | undefined;
  private loop: Promise<void> | undefined;

  constructor(o: { kc: k8s.KubeConfig; core: k8s.CoreV1Api; recorder: PodRecorder; namespace: string; name: string; label: Record<string, string>; intervalMs: number }) {
    this.o = o;
  }

  private seen(samples: WatchProbeSample[], annotations: Record<string, string> | undefined, now: number): void {
    const s = samples[Number(annotations?.[PROBE_ANNOTATION] ?? 'NaN')];
    if (s !== undefined && s.seenAt === undefined) s.seenAt = now;
  }

  private async patch(samples: WatchProbeSample[], seq: number, sentAt: number, write: () => Promise<unknown>, what: string): Promise<void> {
    const sample: WatchProbeSample = { sentAt };
    samples[seq] = sample;
    await withDeadline(write(), budget({ baseMs: 30_000 }), what).then(
      () => (sample.answeredAt = Date.now()),
      () => {},
    );
  }

  async start(): Promise<void> {
    const { core, recorder, namespace, name, label } = this.o;
    this.unlisten = recorder.listen(namespace, name, (pod, now) => this.seen(this.samples, pod.metadata?.annotations, now));
    await withDeadline(
      core.createNamespacedPod({ namespace, body: { metadata: { name, namespace, labels: label }, spec: { schedulerName: 'bench-watch-probe', containers: [{ name: 'probe', image: 'probe' }] } } }),
      budget({ baseMs: 30_000 }),
      `create the watch probe pod ${namespace}/${name}`,
    );
    const created = await withDeadline(core.createNamespacedConfigMap({ namespace, body: { metadata: { name, namespace, labels: label } } }), budget({ baseMs: 30_000 }), `create the watch probe ConfigMap ${namespace}/${name}`);
    this.configMapWatch = await withDeadline(
      new k8s.Watch(this.o.kc).watch(
        `/api/v1/namespaces/${namespace}/configmaps`,
        { fieldSelector: `metadata.name=${name}`, resourceVersion: created.metadata?.resourceVersion ?? '' },
        (_type: string, cm: k8s.V1ConfigMap) => this.seen(this.configMapSamples, cm.metadata?.annotations, Date.now()),
        () => {},
      ),
      budget({ baseMs: 30_000 }),
      `start the watch of the probe ConfigMap ${namespace}/${name}`,
    );
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    this.loop = (async () => {
      let lastLoopSample = Date.now();
      while (!this.stopped) {
        const seq = this.samples.length;
        const sentAt = Date.now();
        const body = { metadata: { annotations: { [PROBE_ANNOTATION]: String(seq) } } };
        const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
        await Promise.all([
          this.patch(this.samples, seq, sentAt, () => core.patchNamespacedPod({ name, namespace, body }, merge), `PATCH of the watch probe pod ${namespace}/${name}`),
          this.patch(this.configMapSamples, seq, sentAt, () => core.patchNamespacedConfigMap({ name, namespace, body }, merge), `PATCH of the watch probe ConfigMap ${namespace}/${name}`),
        ]);
        await new Promise((r) => setTimeout(r, Math.max(0, sentAt + this.o.intervalMs - Date.now())));
        if (Date.now() - lastLoopSample >= 1_000) {
          lastLoopSample = Date.now();
          this.loopDelay.push([lastLoopSample, histogram.max / 1e6]);
          histogram.reset();
        }
      }
      histogram.disable();
    })();
  }

  private stopping: Promise<void> | undefined;

  /** Stops patching (the last write's delivery is waited for up to 5 s) and deletes the pod; once. */
  stop(): Promise<void> {
    return (this.stopping ??= this.stopOnce());
  }

  private async stopOnce(): Promise<void> {
    this.stopped = true;
    await this.loop;
    const last = this.samples.at(-1);
    const until = Date.now() + 5_000;
    while (last !== undefined && last.seenAt === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    this.unlisten?.();
    this.configMapWatch?.abort();
    await withDeadline(this.o.core.deleteNamespacedPod({ name: this.o.name, namespace: this.o.namespace, gracePeriodSeconds: 0 }), budget({ baseMs: 30_000 }), `delete the watch probe pod`).catch(() => {});
    await withDeadline(this.o.core.deleteNamespacedConfigMap({ name: this.o.name, namespace: this.o.namespace }), budget({ baseMs: 30_000 }), `delete the watch probe ConfigMap`).catch(() => {});
  }
}

/** The watch probe's legs per 10 s from `from` (by when the probe wrote): p99 of request -> answer and of answer -> seen by the bench's watch, and the bench's longest event-loop delay. */
export function probeBy10s(samples: WatchProbeSample[], loopDelay: [number, number][], from: number): ProbeWindows {
  const answered: number[][] = [];
  const seen: number[][] = [];
  const seenBy2s: number[][] = [];
  let lost = 0;
  for (const s of samples) {
    if (s.sentAt < from) continue;
    const w = Math.floor((s.sentAt - from) / 10_000);
    if (s.answeredAt === undefined || s.seenAt === undefined) {
      lost++;
      continue;
    }
    (answered[w] ??= []).push(s.answeredAt - s.sentAt);
    (seen[w] ??= []).push(Math.max(0, s.seenAt - s.answeredAt));
    if (w === 0) (seenBy2s[Math.floor((s.sentAt - from) / 2_000)] ??= []).push(Math.max(0, s.seenAt - s.answeredAt));
  }
  const loop: number[] = [];
  for (const [t, ms] of loopDelay) {
    if (t < from) continue;
    const w = Math.floor((t - from) / 10_000);
    loop[w] = Math.max(loop[w] ?? 0, Math.round(ms));
  }
  // A window without a sample is undefined (printed '-'), never 0: 0 would read as the best figure.
  const p99s = (by: number[][]): (number | undefined)[] => Array.from(by, (v) => (v === undefined || v.length === 0 ? undefined : summarize(v).p99Ms));
  return { answered: p99s(answered), seen: p99s(seen), seenFirst10sBy2s: p99s(seenBy2s), lost, benchLoopMaxMs: Array.from(loop, (v) => v) };
}

/** p99 per window (ms; undefined: no sample in it), writes never answered or never seen. */
export interface ProbeWindows {
  answered: (number | undefined)[];
  seen: (number | undefined)[];
  seenFirst10sBy2s: (number | undefined)[];
  lost: number;
  benchLoopMaxMs: (number | undefined)[];
}

/**
 * kube-apiserver's log text: the watchers its watch cache closed for not keeping up, counted by
 * the watcher's description (resource, key, selectors); and, by resource, the most events its
 * cacher's incoming channel (events from etcd not yet dispatched; 100 slots) held. The cacher logs
 * that only at a new high since kube-apiserver started, so a later case on the same apiserver
 * shows it only if its backlog went higher.
 */
export function unresponsiveWatchers(text: string): { closed: Record<string, number>; incomingPeak: Record<string, number> } {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/Forcing (\S+) watcher close due to unresponsiveness(?: \(reason = [^)]*\))?: (.*?)\. len\(c\.input\)/g)) {
    const key = `${m[1]} ${m[2]}`.slice(0, 200);
    out[key] = (out[key] ?? 0) + 1;
  }
  const incomingPeak: Record<string, number> = {};
  for (const m of text.matchAll(/cacher \((\S+)\): (\d+) objects queued in incoming channel/g)) {
    incomingPeak[m[1]!] = Math.max(incomingPeak[m[1]!] ?? 0, Number(m[2]));
  }
  return { closed: out, incomingPeak };
}

// ---- /proc -------------------------------------------------------------------------------------

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ProcSample {
  rssBytes: number;
  hwmBytes: number;
  cpuSeconds: number;
}

export function procSample(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? '0') * 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM'), cpuSeconds: (utime + stime) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine so far (every CPU, /proc/stat: all but idle and iowait). */
export function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}

/** Samples the RSS of a set of processes (summed) every `intervalMs`; keeps the peak. */
export class RssSampler {
  peakBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  private readonly pids: () => number[];

  constructor(pids: () => number[]) {
    this.pids = pids;
  }

  start(intervalMs = 500): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    let sum = 0;
    for (const pid of this.pids()) sum += procSample(pid)?.rssBytes ?? 0;
    this.peakBytes = Math.max(this.peakBytes, sum);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}

export function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (procSample(pid)?.cpuSeconds ?? 0), 0);
}

// ---- apiserver requests per client (APF flow schemas) --------------------------------------------

/** GET <server>/metrics with the kubeconfig's credentials. */
export async function apiserverMetrics(kc: k8s.KubeConfig): Promise<string> {
  return (await apiserverGet(kc, '/metrics', 60_000)).toString();
}

/**
 * kube-apiserver's own CPU profile over the next `seconds` (Go's pprof, served at
 * /debug/pprof/profile: `--profiling` is on by default), as pprof's protobuf.
 */
export function apiserverCpuProfile(kc: k8s.KubeConfig, seconds: number): Promise<Buffer> {
  return apiserverGet(kc, `/debug/pprof/profile?seconds=${seconds}`, 60_000 + seconds * 1000);
}

/** GET <server><path> with the kubeconfig's credentials: the body, or an error naming the status. */
async function apiserverGet(kc: k8s.KubeConfig, path: string, baseMs: number): Promise<Buffer> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const opts: RequestOptions = { method: 'GET', hostname: url.hostname, port: url.port, path: `${url.pathname}${url.search}` };
  await kc.applyToHTTPSOptions(opts);
  return withDeadline(
    (signal) =>
      new Promise<Buffer>((resolve, reject) => {
        const req = request({ ...opts, signal }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${url.pathname}: HTTP ${res.statusCode}`))));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      }),
    budget({ baseMs }),
    `an answer to GET ${url.href}`,
  );
}

/** Requests dispatched per flow schema (`apiserver_flowcontrol_dispatched_requests_total`). */
export function dispatchedByFlowSchema(metricsText: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('apiserver_flowcontrol_dispatched_requests_total{')) continue;
    const schema = /flow_schema="([^"]*)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (schema !== undefined && Number.isFinite(value)) out.set(schema, (out.get(schema) ?? 0) + value);
  }
  return out;
}

/**
 * The apiserver's own latency histogram of `PATCH pods/status` (all clients; in the bench the
 * systems' status writes): cumulative counts per bucket upper bound (seconds).
 */
export function statusPatchBuckets(metricsText: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('apiserver_request_duration_seconds_bucket{')) continue;
    if (!line.includes('verb="PATCH"') || !line.includes('resource="pods"') || !line.includes('subresource="status"')) continue;
    const le = /le="([^"]*)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(value)) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + value);
  }
  return out;
}

/** apiserver_terminated_watchers_total summed over resources: watchers the watch cache closed because they did not keep up. */
export function terminatedWatchers(metricsText: string): number {
  let sum = 0;
  for (const line of metricsText.split('\n')) if (line.startsWith('apiserver_terminated_watchers_total')) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  return sum;
}

/**
 * The provider's own histogram of its status writes (`eci_vn_pod_status_write_duration_seconds`:
 * request to answer, as the provider waits for it): cumulative counts per bucket upper bound.
 */
export function providerStatusWriteBuckets(metricsText: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('eci_vn_pod_status_write_duration_seconds_bucket{')) continue;
    const le = /le="([^"]*)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le !== undefined && Number.isFinite(value)) out.set(le === '+Inf' ? Infinity : Number(le), value);
  }
  return out;
}

/** GET a provider's /metrics (plain HTTP). */
export async function providerMetrics(url: string): Promise<string> {
  const res = await fetchText(url, { what: `GET ${url}` });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text;
}

/** Between two scrapes of a latency histogram: how many, the buckets holding the p50 and the p99, the share over 1 s. */
export function statusPatchLatency(before: Map<number, number>, after: Map<number, number>): { count: number; p50AtMostSeconds: number; p99AtMostSeconds: number; overOneSecondPct: number } | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const delta = (b: number): number => (after.get(b) ?? 0) - (before.get(b) ?? 0);
  const count = delta(Infinity);
  if (count <= 0) return undefined;
  const p50 = bounds.find((b) => delta(b) >= 0.5 * count) ?? Infinity;
  const p99 = bounds.find((b) => delta(b) >= 0.99 * count) ?? Infinity;
  const within1s = bounds.filter((b) => b <= 1).reduce((m, b) => Math.max(m, delta(b)), 0);
  return { count, p50AtMostSeconds: p50, p99AtMostSeconds: p99, overOneSecondPct: (100 * (count - within1s)) / count };
}

// ---- the cloud simulator's admin API -----------------------------------------------------------

export interface SimRequestStats {
  ok: number;
  errors: Record<string, number>;
  /** Milliseconds inside the simulator, summed over the calls (request read -> answer written). */
  ms?: number;
}

export async function simAdmin<T>(adminEndpoint: string, token: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetchText(`${adminEndpoint}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    what: `cloudsim admin ${init.method ?? 'GET'} ${path}`,
  });
  if (!res.ok) throw new Error(`cloudsim admin ${path}: HTTP ${res.status} ${res.text}`);
  return JSON.parse(res.text) as T;
}

export async function simRequests(adminEndpoint: string, token: string): Promise<Record<string, SimRequestStats>> {
  const state = await simAdmin<{ requests: Record<string, SimRequestStats> }>(adminEndpoint, token, '/admin/state');
  return state.requests;
}

/** Calls per action between two snapshots (successful + failed), and the throttled ones. */
export function callDelta(
  before: Record<string, SimRequestStats>,
  after: Record<string, SimRequestStats>,
): { calls: Record<string, number>; throttled: Record<string, number>; errors: Record<string, number> } {
  const total = (s: SimRequestStats | undefined): number => (s === undefined ? 0 : s.ok + Object.values(s.errors).reduce((a, b) => a + b, 0));
  const calls: Record<string, number> = {};
  const throttled: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const action of Object.keys(after)) {
    const d = total(after[action]) - total(before[action]);
    if (d > 0) calls[action] = d;
    for (const [code, n] of Object.entries(after[action]?.errors ?? {})) {
      const dn = n - (before[action]?.errors[code] ?? 0);
      if (dn <= 0) continue;
      if (code.startsWith('Throttling') || code === 'Degrade.Api') throttled[action] = (throttled[action] ?? 0) + dn;
      else errors[`${action}:${code}`] = dn;
    }
  }
  return { calls, throttled, errors };
}

// ---- statistics ---------------------------------------------------------------------------------

export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface LatencySummary {
  count: number;
  p50Ms?: number;
  p90Ms?: number;
  p99Ms?: number;
  maxMs?: number;
}

/**
 * Where bound->Running went, per pod, from the provider's step timings (same machine, same clock):
 * bound (the bench's watch, as in the headline latency: never PodScheduled's lastTransitionTime,
 * which has 1 s resolution) -> the provider's watch delivered it -> the create began (network
 * chosen next) -> the create answered -> Running written -> the bench's watch saw Running. Pods
 * without timings (other systems) are left out.
 */
export function stepBreakdown(records: readonly PodRecord[]): Record<string, LatencySummary> | undefined {
  const timed = records.filter((r) => r.steps?.createStarted !== undefined && r.steps.created !== undefined && r.steps.running !== undefined && r.runningAt !== undefined && r.boundAt !== undefined);
  if (timed.length === 0) return undefined;
  const d = (f: (r: PodRecord, s: StepTimings) => number) => summarize(timed.map((r) => Math.max(0, f(r, r.steps!))));
  // The provider's `bound` falls back to PodScheduled's time when its watch was > 2 s late: then
  // the wait is counted in the next step.
  const providerSaw = (r: PodRecord, s: StepTimings): number => Math.max(r.boundAt!, s.bound ?? r.boundAt!);
  return {
    'bound -> provider saw it': d((r, s) => providerSaw(r, s) - r.boundAt!),
    'provider saw it -> create began': d((r, s) => s.createStarted! - providerSaw(r, s)),
    'create began -> answered': d((_, s) => s.created! - s.createStarted!),
    'create answered -> Running written': d((_, s) => s.running! - s.created!),
    'Running written -> seen by the bench': d((r, s) => r.runningAt! - s.running!),
  };
}

export function summarize(latenciesMs: number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) };
}
