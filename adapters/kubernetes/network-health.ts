// networkHealthToKubernetes: every few seconds, over what the process already knows (the
// vSwitches the node manager polls, the pods of the virtual nodes, the PodNetworking cache), it
// judges each network's IP headroom and each pod's IP (provider/networking/networks.ts), and
// reports: a PodNetworking status condition `IPHeadroom` (a merge patch of status.conditions only),
// an event when the verdict changes (Warning IPHeadroomLow / Normal IPHeadroomRestored), a Warning
// PodIPOutsideNetwork once per pod whose IP broke the guarantee, and the network gauges. A vSwitch
// of a network that the cloud was asked for and does not have is logged once, and a PodNetworking
// naming it is handed back to its controller (onVSwitchesNotFound), whose resolution turns it Fail
// with a PodNetworkingFailed event; meanwhile its pods are judged against the vSwitches that exist.
// No cloud call of its own.
import * as k8s from '@kubernetes/client-node';
import type { VSwitch } from '../../provider/cloud/model.ts';
import { EventReason } from '../../provider/events/reasons.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import {
  assessHeadroom,
  holdsNetworkIp,
  ipDriftOf,
  networkKey,
  networkOfPod,
  networksOf,
  vSwitchesNotFoundToReport,
  type Headroom,
  type Network,
} from '../../provider/networking/networks.ts';
import type { PodNetworking } from '../../provider/networking/podnetworking.ts';
import { selectingPodNetworking } from '../../provider/networking/decide.ts';
import type { Labels } from '../../provider/networking/match.ts';
import { runLoop } from '../../provider/runtime/loop.ts';
import type { NetworkIpState } from '../telemetry/metrics.ts';
import { isNotFound } from './client.ts';
import type { KubernetesEventRecorder } from './events.ts';
import type { InformerLog } from './informer.ts';

/** The condition type on a PodNetworking's status. */
export const IP_HEADROOM_CONDITION = 'IPHeadroom';

export interface NetworkHealthOptions {
  custom: k8s.CustomObjectsApi;
  events: KubernetesEventRecorder;
  log: InformerLog & { info(msg: string, fields?: Record<string, unknown>): void };
  /** The default network's vSwitches now (read at each check: the default network may be hot-reloaded). */
  defaultVSwitchIds: () => readonly string[];
  podNetworkings: { list(): readonly PodNetworking[] };
  /** Virtual node pools as networks (issue 17 items 1-3), and the pool a pod's node belongs to. */
  pools?: () => readonly Network[];
  poolOfPod?: (pod: k8s.V1Pod) => string | undefined;
  /** A Namespace's labels: a pod the webhook missed is attributed to the PodNetworking whose selectors pick it (as the sync does). */
  namespaceLabels?: (namespace: string) => Labels | undefined;
  /**
   * Each check's verdict for a network with no PodNetworking object (a pool, the default
   * network), `changed` when it differs from the last one: where a pool writes its status/event.
   */
  onVerdict?: (network: Network, headroom: Headroom, changed: boolean) => void;
  /** The node manager's last DescribeVSwitches answer. */
  vSwitches: () => readonly VSwitch[];
  /** The ids that DescribeVSwitches was asked for and did not return (default: none known). */
  vSwitchesNotFound?: () => readonly string[];
  /** Once per network and vSwitch gone missing (after the log line): a PodNetworking is resolved again. */
  onVSwitchesNotFound?: (network: Network, vSwitchIds: readonly string[]) => void;
  /** Pods of the virtual nodes (the pod controller's cache). */
  pods: () => readonly k8s.V1Pod[];
  ratio: number;
  everyMs: number;
  signal: AbortSignal;
  now?: () => Date;
}

export interface NetworkHealth {
  /** The network gauges as of the last check. */
  states(): NetworkIpState[];
  /** Runs one check now (tests, and after a change that matters). */
  check(): Promise<void>;
  done: Promise<void>;
}

