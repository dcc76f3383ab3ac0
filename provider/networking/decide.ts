// Which network a pod gets at sync, decided again from what the provider sees now: the webhook's
// `k8s.aliyun.com/pod-networking` annotation AND the same matcher the webhook runs, over the
// PodNetworking cache and the namespace's labels. Admission constrains; this re-derives; neither
// trusts the other (the webhook may have been unreachable under failurePolicy Ignore, or its
// caches empty). The rule, documented in docs/networks.md:
// - a pod a PodNetworking selects is never created on the default network;
// - the annotation wins when it names an existing PodNetworking (the pod was admitted, and
//   scheduled, under that PodNetworking's zones); a current match that disagrees is reported once;
// - an annotation naming a PodNetworking that no longer exists yields to the current match, or
//   waits when nothing matches;
// - without an annotation, the match decides, and the node's zone must be one of its zones.
import type { V1Pod } from '@kubernetes/client-node';
import { skipReason } from '../admission/admit.ts';
import { ANNOTATIONS } from './constants.ts';
import { matchPodNetworking, type Labels } from './match.ts';
import { isFixedAllocation, type PodNetworking } from './podnetworking.ts';
import { zonesOf } from './zones.ts';

export interface DecideNetworkInput {
  pod: V1Pod;
  /** The zone of the virtual node the pod is bound to. */
  nodeZone: string;
  /** The labels of the pod's Namespace (informer cache); undefined when not known. */
  namespaceLabels: Labels | undefined;
  /** Every PodNetworking in the cache, whatever its status. */
  podNetworkings: readonly PodNetworking[];
}

/** A Warning the pod sync records once per pod (not a reason to hold the pod). */
export interface NetworkWarning {
  reason: 'PodNetworkingMismatch' | 'MultiplePodNetworkings' | 'PodNetworkingOverridesPool';
  message: string;
}

export type NetworkChoice =
  | { kind: 'default'; why: string }
  | {
      kind: 'podNetworking';
      podNetworking: PodNetworking;
      /** `annotation`: named by the webhook's annotation; `match`: selected at sync. */
      source: 'annotation' | 'match';
      zones: string[];
      why: string;
      warnings: NetworkWarning[];
    }
  | { kind: 'wait'; reason: 'PodNetworkingNotFound' | 'PodNetworkingNotReady'; message: string; podNetworking?: string }
  | { kind: 'refuse'; reason: 'FixedAllocationUnsupported' | 'ZoneNotAllowed' | 'PodNetworkingZoneMismatch'; message: string; podNetworking: string };

const list = (zones: readonly string[]): string => (zones.length === 0 ? 'no zone' : zones.join(', '));

/**
 * The PodNetworking whose selectors select the pod now: the Ready one the webhook would choose,
 * else the oldest not Ready; undefined when none does or the webhook's skips apply. (`explain`.)
 */
export function selectingPodNetworking(input: Omit<DecideNetworkInput, 'nodeZone'>): PodNetworking | undefined {
  if (skipReason(input.pod, input.namespaceLabels) !== undefined) return undefined;
  const match = matchPodNetworking(input);
  return match.chosen ?? match.notReady[0];
}

