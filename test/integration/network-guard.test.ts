// The network guarantee at sync, on the real control plane with the simulator: the webhook is
// registered but unreachable (failurePolicy Ignore), so pods arrive with no annotation and no zone
// affinity. The pod sync matches the PodNetworkings again: a selected pod runs on its
// PodNetworking's vSwitch or waits (refused) with a reason naming the zones, never on the default
// network, and runs once the PodNetworking gains a vSwitch of its zone. And a PodNetworking whose security group is in another VPC is Fail (checked with ECS
// DescribeSecurityGroups), its pods wait without a single CreateContainerGroup call, and run once
// the PodNetworking is fixed.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { createCertificateAuthority } from '../../adapters/tls/certificates.ts';
import { buildMutatingWebhookConfiguration } from '../../adapters/webhook/registration.ts';
import { GROUP_TAGS } from '../../provider/cloud/model.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { LABELS, PODNETWORKING_API } from '../../provider/networking/constants.ts';
import type { PodNetworking, PodNetworkingSpec } from '../../provider/networking/podnetworking.ts';
import { POD_ANNOTATIONS, PROVISIONED_CONDITION } from '../../provider/pods/annotations.ts';
import type { CloudPort } from '../../provider/ports.ts';
import { freeLoopbackPorts } from '../controlplane/ports.ts';
import { apis, ignoreNotFound, kubeConfig, uniqueName } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { cloudOf, deleteNodes, ipInCidr, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { waitFor } from './helpers/wait.ts';
import { apiClient, budget, withDeadline } from '../helpers/deadline.ts';

const { group, version, plural } = PODNETWORKING_API;
const H = 'cn-hangzhou-h';
const I = 'cn-hangzhou-i';
const suffix = uniqueName('ng').slice(3);
const webhookConfigName = `eci-vn-it-guard-${suffix}`;

let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;
let cloud: CloudPort;
let namespace: string;
const logs = memoryLogger();
const custom = () => apiClient(kubeConfig(), k8s.CustomObjectsApi);
const createdPodNetworkings: string[] = [];

async function createPodNetworking(name: string, spec: PodNetworkingSpec): Promise<void> {
  await custom().createClusterCustomObject({ group, version, plural, body: { apiVersion: PODNETWORKING_API.apiVersion, kind: 'PodNetworking', metadata: { name }, spec } });
  createdPodNetworkings.push(name);
}

const readPodNetworking = async (name: string) => (await custom().getClusterCustomObject({ group, version, plural, name })) as PodNetworking;

async function waitForStatus(name: string, status: 'Ready' | 'Fail'): Promise<PodNetworking> {
  return waitFor(
    async () => {
      const pn = await readPodNetworking(name);
      return pn.status?.status === status ? pn : undefined;
    },
    { timeoutMs: budget({ baseMs: 60_000 }), describe: async () => `PodNetworking ${name} to be ${status}; status: ${JSON.stringify((await readPodNetworking(name)).status)}` },
  );
}

/** A pod on this file's virtual node of `zone`, with the given labels and annotations. */
function pod(name: string, zone: string, labels: Record<string, string>, annotations: Record<string, string> = {}): k8s.V1Pod {
  const placement = virtualNodePlacement(config);
  return {
    metadata: { name, labels, annotations },
    spec: { ...placement, nodeSelector: { ...placement.nodeSelector, [LABELS.zone]: zone }, containers: [{ name: 'main', image: 'nginx:1.27' }] },
  };
}

const readPod = (name: string) => apis().core.readNamespacedPod({ name, namespace });
const provisioned = (p: k8s.V1Pod) => p.status?.conditions?.find((c) => c.type === PROVISIONED_CONDITION);
const cidrOf = (id: string) => sim.world.vSwitches.find((v) => v.id === id)!.cidr;

async function waitForCondition(name: string, reason: string, timeoutMs = 30_000): Promise<k8s.V1Pod> {
  return waitFor(
    async () => {
      const p = await readPod(name);
      return provisioned(p)?.reason === reason ? p : undefined;
    },
    { timeoutMs, describe: async () => `pod ${name} to have ${PROVISIONED_CONDITION} reason ${reason}; status: ${JSON.stringify((await readPod(name)).status?.conditions)}` },
  );
}

async function waitForRunning(name: string, timeoutMs = 60_000): Promise<k8s.V1Pod> {
  return waitFor(
    async () => {
      const p = await readPod(name);
      return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    },
    { timeoutMs, describe: async () => `pod ${name} to run; phase ${(await readPod(name)).status?.phase}, conditions ${JSON.stringify((await readPod(name)).status?.conditions)}` },
  );
}

/** The simulator's count of CreateContainerGroup requests (successful or not). */
async function createCalls(): Promise<number> {
  const res = await fetch(`${sim.adminEndpoint}/admin/state`, { headers: { authorization: `Bearer ${sim.adminToken}` }, signal: AbortSignal.timeout(5_000) });
  const state = (await res.json()) as { requests: Record<string, { ok: number; errors: Record<string, number> }> };
  const create = state.requests.CreateContainerGroup;
  return create === undefined ? 0 : create.ok + Object.values(create.errors).reduce((a, b) => a + b, 0);
}

async function groupOf(uid: string) {
  return (await cloud.listContainerGroups({ [GROUP_TAGS.cluster]: config.clusterId, [GROUP_TAGS.podUid]: uid }))[0];
}

beforeAll(async () => {
  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await testWorld(), log: () => {} });
  config = testConfig(sim); // default network: vsw-simh1, vsw-simi1, vsw-simj1 with sg-simdefault
  cloud = cloudOf(sim);
  provider = await startTestProvider(config, logs.log);

  // A webhook the apiserver cannot reach (nothing listens on the port), failurePolicy Ignore: the
  // apiserver admits the pods unchanged, as during a webhook outage.
  const ca = await createCertificateAuthority({ commonName: 'eci-vn-it-guard-ca' });
  const [deadPort] = await freeLoopbackPorts(1);
  const registration = buildMutatingWebhookConfiguration({
    name: webhookConfigName,
    caBundle: Buffer.from(ca.certPem).toString('base64'),
    url: `https://127.0.0.1:${deadPort}/mutate-pods`,
    failurePolicy: 'Ignore',
    timeoutSeconds: 2,
  });
  for (const hook of registration.webhooks ?? []) hook.namespaceSelector = { matchLabels: { 'eci-vn-it/webhook': `guard-${suffix}` } };
  await apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: registration });

  namespace = uniqueName('guard');
  await apis().core.createNamespace({ body: { metadata: { name: namespace, labels: { 'eci-vn-it/webhook': `guard-${suffix}`, team: `guard-${suffix}` } } } });
});

