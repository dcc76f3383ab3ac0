// When to look at a group this process just created. ECI lists a new group only after a lag
// (List/Describe are eventually consistent) and the status poller sees it at its next tick after
// that, up to a poll interval later, then describes it. Instead the pod's own sync looks the group
// up by id (DescribeBatcher: 20 ids per call) about when new groups have lately become listed:
// at the median of recent first sightings, a little early, then every `retryMs`, at most
// `maxLooks` times. After that the poller brings it, as before. Pure: times come from the caller.

/** How the looks are spaced; defaults in DEFAULT_START_LOOK. */
export interface StartLookOptions {
  /** The first look before anything was learned (ECI's List/Describe lag, a stated guess). */
  initialMs: number;
  /** Between two looks at a group not listed yet. */
  retryMs: number;
  /** Looks per group; then the status poller's turn. */
  maxLooks: number;
  /** The first look never waits longer than this (a cloud slow to list leaves it to the poller). */
  maxFirstLookMs: number;
  /** First sightings remembered (the median is over these). */
  samples: number;
}

export const DEFAULT_START_LOOK: StartLookOptions = { initialMs: 1_000, retryMs: 200, maxLooks: 8, maxFirstLookMs: 10_000, samples: 64 };

/**
 * How long a look waits for others to share its DescribeContainerGroups call (2000/min for the
 * whole account). Looks come at the create rate (20/s at ECI's quota), about half of them early:
 * in 100 ms windows they cost ~0.55 calls per pod on top of the poller's (quota-true bench); a
 * 200 ms window batches twice the ids per call.
 */
export const LOOK_BATCH_WINDOW_MS = 200;

/** A pod whose group is not described yet, after its looks: the poller re-queues it sooner. */
export const LEAVE_TO_POLLER_MS = 10_000;

export type StartLookPlan = { kind: 'look' } | { kind: 'requeueAfter'; ms: number };

export class StartLookTimer {
  private readonly o: StartLookOptions;
  /** Ring of recent first sightings (ms after the create answered). */
  private readonly seen: number[] = [];
  private next = 0;

  constructor(options: Partial<StartLookOptions> = {}) {
    this.o = { ...DEFAULT_START_LOOK, ...options };
  }

  /**
   * When to look first, in ms after the create answered: the median of recent first sightings
   * less half a retry. A sighting is the time of the look that found the group, so it is late by
   * up to a retry; looking half a retry early keeps the estimate from only ever growing, and a
   * look that comes too early costs one id in a batched describe.
   */
  firstLookMs(): number {
    if (this.seen.length === 0) return Math.min(this.o.initialMs, this.o.maxFirstLookMs);
    const sorted = [...this.seen].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return Math.min(this.o.maxFirstLookMs, Math.max(0, Math.round(median - this.o.retryMs / 2)));
  }

  /** A look found the group `ms` after its create answered. */
  noteSeen(ms: number): void {
    if (!(ms >= 0)) return;
    if (this.seen.length < this.o.samples) this.seen.push(ms);
    else this.seen[this.next] = ms;
    this.next = (this.next + 1) % this.o.samples;
  }

  /**
   * The sync of a pod whose created group is not described yet: look now, or come back later.
   * `sinceLastLookMs` is undefined before the first look.
   */
  plan(i: { sinceCreateMs: number; looks: number; sinceLastLookMs?: number }): StartLookPlan {
    if (i.looks >= this.o.maxLooks) return { kind: 'requeueAfter', ms: LEAVE_TO_POLLER_MS };
    const wait = i.looks === 0 || i.sinceLastLookMs === undefined ? this.firstLookMs() - i.sinceCreateMs : this.o.retryMs - i.sinceLastLookMs;
    return wait > 0 ? { kind: 'requeueAfter', ms: Math.ceil(wait) } : { kind: 'look' };
  }
}
