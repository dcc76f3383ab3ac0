// The Kubernetes side of a chaos scenario, independent of vitest: a control plane given by its
// kubeconfig (the shared one of `npm test`, or one that `npm run chaos` starts itself), typed
// clients, namespaces, the PodNetworking CRD, and — when the control plane is ours — kube-apiserver
// restarts and etcd compaction.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { ControlPlane } from '../../controlplane/controlplane.ts';
import { PODNETWORKING_API } from '../../../provider/networking/constants.ts';
import { NODE_LABELS } from '../../../provider/node/constants.ts';
import { waitFor } from '../../integration/helpers/wait.ts';
import { apiClient, budget, fetchText } from '../../helpers/deadline.ts';

const execFileAsync = promisify(execFile);
const CRD_FILE = fileURLToPath(new URL('../../../deploy/crds/network.alibabacloud.com_podnetworkings.yaml', import.meta.url));

export interface ChaosCluster {
  kubeconfigPath: string;
  /** Where kubectl lives (the control plane's binaries). */
  binDir: string;
  /** The cluster CA (PEM): it signed the admin's client certificate. */
  caCertPem: string;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  /** Only when the scenario owns the control plane. */
  restartApiserver?: ControlPlane['restartApiserver'];
  /** etcd's client URL, when known (compaction through its v3 JSON gateway). */
  etcdUrl?: string;
}

export function chaosCluster(o: { kubeconfigPath: string; binDir: string; caCertPem: string; controlPlane?: ControlPlane }): ChaosCluster {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(o.kubeconfigPath);
  return {
    kubeconfigPath: o.kubeconfigPath,
    binDir: o.binDir,
    caCertPem: o.caCertPem,
    kc,
    core: apiClient(kc, k8s.CoreV1Api),
    custom: apiClient(kc, k8s.CustomObjectsApi),
    ...(o.controlPlane === undefined ? {} : { restartApiserver: (options) => o.controlPlane!.restartApiserver(options), etcdUrl: o.controlPlane.etcdUrl }),
  };
}

export const randomSuffix = (): string => randomBytes(3).toString('hex');

export const isStatus = (err: unknown, code: number): boolean => (err as { code?: number }).code === code;

export function ignoreNotFound(err: unknown): void {
  if (!isStatus(err, 404)) throw err;
}

export async function kubectl(cluster: ChaosCluster, args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync(join(cluster.binDir, 'kubectl'), args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath }, timeout: budget({ baseMs: 60_000 }), killSignal: 'SIGKILL' });
  return stdout;
}

export async function createNamespace(cluster: ChaosCluster, prefix: string): Promise<string> {
  const created = await cluster.core.createNamespace({ body: { metadata: { name: `${prefix}-${randomSuffix()}`, labels: { 'eci-virtual-node.test/suite': 'chaos' } } } });
  const name = created.metadata!.name!;
  // Pods are refused until kube-controller-manager has made the namespace's default ServiceAccount.
  await waitFor(() => cluster.core.readNamespacedServiceAccount({ name: 'default', namespace: name }).then(() => true), {
    timeoutMs: 60_000,
    describe: `the default ServiceAccount of ${name}`,
  });
  return name;
}

export async function deleteNamespace(cluster: ChaosCluster, name: string): Promise<void> {
  await cluster.core.deleteNamespace({ name }).catch(ignoreNotFound);
}

/** Deletes the virtual nodes of one provider configuration (their Leases go by owner reference). */
export async function deleteVirtualNodes(cluster: ChaosCluster, clusterId: string): Promise<void> {
  const nodes = await cluster.core.listNode({ labelSelector: `${NODE_LABELS.cluster}=${clusterId}` });
  await Promise.all(nodes.items.map((n) => cluster.core.deleteNode({ name: n.metadata!.name! }).catch(ignoreNotFound)));
}

export async function installPodNetworkingCrd(cluster: ChaosCluster): Promise<void> {
  await kubectl(cluster, ['apply', '--server-side', '--force-conflicts', '-f', CRD_FILE]);
  const { group, version, plural } = PODNETWORKING_API;
  await waitFor(() => cluster.custom.listClusterCustomObject({ group, version, plural, limit: 1 }).then(() => true), {
    timeoutMs: 60_000,
    describe: 'the PodNetworking API to be served',
  });
}

/** Every event of the cluster (all namespaces), for the secret scan and for reports. */
export async function listAllEvents(cluster: ChaosCluster): Promise<k8s.CoreV1Event[]> {
  const events: k8s.CoreV1Event[] = [];
  let _continue: string | undefined;
  do {
    const page = await cluster.core.listEventForAllNamespaces({ limit: 500, ...(_continue === undefined ? {} : { _continue }) });
    events.push(...page.items);
    _continue = page.metadata?._continue || undefined;
  } while (_continue !== undefined);
  return events;
}

// ---- etcd v3 JSON gateway (no etcdctl in the harness) ---------------------------------------------

async function etcdPost(etcdUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetchText(`${etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, what: `etcd POST ${path}` });
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as Record<string, unknown>;
}

/** The current etcd revision (= the newest resourceVersion the apiserver can hand out). */
export async function etcdRevision(etcdUrl: string): Promise<number> {
  const answer = await etcdPost(etcdUrl, '/v3/kv/range', { key: Buffer.from('/registry/namespaces/default').toString('base64') });
  return Number((answer.header as { revision?: string } | undefined)?.revision ?? NaN);
}

/**
 * Compacts etcd: first one write outside the apiserver's keys (so the revision moves past anything
 * a client can hold), then compaction up to that revision: every older resourceVersion is gone
 * (lists and watches from it answer 410 Gone).
 */
export async function compactEtcd(etcdUrl: string): Promise<number> {
  await etcdPost(etcdUrl, '/v3/kv/put', { key: Buffer.from('/chaos/tick').toString('base64'), value: Buffer.from(String(Date.now())).toString('base64') });
  const revision = await etcdRevision(etcdUrl);
  await etcdPost(etcdUrl, '/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}
