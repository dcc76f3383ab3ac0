// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics
// (k8s.io/client-go/tools/leaderelection): every replica polls the Lease every retryPeriod; a
// Lease held by someone else counts as expired only once leaseDurationSeconds have passed since
// THIS replica last saw it change (its own clock, never the holder's renewTime: clocks differ);
// every write is a replace carrying the resourceVersion that was read (compare-and-swap), so of
// two replicas racing for a free Lease one gets 409 Conflict and stays a follower.
//
// Never two leaders doing writes at once: the leader steps down (aborts its leader signal) once
// renewDeadline has passed since the START of its last successful renewal without another one,
// and renewDeadline < leaseDuration; a follower takes over no earlier than leaseDuration after
// it saw that renewal. The leader's work thus has leaseDuration - renewDeadline (5 s by default)
// to notice the abort. On a graceful stop the leader keeps renewing until its work has stopped,
// and only then releases the Lease (holderIdentity "", leaseDurationSeconds 1), so a successor
// starts at once and never overlaps with the old leader's last writes.
//
//   decideLease(...)  pure: what to do with the Lease as read (create | acquire | renew | wait)
//   nextLease(...)    pure: the Lease to write for that decision (or for a release)
//   runLeaderElection the loops: acquire -> lead (renew) -> step down or release -> compete again
import { randomBytes } from 'node:crypto';
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound } from './client.ts';

export interface LeaderElectionTiming {
  /** How long a follower waits after the Lease last changed before taking it (client-go: 15 s). */
  leaseDurationSeconds: number;
  /** A leader that has not renewed for this long steps down (client-go: 10 s). Below leaseDuration. */
  renewDeadlineMs: number;
  /** Polling period of followers and renewal period of the leader (client-go: 2 s). */
  retryPeriodMs: number;
}

export const DEFAULT_LEADER_ELECTION_TIMING: LeaderElectionTiming = {
  leaseDurationSeconds: 15,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** client-go's JitterFactor: followers poll every retryPeriod * (1 + random * 1.2). */
export const RETRY_JITTER_FACTOR = 1.2;

/** Problems with a timing (empty when valid); client-go refuses the same ones. */
export function leaderElectionTimingProblems(t: LeaderElectionTiming): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(t.leaseDurationSeconds) || t.leaseDurationSeconds < 1) problems.push(`leaseDurationSeconds must be a positive integer, got ${t.leaseDurationSeconds}`);
  if (!(t.retryPeriodMs > 0)) problems.push(`retryPeriodMs must be positive, got ${t.retryPeriodMs}`);
  if (!(t.renewDeadlineMs < t.leaseDurationSeconds * 1000)) {
    problems.push(`renewDeadlineMs (${t.renewDeadlineMs}) must be below leaseDurationSeconds (${t.leaseDurationSeconds} s)`);
  }
  if (!(t.renewDeadlineMs > RETRY_JITTER_FACTOR * t.retryPeriodMs)) {
    problems.push(`renewDeadlineMs (${t.renewDeadlineMs}) must be above ${RETRY_JITTER_FACTOR} x retryPeriodMs (${t.retryPeriodMs})`);
  }
  return problems;
}

/** A holder identity unique per process: `<base>_<8 hex>` (client-go: hostname + "_" + UUID). */
export function leaderIdentity(base: string): string {
  return `${base}_${randomBytes(4).toString('hex')}`;
}

export type LeaseDecision =
  /** No Lease exists: create it, holding it. */
  | { kind: 'create' }
  /** Someone else's Lease that is free (released) or expired: take it over. */
  | { kind: 'acquire'; reason: 'released' | 'expired'; previousHolder: string }
  /** Ours: renew it. */
  | { kind: 'renew' }
  /** Someone else holds it validly: look again later (at the latest after `ms`, when it would expire). */
  | { kind: 'wait'; ms: number; holder: string };

export interface DecideLeaseInput {
  lease: V1Lease | undefined;
  /** Epoch ms. */
  now: number;
  identity: string;
  timing: LeaderElectionTiming;
  /**
   * Epoch ms at which this replica first saw the Lease as it is now (same resourceVersion).
   * Expiry counts from here, not from the holder's renewTime. Unknown: the Lease's renewTime.
   */
  observedAt?: number;
}

export function holderOf(lease: V1Lease | undefined): string {
  return lease?.spec?.holderIdentity ?? '';
}

function timeOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value as string | Date).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

export function decideLease({ lease, now, identity, timing, observedAt }: DecideLeaseInput): LeaseDecision {
  if (lease === undefined) return { kind: 'create' };
  const holder = holderOf(lease);
  if (holder === identity) return { kind: 'renew' };
  if (holder === '') return { kind: 'acquire', reason: 'released', previousHolder: '' };
  const durationMs = (lease.spec?.leaseDurationSeconds ?? timing.leaseDurationSeconds) * 1000;
  const since = observedAt ?? timeOf(lease.spec?.renewTime) ?? timeOf(lease.spec?.acquireTime);
  if (since === undefined) return { kind: 'acquire', reason: 'expired', previousHolder: holder };
  const expiresAt = since + durationMs;
  if (now >= expiresAt) return { kind: 'acquire', reason: 'expired', previousHolder: holder };
  return { kind: 'wait', ms: expiresAt - now, holder };
}

/**
 * The Lease to write: for create/acquire/renew the caller holds it; for `release` it is given up
 * (holderIdentity "", leaseDurationSeconds 1: anyone may take it at once). The resourceVersion of
 * `current` travels along, which makes the replace a compare-and-swap.
 */
export function nextLease(input: {
  current: V1Lease | undefined;
  action: 'create' | 'acquire' | 'renew' | 'release';
  identity: string;
  now: number;
  timing: LeaderElectionTiming;
  name: string;
  namespace: string;
}): V1Lease {
  const { current, action, identity, timing } = input;
  const now = new V1MicroTime(input.now);
  const spec = current?.spec ?? {};
  const transitions = spec.leaseTransitions ?? 0;
  const metadata = { ...(current?.metadata ?? {}), name: input.name, namespace: input.namespace };
  const lease = (s: NonNullable<V1Lease['spec']>): V1Lease => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: s });
  switch (action) {
    case 'create':
      delete metadata.resourceVersion;
      return lease({ holderIdentity: identity, leaseDurationSeconds: timing.leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 });
    case 'acquire':
      return lease({
        holderIdentity: identity,
        leaseDurationSeconds: timing.leaseDurationSeconds,
        acquireTime: now,
        renewTime: now,
        // client-go counts every change of holder, a release in between included.
        leaseTransitions: holderOf(current) === identity ? transitions : transitions + 1,
      });
    case 'renew':
      return lease({ ...spec, holderIdentity: identity, leaseDurationSeconds: timing.leaseDurationSeconds, renewTime: now, leaseTransitions: transitions });
    case 'release':
      return lease({ ...spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: transitions });
  }
}

export interface LeaderElectionLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LeaderElectionOptions {
  coordination: Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;
  namespace: string;
  name: string;
  /** Unique per process (see leaderIdentity). */
  identity: string;
  timing?: Partial<LeaderElectionTiming>;
  /**
   * Aborting it stops the election. While leading: the leader signal is aborted, the Lease is
   * renewed until onStartedLeading's promise settles, then released (unless releaseOnCancel is
   * false: then nothing more is written, as if the process had died).
   */
  signal: AbortSignal;
  releaseOnCancel?: boolean;
  log: LeaderElectionLog;
  /**
   * Runs the leader's work. It must stop when `leaderSignal` aborts (leadership lost or giving
   * up) and settle its promise once stopped. If it settles on its own while leading, the Lease
   * is released and this replica competes again after retryPeriod.
   */
  onStartedLeading: (leaderSignal: AbortSignal) => Promise<void>;
  /** Called when a leadership ends (lost, or released), after the leader signal was aborted. */
  onStoppedLeading?: () => void;
  /** Called when the observed holder changes (also to "" and to ourselves). */
  onNewLeader?: (identity: string) => void;
  /** Epoch ms; tests inject a clock. */
  now?: () => number;
  random?: () => number;
}

export interface LeaderElection {
  readonly identity: string;
  isLeader(): boolean;
  /** The holder last seen on the Lease ("" when free or not read yet). */
  leader(): string;
  /** Stops competing; if leading, stops the work, then gives the Lease up. Resolves when done. */
  release(): Promise<void>;
  /** Settles when the election has stopped. */
  done: Promise<void>;
}

type Attempt = { ok: true } | { ok: false; holder: string };

class TimeoutError extends Error {}

