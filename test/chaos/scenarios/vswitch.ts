// Scenario 3: vSwitch exhaustion, with PodNetworkings in zone j.
//  - failover: pn-failover lists [tiny1 (4 IPs), chaosj1]: the first 4 pods fill tiny1, the rest
//    fall over to its sibling;
//  - all exhausted: pn-full lists [tiny2, tiny3] (8 IPs) and gets 8 + `waiters` pods: the extra
//    ones stay Pending with the VSwitchesExhausted condition and event;
//  - IPs freed: deleting `waiters` running pods lets the waiting ones proceed.
// Pods name their PodNetworking by annotation, as the admission webhook would have written it.
import type * as k8s from '@kubernetes/client-node';
import { PODNETWORKING_API } from '../../../provider/networking/constants.ts';
import { PROVISIONED_CONDITION, POD_ANNOTATIONS } from '../../../provider/pods/annotations.ts';
import { waitFor } from '../../integration/helpers/wait.ts';
import { ignoreNotFound } from '../lib/cluster.ts';
import type { ChaosContext } from '../lib/context.ts';
import { awaitConvergence, burstPod, convergence, createPods, describeConvergence, listPods } from '../lib/pods.ts';
import { placement } from '../lib/provider.ts';
import { runScenario, seconds, type ScenarioResult } from '../lib/report.ts';
import { startRig, stopRig, type Rig } from '../lib/rig.ts';
import { SECURITY_GROUP, ZONES } from '../lib/sim.ts';

export interface VSwitchOptions {
  /** Pods of pn-failover (at least 5: four fill the tiny vSwitch). */
  failoverPods: number;
  /** Pods beyond the 8 IPs of pn-full. */
  waiters: number;
  timeoutMs: number;
}

