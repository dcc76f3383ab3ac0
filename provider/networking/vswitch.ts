// Which vSwitch a pod's ENI goes into. Pure: the candidates (with free-IP counts), the memory of
// exhausted vSwitches, randomness and the clock are all passed in. A refusal names every
// candidate and why it was passed over; that list becomes the Pending condition and a span event.
import type { VSwitch } from '../cloud/model.ts';
import type { VSwitchSelectionPolicy } from './podnetworking.ts';

export interface ExhaustedMark {
  until: Date;
  reason?: string;
}

export interface ChooseVSwitchInput {
  /** The zone of the node the pod is bound to. */
  zone: string;
  /** The PodNetworking's (or default network's) vSwitches, in its list order. */
  candidates: readonly VSwitch[];
  policy: VSwitchSelectionPolicy;
  isExhausted: (id: string) => ExhaustedMark | undefined;
  /** In [0, 1), like Math.random. */
  random: () => number;
}

export type ChooseVSwitchResult =
  | { ok: true; id: string; vSwitch: VSwitch; reason: string; refusals: string[] }
  | { ok: false; refusals: string[] };

/** `12:04:10`: UTC wall-clock time, as in a condition message. */
export function clockTime(date: Date): string {
  return date.toISOString().slice(11, 19);
}

/**
 * Picks a vSwitch in `zone` with free IPs, skipping those marked exhausted. `ordered`: the first
 * eligible in list order; `most`: the most free IPs, ties broken by list order; `random`: uniform
 * among the eligible (the caller's array is never reordered). Duplicates count once.
 */
export function chooseVSwitch(input: ChooseVSwitchInput): ChooseVSwitchResult {
  const { zone, policy } = input;
  const refusals: string[] = [];
  const eligible: VSwitch[] = [];
  const seen = new Set<string>();
  for (const v of input.candidates) {
    if (seen.has(v.id)) continue;
    seen.add(v.id);
    if (v.zoneId !== zone) {
      refusals.push(`${v.id}: other zone ${v.zoneId}`);
      continue;
    }
    if (v.status !== 'Available') {
      refusals.push(`${v.id}: status ${v.status}`);
      continue;
    }
    const mark = input.isExhausted(v.id);
    if (mark !== undefined) {
      refusals.push(`${v.id}: exhausted until ${clockTime(mark.until)}${mark.reason ? ` (${mark.reason})` : ''}`);
      continue;
    }
    if (!(v.availableIpCount > 0)) {
      refusals.push(`${v.id}: 0 free IPs`);
      continue;
    }
    eligible.push(v);
  }
  if (input.candidates.length === 0) refusals.push('no vSwitch configured');

  const ok = (v: VSwitch, reason: string): ChooseVSwitchResult => ({ ok: true, id: v.id, vSwitch: v, reason, refusals });
  const [first] = eligible;
  if (first === undefined) return { ok: false, refusals };

  switch (policy) {
    case 'most': {
      let best = first;
      for (const v of eligible) if (v.availableIpCount > best.availableIpCount) best = v;
      return ok(best, `most free IPs in ${zone}: ${best.availableIpCount} (among ${eligible.length} eligible)`);
    }
    case 'random': {
      const r = input.random();
      const index = Math.min(eligible.length - 1, Math.max(0, Math.floor((Number.isFinite(r) ? r : 0) * eligible.length)));
      const v = eligible[index] ?? first;
      return ok(v, `random among ${eligible.length} eligible in ${zone}`);
    }
    case 'ordered':
    default:
      return ok(first, `first eligible in list order in ${zone}`);
  }
}

/** The Pending condition message when no vSwitch could be chosen. */
export function noVSwitchMessage(zone: string, refusals: readonly string[]): string {
  return `no available vSwitch in zone ${zone}: ${refusals.join('; ')}`;
}
