// IP headroom, IP-aware zones and the whitelist export (issue 17 items 4-6) on the real control
// plane, the real scheduler and the simulator. A PodNetworking on the demo world's tiny vSwitch
// (vsw-simtiny, a /29: 4 usable IPs, zone j) goes below 2 free IPs per pod: its IPHeadroom
// condition turns False with a Warning event, then True with a Normal event once pods go. While the
// tiny vSwitch is full, pods of a PodNetworking spanning it and a roomy vSwitch in zone h are never
// bound to zone j. The whitelist command's formats are checked on those pods' IPs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { IP_HEADROOM_CONDITION } from '../../adapters/kubernetes/network-health.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { EventReason } from '../../provider/events/reasons.ts';
import { METRIC } from '../../provider/telemetry/names.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import type { PodNetworking, PodNetworkingSpec } from '../../provider/networking/podnetworking.ts';
import { apis, ignoreNotFound, kubeConfig, kubectl, uniqueName } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { deleteNodes, ipInCidr, memoryLogger, runCommand, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { freeLoopbackPorts } from '../controlplane/ports.ts';
import { prepareTestWebhook, WEBHOOK_NAMESPACE_LABEL, type TestWebhook } from './helpers/webhook.ts';
import { apiClient, budget, waitUntil, withDeadline } from '../helpers/deadline.ts';

const { group, version, plural } = PODNETWORKING_API;
const H = 'cn-hangzhou-h';
const J = 'cn-hangzhou-j';
const ZONE = 'topology.kubernetes.io/zone';
const suffix = uniqueName('net').slice(4);
const tinyPn = `pn-tiny-${suffix}`;
const twoPn = `pn-two-${suffix}`;
const gonePn = `pn-gone-${suffix}`;
/** A vSwitch of this file's world only, deleted from the cloud by the last test. */
const GONE = 'vsw-simgone';

let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;
let webhook: TestWebhook;
let namespace: string;
const logs = memoryLogger();
const custom = () => apiClient(kubeConfig(), k8s.CustomObjectsApi);

type PodNetworkingWithConditions = PodNetworking & { status?: { conditions?: k8s.V1Condition[] } };
const readPn = async (name: string) => (await custom().getClusterCustomObject({ group, version, plural, name })) as PodNetworkingWithConditions;
const headroomOf = (pn: PodNetworkingWithConditions) => pn.status?.conditions?.find((c) => c.type === IP_HEADROOM_CONDITION);
const cidrOf = (id: string) => sim.world.vSwitches.find((v) => v.id === id)!.cidr;

async function createPodNetworking(name: string, spec: PodNetworkingSpec): Promise<void> {
  await custom().createClusterCustomObject({ group, version, plural, body: { apiVersion: PODNETWORKING_API.apiVersion, kind: 'PodNetworking', metadata: { name }, spec } });
}

async function createPods(app: string, names: string[]): Promise<void> {
  for (const name of names) {
    await apis().core.createNamespacedPod({
      namespace,
      body: { metadata: { name, labels: { app } }, spec: { ...virtualNodePlacement(config), terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'nginx:1.27' }] } },
    });
  }
}

