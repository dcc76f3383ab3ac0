// The chaos suite, small, inside `npm test`: every scenario of test/chaos at a size this 2-core
// machine runs in a few minutes (30-pod bursts, 2 kills, one fault mix, a slice of the bad-input
// corpus), asserting the same invariants as `npm run chaos`, and the secret scan over every
// output of the run. Figures go to .tmp/chaos/quick-summary.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane } from '../controlplane/controlplane.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.ts';
import { chaosCluster, installPodNetworkingCrd } from '../chaos/lib/cluster.ts';
import { seededRandom, type ChaosContext } from '../chaos/lib/context.ts';
import { Capture, formatResult, type ScenarioResult } from '../chaos/lib/report.ts';
import { apiserverScenario } from '../chaos/scenarios/apiserver.ts';
import { corpusScenario } from '../chaos/scenarios/corpus.ts';
import { faultsScenario } from '../chaos/scenarios/faults.ts';
import { killsScenario } from '../chaos/scenarios/kills.ts';
import { securityScenario, secretScan } from '../chaos/scenarios/security.ts';
import { vSwitchScenario } from '../chaos/scenarios/vswitch.ts';
import { controlPlane } from './helpers/cluster.ts';
import { budget } from '../helpers/deadline.ts';

const OUT_DIR = join(import.meta.dirname, '..', '..', '.tmp', 'chaos');
const PODS = 30;
/** Every pod of a burst Running, after the last disturbance: grows with the burst, generous for a loaded 2-CPU machine. */
const CONVERGE_MS = budget({ baseMs: 120_000, perItemMs: 3_000, items: PODS });
/**
 * vitest's limit per scenario: only a backstop. Every wait inside a scenario has its own, shorter,
 * named deadline (nodes, creates, kill moments, convergence, provider stop), so a failure says
 * what it waited for; this is above their sum.
 */
const SCENARIO_BACKSTOP_MS = budget({ baseMs: 600_000, perItemMs: 6_000, items: PODS });
const logLines: string[] = [];
const results: ScenarioResult[] = [];
let workDir: string;
let ctx: ChaosContext;
let otlp: OtlpReceiver | undefined;

function log(line: string): void {
  logLines.push(line);
  if (process.env.ECI_VN_TEST_LOGS === '1') process.stderr.write(`${line}\n`);
}

async function record(result: Promise<ScenarioResult>): Promise<ScenarioResult> {
  const r = await result;
  results.push(r);
  process.stdout.write(`${formatResult(r)}\n`);
  return r;
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'eci-vn-chaos-quick-'));
  const cp = controlPlane();
  // The providers export their spans here: the secret scan reads them too.
  otlp = await startOtlpReceiver();
  const receiver = otlp;
  ctx = {
    cluster: chaosCluster({ kubeconfigPath: cp.kubeconfigPath, binDir: cp.binDir, caCertPem: cp.caCertPem }),
    capture: new Capture(),
    secrets: {},
    workDir,
    log,
    random: seededRandom(Number(process.env.ECI_VN_CHAOS_SEED ?? 11)),
    otlpEndpoint: receiver.endpoint,
    spans: () => JSON.stringify(receiver.spans(), (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)),
  };
  await installPodNetworkingCrd(ctx.cluster);
});

afterAll(async () => {
  await otlp?.close();
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'quick-summary.json'), `${JSON.stringify({ run: 'quick (npm test)', at: new Date().toISOString(), results }, null, 2)}\n`);
  writeFileSync(join(OUT_DIR, 'quick.log'), `${logLines.join('\n')}\n`);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('chaos (quick)', () => {
  it('provider SIGKILLed twice during a 30-pod burst: all Running, no duplicate, no orphan, none stuck', async () => {
    const r = await record(killsScenario(ctx, { pods: PODS, kills: 2, convergeTimeoutMs: CONVERGE_MS, createsPerSecond: 4 }));
    expect(r.failures).toEqual([]);
  }, SCENARIO_BACKSTOP_MS);

  it('cloud faults (5xx, throttling, latency, zone out of stock, failed/expired groups, simulator restart): every pod converges, calls bounded', async () => {
    const r = await record(faultsScenario(ctx, { pods: PODS, convergeTimeoutMs: CONVERGE_MS }));
    expect(r.failures).toEqual([]);
  }, SCENARIO_BACKSTOP_MS);

  it('vSwitch exhaustion: failover to a sibling, Pending with the condition when all are full, runs once IPs are freed', async () => {
    const r = await record(vSwitchScenario(ctx, { failoverPods: 6, waiters: 2, timeoutMs: budget({ baseMs: 90_000, perItemMs: 3_000, items: 8 }) }));
    expect(r.failures).toEqual([]);
  }, SCENARIO_BACKSTOP_MS);

  it('kube-apiserver SIGKILLed mid-burst with etcd compacted while down: no pod missed, no duplicate', async () => {
    // Its own control plane: the shared one is not restarted under the other test files.
    const own = await startControlPlane({ binDir: controlPlane().binDir, startTimeoutMs: budget({ baseMs: 240_000 }) });
    try {
      const cluster = chaosCluster({ kubeconfigPath: own.kubeconfigPath, binDir: own.binDir, caCertPem: own.caCertPem, controlPlane: own });
      const r = await record(apiserverScenario({ ...ctx, cluster }, { pods: PODS, restarts: 1, convergeTimeoutMs: CONVERGE_MS, createsPerSecond: 5 }));
      expect(r.failures).toEqual([]);
    } finally {
      await own.stop();
    }
  }, SCENARIO_BACKSTOP_MS);

  it('bad input corpus (quick slice): no crash, every case answered naming the field, a canary still runs', async () => {
    const r = await record(corpusScenario(ctx, { quick: true, timeoutMs: budget({ baseMs: 90_000 }) }));
    expect(r.figures.cases).toBeGreaterThanOrEqual(30);
    expect(r.failures).toEqual([]);
  }, SCENARIO_BACKSTOP_MS);

  it('strangers are refused (admin API, cloud API, kubelet API), and no secret appears in any output of the run', async () => {
    const security = await record(securityScenario(ctx));
    expect(security.failures).toEqual([]);
    const scan = await record(secretScan(ctx));
    expect(scan.figures['secrets found']).toBe(0);
    expect(scan.failures).toEqual([]);
  }, SCENARIO_BACKSTOP_MS);
});
