// Prometheus metrics (prom-client): the histograms, counters and gauges under the
// `eci_vn_` prefix, base units (seconds), counters ending in `_total`, and a small HTTP server
// with /metrics (text exposition 0.0.4), /healthz (liveness) and /readyz (the readiness checks).
//
// Recording is cheap and typed: `metrics.cloudCall({ action, code, durationMs, throttleWaitMs })`
// is a few map lookups and additions, safe on the sync path. State that already lives elsewhere
// (queue depth, pods by phase, free IPs, PodNetworking status) is better read at scrape time:
// `metrics.observe({ workqueueDepth: () => queue.size, ... })` costs nothing between scrapes.
// Names: METRIC in provider/telemetry/names.ts; documented in docs/telemetry.md.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import type { ReadinessReport } from '../../provider/runtime/readiness.ts';
import { CLOUD_CALL_OK, METRIC, type PodSyncResultLabel } from '../../provider/telemetry/names.ts';

/** One syncPod(key) pass: milliseconds. */
export const POD_SYNC_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** One apiserver write: milliseconds, seconds when the apiserver is saturated. */
export const STATUS_WRITE_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** ECI start-up: tens of seconds, minutes when an image is large. */
export const BOUND_TO_RUNNING_BUCKETS_SECONDS = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];
/** One OpenAPI round trip. */
export const CLOUD_CALL_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Waiting for a rate-limit slot: usually none, seconds under a burst. */
export const THROTTLE_WAIT_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60];

/** Kubernetes pod phases: always exported (0 when none), so a phase never vanishes from a graph. */
export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
/** PodNetworking statuses: `Pending` stands for "no status yet". */
export const PODNETWORKING_STATUSES = ['Ready', 'Fail', 'Pending'] as const;

export interface PodSyncRecord {
  result: PodSyncResultLabel;
  durationMs: number;
}

/** One cloud call attempt; the shape of adapters/alibabacloud's CallInfo (`queuedMs` = throttle wait). */
export interface CloudCallRecord {
  action: string;
  /** The cloud's error code; absent or undefined on success (label `OK`). */
  code?: string | undefined;
  durationMs: number;
  /** Time waited for the rate-limit slot. */
  throttleWaitMs?: number | undefined;
  /** The trace the call belongs to (sampled), kept as the duration histogram's exemplar. */
  traceId?: string | undefined;
}

export interface VSwitchFreeIps {
  vSwitchId: string;
  zoneId: string;
  freeIps: number;
}

export interface PodNetworkingState {
  name: string;
  /** `Ready`, `Fail`, or undefined when not resolved yet (`Pending`). */
  status: string | undefined;
}

/** One network's IP figures (provider/networking/networks.ts). */
export interface NetworkIpState {
  /** `default`, `podnetworking/<name>`, `pool/<name>`. */
  network: string;
  freeIps: number;
  pods: number;
  headroomLow: boolean;
  driftPods: number;
}

/** Read at scrape time. A source that throws leaves its metric as it was. */
export interface MetricSources {
  workqueueDepth?: () => number;
  /** Pod count by phase; missing phases count 0. */
  podsByPhase?: () => Readonly<Record<string, number>>;
  vSwitchFreeIps?: () => Iterable<VSwitchFreeIps>;
  podNetworkingStatus?: () => Iterable<PodNetworkingState>;
  networks?: () => Iterable<NetworkIpState>;
}

export interface MetricsOptions {
  /** Also export prom-client's process_* and nodejs_* metrics (CPU, memory, event loop lag, GC). */
  processMetrics?: boolean;
  /** Labels on every series (e.g. `{ cluster: 'c-1' }`); keep them few and constant. */
  defaultLabels?: Readonly<Record<string, string>>;
}

const seconds = (ms: number): number => Math.max(0, ms) / 1000;

/** The exemplar of an observation: the trace it belongs to (OpenMetrics' `trace_id` label), if any. */
const exemplarOf = (traceId: string | undefined): Record<string, string> => (traceId === undefined ? {} : { trace_id: traceId });

