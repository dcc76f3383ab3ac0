// The one periodic loop: run `body` every `everyMs` until the signal aborts; a failure is reported
// and retried with backoff instead of the period, a success resets the backoff. The returned
// promise settles once the loop has stopped (never rejects).
import { Backoff, type BackoffPolicy } from './backoff.ts';
import { systemClock, type Clock } from './clock.ts';

export interface LoopOptions {
  name: string;
  everyMs: number;
  signal: AbortSignal;
  body: (signal: AbortSignal) => Promise<void> | void;
  /** Called with each failure, the consecutive-failure count and the wait before the next try. */
  onError?: (err: unknown, failures: number, retryInMs: number) => void;
  /** Retries of a failed body; default: base everyMs/4, max 30 s. */
  backoff?: BackoffPolicy;
  /** Run the body at once (default) or wait one period first. */
  immediate?: boolean;
  clock?: Clock;
  random?: () => number;
}

export async function runLoop(o: LoopOptions): Promise<void> {
  const clock = o.clock ?? systemClock;
  const backoff = new Backoff({ policy: o.backoff ?? { baseMs: Math.max(1, o.everyMs / 4), maxMs: 30_000 }, ...(o.random ? { random: o.random } : {}) });
  if (o.immediate === false) await clock.sleep(o.everyMs, o.signal);
  while (!o.signal.aborted) {
    let wait = o.everyMs;
    try {
      await o.body(o.signal);
      backoff.reset();
    } catch (err) {
      if (o.signal.aborted) break;
      wait = backoff.next();
      try {
        o.onError?.(err, backoff.failures, wait);
      } catch {
        // reporting never stops the loop
      }
    }
    await clock.sleep(wait, o.signal);
  }
}
