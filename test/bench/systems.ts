// The systems under test, each started on the benchmark's control plane with three nodes (one per
// zone) and the same number of workers:
//   eci-vn   our provider (`eci-virtual-node run`, a child process: the compiled build the image
//            runs, see provider-build.ts) + the cloud simulator (a child process, from the sources)
//            + its PodNetworking webhook
//   kwok     sigs.k8s.io/kwok's controller with its "fast" stages (pod-ready, pod-delete, ...)
//   vk-mock  virtual-kubelet's mock provider, one process per node (the binary serves one node)
//   ceiling  test/bench/ceiling.ts: patch bound pods to Running, nothing else
// Each system runs under its own client identity (bench:<system>), so the apiserver's APF
// metrics count its requests alone.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import type * as k8s from '@kubernetes/client-node';
import { createCertificateAuthority, issueCertificate } from '../../adapters/tls/certificates.ts';
import { NODE_LABELS } from '../../provider/node/constants.ts';
import { DEFAULT_CONFIG } from '../../provider/config/config.ts';
import { VIRTUAL_NODE_TOLERATION } from '../../provider/networking/constants.ts';
import { freeLoopbackPorts } from '../controlplane/ports.ts';
import { killGroup, startProcess, type ManagedProcess } from '../controlplane/processes.ts';
import { budget, waitForEvent, withDeadline } from '../helpers/deadline.ts';
import type { ProviderEntry } from './provider-build.ts';

export type SystemName = 'eci-vn' | 'kwok' | 'vk-mock' | 'ceiling';
export type Mode = 'unlimited' | 'quota-true';
export const ALL_SYSTEMS: readonly SystemName[] = ['eci-vn', 'kwok', 'vk-mock', 'ceiling'];

const REPO = join(import.meta.dirname, '..', '..');
export const BENCH_LABEL = 'bench.eci-virtual-node.io/run';
export const ZONES = ['cn-bench-1a', 'cn-bench-1b', 'cn-bench-1c'] as const;
export const REGION = 'cn-bench-1';
const ACCESS_KEY = { id: 'LTAIbenchProviderKey', secret: 'bench-provider-secret-not-real' };
const ADMIN_TOKEN = 'bench-admin-token';

export type Placement = Pick<k8s.V1PodSpec, 'tolerations' | 'nodeSelector' | 'affinity'>;

export interface SystemContext {
  runId: string;
  mode: Mode;
  workers: number;
  /** Kubeconfig of this system's own identity. */
  kubeconfig: string;
  workDir: string;
  log: (line: string) => void;
  /** eci-vn: the provider's status poll interval (default: the provider's own default). */
  statusPollIntervalMs?: number;
  /** eci-vn: run the provider under `node --cpu-prof` into this directory. */
  cpuProfileDir?: string;
  /** eci-vn: run the cloud simulator under `node --cpu-prof` into this directory. */
  cloudsimCpuProfileDir?: string;
  peerBinaries: { kwok?: string; virtualKubelet?: string; kwokStagesDir?: string };
  /** eci-vn: the provider's entry point (compiled by default, as in the image; provider-build.ts). */
  providerEntry: ProviderEntry;
}

export interface RunningSystem {
  name: SystemName;
  nodeNames: string[];
  placement: Placement;
  /** Flags that matter for the comparison, printed with the results. */
  tuning: string;
  pids(): number[];
  /** Graceful stop (SIGTERM, then SIGKILL after a grace). */
  stop(): Promise<void>;
  /** eci-vn only. */
  eci?: EciExtras;
}

export interface EciExtras {
  adminEndpoint: string;
  adminToken: string;
  /** SIGKILL the provider (not the simulator). */
  kill(): Promise<void>;
  /**
   * Start the provider again with the same configuration; resolves once its webhook answers.
   * `cpuProfileFile`: this process is CPU-profiled from its start until it gets SIGUSR2 (see
   * heap-probe.ts; `profileNow()` sends it). `logLevel`: this process logs at this level (info
   * shows the start-up phases); its lines start at `logOffset` of `logFile`.
   */
  restart(options?: { cpuProfileFile?: string; logLevel?: string }): Promise<{ spawnedAt: number; runningAt: number; logFile: string; logOffset: number }>;
  /** Sends SIGUSR2 to the running provider (writes the profile a restart with `cpuProfileFile` began). */
  signalProfile(): void;
  /** The cloud simulator's process (its CPU is counted apart from the provider's). */
  simPids(): number[];
  memoryFile: string;
  /** The provider's Prometheus endpoint (GET /metrics). */
  metricsUrl: string;
  webhookUrl: string;
  webhookCaPem: string;
  podNetworkings: { name: string; label: string }[];
}

