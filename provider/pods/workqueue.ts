// A keyed work queue with the guarantees the pod sync needs (client-go's workqueue semantics):
// - a key is processed by at most one worker at a time;
// - adding a key that is queued does nothing; adding one that is being processed re-queues it
//   once after the current run, so no change is lost;
// - failures back off exponentially per key (with jitter), success resets the key's backoff;
// - one slow or failing key never blocks the others;
// - lanes: a run about to wait on something slow moves to a lane and frees its worker. The create
//   lane takes a run about to create (it may wait for the cloud's create tokens), so status
//   reports, deletions and refusals of other keys never queue behind throttled creates; the write
//   lane takes a run about to write to the apiserver (a status PATCH waits 0.5-10 s on a loaded
//   apiserver), so new pods' syncs do not queue behind other pods' writes. Each lane has its own
//   concurrency; the key stays "processing" across the move, and a run moves at most once;
// - follow-ups first: a key added with `soon` (the cloud reported its group changed) or coming
//   back after its own requeueAfter/backoff is taken before keys of the plain order, and waits
//   for a lane slot ahead of them too, so a status to report does not wait behind a flood of new
//   pods' first syncs (1000 pods bound at once);
// - stopping drops what waits (queued keys and runs waiting for a lane slot) and waits only for
//   the runs on a worker or holding a slot.
// Time is injected so the behaviour is testable without real waiting.
import { backoffDelay } from '../runtime/backoff.ts';
import { WORK_QUEUE_STOPPED } from '../telemetry/names.ts';

export type SyncResult = { kind: 'done' } | { kind: 'requeueAfter'; ms: number };

/** Given to each run of a key. */
export interface WorkContext {
  /**
   * Moves this run to the create lane: its worker is freed at once for other keys, and this
   * resolves when one of the create lane's slots is this run's (until the run ends).
   */
  enterCreateLane(): Promise<void>;
  /**
   * Moves this run to the write lane (before an apiserver write), like enterCreateLane. A run
   * already in a lane stays where it is.
   */
  enterWriteLane(): Promise<void>;
}

export type LaneName = 'create' | 'write';

export interface WorkQueueOptions<K> {
  /** Processes one key. Throwing retries it with backoff. */
  handle: (key: K, work: WorkContext) => Promise<SyncResult>;
  concurrency: number;
  /** Runs at once in the create lane (default: `concurrency`). */
  createConcurrency?: number;
  /** Runs at once in the write lane (default: `concurrency`). */
  writeConcurrency?: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  onError?: (key: K, err: unknown, attempt: number, retryInMs: number) => void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  random?: () => number;
}

/**
 * Why a run waiting for a lane slot ended without one: the queue stopped (its key is dropped, as
 * a queued key is; the next process or leader syncs every pod again).
 */
export class LaneClosedError extends Error {
  readonly code = WORK_QUEUE_STOPPED;
  constructor() {
    super(`${WORK_QUEUE_STOPPED}: the work queue stopped while this run waited for a lane slot`);
  }
}

interface LaneWaiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Slots of one lane: a run holds one from when it gets it until it ends. Waiters are served in
 * the order they came, follow-ups first (as the queue takes them first: a pod whose group just
 * changed does not wait behind a backlog of first syncs).
 */
class Lane {
  /** Runs in the lane, holding a slot or waiting for one. */
  members = 0;
  private used = 0;
  private readonly followUps: LaneWaiter[] = [];
  private readonly plain: LaneWaiter[] = [];

  private readonly concurrency: number;

  constructor(concurrency: number) {
    this.concurrency = concurrency;
  }

  /** Takes a slot, or a place in line at once (synchronously: the order is the callers'). */
  acquire(followUp: boolean): Promise<void> {
    if (this.used < this.concurrency) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => (followUp ? this.followUps : this.plain).push({ resolve, reject }));
  }

  release(): void {
    const next = this.followUps.shift() ?? this.plain.shift();
    if (next !== undefined) next.resolve(); // the slot passes to the next waiting run
    else this.used--;
  }

  /** Ends every wait for a slot with LaneClosedError (the queue stopped). */
  closeWaiting(): void {
    for (const waiter of [...this.followUps.splice(0), ...this.plain.splice(0)]) waiter.reject(new LaneClosedError());
  }
}

