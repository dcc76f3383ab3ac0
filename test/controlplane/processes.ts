// Child processes that must never outlive us.
//
// Each child runs in its own process group (detached), with stdout and stderr appended to a log
// file. `stop()` sends SIGTERM to the whole group, then SIGKILL after a grace period. Every started
// process and every temp dir is also registered here, process-wide, so that:
//   - on SIGINT/SIGTERM/SIGHUP the registered cleanups run (graceful stop, then dirs removed) and
//     the signal is re-raised so the exit status still says "killed by signal" (unless the
//     program handles its signals itself: leaveSignalExitToCaller, where the program's own
//     orderly stop goes first and the cleanups are only a backstop 30 s later);
//   - on process exit (any cause, including process.exit() from a test runner) every group still
//     alive is SIGKILLed and the registered dirs are removed, synchronously.
// The one thing no handler can cover is our own SIGKILL: `reapOrphans` in controlplane.ts cleans
// such leftovers on the next start.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { withDeadline } from '../helpers/deadline.ts';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartProcessOptions {
  /** Short name used in messages, e.g. "kube-apiserver". */
  name: string;
  command: string;
  args: readonly string[];
  /** stdout and stderr are appended here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  isRunning(): boolean;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const DEFAULT_GRACE_MS = 10_000;
/** After SIGKILL only a process stuck in the kernel survives: say so instead of waiting forever. */
const KILL_WAIT_MS = 30_000;

export function startProcess(options: StartProcessOptions): ManagedProcess {
  const { name, command, args, logFile, env = process.env, cwd } = options;
  const fd = openSync(logFile, 'a');
  let child;
  try {
    child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env, cwd });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // spawn errors (ENOENT, EACCES) arrive as 'error' without 'exit'.
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`${name}: could not start ${command} (does it exist and is it executable?)`);
  }

  let running = true;
  const group = { name, pid, kill: (signal: NodeJS.Signals) => killGroup(pid, signal) };
  liveGroups.add(group);
  installHandlers();
  void exited.then(() => {
    running = false;
    // The leader is gone; make sure nothing else in its group survives it.
    killGroup(pid, 'SIGKILL');
    liveGroups.delete(group);
  });

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = DEFAULT_GRACE_MS): Promise<void> => {
    stopping ??= (async () => {
      if (!running) return;
      killGroup(pid, 'SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), delay(graceMs).then(() => true)]);
      if (timedOut) {
        killGroup(pid, 'SIGKILL');
        await withDeadline(exited, KILL_WAIT_MS, `${name} (pid ${pid}) to exit after SIGKILL`, () => `log tail:\n${logTail(logFile, 10)}`);
      }
    })();
    return stopping;
  };

  return { name, pid, logFile, exited, isRunning: () => running, stop };
}

/** The last `lines` lines of a log file, or a note saying why there are none. */
export function logTail(logFile: string, lines = 40): string {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
  const all = text.trimEnd().split('\n');
  return all.length === 0 || text.trim() === '' ? '(log is empty)' : all.slice(-lines).join('\n');
}

/** True when a process with this pid exists (a zombie counts as gone). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name, is the state; Z = zombie, X = dead.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

// --- process-wide cleanup -----------------------------------------------------------------------

export interface Cleanup {
  /** Graceful, on signals: stop processes, remove dirs. */
  run: () => Promise<void>;
  /** Last resort, on exit: must be synchronous. */
  runSync: () => void;
}

const liveGroups = new Set<{ name: string; pid: number; kill: (signal: NodeJS.Signals) => void }>();
const cleanups = new Set<Cleanup>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let handlersInstalled = false;

/** Registers a cleanup that runs on signals and on exit; returns its unregister function. */
export function registerCleanup(cleanup: Cleanup): () => void {
  installHandlers();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Removes a directory now; used by cleanups' synchronous path. */
export function removeDirSync(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function onExit(): void {
  for (const group of liveGroups) group.kill('SIGKILL');
  for (const cleanup of cleanups) {
    try {
      cleanup.runSync();
    } catch (err) {
      console.error(`cleanup on exit failed: ${(err as Error).message}`);
    }
  }
}

let reRaiseSignals = true;

/**
 * For programs that handle SIGINT/SIGTERM themselves and exit on their own (the sandbox): on a
 * signal their own orderly stop goes first (the provider releases its Lease while the apiserver
 * still answers); the cleanups run only if the process is still there 30 s later, and the signal
 * is not re-raised.
 */
export function leaveSignalExitToCaller(): void {
  reRaiseSignals = false;
}

/**
 * With leaveSignalExitToCaller, how long the caller's own orderly stop has before the cleanups
 * run anyway (a backstop for a start-up step that does not see the abort). Running them at once
 * raced the caller: the apiserver died while the provider was still releasing its Lease.
 */
const CALLER_STOP_GRACE_MS = 30_000;

let signalled = false;
function onSignal(signal: NodeJS.Signals): void {
  if (signalled) return; // a second Ctrl-C while stopping: the exit handler still kills everything
  signalled = true;
  if (!reRaiseSignals) {
    setTimeout(() => runCleanupsOnSignal(signal), CALLER_STOP_GRACE_MS).unref();
    return;
  }
  runCleanupsOnSignal(signal);
}

function runCleanupsOnSignal(signal: NodeJS.Signals): void {
  console.error(`\n${signal}: stopping the control plane processes ...`);
  const bound = delay(20_000);
  void Promise.race([Promise.allSettled([...cleanups].map((cleanup) => cleanup.run())), bound]).finally(() => {
    // What no cleanup owns (a benchmark's provider and simulator) dies too: a re-raised signal
    // ends the process without its 'exit' handler, which is where those are killed otherwise.
    for (const group of liveGroups) group.kill('SIGKILL');
    for (const s of SIGNALS) process.off(s, onSignal);
    // Re-raise the signal so its default action ends the process with the usual status, unless
    // the program said it exits on its own, or another handler is still listening (a test runner).
    if (reRaiseSignals && process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
