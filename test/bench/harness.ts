// The benchmark harness: one control plane, then for each mode and system: start it, create N pods
// as Deployments, wait until every pod is Running, (eci-vn) SIGKILL the provider and start it
// again, offer pods at a fixed rate for the latency figure, delete everything, stop the system.
// Every figure comes from what one watcher saw, /proc, the apiserver's APF metrics and the cloud
// simulator's request counters. `runBenchmark` is shared by `npm run bench` (run.ts) and the
// quick integration test.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { serialize } from 'node:v8';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { issueCertificate } from '../../adapters/tls/certificates.ts';
import { buildMutatingWebhookConfiguration } from '../../adapters/webhook/registration.ts';
import { leanPod } from '../../adapters/kubernetes/lean.ts';
import { loadKubeConfig } from '../../adapters/kubernetes/client.ts';
import { containerGroupName } from '../../provider/eci/names.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import { parseStepTimings, STEP_TIMINGS_ANNOTATION } from '../../provider/telemetry/names.ts';
import { ensureControlPlaneBinaries } from '../controlplane/binaries.ts';
import { startControlPlane } from '../controlplane/controlplane.ts';
import { renderKubeconfig } from '../controlplane/kubeconfig.ts';
import { apiserverCpuProfile, apiserverMetrics, providerMetrics, providerStatusWriteBuckets, statusPatchBuckets, statusPatchLatency, terminatedWatchers, callDelta, stepBreakdown, cpuSecondsOf, dispatchedByFlowSchema, machineBusySeconds, PodRecorder, WatchProbe, probeBy10s, unresponsiveWatchers, type ProbeWindows, procSample, RssSampler, simAdmin, simRequests, summarize, type LatencySummary, type PodRecord, type SimRequestStats } from './measure.ts';
import { restartPhases } from './report.ts';
import { providerEntryFor, SOURCES_ENTRY, type ProviderEntry } from './provider-build.ts';
import { BENCH_LABEL, buildPeers, startSystem, ZONES, type EciExtras, type Mode, type RunningSystem, type SystemName } from './systems.ts';
import { apiClient, budget, withDeadline } from '../helpers/deadline.ts';

const execFileAsync = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');

export interface ExistingControlPlane {
  server: string;
  kubeconfigPath: string;
  binDir: string;
  caCertPem: string;
  caKeyPem: string;
}

export interface BenchOptions {
  pods: number;
  modes: Mode[];
  systems: SystemName[];
  /** Workers / parallelism given to every system. */
  workers: number;
  /** Deployments the pods are spread over. */
  deployments: number;
  /** Offered rate and count of the paced latency phase (0 pods = skipped). */
  pacedRate: number;
  pacedPods: number;
  /** SIGKILL + restart of our provider with N pods present. */
  restart: boolean;
  /**
   * What eci-vn runs: `compiled` (default) = the JavaScript of .ci/build, built once per run into
   * the run's work directory, as the image runs it; `sources` = the .ts files under type stripping
   * (no build: what bin/eci-virtual-node and the sandbox run).
   */
  provider?: 'compiled' | 'sources';
  statusPollIntervalMs?: number;
  cpuProfileDir?: string;
  /** Profile only the restarted provider (node --cpu-prof) into this directory. */
  cpuProfileRestartDir?: string;
  /** Run eci-vn's cloud simulator under node --cpu-prof into this directory (per mode). */
  cloudsimCpuProfileDir?: string;
  /** Take kube-apiserver's CPU profile over the first seconds of each case's create phase into this directory. */
  apiserverProfileDir?: string;
  /** Take kube-apiserver's CPU profile over the first seconds of the restart (from the spawn) into this directory. */
  apiserverRestartProfileDir?: string;
  /** Use this control plane instead of starting one (the integration test's). */
  controlPlane?: ExistingControlPlane;
  log: (line: string) => void;
}

/** A latency histogram between two scrapes (see statusPatchLatency). */
export type StatusWriteLatency = { count: number; p50AtMostSeconds: number; p99AtMostSeconds: number; overOneSecondPct: number };

export interface PhaseFigures {
  pods: number;
  running: number;
  failed: number;
  /** Pods / (last Running - first bound). */
  throughputPodsPerSec?: number;
  /** First Deployment created -> last pod Running. */
  endToEndSeconds?: number;
  latency: LatencySummary;
  seconds: number;
  /** eci-vn: percentiles of each step of bound->Running (see stepBreakdown). */
  steps?: Record<string, LatencySummary>;
}

export interface CaseResult {
  system: SystemName;
  mode: Mode;
  tuning: string;
  nodes: string[];
  create: PhaseFigures;
  paced?: PhaseFigures & {
    offeredPerSec: number;
    /** eci-vn: its status writes during the phase, timed by the apiserver and by the provider. */
    statusWrites?: { apiserver?: StatusWriteLatency; provider?: StatusWriteLatency };
    /**
     * CPU seconds by process from the first paced create until every paced pod is Running: whether
     * the offered rate asks more of the machine than its CPUs give (the latency then is a queue).
     */
    cpu?: { wallSeconds: number; byProcess: Record<string, number>; machineSeconds: number };
  };
  delete?: { pods: number; deleted: number; seconds: number; throughputPodsPerSec?: number };
  restart?: RestartFigures;
  quota?: {
    creates: number;
    windowSeconds: number;
    allowed: number;
    usedPct: number;
    throttled: number;
    /** Per pod: Running seen - its group created in the cloud (the simulator's clock, same host). */
    runningAfterGroupCreated?: LatencySummary;
    /**
     * The same lag in three legs, from the provider's step timings on each pod: the create's answer
     * (its `created` - the simulator's creation), the provider seeing the group Running (its
     * `running` - `created`; includes the cloud's own start and listing lag), the status write
     * reaching the watcher (Running seen - `running`).
     */
    lagLegs?: { answer: LatencySummary; seen: LatencySummary; written: LatencySummary };
    /** p99 of (Running - group created) of the groups created in each 10 s from the first create. */
    lagP99By10s?: (number | undefined)[];
    /** The same per 10 s for the legs `seen` and `written` (see lagLegs). */
    legP99By10s?: { seen: number[]; written: number[] };
    /** The provider's longest event-loop delay in each 10 s from the first create (heap-probe.ts). */
    loopDelayMaxBy10s?: number[];
    /**
     * The watch probe (measure.ts WatchProbe) per 10 s from the first create: p99 of a bench PATCH's
     * request -> answer and answer -> delivered by the bench's watch; writes never answered or
     * seen; the bench's own longest event-loop delay.
     */
    watchProbe?: ProbeWindows;
    /** Watchers the apiserver's watch cache closed for not keeping up, over the create phase. */
    watchersTerminated?: number;
    /**
     * The apiserver log's "Forcing watcher close due to unresponsiveness" lines of the create phase,
     * by watcher; and the most events a cacher's incoming channel held, by resource (logged only at
     * a new high since kube-apiserver started).
     */
    watchersTerminatedBy?: { closed: Record<string, number>; incomingPeak: Record<string, number> };
    /** The same for a ConfigMap patched alongside (another resource, another watch cache). */
    configMapProbe?: ProbeWindows;
    /** The provider's own status PATCH latency (request -> answer, its histogram) per 10 s from the first create: p99's bucket and count. */
    providerStatusWriteP99By10s?: { p99AtMostSeconds: number; count: number }[];
    /** The apiserver's own latency of PATCH pods/status over the create phase (its histogram). */
    statusPatchLatency?: StatusWriteLatency;
  };
  /**
   * Memory the N pods cost: (all Running) - (nodes Ready, no pod yet), scaled to 1000 pods. The
   * heap figure is heapUsed at those two moments (garbage included: no GC is forced).
   */
  memoryPer1000Pods?: { rssMiB: number; heapMiB?: number };
  /** The fixed part: RSS (all the system's processes) and heapUsed when its nodes are Ready, before any pod. */
  memoryAtReadyMiB?: { rssMiB: number; heapMiB?: number };
  /**
   * The provider's Events on the pods once all are Running (listed before the delete phase): per
   * pod by reason, and how many pods have more than one (eci-vn).
   */
  podEvents?: { byReason: Record<string, number>; podsWithMore: number; pods: number };
  /** The watch probe (measure.ts WatchProbe) per 10 s from the first Deployment: a pod and a ConfigMap. */
  watchProbeFromStart?: { pod: ReturnType<typeof probeBy10s>; configMap: ReturnType<typeof probeBy10s> };
  /** One cached pod, v8-serialized: as the apiserver sends it and as the lean cache keeps it (eci-vn). */
  cacheBytesPerPod?: { full: number; lean: number; sampled: number };
  cloudCallsPerPod?: Record<string, number>;
  cloudCallsPerPodTotal?: number;
  cloudErrors?: Record<string, number>;
  apiserverRequestsPerPod?: { create: number; delete: number; total: number };
  /** Create phase: this identity's requests per pod by kind (WRITE_KINDS), the rest as `other`. */
  apiserverCreateRequestsPerPodByKind?: Record<string, number>;
  /** Delete phase: the same, per pod deleted. */
  apiserverDeleteRequestsPerPodByKind?: Record<string, number>;
  rssPeakMiB: number;
  rssHwmMiB: number;
  heapPeakMiB?: number;
  /** The provider's own sample with the highest RSS (test/bench/heap-probe.ts): where RSS goes. */
  memoryAtPeak?: ProbeSample;
  /** The provider's RSS and V8 heap used peaks (its own samples) in each phase of the case. */
  rssPeakByPhaseMiB?: Record<string, { rssMiB: number; heapMiB: number }>;
  cpuSeconds: number;
  /**
   * eci-vn: CPU seconds of the cloud simulator (a process of its own on the same CPUs) and of the
   * provider over the create phase (first Deployment -> all Running), and the simulator's over the
   * restart (spawn -> every pod Ready) and the whole case.
   */
  simulatorCpu?: { createSeconds: number; providerCreateSeconds: number; restartSeconds?: number; totalSeconds: number; createCallMeanMs?: number };
  /**
   * Create phase (first Deployment -> all Running): CPU seconds by process (each control-plane
   * component, the system under test, the cloud simulator, this harness) and of the whole
   * machine, over `wallSeconds`. Says whether the phase was bound by the machine's CPUs and
   * which process spent them.
   */
  createCpu?: { wallSeconds: number; byProcess: Record<string, number>; machineSeconds: number };
  /** kube-apiserver's CPU profile over the first `seconds` of the create phase, and its top frames (`go tool pprof -top`). */
  apiserverProfile?: { file: string; seconds: number; top: string[] };
  /** Pods Running over time (seconds since the first Deployment was created, count). */
  series: [number, number][];
  errors: string[];
}

