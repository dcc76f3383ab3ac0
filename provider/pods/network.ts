// The pod's network at create time: which PodNetworking (from the admission annotation, or the
// default network), whether the node's zone is allowed, which vSwitch of that zone, which
// security group. The decisions are provider/networking's pure functions; this class feeds
// them the live inputs (PodNetworking cache, vSwitch free IPs, exhaustion memory).
import type { V1Pod } from '@kubernetes/client-node';
import type { VSwitch } from '../cloud/model.ts';
import type { VSwitchSelectionPolicy } from '../config/config.ts';
import { ANNOTATIONS } from '../networking/constants.ts';
import { ExhaustedVSwitches, SingleFlight } from '../networking/exhaustion.ts';
import { isFixedAllocation, selectionPolicyOf, type PodNetworking } from '../networking/podnetworking.ts';
import { chooseVSwitch } from '../networking/vswitch.ts';
import { zonesOf } from '../networking/zones.ts';
import type { CloudPort } from '../ports.ts';
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

export interface PodNetworkPlannerOptions {
  cloud: Pick<CloudPort, 'describeVSwitches'>;
  defaults: DefaultNetwork;
  podNetworkings: PodNetworkingStore;
  /** How long a vSwitch's free-IP count is trusted before DescribeVSwitches is asked again. */
  vSwitchRefreshMs?: number;
  exhausted?: ExhaustedVSwitches;
  random?: () => number;
  now?: () => number;
}

const WAIT_FOR_PODNETWORKING_MS = 5_000;
const WAIT_FOR_FREE_IPS_MS = 15_000;

export class PodNetworkPlanner implements NetworkPlanner {
  readonly exhausted: ExhaustedVSwitches;
  private readonly o: Required<PodNetworkPlannerOptions>;
  private readonly known = new Map<string, { vSwitch: VSwitch; fetchedAt: number }>();
  private readonly lookups = new SingleFlight<string, VSwitch[]>();

  constructor(options: PodNetworkPlannerOptions) {
    const now = options.now ?? Date.now;
    this.exhausted = options.exhausted ?? new ExhaustedVSwitches({ now });
    this.o = { vSwitchRefreshMs: 30_000, random: Math.random, now, exhausted: this.exhausted, ...options };
  }

  async plan(pod: V1Pod, nodeZone: string): Promise<NetworkDecision> {
    const name = pod.metadata?.annotations?.[ANNOTATIONS.podNetworking];
    let candidateIds: readonly string[];
    let securityGroupId: string;
    let policy: VSwitchSelectionPolicy;
    let source: string;
    if (name !== undefined && name !== '') {
      const pn = this.o.podNetworkings.get(name);
      if (pn === undefined) {
        return { kind: 'wait', reason: 'PodNetworkingNotFound', message: `PodNetworking ${name} (named by the pod's ${ANNOTATIONS.podNetworking} annotation) does not exist; the pod waits until it does`, retryAfterMs: WAIT_FOR_PODNETWORKING_MS };
      }
      if (isFixedAllocation(pn)) {
        return { kind: 'refuse', reason: 'FixedAllocationUnsupported', message: `PodNetworking ${name} asks for Fixed (static IP) allocation, which virtual nodes cannot provide; use allocationType Elastic` };
      }
      if (pn.status?.status !== 'Ready') {
        const why = pn.status?.message !== undefined ? `: ${pn.status.message}` : '';
        return { kind: 'wait', reason: 'PodNetworkingNotReady', message: `PodNetworking ${name} is ${pn.status?.status ?? 'not resolved yet'}${why}; the pod waits until it is Ready`, retryAfterMs: WAIT_FOR_PODNETWORKING_MS };
      }
      const zones = zonesOf(pn);
      if (!zones.includes(nodeZone)) {
        return { kind: 'refuse', reason: 'ZoneNotAllowed', message: `the pod is on a node of zone ${nodeZone}, but PodNetworking ${name} has vSwitches only in ${zones.join(', ') || 'no zone'}; delete the pod so it is re-admitted and scheduled into an allowed zone` };
      }
      candidateIds = pn.spec.vSwitchOptions ?? [];
      securityGroupId = pn.spec.securityGroupIDs?.[0] ?? '';
      policy = selectionPolicyOf(pn.spec);
      source = `PodNetworking ${name}`;
    } else {
      candidateIds = this.o.defaults.vSwitchIds;
      securityGroupId = this.o.defaults.securityGroupId;
      policy = this.o.defaults.vSwitchSelectionPolicy;
      source = 'the default network';
    }

    const candidates = this.exhausted.withEstimates(await this.vSwitches(candidateIds));
    const missing = candidateIds.filter((id) => !candidates.some((v) => v.id === id));
    const choice = chooseVSwitch({ zone: nodeZone, candidates, policy, isExhausted: (id) => this.exhausted.isExhausted(id), random: this.o.random });
    const notFound = missing.map((id) => `${id}: not found in the VPC API`);
    if (choice.ok) {
      const skipped = [...choice.refusals, ...notFound];
      const reason = `${source}, policy ${policy}: ${choice.reason}${skipped.length > 0 ? `; skipped ${skipped.join('; ')}` : ''}`;
      return { kind: 'ready', zoneId: nodeZone, vSwitchId: choice.id, securityGroupId, reason, ...(name ? { podNetworking: name } : {}) };
    }
    const refusals = [...choice.refusals, ...notFound];
    if (!candidates.some((v) => v.zoneId === nodeZone)) {
      return { kind: 'refuse', reason: 'NoVSwitchInZone', message: `${source} has no vSwitch in zone ${nodeZone} (${refusals.join('; ')})` };
    }
    // Every vSwitch of the zone is out of IPs: look again soon, IPs come back as groups go.
    for (const id of candidateIds) this.known.delete(id);
    return { kind: 'wait', reason: 'VSwitchesExhausted', message: `no vSwitch of ${source} in zone ${nodeZone} has a free IP: ${refusals.join('; ')}`, retryAfterMs: WAIT_FOR_FREE_IPS_MS };
  }

  noteExhausted(vSwitchId: string, reason: string): void {
    this.exhausted.markExhausted(vSwitchId, reason);
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
