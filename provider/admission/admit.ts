// The admission decision for a pod CREATE: pure over the pod, its namespace's labels and the
// PodNetworkings (all from informer caches; no API call on the admission path). Mutates a copy,
// and the JSON patch is the diff of original vs mutated (the Pepr / controller-runtime way), so
// the patch can never disagree with the object we reasoned about.
import type { V1Affinity, V1Pod, V1Toleration } from '@kubernetes/client-node';
import jsonpatch from 'fast-json-patch';
import { matchingProfileSelectors, type ProfileSelector } from '../networking/cluster-network.ts';
import { NODE_LABELS, NODE_LABEL_VALUES } from '../node/constants.ts';
import { ANNOTATIONS, LABELS, VIRTUAL_NODE_TOLERATION } from '../networking/constants.ts';
import { byAgeThenName, matchPodNetworking, type Labels } from '../networking/match.ts';
import { isFixedAllocation, type PodNetworking } from '../networking/podnetworking.ts';
import type { VSwitch } from '../cloud/model.ts';
import { placeByFreeIps } from '../networking/networks.ts';
import { constrainToZones, nodeSelectorZoneProblem, preferZones, zonesOf } from '../networking/zones.ts';

/** RFC 6902, as the apiserver applies it (patchType JSONPatch). */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export interface AdmitOptions {
  /** ACK Serverless style: every admitted pod tolerates the virtual-node taint. */
  serverlessMode: boolean;
  /** The toleration serverless mode adds; VIRTUAL_NODE_TOLERATION by default. */
  virtualNodeToleration?: V1Toleration;
}

export interface AdmitInput {
  pod: V1Pod;
  namespaceLabels: Labels | undefined;
  podNetworkings: readonly PodNetworking[];
  options: AdmitOptions;
  /**
   * The `selectors` of ACK's kube-system/eci-profile (docs/networks.md): a matching pod is sent to
   * the virtual nodes (toleration + node affinity, outside serverless mode) and gets the
   * selector's effect annotations and labels. Absent: none.
   */
  profileSelectors?: readonly ProfileSelector[];
  /**
   * Annotations carrying the admission's trace context (provider/telemetry/context.ts), added when
   * the pod may run on a virtual node: it tolerates the virtual-node taint once admitted, or a
   * PodNetworking was chosen for it. Empty or absent: none (tracing off).
   */
  traceAnnotations?: Readonly<Record<string, string>>;
  /**
   * The vSwitches with their free IPs as the leader last read them (the node manager's
   * DescribeVSwitches poll): the zone affinity then leaves out zones whose vSwitches of the
   * network have no free IP (when another has) and prefers zones by free IPs. Absent (a follower,
   * nothing read yet): the PodNetworking's zones as they are.
   */
  vSwitches?: readonly VSwitch[];
}

/** What the decision looked at, for the admission's spans (`podnetworking.match`, `zone.constrain`). */
export interface AdmitConsidered {
  /** Every PodNetworking offered, by name. */
  candidates: string[];
  /** Those not chosen and why (`pn-web: podSelector app=web did not match`). */
  skipped: string[];
  /** The chosen PodNetworking's zones (empty: default network). */
  zones: string[];
  /** The zone affinity was added (false: already there, DaemonSet, or no PodNetworking). */
  zoneConstrained: boolean;
}

export type AdmitResult =
  | {
      allowed: true;
      /** Empty when nothing changed (the envelope then omits patch and patchType). */
      patch: JsonPatchOperation[];
      /** Admission warnings, shown by kubectl and returned to the creating controller. */
      warnings: string[];
      matched: { chosen?: string; alsoMatched: string[] };
      /** Why the pod was left alone (host network, no containers, namespace opted out). */
      skipped?: string;
      /** What was decided and why, for the log and the admission span. */
      notes: string[];
      considered?: AdmitConsidered;
    }
  | { allowed: false; message: string };

