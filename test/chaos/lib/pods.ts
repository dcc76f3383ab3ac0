// Pods of a burst and the invariants every scenario ends on: each live pod Running with exactly
// one container group (by the pod-UID tag) whose IP is the pod's, no group without a pod (after
// garbage collection), no pod stuck Pending or Terminating. The cloud is read straight from the
// simulator's store, so checking costs no API call and does not skew the calls-per-pod figures.
import type * as k8s from '@kubernetes/client-node';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { GROUP_TAGS } from '../../../provider/cloud/model.ts';
import type { ProviderConfig } from '../../../provider/config/config.ts';
import type { ChaosCluster } from './cluster.ts';
import { placement } from './provider.ts';

export const BURST_LABEL = 'chaos.eci-virtual-node.io/burst';

export function burstPod(config: ProviderConfig, name: string, burst: string, extra: Partial<k8s.V1PodSpec> = {}, labels: Record<string, string> = {}): k8s.V1Pod {
  return {
    metadata: { name, labels: { [BURST_LABEL]: burst, ...labels } },
    spec: { ...placement(config), containers: [{ name: 'main', image: 'nginx:1.27' }], terminationGracePeriodSeconds: 5, ...extra },
  };
}

/** Creates pods with bounded concurrency; returns the ones the apiserver accepted (retries 5xx / connection errors). */
export async function createPods(cluster: ChaosCluster, namespace: string, pods: readonly k8s.V1Pod[], concurrency = 16): Promise<number> {
  let next = 0;
  let created = 0;
  const worker = async () => {
    while (next < pods.length) {
      const pod = pods[next++]!;
      for (let attempt = 1; ; attempt++) {
        try {
          await cluster.core.createNamespacedPod({ namespace, body: pod });
          created++;
          break;
        } catch (err) {
          const code = (err as { code?: number }).code;
          if (code === 409) break; // created by an earlier attempt whose answer was lost
          if (attempt >= 60 || (code !== undefined && code < 500 && code !== 429)) throw err;
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pods.length) }, worker));
  return created;
}

export async function listPods(cluster: ChaosCluster, namespace: string, burst?: string): Promise<k8s.V1Pod[]> {
  return (await cluster.core.listNamespacedPod({ namespace, ...(burst === undefined ? {} : { labelSelector: `${BURST_LABEL}=${burst}` }) })).items;
}

export interface GroupView {
  id: string;
  podUid: string | undefined;
  ip: string;
  status: string;
  vSwitchId: string;
  zoneId: string;
}

/** This provider configuration's groups, read from the simulator's own store (no API call). */
export function groupsOf(sim: CloudSim, clusterId: string): GroupView[] {
  const out: GroupView[] = [];
  for (const g of sim.cloud.store.groups.values()) {
    const tag = (key: string) => g.tags.find((t) => t.key === key)?.value;
    if (tag(GROUP_TAGS.cluster) !== clusterId) continue;
    out.push({ id: g.id, podUid: tag(GROUP_TAGS.podUid), ip: g.ip, status: g.status, vSwitchId: g.vSwitchId, zoneId: g.zoneId });
  }
  return out;
}

export interface Convergence {
  ok: boolean;
  pods: number;
  phases: Record<string, number>;
  terminating: number;
  groups: number;
  duplicates: number;
  orphans: number;
  ipMismatches: number;
  /** Pods whose phase is not the expected one, up to 5, for the failure message. */
  examples: string[];
}

const phaseOf = (p: k8s.V1Pod): string => (p.metadata?.deletionTimestamp != null ? 'Terminating' : (p.status?.phase ?? 'Unknown'));

/**
 * Where a set of pods stands against the invariants. `expectPhase` maps a pod to the phase it
 * must end in (default Running).
 */
