// The benchmark's outputs: the table (one row per system and mode, ratios to the ceiling), the
// targets of issue 16 checked against the figures, an SVG of pods Running over time, and the top
// self-time frames of a V8 CPU profile (`node --cpu-prof`).
import { readFileSync } from 'node:fs';
import type { BenchResult, CaseResult } from './harness.ts';

/** The restarted provider's log lines that mark its start-up phases (msg -> phase name). */
export const RESTART_PHASE_LINES: Readonly<Record<string, string>> = {
  'pod caches synced': 'pod caches synced',
  'adopted the existing container groups': 'groups adopted',
  // The nodes' readiness gate opened (before the adoption since the third session; a node that
  // was Ready stays Ready throughout, a NotReady one turns Ready here).
  'virtual nodes Ready': 'nodes Ready',
};

/** Seconds after `spawnedAt` of the first log line of each phase (JSON lines with `time` and `msg`). */
export function restartPhases(logText: string, spawnedAt: number): Record<string, number> {
  const phases: Record<string, number> = {};
  for (const line of logText.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: unknown; time?: unknown };
    try {
      entry = JSON.parse(line) as { msg?: unknown; time?: unknown };
    } catch {
      continue;
    }
    const phase = typeof entry.msg === 'string' ? RESTART_PHASE_LINES[entry.msg] : undefined;
    if (phase === undefined || phases[phase] !== undefined || typeof entry.time !== 'string') continue;
    phases[phase] = (new Date(entry.time).getTime() - spawnedAt) / 1000;
  }
  return phases;
}

const f = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));

function ceilingOf(result: BenchResult): CaseResult | undefined {
  return result.cases.find((c) => c.system === 'ceiling' && c.mode === 'unlimited');
}

