// The composition root: builds the adapters from the configuration and registers what the
// process runs with the manager (provider/runtime/manager.ts), which starts it in
// controller-runtime's order: metrics server, webhook server, shared informers, cache sync,
// leader election, then the leader's runnables (PodNetworking status, virtual nodes, pod
// controller, kubelet API). New nodes turn Ready once the pod caches have synced; nodes that are
// Ready stay Ready through a restart. Readiness (/readyz) is the aggregate of the checks registered below.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { redactConfig, type ProviderConfig } from '../../provider/config/config.ts';
import { effectiveClusterDns, KUBE_DNS_SERVICE, type ClusterDns } from '../../provider/eci/cluster-dns.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import type { PodNetworking } from '../../provider/networking/podnetworking.ts';
import { PodController } from '../../provider/pods/controller.ts';
import { PodNetworkPlanner } from '../../provider/pods/network.ts';
import type { CloudPort, PodStore } from '../../provider/ports.ts';
import { backoffDelay } from '../../provider/runtime/backoff.ts';
import { Manager, type Runnable } from '../../provider/runtime/manager.ts';
import type { ReadinessReport } from '../../provider/runtime/readiness.ts';
import { cloudWithSignal } from '../../provider/runtime/signal.ts';
import { createCloud } from '../alibabacloud/cloud.ts';
import { isNotFound, loadKubeConfig, makeKubernetesClients, statusCodeOf, type KubernetesClients } from '../kubernetes/client.ts';
import { KubernetesEventRecorder } from '../kubernetes/events.ts';
import { leaderIdentity } from '../kubernetes/leader.ts';
import { leaseElection, SharedInformers, type ListGate, type SharedInformer } from '../kubernetes/manager.ts';
import { countPodsHoldingIps } from '../../provider/node/status.ts';
import { adoptionGate } from '../../provider/node/readiness.ts';
import { startVirtualNodes, type VirtualNodes, type VirtualNodesOptions } from '../kubernetes/nodes.ts';
import { watchClusterNetwork, type ClusterNetworkWatch } from '../kubernetes/cluster-network.ts';
import { VirtualNodePools } from '../kubernetes/pools.ts';
import { ClusterNetworkState } from '../../provider/networking/cluster-network-state.ts';
import { CLUSTER_CONFIGMAPS, CLUSTER_NETWORK_NAMESPACE } from '../../provider/networking/cluster-network.ts';
import { EventReason } from '../../provider/events/reasons.ts';
import { startPodNetworkingController } from '../kubernetes/podnetworkings.ts';
import { startNetworkHealth, type NetworkHealth } from '../kubernetes/network-health.ts';
import type { KubeletPorts } from '../../provider/kubelet-api/endpoints.ts';
import type { KubeletApi } from '../kubelet-api/server.ts';
import { createKubeletApiForProvider, kubeletPortsOf } from '../kubelet-api/start.ts';
import { ApiPodInputsLoader, ApiPodLookup, KubernetesPodWriter, startPodInformers, type PodInformers } from '../kubernetes/pods.ts';
import type { Logger } from '../log/logger.ts';
import { createMetrics, startMetricsServer, type MetricsServer, type ProviderMetrics } from '../telemetry/metrics.ts';
import { startAdmissionWebhook, type AdmissionWebhook } from '../webhook/server.ts';
import { watchHeap } from '../telemetry/heap-watch.ts';

export const PROVIDER_VERSION = '0.1.0';
export const COMPONENT = 'eci-virtual-node';

export interface ProviderOptions {
  config: ProviderConfig;
  log: Logger;
  /** Overrides for tests: a different cloud port (e.g. with injected faults). */
  cloud?: CloudPort;
  /** Timings of the node manager (tests shorten them). */
  nodeTiming?: Parameters<typeof startVirtualNodes>[0]['timing'];
  /** Test hook: awaited before every list of a shared informer or a pod cache (`pods@<node>`): hold a cache unsynced. */
  listGate?: ListGate;
}

export interface RunningProvider {
  nodes: VirtualNodes;
  pods: PodController;
  webhook: AdmissionWebhook | undefined;
  /** The Prometheus endpoint (config.metrics.port > 0), on every replica. */
  metrics: MetricsServer | undefined;
  /** With leader election: whether this replica leads now (`nodes` and `pods` throw while it does not). */
  isLeader(): boolean;
  /** What /readyz answers now. */
  readiness(): ReadinessReport;
  /** Stops taking work, lets in-flight calls finish, and stops every loop. */
  stop(): Promise<void>;
  /** While stop() runs: the part it is waiting for (for a shutdown that overruns its deadline). */
  stoppingNow(): string | undefined;
}