export async function convergence(
  cluster: ChaosCluster,
  sim: CloudSim,
  o: { namespace: string; burst?: string; clusterId: string; expected?: number; expectPhase?: (pod: k8s.V1Pod) => string },
): Promise<Convergence> {
  const everyPod = await listPods(cluster, o.namespace);
  const pods = o.burst === undefined ? everyPod : everyPod.filter((p) => p.metadata?.labels?.[BURST_LABEL] === o.burst);
  const groups = groupsOf(sim, o.clusterId);
  const phases: Record<string, number> = {};
  const examples: string[] = [];
  let wrong = 0;
  for (const p of pods) {
    const phase = phaseOf(p);
    phases[phase] = (phases[phase] ?? 0) + 1;
    const want = o.expectPhase?.(p) ?? 'Running';
    if (phase !== want) {
      wrong++;
      if (examples.length < 5) {
        const cond = p.status?.conditions?.find((c) => c.status === 'False' && c.reason);
        examples.push(`${p.metadata?.name}: ${phase} (want ${want})${cond ? ` ${cond.type}=${cond.reason}: ${cond.message ?? ''}` : ''}`);
      }
    }
  }
  const uids = new Set(pods.map((p) => p.metadata!.uid!));
  const anyPod = new Set(everyPod.map((p) => p.metadata!.uid!));
  const byUid = new Map<string, GroupView[]>();
  for (const g of groups) {
    const list = byUid.get(g.podUid ?? '') ?? [];
    list.push(g);
    byUid.set(g.podUid ?? '', list);
  }
  // Duplicates among this burst's pods; orphans: groups of this configuration with no pod at all.
  const duplicates = [...byUid.entries()].filter(([uid, list]) => uids.has(uid) && list.length > 1).length;
  const orphans = groups.filter((g) => g.podUid === undefined || !anyPod.has(g.podUid)).length;
  let ipMismatches = 0;
  for (const p of pods) {
    if (phaseOf(p) !== 'Running') continue;
    const mine = byUid.get(p.metadata!.uid!) ?? [];
    if (mine.length !== 1 || mine[0]!.ip !== p.status?.podIP) ipMismatches++;
  }
  const terminating = phases.Terminating ?? 0;
  const countOk = o.expected === undefined || pods.length === o.expected;
  return {
    ok: countOk && wrong === 0 && duplicates === 0 && orphans === 0 && ipMismatches === 0,
    pods: pods.length,
    phases,
    terminating,
    groups: groups.length,
    duplicates,
    orphans,
    ipMismatches,
    examples,
  };
}

export function describeConvergence(c: Convergence): string {
  return `${c.pods} pods ${JSON.stringify(c.phases)}, ${c.groups} groups, ${c.duplicates} duplicated, ${c.orphans} orphans, ${c.ipMismatches} IP mismatches${c.examples.length ? `; e.g. ${c.examples.join('; ')}` : ''}`;
}

/** Polls until the invariants hold; returns the last view either way (the caller asserts). */
export async function awaitConvergence(
  read: () => Promise<Convergence>,
  o: { timeoutMs: number; intervalMs?: number; onProgress?: (c: Convergence) => void },
): Promise<{ view: Convergence; ms: number }> {
  const started = Date.now();
  let view = await read();
  let lastReport = 0;
  while (!view.ok && Date.now() - started < o.timeoutMs) {
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 1_000));
    try {
      view = await read();
    } catch {
      // the apiserver may be restarting: keep the last view
    }
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      o.onProgress?.(view);
    }
  }
  return { view, ms: Date.now() - started };
}

/** Deletes half of the pods (every second one by name), without waiting. Returns their names. */
export async function deleteHalf(cluster: ChaosCluster, namespace: string, burst: string): Promise<string[]> {
  const pods = (await listPods(cluster, namespace, burst)).sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  const victims = pods.filter((_, i) => i % 2 === 0).map((p) => p.metadata!.name!);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < victims.length) {
        const name = victims[next++]!;
        await cluster.core.deleteNamespacedPod({ name, namespace }).catch((err: unknown) => {
          if ((err as { code?: number }).code !== 404) throw err;
        });
      }
    }),
  );
  return victims;
}
