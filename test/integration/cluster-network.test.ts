// The cluster network settings users already write (issue 17, items 1-3; docs/networks.md), on
// the real control plane, scheduler and the simulator: Terway's kube-system/eni-config and ACK's
// kube-system/eci-profile as hot default-network sources (new pods only; eci-profile over
// eni-config), a malformed profile keeping the last good one with a Warning event naming the
// field, an eci-profile selector sending a pod to the virtual nodes of a cluster that has a real
// node too, and the seed's eni-config-fixed recipe on a virtual node pool (2 -> 30 replicas, all
// IPs in the vSwitch's CIDR, a pod without the toleration kept off the pool's node, a
// PodNetworking winning over the pool with a Warning, the pool's node drained and removed with
// the pool).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { createCertificateAuthority, issueCertificate } from '../../adapters/tls/certificates.ts';
import { buildMutatingWebhookConfiguration } from '../../adapters/webhook/registration.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import { nodeNameForZone } from '../../provider/node/node.ts';
import { POD_ANNOTATIONS } from '../../provider/pods/annotations.ts';
import { freeLoopbackPorts } from '../controlplane/ports.ts';
import { apis, ignoreNotFound, kubeConfig, kubectl, useTestNamespace } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { deleteNodes, ipInCidr, memoryLogger, runCommand, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { waitFor } from './helpers/wait.ts';
import { apiClient, budget, withDeadline } from '../helpers/deadline.ts';

const H = 'cn-hangzhou-h';
const I = 'cn-hangzhou-i';
const J = 'cn-hangzhou-j';
const KS = 'kube-system';
const namespace = useTestNamespace('cluster-net');
const CONFIGMAPS = ['eni-config', 'eci-profile', 'eni-config-fixed', 'eci-virtual-node-pools'];

let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;
let certDir: string;
let webhookConfigName: string;
let realNode: string;
const logs = memoryLogger();
const core = () => apis().core;
const custom = () => apiClient(kubeConfig(), k8s.CustomObjectsApi);
const cidrOf = (id: string) => sim.world.vSwitches.find((v) => v.id === id)!.cidr;

async function putConfigMap(name: string, data: Record<string, string>): Promise<void> {
  const body: k8s.V1ConfigMap = { metadata: { name, namespace: KS }, data };
  try {
    await core().replaceNamespacedConfigMap({ name, namespace: KS, body });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    await core().createNamespacedConfigMap({ namespace: KS, body });
  }
}

const eniConf = (doc: unknown) => ({ eni_conf: JSON.stringify(doc) });

async function nodeReady(name: string): Promise<k8s.V1Node> {
  return waitFor(
    async () => {
      const node = await core().readNode({ name });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && node.spec?.unschedulable !== true ? node : undefined;
    },
    { timeoutMs: budget({ baseMs: 60_000 }), describe: async () => `node ${name} to be Ready and schedulable; nodes: ${(await core().listNode()).items.map((n) => n.metadata?.name).join(', ')}` },
  );
}

/** The provider cordons the node of a zone no network needs any more (it stays while pods run on it). */
async function cordoned(name: string): Promise<void> {
  await waitFor(async () => (await core().readNode({ name })).spec?.unschedulable === true, {
    timeoutMs: budget({ baseMs: 30_000 }),
    describe: async () => `node ${name} to be cordoned; taints ${JSON.stringify((await core().readNode({ name })).spec?.taints)}`,
  });
}

async function describePod(name: string): Promise<string> {
  const pod = await core().readNamespacedPod({ name, namespace: namespace() });
  return `pod ${name}: node ${pod.spec?.nodeName ?? '-'}, phase ${pod.status?.phase}, conditions ${JSON.stringify(pod.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]))}`;
}

async function runPod(name: string, o: { labels?: Record<string, string>; placed?: boolean } = {}): Promise<k8s.V1Pod> {
  const ns = namespace();
  await core().createNamespacedPod({
    namespace: ns,
    body: { metadata: { name, ...(o.labels ? { labels: o.labels } : {}) }, spec: { ...(o.placed === false ? {} : virtualNodePlacement(config)), containers: [{ name: 'main', image: 'nginx:1.27' }] } },
  });
  return waitFor(
    async () => {
      const pod = await core().readNamespacedPod({ name, namespace: ns });
      return pod.status?.phase === 'Running' && pod.status.podIP ? pod : undefined;
    },
    {
      timeoutMs: budget({ baseMs: 60_000 }),
      describe: async () => `pod ${name} to run; ${await describePod(name)}`,
    },
  );
}

const vSwitchOf = (pod: k8s.V1Pod) => pod.metadata?.annotations?.[POD_ANNOTATIONS.vSwitchId];

beforeAll(async () => {
  await installPodNetworkingCrd();
  // Nothing left from an earlier run: these ConfigMaps are cluster-wide.
  for (const name of CONFIGMAPS) await core().deleteNamespacedConfigMap({ name, namespace: KS }).catch(ignoreNotFound);
  sim = await startCloudSim({ world: await testWorld(), log: () => {} });
  // No default network in the flags: kube-system's ConfigMaps provide it.
  config = testConfig(sim, { vSwitchIds: [], securityGroupId: '' });
  config.networkHealth = { ...config.networkHealth, checkIntervalMs: 1_000 };
  const suffix = config.clusterId;
  await putConfigMap('eni-config', eniConf({ vswitches: { [I]: ['vsw-simi1'] }, security_group: 'sg-simdefault', vswitch_selection_policy: 'ordered', access_key: 'not-for-us' }));

  const ca = await createCertificateAuthority({ commonName: 'eci-vn-it-webhook-ca' });
  const serving = await issueCertificate({ ca, commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  certDir = await mkdtemp(join(tmpdir(), 'eci-vn-cluster-net-'));
  await writeFile(join(certDir, 'tls.crt'), serving.certPem);
  await writeFile(join(certDir, 'tls.key'), serving.keyPem);
  const [port] = await freeLoopbackPorts(1);
  config.webhook = { port: port!, host: '127.0.0.1', certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key'), serverless: false };
  provider = await startTestProvider(config, logs.log);

  webhookConfigName = `eci-vn-it-${suffix}`;
  const registration = buildMutatingWebhookConfiguration({ name: webhookConfigName, caBundle: Buffer.from(ca.certPem).toString('base64'), url: `https://127.0.0.1:${port}/mutate-pods` });
  for (const hook of registration.webhooks ?? []) hook.namespaceSelector = { matchLabels: { 'eci-vn-it/webhook': suffix } };
  await apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: registration });
  await kubectl(['label', 'namespace', namespace(), `eci-vn-it/webhook=${suffix}`]);
}, 180_000);

afterAll(async () => {
  if (webhookConfigName) await apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: webhookConfigName }).catch(ignoreNotFound);
  for (const name of CONFIGMAPS) await core().deleteNamespacedConfigMap({ name, namespace: KS }).catch(ignoreNotFound);
  if (realNode) await core().deleteNode({ name: realNode }).catch(ignoreNotFound);
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  if (config) await deleteNodes(config);
  await sim?.stop();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

describe('default network from kube-system ConfigMaps', () => {
  it('eni-config, then eci-profile over it: each change reaches new pods only; a malformed profile keeps the last good one and says which field', async () => {
    await nodeReady(nodeNameForZone(config.node.namePrefix, I));
    const a = await runPod('from-eni-config');
    expect(vSwitchOf(a)).toBe('vsw-simi1');
    expect(ipInCidr(a.status!.podIP!, cidrOf('vsw-simi1'))).toBe(true);

    // eni-config moves to zone j: a node for j appears, new pods go there; the running pod keeps its IP.
    await putConfigMap('eni-config', eniConf({ vswitches: { [J]: ['vsw-simj1'] }, security_group: 'sg-simdefault' }));
    await nodeReady(nodeNameForZone(config.node.namePrefix, J));
    await cordoned(nodeNameForZone(config.node.namePrefix, I));
    const b = await runPod('after-eni-update');
    expect(vSwitchOf(b)).toBe('vsw-simj1');
    expect(ipInCidr(b.status!.podIP!, cidrOf('vsw-simj1'))).toBe(true);
    const aNow = await core().readNamespacedPod({ name: 'from-eni-config', namespace: namespace() });
    expect([aNow.status?.phase, aNow.status?.podIP, vSwitchOf(aNow)]).toEqual(['Running', a.status!.podIP, 'vsw-simi1']);

    // eci-profile wins over eni-config, vSwitch and security group both.
    await putConfigMap('eci-profile', { vSwitchIds: 'vsw-simh1', securityGroupId: 'sg-simweb', vpcId: 'vpc-simmain', selectors: '', enableClusterIp: 'true' });
    await nodeReady(nodeNameForZone(config.node.namePrefix, H));
    await cordoned(nodeNameForZone(config.node.namePrefix, J));
    const c = await runPod('from-eci-profile');
    expect([vSwitchOf(c), c.metadata?.annotations?.[POD_ANNOTATIONS.securityGroupId]]).toEqual(['vsw-simh1', 'sg-simweb']);

    // A format error: the Warning event names the field; the previous settings stay.
    await putConfigMap('eci-profile', { vSwitchIds: 'vsw-simj1', securityGroupId: 'sg-simweb', selectors: '[{"name": "broken"' });
    const event = await waitFor(
      async () => (await core().listNamespacedEvent({ namespace: KS, fieldSelector: 'involvedObject.kind=ConfigMap,involvedObject.name=eci-profile' })).items.find((e) => e.reason === 'InvalidEciProfile'),
      { timeoutMs: budget({ baseMs: 30_000 }), describe: 'an InvalidEciProfile Warning event on kube-system/eci-profile' },
    );
    expect(event.type).toBe('Warning');
    expect(event.message).toMatch(/^kube-system\/eci-profile: selectors: is not JSON .*the last good version stays in force$/);
    const d = await runPod('after-bad-profile');
    expect(vSwitchOf(d)).toBe('vsw-simh1');
  });

  it('an eci-profile selector sends a matching pod to a virtual node in a cluster that has a real node, with the effect\'s label and annotation', async () => {
    realNode = `real-${config.clusterId}`;
    await core().createNode({ body: { metadata: { name: realNode, labels: { 'kubernetes.io/hostname': realNode, 'kubernetes.io/os': 'linux' } } } });
    // Ready with room, and no taint: a pod without the profile's affinity could be placed there.
    const now = new Date();
    await core().replaceNodeStatus({
      name: realNode,
      body: {
        metadata: { name: realNode },
        status: {
          capacity: { cpu: '64', memory: '256Gi', pods: '110' },
          allocatable: { cpu: '64', memory: '256Gi', pods: '110' },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'real-looking node', lastHeartbeatTime: now, lastTransitionTime: now }],
        },
      },
    });
    await putConfigMap('eci-profile', {
      vSwitchIds: 'vsw-simh1',
      securityGroupId: 'sg-simweb',
      selectors: JSON.stringify([{ name: 'to-eci', objectSelector: { matchLabels: { eci: 'true' } }, effect: { annotations: { 'k8s.aliyun.com/eci-image-cache': 'true' }, labels: { 'placed-by': 'eci-profile' } } }]),
    });
    // The profile is hot: retry until the webhook has it (each attempt a fresh pod).
    let n = 0;
    const created = await waitFor(
      async () => {
        const name = `selected-${n++}`;
        const pod = await core().createNamespacedPod({ namespace: namespace(), body: { metadata: { name, labels: { eci: 'true' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } });
        if (pod.metadata?.labels?.['placed-by'] === 'eci-profile') return pod;
        await core().deleteNamespacedPod({ name, namespace: namespace(), gracePeriodSeconds: 0 });
        return undefined;
      },
      { timeoutMs: budget({ baseMs: 30_000 }), intervalMs: 500, describe: 'a pod labelled eci=true to come back from admission with the eci-profile effect' },
    );
    expect(created.metadata?.annotations?.['k8s.aliyun.com/eci-image-cache']).toBe('true');
    expect(created.spec?.tolerations).toContainEqual(expect.objectContaining({ key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' }));
    expect(created.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: 'type', operator: 'In', values: ['virtual-kubelet'] }] }]);
    const running = await waitFor(
      async () => {
        const pod = await core().readNamespacedPod({ name: created.metadata!.name!, namespace: namespace() });
        return pod.status?.phase === 'Running' ? pod : undefined;
      },
      { timeoutMs: budget({ baseMs: 60_000 }), describe: async () => `pod ${created.metadata!.name!} to run on a virtual node; ${await describePod(created.metadata!.name!)}` },
    );
    expect(running.spec?.nodeName).toBe(nodeNameForZone(config.node.namePrefix, H));
    // A pod no selector matches is left as it was, and the scheduler puts it on the real node.
    const plain = await core().createNamespacedPod({ namespace: namespace(), body: { metadata: { name: 'not-selected' }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } });
    expect(plain.spec?.tolerations?.some((t) => t.key === 'virtual-kubelet.io/provider')).toBe(false);
    expect(plain.spec?.affinity).toBeUndefined();
    await waitFor(async () => (await core().readNamespacedPod({ name: 'not-selected', namespace: namespace() })).spec?.nodeName === realNode, {
      timeoutMs: budget({ baseMs: 30_000 }),
      describe: async () => `pod not-selected to be bound to the real node ${realNode}; ${await describePod('not-selected')}`,
    });
  });
});

describe('virtual node pools: the seed\'s eni-config-fixed recipe, verbatim', () => {
  it('a pool node labelled terway-config: eni-config-fixed and tainted fixed=true:NoSchedule; 2 -> 30 replicas all in the vSwitch; a pod without the toleration stays off; a PodNetworking wins over the pool; the node drains with the pool', async () => {
    const ns = namespace();
    // The seed's ConfigMap (a vSwitch of zone h), then the pool that names it.
    await putConfigMap('eni-config-fixed', { eni_conf: '{\n  "vswitches": {"cn-hangzhou-h": ["vsw-simh2"]}\n}\n' });
    await putConfigMap('eci-virtual-node-pools', { fixed: 'terwayConfig: eni-config-fixed\ntaints:\n  - key: fixed\n    value: "true"\n    effect: NoSchedule\n' });
    const poolNode = nodeNameForZone(`${config.node.namePrefix}-fixed`, H);
    const node = await nodeReady(poolNode);
    expect(node.metadata?.labels).toMatchObject({ 'terway-config': 'eni-config-fixed', 'topology.kubernetes.io/zone': H, type: 'virtual-kubelet' });
    // The pool's taint replaces the virtual-node taint. (The node lifecycle controller's own
    // node.kubernetes.io/not-ready taint may still be on a node that just turned Ready.)
    const ours = (node.spec?.taints ?? []).filter((t) => !t.key.startsWith('node.kubernetes.io/'));
    expect(ours.map((t) => ({ key: t.key, value: t.value, effect: t.effect }))).toEqual([{ key: 'fixed', value: 'true', effect: 'NoSchedule' }]);

    // The seed's Deployment: nodeSelector on the label, toleration of the taint, nothing else.
    const apps = apiClient(kubeConfig(), k8s.AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'nginx-fixed' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'nginx-fixed' } },
          template: {
            metadata: { labels: { app: 'nginx-fixed' } },
            spec: {
              nodeSelector: { 'terway-config': 'eni-config-fixed' },
              tolerations: [{ key: 'fixed', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
              containers: [{ name: 'nginx', image: 'nginx:1.27' }],
            },
          },
        },
      },
    });
    const running = (count: number) =>
      waitFor(
        async () => {
          const pods = (await core().listNamespacedPod({ namespace: ns, labelSelector: 'app=nginx-fixed' })).items.filter((p) => p.status?.phase === 'Running' && p.status.podIP && p.metadata?.deletionTimestamp == null);
          return pods.length >= count ? pods : undefined;
        },
        {
          timeoutMs: budget({ baseMs: 60_000, perItemMs: 2_000, items: count }),
          describe: async () => {
            const pods = (await core().listNamespacedPod({ namespace: ns, labelSelector: 'app=nginx-fixed' })).items;
            return `${count} Running nginx-fixed pods; have ${pods.filter((p) => p.status?.phase === 'Running').length} Running of ${pods.length}: ${JSON.stringify(pods.slice(0, 5).map((p) => [p.spec?.nodeName, p.status?.phase, p.status?.conditions?.find((c) => c.status === 'False')?.message]))}`;
          },
        },
      );
    const cidr = cidrOf('vsw-simh2');
    const outside = (pods: k8s.V1Pod[]) => pods.filter((p) => !ipInCidr(p.status!.podIP!, cidr) || p.spec?.nodeName !== poolNode).map((p) => `${p.metadata?.name} ${p.spec?.nodeName} ${p.status?.podIP}`);
    expect(outside(await running(2))).toEqual([]);
    await apps.patchNamespacedDeploymentScale({ name: 'nginx-fixed', namespace: ns, body: { spec: { replicas: 30 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const thirty = await running(30);
    expect(thirty).toHaveLength(30);
    expect(outside(thirty)).toEqual([]);
    expect(new Set(thirty.map((p) => p.status!.podIP)).size).toBe(30);
    // What the database whitelist takes for the pool, as the README prints the command.
    expect((await runCommand(sim, config, ['whitelist', 'pool/fixed', '--format', 'rds'])).stdout.trim()).toBe(cidr);
    // 30 pods in a /26: fewer free IPs than 2x the pods, reported on the ConfigMap that declares the pool.
    const low = await waitFor(
      async () => (await core().listNamespacedEvent({ namespace: KS, fieldSelector: 'involvedObject.kind=ConfigMap,involvedObject.name=eci-virtual-node-pools' })).items.find((e) => e.reason === 'IPHeadroomLow'),
      { timeoutMs: budget({ baseMs: 30_000 }), describe: 'an IPHeadroomLow Warning event on kube-system/eci-virtual-node-pools' },
    );
    expect([low.type, low.message]).toEqual(['Warning', expect.stringMatching(/^pool fixed: .*30 pods/)]);
    // The same check judged the pool's pods' IPs against its vSwitch: no drift. (The first test's
    // pods may have one: the default network moved under them, the tripwire's legitimate cause.)
    const drift = (await core().listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason === 'PodIPOutsideNetwork' && e.involvedObject.name?.startsWith('nginx-fixed-'));
    expect(drift.map((e) => e.message)).toEqual([]);

    // The same nodeSelector without the toleration: the taint keeps it off (Unschedulable).
    await core().createNamespacedPod({ namespace: ns, body: { metadata: { name: 'no-toleration' }, spec: { nodeSelector: { 'terway-config': 'eni-config-fixed' }, containers: [{ name: 'main', image: 'nginx:1.27' }] } } });
    const refused = await waitFor(
      async () => {
        const pod = await core().readNamespacedPod({ name: 'no-toleration', namespace: ns });
        return pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
      },
      { timeoutMs: budget({ baseMs: 30_000 }), describe: 'pod no-toleration to be reported Unschedulable' },
    );
    // The pool's node is the only one its nodeSelector leaves, and its taint refuses the pod.
    expect((await core().listNode({ labelSelector: 'terway-config=eni-config-fixed' })).items.map((n) => n.metadata?.name)).toEqual([poolNode]);
    expect(refused.message).toMatch(/untolerated taint/);
    expect((await core().readNamespacedPod({ name: 'no-toleration', namespace: ns })).spec?.nodeName).toBeUndefined();

    // A PodNetworking that selects a pod on the pool's node wins over the pool, with a Warning.
    const pnName = `pn-${config.clusterId}`;
    const { group, version, plural } = PODNETWORKING_API;
    await custom().createClusterCustomObject({
      group, version, plural,
      body: { apiVersion: PODNETWORKING_API.apiVersion, kind: 'PodNetworking', metadata: { name: pnName }, spec: { selector: { podSelector: { matchLabels: { net: pnName } } }, vSwitchOptions: ['vsw-simh1'], securityGroupIDs: ['sg-simweb'] } },
    });
    try {
      await waitFor(async () => ((await custom().getClusterCustomObject({ group, version, plural, name: pnName })) as { status?: { status?: string } }).status?.status === 'Ready', {
        timeoutMs: budget({ baseMs: 30_000 }),
        describe: `PodNetworking ${pnName} to be Ready`,
      });
      await core().createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: 'pn-over-pool', labels: { net: pnName } },
          spec: { nodeSelector: { 'terway-config': 'eni-config-fixed' }, tolerations: [{ key: 'fixed', operator: 'Equal', value: 'true', effect: 'NoSchedule' }], containers: [{ name: 'main', image: 'nginx:1.27' }] },
        },
      });
      const overridden = await waitFor(
        async () => {
          const pod = await core().readNamespacedPod({ name: 'pn-over-pool', namespace: ns });
          return pod.status?.phase === 'Running' && pod.status.podIP ? pod : undefined;
        },
        { timeoutMs: budget({ baseMs: 60_000 }), describe: async () => `pod pn-over-pool to run; ${await describePod('pn-over-pool')}` },
      );
      expect([overridden.spec?.nodeName, vSwitchOf(overridden), ipInCidr(overridden.status!.podIP!, cidrOf('vsw-simh1'))]).toEqual([poolNode, 'vsw-simh1', true]);
      const warning = await waitFor(
        async () => (await core().listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=pn-over-pool' })).items.find((e) => e.reason === 'PodNetworkingOverridesPool'),
        { timeoutMs: budget({ baseMs: 30_000 }), describe: 'a PodNetworkingOverridesPool event on pod pn-over-pool' },
      );
      expect([warning.type, warning.message]).toEqual(['Warning', expect.stringContaining(`PodNetworking ${pnName} selects it`)]);
      await core().deleteNamespacedPod({ name: 'pn-over-pool', namespace: ns });
    } finally {
      await custom().deleteClusterCustomObject({ group, version, plural, name: pnName }).catch(ignoreNotFound);
    }

    // The pool removed: its node is cordoned while its pods run, and removed once they are gone.
    await core().deleteNamespacedConfigMap({ name: 'eci-virtual-node-pools', namespace: KS });
    await cordoned(poolNode);
    expect((await core().listNamespacedPod({ namespace: ns, labelSelector: 'app=nginx-fixed' })).items.filter((p) => p.status?.phase === 'Running')).toHaveLength(30);
    await apps.deleteNamespacedDeployment({ name: 'nginx-fixed', namespace: ns });
    await waitFor(async () => !(await core().listNode()).items.some((n) => n.metadata?.name === poolNode), {
      timeoutMs: budget({ baseMs: 60_000, perItemMs: 1_000, items: 30 }),
      describe: async () => `the removed pool's node ${poolNode} to be deleted once its pods are gone; pods left: ${(await core().listNamespacedPod({ namespace: ns, labelSelector: 'app=nginx-fixed' })).items.length}`,
    });
  });
});