/** One line of the provider's memory file (test/bench/heap-probe.ts). */
export interface ProbeSample {
  t?: number;
  rss?: number;
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
  arrayBuffers?: number;
  rssAnonKiB?: number;
  rssFileKiB?: number;
  spacesKiB?: Record<string, number>;
  /** Anonymous RSS by mapping (KiB), read at each new RSS high: malloc's arenas and the rest. */
  native?: { brkKiB: number; arenasKiB: number; arenas: number; v8PagesKiB?: number; otherKiB: number; largestOtherKiB: number };
}

export interface RestartFigures {
  podsPresent: number;
  readySeconds: number;
  convergenceSeconds?: number;
  converged: number;
  createCalls: number;
  cloudCalls: Record<string, number>;
  /**
   * The harness's own status patches that made every pod stale (32 at once, SIGKILLed provider):
   * a client-side ceiling of this apiserver for N status patches on this machine, now.
   */
  stalePatch?: { seconds: number; perSecond: number };
  /**
   * CPU cores busy (CPU seconds / wall seconds) while the harness patched the pods stale and while
   * the restarted provider repaired them: kube-apiserver + etcd, the provider, the whole machine.
   */
  cores?: { stale: { controlPlane: number; machine: number }; repair: { controlPlane: number; provider: number; machine: number } };
  /**
   * The restarted provider's apiserver requests per pod present, by kind, from its spawn until
   * every pod is Ready again: a repair needs one status patch per pod; more means pods were
   * repaired twice (e.g. marked not Ready again by the node lifecycle controller meanwhile).
   */
  apiserverRequestsPerPodByKind?: Record<string, number>;
  /** The restarted provider's start-up phases from its own log, seconds after the spawn. */
  phases?: Record<string, number>;
  /**
   * CPU seconds by process from the spawn until every pod is Ready again (the create phase's
   * breakdown, for the repair window); `machine` is every CPU of the host, other tenants included.
   */
  cpuByProcess?: { wallSeconds: number; byProcess: Record<string, number>; machineSeconds: number };
  /** kube-apiserver's CPU profile over the first `seconds` after the spawn, and its top frames. */
  apiserverProfile?: { file: string; seconds: number; top: string[] };
  /** Seconds after the spawn: the first and the last pod seen Ready again; pods repaired per second between them. */
  firstReadySeconds?: number;
  lastReadySeconds?: number;
  repairPerSecond?: number;
}

export interface BenchResult {
  startedAt: string;
  host: { cpus: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[]; node: string };
  options: Omit<BenchOptions, 'log' | 'controlPlane'>;
  peerBuildErrors: string[];
  cases: CaseResult[];
}

const MiB = 1024 * 1024;
const caseNamespace = (runId: string, system: SystemName, mode: Mode): string => `bench-${runId}-${system}-${mode === 'unlimited' ? 'u' : 'q'}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Polls until `probe` is true (true) or the time is up (false: the caller records the error). A probe that hangs or throws counts as false. */
async function waitUntil(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await withDeadline(Promise.resolve().then(probe), Math.max(5_000, deadline - Date.now()), `one check of ${what}`).catch(() => false);
    if (ok) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

async function loadAverage(): Promise<number[]> {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

// ---- identities: one client certificate per system, one APF flow schema per identity ----------------

async function writeIdentityKubeconfig(cp: ExistingControlPlane, dir: string, user: string): Promise<string> {
  const cert = await issueCertificate({ ca: { certPem: cp.caCertPem, keyPem: cp.caKeyPem }, commonName: user, organizations: ['bench:systems'], usage: 'client' });
  const file = join(dir, `${user.replace(/[^a-z0-9-]/gi, '_')}.kubeconfig`);
  await writeFile(file, renderKubeconfig({ server: cp.server, caCertPem: cp.caCertPem, clientCertPem: cert.certPem, clientKeyPem: cert.keyPem, name: 'bench', user }), { mode: 0o600 });
  return file;
}

async function ensureIdentityAccess(kc: k8s.KubeConfig, runId: string, users: string[]): Promise<void> {
  const rbac = apiClient(kc, k8s.RbacAuthorizationV1Api);
  const flow = apiClient(kc, k8s.FlowcontrolApiserverV1Api);
  await rbac
    .createClusterRoleBinding({
      body: {
        metadata: { name: `bench-${runId}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: users.map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
      },
    })
    .catch(ignoreConflict);
  for (const user of users) {
    // One schema per write kind first (lower precedence number wins), then the catch-all: the
    // apiserver's per-schema counts give this identity's requests by kind.
    for (const kind of WRITE_KINDS) {
      await flow
        .createFlowSchema({
          body: {
            metadata: { name: flowSchemaName(runId, user, kind.name) },
            spec: {
              priorityLevelConfiguration: { name: 'exempt' },
              matchingPrecedence: 90,
              rules: [
                {
                  subjects: [{ kind: 'User', user: { name: user } }],
                  resourceRules: [{ verbs: [kind.verb], apiGroups: [...kind.apiGroups], resources: [kind.resource], clusterScope: true, namespaces: ['*'] }],
                },
              ],
            },
          },
        })
        .catch(ignoreConflict);
    }
    await flow
      .createFlowSchema({
        body: {
          metadata: { name: flowSchemaName(runId, user) },
          spec: {
            // Exempt like system:masters (the admin every other client uses): counted, never queued.
            priorityLevelConfiguration: { name: 'exempt' },
            matchingPrecedence: 100,
            rules: [
              {
                subjects: [{ kind: 'User', user: { name: user } }],
                resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] }],
                nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
              },
            ],
          },
        },
      })
      .catch(ignoreConflict);
  }
}

const flowSchemaName = (runId: string, user: string, kind?: string): string => `bench-${runId}-${user.replace(/[^a-z0-9-]/gi, '-')}${kind === undefined ? '' : `-${kind}`}`;

/** The writes a provider makes per pod, counted apart (each its own APF flow schema). */
export const WRITE_KINDS = [
  { name: 'patch-pods', verb: 'patch', apiGroups: [''], resource: 'pods' },
  { name: 'patch-pods-status', verb: 'patch', apiGroups: [''], resource: 'pods/status' },
  { name: 'update-pods-status', verb: 'update', apiGroups: [''], resource: 'pods/status' },
  { name: 'create-events', verb: 'create', apiGroups: ['', 'events.k8s.io'], resource: 'events' },
  { name: 'patch-events', verb: 'patch', apiGroups: ['', 'events.k8s.io'], resource: 'events' },
  { name: 'delete-pods', verb: 'delete', apiGroups: [''], resource: 'pods' },
] as const;

/** Requests per pod by kind between two counts, kinds with none left out. */
function perPodByKind(before: Record<string, number>, after: Record<string, number>, pods: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([kind, count]) => [kind, (count - (before[kind] ?? 0)) / Math.max(1, pods)] as const)
      .filter(([, perPod]) => perPod > 0),
  );
}

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code === 409) return;
  throw err;
}
function ignoreNotFound(err: unknown): void {
  if ((err as { code?: number }).code === 404) return;
  throw err;
}

async function cleanupIdentities(kc: k8s.KubeConfig, runId: string, users: string[]): Promise<void> {
  await apiClient(kc, k8s.RbacAuthorizationV1Api).deleteClusterRoleBinding({ name: `bench-${runId}` }).catch(() => {});
  const flow = apiClient(kc, k8s.FlowcontrolApiserverV1Api);
  for (const user of users) {
    await flow.deleteFlowSchema({ name: flowSchemaName(runId, user) }).catch(() => {});
    for (const kind of WRITE_KINDS) await flow.deleteFlowSchema({ name: flowSchemaName(runId, user, kind.name) }).catch(() => {});
  }
}

// ---- the workload ---------------------------------------------------------------------------------------

