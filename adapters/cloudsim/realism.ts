// The realism profile (world `lifecycle.realism`): the ways Alibaba Cloud is less kind than a
// simulator that answers everything at once. Every knob, its default and its source are in
// docs/cloudsim.md ("Realism profile"); all off by default, `profile: realistic` turns on the
// values the public API reference documents (or, where it is silent, a stated guess).
//
// Randomness (ScheduleFailed, spot reclaim, pull-auth failures) comes from its own seeded
// generator, so a test run with a given seed sees the same groups fail.

import { seededRandom } from './faults.ts';

export type ClientTokenMode = 'bind-on-success' | 'bind-on-first-attempt';

export interface RealismConfig {
  /** IP and ENI become visible this long after Scheduling ends (0 = with the group). */
  ipAssignDelayMs: number;
  /** A created group is missing from List/Describe this long; a deleted one is still listed this long. */
  listLagMs: number;
  /** A deleted group's IP returns to the vSwitch this long after the delete. */
  ipReleaseLagMs: number;
  /** DescribeVSwitches' AvailableIpAddressCount is recomputed at most this often per vSwitch. */
  freeIpCacheMs: number;
  /** Finished groups are removed this long after they finished (0 = kept until deleted). */
  retentionMs: number;
  /** After `retentionMs`... and at any time: at most this many finished groups are kept (0 = no limit). */
  retentionKeep: number;
  /** Multiplies `retentionMs` (tests: 0.001 turns an hour into 3.6 s). */
  retentionScale: number;
  /** Rate limits as fixed per-minute windows with the documented budgets instead of token buckets. */
  rateWindows: boolean;
  /** Length of one rate window (60000 = the documented minute; tests shorten it). */
  rateWindowMs: number;
  clientToken: ClientTokenMode;
  /** How long a deleted group's ClientToken still answers that group's id (0 = forgotten at delete). */
  deletedTokenMemoryMs: number;
  /** Probability that an accepted create ends ScheduleFailed instead of Pending. */
  scheduleFailedRate: number;
  /** Probability that a spot group (SpotStrategy != NoSpot) is reclaimed after `spotProtectionMs`. */
  spotReclaimRate: number;
  /** The spot protection period: no reclaim before this much time after creation. */
  spotProtectionMs: number;
  /** The `SpotToBeReleased` event comes this long before the reclaim. */
  spotNoticeMs: number;
  /** Probability that a container's image pull is refused for authorization (ErrImagePull, never pulls). */
  pullAuthFailRate: number;
  /** Seed of the realism dice. */
  seed: number;
}

export const realismOff: RealismConfig = {
  ipAssignDelayMs: 0,
  listLagMs: 0,
  ipReleaseLagMs: 0,
  freeIpCacheMs: 0,
  retentionMs: 0,
  retentionKeep: 0,
  retentionScale: 1,
  rateWindows: false,
  rateWindowMs: 60_000,
  clientToken: 'bind-on-success',
  deletedTokenMemoryMs: 0,
  scheduleFailedRate: 0,
  spotReclaimRate: 0,
  spotProtectionMs: 3_600_000,
  spotNoticeMs: 180_000,
  pullAuthFailRate: 0,
  seed: 1,
};

/** `profile: realistic`: documented values where the docs give one; stated guesses elsewhere. */
export const realismRealistic: RealismConfig = {
  ...realismOff,
  ipAssignDelayMs: 1_000,
  listLagMs: 1_000,
  ipReleaseLagMs: 5_000,
  freeIpCacheMs: 10_000,
  retentionMs: 3_600_000,
  retentionKeep: 100,
  rateWindows: true,
  clientToken: 'bind-on-first-attempt',
  deletedTokenMemoryMs: 3_600_000,
  scheduleFailedRate: 0.01,
  spotReclaimRate: 0.05,
  pullAuthFailRate: 0.01,
};

export const realismProfiles = { off: realismOff, realistic: realismRealistic } as const;
export type RealismProfile = keyof typeof realismProfiles;

/** The documented per-minute budgets that `rateWindows` enforces (others keep their per-minute figure). */
export const documentedPerMinute: Readonly<Record<string, number>> = {
  CreateContainerGroup: 1000,
  DeleteContainerGroup: 1000,
  UpdateContainerGroup: 500,
  RestartContainerGroup: 500,
};

/** True when any knob differs from "off" (the hot paths skip realism work otherwise). */
export function realismActive(c: RealismConfig): boolean {
  return (Object.keys(realismOff) as (keyof RealismConfig)[]).some((k) => k !== 'seed' && k !== 'spotProtectionMs' && k !== 'spotNoticeMs' && k !== 'rateWindowMs' && k !== 'retentionScale' && c[k] !== realismOff[k]);
}