// ---- helpers -------------------------------------------------------------------------------------

/** Waits for a line matching `pattern` in a log file written by a child; rejects when it exits first. */
async function waitForLine(proc: ManagedProcess, pattern: RegExp, timeoutMs: number, fromOffset = 0): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(proc.logFile) ? readFileSync(proc.logFile, 'utf8').slice(fromOffset) : '';
    const line = text.split('\n').find((l) => pattern.test(l));
    if (line !== undefined) return line;
    if (!proc.isRunning()) throw new Error(`${proc.name} exited before printing ${pattern}; log tail:\n${text.split('\n').slice(-25).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} did not print ${pattern} within ${timeoutMs} ms; log tail:\n${text.split('\n').slice(-25).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function selfSignedServing(dir: string, name: string): Promise<{ cert: string; key: string; caPem: string }> {
  const ca = await createCertificateAuthority({ commonName: `${name}-ca` });
  const serving = await issueCertificate({ ca, commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'], usage: 'server' });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await writeFile(cert, serving.certPem);
  await writeFile(key, serving.keyPem, { mode: 0o600 });
  return { cert, key, caPem: ca.certPem };
}

/** As in the Dockerfile's ENTRYPOINT and bin/eci-virtual-node (test/unit/deploy/manifests.test.ts checks). */
export const PROVIDER_NODE_FLAGS = ['--max-semi-space-size=16'];

/**
 * As the Deployment's NODE_OPTIONS (deploy/base/deployment.yaml; the manifests test checks): the
 * old-space cap sized for 20,000 typical pods (docs/deploy.md, "Memory"). An environment variable, not a
 * flag, because a command-line flag beats NODE_OPTIONS and the cap must stay the user's to raise.
 */
export const PROVIDER_NODE_OPTIONS = '--max-old-space-size=384';

function withoutKubeconfig(): NodeJS.ProcessEnv {
  const { KUBECONFIG: _ignored, ...env } = process.env;
  return env;
}

// ---- eci-vn ----------------------------------------------------------------------------------------

export function benchWorld(mode: Mode): Record<string, unknown> {
  return {
    regionId: REGION,
    zones: [...ZONES],
    vpcs: [{ id: 'vpc-bench', cidr: '10.0.0.0/8' }],
    // Two /16 vSwitches per zone: IPs never run out, even at 10000 pods.
    vSwitches: ZONES.flatMap((zone, i) => [
      { id: `vsw-bench${i}a`, vpcId: 'vpc-bench', zoneId: zone, cidr: `10.${10 + i * 2}.0.0/16` },
      { id: `vsw-bench${i}b`, vpcId: 'vpc-bench', zoneId: zone, cidr: `10.${11 + i * 2}.0.0/16` },
    ]),
    securityGroups: [
      { id: 'sg-benchdefault', vpcId: 'vpc-bench' },
      { id: 'sg-benchpn', vpcId: 'vpc-bench' },
    ],
    accessKeys: [ACCESS_KEY],
    admin: { token: ADMIN_TOKEN },
    quotas: { maxGroups: 1_000_000, maxVcpu: 100_000_000 },
    // unlimited: zero added latency, a group is Running as soon as it exists. quota-true: the
    // realistic profile (late IPs, lagging lists, per-minute windows, ClientToken bound at the
    // first attempt) without its random failures, which would keep pods from ever running.
    lifecycle: {
      schedulingMs: 0,
      pendingMs: 0,
      exitAfterMs: 0,
      terminatingMs: 0,
      ...(mode === 'quota-true' ? { realism: { profile: 'realistic', scheduleFailedRate: 0, spotReclaimRate: 0, pullAuthFailRate: 0 } } : {}),
    },
    rateLimits: { mode },
    persistence: { durability: 'write', snapshotIntervalMs: 60_000 },
  };
}

async function startEciVn(ctx: SystemContext): Promise<RunningSystem> {
  const dir = join(ctx.workDir, `eci-vn-${ctx.mode}`);
  await mkdir(dir, { recursive: true });
  const worldFile = join(dir, 'world.yaml');
  await writeFile(worldFile, stringify(benchWorld(ctx.mode)));
  const sim = startProcess({
    name: 'cloudsim',
    command: process.execPath,
    args: [...(ctx.cloudsimCpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${ctx.cloudsimCpuProfileDir}`]), join(REPO, 'adapters', 'cli', 'main.ts'), 'cloudsim', '--world', worldFile, '--port', '0', '--admin-port', '0'],
    logFile: join(dir, 'cloudsim.log'),
  });
  const ready = await waitForLine(sim, /^cloudsim ready /, 30_000);
  const endpoint = /endpoint=(\S+)/.exec(ready)?.[1] ?? '';
  const adminEndpoint = /admin=(\S+)/.exec(ready)?.[1] ?? '';

  const serving = await selfSignedServing(dir, 'webhook');
  const [webhookPort, metricsPort] = await freeLoopbackPorts(2);
  const clusterId = `bench-${ctx.runId}-${ctx.mode === 'unlimited' ? 'u' : 'q'}`;
  const namePrefix = `bench-${ctx.runId}-eci-${ctx.mode === 'unlimited' ? 'u' : 'q'}`;
  const unlimitedRates = Object.fromEntries(
    ['CreateContainerGroup', 'DeleteContainerGroup', 'DescribeContainerGroups', 'DescribeContainerGroupStatus', 'DescribeVSwitches'].map((a) => [a, { perSecond: 1_000_000, burst: 1_000_000 }]),
  );
  const config: Record<string, unknown> = {
    clusterId,
    regionId: REGION,
    cloud: {
      eciEndpoint: endpoint,
      vpcEndpoint: endpoint,
      ecsEndpoint: endpoint,
      protocol: 'http',
      // unlimited: the simulator enforces nothing, so neither does the provider (its buckets
      // would otherwise be the bottleneck). quota-true: the provider's defaults = ECI's quotas.
      ...(ctx.mode === 'unlimited' ? { rateLimits: unlimitedRates } : {}),
    },
    defaultNetwork: { vSwitchIds: ZONES.map((_, i) => `vsw-bench${i}a`), securityGroupId: 'sg-benchdefault', vSwitchSelectionPolicy: 'ordered' },
    node: { namePrefix },
    webhook: { port: webhookPort, host: '127.0.0.1', certFile: serving.cert, keyFile: serving.key },
    metrics: { port: metricsPort, host: '127.0.0.1' },
    kubernetes: { kubeconfig: ctx.kubeconfig, qps: 0, burst: 0 },
    // As in a cluster with kube-dns (the bench's control plane has none): ClusterFirst pods get the
    // cluster DNS, and the provider does not warn once per process that they would not.
    clusterDNS: { nameServers: ['10.96.0.10'] },
    sync: { workers: ctx.workers, ...(ctx.statusPollIntervalMs === undefined ? {} : { statusPollIntervalMs: ctx.statusPollIntervalMs }) },
  };
  const configFile = join(dir, 'provider.yaml');
  await writeFile(configFile, stringify(config));
  const memoryFile = join(dir, 'provider-memory.jsonl');
  const providerLog = join(dir, 'provider.log');

  let provider: ManagedProcess | undefined;
  const spawnProvider = async (options: { cpuProfileFile?: string; logLevel?: string } = {}): Promise<{ spawnedAt: number; runningAt: number; logFile: string; logOffset: number }> => {
    const spawnedAt = Date.now();
    const logOffset = existsSync(providerLog) ? statSync(providerLog).size : 0;
    // The Node flags the image and bin/eci-virtual-node start the provider with (Dockerfile), and by
    // default the image's compiled JavaScript (ctx.providerEntry), so the bench measures what users run.
    const nodeFlags = [...PROVIDER_NODE_FLAGS, ...(ctx.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${ctx.cpuProfileDir}`])];
    // BENCH_PROVIDER_NODE_FLAGS: extra node/V8 flags for our provider only, after those (a later
    // V8 flag wins: --max-semi-space-size=64 measures V8's default; a flag beats NODE_OPTIONS:
    // --max-old-space-size=4096 measures without the deployment's cap).
    nodeFlags.push(...(process.env.BENCH_PROVIDER_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== ''));
    provider = startProcess({
      name: 'eci-virtual-node',
      command: process.execPath,
      args: [...nodeFlags, '--import', ctx.providerEntry.heapProbe, ctx.providerEntry.main, 'run', '--config', configFile, '--kubeconfig', ctx.kubeconfig],
      logFile: providerLog,
      // The kubeconfig comes from --kubeconfig (this system's identity), never from a KUBECONFIG
      // the benchmark itself was started with (the env beats the config file).
      env: {
        ...withoutKubeconfig(),
        ALIBABA_CLOUD_ACCESS_KEY_ID: ACCESS_KEY.id,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: ACCESS_KEY.secret,
        BENCH_MEMORY_FILE: memoryFile,
        ...(process.env.BENCH_HEAP_SNAPSHOT_DIR === undefined ? {} : { BENCH_HEAP_SNAPSHOT_DIR: process.env.BENCH_HEAP_SNAPSHOT_DIR }),
        BENCH_EXIT_AFTER_SIGTERM_MS: '8000',
        ...(options.cpuProfileFile === undefined ? {} : { BENCH_CPU_PROFILE_FILE: options.cpuProfileFile }),
        ECI_VN_LOG_LEVEL: options.logLevel ?? 'warn',
        NODE_OPTIONS: PROVIDER_NODE_OPTIONS,
        // BENCH_PROVIDER_ENV: extra environment for our provider only (e.g. MALLOC_ARENA_MAX=2).
        ...Object.fromEntries((process.env.BENCH_PROVIDER_ENV ?? '').split(' ').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      },
    });
    // At log level warn the "provider running" line is not printed: wait for the nodes instead
    // (the caller does), and for the webhook port to answer.
    await waitForWebhook(webhookPort!, provider, 60_000);
    return { spawnedAt, runningAt: Date.now(), logFile: providerLog, logOffset };
  };
  try {
    await spawnProvider();
  } catch (err) {
    await Promise.all([provider?.stop(1_000), sim.stop(1_000)]);
    throw err;
  }

  const podNetworkings = [
    { name: `bench-${ctx.runId}-${ctx.mode}-a`, label: `pn-a-${ctx.runId}` },
    { name: `bench-${ctx.runId}-${ctx.mode}-bc`, label: `pn-bc-${ctx.runId}` },
  ];
  return {
    name: 'eci-vn',
    nodeNames: ZONES.map((z) => `${namePrefix}-${z}`),
    placement: { tolerations: [{ ...VIRTUAL_NODE_TOLERATION }], nodeSelector: { [NODE_LABELS.cluster]: clusterId } },
    tuning: `provider=${ctx.providerEntry.kind} workers=${ctx.workers} write-concurrency=${process.env.ECI_VN_WRITE_CONCURRENCY ?? `default (${DEFAULT_CONFIG.sync.writeConcurrency})`} kube-api-qps=0 (none) status-poll-interval-ms=${ctx.statusPollIntervalMs ?? `default (${DEFAULT_CONFIG.sync.statusPollIntervalMs})`} cloud rate limits=${ctx.mode === 'unlimited' ? 'lifted' : 'ECI defaults (create/delete 20/s burst 100)'}`,
    pids: () => (provider?.isRunning() === true ? [provider.pid] : []),
    stop: async () => {
      const stopping = Date.now();
      await provider?.stop(20_000);
      ctx.log(`provider stopped ${Date.now() - stopping} ms after SIGTERM`);
      // A profiled simulator writes its profile on the way out (large at 10,000 groups).
      await sim.stop(ctx.cloudsimCpuProfileDir === undefined ? 5_000 : 60_000);
    },
    eci: {
      adminEndpoint,
      adminToken: ADMIN_TOKEN,
      memoryFile,
      metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      webhookUrl: `https://127.0.0.1:${webhookPort}/mutate-pods`,
      webhookCaPem: serving.caPem,
      podNetworkings,
      kill: async () => {
        if (provider === undefined) return;
        killGroup(provider.pid, 'SIGKILL');
        await withDeadline(provider.exited, budget({ baseMs: 30_000 }), `the provider (pid ${provider.pid}) to exit after SIGKILL`);
      },
      restart: (options) => spawnProvider(options),
      signalProfile: () => {
        if (provider?.isRunning() === true) process.kill(provider.pid, 'SIGUSR2');
      },
      simPids: () => (sim.isRunning() ? [sim.pid] : []),
    },
  };
}