/** The reason a pod is not ours to touch at all, or undefined. Terway's skips, same order. */
export function skipReason(pod: V1Pod, namespaceLabels: Labels | undefined): string | undefined {
  if (pod.spec?.hostNetwork === true) return 'host network pod';
  if ((pod.spec?.containers ?? []).length === 0) return 'pod has no containers';
  if (namespaceLabels?.[LABELS.namespacePodEni] === 'false') {
    return `namespace opted out (${LABELS.namespacePodEni}=false)`;
  }
  return undefined;
}

/** Controlled by a DaemonSet: placed on a node by the DaemonSet controller, not by zone. */
export function isDaemonSetPod(pod: V1Pod): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet' && o.controller === true);
}

function tolerates(existing: readonly V1Toleration[], wanted: V1Toleration): boolean {
  return existing.some((t) => {
    if (t.effect !== undefined && t.effect !== '' && t.effect !== wanted.effect) return false;
    if (t.key === undefined || t.key === '') return t.operator === 'Exists'; // tolerates every taint
    if (t.key !== wanted.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (wanted.value ?? '');
  });
}

function deny(message: string): AdmitResult {
  return { allowed: false, message };
}

/**
 * Decides a pod CREATE:
 * - skipped (no patch): host network, no containers, namespace labelled pod-eni=false;
 * - serverless mode: the virtual-node toleration (not for DaemonSet pods);
 * - a Ready PodNetworking matches: annotations pod-networking=<name>, pod-eni="true", and the
 *   required zone affinity (not for DaemonSet pods: the provider re-checks the zone at sync);
 *   several match: the oldest (then name) and a warning naming all;
 * - refused: the first-ranked match has allocationType Fixed, or the pod's own affinity or
 *   nodeSelector leaves no zone of the PodNetworking.
 */
export function admitPod(input: AdmitInput): AdmitResult {
  const { pod, namespaceLabels, podNetworkings, options } = input;
  const skipped = skipReason(pod, namespaceLabels);
  if (skipped !== undefined) {
    return { allowed: true, patch: [], warnings: [], matched: { alsoMatched: [] }, skipped, notes: [`skipped: ${skipped}`] };
  }

  // Copy on write: every change below replaces a field of metadata or spec (never edits the
  // pod's own nested objects), so copying those two levels is enough. A structuredClone of the
  // whole pod per admission was ~1% of the provider's busy CPU at 1000 pods (docs/benchmark.md).
  const mutated: V1Pod = { ...pod, ...(pod.metadata === undefined ? {} : { metadata: { ...pod.metadata } }), ...(pod.spec === undefined ? {} : { spec: { ...pod.spec } }) };
  const warnings: string[] = [];
  const notes: string[] = [];
  const daemonSet = isDaemonSetPod(pod);

  const toleration = options.virtualNodeToleration ?? { ...VIRTUAL_NODE_TOLERATION };
  const addToleration = (why: string) => {
    const spec = (mutated.spec ??= { containers: [] });
    const existing = spec.tolerations ?? [];
    if (!tolerates(existing, toleration)) {
      spec.tolerations = [...existing, toleration];
      notes.push(`${why}: added toleration ${toleration.key ?? ''}=${toleration.value ?? ''}:${toleration.effect ?? ''}`);
    }
  };
  if (options.serverlessMode && !daemonSet) addToleration('serverless mode');

  // eci-profile selectors ("ECI Scheduler" and "ECI Effect"): before the PodNetworking match, so
  // the match sees the labels the pod will have (the sync matches on the stored pod).
  const selected = daemonSet ? [] : matchingProfileSelectors(input.profileSelectors ?? [], pod.metadata?.labels, namespaceLabels);
  for (const selector of selected) {
    const metadata = (mutated.metadata ??= {});
    // The pod's own values win: the profile adds, it does not overwrite what the workload says.
    metadata.annotations = { ...selector.effect.annotations, ...metadata.annotations };
    metadata.labels = { ...selector.effect.labels, ...metadata.labels };
    if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
    if (Object.keys(metadata.labels).length === 0) delete metadata.labels;
    notes.push(`eci-profile selector ${selector.name} matches`);
  }
  if (selected.length > 0 && !options.serverlessMode) {
    addToleration(`eci-profile selector ${selected[0]!.name}`);
    const spec = (mutated.spec ??= { containers: [] });
    const affinity = requireVirtualNode(spec.affinity);
    if (affinity !== undefined) {
      spec.affinity = affinity;
      notes.push(`eci-profile selector ${selected[0]!.name}: required node affinity ${NODE_LABELS.type}=${NODE_LABEL_VALUES.type}`);
    }
  }

  const match = matchPodNetworking({ pod: mutated, namespaceLabels, podNetworkings });
  const chosen = match.chosen;
  const considered: AdmitConsidered = {
    candidates: podNetworkings.map((pn) => pn.metadata.name),
    skipped: [...match.skipped.map((s) => s.reason), ...match.alsoMatched.map((n) => `${n}: matches too; ${chosen?.metadata.name ?? ''} is older (or first by name)`)],
    zones: [],
    zoneConstrained: false,
  };

  // Fixed allocation never silently becomes Elastic: if a Fixed PodNetworking ranks first among
  // those whose selectors match (Ready or not), the pod is refused with the reason.
  const fixed = [...(chosen ? [chosen] : []), ...match.notReady.filter(isFixedAllocation)].sort(byAgeThenName)[0];
  if (fixed !== undefined && isFixedAllocation(fixed)) {
    return deny(
      `PodNetworking ${fixed.metadata.name} matches this pod but has allocationType Fixed (static IP), ` +
        'which pods on virtual nodes (ECI) cannot have: set it to Elastic, or narrow its selectors so this pod does not match',
    );
  }

  if (chosen === undefined) {
    const [pending] = match.notReady;
    if (pending !== undefined) {
      warnings.push(
        `PodNetworking ${pending.metadata.name} matches this pod but is not Ready` +
          `${pending.status?.message ? ` (${pending.status.status ?? ''}: ${pending.status.message})` : ''}; the pod uses the cluster default network`,
      );
    }
    notes.push('no Ready PodNetworking matches: default network');
    return finish(pod, mutated, { warnings, notes, matched: { alsoMatched: [] }, considered }, input.traceAnnotations);
  }

  const name = chosen.metadata.name;
  const annotations = (mutated.metadata ??= {}).annotations ?? {};
  const previous = annotations[ANNOTATIONS.podNetworking];
  if (previous !== undefined && previous !== name) {
    warnings.push(`annotation ${ANNOTATIONS.podNetworking}=${previous} replaced by ${name} (chosen by selectors)`);
  }
  mutated.metadata.annotations = { ...annotations, [ANNOTATIONS.podNetworking]: name, [ANNOTATIONS.podEni]: 'true' };
  notes.push(`PodNetworking ${name} chosen`);

  if (match.alsoMatched.length > 0) {
    const all = [name, ...match.alsoMatched];
    warnings.push(`pod matches ${all.length} PodNetworkings (${all.join(', ')}); using ${name} (oldest, then by name)`);
    // Kept on the pod so the provider can record an event once the pod has a name and UID.
    mutated.metadata.annotations[ANNOTATIONS.alsoMatched] = match.alsoMatched.join(',');
  }

  const zones = zonesOf(chosen);
  considered.zones = zones;
  if (daemonSet) {
    notes.push('DaemonSet pod: no zone affinity (its node is chosen by the DaemonSet controller; the provider checks the zone at sync)');
  } else {
    const selectorProblem = nodeSelectorZoneProblem(pod.spec?.nodeSelector, zones);
    if (selectorProblem !== undefined) {
      return deny(`PodNetworking ${name}: ${selectorProblem}`);
    }
    // IP-aware: only the zones whose vSwitches have free IPs (when one has), unless the pod's own
    // affinity allows none of those (it then waits in its zone with the reason, as before).
    // A nodeSelector naming the zone pins the pod: narrowing would only make it unschedulable.
    const pinned = pod.spec?.nodeSelector?.[LABELS.zone] !== undefined;
    const placement = input.vSwitches === undefined || pinned ? undefined : placeByFreeIps({ zones, vSwitchIds: chosen.spec?.vSwitchOptions ?? [], vSwitches: input.vSwitches });
    let constrained = constrainToZones(mutated.spec?.affinity, placement?.zones ?? zones);
    if (!constrained.ok && placement !== undefined) {
      notes.push(`the pod's affinity allows no zone with free IPs (${placement.zones.join(', ')}): all zones of the PodNetworking kept`);
      constrained = constrainToZones(mutated.spec?.affinity, zones);
    } else if (placement !== undefined) {
      notes.push(...placement.notes);
      considered.zones = placement.zones;
    }
    if (!constrained.ok) return deny(`PodNetworking ${name}: ${constrained.message}`);
    let affinity = constrained.affinity;
    let changed = constrained.changed;
    if (placement !== undefined && placement.preferred.length > 0) {
      const preferred = preferZones(affinity, placement.preferred);
      if (preferred.changed) {
        affinity = preferred.affinity;
        changed = true;
        notes.push(`zones preferred by free IPs: ${placement.preferred.map((p) => `${p.zone}=${p.weight}`).join(', ')}`);
      }
    }
    if (changed) {
      (mutated.spec ??= { containers: [] }).affinity = affinity;
      notes.push(`zone affinity: ${considered.zones.join(', ')}`);
      considered.zoneConstrained = true;
    }
  }

  return finish(pod, mutated, { warnings, notes, matched: { chosen: name, alsoMatched: match.alsoMatched }, considered }, input.traceAnnotations);
}

/**
 * The pod's affinity with `type In [virtual-kubelet]` in every required node-selector term (terms
 * are ORed, so each needs it); undefined when every term already selects on `type`.
 */
export function requireVirtualNode(affinity: V1Affinity | undefined): V1Affinity | undefined {
  const next: V1Affinity = structuredClone(affinity ?? {});
  const nodeAffinity = (next.nodeAffinity ??= {});
  const required = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  const expression = { key: NODE_LABELS.type, operator: 'In', values: [NODE_LABEL_VALUES.type] };
  const terms = required?.nodeSelectorTerms ?? [];
  if (terms.length === 0) {
    nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { ...required, nodeSelectorTerms: [{ matchExpressions: [expression] }] };
    return next;
  }
  let changed = false;
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    ...required,
    nodeSelectorTerms: terms.map((term) => {
      if ((term.matchExpressions ?? []).some((e) => e.key === NODE_LABELS.type)) return term;
      changed = true;
      return { ...term, matchExpressions: [...(term.matchExpressions ?? []), expression] };
    }),
  };
  return changed ? next : undefined;
}

function finish(
  original: V1Pod,
  mutated: V1Pod,
  rest: { warnings: string[]; notes: string[]; matched: { chosen?: string; alsoMatched: string[] }; considered: AdmitConsidered },
  traceAnnotations: Readonly<Record<string, string>> | undefined,
): AdmitResult {
  const mayRunOnVirtualNode = rest.matched.chosen !== undefined || tolerates(mutated.spec?.tolerations ?? [], VIRTUAL_NODE_TOLERATION);
  if (traceAnnotations !== undefined && Object.keys(traceAnnotations).length > 0 && mayRunOnVirtualNode) {
    const metadata = (mutated.metadata ??= {});
    metadata.annotations = { ...metadata.annotations, ...traceAnnotations };
  }
  return { allowed: true, patch: diff(original, mutated), ...rest };
}

/** RFC 6902 operations turning `original` into `mutated`; `/` in keys escaped as `~1`. */
export function diff(original: object, mutated: object): JsonPatchOperation[] {
  return jsonpatch.compare(original, mutated) as JsonPatchOperation[];
}
