// Scenario 2: cloud faults during a burst. On every action: 10% ServiceUnavailable (503), 5%
// Throttling.User, 100 ms added latency. Zone i out of stock from the start until the simulator
// is crashed and restarted mid-burst (same state file and ports; stock is back after it). Some
// groups fail or expire on their own (fault rules by name), two running groups are forced Failed
// and Expired through the admin API. Every pod must end in the right phase — Running, or Failed
// with a reason — with events saying what happened, and cloud calls per pod stay bounded.
import type * as k8s from '@kubernetes/client-node';
import { GROUP_TAGS } from '../../../provider/cloud/model.ts';
import { budget, withDeadline } from '../../helpers/deadline.ts';
import { sleep, type ChaosContext } from '../lib/context.ts';
import { awaitConvergence, burstPod, convergence, createPods, describeConvergence, groupsOf } from '../lib/pods.ts';
import { runScenario, seconds, type ScenarioResult } from '../lib/report.ts';
import { startRig, stopRig, type Rig } from '../lib/rig.ts';
import { placement } from '../lib/provider.ts';
import { callFigures, ZONES } from '../lib/sim.ts';

export interface FaultsOptions {
  pods: number;
  convergeTimeoutMs: number;
  /** Bounds asserted on cloud calls per pod (generous: they catch a retry storm, not a slow poll). */
  maxCreatesPerPod?: number;
  maxCallsPerPod?: number;
}

const RULES = [
  { action: '*', rate: 0.1, code: 'ServiceUnavailable', status: 503, message: 'injected by the chaos suite' },
  { action: '*', rate: 0.05, code: 'Throttling.User', status: 400, message: 'injected by the chaos suite' },
  { action: '*', latencyMs: 100 },
];
const GROUP_FAULTS = [
  { namePattern: '-doomed-[0-9]+$', status: 'Failed', afterMs: 1500, reason: 'InjectedFault' },
  { namePattern: '-expire-[0-9]+$', status: 'Expired', afterMs: 1500, reason: 'InjectedExpiry' },
];