async function waitForWebhook(port: number, proc: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const { connect } = await import('node:net');
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      // A connect that neither succeeds nor fails (a loaded machine) counts as not listening yet.
      socket.setTimeout(5_000, () => (socket.destroy(), resolve(false)));
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!proc.isRunning()) throw new Error(`the provider exited during start-up; log tail:\n${readFileSync(proc.logFile, 'utf8').split('\n').slice(-30).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`the provider's webhook did not listen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- kwok --------------------------------------------------------------------------------------------

async function startKwok(ctx: SystemContext, core: k8s.CoreV1Api): Promise<RunningSystem> {
  const bin = ctx.peerBinaries.kwok;
  const stagesDir = ctx.peerBinaries.kwokStagesDir;
  if (bin === undefined || stagesDir === undefined) throw new Error('kwok is not built (see test/bench/build-peers.sh)');
  const dir = join(ctx.workDir, 'kwok');
  await mkdir(dir, { recursive: true });
  const nodeLabel = `kwok-${ctx.runId}`;
  const nodeNames = ZONES.map((z) => `bench-${ctx.runId}-kwok-${z}`);
  const stages = readdirSync(stagesDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => readFileSync(join(stagesDir, f), 'utf8').trim());
  const kwokConfig = stringify({
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokConfiguration',
    options: { podPlayStageParallelism: ctx.workers, nodePlayStageParallelism: 4, nodeLeaseParallelism: 4 },
  });
  const configFile = join(dir, 'kwok.yaml');
  await writeFile(configFile, [kwokConfig.trim(), ...stages].join('\n---\n') + '\n');
  // Nodes first (kwok manages nodes with its annotation, and fakes their status and leases).
  for (const [i, name] of nodeNames.entries()) {
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake' },
          labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/role': 'agent', type: 'kwok', [NODE_LABELS.zone]: ZONES[i]!, 'bench.eci-virtual-node.io/nodes': nodeLabel },
        },
        spec: { taints: [{ key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' }] },
        status: { allocatable: { cpu: '100000', memory: '100000Gi', pods: '100000' }, capacity: { cpu: '100000', memory: '100000Gi', pods: '100000' } },
      },
    });
  }
  const [serverPort] = await freeLoopbackPorts(1);
  const proc = startProcess({
    name: 'kwok',
    command: bin,
    args: [
      `--kubeconfig=${ctx.kubeconfig}`,
      `--config=${configFile}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--server-address=127.0.0.1:${serverPort}`,
      '--node-ip=127.0.0.1',
      '--cidr=10.250.0.0/16',
      '--node-lease-duration-seconds=40',
      '-v=WARN',
    ],
    logFile: join(dir, 'kwok.log'),
    env: withoutKubeconfig(),
  });
  return {
    name: 'kwok',
    nodeNames,
    placement: { tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }], nodeSelector: { 'bench.eci-virtual-node.io/nodes': nodeLabel } },
    tuning: `podPlayStageParallelism=${ctx.workers} (kwok's worker count; default 4), client QPS: none (kwok's client has no rate limiter), stages: kwok's "fast" pod and node stages`,
    pids: () => (proc.isRunning() ? [proc.pid] : []),
    stop: () => proc.stop(10_000),
  };
}

