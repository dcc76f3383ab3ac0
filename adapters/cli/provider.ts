// The composition root: builds the adapters from the configuration, wires them into the
// provider's controllers, and starts them in controller-runtime's order: webhook server,
// informers, cache sync, virtual nodes, the pod controller. One AbortController stops it all.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type * as k8s from '@kubernetes/client-node';
import { redactConfig, type ProviderConfig } from '../../provider/config/config.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import type { PodNetworking } from '../../provider/networking/podnetworking.ts';
import { PodController } from '../../provider/pods/controller.ts';
import { PodNetworkPlanner } from '../../provider/pods/network.ts';
import type { CloudPort } from '../../provider/ports.ts';
import { createCloud } from '../alibabacloud/cloud.ts';
import { isNotFound, loadKubeConfig, makeKubernetesClients, type KubernetesClients } from '../kubernetes/client.ts';
import { KubernetesEventRecorder } from '../kubernetes/events.ts';
import { startInformer } from '../kubernetes/informer.ts';
import { startVirtualNodes, type VirtualNodes } from '../kubernetes/nodes.ts';
import { startPodNetworkingController } from '../kubernetes/podnetworkings.ts';
import { leaderIdentity, runLeaderElection, type LeaderElection } from '../kubernetes/leader.ts';
import { startKubeletApiForProvider } from '../kubelet-api/start.ts';
import { ApiPodInputsLoader, KubernetesPodWriter, startPodInformers, type PodInformers } from '../kubernetes/pods.ts';
import type { Logger } from '../log/logger.ts';
import { createMetrics, startMetricsServer, type MetricsServer, type ProviderMetrics } from '../telemetry/metrics.ts';
import { startAdmissionWebhook, type AdmissionWebhook } from '../webhook/server.ts';

export const PROVIDER_VERSION = '0.1.0';
export const COMPONENT = 'eci-virtual-node';

export interface ProviderOptions {
  config: ProviderConfig;
  log: Logger;
  /** Overrides for tests: a different cloud port (e.g. with injected faults). */
  cloud?: CloudPort;
  /** Timings of the node manager (tests shorten them). */
  nodeTiming?: Parameters<typeof startVirtualNodes>[0]['timing'];
}

export interface RunningProvider {
  nodes: VirtualNodes;
  pods: PodController;
  webhook: AdmissionWebhook | undefined;
  /** The Prometheus endpoint (config.metrics.port > 0), on every replica. */
  metrics: MetricsServer | undefined;
  /** With leader election: whether this replica leads now (`nodes` and `pods` throw while it does not). */
  isLeader(): boolean;
  /** Stops taking work, lets in-flight calls finish, and stops every loop. */
  stop(): Promise<void>;
}

