// Which cluster DNS ClusterFirst pods get: the configured servers (`--cluster-dns`) when given,
// else the ClusterIP of the kube-system/kube-dns Service (the name both kube-dns and CoreDNS
// deployments use, and what a kubelet's --cluster-dns usually points at), else none: the pod
// resolves through the VPC's DNS, which translate.ts reports once per process, not per pod.
import type { V1Service } from '@kubernetes/client-node';

export interface ClusterDns {
  nameServers: string[];
  clusterDomain: string;
}

export const KUBE_DNS_SERVICE = { namespace: 'kube-system', name: 'kube-dns' } as const;

export type ClusterDnsSource = 'config' | 'kube-dns' | 'none';

/** The Service's ClusterIP, when it has one pods can use (absent, headless `None` and empty are not). */
export function kubeDnsServiceIp(service: Pick<V1Service, 'spec'> | undefined): string | undefined {
  const ip = service?.spec?.clusterIP;
  if (ip === undefined || ip === '' || ip === 'None') return undefined;
  return ip;
}

/** Configured servers win; then the kube-dns Service; `dns` is undefined when neither exists. */
export function effectiveClusterDns(o: { configured: ClusterDns; kubeDnsService: Pick<V1Service, 'spec'> | undefined }): { dns: ClusterDns | undefined; source: ClusterDnsSource } {
  const { configured } = o;
  if (configured.nameServers.length > 0) return { dns: configured, source: 'config' };
  const ip = kubeDnsServiceIp(o.kubeDnsService);
  if (ip !== undefined) return { dns: { nameServers: [ip], clusterDomain: configured.clusterDomain }, source: 'kube-dns' };
  return { dns: undefined, source: 'none' };
}
