// The virtual nodes, kept alive: one Node per zone some network needs (the default network's
// vSwitches, every Ready PodNetworking's: provider/node/zone-plan.ts), created or adopted at start
// or when the zone appears, a Lease renewed every few seconds, the status posted periodically and
// on change, a deleted node re-created, Ready=False while the cloud cannot be reached; a node whose
// zone nothing needs any more is cordoned, then removed once no pod runs on it.
//
// Four loops, each a function of the current state that logs and carries on when it fails:
//   vSwitchesFromCloud   -> refreshFromCloud()  free IPs and cloud reachability; posts what changed;
//                           then reconcileZones(): register / cordon / uncordon / remove
//   statusToKubernetes   -> pushStatus(zone)    node status subresource (merge patch), the heartbeat
//   leasesToKubernetes   -> renewLease(zone)    kube-node-lease heartbeat
//   nodesFromKubernetes  -> informer            a deleted node is re-created, a stripped one repaired
// Everything done to one node (register, repair, status) runs one at a time through its chain.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type Informer,
  type KubeConfig,
  type ObjectCache,
  type V1Lease,
  type V1Node,
  type V1Pod,
  type V1NodeStatus,
  type V1Taint,
} from '@kubernetes/client-node';
import { CloudErrorCode, errorCodeIs } from '../../provider/cloud/errors.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import type { CloudPort } from '../../provider/ports.ts';
import type { VSwitch } from '../../provider/cloud/model.ts';
import {
  DEFAULT_LEASE_DURATION_SECONDS,
  DEFAULT_LEASE_RENEW_INTERVAL_MS,
  DEFAULT_STATUS_INTERVAL_MS,
  DEFAULT_VSWITCH_REFRESH_INTERVAL_MS,
  NODE_LABELS,
} from '../../provider/node/constants.ts';
import { adoptVirtualNode, buildVirtualNode, nodeNameForZone, virtualNodeSelector } from '../../provider/node/node.ts';
import { KEEP_READY_WHILE_SYNCING_MS } from '../../provider/node/readiness.ts';
import { countPodsHoldingIps, nodeStatus, statusSignature } from '../../provider/node/status.ts';
import { missingVSwitchIds, missingVSwitchNotice, zonesOfVSwitches, type ZoneVSwitches } from '../../provider/node/zones.ts';
import { neededZones, planZoneNodes, vSwitchesOfZone, type ZoneNodeState } from '../../provider/node/zone-plan.ts';
import type { PodNetworking } from '../../provider/networking/podnetworking.ts';
import { EventReason } from '../../provider/events/reasons.ts';
import type { KubernetesEventRecorder } from './events.ts';
import { runLoop } from '../../provider/runtime/loop.ts';
import { createLogger } from '../log/logger.ts';
import { isAlreadyExists, isConflict, isNotFound, type KubernetesClients } from './client.ts';
import { renewNodeLease } from './leases.ts';
import { listPage } from './raw.ts';

