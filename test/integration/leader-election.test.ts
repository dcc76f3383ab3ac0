// Leader election (adapters/kubernetes/leader.ts) against the REAL apiserver: its Lease
// validation, resourceVersion compare-and-swap and 409s. Electors run in-process, each with its
// own client; their leader work records [start, end] intervals, and two overlapping intervals
// would be two leaders at once.
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { runLeaderElection, type LeaderElection, type LeaderElectionTiming } from '../../adapters/kubernetes/leader.ts';
import { memoryLogger } from './helpers/provider.ts';
import { apis, kubeConfig, uniqueName, useTestNamespace } from './helpers/cluster.ts';
import { waitFor } from './helpers/wait.ts';
import { apiClient, budget, withDeadline } from '../helpers/deadline.ts';

const namespace = useTestNamespace('leader-election');
const TIMING: LeaderElectionTiming = { leaseDurationSeconds: 3, renewDeadlineMs: 2_000, retryPeriodMs: 400 };
/** A follower's worst case after the leader's last renewal: the lease duration plus two jittered polls. */
const TAKEOVER_BOUND_MS = TIMING.leaseDurationSeconds * 1000 + 2 * TIMING.retryPeriodMs * 2.2 + 500;

interface Interval {
  name: string;
  start: number;
  end?: number;
}

/** Lease writes the apiserver refused with 409 Conflict (a lost compare-and-swap), over all electors. */
let conflicts = 0;

/** Lease reads per elector: evidence that it looked again (and could have taken over wrongly). */
const leaseReads = new Map<string, number>();

/** A client per elector (its own connections, like separate processes) that counts 409s and reads. */
function coordinationClient(identity: string): CoordinationV1Api {
  const client = apiClient(kubeConfig(), CoordinationV1Api);
  const read = client.readNamespacedLease.bind(client);
  client.readNamespacedLease = (...args: Parameters<typeof read>) => {
    leaseReads.set(identity, (leaseReads.get(identity) ?? 0) + 1);
    return read(...args);
  };
  const count = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      if ((err as { code?: number }).code === 409) conflicts++;
      throw err;
    });
  const replace = client.replaceNamespacedLease.bind(client);
  const create = client.createNamespacedLease.bind(client);
  client.replaceNamespacedLease = (...args: Parameters<typeof replace>) => count(replace(...args));
  client.createNamespacedLease = (...args: Parameters<typeof create>) => count(create(...args));
  return client;
}

function startElectors(lease: string, names: string[], options: { releaseOnCancel?: boolean } = {}) {
  const intervals: Interval[] = [];
  const aborts = new Map<string, AbortController>();
  const elections = new Map<string, LeaderElection>();
  for (const name of names) {
    const abort = new AbortController();
    aborts.set(name, abort);
    elections.set(
      name,
      runLeaderElection({
        coordination: coordinationClient(name),
        namespace: namespace(),
        name: lease,
        identity: name,
        timing: TIMING,
        signal: abort.signal,
        releaseOnCancel: options.releaseOnCancel ?? true,
        log: memoryLogger().log,
        onStartedLeading: async (leaderSignal) => {
          const interval: Interval = { name, start: Date.now() };
          intervals.push(interval);
          await new Promise<void>((resolve) => leaderSignal.addEventListener('abort', () => resolve(), { once: true }));
          interval.end = Date.now();
        },
      }),
    );
  }
  const leaders = () => names.filter((n) => elections.get(n)!.isLeader());
  return {
    intervals,
    aborts,
    elections,
    leaders,
    /** Waits until every elector that is not leading has read the Lease `polls` more times. */
    followersPolled: async (polls: number) => {
      const followers = names.filter((n) => !leaders().includes(n));
      const before = new Map(followers.map((n) => [n, leaseReads.get(n) ?? 0]));
      const seen = () => followers.map((n) => `${n} +${(leaseReads.get(n) ?? 0) - before.get(n)!}`).join(', ');
      await waitFor(() => followers.every((n) => (leaseReads.get(n) ?? 0) - before.get(n)! >= polls), {
        timeoutMs: budget({ baseMs: 20_000 }) + polls * TIMING.retryPeriodMs * 2.2,
        describe: () => `every follower to read the Lease ${polls} more times (reads so far: ${seen()})`,
      });
    },
    overlaps: () =>
      intervals.flatMap((a, i) =>
        intervals
          .slice(i + 1)
          .filter((b) => a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity))
          .map((b) => `${a.name}[${a.start}-${a.end ?? ''}] & ${b.name}[${b.start}-${b.end ?? ''}]`),
      ),
    stopAll: async () => {
      for (const abort of aborts.values()) abort.abort();
      await withDeadline(Promise.all([...elections.values()].map((e) => e.done)), budget({ baseMs: 30_000 }), `electors ${names.join(', ')} to stop`);
    },
  };
}

const readLease = (name: string): Promise<V1Lease> => apis().coordination.readNamespacedLease({ name, namespace: namespace() });

