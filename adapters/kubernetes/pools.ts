// Virtual node pools (docs/networks.md): each pool declared in kube-system/eci-virtual-node-pools
// gets one virtual node per zone of its network's vSwitches (its terway-config overlay over
// eni-config), named `<prefix>-<pool>-<zone>`, carrying the pool's labels (terway-config: <name>
// among them) and its taints. Each pool's nodes are kept by their own node manager (nodes.ts),
// the same code as the default nodes: registration, leases, status, repair, and the drain of a
// zone no longer needed. A changed pool (labels, taints, vSwitches) restarts its manager, which
// adopts the nodes; a removed pool's manager keeps running with no vSwitch, which cordons its
// nodes and removes each once no pod runs on it.
import type { V1Taint } from '@kubernetes/client-node';
import type { ProviderConfig } from '../../provider/config/config.ts';
import type { ClusterNetworkState } from '../../provider/networking/cluster-network-state.ts';
import { POOL_LABEL, type PoolSpec } from '../../provider/networking/cluster-network.ts';
import type { PoolNetworkOfNode } from '../../provider/pods/network.ts';
import { startVirtualNodes, type NodeLog, type VirtualNodes, type VirtualNodesOptions } from './nodes.ts';

export interface VirtualNodePoolsOptions {
  base: Omit<VirtualNodesOptions, 'config' | 'podNetworkings' | 'defaultVSwitchIds' | 'taints' | 'onNodesReady' | 'onZonesChanged' | 'signal'>;
  config: ProviderConfig;
  state: ClusterNetworkState;
  signal: AbortSignal;
  log: NodeLog;
}

interface RunningPool {
  /** What the manager was started with; a different one restarts it. */
  signature: string;
  /** The pool as last declared (undefined once removed: draining). */
  spec: PoolSpec | undefined;
  nodes: VirtualNodes | undefined;
  controller: AbortController;
  /** Start (or restart) in progress; one at a time per pool. */
  chain: Promise<void>;
}

/** The name prefix of a pool's nodes: `<prefix>-<pool>`, so `<prefix>-<pool>-<zone>`. */
export const poolNodePrefix = (config: ProviderConfig, pool: string): string => `${config.node.namePrefix}-${pool}`;

export class VirtualNodePools {
  private readonly o: VirtualNodePoolsOptions;
  private readonly pools = new Map<string, RunningPool>();
  /** Node names handed to onNodeAdded (so a restarted manager does not add them twice). */
  private readonly known = new Set<string>();

  constructor(o: VirtualNodePoolsOptions) {
    this.o = o;
  }

  /** Starts, restarts or drains pool managers as the declared pools now are. */
  reconcile(): Promise<void> {
    const declared = new Map(this.o.state.pools().map((p) => [p.name, p]));
    const work: Promise<void>[] = [];
    for (const [name, spec] of declared) work.push(this.ensure(name, spec));
    for (const name of this.pools.keys()) if (!declared.has(name)) work.push(this.ensure(name, undefined));
    return Promise.all(work).then(() => undefined);
  }

  nodeNames(): string[] {
    return [...this.pools.values()].flatMap((p) => p.nodes?.nodeNames() ?? []);
  }

  zoneOfNode(name: string): string | undefined {
    for (const p of this.pools.values()) {
      const zone = p.nodes?.zoneOfNode(name);
      if (zone !== undefined) return zone;
    }
    return undefined;
  }

  /** The pool network of a pool node (its pool as declared now), for the pod sync. */
  poolOfNode(name: string): PoolNetworkOfNode | undefined {
    for (const [pool, p] of this.pools) {
      if (p.spec === undefined || p.nodes?.zoneOfNode(name) === undefined) continue;
      const network = this.o.state.poolNetwork(pool);
      return network === undefined ? undefined : { pool, terwayConfig: p.spec.terwayConfig, network };
    }
    return undefined;
  }

  async refresh(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.nodes?.refresh() ?? Promise.resolve()));
  }

  async stop(): Promise<void> {
    const pools = [...this.pools.values()];
    for (const p of pools) p.controller.abort();
    await Promise.allSettled(pools.map((p) => p.chain));
    await Promise.allSettled(pools.map((p) => p.nodes?.stop() ?? Promise.resolve()));
  }

  private ensure(name: string, spec: PoolSpec | undefined): Promise<void> {
    const vSwitchIds = spec === undefined ? [] : (this.o.state.poolNetwork(name)?.vSwitchIds ?? []);
    const signature = JSON.stringify({ labels: spec?.labels, taints: spec?.taints, vSwitchIds });
    let running = this.pools.get(name);
    if (running?.signature === signature) {
      running.spec = spec;
      return running.chain;
    }
    const previous = running;
    running = { signature, spec, nodes: undefined, controller: new AbortController(), chain: Promise.resolve() };
    this.pools.set(name, running);
    const current = running;
    current.chain = (previous?.chain ?? Promise.resolve())
      .then(async () => {
        if (previous !== undefined) {
          previous.controller.abort();
          await previous.nodes?.stop();
        }
        if (this.o.signal.aborted || this.pools.get(name) !== current) return;
        current.nodes = await this.start(name, spec, vSwitchIds, current.controller.signal);
        this.o.log.info(spec === undefined ? 'virtual node pool removed; draining its nodes' : 'virtual node pool running', { pool: name, nodes: current.nodes.nodeNames(), vSwitchIds });
      })
      .catch((err: unknown) => {
        if (!this.o.signal.aborted && !current.controller.signal.aborted) this.o.log.error('cannot start the virtual node pool', { pool: name, err });
      });
    return current.chain;
  }

  private start(name: string, spec: PoolSpec | undefined, vSwitchIds: readonly string[], own: AbortSignal): Promise<VirtualNodes> {
    const { config, base } = this.o;
    const labels = spec?.labels ?? { [POOL_LABEL]: name };
    const poolConfig: ProviderConfig = {
      ...config,
      // No vSwitch of the pool is fatal: only the flags' default vSwitches stop the process.
      defaultNetwork: { ...config.defaultNetwork, vSwitchIds: [] },
      node: { ...config.node, namePrefix: poolNodePrefix(config, name), labels: { ...config.node.labels, ...labels } },
    };
    const taints: V1Taint[] | undefined = spec === undefined || spec.taints.length === 0 ? undefined : spec.taints;
    return startVirtualNodes({
      ...base,
      config: poolConfig,
      signal: AbortSignal.any([this.o.signal, own]),
      defaultVSwitchIds: () => vSwitchIds,
      ...(taints === undefined ? {} : { taints }),
      onNodesReady: (names) => {
        for (const n of names) {
          if (this.known.has(n)) continue;
          this.known.add(n);
          base.onNodeAdded?.(n, this.zoneOfNode(n) ?? '');
        }
      },
      onNodeAdded: (n, zone) => {
        if (this.known.has(n)) return;
        this.known.add(n);
        base.onNodeAdded?.(n, zone);
      },
      onNodeRemoved: (n, zone) => {
        this.known.delete(n);
        base.onNodeRemoved?.(n, zone);
      },
    });
  }
}