type PodNetworkingObject = PodNetworking & k8s.KubernetesObject;

/**
 * Whether the PodNetworking CRD is installed: the provider's first apiserver call. A provider
 * that starts before the apiserver answers (a control plane restarting, a network not up yet)
 * waits here, saying so, rather than dying on ECONNREFUSED; an answer it cannot retry away (401,
 * 403, ...) still ends start-up.
 */
export async function podNetworkingCrdInstalled(o: {
  custom: k8s.CustomObjectsApi;
  log: Logger;
  signal?: AbortSignal;
  retry?: { baseMs: number; maxMs: number };
}): Promise<boolean> {
  const { group, version, plural } = PODNETWORKING_API;
  for (let attempt = 1; ; attempt++) {
    try {
      await o.custom.listClusterCustomObject({ group, version, plural, limit: 1 });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      const status = statusCodeOf(err);
      if (status !== undefined && status !== 429 && status < 500) throw err;
      const retryInMs = backoffDelay(attempt, o.retry ?? { baseMs: 1_000, maxMs: 30_000 });
      o.log.warn('cannot reach the Kubernetes API server; retrying', { attempt, err, retryInMs, fix: 'check the apiserver and the kubeconfig\'s server address (KUBECONFIG, or the in-cluster service account)' });
      await sleep(retryInMs, undefined, { signal: o.signal });
    }
  }
}

/** Everything the registrations share: built once per process. */
interface Wiring {
  config: ProviderConfig;
  log: Logger;
  cloud: CloudPort;
  clients: KubernetesClients;
  metrics: ProviderMetrics;
  nodeTiming: ProviderOptions['nodeTiming'];
  listGate: ListGate | undefined;
  crdInstalled: boolean;
  namespaces: SharedInformer<k8s.V1Namespace>;
  podNetworkings: SharedInformer<PodNetworkingObject>;
  /** kube-system's eni-config, eci-profile, pools and overlays (docs/networks.md), last good versions. */
  clusterNetwork: ClusterNetworkWatch;
  /** The cluster DNS ClusterFirst pods get now (see provider/eci/cluster-dns.ts). */
  clusterDns: () => ClusterDns | undefined;
  /** Process-wide translation warnings already reported: once per process, across leaderships. */
  processWarnings: Set<string>;
  /** The current leadership's work; undefined on a follower. */
  leadership: Leadership | undefined;
  webhook: AdmissionWebhook | undefined;
  metricsServer: MetricsServer | undefined;
}

/** What one leadership builds; the next leadership starts from scratch. */
interface Leadership {
  /** Cloud calls of this leadership: cancelled when the Lease is lost. */
  cloud: CloudPort;
  /** One correlator for every event the leader writes (pods, PodNetworkings, nodes). */
  events: KubernetesEventRecorder;
  podNetworkings?: ReturnType<typeof startPodNetworkingController>;
  nodes?: VirtualNodes;
  /** The virtual node pools' nodes (kube-system/eci-virtual-node-pools). */
  pools?: VirtualNodePools;
  podInformers?: PodInformers;
  /** Where the pod caches send a changed pod: the pod controller, once it exists. */
  enqueuePod?: (pod: k8s.V1Pod) => void;
  pods?: PodStore;
  controller?: PodController;
  /**
   * The virtual nodes' readiness gate: set once the pod caches have synced and the pod controller
   * is wired to them (a pod bound from then on is held until adoption is done, never created twice).
   */
  podsAccepted: boolean;
  /** When podsAccepted was set (the adoption's keep-Ready bound counts from then). */
  podsAcceptedAt?: number;
  /** Set once the pod controller has synced its pods and adopted the existing groups. */
  podsSynced: boolean;
  /** Which kubelet port each virtual node has (kubelet API on): the nodes advertise them, the listeners use them. */
  kubeletPorts?: KubeletPorts;
  /** One listener per virtual node, once the kubelet-api runnable started. */
  kubeletApi?: KubeletApi;
  /** IP headroom and the drift tripwire per network (issue 17). */
  networkHealth?: NetworkHealth;
}

/**
 * The pod caches of these nodes: started by the first caller (the nodes' start, as soon as their
 * names are known, so the caches list while the nodes register), extended by later ones.
 */
