// The manager's start order and readiness on the real control plane: while the PodNetworking
// cache is held back (its list blocked by the manager's test hook) the webhook answers 500, so
// the apiserver applies failurePolicy (Fail here: the pod is refused rather than admitted as
// unmatched), /readyz is 503 naming the cache, and no leader work (virtual nodes) has started.
// Once the list goes through, both turn good. Then, with the pod caches' lists held, brand-new
// nodes exist but say Ready=False; once the caches synced they turn Ready while the adoption (the
// cloud's listing of existing groups) is still held, a pod bound meanwhile is created only after
// it, and the leader's /readyz names the pod controller until it completes. A restart with running
// pods (its pod caches held across two looks of kube-controller-manager) keeps every node and
// every pod Ready, watched throughout, and creates and deletes nothing. Last, a Lease taken away from the
// leader aborts its in-flight cloud call (the signal reaches the port), the replica stops its
// leader work but keeps serving, and it leads again once the Lease is free.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProvider, type RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from '../../adapters/tls/certificates.ts';
import { buildMutatingWebhookConfiguration } from '../../adapters/webhook/registration.ts';
import { WEBHOOK_NOT_SYNCED } from '../../adapters/webhook/server.ts';
import { GROUP_TAGS } from '../../provider/cloud/model.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { NODE_LABELS } from '../../provider/node/constants.ts';
import type { CloudPort } from '../../provider/ports.ts';
import { freeLoopbackPorts } from '../controlplane/ports.ts';
import { loadReview } from '../unit/admission/fixtures.ts';
import { apis, ignoreNotFound, kubeConfig, uniqueName } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { cloudOf, deleteNodes, memoryLogger, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { waitFor } from './helpers/wait.ts';
import { apiClient, budget, podsBudget, sleep, waitUntil, withDeadline } from '../helpers/deadline.ts';

const suffix = uniqueName('rz').slice(3);
const webhookConfigName = `eci-vn-it-${suffix}`;
const namespace = `rz-${suffix}`;
const { core } = apis();
const registrations = () => apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api);

let sim: CloudSim;
let ca: CertificateAuthority;
let certDir: string;
let webhookPort: number;
let metricsPort: number;
const running: RunningProvider[] = [];
const configs: ProviderConfig[] = [];

