// Memory of vSwitches that ran out of IPs, so the next pods skip them instead of failing on them
// too. Unlike Terway's fixed TTL only: each create lowers a local free-IP estimate (so `most` and
// the 0-free-IP check see the IPs this process just took), and a refresh that shows free IPs
// clears a mark early. The clock is injected.
import type { VSwitch } from '../cloud/model.ts';
import { DEFAULT_EXHAUSTED_TTL_MS } from './constants.ts';
import type { ExhaustedMark } from './vswitch.ts';

export interface ExhaustedVSwitchesOptions {
  /** Milliseconds since the epoch; Date.now by default. */
  now?: () => number;
  /** How long a mark lasts unless a refresh clears it; 20 min by default (Terway's control plane). */
  ttlMs?: number;
}

interface Mark {
  since: number;
  until: number;
  reason: string;
}

export class ExhaustedVSwitches {
  readonly ttlMs: number;
  readonly #now: () => number;
  readonly #marks = new Map<string, Mark>();
  readonly #estimates = new Map<string, number>();

  constructor(options: ExhaustedVSwitchesOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.ttlMs = options.ttlMs ?? DEFAULT_EXHAUSTED_TTL_MS;
  }

  /** Remember that `id` has no IPs (e.g. after InvalidVSwitchId.IpNotEnough); re-marking extends. */
  markExhausted(id: string, reason: string): ExhaustedMark {
    const now = this.#now();
    const mark: Mark = { since: now, until: now + this.ttlMs, reason };
    this.#marks.set(id, mark);
    this.#estimates.set(id, 0);
    return { until: new Date(mark.until), reason };
  }

  /** The mark on `id` while it lasts; expired marks are forgotten. Fits chooseVSwitch's `isExhausted`. */
  isExhausted(id: string): ExhaustedMark | undefined {
    const mark = this.#marks.get(id);
    if (mark === undefined) return undefined;
    if (this.#now() >= mark.until) {
      this.#marks.delete(id);
      return undefined;
    }
    return { until: new Date(mark.until), reason: mark.reason };
  }

  clear(id: string): void {
    this.#marks.delete(id);
  }

  /**
   * A refresh from DescribeVSwitches: resets the free-IP estimates, and clears the mark of every
   * vSwitch that shows free IPs, unless the mark is newer than the data (`observedAt`: when the
   * lookup was sent, defaults to now) - a stale answer must not undo a fresh IpNotEnough.
   */
  observe(vSwitches: readonly VSwitch[], observedAt: number = this.#now()): void {
    for (const v of vSwitches) {
      const mark = this.#marks.get(v.id);
      if (mark !== undefined && observedAt < mark.since) continue;
      this.#estimates.set(v.id, Math.max(0, v.availableIpCount));
      if (v.availableIpCount > 0) this.#marks.delete(v.id);
    }
  }

  /** One IP taken from `id` by a create; returns the new estimate (undefined when never observed). */
  noteAllocated(id: string): number | undefined {
    const free = this.#estimates.get(id);
    if (free === undefined) return undefined;
    const next = Math.max(0, free - 1);
    this.#estimates.set(id, next);
    return next;
  }

  /** One IP given back (a group deleted); returns the new estimate. */
  noteReleased(id: string): number | undefined {
    const free = this.#estimates.get(id);
    if (free === undefined) return undefined;
    this.#estimates.set(id, free + 1);
    return free + 1;
  }

  freeIpEstimate(id: string): number | undefined {
    return this.#estimates.get(id);
  }

  /** Copies of `vSwitches` whose availableIpCount is the local estimate where one is known. */
  withEstimates(vSwitches: readonly VSwitch[]): VSwitch[] {
    return vSwitches.map((v) => {
      const free = this.#estimates.get(v.id);
      return free === undefined ? { ...v } : { ...v, availableIpCount: free };
    });
  }

  /** Ids currently marked, for metrics and `explain`. */
  marked(): { id: string; until: Date; reason: string }[] {
    const now = this.#now();
    const out: { id: string; until: Date; reason: string }[] = [];
    for (const [id, mark] of this.#marks) {
      if (now >= mark.until) this.#marks.delete(id);
      else out.push({ id, until: new Date(mark.until), reason: mark.reason });
    }
    return out;
  }
}

/**
 * At most one in-flight call per key: concurrent callers for the same key share its promise
 * (e.g. one DescribeVSwitches per vSwitch id while many pods wait on it). Nothing is cached
 * after the call settles.
 */
export class SingleFlight<K, V> {
  readonly #inFlight = new Map<K, Promise<V>>();

  do(key: K, fn: () => Promise<V>): Promise<V> {
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    // An async wrapper turns a synchronous throw of fn into a rejection shared like any other.
    const promise = (async () => fn())();
    const tracked = promise.finally(() => {
      if (this.#inFlight.get(key) === tracked) this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, tracked);
    return tracked;
  }

  get size(): number {
    return this.#inFlight.size;
  }
}