function deploymentsFor(
  system: RunningSystem,
  namespace: string,
  runId: string,
  pods: number,
  count: number,
): k8s.V1Deployment[] {
  const pns = system.eci?.podNetworkings ?? [];
  const out: k8s.V1Deployment[] = [];
  for (let i = 0; i < count; i++) {
    const replicas = Math.floor(pods / count) + (i < pods % count ? 1 : 0);
    if (replicas === 0) continue;
    const app = `load-${i}`;
    // eci-vn: a third of the Deployments per PodNetworking (zone a; zones b+c), a third on the
    // default network (all zones). Peers get the same Deployments without the network labels.
    const network: Record<string, string> = pns.length === 0 || i % 3 === 2 ? {} : { net: pns[i % 3]!.label };
    out.push({
      metadata: { name: app, namespace, labels: { [BENCH_LABEL]: runId } },
      spec: {
        replicas,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app, [BENCH_LABEL]: runId, ...network } },
          spec: {
            ...system.placement,
            enableServiceLinks: false,
            automountServiceAccountToken: false,
            containers: [{ name: 'main', image: 'registry.example.com/bench/app:1', resources: { requests: { cpu: '250m', memory: '512Mi' } } }],
          },
        },
      },
    });
  }
  return out;
}

async function createPodNetworkings(kc: k8s.KubeConfig, system: RunningSystem): Promise<void> {
  const custom = apiClient(kc, k8s.CustomObjectsApi);
  const { group, version, plural, apiVersion } = PODNETWORKING_API;
  const [a, bc] = system.eci!.podNetworkings;
  const specs = [
    { pn: a!, vSwitchOptions: ['vsw-bench0a', 'vsw-bench0b'] },
    { pn: bc!, vSwitchOptions: ['vsw-bench1a', 'vsw-bench1b', 'vsw-bench2a', 'vsw-bench2b'] },
  ];
  for (const { pn, vSwitchOptions } of specs) {
    await custom
      .createClusterCustomObject({
        group,
        version,
        plural,
        body: {
          apiVersion,
          kind: 'PodNetworking',
          metadata: { name: pn.name },
          spec: { selector: { podSelector: { matchLabels: { net: pn.label } } }, securityGroupIDs: ['sg-benchpn'], vSwitchOptions, vSwitchSelectOptions: { vSwitchSelectionPolicy: 'most' } },
        },
      })
      .catch(ignoreConflict);
  }
  const ok = await waitUntil(
    'PodNetworkings Ready',
    async () => {
      for (const { pn } of specs) {
        const got = (await custom.getClusterCustomObject({ group, version, plural, name: pn.name })) as { status?: { status?: string } };
        if (got.status?.status !== 'Ready') return false;
      }
      return true;
    },
    60_000,
    250,
  );
  if (!ok) throw new Error('the PodNetworkings did not become Ready within 60 s');
}

async function deletePodNetworkings(kc: k8s.KubeConfig, system: RunningSystem): Promise<void> {
  const custom = apiClient(kc, k8s.CustomObjectsApi);
  const { group, version, plural } = PODNETWORKING_API;
  for (const pn of system.eci?.podNetworkings ?? []) await custom.deleteClusterCustomObject({ group, version, plural, name: pn.name }).catch(() => {});
}

async function registerWebhook(kc: k8s.KubeConfig, runId: string, mode: Mode, eci: EciExtras): Promise<string> {
  const name = `bench-${runId}-${mode}`;
  const registration = buildMutatingWebhookConfiguration({ name, caBundle: Buffer.from(eci.webhookCaPem).toString('base64'), url: eci.webhookUrl, timeoutSeconds: 10 });
  for (const hook of registration.webhooks ?? []) hook.namespaceSelector = { matchLabels: { 'bench.eci-virtual-node.io/webhook': `${runId}-${mode}` } };
  await apiClient(kc, k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: registration });
  return name;
}