describe('leader election on the real apiserver', () => {
  it('of two electors exactly one leads, and the Lease names it with acquireTime, renewTime and transitions', async () => {
    const lease = uniqueName('le');
    const e = startElectors(lease, ['a', 'b']);
    try {
      const [leader] = await waitFor(() => (e.leaders().length > 0 ? e.leaders() : undefined), { timeoutMs: budget({ baseMs: 30_000 }), describe: 'a leader' });
      // The follower had two chances to (wrongly) take the Lease over.
      await e.followersPolled(2);
      expect(e.leaders()).toEqual([leader]);
      const stored = await readLease(lease);
      expect(stored.spec?.holderIdentity).toBe(leader);
      expect(stored.spec?.leaseDurationSeconds).toBe(TIMING.leaseDurationSeconds);
      expect(stored.spec?.leaseTransitions).toBe(0);
      const renewed = new Date(stored.spec!.renewTime as unknown as string).getTime();
      expect(Date.now() - renewed).toBeLessThan(TIMING.retryPeriodMs * 3);
      expect(new Date(stored.spec!.acquireTime as unknown as string).getTime()).toBeLessThanOrEqual(renewed);
      expect(e.overlaps()).toEqual([]);
    } finally {
      await e.stopAll();
    }
  });

  it('a leader killed without releasing is replaced within the lease duration (plus the polls), never earlier', async () => {
    const lease = uniqueName('le');
    const e = startElectors(lease, ['a', 'b'], { releaseOnCancel: false });
    try {
      const [first] = await waitFor(() => (e.leaders().length > 0 ? e.leaders() : undefined), { timeoutMs: budget({ baseMs: 30_000 }), describe: 'a leader' });
      const second = first === 'a' ? 'b' : 'a';
      const lastRenew = new Date((await readLease(lease)).spec!.renewTime as unknown as string).getTime();
      e.aborts.get(first!)!.abort(); // like SIGKILL: nothing more is written
      const killedAt = Date.now();
      await waitFor(() => e.leaders().includes(second), { timeoutMs: TAKEOVER_BOUND_MS + budget({ baseMs: 20_000 }), describe: `${second} to lead` });
      const tookOver = Date.now() - killedAt;
      expect(tookOver).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
      // Not before the lease duration has passed since the last renewal.
      const start = e.intervals.find((i) => i.name === second)!.start;
      expect(start - lastRenew).toBeGreaterThanOrEqual(TIMING.leaseDurationSeconds * 1000 - 200);
      const stored = await readLease(lease);
      expect(stored.spec?.holderIdentity).toBe(second);
      expect(stored.spec?.leaseTransitions).toBe(1);
      expect(e.overlaps()).toEqual([]);
    } finally {
      await e.stopAll();
    }
  });

  it('a graceful release hands over at once (within one poll), not after the lease duration', async () => {
    const lease = uniqueName('le');
    const e = startElectors(lease, ['a', 'b']);
    try {
      const [first] = await waitFor(() => (e.leaders().length > 0 ? e.leaders() : undefined), { timeoutMs: budget({ baseMs: 30_000 }), describe: 'a leader' });
      const second = first === 'a' ? 'b' : 'a';
      await e.elections.get(first!)!.release();
      const releasedAt = Date.now();
      expect((await readLease(lease)).spec?.holderIdentity).toBe('');
      await waitFor(() => e.leaders().includes(second), { timeoutMs: budget({ baseMs: 20_000 }), describe: `${second} to lead` });
      expect(Date.now() - releasedAt).toBeLessThan(TIMING.retryPeriodMs * 2.2 + 500);
      expect(Date.now() - releasedAt).toBeLessThan(TIMING.leaseDurationSeconds * 1000);
      expect(e.overlaps()).toEqual([]);
    } finally {
      await e.stopAll();
    }
  });

  it('electors racing for a released Lease: the apiserver answers 409 to all but one, never two leaders', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    conflicts = 0;
    for (let round = 0; round < 3; round++) {
      const lease = uniqueName('le-race');
      // A released Lease: every elector sees it free on its first read and replaces at once.
      await apis().coordination.createNamespacedLease({
        namespace: namespace(),
        body: { metadata: { name: lease }, spec: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 } },
      });
      const e = startElectors(lease, names);
      try {
        await waitFor(() => e.leaders().length > 0, { timeoutMs: budget({ baseMs: 30_000 }), describe: 'a leader' });
        await e.followersPolled(3);
        expect(e.leaders()).toHaveLength(1);
        expect(e.intervals).toHaveLength(1);
        const stored = await readLease(lease);
        expect(stored.spec?.holderIdentity).toBe(e.leaders()[0]);
        expect(stored.spec?.leaseTransitions).toBe(4);
        expect(e.overlaps()).toEqual([]);
      } finally {
        await e.stopAll();
      }
    }
    // The race was real: writes were refused by the apiserver's compare-and-swap.
    expect(conflicts).toBeGreaterThanOrEqual(3);
  });
});
