// The provider under test: `eci-virtual-node run` as a child process (spawnProvider, the way it
// runs in production, so SIGKILL is real) or in-process (startTestProvider, when a scenario needs
// the webhook's object). Every byte a provider prints is kept for the secret scan.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RunningProvider } from '../../../adapters/cli/provider.ts';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { DEFAULT_CONFIG, type ProviderConfig } from '../../../provider/config/config.ts';
import { VIRTUAL_NODE_TOLERATION } from '../../../provider/networking/constants.ts';
import { NODE_LABELS } from '../../../provider/node/constants.ts';
import { budget, stopChild } from '../../helpers/deadline.ts';
import { memoryLogger, spawnProvider, startTestProvider } from '../../integration/helpers/provider.ts';
import type { ChaosCluster } from './cluster.ts';
import { randomSuffix } from './cluster.ts';
import { BIG_VSWITCHES, SECURITY_GROUP } from './sim.ts';
import type { Capture } from './report.ts';

export interface ChaosConfigOptions {
  vSwitchIds?: string[];
  workers?: number;
  statusPollIntervalMs?: number;
}

export function chaosConfig(sim: CloudSim, cluster: ChaosCluster, o: ChaosConfigOptions = {}): ProviderConfig {
  const id = randomSuffix();
  const config = structuredClone(DEFAULT_CONFIG);
  config.clusterId = `chaos-${id}`;
  config.regionId = sim.regionId;
  config.cloud = { ...config.cloud, eciEndpoint: sim.endpoint, vpcEndpoint: sim.endpoint, ecsEndpoint: sim.endpoint, protocol: 'http', accessKeyId: sim.accessKey.id, accessKeySecret: sim.accessKey.secret };
  config.defaultNetwork = { vSwitchIds: o.vSwitchIds ?? [...BIG_VSWITCHES], securityGroupId: SECURITY_GROUP, vSwitchSelectionPolicy: 'ordered' };
  config.node.namePrefix = `vn-chaos-${id}`;
  config.kubernetes.kubeconfig = cluster.kubeconfigPath;
  config.sync = {
    ...config.sync,
    workers: o.workers ?? 32,
    statusPollIntervalMs: o.statusPollIntervalMs ?? 1_000,
    // Short enough that garbage collection and the safety-net resync happen within a scenario.
    resyncIntervalMs: 10_000,
    orphanGracePeriodMs: 5_000,
    backoffBaseMs: 250,
    backoffMaxMs: 5_000,
  };
  return config;
}

/** Bare pod placement on one provider's virtual nodes (optionally one zone). */
export function placement(config: ProviderConfig, zone?: string) {
  return {
    tolerations: [{ ...VIRTUAL_NODE_TOLERATION }],
    nodeSelector: { [NODE_LABELS.cluster]: config.clusterId, ...(zone === undefined ? {} : { [NODE_LABELS.zone]: zone }) },
  };
}

/**
 * Settings spawnProvider passes no flag for (sync timings, the webhook, the kubelet API) go
 * through a config file named by env ECI_VN_CONFIG; its flags still win over the file.
 */
function configFile(config: ProviderConfig, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${config.clusterId}.yaml`);
  const { resyncIntervalMs, orphanGracePeriodMs, backoffBaseMs, backoffMaxMs } = config.sync;
  const doc: Record<string, unknown> = { sync: { resyncIntervalMs, orphanGracePeriodMs, backoffBaseMs, backoffMaxMs } };
  if (config.webhook.port > 0) doc.webhook = config.webhook;
  if (config.metrics.port > 0) doc.metrics = config.metrics;
  if (config.kubeletApi.enabled) {
    doc.kubeletApi = config.kubeletApi;
    doc.node = { internalIP: config.node.internalIP, kubeletPort: config.node.kubeletPort };
  }
  writeFileSync(file, stringify(doc));
  return file;
}

export interface ChildProviderOptions {
  config: ProviderConfig;
  capture: Capture;
  /** Where the sync config file goes. */
  dir: string;
  /** Extra environment (e.g. OTEL_EXPORTER_OTLP_ENDPOINT). */
  env?: Record<string, string>;
  label: string;
}

/** `eci-virtual-node run` as a child; counts crashes (any exit we did not cause). */
export class ChildProvider {
  child: ChildProcess | undefined;
  starts = 0;
  readonly crashes: string[] = [];
  private readonly o: ChildProviderOptions;
  private intended = false;
  private output: string[] = [];

  constructor(o: ChildProviderOptions) {
    this.o = o;
  }

  start(): void {
    const extra = { ECI_VN_CONFIG: configFile(this.o.config, this.o.dir), ...this.o.env };
    const saved: Record<string, string | undefined> = {};
    // spawnProvider passes process.env on: set the extra variables only for the spawn call.
    for (const [k, v] of Object.entries(extra)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    let spawned: ReturnType<typeof spawnProvider>;
    try {
      spawned = spawnProvider(this.o.config);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const { child, output } = spawned;
    this.output = output;
    this.starts++;
    this.intended = false;
    const name = `${this.o.label}#${this.starts}`;
    this.o.capture.add(`provider ${name}`, () => output.join(''));
    child.on('exit', (code, signal) => {
      if (this.intended) return;
      this.crashes.push(`${name} exited by itself (${code ?? signal}); last output:\n${output.join('').slice(-3000)}`);
    });
    this.child = child;
  }

  /** The end of the current process's output (what it said last, e.g. before a slow stop). */
  outputTail(chars: number): string {
    return this.output.join('').slice(-chars);
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Sends `signal` and waits for the exit (SIGKILL after `graceMs`, and a DeadlineError if even
   * that does not end it). After a SIGKILL backstop exitCode is null, which stop() reports.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL', graceMs = budget({ baseMs: 30_000 })): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.alive) return;
    this.intended = true;
    const name = `provider ${this.o.label}#${this.starts}`;
    await stopChild(child, { what: name, signal, graceMs, output: () => this.output.join('') });
  }

  async stop(): Promise<number | null> {
    // Longer than the provider's own shutdown deadline (45 s, adapters/cli/run.ts), so a slow stop
    // ends with its own message naming the part that overran, not a silent SIGKILL.
    await this.kill('SIGTERM', budget({ baseMs: 60_000 }));
    return this.child?.exitCode ?? null;
  }
}

/** The provider in-process (webhook object, memory logs in the capture). */
export async function inProcessProvider(config: ProviderConfig, capture: Capture, label: string): Promise<RunningProvider> {
  const logs = memoryLogger();
  capture.add(`provider ${label}`, () => logs.lines.join('\n'));
  return startTestProvider(config, logs.log);
}
