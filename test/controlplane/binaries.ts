// Builds or reuses the control-plane binaries through test/controlplane/build.sh, which caches
// them by version outside the work tree. A cold build takes minutes: its progress lines (stderr)
// are passed to `onProgress` as they come.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { killGroup } from './processes.ts';

export const BUILD_SCRIPT = join(import.meta.dirname, 'build.sh');
export const CONTROL_PLANE_BINARIES = ['etcd', 'kube-apiserver', 'kube-scheduler', 'kube-controller-manager', 'kubectl'] as const;

export interface EnsureBinariesOptions {
  /** Each progress line of the build script (without the trailing newline). */
  onProgress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Aborting stops the build (its whole process group, go compilers included). */
  signal?: AbortSignal;
}

/** Runs build.sh (seconds when cached) and returns the directory holding the binaries. */
export async function ensureControlPlaneBinaries(options: EnsureBinariesOptions = {}): Promise<string> {
  const { onProgress = () => {}, env = process.env, signal } = options;
  signal?.throwIfAborted();
  // Own process group, so an abort (or our exit) can stop `go build` too, not just bash.
  const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
  const abort = (): void => killGroup(child.pid!, 'SIGTERM');
  signal?.addEventListener('abort', abort, { once: true });
  const stopOnExit = (): void => killGroup(child.pid!, 'SIGTERM');
  process.once('exit', stopOnExit);
  const stdout: string[] = [];
  const stderrTail: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 30) stderrTail.shift();
    onProgress(line);
  });
  const [code, exitSignal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  }).finally(() => {
    signal?.removeEventListener('abort', abort);
    process.off('exit', stopOnExit);
  });
  signal?.throwIfAborted();
  if (code !== 0) {
    throw new Error(
      `building the control plane failed (bash ${BUILD_SCRIPT} exited with ${code ?? exitSignal}); last output:\n${stderrTail.join('\n')}`,
    );
  }
  const binDir = stdout.at(-1)?.trim() ?? '';
  for (const name of CONTROL_PLANE_BINARIES) {
    try {
      await access(join(binDir, name), constants.X_OK);
    } catch {
      throw new Error(`build.sh reported "${binDir}" but ${name} is not an executable there`);
    }
  }
  return binDir;
}
