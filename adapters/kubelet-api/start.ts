// The kubelet API as the composition root starts it: from the configuration, the provider's
// Kubernetes clients, its CloudPort (whose CloudCaller the kubelet's cloud calls share: one
// pacing queue per action for the account), the pod informer's store and the port table the
// node manager advertises from. Listeners start per node with addNode.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { kubeletPortPool, KubeletPorts } from '../../provider/kubelet-api/endpoints.ts';
import type { CloudPort, PodStore } from '../../provider/ports.ts';
import { CloudCaller } from '../alibabacloud/call.ts';
import { createKubeletCloud } from '../alibabacloud/kubelet.ts';
import type { Logger } from '../log/logger.ts';
import { KubeletAuth } from './auth.ts';
import { createKubeletApi, servingCertificate, type KubeletApi } from './server.ts';

export interface StartForProviderOptions {
  config: ProviderConfig;
  kubeConfig: k8s.KubeConfig;
  /** The provider's CloudPort; its `caller` (when it has one) is shared. */
  cloud: CloudPort;
  pods: PodStore;
  /** From kubeletPortsOf(config): the same table the nodes' daemonEndpoints come from. */
  ports: KubeletPorts;
  /** Extra names for a self-signed serving certificate (the nodes' Hostname addresses). */
  nodeNames: readonly string[];
  log: Logger;
}

/** The port table of this process: kubeletApi.ports, or kubeletApi.portCount ports from node.kubeletPort. */
export function kubeletPortsOf(config: ProviderConfig): KubeletPorts {
  return new KubeletPorts({ pool: kubeletPortPool({ base: config.node.kubeletPort, count: config.kubeletApi.portCount, listed: config.kubeletApi.ports }) });
}

export async function createKubeletApiForProvider(o: StartForProviderOptions): Promise<KubeletApi> {
  const { config } = o;
  const shared = (o.cloud as { caller?: unknown }).caller;
  const cloud = createKubeletCloud({
    regionId: config.regionId,
    eciEndpoint: config.cloud.eciEndpoint,
    protocol: config.cloud.protocol,
    credentials: { accessKeyId: config.cloud.accessKeyId, accessKeySecret: config.cloud.accessKeySecret },
    timeouts: { callMs: config.cloud.timeoutMs },
    rateLimits: config.cloud.rateLimits,
    ...(shared instanceof CloudCaller ? { caller: shared } : {}),
  });
  const tls = await servingCertificate({
    certFile: config.kubeletApi.certFile,
    keyFile: config.kubeletApi.keyFile,
    addresses: [config.node.internalIP, ...o.nodeNames],
  });
  const clientCA = config.kubeletApi.clientCAFile === '' ? undefined : readFileSync(config.kubeletApi.clientCAFile);
  const api = createKubeletApi({
    host: config.kubeletApi.host,
    ports: o.ports,
    tls: { cert: tls.cert, key: tls.key, ...(clientCA === undefined ? {} : { clientCA }) },
    auth: new KubeletAuth({
      authentication: o.kubeConfig.makeApiClient(k8s.AuthenticationV1Api),
      authorization: o.kubeConfig.makeApiClient(k8s.AuthorizationV1Api),
      clientCertificates: clientCA !== undefined,
    }),
    cloud,
    pods: o.pods,
    anonymousStats: config.kubeletApi.anonymousStats,
    log: o.log,
  });
  if (config.kubeletApi.anonymousStats) {
    o.log.warn('kubelet API: anonymous stats mode is ON: /stats/summary and /metrics/resource without credentials are authorized as system:anonymous', {
      fix: 'set kubeletApi.anonymousStats=false (--kubelet-api-anonymous-stats=false) unless a caller cannot send credentials; grant system:anonymous nothing you would not publish',
    });
  }
  o.log.info('kubelet API ready: one listener per virtual node', {
    host: config.kubeletApi.host,
    servingCertificate: tls.selfSigned ? 'self-signed' : config.kubeletApi.certFile,
    clientCertificates: clientCA === undefined ? 'off (bearer tokens only)' : config.kubeletApi.clientCAFile,
  });
  return api;
}
