// Polling with a deadline and a failure message that says what was awaited and what was seen.
import { inspect } from 'node:util';

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited ("pods of web to be bound"), or a function rendering the current state. */
  describe: string | (() => string | Promise<string>);
}

/**
 * Calls `probe` until it returns something other than undefined, null or false, and returns that.
 * A probe that throws is retried; its last error goes into the timeout message.
 */
export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, options: WaitForOptions): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 250, describe } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await probe();
      if (result !== undefined && result !== null && result !== false) return result;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  let what: string;
  try {
    what = typeof describe === 'string' ? describe : await describe();
  } catch (err) {
    what = `(describing the state failed: ${(err as Error).message})`;
  }
  const cause = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : inspect(lastError)}`;
  throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${what}${cause}`);
}