async function podNetworkingCrdInstalled(custom: k8s.CustomObjectsApi): Promise<boolean> {
  const { group, version, plural } = PODNETWORKING_API;
  try {
    await custom.listClusterCustomObject({ group, version, plural, limit: 1 });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export async function startProvider({ config, log, cloud: cloudOverride, nodeTiming }: ProviderOptions): Promise<RunningProvider> {
  const abort = new AbortController();
  const signal = abort.signal;
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
      onCall: (call) => metrics.cloudCall({ action: call.action, code: call.code, durationMs: call.durationMs, throttleWaitMs: call.queuedMs }),
    });
  const clients = makeKubernetesClients(loadKubeConfig(config.kubernetes.kubeconfig));

  // PodNetworkings and namespace labels feed the webhook, on every replica. The PodNetworking
  // status writer and the pod sync run on the leader only (startLeaderWork, issue 9).
  const { group, version, plural } = PODNETWORKING_API;
  const podNetworkingInformer = startInformer<PodNetworking & k8s.KubernetesObject>({
    kubeConfig: clients.kubeConfig,
    path: `/apis/${group}/${version}/${plural}`,
    list: () => clients.custom.listClusterCustomObject({ group, version, plural }) as Promise<k8s.KubernetesListObject<PodNetworking & k8s.KubernetesObject>>,
    signal,
    log,
    name: 'podnetworkings',
  });
  const podNetworkings = { store: { list: () => podNetworkingInformer.cache.list() }, synced: podNetworkingInformer.synced };
  const namespaces = startInformer<k8s.V1Namespace>({
    kubeConfig: clients.kubeConfig,
    path: '/api/v1/namespaces',
    list: () => clients.core.listNamespace(),
    signal,
    log,
    name: 'namespaces',
  });

  let webhook: AdmissionWebhook | undefined;
  if (config.webhook.port > 0) {
    webhook = await startAdmissionWebhook({
      port: config.webhook.port,
      host: config.webhook.host,
      tlsCert: readFileSync(config.webhook.certFile),
      tlsKey: readFileSync(config.webhook.keyFile),
      getInputs: (_pod, namespace) => ({
        namespaceLabels: namespaces.cache.get(namespace)?.metadata?.labels,
        podNetworkings: podNetworkings.store.list(),
      }),
      options: { serverlessMode: config.webhook.serverless },
      log,
    });
    log.info('admission webhook listening', { port: webhook.port });
  }
  // --- metrics server (issue 7): every replica; the leader's gauges are empty on followers ---
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.port > 0) {
    metricsServer = await startMetricsServer({ port: config.metrics.port, host: config.metrics.host, metrics });
    metrics.observe({ podNetworkingStatus: () => podNetworkingInformer.cache.list().map((pn) => ({ name: pn.metadata.name, status: pn.status?.status })) });
    log.info('metrics listening', { url: `${metricsServer.url}/metrics` });
  }
  await namespaces.synced;
  // Without the CRD there is nothing to wait for: pods use the default network (and pods that
  // name a PodNetworking wait) until it is installed; the informer keeps retrying meanwhile.
  const crdInstalled = await podNetworkingCrdInstalled(clients.custom);
  if (crdInstalled) await podNetworkings.synced;
  else {
    log.error('the PodNetworking CRD is not installed: pods get the default network until it is', {
      fix: 'kubectl apply --server-side -f deploy/crds/network.alibabacloud.com_podnetworkings.yaml',
    });
  }

  // --- leader election (issue 9): only the leader runs startLeaderWork; every replica serves the webhook ---
  const namespaceLabels = (name: string) => namespaces.cache.get(name)?.metadata?.labels;
  const leaderInputs: LeaderWorkInputs = { config, log, cloud, clients, nodeTiming, crdInstalled, metrics, namespaceLabels };
  let work: LeaderWork | undefined;
  let election: LeaderElection | undefined;
  if (config.leaderElection.enabled) {
    const le = config.leaderElection;
    election = runLeaderElection({
      coordination: clients.coordination,
      namespace: le.namespace || 'eci-virtual-node',
      name: le.leaseName || `eci-virtual-node-${config.clusterId}`,
      identity: leaderIdentity(le.identity || hostname()),
      timing: { leaseDurationSeconds: le.leaseDurationSeconds, renewDeadlineMs: le.renewDeadlineMs, retryPeriodMs: le.retryPeriodMs },
      signal,
      log,
      // Runs until the leadership ends (lost, or released on stop), then stops the work before
      // the Lease is given up.
      onStartedLeading: async (leaderSignal) => {
        const started = await startLeaderWork(leaderInputs, leaderSignal);
        work = started;
        await untilAborted(leaderSignal);
        work = undefined;
        await started.stop();
      },
      onStoppedLeading: () => log.info('not the leader any more: this replica runs no virtual nodes or pod sync now'),
    });
    log.info('waiting for leadership before starting virtual nodes and pod sync', { identity: election.identity });
  } else {
    work = await startLeaderWork(leaderInputs, signal);
  }
  const leaderWork = (): LeaderWork => {
    if (work === undefined) throw new Error('this replica is not the leader: it runs no virtual nodes and no pod controller');
    return work;
  };

  let stopping: Promise<void> | undefined;
  return {
    get nodes() {
      return leaderWork().nodes;
    },
    get pods() {
      return leaderWork().controller;
    },
    webhook,
    metrics: metricsServer,
    isLeader: () => work !== undefined,
    stop() {
      stopping ??= (async () => {
        // With leader election, release() stops the leader's work first, then frees the Lease.
        if (election !== undefined) await election.release();
        else await work?.stop();
        abort.abort();
        await webhook?.close();
        await metricsServer?.close();
        log.info('provider stopped');
      })();
      return stopping;
    },
  };
}

interface LeaderWorkInputs {
  config: ProviderConfig;
  log: Logger;
  cloud: CloudPort;
  clients: KubernetesClients;
  nodeTiming: ProviderOptions['nodeTiming'];
  crdInstalled: boolean;
  metrics: ProviderMetrics;
  /** Namespace labels from the shared cache: the pod sync matches PodNetworkings again. */
  namespaceLabels: (namespace: string) => Readonly<Record<string, string>> | undefined;
}

interface LeaderWork {
  nodes: VirtualNodes;
  controller: PodController;
  /** Lets in-flight syncs finish and stops the node loops (the rest stops with the signal). */
  stop(): Promise<void>;
}

const untilAborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));

/**
 * The leader's work (issue 9), after the shared caches synced: the PodNetworking status writer,
 * the virtual nodes, the pod informers and the pod controller. Everything stops when `signal`
 * aborts; stop() also waits for in-flight syncs. Without leader election `signal` is the
 * provider's own.
 */