interface CheckState {
  /** The verdict last reported, per network key. */
  verdicts: Map<string, boolean>;
  /** Pod UIDs whose drift was already reported. */
  drifted: Set<string>;
  /** Network key and vSwitch id of each vSwitch already reported as not found. */
  notFoundReported: Set<string>;
  states: NetworkIpState[];
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export function startNetworkHealth(o: NetworkHealthOptions): NetworkHealth {
  const now = o.now ?? (() => new Date());
  const state: CheckState = { verdicts: new Map(), drifted: new Set(), notFoundReported: new Set(), states: [] };
  const { group, version, plural } = PODNETWORKING_API;

  const writeCondition = async (pn: PodNetworking, h: Headroom): Promise<void> => {
    const status = h.ok ? 'True' : 'False';
    const previous = (pn.status as { conditions?: k8s.V1Condition[] } | undefined)?.conditions ?? [];
    const mine = previous.find((c) => c.type === IP_HEADROOM_CONDITION);
    if (mine?.status === status && mine.reason === h.reason && mine.message === h.message) return;
    const condition: k8s.V1Condition = {
      type: IP_HEADROOM_CONDITION,
      status,
      reason: h.reason,
      message: h.message,
      lastTransitionTime: mine?.status === status && mine.lastTransitionTime !== undefined ? mine.lastTransitionTime : now(),
    };
    const conditions = [...previous.filter((c) => c.type !== IP_HEADROOM_CONDITION), condition];
    try {
      await o.custom.patchClusterCustomObjectStatus({ group, version, plural, name: pn.metadata.name, body: { status: { conditions } } }, mergePatch);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  /** The annotation the webhook wrote, else the Ready PodNetworking whose selectors pick the pod (the sync's rule), else a pool or the default. */
  const servedBy = (pod: k8s.V1Pod, podNetworkings: readonly PodNetworking[]) => {
    const named = networkOfPod(pod);
    if (named.kind === 'podnetworking' || o.namespaceLabels === undefined) return networkOfPod(pod, o.poolOfPod);
    const selecting = selectingPodNetworking({ pod, namespaceLabels: o.namespaceLabels(pod.metadata?.namespace ?? ''), podNetworkings });
    if (selecting?.status?.status === 'Ready') return { kind: 'podnetworking' as const, name: selecting.metadata.name };
    return networkOfPod(pod, o.poolOfPod);
  };

  const check = async (): Promise<void> => {
    const vSwitches = o.vSwitches();
    if (vSwitches.length === 0) return; // nothing polled yet: no verdict
    const podNetworkings = o.podNetworkings.list();
    const networks = networksOf({ defaultVSwitchIds: o.defaultVSwitchIds(), podNetworkings, pools: o.pools?.() ?? [] });
    const byKey = new Map<string, Network>(networks.map((n) => [networkKey(n), n]));
    const notFound = o.vSwitchesNotFound?.() ?? [];
    const missing = vSwitchesNotFoundToReport({ networks, vSwitches, notFound, reported: state.notFoundReported });
    state.notFoundReported = missing.reported;
    for (const m of missing.reports) {
      o.log.warn('vSwitch of a network not found in the cloud', { network: networkKey(m.network), vSwitchIds: m.vSwitchIds, message: m.message });
      o.onVSwitchesNotFound?.(m.network, m.vSwitchIds);
    }
    const pods = o.pods().filter(holdsNetworkIp);
    const podCount = new Map<string, number>();
    const driftCount = new Map<string, number>();
    const seenUids = new Set<string>();
    for (const pod of pods) {
      const key = networkKey(servedBy(pod, podNetworkings));
      podCount.set(key, (podCount.get(key) ?? 0) + 1);
      const network = byKey.get(key);
      const uid = pod.metadata?.uid ?? '';
      if (network === undefined) continue;
      const drift = ipDriftOf({ pod, network, vSwitches, notFound });
      if (drift === undefined) continue;
      driftCount.set(key, (driftCount.get(key) ?? 0) + 1);
      seenUids.add(uid);
      if (!state.drifted.has(uid)) {
        state.drifted.add(uid);
        o.log.warn('pod IP outside its network', { ...drift });
        o.events.record(
          { apiVersion: 'v1', kind: 'Pod', namespace: drift.namespace, name: drift.pod, uid },
          { type: 'Warning', reason: EventReason.PodIPOutsideNetwork, message: drift.message },
        );
      }
    }
    for (const uid of state.drifted) if (!seenUids.has(uid)) state.drifted.delete(uid);

    const states: NetworkIpState[] = [];
    const writes: Promise<void>[] = [];
    for (const network of networks) {
      const key = networkKey(network);
      const h = assessHeadroom({ network, vSwitches, pods: podCount.get(key) ?? 0, ratio: o.ratio });
      if (h === undefined) continue;
      states.push({ network: key, freeIps: h.freeIps, pods: h.pods, headroomLow: !h.ok, driftPods: driftCount.get(key) ?? 0 });
      const pn = network.kind === 'podnetworking' ? podNetworkings.find((p) => p.metadata.name === network.name) : undefined;
      if (pn !== undefined) writes.push(writeCondition(pn, h));
      const before = state.verdicts.get(key);
      state.verdicts.set(key, h.ok);
      const changed = !(before === h.ok || (before === undefined && h.ok));
      if (pn === undefined) o.onVerdict?.(network, h, changed);
      if (!changed) continue;
      o.log[h.ok ? 'info' : 'warn'](h.ok ? 'network IP headroom restored' : 'network IP headroom low', { network: key, freeIps: h.freeIps, pods: h.pods, ratio: h.ratio });
      // Events need an object: the PodNetworking (the default network's verdict is in the log and the metrics).
      if (pn !== undefined) {
        o.events.record(
          { apiVersion: PODNETWORKING_API.apiVersion, kind: PODNETWORKING_API.kind, namespace: '', name: pn.metadata.name, uid: pn.metadata.uid ?? '' },
          h.ok ? { type: 'Normal', reason: EventReason.IPHeadroomRestored, message: h.message } : { type: 'Warning', reason: EventReason.IPHeadroomLow, message: h.message },
        );
      }
    }
    for (const key of state.verdicts.keys()) if (!byKey.has(key)) state.verdicts.delete(key);
    state.states = states;
    await Promise.all(writes);
  };

  const done = runLoop({
    name: 'network-health',
    everyMs: o.everyMs,
    signal: o.signal,
    body: check,
    onError: (err, failures, retryInMs) => o.log.warn('checking network IP headroom failed; retrying', { error: String(err), failures, retryInMs }),
  });
  return { states: () => state.states, check, done };
}
