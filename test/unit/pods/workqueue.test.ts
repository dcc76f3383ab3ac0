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
});
