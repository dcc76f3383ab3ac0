// PodNetworking end to end on the real control plane, the real scheduler and the simulator:
// the provider's webhook constrains pods to their PodNetworking's zones, the provider puts each
// pod's ENI in one of its vSwitches with its first security group, falls over from a full
// vSwitch, keeps a pod Pending with a reason while every vSwitch of its zone is full, and writes
// each PodNetworking's status (Ready with zones, or Fail with the fault).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { createCertificateAuthority, issueCertificate } from '../../adapters/tls/certificates.ts';
import { buildMutatingWebhookConfiguration } from '../../adapters/webhook/registration.ts';
import { GROUP_TAGS } from '../../provider/cloud/model.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import type { PodNetworking, PodNetworkingSpec } from '../../provider/networking/podnetworking.ts';
import { PROVISIONED_CONDITION } from '../../provider/pods/annotations.ts';
import type { CloudPort } from '../../provider/ports.ts';
import { freeLoopbackPorts } from '../controlplane/ports.ts';
import { apis, ignoreNotFound, kubeConfig, kubectl, uniqueName } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { cloudOf, deleteNodes, ipInCidr, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { waitFor } from './helpers/wait.ts';
import { apiClient, budget, withDeadline } from '../helpers/deadline.ts';

const { group, version, plural } = PODNETWORKING_API;
const H = 'cn-hangzhou-h';
const I = 'cn-hangzhou-i';
const J = 'cn-hangzhou-j';
const suffix = uniqueName('pn').slice(3);
const webhookConfigName = `eci-vn-it-${suffix}`;

let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;
let cloud: CloudPort;
let certDir: string;
const logs = memoryLogger();
const custom = () => apiClient(kubeConfig(), k8s.CustomObjectsApi);
const createdPodNetworkings: string[] = [];
const createdNamespaces: string[] = [];

async function world() {
  // One more tiny vSwitch (4 usable IPs) in zone i, for the all-exhausted case.
  const tinyI = { id: 'vsw-simtinyi', name: 'tiny-i', vpcId: 'vpc-simmain', zoneId: I, cidr: '10.0.10.0/29' };
  return testWorld({}, { vSwitches: [tinyI] });
}

async function createPodNetworking(name: string, spec: PodNetworkingSpec): Promise<void> {
  await custom().createClusterCustomObject({ group, version, plural, body: { apiVersion: PODNETWORKING_API.apiVersion, kind: 'PodNetworking', metadata: { name }, spec } });
  createdPodNetworkings.push(name);
}

async function readPodNetworking(name: string): Promise<PodNetworking> {
  return (await custom().getClusterCustomObject({ group, version, plural, name })) as PodNetworking;
}

async function waitForStatus(name: string, status: 'Ready' | 'Fail'): Promise<PodNetworking> {
  return waitFor(
    async () => {
      const pn = await readPodNetworking(name);
      return pn.status?.status === status ? pn : undefined;
    },
    { timeoutMs: budget({ baseMs: 60_000 }), describe: async () => `PodNetworking ${name} to be ${status}; status: ${JSON.stringify((await readPodNetworking(name)).status)}` },
  );
}

async function createNamespace(labels: Record<string, string> = {}): Promise<string> {
  const name = uniqueName('pnet');
  await apis().core.createNamespace({ body: { metadata: { name, labels } } });
  createdNamespaces.push(name);
  return name;
}

function pod(name: string, labels: Record<string, string>): k8s.V1Pod {
  return { metadata: { name, labels }, spec: { ...virtualNodePlacement(config), containers: [{ name: 'main', image: 'nginx:1.27' }] } };
}

async function runningPods(namespace: string, selector: string, count: number): Promise<k8s.V1Pod[]> {
  const list = async () => (await apis().core.listNamespacedPod({ namespace, labelSelector: selector })).items;
  return waitFor(
    async () => {
      const pods = (await list()).filter((p) => p.status?.phase === 'Running' && p.status.podIP);
      return pods.length >= count ? pods : undefined;
    },
    { timeoutMs: budget({ baseMs: 90_000 }), describe: async () => `${count} Running pods (${selector}) in ${namespace}; have ${JSON.stringify((await list()).map((p) => [p.metadata?.name, p.spec?.nodeName, p.status?.phase]))}` },
  );
}

const cidrOf = (id: string) => sim.world.vSwitches.find((v) => v.id === id)!.cidr;
const nodeZone = (pod: k8s.V1Pod) => pod.spec!.nodeName!.slice(config.node.namePrefix.length + 1);

beforeAll(async () => {
  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await world(), log: () => {} });
  config = testConfig(sim);
  cloud = cloudOf(sim);

  // The webhook's serving certificate, and its registration with the apiserver.
  const ca = await createCertificateAuthority({ commonName: 'eci-vn-it-webhook-ca' });
  const serving = await issueCertificate({ ca, commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  certDir = await mkdtemp(join(tmpdir(), 'eci-vn-webhook-'));
  await writeFile(join(certDir, 'tls.crt'), serving.certPem);
  await writeFile(join(certDir, 'tls.key'), serving.keyPem);
  const [port] = await freeLoopbackPorts(1);
  config.webhook = { port: port!, host: '127.0.0.1', certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key'), serverless: false };
  provider = await startTestProvider(config, logs.log);

  const registration = buildMutatingWebhookConfiguration({
    name: webhookConfigName,
    caBundle: Buffer.from(ca.certPem).toString('base64'),
    url: `https://127.0.0.1:${port}/mutate-pods`,
  });
  // Only this file's namespaces are sent to this file's webhook.
  for (const hook of registration.webhooks ?? []) {
    hook.namespaceSelector = { matchLabels: { 'eci-vn-it/webhook': suffix } };
  }
  await apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: registration });
});

