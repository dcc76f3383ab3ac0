// What every scenario gets from the runner (npm run chaos, or the quick test inside npm test).
import type { ChaosCluster } from './cluster.ts';
import type { Capture } from './report.ts';

export interface ChaosContext {
  cluster: ChaosCluster;
  /** Every output of the run, for the secret scan. */
  capture: Capture;
  /** Secrets configured anywhere in the run (name -> value): none may appear in any output. */
  secrets: Record<string, string>;
  /** Scratch space (state files, config files) of this run. */
  workDir: string;
  log: (line: string) => void;
  /** Seeded: kill moments and choices are reproducible for a given --seed. */
  random: () => number;
  /** OTLP/gRPC receiver for the providers' spans, when the runner started one. */
  otlpEndpoint?: string;
  /** The spans received so far (JSON), for the secret scan. */
  spans?: () => string;
  /** The simulator's realism profile for every scenario's world (lifecycle.realism); absent = a kind cloud. */
  realism?: Record<string, unknown>;
}

/** The simulator's own seeded generator (mulberry32), so a chaos run and its faults replay from one seed. */
export { seededRandom } from '../../../adapters/cloudsim/faults.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Environment for a child provider: trace export to the run's receiver, when there is one. */
export function providerEnv(ctx: ChaosContext): Record<string, string> {
  return ctx.otlpEndpoint === undefined ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: ctx.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: '500' };
}