export function runLeaderElection(o: LeaderElectionOptions): LeaderElection {
  const timing: LeaderElectionTiming = { ...DEFAULT_LEADER_ELECTION_TIMING, ...o.timing };
  const problems = leaderElectionTimingProblems(timing);
  if (problems.length > 0) throw new Error(`leader election: ${problems.join('; ')}`);
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const { coordination, namespace, name, identity, log } = o;
  const fields = { lease: `${namespace}/${name}`, identity };

  /** Stop requested, with or without release. */
  const stop = new AbortController();
  let releaseOnStop = o.releaseOnCancel ?? true;
  const onAbort = () => stop.abort();
  if (o.signal.aborted) stop.abort();
  else o.signal.addEventListener('abort', onAbort, { once: true });

  let leading = false;
  let lastSeenHolder = '';
  /** The Lease as last read or written, and when this replica first saw it like that. */
  let known: V1Lease | undefined;
  let observed: { resourceVersion: string; at: number } | undefined;

  const see = (lease: V1Lease | undefined) => {
    known = lease;
    const rv = lease?.metadata?.resourceVersion ?? '';
    if (observed?.resourceVersion !== rv) observed = { resourceVersion: rv, at: now() };
    const holder = holderOf(lease);
    if (holder !== lastSeenHolder) {
      lastSeenHolder = holder;
      if (holder !== identity) log.info(holder === '' ? 'leader election: the lease is free' : 'leader election: new leader observed', { ...fields, leader: holder });
      o.onNewLeader?.(holder);
    }
  };

  const body = (action: 'create' | 'acquire' | 'renew' | 'release', current: V1Lease | undefined) =>
    nextLease({ current, action, identity, now: now(), timing, name, namespace });

  const read = async (): Promise<V1Lease | undefined> => {
    try {
      return await coordination.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  /** One round of client-go's tryAcquireOrRenew. A 409 means another replica wrote first. */
  const tryAcquireOrRenew = async (): Promise<Attempt> => {
    // The leader replaces on what it wrote last (one request); a 409 falls back to a read.
    let current = leading && known !== undefined ? known : await read();
    if (!leading || known === undefined) see(current);
    for (let attempt = 0; ; attempt++) {
      const decision = decideLease({ lease: current, now: now(), identity, timing, observedAt: observed?.at });
      if (decision.kind === 'wait') return { ok: false, holder: decision.holder };
      try {
        const written =
          decision.kind === 'create'
            ? await coordination.createNamespacedLease({ namespace, body: body('create', undefined) })
            : await coordination.replaceNamespacedLease({ name, namespace, body: body(decision.kind, current) });
        see(written);
        if (decision.kind !== 'renew') {
          log.info('leader election: acquired the lease', { ...fields, reason: decision.kind === 'acquire' ? decision.reason : 'created', previousHolder: decision.kind === 'acquire' ? decision.previousHolder : undefined, transitions: written.spec?.leaseTransitions });
        }
        return { ok: true };
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Someone else wrote the Lease since we read it (or created it first): read it again
        // and decide once more; a second conflict is a lost race.
        if (attempt >= 1) return { ok: false, holder: holderOf(known) };
        current = await read();
        see(current);
      }
    }
  };

  /** Wakes the current sleep early (the work's promise settled). */
  let wake: () => void = () => {};
  /** Sleeps `ms`; a stop request ends it early unless `wakeOnStop` is false. */
  const sleep = (ms: number, wakeOnStop = true) =>
    new Promise<void>((resolve) => {
      if (wakeOnStop && stop.signal.aborted) return resolve();
      const finish = () => {
        clearTimeout(timer);
        stop.signal.removeEventListener('abort', finish);
        wake = () => {};
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, ms));
      wake = finish;
      if (wakeOnStop) stop.signal.addEventListener('abort', finish, { once: true });
    });

  const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), Math.max(0, ms))));
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  };

  /**
   * Polls until this replica holds the Lease: returns when the successful request started (the
   * renew deadline counts from there), or undefined once the election is stopped.
   */
  const acquire = async (): Promise<number | undefined> => {
    let failures = 0;
    while (!stop.signal.aborted) {
      const started = now();
      try {
        const result = await withTimeout(tryAcquireOrRenew(), timing.renewDeadlineMs);
        if (result.ok) {
          if (!stop.signal.aborted) return started;
          // Acquired just as we were told to stop: hand it back without starting any work.
          if (releaseOnStop) await releaseLease();
          return undefined;
        }
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 10 === 0) log.warn('leader election: reading or writing the lease failed; will retry', { ...fields, error: errorText(err), failures });
      }
      await sleep(timing.retryPeriodMs * (1 + random() * RETRY_JITTER_FACTOR));
    }
    return undefined;
  };

  /**
   * Renews every retryPeriod while leading. Returns 'lost' when no renewal succeeded within
   * renewDeadline (counted from the start of the last successful one) or another holder was
   * found; 'work-ended' once the work's promise settled (after a stop request, or on its own).
   */
  const renewWhileLeading = async (lastRenewStart: number, workEnded: () => boolean, onStopRequested: () => void): Promise<'lost' | 'work-ended'> => {
    for (;;) {
      if (stop.signal.aborted) {
        onStopRequested();
        if (!releaseOnStop) return 'lost'; // "crash": write nothing more
      }
      if (workEnded()) return 'work-ended';
      // Once stopping, only the work's end (or the period) wakes us: keep renewing until then.
      await sleep(timing.retryPeriodMs, !stop.signal.aborted);
      if (workEnded()) return 'work-ended';
      if (stop.signal.aborted) {
        onStopRequested();
        if (!releaseOnStop) return 'lost';
      }
      for (;;) {
        const remaining = lastRenewStart + timing.renewDeadlineMs - now();
        if (remaining <= 0) {
          log.error('leader election: could not renew the lease within the renew deadline; stepping down', { ...fields, renewDeadlineMs: timing.renewDeadlineMs });
          return 'lost';
        }
        const started = now();
        try {
          const result = await withTimeout(tryAcquireOrRenew(), remaining);
          if (result.ok) {
            lastRenewStart = started;
            break;
          }
          log.error('leader election: another replica holds the lease; stepping down', { ...fields, leader: result.holder });
          return 'lost';
        } catch (err) {
          if (err instanceof TimeoutError) continue; // the deadline check above ends it
          log.warn('leader election: renewing the lease failed; retrying', { ...fields, error: errorText(err) });
          // A fresh read on the next try: what we wrote last may be stale.
          known = undefined;
          await new Promise((r) => setTimeout(r, Math.min(timing.retryPeriodMs / 2, Math.max(0, lastRenewStart + timing.renewDeadlineMs - now()))));
        }
      }
    }
  };

  const releaseLease = async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const current = attempt === 0 && known !== undefined ? known : await read();
        if (current === undefined || holderOf(current) !== identity) return;
        see(await withTimeout(coordination.replaceNamespacedLease({ name, namespace, body: body('release', current) }), timing.renewDeadlineMs));
        log.info('leader election: released the lease', fields);
        return;
      } catch (err) {
        if (isConflict(err)) continue; // re-read: maybe no longer ours
        log.warn('leader election: releasing the lease failed; it expires on its own', { ...fields, error: errorText(err) });
        return;
      }
    }
  };

  const loop = async () => {
    while (!stop.signal.aborted) {
      const acquiredAt = await acquire();
      if (acquiredAt === undefined) break;
      leading = true;
      log.info('leader election: leading', fields);
      const leaderAbort = new AbortController();
      let ended = false;
      const work = (async () => o.onStartedLeading(leaderAbort.signal))()
        .catch((err: unknown) => log.error('leader work failed', { ...fields, error: errorText(err) }))
        .finally(() => {
          ended = true;
          wake();
        });
      const outcome = await renewWhileLeading(acquiredAt, () => ended, () => leaderAbort.abort());
      leaderAbort.abort();
      if (outcome === 'lost') {
        leading = false;
        known = undefined;
        o.onStoppedLeading?.();
        await work;
      } else {
        // The work has stopped: nothing of ours writes any more, so hand the Lease over now.
        await releaseLease();
        leading = false;
        o.onStoppedLeading?.();
        if (!stop.signal.aborted) await sleep(timing.retryPeriodMs);
      }
    }
  };

  const done = loop()
    .catch((err: unknown) => log.error('leader election stopped on an unexpected error', { ...fields, error: errorText(err) }))
    .finally(() => o.signal.removeEventListener('abort', onAbort));

  return {
    identity,
    isLeader: () => leading,
    leader: () => lastSeenHolder,
    release() {
      releaseOnStop = true;
      stop.abort();
      return done;
    },
    done,
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'number' ? `HTTP ${code}: ${err.message.split('\n')[0] ?? ''}` : err.message;
  }
  return String(err);
}
