// `npm run bench`: eci-virtual-node side by side with kwok, the virtual-kubelet mock provider and a
// bare-client ceiling, on one real control plane built from Go modules (see docs/benchmark.md).
//
//   node test/bench/run.ts [--quick] [--pods N] [--mode unlimited|quota-true|both]
//        [--systems eci-vn,kwok,vk-mock,ceiling] [--workers N] [--deployments N]
//        [--paced-rate N] [--paced-pods N] [--no-restart] [--status-poll-interval-ms N]
//        [--cpu-prof] [--cpu-prof-restart] [--cpu-prof-cloudsim] [--cpu-prof-apiserver] [--cpu-prof-apiserver-restart]
//        [--provider compiled|sources] [--out DIR]
//
// Prints the table (one row per system and mode, throughput as a ratio to the ceiling), the
// details, issue 16's targets checked against the figures; writes results JSON + an SVG plot of
// pods Running over time to --out (default test/bench/results/). With --cpu-prof our provider runs
// under `node --cpu-prof` (the restart phase is then skipped so one profile covers the whole case)
// and the top self-time frames are printed and stored. --cpu-prof-restart profiles only the
// restarted provider from its spawn until every pod is Ready again (what repairs the N stale pods).
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runBenchmark, type BenchOptions } from './harness.ts';
import { checkTargets, renderDetails, renderSvg, renderTable, renderTargets, summarizeCpuProfile } from './report.ts';
import { ALL_SYSTEMS, type Mode, type SystemName } from './systems.ts';

const USAGE = `Usage: node test/bench/run.ts [flags]

  --quick                     small run for development and CI (200 pods, paced 100 pods)
  --pods N                    pods created as Deployments per system (default 1000; e.g. 10000)
  --mode M                    unlimited | quota-true | both (default both)
  --systems LIST              comma list of ${ALL_SYSTEMS.join(',')} (default all)
  --workers N                 workers / parallelism given to every system (default 32)
  --deployments N             Deployments the pods are spread over (default 12)
  --paced-rate N              offered pods/s of the latency phase (default 100)
  --paced-pods N              pods of the latency phase (default min(pods, 1000); 0 = skip)
  --no-restart                skip the SIGKILL + restart phase of eci-vn
  --status-poll-interval-ms N eci-vn's status poll interval (default: the provider's default)
  --cpu-prof                  profile eci-vn with node --cpu-prof (skips the restart phase)
  --cpu-prof-restart          profile eci-vn's restarted process from its spawn until every pod is Ready again
  --cpu-prof-cloudsim         profile eci-vn's cloud simulator with node --cpu-prof (the whole case)
  --cpu-prof-apiserver        profile kube-apiserver (Go pprof) over the first ~pods/100 s of each case's create phase
  --cpu-prof-apiserver-restart
                              profile kube-apiserver (Go pprof) over the first ~pods/300 s of eci-vn's restart, from the spawn
  --provider P                compiled: eci-vn runs JavaScript built once per run by .ci/build, as the
                              image does (default); sources: the .ts files under type stripping
  --out DIR                   results directory (default test/bench/results)

Environment (diagnostics; each loads or changes what is measured, so off by default):
  BENCH_WATCH_PROBE=1         a probe pod and ConfigMap patched every 250 ms: the watch's own delay, per 10 s
  BENCH_PROVIDER_ENV='K=V ..' extra environment for eci-vn's provider only (e.g. MALLOC_ARENA_MAX=2)
  BENCH_PROVIDER_NODE_FLAGS   extra node flags for eci-vn's provider
  BENCH_HEAP_SNAPSHOT_DIR     heap snapshots of eci-vn's provider written there
  BENCH_SMAPS=1               eci-vn's anonymous memory by mapping (malloc arenas, V8 pages) at its RSS peak
`;

