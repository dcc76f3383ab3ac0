// The networks pods get IPs from, as one small abstraction: a PodNetworking, a virtual node pool
// (issue 17 items 1-3 plug in here as kind 'pool'), or the cluster default network. Over it, three
// pure decisions of issue 17: IP headroom (free IPs vs the pods a network serves), IP-aware zone
// placement (the zones whose vSwitches still have free IPs, and preference weights by free IPs),
// and the drift tripwire (a pod IP outside its network's vSwitch CIDRs).
import type { V1Pod } from '@kubernetes/client-node';
import type { VSwitch } from '../cloud/model.ts';
import { ANNOTATIONS } from './constants.ts';
import type { PodNetworking } from './podnetworking.ts';

export type NetworkKind = 'podnetworking' | 'pool' | 'default';

export interface Network {
  kind: NetworkKind;
  /** The PodNetworking's or pool's name; `default` for the default network. */
  name: string;
  vSwitchIds: readonly string[];
}

/** The label value of `network=` in metrics: `podnetworking/web`, `pool/fixed`, `default`. */
export function networkKey(n: Pick<Network, 'kind' | 'name'>): string {
  return n.kind === 'default' ? 'default' : `${n.kind}/${n.name}`;
}

/** The default network and every Ready PodNetworking (the ones pods can be placed on). */
export function networksOf(input: { defaultVSwitchIds: readonly string[]; podNetworkings: readonly PodNetworking[]; pools?: readonly Network[] }): Network[] {
  const out: Network[] = [{ kind: 'default', name: 'default', vSwitchIds: [...input.defaultVSwitchIds] }];
  for (const pn of input.podNetworkings) {
    if (pn.status?.status !== 'Ready') continue;
    out.push({ kind: 'podnetworking', name: pn.metadata.name, vSwitchIds: [...(pn.spec?.vSwitchOptions ?? [])] });
  }
  out.push(...(input.pools ?? []));
  return out;
}

/**
 * The network a pod is served by, as the pod says after admission and sync: the PodNetworking
 * its annotation names, else the default network. (Pools, once they exist, answer before the
 * default: a pod on a pool's node.)
 */
export function networkOfPod(pod: Pick<V1Pod, 'metadata'>, poolOfPod?: (pod: Pick<V1Pod, 'metadata'>) => string | undefined): Pick<Network, 'kind' | 'name'> {
  const pn = pod.metadata?.annotations?.[ANNOTATIONS.podNetworking];
  if (pn !== undefined && pn !== '') return { kind: 'podnetworking', name: pn };
  const pool = poolOfPod?.(pod);
  if (pool !== undefined) return { kind: 'pool', name: pool };
  return { kind: 'default', name: 'default' };
}

/** A pod that holds (or is about to hold) an IP: not finished, not being deleted with its group gone. */
export function holdsNetworkIp(pod: Pick<V1Pod, 'status' | 'spec'>): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.spec?.nodeName !== undefined && pod.spec.nodeName !== '';
}

// --- IP headroom -------------------------------------------------------------------------------

/** The seed article's advice: at least twice as many free IPs as pods. */
export const DEFAULT_HEADROOM_RATIO = 2;

export interface Headroom {
  network: string;
  /** Free IPs of the network's Available vSwitches (the cloud's last count). */
  freeIps: number;
  pods: number;
  /** freeIps / pods wanted at least. */
  ratio: number;
  /** false: below the threshold. */
  ok: boolean;
  /** `Headroom` when ok, else `IPHeadroomLow`. */
  reason: 'Headroom' | 'IPHeadroomLow';
  message: string;
}

/**
 * Free IPs vs pods for one network: below `ratio x pods` free IPs it is low. A network whose
 * vSwitches were not read yet is not judged (undefined): no data is not an alarm.
 */
