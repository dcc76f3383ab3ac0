// Leader election: the pure decision and Lease body as tables, then the loops against an
// in-memory Lease store that does what the apiserver does (resourceVersion compare-and-swap,
// 409 on a stale replace or a second create) with injectable partitions. The same scenarios run
// against the real apiserver in test/integration/leader-election.test.ts.
import type { V1Lease } from '@kubernetes/client-node';
import { ApiException, V1MicroTime } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { decideLease, leaderElectionTimingProblems, leaderIdentity, nextLease, runLeaderElection, type LeaderElection, type LeaderElectionTiming } from './leader.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const TIMING: LeaderElectionTiming = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function lease(spec: NonNullable<V1Lease['spec']>, resourceVersion = '7'): V1Lease {
  return { metadata: { name: 'l', namespace: 'ns', resourceVersion }, spec };
}

describe('decideLease', () => {
  const held = (holder: string, renewedAt: number) => lease({ holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new V1MicroTime(renewedAt) });
  it.each([
    { name: 'no Lease: create', input: { lease: undefined, now: T0 }, expected: { kind: 'create' } },
    { name: 'ours: renew', input: { lease: held('me', T0 - 60_000), now: T0 }, expected: { kind: 'renew' } },
    { name: 'released (holder ""): acquire at once', input: { lease: held('', T0), now: T0 }, expected: { kind: 'acquire', reason: 'released', previousHolder: '' } },
    { name: 'held, observed 5 s ago: wait the remaining 10 s', input: { lease: held('other', T0), now: T0 + 5_000, observedAt: T0 }, expected: { kind: 'wait', ms: 10_000, holder: 'other' } },
    { name: 'held, observed 15 s ago: expired', input: { lease: held('other', T0), now: T0 + 15_000, observedAt: T0 }, expected: { kind: 'acquire', reason: 'expired', previousHolder: 'other' } },
    // The holder's clock says long ago, but we only just saw it change: our own clock counts.
    { name: 'renewTime 1 h old but first seen now: wait a full duration', input: { lease: held('other', T0 - 3_600_000), now: T0, observedAt: T0 }, expected: { kind: 'wait', ms: 15_000, holder: 'other' } },
    { name: 'no observation: the renewTime counts', input: { lease: held('other', T0 - 20_000), now: T0 }, expected: { kind: 'acquire', reason: 'expired', previousHolder: 'other' } },
    { name: 'the Lease\'s own duration wins over ours', input: { lease: lease({ holderIdentity: 'other', leaseDurationSeconds: 1 }), now: T0 + 1_000, observedAt: T0 }, expected: { kind: 'acquire', reason: 'expired', previousHolder: 'other' } },
    { name: 'held without any time: expired', input: { lease: lease({ holderIdentity: 'other' }), now: T0 }, expected: { kind: 'acquire', reason: 'expired', previousHolder: 'other' } },
  ])('$name', ({ input, expected }) => {
    expect(decideLease({ identity: 'me', timing: TIMING, ...input })).toEqual(expected);
  });
});

describe('nextLease', () => {
  const base = { identity: 'me', now: T0, timing: TIMING, name: 'l', namespace: 'ns' };
  const current = lease({ holderIdentity: 'other', leaseDurationSeconds: 30, acquireTime: new V1MicroTime(T0 - 99_000), renewTime: new V1MicroTime(T0 - 20_000), leaseTransitions: 4 });
  const json = (l: V1Lease) => JSON.parse(JSON.stringify(l)) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };

  it('create: holds it, transitions 0, no resourceVersion', () => {
    const l = json(nextLease({ ...base, current: undefined, action: 'create' }));
    expect(l.metadata).toEqual({ name: 'l', namespace: 'ns' });
    expect(l.spec).toEqual({ holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 0 });
  });
  it('acquire: carries the read resourceVersion (compare-and-swap), counts a transition, new acquireTime', () => {
    const l = json(nextLease({ ...base, current, action: 'acquire' }));
    expect(l.metadata.resourceVersion).toBe('7');
    expect(l.spec).toMatchObject({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 5, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime: '2026-01-01T00:00:00.000000Z' });
  });
  it('renew: keeps acquireTime and transitions, moves renewTime', () => {
    const ours = lease({ ...current.spec, holderIdentity: 'me' });
    const l = json(nextLease({ ...base, current: ours, action: 'renew' }));
    expect(l.spec).toMatchObject({ holderIdentity: 'me', leaseTransitions: 4, acquireTime: '2025-12-31T23:58:21.000000Z', renewTime: '2026-01-01T00:00:00.000000Z' });
  });
  it('release: holder "", duration 1 s, transitions kept', () => {
    const ours = lease({ ...current.spec, holderIdentity: 'me' });
    const l = json(nextLease({ ...base, current: ours, action: 'release' }));
    expect(l.metadata.resourceVersion).toBe('7');
    expect(l.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 });
  });
});

