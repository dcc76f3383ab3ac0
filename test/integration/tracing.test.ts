// Telemetry end to end on the real control plane, the real scheduler and the simulator: one trace
// per pod from the admission webhook to Running (received by a real OTLP/gRPC receiver), the
// network decision and the cloud calls as its spans, deletion as a trace of its own, Prometheus
// metrics scraped over HTTP, and a known fake AccessKey secret and Secret data found nowhere in
// spans, logs or events. Then `explain` and `whitelist` run as child processes on the real pod.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { PROVISIONED_CONDITION } from '../../provider/pods/annotations.ts';
import { MAX_WAIT_EVENTS } from '../../provider/pods/sync.ts';
import { parseTraceparent } from '../../provider/telemetry/context.ts';
import { ATTR, SPAN, SPAN_EVENT, TRACE_CONTEXT_ANNOTATION } from '../../provider/telemetry/names.ts';
import { freeLoopbackPorts } from '../controlplane/ports.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { apis, ignoreNotFound, kubeConfig, uniqueName } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { deleteNodes, ipInCidr, memoryLogger, runCommand, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { waitFor } from './helpers/wait.ts';
import { apiClient, budget, fetchText, podsBudget, withDeadline } from '../helpers/deadline.ts';

const { group, version, plural } = PODNETWORKING_API;
const H = 'cn-hangzhou-h';
const suffix = uniqueName('tr').slice(3);
const webhookConfigName = `eci-vn-it-tracing-${suffix}`;
const pnName = `pn-trace-${suffix}`;
const waitPnName = `pn-wait-${suffix}`;
const TINY = 'vsw-simtinyh';
const WAIT_RETRY_MS = 250;
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

/** `parent > child` span-name edges of a trace: its shape, compared with docs/telemetry.md's tree. */
const seenEdges = new Set<string>();
function treeEdges(trace: ReceivedSpan[]): string[] {
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  return trace.filter((s) => s.parentSpanId !== undefined).map((s) => `${byId.get(s.parentSpanId!)?.name ?? '?'} > ${s.name}`);
}

const INSTANT = new Set<string>([SPAN.zoneConstrain, SPAN.securityGroupChoose, SPAN.podNetworkingMatch]);

/** One root; every other span has its parent in the trace and lies inside it; durations at sub-ms resolution. */
function expectWellFormed(trace: ReceivedSpan[], root: ReceivedSpan): void {
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  for (const s of trace) {
    if (s === root) continue;
    const parent = byId.get(s.parentSpanId ?? '');
    expect(parent, `parent of ${s.name}`).toBeDefined();
    expect(s.startTimeUnixNano, `${s.name} starts inside ${parent!.name}`).toBeGreaterThanOrEqual(parent!.startTimeUnixNano);
    expect(s.endTimeUnixNano, `${s.name} ends inside ${parent!.name}`).toBeLessThanOrEqual(parent!.endTimeUnixNano);
    // Pure decisions may take under the clock's resolution; anything that waits on I/O takes time.
    if (INSTANT.has(s.name)) expect(s.endTimeUnixNano, `${s.name} ends after it starts`).toBeGreaterThanOrEqual(s.startTimeUnixNano);
    else expect(s.endTimeUnixNano, `${s.name} ends after it starts`).toBeGreaterThan(s.startTimeUnixNano);
  }
  // Not truncated to whole milliseconds (a few may land on one by chance; not most).
  const whole = trace.filter((s) => s.startTimeUnixNano % 1_000_000n === 0n && s.endTimeUnixNano % 1_000_000n === 0n);
  expect(whole.length, `spans at whole ms: ${whole.map((s) => s.name).join(', ')}`).toBeLessThanOrEqual(1);
}
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

