// `eci-virtual-node explain <namespace>/<pod>` and `whitelist <podnetworking>`: the derivation and
// the text, pure over what the command read (the pod, its events, its PodNetworking, the cloud's
// view of its group and vSwitches). The command (adapters/cli/explain.ts) only fetches and prints.
// Everything comes from what the webhook and the provider recorded (annotations, conditions,
// events) and from the cloud, so the answer is the same on any machine with read access.
import type { V1Pod } from '@kubernetes/client-node';
import type { ContainerGroup, VSwitch } from '../cloud/model.ts';
import { ANNOTATIONS, LABELS } from '../networking/constants.ts';
import type { PodNetworking } from '../networking/podnetworking.ts';
import { zonesOf } from '../networking/zones.ts';
import { POD_ANNOTATIONS, PROVISIONED_CONDITION } from '../pods/annotations.ts';
import { parseTraceparent } from '../telemetry/context.ts';
import { parseStepTimings, STEP_TIMINGS_ANNOTATION, TRACE_CONTEXT_ANNOTATION, type StepTimings } from '../telemetry/names.ts';
import { matchedSelectorTerms } from '../networking/match.ts';

/** An event as the command read it (core/v1 Event, the fields used). */
export interface ExplainEvent {
  type?: string | undefined;
  reason?: string | undefined;
  message?: string | undefined;
  count?: number | undefined;
  lastTimestamp?: Date | string | undefined | null;
  firstTimestamp?: Date | string | undefined | null;
  eventTime?: Date | string | undefined | null;
}

export interface ExplainInput {
  pod: V1Pod;
  events: readonly ExplainEvent[];
  /** The PodNetworking named by the pod's annotation; undefined when none is named or it is gone. */
  podNetworking?: PodNetworking | undefined;
  /**
   * For a pod without the annotation: the PodNetworking whose selectors select it now (the sync's
   * matcher, provider/networking/decide.ts), Ready or not; the pod gets its network, not the default.
   */
  selectedAtSync?: PodNetworking | undefined;
  /** The cloud's view of the pod's group (DescribeContainerGroups by the instance id). */
  group?: ContainerGroup | undefined;
  /** The cloud's view of the pod's vSwitch (for its CIDR and free IPs). */
  vSwitch?: VSwitch | undefined;
  /** The virtual node pool of the pod's node (its labels), when it is a pool node (docs/networks.md). */
  pool?: { name: string; terwayConfig: string } | undefined;
  /** What could not be read (e.g. the cloud did not answer): shown, never fatal. */
  problems?: readonly string[];
}

export interface Explanation {
  pod: { namespace: string; name: string; uid: string; node?: string; phase?: string };
  /** The pod's provisioning trace (from the traceparent annotation): search for it in the tracing backend. */
  traceId?: string;
  network: {
    /** The PodNetworking chosen at admission; absent: the cluster default network. */
    podNetworking?: string;
    /** Why (admission's choice, plus the others that matched). */
    podNetworkingReason: string;
    /** The virtual node pool of the pod's node; its network applies when no PodNetworking does. */
    pool?: string;
    podNetworkingStatus?: string;
    /** The PodNetworking's selector terms that match the pod (`podSelector app=web`). */
    matchedTerms: string[];
    alsoMatched: string[];
    /** Zones the pod may run in (the PodNetworking's, else the pod's own zone affinity); empty = any zone of the default network. */
    allowedZones: string[];
    /** The zone the pod runs in (its node's zone, as recorded at create). */
    zone?: string;
    vSwitchId?: string;
    /** The provider's reason for that vSwitch (policy, candidates skipped). */
    vSwitchReason?: string;
    vSwitchCidr?: string;
    vSwitchFreeIps?: number;
    securityGroupId?: string;
    podIP?: string;
    eniId?: string;
  };
  /** The container group as the cloud reports it; absent when none is recorded or it was not found. */
  cloud?: {
    containerGroupId: string;
    status: string;
    zoneId: string;
    vSwitchId: string;
    securityGroupId: string;
    intranetIp?: string;
    eniId?: string;
    creationTime?: string;
  };
  /** ISO times of the steps, and the seconds between them. */
  timings: {
    created?: string;
    bound?: string;
    groupCreated?: string;
    running?: string;
    boundToRunningSeconds?: number;
    createdToRunningSeconds?: number;
  };
  /**
   * The provisioning step by step, in milliseconds, from the step timings the webhook and the
   * provider recorded on the pod (eci-virtual-node.io/provision-timings): no trace backend needed.
   */
  steps: { step: string; ms: number }[];
  /** Why the pod has no group yet (the provider's condition), when it says so. */
  waiting?: { reason: string; message: string };
  events: { type: string; reason: string; message: string; count: number; last?: string }[];
  problems: string[];
}