describe('timing and identity', () => {
  it.each([
    [TIMING, []],
    [{ ...TIMING, renewDeadlineMs: 15_000 }, ['renewDeadlineMs (15000) must be below leaseDurationSeconds (15 s)']],
    [{ ...TIMING, retryPeriodMs: 9_000 }, ['renewDeadlineMs (10000) must be above 1.2 x retryPeriodMs (9000)']],
    [{ ...TIMING, leaseDurationSeconds: 1.5 }, ['leaseDurationSeconds must be a positive integer, got 1.5', 'renewDeadlineMs (10000) must be below leaseDurationSeconds (1.5 s)']],
  ])('%o -> %o', (timing, problems) => {
    expect(leaderElectionTimingProblems(timing)).toEqual(problems);
  });
  it('identity = base + random suffix, unique per call', () => {
    const a = leaderIdentity('pod-1');
    expect(a).toMatch(/^pod-1_[0-9a-f]{8}$/);
    expect(leaderIdentity('pod-1')).not.toBe(a);
  });
});

// --- the loops, against an in-memory apiserver -------------------------------------------------

/** One Lease, stored like the apiserver stores it: every write bumps resourceVersion; CAS on replace. */
class FakeLeases {
  lease: V1Lease | undefined;
  rv = 0;
  writes: { identity: string; holder: string; at: number }[] = [];
  /** Per-client partitions: while set, that client's calls hang (never answer). */
  partitioned = new Set<string>();

  client(clientName: string) {
    const gate = async () => {
      if (this.partitioned.has(clientName)) await new Promise(() => {});
      await new Promise((r) => setTimeout(r, 1));
    };
    const conflict = () => new ApiException(409, 'Conflict', { reason: 'Conflict' }, {});
    const copy = (l: V1Lease) => structuredClone(JSON.parse(JSON.stringify(l)) as V1Lease);
    return {
      readNamespacedLease: async () => {
        await gate();
        if (this.lease === undefined) throw new ApiException(404, 'NotFound', {}, {});
        return copy(this.lease);
      },
      createNamespacedLease: async ({ body }: { body: V1Lease }) => {
        await gate();
        if (this.lease !== undefined) throw conflict();
        return this.store(clientName, body);
      },
      replaceNamespacedLease: async ({ body }: { body: V1Lease }) => {
        await gate();
        if (this.lease === undefined) throw new ApiException(404, 'NotFound', {}, {});
        if (body.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion) throw conflict();
        return this.store(clientName, body);
      },
    };
  }

  private store(clientName: string, body: V1Lease): V1Lease {
    this.rv++;
    this.lease = JSON.parse(JSON.stringify({ ...body, metadata: { ...body.metadata, resourceVersion: String(this.rv) } })) as V1Lease;
    this.writes.push({ identity: clientName, holder: body.spec?.holderIdentity ?? '', at: Date.now() });
    return JSON.parse(JSON.stringify(this.lease)) as V1Lease;
  }
}

const FAST: LeaderElectionTiming = { leaseDurationSeconds: 2, renewDeadlineMs: 1_000, retryPeriodMs: 200 };
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Electors whose leader work records [start, end] intervals; overlapping intervals = two leaders. */
function electors(store: FakeLeases, names: string[]) {
  const intervals: { name: string; start: number; end?: number }[] = [];
  const aborts = new Map<string, AbortController>();
  const elections = new Map<string, LeaderElection>();
  for (const name of names) {
    const abort = new AbortController();
    aborts.set(name, abort);
    elections.set(
      name,
      runLeaderElection({
        coordination: store.client(name),
        namespace: 'ns',
        name: 'l',
        identity: name,
        timing: FAST,
        signal: abort.signal,
        log: quiet,
        onStartedLeading: async (leaderSignal) => {
          const interval: { name: string; start: number; end?: number } = { name, start: Date.now() };
          intervals.push(interval);
          await new Promise<void>((resolve) => leaderSignal.addEventListener('abort', () => resolve(), { once: true }));
          interval.end = Date.now();
        },
      }),
    );
  }
  const leaders = () => names.filter((n) => elections.get(n)!.isLeader());
  const overlaps = () =>
    intervals.flatMap((a, i) => intervals.slice(i + 1).filter((b) => a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity)).map((b) => `${a.name}&${b.name}`));
  return { intervals, aborts, elections, leaders, overlaps };
}