export class ProviderMetrics {
  readonly registry: Registry;
  /** The same metrics in the OpenMetrics exposition, with exemplars (trace ids) on two histograms. */
  readonly openMetricsRegistry: Registry<OpenMetricsContentType>;
  private readonly podSyncDuration: Histogram<'result'>;
  private readonly boundToRunning: Histogram;
  private readonly statusWriteDuration: Histogram;
  private readonly boundToRunningExemplars: Histogram;
  private readonly cloudCallDurationExemplars: Histogram<'action'>;
  private readonly cloudCalls: Counter<'action' | 'code'>;
  private readonly cloudCallDuration: Histogram<'action'>;
  private readonly throttleWait: Histogram<'action'>;
  private readonly workqueueDepth: Gauge;
  private readonly pods: Gauge<'phase'>;
  private readonly vSwitchFreeIps: Gauge<'vswitch' | 'zone'>;
  private readonly podNetworkingStatus: Gauge<'podnetworking' | 'status'>;
  private readonly leader: Gauge;
  private readonly networkFreeIps: Gauge<'network'>;
  private readonly networkPods: Gauge<'network'>;
  private readonly networkHeadroomLow: Gauge<'network'>;
  private readonly networkDrift: Gauge<'network'>;
  private sources: MetricSources = {};

  constructor(options: MetricsOptions = {}) {
    const registry = new Registry();
    this.registry = registry;
    // Every metric is in both registries; only the OpenMetrics one writes exemplars.
    const openMetrics = new Registry<OpenMetricsContentType>();
    openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    this.openMetricsRegistry = openMetrics;
    const registers: (Registry | Registry<OpenMetricsContentType>)[] = [registry, openMetrics];
    for (const r of registers) {
      if (options.defaultLabels !== undefined) r.setDefaultLabels({ ...options.defaultLabels });
      if (options.processMetrics === true) collectDefaultMetrics({ register: r });
    }

    this.podSyncDuration = new Histogram({
      name: METRIC.podSyncDuration,
      help: 'Duration of one pod sync pass (load, plan, act, report), by result: done, requeue or error.',
      labelNames: ['result'],
      buckets: POD_SYNC_BUCKETS_SECONDS,
      registers,
    });
    this.statusWriteDuration = new Histogram({
      name: METRIC.podStatusWriteDuration,
      help: 'Duration of one pod status write (PATCH pods/status), from the request to the apiserver answer, as the provider waits for it.',
      buckets: STATUS_WRITE_BUCKETS_SECONDS,
      registers,
    });
    // prom-client keeps exemplars only in OpenMetrics registries: the two histograms with exemplars
    // are one object per registry, both observed.
    const boundToRunning = (exemplars: boolean, register: Registry | Registry<OpenMetricsContentType>) =>
      new Histogram({
        name: METRIC.podBoundToRunning,
        help: 'Time from a pod bound to a virtual node to the pod Running (container group started in ECI).',
        buckets: BOUND_TO_RUNNING_BUCKETS_SECONDS,
        enableExemplars: exemplars,
        registers: [register],
      });
    this.boundToRunning = boundToRunning(false, registry);
    this.boundToRunningExemplars = boundToRunning(true, openMetrics);
    this.cloudCalls = new Counter({
      name: METRIC.cloudCalls,
      help: 'ECI and VPC OpenAPI call attempts, by action and result code (OK, or the cloud error code).',
      labelNames: ['action', 'code'],
      registers,
    });
    const cloudCallDuration = (exemplars: boolean, register: Registry | Registry<OpenMetricsContentType>) =>
      new Histogram({
        name: METRIC.cloudCallDuration,
        help: 'Duration of one ECI or VPC OpenAPI call attempt, after rate-limit pacing, by action.',
        labelNames: ['action'],
        buckets: CLOUD_CALL_BUCKETS_SECONDS,
        enableExemplars: exemplars,
        registers: [register],
      });
    this.cloudCallDuration = cloudCallDuration(false, registry);
    this.cloudCallDurationExemplars = cloudCallDuration(true, openMetrics);
    this.throttleWait = new Histogram({
      name: METRIC.cloudThrottleWait,
      help: 'Time a cloud call attempt waited for its per-action rate-limit slot, by action.',
      labelNames: ['action'],
      buckets: THROTTLE_WAIT_BUCKETS_SECONDS,
      registers,
    });
    this.workqueueDepth = new Gauge({
      name: METRIC.workqueueDepth,
      help: 'Pod keys waiting in the pod work queue or being synced.',
      registers,
      collect: () => this.collect('workqueueDepth', (depth) => this.workqueueDepth.set(depth)),
    });
    this.pods = new Gauge({
      name: METRIC.pods,
      help: "Pods on this provider's virtual nodes, by phase.",
      labelNames: ['phase'],
      registers,
      collect: () => this.collect('podsByPhase', (byPhase) => this.setPods(byPhase)),
    });
    for (const phase of POD_PHASES) this.pods.set({ phase }, 0);
    this.vSwitchFreeIps = new Gauge({
      name: METRIC.vSwitchFreeIps,
      help: 'Free IPs of a vSwitch as the cloud last reported them, by vSwitch and zone.',
      labelNames: ['vswitch', 'zone'],
      registers,
      collect: () => this.collect('vSwitchFreeIps', (list) => this.setVSwitchFreeIps(list)),
    });
    this.podNetworkingStatus = new Gauge({
      name: METRIC.podNetworkingStatus,
      help: 'PodNetworking status: 1 for the current status (Ready, Fail, Pending = not resolved yet), 0 for the others.',
      labelNames: ['podnetworking', 'status'],
      registers,
      collect: () => this.collect('podNetworkingStatus', (list) => this.setPodNetworkingStatus(list)),
    });
    // One collect fills the four network gauges (read together, so they agree with each other).
    this.networkFreeIps = new Gauge({
      name: METRIC.networkFreeIps,
      help: 'Free IPs of the vSwitches of a network (default, podnetworking/<name>, pool/<name>), as last polled.',
      labelNames: ['network'],
      registers,
      collect: () => this.collect('networks', (list) => this.setNetworks(list)),
    });
    this.networkPods = new Gauge({ name: METRIC.networkPods, help: 'Pods on the virtual nodes that a network serves (holding or about to hold an IP).', labelNames: ['network'], registers });
    this.networkHeadroomLow = new Gauge({
      name: METRIC.networkIpHeadroomLow,
      help: "1 while a network's free IPs are below the configured ratio (default 2) x its pods, else 0.",
      labelNames: ['network'],
      registers,
    });
    this.networkDrift = new Gauge({
      name: METRIC.networkIpDriftPods,
      help: "Pods whose IP lies outside their network's vSwitch CIDRs (the placement guarantee's tripwire; should stay 0).",
      labelNames: ['network'],
      registers,
    });
    // Every replica exports it (0 on followers), so "no replica leads" is `sum(...) < 1`, not a missing series.
    this.leader = new Gauge({
      name: METRIC.leader,
      help: 'Whether this replica holds the leader Lease and runs the virtual nodes and pod sync: 1 on the leader, 0 otherwise.',
      registers,
    });
    this.leader.set(0);
  }

