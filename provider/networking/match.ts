// Which PodNetworking a pod gets: Kubernetes label-selector semantics over the pod's labels and
// its namespace's labels, only Ready PodNetworkings, deterministic choice (oldest, then name),
// and a reason for every PodNetworking that was not chosen (for logs, events and `explain`).
import type { V1LabelSelector, V1LabelSelectorRequirement, V1ObjectMeta } from '@kubernetes/client-node';
import type { PodNetworking } from './podnetworking.ts';

export type Labels = Readonly<Record<string, string>>;

export interface SelectorProblem {
  /** Relative to the selector, e.g. `.matchExpressions[1].values`. */
  field: string;
  message: string;
}

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
type Operator = (typeof OPERATORS)[number];

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function labelKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string' || key === '') return 'must be a non-empty label key';
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `"${key}": prefix must be a DNS subdomain`;
  }
  if (name.length > 63 || !NAME.test(name)) {
    return `"${key}": name must be at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

function labelValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value)) {
    return `"${value}": must be at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

/**
 * What makes a label selector invalid, as metav1.LabelSelectorAsSelector would refuse it: an
 * unknown operator (operators are case-sensitive), In/NotIn without values, Exists/DoesNotExist
 * with values, malformed keys or values. Empty when valid.
 */
export function labelSelectorProblems(selector: V1LabelSelector): SelectorProblem[] {
  const problems: SelectorProblem[] = [];
  const fail = (field: string, message: string) => problems.push({ field, message });
  if (typeof selector !== 'object' || selector === null) {
    fail('', 'must be a label selector object');
    return problems;
  }
  const matchLabels: unknown = selector.matchLabels;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (typeof matchLabels !== 'object' || Array.isArray(matchLabels)) {
      fail('.matchLabels', 'must be a map of label keys to values');
    } else {
      for (const [key, value] of Object.entries(matchLabels as Record<string, unknown>)) {
        const keyProblem = labelKeyProblem(key);
        if (keyProblem !== undefined) fail(`.matchLabels`, `key ${keyProblem}`);
        const valueProblem = labelValueProblem(value);
        if (valueProblem !== undefined) fail(`.matchLabels[${key}]`, valueProblem);
      }
    }
  }
  const expressions: unknown = selector.matchExpressions;
  if (expressions !== undefined && expressions !== null) {
    if (!Array.isArray(expressions)) {
      fail('.matchExpressions', 'must be a list');
      return problems;
    }
    expressions.forEach((raw: unknown, i) => {
      const at = `.matchExpressions[${i}]`;
      if (typeof raw !== 'object' || raw === null) {
        fail(at, 'must be an object with key and operator');
        return;
      }
      const expr = raw as Partial<V1LabelSelectorRequirement>;
      const keyProblem = labelKeyProblem(expr.key);
      if (keyProblem !== undefined) fail(`${at}.key`, keyProblem);
      const op: unknown = expr.operator;
      const values: unknown = expr.values;
      if (!OPERATORS.includes(op as Operator)) {
        fail(`${at}.operator`, `"${String(op)}" is not one of In, NotIn, Exists, DoesNotExist`);
        return;
      }
      if (values !== undefined && values !== null && !Array.isArray(values)) {
        fail(`${at}.values`, 'must be a list of strings');
        return;
      }
      const list = (values ?? []) as unknown[];
      if ((op === 'In' || op === 'NotIn') && list.length === 0) {
        fail(`${at}.values`, `must not be empty for operator ${op}`);
      }
      if ((op === 'Exists' || op === 'DoesNotExist') && list.length > 0) {
        fail(`${at}.values`, `must be empty for operator ${op}`);
      }
      list.forEach((v, j) => {
        const valueProblem = labelValueProblem(v);
        if (valueProblem !== undefined) fail(`${at}.values[${j}]`, valueProblem);
      });
    });
  }
  return problems;
}

/** One requirement in kubectl's selector syntax: `app=web`, `tier in (a,b)`, `gpu`, `!gpu`. */
function requirementString(key: string, op: Operator, values: readonly string[]): string {
  switch (op) {
    case 'In':
      return values.length === 1 ? `${key}=${values[0]}` : `${key} in (${values.join(',')})`;
    case 'NotIn':
      return values.length === 1 ? `${key}!=${values[0]}` : `${key} notin (${values.join(',')})`;
    case 'Exists':
      return key;
    case 'DoesNotExist':
      return `!${key}`;
  }
}

/** The whole selector in kubectl's syntax; `<everything>` for an empty one. */
export function describeSelector(selector: V1LabelSelector): string {
  const parts = [
    ...Object.keys(selector.matchLabels ?? {})
      .sort()
      .map((key) => `${key}=${selector.matchLabels?.[key] ?? ''}`),
    ...(selector.matchExpressions ?? []).map((e) => requirementString(e.key, e.operator as Operator, e.values ?? [])),
  ];
  return parts.length === 0 ? '<everything>' : parts.join(',');
}

export type SelectorResult = { matches: true } | { matches: false; reason: string };

function actual(labels: Labels, key: string): string {
  return Object.hasOwn(labels, key) ? `${key}=${labels[key]}` : `no label ${key}`;
}

/**
 * Kubernetes label-selector semantics: every matchLabels entry and every matchExpression must
 * hold (AND). An empty selector matches everything; an absent (null) one matches nothing, as
 * metav1.LabelSelectorAsSelector does. An invalid selector matches nothing, with the reason.
 * NotIn and DoesNotExist hold when the label is absent.
 */
