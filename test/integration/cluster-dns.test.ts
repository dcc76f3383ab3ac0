// Cluster DNS found (issue 19): without --cluster-dns, the provider gives ClusterFirst pods the
// ClusterIP of the kube-system/kube-dns Service, read from the real apiserver, and such pods get
// no "no cluster DNS" Warning. The simulator keeps the create request's DnsConfig; the test reads
// it from the group's stored record.
import type { V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { KUBE_DNS_SERVICE } from '../../provider/eci/cluster-dns.ts';
import { POD_ANNOTATIONS } from '../../provider/pods/annotations.ts';
import { apis, ignoreNotFound, useTestNamespace } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { deleteNodes, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { budget, fetchText, podsBudget, waitFor, withDeadline } from './helpers/wait.ts';

const namespace = useTestNamespace('cluster-dns');
let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;
let service: V1Service;
let createdService = false;

beforeAll(async () => {
  await installPodNetworkingCrd();
  const { core } = apis();
  const { namespace: ns, name } = KUBE_DNS_SERVICE;
  // The apiserver allocates the ClusterIP; an existing kube-dns Service (a real cluster's) is used as is.
  try {
    service = await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name }, spec: { selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } },
    });
    createdService = true;
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
    service = await core.readNamespacedService({ name, namespace: ns });
  }
  sim = await startCloudSim({ world: await testWorld(), log: () => {} });
  config = testConfig(sim);
  expect(config.clusterDNS.nameServers).toEqual([]);
  provider = await startTestProvider(config, memoryLogger().log);
});

afterAll(async () => {
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  if (config) await deleteNodes(config);
  await sim?.stop();
  if (createdService) await apis().core.deleteNamespacedService({ ...KUBE_DNS_SERVICE }).catch(ignoreNotFound);
});

describe('a ClusterFirst pod without --cluster-dns', () => {
  it('gets the kube-dns Service ClusterIP as its nameserver, and no dnsPolicy warning', async () => {
    const { core } = apis();
    const ip = service.spec?.clusterIP;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    await core.createNamespacedPod({
      namespace: namespace(),
      body: { metadata: { name: 'resolver' }, spec: { dnsPolicy: 'ClusterFirst', containers: [{ name: 'main', image: 'nginx:1.27' }], ...virtualNodePlacement(config) } },
    });
    const running = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'resolver', namespace: namespace() });
        return p.status?.phase === 'Running' && p.metadata?.annotations?.[POD_ANNOTATIONS.instanceId] !== undefined ? p : undefined;
      },
      { timeoutMs: podsBudget(1), describe: 'pod resolver Running with its container group id annotated' },
    );
    const groupId = running.metadata!.annotations![POD_ANNOTATIONS.instanceId]!;
    const res = await fetchText(`${sim.adminEndpoint}/admin/groups/${groupId}`, { headers: { authorization: `Bearer ${sim.adminToken}` }, what: `cloudsim admin GET /admin/groups/${groupId}` });
    expect(res.ok).toBe(true);
    const record = JSON.parse(res.text) as { extra?: { DnsConfig?: unknown } };
    expect(record.extra?.DnsConfig).toMatchObject({ NameServer: [ip], Search: [`${namespace()}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'] });

    const events = await core.listNamespacedEvent({ namespace: namespace(), fieldSelector: `involvedObject.uid=${running.metadata!.uid!}` });
    expect(events.items.filter((e) => e.type === 'Warning' && (e.message ?? '').startsWith('spec.dnsPolicy')).map((e) => `${e.reason}: ${e.message}`)).toEqual([]);
    await core.deleteNamespacedPod({ name: 'resolver', namespace: namespace() });
  });
});
