// Scenario 4: kube-apiserver killed mid-burst and etcd compacted while it is down, so every
// resourceVersion a client held is gone and each watch must relist (410 Gone). While the
// provider's informers reconnect, more pods are created and some deleted. Afterwards: no pod
// missed (every live pod Running with its group), no duplicate, no orphan, none stuck.
// Needs a control plane of its own (restartApiserver + etcdUrl on the cluster).
import { compactEtcd, isStatus } from '../lib/cluster.ts';
import { budget, withDeadline } from '../../helpers/deadline.ts';
import { sleep, type ChaosContext } from '../lib/context.ts';
import { awaitConvergence, burstPod, convergence, createPods, describeConvergence, listPods } from '../lib/pods.ts';
import { runScenario, seconds, type ScenarioResult } from '../lib/report.ts';
import { startRig, stopRig, type Rig } from '../lib/rig.ts';

export interface ApiserverOptions {
  pods: number;
  restarts: number;
  convergeTimeoutMs: number;
  createsPerSecond?: number;
}

export function apiserverScenario(ctx: ChaosContext, o: ApiserverOptions): Promise<ScenarioResult> {
  return runScenario('apiserver-restart', ctx.log, async (s) => {
    s.summary = `${o.pods} pods; kube-apiserver SIGKILLed ${o.restarts}x mid-burst with an etcd compaction while down (watches relist on 410), pods created and deleted while informers reconnect`;
    const { restartApiserver, etcdUrl } = ctx.cluster;
    if (restartApiserver === undefined || etcdUrl === undefined) throw new Error('the apiserver scenario needs a control plane of its own (restartApiserver, etcdUrl)');
    let rig: Rig | undefined;
    try {
      const rate = o.createsPerSecond ?? 20;
      const actions = rate === 20 ? {} : { CreateContainerGroup: { burst: rate, perSecond: rate } };
      rig = await startRig(ctx, { name: 'apiserver', worldOverrides: { rateLimits: { mode: 'quota-true', actions } } });
      const { sim, config, namespace } = rig;
      const burst = 'apiserver';
      const perWave = Math.ceil(o.pods / (o.restarts + 1));
      let made = 0;
      const wave = (count: number) => {
        const pods = Array.from({ length: count }, (_, i) => burstPod(config, `p-${String(made + i).padStart(4, '0')}`, burst));
        made += count;
        const p = createPods(ctx.cluster, namespace, pods, 16);
        p.catch(() => {}); // awaited later; not an unhandled rejection meanwhile
        return p;
      };
      const started = Date.now();
      let creating = wave(perWave);
      const deleted: string[] = [];
      const relistProofs: string[] = [];
      for (let r = 0; r < o.restarts; r++) {
        const goal = Math.floor(perWave * (r + 0.5));
        const deadline = Date.now() + budget({ baseMs: 120_000, perItemMs: 2_000, items: perWave });
        while (((await sim.admin.state()).requests.CreateContainerGroup?.ok ?? 0) < goal && Date.now() < deadline) await sleep(100);
        await withDeadline(creating, budget({ baseMs: 60_000, perItemMs: 2_000, items: perWave }), `the apiserver to accept wave ${r + 1} (${perWave} pods)`);
        const heldVersion = (await ctx.cluster.core.listNamespacedPod({ namespace })).metadata!.resourceVersion!;
        let compacted = 0;
        const downAt = Date.now();
        await restartApiserver({
          signal: 'SIGKILL',
          downMs: 2_000,
          onDown: async () => {
            compacted = await compactEtcd(etcdUrl);
          },
        });
        s.progress(`kube-apiserver restart ${r + 1}/${o.restarts}: down ${seconds(Date.now() - downAt)} s, etcd compacted at revision ${compacted} (clients held ${heldVersion})`);
        // Proof that what clients held is gone: a list at exactly that version answers 410.
        try {
          await ctx.cluster.core.listNamespacedPod({ namespace, resourceVersion: heldVersion, resourceVersionMatch: 'Exact' });
          relistProofs.push(`resourceVersion ${heldVersion} still served`);
        } catch (err) {
          relistProofs.push(isStatus(err, 410) ? '410 Gone' : `HTTP ${(err as { code?: number }).code ?? '?'}`);
        }
        // Right away, while the provider's informers are reconnecting: more pods, and deletions.
        const victims = (await listPods(ctx.cluster, namespace, burst)).filter((p, i) => i % 5 === 0 && !deleted.includes(p.metadata!.name!)).slice(0, Math.ceil(perWave / 5));
        creating = wave(r === o.restarts - 1 ? o.pods - made : perWave);
        for (const p of victims) {
          await ctx.cluster.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace }).catch(() => {});
          deleted.push(p.metadata!.name!);
        }
      }
      await withDeadline(creating, budget({ baseMs: 60_000, perItemMs: 2_000, items: o.pods }), 'the apiserver to accept the last wave');
      const expected = made - deleted.length;
      const { view, ms } = await awaitConvergence(() => convergence(ctx.cluster, sim.sim, { namespace, burst, clusterId: config.clusterId, expected }), {
        timeoutMs: o.convergeTimeoutMs,
        onProgress: (v) => s.progress(describeConvergence(v)),
      });
      s.figure('pods created', made);
      s.figure('pods deleted around the restarts', deleted.length);
      s.figure('apiserver restarts (SIGKILL + etcd compaction)', o.restarts);
      s.figure('old resourceVersion after compaction', relistProofs.join(', '));
      s.figure('pods Running', view.phases.Running ?? 0);
      s.figure('pods missed (not Running)', view.pods - (view.phases.Running ?? 0));
      s.figure('duplicate groups', view.duplicates);
      s.figure('orphan groups', view.orphans);
      s.figure('converged after the last wave (s)', seconds(ms));
      s.figure('burst start to converged (s)', seconds(Date.now() - started));
      s.check(relistProofs.every((p) => p === '410 Gone'), `every compaction made the held resourceVersion unusable (${relistProofs.join(', ')})`);
      s.check(view.ok, `no pod missed, no duplicate, no orphan: ${describeConvergence(view)}`);
      s.check(view.pods === expected, `${expected} pods remain (got ${view.pods})`);
    } finally {
      await stopRig(ctx, rig, s);
    }
  });
}
