// Benchmark of the cloud simulator through the official SDKs: creates/s, describes/s
// (DescribeContainerGroups by ids, by tag and a paged relist; DescribeContainerGroupStatus by ids
// and with SinceSecond), deletes/s and memory. `unlimited` rate-limit mode, no lifecycle delays,
// state persisted with fsync (the default durability) unless --no-state.
//
//   node test/bench/cloudsim.ts [--groups N] [--concurrency N] [--clients N] [--same-thread] [--no-state]
//
// The simulator runs in a worker thread of this process (its own event loop); the SDK clients run
// in the main thread, or in N client worker threads with --clients N. The official SDK costs more
// CPU per call than the simulator, so on a small machine the clients saturate first: besides the
// achieved calls/s the benchmark prints how busy the simulator's event loop was (ELU), the
// simulator thread's CPU time per call, and the capacity that implies (1000 / CPU ms per call).
// --same-thread runs everything on one loop.
// Bounded: every phase stops at its count or its time budget; a run takes well under 2 minutes.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import eciModule from '@alicloud/eci20180808';
import * as $eci from '@alicloud/eci20180808';
import { Config } from '@alicloud/openapi-client';
import { startCloudSim } from '../../adapters/cloudsim/server.ts';
import type { CloudSim } from '../../adapters/cloudsim/server.ts';
import { waitForEvent, withDeadline } from '../helpers/deadline.ts';

const REGION = 'cn-bench-1';
const AK = { id: 'LTAIbenchKey', secret: 'bench-secret' };

function benchWorld(): Record<string, unknown> {
  const zones = ['cn-bench-1a', 'cn-bench-1b', 'cn-bench-1c', 'cn-bench-1d'];
  return {
    regionId: REGION,
    zones,
    vpcs: [{ id: 'vpc-bench', cidr: '10.0.0.0/8' }],
    vSwitches: zones.map((z, i) => ({ id: `vsw-bench${i}`, vpcId: 'vpc-bench', zoneId: z, cidr: `10.${i + 1}.0.0/16` })),
    securityGroups: [{ id: 'sg-bench', vpcId: 'vpc-bench' }],
    accessKeys: [AK],
    admin: { token: 'bench-admin-token' },
    quotas: { maxGroups: 1_000_000, maxVcpu: 100_000_000 },
    lifecycle: { schedulingMs: 0, pendingMs: 0, exitAfterMs: 0, terminatingMs: 0 },
    rateLimits: { mode: 'unlimited' },
    persistence: { durability: 'fsync', snapshotIntervalMs: 2000 },
  };
}

async function startSim(stateFile: string | undefined): Promise<CloudSim> {
  return startCloudSim({ world: benchWorld(), ...(stateFile === undefined ? {} : { stateFile }), log: () => undefined });
}

const EciClient = (typeof (eciModule as { default?: unknown }).default === 'function' ? eciModule.default : eciModule) as typeof eciModule.default;
type Eci = InstanceType<typeof EciClient>;

function newClients(endpoint: string): Eci[] {
  return Array.from({ length: 4 }, () => new EciClient(new Config({ accessKeyId: AK.id, accessKeySecret: AK.secret, endpoint, protocol: 'http', regionId: REGION, readTimeout: 30_000 })));
}

// ------------------------------------------------------------------------------------------------
// Phases: the same code runs in the main thread or in client workers.

type PhaseName = 'create' | 'describeIds' | 'describeTag' | 'statusIds' | 'statusSince' | 'delete';

interface PhaseJob {
  phase: PhaseName;
  from: number;
  to: number;
  concurrency: number;
  budgetMs: number;
  ids: string[];
}

interface PhaseOutcome {
  latencies: number[];
  errors: number;
  firstError?: string;
  created: [number, string][];
}

