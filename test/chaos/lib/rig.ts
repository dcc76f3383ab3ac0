// One scenario's world: a simulator with its own secrets, a provider configuration with its own
// cluster id and node names, the provider as a child process, and a namespace. stopRig() checks
// that the provider never crashed and stops cleanly on SIGTERM, then removes everything.
import { join } from 'node:path';
import type { ProviderConfig } from '../../../provider/config/config.ts';
import { NODE_LABELS } from '../../../provider/node/constants.ts';
import { waitFor } from '../../integration/helpers/wait.ts';
import { createNamespace, deleteNamespace, deleteVirtualNodes, type ChaosCluster } from './cluster.ts';
import { providerEnv, type ChaosContext } from './context.ts';
import { ChildProvider, chaosConfig, type ChaosConfigOptions } from './provider.ts';
import type { Scenario } from './report.ts';
import { chaosWorld, newSecrets, RestartableSim, type ChaosSecrets } from './sim.ts';

export interface Rig {
  sim: RestartableSim;
  config: ProviderConfig;
  provider: ChildProvider;
  namespace: string;
  secrets: ChaosSecrets;
}

export interface RigOptions {
  name: string;
  worldOverrides?: Record<string, unknown>;
  /** Persist the simulator's state (needed to restart it). */
  persistent?: boolean;
  config?: ChaosConfigOptions;
  /** Nodes to wait for (one per zone of the default vSwitches). */
  nodes?: number;
  /** Last changes to the configuration before the provider starts (webhook, kubelet API ...). */
  prepare?: (config: ProviderConfig) => void | Promise<void>;
}

export async function waitForNodes(cluster: ChaosCluster, config: ProviderConfig, count: number, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      const nodes = (await cluster.core.listNode({ labelSelector: `${NODE_LABELS.cluster}=${config.clusterId}` })).items;
      const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length >= count;
    },
    { timeoutMs, intervalMs: 500, describe: `${count} Ready virtual nodes of ${config.clusterId}` },
  );
}

export async function startRig(ctx: ChaosContext, o: RigOptions): Promise<Rig> {
  const secrets = newSecrets();
  ctx.secrets[`${o.name} AccessKey secret`] = secrets.accessKeySecret;
  ctx.secrets[`${o.name} cloudsim admin token`] = secrets.adminToken;
  const world = await chaosWorld(secrets, o.worldOverrides, ctx.realism);
  const sim = await RestartableSim.start(world, o.persistent === true ? join(ctx.workDir, `${o.name}-cloudsim.json`) : undefined);
  const config = chaosConfig(sim.sim, ctx.cluster, o.config);
  await o.prepare?.(config);
  const provider = new ChildProvider({ config, capture: ctx.capture, dir: ctx.workDir, env: providerEnv(ctx), label: o.name });
  provider.start();
  await waitForNodes(ctx.cluster, config, o.nodes ?? 3);
  const namespace = await createNamespace(ctx.cluster, `chaos-${o.name}`);
  return { sim, config, provider, namespace, secrets };
}

export async function stopRig(ctx: ChaosContext, rig: Rig | undefined, s: Scenario): Promise<void> {
  if (rig === undefined) return;
  s.figure('provider crashes', rig.provider.crashes.length);
  s.check(rig.provider.crashes.length === 0, `the provider crashed ${rig.provider.crashes.length} time(s): ${rig.provider.crashes.join('\n').slice(0, 2000)}`);
  if (rig.provider.alive) {
    const code = await rig.provider.stop();
    s.check(code === 0, `the provider exits 0 on SIGTERM (got ${String(code)}); its last output:\n${rig.provider.outputTail(3000)}`);
  }
  // Its events go with the namespace: keep them for the secret scan first.
  const events = await ctx.cluster.core.listNamespacedEvent({ namespace: rig.namespace }).catch(() => ({ items: [] }));
  ctx.capture.addText(`events of ${rig.namespace}`, JSON.stringify(events.items));
  await deleteNamespace(ctx.cluster, rig.namespace).catch(() => {});
  await deleteVirtualNodes(ctx.cluster, rig.config.clusterId).catch(() => {});
  await rig.sim.stop();
}