async function startLeaderWork({ config, log, cloud, clients, nodeTiming, crdInstalled, metrics, namespaceLabels }: LeaderWorkInputs, signal: AbortSignal): Promise<LeaderWork> {
  // Set once the pod controller exists (the PodNetworking controller starts first).
  const podControllerRef: { current?: PodController } = {};
  // Set once they exist: a PodNetworking change may need a node in a new zone (item 2 of issue 15).
  const nodesRef: { current?: VirtualNodes } = {};
  const podInformersRef: { current?: PodInformers } = {};
  // One correlator for every event the leader writes (pods, PodNetworkings).
  const events = new KubernetesEventRecorder({ core: clients.core, component: COMPONENT, log });
  const podNetworkings = startPodNetworkingController({
    kubeConfig: clients.kubeConfig,
    custom: clients.custom,
    core: clients.core,
    cloud,
    signal,
    log,
    component: COMPONENT,
    events,
    // A PodNetworking turning Ready releases the pods waiting on it.
    onChange: (pn: PodNetworking) => {
      nodesRef.current?.reconcileZones().catch((err: unknown) => log.warn('reconciling the virtual nodes\' zones failed', { err }));
      const controller = podControllerRef.current;
      if (pn.status?.status !== 'Ready' || controller === undefined) return;
      for (const pod of controller.waitingOn(pn.metadata.name)) controller.enqueue(pod);
    },
  });
  if (crdInstalled) await Promise.race([podNetworkings.synced, untilAborted(signal)]);
  signal.throwIfAborted();

  const nodes = await startVirtualNodes({
    clients,
    cloud,
    config,
    signal,
    version: `v1.36.3-eci-virtual-node-${PROVIDER_VERSION}`,
    log,
    timing: nodeTiming,
    podNetworkings: podNetworkings.store,
    events,
    // A node for a zone that appeared: its pods need an informer (and, with per-node kubelet
    // endpoints, a kubelet server: hook it here as kubeletApi.addNode/removeNode).
    onNodeAdded: (name) => void podInformersRef.current?.addNode(name),
    onNodeRemoved: (name) => podInformersRef.current?.removeNode(name),
    onZonesChanged: () => podNetworkings.refreshVirtualNodes(),
  });
  nodesRef.current = nodes;
  podNetworkings.setZoneNodes(nodes);
  const network = new PodNetworkPlanner({
    cloud,
    defaults: config.defaultNetwork,
    podNetworkings: podNetworkings.store,
    namespaceLabels,
  });
  const writer = new KubernetesPodWriter({ core: clients.core, component: COMPONENT, log, events });
  let enqueue: (pod: k8s.V1Pod) => void = () => {};
  const podInformers = startPodInformers({
    kubeConfig: clients.kubeConfig,
    core: clients.core,
    nodeNames: nodes.nodeNames(),
    onChange: (pod) => enqueue(pod),
    signal,
    log,
  });
  podInformersRef.current = podInformers;
  await podInformers.synced;

  // --- kubelet API (issue 8): kubectl logs/exec and stats on node.internalIP:node.kubeletPort ---
  if (config.kubeletApi.enabled) {
    const kubeletApi = await startKubeletApiForProvider({ config, kubeConfig: clients.kubeConfig, cloud, pods: podInformers.store, nodeNames: () => nodes.nodeNames(), log });
    signal.addEventListener('abort', () => void kubeletApi.close(), { once: true });
  }
  // --- end kubelet API ---

  const controller = new PodController({
    cloud,
    pods: podInformers.store,
    writer,
    inputs: new ApiPodInputsLoader(clients.core),
    network,
    clusterId: config.clusterId,
    regionId: config.regionId,
    ...(config.clusterDNS.nameServers.length > 0 ? { clusterDNS: config.clusterDNS } : {}),
    zoneOfNode: (name) => nodes.zoneOfNode(name),
    log,
    workers: config.sync.workers,
    statusPollIntervalMs: config.sync.statusPollIntervalMs,
    resyncIntervalMs: config.sync.resyncIntervalMs,
    orphanGracePeriodMs: config.sync.orphanGracePeriodMs,
    backoffBaseMs: config.sync.backoffBaseMs,
    backoffMaxMs: config.sync.backoffMaxMs,
    metrics,
  });
  // --- metrics (issue 7): the leader's gauges, read at scrape time ---
  metrics.observe({
    workqueueDepth: () => controller.queue.depth + controller.queue.inFlight,
    podsByPhase: () => controller.podsByPhase(),
    vSwitchFreeIps: () => network.vSwitchFreeIps(),
  });
  podControllerRef.current = controller;
  enqueue = (pod) => controller.enqueue(pod);
  await controller.start(signal);
  log.info('provider running', { nodes: nodes.nodeNames() });
  return {
    nodes,
    controller,
    async stop() {
      await controller.stop();
      await nodes.stop();
    },
  };
}
