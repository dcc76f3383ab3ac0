// The zones a PodNetworking allows and the node affinity that keeps a pod inside them.
// Required node-selector terms are ORed, so EVERY term must carry the zone limit; expressions
// within a term are ANDed, so an existing zone `In` is intersected rather than duplicated. The
// rewrite is idempotent: the webhook is registered with reinvocationPolicy IfNeeded.
import type { V1Affinity, V1NodeSelectorRequirement, V1NodeSelectorTerm, V1Pod } from '@kubernetes/client-node';
import { LABELS } from './constants.ts';
import type { PodNetworking } from './podnetworking.ts';

const ZONE = LABELS.zone;

/** The distinct zones of a PodNetworking's resolved vSwitches, sorted. Empty when unresolved. */
export function zonesOf(podNetworking: Pick<PodNetworking, 'status'>): string[] {
  const zones = (podNetworking.status?.vSwitches ?? []).map((v) => v.zone).filter((z) => typeof z === 'string' && z !== '');
  return [...new Set(zones)].sort();
}

export type ConstrainResult =
  | { ok: true; affinity: V1Affinity; changed: boolean }
  | { ok: false; message: string };

/** What a term's zone expressions leave of `zones`, and how the term reads to a human. */
interface TermZones {
  allowed: string[];
  /** The pod's own zone limit in this term, e.g. `only cn-hangzhou-j`, `any zone except a`. */
  describe: string;
  /** Matches no node at all (empty term). */
  matchesNothing: boolean;
}

function termZones(term: V1NodeSelectorTerm, zones: readonly string[]): TermZones {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) {
    // metav1 semantics: an empty node-selector term matches no node.
    return { allowed: [], describe: 'an empty term (matches no node)', matchesNothing: true };
  }
  let allowed = [...zones];
  let inValues: Set<string> | undefined;
  const notIn = new Set<string>();
  let never: string | undefined;
  for (const e of exprs) {
    if (e.key !== ZONE) continue;
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        inValues = new Set(inValues === undefined ? values : values.filter((v) => inValues?.has(v)));
        allowed = allowed.filter((z) => values.includes(z));
        break;
      case 'NotIn':
        for (const v of values) notIn.add(v);
        allowed = allowed.filter((z) => !values.includes(z));
        break;
      case 'DoesNotExist':
        never = 'only nodes without a zone label';
        allowed = [];
        break;
      case 'Gt':
      case 'Lt':
        // Gt/Lt compare integers; a zone name never parses as one, so no zone matches.
        never = `zone ${e.operator} ${values.join(',')} (no zone name is a number)`;
        allowed = [];
        break;
      default:
        break; // Exists: any zone
    }
  }
  let describe: string;
  if (never !== undefined) describe = never;
  else if (inValues !== undefined) {
    const left = [...inValues].filter((z) => !notIn.has(z)).sort();
    describe = left.length === 0 ? 'no zone (its zone expressions contradict each other)' : `only ${left.join(', ')}`;
  } else if (notIn.size > 0) describe = `any zone except ${[...notIn].sort().join(', ')}`;
  else describe = 'any zone';
  return { allowed, describe, matchesNothing: false };
}

/** The term with its zone `In` expressions replaced by one `In allowed`, at the first one's place. */
function withZoneLimit(term: V1NodeSelectorTerm, allowed: readonly string[]): V1NodeSelectorTerm {
  const limit: V1NodeSelectorRequirement = { key: ZONE, operator: 'In', values: [...allowed] };
  const exprs = term.matchExpressions ?? [];
  const out: V1NodeSelectorRequirement[] = [];
  let placed = false;
  for (const e of exprs) {
    if (e.key === ZONE && e.operator === 'In') {
      if (!placed) out.push(limit);
      placed = true;
    } else {
      out.push(e);
    }
  }
  if (!placed) out.push(limit);
  return { ...term, matchExpressions: out };
}

/**
 * Limits a pod's required node affinity to `zones` (a PodNetworking's zones). Adds
 * `topology.kubernetes.io/zone In <zones>` to every required term, creating the term when there
 * is none; intersects with a zone `In` the term already has (and honours NotIn); drops terms left
 * with no allowed zone (and empty terms, which match nothing anyway); refuses when no term is
 * left. Never mutates its input; re-running on its own output changes nothing.
 */