function fail(message: string): never {
  console.error(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    pods: { type: 'string' },
    mode: { type: 'string', default: 'both' },
    systems: { type: 'string', default: ALL_SYSTEMS.join(',') },
    workers: { type: 'string', default: '32' },
    deployments: { type: 'string' },
    'paced-rate': { type: 'string', default: '100' },
    'paced-pods': { type: 'string' },
    'no-restart': { type: 'boolean', default: false },
    'status-poll-interval-ms': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'cpu-prof-restart': { type: 'boolean', default: false },
    'cpu-prof-cloudsim': { type: 'boolean', default: false },
    'cpu-prof-apiserver': { type: 'boolean', default: false },
    'cpu-prof-apiserver-restart': { type: 'boolean', default: false },
    provider: { type: 'string', default: 'compiled' },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

const int = (name: string, value: string | undefined, fallback: number, min = 0): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name}: "${value}" is not an integer >= ${min}`);
  return n;
};
const pods = int('pods', flags.pods, flags.quick ? 200 : 1000, 1);
const modes: Mode[] = flags.mode === 'both' ? ['unlimited', 'quota-true'] : flags.mode === 'unlimited' || flags.mode === 'quota-true' ? [flags.mode] : fail(`--mode: "${flags.mode}" is not unlimited, quota-true or both`);
const systems = flags.systems.split(',').map((s) => s.trim()) as SystemName[];
for (const s of systems) if (!ALL_SYSTEMS.includes(s)) fail(`--systems: unknown system "${s}"`);
if (flags.provider !== 'compiled' && flags.provider !== 'sources') fail(`--provider: "${flags.provider}" is not compiled or sources`);
const outDir = flags.out;
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const cpuProfileDir = flags['cpu-prof'] ? join(outDir, `profile-${stamp}`) : undefined;
if (flags['cpu-prof'] && flags['cpu-prof-restart']) fail('--cpu-prof skips the restart phase: use one of --cpu-prof and --cpu-prof-restart');
const cpuProfileRestartDir = flags['cpu-prof-restart'] ? join(outDir, `profile-${stamp}`, 'restart') : undefined;
const cloudsimCpuProfileDir = flags['cpu-prof-cloudsim'] ? join(outDir, `profile-${stamp}`, 'cloudsim') : undefined;
const apiserverProfileDir = flags['cpu-prof-apiserver'] ? join(outDir, `profile-${stamp}`, 'kube-apiserver') : undefined;
if (flags['cpu-prof-apiserver-restart'] && (flags['no-restart'] || flags['cpu-prof'] || !modes.includes('unlimited'))) {
  fail('--cpu-prof-apiserver-restart profiles the restart phase, which runs only in the unlimited mode, without --no-restart and without --cpu-prof');
}
const apiserverRestartProfileDir = flags['cpu-prof-apiserver-restart'] ? join(outDir, `profile-${stamp}`, 'kube-apiserver') : undefined;

const options: BenchOptions = {
  pods,
  modes,
  systems,
  workers: int('workers', flags.workers, 32, 1),
  deployments: int('deployments', flags.deployments, flags.quick ? 6 : 12, 1),
  pacedRate: int('paced-rate', flags['paced-rate'], 100, 1),
  pacedPods: int('paced-pods', flags['paced-pods'], flags.quick ? Math.min(pods, 100) : Math.min(pods, 1000)),
  restart: !flags['no-restart'],
  provider: flags.provider,
  ...(flags['status-poll-interval-ms'] === undefined ? {} : { statusPollIntervalMs: int('status-poll-interval-ms', flags['status-poll-interval-ms'], 0, 1) }),
  ...(cpuProfileDir === undefined ? {} : { cpuProfileDir }),
  ...(cpuProfileRestartDir === undefined ? {} : { cpuProfileRestartDir }),
  ...(cloudsimCpuProfileDir === undefined ? {} : { cloudsimCpuProfileDir }),
  ...(apiserverProfileDir === undefined ? {} : { apiserverProfileDir }),
  ...(apiserverRestartProfileDir === undefined ? {} : { apiserverRestartProfileDir }),
  log: (line) => console.error(line),
};

console.error(`[bench] ${pods} pods, modes ${modes.join('+')}, systems ${systems.join(',')}, workers ${options.workers}, paced ${options.pacedPods} pods at ${options.pacedRate}/s; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const result = await runBenchmark(options);

await mkdir(outDir, { recursive: true });
const base = join(outDir, `bench-${stamp}`);
await writeFile(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
await writeFile(`${base}.svg`, renderSvg(result));
const targets = checkTargets(result);
await writeFile(`${base}.targets.json`, `${JSON.stringify(targets, null, 2)}\n`);

console.log(`\n${renderTable(result)}\n`);
console.log(renderDetails(result));
console.log(`\nTargets (issue 16):\n${renderTargets(targets)}`);
console.log(`\nload average: start ${result.host.loadAverageAtStart.join(' ')}, end ${result.host.loadAverageAtEnd.join(' ')} (${result.host.cpus} CPUs, shared)`);

const profileDirs = [
  ...(cpuProfileDir === undefined ? [] : modes.map((mode) => ({ dir: join(cpuProfileDir, mode), what: mode }))),
  ...(cpuProfileRestartDir === undefined ? [] : [{ dir: cpuProfileRestartDir, what: 'the restarted process' }]),
  ...(cloudsimCpuProfileDir === undefined ? [] : modes.map((mode) => ({ dir: join(cloudsimCpuProfileDir, mode), what: `${mode}, the cloud simulator` }))),
];
for (const { dir, what } of profileDirs) {
  const files = await readdir(dir).catch(() => [] as string[]);
  for (const file of files.filter((x) => x.endsWith('.cpuprofile'))) {
    const summary = summarizeCpuProfile(join(dir, file));
    await writeFile(join(dir, `${file}.top.json`), `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`\nCPU profile of eci-vn (${what}), ${join(dir, file)}:`);
    console.log(`  idle ${summary.idlePct.toFixed(1)}% of samples; below, % of the busy samples (TLS internals: ${summary.tlsPct.toFixed(1)}%)`);
    console.log('  self time by package: ' + summary.packages.map((p) => `${p.name} ${p.selfPct.toFixed(1)}%`).join(', '));
    // The bundle inlines the npm packages and strips whitespace: its frames name chunks, not files.
    if (flags.provider === 'compiled' && !what.includes('simulator')) console.log('  (the compiled provider is one bundle, so frames name its chunks and "provider/" holds the npm packages too; --provider sources names files and packages)');
    for (const fr of summary.frames) console.log(`  ${fr.selfPct.toFixed(1).padStart(5)}%  ${fr.frame}`);
  }
}
console.log(`\nresults: ${base}.json, ${base}.svg`);
const failedCases = result.cases.filter((c) => c.errors.length > 0);
process.exitCode = failedCases.length > 0 ? 1 : 0;