export interface NodeLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface NodeTiming {
  leaseDurationSeconds: number;
  leaseRenewIntervalMs: number;
  /** A status is posted at least this often (and at once when something in it changes). */
  statusIntervalMs: number;
  /** Free IPs and cloud reachability are re-read this often. */
  vSwitchRefreshIntervalMs: number;
  /**
   * How long a node that is Ready stays Ready while the readiness gate is closed (counted from this
   * start), before it says Ready=False like a new node (provider/node/readiness.ts).
   */
  keepReadyWhileSyncingMs: number;
  /** Backoff of retried start-up steps and of the node informer's restarts. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_NODE_TIMING: NodeTiming = {
  leaseDurationSeconds: DEFAULT_LEASE_DURATION_SECONDS,
  leaseRenewIntervalMs: DEFAULT_LEASE_RENEW_INTERVAL_MS,
  statusIntervalMs: DEFAULT_STATUS_INTERVAL_MS,
  vSwitchRefreshIntervalMs: DEFAULT_VSWITCH_REFRESH_INTERVAL_MS,
  keepReadyWhileSyncingMs: KEEP_READY_WHILE_SYNCING_MS,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
};

export interface VirtualNodesOptions {
  clients: Pick<KubernetesClients, 'kubeConfig' | 'core' | 'coordination'>;
  cloud: Pick<CloudPort, 'describeVSwitches'>;
  config: ProviderConfig;
  /** Aborting it stops everything (as stop() does). */
  signal: AbortSignal;
  /** Shown as the nodes' kubeletVersion, e.g. `v1.36.3-eci-virtual-node-0.1.0`. */
  version: string;
  log?: NodeLog;
  /**
   * The readiness gate: true when the provider can take pods on its nodes (its pod caches have
   * synced and the pod controller holds back what it cannot sync yet), else why not. Meanwhile a
   * node that is Ready stays Ready (a restart must not flip it) and any other stays Ready=False
   * (provider/node/readiness.ts). Call refresh() when it opens. Default: always open.
   */
  readyGate?: () => true | string;
  /** Called once, when every zone's node is registered. */
  onNodesReady?: (nodeNames: readonly string[]) => void;
  timing?: Partial<NodeTiming>;
  /**
   * Pods bound to a node that already hold an IP (they are not among the free IPs but must still
   * fit in `pods`). The pod controller answers from its cache, undefined while that cache has not
   * listed (the node then keeps its last published `pods`); by default the apiserver's watch cache
   * is listed.
   */
  podsHoldingIps?: (nodeName: string) => Promise<number | undefined>;
  /** The node's own kubelet API port (daemonEndpoints); default config.node.kubeletPort for every node. */
  kubeletPort?: (nodeName: string) => number;
  now?: () => Date;
  /**
   * The PodNetworkings (an informer cache): each Ready one's zones get a node too. Absent: only
   * the default network's zones.
   */
  podNetworkings?: { list(): readonly PodNetworking[] };
  /** A node was registered for a zone that appeared (not called for the nodes of the start). */
  onNodeAdded?: (nodeName: string, zone: string) => void;
  /**
   * The start's nodes, named as soon as their zones are known, before they are adopted or
   * registered (a slow apiserver makes that seconds): their pod caches can list meanwhile.
   */
  onZonesKnown?: (nodeNames: readonly string[]) => void;
  /** A node was removed (its zone no longer needed, no pod left on it). */
  onNodeRemoved?: (nodeName: string, zone: string) => void;
  /** After the set of zones with a node changed (PodNetworking status follows it). */
  onZonesChanged?: () => void;
  /** Node events (RegisteredNode, NodeNotSchedulable, RemovingNode). */
  events?: KubernetesEventRecorder;
  /**
   * The default network's vSwitches now (flags > eci-profile > eni-config, read at each refresh);
   * default: config.defaultNetwork.vSwitchIds. An unknown id here is logged, not fatal: only the
   * configured ones stop the start.
   */
  defaultVSwitchIds?: () => readonly string[];
  /** The nodes' taints instead of the virtual-node taint (a virtual node pool's). */
  taints?: readonly V1Taint[];
}

/** Why the provider cordoned a node (its value); a node without it was cordoned by someone else. */
export const CORDONED_ANNOTATION = 'eci-virtual-node.io/cordoned';

export interface VirtualNodes {
  nodeNames(): string[];
  zoneOfNode(name: string): string | undefined;
  nodeOfZone(zone: string): string | undefined;
  /** Free IPs of the zone's default vSwitches at the last refresh; undefined when never read. */
  freeIpsOfZone(zone: string): number | undefined;
  /**
   * Every vSwitch of every network (default and Ready PodNetworkings) with its free IPs, as the
   * last DescribeVSwitches poll returned them (empty before the first): IP headroom and IP-aware
   * zones read these instead of asking the cloud again.
   */
  vSwitches(): readonly VSwitch[];
  /**
   * The ids the last DescribeVSwitches poll asked for and did not get back (the cloud has no such
   * vSwitch): "asked, not found", as opposed to an id not asked for yet.
   */
  vSwitchesNotFound(): readonly string[];
  cloudReachable(): boolean;
  /** Re-reads the vSwitches now and posts any status that changed. */
  refresh(): Promise<void>;
  /** Registers, cordons or removes nodes as the networks now need (runs one at a time). */
  reconcileZones(): Promise<void>;
  /** Stops every loop and the informer; leaves the nodes as they are (another replica may take over). */
  stop(): Promise<void>;
}

interface ZoneNode {
  zone: string;
  name: string;
  /** undefined while the cloud has not been reached yet (a node adopted during an outage). */
  vSwitchIds: string[] | undefined;
  freeIps: number | undefined;
  /** Last pods-holding-IPs count read (kept when a read fails); undefined while not known yet. */
  podsHoldingIps: number | undefined;
  node: V1Node | undefined;
  lease: V1Lease | undefined;
  registered: boolean;
  /** A restore of our labels/taint is queued (one at a time). */
  repairQueued: boolean;
  lastSignature: string | undefined;
  chain: Promise<void>;
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Learns the zones (retrying while the cloud is unreachable, nodes already there marked NotReady
 * meanwhile), registers one node per zone and keeps them up to date. Resolves once every node is
 * registered; rejects on an unknown vSwitch id (a configuration error) or when aborted first.
 */
export async function startVirtualNodes(options: VirtualNodesOptions): Promise<VirtualNodes> {
  const manager = new VirtualNodeManager(options);
  try {
    await manager.start();
  } catch (err) {
    await manager.stop();
    throw err;
  }
  return manager.handle();
}

class VirtualNodeManager {
  private readonly options: VirtualNodesOptions;
  private readonly timing: NodeTiming;
  private readonly log: NodeLog;
  private readonly now: () => Date;
  /** When this start began (how long the readiness gate has been closed). */
  private readonly startedAt: number;
  private readonly controller = new AbortController();
  private readonly zones = new Map<string, ZoneNode>();
  private reachable = true;
  private lastCloudError: string | undefined;
  private loops: Promise<void>[] = [];
  private loopsStarted = false;
  private informer: (Informer<V1Node> & ObjectCache<V1Node>) | undefined;
  private informerRestart: ReturnType<typeof setTimeout> | undefined;
  private readonly onParentAbort = () => this.controller.abort();
  /** Zones of the default network's vSwitches (as last read). */
  private defaultZones: ZoneVSwitches[] = [];
  private reconciling: Promise<void> | undefined;
  private reconcileAgain = false;
  /** Zones whose cordoned node waits for its pods (logged once). */
  private readonly drainingZones = new Set<string>();

