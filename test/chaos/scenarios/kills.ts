// Scenario 1: the provider SIGKILLed at random moments of a burst, K times. Each kill lands when
// the cloud has accepted a random share of the creates (so it is mid-creation, not before or
// after), the provider is started again after a random pause, and half of the pods are deleted
// while it is dead (so Terminating pods are exercised across a restart).
// Afterwards: every remaining pod Running, one group per pod (pod-UID tag), no orphan group after
// garbage collection, no pod stuck Pending or Terminating.
import { budget, withDeadline } from '../../helpers/deadline.ts';
import { sleep, type ChaosContext } from '../lib/context.ts';
import { awaitConvergence, burstPod, convergence, createPods, deleteHalf, describeConvergence } from '../lib/pods.ts';
import { runScenario, seconds, type ScenarioResult } from '../lib/report.ts';
import { startRig, stopRig, type Rig } from '../lib/rig.ts';
import { callFigures } from '../lib/sim.ts';

export interface KillsOptions {
  pods: number;
  kills: number;
  /** Until every invariant holds after the last kill. */
  convergeTimeoutMs: number;
  /**
   * The cloud's CreateContainerGroup rate (ECI's real limit: 20/s, burst 100). Small bursts use a
   * lower one so that creation lasts long enough for kills to land in the middle of it.
   */
  createsPerSecond?: number;
}

export function killsScenario(ctx: ChaosContext, o: KillsOptions): Promise<ScenarioResult> {
  return runScenario('kills', ctx.log, async (s) => {
    s.summary = `${o.pods} pods, provider SIGKILLed ${o.kills} times mid-burst, half of the pods deleted while it was down`;
    let rig: Rig | undefined;
    try {
      // The cloud enforces ECI's per-action limits (create: burst 100, 20/s unless told otherwise).
      const rate = o.createsPerSecond ?? 20;
      const actions = rate === 20 ? {} : { CreateContainerGroup: { burst: rate, perSecond: rate } };
      rig = await startRig(ctx, { name: 'kills', worldOverrides: { rateLimits: { mode: 'quota-true', actions } } });
      const { sim, config, provider, namespace } = rig;
      const burst = 'kills';
      const pods = Array.from({ length: o.pods }, (_, i) => burstPod(config, `p-${String(i).padStart(4, '0')}`, burst));
      const started = Date.now();
      const creating = createPods(ctx.cluster, namespace, pods, 24);
      creating.catch(() => {}); // awaited below; not an unhandled rejection meanwhile

      // Kill moments: when the cloud has accepted these many creates (random, increasing, all
      // reachable: the surviving half alone needs o.pods/2 creates).
      const target = Math.floor(o.pods / 2);
      // Stratified: kill k lands at a random point of the k-th K-th of the burst, so the kills spread over it.
      const thresholds = Array.from({ length: o.kills }, (_, k) => Math.max(1, Math.floor((target * (k + 0.1 + 0.8 * ctx.random())) / o.kills)));
      for (let i = 1; i < thresholds.length; i++) if (thresholds[i]! <= thresholds[i - 1]!) thresholds[i] = thresholds[i - 1]! + 1;
      const deleteAfterKill = Math.ceil(o.kills / 2);
      const kills: { atCreates: number; atMs: number; groupsLive: number; downMs: number }[] = [];
      let deleted: string[] = [];
      const creates = async () => (await sim.admin.state()).requests.CreateContainerGroup?.ok ?? 0;
      for (const [k, threshold] of thresholds.entries()) {
        const waitMs = budget({ baseMs: 60_000, perItemMs: 2_000, items: o.pods });
        const deadline = Date.now() + waitMs;
        let seen = await creates();
        while (seen < threshold && Date.now() < deadline) {
          await sleep(100);
          seen = await creates();
        }
        if (!s.check(seen >= threshold, `kill ${k + 1}: the cloud reached ${threshold} creates within ${seconds(waitMs)} s (saw ${seen})`)) break;
        await provider.kill('SIGKILL');
        const live = (await sim.admin.state()).groups;
        const downMs = Math.floor(ctx.random() * 1500);
        kills.push({ atCreates: seen, atMs: Date.now() - started, groupsLive: live, downMs });
        s.progress(`kill ${k + 1}/${o.kills} at ${seen} creates (${live} groups live), down ${downMs} ms`);
        if (k + 1 === deleteAfterKill) {
          deleted = await deleteHalf(ctx.cluster, namespace, burst);
          s.progress(`deleted ${deleted.length} pods while the provider was down`);
        }
        await sleep(downMs);
        provider.start();
      }
      await withDeadline(creating, budget({ baseMs: 60_000, perItemMs: 2_000, items: o.pods }), `the apiserver to accept ${o.pods} pods`);
      const expected = o.pods - deleted.length;
      const { view, ms } = await awaitConvergence(() => convergence(ctx.cluster, sim.sim, { namespace, burst, clusterId: config.clusterId, expected }), {
        timeoutMs: o.convergeTimeoutMs,
        onProgress: (v) => s.progress(describeConvergence(v)),
      });
      const calls = callFigures(await sim.totals());
      const perPod = (n: number | undefined) => Math.round(((n ?? 0) / o.pods) * 100) / 100;

      s.figure('pods created', o.pods);
      s.figure('cloud create limit (per second)', rate);
      s.figure('pods deleted mid-burst', deleted.length);
      s.figure('kills', kills.length);
      s.figure('kill moments (creates accepted by the cloud)', kills.map((k) => k.atCreates).join(', '));
      s.figure('pods Running', view.phases.Running ?? 0);
      s.figure('pods stuck Pending', view.phases.Pending ?? 0);
      s.figure('pods stuck Terminating', view.terminating);
      s.figure('duplicate groups (by pod-UID tag)', view.duplicates);
      s.figure('orphan groups after GC', view.orphans);
      s.figure('pod IP != group IP', view.ipMismatches);
      s.figure('converged after the burst was created and the last restart (s)', seconds(ms));
      s.figure('burst start to converged (s)', seconds(Date.now() - started));
      s.figure('CreateContainerGroup calls per pod', perPod(calls.perAction.CreateContainerGroup));
      s.figure('cloud calls per pod (all actions)', perPod(calls.total));
      s.figure('cloud errors by code', calls.errors);

      s.check(kills.length === o.kills, `${o.kills} kills happened (got ${kills.length})`);
      s.check(view.ok, `every pod Running, no duplicate, no orphan, none stuck: ${describeConvergence(view)}`);
      s.check(view.pods === expected, `${expected} pods remain (got ${view.pods})`);
    } finally {
      await stopRig(ctx, rig, s);
    }
  });
}