export function constrainToZones(affinity: V1Affinity | undefined, zones: readonly string[]): ConstrainResult {
  const wanted = [...new Set(zones)].sort();
  if (wanted.length === 0) return { ok: false, message: 'the PodNetworking has no resolved zones (status.vSwitches is empty)' };

  const before = JSON.stringify(affinity ?? null);
  const next: V1Affinity = structuredClone(affinity ?? {});
  const nodeAffinity = (next.nodeAffinity ??= {});
  const required = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = required?.nodeSelectorTerms ?? [];

  if (terms.length === 0) {
    nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
      ...required,
      nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: wanted }] }],
    };
    return { ok: true, affinity: next, changed: true };
  }

  const kept: V1NodeSelectorTerm[] = [];
  const refused: string[] = [];
  terms.forEach((term, i) => {
    const tz = termZones(term, wanted);
    if (tz.allowed.length === 0) {
      refused.push(`term ${i + 1} allows ${tz.describe}`);
      return;
    }
    kept.push(withZoneLimit(term, tz.allowed));
  });
  if (kept.length === 0) {
    return {
      ok: false,
      message:
        `the pod's required node affinity leaves no zone of the PodNetworking (zones ${wanted.join(', ')}): ` +
        refused.join('; '),
    };
  }
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { ...required, nodeSelectorTerms: kept };
  return { ok: true, affinity: next, changed: JSON.stringify(next) !== before };
}

/**
 * Adds preferred node-affinity terms `zone In [z]` with the given weights (1-100), unless the pod
 * already has a preferred term on the zone label (its own wish, or an earlier invocation's): the
 * webhook may be re-invoked, and a user's preference is not ours to overrule. Never mutates.
 */
export function preferZones(affinity: V1Affinity, preferred: readonly { zone: string; weight: number }[]): { affinity: V1Affinity; changed: boolean } {
  const existing = affinity.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const hasZonePreference = existing.some((t) => (t.preference.matchExpressions ?? []).some((e) => e.key === ZONE));
  if (preferred.length === 0 || hasZonePreference) return { affinity, changed: false };
  const next: V1Affinity = structuredClone(affinity);
  const nodeAffinity = (next.nodeAffinity ??= {});
  nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution = [
    ...existing,
    ...preferred.map(({ zone, weight }) => ({ weight: Math.min(100, Math.max(1, Math.round(weight))), preference: { matchExpressions: [{ key: ZONE, operator: 'In', values: [zone] }] } })),
  ];
  return { affinity: next, changed: true };
}

/** A `topology.kubernetes.io/zone` in the pod's nodeSelector that is not among `zones`. */
export function nodeSelectorZoneProblem(nodeSelector: Readonly<Record<string, string>> | undefined, zones: readonly string[]): string | undefined {
  const zone = nodeSelector?.[ZONE];
  if (zone === undefined || zones.includes(zone)) return undefined;
  return `the pod's nodeSelector ${ZONE}=${zone} is not among the PodNetworking's zones (${[...zones].sort().join(', ')})`;
}

export type ZoneCheck = { allowed: true } | { allowed: false; reason: string };

/**
 * The sync path's check that a pod bound to a node of `nodeZone` may run there: the zone is among
 * `allowedZones` (the PodNetworking's zones, when the pod has one), the pod's nodeSelector does not
 * name another zone, and some required node-selector term permits the zone (only zone expressions
 * are judged: the scheduler already judged the rest). Catches pods that bypassed the webhook
 * (failurePolicy Ignore, nodeName set by hand, a PodNetworking whose zones changed).
 */
export function isZoneAllowed(pod: Pick<V1Pod, 'spec'>, nodeZone: string, allowedZones?: readonly string[]): ZoneCheck {
  if (allowedZones !== undefined && !allowedZones.includes(nodeZone)) {
    return { allowed: false, reason: `zone ${nodeZone} is not among the PodNetworking's zones (${[...allowedZones].sort().join(', ') || 'none'})` };
  }
  const selected = pod.spec?.nodeSelector?.[ZONE];
  if (selected !== undefined && selected !== nodeZone) {
    return { allowed: false, reason: `the pod's nodeSelector asks for zone ${selected}, the node is in ${nodeZone}` };
  }
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return { allowed: true };
  const described: string[] = [];
  for (const term of terms) {
    const tz = termZones(term, [nodeZone]);
    if (tz.allowed.length > 0) return { allowed: true };
    described.push(tz.describe);
  }
  return { allowed: false, reason: `the pod's required node affinity does not allow zone ${nodeZone} (terms allow: ${described.join('; ')})` };
}