function iso(value: Date | string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

const seconds = (from: string | undefined, to: string | undefined): number | undefined =>
  from === undefined || to === undefined ? undefined : Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10;

/** Zones a pod's required node affinity allows (zone `In` expressions); empty when it names none. */
export function affinityZones(pod: V1Pod): string[] {
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const zones = new Set<string>();
  for (const term of terms) for (const e of term.matchExpressions ?? []) if (e.key === LABELS.zone && e.operator === 'In') for (const v of e.values ?? []) zones.add(v);
  return [...zones].sort();
}

/** When the pod first ran: the earliest container start, else the Ready condition's transition. */
function runningSince(pod: V1Pod): string | undefined {
  const starts = (pod.status?.containerStatuses ?? []).map((c) => iso(c.state?.running?.startedAt ?? c.lastState?.terminated?.startedAt)).filter((t): t is string => t !== undefined);
  if (starts.length > 0) return starts.sort()[0];
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  return iso(ready?.lastTransitionTime);
}

export function explainPod(input: ExplainInput): Explanation {
  const { pod, group, vSwitch } = input;
  const meta = pod.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const annotated = annotations[ANNOTATIONS.podNetworking] || undefined;
  const podNetworking = annotated === undefined ? input.selectedAtSync : input.podNetworking;
  const pnName = annotated ?? podNetworking?.metadata.name;
  const alsoMatched = (annotations[ANNOTATIONS.alsoMatched] ?? '').split(',').filter((s) => s !== '');
  const problems = [...(input.problems ?? [])];

  const matchedTerms = podNetworking === undefined ? [] : matchedSelectorTerms(podNetworking.spec?.selector);
  const terms = matchedTerms.length > 0 ? ` (${matchedTerms.join(' AND ')})` : '';
  let podNetworkingReason: string;
  if (pnName === undefined && input.pool !== undefined) {
    podNetworkingReason = `no PodNetworking matched at admission (or the webhook did not see the pod), and none selects it now: the network of its node's pool ${input.pool.name} (ConfigMap kube-system/${input.pool.terwayConfig} over eni-config)`;
  } else if (pnName === undefined) podNetworkingReason = 'no PodNetworking matched at admission (or the webhook did not see the pod), and none selects it now: the cluster default network';
  else if (annotated === undefined) {
    podNetworkingReason = `selected at sync: the pod carries no ${ANNOTATIONS.podNetworking} annotation (the webhook did not see it), the provider matched ${pnName}'s selector terms${terms}; a selected pod never gets the default network`;
  } else {
    podNetworkingReason = `chosen at admission: its selector terms match the pod${terms}${alsoMatched.length > 0 ? `; ${alsoMatched.join(', ')} matched too, ${pnName} is the oldest (then by name)` : ''}`;
    if (podNetworking === undefined) problems.push(`PodNetworking ${pnName} named by the pod does not exist (any more)`);
  }

  const network: Explanation['network'] = {
    ...(input.pool === undefined ? {} : { pool: input.pool.name }),
    podNetworkingReason,
    matchedTerms,
    alsoMatched,
    allowedZones: podNetworking !== undefined ? zonesOf(podNetworking) : affinityZones(pod),
  };
  if (pnName !== undefined) network.podNetworking = pnName;
  if (podNetworking !== undefined) network.podNetworkingStatus = podNetworking.status?.status ?? 'Pending';
  const zone = annotations[POD_ANNOTATIONS.zoneId] ?? group?.zoneId;
  if (zone) network.zone = zone;
  const vSwitchId = annotations[POD_ANNOTATIONS.vSwitchId] ?? group?.vSwitchId;
  if (vSwitchId) network.vSwitchId = vSwitchId;
  const vSwitchReason = annotations[POD_ANNOTATIONS.vSwitchReason];
  if (vSwitchReason) network.vSwitchReason = vSwitchReason;
  if (vSwitch !== undefined && vSwitch.id === vSwitchId) {
    network.vSwitchCidr = vSwitch.cidrBlock;
    network.vSwitchFreeIps = vSwitch.availableIpCount;
  }
  const securityGroupId = annotations[POD_ANNOTATIONS.securityGroupId] ?? group?.securityGroupId;
  if (securityGroupId) network.securityGroupId = securityGroupId;
  const podIP = pod.status?.podIP ?? group?.intranetIp;
  if (podIP) network.podIP = podIP;
  const eniId = annotations[POD_ANNOTATIONS.eniId] ?? group?.eniInstanceId;
  if (eniId) network.eniId = eniId;

  const instanceId = annotations[POD_ANNOTATIONS.instanceId];
  if (group !== undefined) {
    if (group.vSwitchId !== '' && annotations[POD_ANNOTATIONS.vSwitchId] !== undefined && group.vSwitchId !== annotations[POD_ANNOTATIONS.vSwitchId]) {
      problems.push(`the cloud says vSwitch ${group.vSwitchId}, the pod records ${annotations[POD_ANNOTATIONS.vSwitchId]}`);
    }
    if (group.intranetIp !== undefined && pod.status?.podIP !== undefined && group.intranetIp !== pod.status.podIP) {
      problems.push(`the cloud says IP ${group.intranetIp}, the pod's status says ${pod.status.podIP}`);
    }
  } else if (instanceId !== undefined && input.problems === undefined) {
    problems.push(`container group ${instanceId} recorded on the pod was not found in ECI`);
  }

  const created = iso(meta.creationTimestamp);
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True');
  const bound = iso(scheduled?.lastTransitionTime);
  const groupCreated = iso(group?.creationTime);
  const running = pod.status?.phase === 'Running' || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? runningSince(pod) : undefined;
  const timings: Explanation['timings'] = {};
  if (created) timings.created = created;
  if (bound) timings.bound = bound;
  if (groupCreated) timings.groupCreated = groupCreated;
  if (running) timings.running = running;
  const b2r = seconds(bound, running);
  if (b2r !== undefined) timings.boundToRunningSeconds = b2r;
  const c2r = seconds(created, running);
  if (c2r !== undefined) timings.createdToRunningSeconds = c2r;

  const explanation: Explanation = {
    pod: {
      namespace: meta.namespace ?? '',
      name: meta.name ?? '',
      uid: meta.uid ?? '',
      ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
      ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    },
    network,
    timings,
    steps: provisioningSteps(parseStepTimings(annotations[STEP_TIMINGS_ANNOTATION])),
    events: [...input.events]
      .map((e) => ({ e, last: iso(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp) }))
      .sort((a, b) => (a.last ?? '').localeCompare(b.last ?? ''))
      .map(({ e, last }) => ({ type: e.type ?? 'Normal', reason: e.reason ?? '', message: e.message ?? '', count: e.count ?? 1, ...(last ? { last } : {}) })),
    problems,
  };
  const traceId = parseTraceparent(annotations[TRACE_CONTEXT_ANNOTATION])?.traceId;
  if (traceId !== undefined) explanation.traceId = traceId;
  if (group !== undefined) {
    explanation.cloud = {
      containerGroupId: group.id,
      status: group.status,
      zoneId: group.zoneId,
      vSwitchId: group.vSwitchId,
      securityGroupId: group.securityGroupId,
      ...(group.intranetIp ? { intranetIp: group.intranetIp } : {}),
      ...(group.eniInstanceId ? { eniId: group.eniInstanceId } : {}),
      ...(group.creationTime ? { creationTime: group.creationTime } : {}),
    };
  }
  const waiting = pod.status?.conditions?.find((c) => c.type === PROVISIONED_CONDITION && c.status === 'False');
  if (waiting !== undefined && group === undefined) explanation.waiting = { reason: waiting.reason ?? '', message: waiting.message ?? '' };
  return explanation;
}

const ms = (from: number | undefined, to: number | undefined): number | undefined =>
  from === undefined || to === undefined ? undefined : Math.round((to - from) * 10) / 10;

/** The per-step breakdown (ms) of the recorded step timings; steps not recorded are left out. */
export function provisioningSteps(t: StepTimings): { step: string; ms: number }[] {
  const steps: { step: string; ms: number | undefined }[] = [
    { step: 'scheduling (admission -> bound)', ms: ms(t.admitted, t.bound) },
    { step: 'until the create began (queue, waits)', ms: ms(t.bound, t.createStarted) },
    { step: 'of which waiting (IPs, PodNetworking)', ms: t.waitedMs === undefined ? undefined : Math.round(t.waitedMs * 10) / 10 },
    { step: 'network choice', ms: ms(t.createStarted, t.networkChosen) },
    { step: 'CreateContainerGroup', ms: ms(t.networkChosen, t.created) },
    { step: 'ECI start (created -> Running)', ms: ms(t.created, t.running) },
    { step: 'total (admission -> Running)', ms: ms(t.admitted, t.running) },
  ];
  return steps.filter((s): s is { step: string; ms: number } => s.ms !== undefined);
}

const row = (label: string, value: string | number | undefined): string[] => (value === undefined || value === '' ? [] : [`  ${label.padEnd(16)} ${value}`]);

/** The explanation for a person: one section per step of the decision chain. */
export function formatExplanation(e: Explanation): string {
  const n = e.network;
  const lines: string[] = [`Pod ${e.pod.namespace}/${e.pod.name} (uid ${e.pod.uid})${e.pod.phase ? `: ${e.pod.phase}` : ''}${e.pod.node ? ` on ${e.pod.node}` : ''}`];
  if (e.traceId) lines.push(`  trace id         ${e.traceId}`);
  lines.push('', '1. PodNetworking');
  lines.push(
    ...row('name', n.podNetworking ?? (n.pool === undefined ? '(none: default network)' : `(none: pool ${n.pool})`)),
    ...row('why', n.podNetworkingReason),
    ...row('matching terms', n.matchedTerms.join('; ')),
    ...row('status', n.podNetworkingStatus),
  );
  lines.push('', '2. Zones');
  const anyZone = n.podNetworking === undefined ? 'any zone of the default network' : '(unknown: the PodNetworking was not found)';
  lines.push(...row('allowed', n.allowedZones.length > 0 ? n.allowedZones.join(', ') : anyZone), ...row('runs in', n.zone));
  lines.push('', '3. vSwitch');
  lines.push(...row('chosen', n.vSwitchId ?? '(not yet)'), ...row('why', n.vSwitchReason), ...row('CIDR', n.vSwitchCidr), ...row('free IPs now', n.vSwitchFreeIps));
  lines.push('', '4. Security group');
  lines.push(...row('chosen', n.securityGroupId ?? '(not yet)'));
  lines.push('', '5. Address');
  lines.push(...row('pod IP', n.podIP ?? '(not yet)'), ...row('ENI', n.eniId));
  lines.push('', '6. Container group (ECI)');
  if (e.cloud === undefined) lines.push('  (none found)');
  else {
    const c = e.cloud;
    lines.push(...row('id', c.containerGroupId), ...row('status', c.status), ...row('zone', c.zoneId), ...row('vSwitch', c.vSwitchId), ...row('security group', c.securityGroupId), ...row('IP', c.intranetIp), ...row('ENI', c.eniId));
  }
  if (e.waiting) lines.push('', 'Waiting', ...row('reason', e.waiting.reason), ...row('message', e.waiting.message));
  lines.push('', 'Timings');
  const t = e.timings;
  lines.push(...row('created', t.created), ...row('bound', t.bound), ...row('group created', t.groupCreated), ...row('running', t.running));
  if (t.boundToRunningSeconds !== undefined) lines.push(...row('bound->Running', `${t.boundToRunningSeconds} s`));
  if (t.createdToRunningSeconds !== undefined) lines.push(...row('created->Running', `${t.createdToRunningSeconds} s`));
  if (e.steps.length > 0) {
    lines.push('', 'Steps (ms, recorded on the pod)');
    const width = Math.max(...e.steps.map((s) => s.step.length));
    for (const s of e.steps) lines.push(`  ${s.step.padEnd(width)}  ${s.ms.toFixed(1).padStart(10)} ms`);
  }
  if (e.events.length > 0) {
    lines.push('', 'Events');
    for (const ev of e.events) lines.push(`  ${ev.last ?? ''}  ${ev.type.padEnd(7)} ${ev.reason}${ev.count > 1 ? ` (x${ev.count})` : ''}: ${ev.message}`);
  }
  if (e.problems.length > 0) {
    lines.push('', 'Problems');
    for (const p of e.problems) lines.push(`  - ${p}`);
  }
  return lines.join('\n');
}

export interface Whitelist {
  /** Set for a PodNetworking's whitelist (`whitelist <name>` / `podnetworking/<name>`). */
  podNetworking?: string;
  /** Set for a virtual node pool's whitelist (`whitelist pool/<name>`): its overlay's vSwitches. */
  pool?: string;
  status?: string;
  /** The CIDRs to allow (one per vSwitch, distinct, in the network's order). */
  cidrs: string[];
  vSwitches: { id: string; cidr: string; zone: string; freeIps: number }[];
  /** vSwitches the network names that the cloud does not know. */
  missing: string[];
}

/** The CIDRs, zones and free IPs of a network's vSwitches, in its order. */
function whitelistEntries(ids: readonly string[], vSwitches: readonly VSwitch[]): Pick<Whitelist, 'cidrs' | 'vSwitches' | 'missing'> {
  const found = ids.flatMap((id) => vSwitches.filter((v) => v.id === id).slice(0, 1));
  return {
    cidrs: [...new Set(found.map((v) => v.cidrBlock))],
    vSwitches: found.map((v) => ({ id: v.id, cidr: v.cidrBlock, zone: v.zoneId, freeIps: v.availableIpCount })),
    missing: ids.filter((id) => !vSwitches.some((v) => v.id === id)),
  };
}

/** What an RDS/Redis whitelist needs for a PodNetworking's pods: the CIDRs of its vSwitches. */
export function whitelistOf(podNetworking: PodNetworking, vSwitches: readonly VSwitch[]): Whitelist {
  return {
    podNetworking: podNetworking.metadata.name,
    ...(podNetworking.status?.status ? { status: podNetworking.status.status } : {}),
    ...whitelistEntries(podNetworking.spec?.vSwitchOptions ?? [], vSwitches),
  };
}

/** The same for a virtual node pool: the vSwitches of its terway-config overlay (over eni-config). */
export function whitelistOfPool(pool: string, vSwitchIds: readonly string[], vSwitches: readonly VSwitch[]): Whitelist {
  return { pool, ...whitelistEntries(vSwitchIds, vSwitches) };
}

/** "PodNetworking db" or "pool fixed", as the printed forms name the network. */
export function whitelistNetwork(w: Whitelist): string {
  return w.pool !== undefined ? `pool ${w.pool}` : `PodNetworking ${w.podNetworking ?? ''}`;
}

export function formatWhitelist(w: Whitelist): string {
  const lines = [`${capitalized(whitelistNetwork(w))}${w.status ? ` (${w.status})` : ''}: allow these CIDRs`, ''];
  const width = Math.max(4, ...w.vSwitches.map((v) => v.cidr.length));
  lines.push(`  ${'CIDR'.padEnd(width)}  ${'VSWITCH'.padEnd(24)} ${'ZONE'.padEnd(16)} FREE IPS`);
  for (const v of w.vSwitches) lines.push(`  ${v.cidr.padEnd(width)}  ${v.id.padEnd(24)} ${v.zone.padEnd(16)} ${v.freeIps}`);
  if (w.missing.length > 0) lines.push('', `  not found in the VPC API: ${w.missing.join(', ')}`);
  lines.push('', `  comma separated: ${w.cidrs.join(',')}`);
  return lines.join('\n');
}

export const WHITELIST_FORMATS = ['text', 'json', 'rds', 'networkpolicy'] as const;
export type WhitelistFormat = (typeof WHITELIST_FORMATS)[number];

const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** A DNS-1123 name for the printed NetworkPolicy (`allow-from-<podnetworking>`, `allow-from-pool-<pool>`), at most 63 characters. */
function policyName(w: Whitelist): string {
  const name = w.pool !== undefined ? `pool-${w.pool}` : (w.podNetworking ?? '');
  const cleaned = `allow-from-${name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/-+$/, '');
  return cleaned === '' ? 'allow-from-podnetworking' : cleaned;
}

/**
 * The whitelist in the form a user pastes somewhere, each one usable as printed:
 * - `text`: the table (CIDR, vSwitch, zone, free IPs) for people;
 * - `json`: the Whitelist object;
 * - `rds`: one line of comma-separated CIDRs, what the RDS/Redis console and
 *   `ModifySecurityIps --SecurityIps` take;
 * - `networkpolicy`: a NetworkPolicy manifest (`kubectl apply -n <ns> -f -`) letting the pods of
 *   that namespace accept traffic from the network's CIDRs (one ipBlock each).
 */
export function renderWhitelist(w: Whitelist, format: WhitelistFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(w, null, 2);
    case 'rds':
      return w.cidrs.join(',');
    case 'networkpolicy': {
      // An ingress rule with no `from` admits every source: never print one.
      if (w.cidrs.length === 0) return `# ${capitalized(whitelistNetwork(w))} has no vSwitch CIDR the VPC API knows: no NetworkPolicy to print`;
      const lines = [
        `# Ingress from the pods of ${whitelistNetwork(w)}: the CIDRs of its vSwitches.`,
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        'metadata:',
        `  name: ${policyName(w)}`,
        'spec:',
        '  podSelector: {}',
        '  policyTypes:',
        '    - Ingress',
        '  ingress:',
        '    - from:',
        ...w.cidrs.map((cidr) => `        - ipBlock:\n            cidr: ${cidr}`),
      ];
      return lines.join('\n');
    }
    case 'text':
      return formatWhitelist(w);
  }
}
