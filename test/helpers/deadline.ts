// Deadlines for everything a test awaits: a promise, a child process, an event, a condition, an
// HTTP call, every call of a Kubernetes API client. Each one fails with a DeadlineError naming
// what was awaited, for how long, and what was last seen, so no wait ends by vitest's timeout
// (which names nothing) and no wait hangs a run. Budgets scale with the work: see budget().
import type { ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import type { ApiConstructor, ApiType, KubeConfig } from '@kubernetes/client-node';
import { inspect } from 'node:util';

/** A wait that ran out of time; `code` is searchable in CI logs. */
export class DeadlineError extends Error {
  readonly code = 'TEST_DEADLINE';
  readonly what: string;
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number, lastSeen?: string) {
    super(`TEST_DEADLINE: ${what} did not happen within ${seconds(timeoutMs)}${lastSeen === undefined || lastSeen === '' ? '' : `; last seen: ${lastSeen}`}`);
    this.name = 'DeadlineError';
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * Slower machines: every budget made by budget() is multiplied by ECI_VN_TEST_TIME_FACTOR
 * (default 1; the defaults already assume a loaded 2-CPU machine).
 */
export function timeFactor(): number {
  const raw = Number(process.env.ECI_VN_TEST_TIME_FACTOR ?? '1');
  return Number.isFinite(raw) && raw > 0 ? raw : 1;
}

/** A time budget that grows with the amount of work: `baseMs + perItemMs * items`, times timeFactor(). */
export function budget(o: { baseMs: number; perItemMs?: number; items?: number }): number {
  return Math.round((o.baseMs + (o.perItemMs ?? 0) * (o.items ?? 0)) * timeFactor());
}

function render(lastSeen: (() => string) | undefined): string | undefined {
  if (lastSeen === undefined) return undefined;
  try {
    return lastSeen();
  } catch (err) {
    return `(rendering the last state failed: ${(err as Error).message})`;
  }
}

/**
 * Settles like `work`, or rejects with a DeadlineError after `timeoutMs`. Given a function, it is
 * called with an AbortSignal that aborts at the deadline (pass it to fetch, spawn, http.request),
 * so the abandoned work stops too.
 */
export function withDeadline<T>(work: Promise<T> | ((signal: AbortSignal) => Promise<T>), timeoutMs: number, what: string, lastSeen?: () => string): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new DeadlineError(what, timeoutMs, render(lastSeen));
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  let running: Promise<T>;
  try {
    running = typeof work === 'function' ? work(controller.signal) : work;
  } catch (err) {
    running = Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return Promise.race([running, expired]).finally(() => clearTimeout(timer));
}

/** A pause for pacing (a create rate, a kill moment), never for waiting on a state: use waitFor for that. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const exitOf = (child: ChildProcess): ExitResult | undefined =>
  child.exitCode !== null || child.signalCode !== null ? { code: child.exitCode, signal: child.signalCode } : undefined;

/**
 * The child's exit (at once when it has already exited), or a DeadlineError naming `what` with
 * the output tail. It does not kill: see stopChild.
 */
export function waitForExit(child: ChildProcess, o: { timeoutMs: number; what: string; output?: () => string }): Promise<ExitResult> {
  const done = exitOf(child);
  if (done !== undefined) return Promise.resolve(done);
  let onExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
  const exited = new Promise<ExitResult>((resolve) => {
    onExit = (code, signal) => resolve({ code, signal });
    child.once('exit', onExit);
  });
  return withDeadline(exited, o.timeoutMs, `${o.what} to exit (pid ${child.pid ?? '?'})`, o.output === undefined ? undefined : () => `output tail:\n${o.output!().slice(-3000)}`).finally(() => {
    if (onExit !== undefined) child.off('exit', onExit);
  });
}

/**
 * Sends `signal` (default SIGTERM), waits up to `graceMs` for the exit, then SIGKILL and up to
 * `killMs` more. Resolves with how it exited; rejects only if even SIGKILL did not end it.
 */
export async function stopChild(child: ChildProcess, o: { what: string; signal?: NodeJS.Signals; graceMs?: number; killMs?: number; output?: () => string }): Promise<ExitResult & { killed: boolean }> {
  const done = exitOf(child);
  if (done !== undefined) return { ...done, killed: false };
  child.kill(o.signal ?? 'SIGTERM');
  try {
    return { ...(await waitForExit(child, { timeoutMs: o.graceMs ?? 20_000, what: `${o.what} (after ${o.signal ?? 'SIGTERM'})`, ...(o.output ? { output: o.output } : {}) })), killed: false };
  } catch (err) {
    if (!(err instanceof DeadlineError)) throw err;
    child.kill('SIGKILL');
    return { ...(await waitForExit(child, { timeoutMs: o.killMs ?? 10_000, what: `${o.what} (after SIGKILL)`, ...(o.output ? { output: o.output } : {}) })), killed: true };
  }
}

/**
 * Resolves once `output()` matches `pattern` (checked whenever the child prints); rejects at
 * once if the child exits first, and with a DeadlineError after `timeoutMs`. Returns the match.
 */
export function waitForOutput(child: ChildProcess, o: { pattern: RegExp | string; timeoutMs: number; what: string; output: () => string }): Promise<RegExpMatchArray | string> {
  const find = (): RegExpMatchArray | string | undefined => {
    const text = o.output();
    if (typeof o.pattern === 'string') return text.includes(o.pattern) ? o.pattern : undefined;
    return text.match(o.pattern) ?? undefined;
  };
  const found = find();
  if (found !== undefined) return Promise.resolve(found);
  const listeners: [EventEmitter, string, (...args: unknown[]) => void][] = [];
  const seen = new Promise<RegExpMatchArray | string>((resolve, reject) => {
    const check = (): void => {
      // The helper's own 'data' listener may run before the caller's: look on the next turn.
      setImmediate(() => {
        const match = find();
        if (match !== undefined) resolve(match);
      });
    };
    const onExit = (code: unknown, signal: unknown): void => {
      setImmediate(() => {
        const match = find();
        if (match !== undefined) resolve(match);
        else reject(new Error(`${o.what}: the process exited (${String(code ?? signal)}) first; output tail:\n${o.output().slice(-3000)}`));
      });
    };
    for (const stream of [child.stdout, child.stderr]) if (stream) listeners.push([stream, 'data', check]);
    listeners.push([child, 'exit', onExit]);
    for (const [emitter, event, fn] of listeners) emitter.on(event, fn);
    if (exitOf(child) !== undefined) onExit(child.exitCode, child.signalCode);
  });
  return withDeadline(seen, o.timeoutMs, o.what, () => `output tail:\n${o.output().slice(-3000)}`).finally(() => {
    for (const [emitter, event, fn] of listeners) emitter.off(event, fn);
  });
}

/** The first `event` of `emitter` (its arguments), an 'error' event rejects, and a deadline. */
export function waitForEvent<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, o: { timeoutMs: number; what: string; lastSeen?: () => string }): Promise<T> {
  let onEvent: ((...args: unknown[]) => void) | undefined;
  let onError: ((err: Error) => void) | undefined;
  const happened = new Promise<T>((resolve, reject) => {
    onEvent = (...args) => resolve(args as T);
    onError = (err) => reject(err);
    emitter.once(event, onEvent);
    if (event !== 'error') emitter.once('error', onError);
  });
  return withDeadline(happened, o.timeoutMs, o.what, o.lastSeen).finally(() => {
    emitter.off(event, onEvent!);
    emitter.off('error', onError!);
  });
}

/** fetch() with a deadline that aborts the request and names it. */
export function fetchWithDeadline(url: string | URL, init: RequestInit & { timeoutMs?: number; what?: string } = {}): Promise<Response> {
  const { timeoutMs = 30_000, what, ...rest } = init;
  const name = what ?? `${rest.method ?? 'GET'} ${String(url)}`;
  return withDeadline((signal) => fetch(url, { ...rest, signal }), timeoutMs, `an answer to ${name}`);
}

/** fetch() with a deadline, then the body as text (also bounded: a body can stall too). */
export async function fetchText(url: string | URL, init: RequestInit & { timeoutMs?: number; what?: string } = {}): Promise<{ status: number; ok: boolean; text: string }> {
  const { timeoutMs = 30_000, what, ...rest } = init;
  const name = what ?? `${rest.method ?? 'GET'} ${String(url)}`;
  return withDeadline(
    async (signal) => {
      const res = await fetch(url, { ...rest, signal });
      return { status: res.status, ok: res.ok, text: await res.text() };
    },
    timeoutMs,
    `an answer to ${name}`,
  );
}

/** How long one Kubernetes API call may take: the apiserver ends ordinary requests at 60 s itself. */
export const API_CALL_TIMEOUT_MS = 90_000;

const describeArgs = (args: unknown[]): string => {
  const first = args[0];
  if (first === null || typeof first !== 'object') return '';
  const p = first as Record<string, unknown>;
  const parts = ['namespace', 'name', 'labelSelector', 'fieldSelector', 'plural'].filter((k) => typeof p[k] === 'string').map((k) => `${k}=${String(p[k])}`);
  return parts.join(' ');
};

/**
 * The same API client, with a deadline on every call (naming the method and its namespace/name).
 * Wraps what `kc.makeApiClient(...)` returns; a call that never answers fails instead of hanging.
 */
export function boundedApi<T extends object>(api: T, o: { timeoutMs?: number; name?: string } = {}): T {
  const timeoutMs = o.timeoutMs ?? API_CALL_TIMEOUT_MS;
  const apiName = o.name ?? api.constructor.name;
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (typeof (result as { then?: unknown } | null)?.then !== 'function') return result;
        return withDeadline(Promise.resolve(result), timeoutMs, `an answer to ${apiName}.${prop}(${describeArgs(args)})`);
      };
    },
  });
}