function get(url: string, caPem?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, ...(caPem === undefined ? {} : { ca: caPem }), timeout: 3_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 3 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function getHttp(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  return { status: res.status, text: await res.text() };
}

function postReview(body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = request(
      { host: '127.0.0.1', port: webhookPort, path: '/mutate-pods', method: 'POST', agent: false, ca: ca.certPem, timeout: 3_000, headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer from the webhook within 3 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

const readyz = () => get(`https://127.0.0.1:${webhookPort}/readyz`, ca.certPem);

const FAST_NODES = { leaseRenewIntervalMs: 2_000, statusIntervalMs: 5_000, vSwitchRefreshIntervalMs: 2_000 };
/** Pods running through the restart test. */
const RESTART_PODS = 4;
/** kube-controller-manager looks at every node each 5 s (--node-monitor-period): two looks and a margin. */
const NODE_MONITOR_WINDOW_MS = 12_000;
/** A create that is not held back starts within milliseconds of the binding: this gives it ample chance to show. */
const HOLD_BACK_WINDOW_MS = 2_000;

/** A gate held shut until released (once); counts the calls that waited on it. */
function holdable(): { held: Promise<void>; hold: () => Promise<void>; release: () => void; count: number } {
  let open: () => void = () => {};
  const held = new Promise<void>((r) => (open = r));
  const gate = {
    held,
    count: 0,
    release: () => open(),
    hold: () => {
      gate.count++;
      return held;
    },
  };
  return gate;
}

interface ReadyCondition {
  type: string;
  status: string;
  reason?: string;
  lastHeartbeatTime?: Date | string;
}
interface WithConditions {
  metadata?: k8s.V1ObjectMeta;
  /** A node's spec has taints; a pod's has none. */
  spec?: unknown;
  status?: { conditions?: ReadyCondition[] };
}
/** What kube-controller-manager puts on a node that is not Ready (NoSchedule at once, NoExecute: the eviction clock). */
const NOT_READY_TAINTS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];
const notReadyTaints = (obj: WithConditions): string[] => ((obj.spec as { taints?: { key: string; effect: string }[] } | undefined)?.taints ?? []).filter((t) => NOT_READY_TAINTS.includes(t.key)).map((t) => `${t.key}:${t.effect}`);
interface ReadyWatch {
  /** Each object's Ready condition as last seen. */
  latest: Map<string, { status?: string; reason?: string; heartbeat?: Date | string }>;
  /** Every sighting of a Ready condition other than True, of a not-ready taint, and every deletion, in order. */
  notReady: string[];
  /** Set when the watch ended before stop(): sightings may be missing. */
  ended: string | undefined;
  stop: () => void;
}

/** Lists, then watches from the list's resourceVersion: every write to the objects' Ready condition is seen. */
async function watchReady(path: string, labelSelector: string, list: () => Promise<{ metadata?: k8s.V1ListMeta; items: WithConditions[] }>): Promise<ReadyWatch> {
  const w: ReadyWatch = { latest: new Map(), notReady: [], ended: undefined, stop: () => {} };
  let stopped = false;
  const see = (obj: WithConditions, how: string): void => {
    const name = obj.metadata?.name ?? '?';
    const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
    w.latest.set(name, { ...(ready === undefined ? {} : { status: ready.status, reason: ready.reason ?? '', heartbeat: ready.lastHeartbeatTime ?? '' }) });
    if (ready?.status !== 'True') w.notReady.push(`${how} ${name}: Ready=${ready?.status ?? 'absent'} (${ready?.reason ?? ''})`);
    for (const taint of notReadyTaints(obj)) w.notReady.push(`${how} ${name}: taint ${taint}`);
  };
  const listed = await list();
  for (const item of listed.items) see(item, 'listed');
  const controller = await withDeadline(
    new k8s.Watch(kubeConfig()).watch(
      path,
      { labelSelector, resourceVersion: listed.metadata?.resourceVersion },
      (type: string, obj: WithConditions) => {
        if (type === 'DELETED') w.notReady.push(`DELETED ${obj.metadata?.name ?? '?'}`);
        else if (type === 'ADDED' || type === 'MODIFIED') see(obj, type);
      },
      (err: unknown) => {
        if (!stopped) w.ended = `the watch of ${path} ended: ${String(err)}`;
      },
    ),
    budget({ baseMs: 30_000 }),
    `a watch of ${path}`,
  );
  w.stop = () => {
    stopped = true;
    controller.abort();
  };
  return w;
}

function podBody(name: string): k8s.V1Pod {
  return { metadata: { name, namespace, labels: { app: 'rz' } }, spec: { containers: [{ name: 'main', image: 'nginx' }] } };
}

/** The apiserver's answer to a pod create: 'created' or the error text. */
async function createPod(name: string): Promise<string> {
  try {
    await core.createNamespacedPod({ namespace, body: podBody(name) });
    return 'created';
  } catch (err) {
    const e = err as { code?: number; body?: unknown; message: string };
    return `${e.code ?? '?'} ${typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? e.message)}`;
  }
}

async function nodesOf(config: ProviderConfig): Promise<k8s.V1Node[]> {
  return (await core.listNode({ labelSelector: `${NODE_LABELS.cluster}=${config.clusterId}` })).items;
}

/** Both tests use the same ports: stop what an earlier (maybe failed) test left running. */
async function stopRunning(): Promise<void> {
  for (const p of running.splice(0)) await withDeadline(p.stop(), budget({ baseMs: 30_000 }), 'an in-process provider to stop');
}

function providerConfig(): ProviderConfig {
  const config = testConfig(sim);
  config.webhook = { port: webhookPort, host: '127.0.0.1', certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key'), serverless: false };
  config.metrics = { port: metricsPort, host: '127.0.0.1' };
  configs.push(config);
  return config;
}

beforeAll(async () => {
  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await testWorld(), log: () => {} });
  ca = await createCertificateAuthority({ commonName: 'eci-vn-it-readiness-ca' });
  const serving = await issueCertificate({ ca, commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  certDir = await mkdtemp(join(tmpdir(), 'eci-vn-readiness-'));
  await writeFile(join(certDir, 'tls.crt'), serving.certPem);
  await writeFile(join(certDir, 'tls.key'), serving.keyPem);
  [webhookPort, metricsPort] = (await freeLoopbackPorts(2)) as [number, number];
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'eci-vn-it/webhook': suffix } } } });
  // Pods are refused ("serviceaccount default not found") until the controller-manager made it.
  await waitUntil(() => core.readNamespacedServiceAccount({ name: 'default', namespace }).then(() => true), {
    timeoutMs: budget({ baseMs: 60_000 }),
    what: `the default ServiceAccount of namespace ${namespace}`,
  });
  const registration = buildMutatingWebhookConfiguration({
    name: webhookConfigName,
    caBundle: Buffer.from(ca.certPem).toString('base64'),
    url: `https://127.0.0.1:${webhookPort}/mutate-pods`,
    // Fail: a webhook that is not ready must keep pods out, not let them in unmatched.
    failurePolicy: 'Fail',
  });
  for (const hook of registration.webhooks ?? []) hook.namespaceSelector = { matchLabels: { 'eci-vn-it/webhook': suffix } };
  await registrations().createMutatingWebhookConfiguration({ body: registration });
}, 120_000);

