import { describe, expect, it } from 'vitest';
import { Manager, startOrder, type CacheRunnable, type Election, type Runnable } from '../../../provider/runtime/manager.ts';
import { FakeClock } from './fake-clock.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** Runnables that write what happens to them into one journal. */
function journaled(journal: string[]) {
  const runnable = (name: string, needsLeader: boolean, kind?: Runnable['kind']): Runnable => ({
    name,
    needsLeader,
    ...(kind === undefined ? {} : { kind }),
    start(signal) {
      journal.push(`start ${name}`);
      signal.addEventListener('abort', () => journal.push(`abort ${name}`), { once: true });
      return () => {
        journal.push(`stopped ${name}`);
      };
    },
  });
  const cache = (name: string, state: { synced: boolean }): CacheRunnable => ({
    ...runnable(name, false, 'cache'),
    kind: 'cache',
    hasSynced: () => state.synced,
  });
  return { runnable, cache };
}

/** An election the test drives: grant() makes this replica lead, revoke() loses the Lease. */
function testElection() {
  let lead: ((signal: AbortSignal) => Promise<void>) | undefined;
  let leadership: { abort: AbortController; done: Promise<void> } | undefined;
  const election: Election = {
    start: (o) => {
      lead = o.lead;
      return {
        release: async () => {
          leadership?.abort.abort();
          await leadership?.done;
        },
      };
    },
  };
  return {
    election,
    grant: () => {
      if (lead === undefined) throw new Error('election not started');
      const abort = new AbortController();
      leadership = { abort, done: lead(abort.signal) };
      return leadership.done;
    },
    revoke: async () => {
      leadership?.abort.abort();
      await leadership?.done;
    },
  };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('startOrder', () => {
  it('orders by kind as controller-runtime does, leader runnables last in the order added', () => {
    const r = (name: string, needsLeader: boolean, kind?: Runnable['kind']): Runnable => ({ name, needsLeader, ...(kind ? { kind } : {}), start: () => {} });
    const plan = startOrder([r('pods', true), r('webhook', false, 'webhook'), r('ns', false, 'cache'), r('gc', false), r('nodes', true), r('health', false, 'server')]);
    expect(plan).toEqual([
      { phase: 'server', names: ['health'] },
      { phase: 'webhook', names: ['webhook'] },
      { phase: 'cache', names: ['ns'] },
      { phase: 'other', names: ['gc'] },
      { phase: 'leader', names: ['pods', 'nodes'] },
    ]);
  });
});

describe('Manager', () => {
  it('starts servers, webhooks, caches, waits for sync, then others and the leader runnables; stops in reverse', async () => {
    const journal: string[] = [];
    const { runnable, cache } = journaled(journal);
    const clock = new FakeClock();
    const ns = { synced: false };
    const manager = new Manager({ log: quiet, clock });
    manager.add(runnable('pod-controller', true));
    manager.add(runnable('nodes', true));
    manager.add(cache('namespaces', ns));
    manager.add(runnable('gc', false));
    manager.add(runnable('webhook', false, 'webhook'));
    manager.add(runnable('health', false, 'server'));
    let started = false;
    const starting = manager.start().then(() => (started = true));
    await settle();
    expect(journal).toEqual(['start health', 'start webhook', 'start namespaces']);
    expect(manager.phase).toBe('cache-sync');
    await clock.advance(1_000);
    expect(journal).toHaveLength(3);
    ns.synced = true;
    await clock.advance(50);
    await starting;
    expect(started).toBe(true);
    expect(journal).toEqual(['start health', 'start webhook', 'start namespaces', 'start gc', 'start pod-controller', 'start nodes']);
    expect(manager.isLeader()).toBe(true);
    journal.length = 0;
    await manager.stop();
    expect(journal).toEqual([
      'abort nodes',
      'stopped nodes',
      'abort pod-controller',
      'stopped pod-controller',
      'abort gc',
      'stopped gc',
      'abort namespaces',
      'stopped namespaces',
      'abort webhook',
      'stopped webhook',
      'abort health',
      'stopped health',
    ]);
  });

  it('does not wait for a cache whose sync is not required', async () => {
    const journal: string[] = [];
    const { runnable, cache } = journaled(journal);
    const manager = new Manager({ log: quiet, clock: new FakeClock() });
    const podNetworkings: CacheRunnable = { ...cache('podnetworkings', { synced: false }), waitForSync: () => false };
    manager.add(podNetworkings);
    manager.add(runnable('pods', true));
    await manager.start();
    expect(journal).toEqual(['start podnetworkings', 'start pods']);
    await manager.stop();
  });

  it('runs leader runnables only while leading; a lost Lease stops them and a new leadership starts them again', async () => {
    const journal: string[] = [];
    const { runnable } = journaled(journal);
    const e = testElection();
    const manager = new Manager({ log: quiet, clock: new FakeClock(), election: e.election });
    manager.add(runnable('webhook', false, 'webhook'));
    manager.add(runnable('pods', true));
    await manager.start();
    expect(journal).toEqual(['start webhook']);
    expect(manager.isLeader()).toBe(false);
    void e.grant();
    await settle();
    expect(journal).toEqual(['start webhook', 'start pods']);
    expect(manager.leaderRunning()).toBe(true);
    await e.revoke();
    expect(journal.slice(2)).toEqual(['abort pods', 'stopped pods']);
    expect(manager.isLeader()).toBe(false);
    void e.grant();
    await settle();
    expect(journal.slice(4)).toEqual(['start pods']);
    await manager.stop();
    expect(journal.slice(5)).toEqual(['abort pods', 'stopped pods', 'abort webhook', 'stopped webhook']);
  });

  it('aggregates readiness: leader-only checks count only while leading', async () => {
    const e = testElection();
    const manager = new Manager({ log: quiet, clock: new FakeClock(), election: e.election });
    const state = { cachesSynced: false, podsSynced: false };
    manager.add({ name: 'pods', needsLeader: true, start: () => {} });
    manager.addReadyCheck('informer-podnetworkings', () => (state.cachesSynced ? true : 'not synced'));
    manager.addReadyCheck('leader-pod-controller', () => (state.podsSynced ? true : 'pods not synced'), { leaderOnly: true });
    await manager.start();
    expect(manager.readiness.report().failing.map((f) => f.name)).toEqual(['informer-podnetworkings']);
    state.cachesSynced = true;
    expect(manager.readiness.report().ready).toBe(true); // a follower does not wait for the leader's work
    void e.grant();
    await settle();
    expect(manager.readiness.report().failing.map((f) => f.name)).toEqual(['leader-pod-controller']);
    state.podsSynced = true;
    expect(manager.readiness.report().ready).toBe(true);
    await manager.stop();
  });

  it('a runnable that fails to start stops the ones already started and rejects with its name', async () => {
    const journal: string[] = [];
    const { runnable } = journaled(journal);
    const manager = new Manager({ log: quiet, clock: new FakeClock() });
    manager.add(runnable('health', false, 'server'));
    manager.add(runnable('nodes', true));
    manager.add({ name: 'pods', needsLeader: true, start: () => Promise.reject(new Error('cloud down')) });
    await expect(manager.start()).rejects.toThrow('pods failed to start: cloud down');
    expect(journal).toEqual(['start health', 'start nodes', 'abort nodes', 'stopped nodes', 'abort health', 'stopped health']);
  });

  it('refuses runnables added after start and duplicate names', async () => {
    const manager = new Manager({ log: quiet, clock: new FakeClock() });
    manager.add({ name: 'a', needsLeader: false, start: () => {} });
    expect(() => manager.add({ name: 'a', needsLeader: false, start: () => {} })).toThrow(/already registered/);
    await manager.start();
    expect(() => manager.add({ name: 'b', needsLeader: false, start: () => {} })).toThrow(/after the manager started/);
    await manager.stop();
  });
});