  /** One syncPod(key) pass. */
  podSync(record: PodSyncRecord): void {
    this.podSyncDuration.observe({ result: record.result }, seconds(record.durationMs));
  }

  /** A pod reached Running, `durationMs` after it was bound to a node. Record once per pod. */
  podBoundToRunning(durationMs: number, traceId?: string): void {
    this.boundToRunning.observe(seconds(durationMs));
    this.boundToRunningExemplars.observe({ labels: {}, value: seconds(durationMs), exemplarLabels: exemplarOf(traceId) });
  }

  /** A pod status write answered (or failed) `durationMs` after it was sent. */
  podStatusWrite(durationMs: number): void {
    this.statusWriteDuration.observe(seconds(durationMs));
  }

  /** One cloud call attempt (wire it to CloudCaller's `onCall`). */
  cloudCall(record: CloudCallRecord): void {
    const action = record.action;
    this.cloudCalls.inc({ action, code: record.code ?? CLOUD_CALL_OK });
    this.cloudCallDuration.observe({ action }, seconds(record.durationMs));
    this.cloudCallDurationExemplars.observe({ labels: { action }, value: seconds(record.durationMs), exemplarLabels: exemplarOf(record.traceId) });
    if (record.throttleWaitMs !== undefined) this.throttleWait.observe({ action }, seconds(record.throttleWaitMs));
  }

  setWorkqueueDepth(depth: number): void {
    this.workqueueDepth.set(depth);
  }

  /** Leadership gained (true) or lost (false). */
  setLeader(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }

  /** Replaces the pods-by-phase counts (phases not given count 0). */
  setPods(byPhase: Readonly<Record<string, number>>): void {
    this.pods.reset();
    for (const phase of POD_PHASES) this.pods.set({ phase }, 0);
    for (const [phase, count] of Object.entries(byPhase)) this.pods.set({ phase }, count);
  }