function podInformersFor(w: Wiring, l: Leadership, nodeNames: readonly string[], signal: AbortSignal): Promise<void> {
  if (l.podInformers === undefined) {
    l.podInformers = startPodInformers({
      kubeConfig: w.clients.kubeConfig,
      core: w.clients.core,
      nodeNames: [...nodeNames],
      onChange: (pod) => l.enqueuePod?.(pod),
      signal,
      log: w.log,
      ...(w.listGate === undefined ? {} : { listGate: w.listGate }),
    });
  }
  const informers = l.podInformers;
  return Promise.all(nodeNames.map((name) => informers.addNode(name))).then(() => undefined);
}

/** Cache names that have not synced (a missing CRD means no PodNetworkings: nothing to wait for). */
function unsyncedWebhookCaches(w: Wiring): string[] {
  const out: string[] = [];
  if (!w.namespaces.hasSynced()) out.push('namespaces');
  if (w.crdInstalled && !w.podNetworkings.hasSynced()) out.push('podnetworkings');
  if (!w.clusterNetwork.informer.hasSynced()) out.push('kube-system configmaps');
  return out;
}

const webhookCachesSynced = (w: Wiring): true | string => {
  const pending = unsyncedWebhookCaches(w);
  return pending.length === 0 ? true : `informer caches not synced: ${pending.join(', ')}`;
};

// --- registrations, in the order the manager starts them within their phase -----------------

const metricsServer = (w: Wiring, manager: Manager): Runnable => ({
  name: 'metrics-server',
  needsLeader: false,
  kind: 'server',
  async start() {
    if (w.config.metrics.port <= 0) return;
    const server = await startMetricsServer({ port: w.config.metrics.port, host: w.config.metrics.host, metrics: w.metrics, readiness: () => manager.readiness.report() });
    w.metricsServer = server;
    w.metrics.observe({ podNetworkingStatus: () => w.podNetworkings.list().map((pn) => ({ name: pn.metadata.name, status: pn.status?.status })) });
    w.log.info('metrics listening', { url: `${server.url}/metrics` });
    return () => server.close();
  },
});

/** HeapNearLimit in the log before V8's old-space cap aborts the process (docs/deploy.md, "Memory"). */
const heapWatch = (w: Wiring): Runnable => ({
  name: 'heap-watch',
  needsLeader: false,
  start: () => watchHeap({ log: w.log }),
});

const webhookServer = (w: Wiring, manager: Manager): Runnable => ({
  name: 'webhook-server',
  needsLeader: false,
  kind: 'webhook',
  async start() {
    if (w.config.webhook.port <= 0) return;
    const webhook = await startAdmissionWebhook({
      port: w.config.webhook.port,
      host: w.config.webhook.host,
      tlsCert: readFileSync(w.config.webhook.certFile),
      tlsKey: readFileSync(w.config.webhook.keyFile),
      getInputs: (_pod, namespace) => ({
        namespaceLabels: w.namespaces.get(namespace)?.metadata?.labels,
        podNetworkings: w.podNetworkings.list(),
        // IP-aware zones from the leader's last vSwitch poll; a follower has none (zones as they are).
        ...vSwitchesForAdmission(w),
        profileSelectors: w.clusterNetwork.state.profileSelectors(),
      }),
      options: { serverlessMode: w.config.webhook.serverless },
      cachesSynced: () => webhookCachesSynced(w),
      readiness: () => manager.readiness.report(),
      log: w.log,
    });
    w.webhook = webhook;
    return () => webhook.close();
  },
});

function vSwitchesForAdmission(w: Wiring): { vSwitches?: ReturnType<VirtualNodes['vSwitches']> } {
  const vSwitches = w.leadership?.nodes?.vSwitches() ?? [];
  return vSwitches.length === 0 ? {} : { vSwitches };
}

const leadershipState = (w: Wiring): Runnable => ({
  name: 'leadership',
  needsLeader: true,
  start(signal) {
    w.leadership = {
      cloud: cloudWithSignal(w.cloud, signal),
      events: new KubernetesEventRecorder({ kubeConfig: w.clients.kubeConfig, component: COMPONENT, log: w.log }),
      podsAccepted: false,
      podsSynced: false,
      ...(w.config.kubeletApi.enabled ? { kubeletPorts: kubeletPortsOf(w.config) } : {}),
    };
    w.metrics.setLeader(true);
    return () => {
      w.metrics.setLeader(false);
      w.leadership = undefined;
    };
  },
});

