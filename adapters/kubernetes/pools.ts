// Virtual node pools (docs/networks.md): each pool declared in kube-system/eci-virtual-node-pools
// gets one virtual node per zone of its network's vSwitches (its terway-config overlay over
// eni-config), named `<prefix>-<pool>-<zone>`, carrying the pool's labels (terway-config: <name>
// among them) and its taints. Each pool's nodes are kept by their own node manager (nodes.ts),
// the same code as the default nodes: registration, leases, status, repair, and the drain of a
// zone no longer needed. Changed vSwitches move the pool's zones (the manager reads them at each
// refresh); changed labels or taints restart its manager, which adopts the nodes; a removed
// pool's manager keeps running with no vSwitch, which cordons its nodes and removes each once no
// pod runs on it.
import type { V1Taint } from '@kubernetes/client-node';
import type { ProviderConfig } from '../../provider/config/config.ts';
import type { ClusterNetworkState } from '../../provider/networking/cluster-network-state.ts';
import { POOL_LABEL, type PoolSpec } from '../../provider/networking/cluster-network.ts';
import type { PoolNetworkOfNode } from '../../provider/pods/network.ts';
import type { VSwitch } from '../../provider/cloud/model.ts';
import type { Network } from '../../provider/networking/networks.ts';
import { startVirtualNodes, type NodeLog, type VirtualNodes, type VirtualNodesOptions } from './nodes.ts';

export interface VirtualNodePoolsOptions {
  base: Omit<VirtualNodesOptions, 'config' | 'podNetworkings' | 'defaultVSwitchIds' | 'taints' | 'onNodesReady' | 'onZonesChanged' | 'signal'>;
  config: ProviderConfig;
  state: ClusterNetworkState;
  signal: AbortSignal;
  log: NodeLog;
}

interface RunningPool {
  /** The labels and taints the manager was started with; different ones restart it (adoption). */
  signature: string;
  /** The pool as last declared (undefined once removed: draining). */
  spec: PoolSpec | undefined;
  /** The vSwitches the manager reads at each refresh (empty once removed: its nodes drain). */
  vSwitchIds: readonly string[];
  /** The pool's vSwitches before it was removed: its draining pods' IPs are still judged by them. */
  lastVSwitchIds: readonly string[];
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
  /** Node name -> its pool, for every node handed to onNodeAdded (kept while a pool's manager restarts). */
  private readonly known = new Map<string, string>();

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

  /**
   * The pool network of a pool node (its pool as declared now), for the pod sync. A node of a
   * removed pool offers no vSwitch: its pods are refused, never put on another network.
   */
  poolOfNode(name: string): PoolNetworkOfNode | undefined {
    const pool = this.known.get(name);
    if (pool === undefined) return undefined;
    const spec = this.pools.get(pool)?.spec;
    const network = spec === undefined ? undefined : this.o.state.poolNetwork(pool);
    if (spec === undefined || network === undefined) {
      const defaults = this.o.state.defaultNetwork();
      return { pool: `${pool} (removed)`, terwayConfig: '-', network: { vSwitchIds: [], securityGroupId: defaults.securityGroupId, vSwitchSelectionPolicy: 'ordered' } };
    }
    return { pool, terwayConfig: spec.terwayConfig, network };
  }

  /** Every pool as a network (provider/networking/networks.ts), a removed one with its last vSwitches while its nodes drain. */
  networks(): Network[] {
    return [...this.pools.entries()].map(([name, p]) => ({ kind: 'pool' as const, name, vSwitchIds: p.spec === undefined ? p.lastVSwitchIds : p.vSwitchIds }));
  }

  /** The pool of a pool node (also of a removed pool's draining node); undefined for other nodes. */
  poolNameOfNode(name: string): string | undefined {
    return this.known.get(name);
  }

  /** The pool managers' last DescribeVSwitches answers (free IPs and CIDRs of the pools' vSwitches). */
  vSwitches(): VSwitch[] {
    return [...this.pools.values()].flatMap((p) => [...(p.nodes?.vSwitches() ?? [])]);
  }

  /** The ids the pool managers' last DescribeVSwitches asked for and did not get back. */
  vSwitchesNotFound(): string[] {
    return [...new Set([...this.pools.values()].flatMap((p) => [...(p.nodes?.vSwitchesNotFound() ?? [])]))];
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
    let running = this.pools.get(name);
    // A removed pool keeps its manager with no vSwitch: its nodes stay tracked (leases, status)
    // while they are cordoned, and are removed once no pod runs on them.
    const signature = spec === undefined && running !== undefined ? running.signature : JSON.stringify({ labels: spec?.labels, taints: spec?.taints });
    if (running?.signature === signature) {
      const moved = running.vSwitchIds.join() !== vSwitchIds.join();
      running.spec = spec;
      running.vSwitchIds = vSwitchIds;
      if (spec !== undefined) running.lastVSwitchIds = vSwitchIds;
      if (!moved) return running.chain;
      const r = running;
      if (spec === undefined) this.o.log.info('virtual node pool removed; draining its nodes', { pool: name });
      // Zones follow the vSwitches: registered, or cordoned then removed once empty.
      r.chain = r.chain.then(() => r.nodes?.refresh()).catch((err: unknown) => this.o.log.warn('refreshing a virtual node pool failed', { pool: name, err }));
      return r.chain;
    }
    const previous = running;
    running = { signature, spec, vSwitchIds, lastVSwitchIds: vSwitchIds, nodes: undefined, controller: new AbortController(), chain: Promise.resolve() };
    this.pools.set(name, running);
    const current = running;
    current.chain = (previous?.chain ?? Promise.resolve())
      .then(async () => {
        if (previous !== undefined) {
          previous.controller.abort();
          await previous.nodes?.stop();
        }
        if (this.o.signal.aborted || this.pools.get(name) !== current) return;
        current.nodes = await this.start(name, current);
        this.o.log.info('virtual node pool running', { pool: name, nodes: current.nodes.nodeNames(), vSwitchIds });
      })
      .catch((err: unknown) => {
        if (!this.o.signal.aborted && !current.controller.signal.aborted) this.o.log.error('cannot start the virtual node pool', { pool: name, err });
      });
    return current.chain;
  }

  private start(name: string, pool: RunningPool): Promise<VirtualNodes> {
    const { config, base } = this.o;
    const spec = pool.spec;
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
      signal: AbortSignal.any([this.o.signal, pool.controller.signal]),
      defaultVSwitchIds: () => pool.vSwitchIds,
      ...(taints === undefined ? {} : { taints }),
      onNodesReady: (names) => {
        for (const n of names) {
          if (this.known.has(n)) continue;
          this.known.set(n, name);
          base.onNodeAdded?.(n, this.zoneOfNode(n) ?? '');
        }
      },
      onNodeAdded: (n, zone) => {
        if (this.known.has(n)) return;
        this.known.set(n, name);
        base.onNodeAdded?.(n, zone);
      },
      onNodeRemoved: (n, zone) => {
        this.known.delete(n);
        base.onNodeRemoved?.(n, zone);
      },
    });
  }
}