  constructor(options: VirtualNodesOptions) {
    this.options = options;
    this.timing = { ...DEFAULT_NODE_TIMING, ...options.timing };
    this.log = options.log ?? createLogger({ fields: { component: 'virtual-nodes' } });
    this.now = options.now ?? (() => new Date());
    this.startedAt = this.now().getTime();
    if (options.signal.aborted) this.controller.abort();
    else options.signal.addEventListener('abort', this.onParentAbort, { once: true });
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  handle(): VirtualNodes {
    return {
      nodeNames: () => [...this.zones.values()].map((z) => z.name),
      zoneOfNode: (name) => [...this.zones.values()].find((z) => z.name === name)?.zone,
      nodeOfZone: (zone) => this.zones.get(zone)?.name,
      freeIpsOfZone: (zone) => this.zones.get(zone)?.freeIps,
      vSwitches: () => this.vSwitchesSeen,
      vSwitchesNotFound: () => this.vSwitchesNotFound,
      cloudReachable: () => this.reachable,
      refresh: () => this.refreshFromCloud(),
      reconcileZones: () => this.reconcileZones(),
      stop: () => this.stop(),
    };
  }

  async start(): Promise<void> {
    const ids = this.options.config.defaultNetwork.vSwitchIds;
    let delay = this.timing.retryBaseMs;
    let adoptedDuringOutage = false;
    for (;;) {
      this.signal.throwIfAborted();
      try {
        const asked = this.allVSwitchIds();
        const vSwitches = await this.options.cloud.describeVSwitches(asked);
        const missing = missingVSwitchIds(ids, vSwitches);
        if (missing.length > 0) {
          throw new UnknownVSwitchError(missing, this.options.config.regionId);
        }
        this.vSwitchesNotFound = missingVSwitchIds(asked, vSwitches);
        this.markReachable();
        this.learn(vSwitches);
        for (const zone of neededZones({ defaultZones: this.defaultZones.map((z) => z.zone), podNetworkings: this.podNetworkings() }).keys()) {
          this.addZone(zone);
        }
        // Kubelet ports in the order of the zones (by name), whichever registration ends first.
        for (const z of this.zones.values()) this.options.kubeletPort?.(z.name);
        break;
      } catch (err) {
        if (err instanceof UnknownVSwitchError) throw err;
        const outage = this.markUnreachable(err);
        this.log.warn('cannot learn the zones of the default vSwitches; retrying', { err, retryInMs: delay });
        if (outage && !adoptedDuringOutage) {
          adoptedDuringOutage = await this.adoptExistingNodes();
          this.startLoops();
        }
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.timing.retryMaxMs);
      }
    }
    this.options.onZonesKnown?.([...this.zones.values()].map((z) => z.name));
    await this.startInformer();
    await Promise.all([...this.zones.values()].map((z) => this.serial(z, () => this.register(z))));
    this.signal.throwIfAborted();
    this.startLoops();
    const names = [...this.zones.values()].map((z) => z.name);
    this.log.info('virtual nodes registered', { nodes: names });
    this.options.onNodesReady?.(names);
  }

  async stop(): Promise<void> {
    this.options.signal.removeEventListener('abort', this.onParentAbort);
    this.controller.abort();
    if (this.informerRestart !== undefined) clearTimeout(this.informerRestart);
    const informer = this.informer;
    this.informer = undefined;
    await informer?.stop().catch(() => undefined);
    await Promise.allSettled([...this.loops, ...[...this.zones.values()].map((z) => z.chain)]);
  }

  // --- zones ---------------------------------------------------------------------------------

  private podNetworkings(): readonly PodNetworking[] {
    return this.options.podNetworkings?.list() ?? [];
  }

  /** The default vSwitches, and those of every Ready PodNetworking (the zones' nodes offer them). */
  private defaultIds(): readonly string[] {
    return this.options.defaultVSwitchIds?.() ?? this.options.config.defaultNetwork.vSwitchIds;
  }

  private desiredNode(zone: string, status?: V1NodeStatus): V1Node {
    return buildVirtualNode({ config: this.options.config, zone, ...(status === undefined ? {} : { status }), ...(this.options.taints === undefined ? {} : { taints: this.options.taints }) });
  }

