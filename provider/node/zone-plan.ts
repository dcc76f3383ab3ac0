// Which zones need a virtual node, and what to do with the nodes there are: one node in every zone
// some network needs (the default network's vSwitches, every Ready PodNetworking's), registered
// when the zone appears; a node whose zone nothing needs any more is cordoned, then removed once
// no pod runs on it. Pure: the caller brings the PodNetworkings, the nodes and their pod counts.
import { zonesOf } from '../networking/zones.ts';
import type { PodNetworking } from '../networking/podnetworking.ts';

/** Why a zone is needed, for logs and the node's annotation: `default network`, `PodNetworking pn-a`. */
export type ZoneNeeds = ReadonlyMap<string, readonly string[]>;

export const DEFAULT_NETWORK_NEED = 'default network';

/** Zones needed, each with what needs it (sorted by zone; the default network first). */
export function neededZones(input: { defaultZones: readonly string[]; podNetworkings: readonly PodNetworking[] }): Map<string, string[]> {
  const needs = new Map<string, string[]>();
  const add = (zone: string, why: string) => {
    const list = needs.get(zone) ?? [];
    if (!list.includes(why)) list.push(why);
    needs.set(zone, list);
  };
  for (const zone of input.defaultZones) add(zone, DEFAULT_NETWORK_NEED);
  const ready = input.podNetworkings
    .filter((pn) => pn.status?.status === 'Ready' && pn.metadata.deletionTimestamp == null)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  for (const pn of ready) for (const zone of zonesOf(pn)) add(zone, `PodNetworking ${pn.metadata.name}`);
  return new Map([...needs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The vSwitches a zone's node offers: the default network's there, then each Ready PodNetworking's. */
export function vSwitchesOfZone(input: { zone: string; defaultVSwitchIds: readonly string[]; podNetworkings: readonly PodNetworking[] }): string[] {
  const ids = [...input.defaultVSwitchIds];
  for (const pn of input.podNetworkings) {
    if (pn.status?.status !== 'Ready' || pn.metadata.deletionTimestamp != null) continue;
    for (const v of pn.status.vSwitches ?? []) if (v.zone === input.zone && !ids.includes(v.id)) ids.push(v.id);
  }
  return ids;
}

export interface ZoneNodeState {
  zone: string;
  /** spec.unschedulable, whoever set it. */
  unschedulable: boolean;
  /** The provider cordoned it because no network needed the zone (its annotation says so). */
  cordonedByUs: boolean;
  /** Pods bound to the node that are not finished (Succeeded/Failed). */
  activePods: number;
}

export type ZoneNodeAction =
  | { kind: 'register'; zone: string; needs: readonly string[] }
  | { kind: 'uncordon'; zone: string; needs: readonly string[] }
  | { kind: 'cordon'; zone: string; reason: string }
  | { kind: 'remove'; zone: string }
  | { kind: 'wait-for-pods'; zone: string; activePods: number };

/**
 * The actions, registrations first and removals last. A cordon a user made is never lifted;
 * ours is lifted when the zone is needed again. A node is removed only once it is cordoned (so
 * the scheduler stopped placing pods there) and no unfinished pod is bound to it.
 */
export function planZoneNodes(input: { needs: ZoneNeeds; nodes: readonly ZoneNodeState[] }): ZoneNodeAction[] {
  const byZone = new Map(input.nodes.map((n) => [n.zone, n]));
  const actions: ZoneNodeAction[] = [];
  for (const [zone, needs] of input.needs) {
    const node = byZone.get(zone);
    if (node === undefined) actions.push({ kind: 'register', zone, needs });
    else if (node.cordonedByUs) actions.push({ kind: 'uncordon', zone, needs });
  }
  for (const node of [...input.nodes].sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0))) {
    if (input.needs.has(node.zone)) continue;
    if (!node.unschedulable) actions.push({ kind: 'cordon', zone: node.zone, reason: `no network needs zone ${node.zone} any more (no default vSwitch and no Ready PodNetworking there)` });
    else if (node.activePods > 0) actions.push({ kind: 'wait-for-pods', zone: node.zone, activePods: node.activePods });
    else actions.push({ kind: 'remove', zone: node.zone });
  }
  return actions;
}

export interface ZoneNode {
  zone: string;
  node: string;
}

/**
 * What a PodNetworking's status says about nodes: the virtual node of each of its zones that has
 * one (a zone missing from the list has none yet). Empty unless Ready.
 */
export function podNetworkingNodes(pn: PodNetworking, nodeOfZone: (zone: string) => string | undefined): ZoneNode[] {
  if (pn.status?.status !== 'Ready') return [];
  return zonesOf(pn).flatMap((zone) => {
    const node = nodeOfZone(zone);
    return node === undefined ? [] : [{ zone, node }];
  });
}

export function sameZoneNodes(a: readonly ZoneNode[] | undefined, b: readonly ZoneNode[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((n, i) => n.zone === y[i]?.zone && n.node === y[i]?.node);
}