export function vSwitchScenario(ctx: ChaosContext, o: VSwitchOptions): Promise<ScenarioResult> {
  return runScenario('vswitch-exhaustion', ctx.log, async (s) => {
    s.summary = `failover from a 4-IP vSwitch (${o.failoverPods} pods), all vSwitches of a PodNetworking exhausted (${o.waiters} pods wait), IPs freed`;
    let rig: Rig | undefined;
    const { group, version, plural } = PODNETWORKING_API;
    const pnNames: string[] = [];
    try {
      rig = await startRig(ctx, { name: 'vswitch' });
      const { sim, config, namespace } = rig;
      const suffix = config.clusterId.slice(-6);
      const pn = async (name: string, vSwitchOptions: string[]) => {
        const full = `${name}-${suffix}`;
        await ctx.cluster.custom.createClusterCustomObject({
          group,
          version,
          plural,
          body: { apiVersion: PODNETWORKING_API.apiVersion, kind: 'PodNetworking', metadata: { name: full }, spec: { selector: { podSelector: { matchLabels: { never: full } } }, securityGroupIDs: [SECURITY_GROUP], vSwitchOptions } },
        });
        pnNames.push(full);
        await waitFor(
          async () => ((await ctx.cluster.custom.getClusterCustomObject({ group, version, plural, name: full })) as { status?: { status?: string } }).status?.status === 'Ready',
          { timeoutMs: 60_000, describe: `PodNetworking ${full} to be Ready` },
        );
        return full;
      };
      const podOn = (pnName: string, name: string, burst: string): k8s.V1Pod => {
        const pod = burstPod(config, name, burst, placement(config, ZONES.j));
        pod.metadata!.annotations = { [POD_ANNOTATIONS.podNetworking]: pnName, [POD_ANNOTATIONS.podEni]: 'true' };
        return pod;
      };

      // --- failover ---------------------------------------------------------------------------
      const failover = await pn('pn-failover', ['vsw-chaostiny1', 'vsw-chaosj1']);
      // Created one at a time (the provider still syncs them concurrently): "ordered" fills tiny1 first.
      await createPods(ctx.cluster, namespace, Array.from({ length: o.failoverPods }, (_, i) => podOn(failover, `fo-${i}`, 'failover')), 1);
      const fo = await awaitConvergence(() => convergence(ctx.cluster, sim.sim, { namespace, burst: 'failover', clusterId: config.clusterId, expected: o.failoverPods }), {
        timeoutMs: o.timeoutMs,
        onProgress: (v) => s.progress(`failover: ${describeConvergence(v)}`),
      });
      const bySwitch: Record<string, number> = {};
      for (const p of await listPods(ctx.cluster, namespace, 'failover')) {
        const vsw = p.metadata?.annotations?.[POD_ANNOTATIONS.vSwitchId] ?? '?';
        bySwitch[vsw] = (bySwitch[vsw] ?? 0) + 1;
      }
      s.figure('failover: pods per vSwitch', bySwitch);
      s.figure('failover: converged in (s)', seconds(fo.ms));
      s.check(fo.view.ok, `failover pods all Running: ${describeConvergence(fo.view)}`);
      s.check(bySwitch['vsw-chaostiny1'] === 4, `the 4-IP vSwitch took exactly 4 pods (got ${bySwitch['vsw-chaostiny1'] ?? 0})`);
      s.check(bySwitch['vsw-chaosj1'] === o.failoverPods - 4, `the sibling took the other ${o.failoverPods - 4} (got ${bySwitch['vsw-chaosj1'] ?? 0})`);

      // --- all exhausted ------------------------------------------------------------------------
      const full = await pn('pn-full', ['vsw-chaostiny2', 'vsw-chaostiny3']);
      await createPods(ctx.cluster, namespace, Array.from({ length: 8 }, (_, i) => podOn(full, `fill-${i}`, 'full')), 4);
      await waitFor(async () => (await listPods(ctx.cluster, namespace, 'full')).filter((p) => p.status?.phase === 'Running').length === 8, {
        timeoutMs: o.timeoutMs,
        describe: '8 pods filling the two tiny vSwitches to be Running',
      });
      await createPods(ctx.cluster, namespace, Array.from({ length: o.waiters }, (_, i) => podOn(full, `wait-${i}`, 'full')), 4);
      const waiting = await waitFor(
        async () => {
          const ws = (await listPods(ctx.cluster, namespace, 'full')).filter((p) => p.metadata!.name!.startsWith('wait-'));
          const reasons = ws.map((p) => p.status?.conditions?.find((c) => c.type === PROVISIONED_CONDITION));
          return ws.length === o.waiters && reasons.every((c) => c?.reason === 'VSwitchesExhausted') ? { ws, reasons } : undefined;
        },
        { timeoutMs: o.timeoutMs, describe: `${o.waiters} waiting pods to carry ${PROVISIONED_CONDITION}=VSwitchesExhausted` },
      );
      const events = (await ctx.cluster.core.listNamespacedEvent({ namespace })).items.filter((e) => e.reason === 'VSwitchesExhausted');
      const pendingWaiters = waiting.ws.filter((p) => p.status?.phase === 'Pending').length;
      s.figure('all exhausted: waiting pods Pending with the condition', pendingWaiters);
      s.figure('all exhausted: condition message', waiting.reasons[0]?.message ?? '');
      s.figure('all exhausted: VSwitchesExhausted events', events.length);
      s.check(pendingWaiters === o.waiters, `all ${o.waiters} waiting pods Pending (got ${pendingWaiters})`);
      s.check(waiting.reasons.every((c) => /vsw-chaostiny2/.test(c?.message ?? '') && /vsw-chaostiny3/.test(c?.message ?? '')), 'the condition names both exhausted vSwitches');
      s.check(events.length > 0, 'a VSwitchesExhausted event was recorded');

      // --- IPs freed -----------------------------------------------------------------------------
      const freedAt = Date.now();
      for (let i = 0; i < o.waiters; i++) await ctx.cluster.core.deleteNamespacedPod({ name: `fill-${i}`, namespace });
      const freed = await awaitConvergence(() => convergence(ctx.cluster, sim.sim, { namespace, burst: 'full', clusterId: config.clusterId, expected: 8 }), {
        timeoutMs: o.timeoutMs,
        onProgress: (v) => s.progress(`freed: ${describeConvergence(v)}`),
      });
      s.figure('IPs freed: waiting pods Running after (s)', seconds(Date.now() - freedAt));
      s.check(freed.view.ok, `after freeing ${o.waiters} IPs every pod runs: ${describeConvergence(freed.view)}`);
    } finally {
      for (const name of pnNames) await ctx.cluster.custom.deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
      await stopRig(ctx, rig, s);
    }
  });
}