  private allVSwitchIds(): string[] {
    const ids = [...this.defaultIds()];
    for (const pn of this.podNetworkings()) {
      if (pn.status?.status !== 'Ready') continue;
      for (const v of pn.status.vSwitches ?? []) if (!ids.includes(v.id)) ids.push(v.id);
    }
    return ids;
  }

  /** From a DescribeVSwitches of allVSwitchIds(): the default zones, and each node's vSwitches and free IPs. */
  private learn(vSwitches: Parameters<typeof zonesOfVSwitches>[0]): void {
    const defaults = this.defaultIds();
    this.defaultZones = zonesOfVSwitches(vSwitches.filter((v) => defaults.includes(v.id)), defaults);
    const pns = this.podNetworkings();
    for (const z of this.zones.values()) {
      const ids = vSwitchesOfZone({ zone: z.zone, defaultVSwitchIds: this.defaultZones.find((d) => d.zone === z.zone)?.vSwitchIds ?? [], podNetworkings: pns });
      const known = vSwitches.filter((v) => ids.includes(v.id));
      z.vSwitchIds = ids.filter((id) => known.some((v) => v.id === id));
      z.freeIps = zonesOfVSwitches(known)[0]?.freeIps ?? 0;
    }
    this.vSwitchesSeen = vSwitches;
  }

  private vSwitchesSeen: Parameters<typeof zonesOfVSwitches>[0] = [];
  /** Asked for by the last DescribeVSwitches and not returned. */
  private vSwitchesNotFound: string[] = [];
  /** The default network's vSwitches the last read did not return, as last logged. */
  private missingDefaultsLogged: readonly string[] = [];

  private noteMissingDefaults(missing: readonly string[]): void {
    const notice = missingVSwitchNotice(this.missingDefaultsLogged, missing);
    this.missingDefaultsLogged = missing;
    if (notice?.say === 'gone') this.log.warn('configured vSwitches are gone from the cloud', { vSwitchIds: notice.vSwitchIds });
    else if (notice?.say === 'back') this.log.info('configured vSwitches are back in the cloud', { vSwitchIds: notice.vSwitchIds });
  }

  /** Starts tracking a zone's node (not registered yet); its vSwitches from the last read. */
  private addZone(zone: string): ZoneNode {
    const existing = this.zones.get(zone);
    if (existing !== undefined) return existing;
    const z: ZoneNode = {
      zone,
      name: nodeNameForZone(this.options.config.node.namePrefix, zone),
      vSwitchIds: undefined,
      freeIps: undefined,
      podsHoldingIps: undefined,
      node: undefined,
      lease: undefined,
      registered: false,
      repairQueued: false,
      lastSignature: undefined,
      chain: Promise.resolve(),
    };
    this.zones.set(zone, z);
    this.learn(this.vSwitchesSeen);
    return z;
  }

  /**
   * While the cloud is unreachable at start, the nodes an earlier run registered are still ours:
   * keep their leases and post Ready=False on them. Returns whether the listing worked.
   */
  private async adoptExistingNodes(): Promise<boolean> {
    try {
      const list = await this.options.clients.core.listNode({ labelSelector: virtualNodeSelector(this.options.config.clusterId) });
      for (const node of list.items) {
        const zone = node.metadata?.labels?.[NODE_LABELS.zone];
        const name = node.metadata?.name;
        if (zone === undefined || name === undefined || this.zones.has(zone)) continue;
        if (name !== nodeNameForZone(this.options.config.node.namePrefix, zone)) continue;
        this.zones.set(zone, {
          zone,
          name,
          vSwitchIds: undefined,
          freeIps: undefined,
          podsHoldingIps: undefined,
          node,
          lease: undefined,
          registered: true,
          repairQueued: false,
          lastSignature: undefined,
          chain: Promise.resolve(),
        });
      }
      for (const z of this.zones.values()) this.enqueue(z, () => this.pushStatus(z, true), 'status');
      return true;
    } catch (err) {
      this.log.warn('cannot list existing virtual nodes', { err });
      return false;
    }
  }

  // --- one node ------------------------------------------------------------------------------

  /** Runs `work` after everything queued before it on this node; never rejects. */
  private serial(z: ZoneNode, work: () => Promise<void>): Promise<void> {
    const next = z.chain.then(work);
    z.chain = next.catch(() => undefined);
    return next;
  }

  private enqueue(z: ZoneNode, work: () => Promise<void>, what: string): void {
    this.serial(z, work).catch((err: unknown) => {
      if (!this.signal.aborted) this.log.error(`virtual node ${what} failed`, { node: z.name, zone: z.zone, err });
    });
  }

  /** Creates the node, or brings an existing one in line; retries until it works or we stop. */
  private async register(z: ZoneNode): Promise<void> {
    let delay = this.timing.retryBaseMs;
    for (;;) {
      this.signal.throwIfAborted();
      try {
        await this.createOrAdopt(z);
        break;
      } catch (err) {
        if (this.signal.aborted) throw err;
        this.log.warn('cannot register the virtual node; retrying', { node: z.name, zone: z.zone, err, retryInMs: delay });
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.timing.retryMaxMs);
      }
    }
    z.registered = true;
    z.lastSignature = undefined;
    try {
      await this.pushStatus(z, true);
    } catch (err) {
      this.log.warn('cannot post the status of the new virtual node (the status loop will retry)', { node: z.name, err });
    }
    await this.renewLease(z);
  }

