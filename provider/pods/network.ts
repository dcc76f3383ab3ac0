// The pod's network at create time: which PodNetworking (the admission annotation and the
// selectors, decided again here by provider/networking/decide.ts, or the default network), whether the node's zone is allowed, which vSwitch of that zone, which
// security group. The decisions are provider/networking's pure functions; this class feeds
// them the live inputs (PodNetworking cache, vSwitch free IPs, exhaustion memory).
import { context, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { V1Pod } from '@kubernetes/client-node';
import type { VSwitch } from '../cloud/model.ts';
import type { VSwitchSelectionPolicy } from '../config/config.ts';
import { ANNOTATIONS } from '../networking/constants.ts';
import { decideNetwork, type NetworkWarning } from '../networking/decide.ts';
import { ExhaustedVSwitches, SingleFlight } from '../networking/exhaustion.ts';
import { matchedSelectorTerms, type Labels } from '../networking/match.ts';
import { selectionPolicyOf, type PodNetworking } from '../networking/podnetworking.ts';
import { chooseVSwitch } from '../networking/vswitch.ts';
import { zonesOf } from '../networking/zones.ts';
import type { CloudPort } from '../ports.ts';
import { ATTR, SPAN, SPAN_EVENT } from '../telemetry/names.ts';
import { nowMs } from '../telemetry/ids.ts';
import { recordError, recordSpan, tracer } from '../telemetry/spans.ts';
import type { NetworkDecision, NetworkPlanner } from './sync.ts';

export interface PodNetworkingStore {
  get(name: string): PodNetworking | undefined;
  list(): readonly PodNetworking[];
}

export interface DefaultNetwork {
  vSwitchIds: readonly string[];
  securityGroupId: string;
  vSwitchSelectionPolicy: VSwitchSelectionPolicy;
}

/** The network of pods on a virtual node pool's nodes (its terway-config overlay over eni-config). */
export interface PoolNetworkOfNode {
  pool: string;
  terwayConfig: string;
  network: DefaultNetwork;
}

export interface PodNetworkPlannerOptions {
  cloud: Pick<CloudPort, 'describeVSwitches'>;
  /** The default network, read at each plan (flags > eci-profile > eni-config: hot updates apply to new pods). */
  defaults: DefaultNetwork | (() => DefaultNetwork);
  /** A pool node's network (undefined: not a pool node). Without it, every node uses the default network. */
  poolOfNode?: (nodeName: string) => PoolNetworkOfNode | undefined;
  podNetworkings: PodNetworkingStore;
  /** A Namespace's labels (informer cache), for the PodNetworkings' namespaceSelector; undefined when unknown. */
  namespaceLabels: (namespace: string) => Labels | undefined;
  /** How long a vSwitch's free-IP count is trusted before DescribeVSwitches is asked again. */
  vSwitchRefreshMs?: number;
  exhausted?: ExhaustedVSwitches;
  random?: () => number;
  now?: () => number;
  /** How soon a pod waiting for free IPs is tried again (config `sync.waitRetryMs`). */
  waitForFreeIpsMs?: number;
}

type PlannerSettings = Required<Omit<PodNetworkPlannerOptions, 'poolOfNode'>> & Pick<PodNetworkPlannerOptions, 'poolOfNode'>;

const WAIT_FOR_PODNETWORKING_MS = 5_000;
export const WAIT_FOR_FREE_IPS_MS = 15_000;

export class PodNetworkPlanner implements NetworkPlanner {
  readonly exhausted: ExhaustedVSwitches;
  private readonly o: PlannerSettings;
  private readonly known = new Map<string, { vSwitch: VSwitch; fetchedAt: number }>();
  private readonly lookups = new SingleFlight<string, VSwitch[]>();

  constructor(options: PodNetworkPlannerOptions) {
    const now = options.now ?? Date.now;
    this.exhausted = options.exhausted ?? new ExhaustedVSwitches({ now });
    this.o = { vSwitchRefreshMs: 30_000, random: Math.random, now, exhausted: this.exhausted, waitForFreeIpsMs: WAIT_FOR_FREE_IPS_MS, ...options };
  }

  async plan(pod: V1Pod, nodeZone: string): Promise<NetworkDecision> {
    // podnetworking.match: decided again at sync from the annotation AND the selectors (the
    // webhook's matcher), so a pod the webhook missed is still placed on its PodNetworking.
    const namespace = pod.metadata?.namespace ?? '';
    // podnetworking.match and zone.constrain both come out of this one decision: they span it.
    const decided = nowMs();
    const net = decideNetwork({
      pod,
      nodeZone,
      namespaceLabels: this.o.namespaceLabels(namespace),
      podNetworkings: this.o.podNetworkings.list(),
    });
    const annotated = pod.metadata?.annotations?.[ANNOTATIONS.podNetworking] ?? '';
    let candidateIds: readonly string[];
    let securityGroupIds: readonly string[];
    let policy: VSwitchSelectionPolicy;
    let source: string;
    let name: string | undefined;
    let warnings: NetworkWarning[] = [];
    const pool = this.o.poolOfNode?.(pod.spec?.nodeName ?? '');
    if (net.kind === 'default') {
      const defaults = pool?.network ?? (typeof this.o.defaults === 'function' ? this.o.defaults() : this.o.defaults);
      source = pool === undefined ? 'the default network' : `pool ${pool.pool} (terway-config ${pool.terwayConfig})`;
      recordSpan(SPAN.podNetworkingMatch, { startTime: decided, attributes: { [ATTR.podNetworkingReason]: `${net.why}: ${source}` } });
      candidateIds = defaults.vSwitchIds;
      securityGroupIds = [defaults.securityGroupId];
      policy = defaults.vSwitchSelectionPolicy;
      if (defaults.securityGroupId === '') {
        // Waits rather than fails: the ConfigMaps are hot, a fix reaches the pod at its next sync.
        return {
          kind: 'wait',
          reason: 'NoSecurityGroup',
          message: `${source} has no security group: set --security-group, securityGroupId in kube-system/eci-profile, or security_group(s) in kube-system/eni-config`,
          retryAfterMs: this.o.waitForFreeIpsMs,
        };
      }
    } else {
      const pnName = net.kind === 'podNetworking' ? net.podNetworking.metadata.name : (net.podNetworking ?? annotated);
      const pn = pnName === '' ? undefined : this.o.podNetworkings.get(pnName);
      const match = tracer().startSpan(SPAN.podNetworkingMatch, {
        startTime: decided,
        attributes: { [ATTR.podNetworkingName]: pnName, [ATTR.podNetworkingStatus]: pn === undefined ? 'NotFound' : (pn.status?.status ?? 'Pending') },
      });
      if (net.kind !== 'podNetworking') {
        const decision: Exclude<NetworkDecision, { kind: 'ready' }> =
          net.kind === 'wait'
            ? { kind: 'wait', reason: net.reason, message: net.message, retryAfterMs: WAIT_FOR_PODNETWORKING_MS }
            : { kind: 'refuse', reason: net.reason, message: net.message };
        match.setAttribute(ATTR.podNetworkingReason, net.message);
        markDecision(match, decision);
        match.end(nowMs());
        if (net.kind === 'refuse' && net.reason !== 'FixedAllocationUnsupported') {
          // zone.constrain: the node's zone is not one of the PodNetworking's zones.
          const zones = pn === undefined ? [] : zonesOf(pn);
          recordSpan(SPAN.zoneConstrain, { startTime: decided, attributes: { [ATTR.cloudAvailabilityZone]: nodeZone, [ATTR.zonesAllowed]: zones, [ATTR.zoneAllowed]: false, [ATTR.podNetworkingName]: pnName } });
        }
        return decision;
      }
      match.setAttributes({ [ATTR.podNetworkingReason]: net.why, [ATTR.podNetworkingMatchedTerms]: matchedSelectorTerms(net.podNetworking.spec.selector) });
      match.end(nowMs());
      recordSpan(SPAN.zoneConstrain, {
        startTime: nowMs(),
        attributes: { [ATTR.cloudAvailabilityZone]: nodeZone, [ATTR.zonesAllowed]: net.zones, [ATTR.zoneAllowed]: true, [ATTR.podNetworkingName]: pnName },
      });
      const spec = net.podNetworking.spec;
      candidateIds = spec.vSwitchOptions ?? [];
      securityGroupIds = spec.securityGroupIDs ?? [];
      policy = selectionPolicyOf(spec);
      source = `PodNetworking ${pnName}${net.source === 'match' ? ' (selected at sync)' : ''}`;
      name = pnName;
      warnings = net.warnings;
      if (pool !== undefined) {
        // A PodNetworking that selects the pod wins over the pool's network (docs/networks.md).
        warnings = [
          ...warnings,
          {
            reason: 'PodNetworkingOverridesPool',
            message: `the pod runs on a node of pool ${pool.pool} (terway-config ${pool.terwayConfig}), but PodNetworking ${pnName} selects it: it takes ${pnName}'s vSwitches and security group, not the pool's`,
          },
        ];
      }
    }

    // vswitch.choose: the live free IPs (DescribeVSwitches, a child span when the cache is stale),
    // minus what this process took since, the exhaustion memory, the policy.
    const choose = tracer().startSpan(SPAN.vSwitchChoose, { startTime: nowMs(), attributes: { [ATTR.vSwitchPolicy]: policy, [ATTR.cloudAvailabilityZone]: nodeZone } });
    let looked: VSwitch[];
    try {
      looked = await context.with(trace.setSpan(context.active(), choose), () => this.vSwitches(candidateIds));
    } catch (err) {
      recordError(choose, err);
      choose.end(nowMs());
      throw err;
    }
    const candidates = this.exhausted.withEstimates(looked);
    const missing = candidateIds.filter((id) => !candidates.some((v) => v.id === id));
    const choice = chooseVSwitch({ zone: nodeZone, candidates, policy, isExhausted: (id) => this.exhausted.isExhausted(id), random: this.o.random });
    const notFound = missing.map((id) => `${id}: not found in the VPC API`);
    const refusals = [...choice.refusals, ...notFound];
    // Candidates of the node's zone only (the others cannot be used there), with CIDR and free IPs.
    const inZone = candidates.filter((v) => v.zoneId === nodeZone);
    choose.setAttributes({ [ATTR.vSwitchCandidates]: inZone.map((v) => `${v.id} ${v.cidrBlock} free=${v.availableIpCount}`), [ATTR.vSwitchSkipped]: refusals });
    for (const refusal of refusals) choose.addEvent(SPAN_EVENT.vSwitchSkipped, { [ATTR.vSwitchReason]: refusal });
    if (name === undefined) {
      // The default network allows the zones of its vSwitches.
      const zones = [...new Set(candidates.map((v) => v.zoneId))].sort();
      recordSpan(SPAN.zoneConstrain, { startTime: nowMs(), attributes: { [ATTR.cloudAvailabilityZone]: nodeZone, [ATTR.zonesAllowed]: zones, [ATTR.zoneAllowed]: zones.includes(nodeZone) } });
    }
    if (choice.ok) {
      const reason = `${source}, policy ${policy}: ${choice.reason}${refusals.length > 0 ? `; skipped ${refusals.join('; ')}` : ''}`;
      choose.setAttributes({ [ATTR.vSwitchId]: choice.id, [ATTR.vSwitchCidr]: choice.vSwitch.cidrBlock, [ATTR.vSwitchReason]: reason, [ATTR.vSwitchFreeIps]: choice.vSwitch.availableIpCount });
      choose.end(nowMs());
      const securityGroupId = securityGroupIds[0] ?? '';
      recordSpan(SPAN.securityGroupChoose, {
        startTime: nowMs(),
        attributes: { [ATTR.securityGroupId]: securityGroupId, [ATTR.securityGroupCandidates]: [...securityGroupIds], [ATTR.podNetworkingReason]: `first security group of ${source}` },
      });
      return {
        kind: 'ready',
        zoneId: nodeZone,
        vSwitchId: choice.id,
        vSwitchCidr: choice.vSwitch.cidrBlock,
        securityGroupId,
        reason,
        ...(name !== undefined ? { podNetworking: name } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    }
    let decision: NetworkDecision;
    if (!candidates.some((v) => v.zoneId === nodeZone)) {
      decision = { kind: 'refuse', reason: 'NoVSwitchInZone', message: `${source} has no vSwitch in zone ${nodeZone} (${refusals.join('; ')})` };
    } else {
      // Every vSwitch of the zone is out of IPs: look again soon, IPs come back as groups go.
      for (const id of candidateIds) this.known.delete(id);
      decision = { kind: 'wait', reason: 'VSwitchesExhausted', message: `no vSwitch of ${source} in zone ${nodeZone} has a free IP: ${refusals.join('; ')}`, retryAfterMs: this.o.waitForFreeIpsMs };
    }
    markDecision(choose, decision);
    choose.end(nowMs());
    return decision;
  }

  /** Free IPs of every vSwitch this planner has looked up (the local estimate where one exists), for metrics. */
  vSwitchFreeIps(): { vSwitchId: string; zoneId: string; freeIps: number }[] {
    return [...this.known.values()].map(({ vSwitch }) => ({
      vSwitchId: vSwitch.id,
      zoneId: vSwitch.zoneId,
      freeIps: this.exhausted.freeIpEstimate(vSwitch.id) ?? vSwitch.availableIpCount,
    }));
  }

  noteExhausted(vSwitchId: string, reason: string): void {
    const mark = this.exhausted.markExhausted(vSwitchId, reason);
    trace.getActiveSpan()?.addEvent(SPAN_EVENT.vSwitchExhausted, { [ATTR.vSwitchId]: vSwitchId, [ATTR.vSwitchReason]: `${reason}; skipped until ${mark.until.toISOString()}` });
  }

  noteAllocated(vSwitchId: string): void {
    this.exhausted.noteAllocated(vSwitchId);
  }

  /** The vSwitches, from a short-lived cache; one DescribeVSwitches in flight per id set. */
  private async vSwitches(ids: readonly string[]): Promise<VSwitch[]> {
    const now = this.o.now();
    const stale = ids.filter((id) => {
      const entry = this.known.get(id);
      return entry === undefined || now - entry.fetchedAt > this.o.vSwitchRefreshMs;
    });
    if (stale.length > 0) {
      const key = [...stale].sort().join(',');
      const sentAt = this.o.now();
      const fresh = await this.lookups.do(key, () => this.o.cloud.describeVSwitches(stale));
      for (const v of fresh) this.known.set(v.id, { vSwitch: v, fetchedAt: sentAt });
      this.exhausted.observe(fresh, sentAt);
    }
    return ids.flatMap((id) => {
      const entry = this.known.get(id);
      return entry === undefined ? [] : [entry.vSwitch];
    });
  }
}

/** A wait is not an error (the reason is an attribute); a refusal is. */
function markDecision(span: Span, decision: Exclude<NetworkDecision, { kind: 'ready' }>): void {
  span.setAttribute(ATTR.waitReason, decision.reason);
  if (decision.kind === 'refuse') span.setStatus({ code: SpanStatusCode.ERROR, message: `${decision.reason}: ${decision.message}` });
}
