// Telemetry end to end on the real control plane, the real scheduler and the simulator: one trace
// per pod from the admission webhook to Running (received by a real OTLP/gRPC receiver), the
// network decision and the cloud calls as its spans, deletion as a trace of its own, Prometheus
// metrics scraped over HTTP, and a known fake AccessKey secret and Secret data found nowhere in
// spans, logs or events. Then `explain` and `whitelist` run as child processes on the real pod.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { startTracing, type Tracing } from '../../adapters/telemetry/tracing.ts';
import { createCertificateAuthority, issueCertificate } from '../../adapters/tls/certificates.ts';
import { buildMutatingWebhookConfiguration } from '../../adapters/webhook/registration.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import type { PodNetworking } from '../../provider/networking/podnetworking.ts';
import { ATTR, SPAN, TRACE_CONTEXT_ANNOTATION } from '../../provider/telemetry/names.ts';
import { freeLoopbackPorts } from '../controlplane/ports.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { apis, controlPlane, ignoreNotFound, kubeConfig, uniqueName } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { deleteNodes, ipInCidr, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { waitFor } from './helpers/wait.ts';
import { apiClient, budget, fetchText, podsBudget, withDeadline } from '../helpers/deadline.ts';

const execFileAsync = promisify(execFile);
const MAIN = join(import.meta.dirname, '..', '..', 'adapters', 'cli', 'main.ts');
const { group, version, plural } = PODNETWORKING_API;
const H = 'cn-hangzhou-h';
const suffix = uniqueName('tr').slice(3);
const webhookConfigName = `eci-vn-it-tracing-${suffix}`;
const pnName = `pn-trace-${suffix}`;
// Known fakes: neither may appear in any span, log line or event.
const ACCESS_KEY = { id: 'LTAItracingTestKey', secret: `tracing-fake-secret-${suffix}-9f2c` };
const SECRET_DATA = `secret-env-value-${suffix}-77aa`;

let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;
let receiver: OtlpReceiver;
let tracing: Tracing;
let certDir: string;
const logs = memoryLogger();
const namespaces: string[] = [];
const custom = () => apiClient(kubeConfig(), k8s.CustomObjectsApi);

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const json = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

async function createNamespace(labels: Record<string, string>): Promise<string> {
  const name = uniqueName('trace');
  await apis().core.createNamespace({ body: { metadata: { name, labels } } });
  namespaces.push(name);
  return name;
}

async function runningPod(namespace: string, name: string): Promise<k8s.V1Pod> {
  const read = () => apis().core.readNamespacedPod({ namespace, name });
  return waitFor(
    async () => {
      const p = await read();
      return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    },
    { timeoutMs: podsBudget(1), describe: async () => `pod ${namespace}/${name} Running; is ${json((await read()).status)}` },
  );
}

function podManifest(name: string, labels: Record<string, string>, secretName: string): k8s.V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      ...virtualNodePlacement(config),
      containers: [{ name: 'main', image: 'nginx:1.27', env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: secretName, key: 'password' } } }] }],
    },
  };
}

