// When to look at a group this process just created. ECI lists a new group only after a lag
// (List/Describe are eventually consistent) and the status poller sees it at its next tick after
// that, up to a poll interval later, then describes it. Instead the pod's own sync looks the group
// up by id (DescribeBatcher: 20 ids per call) about when new groups have lately become listed,
// then every `retryMs`, at most `maxLooks` times. After that the poller brings it, as before.
// Pure: times come from the caller.
//
// What a pod's looks tell about the lag L of its group (ms after the create answered):
// - the first look, at t, found it: L <= t only (censored: L may be far shorter);
// - looks missed until one at t found it, the last miss at m: m < L <= t (known within a retry);
// - every look missed, the last at m: L > m.
// A look runs later than planned when the pods queue for workers; a hit is read as if the look had
// run when planned (the estimate is of when to plan it: the queue's wait comes on top anyway, and
// counting it would grow the estimate by the wait), a miss as of when it ran.
// Each pod gives one point: the middle of what it showed (half of t when the first look hit, so
// the estimate probes down and a short lag is learned in a few halvings; m + retry when all
// missed). The first look is at the median of recent points. In steady state about half of the
// first looks find the group and the others find it within a retry (a miss costs one id in a
// batched describe, not a call of its own).

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
  /** Pods remembered (the median is over their points). */
  samples: number;
  /**
   * Looks under way at once, across pods: a lag spike at 100 pods/s would otherwise send ~40
   * DescribeContainerGroups/s (ECI allows 2,000/min, shared with the poller); a look due beyond
   * it waits a retry (or the poller brings the group).
   */
  maxInFlight: number;
}

export const DEFAULT_START_LOOK: StartLookOptions = { initialMs: 1_000, retryMs: 200, maxLooks: 8, maxFirstLookMs: 10_000, samples: 32, maxInFlight: 60 };

/**
 * How long a look waits for others to share its DescribeContainerGroups call (2000/min for the
 * whole account). Looks come at the create rate (20/s at ECI's quota), about half of them early:
 * in 100 ms windows they cost ~0.55 calls per pod on top of the poller's (quota-true bench); a
 * 200 ms window batches twice the ids per call.
 */
export const LOOK_BATCH_WINDOW_MS = 200;

/** A pod whose group is not described yet, after its looks: the poller re-queues it sooner. */
export const LEAVE_TO_POLLER_MS = 10_000;

/**
 * A first look that found its group probes down by half its time, at most this many retries: a
 * short lag is learned in a few halvings, and a spread lag (1-3 s) is not dragged far below its
 * median by the groups listed early (their looks would run out before the late ones are listed).
 */
const PROBE_RETRIES = 2;

export type StartLookPlan = { kind: 'look' } | { kind: 'requeueAfter'; ms: number };

/** What one pod's looks showed, in ms after its create answered. */
export type LookOutcome =
  /**
   * A look at `foundMs` found the group (or the poller had by then); `lastMissMs`: the look before
   * it, which did not (absent: no look missed); `plannedMs`: when the first look was planned.
   */
  | { kind: 'found'; foundMs: number; lastMissMs?: number; plannedMs?: number }
  /** Every look missed, the last at `lastMissMs` (the poller brings the group). */
  | { kind: 'missed'; lastMissMs: number };

export class StartLookTimer {
  private readonly o: StartLookOptions;
  /** Ring of recent points (ms after the create answered). */
  private readonly points: number[] = [];
  private next = 0;

  constructor(options: Partial<StartLookOptions> = {}) {
    this.o = { ...DEFAULT_START_LOOK, ...options };
  }

  /** When to look first, in ms after the create answered: the median of recent points. */
  firstLookMs(): number {
    if (this.points.length === 0) return Math.min(this.o.initialMs, this.o.maxFirstLookMs);
    const sorted = [...this.points].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return Math.min(this.o.maxFirstLookMs, Math.max(0, Math.round(median)));
  }

  /** What a pod's looks showed (once per pod, when its looks end). */
  note(outcome: LookOutcome): void {
    const point = outcome.kind === 'missed' ? outcome.lastMissMs + this.o.retryMs : this.foundPoint(outcome);
    if (!(point >= 0) || !Number.isFinite(point)) return;
    if (this.points.length < this.o.samples) this.points.push(point);
    else this.points[this.next] = point;
    this.next = (this.next + 1) % this.o.samples;
  }

  /** True when a pod that looked `looks` times looks no more (the poller's turn). */
  lastLook(looks: number): boolean {
    return looks >= this.o.maxLooks;
  }

  private foundPoint({ foundMs, lastMissMs, plannedMs }: Extract<LookOutcome, { kind: 'found' }>): number {
    if (lastMissMs === undefined) {
      // Listed by the first look (as if on time): probe down from there.
      const upper = Math.min(foundMs, plannedMs ?? foundMs);
      return Math.max(upper / 2, upper - PROBE_RETRIES * this.o.retryMs);
    }
    // Listed between the last miss and the look after it (as if that one ran a retry later).
    return (lastMissMs + Math.min(foundMs, lastMissMs + this.o.retryMs)) / 2;
  }

  /**
   * The sync of a pod whose created group is not described yet: look now, or come back later.
   * `sinceLastLookMs` is undefined before the first look. `firstLookMs`: the estimate stored when
   * the group was created; a found look is credited against it, so the first look runs then (not
   * at a later, larger estimate that would read a late look as on time).
   */
  plan(i: { sinceCreateMs: number; looks: number; sinceLastLookMs?: number; firstLookMs?: number; inFlight?: number }): StartLookPlan {
    if (this.lastLook(i.looks)) return { kind: 'requeueAfter', ms: LEAVE_TO_POLLER_MS };
    const wait = i.looks === 0 || i.sinceLastLookMs === undefined ? (i.firstLookMs ?? this.firstLookMs()) - i.sinceCreateMs : this.o.retryMs - i.sinceLastLookMs;
    if (wait > 0) return { kind: 'requeueAfter', ms: Math.ceil(wait) };
    return (i.inFlight ?? 0) >= this.o.maxInFlight ? { kind: 'requeueAfter', ms: this.o.retryMs } : { kind: 'look' };
  }
}