const current = (w: Wiring): Leadership => {
  if (w.leadership === undefined) throw new Error('no leadership: the leader runnables start after the leadership runnable');
  return w.leadership;
};

const podNetworkingStatus = (w: Wiring): Runnable => ({
  name: 'podnetworking-status',
  needsLeader: true,
  async start(signal) {
    const l = current(w);
    l.podNetworkings = startPodNetworkingController({
      kubeConfig: w.clients.kubeConfig,
      custom: w.clients.custom,
      core: w.clients.core,
      cloud: l.cloud,
      // The webhook's informer: one watch of PodNetworkings per process.
      informer: w.podNetworkings,
      signal,
      log: w.log,
      component: COMPONENT,
      events: l.events,
      // A PodNetworking turning Ready releases the pods waiting on it; it may also need a node
      // in a new zone (item 2 of issue 15).
      onChange: (pn: PodNetworking) => {
        l.nodes?.reconcileZones().catch((err: unknown) => w.log.warn('reconciling the virtual nodes\' zones failed', { err }));
        const controller = l.controller;
        if (pn.status?.status !== 'Ready' || controller === undefined) return;
        for (const pod of controller.waitingOn(pn.metadata.name)) controller.enqueue(pod);
      },
    });
    if (w.crdInstalled) await Promise.race([l.podNetworkings.synced, new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }))]);
    signal.throwIfAborted();
  },
});

const virtualNodes = (w: Wiring): Runnable => ({
  name: 'virtual-nodes',
  needsLeader: true,
  async start(signal) {
    const l = current(w);
    const podNetworkings = l.podNetworkings;
    if (podNetworkings === undefined) throw new Error('virtual-nodes needs podnetworking-status started first');
    const state = w.clusterNetwork.state;
    const nodeOptions: VirtualNodesOptions = {
      clients: w.clients,
      cloud: l.cloud,
      config: w.config,
      signal,
      version: `v1.36.3-eci-virtual-node-${PROVIDER_VERSION}`,
      log: w.log,
      timing: w.nodeTiming,
      podNetworkings: podNetworkings.store,
      events: l.events,
      // Each node advertises its own kubelet port (docs/kubelet-api.md).
      ...(l.kubeletPorts === undefined ? {} : { kubeletPort: (name: string) => l.kubeletPorts!.assign(name) }),
      // A node for a zone that appeared: its pods need an informer, and it needs its kubelet listener.
      onNodeAdded: (name) => {
        void l.podInformers?.addNode(name);
        l.kubeletApi?.addNode(name).catch((err: unknown) => w.log.error('kubelet API: cannot listen for the new virtual node', { node: name, err }));
      },
      onNodeRemoved: (name) => {
        l.podInformers?.removeNode(name);
        if (l.kubeletApi !== undefined) l.kubeletApi.removeNode(name).catch((err: unknown) => w.log.warn('kubelet API: stopping a node listener failed', { node: name, err }));
        else l.kubeletPorts?.release(name);
      },
      onZonesChanged: () => podNetworkings.refreshVirtualNodes(),
      onZonesKnown: (names) => void podInformersFor(w, l, names, signal).catch(() => {}),
      // From the node's pod cache once it has listed; until then not known: the node keeps the
      // `pods` it last published (a zone node registered later posts before onNodeAdded gives it
      // a cache, and counting 0 would cut its allocatable pods below what runs). Not the
      // apiserver's list of every pod of the node: at a restart that list ran beside the caches'
      // own (every pod encoded twice by kube-apiserver, ~50 MB of JSON at 10,000 pods parsed at
      // once by the provider; docs/benchmark.md, "Restart and memory, sixth session").
      podsHoldingIps: async (name) => {
        const informers = l.podInformers;
        if (informers === undefined || !informers.nodeSynced(name)) return undefined;
        return countPodsHoldingIps(informers.store.list(), name);
      },
      // A new (or NotReady) node turns Ready once the pod caches have synced and the pod
      // controller holds what it cannot sync yet: before that the scheduler would bind pods that
      // nothing watches. A node that is Ready stays Ready meanwhile (provider/node/readiness.ts).
      // The adoption that follows is bounded like the sync (a provider that cannot list its
      // groups must not keep its nodes Ready while every pod bound to them waits).
      readyGate: () => {
        if (!l.podsAccepted) return 'eci-virtual-node has not synced its pods yet';
        const { lastProgressAt, ...adoption } = l.controller?.adoption() ?? { adopted: false, podsHeld: 0 };
        const since = lastProgressAt ?? l.podsAcceptedAt ?? Date.now();
        return adoptionGate({ ...adoption, adopted: adoption.adopted || l.podsSynced, sinceProgressMs: Date.now() - since });
      },
    };
    const nodes = await startVirtualNodes({
      ...nodeOptions,
      // Flags > eci-profile > eni-config, read at each refresh: a hot update moves the zones.
      defaultVSwitchIds: () => state.defaultNetwork().vSwitchIds,
    });
    l.nodes = nodes;
    podNetworkings.setZoneNodes(nodes);
    const { podNetworkings: _pn, onZonesChanged: _oz, signal: _s, config: _c, ...base } = nodeOptions;
    const pools = new VirtualNodePools({ base, config: w.config, state, signal, log: w.log });
    l.pools = pools;
    await pools.reconcile();
    return async () => {
      await pools.stop();
      await nodes.stop();
    };
  },
});