/** `eci-virtual-node <args>` as a child process, configured like the provider (flags + env). */
async function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [MAIN, ...args, '--kubeconfig', controlPlane().kubeconfigPath, '--region', config.regionId, '--eci-endpoint', sim.endpoint, '--vpc-endpoint', sim.endpoint, '--ecs-endpoint', sim.endpoint, '--cloud-protocol', 'http'], {
    env: { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_ID: ACCESS_KEY.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: ACCESS_KEY.secret, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    timeout: budget({ baseMs: 60_000 }),
    killSignal: 'SIGKILL',
  });
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = startTracing({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'eci-virtual-node-it' },
    secrets: [ACCESS_KEY.secret],
    log: logs.log,
  });
  expect(tracing.enabled).toBe(true);

  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await testWorld({ accessKeys: [ACCESS_KEY] }), log: () => {} });
  config = testConfig(sim);
  expect(config.cloud.accessKeySecret).toBe(ACCESS_KEY.secret);

  const ca = await createCertificateAuthority({ commonName: 'eci-vn-it-tracing-ca' });
  const serving = await issueCertificate({ ca, commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  certDir = await mkdtemp(join(tmpdir(), 'eci-vn-tracing-'));
  await writeFile(join(certDir, 'tls.crt'), serving.certPem);
  await writeFile(join(certDir, 'tls.key'), serving.keyPem);
  const [webhookPort, metricsPort] = await freeLoopbackPorts(2);
  config.webhook = { port: webhookPort!, host: '127.0.0.1', certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key'), serverless: false };
  config.metrics = { port: metricsPort!, host: '127.0.0.1' };
  provider = await startTestProvider(config, logs.log);

  const registration = buildMutatingWebhookConfiguration({
    name: webhookConfigName,
    caBundle: Buffer.from(ca.certPem).toString('base64'),
    url: `https://127.0.0.1:${webhookPort}/mutate-pods`,
  });
  for (const hook of registration.webhooks ?? []) hook.namespaceSelector = { matchLabels: { 'eci-vn-it/webhook': suffix } };
  await apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: registration });

  await custom().createClusterCustomObject({
    group,
    version,
    plural,
    body: {
      apiVersion: PODNETWORKING_API.apiVersion,
      kind: 'PodNetworking',
      metadata: { name: pnName },
      spec: {
        selector: { podSelector: { matchLabels: { app: `traced-${suffix}` } } },
        securityGroupIDs: ['sg-simweb', 'sg-simdefault'],
        vSwitchOptions: ['vsw-simh1', 'vsw-simh2'],
        vSwitchSelectOptions: { vSwitchSelectionPolicy: 'most' },
      },
    },
  });
  await waitFor(async () => ((await custom().getClusterCustomObject({ group, version, plural, name: pnName })) as PodNetworking).status?.status === 'Ready', {
    timeoutMs: budget({ baseMs: 60_000 }),
    describe: `PodNetworking ${pnName} Ready`,
  });
});

afterAll(async () => {
  await apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: webhookConfigName }).catch(ignoreNotFound);
  for (const ns of namespaces) await apis().core.deleteNamespace({ name: ns }).catch(ignoreNotFound);
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  await custom().deleteClusterCustomObject({ group, version, plural, name: pnName }).catch(ignoreNotFound);
  if (config) await deleteNodes(config);
  if (tracing) await withDeadline(tracing.shutdown(), budget({ baseMs: 30_000 }), 'the tracer to flush and shut down');
  await receiver?.close();
  await sim?.stop();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