// ---- virtual-kubelet mock ------------------------------------------------------------------------------

async function startVkMock(ctx: SystemContext): Promise<RunningSystem> {
  const bin = ctx.peerBinaries.virtualKubelet;
  if (bin === undefined) throw new Error('virtual-kubelet is not built (see test/bench/build-peers.sh)');
  const dir = join(ctx.workDir, 'vk-mock');
  await mkdir(dir, { recursive: true });
  const nodeNames = ZONES.map((z) => `bench-${ctx.runId}-vk-${z}`);
  const providerConfig = join(dir, 'mock.json');
  await writeFile(providerConfig, JSON.stringify(Object.fromEntries(nodeNames.map((n) => [n, { cpu: '100000', memory: '100000Gi', pods: '100000' }]))));
  const serving = await selfSignedServing(dir, 'kubelet');
  const ports = await freeLoopbackPorts(nodeNames.length * 2);
  const procs = nodeNames.map((name, i) =>
    startProcess({
      name: `virtual-kubelet-${i}`,
      command: bin,
      args: [
        '--provider=mock',
        `--provider-config=${providerConfig}`,
        `--nodename=${name}`,
        `--kubeconfig=${ctx.kubeconfig}`,
        `--pod-sync-workers=${ctx.workers}`,
        `--metrics-addr=127.0.0.1:${ports[i * 2 + 1]}`,
        '--startup-timeout=60s',
        '--log-level=warn',
      ],
      env: {
        ...withoutKubeconfig(),
        // The kubelet API listens on :PORT (all interfaces; the binary has no address flag). Nothing calls it here.
        KUBELET_PORT: String(ports[i * 2]),
        APISERVER_CERT_LOCATION: serving.cert,
        APISERVER_KEY_LOCATION: serving.key,
        VKUBELET_POD_IP: '127.0.0.1',
      },
      logFile: join(dir, `${name}.log`),
    }),
  );
  return {
    name: 'vk-mock',
    nodeNames,
    placement: {
      tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: nodeNames }] }] } } },
    },
    tuning: `--pod-sync-workers=${ctx.workers} per node process (3 processes, one node each); client QPS: client-go's default 5 QPS / burst 10 per process (the binary has no flag for it)`,
    pids: () => procs.filter((p) => p.isRunning()).map((p) => p.pid),
    stop: async () => void (await Promise.all(procs.map((p) => p.stop(10_000)))),
  };
}