export function labelSelectorMatches(selector: V1LabelSelector | null | undefined, labels: Labels | undefined): SelectorResult {
  if (selector === undefined || selector === null) return { matches: false, reason: 'no selector (matches nothing)' };
  const problems = labelSelectorProblems(selector);
  if (problems.length > 0) {
    return { matches: false, reason: `invalid selector: ${problems.map((p) => `${p.field.replace(/^\./, '')}: ${p.message}`).join('; ')}` };
  }
  const have = labels ?? {};
  const matchLabels = selector.matchLabels ?? {};
  for (const key of Object.keys(matchLabels).sort()) {
    const want = matchLabels[key] ?? '';
    if (!Object.hasOwn(have, key) || have[key] !== want) {
      return { matches: false, reason: `${key}=${want} did not match (${actual(have, key)})` };
    }
  }
  for (const expr of selector.matchExpressions ?? []) {
    const op = expr.operator as Operator;
    const values = expr.values ?? [];
    const present = Object.hasOwn(have, expr.key);
    const value = have[expr.key];
    let ok: boolean;
    switch (op) {
      case 'In':
        ok = present && values.includes(value ?? '');
        break;
      case 'NotIn':
        ok = !present || !values.includes(value ?? '');
        break;
      case 'Exists':
        ok = present;
        break;
      case 'DoesNotExist':
        ok = !present;
        break;
    }
    if (!ok) return { matches: false, reason: `${requirementString(expr.key, op, values)} did not match (${actual(have, expr.key)})` };
  }
  return { matches: true };
}

function creationMillis(meta: V1ObjectMeta): number {
  const raw = meta.creationTimestamp as Date | string | undefined;
  if (raw === undefined || raw === null) return Number.POSITIVE_INFINITY;
  const ms = new Date(raw).getTime();
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Oldest creationTimestamp first, then name; a missing timestamp sorts last. */
export function byAgeThenName(a: Pick<PodNetworking, 'metadata'>, b: Pick<PodNetworking, 'metadata'>): number {
  const ta = creationMillis(a.metadata);
  const tb = creationMillis(b.metadata);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

export interface MatchInput {
  pod: { metadata?: V1ObjectMeta };
  /** The labels of the pod's Namespace (from the informer cache). */
  namespaceLabels: Labels | undefined;
  podNetworkings: readonly PodNetworking[];
}

export interface MatchResult {
  /** The Ready PodNetworking the pod gets; undefined = the cluster's default network. */
  chosen?: PodNetworking;
  /** Names of the other Ready PodNetworkings whose selectors match, in rank order. */
  alsoMatched: string[];
  /** Every PodNetworking not chosen for a reason other than ranking, with that reason. */
  skipped: { name: string; reason: string }[];
  /** Selectors match but not Ready (Fail, not yet resolved) or being deleted, in rank order. */
  notReady: PodNetworking[];
}

/**
 * The PodNetworking for a pod: every PRESENT selector must match (podSelector on the pod's labels
 * AND namespaceSelector on its namespace's labels); one with neither selector never matches;
 * only Ready ones are chosen; several: the oldest (creationTimestamp), then by name.
 */
export function matchPodNetworking(input: MatchInput): MatchResult {
  const podLabels = input.pod.metadata?.labels ?? {};
  const candidates: PodNetworking[] = [];
  const notReady: PodNetworking[] = [];
  const skipped: { name: string; reason: string }[] = [];

  for (const pn of input.podNetworkings) {
    const name = pn.metadata.name;
    const { podSelector, namespaceSelector } = pn.spec?.selector ?? {};
    const hasPod = podSelector !== undefined && podSelector !== null;
    const hasNamespace = namespaceSelector !== undefined && namespaceSelector !== null;
    if (!hasPod && !hasNamespace) {
      skipped.push({ name, reason: `${name}: has neither podSelector nor namespaceSelector (selects no pod)` });
      continue;
    }
    if (hasPod) {
      const result = labelSelectorMatches(podSelector, podLabels);
      if (!result.matches) {
        skipped.push({ name, reason: `${name}: podSelector ${result.reason}` });
        continue;
      }
    }
    if (hasNamespace) {
      const result = labelSelectorMatches(namespaceSelector, input.namespaceLabels);
      if (!result.matches) {
        skipped.push({ name, reason: `${name}: namespaceSelector ${result.reason}` });
        continue;
      }
    }
    if (pn.metadata.deletionTimestamp !== undefined && pn.metadata.deletionTimestamp !== null) {
      skipped.push({ name, reason: `${name}: matches but is being deleted` });
      notReady.push(pn);
      continue;
    }
    const status = pn.status?.status;
    if (status !== 'Ready') {
      const why = status === undefined ? 'has no status yet (not resolved)' : `is ${status}${pn.status?.message ? `: ${pn.status.message}` : ''}`;
      skipped.push({ name, reason: `${name}: matches but ${why}` });
      notReady.push(pn);
      continue;
    }
    candidates.push(pn);
  }

  candidates.sort(byAgeThenName);
  notReady.sort(byAgeThenName);
  const [chosen, ...rest] = candidates;
  return { ...(chosen ? { chosen } : {}), alsoMatched: rest.map((pn) => pn.metadata.name), skipped, notReady };
}

/**
 * The selector terms of a PodNetworking that selects a pod (every present selector matched), in
 * kubectl's syntax: `podSelector app=web`, `namespaceSelector team=a`. For traces and `explain`.
 */
export function matchedSelectorTerms(selector: { podSelector?: V1LabelSelector | null; namespaceSelector?: V1LabelSelector | null } | undefined): string[] {
  const terms: string[] = [];
  if (selector?.podSelector) terms.push(`podSelector ${describeSelector(selector.podSelector)}`);
  if (selector?.namespaceSelector) terms.push(`namespaceSelector ${describeSelector(selector.namespaceSelector)}`);
  return terms;
}