const podController = (w: Wiring): Runnable => ({
  name: 'pod-controller',
  needsLeader: true,
  async start(signal) {
    const l = current(w);
    const nodes = l.nodes;
    const podNetworkings = l.podNetworkings;
    if (nodes === undefined || podNetworkings === undefined) throw new Error('pod-controller needs virtual-nodes and podnetworking-status started first');
    const pools = l.pools;
    const state = w.clusterNetwork.state;
    const network = new PodNetworkPlanner({
      cloud: l.cloud,
      defaults: () => state.defaultNetwork(),
      poolOfNode: (name) => pools?.poolOfNode(name),
      podNetworkings: podNetworkings.store,
      // Namespace labels from the shared cache: the pod sync matches PodNetworkings again.
      namespaceLabels: (namespace) => w.namespaces.get(namespace)?.metadata?.labels,
      waitForFreeIpsMs: w.config.sync.waitRetryMs,
    });
    const writer = new KubernetesPodWriter({ kubeConfig: w.clients.kubeConfig, component: COMPONENT, log: w.log, events: l.events });
    // Mostly listing already: the nodes' start began their pod caches (onZonesKnown).
    const synced = podInformersFor(w, l, [...nodes.nodeNames(), ...(pools?.nodeNames() ?? [])], signal);
    const podInformers = l.podInformers!;
    await Promise.race([synced, new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }))]);
    signal.throwIfAborted();
    w.log.info('pod caches synced', { pods: podInformers.store.list().length });
    l.pods = podInformers.store;
    const controller = new PodController({
      cloud: l.cloud,
      pods: podInformers.store,
      podsSynced: () => podInformers.allSynced(),
      podLookup: new ApiPodLookup({ core: w.clients.core }),
      writer,
      inputs: new ApiPodInputsLoader(w.clients.core),
      network,
      clusterId: w.config.clusterId,
      regionId: w.config.regionId,
      clusterDNS: w.clusterDns,
      processWarnings: w.processWarnings,
      zoneOfNode: (name) => nodes.zoneOfNode(name) ?? pools?.zoneOfNode(name),
      log: w.log,
      workers: w.config.sync.workers,
      writeConcurrency: w.config.sync.writeConcurrency,
      statusPollIntervalMs: w.config.sync.statusPollIntervalMs,
      resyncIntervalMs: w.config.sync.resyncIntervalMs,
      orphanGracePeriodMs: w.config.sync.orphanGracePeriodMs,
      backoffBaseMs: w.config.sync.backoffBaseMs,
      backoffMaxMs: w.config.sync.backoffMaxMs,
      metrics: w.metrics,
    });
    w.metrics.observe({
      workqueueDepth: () => controller.queue.depth + controller.queue.inFlight,
      podsByPhase: () => controller.podsByPhase(),
      vSwitchFreeIps: () => network.vSwitchFreeIps(),
    });
    l.controller = controller;
    l.enqueuePod = (pod) => controller.enqueue(pod);
    // The nodes' readiness gate opens here, before the adoption: every pod bound from now on reaches
    // the controller, which holds a pod without a listed group until the list is complete (so
    // nothing is created twice). Posted now rather than at the next heartbeat, alongside the
    // repairs (which do not wait for it): a node that was NotReady (e.g. Unknown after a long
    // outage) turns Ready without waiting for a list of every group (500 pages at 10,000 pods),
    // and the node lifecycle controller stops re-marking its pods not Ready as soon as it sees that.
    l.podsAccepted = true;
    l.podsAcceptedAt = Date.now();
    const posted = Promise.all([nodes.refresh(), pools?.refresh()]).then(
      () => w.log.info('virtual nodes Ready', { nodes: nodes.nodeNames(), poolNodes: pools?.nodeNames() ?? [] }),
      (err: unknown) => w.log.warn('posting the virtual nodes\' status failed; the heartbeat posts it', { err }),
    );
    // Adopts every group tagged with the cluster before any create.
    await controller.start(signal);
    await posted;
    signal.throwIfAborted();
    l.podsSynced = true;
    w.log.info('provider running', { nodes: nodes.nodeNames(), poolNodes: pools?.nodeNames() ?? [] });
    return () => controller.stop();
  },
});