describe('telemetry of a provisioned pod', () => {
  let ns: string;
  let pod: k8s.V1Pod;
  let traceId: string;

  it('is ONE trace from admission to Running, with the network decision and the cloud calls as spans', async () => {
    ns = await createNamespace({ 'eci-vn-it/webhook': suffix });
    const { core } = apis();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { password: SECRET_DATA } } });
    await core.createNamespacedPod({ namespace: ns, body: podManifest('traced', { app: `traced-${suffix}` }, 'db') });
    pod = await runningPod(ns, 'traced');
    const uid = pod.metadata!.uid!;
    const annotations = pod.metadata!.annotations!;
    expect(annotations['k8s.aliyun.com/pod-networking']).toBe(pnName);

    const spans = await receiver.waitForSpans(
      (all) => all.some((s) => s.name === SPAN.podWaitRunning && s.attributes[ATTR.podUid] === uid),
      30_000,
    );
    // The webhook's span: root of the trace, and the traceparent on the pod names it.
    const admission = byName(spans, SPAN.admission).find((s) => s.attributes[ATTR.podName] === 'traced' && s.attributes[ATTR.namespaceName] === ns);
    expect(admission).toBeDefined();
    traceId = admission!.traceId;
    expect(admission!.parentSpanId).toBeUndefined();
    expect(admission!.kind).toBe(2); // SERVER
    expect(admission!.attributes[ATTR.admissionPatched]).toBe(true);
    expect(admission!.resource['service.name']).toBe('eci-virtual-node-it');
    expect(annotations[TRACE_CONTEXT_ANNOTATION]).toBe(`00-${traceId}-${admission!.spanId}-01`);

    const inTrace = spans.filter((s) => s.traceId === traceId);
    const childrenOf = (parent: ReceivedSpan, name: string) => inTrace.filter((s) => s.parentSpanId === parent.spanId && s.name === name);
    const [admitMatch] = childrenOf(admission!, SPAN.podNetworkingMatch);
    expect(admitMatch?.attributes[ATTR.podNetworkingName]).toBe(pnName);
    expect(admitMatch?.attributes[ATTR.podNetworkingCandidates]).toContain(pnName);
    const [admitZones] = childrenOf(admission!, SPAN.zoneConstrain);
    expect(admitZones?.attributes[ATTR.zonesAllowed]).toEqual([H]);
    expect(admitZones?.attributes[ATTR.zonesConstrained]).toBe(true);

    // The provider continued the SAME trace: provisioning spans are children of the admission span.
    const provisions = childrenOf(admission!, SPAN.podProvision).filter((s) => s.attributes[ATTR.podUid] === uid);
    const created = provisions.find((s) => s.attributes[ATTR.containerGroupId] !== undefined);
    expect(created).toBeDefined();
    const vSwitchId = annotations['eci-virtual-node.io/vswitch-id']!;
    const nodeZone = pod.spec!.nodeName!.slice(config.node.namePrefix.length + 1);
    expect(nodeZone).toBe(H);
    expect(created!.attributes).toMatchObject({
      [ATTR.podNetworkingName]: pnName,
      [ATTR.vSwitchId]: vSwitchId,
      [ATTR.securityGroupId]: 'sg-simweb',
      [ATTR.cloudAvailabilityZone]: H,
      [ATTR.containerGroupId]: annotations['k8s.aliyun.com/eci-instance-id'],
      [ATTR.nodeName]: pod.spec!.nodeName,
      [ATTR.syncResult]: 'done',
    });

    // The network decision at sync, under pod.provision.
    const [syncMatch] = childrenOf(created!, SPAN.podNetworkingMatch);
    expect(syncMatch?.attributes).toMatchObject({ [ATTR.podNetworkingName]: pnName, [ATTR.podNetworkingStatus]: 'Ready' });
    const [syncZone] = childrenOf(created!, SPAN.zoneConstrain);
    expect(syncZone?.attributes).toMatchObject({ [ATTR.cloudAvailabilityZone]: H, [ATTR.zonesAllowed]: [H], [ATTR.zoneAllowed]: true });
    const [choose] = childrenOf(created!, SPAN.vSwitchChoose);
    expect(choose?.attributes).toMatchObject({ [ATTR.vSwitchId]: vSwitchId, [ATTR.vSwitchPolicy]: 'most' });
    const candidates = choose!.attributes[ATTR.vSwitchCandidates] as string[];
    expect(candidates.map((c) => c.split('=')[0]).sort()).toEqual(['vsw-simh1', 'vsw-simh2']);
    expect(choose!.attributes[ATTR.vSwitchReason]).toBe(annotations['eci-virtual-node.io/vswitch-reason']);
    expect(typeof choose!.attributes[ATTR.vSwitchFreeIps]).toBe('number');
    const [sg] = childrenOf(created!, SPAN.securityGroupChoose);
    expect(sg?.attributes).toMatchObject({ [ATTR.securityGroupId]: 'sg-simweb', [ATTR.securityGroupCandidates]: ['sg-simweb', 'sg-simdefault'] });

    // Each cloud call is a CLIENT child of the span that made it, with its request id.
    const [createCall] = childrenOf(created!, 'cloud.CreateContainerGroup');
    expect(createCall?.kind).toBe(3);
    expect(createCall?.attributes).toMatchObject({ [ATTR.cloudAction]: 'CreateContainerGroup', [ATTR.cloudAttempt]: 1, [ATTR.cloudProvider]: 'alibaba_cloud' });
    expect(createCall?.attributes[ATTR.cloudRequestId]).toEqual(expect.any(String));
    expect(typeof createCall?.attributes[ATTR.cloudThrottleWaitMs]).toBe('number');
    const lookups = inTrace.filter((s) => s.name === 'cloud.DescribeVSwitches');
    for (const lookup of lookups) expect(lookup.parentSpanId).toBe(choose!.spanId);

    // Status patches and the wait for Running end the provisioning trace; IP and vSwitch match the pod.
    const patches = childrenOf(admission!, SPAN.podStatusPatch).filter((s) => s.attributes[ATTR.podUid] === uid);
    expect(patches.some((s) => s.attributes[ATTR.podPhase] === 'Running' && s.attributes[ATTR.podIp] === pod.status!.podIP)).toBe(true);
    const [waitRunning] = childrenOf(admission!, SPAN.podWaitRunning);
    expect(waitRunning?.attributes).toMatchObject({
      [ATTR.podIp]: pod.status!.podIP,
      [ATTR.vSwitchId]: vSwitchId,
      [ATTR.cloudAvailabilityZone]: H,
      [ATTR.securityGroupId]: 'sg-simweb',
      [ATTR.podPhase]: 'Running',
    });
    expect(waitRunning!.attributes[ATTR.eniId]).toBe(annotations['eci-virtual-node.io/eni-id']);
    expect(waitRunning!.startTimeUnixNano).toBeLessThanOrEqual(waitRunning!.endTimeUnixNano);
    expect(waitRunning!.startTimeUnixNano).toBeGreaterThanOrEqual(createCall!.startTimeUnixNano);
    expect(ipInCidr(pod.status!.podIP!, sim.world.vSwitches.find((v) => v.id === vSwitchId)!.cidr)).toBe(true);
    // Every span of the trace belongs to this pod's provisioning; none is an orphan.
    const ids = new Set(inTrace.map((s) => s.spanId));
    for (const s of inTrace) if (s !== admission) expect(ids.has(s.parentSpanId ?? '')).toBe(true);
  });

  it('a pod that bypassed the webhook gets a trace started by the provider, recorded on the pod', async () => {
    const plain = await createNamespace({});
    const { core } = apis();
    await core.createNamespacedSecret({ namespace: plain, body: { metadata: { name: 'db' }, stringData: { password: SECRET_DATA } } });
    await core.createNamespacedPod({ namespace: plain, body: podManifest('untraced', { app: 'other' }, 'db') });
    const p = await runningPod(plain, 'untraced');
    const uid = p.metadata!.uid!;
    const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === SPAN.podWaitRunning && s.attributes[ATTR.podUid] === uid), 30_000);
    expect(spans.some((s) => s.name === SPAN.admission && s.attributes[ATTR.podName] === 'untraced')).toBe(false);
    const root = spans.find((s) => s.name === SPAN.podProvision && s.attributes[ATTR.podUid] === uid && s.parentSpanId === undefined);
    expect(root).toBeDefined();
    expect(p.metadata!.annotations![TRACE_CONTEXT_ANNOTATION]).toBe(`00-${root!.traceId}-${root!.spanId}-01`);
    const waitRunning = spans.find((s) => s.name === SPAN.podWaitRunning && s.attributes[ATTR.podUid] === uid)!;
    expect(waitRunning.traceId).toBe(root!.traceId);
    expect(waitRunning.attributes[ATTR.vSwitchId]).toBe(p.metadata!.annotations!['eci-virtual-node.io/vswitch-id']);
  });

  it('shows the counts that happened in the metrics scraped over HTTP', async () => {
    expect(provider.metrics).toBeDefined();
    const response = await fetchText(`${provider.metrics!.url}/metrics`);
    expect(response.status).toBe(200);
    const text = response.text;
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? NaN : Number(line.slice(series.length + 1));
    };
    const creates = 2; // the two pods above
    expect(value('eci_vn_cloud_calls_total{action="CreateContainerGroup",code="OK"}')).toBeGreaterThanOrEqual(creates);
    expect(value('eci_vn_cloud_call_duration_seconds_count{action="CreateContainerGroup"}')).toBeGreaterThanOrEqual(creates);
    expect(value('eci_vn_cloud_throttle_wait_seconds_count{action="DescribeVSwitches"}')).toBeGreaterThanOrEqual(1);
    expect(value('eci_vn_pod_bound_to_running_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(value('eci_vn_pod_sync_duration_seconds_count{result="done"}')).toBeGreaterThanOrEqual(2);
    expect(value('eci_vn_pods{phase="Running"}')).toBeGreaterThanOrEqual(2);
    expect(value('eci_vn_workqueue_depth')).toBeGreaterThanOrEqual(0);
    expect(value(`eci_vn_podnetworking_status{podnetworking="${pnName}",status="Ready"}`)).toBe(1);
    expect(value(`eci_vn_podnetworking_status{podnetworking="${pnName}",status="Fail"}`)).toBe(0);
    const freeH1 = value(`eci_vn_vswitch_free_ips{vswitch="vsw-simh1",zone="${H}"}`);
    expect(freeH1).toBeGreaterThan(0);
  });

  it('explain prints the decision chain of the pod, for people and as JSON', async () => {
    const name = `${ns}/traced`;
    const human = await cli(['explain', name]);
    const annotations = pod.metadata!.annotations!;
    expect(human.stdout).toContain(pnName);
    expect(human.stdout).toContain(annotations['eci-virtual-node.io/vswitch-id']!);
    expect(human.stdout).toContain(annotations['eci-virtual-node.io/vswitch-reason']!);
    expect(human.stdout).toContain(pod.status!.podIP!);
    expect(human.stdout).toContain('sg-simweb');
    expect(human.stdout).toContain(H);
    expect(human.stdout).toContain(traceId);

    const { stdout } = await cli(['explain', name, '--output', 'json']);
    const out = JSON.parse(stdout) as Record<string, unknown> & { network: Record<string, unknown>; cloud: Record<string, unknown>; timings: Record<string, unknown> };
    expect(out).toMatchObject({ pod: { namespace: ns, name: 'traced', uid: pod.metadata!.uid }, traceId });
    expect(out.network).toMatchObject({ podNetworking: pnName, allowedZones: [H], zone: H, vSwitchId: annotations['eci-virtual-node.io/vswitch-id'], securityGroupId: 'sg-simweb', podIP: pod.status!.podIP });
    expect(out.cloud).toMatchObject({ containerGroupId: annotations['k8s.aliyun.com/eci-instance-id'], status: 'Running', vSwitchId: annotations['eci-virtual-node.io/vswitch-id'], intranetIp: pod.status!.podIP, eniId: annotations['eci-virtual-node.io/eni-id'] });
    expect(out.timings).toHaveProperty('created');
    expect(out.timings).toHaveProperty('running');

    await expect(cli(['explain', `${ns}/does-not-exist`])).rejects.toMatchObject({ code: 1 });
  });

  it('whitelist prints the CIDRs of the PodNetworking\'s vSwitches (with free IPs and zones)', async () => {
    const human = await cli(['whitelist', pnName]);
    const cidrs = ['vsw-simh1', 'vsw-simh2'].map((id) => sim.world.vSwitches.find((v) => v.id === id)!.cidr);
    for (const cidr of cidrs) expect(human.stdout).toContain(cidr);
    const { stdout } = await cli(['whitelist', pnName, '--output', 'json']);
    const out = JSON.parse(stdout) as { podNetworking: string; cidrs: string[]; vSwitches: { id: string; cidr: string; zone: string; freeIps: number }[] };
    expect(out.podNetworking).toBe(pnName);
    expect([...out.cidrs].sort()).toEqual([...cidrs].sort());
    expect(out.vSwitches.map((v) => v.zone)).toEqual([H, H]);
    for (const v of out.vSwitches) expect(v.freeIps).toBeGreaterThan(0);
    // The pod's IP is inside what the whitelist lists.
    expect(out.cidrs.some((c) => ipInCidr(pod.status!.podIP!, c))).toBe(true);
  });

  it('deletion is a trace of its own, linked to the provisioning trace', async () => {
    const uid = pod.metadata!.uid!;
    await apis().core.deleteNamespacedPod({ namespace: ns, name: 'traced' });
    const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === SPAN.podDelete && s.attributes[ATTR.podUid] === uid && s.attributes[ATTR.syncPlan] === 'delete-group'), 30_000);
    const del = spans.find((s) => s.name === SPAN.podDelete && s.attributes[ATTR.podUid] === uid && s.attributes[ATTR.syncPlan] === 'delete-group')!;
    expect(del.traceId).not.toBe(traceId);
    expect(del.parentSpanId).toBeUndefined();
    expect(del.links.map((l) => l.traceId)).toContain(traceId);
    expect(spans.some((s) => s.name === 'cloud.DeleteContainerGroup' && s.parentSpanId === del.spanId)).toBe(true);
  });

  it('never exports, logs or records the AccessKey secret or Secret data', async () => {
    await tracing.forceFlush();
    const spans = json(receiver.spans());
    expect(spans.length).toBeGreaterThan(1000);
    expect(spans).not.toContain(ACCESS_KEY.secret);
    expect(spans).not.toContain(SECRET_DATA);
    const lines = logs.lines.join('\n');
    expect(lines).toContain('created container group');
    expect(lines).toMatch(/"trace_id":"[0-9a-f]{32}"/);
    expect(lines).not.toContain(ACCESS_KEY.secret);
    expect(lines).not.toContain(SECRET_DATA);
    for (const namespace of namespaces) {
      const events = json((await apis().core.listNamespacedEvent({ namespace })).items);
      expect(events).not.toContain(ACCESS_KEY.secret);
      expect(events).not.toContain(SECRET_DATA);
    }
  });
});