/** How long a refused attempt keeps its token bound (not documented; a day is the guess). */
export const FAILED_ATTEMPT_BINDING_MS = 24 * 3_600_000;

interface TokenBinding {
  hash: string;
  /** The group the token made (a deleted group's id when remembered after its delete). */
  groupId?: string;
  /** Forget after (ms since epoch); undefined = while the binding's reason lasts. */
  until?: number;
}

interface Ghost<G> {
  group: G;
  until: number;
}

/** Realism state that is not part of a group record: token memory, deleted-group ghosts, IP releases, the free-IP cache. */
export class Realism<G extends { id: string }> {
  config: RealismConfig;
  readonly random: () => number;
  /** ClientToken -> binding that outlives a failed attempt or a deleted group. */
  private readonly tokens = new Map<string, TokenBinding>();
  /** Deleted groups still listed (listLagMs). */
  private readonly ghosts = new Map<string, Ghost<G>>();
  /** IP releases due later, in due order. */
  private releases: { at: number; run: () => void }[] = [];
  private readonly freeIpCache = new Map<string, { at: number; value: number }>();

  constructor(config: RealismConfig) {
    this.config = config;
    this.random = seededRandom(config.seed);
  }

  get active(): boolean {
    return realismActive(this.config);
  }

  /** A dice roll with probability `rate` (no draw when the rate is 0, so turning a knob on does not shift the others). */
  roll(rate: number): boolean {
    return rate > 0 && (rate >= 1 || this.random() < rate);
  }

  /** The binding of a token that has no live group: a failed attempt's body, or a deleted group's id. */
  boundToken(token: string, now: number): TokenBinding | undefined {
    const b = this.tokens.get(token);
    if (b === undefined) return undefined;
    if (b.until !== undefined && b.until <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    return b;
  }

  /** bind-on-first-attempt: a refused create still binds its token to its body. */
  bindAttempt(token: string, hash: string, now: number): void {
    if (this.config.clientToken !== 'bind-on-first-attempt' || this.tokens.has(token)) return;
    this.tokens.set(token, { hash, until: now + FAILED_ATTEMPT_BINDING_MS });
    this.prune(now);
  }

  /** A group with a token was deleted: remember the token for `deletedTokenMemoryMs`. */
  rememberDeleted(token: string, hash: string, groupId: string, now: number): void {
    if (this.config.deletedTokenMemoryMs > 0) this.tokens.set(token, { hash, groupId, until: now + this.config.deletedTokenMemoryMs });
    else this.tokens.delete(token);
    this.prune(now);
  }

  private writes = 0;

  /** Drops expired token bindings now and then, so tokens never looked up again do not pile up. */
  private prune(now: number): void {
    if (++this.writes % 1024 !== 0) return;
    for (const [token, b] of this.tokens) if (b.until !== undefined && b.until <= now) this.tokens.delete(token);
  }

  /** A create made a group: the live group answers for the token from now on. */
  forgetToken(token: string): void {
    this.tokens.delete(token);
  }

  addGhost(group: G, now: number): void {
    if (this.config.listLagMs > 0) this.ghosts.set(group.id, { group, until: now + this.config.listLagMs });
  }

  /** Deleted groups still listed at `now`. */
  liveGhosts(now: number): G[] {
    const out: G[] = [];
    for (const [id, g] of this.ghosts) {
      if (g.until <= now) this.ghosts.delete(id);
      else out.push(g.group);
    }
    return out;
  }

  ghost(id: string, now: number): G | undefined {
    const g = this.ghosts.get(id);
    if (g === undefined) return undefined;
    if (g.until <= now) {
      this.ghosts.delete(id);
      return undefined;
    }
    return g.group;
  }

  /** Runs `release` now, or `ipReleaseLagMs` later (applied lazily by `settle`). */
  releaseLater(release: () => void, now: number): void {
    if (this.config.ipReleaseLagMs <= 0) {
      release();
      return;
    }
    this.releases.push({ at: now + this.config.ipReleaseLagMs, run: release });
  }

  /** Applies the IP releases that are due. */
  settle(now: number): void {
    if (this.releases.length === 0 || this.releases[0]!.at > now) return;
    let i = 0;
    while (i < this.releases.length && this.releases[i]!.at <= now) this.releases[i++]!.run();
    this.releases = this.releases.slice(i);
  }

  /** The free-IP count DescribeVSwitches answers: refreshed at most every `freeIpCacheMs`. */
  cachedFree(vSwitchId: string, live: number, now: number): number {
    if (this.config.freeIpCacheMs <= 0) return live;
    const c = this.freeIpCache.get(vSwitchId);
    if (c !== undefined && now - c.at < this.config.freeIpCacheMs) return c.value;
    this.freeIpCache.set(vSwitchId, { at: now, value: live });
    return live;
  }
}