export function renderTable(result: BenchResult): string {
  const ceiling = ceilingOf(result);
  const header = [
    'system',
    'mode',
    'Running',
    'pods/s',
    'x ceiling',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'e2e s',
    'paced p99 ms',
    'delete pods/s',
    'ECI calls/pod',
    'api req/pod',
    'RSS peak MiB',
    'heap MiB',
    'RSS/heap MiB per 1k pods',
    'CPU s',
    'CPU ms/pod',
    'restart s',
    'restart creates',
  ];
  const rows = result.cases.map((c) => {
    const ratio = ceiling?.create.throughputPodsPerSec !== undefined && c.create.throughputPodsPerSec !== undefined ? c.create.throughputPodsPerSec / ceiling.create.throughputPodsPerSec : undefined;
    const pods = c.create.pods + (c.paced?.pods ?? 0);
    return [
      c.system,
      c.mode,
      `${c.create.running}/${c.create.pods}${c.create.failed > 0 ? ` (${c.create.failed} Failed)` : ''}`,
      f(c.create.throughputPodsPerSec),
      f(ratio, 2),
      f(c.create.latency.p50Ms, 0),
      f(c.create.latency.p90Ms, 0),
      f(c.create.latency.p99Ms, 0),
      f(c.create.endToEndSeconds),
      c.paced === undefined ? '-' : `${f(c.paced.latency.p99Ms, 0)} @${c.paced.offeredPerSec}/s`,
      f(c.delete?.throughputPodsPerSec),
      c.cloudCallsPerPodTotal === undefined ? '-' : f(c.cloudCallsPerPodTotal, 2),
      f(c.apiserverRequestsPerPod?.total, 2),
      f(c.rssPeakMiB, 0),
      f(c.heapPeakMiB, 0),
      c.memoryPer1000Pods === undefined ? '-' : `${f(c.memoryPer1000Pods.rssMiB, 0)}/${f(c.memoryPer1000Pods.heapMiB, 0)}`,
      f(c.cpuSeconds),
      pods > 0 ? f((1000 * c.cpuSeconds) / pods, 2) : '-',
      c.restart === undefined ? '-' : f(c.restart.convergenceSeconds),
      c.restart === undefined ? '-' : String(c.restart.createCalls),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function renderDetails(result: BenchResult): string {
  const out: string[] = [];
  for (const c of result.cases) {
    out.push(`${c.system}/${c.mode}: ${c.tuning}`);
    if (c.cloudCallsPerPod !== undefined) out.push(`  cloud calls per pod: ${Object.entries(c.cloudCallsPerPod).map(([a, n]) => `${a} ${n.toFixed(3)}`).join(', ')}`);
    if (c.cloudErrors !== undefined) out.push(`  cloud errors: ${JSON.stringify(c.cloudErrors)}`);
    if (c.apiserverRequestsPerPod !== undefined) out.push(`  apiserver requests per pod (this system's identity): create phase ${c.apiserverRequestsPerPod.create.toFixed(2)}, delete phase ${c.apiserverRequestsPerPod.delete.toFixed(2)}, whole case ${c.apiserverRequestsPerPod.total.toFixed(2)}`);
    if (c.apiserverCreateRequestsPerPodByKind !== undefined) {
      const kinds = Object.entries(c.apiserverCreateRequestsPerPodByKind);
      const writes = kinds.filter(([kind]) => kind !== 'other').reduce((a, [, n]) => a + n, 0);
      out.push(`  apiserver requests per pod by kind, create phase: ${kinds.map(([kind, n]) => `${kind} ${n.toFixed(2)}`).join(', ')} (writes ${writes.toFixed(2)})`);
    }
    if (c.apiserverDeleteRequestsPerPodByKind !== undefined) out.push(`  apiserver requests per pod by kind, delete phase: ${Object.entries(c.apiserverDeleteRequestsPerPodByKind).map(([kind, n]) => `${kind} ${n.toFixed(2)}`).join(', ') || 'none'}`);
    if (c.quota !== undefined) out.push(`  quota-true: ${c.quota.creates} creates in ${c.quota.windowSeconds.toFixed(1)} s; the bucket allowed ${c.quota.allowed.toFixed(0)} => ${c.quota.usedPct.toFixed(1)}% used; ${c.quota.throttled} throttled answers`);
    if (c.restart !== undefined) {
      const r = c.restart;
      out.push(`  restart with ${r.podsPresent} pods: webhook up ${r.readySeconds.toFixed(1)} s, every pod synced ${f(r.convergenceSeconds)} s, CreateContainerGroup ${r.createCalls}, calls ${JSON.stringify(r.cloudCalls)}`);
      const phases = Object.entries(r.phases ?? {}).map(([name, s]) => `${name} ${s.toFixed(1)} s`);
      if (r.firstReadySeconds !== undefined) phases.push(`first pod Ready ${r.firstReadySeconds.toFixed(1)} s`, `last pod Ready ${f(r.lastReadySeconds)} s`);
      if (phases.length > 0) out.push(`  restart phases (after the spawn): ${phases.join(', ')}; repaired ${f(r.repairPerSecond)} pods/s between the first and the last`);
      if (r.stalePatch !== undefined) out.push(`  restart ceiling: the harness patched ${r.podsPresent} pods stale (32 at once) in ${r.stalePatch.seconds.toFixed(1)} s = ${r.stalePatch.perSecond.toFixed(0)} status patches/s`);
      if (r.apiserverRequestsPerPodByKind !== undefined) out.push(`  restart apiserver requests per pod by kind, spawn to every pod Ready: ${Object.entries(r.apiserverRequestsPerPodByKind).map(([kind, n]) => `${kind} ${n.toFixed(2)}`).join(', ') || 'none'}`);
      if (r.cores !== undefined) {
        const { stale, repair } = r.cores;
        out.push(`  restart CPU cores busy: while patching stale kube-apiserver+etcd ${stale.controlPlane.toFixed(2)}, machine ${stale.machine.toFixed(2)}; spawn to every pod Ready: kube-apiserver+etcd ${repair.controlPlane.toFixed(2)}, provider ${repair.provider.toFixed(2)}, machine ${repair.machine.toFixed(2)} (${result.host.cpus} CPUs)`);
      }
      const rc = r.cpuByProcess;
      if (rc !== undefined && rc.wallSeconds > 0) {
        const perPod = (sec: number): string => `${((1000 * sec) / Math.max(1, r.podsPresent)).toFixed(2)} ms/pod (${(sec / rc.wallSeconds).toFixed(2)} cores)`;
        const known = Object.values(rc.byProcess).reduce((a, b) => a + b, 0);
        const byProcess = Object.entries(rc.byProcess).sort(([, a], [, b]) => b - a).map(([name, sec]) => `${name} ${perPod(sec)}`);
        // What the machine spent outside these processes: other tenants of the host, the kernel's own threads.
        byProcess.push(`not these processes ${perPod(Math.max(0, rc.machineSeconds - known))}`);
        out.push(`  restart CPU by process, spawn to every pod Ready: ${byProcess.join(', ')}; machine ${perPod(rc.machineSeconds)} over ${rc.wallSeconds.toFixed(1)} s`);
      }
      if (r.apiserverProfile !== undefined) {
        out.push(`  kube-apiserver CPU profile, first ${r.apiserverProfile.seconds} s after the restart's spawn: ${r.apiserverProfile.file}`);
        for (const line of r.apiserverProfile.top) out.push(`    ${line}`);
      }
    }
    if (c.paced !== undefined) out.push(`  paced ${c.paced.pods} pods at ${c.paced.offeredPerSec}/s: p50 ${f(c.paced.latency.p50Ms, 0)} ms, p90 ${f(c.paced.latency.p90Ms, 0)} ms, p99 ${f(c.paced.latency.p99Ms, 0)} ms`);
    for (const [phase, steps] of [['create', c.create.steps], ['paced', c.paced?.steps]] as const) {
      if (steps === undefined) continue;
      out.push(`  ${phase} phase, bound->Running by step (p50/p99 ms): ${Object.entries(steps).map(([step, l]) => `${step} ${f(l.p50Ms, 0)}/${f(l.p99Ms, 0)}`).join('; ')}`);
    }
    const writes = c.paced?.statusWrites;
    if (writes !== undefined) {
      const w = (l: { count: number; p50AtMostSeconds: number; p99AtMostSeconds: number; overOneSecondPct: number } | undefined): string => (l === undefined ? '-' : `${l.count} writes, p50 <= ${l.p50AtMostSeconds} s, p99 <= ${l.p99AtMostSeconds} s, ${l.overOneSecondPct.toFixed(1)}% over 1 s`);
      out.push(`  paced phase, PATCH pods/status by its histogram's buckets: as the provider waited for it ${w(writes.provider)}; inside the apiserver (all clients) ${w(writes.apiserver)}`);
    }
    for (const [phase, cpu, pods] of [['create', c.createCpu, c.create.pods], ['paced', c.paced?.cpu, c.paced?.pods ?? 0]] as const) {
      if (cpu === undefined || cpu.wallSeconds <= 0) continue;
      const perPod = (sec: number): string => `${sec.toFixed(1)} s = ${((1000 * sec) / Math.max(1, pods)).toFixed(2)} ms/pod`;
      const byProcess = Object.entries(cpu.byProcess).sort(([, a], [, b]) => b - a).map(([name, sec]) => `${name} ${perPod(sec)}`);
      out.push(`  ${phase} phase CPU by process: ${byProcess.join(', ')}; machine ${perPod(cpu.machineSeconds)} = ${(cpu.machineSeconds / cpu.wallSeconds).toFixed(2)} of ${result.host.cpus} CPUs busy over ${cpu.wallSeconds.toFixed(1)} s`);
    }
    const profile = c.apiserverProfile;
    if (profile !== undefined) {
      out.push(`  kube-apiserver CPU profile, first ${profile.seconds} s of the create phase: ${profile.file}`);
      for (const line of profile.top) out.push(`    ${line}`);
    }
    const sim = c.simulatorCpu;
    if (sim !== undefined) {
      const ms = (sec: number | undefined, pods: number): string => (sec === undefined ? '-' : `${sec.toFixed(1)} s = ${((1000 * sec) / Math.max(1, pods)).toFixed(2)} ms/pod`);
      out.push(`  cloud simulator CPU: create phase ${ms(sim.createSeconds, c.create.pods)} (provider ${ms(sim.providerCreateSeconds, c.create.pods)}); restart ${ms(sim.restartSeconds, c.restart?.podsPresent ?? 0)}; CreateContainerGroup inside the simulator ${f(sim.createCallMeanMs, 2)} ms mean (create phase); whole case ${ms(sim.totalSeconds, c.create.pods + (c.paced?.pods ?? 0))}`);
    }
    if (c.delete !== undefined) out.push(`  delete: ${c.delete.deleted}/${c.delete.pods} gone in ${c.delete.seconds.toFixed(1)} s`);
    out.push(`  memory: RSS peak ${c.rssPeakMiB.toFixed(0)} MiB (sampled), VmHWM ${c.rssHwmMiB.toFixed(0)} MiB${c.heapPeakMiB === undefined ? '' : `, V8 heap used peak ${c.heapPeakMiB.toFixed(0)} MiB`}`);
    const at = c.memoryAtPeak;
    if (at?.rss !== undefined && at.spacesKiB !== undefined) {
      const mib = (b: number | undefined): string => (b === undefined ? '-' : (b / 1048576).toFixed(0));
      const sp = at.spacesKiB;
      const space = (names: string[]): string => ((names.reduce((sum, n) => sum + (sp[n] ?? 0), 0) * 1024) / 1048576).toFixed(0);
      out.push(
        `  memory at the RSS peak (MiB): RSS ${mib(at.rss)} = anonymous ${mib((at.rssAnonKiB ?? 0) * 1024)} + mapped files ${mib((at.rssFileKiB ?? 0) * 1024)}; V8 heap committed ${mib(at.heapTotal)} (used ${mib(at.heapUsed)}; new ${space(['new', 'new_large_object'])}, old ${space(['old'])}, large ${space(['large_object'])}, code ${space(['code', 'code_large_object'])}, trusted ${space(['trusted', 'trusted_large_object'])}), external ${mib(at.external)} (array buffers ${mib(at.arrayBuffers)})`,
      );
      const n = at.native;
      if (n !== undefined) {
        const kib = (v: number): string => ((v * 1024) / 1048576).toFixed(0);
        out.push(`  anonymous memory by mapping near the peak (MiB): malloc main arena (brk) ${kib(n.brkKiB)}, malloc thread arenas ${kib(n.arenasKiB)} (${n.arenas}), V8's 256 KiB pages ${kib(n.v8PagesKiB ?? 0)}, other anonymous ${kib(n.otherKiB)} (V8's large objects and code, stacks, malloc's mmap()ed chunks; largest mapping ${kib(n.largestOtherKiB)})`);
      }
    }
    if (c.rssPeakByPhaseMiB !== undefined) out.push(`  provider RSS / V8 heap used peak by phase (MiB): ${Object.entries(c.rssPeakByPhaseMiB).map(([phase, m]) => `${phase} ${m.rssMiB.toFixed(0)} / ${m.heapMiB.toFixed(0)}`).join(', ')}`);
    if (c.memoryAtReadyMiB !== undefined) out.push(`  memory at nodes Ready (no pod yet): RSS ${f(c.memoryAtReadyMiB.rssMiB, 0)} MiB, V8 heap used ${f(c.memoryAtReadyMiB.heapMiB, 0)} MiB`);
    if (c.memoryPer1000Pods !== undefined) out.push(`  memory per 1000 pods (all Running minus nodes Ready, scaled): RSS ${f(c.memoryPer1000Pods.rssMiB, 1)} MiB, V8 heap used ${f(c.memoryPer1000Pods.heapMiB, 1)} MiB`);
    if (c.podEvents !== undefined) out.push(`  provider Events per pod by type/reason, all Running: ${Object.entries(c.podEvents.byReason).sort(([, a], [, b]) => b - a).map(([r, n]) => `${r} ${n.toFixed(2)}`).join(', ') || 'none'} (${c.podEvents.podsWithMore} of ${c.podEvents.pods} pods with more than one)`);
    if (c.cacheBytesPerPod !== undefined) out.push(`  one cached pod (v8 serialize, mean of ${c.cacheBytesPerPod.sampled}): ${c.cacheBytesPerPod.full.toFixed(0)} bytes as listed, ${c.cacheBytesPerPod.lean.toFixed(0)} bytes in the lean cache`);
    const wp = c.watchProbeFromStart;
    if (wp !== undefined) out.push(`  watch probe from the first Deployment, p99 per 10 s of answer -> seen: pod ${wp.pod.seen.map((ms) => f(ms, 0)).join(', ')} ms (first 10 s by 2 s: ${wp.pod.seenFirst10sBy2s.map((ms) => f(ms, 0)).join(', ')}); ConfigMap ${wp.configMap.seen.map((ms) => f(ms, 0)).join(', ')} ms`);
    if (c.quota?.runningAfterGroupCreated !== undefined) out.push(`  quota-true: Running - group created: p50 ${f(c.quota.runningAfterGroupCreated.p50Ms, 0)} ms, p99 ${f(c.quota.runningAfterGroupCreated.p99Ms, 0)} ms (${c.quota.runningAfterGroupCreated.count} pods)`);
    const legs = c.quota?.lagLegs;
    if (legs !== undefined) {
      const leg = (s: { p50Ms?: number; p99Ms?: number }): string => `p50 ${f(s.p50Ms, 0)} / p99 ${f(s.p99Ms, 0)} ms`;
      out.push(`    by leg: create answered ${leg(legs.answer)}; provider saw Running ${leg(legs.seen)}; status write seen ${leg(legs.written)}`);
    }
    if (c.quota?.lagP99By10s !== undefined) out.push(`    p99 by 10 s of group creation: ${c.quota.lagP99By10s.map((ms) => f(ms, 0)).join(', ')} ms`);
    const byLeg = c.quota?.legP99By10s;
    if (byLeg !== undefined) out.push(`      provider saw Running: ${byLeg.seen.map((ms) => f(ms, 0)).join(', ')} ms; status write seen: ${byLeg.written.map((ms) => f(ms, 0)).join(', ')} ms`);
    const loop = c.quota?.loopDelayMaxBy10s;
    if (loop !== undefined && loop.length > 0) out.push(`    provider's event-loop delay, max per 10 s of group creation: ${loop.join(', ')} ms`);
    const providerWrites = c.quota?.providerStatusWriteP99By10s;
    if (providerWrites !== undefined && providerWrites.length > 0) out.push(`    provider's status PATCH, request -> answer as it waits (its histogram), p99 per 10 s of group creation: ${providerWrites.map((w) => `<= ${w.p99AtMostSeconds} s (${w.count})`).join(', ')}`);
    const probe = c.quota?.watchProbe;
    if (probe !== undefined) out.push(`    watch probe (a bench PATCH every 250 ms), p99 per 10 s: request -> answer ${probe.answered.map((ms) => f(ms, 0)).join(', ')} ms; answer -> seen by the bench's watch ${probe.seen.map((ms) => f(ms, 0)).join(', ')} ms (first 10 s by 2 s: ${probe.seenFirst10sBy2s.map((ms) => f(ms, 0)).join(', ')} ms); the bench's event-loop delay max ${probe.benchLoopMaxMs.map((ms) => f(ms, 0)).join(', ')} ms${probe.lost > 0 ? `; ${probe.lost} writes not answered or not seen` : ''}`);
    const closedBy = c.quota?.watchersTerminatedBy?.closed;
    if (closedBy !== undefined && Object.keys(closedBy).length > 0) out.push(`    watchers closed (kube-apiserver's log): ${Object.entries(closedBy).sort(([, a], [, b]) => b - a).map(([w, n]) => `${n}x ${w}`).join('; ')}`);
    const incoming = c.quota?.watchersTerminatedBy?.incomingPeak;
    if (incoming !== undefined && Object.keys(incoming).length > 0) out.push(`    watch caches' incoming channel (events from etcd not yet dispatched, 100 slots), most queued at a new high since kube-apiserver started: ${Object.entries(incoming).sort(([, a], [, b]) => b - a).map(([r, n]) => `${r} ${n}`).join(', ')}`);
    const cm = c.quota?.configMapProbe;
    if (cm !== undefined) out.push(`    the same probe on a ConfigMap: request -> answer ${cm.answered.map((ms) => f(ms, 0)).join(', ')} ms; answer -> seen by its watch ${cm.seen.map((ms) => f(ms, 0)).join(', ')} ms (first 10 s by 2 s: ${cm.seenFirst10sBy2s.map((ms) => f(ms, 0)).join(', ')} ms)${cm.lost > 0 ? `; ${cm.lost} writes not answered or not seen` : ''}`);
    const patch = c.quota?.statusPatchLatency;
    if (patch !== undefined) out.push(`    apiserver's own PATCH pods/status latency, create phase: ${patch.count} requests, p99 <= ${patch.p99AtMostSeconds} s (its histogram's bucket), ${patch.overOneSecondPct.toFixed(1)}% over 1 s${c.quota?.watchersTerminated === undefined ? '' : `; watchers closed by the watch cache for not keeping up: ${c.quota.watchersTerminated}`}`);
    for (const e of c.errors) out.push(`  ERROR: ${e}`);
  }
  for (const e of result.peerBuildErrors) out.push(`peer build error: ${e}`);
  return out.join('\n');
}

export interface TargetCheck {
  target: string;
  figure: string;
  met: boolean | undefined;
}

/** Writes per pod in the create phase (every WRITE_KIND of this identity), undefined when not counted. */
export function writesPerPod(c: CaseResult | undefined): number | undefined {
  const kinds = c?.apiserverCreateRequestsPerPodByKind;
  if (kinds === undefined) return undefined;
  return Object.entries(kinds)
    .filter(([kind]) => kind !== 'other')
    .reduce((a, [, n]) => a + n, 0);
}

/** Issue 16's targets against this run's figures (met undefined: not measured in this run). */
export function checkTargets(result: BenchResult): TargetCheck[] {
  const ours = result.cases.find((c) => c.system === 'eci-vn' && c.mode === 'unlimited');
  const quota = result.cases.find((c) => c.system === 'eci-vn' && c.mode === 'quota-true');
  const kwok = result.cases.find((c) => c.system === 'kwok' && c.mode === 'unlimited');
  const t = (x: CaseResult | undefined): number | undefined => x?.create.throughputPodsPerSec;
  const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
  const cpuPerPod = (c: CaseResult | undefined): number | undefined => {
    const pods = (c?.create.pods ?? 0) + (c?.paced?.pods ?? 0);
    return c === undefined || pods === 0 ? undefined : (1000 * c.cpuSeconds) / pods;
  };
  const checks: TargetCheck[] = [];
  const n = ours?.create.pods ?? 0;
  const big = n >= 10_000;

  // unlimited
  const rk = ratio(t(ours), t(kwok));
  checks.push({ target: 'unlimited: throughput >= 1.0x kwok', figure: rk === undefined ? 'not measured' : `${rk.toFixed(2)}x (${f(t(ours))} vs ${f(t(kwok))} pods/s)`, met: rk === undefined ? undefined : rk >= 1 });
  const paced = ours?.paced;
  checks.push({ target: 'unlimited: p99 bound->Running <= 1 s at 100 pods/s offered', figure: paced === undefined ? 'not measured' : `p99 ${f(paced.latency.p99Ms, 0)} ms at ${paced.offeredPerSec}/s (${paced.pods} pods)`, met: paced?.latency.p99Ms === undefined ? undefined : paced.offeredPerSec >= 100 && paced.latency.p99Ms <= 1000 });
  const writes = writesPerPod(ours);
  checks.push({ target: 'unlimited: <= 2 apiserver writes per pod to Running', figure: writes === undefined ? 'not measured' : `${writes.toFixed(2)} (${Object.entries(ours?.apiserverCreateRequestsPerPodByKind ?? {}).filter(([k]) => k !== 'other').map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`, met: writes === undefined ? undefined : writes <= 2 });
  const rc = ratio(cpuPerPod(ours), cpuPerPod(kwok));
  checks.push({ target: "unlimited: CPU per pod <= 2x kwok's", figure: rc === undefined ? 'not measured' : `${rc.toFixed(2)}x (${f(cpuPerPod(ours), 2)} vs ${f(cpuPerPod(kwok), 2)} ms/pod)`, met: rc === undefined ? undefined : rc <= 2 });

  // 10,000 pods
  const re = ratio(ours?.create.endToEndSeconds, kwok?.create.endToEndSeconds);
  checks.push({
    target: "10000 pods: first Deployment -> last pod Running <= 1.1x kwok's time",
    figure: re === undefined ? 'not measured' : `${re.toFixed(2)}x (${f(ours?.create.endToEndSeconds)} vs ${f(kwok?.create.endToEndSeconds)} s, ${n} pods)`,
    met: re === undefined || !big ? undefined : re <= 1.1,
  });
  // Already above the bound with fewer pods counts as missed (RSS does not shrink with more pods).
  checks.push({
    target: '10000 pods: RSS <= 300 MiB',
    figure: ours === undefined ? 'not measured' : `${ours.rssPeakMiB.toFixed(0)} MiB peak at ${n} pods${ours.memoryPer1000Pods === undefined ? '' : ` (${ours.memoryPer1000Pods.rssMiB.toFixed(0)} MiB per 1000 pods)`}`,
    met: ours === undefined ? undefined : ours.rssPeakMiB > 300 ? false : big ? true : undefined,
  });
  checks.push({
    target: '10000 pods: restart converged <= 30 s with 0 creates',
    figure: ours?.restart === undefined ? 'not measured' : `${f(ours.restart.convergenceSeconds)} s with ${ours.restart.podsPresent} pods, ${ours.restart.createCalls} creates`,
    met: ours?.restart === undefined ? undefined : ours.restart.createCalls > 0 ? false : big ? (ours.restart.convergenceSeconds ?? Infinity) <= 30 : undefined,
  });

  // quota-true (1000 pods)
  const qn = quota?.create.pods ?? 0;
  checks.push({
    target: 'quota-true: 1000 pods Running <= 50 s from the first Deployment',
    figure: quota === undefined ? 'not measured' : `${f(quota.create.endToEndSeconds)} s for ${qn} pods`,
    met: quota?.create.endToEndSeconds === undefined || qn !== 1000 ? undefined : quota.create.running === qn && quota.create.endToEndSeconds <= 50,
  });
  checks.push({ target: 'quota-true: >= 95% of the bucket used', figure: quota?.quota === undefined ? 'not measured' : `${quota.quota.usedPct.toFixed(1)}%`, met: quota?.quota === undefined ? undefined : quota.quota.usedPct >= 95 });
  checks.push({ target: 'quota-true: 0 Failed', figure: quota === undefined ? 'not measured' : `${quota.create.failed} Failed, ${quota.create.running}/${quota.create.pods} Running`, met: quota === undefined ? undefined : quota.create.failed === 0 && quota.create.running === quota.create.pods });
  const lag = quota?.quota?.runningAfterGroupCreated;
  checks.push({ target: 'quota-true: p99 of (Running - group created) <= 2 s', figure: lag?.p99Ms === undefined ? 'not measured' : `p99 ${f(lag.p99Ms, 0)} ms (${lag.count} pods)`, met: lag?.p99Ms === undefined ? undefined : lag.p99Ms <= 2000 });
  return checks;
}

export function renderTargets(checks: TargetCheck[]): string {
  return checks.map((c) => `${c.met === undefined ? '[ n/a ]' : c.met ? '[ met ]' : '[MISSED]'} ${c.target}: ${c.figure}`).join('\n');
}

// ---- SVG --------------------------------------------------------------------------------------------

const COLORS: Record<string, string> = { 'eci-vn': '#d62728', kwok: '#1f77b4', 'vk-mock': '#2ca02c', ceiling: '#7f7f7f' };

export function renderSvg(result: BenchResult): string {
  const W = 760;
  const H = 420;
  const m = { l: 60, r: 170, t: 30, b: 45 };
  const cases = result.cases.filter((c) => c.series.length > 1);
  const maxT = Math.max(1, ...cases.map((c) => c.series.at(-1)![0]));
  const maxN = Math.max(1, ...cases.map((c) => c.series.at(-1)![1]));
  const x = (t: number): number => m.l + (t / maxT) * (W - m.l - m.r);
  const y = (n: number): number => H - m.b - (n / maxN) * (H - m.t - m.b);
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${m.l}" y="18" font-size="14">Pods Running over time (${result.options.pods} pods as Deployments, from the first Deployment created)</text>`);
  // Axes and ticks.
  parts.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`);
  parts.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`);
  for (let i = 0; i <= 5; i++) {
    const t = (maxT * i) / 5;
    const n = Math.round((maxN * i) / 5);
    parts.push(`<line x1="${x(t)}" y1="${H - m.b}" x2="${x(t)}" y2="${H - m.b + 4}" stroke="black"/><text x="${x(t)}" y="${H - m.b + 17}" text-anchor="middle">${t.toFixed(t < 10 ? 1 : 0)}</text>`);
    parts.push(`<line x1="${m.l - 4}" y1="${y(n)}" x2="${m.l}" y2="${y(n)}" stroke="black"/><text x="${m.l - 7}" y="${y(n) + 4}" text-anchor="end">${n}</text>`);
    parts.push(`<line x1="${m.l}" y1="${y(n)}" x2="${W - m.r}" y2="${y(n)}" stroke="#eee"/>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">seconds</text>`);
  parts.push(`<text transform="translate(15 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">pods Running</text>`);
  cases.forEach((c, i) => {
    const color = COLORS[c.system] ?? '#9467bd';
    const dash = c.mode === 'quota-true' ? ' stroke-dasharray="6 3"' : '';
    const points = c.series.map(([t, n]) => `${x(t).toFixed(1)},${y(n).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${points}"/>`);
    const ly = m.t + 10 + i * 20;
    parts.push(`<line x1="${W - m.r + 10}" y1="${ly}" x2="${W - m.r + 35}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${W - m.r + 40}" y="${ly + 4}">${esc(`${c.system} (${c.mode})`)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

// ---- CPU profiles -----------------------------------------------------------------------------------

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/**
 * Top self-time frames of a .cpuprofile and self time by package, as percentages of the busy
 * (non-idle) samples; `idlePct` is the share of samples where the thread was idle.
 */
export function summarizeCpuProfile(file: string, top = 15): { idlePct: number; tlsPct: number; frames: { frame: string; selfPct: number }[]; packages: { name: string; selfPct: number }[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const all = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
  const idle = profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const total = all - idle || 1;
  const tls = profile.nodes.filter((n) => /node:internal\/tls\/|node:_tls/.test(n.callFrame.url)).reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const byFrame = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0 || n.callFrame.functionName === '(idle)') continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^file:\/\/.*?\/(node_modules\/|adapters\/|provider\/|test\/)/, '$1');
    const frame = `${functionName || '(anonymous)'} ${short || '(native)'}${url ? `:${lineNumber + 1}` : ''}`;
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + hits);
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith('node:') ? 'node internals' : url.includes('/provider/') ? 'provider/' : url.includes('/adapters/') ? 'adapters/' : url === '' ? `(${functionName || 'native'})` : 'other');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    idlePct: (100 * idle) / all,
    tlsPct: (100 * tls) / total,
    frames: sorted(byFrame)
      .slice(0, top)
      .map(([frame, hits]) => ({ frame, selfPct: (100 * hits) / total })),
    packages: sorted(byPackage)
      .slice(0, 12)
      .map(([name, hits]) => ({ name, selfPct: (100 * hits) / total })),
  };
}