  private async createOrAdopt(z: ZoneNode): Promise<void> {
    const { core } = this.options.clients;
    // Created with its status: a node that is Ready from its first version loses the
    // not-ready:NoSchedule taint (TaintNodesByCondition) as soon as the node controller sees it.
    z.podsHoldingIps = await this.countPodsHoldingIps(z);
    const desired = this.desiredNode(z.zone, this.computeStatus(z, { fresh: true }));
    try {
      z.node = await core.createNode({ body: desired });
      this.log.info('virtual node created', { node: z.name, zone: z.zone, uid: z.node.metadata?.uid });
      return;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    await this.adoptExisting(z, desired);
  }

  /**
   * Brings the existing node in line with `desired`: our labels and taint back, everything others
   * added (labels, taints, a cordon) kept. Retries resourceVersion conflicts on a fresh read.
   */
  private async adoptExisting(z: ZoneNode, desired: V1Node = this.desiredNode(z.zone)): Promise<void> {
    const { core } = this.options.clients;
    for (let attempt = 0; ; attempt++) {
      const existing = await core.readNode({ name: z.name });
      if (existing.metadata?.deletionTimestamp !== undefined) {
        throw new Error(`node ${z.name} is being deleted; it will be re-created once it is gone`);
      }
      const update = adoptVirtualNode(existing, desired);
      if (update === undefined) {
        z.node = existing;
        this.log.info('virtual node adopted', { node: z.name, zone: z.zone, uid: existing.metadata?.uid });
        return;
      }
      try {
        z.node = await core.replaceNode({ name: z.name, body: update });
        this.log.info('virtual node labels/taint restored', { node: z.name, zone: z.zone, uid: z.node.metadata?.uid });
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= 3) throw err;
      }
    }
  }