// ---- ceiling -------------------------------------------------------------------------------------------

async function startCeiling(ctx: SystemContext): Promise<RunningSystem> {
  const dir = join(ctx.workDir, 'ceiling');
  await mkdir(dir, { recursive: true });
  const nodeLabel = `ceiling-${ctx.runId}`;
  const nodeNames = ZONES.map((z) => `bench-${ctx.runId}-ceiling-${z}`);
  const taintKey = 'bench.eci-virtual-node.io/ceiling';
  const proc = startProcess({
    name: 'ceiling',
    command: process.execPath,
    args: [
      join(import.meta.dirname, 'ceiling.ts'),
      '--kubeconfig',
      ctx.kubeconfig,
      '--nodes',
      nodeNames.map((n, i) => `${n}=${ZONES[i]!}`).join(','),
      '--pod-selector',
      `${BENCH_LABEL}=${ctx.runId}`,
      '--node-label',
      `bench.eci-virtual-node.io/nodes=${nodeLabel}`,
      '--taint',
      `${taintKey}=true`,
      '--concurrency',
      String(ctx.workers),
    ],
    logFile: join(dir, 'ceiling.log'),
    env: withoutKubeconfig(),
  });
  await waitForLine(proc, /^ceiling ready/, 60_000);
  return {
    name: 'ceiling',
    nodeNames,
    placement: { tolerations: [{ key: taintKey, operator: 'Exists', effect: 'NoSchedule' }], nodeSelector: { 'bench.eci-virtual-node.io/nodes': nodeLabel } },
    tuning: `concurrency=${ctx.workers} requests in flight, client QPS: none`,
    pids: () => (proc.isRunning() ? [proc.pid] : []),
    stop: () => proc.stop(10_000),
  };
}