  /** Replaces the free-IP gauge: vSwitches not listed disappear. */
  setVSwitchFreeIps(list: Iterable<VSwitchFreeIps>): void {
    this.vSwitchFreeIps.reset();
    for (const v of list) this.vSwitchFreeIps.set({ vswitch: v.vSwitchId, zone: v.zoneId }, v.freeIps);
  }

  /** Replaces the PodNetworking status gauge: PodNetworkings not listed disappear. */
  setPodNetworkingStatus(list: Iterable<PodNetworkingState>): void {
    this.podNetworkingStatus.reset();
    for (const pn of list) {
      const current = pn.status === undefined || pn.status === '' ? 'Pending' : pn.status;
      const statuses = new Set<string>([...PODNETWORKING_STATUSES, current]);
      for (const status of statuses) this.podNetworkingStatus.set({ podnetworking: pn.name, status }, status === current ? 1 : 0);
    }
  }

  /** Replaces the four network gauges: networks not listed disappear. */
  setNetworks(list: Iterable<NetworkIpState>): void {
    for (const g of [this.networkFreeIps, this.networkPods, this.networkHeadroomLow, this.networkDrift]) g.reset();
    for (const n of list) {
      const labels = { network: n.network };
      this.networkFreeIps.set(labels, n.freeIps);
      this.networkPods.set(labels, n.pods);
      this.networkHeadroomLow.set(labels, n.headroomLow ? 1 : 0);
      this.networkDrift.set(labels, n.driftPods);
    }
  }

  /** Registers scrape-time sources (replacing earlier ones of the same name). */
  observe(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** The text exposition, as served on /metrics: Prometheus text 0.0.4, or OpenMetrics 1.0 (with exemplars). */
  text(openMetrics = false): Promise<string> {
    return (openMetrics ? this.openMetricsRegistry : this.registry).metrics();
  }

  contentTypeOf(openMetrics = false): string {
    return (openMetrics ? this.openMetricsRegistry : this.registry).contentType;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private collect<K extends keyof MetricSources>(name: K, apply: (value: ReturnType<NonNullable<MetricSources[K]>>) => void): void {
    const source = this.sources[name];
    if (source === undefined) return;
    try {
      apply(source() as ReturnType<NonNullable<MetricSources[K]>>);
    } catch {
      // A failing source must not fail the whole scrape; its metric keeps its last value.
    }
  }
}

export function createMetrics(options: MetricsOptions = {}): ProviderMetrics {
  return new ProviderMetrics(options);
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface MetricsServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 0.0.0.0 (Prometheus scrapes the pod IP). */
  host?: string;
  metrics: ProviderMetrics;
  /** /healthz answers 503 while this returns false. Default: always healthy. */
  healthy?: () => boolean;
  /** What /readyz reports (503 with the failing checks while not ready). Default: always ready. */
  readiness?: () => ReadinessReport;
}

export interface MetricsServer {
  /** The port actually bound. */
  port: number;
  /** e.g. `http://127.0.0.1:9100`; scrape `${url}/metrics`. */
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8', headOnly = false): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(headOnly ? undefined : body);
}

async function handle(req: IncomingMessage, res: ServerResponse, o: MetricsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return send(res, 404, 'not found: try /metrics, /healthz or /readyz\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }
  const headOnly = req.method === 'HEAD';
  if (path === '/healthz') {
    const ok = o.healthy?.() ?? true;
    return send(res, ok ? 200 : 503, ok ? 'ok\n' : 'unhealthy\n', undefined, headOnly);
  }
  if (path === '/readyz') {
    const report = o.readiness?.();
    return send(res, report === undefined || report.ready ? 200 : 503, report?.text ?? 'ok\n', undefined, headOnly);
  }
  // Prometheus asks for OpenMetrics (and so gets exemplars) when exemplar storage is on.
  const openMetrics = /application\/openmetrics-text/i.test(req.headers.accept ?? '');
  return send(res, 200, await o.metrics.text(openMetrics), o.metrics.contentTypeOf(openMetrics), headOnly);
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    handle(req, res, o).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else send(res, 500, `metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  server.requestTimeout = 30_000;
  const host = o.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${urlHost}:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      })),
  };
}