  /** Posts the status when it changed (or always, with `force`: the heartbeat). */
  private async pushStatus(z: ZoneNode, force: boolean): Promise<void> {
    if (!z.registered) return;
    z.podsHoldingIps = await this.countPodsHoldingIps(z);
    const status = this.computeStatus(z);
    const signature = statusSignature(status);
    if (!force && signature === z.lastSignature) return;
    try {
      z.node = await this.options.clients.core.patchNodeStatus(
        { name: z.name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      if (z.lastSignature !== signature) {
        this.log.info('virtual node status posted', {
          node: z.name,
          ready: status.conditions?.find((c) => c.type === 'Ready')?.status,
          pods: status.allocatable?.['pods'],
        });
      }
      z.lastSignature = signature;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (this.zones.get(z.zone) !== z) return; // removed on purpose (its zone is not needed)
      this.log.warn('virtual node is gone; re-creating it', { node: z.name, zone: z.zone });
      z.registered = false;
      z.lease = undefined;
      await this.register(z);
    }
  }

  /**
   * The node as last seen gives transition times and last-known capacity; a `fresh` node (about to
   * be created) has no history, even when an earlier incarnation was just deleted.
   */
  private computeStatus(z: ZoneNode, options: { fresh?: boolean } = {}): V1NodeStatus {
    const previous = options.fresh === true ? undefined : z.node?.status;
    return nodeStatus({
      zone: z.zone,
      nodeName: z.name,
      vSwitchIds: z.vSwitchIds,
      freeIps: z.freeIps,
      podsHoldingIps: z.podsHoldingIps,
      cloudReachable: this.reachable,
      ...(this.lastCloudError === undefined ? {} : { lastError: this.lastCloudError }),
      ...this.gateClosed(),
      config: this.options.config,
      kubeletVersion: this.options.version,
      ...(this.options.kubeletPort === undefined ? {} : { kubeletPort: this.options.kubeletPort(z.name) }),
      now: this.now(),
      ...(previous === undefined ? {} : { previous }),
    });
  }

  private gateClosed(): { syncing?: { why: string; forMs: number }; keepReadyWhileSyncingMs: number } {
    const gate = this.options.readyGate?.() ?? true;
    const keep = { keepReadyWhileSyncingMs: this.timing.keepReadyWhileSyncingMs };
    return gate === true ? keep : { ...keep, syncing: { why: gate, forMs: this.now().getTime() - this.startedAt } };
  }

  private async countPodsHoldingIps(z: ZoneNode): Promise<number | undefined> {
    try {
      return await (this.options.podsHoldingIps ?? ((name: string) => podsHoldingIpsFromApi(this.options.clients.kubeConfig, name)))(z.name);
    } catch (err) {
      this.log.warn('cannot count the pods of the virtual node; keeping the last count', { node: z.name, err });
      return z.podsHoldingIps;
    }
  }

  private async renewLease(z: ZoneNode): Promise<void> {
    if (!z.registered || this.zones.get(z.zone) !== z) return;
    const uid = z.node?.metadata?.uid;
    try {
      z.lease = await renewNodeLease({
        coordination: this.options.clients.coordination,
        target: { nodeName: z.name, nodeUid: uid, leaseDurationSeconds: this.timing.leaseDurationSeconds },
        now: this.now,
        ...(z.lease === undefined ? {} : { previous: z.lease }),
      });
    } catch (err) {
      z.lease = undefined;
      if (!this.signal.aborted) this.log.warn('cannot renew the node lease', { node: z.name, err });
    }
  }

  // --- the cloud -----------------------------------------------------------------------------

  private markReachable(): void {
    if (!this.reachable) this.log.info('the cloud is reachable again');
    this.reachable = true;
    this.lastCloudError = undefined;
  }

  /**
   * A failed DescribeVSwitches: the cloud is unusable (no answer, 5xx, credentials refused), so
   * the nodes turn NotReady. Throttling is not an outage: the last verdict stands. Returns
   * whether the nodes are now marked unreachable.
   */
  private markUnreachable(err: unknown): boolean {
    if (errorCodeIs(err, 'Throttling*', CloudErrorCode.DegradeApi)) {
      this.log.warn('DescribeVSwitches is throttled; keeping the last known free IPs and readiness', { err });
      return false;
    }
    if (this.reachable) this.log.warn('the cloud is unreachable; virtual nodes turn NotReady', { err });
    this.reachable = false;
    const message = errorMessage(err);
    this.lastCloudError = message.startsWith('DescribeVSwitches') ? message : `DescribeVSwitches: ${message}`;
    return true;
  }

  private async refreshFromCloud(): Promise<void> {
    const ids = this.defaultIds();
    try {
      const asked = this.allVSwitchIds();
      const vSwitches = await this.options.cloud.describeVSwitches(asked);
      this.markReachable();
      this.vSwitchesNotFound = missingVSwitchIds(asked, vSwitches);
      this.noteMissingDefaults(missingVSwitchIds(ids, vSwitches));
      this.learn(vSwitches);
    } catch (err) {
      this.markUnreachable(err);
    }
    await this.reconcileZones().catch((err: unknown) => {
      if (!this.signal.aborted) this.log.warn('reconciling the zones of the virtual nodes failed', { err });
    });
    await Promise.all(
      [...this.zones.values()].map((z) =>
        this.serial(z, () => this.pushStatus(z, false)).catch((err: unknown) => {
          if (!this.signal.aborted) this.log.warn('cannot post the virtual node status', { node: z.name, err });
        }),
      ),
    );
  }

  // --- zones appearing and going ------------------------------------------------------------

  /** One reconcile at a time; a call during one runs it again afterwards (it may have missed the change). */
  reconcileZones(): Promise<void> {
    if (this.reconciling !== undefined) {
      this.reconcileAgain = true;
      return this.reconciling;
    }
    const run = async (): Promise<void> => {
      do {
        this.reconcileAgain = false;
        await this.reconcileOnce();
      } while (this.reconcileAgain && !this.signal.aborted);
    };
    this.reconciling = run().finally(() => {
      this.reconciling = undefined;
    });
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    if (!this.loopsStarted || this.signal.aborted) return; // start() registers the first set itself
    const needs = neededZones({ defaultZones: this.defaultZones.map((z) => z.zone), podNetworkings: this.podNetworkings() });
    const states = await this.zoneNodeStates(needs);
    const actions = planZoneNodes({ needs, nodes: states });
    let changed = false;
    for (const action of actions) {
      if (this.signal.aborted) return;
      switch (action.kind) {
        case 'register': {
          const z = this.addZone(action.zone);
          if (z.vSwitchIds === undefined || z.vSwitchIds.length === 0) {
            // Its vSwitches are not read yet: read them now, so the node starts with its network.
            await this.describeAndLearn();
          }
          this.log.info('a network needs a zone without a virtual node; registering one', { zone: action.zone, node: z.name, neededBy: action.needs });
          await this.serial(z, () => this.register(z));
          this.nodeEvent(z, 'Normal', EventReason.RegisteredNode, `Node ${z.name} registered for zone ${z.zone}, needed by ${action.needs.join(', ')}`);
          this.options.onNodeAdded?.(z.name, z.zone);
          changed = true;
          break;
        }
        case 'uncordon':
          this.drainingZones.delete(action.zone);
          await this.setCordon(action.zone, undefined);
          this.log.info('zone needed again; virtual node uncordoned', { zone: action.zone, neededBy: action.needs });
          break;
        case 'cordon':
          await this.setCordon(action.zone, action.reason);
          this.log.info('no network needs the zone; virtual node cordoned', { zone: action.zone });
          break;
        case 'wait-for-pods':
          if (!this.drainingZones.has(action.zone)) {
            this.drainingZones.add(action.zone);
            this.log.info('virtual node cordoned; waiting for its pods to finish before removing it', { zone: action.zone, activePods: action.activePods });
          }
          break;
        case 'remove':
          this.drainingZones.delete(action.zone);
          await this.removeNode(action.zone);
          changed = true;
          break;
      }
    }
    if (changed) this.options.onZonesChanged?.();
  }

  private async describeAndLearn(): Promise<void> {
    try {
      const asked = this.allVSwitchIds();
      const vSwitches = await this.options.cloud.describeVSwitches(asked);
      // The not-found list and the learned vSwitches come from the same read.
      this.vSwitchesNotFound = missingVSwitchIds(asked, vSwitches);
      this.learn(vSwitches);
      this.markReachable();
    } catch (err) {
      this.markUnreachable(err);
    }
  }

  /** Every node of ours: those tracked here, and those the informer sees (an earlier run's too). */
  private async zoneNodeStates(needs: ReadonlyMap<string, readonly string[]>): Promise<ZoneNodeState[]> {
    const states = new Map<string, ZoneNodeState>();
    const prefix = this.options.config.node.namePrefix;
    const fromNode = (zone: string, node: V1Node | undefined): ZoneNodeState => ({
      zone,
      unschedulable: node?.spec?.unschedulable === true,
      cordonedByUs: node?.metadata?.annotations?.[CORDONED_ANNOTATION] !== undefined,
      activePods: 0,
    });
    for (const node of this.informer?.list() ?? []) {
      const zone = node.metadata?.labels?.[NODE_LABELS.zone];
      if (zone === undefined || node.metadata?.name !== nodeNameForZone(prefix, zone) || node.metadata.deletionTimestamp != null) continue;
      states.set(zone, fromNode(zone, node));
    }
    for (const z of this.zones.values()) if (!states.has(z.zone)) states.set(z.zone, fromNode(z.zone, z.node));
    for (const state of states.values()) {
      if (!needs.has(state.zone) && state.unschedulable) state.activePods = await this.activePods(nodeNameForZone(prefix, state.zone));
    }
    return [...states.values()];
  }

  private async activePods(nodeName: string): Promise<number> {
    const pods = await this.options.clients.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
    return pods.items.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length;
  }

  /** Cordons (with our annotation saying why) or lifts our cordon (`why` undefined). */
  private async setCordon(zone: string, why: string | undefined): Promise<void> {
    const { core } = this.options.clients;
    const name = nodeNameForZone(this.options.config.node.namePrefix, zone);
    for (let attempt = 0; ; attempt++) {
      const node = await core.readNode({ name });
      const annotations = { ...(node.metadata?.annotations ?? {}) };
      if (why === undefined) delete annotations[CORDONED_ANNOTATION];
      else annotations[CORDONED_ANNOTATION] = why;
      const update: V1Node = { ...node, metadata: { ...node.metadata, annotations }, spec: { ...node.spec, unschedulable: why !== undefined } };
      try {
        const replaced = await core.replaceNode({ name, body: update });
        const z = this.zones.get(zone);
        if (z !== undefined) z.node = replaced;
        break;
      } catch (err) {
        if (!isConflict(err) || attempt >= 3) throw err;
      }
    }
    const z = this.zones.get(zone);
    if (why !== undefined && z !== undefined) this.nodeEvent(z, 'Normal', EventReason.NodeNotSchedulable, `Node ${name} cordoned: ${why}; it is removed once no pod runs on it`);
  }

  /** Stops tracking the zone (so the informer does not re-create it), then deletes the Node (its Lease goes with it). */
  private async removeNode(zone: string): Promise<void> {
    const name = nodeNameForZone(this.options.config.node.namePrefix, zone);
    const z = this.zones.get(zone);
    this.zones.delete(zone);
    if (z !== undefined) {
      await z.chain;
      this.nodeEvent(z, 'Normal', EventReason.RemovingNode, `Removing Node ${name}: no network needs zone ${zone} and no pod runs on it`);
    }
    try {
      await this.options.clients.core.deleteNode({ name });
    } catch (err) {
      if (!isNotFound(err)) {
        if (z !== undefined) this.zones.set(zone, z); // try again at the next reconcile
        throw err;
      }
    }
    this.log.info('virtual node removed: no network needs its zone and no pod runs on it', { node: name, zone });
    this.options.onNodeRemoved?.(name, zone);
  }

  private nodeEvent(z: ZoneNode, type: 'Normal' | 'Warning', reason: EventReason, message: string): void {
    this.options.events?.record({ apiVersion: 'v1', kind: 'Node', namespace: '', name: z.name, uid: z.node?.metadata?.uid ?? z.name }, { type, reason, message });
  }

  // --- loops ---------------------------------------------------------------------------------

  private startLoops(): void {
    if (this.loopsStarted) return;
    this.loopsStarted = true;
    this.loops = [
      this.every('vSwitchesFromCloud', this.timing.vSwitchRefreshIntervalMs, () => this.refreshFromCloud()),
      this.every('statusToKubernetes', this.timing.statusIntervalMs, async () => {
        await Promise.all(
          [...this.zones.values()].map((z) =>
            this.serial(z, () => this.pushStatus(z, true)).catch((err: unknown) => {
              if (!this.signal.aborted) this.log.warn('cannot post the virtual node status', { node: z.name, err });
            }),
          ),
        );
      }),
      this.every('leasesToKubernetes', this.timing.leaseRenewIntervalMs, async () => {
        await Promise.all([...this.zones.values()].map((z) => this.renewLease(z)));
      }),
    ];
  }

  private async every(name: string, intervalMs: number, work: () => Promise<void>): Promise<void> {
    // A failed round waits the normal period too: these are heartbeats, not retries.
    await runLoop({
      name,
      everyMs: intervalMs,
      immediate: false,
      signal: this.signal,
      backoff: { baseMs: intervalMs, maxMs: intervalMs, jitter: 0 },
      body: work,
      onError: (err) => this.log.error(`${name} failed`, { err }),
    });
  }

  private async sleep(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.signal });
  }