export function assessHeadroom(input: { network: Network; vSwitches: readonly VSwitch[]; pods: number; ratio: number }): Headroom | undefined {
  const { network, pods, ratio } = input;
  const mine = input.vSwitches.filter((v) => network.vSwitchIds.includes(v.id));
  if (mine.length === 0) return undefined;
  const freeIps = mine.reduce((sum, v) => sum + (v.status === 'Available' ? Math.max(0, v.availableIpCount) : 0), 0);
  const wanted = Math.ceil(ratio * pods);
  const ok = freeIps >= wanted;
  const per = mine.map((v) => `${v.id}=${v.status === 'Available' ? Math.max(0, v.availableIpCount) : 0}`).join(', ');
  const name = networkKey(network);
  const message = ok
    ? `${freeIps} free IPs for ${pods} pods (at least ${ratio}x wanted: ${wanted}); ${per}`
    : `${freeIps} free IPs for ${pods} pods, below ${ratio}x (${wanted}): IPs not yet released after a failure can block new pods. ` +
      `Add a vSwitch to ${name === 'default' ? 'the default network (--vswitches)' : name} or free IPs; ${per}`;
  return { network: name, freeIps, pods, ratio, ok, reason: ok ? 'Headroom' : 'IPHeadroomLow', message };
}

// --- IP-aware zone placement --------------------------------------------------------------------

export interface ZoneIps {
  zone: string;
  freeIps: number;
}

/** Free IPs per zone among `zones`, from the network's vSwitches (a zone with no vSwitch read is absent). */
export function freeIpsByZone(input: { zones: readonly string[]; vSwitchIds: readonly string[]; vSwitches: readonly VSwitch[] }): ZoneIps[] {
  const out = new Map<string, number>();
  for (const v of input.vSwitches) {
    if (!input.vSwitchIds.includes(v.id) || !input.zones.includes(v.zoneId)) continue;
    const free = v.status === 'Available' ? Math.max(0, v.availableIpCount) : 0;
    out.set(v.zoneId, (out.get(v.zoneId) ?? 0) + free);
  }
  return [...out].map(([zone, freeIps]) => ({ zone, freeIps })).sort((a, b) => a.zone.localeCompare(b.zone));
}

export interface ZonePlacement {
  /** The zones the pod may use: those with free IPs when at least one has, else all of `zones`. */
  zones: string[];
  /** Preferred-affinity weights (1-100) by free IPs, most free first; empty when one zone or no data. */
  preferred: { zone: string; weight: number }[];
  /** Why (`cn-hangzhou-j: 0 free IPs, left out`), for notes and the span. */
  notes: string[];
}

/**
 * IP-aware placement over a network's allowed zones. Zones without free IPs are left out when at
 * least one other has some (a pod must not wait in an exhausted zone while another has room);
 * when none has, or nothing was read, every allowed zone stays (the pod waits with its reason).
 * Weights are proportional to free IPs (1..100), so the scheduler spreads by room.
 */
export function placeByFreeIps(input: { zones: readonly string[]; vSwitchIds: readonly string[]; vSwitches: readonly VSwitch[] }): ZonePlacement {
  const all = [...new Set(input.zones)].sort();
  const counts = freeIpsByZone({ ...input, zones: all });
  const known = new Map(counts.map((c) => [c.zone, c.freeIps]));
  const withIps = all.filter((z) => (known.get(z) ?? 0) > 0);
  // A zone not read yet may have room: keep it with those that do.
  const unknown = all.filter((z) => !known.has(z));
  if (withIps.length === 0) {
    return { zones: all, preferred: [], notes: counts.length === 0 ? [] : ['no allowed zone has free IPs: every zone kept (the pod waits with its reason)'] };
  }
  const zones = [...withIps, ...unknown].sort();
  const notes = all.filter((z) => !zones.includes(z)).map((z) => `${z}: 0 free IPs, left out`);
  const max = Math.max(...withIps.map((z) => known.get(z) ?? 0));
  const preferred =
    withIps.length > 1
      ? withIps
          .map((zone) => ({ zone, weight: Math.max(1, Math.round((100 * (known.get(zone) ?? 0)) / max)) }))
          .sort((a, b) => b.weight - a.weight || a.zone.localeCompare(b.zone))
      : [];
  return { zones, preferred, notes };
}

