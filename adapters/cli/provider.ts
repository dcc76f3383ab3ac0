// The composition root: builds the adapters from the configuration, wires them into the
// provider's controllers, and starts them in controller-runtime's order: webhook server,
// informers, cache sync, virtual nodes, the pod controller. One AbortController stops it all.
import { readFileSync } from 'node:fs';
import type * as k8s from '@kubernetes/client-node';
import { redactConfig, type ProviderConfig } from '../../provider/config/config.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import type { PodNetworking } from '../../provider/networking/podnetworking.ts';
import { PodController } from '../../provider/pods/controller.ts';
import { PodNetworkPlanner } from '../../provider/pods/network.ts';
import type { CloudPort } from '../../provider/ports.ts';
import { createCloud } from '../alibabacloud/cloud.ts';
import { isNotFound, loadKubeConfig, makeKubernetesClients } from '../kubernetes/client.ts';
import { startInformer } from '../kubernetes/informer.ts';
import { startVirtualNodes, type VirtualNodes } from '../kubernetes/nodes.ts';
import { startPodNetworkingController } from '../kubernetes/podnetworkings.ts';
import { ApiPodInputsLoader, KubernetesPodWriter, startPodInformers } from '../kubernetes/pods.ts';
import type { Logger } from '../log/logger.ts';
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

  const cloud =
    cloudOverride ??
    createCloud({
      regionId: config.regionId,
      eciEndpoint: config.cloud.eciEndpoint,
      vpcEndpoint: config.cloud.vpcEndpoint,
      protocol: config.cloud.protocol,
      credentials: { accessKeyId: config.cloud.accessKeyId, accessKeySecret: config.cloud.accessKeySecret },
      rateLimits: config.cloud.rateLimits,
      timeouts: { callMs: config.cloud.timeoutMs },
    });
  const clients = makeKubernetesClients(loadKubeConfig(config.kubernetes.kubeconfig));

  // PodNetworkings and namespace labels feed both the webhook and the pod sync.
  // Set once the pod controller exists (the PodNetworking controller starts first).
  const podControllerRef: { current?: PodController } = {};
  const podNetworkings = startPodNetworkingController({
    kubeConfig: clients.kubeConfig,
    custom: clients.custom,
    core: clients.core,
    cloud,
    signal,
    log,
    component: COMPONENT,
    // A PodNetworking turning Ready releases the pods waiting on it.
    onChange: (pn: PodNetworking) => {
      const controller = podControllerRef.current;
      if (pn.status?.status !== 'Ready' || controller === undefined) return;
      for (const pod of controller.waitingOn(pn.metadata.name)) controller.enqueue(pod);
    },
  });
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
  await namespaces.synced;
  // Without the CRD there is nothing to wait for: pods use the default network (and pods that
  // name a PodNetworking wait) until it is installed; the informer keeps retrying meanwhile.
  if (await podNetworkingCrdInstalled(clients.custom)) await podNetworkings.synced;
  else {
    log.error('the PodNetworking CRD is not installed: pods get the default network until it is', {
      fix: 'kubectl apply --server-side -f deploy/crds/network.alibabacloud.com_podnetworkings.yaml',
    });
  }

  const nodes = await startVirtualNodes({ clients, cloud, config, signal, version: `v1.36.3-eci-virtual-node-${PROVIDER_VERSION}`, log, timing: nodeTiming });
  const network = new PodNetworkPlanner({
    cloud,
    defaults: config.defaultNetwork,
    podNetworkings: podNetworkings.store,
  });
  const writer = new KubernetesPodWriter({ core: clients.core, component: COMPONENT, log });
  let enqueue: (pod: k8s.V1Pod) => void = () => {};
  const podInformers = startPodInformers({
    kubeConfig: clients.kubeConfig,
    core: clients.core,
    nodeNames: nodes.nodeNames(),
    onChange: (pod) => enqueue(pod),
    signal,
    log,
  });
  await podInformers.synced;

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
  });
  podControllerRef.current = controller;
  enqueue = (pod) => controller.enqueue(pod);
  await controller.start(signal);
  log.info('provider running', { nodes: nodes.nodeNames() });

  let stopping: Promise<void> | undefined;
  return {
    nodes,
    pods: controller,
    webhook,
    stop() {
      stopping ??= (async () => {
        await controller.stop();
        abort.abort();
        await Promise.allSettled([nodes.stop(), webhook?.close()]);
        log.info('provider stopped');
      })();
      return stopping;
    },
  };
}
