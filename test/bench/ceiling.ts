// The ceiling of the benchmark: a bare client that does the least any virtual kubelet must do
// against the apiserver, as fast as it can. It registers its nodes (status Ready, a Lease
// renewed every 10 s), watches the benchmark's pods, patches each pod bound to one of its nodes
// straight to Running + Ready (one request), and finishes the deletion of each deleted pod (one
// request). No cloud, no events, no annotations: what is left is the apiserver's own cost.
//
//   node test/bench/ceiling.ts --kubeconfig FILE --nodes name=zone,... --pod-selector k=v
//        [--node-label k=v] [--taint key=value] [--concurrency 32]
//
// Prints `ceiling ready` on stdout once its nodes exist and its pod cache is synced; on SIGTERM
// prints `ceiling stopped patched=N deleted=N errors=N` and exits 0.
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { apiClient } from '../helpers/deadline.ts';
import { loadKubeConfig } from '../../adapters/kubernetes/client.ts';

const { values: flags } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    nodes: { type: 'string' },
    'pod-selector': { type: 'string' },
    'node-label': { type: 'string', multiple: true },
    taint: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
  },
  strict: true,
});

if (flags.kubeconfig === undefined || flags.nodes === undefined || flags['pod-selector'] === undefined) {
  console.error('usage: ceiling.ts --kubeconfig FILE --nodes name=zone,... --pod-selector k=v [--node-label k=v] [--taint key=value] [--concurrency N]');
  process.exit(2);
}

// Pooled connections, as the provider's: client-node alone opens a TLS connection per request.
const kc = loadKubeConfig(flags.kubeconfig);
const core = apiClient(kc, k8s.CoreV1Api);
const coordination = apiClient(kc, k8s.CoordinationV1Api);
const strategicMerge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const concurrency = Math.max(1, Number(flags.concurrency));

const nodes = new Map(
  flags.nodes.split(',').map((entry) => {
    const [name = '', zone = ''] = entry.split('=');
    return [name, zone] as const;
  }),
);
const extraLabels = Object.fromEntries((flags['node-label'] ?? []).map((l) => l.split('=', 2) as [string, string]));
const [taintKey, taintValue] = (flags.taint ?? '').split('=', 2);

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const isCode = (err: unknown, code: number): boolean => (err as { code?: number }).code === code;

// ---- nodes and leases ----------------------------------------------------------------------------

function nodeStatus(): k8s.V1NodeStatus {
  const now = new Date();
  const resources = { cpu: '100000', memory: '100000Gi', pods: '100000' };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      { type: 'Ready', status: 'True', reason: 'CeilingReady', message: 'the benchmark ceiling', lastHeartbeatTime: now, lastTransitionTime: now },
    ],
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    nodeInfo: {
      architecture: 'amd64',
      bootID: '',
      containerRuntimeVersion: 'ceiling://0',
      kernelVersion: '',
      kubeProxyVersion: '',
      kubeletVersion: 'v1.36.3-ceiling',
      machineID: '',
      operatingSystem: 'linux',
      osImage: '',
      systemUUID: '',
    },
  };
}

async function registerNode(name: string, zone: string): Promise<void> {
  const body: k8s.V1Node = {
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': zone, ...extraLabels },
    },
    spec: taintKey ? { taints: [{ key: taintKey, value: taintValue ?? '', effect: 'NoSchedule' }] } : {},
  };
  try {
    await core.createNode({ body });
  } catch (err) {
    if (!isCode(err, 409)) throw err;
  }
  await core.patchNodeStatus({ name, body: { status: nodeStatus() } }, strategicMerge);
}

async function renewLease(name: string): Promise<void> {
  const now = new k8s.V1MicroTime();
  const spec: k8s.V1LeaseSpec = { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now };
  try {
    await coordination.patchNamespacedLease({ name, namespace: 'kube-node-lease', body: { spec } }, strategicMerge);
  } catch (err) {
    if (!isCode(err, 404)) throw err;
    await coordination.createNamespacedLease({ namespace: 'kube-node-lease', body: { metadata: { name }, spec } });
  }
}