// --- drift tripwire -----------------------------------------------------------------------------

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const b = Number(p);
    if (b > 255) return undefined;
    n = n * 256 + b;
  }
  return n;
}

/** Whether an IPv4 address lies in a CIDR block (`10.0.1.0/26`); false for anything unparsable. */
export function ipInCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const a = ipv4ToInt(ip);
  const b = base === undefined ? undefined : ipv4ToInt(base);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(a / size) === Math.floor(b / size);
}

export interface IpDrift {
  network: string;
  namespace: string;
  pod: string;
  ip: string;
  cidrs: string[];
  message: string;
}

export interface NetworkVSwitches {
  /** The network's vSwitches the last DescribeVSwitches returned. */
  read: VSwitch[];
  /** Asked for and not returned: the cloud has no such vSwitch (deleted, another region, a typo). */
  notFound: string[];
  /** Not asked for yet (a PodNetworking Ready since the last DescribeVSwitches). */
  notAsked: string[];
}

/**
 * What is known of a network's vSwitches, telling "not asked yet" from "asked, not found": `notFound`
 * holds the ids the last DescribeVSwitches was asked for and did not return (a vSwitch another
 * read returned counts as read).
 */
export function networkVSwitches(input: { network: Pick<Network, 'vSwitchIds'>; vSwitches: readonly VSwitch[]; notFound: readonly string[] }): NetworkVSwitches {
  const out: NetworkVSwitches = { read: [], notFound: [], notAsked: [] };
  for (const id of new Set(input.network.vSwitchIds)) {
    const v = input.vSwitches.find((s) => s.id === id);
    if (v !== undefined) out.read.push(v);
    else if (input.notFound.includes(id)) out.notFound.push(id);
    else out.notAsked.push(id);
  }
  return out;
}

/**
 * The guarantee's tripwire: a pod whose IP is outside every CIDR of its network's vSwitches. It
 * should never fire. Not judged (undefined) when the pod has no IP yet, when none of the
 * network's vSwitches was read, or when one was not asked for yet: a PodNetworking that turned
 * Ready since the last DescribeVSwitches has pods in vSwitches whose CIDR is unknown yet, and
 * judging them against the others' CIDRs fired a false Warning per such pod (issue 16: 0.14-0.4
 * Events per pod at 1000 pods in the bench). A vSwitch asked for and not found (`notFound`) holds
 * no pod IP: the pods are judged against the vSwitches that exist (the caller reports the missing
 * one).
 */
export function ipDriftOf(input: { pod: Pick<V1Pod, 'metadata' | 'status'>; network: Network; vSwitches: readonly VSwitch[]; notFound?: readonly string[] }): IpDrift | undefined {
  const ip = input.pod.status?.podIP;
  if (ip === undefined || ip === '') return undefined;
  const { read, notAsked } = networkVSwitches({ network: input.network, vSwitches: input.vSwitches, notFound: input.notFound ?? [] });
  if (read.length === 0 || notAsked.length > 0) return undefined;
  const cidrs = [...new Set(read.map((v) => v.cidrBlock))];
  if (cidrs.some((c) => ipInCidr(ip, c))) return undefined;
  const network = networkKey(input.network);
  return {
    network,
    namespace: input.pod.metadata?.namespace ?? '',
    pod: input.pod.metadata?.name ?? '',
    ip,
    cidrs,
    message: `pod IP ${ip} is outside the vSwitch CIDRs of its network ${network} (${cidrs.join(', ')}): a whitelist naming those CIDRs does not admit this pod. Recreate the pod (if the network's vSwitches did not change since it started, also report it)`,
  };
}

export interface VSwitchesNotFound {
  network: Network;
  /** The network's vSwitches asked for and not found. */
  vSwitchIds: string[];
  message: string;
}

