// Polling with a deadline and a failure message that says what was awaited and what was seen.
// The other deadline helpers (withDeadline, waitForExit, stopChild, boundedApi, budget ...) live in
// test/helpers/deadline.ts and are re-exported here.
import { inspect } from 'node:util';
import { DeadlineError, sleep, withDeadline } from '../../helpers/deadline.ts';

export * from '../../helpers/deadline.ts';

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited ("pods of web to be bound"), or a function rendering the current state. */
  describe: string | (() => string | Promise<string>);
}

/**
 * Calls `probe` until it returns something other than undefined, null or false, and returns that.
 * A probe that throws is retried; its last error goes into the timeout message. A probe that
 * hangs is cut off at the deadline, so the wait always ends.
 */
export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, options: WaitForOptions): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 250, describe } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  const name = typeof describe === 'string' ? describe : 'a condition';
  for (;;) {
    try {
      // At least a few seconds per probe, so a slow but alive apiserver gets its answer in.
      const result = await withDeadline(Promise.resolve().then(probe), Math.max(deadline - Date.now(), 5_000), `one probe of ${name}`);
      if (result !== undefined && result !== null && result !== false) return result;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  let what: string;
  try {
    what = typeof describe === 'string' ? describe : await withDeadline(Promise.resolve().then(describe), 10_000, 'describing the state');
  } catch (err) {
    what = `(describing the state failed: ${(err as Error).message})`;
  }
  const cause = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : inspect(lastError)}`;
  const err = new DeadlineError(what, timeoutMs, cause.slice(2) || undefined);
  // Keep the message callers and CI logs already know.
  err.message = `timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${what}${cause}`;
  throw err;
}