afterAll(async () => {
  await apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: webhookConfigName }).catch(ignoreNotFound);
  if (namespace) await apis().core.deleteNamespace({ name: namespace }).catch(ignoreNotFound);
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  for (const name of createdPodNetworkings) await custom().deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
  if (config) await deleteNodes(config);
  await sim?.stop();
});

describe('the network decided again at sync (webhook unreachable, failurePolicy Ignore)', () => {
  it('runs a selected pod on its PodNetworking vSwitch in an allowed zone, and refuses it in another zone, never the default network', async () => {
    const name = `pn-guard-${suffix}`;
    // Selects by namespace labels AND pod labels: both come from the provider's own caches.
    await createPodNetworking(name, {
      selector: { podSelector: { matchLabels: { app: `guarded-${suffix}` } }, namespaceSelector: { matchLabels: { team: `guard-${suffix}` } } },
      securityGroupIDs: ['sg-simweb'],
      vSwitchOptions: ['vsw-simh2'],
    });
    await waitForStatus(name, 'Ready');
    const { core } = apis();
    await core.createNamespacedPod({ namespace, body: pod('in-zone', H, { app: `guarded-${suffix}` }) });
    await core.createNamespacedPod({ namespace, body: pod('other-zone', I, { app: `guarded-${suffix}` }) });
    await core.createNamespacedPod({ namespace, body: pod('other-zone-fail', I, { app: `guarded-${suffix}` }, { [POD_ANNOTATIONS.failOnCreateError]: 'true' }) });
    await core.createNamespacedPod({ namespace, body: pod('plain', I, { app: `plain-${suffix}` }) });

    // The webhook did not run: no annotation, no zone affinity.
    const running = await waitForRunning('in-zone');
    expect(running.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBeUndefined();
    expect(running.spec?.affinity).toBeUndefined();
    // ... but the pod is on its PodNetworking's vSwitch and security group, its IP in that CIDR.
    expect(running.metadata?.annotations?.[POD_ANNOTATIONS.vSwitchId]).toBe('vsw-simh2');
    expect(running.metadata?.annotations?.[POD_ANNOTATIONS.securityGroupId]).toBe('sg-simweb');
    expect(running.metadata?.annotations?.[POD_ANNOTATIONS.vSwitchReason]).toContain(`PodNetworking ${name} (selected at sync)`);
    expect(ipInCidr(running.status!.podIP!, cidrOf('vsw-simh2'))).toBe(true);
    const cloudGroup = await groupOf(running.metadata!.uid!);
    expect(cloudGroup).toMatchObject({ vSwitchId: 'vsw-simh2', securityGroupId: 'sg-simweb', intranetIp: running.status!.podIP });

    // Zone i is not among the PodNetworking's zones: the pod waits with the reason, no group.
    const refused = await waitForCondition('other-zone', 'PodNetworkingZoneMismatch');
    const condition = provisioned(refused)!;
    expect(condition.status).toBe('False');
    expect(condition.message).toContain(`PodNetworking ${name}`);
    expect(condition.message).toContain(`zone ${I}`);
    expect(condition.message).toContain(`allows only ${H}`);
    expect(refused.status?.phase).toBe('Pending');
    expect(await groupOf(refused.metadata!.uid!)).toBeUndefined();
    const events = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=other-zone' });
    expect(events.items.some((e) => e.reason === 'PodNetworkingZoneMismatch' && e.type === 'Warning' && e.message?.includes(name))).toBe(true);

    // With pod-fail-on-create-err the same refusal makes the pod Failed.
    const failed = await waitFor(
      async () => {
        const p = await readPod('other-zone-fail');
        return p.status?.phase === 'Failed' ? p : undefined;
      },
      { timeoutMs: budget({ baseMs: 60_000 }), describe: async () => `other-zone-fail to be Failed; status ${JSON.stringify((await readPod('other-zone-fail')).status)}` },
    );
    expect(failed.status?.reason).toBe('PodNetworkingZoneMismatch');
    expect(await groupOf(failed.metadata!.uid!)).toBeUndefined();

    // A pod no PodNetworking selects still gets the default network.
    const plain = await waitForRunning('plain');
    expect(plain.metadata?.annotations?.[POD_ANNOTATIONS.vSwitchId]).toBe('vsw-simi1');
    expect(plain.metadata?.annotations?.[POD_ANNOTATIONS.securityGroupId]).toBe('sg-simdefault');

    // A vSwitch of zone i added to the PodNetworking: the refused pod is tried again and runs there
    // (the Failed one stays Failed: a finished pod is never re-created).
    await custom().patchClusterCustomObject(
      { group, version, plural, name, body: { spec: { vSwitchOptions: ['vsw-simh2', 'vsw-simi1'] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const moved = await waitForRunning('other-zone');
    expect(moved.metadata?.annotations?.[POD_ANNOTATIONS.vSwitchId]).toBe('vsw-simi1');
    expect(moved.metadata?.annotations?.[POD_ANNOTATIONS.securityGroupId]).toBe('sg-simweb');
    expect(ipInCidr(moved.status!.podIP!, cidrOf('vsw-simi1'))).toBe(true);
    expect((await readPod('other-zone-fail')).status?.phase).toBe('Failed');
  });

  it('a PodNetworking whose security group is in another VPC is Fail; its pod waits with no create call, and runs once it is fixed', async () => {
    const name = `pn-othervpc-${suffix}`;
    await createPodNetworking(name, {
      selector: { podSelector: { matchLabels: { app: `othervpc-${suffix}` } } },
      securityGroupIDs: ['sg-simother'],
      vSwitchOptions: ['vsw-simh1'],
    });
    const failing = await waitForStatus(name, 'Fail');
    expect(failing.status?.message).toContain('security group sg-simother is in vpc-simother but the vSwitches are in vpc-simmain');

    const before = await createCalls();
    await apis().core.createNamespacedPod({ namespace, body: pod('othervpc', H, { app: `othervpc-${suffix}` }) });
    const waiting = await waitForCondition('othervpc', 'PodNetworkingNotReady');
    expect(provisioned(waiting)?.message).toContain(`PodNetworking ${name} selects the pod but is Fail`);
    expect(provisioned(waiting)?.message).toContain('sg-simother');
    // The sync looks again every 5 s while the pod waits: over two such periods, not one create call.
    const watchUntil = Date.now() + 11_000;
    while (Date.now() < watchUntil) {
      expect(await createCalls(), 'CreateContainerGroup calls while the PodNetworking is Fail').toBe(before);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(provisioned(await readPod('othervpc'))?.reason).toBe('PodNetworkingNotReady');
    expect(await groupOf(waiting.metadata!.uid!)).toBeUndefined();

    // Fixing the security group is a spec change: validated again at once, Ready, the pod runs.
    await custom().patchClusterCustomObject(
      { group, version, plural, name, body: { spec: { securityGroupIDs: ['sg-simdefault'] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitForStatus(name, 'Ready');
    const ran = await waitForRunning('othervpc');
    expect(ran.metadata?.annotations?.[POD_ANNOTATIONS.securityGroupId]).toBe('sg-simdefault');
    expect(ipInCidr(ran.status!.podIP!, cidrOf('vsw-simh1'))).toBe(true);
    expect(await createCalls()).toBe(before + 1);
  });

  it('when ECS refuses DescribeSecurityGroups (no RAM permission) the PodNetworking is resolved without the check, with a Warning event saying so', async () => {
    const admin = (method: string, body?: unknown) =>
      fetch(`${sim.adminEndpoint}/admin/faults`, {
        method,
        headers: { authorization: `Bearer ${sim.adminToken}`, 'content-type': 'application/json' },
        signal: AbortSignal.timeout(5_000),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const put = await admin('PUT', { rules: [{ action: 'DescribeSecurityGroups', rate: 1, code: 'Forbidden.RAM', status: 403, message: 'User not authorized to operate on the specified resource.' }] });
    expect(put.status).toBe(200);
    try {
      const name = `pn-unchecked-${suffix}`;
      await createPodNetworking(name, { selector: { podSelector: { matchLabels: { app: `unchecked-${suffix}` } } }, securityGroupIDs: ['sg-simdefault'], vSwitchOptions: ['vsw-simh1'] });
      await waitForStatus(name, 'Ready');
      const event = await waitFor(
        async () => (await apis().core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` })).items.find((e) => e.reason === 'SecurityGroupsUnchecked'),
        { timeoutMs: budget({ baseMs: 60_000 }), describe: `a SecurityGroupsUnchecked event on PodNetworking ${name}` },
      );
      expect(event.type).toBe('Warning');
      expect(event.message).toContain('Forbidden.RAM');
      expect(event.message).toContain('ecs:DescribeSecurityGroups');
    } finally {
      await admin('PUT', { rules: [] });
    }
  });
});