async function runJob(clients: Eci[], job: PhaseJob): Promise<PhaseOutcome> {
  const { ids } = job;
  const batches = Math.max(1, Math.ceil(ids.length / 20));
  const created: [number, string][] = [];
  const ops: Record<PhaseName, (c: Eci, i: number) => Promise<unknown>> = {
    create: async (c, i) => {
      const res = await c.createContainerGroup(
        new $eci.CreateContainerGroupRequest({
          regionId: REGION,
          containerGroupName: `bench-${i}`,
          vSwitchId: `vsw-bench${i % 4},vsw-bench${(i + 1) % 4}`,
          securityGroupId: 'sg-bench',
          clientToken: `bench-uid-${i}`,
          container: [new $eci.CreateContainerGroupRequestContainer({ name: 'app', image: 'nginx:1.27', cpu: 1, memory: 2, port: [new $eci.CreateContainerGroupRequestContainerPort({ port: 80, protocol: 'TCP' })] })],
          tag: [new $eci.CreateContainerGroupRequestTag({ key: 'pod-uid', value: `uid-${i}` }), new $eci.CreateContainerGroupRequestTag({ key: 'cluster', value: 'bench' })],
        }),
      );
      created.push([i, res.body.containerGroupId!]);
    },
    describeIds: (c, i) => c.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, containerGroupIds: JSON.stringify(ids.slice((i % batches) * 20, (i % batches) * 20 + 20)) })),
    describeTag: (c, i) => c.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, tag: [new $eci.DescribeContainerGroupsRequestTag({ key: 'pod-uid', value: `uid-${i % ids.length}` })] })),
    statusIds: (c, i) => c.describeContainerGroupStatus(new $eci.DescribeContainerGroupStatusRequest({ regionId: REGION, containerGroupIds: JSON.stringify(ids.slice((i % batches) * 20, (i % batches) * 20 + 20)) })),
    statusSince: (c) => c.describeContainerGroupStatus(new $eci.DescribeContainerGroupStatusRequest({ regionId: REGION, sinceSecond: 5, limit: 200 })),
    delete: (c, i) => c.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: ids[i] })),
  };
  const op = ops[job.phase];
  let next = job.from;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const deadline = performance.now() + job.budgetMs;
  await Promise.all(
    Array.from({ length: job.concurrency }, async (_, w) => {
      while (next < job.to && performance.now() < deadline) {
        const i = next++;
        const s = performance.now();
        try {
          await op(clients[w % clients.length]!, i);
        } catch (e) {
          errors++;
          firstError ??= (e as Error).message;
        }
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { latencies, errors, created, ...(firstError === undefined ? {} : { firstError }) };
}

// ------------------------------------------------------------------------------------------------

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

function ask<T>(worker: Worker, msg: unknown, key: string): Promise<T> {
  let on: ((m: Record<string, unknown>) => void) | undefined;
  const answered = new Promise<T>((resolve) => {
    on = (m) => {
      if (key in m) resolve(m[key] as T);
    };
    worker.on('message', on);
    worker.postMessage(msg);
  });
  return withDeadline(answered, 60_000, `the simulator worker to answer ${JSON.stringify(msg)}`).finally(() => worker.off('message', on!));
}

interface Row {
  name: string;
  calls: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  elu?: number;
  /** Simulator thread CPU time per call (not inflated by other processes taking the CPU). */
  cpuMsPerCall?: number;
}

async function runBench(): Promise<void> {
  const groups = flag('--groups', 10_000);
  const concurrency = flag('--concurrency', 64);
  const clientThreads = flag('--clients', 0);
  const sameThread = process.argv.includes('--same-thread');
  const noState = process.argv.includes('--no-state');
  const dir = await mkdtemp(join(tmpdir(), 'cloudsim-bench-'));
  const stateFile = noState ? undefined : join(dir, 'state.json');

  let endpoint: string;
  let stop: () => Promise<void>;
  let simMemory: () => Promise<NodeJS.MemoryUsage>;
  let simElu: () => Promise<EventLoopUtilization | undefined>;
  let simCpu: () => Promise<NodeJS.CpuUsage | undefined>;
  if (sameThread) {
    const sim = await startSim(stateFile);
    endpoint = sim.endpoint;
    stop = () => sim.stop();
    simMemory = () => Promise.resolve(process.memoryUsage());
    simElu = () => Promise.resolve(undefined);
    simCpu = () => Promise.resolve(undefined);
  } else {
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'sim', stateFile } });
    endpoint = (await waitForEvent<[{ endpoint: string }]>(worker, 'message', { timeoutMs: 60_000, what: 'the simulator worker to report its endpoint' }))[0].endpoint;
    simMemory = () => ask<NodeJS.MemoryUsage>(worker, 'memory', 'memory');
    simElu = () => ask<EventLoopUtilization>(worker, 'elu', 'elu');
    simCpu = () => ask<NodeJS.CpuUsage>(worker, 'cpu', 'cpu');
    stop = async () => {
      await ask(worker, 'stop', 'stopped');
      await worker.terminate();
    };
  }

  const mainClients = newClients(endpoint);
  const clientWorkers = Array.from({ length: clientThreads }, () => new Worker(new URL(import.meta.url), { workerData: { role: 'client', endpoint } }));

  const ids: string[] = [];
  const rows: Row[] = [];
  const phase = async (name: string, p: PhaseName, count: number, budgetMs: number): Promise<Row> => {
    const before = await simElu();
    const cpuBefore = await simCpu();
    const t0 = performance.now();
    let outcomes: PhaseOutcome[];
    if (clientWorkers.length === 0) {
      outcomes = [await runJob(mainClients, { phase: p, from: 0, to: count, concurrency, budgetMs, ids })];
    } else {
      const share = Math.ceil(count / clientWorkers.length);
      outcomes = await Promise.all(
        clientWorkers.map((w, k) =>
          ask<PhaseOutcome>(w, { phase: p, from: k * share, to: Math.min(count, (k + 1) * share), concurrency: Math.ceil(concurrency / clientWorkers.length), budgetMs, ids } satisfies PhaseJob, 'outcome'),
        ),
      );
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = await simElu();
    const cpuAfter = await simCpu();
    const latencies = outcomes.flatMap((o) => o.latencies).sort((a, b) => a - b);
    for (const o of outcomes) for (const [i, id] of o.created) ids[i] = id;
    const errors = outcomes.reduce((s, o) => s + o.errors, 0);
    const firstError = outcomes.find((o) => o.firstError !== undefined)?.firstError;
    if (firstError !== undefined) console.error(`  ${name}: ${errors} error(s), first: ${firstError}`);
    const q = (x: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * x))] ?? 0) * 100) / 100;
    const row: Row = { name, calls: latencies.length, perSecond: Math.round(latencies.length / seconds), p50: q(0.5), p99: q(0.99), errors };
    if (before !== undefined && after !== undefined) {
      const active = after.active - before.active;
      const idle = after.idle - before.idle;
      row.elu = active / (active + idle);
    }
    if (cpuBefore !== undefined && cpuAfter !== undefined && latencies.length > 0) {
      row.cpuMsPerCall = (cpuAfter.user - cpuBefore.user + cpuAfter.system - cpuBefore.system) / 1000 / latencies.length;
    }
    rows.push(row);
    return row;
  };

  const where = sameThread ? 'simulator and clients on one thread' : `simulator in a worker thread, SDK clients in ${clientThreads === 0 ? 'the main thread' : `${clientThreads} client threads`}`;
  console.log(`cloudsim benchmark: ${groups} groups, concurrency ${concurrency}, ${where}, state ${stateFile === undefined ? 'in memory' : 'persisted (fsync before each acknowledgement)'}`);
  await phase('CreateContainerGroup', 'create', groups, 45_000);
  const created = ids.filter((x) => x !== undefined);
  ids.length = 0;
  ids.push(...created);
  await phase('DescribeContainerGroups (20 ids)', 'describeIds', 5000, 15_000);
  await phase('DescribeContainerGroups (Tag filter)', 'describeTag', 5000, 15_000);

  // A full relist by the cluster tag, page by page (Limit 20, no events), one call at a time, as
  // the provider does at start (500 pages at 10,000 groups).
  const relistCpu = await simCpu();
  const relistT0 = performance.now();
  let token = '';
  let pages = 0;
  let listed = 0;
  do {
    const req = new $eci.DescribeContainerGroupsRequest({ regionId: REGION, limit: 20, withEvent: false, tag: [new $eci.DescribeContainerGroupsRequestTag({ key: 'cluster', value: 'bench' })] });
    if (token !== '') req.nextToken = token;
    const res = await mainClients[0]!.describeContainerGroups(req);
    listed += res.body.containerGroups!.length;
    token = res.body.nextToken ?? '';
    pages++;
  } while (token !== '' && performance.now() - relistT0 < 20_000);
  const relistSeconds = (performance.now() - relistT0) / 1000;
  const relistCpuAfter = await simCpu();
  rows.push({
    name: `DescribeContainerGroups (relist ${listed} by tag, Limit 20, serial)`,
    calls: pages,
    perSecond: Math.round(pages / relistSeconds),
    p50: Math.round((relistSeconds * 1000 * 100) / pages) / 100,
    p99: 0,
    errors: listed === created.length ? 0 : 1,
    ...(relistCpu === undefined || relistCpuAfter === undefined ? {} : { cpuMsPerCall: (relistCpuAfter.user - relistCpu.user + relistCpuAfter.system - relistCpu.system) / 1000 / pages }),
  });

  await phase('DescribeContainerGroupStatus (20 ids)', 'statusIds', 5000, 15_000);
  await phase('DescribeContainerGroupStatus (SinceSecond 5, Limit 200)', 'statusSince', 2000, 15_000);
  const memory = await simMemory();
  await phase('DeleteContainerGroup', 'delete', created.length, 25_000);

  console.log('');
  console.log(`${'phase'.padEnd(58)} ${'calls'.padStart(6)} ${'calls/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'errors'.padStart(6)} ${'sim ELU'.padStart(8)} ${'sim CPU ms/call'.padStart(16)} ${'sim capacity/s'.padStart(15)}`);
  for (const r of rows) {
    const elu = r.elu === undefined ? '-' : `${Math.round(r.elu * 100)}%`;
    const cpu = r.cpuMsPerCall === undefined ? '-' : r.cpuMsPerCall.toFixed(3);
    const cap = r.cpuMsPerCall === undefined || r.cpuMsPerCall === 0 ? '-' : `~${Math.round(1000 / r.cpuMsPerCall)}`;
    console.log(`${r.name.padEnd(58)} ${String(r.calls).padStart(6)} ${String(r.perSecond).padStart(8)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${String(r.errors).padStart(6)} ${elu.padStart(8)} ${cpu.padStart(16)} ${cap.padStart(15)}`);
  }
  const mb = (n: number): string => `${Math.round(n / 1024 / 1024)} MiB`;
  console.log('');
  console.log(`memory with ${created.length} groups: simulator heap used ${mb(memory.heapUsed)}; process rss ${mb(memory.rss)} (all threads)`);
  console.log('sim ELU: share of wall time the simulator event loop was busy. sim CPU ms/call: CPU time of the simulator thread per call;');
  console.log('sim capacity/s = 1000 / that: calls per second one core running only the simulator could serve (the SDK clients are the bottleneck here).');

  for (const w of clientWorkers) await w.terminate();
  await stop();
  await rm(dir, { recursive: true, force: true });
  process.exitCode = rows.some((r) => r.errors > 0) ? 1 : 0;
}

// ------------------------------------------------------------------------------------------------
// Entry: main thread, simulator worker, or client worker.

const role = isMainThread ? 'main' : (workerData as { role: 'sim' | 'client' }).role;
if (role === 'sim') {
  const { stateFile } = workerData as { stateFile?: string };
  const sim = await startSim(stateFile);
  parentPort!.postMessage({ endpoint: sim.endpoint });
  parentPort!.on('message', (m: string) => {
    if (m === 'memory') parentPort!.postMessage({ memory: process.memoryUsage() });
    if (m === 'elu') parentPort!.postMessage({ elu: performance.eventLoopUtilization() });
    if (m === 'cpu') parentPort!.postMessage({ cpu: process.threadCpuUsage() });
    if (m === 'stop') void sim.stop().then(() => parentPort!.postMessage({ stopped: true }));
  });
} else if (role === 'client') {
  const clients = newClients((workerData as { endpoint: string }).endpoint);
  parentPort!.on('message', (job: PhaseJob) => {
    void runJob(clients, job).then((outcome) => parentPort!.postMessage({ outcome }));
  });
} else {
  await runBench();
}
