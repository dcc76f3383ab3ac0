// `npm run chaos`: the chaos suite at full size, against a control plane of its own (so
// kube-apiserver can be restarted and etcd compacted) and in-process cloud simulators with fault
// injection. Prints a figure per scenario and writes a JSON summary to .tmp/chaos/.
//
//   npm run chaos -- [--quick] [--pods 1000] [--kills 5] [--seed 11] [--only kills,faults,...] [--kind]
//
// Every scenario runs with the simulator's realism profile (CHAOS_REALISM in lib/sim.ts: late
// IPs, lagging lists and IP counts, ClientToken bound at the first attempt, retention); --kind
// runs them on an instant, kind cloud instead.
//
// Scenarios: kills, faults, vswitch, apiserver, corpus, security (+ the secret scan, always last).
// Exit code 0 when every invariant held, 1 otherwise, 2 on bad flags.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureControlPlaneBinaries } from '../controlplane/binaries.ts';
import { startControlPlane } from '../controlplane/controlplane.ts';
import { budget, DeadlineError } from '../helpers/deadline.ts';
import { startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { chaosCluster, installPodNetworkingCrd } from './lib/cluster.ts';
import { seededRandom, type ChaosContext } from './lib/context.ts';
import { CHAOS_REALISM } from './lib/sim.ts';
import { Capture, type ScenarioResult } from './lib/report.ts';
import { apiserverScenario } from './scenarios/apiserver.ts';
import { corpusScenario } from './scenarios/corpus.ts';
import { faultsScenario } from './scenarios/faults.ts';
import { killsScenario } from './scenarios/kills.ts';
import { securityScenario, secretScan } from './scenarios/security.ts';
import { vSwitchScenario } from './scenarios/vswitch.ts';

const ALL = ['kills', 'faults', 'vswitch', 'apiserver', 'corpus', 'security'] as const;
const OUT_DIR = join(import.meta.dirname, '..', '..', '.tmp', 'chaos');

function usage(problem?: string): never {
  if (problem !== undefined) console.error(`chaos: ${problem}`);
  console.error('usage: npm run chaos -- [--quick] [--pods N] [--kills K] [--seed S] [--only kills,faults,vswitch,apiserver,corpus,security] [--kind]');
  process.exit(2);
}

let flags: ReturnType<typeof parseArgs<{ options: { quick: { type: 'boolean' }; pods: { type: 'string' }; kills: { type: 'string' }; seed: { type: 'string' }; only: { type: 'string' }; kind: { type: 'boolean' }; help: { type: 'boolean' } } }>>['values'];
try {
  flags = parseArgs({ options: { quick: { type: 'boolean' }, pods: { type: 'string' }, kills: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' }, kind: { type: 'boolean' }, help: { type: 'boolean' } }, strict: true }).values;
} catch (err) {
  usage((err as Error).message);
}
if (flags.help === true) usage();
const quick = flags.quick === true;
const int = (raw: string | undefined, fallback: number, name: string): number => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) usage(`--${name}: "${raw}" is not a positive integer`);
  return n;
};
const pods = int(flags.pods, quick ? 30 : 1000, 'pods');
const kills = int(flags.kills, quick ? 2 : 5, 'kills');
const seed = int(flags.seed, 11, 'seed');
const only = new Set(flags.only === undefined ? ALL : flags.only.split(',').map((s) => s.trim()));
for (const name of only) if (!(ALL as readonly string[]).includes(name)) usage(`--only: unknown scenario "${name}"`);
// Bursts of a few hundred pods or more take minutes at ECI's create rate (20/s): scale the waits.
const convergeTimeoutMs = Math.max(180_000, pods * 600);
// Small bursts finish creating within a second at 20/s: slow the cloud so kills land mid-burst.
const createsPerSecond = pods >= 200 ? 20 : 4;

const started = Date.now();
const lines: string[] = [];
const log = (line: string): void => {
  lines.push(line);
  console.log(line);
};

const realism = flags.kind === true ? undefined : { ...CHAOS_REALISM, seed };
log(`chaos: ${quick ? 'quick' : 'full'} run, ${pods} pods, ${kills} kills, seed ${seed}, scenarios ${[...only].join(', ')}, ${realism === undefined ? 'kind cloud (--kind)' : 'realism profile on'}`);
const buildMs = budget({ baseMs: 45 * 60_000 });
const building = new AbortController();
const buildTimer = setTimeout(() => building.abort(new DeadlineError('the control-plane binaries to build (test/controlplane/build.sh)', buildMs, 'its output above')), buildMs);
const binDir = await ensureControlPlaneBinaries({ onProgress: (m) => log(`[controlplane] ${m}`), signal: building.signal }).finally(() => clearTimeout(buildTimer));
const controlPlane = await startControlPlane({ binDir, onProgress: (m) => log(`[controlplane] ${m}`) });
const otlp = await startOtlpReceiver();
const workDir = mkdtempSync(join(tmpdir(), 'eci-vn-chaos-'));
const results: ScenarioResult[] = [];
try {
  const ctx: ChaosContext = {
    cluster: chaosCluster({ kubeconfigPath: controlPlane.kubeconfigPath, binDir, caCertPem: controlPlane.caCertPem, controlPlane }),
    capture: new Capture(),
    secrets: {},
    workDir,
    log,
    random: seededRandom(seed),
    ...(realism === undefined ? {} : { realism }),
    otlpEndpoint: otlp.endpoint,
    spans: () => JSON.stringify(otlp.spans(), (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)),
  };
  await installPodNetworkingCrd(ctx.cluster);
  if (only.has('kills')) results.push(await killsScenario(ctx, { pods, kills, convergeTimeoutMs, createsPerSecond }));
  if (only.has('faults')) results.push(await faultsScenario(ctx, { pods, convergeTimeoutMs }));
  if (only.has('vswitch')) results.push(await vSwitchScenario(ctx, { failoverPods: quick ? 6 : 20, waiters: quick ? 2 : 4, timeoutMs: 120_000 }));
  if (only.has('apiserver')) results.push(await apiserverScenario(ctx, { pods, restarts: quick ? 1 : 2, convergeTimeoutMs, createsPerSecond: pods >= 200 ? 20 : 5 }));
  if (only.has('corpus')) results.push(await corpusScenario(ctx, { quick, timeoutMs: 120_000 }));
  if (only.has('security')) results.push(await securityScenario(ctx));
  results.push(await secretScan(ctx));
} finally {
  await otlp.close();
  await controlPlane.stop();
  rmSync(workDir, { recursive: true, force: true });
}

const failed = results.filter((r) => r.failures.length > 0);
const summary = {
  run: quick ? 'quick' : 'full',
  at: new Date().toISOString(),
  durationS: Math.round((Date.now() - started) / 1000),
  pods,
  kills,
  seed,
  realism: realism !== undefined,
  ok: failed.length === 0,
  results,
};
mkdirSync(OUT_DIR, { recursive: true });
const stamp = summary.at.replace(/[:.]/g, '-');
writeFileSync(join(OUT_DIR, `summary-${stamp}.json`), `${JSON.stringify(summary, null, 2)}\n`);
writeFileSync(join(OUT_DIR, 'summary-latest.json'), `${JSON.stringify(summary, null, 2)}\n`);
writeFileSync(join(OUT_DIR, `run-${stamp}.log`), `${lines.join('\n')}\n`);
log(`\nchaos: ${results.length - failed.length}/${results.length} scenarios held every invariant in ${summary.durationS} s${failed.length ? `; failed: ${failed.map((r) => r.name).join(', ')}` : ''}`);
log(`summary: ${join(OUT_DIR, 'summary-latest.json')}`);
process.exitCode = failed.length === 0 ? 0 : 1;