export function faultsScenario(ctx: ChaosContext, o: FaultsOptions): Promise<ScenarioResult> {
  return runScenario('cloud-faults', ctx.log, async (s) => {
    s.summary = `${o.pods} pods; 10% 503 + 5% throttling + 100 ms on every action, zone i out of stock, groups failing/expiring, simulator crashed and restarted mid-burst`;
    let rig: Rig | undefined;
    try {
      const faults = { seed: 5, rules: RULES, zonesOutOfStock: [], groups: GROUP_FAULTS };
      rig = await startRig(ctx, { name: 'faults', persistent: true, worldOverrides: { rateLimits: { mode: 'quota-true' }, faults } });
      const { sim, config, namespace } = rig;
      await sim.admin.setFaults({ ...faults, zonesOutOfStock: [ZONES.i] });
      const burst = 'faults';
      const kindOf = (i: number) => (i % 20 === 3 ? 'doomed' : i % 20 === 13 ? 'expire' : 'p');
      // Spread over the three zones explicitly, so the out-of-stock zone always gets its third.
      const zones = [ZONES.h, ZONES.i, ZONES.j];
      const pods = Array.from({ length: o.pods }, (_, i) => burstPod(config, `${kindOf(i)}-${String(i).padStart(4, '0')}`, burst, placement(config, zones[i % 3])));
      const started = Date.now();
      const creating = createPods(ctx.cluster, namespace, pods, 16);
      creating.catch(() => {}); // awaited below; not an unhandled rejection meanwhile

      // The simulator crash: once 40% of the creates went through and the zone refused some.
      let counts = (await sim.admin.state()).requests;
      const deadline = Date.now() + budget({ baseMs: 120_000, perItemMs: 2_000, items: o.pods });
      while (Date.now() < deadline) {
        counts = (await sim.admin.state()).requests;
        const creates = counts.CreateContainerGroup;
        if ((creates?.ok ?? 0) >= o.pods * 0.4 && (creates?.errors['OperationDenied.NoStock'] ?? 0) > 0) break;
        await sleep(200);
      }
      const noStockBeforeRestart = counts.CreateContainerGroup?.errors['OperationDenied.NoStock'] ?? 0;
      s.check(noStockBeforeRestart > 0, 'the out-of-stock zone refused creates before the simulator restart');
      s.progress(`crashing the simulator at ${counts.CreateContainerGroup?.ok ?? 0} creates (${noStockBeforeRestart} refused for stock)`);
      await sim.restart(1_000);
      s.progress('simulator back (same state file and ports; zone i in stock again)');
      await withDeadline(creating, budget({ baseMs: 60_000, perItemMs: 2_000, items: o.pods }), `the apiserver to accept ${o.pods} pods`);

      // Two running groups of ordinary pods forced to end, as ECI does on its own.
      const forced = new Map<string, string>();
      const forceDeadline = Date.now() + budget({ baseMs: 120_000 });
      while (forced.size < 2 && Date.now() < forceDeadline) {
        const podsNow = await ctx.cluster.core.listNamespacedPod({ namespace });
        const byUid = new Map(podsNow.items.map((p) => [p.metadata!.uid!, p]));
        for (const g of groupsOf(sim.sim, config.clusterId)) {
          const pod = byUid.get(g.podUid ?? '');
          if (forced.size >= 2 || g.status !== 'Running' || pod === undefined || !pod.metadata!.name!.startsWith('p-') || forced.has(pod.metadata!.uid!)) continue;
          const status = forced.size === 0 ? 'Failed' : 'Expired';
          await sim.admin.forceGroup(g.id, status, status === 'Failed' ? 'ForcedFailure' : 'ForcedExpiry');
          forced.set(pod.metadata!.uid!, status);
        }
        if (forced.size < 2) await sleep(1_000);
      }
      s.check(forced.size === 2, `two running groups forced Failed/Expired (got ${forced.size})`);

      const expectPhase = (p: k8s.V1Pod) => (p.metadata!.name!.startsWith('p-') && !forced.has(p.metadata!.uid!) ? 'Running' : 'Failed');
      const { view, ms } = await awaitConvergence(() => convergence(ctx.cluster, sim.sim, { namespace, burst, clusterId: config.clusterId, expected: o.pods, expectPhase }), {
        timeoutMs: o.convergeTimeoutMs,
        onProgress: (v) => s.progress(describeConvergence(v)),
      });
      const calls = callFigures(await sim.totals());
      const perPod = (n: number | undefined) => Math.round(((n ?? 0) / o.pods) * 100) / 100;

      // Clear events and reasons: every Failed pod says why; the stock outage was reported.
      const finalPods = (await ctx.cluster.core.listNamespacedPod({ namespace })).items;
      const events = (await ctx.cluster.core.listNamespacedEvent({ namespace })).items;
      const eventsByReason: Record<string, number> = {};
      for (const e of events) eventsByReason[e.reason ?? '?'] = (eventsByReason[e.reason ?? '?'] ?? 0) + 1;
      const failed = finalPods.filter((p) => p.status?.phase === 'Failed');
      const unexplained = failed.filter((p) => !failureReason(p, events));
      const stockEvents = events.filter((e) => /NoStock/.test(`${e.reason} ${e.message}`));

      const perZone: Record<string, number> = {};
      for (const p of finalPods) {
        const zone = (p.spec?.nodeName ?? '?').slice(config.node.namePrefix.length + 1);
        perZone[zone] = (perZone[zone] ?? 0) + 1;
      }
      s.figure('pods', o.pods);
      s.figure('pods per zone', perZone);
      s.figure('Running', view.phases.Running ?? 0);
      s.figure('Failed (expected: fault rules + forced)', view.phases.Failed ?? 0);
      s.figure('stuck Pending / Terminating', `${view.phases.Pending ?? 0} / ${view.terminating}`);
      s.figure('duplicate groups', view.duplicates);
      s.figure('orphan groups', view.orphans);
      s.figure('simulator restarts', sim.restarts);
      s.figure('creates refused for stock', calls.errors['OperationDenied.NoStock'] ?? 0);
      s.figure('events naming NoStock', stockEvents.length);
      s.figure('Failed pods without a reason', unexplained.length);
      s.figure('events by reason', eventsByReason);
      s.figure('converged after the burst (s)', seconds(ms));
      s.figure('burst start to converged (s)', seconds(Date.now() - started));
      s.figure('cloud calls by action', calls.perAction);
      s.figure('cloud errors by code', calls.errors);
      s.figure('CreateContainerGroup calls per pod', perPod(calls.perAction.CreateContainerGroup));
      s.figure('cloud calls per pod (all actions)', perPod(calls.total));

      s.check(view.ok, `every pod in its expected phase, no duplicate, no orphan: ${describeConvergence(view)}`);
      s.check(unexplained.length === 0, `every Failed pod carries a reason (status, container state or event): ${unexplained.map((p) => p.metadata?.name).join(', ')}`);
      s.check(stockEvents.length > 0, 'the stock outage shows up as an event naming OperationDenied.NoStock');
      const maxCreates = o.maxCreatesPerPod ?? 6;
      const maxCalls = o.maxCallsPerPod ?? 60;
      s.check(perPod(calls.perAction.CreateContainerGroup) <= maxCreates, `CreateContainerGroup calls per pod <= ${maxCreates} (no retry storm)`);
      s.check(perPod(calls.total) <= maxCalls, `cloud calls per pod <= ${maxCalls}`);
      // One tagged group per pod, except a Failed pod whose finished group the cloud has dropped
      // (retention), as ECI does: that pod stays Failed and gets no new group (a Failed pod's
      // groups are all finished ones, so a re-created group shows as a live one).
      const tagged = groupsOf(sim.sim, config.clusterId).filter((g) => g.podUid !== undefined);
      const withGroup = new Set(tagged.map((g) => g.podUid));
      const withoutGroup = finalPods.filter((p) => !withGroup.has(p.metadata?.uid));
      const realism = sim.sim.cloud.realism.config;
      const mayBeDropped = realism.retentionMs > 0 ? Math.max(0, failed.length - realism.retentionKeep) : 0;
      const failedUids = new Set(failed.map((p) => p.metadata?.uid));
      const liveForFailed = tagged.filter((g) => failedUids.has(g.podUid) && !FINISHED_GROUP.has(g.status));
      s.figure('pods without a group (the cloud dropped it after retention)', withoutGroup.length);
      s.check(
        withoutGroup.every((p) => p.status?.phase === 'Failed') && withoutGroup.length <= mayBeDropped && tagged.length === o.pods - withoutGroup.length,
        `one tagged group per pod (${tagged.length} for ${o.pods}; tag ${GROUP_TAGS.podUid}), but up to ${mayBeDropped} Failed pods whose group retention dropped: ` +
          `${withoutGroup.map((p) => `${p.metadata?.name} (${p.status?.phase})`).join(', ') || 'none'}`,
      );
      s.check(liveForFailed.length === 0, `a Failed pod's group is a finished one (none re-created): ${liveForFailed.map((g) => `${g.id} ${g.status}`).join(', ') || 'none'}`);
    } finally {
      await stopRig(ctx, rig, s);
    }
  });
}

/** Group states the cloud does not leave (a re-created group would be none of these). */
const FINISHED_GROUP: ReadonlySet<string> = new Set(['Failed', 'Expired', 'Succeeded', 'ScheduleFailed']);

/** A Failed pod explains itself: a status reason, a terminated container's reason, or a Warning event. */
function failureReason(pod: k8s.V1Pod, events: readonly k8s.CoreV1Event[]): boolean {
  if (pod.status?.reason) return true;
  if ((pod.status?.containerStatuses ?? []).some((c) => c.state?.terminated?.reason)) return true;
  return events.some((e) => e.involvedObject.uid === pod.metadata?.uid && e.type === 'Warning');
}
