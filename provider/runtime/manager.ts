// The runtime manager: everything the process runs is a named runnable, started in
// controller-runtime's order (pkg/manager/internal.go):
//
//   1. servers   health/metrics: probes and scrapes answer from the first moment
//   2. webhooks  admission answers at once (500 until its caches synced: failurePolicy applies)
//   3. caches    shared informers start
//   4. sync      wait until every cache has listed once
//   5. others    runnables that need no Lease
//   6. election  compete for the Lease (or lead at once without leader election)
//   7. leader    runnables that need the Lease, in the order added, each started before the next
//
// Stopping runs it backwards: the leader's runnables (then the Lease is released), the others,
// caches, webhooks, servers last. A lost Lease aborts the leader signal, which every leader
// runnable (and every cloud call made for it) observes; the manager then stops them and competes
// for the Lease again (the election keeps running): it never exits on its own.
import { systemClock, untilAborted, type Clock } from './clock.ts';
import { Readiness, type ReadyCheck } from './readiness.ts';

export type RunnableKind = 'server' | 'webhook' | 'cache' | 'other';

/** Waits until a started runnable has stopped (after its signal aborted). */
export type StopFn = () => Promise<void> | void;

export interface Runnable {
  name: string;
  /** True: runs only while this replica holds the Lease, after the caches synced. */
  needsLeader: boolean;
  /** Where a runnable that needs no Lease starts; default 'other'. Ignored for leader runnables. */
  kind?: RunnableKind;
  /**
   * Starts it and resolves once it runs (a server listening, a controller adopted). It must stop
   * when `signal` aborts; the StopFn it may return is awaited on shutdown.
   */
  start(signal: AbortSignal): Promise<StopFn | void> | StopFn | void;
}

/** A shared informer: a runnable of kind 'cache' that knows whether it has listed once. */
export interface CacheRunnable extends Runnable {
  kind: 'cache';
  hasSynced(): boolean;
  /** False: its sync is not awaited (e.g. a CRD that is not installed yet). Default true. */
  waitForSync?: () => boolean;
}

/** Leader election as the manager needs it; adapters/kubernetes/leader.ts provides one. */
export interface Election {
  /**
   * Competes for the Lease until `signal` aborts. While holding it, calls `lead(leaderSignal)`,
   * which must settle once `leaderSignal` aborts (Lease lost or released).
   */
  start(o: { lead: (leaderSignal: AbortSignal) => Promise<void>; signal: AbortSignal }): {
    /** Stops competing; if leading, waits for `lead` to settle, then releases the Lease. */
    release(): Promise<void>;
  };
}

export interface ManagerLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ManagerOptions {
  log: ManagerLog;
  /** Without one, this process leads at once and for good. */
  election?: Election;
  clock?: Clock;
  /** While caches have not synced, name them in a log line this often. Default 10 s. */
  cacheSyncReportMs?: number;
}

export type ManagerPhase = 'new' | 'servers' | 'webhooks' | 'caches' | 'cache-sync' | 'others' | 'election' | 'running' | 'stopping' | 'stopped';

interface Started {
  name: string;
  abort: AbortController;
  stop: StopFn | undefined;
}

const KIND_ORDER: readonly RunnableKind[] = ['server', 'webhook', 'cache', 'other'];
const PHASE_OF: Record<RunnableKind, ManagerPhase> = { server: 'servers', webhook: 'webhooks', cache: 'caches', other: 'others' };

/** The start plan: non-leader runnables by kind (controller-runtime's order), then the leader's. */
export function startOrder(runnables: readonly Runnable[]): { phase: RunnableKind | 'leader'; names: string[] }[] {
  const plan: { phase: RunnableKind | 'leader'; names: string[] }[] = KIND_ORDER.map((kind) => ({
    phase: kind,
    names: runnables.filter((r) => !r.needsLeader && (r.kind ?? 'other') === kind).map((r) => r.name),
  }));
  plan.push({ phase: 'leader', names: runnables.filter((r) => r.needsLeader).map((r) => r.name) });
  return plan;
}

export class Manager {
  readonly readiness = new Readiness();
  private readonly runnables: Runnable[] = [];
  private readonly log: ManagerLog;
  private readonly clock: Clock;
  private readonly options: ManagerOptions;
  private readonly abort = new AbortController();
  private readonly started: Started[] = [];
  private leaderStarted: Started[] = [];
  private leading = false;
  private leaderReady = false;
  private election: ReturnType<Election['start']> | undefined;
  private stopping: Promise<void> | undefined;
  phase: ManagerPhase = 'new';

  constructor(options: ManagerOptions) {
    this.options = options;
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
  }

  /** Registers a runnable; all must be added before start(). */
  add(runnable: Runnable): void {
    if (this.phase !== 'new') throw new Error(`runnable ${runnable.name} added after the manager started`);
    if (this.runnables.some((r) => r.name === runnable.name)) throw new Error(`runnable ${runnable.name} is already registered`);
    this.runnables.push(runnable);
  }