const networkHealth = (w: Wiring): Runnable => ({
  name: 'network-health',
  needsLeader: true,
  start(signal) {
    const l = current(w);
    const nodes = l.nodes;
    const pods = l.pods;
    const podNetworkings = l.podNetworkings;
    if (nodes === undefined || pods === undefined || podNetworkings === undefined) throw new Error('network-health needs virtual-nodes and pod-controller started first');
    const health = startNetworkHealth({
      custom: w.clients.custom,
      events: l.events,
      log: w.log,
      // The resolved default network (flags > eci-profile > eni-config) and the pools (docs/networks.md).
      defaultVSwitchIds: () => w.clusterNetwork.state.defaultNetwork().vSwitchIds,
      pools: () => l.pools?.networks() ?? [],
      poolOfPod: (pod) => l.pools?.poolNameOfNode(pod.spec?.nodeName ?? ''),
      // A pool has no object of its own: its verdict is an event on the ConfigMap that declares it.
      onVerdict: (network, headroom, changed) => {
        if (network.kind !== 'pool' || !changed) return;
        const { namespace, name } = { namespace: CLUSTER_NETWORK_NAMESPACE, name: CLUSTER_CONFIGMAPS.pools };
        const uid = w.clusterNetwork.informer.get(name, namespace)?.metadata?.uid ?? name;
        l.events.record(
          { apiVersion: 'v1', kind: 'ConfigMap', namespace, name, uid },
          { type: headroom.ok ? 'Normal' : 'Warning', reason: headroom.ok ? EventReason.IPHeadroomRestored : EventReason.IPHeadroomLow, message: `pool ${network.name}: ${headroom.message}` },
        );
      },
      podNetworkings: podNetworkings.store,
      vSwitches: () => [...nodes.vSwitches(), ...(l.pools?.vSwitches() ?? [])],
      vSwitchesNotFound: () => [...nodes.vSwitchesNotFound(), ...(l.pools?.vSwitchesNotFound() ?? [])],
      // A PodNetworking naming a vSwitch the cloud lacks: its controller's resolution says so the
      // way it always does (status Fail, a PodNetworkingFailed event), now rather than at its resync.
      onVSwitchesNotFound: (network) => {
        if (network.kind === 'podnetworking') podNetworkings.resolve(network.name);
      },
      pods: () => pods.list(),
      namespaceLabels: (namespace) => w.namespaces.get(namespace)?.metadata?.labels,
      ratio: w.config.networkHealth.ipHeadroomRatio,
      everyMs: w.config.networkHealth.checkIntervalMs,
      signal,
    });
    l.networkHealth = health;
    w.metrics.observe({ networks: () => w.leadership?.networkHealth?.states() ?? [] });
    return async () => {
      await health.done;
      if (w.leadership !== undefined) w.leadership.networkHealth = undefined;
    };
  },
});

const kubeletApi = (w: Wiring): Runnable => ({
  name: 'kubelet-api',
  needsLeader: true,
  async start() {
    const l = current(w);
    const ports = l.kubeletPorts;
    if (ports === undefined) return;
    const nodes = l.nodes;
    const pods = l.pods;
    if (nodes === undefined || pods === undefined) throw new Error('kubelet-api needs virtual-nodes and pod-controller started first');
    // kubectl logs/exec and stats, one listener per virtual node on node.internalIP:<its port>
    // (issue 15 item 8); nodes added or removed later reach it through onNodeAdded/onNodeRemoved.
    const nodeNames = [...nodes.nodeNames(), ...(l.pools?.nodeNames() ?? [])];
    const api = await createKubeletApiForProvider({ config: w.config, kubeConfig: w.clients.kubeConfig, cloud: w.cloud, pods, ports, nodeNames, log: w.log });
    l.kubeletApi = api;
    try {
      for (const name of nodeNames) await api.addNode(name);
    } catch (err) {
      await api.close();
      throw err;
    }
    return () => {
      l.kubeletApi = undefined;
      return api.close();
    };
  },
});