/**
 * The vSwitches of the networks that the cloud was asked for and does not have, each reported
 * once: `reported` holds what was reported before (network key and id), and the answer's
 * `reported` what to keep for the next check. A vSwitch found again (or dropped from its network)
 * is forgotten, so it is reported again if it goes missing again.
 */
export function vSwitchesNotFoundToReport(input: { networks: readonly Network[]; vSwitches: readonly VSwitch[]; notFound: readonly string[]; reported: ReadonlySet<string> }): {
  reports: VSwitchesNotFound[];
  reported: Set<string>;
} {
  const reports: VSwitchesNotFound[] = [];
  const reported = new Set<string>();
  for (const network of input.networks) {
    const key = networkKey(network);
    const known = networkVSwitches({ network, vSwitches: input.vSwitches, notFound: input.notFound });
    const fresh = known.notFound.filter((id) => !input.reported.has(`${key} ${id}`));
    for (const id of known.notFound) reported.add(`${key} ${id}`);
    if (fresh.length === 0) continue;
    const others = known.read.map((v) => v.id);
    reports.push({
      network,
      vSwitchIds: fresh,
      message:
        `vSwitch ${fresh.join(', ')} of ${key} not found (DescribeVSwitches knows no such id in this region): ` +
        (others.length > 0 ? `its pods' IPs are checked against ${others.join(', ')} only` : "its pods' IPs are not checked (none of its vSwitches was found)") +
        '. Remove the id from the network or create the vSwitch',
    });
  }
  return { reports, reported };
}

// --- opt-in: re-create a pod stuck in an exhausted zone -----------------------------------------

/** Go-style durations the annotation takes: `90s`, `5m`, `1h30m`. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?$/.exec(text.trim());
  if (m === null || text.trim() === '' || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

export type RescheduleDecision =
  | { kind: 'keep'; why: string }
  | { kind: 'wait'; afterMs: number }
  | { kind: 'delete'; message: string };

/**
 * A pod bound to a zone whose vSwitches have no free IP waits there (the scheduler does not move
 * bound pods). With the opt-in annotation (`annotation` = its value, a duration), a pod that a
 * controller owns (ReplicaSet, StatefulSet, Job; not a DaemonSet, whose pod belongs to its node)
 * and has waited that long since it was bound is deleted, so its controller re-creates it and the
 * webhook places the new one in a zone with free IPs. A bare pod is never deleted: nothing would
 * re-create it.
 */
export function rescheduleWhenExhausted(input: { pod: Pick<V1Pod, 'metadata' | 'status'>; annotation: string | undefined; now: Date }): RescheduleDecision {
  const { pod, annotation, now } = input;
  if (annotation === undefined) return { kind: 'keep', why: 'not opted in' };
  const afterMs = parseDurationMs(annotation);
  if (afterMs === undefined) return { kind: 'keep', why: `"${annotation}" is not a duration such as 5m or 90s` };
  const owner = (pod.metadata?.ownerReferences ?? []).find((o) => o.controller === true);
  if (owner === undefined) return { kind: 'keep', why: 'no controller would re-create the pod' };
  if (owner.kind === 'DaemonSet') return { kind: 'keep', why: 'a DaemonSet pod belongs to its node' };
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True')?.lastTransitionTime ?? pod.metadata?.creationTimestamp;
  const since = scheduled === undefined ? undefined : new Date(scheduled).getTime();
  if (since === undefined || Number.isNaN(since)) return { kind: 'keep', why: 'the pod has no bind time' };
  const waited = now.getTime() - since;
  if (waited < afterMs) return { kind: 'wait', afterMs: afterMs - waited };
  return {
    kind: 'delete',
    message: `waited ${Math.round(waited / 1000)} s (over ${annotation}) for a free IP in its zone: deleted so that ${owner.kind} ${owner.name} re-creates it in a zone with free IPs`,
  };
}