afterAll(async () => {
  await registrations().deleteMutatingWebhookConfiguration({ name: webhookConfigName }).catch(ignoreNotFound);
  for (const p of running) await withDeadline(p.stop(), budget({ baseMs: 30_000 }), 'an in-process provider to stop');
  await core.deleteNamespace({ name: namespace }).catch(ignoreNotFound);
  for (const config of configs) await deleteNodes(config);
  await sim?.stop();
  if (certDir) await rm(certDir, { recursive: true, force: true });
}, 120_000);

describe('manager start order and readiness', () => {
  it('answers 500 and /readyz 503 while the PodNetworking list is held back, starts no leader work, then both turn good', async () => {
    await stopRunning();
    const config = providerConfig();
    const logs = memoryLogger();
    let listsHeld = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const starting = startProvider({
      config,
      log: logs.log,
      nodeTiming: { leaseRenewIntervalMs: 2_000, statusIntervalMs: 5_000, vSwitchRefreshIntervalMs: 2_000 },
      listGate: async (informer) => {
        if (informer !== 'podnetworkings') return;
        listsHeld++;
        await held;
      },
    });
    let settled: RunningProvider | Error | undefined;
    starting.then(
      (p) => (running.push(p), (settled = p)),
      (err: unknown) => (settled = err as Error),
    );
    try {
      const notReady = await waitFor(
        async () => {
          const r = await readyz();
          return r.status === 503 && listsHeld > 0 ? r : undefined;
        },
        { timeoutMs: budget({ baseMs: 60_000 }), describe: 'the webhook /readyz to answer 503 while the PodNetworking list is held' },
      );
      expect(notReady.text).toContain('[-]informer-podnetworkings failed');
      expect(notReady.text).toContain('[+]informer-namespaces ok');
      // The same answer on the metrics port; liveness is not affected.
      const metricsReady = await getHttp(`http://127.0.0.1:${metricsPort}/readyz`);
      expect([metricsReady.status, metricsReady.text]).toEqual([503, notReady.text]);
      expect((await get(`https://127.0.0.1:${webhookPort}/healthz`, ca.certPem)).status).toBe(200);

      // The webhook refuses to decide on an empty cache: 500 with the reason...
      const review = await postReview(loadReview('pod-create'));
      expect(review.status).toBe(500);
      expect(review.text).toContain(WEBHOOK_NOT_SYNCED);
      expect(review.text).toContain('podnetworkings');
      // ...so the apiserver applies failurePolicy (Fail): the pod is refused, not admitted unmatched.
      const refused = await createPod('while-unsynced');
      expect(refused).toMatch(/^500 .*failed calling webhook/);
      // No leader work before the caches synced: no virtual node, and startProvider still waits.
      expect(await nodesOf(config)).toEqual([]);
      expect(settled).toBeUndefined();
    } finally {
      release();
    }

    const provider = await waitFor(() => (settled instanceof Error ? Promise.reject(settled) : settled), {
      timeoutMs: budget({ baseMs: 90_000 }),
      describe: () => `startProvider to resolve once the PodNetworking list went through (last log: ${logs.lines.slice(-3).join(' | ')})`,
    });
    const ready = await readyz();
    expect([ready.status, ready.text]).toEqual([200, '[+]informer-namespaces ok\n[+]informer-podnetworkings ok\n[+]informer-kube-system-configmaps ok\n[+]leader-pod-controller ok\nreadyz check passed\n']);
    expect((await postReview(loadReview('pod-create'))).status).toBe(200);
    expect(await createPod('after-sync')).toBe('created');
    const nodes = await nodesOf(config);
    expect(nodes.map((n) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status)).toEqual(nodes.map(() => 'True'));
    expect(nodes.length).toBeGreaterThan(0);
    await stopRunning();
    expect(provider.isLeader()).toBe(false);
    await core.deleteNamespacedPod({ namespace, name: 'after-sync', gracePeriodSeconds: 0 }).catch(ignoreNotFound);
  }, 180_000);

  it('keeps brand-new nodes Ready=False until the pod caches synced; then Ready before the adoption, a pod bound meanwhile created once after it, the leader unready until it', async () => {
    await stopRunning();
    const config = providerConfig();
    const logs = memoryLogger();
    const real = cloudOf(sim);
    const podLists = holdable();
    const adoption = holdable();
    let listings = 0;
    let listed = false;
    const creates: { afterAdoption: boolean }[] = [];
    const cloud: CloudPort = {
      ...real,
      createContainerGroup: (r, o) => (creates.push({ afterAdoption: listed }), real.createContainerGroup(r, o)),
      describeContainerGroups: (ids, o) => real.describeContainerGroups(ids, o),
      listChangedContainerGroups: (tags, s, o) => real.listChangedContainerGroups(tags, s, o),
      deleteContainerGroup: (id, o) => real.deleteContainerGroup(id, o),
      describeVSwitches: (ids, o) => real.describeVSwitches(ids, o),
      // Adoption lists every group of the cluster before any create: hold that listing.
      listContainerGroups: async (tags, o) => {
        listings++;
        await adoption.held;
        const groups = await real.listContainerGroups(tags, o);
        listed = true;
        return groups;
      },
    };
    const starting = startProvider({ config, log: logs.log, cloud, nodeTiming: FAST_NODES, listGate: (informer) => (informer.startsWith('pods@') ? podLists.hold() : Promise.resolve()) });
    let settled: RunningProvider | Error | undefined;
    starting.then(
      (p) => (running.push(p), (settled = p)),
      (err: unknown) => (settled = err as Error),
    );
    const readyOf = (n: k8s.V1Node) => n.status?.conditions?.find((c) => c.type === 'Ready');
    try {
      const notReadyNodes = await waitFor(
        async () => {
          const nodes = await nodesOf(config);
          return podLists.count > 0 && nodes.length > 0 && nodes.every((n) => readyOf(n) !== undefined) ? nodes : undefined;
        },
        {
          timeoutMs: budget({ baseMs: 90_000 }),
          describe: async () => `virtual nodes registered while their pod caches are held (pod lists held ${podLists.count}, nodes ${(await nodesOf(config)).length}, start: ${settled instanceof Error ? settled.message : 'pending'})`,
        },
      );
      for (const node of notReadyNodes) {
        const ready = readyOf(node);
        expect([node.metadata?.name, ready?.status, ready?.reason]).toEqual([node.metadata?.name, 'False', 'KubeletNotReady']);
        expect(ready?.message).toBe('eci-virtual-node has not synced its pods yet');
      }
      podLists.release();
      // Ready once the caches synced, while the adoption's list is still held.
      await waitFor(
        async () => {
          const nodes = await nodesOf(config);
          return nodes.length > 0 && nodes.every((n) => readyOf(n)?.status === 'True') ? nodes : undefined;
        },
        { timeoutMs: budget({ baseMs: 30_000 }), describe: async () => `every virtual node Ready=True before the adoption: ${JSON.stringify((await nodesOf(config)).map((n) => [n.metadata?.name, readyOf(n)?.reason]))}` },
      );
      expect([listings > 0, listed, settled]).toEqual([true, false, undefined]);
      const r = await readyz();
      expect(r.status).toBe(503);
      expect(r.text).toContain('[-]leader-pod-controller failed');

      // A pod bound now reaches the controller, which holds it until the list is complete.
      await core.createNamespacedPod({ namespace, body: { ...podBody('bound-while-adopting'), spec: { ...podBody('bound-while-adopting').spec!, ...virtualNodePlacement(config) } } });
      await waitFor(async () => ((await core.readNamespacedPod({ namespace, name: 'bound-while-adopting' })).spec?.nodeName ?? '') !== '', {
        timeoutMs: budget({ baseMs: 30_000 }),
        describe: 'the pod to be bound to a virtual node that is Ready while the adoption is held',
      });
      // A create that is not held back starts within milliseconds of the binding: give it ample chance.
      await sleep(HOLD_BACK_WINDOW_MS);
      expect(creates, 'no create before the adoption is done').toEqual([]);
    } finally {
      podLists.release();
      adoption.release();
    }
    await waitFor(() => (settled instanceof Error ? Promise.reject(settled) : settled), { timeoutMs: budget({ baseMs: 90_000 }), describe: 'startProvider to resolve once adoption went through' });
    const pod = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ namespace, name: 'bound-while-adopting' });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { timeoutMs: budget({ baseMs: 60_000 }), describe: 'the pod bound during the adoption to run once it is done' },
    );
    expect(creates).toEqual([{ afterAdoption: true }]);
    const groups = (await real.listContainerGroups({ [GROUP_TAGS.cluster]: config.clusterId })).filter((g) => g.tags[GROUP_TAGS.podUid] === pod.metadata?.uid);
    expect(groups).toHaveLength(1);
    expect((await readyz()).status).toBe(200);
    await stopRunning();
    await core.deleteNamespacedPod({ namespace, name: 'bound-while-adopting', gracePeriodSeconds: 0 }).catch(ignoreNotFound);
  }, 240_000);

  it('a restart with running pods keeps every node and every pod Ready, watched throughout; 0 creates, 0 deletes', async () => {
    await stopRunning();
    const config = providerConfig();
    const app = `kept-${suffix}`;
    running.push(await startProvider({ config, log: memoryLogger().log, nodeTiming: FAST_NODES }));
    for (let i = 0; i < RESTART_PODS; i++) {
      const body = podBody(`kept-${i}`);
      await core.createNamespacedPod({ namespace, body: { ...body, metadata: { ...body.metadata, labels: { app } }, spec: { ...body.spec!, ...virtualNodePlacement(config) } } });
    }
    const podReady = (p: k8s.V1Pod) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    // Before the restart: every pod Ready, and no node still tainted from its first NotReady moments.
    await waitFor(
      async () => {
        const pods = (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
        const tainted = (await nodesOf(config)).flatMap(notReadyTaints);
        return pods.length === RESTART_PODS && pods.every((p) => podReady(p) === 'True') && tainted.length === 0 ? pods : undefined;
      },
      {
        timeoutMs: podsBudget(RESTART_PODS, { baseMs: 60_000 }),
        describe: async () =>
          `${RESTART_PODS} pods Ready and no not-ready taint: ${JSON.stringify((await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items.map((p) => [p.metadata?.name, p.status?.phase, podReady(p)]))}, taints ${JSON.stringify((await nodesOf(config)).map(notReadyTaints))}`,
      },
    );
    const real = cloudOf(sim);
    const groupIds = async () => (await real.listContainerGroups({ [GROUP_TAGS.cluster]: config.clusterId })).map((g) => g.id).sort();
    const groupsBefore = await groupIds();
    expect(groupsBefore).toHaveLength(RESTART_PODS);

    const nodeSelector = `${NODE_LABELS.cluster}=${config.clusterId}`;
    const nodeWatch = await watchReady('/api/v1/nodes', nodeSelector, () => core.listNode({ labelSelector: nodeSelector }));
    const podWatch = await watchReady(`/api/v1/namespaces/${namespace}/pods`, `app=${app}`, () => core.listNamespacedPod({ namespace, labelSelector: `app=${app}` }));
    try {
      await stopRunning();
      const stoppedAt = Date.now();
      // The restarted provider's pod caches are held (a slow list at 10,000 pods): its readiness
      // gate stays closed meanwhile.
      const podLists = holdable();
      const adoption = holdable();
      const calls = { create: 0, delete: 0 };
      const cloud: CloudPort = {
        ...real,
        createContainerGroup: (r, o) => (calls.create++, real.createContainerGroup(r, o)),
        deleteContainerGroup: (id, o) => (calls.delete++, real.deleteContainerGroup(id, o)),
        describeContainerGroups: (ids, o) => real.describeContainerGroups(ids, o),
        listChangedContainerGroups: (tags, s, o) => real.listChangedContainerGroups(tags, s, o),
        describeVSwitches: (ids, o) => real.describeVSwitches(ids, o),
        // The adoption's list is held too (slow at 10,000 groups): a restart must not wait for it.
        listContainerGroups: async (tags, o) => (await adoption.hold(), real.listContainerGroups(tags, o)),
      };
      const logs = memoryLogger();
      const starting = startProvider({ config, log: logs.log, cloud, nodeTiming: FAST_NODES, listGate: (informer) => (informer.startsWith('pods@') ? podLists.hold() : Promise.resolve()) });
      let settled: RunningProvider | Error | undefined;
      starting.then(
        (p) => (running.push(p), (settled = p)),
        (err: unknown) => (settled = err as Error),
      );
      try {
        // Every node's status posted by the restarted provider (a heartbeat in a later second than the stop)...
        const postedFrom = Math.floor(stoppedAt / 1000) * 1000 + 1000;
        await waitFor(
          () => {
            const nodes = [...nodeWatch.latest.values()];
            return nodes.length > 0 && nodes.every((n) => new Date(n.heartbeat ?? 0).getTime() >= postedFrom);
          },
          { timeoutMs: budget({ baseMs: 60_000 }), describe: () => `every node's status posted by the restarted provider; last seen ${JSON.stringify([...nodeWatch.latest.values()])}; its log: ${logs.lines.slice(-3).join(' | ')}` },
        );
        // ...then long enough for kube-controller-manager to look at the nodes twice (every 5 s).
        await sleep(NODE_MONITOR_WINDOW_MS);
      } finally {
        podLists.release();
        adoption.release();
      }
      await waitFor(() => (settled instanceof Error ? Promise.reject(settled) : settled), { timeoutMs: budget({ baseMs: 90_000 }), describe: 'the restarted provider to start once its pod caches listed' });
      await waitFor(() => [...podWatch.latest.values()].every((p) => p.status === 'True'), { timeoutMs: budget({ baseMs: 30_000 }), describe: () => `every pod Ready after the restart: ${JSON.stringify([...podWatch.latest.values()])}` });

      expect(nodeWatch.notReady, 'a node\'s Ready condition seen other than True, or a not-ready taint, during the restart').toEqual([]);
      expect(podWatch.notReady, 'a pod\'s Ready condition seen other than True during the restart').toEqual([]);
      expect(nodeWatch.ended ?? podWatch.ended, 'the watches stayed open').toBeUndefined();
      expect(nodeWatch.latest.size).toBe((await nodesOf(config)).length);
      expect(podLists.count, 'the restarted provider\'s pod caches were held').toBeGreaterThan(0);
      expect(calls).toEqual({ create: 0, delete: 0 });
      expect(await groupIds()).toEqual(groupsBefore);
    } finally {
      nodeWatch.stop();
      podWatch.stop();
    }
    await stopRunning();
    await core.deleteCollectionNamespacedPod({ namespace, labelSelector: `app=${app}`, gracePeriodSeconds: 0 }).catch(ignoreNotFound);
  }, 300_000);

  it('a lost Lease aborts the in-flight create; the replica stops leading, stays ready as a follower, and leads again when the Lease is free', async () => {
    await stopRunning();
    const config = providerConfig();
    const leaseName = `rz-lease-${suffix}`;
    config.leaderElection = { enabled: true, namespace, leaseName, identity: 'rz-replica', leaseDurationSeconds: 3, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
    const logs = memoryLogger();
    const real = cloudOf(sim);
    const creates: { signal: AbortSignal | undefined; reason?: string }[] = [];
    // Every create hangs until its signal aborts: what a slow cloud call looks like.
    const cloud: CloudPort = {
      ...real,
      createContainerGroup: (_request, o) => {
        const entry: { signal: AbortSignal | undefined; reason?: string } = { signal: o?.signal };
        creates.push(entry);
        return new Promise((_, reject) => {
          o?.signal?.addEventListener('abort', () => ((entry.reason = 'aborted'), reject(new Error('aborted by the leader signal'))), { once: true });
        });
      },
      describeContainerGroups: (ids, o) => real.describeContainerGroups(ids, o),
      listContainerGroups: (tags, o) => real.listContainerGroups(tags, o),
      listChangedContainerGroups: (tags, sec, o) => real.listChangedContainerGroups(tags, sec, o),
      deleteContainerGroup: (id, o) => real.deleteContainerGroup(id, o),
      describeVSwitches: (ids, o) => real.describeVSwitches(ids, o),
    };
    const provider = await startProvider({ config, log: logs.log, cloud, nodeTiming: { leaseRenewIntervalMs: 2_000, statusIntervalMs: 5_000, vSwitchRefreshIntervalMs: 2_000 } });
    running.push(provider);
    await waitFor(() => provider.isLeader(), { timeoutMs: budget({ baseMs: 60_000 }), describe: 'the only replica to lead' });

    await core.createNamespacedPod({ namespace, body: { ...podBody('held-create'), spec: { ...podBody('held-create').spec!, ...virtualNodePlacement(config) } } });
    const inFlight = await waitFor(() => creates.find((c) => c.signal !== undefined && !c.signal.aborted), {
      timeoutMs: budget({ baseMs: 60_000 }),
      describe: () => `a CreateContainerGroup in flight carrying a signal (creates so far: ${creates.length})`,
    });

    // Another holder takes the Lease (as a replica that saw it expire would).
    const coordination = apiClient(kubeConfig(), k8s.CoordinationV1Api);
    const lease = await coordination.readNamespacedLease({ name: leaseName, namespace });
    const now = new k8s.V1MicroTime(Date.now());
    await coordination.replaceNamespacedLease({
      name: leaseName,
      namespace,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'rz-thief', leaseDurationSeconds: 3600, acquireTime: now, renewTime: now } },
    });
    await waitFor(() => inFlight.reason === 'aborted', { timeoutMs: budget({ baseMs: 30_000 }), describe: 'the in-flight create to be aborted by the lost Lease' });
    await waitFor(() => !provider.isLeader(), { timeoutMs: budget({ baseMs: 30_000 }), describe: 'the replica to stop leading' });
    // A follower serves the webhook and is ready: the leader-only check does not count.
    const follower = await readyz();
    expect([follower.status, follower.text.includes('[+]leader-pod-controller ok')]).toEqual([200, true]);

    // The thief lets go: the replica competes again and leads, retrying the create.
    const stolen = await coordination.readNamespacedLease({ name: leaseName, namespace });
    await coordination.replaceNamespacedLease({ name: leaseName, namespace, body: { ...stolen, spec: { ...stolen.spec, holderIdentity: '', leaseDurationSeconds: 1 } } });
    await waitFor(() => provider.isLeader(), { timeoutMs: budget({ baseMs: 60_000 }), describe: () => `the replica to lead again (last log: ${logs.lines.slice(-2).join(' | ')})` });
    await waitFor(() => creates.some((c) => c !== inFlight && c.signal !== undefined && !c.signal.aborted), {
      timeoutMs: budget({ baseMs: 60_000 }),
      describe: () => `the create retried under the new leadership (creates so far: ${creates.length})`,
    });
    await stopRunning();
    await core.deleteNamespacedPod({ namespace, name: 'held-create', gracePeriodSeconds: 0 }).catch(ignoreNotFound);
  }, 180_000);
});