/**
 * Without --cluster-dns, ClusterFirst pods get the kube-system/kube-dns Service's ClusterIP: a
 * shared informer on that one Service (read before the pod controller starts, kept current), and
 * a log line whenever the DNS in use changes.
 */
function watchClusterDns(w: Wiring, informers: SharedInformers, clients: KubernetesClients): void {
  const configured = w.config.clusterDNS;
  if (configured.nameServers.length > 0) {
    w.clusterDns = () => configured;
    return;
  }
  const { namespace, name } = KUBE_DNS_SERVICE;
  const fieldSelector = `metadata.name=${name}`;
  const kubeDns = informers.informerFor<k8s.V1Service>({
    name: 'kube-dns-service',
    path: `/api/v1/namespaces/${namespace}/services`,
    fieldSelector,
    list: (page) => clients.core.listNamespacedService({ namespace, fieldSelector, ...page }),
  });
  let last: string | undefined;
  w.clusterDns = () => {
    const { dns, source } = effectiveClusterDns({ configured, kubeDnsService: kubeDns.get(name, namespace) });
    const now = dns?.nameServers.join(',') ?? '';
    if (now !== last) {
      // "None found" from the start is reported once by the pod sync (a process-wide warning).
      if (dns !== undefined) w.log.info('cluster DNS for ClusterFirst pods: the kube-dns Service', { source, nameServers: dns.nameServers, clusterDomain: dns.clusterDomain, service: `${namespace}/${name}` });
      else if (last !== undefined && last !== '') w.log.warn(`the ${namespace}/${name} Service is gone: new ClusterFirst pods resolve through the VPC's DNS`, { was: last, fix: `set --cluster-dns, or recreate the ${namespace}/${name} Service` });
      last = now;
    }
    return dns;
  };
}