/** The value of one series in the provider's /metrics (NaN when absent). */
async function scrape(series: string): Promise<number> {
  const { text } = await fetchText(`${provider.metrics!.url}/metrics`);
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

/** The `parent > child` edges of the span tree drawn in docs/telemetry.md under `<!-- span-tree:provisioning -->`. */
async function documentedEdges(): Promise<Set<string>> {
  const doc = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'telemetry.md'), 'utf8');
  const after = doc.slice(doc.indexOf('<!-- span-tree:provisioning -->'));
  const start = after.indexOf('```text\n') + 8;
  const block = after.slice(start, after.indexOf('\n```', start));
  const edges = new Set<string>();
  const stack: string[] = [];
  for (const line of block.split('\n')) {
    const m = /^([│├└─ ]*)([A-Za-z][\w.]*)/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    if (depth > 0) edges.add(`${stack[depth - 1]} > ${m[2]}`);
    stack.push(m[2]!);
  }
  return edges;
}

const cli = (args: string[]) => runCommand(sim, config, args);

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = await startTracing({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'eci-virtual-node-it' },
    secrets: [ACCESS_KEY.secret],
    log: logs.log,
  });
  expect(tracing.enabled).toBe(true);

  await installPodNetworkingCrd();
  // A tiny vSwitch (4 usable IPs) in zone h, for the pod that waits for IPs.
  const tinyH = { id: TINY, name: 'tiny-h', vpcId: 'vpc-simmain', zoneId: H, cidr: '10.0.11.0/29' };
  sim = await startCloudSim({ world: await testWorld({ accessKeys: [ACCESS_KEY] }, { vSwitches: [tinyH] }), log: () => {} });
  config = testConfig(sim);
  // A waiting pod is retried often, so the bound on its spans shows in seconds, not minutes.
  config.sync.waitRetryMs = WAIT_RETRY_MS;
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
  for (const name of [pnName, waitPnName]) await custom().deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
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

    const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === SPAN.podProvision && s.attributes[ATTR.podUid] === uid), 30_000);
    // The root covers the whole provisioning; the traceparent on the pod names it.
    const roots = spans.filter((s) => s.name === SPAN.podProvision && s.attributes[ATTR.podUid] === uid);
    expect(roots).toHaveLength(1);
    const root = roots[0]!;
    traceId = root.traceId;
    expect(root.parentSpanId).toBeUndefined();
    expect(annotations[TRACE_CONTEXT_ANNOTATION]).toBe(`00-${traceId}-${root.spanId}-01`);
    expect(root.resource['service.name']).toBe('eci-virtual-node-it');
    expect(root.status.code).toBe('UNSET');
    const inTrace = spans.filter((s) => s.traceId === traceId);
    const childrenOf = (parent: ReceivedSpan, name: string) => inTrace.filter((s) => s.parentSpanId === parent.spanId && s.name === name);

    // The webhook's span: the root's first child, with the HTTP server conventions.
    const [admission, ...moreAdmissions] = childrenOf(root, SPAN.admission);
    expect(moreAdmissions).toHaveLength(0);
    expect(admission!.kind).toBe(2); // SERVER
    expect(admission!.attributes).toMatchObject({
      [ATTR.podName]: 'traced',
      [ATTR.namespaceName]: ns,
      [ATTR.admissionPatched]: true,
      [ATTR.httpRequestMethod]: 'POST',
      [ATTR.httpRoute]: '/mutate-pods',
      [ATTR.httpStatusCode]: 200,
      [ATTR.serverAddress]: '127.0.0.1',
      [ATTR.serverPort]: config.webhook.port,
    });
    expect(admission!.startTimeUnixNano).toBe(root.startTimeUnixNano);
    const [admitMatch] = childrenOf(admission!, SPAN.podNetworkingMatch);
    expect(admitMatch?.attributes[ATTR.podNetworkingName]).toBe(pnName);
    expect(admitMatch?.attributes[ATTR.podNetworkingCandidates]).toContain(pnName);
    expect(admitMatch?.attributes[ATTR.podNetworkingMatchedTerms]).toEqual([`podSelector app=traced-${suffix}`]);
    const [admitZones] = childrenOf(admission!, SPAN.zoneConstrain);
    expect(admitZones?.attributes[ATTR.zonesAllowed]).toEqual([H]);
    expect(admitZones?.attributes[ATTR.zonesConstrained]).toBe(true);

    // Scheduling: admission -> bound, with the node and the bind time.
    const [schedule] = childrenOf(root, SPAN.podSchedule);
    expect(schedule?.attributes).toMatchObject({ [ATTR.nodeName]: pod.spec!.nodeName, [ATTR.podUid]: uid });
    expect(Math.abs(Date.parse(schedule!.attributes[ATTR.boundAt] as string) - Number(schedule!.endTimeUnixNano / 1_000_000n))).toBeLessThanOrEqual(1);

    // One create attempt (the pod did not wait), with the network decision under it.
    const creates = childrenOf(root, SPAN.podCreate);
    expect(creates).toHaveLength(1);
    const created = creates[0]!;
    const vSwitchId = annotations['eci-virtual-node.io/vswitch-id']!;
    const cidr = sim.world.vSwitches.find((v) => v.id === vSwitchId)!.cidr;
    const nodeZone = pod.spec!.nodeName!.slice(config.node.namePrefix.length + 1);
    expect(nodeZone).toBe(H);
    expect(created.attributes).toMatchObject({
      [ATTR.podNetworkingName]: pnName,
      [ATTR.vSwitchId]: vSwitchId,
      [ATTR.vSwitchCidr]: cidr,
      [ATTR.securityGroupId]: 'sg-simweb',
      [ATTR.cloudAvailabilityZone]: H,
      [ATTR.containerGroupId]: annotations['k8s.aliyun.com/eci-instance-id'],
      [ATTR.nodeName]: pod.spec!.nodeName,
      // The create pass comes back to look at its new group by id (start-look.ts): a requeue.
      [ATTR.syncResult]: 'requeue',
    });
    const [syncMatch] = childrenOf(created, SPAN.podNetworkingMatch);
    expect(syncMatch?.attributes).toMatchObject({ [ATTR.podNetworkingName]: pnName, [ATTR.podNetworkingStatus]: 'Ready', [ATTR.podNetworkingMatchedTerms]: [`podSelector app=traced-${suffix}`] });
    const [syncZone] = childrenOf(created, SPAN.zoneConstrain);
    expect(syncZone?.attributes).toMatchObject({ [ATTR.cloudAvailabilityZone]: H, [ATTR.zonesAllowed]: [H], [ATTR.zoneAllowed]: true });
    const [choose] = childrenOf(created, SPAN.vSwitchChoose);
    expect(choose?.attributes).toMatchObject({ [ATTR.vSwitchId]: vSwitchId, [ATTR.vSwitchCidr]: cidr, [ATTR.vSwitchPolicy]: 'most' });
    // Candidates: the zone's only, each with its CIDR and free IPs.
    const candidates = choose!.attributes[ATTR.vSwitchCandidates] as string[];
    expect(candidates.map((c) => c.split(' ')[0]).sort()).toEqual(['vsw-simh1', 'vsw-simh2']);
    for (const c of candidates) expect(c).toMatch(/^vsw-simh[12] 10\.0\.1\.(0|64)\/26 free=\d+$/);
    expect(choose!.attributes[ATTR.vSwitchReason]).toBe(annotations['eci-virtual-node.io/vswitch-reason']);
    expect(typeof choose!.attributes[ATTR.vSwitchFreeIps]).toBe('number');
    const [sg] = childrenOf(created, SPAN.securityGroupChoose);
    expect(sg?.attributes).toMatchObject({ [ATTR.securityGroupId]: 'sg-simweb', [ATTR.securityGroupCandidates]: ['sg-simweb', 'sg-simdefault'] });

    // Each cloud call is a CLIENT child of the span that made it, with the RPC/HTTP client conventions.
    const [createCall] = childrenOf(created, 'cloud.CreateContainerGroup');
    expect(createCall?.kind).toBe(3);
    expect(createCall?.attributes).toMatchObject({
      [ATTR.rpcSystem]: 'alibaba_cloud_openapi',
      [ATTR.rpcService]: 'ECI',
      [ATTR.rpcMethod]: 'CreateContainerGroup',
      [ATTR.serverAddress]: '127.0.0.1',
      [ATTR.serverPort]: sim.port,
      [ATTR.httpRequestMethod]: 'POST',
      [ATTR.httpStatusCode]: 200,
      [ATTR.cloudAction]: 'CreateContainerGroup',
      [ATTR.cloudAttempt]: 1,
      [ATTR.cloudProvider]: 'alibaba_cloud',
    });
    expect(createCall?.attributes[ATTR.errorType]).toBeUndefined();
    expect(createCall?.attributes[ATTR.cloudRequestId]).toEqual(expect.any(String));
    expect(typeof createCall?.attributes[ATTR.cloudThrottleWaitMs]).toBe('number');
    const lookups = inTrace.filter((s) => s.name === 'cloud.DescribeVSwitches');
    for (const lookup of lookups) {
      expect(lookup.parentSpanId).toBe(choose!.spanId);
      expect(lookup.attributes).toMatchObject({ [ATTR.rpcService]: 'VPC', [ATTR.rpcMethod]: 'DescribeVSwitches', [ATTR.httpStatusCode]: 200 });
    }

    // Status patches and the wait for Running, under the root; IP and vSwitch match the pod.
    const patches = childrenOf(root, SPAN.podStatusPatch).filter((s) => s.attributes[ATTR.podUid] === uid);
    expect(patches.some((s) => s.attributes[ATTR.podPhase] === 'Running' && s.attributes[ATTR.podIp] === pod.status!.podIP)).toBe(true);
    const [waitRunning] = childrenOf(root, SPAN.podWaitRunning);
    expect(waitRunning?.attributes).toMatchObject({
      [ATTR.podIp]: pod.status!.podIP,
      [ATTR.vSwitchId]: vSwitchId,
      [ATTR.cloudAvailabilityZone]: H,
      [ATTR.securityGroupId]: 'sg-simweb',
      [ATTR.podPhase]: 'Running',
    });
    expect(waitRunning!.attributes[ATTR.eniId]).toBe(annotations['eci-virtual-node.io/eni-id']);
    expect(waitRunning!.startTimeUnixNano).toBeGreaterThanOrEqual(createCall!.startTimeUnixNano);
    expect(root.attributes).toMatchObject({ [ATTR.podIp]: pod.status!.podIP, [ATTR.vSwitchId]: vSwitchId, [ATTR.containerGroupId]: annotations['k8s.aliyun.com/eci-instance-id'], [ATTR.syncResult]: 'done' });
    expect(childrenOf(root, SPAN.podWait)).toHaveLength(0);
    expect(ipInCidr(pod.status!.podIP!, cidr)).toBe(true);

    expectWellFormed(inTrace, root);
    treeEdges(inTrace).forEach((e) => seenEdges.add(e));

    // The step timings rode on the writes the provider made anyway; Ready carries no stale reason.
    const timings = JSON.parse(annotations['eci-virtual-node.io/provision-timings']!) as Record<string, number>;
    expect(Object.keys(timings).sort()).toEqual(['admitted', 'bound', 'createStarted', 'created', 'networkChosen', 'running'].sort());
    expect(timings.admitted).toBeLessThan(timings.bound!);
    expect(timings.created).toBeLessThan(timings.running!);
    for (const type of ['Ready', 'ContainersReady']) {
      const c = pod.status!.conditions!.find((x) => x.type === type)!;
      expect(c.status).toBe('True');
      expect(c.reason).toBeUndefined();
      expect(c.message).toBeUndefined();
    }
  });

  it('a pod that bypassed the webhook gets a trace started by the provider, recorded on the pod', async () => {
    const plain = await createNamespace({});
    const { core } = apis();
    await core.createNamespacedSecret({ namespace: plain, body: { metadata: { name: 'db' }, stringData: { password: SECRET_DATA } } });
    await core.createNamespacedPod({ namespace: plain, body: podManifest('untraced', { app: 'other' }, 'db') });
    const p = await runningPod(plain, 'untraced');
    const uid = p.metadata!.uid!;
    const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === SPAN.podProvision && s.attributes[ATTR.podUid] === uid), 30_000);
    expect(spans.some((s) => s.name === SPAN.admission && s.attributes[ATTR.podName] === 'untraced')).toBe(false);
    const root = spans.find((s) => s.name === SPAN.podProvision && s.attributes[ATTR.podUid] === uid && s.parentSpanId === undefined);
    expect(root).toBeDefined();
    expect(p.metadata!.annotations![TRACE_CONTEXT_ANNOTATION]).toBe(`00-${root!.traceId}-${root!.spanId}-01`);
    const waitRunning = spans.find((s) => s.name === SPAN.podWaitRunning && s.attributes[ATTR.podUid] === uid)!;
    expect(waitRunning.traceId).toBe(root!.traceId);
    expect(waitRunning.attributes[ATTR.vSwitchId]).toBe(p.metadata!.annotations!['eci-virtual-node.io/vswitch-id']);
    expectWellFormed(spans.filter((s) => s.traceId === root!.traceId), root!);
  });

  it('a pod waiting for IPs is ONE pod.wait span with bounded retry events, however many retries', async () => {
    await custom().createClusterCustomObject({
      group,
      version,
      plural,
      body: {
        apiVersion: PODNETWORKING_API.apiVersion,
        kind: 'PodNetworking',
        metadata: { name: waitPnName },
        spec: { selector: { podSelector: { matchLabels: { app: `waiter-${suffix}` } } }, securityGroupIDs: ['sg-simweb'], vSwitchOptions: [TINY] },
      },
    });
    await waitFor(async () => ((await custom().getClusterCustomObject({ group, version, plural, name: waitPnName })) as PodNetworking).status?.status === 'Ready', {
      timeoutMs: budget({ baseMs: 60_000 }),
      describe: `PodNetworking ${waitPnName} Ready`,
    });
    // Other tenants hold every IP of the vSwitch.
    const pool = sim.cloud.pools.get(TINY)!;
    const taken: string[] = [];
    for (let ip = pool.allocate(); ip !== undefined; ip = pool.allocate()) taken.push(ip);
    expect(taken).toHaveLength(4);

    const { core } = apis();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db-w' }, stringData: { password: SECRET_DATA } } });
    await core.createNamespacedPod({ namespace: ns, body: podManifest('waiter', { app: `waiter-${suffix}` }, 'db-w') });
    const read = () => core.readNamespacedPod({ namespace: ns, name: 'waiter' });
    const waiting = await waitFor(
      async () => {
        const p = await read();
        return p.status?.conditions?.some((c) => c.type === PROVISIONED_CONDITION && c.reason === 'VSwitchesExhausted') ? p : undefined;
      },
      { timeoutMs: podsBudget(1), describe: async () => `pod waiter waiting with VSwitchesExhausted; is ${json((await read()).status)}` },
    );
    const waitTrace = parseTraceparent(waiting.metadata!.annotations![TRACE_CONTEXT_ANNOTATION])!.traceId;

    // Each retry looks the vSwitch up again: count them through the metrics, well past the events' cap.
    const lookups = 'eci_vn_cloud_calls_total{action="DescribeVSwitches",code="OK"}';
    const before = await scrape(lookups);
    const retries = 3 * MAX_WAIT_EVENTS;
    await waitFor(async () => ((await scrape(lookups)) - before >= retries ? true : undefined), {
      timeoutMs: budget({ baseMs: retries * WAIT_RETRY_MS * 4 + 30_000 }),
      describe: async () => `${retries} retries of the waiting pod (DescribeVSwitches calls); saw ${(await scrape(lookups)) - before}`,
    });
    // While it waits, its trace holds a handful of spans, not one per retry.
    await tracing.forceFlush();
    const during = receiver.spans().filter((s) => s.traceId === waitTrace);
    expect(during.length, json(during.map((s) => s.name))).toBeLessThanOrEqual(15);

    // The IPs come back: the pod runs, and its wait is ONE span.
    for (const ip of taken) pool.release(ip);
    const p = await runningPod(ns, 'waiter');
    const uid = p.metadata!.uid!;
    const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === SPAN.podProvision && s.attributes[ATTR.podUid] === uid), 30_000);
    const inTrace = spans.filter((s) => s.traceId === waitTrace);
    const root = inTrace.find((s) => s.name === SPAN.podProvision)!;
    expect(root.parentSpanId).toBeUndefined();
    const children = (name: string) => inTrace.filter((s) => s.parentSpanId === root.spanId && s.name === name);
    const waits = children(SPAN.podWait);
    expect(waits).toHaveLength(1);
    const wait = waits[0]!;
    expect(wait.attributes).toMatchObject({ [ATTR.waitReason]: 'VSwitchesExhausted', [ATTR.podUid]: uid });
    expect(wait.attributes[ATTR.waitMessage]).toContain(TINY);
    expect(wait.attributes[ATTR.waitRetries] as number).toBeGreaterThan(MAX_WAIT_EVENTS);
    expect(wait.events).toHaveLength(MAX_WAIT_EVENTS);
    for (const e of wait.events) expect(e).toMatchObject({ name: SPAN_EVENT.waitRetry, attributes: { [ATTR.waitReason]: 'VSwitchesExhausted' } });
    expect(wait.status.code).toBe('UNSET');
    // The first attempt and the one that ended the wait; nothing per retry.
    const creates = children(SPAN.podCreate);
    expect(creates).toHaveLength(2);
    expect(creates.filter((c) => c.attributes[ATTR.containerGroupId] !== undefined)).toHaveLength(1);
    expect(creates[0]!.attributes[ATTR.waitReason] ?? creates[1]!.attributes[ATTR.waitReason]).toBe('VSwitchesExhausted');
    expect(inTrace.length, json(inTrace.map((s) => s.name))).toBeLessThanOrEqual(40);
    expectWellFormed(inTrace, root);
    expect(wait.endTimeUnixNano).toBeLessThanOrEqual(creates.find((c) => c.attributes[ATTR.containerGroupId] !== undefined)!.startTimeUnixNano);
    treeEdges(inTrace).forEach((e) => seenEdges.add(e));
    const timings = JSON.parse(p.metadata!.annotations!['eci-virtual-node.io/provision-timings']!) as Record<string, number>;
    expect(timings.waitedMs).toBeGreaterThan(retries * WAIT_RETRY_MS * 0.5);
  });

  it('docs/telemetry.md draws the span tree the receiver got', async () => {
    const documented = await documentedEdges();
    expect(documented.size).toBeGreaterThan(10);
    // Every edge seen is drawn; every edge drawn was seen (the lookup only shows when its cache is stale).
    expect([...seenEdges].filter((e) => !documented.has(e))).toEqual([]);
    expect([...documented].filter((e) => !seenEdges.has(e) && e !== `${SPAN.vSwitchChoose} > cloud.DescribeVSwitches`)).toEqual([]);
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

    // OpenMetrics: the bound->Running and CreateContainerGroup histograms link to the pod's trace.
    const open = await fetch(`${provider.metrics!.url}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' }, signal: AbortSignal.timeout(budget({ baseMs: 10_000 })) });
    const openText = await open.text();
    const exemplars = (metric: string) => openText.split('\n').filter((l) => l.startsWith(`${metric}_bucket`)).flatMap((l) => /# \{trace_id="([0-9a-f]{32})"\}/.exec(l)?.slice(1) ?? []);
    expect(exemplars('eci_vn_pod_bound_to_running_seconds').length).toBeGreaterThan(0);
    expect(exemplars('eci_vn_cloud_call_duration_seconds').length).toBeGreaterThan(0);
    const traces = new Set(receiver.spans().map((s) => s.traceId));
    for (const id of [...exemplars('eci_vn_pod_bound_to_running_seconds'), ...exemplars('eci_vn_cloud_call_duration_seconds')]) expect(traces.has(id)).toBe(true);
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
    // The matching selector terms, the CIDR, and the steps in milliseconds from the pod's own record.
    expect(human.stdout).toContain(`podSelector app=traced-${suffix}`);
    expect(human.stdout).toContain(sim.world.vSwitches.find((v) => v.id === annotations['eci-virtual-node.io/vswitch-id'])!.cidr);
    expect(human.stdout).toMatch(/Steps \(ms, recorded on the pod\)/);
    expect(human.stdout).toMatch(/total \(admission -> Running\)\s+\d+\.\d ms/);

    const { stdout } = await cli(['explain', name, '--output', 'json']);
    const out = JSON.parse(stdout) as Record<string, unknown> & { network: Record<string, unknown>; cloud: Record<string, unknown>; timings: Record<string, unknown> };
    expect(out).toMatchObject({ pod: { namespace: ns, name: 'traced', uid: pod.metadata!.uid }, traceId });
    expect(out.network).toMatchObject({ podNetworking: pnName, allowedZones: [H], zone: H, vSwitchId: annotations['eci-virtual-node.io/vswitch-id'], securityGroupId: 'sg-simweb', podIP: pod.status!.podIP });
    expect(out.cloud).toMatchObject({ containerGroupId: annotations['k8s.aliyun.com/eci-instance-id'], status: 'Running', vSwitchId: annotations['eci-virtual-node.io/vswitch-id'], intranetIp: pod.status!.podIP, eniId: annotations['eci-virtual-node.io/eni-id'] });
    expect(out.timings).toHaveProperty('created');
    expect(out.timings).toHaveProperty('running');
    const steps = out.steps as { step: string; ms: number }[];
    expect(steps.map((x) => x.step)).toEqual(expect.arrayContaining(['scheduling (admission -> bound)', 'network choice', 'CreateContainerGroup', 'ECI start (created -> Running)', 'total (admission -> Running)']));
    const total = steps.find((x) => x.step === 'total (admission -> Running)')!.ms;
    for (const x of steps) expect(x.ms).toBeGreaterThanOrEqual(0);
    expect(total).toBeGreaterThan(steps.find((x) => x.step === 'CreateContainerGroup')!.ms);

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
    expect(del.attributes).toMatchObject({ [ATTR.podName]: 'traced', [ATTR.namespaceName]: ns, [ATTR.containerGroupId]: pod.metadata!.annotations!['k8s.aliyun.com/eci-instance-id'] });
    // Then the Pod object goes: another root, linked the same way, with no cloud call of its own.
    const isFinish = (s: ReceivedSpan) => s.name === SPAN.podDelete && s.attributes[ATTR.podUid] === uid && s.attributes[ATTR.syncPlan] === 'finish-deletion';
    const after = await receiver.waitForSpans((all) => all.some(isFinish), podsBudget(1));
    const finish = after.find(isFinish)!;
    expect(finish.parentSpanId).toBeUndefined();
    expect(finish.traceId).not.toBe(del.traceId);
    expect(finish.links.map((l) => l.traceId)).toContain(traceId);
    expect(finish.status.code).toBe('UNSET');
    expect(after.filter((s) => s.traceId === finish.traceId)).toHaveLength(1);
    // The provisioning trace got nothing more: it ended at Running.
    expect(after.filter((s) => s.traceId === traceId && s.name === SPAN.podProvision)).toHaveLength(1);
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
