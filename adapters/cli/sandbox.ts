// `eci-virtual-node sandbox`: a local playground. For now it builds (or reuses) the control-plane
// binaries, starts a real control plane on loopback and tells you how to point kubectl at it;
// later steps (cloud simulator, provider) are added to STEPS below.
//
// The control-plane harness lives in test/controlplane/ (it is test infrastructure first); it is
// imported here lazily, only when this subcommand runs, so the provider itself never loads it.
// Certificate code the provider needs at run time is in adapters/tls/, not under test/.
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { ControlPlane } from '../../test/controlplane/controlplane.ts';

const USAGE = `Usage: eci-virtual-node sandbox [flags]

Starts a local Kubernetes control plane (etcd, kube-apiserver, kube-scheduler,
kube-controller-manager; built once from Go modules and cached) and keeps it up until Ctrl-C.

Flags:
  --exit-after-ready  start everything, print how to use it, then stop (for CI and tests)
  --keep-dirs         keep the temp dir (data, certificates, logs) after stopping
  -h, --help          show this help`;

/** What the steps share: their results, and what to undo (in reverse order) on the way out. */
interface SandboxContext {
  keepDirs: boolean;
  /** Aborted on SIGINT/SIGTERM: a long step (the cold build) should stop early. */
  signal: AbortSignal;
  binDir?: string;
  controlPlane?: ControlPlane;
  /** Undo actions, run last-in first-out by `shutdown`. */
  teardown: (() => Promise<void>)[];
}

interface Step {
  title: string;
  run: (ctx: SandboxContext) => Promise<void>;
}

const STEPS: readonly Step[] = [
  {
    title: 'control-plane binaries (built once, then cached)',
    run: async (ctx) => {
      const { ensureControlPlaneBinaries } = await import('../../test/controlplane/binaries.ts');
      const started = Date.now();
      ctx.binDir = await ensureControlPlaneBinaries({
        signal: ctx.signal,
        onProgress: (line) => console.error(`  ${elapsed(started)} ${line}`),
      });
    },
  },
  {
    title: 'control plane',
    run: async (ctx) => {
      const { startControlPlane } = await import('../../test/controlplane/controlplane.ts');
      const controlPlane = await startControlPlane({
        binDir: required(ctx.binDir, 'binDir'),
        keepDirs: ctx.keepDirs,
        onProgress: (message) => console.error(`  ${message}`),
      });
      ctx.controlPlane = controlPlane;
      ctx.teardown.push(() => controlPlane.stop());
    },
  },
];

export async function main(argv: string[]): Promise<number> {
  let flags: { 'exit-after-ready': boolean; 'keep-dirs': boolean; help: boolean };
  try {
    flags = parseArgs({
      args: argv,
      options: {
        'exit-after-ready': { type: 'boolean', default: false },
        'keep-dirs': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`sandbox: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }

  const abort = new AbortController();
  const ctx: SandboxContext = { keepDirs: flags['keep-dirs'], signal: abort.signal, teardown: [] };
  // The harness also stops its processes on a signal (and on exit, whatever happens); we exit
  // through the normal path below, after our own orderly shutdown.
  const { leaveSignalExitToCaller } = await import('../../test/controlplane/processes.ts');
  leaveSignalExitToCaller();
  // Listen before starting anything, so Ctrl-C during a step still ends in a clean shutdown.
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      abort.abort(new Error(`${signal} received`));
      resolve(signal);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });

  try {
    for (const [index, step] of STEPS.entries()) {
      console.error(`[${index + 1}/${STEPS.length}] ${step.title}`);
      const started = Date.now();
      const running = step.run(ctx);
      const outcome = await Promise.race([running.then(() => 'done' as const), stopRequested]);
      if (outcome !== 'done') {
        console.error(`${outcome}: stopping before the sandbox was ready`);
        await running.catch(() => {}); // the step sees the abort (or the harness's own cleanup) and ends
        return 130;
      }
      console.error(`      done in ${elapsed(started)}`);
    }
    printHowToUse(ctx, flags['keep-dirs']);
    if (flags['exit-after-ready']) return 0;
    console.log('\nPress Ctrl-C to stop.');
    const signal = await stopRequested;
    console.error(`\n${signal}: stopping the sandbox ...`);
    return 0;
  } catch (err) {
    console.error(`sandbox: ${(err as Error).message}`);
    return 1;
  } finally {
    await shutdown(ctx);
    if (ctx.controlPlane !== undefined) {
      console.error(flags['keep-dirs'] ? `stopped; files kept in ${ctx.controlPlane.dir}` : 'stopped; temp files removed');
    }
  }
}

async function shutdown(ctx: SandboxContext): Promise<void> {
  for (const undo of ctx.teardown.reverse()) {
    try {
      await undo();
    } catch (err) {
      console.error(`sandbox: teardown step failed: ${(err as Error).message}`);
    }
  }
}

function printHowToUse(ctx: SandboxContext, keepDirs: boolean): void {
  const cp = required(ctx.controlPlane, 'controlPlane');
  console.log(
    [
      '',
      `Sandbox ready: Kubernetes API at ${cp.server}`,
      '',
      'Use the bundled kubectl against it from another shell:',
      '',
      `  export KUBECONFIG=${cp.kubeconfigPath}`,
      `  export PATH=${cp.binDir}:$PATH`,
      '  kubectl get namespaces',
      '',
      `Component logs: ${cp.logDir}`,
      `Certificates:   ${dirname(cp.pki.caFile)}`,
      keepDirs ? `Files are kept after stopping in ${cp.dir}` : `Everything under ${cp.dir} is removed on stop (--keep-dirs keeps it).`,
    ].join('\n'),
  );
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`sandbox: internal error: ${what} is not set by an earlier step`);
  return value;
}

function elapsed(since: number): string {
  const seconds = Math.round((Date.now() - since) / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