async function nodesReady(core: k8s.CoreV1Api, names: readonly string[]): Promise<boolean> {
  for (const name of names) {
    const node = await core.readNode({ name }).catch(() => undefined);
    if (node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') !== true) return false;
    if ((node.spec?.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/'))) return false;
  }
  return true;
}

function phaseFigures(records: PodRecord[], startedAt: number, endedAt: number): PhaseFigures {
  const running = records.filter((r) => r.runningAt !== undefined);
  const bound = records.filter((r) => r.boundAt !== undefined).map((r) => r.boundAt!);
  const lastRunning = Math.max(...running.map((r) => r.runningAt!));
  const firstBound = Math.min(...bound);
  const latencies = running.filter((r) => r.boundAt !== undefined).map((r) => Math.max(0, r.runningAt! - r.boundAt!));
  const complete = running.length === records.length && records.length > 0;
  const steps = stepBreakdown(records);
  return {
    pods: records.length,
    running: running.length,
    failed: records.filter((r) => r.failedAt !== undefined).length,
    ...(complete && lastRunning > firstBound ? { throughputPodsPerSec: running.length / ((lastRunning - firstBound) / 1000) } : {}),
    ...(complete ? { endToEndSeconds: (lastRunning - startedAt) / 1000 } : {}),
    latency: summarize(latencies),
    ...(steps === undefined ? {} : { steps }),
    seconds: (endedAt - startedAt) / 1000,
  };
}

function runningSeries(records: PodRecord[], t0: number): [number, number][] {
  const times = records
    .map((r) => r.runningAt)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  const series: [number, number][] = [[0, 0]];
  // At most ~400 points: one per step of the count.
  const step = Math.max(1, Math.floor(times.length / 400));
  for (let i = 0; i < times.length; i += step) series.push([(times[i]! - t0) / 1000, i + 1]);
  if (times.length > 0) series.push([(times.at(-1)! - t0) / 1000, times.length]);
  return series;
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

// ---- one case: one system in one mode -------------------------------------------------------------------

interface CaseEnv {
  runId: string;
  adminKc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  recorder: PodRecorder;
  workDir: string;
  kubeconfigOf: (system: SystemName) => string;
  userOf: (system: SystemName) => string;
  peerBinaries: { kwok?: string; virtualKubelet?: string; kwokStagesDir?: string };
  /** eci-vn's entry point and heap probe (compiled or sources). */
  providerEntry: ProviderEntry;
  /** kube-apiserver's and etcd's pids (empty for a control plane the bench did not start). */
  apiserverPids: () => number[];
  /** Every control-plane process by component name (empty for a control plane the bench did not start). */
  controlPlaneProcesses: () => readonly { name: string; pid: number; logFile?: string }[];
}

async function runCase(o: BenchOptions, env: CaseEnv, systemName: SystemName, mode: Mode): Promise<CaseResult> {
  const { runId, adminKc, core, apps, recorder } = env;
  const log = (line: string): void => o.log(`[${systemName}/${mode}] ${line}`);
  const errors: string[] = [];
  const namespace = caseNamespace(runId, systemName, mode);
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'bench.eci-virtual-node.io/webhook': `${runId}-${mode}` } } } });

  log('starting');
  let system: RunningSystem;
  try {
    system = await startSystem(
      systemName,
      {
        runId,
        mode,
        workers: o.workers,
        kubeconfig: env.kubeconfigOf(systemName),
        workDir: env.workDir,
        log,
        ...(o.statusPollIntervalMs === undefined ? {} : { statusPollIntervalMs: o.statusPollIntervalMs }),
        ...(o.cpuProfileDir === undefined || systemName !== 'eci-vn' ? {} : { cpuProfileDir: join(o.cpuProfileDir, mode) }),
        ...(o.cloudsimCpuProfileDir === undefined || systemName !== 'eci-vn' ? {} : { cloudsimCpuProfileDir: join(o.cloudsimCpuProfileDir, mode) }),
        peerBinaries: env.peerBinaries,
        providerEntry: env.providerEntry,
      },
      core,
    );
  } catch (err) {
    log(`error: ${errorText(err)}`);
    await core.deleteNamespace({ name: namespace }).catch(() => {});
    return { system: systemName, mode, tuning: '', nodes: [], create: { pods: o.pods, running: 0, failed: 0, latency: { count: 0 }, seconds: 0 }, rssPeakMiB: 0, rssHwmMiB: 0, cpuSeconds: 0, series: [], errors: [`start: ${errorText(err)}`] };
  }
  const rss = new RssSampler(() => system.pids());
  let webhookName: string | undefined;
  let hwm = 0;
  // When each phase began (ms), for the provider's RSS peak by phase.
  const phaseStarts: { phase: string; at: number }[] = [];
  let cpuAtStart = cpuSecondsOf(system.pids());
  /** CPU of process instances already gone (the SIGKILLed provider). */
  let cpuOfKilled = 0;
  const schema = flowSchemaName(runId, env.userOf(systemName));
  const kindSchemas = WRITE_KINDS.map((k) => [k.name, flowSchemaName(runId, env.userOf(systemName), k.name)] as const);
  /** This identity's dispatched requests: `other` (the catch-all schema) and one count per write kind. */
  const apiCounts = async (): Promise<Record<string, number>> => {
    const bySchema = dispatchedByFlowSchema(await apiserverMetrics(adminKc));
    const counts: Record<string, number> = { other: bySchema.get(schema) ?? 0 };
    for (const [kind, name] of kindSchemas) counts[kind] = bySchema.get(name) ?? 0;
    return counts;
  };
  const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);
  const cloud = system.eci;
  const simCpu = (): number => (cloud === undefined ? 0 : cpuSecondsOf(cloud.simPids()));
  // CPU seconds so far by process: the control plane's components, the system, the simulator, this harness.
  const cpuByProcess = (): { byProcess: Record<string, number>; machine: number } => {
    const byProcess: Record<string, number> = {};
    for (const p of env.controlPlaneProcesses()) byProcess[p.name] = (byProcess[p.name] ?? 0) + cpuSecondsOf([p.pid]);
    byProcess[systemName] = cpuSecondsOf(system.pids());
    if (cloud !== undefined) byProcess['cloud simulator'] = simCpu();
    const own = process.cpuUsage();
    byProcess['bench harness'] = (own.user + own.system) / 1e6;
    return { byProcess, machine: machineBusySeconds() };
  };
  const createCpuSince = (at: ReturnType<typeof cpuByProcess>, wallSeconds: number): NonNullable<CaseResult['createCpu']> => {
    const now = cpuByProcess();
    const byProcess: Record<string, number> = {};
    for (const [name, seconds] of Object.entries(now.byProcess)) byProcess[name] = seconds - (at.byProcess[name] ?? 0);
    return { wallSeconds, byProcess, machineSeconds: now.machine - at.machine };
  };
  const simCpuAtStart = simCpu();
  let simCpuAtEnd: number | undefined;
  const cloudCalls = async (): Promise<Record<string, SimRequestStats>> => (cloud === undefined ? {} : simRequests(cloud.adminEndpoint, cloud.adminToken));
  const result: CaseResult = {
    system: systemName,
    mode,
    tuning: system.tuning,
    nodes: system.nodeNames,
    create: { pods: 0, running: 0, failed: 0, latency: { count: 0 }, seconds: 0 },
    rssPeakMiB: 0,
    rssHwmMiB: 0,
    cpuSeconds: 0,
    series: [],
    errors,
  };
  const deployments: string[] = [];
  // The watch probe and its metric scrapes (BENCH_WATCH_PROBE=1): stopped in `finally` too, so a
  // case that fails midway does not leave them loading the cases after it.
  let probe: WatchProbe | undefined;
  let scraping: NodeJS.Timeout | undefined;
  try {
    rss.start();
    const ready = await waitUntil('nodes Ready', () => nodesReady(core, system.nodeNames), 90_000, 250);
    if (!ready) throw new Error(`nodes ${system.nodeNames.join(', ')} did not become Ready within 90 s`);
    if (cloud !== undefined) {
      webhookName = await registerWebhook(adminKc, runId, mode, cloud);
      await createPodNetworkings(adminKc, system);
    }
    log(`ready (${system.tuning})`);
    const memoryAtReady = memoryNow(system);
    result.memoryAtReadyMiB = { rssMiB: memoryAtReady.rss / MiB, ...(memoryAtReady.heap === undefined ? {} : { heapMiB: memoryAtReady.heap / MiB }) };
    const apiByKindAtStart = await apiCounts();
    const metricsAtStart = mode === 'quota-true' ? await apiserverMetrics(adminKc) : undefined;
    const apiserverLog = env.controlPlaneProcesses().find((p) => p.name === 'kube-apiserver')?.logFile;
    const apiserverLogAtStart = apiserverLog !== undefined && existsSync(apiserverLog) ? statSync(apiserverLog).size : undefined;
    const patchBucketsAtStart = metricsAtStart === undefined ? undefined : statusPatchBuckets(metricsAtStart);
    const apiAtStart = sum(apiByKindAtStart);
    const cloudAtStart = await cloudCalls();

    // -- create: N pods as Deployments, all at once ------------------------------------------------
    const specs = deploymentsFor(system, namespace, runId, o.pods, o.deployments);
    const simCpuAtCreate = simCpu();
    const providerCpuAtCreate = cpuSecondsOf(system.pids());
    const createCpuAt = cpuByProcess();
    // Its first seconds only (the phase's length is not known in advance): ~1 s per 100 pods.
    const apiserverProfileSeconds = Math.min(60, Math.max(5, Math.round(o.pods / 100)));
    const apiserverProfile = o.apiserverProfileDir === undefined ? undefined : apiserverCpuProfile(adminKc, apiserverProfileSeconds).then((body) => ({ body }), (err: unknown) => ({ err }));
    // BENCH_WATCH_PROBE=1: the watch's own delay to the bench (a probe pod and a ConfigMap patched
    // every 250 ms) and the provider's status PATCH latency (its histogram scraped every 2 s).
    // Opt-in: its writes and scrapes load the machine the figures are taken on.
    probe = process.env.BENCH_WATCH_PROBE === '1' ? new WatchProbe({ kc: adminKc, core, recorder, namespace: 'default', name: `bench-${runId}-${systemName}-${mode}-watch-probe`, label: { [BENCH_LABEL]: runId }, intervalMs: 250 }) : undefined;
    const writeScrapes: [number, Map<number, number>][] = [];
    if (probe !== undefined) {
      await probe.start().catch((err: unknown) => errors.push(`watch probe: ${errorText(err)}`));
      const metricsUrl = system.eci?.metricsUrl;
      const scrape = (): void => {
        if (metricsUrl === undefined) return;
        const at = Date.now();
        providerMetrics(metricsUrl).then(
          (text) => void writeScrapes.push([at, providerStatusWriteBuckets(text)]),
          () => {},
        );
      };
      scrape();
      scraping = setInterval(scrape, 2_000);
    }
    const t0 = Date.now();
    phaseStarts.push({ phase: 'create', at: t0 });
    for (const d of specs) {
      await apps.createNamespacedDeployment({ namespace, body: d });
      deployments.push(d.metadata!.name!);
    }
    const createTimeoutMs = 120_000 + o.pods * 100;
    const inNs = (): PodRecord[] => recorder.inNamespace(namespace);
    let lastLog = Date.now();
    const allRunning = await waitUntil(
      'pods Running',
      () => {
        const recs = inNs();
        const running = recs.filter((r) => r.runningAt !== undefined).length;
        const failed = recs.filter((r) => r.failedAt !== undefined).length;
        if (Date.now() - lastLog > 5_000) {
          lastLog = Date.now();
          log(`  ${running}/${o.pods} Running (${recs.filter((r) => r.boundAt !== undefined).length} bound, ${failed} Failed) after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        }
        return recs.length >= o.pods && running + failed >= o.pods;
      },
      createTimeoutMs,
      100,
    );
    const tCreated = Date.now();
    if (scraping !== undefined) clearInterval(scraping);
    await probe?.stop();
    if (probe !== undefined) result.watchProbeFromStart = { pod: probeBy10s(probe.samples, probe.loopDelay, t0), configMap: probeBy10s(probe.configMapSamples, [], t0) };
    result.createCpu = createCpuSince(createCpuAt, (tCreated - t0) / 1000);
    if (apiserverProfile !== undefined && o.apiserverProfileDir !== undefined) {
      const got = await apiserverProfile;
      if ('err' in got) errors.push(`kube-apiserver CPU profile: ${errorText(got.err)}`);
      else result.apiserverProfile = await writeApiserverProfile(o.apiserverProfileDir, `${systemName}-${mode}`, got.body, apiserverProfileSeconds, errors);
    }
    if (cloud !== undefined) result.simulatorCpu = { createSeconds: simCpu() - simCpuAtCreate, providerCreateSeconds: cpuSecondsOf(system.pids()) - providerCpuAtCreate, totalSeconds: 0 };
    const memoryAfterCreate = memoryNow(system);
    if (o.pods > 0) {
      const per1000 = (a: number, b: number): number => ((a - b) / MiB / o.pods) * 1000;
      result.memoryPer1000Pods = {
        rssMiB: per1000(memoryAfterCreate.rss, memoryAtReady.rss),
        ...(memoryAfterCreate.heap === undefined || memoryAtReady.heap === undefined ? {} : { heapMiB: per1000(memoryAfterCreate.heap, memoryAtReady.heap) }),
      };
    }
    if (allRunning && cloud !== undefined) result.cacheBytesPerPod = await cachedPodBytes(core, namespace);
    if (cloud !== undefined) result.podEvents = await providerPodEvents(core, namespace, o.pods);
    if (cloud !== undefined && process.env.BENCH_HEAP_SNAPSHOT_DIR !== undefined) await heapSnapshot(system, log);
    if (!allRunning) errors.push(`create: not every pod Running within ${createTimeoutMs / 1000} s`);
    const createRecords = inNs();
    result.create = phaseFigures(createRecords, t0, tCreated);
    result.series = runningSeries(createRecords, t0);
    const apiByKindAfterCreate = await apiCounts();
    const apiAfterCreate = sum(apiByKindAfterCreate);
    result.apiserverCreateRequestsPerPodByKind = perPodByKind(apiByKindAtStart, apiByKindAfterCreate, o.pods);
    const cloudAfterCreate = await cloudCalls();
    const createStats = [cloudAtStart.CreateContainerGroup, cloudAfterCreate.CreateContainerGroup] as const;
    if (result.simulatorCpu !== undefined && createStats[1]?.ms !== undefined) {
      // The mean time a CreateContainerGroup spent inside the simulator over the create phase.
      const callsOf = (s: SimRequestStats | undefined): number => (s === undefined ? 0 : s.ok + Object.values(s.errors).reduce((a, b) => a + b, 0));
      const calls = callsOf(createStats[1]) - callsOf(createStats[0]);
      if (calls > 0) result.simulatorCpu.createCallMeanMs = (createStats[1].ms - (createStats[0]?.ms ?? 0)) / calls;
    }
    log(`created: ${result.create.running}/${o.pods} Running, ${result.create.throughputPodsPerSec?.toFixed(1) ?? '-'} pods/s, p99 ${result.create.latency.p99Ms ?? '-'} ms`);

    if (cloud !== undefined && mode === 'quota-true') {
      const groups = await simAdmin<{ name: string; createdAt: string }[]>(cloud.adminEndpoint, cloud.adminToken, '/admin/groups');
      const times = groups.map((g) => new Date(g.createdAt).getTime()).sort((a, b) => a - b);
      const window = times.length > 1 ? (times.at(-1)! - times[0]!) / 1000 : 0;
      // The bucket: burst 100, refilling 20/s (the simulator's defaults = ECI's published quota).
      const allowed = 100 + 20 * window;
      const throttled = callDelta(cloudAtStart, cloudAfterCreate).throttled.CreateContainerGroup ?? 0;
      const createdByGroupName = new Map(groups.map((g) => [g.name, new Date(g.createdAt).getTime()]));
      const byWindow: number[][] = [];
      const lags = createRecords.flatMap((r) => {
        const created = createdByGroupName.get(containerGroupName(r.namespace, r.name));
        if (r.runningAt === undefined || created === undefined) return [];
        const lag = Math.max(0, r.runningAt - created);
        (byWindow[Math.floor((created - times[0]!) / 10_000)] ??= []).push(lag);
        return [lag];
      });
      // A window without a Running pod is undefined (printed '-'), never 0.
      const lagP99By10s = Array.from(byWindow, (w) => (w === undefined || w.length === 0 ? undefined : summarize(w).p99Ms));
      const metricsAfter = await apiserverMetrics(adminKc);
      const statusPatch = patchBucketsAtStart === undefined ? undefined : statusPatchLatency(patchBucketsAtStart, statusPatchBuckets(metricsAfter));
      const watchersTerminated = metricsAtStart === undefined ? undefined : terminatedWatchers(metricsAfter) - terminatedWatchers(metricsAtStart);
      const watchersTerminatedBy = apiserverLog === undefined || apiserverLogAtStart === undefined ? undefined : unresponsiveWatchers(readFileSync(apiserverLog).subarray(apiserverLogAtStart).toString('utf8'));
      // Per 10 s of group creation: only if a group was created (from 0, the windows would run from 1970).
      const firstGroup = times[0];
      if (firstGroup === undefined) errors.push('quota-true: no container group was created: no figures per 10 s of group creation');
      const { legs: lagLegs, by10s: legP99By10s } = (firstGroup === undefined ? undefined : await groupLagLegs(core, namespace, createRecords, createdByGroupName, firstGroup)) ?? {};
      result.quota = { creates: times.length, windowSeconds: window, allowed, usedPct: (100 * times.length) / allowed, throttled, runningAfterGroupCreated: summarize(lags), lagP99By10s, ...(lagLegs === undefined ? {} : { lagLegs }), ...(legP99By10s === undefined ? {} : { legP99By10s }), ...(statusPatch === undefined ? {} : { statusPatchLatency: statusPatch }), ...(watchersTerminated === undefined ? {} : { watchersTerminated }), ...(watchersTerminatedBy === undefined ? {} : { watchersTerminatedBy }), ...(firstGroup === undefined ? {} : { loopDelayMaxBy10s: loopDelayBy10s(system.eci?.memoryFile, firstGroup, tCreated), providerStatusWriteP99By10s: statusWriteP99By10s(writeScrapes, firstGroup, tCreated) }), ...(probe === undefined || firstGroup === undefined ? {} : { watchProbe: probeBy10s(probe.samples, probe.loopDelay, firstGroup), configMapProbe: probeBy10s(probe.configMapSamples, [], firstGroup) }) };
      log(`quota: ${times.length} creates in ${window.toFixed(1)} s = ${result.quota.usedPct.toFixed(1)}% of the bucket; ${throttled} throttled answers`);

    }

    // -- paced: bare pods offered at a fixed rate (the latency target) ------------------------------
    // Right after the create phase, in every system's case alike: eci-vn's restart comes after it,
    // so its aftermath (the control plane still settling 10,000 repaired pods) is not in the figure.
    if (o.pacedPods > 0 && mode === 'unlimited') {
      const template = specs[specs.length - 1]!.spec!.template;
      const pacedNs = namespace;
      // The status writes of the phase, timed on both sides (both histograms count every write).
      const writeBuckets = async (): Promise<{ apiserver: Map<number, number>; provider?: Map<number, number> }> => ({
        apiserver: statusPatchBuckets(await apiserverMetrics(adminKc)),
        ...(system.eci === undefined ? {} : { provider: providerStatusWriteBuckets(await providerMetrics(system.eci.metricsUrl)) }),
      });
      const writesBefore = await writeBuckets();
      const pacedCpuAt = cpuByProcess();
      const tp = Date.now();
      phaseStarts.push({ phase: 'paced', at: tp });
      const created: string[] = [];
      let settled = 0;
      let retried = 0;
      // A create that fails in transport or with a 5xx (a loaded machine) is sent again, up to 3
      // times: latency counts from bound, so a re-sent create does not flatter it. 409 = an
      // earlier attempt landed.
      const createPaced = async (name: string): Promise<void> => {
        const body = { metadata: { name, labels: { ...template.metadata!.labels!, app: 'paced', paced: 'true' } }, spec: template.spec! };
        for (let attempt = 1; ; attempt++) {
          try {
            await core.createNamespacedPod({ namespace: pacedNs, body });
            created.push(name);
            return;
          } catch (err) {
            const code = (err as { code?: number }).code;
            if (code === 409) return void created.push(name);
            if (attempt >= 4 || (typeof code === 'number' && code < 500)) return void errors.push(`paced: create ${name}: ${errorText(err).split('\n')[0]}`);
            retried++;
            await sleep(250 * attempt);
          }
        }
      };
      for (let i = 0; i < o.pacedPods; i++) {
        const due = tp + (i * 1000) / o.pacedRate;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        void createPaced(`paced-${i}`).finally(() => settled++);
      }
      const pacedRecs = (): PodRecord[] => inNs().filter((r) => r.name.startsWith('paced-'));
      await waitUntil(
        'paced pods Running',
        () => settled >= o.pacedPods && pacedRecs().filter((r) => r.runningAt !== undefined || r.failedAt !== undefined).length >= created.length,
        60_000 + o.pacedPods * 100,
      );
      const pacedCpu = createCpuSince(pacedCpuAt, (Date.now() - tp) / 1000);
      if (retried > 0) log(`paced: ${retried} creates sent again after a transport error or 5xx`);
      const figures = phaseFigures(pacedRecs(), tp, Date.now());
      const writesAfter = await writeBuckets();
      const apiserverWrites = statusPatchLatency(writesBefore.apiserver, writesAfter.apiserver);
      const providerWrites = writesBefore.provider === undefined || writesAfter.provider === undefined ? undefined : statusPatchLatency(writesBefore.provider, writesAfter.provider);
      const statusWrites = { ...(apiserverWrites === undefined ? {} : { apiserver: apiserverWrites }), ...(providerWrites === undefined ? {} : { provider: providerWrites }) };
      result.paced = { ...figures, offeredPerSec: o.pacedRate, cpu: pacedCpu, ...(system.eci === undefined ? {} : { statusWrites }) };
      log(`paced at ${o.pacedRate}/s: ${figures.running}/${o.pacedPods} Running, p50 ${figures.latency.p50Ms ?? '-'} ms, p99 ${figures.latency.p99Ms ?? '-'} ms`);
      await forEachLimited(created, 32, (name) => core.deleteNamespacedPod({ name, namespace: pacedNs }).then(() => undefined, ignoreNotFound));
      // The restart comes next: it must find only the N pods of the Deployments.
      const pacedGone = await waitUntil('paced pods gone', () => pacedRecs().every((r) => r.deletedAt !== undefined), 60_000 + o.pacedPods * 100);
      if (!pacedGone) errors.push(`paced: ${pacedRecs().filter((r) => r.deletedAt === undefined).length} paced pods not gone within ${(60_000 + o.pacedPods * 100) / 1000} s of their deletion`);
    }

    // -- restart: SIGKILL with N pods present; the pods' status is made stale meanwhile ----------------
    if (cloud !== undefined && o.restart && mode === 'unlimited' && o.cpuProfileDir === undefined) {
      const loadBefore = await loadAverage();
      hwm = Math.max(hwm, hwmOf(system));
      cpuOfKilled += cpuSecondsOf(system.pids()) - cpuAtStart;
      cpuAtStart = 0;
      await cloud.kill();
      log('provider SIGKILLed; marking every pod not Ready (stale status the restarted provider must repair)');
      // The Deployments' pods only: a paced pod still terminating is not one the restart repairs.
      const pods = (await core.listNamespacedPod({ namespace })).items.filter((p) => p.metadata?.labels?.paced !== 'true');
      const staleStarted = Date.now();
      phaseStarts.push({ phase: 'restart', at: staleStarted });
      const cpAtStale = cpuSecondsOf(env.apiserverPids());
      const machineAtStale = machineBusySeconds();
      await forEachLimited(pods, 32, async (pod) => {
        const conditions = (pod.status?.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'BenchStale' } : c));
        await core
          .patchNamespacedPodStatus({ name: pod.metadata!.name!, namespace, body: { status: { conditions } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch))
          .catch((err: unknown) => errors.push(`restart: marking ${pod.metadata?.name} stale: ${errorText(err)}`));
      });
      const staleSeconds = (Date.now() - staleStarted) / 1000;
      const staleCores = { controlPlane: (cpuSecondsOf(env.apiserverPids()) - cpAtStale) / staleSeconds, machine: (machineBusySeconds() - machineAtStale) / staleSeconds };
      await waitUntil('pods not Ready', () => inNs().every((r) => !r.ready || r.deletedAt !== undefined), 60_000);
      const before = await cloudCalls();
      const apiAtSpawn = await apiCounts();
      const cpAtSpawn = cpuSecondsOf(env.apiserverPids());
      const machineAtSpawn = machineBusySeconds();
      const simAtSpawn = simCpu();
      const restartCpuAt = cpuByProcess();
      // From the spawn, about as long as a repair at ~300 pods/s would take (the profile's length is fixed in advance).
      const restartProfileSeconds = Math.min(60, Math.max(5, Math.round(o.pods / 300)));
      const restartProfile = o.apiserverRestartProfileDir === undefined ? undefined : apiserverCpuProfile(adminKc, restartProfileSeconds).then((body) => ({ body }), (err: unknown) => ({ err }));
      const { spawnedAt, runningAt, logFile, logOffset } = await cloud.restart({
        logLevel: 'info',
        ...(o.cpuProfileRestartDir === undefined ? {} : { cpuProfileFile: join(o.cpuProfileRestartDir, `restart-${o.pods}-pods.cpuprofile`) }),
      });
      const converged = await waitUntil('pods Ready again', () => inNs().filter((r) => r.deletedAt === undefined).every((r) => r.ready), 120_000 + o.pods * 20, 100);
      const convergedAt = Date.now();
      if (result.simulatorCpu !== undefined) result.simulatorCpu.restartSeconds = simCpu() - simAtSpawn;
      const repairSeconds = (convergedAt - spawnedAt) / 1000;
      const restartCpu = createCpuSince(restartCpuAt, repairSeconds);
      // Every figure of the repair window is taken at convergence, before any profile is waited
      // for and written (pprof's own CPU, and the profile's remaining seconds, are not the repair's).
      const repairCores = {
        controlPlane: (cpuSecondsOf(env.apiserverPids()) - cpAtSpawn) / repairSeconds,
        provider: cpuSecondsOf(system.pids()) / repairSeconds,
        machine: (machineBusySeconds() - machineAtSpawn) / repairSeconds,
      };
      const delta = callDelta(before, await cloudCalls());
      const apiAtConvergence = await apiCounts();
      let restartApiserverProfile: RestartFigures['apiserverProfile'];
      if (restartProfile !== undefined && o.apiserverRestartProfileDir !== undefined) {
        const got = await restartProfile;
        if ('err' in got) errors.push(`kube-apiserver CPU profile of the restart: ${errorText(got.err)}`);
        else restartApiserverProfile = await writeApiserverProfile(o.apiserverRestartProfileDir, `${systemName}-restart-${o.pods}-pods`, got.body, restartProfileSeconds, errors);
      }
      if (o.cpuProfileRestartDir !== undefined) {
        const file = join(o.cpuProfileRestartDir, `restart-${o.pods}-pods.cpuprofile`);
        cloud.signalProfile();
        if (!(await waitUntil(`the restarted provider's CPU profile ${file}`, () => existsSync(file), 30_000, 250))) errors.push(`restart: no CPU profile written to ${file} within 30 s of SIGUSR2`);
      }
      const readyAgain = inNs()
        .filter((r) => r.deletedAt === undefined && r.ready && r.readyAt !== undefined && r.readyAt >= spawnedAt)
        .map((r) => r.readyAt!)
        .sort((a, b) => a - b);
      const first = readyAgain[0];
      const last = readyAgain.at(-1);
      result.restart = {
        podsPresent: pods.length,
        readySeconds: (runningAt - spawnedAt) / 1000,
        ...(converged ? { convergenceSeconds: (convergedAt - spawnedAt) / 1000 } : {}),
        converged: inNs().filter((r) => r.ready).length,
        createCalls: delta.calls.CreateContainerGroup ?? 0,
        cloudCalls: delta.calls,
        stalePatch: { seconds: staleSeconds, perSecond: pods.length / Math.max(0.001, staleSeconds) },
        ...(env.apiserverPids().length === 0 ? {} : { cores: { stale: staleCores, repair: repairCores } }),
        apiserverRequestsPerPodByKind: Object.fromEntries(
          Object.entries(apiAtConvergence)
            .map(([kind, count]) => [kind, (count - (apiAtSpawn[kind] ?? 0)) / Math.max(1, pods.length)] as const)
            .filter(([, perPod]) => perPod > 0),
        ),
        phases: restartPhases(readFileSync(logFile).subarray(logOffset).toString('utf8'), spawnedAt),
        cpuByProcess: restartCpu,
        ...(restartApiserverProfile === undefined ? {} : { apiserverProfile: restartApiserverProfile }),
        ...(first === undefined || last === undefined
          ? {}
          : { firstReadySeconds: (first - spawnedAt) / 1000, lastReadySeconds: (last - spawnedAt) / 1000, repairPerSecond: readyAgain.length / Math.max(0.001, (last - first) / 1000) }),
      };
      if (!converged) errors.push('restart: not every pod Ready again in time');
      log(`restart: webhook up in ${result.restart.readySeconds.toFixed(1)} s, every pod synced in ${result.restart.convergenceSeconds?.toFixed(1) ?? '(not converged)'} s, CreateContainerGroup calls: ${result.restart.createCalls}; load average ${loadBefore.join(' ')} -> ${(await loadAverage()).join(' ')}`);
    }

    // -- delete: scale every Deployment to 0 -----------------------------------------------------------
    hwm = Math.max(hwm, hwmOf(system));
    const apiByKindBeforeDelete = await apiCounts();
    const apiBeforeDelete = sum(apiByKindBeforeDelete);
    const cloudBeforeDelete = await cloudCalls();
    const td = Date.now();
    phaseStarts.push({ phase: 'delete', at: td });
    for (const name of deployments) {
      await apps.patchNamespacedDeployment({ name, namespace, body: { spec: { replicas: 0 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    }
    const loadPods = (): PodRecord[] => inNs().filter((r) => !r.name.startsWith('paced-'));
    const deleteTimeoutMs = 120_000 + o.pods * 100;
    const gone = await waitUntil('pods gone', () => loadPods().every((r) => r.deletedAt !== undefined), deleteTimeoutMs, 100);
    const deletedRecs = loadPods().filter((r) => r.deletedAt !== undefined);
    const lastGone = Math.max(...deletedRecs.map((r) => r.deletedAt!));
    result.delete = {
      pods: loadPods().length,
      deleted: deletedRecs.length,
      seconds: (Date.now() - td) / 1000,
      ...(gone && deletedRecs.length > 0 ? { throughputPodsPerSec: deletedRecs.length / ((lastGone - td) / 1000) } : {}),
    };
    if (!gone) errors.push(`delete: not every pod gone within ${deleteTimeoutMs / 1000} s`);
    log(`deleted: ${deletedRecs.length}/${result.delete.pods} in ${result.delete.seconds.toFixed(1)} s`);
    // Let the provider's last calls land: every group of the deleted pods gone from the cloud.
    if (cloud !== undefined) {
      let groupsLeft = -1;
      const emptied = await waitUntil(
        'groups deleted',
        async () => (groupsLeft = (await simAdmin<{ groups: number }>(cloud.adminEndpoint, cloud.adminToken, '/admin/state')).groups) === 0,
        budget({ baseMs: 30_000, perItemMs: 100, items: o.pods }),
        100,
      );
      if (!emptied) errors.push(`delete: ${groupsLeft} container groups still in the cloud after every pod was gone`);
    }
    const apiByKindAtEnd = await apiCounts();
    const apiAtEnd = sum(apiByKindAtEnd);
    const cloudAtEnd = await cloudCalls();
    simCpuAtEnd = simCpu();

    const n = Math.max(1, o.pods);
    result.apiserverDeleteRequestsPerPodByKind = perPodByKind(apiByKindBeforeDelete, apiByKindAtEnd, o.pods);
    result.apiserverRequestsPerPod = {
      create: (apiAfterCreate - apiAtStart) / n,
      delete: (apiAtEnd - apiBeforeDelete) / n,
      total: (apiAtEnd - apiAtStart) / (n + (o.pacedPods > 0 && mode === 'unlimited' ? o.pacedPods : 0)),
    };
    if (cloud !== undefined) {
      const totalPods = n + (o.pacedPods > 0 && mode === 'unlimited' ? o.pacedPods : 0);
      const delta = callDelta(cloudAtStart, cloudAtEnd);
      // Restart calls are reported with the restart, not amortized into the lifecycle.
      const restartCalls = result.restart?.cloudCalls ?? {};
      const perPod: Record<string, number> = {};
      for (const [action, count] of Object.entries(delta.calls)) {
        const c = count - (restartCalls[action] ?? 0) - (delta.throttled[action] ?? 0);
        if (c > 0) perPod[action] = c / totalPods;
      }
      result.cloudCallsPerPod = perPod;
      result.cloudCallsPerPodTotal = Object.values(perPod).reduce((a, b) => a + b, 0);
      if (Object.keys(delta.errors).length > 0) result.cloudErrors = delta.errors;
      void cloudAfterCreate;
      void cloudBeforeDelete;
    }
  } catch (err) {
    errors.push(errorText(err));
    log(`error: ${errorText(err)}`);
  } finally {
    if (scraping !== undefined) clearInterval(scraping);
    await probe?.stop().catch((err: unknown) => errors.push(`watch probe: stopping it: ${errorText(err)}`));
    rss.stop();
    hwm = Math.max(hwm, hwmOf(system));
    result.cpuSeconds = cpuOfKilled + cpuSecondsOf(system.pids()) - cpuAtStart;
    if (result.simulatorCpu !== undefined) result.simulatorCpu.totalSeconds = (simCpuAtEnd ?? simCpu()) - simCpuAtStart;
    result.rssPeakMiB = rss.peakBytes / MiB;
    result.rssHwmMiB = hwm / MiB;
    if (system.eci !== undefined && existsSync(system.eci.memoryFile)) {
      const samples = readFileSync(system.eci.memoryFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ProbeSample);
      result.heapPeakMiB = samples.reduce((m, x) => Math.max(m, x.heapUsed ?? 0), 0) / MiB;
      const atPeak = samples.reduce<ProbeSample | undefined>((best, x) => ((x.rss ?? 0) > (best?.rss ?? 0) ? x : best), undefined);
      // The mapping split read last at or before the peak (read only at new highs, so within ~2 MiB).
      const native = atPeak === undefined ? undefined : samples.slice(0, samples.indexOf(atPeak) + 1).reverse().find((x) => x.native !== undefined)?.native;
      if (atPeak !== undefined) result.memoryAtPeak = native === undefined ? atPeak : { ...atPeak, native };
      // The provider's RSS peak (its own samples, MiB) in each phase: which phase makes the peak.
      const byPhase = phaseStarts.map(({ phase, at }, i) => {
        const end = phaseStarts[i + 1]?.at ?? Infinity;
        const inPhase = samples.filter((x) => x.t !== undefined && x.t >= at && x.t < end);
        return [phase, inPhase.reduce((m, x) => Math.max(m, x.rss ?? 0), 0) / MiB, inPhase.reduce((m, x) => Math.max(m, x.heapUsed ?? 0), 0) / MiB] as const;
      });
      if (byPhase.length > 0) result.rssPeakByPhaseMiB = Object.fromEntries(byPhase.map(([phase, rssMiB, heapMiB]) => [phase, { rssMiB, heapMiB }]));
    }
    for (const name of deployments) await apps.deleteNamespacedDeployment({ name, namespace }).catch(() => {});
    await system.stop().catch((err: unknown) => errors.push(`stop: ${errorText(err)}`));
    if (webhookName !== undefined) await apiClient(adminKc, k8s.AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: webhookName }).catch(() => {});
    await deletePodNetworkings(adminKc, system);
    for (const name of system.nodeNames) await core.deleteNode({ name }).catch(() => {});
    // Pods left behind (a timeout) would hang the namespace's deletion: remove them outright.
    const left = (await core.listNamespacedPod({ namespace }).catch(() => ({ items: [] as k8s.V1Pod[] }))).items;
    await forEachLimited(left, 32, (p) => core.deleteNamespacedPod({ name: p.metadata!.name!, namespace, gracePeriodSeconds: 0 }).then(() => undefined, () => undefined));
    await core.deleteNamespace({ name: namespace }).catch(() => {});
  }
  return result;
}

/** Asks the provider for a heap snapshot (heap-probe.ts) and waits for it to be written. */
async function heapSnapshot(system: RunningSystem, log: (line: string) => void): Promise<void> {
  const memoryFile = system.eci!.memoryFile;
  for (const pid of system.pids()) process.kill(pid, 'SIGUSR2');
  const written = await waitUntil('a heap snapshot', () => readFileSync(memoryFile, 'utf8').includes('heap snapshot'), 300_000, 500);
  log(written ? `heap snapshot written to ${process.env.BENCH_HEAP_SNAPSHOT_DIR}` : 'heap snapshot: not written within 300 s');
}

/** The system's RSS now (all its processes) and, for eci-vn, the provider's last heapUsed sample. */
function memoryNow(system: RunningSystem): { rss: number; heap?: number } {
  const rss = system.pids().reduce((sum, pid) => sum + (procSample(pid)?.rssBytes ?? 0), 0);
  if (system.eci === undefined || !existsSync(system.eci.memoryFile)) return { rss };
  const last = readFileSync(system.eci.memoryFile, 'utf8').trimEnd().split('\n').at(-1);
  const heap = last === undefined || last === '' ? undefined : (JSON.parse(last) as { heapUsed?: number }).heapUsed;
  return heap === undefined ? { rss } : { rss, heap };
}

/** v8-serialized bytes of up to 200 of the namespace's pods: as listed, and as the lean cache keeps them. */
/** The provider's longest event-loop delay per 10 s from `from` to `to`, from heap-probe.ts's lines. */
/** The provider's status PATCH histogram between scrapes nearest each 10 s boundary from `from`: the bucket holding each window's p99 (s). */
function statusWriteP99By10s(scrapes: [number, Map<number, number>][], from: number, to: number): { p99AtMostSeconds: number; count: number }[] {
  if (scrapes.length < 2) return [];
  const sorted = [...scrapes].sort((a, b) => a[0] - b[0]);
  const nearest = (t: number): Map<number, number> => sorted.reduce((best, s) => (Math.abs(s[0] - t) < Math.abs(best[0] - t) ? s : best))[1];
  const out: { p99AtMostSeconds: number; count: number }[] = [];
  for (let start = from; start < to; start += 10_000) {
    const got = statusPatchLatency(nearest(start), nearest(start + 10_000));
    out.push(got === undefined ? { p99AtMostSeconds: 0, count: 0 } : { p99AtMostSeconds: got.p99AtMostSeconds, count: got.count });
  }
  return out;
}

function loopDelayBy10s(memoryFile: string | undefined, from: number, to: number): number[] {
  if (memoryFile === undefined || !existsSync(memoryFile)) return [];
  const out: number[] = [];
  for (const line of readFileSync(memoryFile, 'utf8').split('\n')) {
    if (line === '') continue;
    const { t, loopMaxMs } = JSON.parse(line) as { t?: number; loopMaxMs?: number };
    if (t === undefined || loopMaxMs === undefined || t < from || t > to) continue;
    const w = Math.floor((t - from) / 10_000);
    out[w] = Math.max(out[w] ?? 0, loopMaxMs);
  }
  return Array.from(out, (v) => v ?? 0);
}

/** The legs of (Running - group created) per pod, from the provider's step timings annotation; and their p99 per 10 s of group creation. */
async function groupLagLegs(
  core: k8s.CoreV1Api,
  namespace: string,
  records: PodRecord[],
  createdByGroupName: Map<string, number>,
  firstCreate: number,
): Promise<{ legs: { answer: LatencySummary; seen: LatencySummary; written: LatencySummary }; by10s: { seen: number[]; written: number[] } } | undefined> {
  const runningAt = new Map(records.map((r) => [r.name, r.runningAt]));
  const answer: number[] = [];
  const seen: number[] = [];
  const written: number[] = [];
  const seenBy: number[][] = [];
  const writtenBy: number[][] = [];
  for (const pod of (await core.listNamespacedPod({ namespace })).items) {
    const name = pod.metadata?.name ?? '';
    const raw = pod.metadata?.annotations?.[STEP_TIMINGS_ANNOTATION];
    const groupCreated = createdByGroupName.get(containerGroupName(namespace, name));
    const watched = runningAt.get(name);
    if (raw === undefined || groupCreated === undefined || watched === undefined) continue;
    const t = parseStepTimings(raw);
    if (t.created === undefined || t.running === undefined) continue;
    const w = Math.floor((groupCreated - firstCreate) / 10_000);
    answer.push(Math.max(0, t.created - groupCreated));
    seen.push(t.running - t.created);
    written.push(Math.max(0, watched - t.running));
    (seenBy[w] ??= []).push(t.running - t.created);
    (writtenBy[w] ??= []).push(Math.max(0, watched - t.running));
  }
  if (answer.length === 0) return undefined;
  const p99s = (by: number[][]): number[] => Array.from(by, (v) => summarize(v ?? []).p99Ms ?? 0);
  return { legs: { answer: summarize(answer), seen: summarize(seen), written: summarize(written) }, by10s: { seen: p99s(seenBy), written: p99s(writtenBy) } };
}

async function cachedPodBytes(core: k8s.CoreV1Api, namespace: string): Promise<{ full: number; lean: number; sampled: number } | undefined> {
  const pods = (await core.listNamespacedPod({ namespace, limit: 200 })).items;
  if (pods.length === 0) return undefined;
  // As plain JSON, which is what the watch hands the cache.
  const plain = pods.map((p) => JSON.parse(JSON.stringify(p)) as k8s.V1Pod);
  const full = plain.reduce((sum, p) => sum + serialize(p).length, 0);
  const lean = plain.reduce((sum, p) => sum + serialize(leanPod(p)).length, 0);
  return { full: full / pods.length, lean: lean / pods.length, sampled: pods.length };
}

/** The provider's event source (adapters/cli/provider.ts COMPONENT; not imported: that module starts the CLI's world). */
const PROVIDER_COMPONENT = 'eci-virtual-node';

/** The provider's Events on pods in the namespace, by reason per pod (one list, paged). */
async function providerPodEvents(core: k8s.CoreV1Api, namespace: string, pods: number): Promise<{ byReason: Record<string, number>; podsWithMore: number; pods: number }> {
  const byReason: Record<string, number> = {};
  const perPod = new Map<string, number>();
  let _continue: string | undefined;
  do {
    const page = await core.listNamespacedEvent({ namespace, limit: 500, ...(_continue === undefined ? {} : { _continue }) });
    for (const e of page.items) {
      if (e.source?.component !== PROVIDER_COMPONENT || e.involvedObject.kind !== 'Pod') continue;
      const reason = `${e.type ?? ''}/${e.reason ?? ''}`;
      byReason[reason] = (byReason[reason] ?? 0) + 1;
      perPod.set(e.involvedObject.uid ?? '', (perPod.get(e.involvedObject.uid ?? '') ?? 0) + 1);
    }
    _continue = page.metadata?._continue || undefined;
  } while (_continue !== undefined);
  const n = Math.max(1, pods);
  return { byReason: Object.fromEntries(Object.entries(byReason).map(([r, c]) => [r, c / n])), podsWithMore: [...perPod.values()].filter((c) => c > 1).length, pods: perPod.size };
}

function hwmOf(system: RunningSystem): number {
  return system.pids().reduce((sum, pid) => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return sum + Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? '0') * 1024;
    } catch {
      return sum;
    }
  }, 0);
}

// ---- the run ---------------------------------------------------------------------------------------------

export async function runBenchmark(o: BenchOptions): Promise<BenchResult> {
  const startedAt = new Date();
  const loadAtStart = await loadAverage();
  const runId = Math.random().toString(36).slice(2, 7);
  const workDir = await mkdtemp(join(tmpdir(), 'eci-vn-bench-'));
  const log = o.log;
  let stopControlPlane: (() => Promise<void>) | undefined;
  const cases: CaseResult[] = [];
  const peerBuildErrors: string[] = [];
  let cp = o.controlPlane;
  const users = o.systems.map((s) => `bench:${runId}:${s}`);
  let adminKc: k8s.KubeConfig | undefined;
  let recorder: PodRecorder | undefined;
  let apiserverPids = (): number[] => [];
  let controlPlaneProcesses = (): readonly { name: string; pid: number; logFile?: string }[] => [];
  try {
    if (cp === undefined) {
      const binDir = await ensureControlPlaneBinaries({ onProgress: log });
      log('[bench] starting the control plane');
      const started = await startControlPlane({
        binDir,
        tempRoot: workDir,
        onProgress: (m) => log(`[controlplane] ${m}`),
        // The same generous client limits for the scheduler and the controller-manager in every
        // case, so pod creation and binding are not paced by their defaults (50 and 20 QPS).
        extraArgs: {
          // /debug/pprof for --cpu-prof-apiserver (the control plane turns profiling off by default).
          ...(o.apiserverProfileDir === undefined && o.apiserverRestartProfileDir === undefined ? {} : { 'kube-apiserver': ['--profiling=true'] }),
          'kube-scheduler': ['--kube-api-qps=1000', '--kube-api-burst=2000'],
          'kube-controller-manager': ['--kube-api-qps=1000', '--kube-api-burst=2000', '--concurrent-replicaset-syncs=10', '--concurrent-deployment-syncs=10', '--concurrent-gc-syncs=50'],
        },
      });
      stopControlPlane = () => started.stop();
      apiserverPids = () => started.processes.filter((p) => p.name === 'kube-apiserver' || p.name === 'etcd').map((p) => p.pid);
      controlPlaneProcesses = () => started.processes;
      cp = { server: started.server, kubeconfigPath: started.kubeconfigPath, binDir: started.binDir, caCertPem: started.caCertPem, caKeyPem: started.caKeyPem };
    }
    // The provider's pooled KubeConfig: client-node alone opens a new TLS connection per request,
    // and the paced phase's 100 creates/s then cost ~4.5 ms of this process's CPU a pod, load on
    // the machine that no system under test would meet in a cluster (docs/benchmark.md).
    adminKc = loadKubeConfig(cp.kubeconfigPath);
    const core = apiClient(adminKc, k8s.CoreV1Api);
    const apps = apiClient(adminKc, k8s.AppsV1Api);

    const kubeconfigs = new Map<SystemName, string>();
    for (const [i, s] of o.systems.entries()) kubeconfigs.set(s, await writeIdentityKubeconfig(cp, workDir, users[i]!));
    await ensureIdentityAccess(adminKc, runId, users);

    if (o.systems.includes('eci-vn')) {
      await execFileAsync(join(cp.binDir, 'kubectl'), ['apply', '--server-side', '--force-conflicts', '-f', join(REPO, 'deploy', 'crds', 'network.alibabacloud.com_podnetworkings.yaml')], {
        env: { ...process.env, KUBECONFIG: cp.kubeconfigPath },
        timeout: budget({ baseMs: 60_000 }),
        killSignal: 'SIGKILL',
      });
      const { group, version, plural } = PODNETWORKING_API;
      const custom = apiClient(adminKc, k8s.CustomObjectsApi);
      await waitUntil('PodNetworking API', () => custom.listClusterCustomObject({ group, version, plural }).then(() => true, () => false), 30_000, 250);
    }
    const peers = [...(o.systems.includes('kwok') ? (['kwok'] as const) : []), ...(o.systems.includes('vk-mock') ? (['virtual-kubelet'] as const) : [])];
    const peerBinaries = await buildPeers(peers, log);
    peerBuildErrors.push(...peerBinaries.errors);
    const providerEntry = o.systems.includes('eci-vn') ? await providerEntryFor(o.provider ?? 'compiled', join(workDir, 'provider'), log) : SOURCES_ENTRY;

    recorder = new PodRecorder(adminKc, `${BENCH_LABEL}=${runId}`);
    await recorder.start();

    for (const mode of o.modes) {
      for (const system of o.systems) {
        // The cloud mode only matters to the system that has a cloud.
        if (mode === 'quota-true' && system !== 'eci-vn') continue;
        if (system === 'kwok' && peerBinaries.kwok === undefined) continue;
        if (system === 'vk-mock' && peerBinaries.virtualKubelet === undefined) continue;
        const caseEnv: CaseEnv = {
          runId,
          adminKc,
          core,
          apps,
          recorder,
          workDir,
          kubeconfigOf: (s) => kubeconfigs.get(s)!,
          userOf: (s) => users[o.systems.indexOf(s)]!,
          peerBinaries,
          providerEntry,
          apiserverPids,
          controlPlaneProcesses,
        };
        const result = await runCase(o, caseEnv, system, mode);
        cases.push(result);
        // The next system starts on a quiet apiserver: this case's namespace deleted.
        const ns = caseNamespace(runId, system, mode);
        // The namespace controller deletes the case's Events (~1 per pod and more) one by one: 60 s
        // plus 20 ms a pod (10,000 pods took over 60 s on a loaded machine).
        const nsBudget = budget({ baseMs: 60_000, perItemMs: 20, items: o.pods });
        const gone = await waitUntil('namespace gone', () => core.readNamespace({ name: ns }).then(() => false, (err: unknown) => (err as { code?: number }).code === 404), nsBudget, 250);
        if (!gone) result.errors.push(`namespace ${ns} still there ${nsBudget / 1000} s after the case`);
      }
    }
  } finally {
    recorder?.stop();
    if (adminKc !== undefined) await cleanupIdentities(adminKc, runId, users).catch(() => {});
    await stopControlPlane?.();
    await rm(workDir, { recursive: true, force: true }).catch(() => {});
  }
  const { log: _log, controlPlane: _cp, ...options } = o;
  return {
    startedAt: startedAt.toISOString(),
    host: { cpus: (await import('node:os')).cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: await loadAverage(), node: process.version },
    options,
    peerBuildErrors,
    cases,
  };
}

export { ZONES };
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/** Writes a kube-apiserver pprof profile and reads its top frames with `go tool pprof` (Go is this project's build tool). */
async function writeApiserverProfile(dir: string, name: string, body: Buffer, seconds: number, errors: string[]): Promise<NonNullable<CaseResult['apiserverProfile']>> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `kube-apiserver-${name}.pprof`);
  await writeFile(file, body);
  try {
    const { stdout } = await execFileAsync('go', ['tool', 'pprof', '-top', '-nodecount=25', file], { timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024 });
    return { file, seconds, top: stdout.split('\n').filter((line) => line.trim() !== '') };
  } catch (err) {
    errors.push(`go tool pprof -top ${file}: ${errorText(err)}`);
    return { file, seconds, top: [] };
  }
}