export async function startProvider({ config, log, cloud: cloudOverride, nodeTiming, listGate }: ProviderOptions): Promise<RunningProvider> {
  log.info('starting eci-virtual-node', { version: PROVIDER_VERSION, config: redactConfig(config) });
  // --- metrics (issue 7): recorders wired below; gauges read at scrape time ---
  const metrics = createMetrics({ processMetrics: true });
  const cloud =
    cloudOverride ??
    createCloud({
      regionId: config.regionId,
      eciEndpoint: config.cloud.eciEndpoint,
      vpcEndpoint: config.cloud.vpcEndpoint,
      ecsEndpoint: config.cloud.ecsEndpoint,
      protocol: config.cloud.protocol,
      credentials: { accessKeyId: config.cloud.accessKeyId, accessKeySecret: config.cloud.accessKeySecret },
      rateLimits: config.cloud.rateLimits,
      timeouts: { callMs: config.cloud.timeoutMs },
      onCall: (call) => metrics.cloudCall({ action: call.action, code: call.code, durationMs: call.durationMs, throttleWaitMs: call.queuedMs, traceId: call.traceId }),
    });
  const clients = makeKubernetesClients(loadKubeConfig(config.kubernetes.kubeconfig, config.kubernetes));

  // Without the CRD there is nothing to wait for: pods use the default network (and pods that
  // name a PodNetworking wait) until it is installed; the informer keeps retrying meanwhile.
  const crdInstalled = await podNetworkingCrdInstalled({ custom: clients.custom, log });
  if (!crdInstalled) {
    log.error('the PodNetworking CRD is not installed: pods get the default network until it is', {
      fix: 'kubectl apply --server-side -f deploy/crds/network.alibabacloud.com_podnetworkings.yaml',
    });
  }

  // --- leader election (issue 9): only the leader runs the leader runnables; every replica serves the webhook ---
  const le = config.leaderElection;
  const election = le.enabled
    ? leaseElection({
        coordination: clients.coordination,
        namespace: le.namespace || 'eci-virtual-node',
        name: le.leaseName || `eci-virtual-node-${config.clusterId}`,
        identity: leaderIdentity(le.identity || hostname()),
        timing: { leaseDurationSeconds: le.leaseDurationSeconds, renewDeadlineMs: le.renewDeadlineMs, retryPeriodMs: le.retryPeriodMs },
        log,
        onStoppedLeading: () => log.info('not the leader any more: this replica runs no virtual nodes or pod sync now, and competes for the Lease again'),
      })
    : undefined;
  const manager = new Manager({ log, ...(election === undefined ? {} : { election }) });
  const informers = new SharedInformers({ kubeConfig: clients.kubeConfig, log, ...(listGate ? { listGate } : {}), onCreate: (informer) => manager.add(informer) });

  // PodNetworkings and namespace labels feed the webhook, on every replica.
  const { group, version, plural } = PODNETWORKING_API;
  const w: Wiring = {
    config,
    log,
    cloud,
    clients,
    metrics,
    nodeTiming,
    listGate,
    crdInstalled,
    namespaces: informers.informerFor<k8s.V1Namespace>({ name: 'namespaces', path: '/api/v1/namespaces', list: (page) => clients.core.listNamespace({ ...page }) }),
    podNetworkings: informers.informerFor<PodNetworkingObject>({
      name: 'podnetworkings',
      path: `/apis/${group}/${version}/${plural}`,
      list: (page) => clients.custom.listClusterCustomObject({ group, version, plural, ...page }) as Promise<k8s.KubernetesListObject<PodNetworkingObject>>,
      waitForSync: () => crdInstalled,
    }),
    clusterNetwork: watchClusterNetwork({
      informers,
      core: clients.core,
      state: new ClusterNetworkState({ flags: config.defaultNetwork }),
      // Every replica reads these ConfigMaps (the webhook needs the profile's selectors), so each
      // reports a malformed one; the correlator folds repeats into a count.
      events: new KubernetesEventRecorder({ kubeConfig: clients.kubeConfig, component: COMPONENT, log }),
      log,
      // New pods read the state at their sync; the nodes and pools follow the zones it needs.
      onChange: () => {
        const l = w.leadership;
        l?.nodes?.refresh().catch((err: unknown) => log.warn('refreshing the virtual nodes after a network change failed', { err }));
        l?.pools?.reconcile().catch((err: unknown) => log.warn('reconciling the virtual node pools failed', { err }));
      },
    }),
    clusterDns: () => undefined,
    processWarnings: new Set(),
    leadership: undefined,
    webhook: undefined,
    metricsServer: undefined,
  };
  watchClusterDns(w, informers, clients);

  const registrations: Runnable[] = [
    metricsServer(w, manager),
    heapWatch(w),
    webhookServer(w, manager),
    leadershipState(w),
    podNetworkingStatus(w),
    virtualNodes(w),
    podController(w),
    networkHealth(w),
    kubeletApi(w),
  ];
  for (const r of registrations) manager.add(r);

  // /readyz: the webhook's inputs everywhere; on the leader, its pod sync too.
  manager.addReadyCheck('informer-namespaces', () => (w.namespaces.hasSynced() ? true : 'the namespace cache has not synced'));
  manager.addReadyCheck('informer-podnetworkings', () =>
    !crdInstalled || w.podNetworkings.hasSynced() ? true : 'the PodNetworking cache has not synced',
  );
  manager.addReadyCheck('informer-kube-system-configmaps', () => (w.clusterNetwork.informer.hasSynced() ? true : 'the kube-system ConfigMap cache (eni-config, eci-profile, pools) has not synced'));
  manager.addReadyCheck('leader-pod-controller', () => (w.leadership?.podsSynced === true ? true : 'leading, but pods not synced and container groups not adopted yet'), { leaderOnly: true });

  if (election !== undefined) log.info('waiting for leadership before starting virtual nodes and pod sync', { identity: election.identity });
  await manager.start();

  const leaderWork = (): Leadership & { nodes: VirtualNodes; controller: PodController } => {
    const l = w.leadership;
    if (l?.nodes === undefined || l.controller === undefined || !l.podsSynced) {
      throw new Error('this replica is not the leader: it runs no virtual nodes and no pod controller');
    }
    return l as Leadership & { nodes: VirtualNodes; controller: PodController };
  };
  return {
    get nodes() {
      return leaderWork().nodes;
    },
    get pods() {
      return leaderWork().controller;
    },
    get webhook() {
      return w.webhook;
    },
    get metrics() {
      return w.metricsServer;
    },
    isLeader: () => manager.leaderRunning() && w.leadership?.podsSynced === true,
    readiness: () => manager.readiness.report(),
    async stop() {
      await manager.stop();
      log.info('provider stopped');
    },
    stoppingNow: () => manager.stoppingNow,
  };
}
