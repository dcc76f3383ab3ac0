// `eci-virtual-node run`: the provider process. Configuration errors print every field at
// fault and exit 2; SIGTERM/SIGINT stop taking work, let in-flight calls finish, and exit 0.
import { configUsage, loadConfig } from '../config/load.ts';
import { InvalidConfigError } from '../../provider/config/config.ts';
import { createLogger, type LogLevel } from '../log/logger.ts';
import { startTracing } from '../telemetry/tracing.ts';
import { PROVIDER_VERSION, startProvider } from './provider.ts';

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
  const tracing = startTracing({
    env: process.env,
    serviceVersion: PROVIDER_VERSION,
    resourceAttributes: { 'cloud.region': loaded.config.regionId, 'k8s.cluster.name': loaded.config.clusterId },
    secrets: [loaded.config.cloud.accessKeySecret],
    log,
  });
  log.info(tracing.description);
  const provider = await startProvider({ config: loaded.config, log });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  await provider.stop();
  await tracing.shutdown();
  return 0;
}