export interface WaitUntilOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, e.g. "30 pods of web Running". */
  what: string;
  /** The state when the time ran out; defaults to the last value the check returned. */
  lastSeen?: () => string | Promise<string>;
}

/**
 * Calls `check` until it returns something other than undefined, null or false, and returns that.
 * A throwing check is retried (its last error is reported); a check that itself hangs is cut off
 * at the deadline. Same contract as waitFor in test/integration/helpers/wait.ts, options named
 * what/lastSeen.
 */
export async function waitUntil<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, o: WaitUntilOptions): Promise<T> {
  const { timeoutMs, intervalMs = 250, what } = o;
  const deadline = Date.now() + timeoutMs;
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      // At least a few seconds per check, so a slow but alive apiserver gets its answer in.
      const result = await withDeadline(Promise.resolve().then(check), Math.max(deadline - Date.now(), 5_000), `one check of ${what}`);
      if (result !== undefined && result !== null && result !== false) return result;
      lastValue = result;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  let seen: string;
  try {
    seen = o.lastSeen === undefined ? `check returned ${inspect(lastValue)}` : await withDeadline(Promise.resolve().then(o.lastSeen), 10_000, `rendering the state of ${what}`);
  } catch (err) {
    seen = `(rendering the state failed: ${(err as Error).message})`;
  }
  const cause = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : inspect(lastError)}`;
  throw new DeadlineError(what, timeoutMs, `${seen}${cause}`);
}

/** `kc.makeApiClient(Type)` with a deadline on every call (see boundedApi). */
export function apiClient<T extends ApiType>(kc: KubeConfig, type: ApiConstructor<T>, timeoutMs = API_CALL_TIMEOUT_MS): T {
  return boundedApi(kc.makeApiClient(type), { timeoutMs, name: type.name });
}

/**
 * The usual budget for pods to reach a state (Running, gone, Failed): a base for start-up and the
 * control loops on a loaded 2-CPU machine, plus per pod (create, schedule, status).
 */
export function podsBudget(pods: number, o: { baseMs?: number; perPodMs?: number } = {}): number {
  return budget({ baseMs: o.baseMs ?? 60_000, perItemMs: o.perPodMs ?? 2_000, items: pods });
}
