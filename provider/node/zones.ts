// Which zones get a virtual node: those of the default network's vSwitches, as DescribeVSwitches
// reports them.
import type { VSwitch } from '../cloud/model.ts';

export interface ZoneVSwitches {
  zone: string;
  /** In the order they were configured. */
  vSwitchIds: string[];
  /** Free IPs of the zone's Available vSwitches (a Pending one cannot hand out an IP yet). */
  freeIps: number;
}

/**
 * Groups vSwitches by zone, zones sorted by name. With `order` (the configured ids), each zone's
 * ids follow the configuration's order; otherwise the order given.
 */
export function zonesOfVSwitches(vSwitches: readonly VSwitch[], order?: readonly string[]): ZoneVSwitches[] {
  const rank = (id: string): number => {
    const index = order?.indexOf(id) ?? -1;
    return index < 0 ? Number.MAX_SAFE_INTEGER : index;
  };
  const sorted = order === undefined ? [...vSwitches] : [...vSwitches].sort((a, b) => rank(a.id) - rank(b.id));
  const zones = new Map<string, ZoneVSwitches>();
  for (const vsw of sorted) {
    let zone = zones.get(vsw.zoneId);
    if (zone === undefined) {
      zone = { zone: vsw.zoneId, vSwitchIds: [], freeIps: 0 };
      zones.set(vsw.zoneId, zone);
    }
    if (!zone.vSwitchIds.includes(vsw.id)) {
      zone.vSwitchIds.push(vsw.id);
      if (vsw.status === 'Available') zone.freeIps += Math.max(0, vsw.availableIpCount);
    }
  }
  return [...zones.values()].sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
}

/** Configured ids DescribeVSwitches did not return (unknown, deleted, or in another region). */
export function missingVSwitchIds(requested: readonly string[], found: readonly VSwitch[]): string[] {
  const known = new Set(found.map((v) => v.id));
  return requested.filter((id) => !known.has(id));
}

/**
 * What to say about configured vSwitches a refresh did not find, given what was said last: a warning
 * when the missing set changes, a notice when it empties, nothing while it stays the same (a
 * refresh runs every 30 s; one line per change is what an operator needs).
 */
export function missingVSwitchNotice(
  previous: readonly string[],
  missing: readonly string[],
): { say: 'gone' | 'back'; vSwitchIds: string[] } | undefined {
  const key = (ids: readonly string[]): string => [...ids].sort().join(',');
  if (key(previous) === key(missing)) return undefined;
  return missing.length > 0 ? { say: 'gone', vSwitchIds: [...missing] } : { say: 'back', vSwitchIds: [...previous] };
}

/** Free IPs per zone from a fresh DescribeVSwitches, for the given zones' vSwitches. */
export function freeIpsByZone(vSwitches: readonly VSwitch[]): Map<string, number> {
  return new Map(zonesOfVSwitches(vSwitches).map((z) => [z.zone, z.freeIps]));
}
