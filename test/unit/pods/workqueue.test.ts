import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../helpers/deadline.ts';
import { KeyedWorkQueue, type SyncResult } from '../../../provider/pods/workqueue.ts';

const done: SyncResult = { kind: 'done' };

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KeyedWorkQueue', () => {
  it('never runs one key on two workers at once, and re-runs it once for changes that arrived meanwhile', async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const queue = new KeyedWorkQueue<string>({
      concurrency: 8,
      backoffBaseMs: 1,
      backoffMaxMs: 1,
      handle: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs++;
        if (runs === 1) await gate.promise;
        running--;
        return done;
      },
    });
    queue.add('a');
    await Promise.resolve();
    queue.add('a');
    queue.add('a');
    queue.add('a');
    gate.resolve();
    await withDeadline(queue.idle(), 5_000, 'the work queue to go idle');
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('folds repeated adds of a queued key into one run', async () => {
    const seen: string[] = [];
    const queue = new KeyedWorkQueue<string>({
      concurrency: 1,
      backoffBaseMs: 1,
      backoffMaxMs: 1,
      handle: async (key) => {
        seen.push(key);
        return done;
      },
    });
    queue.add('a');
    queue.add('b');
    queue.add('b');
    queue.add('c');
    queue.add('b');
    await withDeadline(queue.idle(), 5_000, 'the work queue to go idle');
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('backs off a failing key exponentially while other keys proceed', async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const handled: string[] = [];
    const errors: number[] = [];
    const queue = new KeyedWorkQueue<string>({
      concurrency: 2,
      backoffBaseMs: 100,
      backoffMaxMs: 1_000,
      random: () => 1,
      setTimer: (fn, ms) => timers.push({ fn, ms }),
      clearTimer: () => {},
      onError: (_key, _err, _attempt, retryInMs) => errors.push(retryInMs),
      handle: async (key) => {
        handled.push(key);
        if (key === 'bad') throw new Error('boom');
        return done;
      },
    });
    queue.add('bad');
    queue.add('good');
    await withDeadline(queue.idle(), 5_000, 'the work queue to go idle');
    expect(handled).toEqual(['bad', 'good']);
    for (let i = 0; i < 5; i++) {
      const timer = timers.shift()!;
      timer.fn();
      await withDeadline(queue.idle(), 5_000, 'the work queue to go idle');
    }
    // 100, 200, 400, 800, then capped at 1000 (random() = 1: the full delay).
    expect(errors).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('honours requeueAfter and shutDown waits for in-flight work and refuses new keys', async () => {
    const timers: number[] = [];
    const gate = deferred();
    let finished = false;
    const queue = new KeyedWorkQueue<string>({
      concurrency: 1,
      backoffBaseMs: 1,
      backoffMaxMs: 1,
      setTimer: (_fn, ms) => timers.push(ms),
      clearTimer: () => {},
      handle: async (key) => {
        if (key === 'slow') {
          await gate.promise;
          finished = true;
          return done;
        }
        return { kind: 'requeueAfter', ms: 750 };
      },
    });
    queue.add('later');
    await withDeadline(queue.idle(), 5_000, 'the work queue to go idle');
    expect(timers).toEqual([750]);
    queue.add('slow');
    const stopping = queue.shutDown();
    queue.add('refused');
    gate.resolve();
    await withDeadline(stopping, 5_000, 'shutDown to resolve');
    expect(finished).toBe(true);
    expect(queue.depth).toBe(0);
  });

  it('a run waiting in the create lane frees its worker; the create lane has its own slots', async () => {
    const gates = new Map([['create-1', deferred()], ['create-2', deferred()]]);
    const order: string[] = [];
    const queue = new KeyedWorkQueue<string>({
      concurrency: 1,
      createConcurrency: 1,
      backoffBaseMs: 1,
      backoffMaxMs: 1,
      handle: async (key, work) => {
        const gate = gates.get(key);
        if (gate !== undefined) {
          await work.enterCreateLane();
          order.push(`${key} has a create slot`);
          await gate.promise;
        }
        order.push(`${key} done`);
        return done;
      },
    });
    queue.add('create-1');
    queue.add('create-2');
    queue.add('status');
    await until(() => order.includes('status done') && order.includes('create-1 has a create slot'), 'the status key to finish while both creates wait', order);
    // One create slot: the second create waits for it, holding no worker.
    expect([...order].sort()).toEqual(['create-1 has a create slot', 'status done']);
    expect(queue.inCreateLane).toBe(2);
    gates.get('create-1')!.resolve();
    await until(() => order.includes('create-2 has a create slot'), 'create-2 to get the freed create slot', order);
    gates.get('create-2')!.resolve();
    await withDeadline(queue.idle(), 5_000, 'the work queue to go idle');
    expect(order.slice(2)).toEqual(['create-1 done', 'create-2 has a create slot', 'create-2 done']);
    expect(queue.inFlight).toBe(0);
  });
});

/** Resolves once `probe` holds; fails after 2 s saying what it waited for and what it last saw. */
async function until(probe: () => boolean, what: string, seen: unknown): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after 2 s waiting for ${what}; last saw ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('KeyedWorkQueue follow-ups', () => {
  it('takes a follow-up (soon, or back after its own requeueAfter) before the plain order of new keys', async () => {
    const seen: string[] = [];
    const gate = deferred();
    const timers: (() => void)[] = [];
    const queue = new KeyedWorkQueue<string>({
      concurrency: 1,
      backoffBaseMs: 1,
      backoffMaxMs: 1,
      setTimer: (fn) => timers.push(fn),
      clearTimer: () => {},
      handle: async (key) => {
        seen.push(key);
        if (key === 'first') await gate.promise;
        // 'created' asks to come back later (a look at its new group).
        return key === 'created' && seen.filter((k) => k === 'created').length === 1 ? { kind: 'requeueAfter', ms: 1_000 } : done;
      },
    });
    queue.add('created');
    await new Promise((r) => setTimeout(r, 0));
    queue.add('first');
    await new Promise((r) => setTimeout(r, 0));
    // A flood of new pods queues while 'first' holds the only worker.
    for (const k of ['new-1', 'new-2', 'new-3']) queue.add(k);
    // 'new-3' changed in the cloud: it moves ahead of the plain order.
    queue.add('new-3', { soon: true });
    // 'created' comes back from its requeueAfter.
    timers.shift()!();
    gate.resolve();
    await withDeadline(queue.idle(), 5_000, 'the work queue to go idle');
    expect(seen).toEqual(['created', 'first', 'new-3', 'created', 'new-1', 'new-2']);
  });
});

describe('KeyedWorkQueue write lane', () => {
  /** A queue whose handler enters `lane` for the keys that have a gate and waits on it there. */
  function gatedQueue(o: { concurrency: number; writeConcurrency?: number; createConcurrency?: number; lane: (key: string) => 'write' | 'create' | 'write-after-create' | undefined; onError?: (key: string, err: unknown) => void }) {
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const gateOf = (key: string) => gates.get(key) ?? gates.set(key, deferred()).get(key)!;
    const log: string[] = [];
    let holding = 0;
    let maxHolding = 0;
    const runningNow = new Map<string, number>();
    let maxSameKey = 0;
    const timers: (() => void)[] = [];
    const queue = new KeyedWorkQueue<string>({
      concurrency: o.concurrency,
      ...(o.writeConcurrency === undefined ? {} : { writeConcurrency: o.writeConcurrency }),
      ...(o.createConcurrency === undefined ? {} : { createConcurrency: o.createConcurrency }),
      backoffBaseMs: 1,
      backoffMaxMs: 1,
      setTimer: (fn) => timers.push(fn),
      clearTimer: () => {},
      ...(o.onError === undefined ? {} : { onError: o.onError }),
      handle: async (key, work) => {
        runningNow.set(key, (runningNow.get(key) ?? 0) + 1);
        maxSameKey = Math.max(maxSameKey, runningNow.get(key)!);
        try {
          const lane = o.lane(key);
          if (lane === 'create' || lane === 'write-after-create') await work.enterCreateLane();
          if (lane === 'write' || lane === 'write-after-create') await work.enterWriteLane();
          if (lane !== undefined) {
            holding++;
            maxHolding = Math.max(maxHolding, holding);
            log.push(`${key} has a slot`);
            await gateOf(key).promise;
            holding--;
          }
          log.push(`${key} done`);
          return done;
        } finally {
          runningNow.set(key, runningNow.get(key)! - 1);
        }
      },
    });
    return { queue, log, open: (key: string) => gateOf(key).resolve(), stats: () => ({ maxHolding, maxSameKey }) };
  }

  it('a run in the write lane frees its worker: other keys sync while its PATCH waits', async () => {
    const q = gatedQueue({ concurrency: 1, writeConcurrency: 4, lane: (key) => (key.startsWith('patch') ? 'write' : undefined) });
    q.queue.add('patch-1');
    q.queue.add('patch-2');
    q.queue.add('new-pod');
    // One worker: without the lane, new-pod would wait for both PATCHes.
    await until(() => q.log.includes('new-pod done') && q.log.includes('patch-2 has a slot'), 'new-pod to finish while both PATCHes wait', q.log);
    expect(q.queue.inWriteLane).toBe(2);
    expect(q.queue.inFlight).toBe(2);
    q.open('patch-1');
    q.open('patch-2');
    await withDeadline(q.queue.idle(), 5_000, 'the work queue to go idle');
    expect(q.queue.inWriteLane).toBe(0);
    expect(q.queue.inFlight).toBe(0);
  });

  it('honours the write lane concurrency, apart from the workers and the create lane', async () => {
    const keys = ['w1', 'w2', 'w3', 'w4', 'w5'];
    const q = gatedQueue({ concurrency: 1, writeConcurrency: 2, createConcurrency: 1, lane: (key) => (key.startsWith('w') ? 'write' : 'create') });
    for (const key of keys) q.queue.add(key);
    q.queue.add('c1');
    await until(() => q.log.includes('w2 has a slot') && q.log.includes('c1 has a slot'), 'two writes and the create to hold slots', q.log);
    // All five wait in the lane (no worker held), two of them with a slot.
    expect(q.queue.inWriteLane).toBe(5);
    expect(q.queue.inCreateLane).toBe(1);
    expect(q.log.filter((l) => l.endsWith('has a slot')).sort()).toEqual(['c1 has a slot', 'w1 has a slot', 'w2 has a slot']);
    q.open('w1');
    await until(() => q.log.includes('w3 has a slot'), 'w3 to get the slot w1 freed', q.log);
    expect(q.log).not.toContain('w4 has a slot');
    for (const key of [...keys, 'c1']) q.open(key);
    await withDeadline(q.queue.idle(), 5_000, 'the work queue to go idle');
    // 3 = two write slots + one create slot: the lanes' slots are their own.
    expect(q.stats().maxHolding).toBe(3);
  });

  it('never runs a key twice at once across lanes; an add during its write re-runs it once after', async () => {
    let runs = 0;
    const q = gatedQueue({ concurrency: 4, writeConcurrency: 4, lane: (key) => (key === 'a' && ++runs === 1 ? 'write' : undefined) });
    q.queue.add('a');
    await until(() => q.log.includes('a has a slot'), 'a to hold a write slot', q.log);
    // The worker a left is free, but a is still processing: these adds only mark it dirty.
    q.queue.add('a');
    q.queue.add('a', { soon: true });
    q.queue.add('b');
    await until(() => q.log.includes('b done'), 'b to run on the freed worker', q.log);
    expect(q.log.filter((l) => l === 'a done')).toEqual([]);
    q.open('a');
    await withDeadline(q.queue.idle(), 5_000, 'the work queue to go idle');
    expect(q.log.filter((l) => l === 'a done')).toEqual(['a done', 'a done']);
    expect(q.stats().maxSameKey).toBe(1);
  });

  it('a run already in the create lane stays there when it writes (one slot, not two)', async () => {
    const q = gatedQueue({ concurrency: 1, writeConcurrency: 1, createConcurrency: 1, lane: (key) => (key === 'created' ? 'write-after-create' : key === 'patch' ? 'write' : undefined) });
    q.queue.add('created');
    await until(() => q.log.includes('created has a slot'), 'created to hold its create slot', q.log);
    q.queue.add('patch');
    // The write slot is free: 'created' did not take it.
    await until(() => q.log.includes('patch has a slot'), 'patch to get the only write slot', q.log);
    expect(q.queue.inCreateLane).toBe(1);
    expect(q.queue.inWriteLane).toBe(1);
    q.open('created');
    q.open('patch');
    await withDeadline(q.queue.idle(), 5_000, 'the work queue to go idle');
  });

  it('shutDown lets the run holding a write slot finish and drops the runs waiting for one, with no error or retry', async () => {
    const errors: string[] = [];
    const q = gatedQueue({ concurrency: 3, writeConcurrency: 1, lane: () => 'write', onError: (key, err) => errors.push(`${key}: ${String(err)}`) });
    q.queue.add('p1');
    q.queue.add('p2');
    q.queue.add('p3');
    await until(() => q.queue.inWriteLane === 3 && q.log.includes('p1 has a slot'), 'p1 to hold the write slot and p2, p3 to wait', q.log);
    let stopped = false;
    const stopping = q.queue.shutDown().then(() => (stopped = true));
    // p2 and p3 leave the lane at once: only p1 holds the queue open.
    await until(() => q.queue.inWriteLane === 1, 'the waiting runs to be dropped', q.log);
    expect(stopped).toBe(false);
    q.open('p1');
    await withDeadline(stopping, 5_000, 'shutDown to resolve');
    expect(q.log).toEqual(['p1 has a slot', 'p1 done']);
    expect(errors).toEqual([]);
    expect(q.queue.inFlight).toBe(0);
  });

  it('serves a follow-up waiting for a write slot before first syncs that came earlier, and first syncs in the order they came', async () => {
    const q = gatedQueue({ concurrency: 1, writeConcurrency: 1, lane: () => 'write' });
    for (const key of ['holder', 'n1', 'n2', 'n3']) q.queue.add(key);
    await until(() => q.queue.inWriteLane === 4, 'the holder and three first syncs in the write lane', q.log);
    // The poller says f's group changed: a follow-up, waiting behind the same slot.
    q.queue.add('f', { soon: true });
    await until(() => q.queue.inWriteLane === 5, 'the follow-up to wait in the write lane too', q.log);
    for (const key of ['holder', 'f', 'n1', 'n2', 'n3']) q.open(key);
    await withDeadline(q.queue.idle(), 5_000, 'the work queue to go idle');
    expect(q.log.filter((l) => l.endsWith('has a slot'))).toEqual(['holder has a slot', 'f has a slot', 'n1 has a slot', 'n2 has a slot', 'n3 has a slot']);
  });
});