  /**
   * A readiness check. `leaderOnly`: counted only while this replica leads (a follower does not
   * wait for the leader's work), and failing while the leader's runnables are still starting.
   */
  addReadyCheck(name: string, check: ReadyCheck, options: { leaderOnly?: boolean } = {}): void {
    if (options.leaderOnly !== true) return this.readiness.add(name, check);
    this.readiness.add(name, () => {
      if (!this.leading) return true;
      return check();
    });
  }

  /** Whether this replica holds the Lease (always, once started, without leader election). */
  isLeader(): boolean {
    return this.leading;
  }

  /** Leading, and every leader runnable has started. */
  leaderRunning(): boolean {
    return this.leading && this.leaderReady;
  }

  /** The manager's own signal: aborted by stop(). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /**
   * Starts everything in order. Resolves once the runnables that need no Lease run and, without
   * leader election, once the leader's runnables run too; with it, once the election competes.
   * Rejects (after stopping what started) when a runnable fails to start.
   */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('the manager was already started');
    const signal = this.abort.signal;
    try {
      const byName = new Map(this.runnables.map((r) => [r.name, r]));
      for (const step of startOrder(this.runnables)) {
        if (step.phase === 'leader') break; // after the election, below
        if (step.phase === 'other') await this.waitForCacheSync();
        this.phase = PHASE_OF[step.phase];
        for (const name of step.names) {
          this.throwIfStopping();
          this.started.push(await this.startOne(byName.get(name) as Runnable, signal));
        }
      }
      this.throwIfStopping();
      this.phase = 'election';
      const lead = (leaderSignal: AbortSignal) => this.lead(leaderSignal);
      if (this.options.election === undefined) {
        await this.startLeaderRunnables(signal);
      } else {
        this.election = this.options.election.start({ lead, signal });
      }
      this.phase = 'running';
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private stoppingRunnable: string | undefined;
  /** The runnable whose stop() is awaited now (for a shutdown that overruns its deadline). */
  get stoppingNow(): string | undefined {
    return this.stoppingRunnable;
  }

  /** Stops everything in reverse start order; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.phase = 'stopping';
      if (this.election !== undefined) await this.election.release();
      else await this.stopLeaderRunnables();
      // One at a time, backwards: servers answer until everything behind them has stopped.
      await this.stopAll(this.started.splice(0));
      this.abort.abort();
      this.phase = 'stopped';
    })();
    return this.stopping;
  }

  private throwIfStopping(): void {
    if (this.stopping !== undefined) throw new Error('the manager was stopped while starting');
  }

  private async startOne(r: Runnable, signal: AbortSignal): Promise<Started> {
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    if (signal.aborted) abort.abort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      const stop = (await r.start(abort.signal)) ?? undefined;
      return { name: r.name, abort, stop };
    } catch (err) {
      abort.abort();
      throw new Error(`${r.name} failed to start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private async stopAll(started: Started[]): Promise<void> {
    for (const s of started.reverse()) {
      s.abort.abort();
      this.stoppingRunnable = s.name;
      try {
        await s.stop?.();
      } catch (err) {
        this.log.warn('stopping a runnable failed', { runnable: s.name, error: err instanceof Error ? err.message : String(err) });
      }
    }
    this.stoppingRunnable = undefined;
  }

  private async waitForCacheSync(): Promise<void> {
    this.phase = 'cache-sync';
    const caches = this.runnables.filter((r): r is CacheRunnable => r.kind === 'cache' && !r.needsLeader);
    const pending = () => caches.filter((c) => !c.hasSynced() && (c.waitForSync?.() ?? true)).map((c) => c.name);
    const reportMs = this.options.cacheSyncReportMs ?? 10_000;
    const begun = this.clock.now();
    let nextReport = begun + reportMs;
    while (pending().length > 0) {
      this.throwIfStopping();
      if (this.clock.now() >= nextReport) {
        this.log.warn('waiting for caches to sync', { caches: pending(), waitedMs: this.clock.now() - begun });
        nextReport += reportMs;
      }
      await this.clock.sleep(50, this.abort.signal);
    }
  }

  /** One leadership: start the leader's runnables, hold until the Lease is lost or released, stop them. */
  private async lead(leaderSignal: AbortSignal): Promise<void> {
    try {
      await this.startLeaderRunnables(leaderSignal);
    } catch (err) {
      await this.stopLeaderRunnables();
      if (!leaderSignal.aborted) throw err;
      return;
    }
    await untilAborted(leaderSignal);
    this.log.info('leadership ended: stopping the leader runnables; this replica competes for the Lease again', {
      runnables: this.leaderStarted.map((s) => s.name),
    });
    await this.stopLeaderRunnables();
  }

  private async startLeaderRunnables(signal: AbortSignal): Promise<void> {
    this.leading = true;
    this.leaderReady = false;
    const leaderStep = startOrder(this.runnables).find((step) => step.phase === 'leader');
    for (const r of this.runnables.filter((x) => leaderStep?.names.includes(x.name))) {
      signal.throwIfAborted();
      this.leaderStarted.push(await this.startOne(r, signal));
    }
    this.leaderReady = true;
  }

  private async stopLeaderRunnables(): Promise<void> {
    this.leaderReady = false;
    await this.stopAll(this.leaderStarted.splice(0));
    this.leading = false;
  }
}