// ---- the pods: a bounded-concurrency queue, one request per pod and transition -------------------

type Work = { kind: 'run' | 'finish'; namespace: string; name: string; uid: string };
const pending: Work[] = [];
const queued = new Set<string>();
const done = new Set<string>();
let inFlight = 0;
const stats = { patched: 0, deleted: 0, errors: 0 };

function runningStatus(pod: k8s.V1Pod): k8s.V1PodStatus {
  const now = new Date();
  const conditions: k8s.V1PodCondition[] = ['Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now }));
  return {
    phase: 'Running',
    conditions,
    hostIP: '127.0.0.1',
    podIP: '10.255.0.1',
    startTime: now,
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

const podsByKey = new Map<string, k8s.V1Pod>();

function consider(pod: k8s.V1Pod): void {
  const nodeName = pod.spec?.nodeName;
  if (nodeName === undefined || !nodes.has(nodeName)) return;
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const uid = pod.metadata?.uid ?? '';
  const deleting = pod.metadata?.deletionTimestamp != null;
  const running = pod.status?.phase === 'Running';
  const kind = deleting ? 'finish' : running ? undefined : 'run';
  if (kind === undefined) return;
  const key = `${kind}/${uid}`;
  if (queued.has(key) || done.has(key)) return;
  queued.add(key);
  podsByKey.set(uid, pod);
  pending.push({ kind, namespace, name, uid });
  pump();
}

function pump(): void {
  while (inFlight < concurrency && pending.length > 0) {
    const work = pending.shift()!;
    inFlight++;
    void perform(work).finally(() => {
      inFlight--;
      pump();
    });
  }
}

async function perform(work: Work): Promise<void> {
  const key = `${work.kind}/${work.uid}`;
  try {
    if (work.kind === 'run') {
      const pod = podsByKey.get(work.uid);
      if (pod === undefined) return;
      await core.patchNamespacedPodStatus({ name: work.name, namespace: work.namespace, body: { status: runningStatus(pod) } }, strategicMerge);
      stats.patched++;
    } else {
      await core.deleteNamespacedPod({ name: work.name, namespace: work.namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: work.uid } } });
      stats.deleted++;
      podsByKey.delete(work.uid);
    }
    done.add(key);
  } catch (err) {
    if (isCode(err, 404) || isCode(err, 409)) {
      done.add(key);
      return;
    }
    stats.errors++;
    console.error(`ceiling: ${work.kind} ${work.namespace}/${work.name} failed: ${errorText(err)}`);
    // Retry once the next event arrives (or after a second).
    setTimeout(() => {
      queued.delete(key);
      const pod = podsByKey.get(work.uid);
      if (pod !== undefined) consider(pod);
    }, 1_000).unref();
    return;
  } finally {
    queued.delete(key);
  }
}

// ---- main -----------------------------------------------------------------------------------------

for (const [name, zone] of nodes) await registerNode(name, zone);
await Promise.all([...nodes.keys()].map(renewLease));
const leaseTimer = setInterval(() => {
  for (const name of nodes.keys()) renewLease(name).catch((err: unknown) => console.error(`ceiling: lease ${name}: ${errorText(err)}`));
}, 10_000);

const selector = flags['pod-selector'];
const informer = k8s.makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces({ labelSelector: selector }), selector);
informer.on('add', consider);
informer.on('update', consider);
informer.on('delete', (pod) => podsByKey.delete(pod.metadata?.uid ?? ''));
informer.on('error', (err: unknown) => {
  console.error(`ceiling: watch failed, restarting: ${errorText(err)}`);
  setTimeout(() => void informer.start(), 1_000);
});
await informer.start();
console.log('ceiling ready');

const stop = (): void => {
  clearInterval(leaseTimer);
  void informer.stop();
  console.log(`ceiling stopped patched=${stats.patched} deleted=${stats.deleted} errors=${stats.errors}`);
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
