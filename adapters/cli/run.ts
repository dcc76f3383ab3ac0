// `eci-virtual-node run`: the provider process. Configuration errors print every field at
// fault and exit 2; SIGTERM/SIGINT stop taking work, let in-flight calls finish, and exit 0.
import { configUsage, loadConfig } from '../config/load.ts';
import { InvalidConfigError } from '../../provider/config/config.ts';
import { createLogger, type LogLevel } from '../log/logger.ts';
import { startTracing } from '../telemetry/tracing.ts';
import { PROVIDER_VERSION, startProvider } from './provider.ts';

/** How long SIGTERM may take before the process gives up waiting (below deploy/'s 60 s grace period). */
const SHUTDOWN_DEADLINE_MS = 45_000;

export async function main(argv: string[]): Promise<number> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig({ argv, env: process.env });
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      console.error(`eci-virtual-node run: ${err.message}\n\nRun \`eci-virtual-node run --help\` for the flags.`);
      return 2;
    }
    throw err;
  }
  if (loaded.help) {
    console.log(`Usage: eci-virtual-node run [flags]\n\nRuns the virtual nodes and the pod controller.\n\nFlags:\n${configUsage()}`);
    return 0;
  }
  const log = createLogger({ level: (process.env.ECI_VN_LOG_LEVEL as LogLevel | undefined) ?? 'info', fields: { component: 'eci-virtual-node' } });
  // Tracing from the standard OTEL_* environment; a no-op unless an OTLP endpoint is set.
  const tracing = await startTracing({
    env: process.env,
    serviceVersion: PROVIDER_VERSION,
    resourceAttributes: { 'cloud.region': loaded.config.regionId, 'k8s.cluster.name': loaded.config.clusterId },
    secrets: [loaded.config.cloud.accessKeySecret],
    log,
  });
  log.info(tracing.description);
  // Signals are taken from the start: a SIGTERM during start-up (a rollout that changes its mind)
  // must still end in an orderly exit 0, not a death by signal.
  let signalled: NodeJS.Signals | undefined;
  const stopRequested = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      signalled = signal;
      log.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  const starting = startProvider({ config: loaded.config, log });
  await Promise.race([starting, stopRequested]);
  if (signalled !== undefined) {
    // Start-up may still be waiting (on the cloud, on caches). Nothing it did needs undoing:
    // creates are idempotent and the next leader adopts what exists. Give it a moment, then go.
    const started = await Promise.race([starting, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5_000).unref())]);
    if (started !== undefined) await started.stop();
    await tracing.shutdown();
    process.exit(0);
  }
  const provider = await starting;
  await stopRequested;
  // Within the pod's grace period (deploy/: 60 s), whatever a part of it waits for: past the
  // deadline, say which part overran and exit 1 rather than be SIGKILLed without a word. Nothing
  // needs undoing: creates are idempotent and the next leader adopts what exists.
  const overran = await Promise.race([
    provider.stop().then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), SHUTDOWN_DEADLINE_MS).unref()),
  ]);
  if (overran) {
    log.error('shutdown did not finish in time; exiting anyway', { deadlineMs: SHUTDOWN_DEADLINE_MS, stillStopping: provider.stoppingNow() ?? 'unknown' });
    await tracing.shutdown();
    // The part still stopping holds sockets or timers open: returning would not end the process.
    process.exit(1);
  }
  await tracing.shutdown();
  return 0;
}
