import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from '../../../provider/runtime/backoff.ts';
import { TokenBucket } from '../../../provider/runtime/tokenbucket.ts';
import { runLoop } from '../../../provider/runtime/loop.ts';
import { FakeClock } from './fake-clock.ts';

describe('backoffDelay', () => {
  it.each([
    // attempt, random, expected (base 100, max 1000, default jitter: [d/2, d])
    [1, 0, 50],
    [1, 1, 100],
    [2, 1, 200],
    [3, 0.5, 300],
    [4, 1, 800],
    [5, 1, 1000],
    [50, 1, 1000],
    [0, 1, 100],
  ])('attempt %i with random %f waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, { baseMs: 100, maxMs: 1000 }, () => random)).toBe(expected);
  });

  it('jitter 0 gives exact doubling', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, { baseMs: 250, maxMs: 30_000, jitter: 0 }, () => 0.9))).toEqual([250, 500, 1000, 2000]);
  });

  it('Backoff counts failures and resets on success', () => {
    const b = new Backoff({ policy: { baseMs: 10, maxMs: 100, jitter: 0 } });
    expect([b.next(), b.next(), b.next()]).toEqual([10, 20, 40]);
    expect(b.failures).toBe(3);
    b.reset();
    expect(b.next()).toBe(10);
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then paces at qps', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 10, burst: 3, clock });
    const done: number[] = [];
    for (let i = 0; i < 5; i++) void bucket.take().then(() => done.push(i));
    await clock.advance(0);
    expect(done).toEqual([0, 1, 2]);
    expect(clock.pendingSleeps).toEqual([100, 200]);
    await clock.advance(100);
    expect(done).toEqual([0, 1, 2, 3]);
    await clock.advance(100);
    expect(done).toEqual([0, 1, 2, 3, 4]);
  });

  it('refills while idle, up to the burst', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 2, burst: 2, clock });
    await bucket.take();
    await bucket.take();
    await clock.advance(10_000);
    let passed = 0;
    for (let i = 0; i < 3; i++) void bucket.take().then(() => passed++);
    await clock.advance(0);
    expect(passed).toBe(2);
  });
});

describe('TokenBucket', () => {
  it('an aborted wait ends at once with false and gives its token back', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 10, burst: 1, clock });
    expect(await bucket.take()).toBe(true);
    const abort = new AbortController();
    let result: boolean | undefined;
    void bucket.take(abort.signal).then((r) => (result = r));
    await clock.advance(0);
    expect(result).toBeUndefined();
    expect(clock.pendingSleeps).toEqual([100]);
    abort.abort();
    await clock.advance(0);
    expect(result).toBe(false);
    // The next caller waits only for the token the first one used, not for the abandoned one too.
    void bucket.take();
    expect(clock.pendingSleeps).toContain(100);
    expect(clock.pendingSleeps).not.toContain(200);
    expect(await bucket.take(AbortSignal.abort())).toBe(false);
  });
});

describe('runLoop', () => {
  it('runs every period, backs off after failures, resets after a success', async () => {
    const clock = new FakeClock();
    const abort = new AbortController();
    const outcomes = [true, false, false, true, true];
    const errors: [number, number][] = [];
    let runs = 0;
    const loop = runLoop({
      name: 't',
      everyMs: 1000,
      signal: abort.signal,
      clock,
      backoff: { baseMs: 100, maxMs: 1000, jitter: 0 },
      body: () => {
        const ok = outcomes[runs++];
        if (ok === false) throw new Error('nope');
      },
      onError: (_err, failures, retryInMs) => errors.push([failures, retryInMs]),
    });
    await clock.advance(0);
    expect(runs).toBe(1);
    expect(clock.pendingSleeps).toEqual([1000]);
    await clock.advance(1000);
    expect(runs).toBe(2);
    expect(clock.pendingSleeps).toEqual([100]);
    await clock.advance(100);
    expect(clock.pendingSleeps).toEqual([200]);
    await clock.advance(200);
    expect(runs).toBe(4);
    expect(clock.pendingSleeps).toEqual([1000]);
    expect(errors).toEqual([
      [1, 100],
      [2, 200],
    ]);
    abort.abort();
    await loop;
    expect(runs).toBe(4);
  });
});