afterAll(async () => {
  await apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: webhookConfigName }).catch(ignoreNotFound);
  for (const ns of createdNamespaces) await apis().core.deleteNamespace({ name: ns }).catch(ignoreNotFound);
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  for (const name of createdPodNetworkings) await custom().deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
  if (config) await deleteNodes(config);
  await sim?.stop();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

describe('PodNetworking', () => {
  it('resolves status: Ready with the zones of its vSwitches, Fail naming an unknown vSwitch or Fixed allocation', async () => {
    await createPodNetworking(`pn-web-${suffix}`, {
      selector: { podSelector: { matchLabels: { app: `web-${suffix}` } } },
      securityGroupIDs: ['sg-simweb', 'sg-simdefault'],
      vSwitchOptions: ['vsw-simh1', 'vsw-simh2'],
    });
    await createPodNetworking(`pn-db-${suffix}`, {
      selector: {
        podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] },
        namespaceSelector: { matchLabels: { team: `db-${suffix}` } },
      },
      securityGroupIDs: ['sg-simdefault'],
      vSwitchOptions: ['vsw-simi1', 'vsw-simj1'],
      vSwitchSelectOptions: { vSwitchSelectionPolicy: 'most' },
    });
    const web = await waitForStatus(`pn-web-${suffix}`, 'Ready');
    expect(web.status?.vSwitches).toEqual([
      { id: 'vsw-simh1', zone: H },
      { id: 'vsw-simh2', zone: H },
    ]);
    const db = await waitForStatus(`pn-db-${suffix}`, 'Ready');
    expect(new Set(db.status?.vSwitches?.map((v) => v.zone))).toEqual(new Set([I, J]));

    await createPodNetworking(`pn-bad-${suffix}`, {
      selector: { podSelector: { matchLabels: { app: `never-${suffix}` } } },
      securityGroupIDs: ['sg-simdefault'],
      vSwitchOptions: ['vsw-simh1', 'vsw-doesnotexist'],
    });
    expect((await waitForStatus(`pn-bad-${suffix}`, 'Fail')).status?.message).toContain('vsw-doesnotexist');

    await createPodNetworking(`pn-fixed-${suffix}`, {
      allocationType: { type: 'Fixed', releaseStrategy: 'TTL', releaseAfter: '5m0s' },
      selector: { podSelector: { matchLabels: { app: `fixed-${suffix}` } } },
      securityGroupIDs: ['sg-simdefault'],
      vSwitchOptions: ['vsw-simh1'],
    });
    expect((await waitForStatus(`pn-fixed-${suffix}`, 'Fail')).status?.message).toMatch(/Fixed/);
  });

  it('runs each PodNetworking pod only in its zones, with an IP of its vSwitches and its first security group', async () => {
    const ns = await createNamespace({ 'eci-vn-it/webhook': suffix });
    const dbNs = await createNamespace({ 'eci-vn-it/webhook': suffix, team: `db-${suffix}` });
    const { core } = apis();
    for (let i = 0; i < 4; i++) await core.createNamespacedPod({ namespace: ns, body: pod(`web-${i}`, { app: `web-${suffix}` }) });
    for (let i = 0; i < 4; i++) await core.createNamespacedPod({ namespace: dbNs, body: pod(`db-${i}`, { tier: 'db' }) });
    // tier=db outside the db namespace: the namespaceSelector does not match -> default network.
    await core.createNamespacedPod({ namespace: ns, body: pod('plain', { tier: 'db' }) });

    const web = await runningPods(ns, `app=web-${suffix}`, 4);
    for (const p of web) {
      expect(p.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBe(`pn-web-${suffix}`);
      expect(p.metadata?.annotations?.['k8s.aliyun.com/pod-eni']).toBe('true');
      expect(nodeZone(p)).toBe(H);
      const vsw = p.metadata!.annotations!['eci-virtual-node.io/vswitch-id']!;
      expect(['vsw-simh1', 'vsw-simh2']).toContain(vsw);
      expect(ipInCidr(p.status!.podIP!, cidrOf(vsw))).toBe(true);
      expect(p.metadata?.annotations?.['eci-virtual-node.io/security-group-id']).toBe('sg-simweb');
      // The zone constraint is on the stored pod, as the scheduler saw it.
      const terms = p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
      expect(terms.every((t) => t.matchExpressions?.some((e) => e.key === 'topology.kubernetes.io/zone' && e.values?.join() === H))).toBe(true);
    }
    // The cloud agrees: the group's vSwitch and security group are the ones on the pod.
    const groups = await cloud.listContainerGroups({ [GROUP_TAGS.cluster]: config.clusterId });
    for (const p of web) {
      const g = groups.find((x) => x.tags[GROUP_TAGS.podUid] === p.metadata!.uid);
      expect(g?.securityGroupId).toBe('sg-simweb');
      expect(g?.vSwitchId).toBe(p.metadata!.annotations!['eci-virtual-node.io/vswitch-id']);
      expect(g?.intranetIp).toBe(p.status!.podIP);
    }

    const db = await runningPods(dbNs, 'tier=db', 4);
    for (const p of db) {
      expect(p.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBe(`pn-db-${suffix}`);
      expect([I, J]).toContain(nodeZone(p));
      const vsw = p.metadata!.annotations!['eci-virtual-node.io/vswitch-id']!;
      expect(['vsw-simi1', 'vsw-simj1']).toContain(vsw);
      expect(ipInCidr(p.status!.podIP!, cidrOf(vsw))).toBe(true);
    }

    const [plain] = await runningPods(ns, 'tier=db', 1);
    expect(plain?.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBeUndefined();
    expect(config.defaultNetwork.vSwitchIds).toContain(plain?.metadata?.annotations?.['eci-virtual-node.io/vswitch-id']);
    expect(plain?.metadata?.annotations?.['eci-virtual-node.io/security-group-id']).toBe('sg-simdefault');
  });

  it('fails over from a full vSwitch to its sibling, then keeps pods Pending with a reason until IPs are freed', async () => {
    const ns = await createNamespace({ 'eci-vn-it/webhook': suffix });
    const { core } = apis();
    // vsw-simtiny (4 IPs) first, vsw-simj1 second, both zone j, ordered.
    await createPodNetworking(`pn-failover-${suffix}`, {
      selector: { podSelector: { matchLabels: { app: `failover-${suffix}` } } },
      securityGroupIDs: ['sg-simdefault'],
      vSwitchOptions: ['vsw-simtiny', 'vsw-simj1'],
    });
    await waitForStatus(`pn-failover-${suffix}`, 'Ready');
    for (let i = 0; i < 6; i++) await core.createNamespacedPod({ namespace: ns, body: pod(`fo-${i}`, { app: `failover-${suffix}` }) });
    const failover = await runningPods(ns, `app=failover-${suffix}`, 6);
    const bySwitch = new Map<string, number>();
    for (const p of failover) {
      const vsw = p.metadata!.annotations!['eci-virtual-node.io/vswitch-id']!;
      bySwitch.set(vsw, (bySwitch.get(vsw) ?? 0) + 1);
      expect(ipInCidr(p.status!.podIP!, cidrOf(vsw))).toBe(true);
    }
    expect(bySwitch.get('vsw-simtiny')).toBe(4);
    expect(bySwitch.get('vsw-simj1')).toBe(2);

    // Only vsw-simtinyi (4 IPs): the fifth pod waits with the reason, and runs once one is freed.
    await createPodNetworking(`pn-small-${suffix}`, {
      selector: { podSelector: { matchLabels: { app: `small-${suffix}` } } },
      securityGroupIDs: ['sg-simdefault'],
      vSwitchOptions: ['vsw-simtinyi'],
    });
    await waitForStatus(`pn-small-${suffix}`, 'Ready');
    for (let i = 0; i < 4; i++) await core.createNamespacedPod({ namespace: ns, body: pod(`small-${i}`, { app: `small-${suffix}`, role: 'filler' }) });
    await runningPods(ns, `app=small-${suffix}`, 4);
    await core.createNamespacedPod({ namespace: ns, body: pod('small-waiter', { app: `small-${suffix}`, role: 'waiter' }) });
    const waiting = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'small-waiter', namespace: ns });
        const c = p.status?.conditions?.find((x) => x.type === PROVISIONED_CONDITION);
        return c?.reason === 'VSwitchesExhausted' ? { p, c } : undefined;
      },
      { timeoutMs: budget({ baseMs: 60_000 }), describe: 'small-waiter to report VSwitchesExhausted' },
    );
    expect(waiting.p.status?.phase).toBe('Pending');
    expect(waiting.c.message).toContain('vsw-simtinyi');
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=small-waiter' });
    expect(events.items.some((e) => e.reason === 'VSwitchesExhausted')).toBe(true);

    await core.deleteNamespacedPod({ name: 'small-0', namespace: ns });
    const ran = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'small-waiter', namespace: ns });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { timeoutMs: budget({ baseMs: 90_000 }), describe: 'small-waiter to run after an IP was freed' },
    );
    expect(ipInCidr(ran.status!.podIP!, cidrOf('vsw-simtinyi'))).toBe(true);
  });

  it('picks the oldest of two matching PodNetworkings, warns at admission and records an event', async () => {
    const ns = await createNamespace({ 'eci-vn-it/webhook': suffix });
    const spec = (zoneSwitch: string): PodNetworkingSpec => ({
      selector: { podSelector: { matchLabels: { dup: `yes-${suffix}` } } },
      securityGroupIDs: ['sg-simdefault'],
      vSwitchOptions: [zoneSwitch],
    });
    await createPodNetworking(`pn-older-${suffix}`, spec('vsw-simi1'));
    await waitForStatus(`pn-older-${suffix}`, 'Ready');
    await new Promise((r) => setTimeout(r, 1_100)); // creationTimestamp has whole-second precision
    await createPodNetworking(`pn-newer-${suffix}`, spec('vsw-simj1'));
    await waitForStatus(`pn-newer-${suffix}`, 'Ready');

    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...pod('dup', { dup: `yes-${suffix}` }) });
    const file = join(certDir, 'dup-pod.json');
    await writeFile(file, manifest);
    const out = await kubectl(['create', '-n', ns, '-f', file]);
    expect(out.stderr).toContain(`pn-older-${suffix}, pn-newer-${suffix}`);

    const [running] = await runningPods(ns, `dup=yes-${suffix}`, 1);
    expect(running?.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBe(`pn-older-${suffix}`);
    expect(nodeZone(running!)).toBe(I);
    const event = await waitFor(
      async () => (await apis().core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=dup' })).items.find((e) => e.reason === 'MultiplePodNetworkings'),
      { timeoutMs: budget({ baseMs: 60_000 }), describe: 'a MultiplePodNetworkings event on pod dup' },
    );
    expect(event.message).toContain(`pn-newer-${suffix}`);
  });

  it('refuses at admission a pod whose PodNetworking asks for Fixed allocation', async () => {
    const ns = await createNamespace({ 'eci-vn-it/webhook': suffix });
    await expect(apis().core.createNamespacedPod({ namespace: ns, body: pod('fixed', { app: `fixed-${suffix}` }) })).rejects.toThrow(/Fixed/);
  });
});
