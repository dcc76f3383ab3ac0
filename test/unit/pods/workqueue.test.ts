import { describe, expect, it } from 'vitest';
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
    await queue.idle();
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
    await queue.idle();
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
    await queue.idle();
    expect(handled).toEqual(['bad', 'good']);
    for (let i = 0; i < 5; i++) {
      const timer = timers.shift()!;
      timer.fn();
      await queue.idle();
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
    await queue.idle();
    expect(timers).toEqual([750]);
    queue.add('slow');
    const stopping = queue.shutDown();
    queue.add('refused');
    gate.resolve();
    await stopping;
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
    await queue.idle();
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
    await queue.idle();
    expect(seen).toEqual(['created', 'first', 'new-3', 'created', 'new-1', 'new-2']);
  });
});