export class KeyedWorkQueue<K> {
  private readonly opts: Required<WorkQueueOptions<K>>;
  private readonly queued = new Set<K>();
  private readonly order: K[] = [];
  /** Queued follow-ups, taken before `order`. */
  private readonly soon: K[] = [];
  private readonly processing = new Set<K>();
  /** Keys added while being processed, and whether one of those adds was a follow-up. */
  private readonly dirtyWhileProcessing = new Map<K, boolean>();
  private readonly failures = new Map<K, number>();
  private readonly delayed = new Map<K, unknown>();
  private running = 0;
  private readonly lanes: Record<LaneName, Lane>;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: WorkQueueOptions<K>) {
    this.opts = {
      onError: () => {},
      setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
      random: Math.random,
      createConcurrency: options.concurrency,
      writeConcurrency: options.concurrency,
      ...options,
    };
    this.lanes = { create: new Lane(this.opts.createConcurrency), write: new Lane(this.opts.writeConcurrency) };
  }

  /**
   * Queues a key now (cancelling a pending delayed add of the same key). `soon`: a follow-up of
   * work already under way (e.g. the cloud reported the key's group changed), taken first.
   */
  add(key: K, o: { soon?: boolean } = {}): void {
    if (this.stopped) return;
    this.cancelDelayed(key);
    const soon = o.soon === true;
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.set(key, soon || this.dirtyWhileProcessing.get(key) === true);
      return;
    }
    if (this.queued.has(key)) {
      // Already waiting in the plain order: a follow-up moves it ahead.
      const at = soon ? this.order.indexOf(key) : -1;
      if (at >= 0) {
        this.order.splice(at, 1);
        this.soon.push(key);
      }
      return;
    }
    this.queued.add(key);
    (soon ? this.soon : this.order).push(key);
    this.pump();
  }

  /** Queues a key after `ms` as a follow-up, unless it is added sooner. */
  addAfter(key: K, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key, { soon: true });
    if (this.delayed.has(key) || this.queued.has(key)) return;
    const handle = this.opts.setTimer(() => {
      this.delayed.delete(key);
      this.add(key, { soon: true });
    }, ms);
    this.delayed.set(key, handle);
  }

  /** Drops a key's backoff memory (its object is gone). */
  forget(key: K): void {
    this.failures.delete(key);
    this.cancelDelayed(key);
  }

  get depth(): number {
    return this.order.length + this.soon.length;
  }

  get inFlight(): number {
    return this.running + this.lanes.create.members + this.lanes.write.members;
  }

  /** Runs in the create lane, holding a slot or waiting for one. */
  get inCreateLane(): number {
    return this.lanes.create.members;
  }

  /** Runs in the write lane, holding a slot or waiting for one. */
  get inWriteLane(): number {
    return this.lanes.write.members;
  }

  /** Stops taking work; resolves when in-flight handlers have finished. */
  async shutDown(): Promise<void> {
    this.stopped = true;
    for (const key of [...this.delayed.keys()]) this.cancelDelayed(key);
    this.order.length = 0;
    this.soon.length = 0;
    this.queued.clear();
    // Runs waiting for a lane slot are dropped like queued keys (a backlog of status writes would
    // otherwise hold a stopping process, or a replica that lost the Lease, for its whole length);
    // runs holding a slot finish.
    for (const lane of Object.values(this.lanes)) lane.closeWaiting();
    await this.idle();
  }

  /** Resolves when nothing is queued or running (timers for delayed keys do not count). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private cancelDelayed(key: K): void {
    const handle = this.delayed.get(key);
    if (handle !== undefined) {
      this.opts.clearTimer(handle);
      this.delayed.delete(key);
    }
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.concurrency && this.depth > 0) {
      const followUp = this.soon.length > 0;
      const key = (followUp ? this.soon.shift() : this.order.shift()) as K;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.run(key, followUp);
    }
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private isIdle(): boolean {
    return this.running === 0 && this.lanes.create.members === 0 && this.lanes.write.members === 0 && this.depth === 0;
  }

  private async run(key: K, followUp: boolean): Promise<void> {
    let retryInMs: number | undefined;
    // Where the run is: on its worker, or in a lane (waiting for a slot, then holding it).
    let lane: Lane | undefined;
    let holdsSlot = false;
    let dropped = false;
    const enter = async (name: LaneName): Promise<void> => {
      if (lane !== undefined) return;
      if (this.stopped) throw new LaneClosedError();
      lane = this.lanes[name];
      this.running--;
      lane.members++;
      // A place in line before the freed worker starts another run (slots go in arrival order).
      const slot = lane.acquire(followUp);
      this.pump();
      await slot;
      holdsSlot = true;
    };
    const work: WorkContext = {
      enterCreateLane: () => enter('create'),
      enterWriteLane: () => enter('write'),
    };
    try {
      const result = await this.opts.handle(key, work);
      this.failures.delete(key);
      if (result.kind === 'requeueAfter') retryInMs = result.ms;
    } catch (err) {
      if (err instanceof LaneClosedError) dropped = true;
      else {
        const attempt = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, attempt);
        retryInMs = this.backoff(attempt);
        this.opts.onError(key, err, attempt, retryInMs);
      }
    } finally {
      this.processing.delete(key);
      if (lane === undefined) this.running--;
      else {
        lane.members--;
        if (holdsSlot) lane.release();
      }
    }
    const dirty = this.dirtyWhileProcessing.get(key);
    // Ended by the stopped queue while it waited for a lane slot: no retry, no error (see shutDown).
    if (dropped) this.dirtyWhileProcessing.delete(key);
    else if (dirty !== undefined) {
      this.dirtyWhileProcessing.delete(key);
      this.add(key, { soon: dirty });
    } else if (retryInMs !== undefined) this.addAfter(key, retryInMs);
    this.pump();
  }

  private backoff(attempt: number): number {
    // Jitter on the upper half keeps retries of many pods from arriving together.
    return backoffDelay(attempt, { baseMs: this.opts.backoffBaseMs, maxMs: this.opts.backoffMaxMs }, this.opts.random);
  }
}