/** Decides the pod's network (pure). See the rule at the top of the file. */
export function decideNetwork(input: DecideNetworkInput): NetworkChoice {
  const { pod, nodeZone, namespaceLabels, podNetworkings } = input;
  const annotated = pod.metadata?.annotations?.[ANNOTATIONS.podNetworking] ?? '';
  const skipped = skipReason(pod, namespaceLabels);
  // The webhook's own skips (host network, no containers, namespace opted out) apply here too.
  const match = skipped === undefined ? matchPodNetworking({ pod, namespaceLabels, podNetworkings }) : undefined;
  // What selects the pod now, Ready or not (the oldest first).
  const selecting = match?.chosen ?? match?.notReady[0];
  const warnings: NetworkWarning[] = [];

  let pn: PodNetworking;
  let source: 'annotation' | 'match';
  if (annotated !== '') {
    const named = podNetworkings.find((p) => p.metadata.name === annotated);
    if (named !== undefined) {
      pn = named;
      source = 'annotation';
      if (selecting?.metadata.name !== annotated) {
        const now = selecting === undefined ? (skipped !== undefined ? `the pod is skipped now (${skipped})` : 'no PodNetworking selects the pod now') : `PodNetworking ${selecting.metadata.name} selects the pod now`;
        warnings.push({
          reason: 'PodNetworkingMismatch',
          message: `the pod's ${ANNOTATIONS.podNetworking} annotation names PodNetworking ${annotated} (set at admission), but ${now}; keeping ${annotated}, under whose zones the pod was admitted and scheduled. Delete the pod to have it admitted again`,
        });
      }
    } else if (match?.chosen !== undefined) {
      pn = match.chosen;
      source = 'match';
      warnings.push({
        reason: 'PodNetworkingMismatch',
        message: `the pod's ${ANNOTATIONS.podNetworking} annotation names PodNetworking ${annotated}, which does not exist; using ${pn.metadata.name}, which selects the pod now`,
      });
    } else {
      return {
        kind: 'wait',
        reason: 'PodNetworkingNotFound',
        podNetworking: annotated,
        message: `PodNetworking ${annotated} (named by the pod's ${ANNOTATIONS.podNetworking} annotation) does not exist; the pod waits until it does`,
      };
    }
  } else if (match?.chosen !== undefined) {
    pn = match.chosen;
    source = 'match';
  } else if (selecting !== undefined) {
    const name = selecting.metadata.name;
    const state = selecting.metadata.deletionTimestamp != null ? 'being deleted' : (selecting.status?.status ?? 'not resolved yet');
    const why = selecting.status?.message ? `: ${selecting.status.message}` : '';
    return {
      kind: 'wait',
      reason: 'PodNetworkingNotReady',
      podNetworking: name,
      message: `PodNetworking ${name} selects the pod but is ${state}${why}; the pod waits until it is Ready (a pod a PodNetworking selects never runs on the default network)`,
    };
  } else {
    return { kind: 'default', why: skipped !== undefined ? `no PodNetworking considered: ${skipped}` : 'no PodNetworking selects the pod' };
  }

  const name = pn.metadata.name;
  if (source === 'match' && match !== undefined && match.alsoMatched.length > 0) {
    warnings.push({
      reason: 'MultiplePodNetworkings',
      message: `pod matches PodNetworkings ${[name, ...match.alsoMatched].join(', ')}; using ${name} (oldest, then by name)`,
    });
  }
  if (isFixedAllocation(pn)) {
    return { kind: 'refuse', reason: 'FixedAllocationUnsupported', podNetworking: name, message: `PodNetworking ${name} asks for Fixed (static IP) allocation, which virtual nodes cannot provide; use allocationType Elastic` };
  }
  if (pn.status?.status !== 'Ready') {
    const why = pn.status?.message !== undefined ? `: ${pn.status.message}` : '';
    return { kind: 'wait', reason: 'PodNetworkingNotReady', podNetworking: name, message: `PodNetworking ${name} is ${pn.status?.status ?? 'not resolved yet'}${why}; the pod waits until it is Ready` };
  }
  const zones = zonesOf(pn);
  if (!zones.includes(nodeZone)) {
    if (source === 'annotation') {
      return {
        kind: 'refuse',
        reason: 'ZoneNotAllowed',
        podNetworking: name,
        message: `the pod is on a node of zone ${nodeZone}, but PodNetworking ${name} has vSwitches only in ${list(zones)}; delete the pod so it is re-admitted and scheduled into an allowed zone`,
      };
    }
    return {
      kind: 'refuse',
      reason: 'PodNetworkingZoneMismatch',
      podNetworking: name,
      message:
        `PodNetworking ${name} selects the pod, which is on a node of zone ${nodeZone}, but ${name} allows only ${list(zones)} ` +
        `(the pod was not constrained at admission: it carries no ${ANNOTATIONS.podNetworking} annotation); it is not created on the default network. ` +
        `Delete the pod so it is admitted again and scheduled into an allowed zone, or add a vSwitch of zone ${nodeZone} to ${name}`,
    };
  }
  const why =
    source === 'annotation'
      ? `named by the pod's ${ANNOTATIONS.podNetworking} annotation (set at admission); Ready`
      : `selected at sync by the PodNetworking selectors (no ${ANNOTATIONS.podNetworking} annotation on the pod); Ready`;
  return { kind: 'podNetworking', podNetworking: pn, source, zones, why, warnings };
}