async function until(probe: () => boolean, ms: number, what: string): Promise<number> {
  const start = Date.now();
  while (!probe()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - start;
}

describe('runLeaderElection (in-memory apiserver)', () => {
  it('of three electors exactly one leads; the others keep polling and never write', async () => {
    const store = new FakeLeases();
    const e = electors(store, ['a', 'b', 'c']);
    await until(() => e.leaders().length === 1, 3_000, 'a leader');
    await sleep(1_000);
    expect(e.leaders()).toHaveLength(1);
    const leader = e.leaders()[0]!;
    expect(store.lease?.spec?.holderIdentity).toBe(leader);
    expect(new Set(store.writes.map((w) => w.identity))).toEqual(new Set([leader]));
    expect(store.writes.length).toBeGreaterThanOrEqual(4); // renewed every retryPeriod
    for (const abort of e.aborts.values()) abort.abort();
    await Promise.all([...e.elections.values()].map((x) => x.done));
  });

  it('a crashed leader (no release) is replaced after the lease duration, never before', async () => {
    const store = new FakeLeases();
    const e = electors(store, ['a', 'b']);
    await until(() => e.leaders().length === 1, 3_000, 'a leader');
    const first = e.leaders()[0]!;
    const crashedAt = Date.now();
    store.partitioned.add(first); // the process is gone: no more requests arrive from it
    const after = await until(() => e.leaders().some((n) => n !== first), 6_000, 'the other to lead');
    expect(after + 50).toBeGreaterThanOrEqual(FAST.leaseDurationSeconds * 1000 - FAST.retryPeriodMs);
    expect(after).toBeLessThan(FAST.leaseDurationSeconds * 1000 + 2 * FAST.retryPeriodMs * 2.2);
    // The partitioned one stepped down by its renew deadline, before the other started.
    const old = e.intervals.find((i) => i.name === first)!;
    expect(old.end).toBeDefined();
    expect(old.end! - crashedAt).toBeLessThanOrEqual(FAST.renewDeadlineMs + 100);
    expect(e.overlaps()).toEqual([]);
    expect(store.lease?.spec?.leaseTransitions).toBe(1);
    for (const abort of e.aborts.values()) abort.abort();
    store.partitioned.clear();
  });

  it('release() stops the work first, then frees the Lease; the successor takes over within a poll', async () => {
    const store = new FakeLeases();
    const e = electors(store, ['a', 'b']);
    await until(() => e.leaders().length === 1, 3_000, 'a leader');
    const first = e.leaders()[0]!;
    const second = first === 'a' ? 'b' : 'a';
    await e.elections.get(first)!.release();
    expect(e.elections.get(first)!.isLeader()).toBe(false);
    expect(store.lease?.spec?.holderIdentity).toBe('');
    const after = await until(() => e.leaders().includes(second), 2_000, 'the successor');
    expect(after).toBeLessThan(FAST.retryPeriodMs * (1 + 1.2) + 200);
    expect(e.overlaps()).toEqual([]);
    e.aborts.get(second)!.abort();
    await e.elections.get(second)!.done;
    // Aborting the signal releases as well (releaseOnCancel defaults to true).
    expect(store.lease?.spec?.holderIdentity).toBe('');
  });

  it('keeps renewing while the work winds down after a stop, and releases only once it has stopped', async () => {
    const store = new FakeLeases();
    let workStoppedAt = 0;
    const abort = new AbortController();
    const election = runLeaderElection({
      coordination: store.client('slow'),
      namespace: 'ns',
      name: 'l',
      identity: 'slow',
      timing: FAST,
      signal: abort.signal,
      log: quiet,
      onStartedLeading: async (leaderSignal) => {
        await new Promise<void>((resolve) => leaderSignal.addEventListener('abort', () => resolve(), { once: true }));
        await sleep(2_500); // longer than the lease duration
        workStoppedAt = Date.now();
      },
    });
    await until(() => election.isLeader(), 2_000, 'leading');
    const stoppedAt = Date.now();
    abort.abort();
    await election.done;
    const renewalsWhileStopping = store.writes.filter((w) => w.at > stoppedAt && w.at < workStoppedAt && w.holder === 'slow');
    expect(renewalsWhileStopping.length).toBeGreaterThanOrEqual(5);
    const release = store.writes.at(-1)!;
    expect(release.holder).toBe('');
    expect(release.at).toBeGreaterThanOrEqual(workStoppedAt);
  });

  it('a work that fails on its own gives the Lease up and competes again', async () => {
    const store = new FakeLeases();
    let starts = 0;
    const abort = new AbortController();
    const election = runLeaderElection({
      coordination: store.client('x'),
      namespace: 'ns',
      name: 'l',
      identity: 'x',
      timing: FAST,
      signal: abort.signal,
      log: quiet,
      onStartedLeading: async () => {
        starts++;
        if (starts === 1) throw new Error('start-up failed');
        await new Promise(() => {});
      },
    });
    await until(() => starts === 2, 3_000, 'a second start');
    expect(store.writes.some((w) => w.holder === '')).toBe(true);
    expect(store.lease?.spec?.leaseTransitions).toBe(1); // x -> "" -> x
    abort.abort();
    void election;
  });

  it('racing electors on a free Lease: the CAS lets exactly one win each time', async () => {
    for (let round = 0; round < 5; round++) {
      const store = new FakeLeases();
      store.lease = lease({ holderIdentity: '', leaseDurationSeconds: 1 }, '0');
      const e = electors(store, ['a', 'b', 'c', 'd']);
      await until(() => e.leaders().length >= 1, 3_000, 'a leader');
      await sleep(300);
      expect(e.leaders()).toHaveLength(1);
      expect(e.overlaps()).toEqual([]);
      for (const abort of e.aborts.values()) abort.abort();
      await Promise.all([...e.elections.values()].map((x) => x.done));
    }
  });
});
