// The kubelet API as the composition root starts it: from the configuration, the provider's
// Kubernetes clients, its CloudPort (whose CloudCaller the kubelet's cloud calls share: one
// pacing queue per action for the account) and the pod informer's store.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { ProviderConfig } from '../../provider/config/config.ts';
import type { CloudPort, PodStore } from '../../provider/ports.ts';
import { CloudCaller } from '../alibabacloud/call.ts';
import { createKubeletCloud } from '../alibabacloud/kubelet.ts';
import type { Logger } from '../log/logger.ts';
import { KubeletAuth } from './auth.ts';
import { servingCertificate, startKubeletApi, type KubeletApiServer } from './server.ts';

export interface StartForProviderOptions {
  config: ProviderConfig;
  kubeConfig: k8s.KubeConfig;
  /** The provider's CloudPort; its `caller` (when it has one) is shared. */
  cloud: CloudPort;
  pods: PodStore;
  nodeNames: () => readonly string[];
  log: Logger;
}

export async function startKubeletApiForProvider(o: StartForProviderOptions): Promise<KubeletApiServer> {
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
    addresses: [config.node.internalIP, ...o.nodeNames()],
  });
  const clientCA = config.kubeletApi.clientCAFile === '' ? undefined : readFileSync(config.kubeletApi.clientCAFile);
  const server = await startKubeletApi({
    host: config.kubeletApi.host,
    port: config.node.kubeletPort,
    tls: { cert: tls.cert, key: tls.key, ...(clientCA === undefined ? {} : { clientCA }) },
    auth: new KubeletAuth({
      authentication: o.kubeConfig.makeApiClient(k8s.AuthenticationV1Api),
      authorization: o.kubeConfig.makeApiClient(k8s.AuthorizationV1Api),
      clientCertificates: clientCA !== undefined,
    }),
    cloud,
    pods: o.pods,
    nodeNames: o.nodeNames,
    log: o.log,
  });
  o.log.info('kubelet API listening', {
    address: `${config.kubeletApi.host}:${server.port}`,
    servingCertificate: tls.selfSigned ? 'self-signed' : config.kubeletApi.certFile,
    clientCertificates: clientCA === undefined ? 'off (bearer tokens only)' : config.kubeletApi.clientCAFile,
  });
  return server;
}