  // --- the node informer -----------------------------------------------------------------------

  private async startInformer(): Promise<void> {
    const { kubeConfig, core } = this.options.clients;
    const selector = virtualNodeSelector(this.options.config.clusterId);
    const informer = makeInformer<V1Node>(kubeConfig, '/api/v1/nodes', () => core.listNode({ labelSelector: selector }), selector);
    this.informer = informer;
    const zoneOf = (node: V1Node): ZoneNode | undefined => [...this.zones.values()].find((z) => z.name === node.metadata?.name);

    const seen = (node: V1Node) => {
      const z = zoneOf(node);
      if (z === undefined || node.metadata?.deletionTimestamp !== undefined) return;
      // Only the incarnation we registered: a late event about a node we already replaced is stale.
      if (z.node !== undefined && z.node.metadata?.uid !== node.metadata?.uid) return;
      z.node = node;
      // Someone removed our taint or changed one of our labels (a label removal that leaves the
      // selector shows up as a delete, below): put it back.
      if (z.registered && !z.repairQueued && adoptVirtualNode(node, this.desiredNode(z.zone)) !== undefined) {
        z.repairQueued = true;
        this.log.warn('virtual node lost its labels or taint; restoring them', { node: z.name, zone: z.zone });
        this.enqueue(
          z,
          async () => {
            z.repairQueued = false;
            if (z.registered) await this.adoptExisting(z);
          },
          'repair',
        );
      }
    };
    informer.on('add', seen);
    informer.on('update', seen);
    informer.on('delete', (node) => {
      const z = zoneOf(node);
      if (z === undefined || this.signal.aborted) return;
      if (z.node?.metadata?.uid !== undefined && node.metadata?.uid !== z.node.metadata.uid && z.registered) {
        // A delete of an older incarnation we already replaced.
        return;
      }
      this.log.warn('virtual node deleted (or stripped of its labels); re-registering it', { node: z.name, zone: z.zone });
      z.registered = false;
      z.lease = undefined;
      this.enqueue(z, () => this.register(z), 're-registration');
    });

    let startedAt = Date.now();
    let delay = this.timing.retryBaseMs;
    informer.on('error', (err: unknown) => {
      if (this.signal.aborted || this.informer !== informer) return;
      if (Date.now() - startedAt > 60_000) delay = this.timing.retryBaseMs;
      this.log.warn('node informer stopped; restarting it', { err, retryInMs: delay });
      this.informerRestart = setTimeout(() => {
        this.informerRestart = undefined;
        if (this.signal.aborted || this.informer !== informer) return;
        startedAt = Date.now();
        informer.start().catch((startErr: unknown) => this.log.warn('node informer restart failed', { err: startErr }));
      }, delay);
      delay = Math.min(delay * 2, this.timing.retryMaxMs);
    });
    await informer.start();
  }
}

/**
 * Pods bound to the node that hold an IP, listed from the apiserver's watch cache (every pod of the
 * node): the count of a caller without a pod cache of its own (the provider passes its cache's
 * count instead). Plain JSON (listPage): no typed models for objects only counted.
 */
export async function podsHoldingIpsFromApi(kubeConfig: KubeConfig, nodeName: string): Promise<number> {
  const pods = await listPage<V1Pod>({ kubeConfig, path: '/api/v1/pods', query: { fieldSelector: `spec.nodeName=${nodeName}`, resourceVersion: '0' } });
  return countPodsHoldingIps(pods.items, nodeName);
}

export class UnknownVSwitchError extends Error {
  readonly code = 'UnknownVSwitch';
  readonly vSwitchIds: readonly string[];
  constructor(vSwitchIds: readonly string[], regionId: string) {
    super(
      `defaultNetwork.vSwitchIds: ${vSwitchIds.join(', ')} ${vSwitchIds.length === 1 ? 'is' : 'are'} not known to DescribeVSwitches in region ${regionId} ` +
        '(wrong id, deleted, or in another region)',
    );
    this.name = 'UnknownVSwitchError';
    this.vSwitchIds = vSwitchIds;
  }
}