export async function startSystem(name: SystemName, ctx: SystemContext, core: k8s.CoreV1Api): Promise<RunningSystem> {
  switch (name) {
    case 'eci-vn':
      return startEciVn(ctx);
    case 'kwok':
      return startKwok(ctx, core);
    case 'vk-mock':
      return startVkMock(ctx);
    case 'ceiling':
      return startCeiling(ctx);
  }
}

// ---- peer binaries -------------------------------------------------------------------------------------

/** Runs build-peers.sh for the peers asked for; a peer that fails to build is reported, not fatal. */
export async function buildPeers(peers: readonly ('kwok' | 'virtual-kubelet')[], log: (line: string) => void): Promise<{ kwok?: string; virtualKubelet?: string; kwokStagesDir?: string; errors: string[] }> {
  if (peers.length === 0) return { errors: [] };
  const child = spawn('bash', [join(import.meta.dirname, 'build-peers.sh'), ...peers], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const errTail: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => out.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => {
    errTail.push(l);
    if (errTail.length > 40) errTail.shift();
    if (l.startsWith('[peers]')) log(l);
  });
  // Go builds of kwok and virtual-kubelet: minutes cold, longer on a busy machine.
  const buildMs = budget({ baseMs: 30 * 60_000 });
  const timer = setTimeout(() => child.kill('SIGKILL'), buildMs);
  await waitForEvent(child, 'close', { timeoutMs: buildMs + 30_000, what: `build-peers.sh ${peers.join(' ')} to finish`, lastSeen: () => errTail.slice(-5).join('\n') }).finally(() => clearTimeout(timer));
  const result: { kwok?: string; virtualKubelet?: string; kwokStagesDir?: string; errors: string[] } = { errors: [] };
  for (const line of out) {
    const [name, path = ''] = line.split('=', 2);
    if (path === '') {
      result.errors.push(`${name}: build failed:\n${errTail.join('\n')}`);
      continue;
    }
    if (name === 'kwok') {
      result.kwok = path;
      result.kwokStagesDir = join(path, '..', 'stages');
    }
    if (name === 'virtual-kubelet') result.virtualKubelet = path;
  }
  return result;
}