const listPods = async (app: string) => (await apis().core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
const summary = (pods: k8s.V1Pod[]) => JSON.stringify(pods.map((p) => [p.metadata?.name, p.spec?.nodeName, p.status?.phase, p.status?.podIP, p.status?.conditions?.find((c) => c.status === 'False')?.message]));

async function runningPods(app: string, count: number): Promise<k8s.V1Pod[]> {
  let last: k8s.V1Pod[] = [];
  return waitUntil(
    async () => {
      last = await listPods(app);
      const running = last.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
      return running.length === count ? running : undefined;
    },
    { timeoutMs: budget({ baseMs: 60_000, perItemMs: 5_000, items: count }), what: `${count} Running pods app=${app}`, lastSeen: () => summary(last) },
  );
}

/** The condition with that status once its message (free IPs as polled, pods) matches too: the poll may lag the pods. */
async function waitForHeadroom(name: string, status: 'True' | 'False', message: RegExp): Promise<k8s.V1Condition> {
  let last: k8s.V1Condition | undefined;
  return waitUntil(
    async () => {
      last = headroomOf(await readPn(name));
      return last?.status === status && message.test(last.message ?? '') ? last : undefined;
    },
    { timeoutMs: budget({ baseMs: 30_000 }), what: `PodNetworking ${name} condition ${IP_HEADROOM_CONDITION}=${status} saying ${String(message)}`, lastSeen: () => JSON.stringify(last) },
  );
}

async function waitForEvent(name: string, reason: string, type: 'Warning' | 'Normal'): Promise<k8s.CoreV1Event> {
  let seen: string[] = [];
  return waitUntil(
    async () => {
      const list = await apis().core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name},involvedObject.kind=PodNetworking` });
      seen = list.items.map((e) => `${e.type} ${e.reason}: ${e.message}`);
      return list.items.find((e) => e.reason === reason && e.type === type);
    },
    { timeoutMs: budget({ baseMs: 30_000 }), what: `a ${type} event ${reason} on PodNetworking ${name}`, lastSeen: () => JSON.stringify(seen) },
  );
}

/** One gauge's value from the provider's /metrics, or undefined when the series is absent. */
async function gauge(name: string, network: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${config.metrics.port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{network="${network}"}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

const cli = async (args: string[]): Promise<string> => (await runCommand(sim, config, args)).stdout;

beforeAll(async () => {
  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await testWorld({}, { vSwitches: [{ id: GONE, vpcId: 'vpc-simmain', zoneId: H, cidr: '10.0.20.0/26' }] }), log: () => {} });
  config = testConfig(sim, { vSwitchIds: ['vsw-simh1', 'vsw-simj1'] });
  config.networkHealth = { ipHeadroomRatio: 2, checkIntervalMs: 500 };
  webhook = await prepareTestWebhook(config, suffix);
  const [metricsPort] = await freeLoopbackPorts(1);
  config.metrics = { port: metricsPort!, host: '127.0.0.1' };
  provider = await startTestProvider(config, logs.log);
  await webhook.register();
  namespace = uniqueName('nets');
  await apis().core.createNamespace({ body: { metadata: { name: namespace, labels: { [WEBHOOK_NAMESPACE_LABEL]: suffix, 'eci-virtual-node.test/suite': 'integration' } } } });
  await waitUntil(() => apis().core.readNamespacedServiceAccount({ name: 'default', namespace }).then(() => true), { timeoutMs: budget({ baseMs: 60_000 }), what: `the default ServiceAccount of ${namespace}` });
  await createPodNetworking(tinyPn, { selector: { podSelector: { matchLabels: { app: `tiny-${suffix}` } } }, securityGroupIDs: ['sg-simdefault'], vSwitchOptions: ['vsw-simtiny'] });
  await createPodNetworking(twoPn, { selector: { podSelector: { matchLabels: { app: `two-${suffix}` } } }, securityGroupIDs: ['sg-simdefault'], vSwitchOptions: ['vsw-simtiny', 'vsw-simh2'] });
  for (const name of [tinyPn, twoPn]) {
    await waitUntil(async () => (await readPn(name)).status?.status === 'Ready', { timeoutMs: budget({ baseMs: 30_000 }), what: `PodNetworking ${name} Ready` });
  }
});

afterAll(async () => {
  await webhook?.cleanup();
  if (namespace) await apis().core.deleteNamespace({ name: namespace }).catch(ignoreNotFound);
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  for (const name of [tinyPn, twoPn, gonePn]) await custom().deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
  if (config) await deleteNodes(config);
  await sim?.stop();
});

describe('IP headroom, IP-aware zones and the whitelist export', () => {
  const tinyApp = `tiny-${suffix}`;
  const twoApp = `two-${suffix}`;

  it('IPHeadroom turns False with a Warning below 2 free IPs per pod, and pods skip the exhausted zone', async () => {
    await createPods(tinyApp, ['tiny-0']);
    await runningPods(tinyApp, 1);
    // 4 usable IPs, 1 pod: 3 free >= 2.
    expect((await waitForHeadroom(tinyPn, 'True', /^3 free IPs for 1 pods/)).reason).toBe('Headroom');

    await createPods(tinyApp, ['tiny-1', 'tiny-2', 'tiny-3']);
    await runningPods(tinyApp, 4);
    const low = await waitForHeadroom(tinyPn, 'False', /^0 free IPs for 4 pods, below 2x \(8\)/);
    expect(low.reason).toBe('IPHeadroomLow');
    expect(await gauge(METRIC.networkFreeIps, `podnetworking/${tinyPn}`)).toBe(0);
    expect(await gauge(METRIC.networkPods, `podnetworking/${tinyPn}`)).toBe(4);
    expect(await gauge(METRIC.networkIpHeadroomLow, `podnetworking/${tinyPn}`)).toBe(1);
    // Written when the verdict changed (the vSwitch poll may not have seen every pod's IP yet).
    expect((await waitForEvent(tinyPn, EventReason.IPHeadroomLow, 'Warning')).message).toMatch(/^\d free IPs for [2-4] pods, below 2x \(\d\).*vsw-simtiny=\d$/);

    // The leader has polled the full vSwitch: a PodNetworking spanning it (zone j) and vsw-simh2
    // (zone h) now sends its pods to zone h only.
    await waitUntil(() => provider.nodes.vSwitches().find((v) => v.id === 'vsw-simtiny')?.availableIpCount === 0, {
      timeoutMs: budget({ baseMs: 20_000 }),
      what: 'the node manager to poll vsw-simtiny with 0 free IPs',
      lastSeen: () => JSON.stringify(provider.nodes.vSwitches().map((v) => [v.id, v.availableIpCount])),
    });
    await createPods(twoApp, ['two-0', 'two-1', 'two-2']);
    const two = await runningPods(twoApp, 3);
    for (const pod of two) {
      expect(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, pod.metadata?.name).toEqual([
        { matchExpressions: [{ key: ZONE, operator: 'In', values: [H] }] },
      ]);
      expect(pod.spec?.nodeName, `${pod.metadata?.name} bound in zone h`).toBe(provider.nodes.nodeOfZone(H));
      expect(ipInCidr(pod.status!.podIP!, cidrOf('vsw-simh2')), `${pod.metadata?.name} ${pod.status?.podIP}`).toBe(true);
    }
    expect(provider.nodes.nodeOfZone(J)).toBeDefined();
  });

  it('whitelist --format rds and networkpolicy print forms that work as printed, covering the pods', async () => {
    const pods = await listPods(twoApp);
    const cidrs = [cidrOf('vsw-simtiny'), cidrOf('vsw-simh2')];

    const rds = (await cli(['whitelist', twoPn, '--format', 'rds'])).trim();
    expect(rds).toBe(cidrs.join(','));
    for (const pod of pods) expect(rds.split(',').some((c) => ipInCidr(pod.status!.podIP!, c)), pod.status?.podIP).toBe(true);

    // (json: tracing.test.ts runs `--output json`, the same renderer.)
    // The NetworkPolicy as printed, applied by kubectl, and read back from the apiserver.
    const policy = await cli(['whitelist', twoPn, '--format=networkpolicy']);
    const dir = await mkdtemp(join(tmpdir(), 'eci-vn-np-'));
    try {
      await writeFile(join(dir, 'policy.yaml'), policy);
      await kubectl(['apply', '-n', namespace, '-f', join(dir, 'policy.yaml')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const name = (parseYaml(policy) as { metadata: { name: string } }).metadata.name;
    const stored = await apiClient(kubeConfig(), k8s.NetworkingV1Api).readNamespacedNetworkPolicy({ name, namespace });
    expect(stored.spec?.ingress?.[0]?._from?.map((f) => f.ipBlock?.cidr)).toEqual(cidrs);
  });

  it('the tripwire: pods whose IP is outside their network\'s vSwitch CIDRs get a Warning and count in the metric', async () => {
    const network = `podnetworking/${twoPn}`;
    expect(await gauge(METRIC.networkPods, network)).toBe(3);
    expect(await gauge(METRIC.networkIpDriftPods, network)).toBe(0);
    // Running pods keep their IPs when their PodNetworking's vSwitches change: now outside them.
    await custom().patchClusterCustomObject(
      { group, version, plural, name: twoPn, body: { spec: { vSwitchOptions: ['vsw-simtiny'] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    let last: number | undefined;
    await waitUntil(async () => (last = await gauge(METRIC.networkIpDriftPods, network)) === 3, { timeoutMs: budget({ baseMs: 30_000 }), what: `${METRIC.networkIpDriftPods}{network="${network}"} 3`, lastSeen: () => String(last) });
    for (const pod of await listPods(twoApp)) {
      let seen: string[] = [];
      const event = await waitUntil(
        async () => {
          const items = (await apis().core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${pod.metadata!.uid!}` })).items;
          seen = items.map((e) => `${e.reason}`);
          return items.find((e) => e.reason === EventReason.PodIPOutsideNetwork);
        },
        { timeoutMs: budget({ baseMs: 20_000 }), what: `a PodIPOutsideNetwork event on ${pod.metadata?.name}`, lastSeen: () => JSON.stringify(seen) },
      );
      expect(event.type).toBe('Warning');
      expect(event.message).toContain(`pod IP ${pod.status!.podIP!} is outside the vSwitch CIDRs of its network ${network} (${cidrOf('vsw-simtiny')})`);
    }
    expect(await gauge(METRIC.networkIpDriftPods, `podnetworking/${tinyPn}`)).toBe(0);
  });

  it('a vSwitch of a Ready PodNetworking deleted from the cloud is logged once and turns the PodNetworking Fail with PodNetworkingFailed, without waiting for its resync', async () => {
    await createPodNetworking(gonePn, { selector: { podSelector: { matchLabels: { app: `gone-${suffix}` } } }, securityGroupIDs: ['sg-simdefault'], vSwitchOptions: ['vsw-simh2', GONE] });
    await waitUntil(async () => (await readPn(gonePn)).status?.status === 'Ready', { timeoutMs: budget({ baseMs: 30_000 }), what: `PodNetworking ${gonePn} Ready` });
    // Someone deletes the vSwitch in the console. The PodNetworking's own resync is 5 minutes away.
    sim.cloud.vSwitches.delete(GONE);
    let last: PodNetworkingWithConditions['status'];
    await waitUntil(async () => ((last = (await readPn(gonePn)).status)?.status === 'Fail' ? last : undefined), {
      timeoutMs: budget({ baseMs: 30_000 }),
      what: `PodNetworking ${gonePn} Fail after ${GONE} was deleted`,
      lastSeen: () => JSON.stringify(last),
    });
    expect(last?.message).toContain(`vSwitch ${GONE} not found (DescribeVSwitches knows no such id in this region)`);
    expect((await waitForEvent(gonePn, EventReason.PodNetworkingFailed, 'Warning')).message).toContain(GONE);
    const said = logs.lines.filter((l) => l.includes('vSwitch of a network not found in the cloud') && l.includes(`podnetworking/${gonePn}`));
    expect(said, 'log lines naming the missing vSwitch').toHaveLength(1);
    expect(said[0]).toContain(`its pods' IPs are checked against vsw-simh2 only`);
  });

  it('IPHeadroom turns True again with a Normal event once pods go', async () => {
    for (const name of ['tiny-1', 'tiny-2', 'tiny-3']) await apis().core.deleteNamespacedPod({ namespace, name });
    await waitUntil(async () => (await listPods(tinyApp)).length === 1, { timeoutMs: budget({ baseMs: 60_000 }), what: 'three tiny pods deleted', lastSeen: async () => summary(await listPods(tinyApp)) });
    const restored = await waitForHeadroom(tinyPn, 'True', /^3 free IPs for 1 pods/);
    expect(restored.reason).toBe('Headroom');
    expect((await waitForEvent(tinyPn, EventReason.IPHeadroomRestored, 'Normal')).message).toMatch(/free IPs for \d pods .*vsw-simtiny=\d$/);
    // Once per change: the low period wrote one Warning, however often its figures changed.
    const warnings = (await apis().core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${tinyPn},reason=${EventReason.IPHeadroomLow}` })).items;
    expect(warnings.map((e) => e.count)).toEqual([1]);
  });
});
