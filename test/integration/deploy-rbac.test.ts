// The shipped RBAC is sufficient: the provider, authenticated as the ServiceAccount of
// deploy/base with a token the apiserver issued for it, does its whole job against the cloud
// simulator (virtual nodes and their Leases, PodNetworking status, a pod with a ConfigMap and a
// Secret reference runs, gets an IP, and is deleted), and with one rule taken away (pods/status)
// the pod never runs and the provider's log says which permission was refused.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProvider, type RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { createLogger } from '../../adapters/log/logger.ts';
import { DEFAULT_CONFIG, type ProviderConfig } from '../../provider/config/config.ts';
import { VIRTUAL_NODE_TOLERATION } from '../../provider/networking/constants.ts';
import { apis, controlPlane, ignoreNotFound, kubectl, useTestNamespace } from './helpers/cluster.ts';
import { waitFor } from './helpers/wait.ts';
import { budget, withDeadline } from '../helpers/deadline.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NS = 'eci-virtual-node';
const suffix = randomBytes(3).toString('hex');
const RBAC_FILES = ['deploy/base/namespace.yaml', 'deploy/base/serviceaccount.yaml', 'deploy/base/rbac.yaml', 'deploy/crds/network.alibabacloud.com_podnetworkings.yaml'];

let work: string;
let sim: CloudSim;
let kubeconfigPath: string;
const namespace = useTestNamespace('deploy-rbac');

/** A kubeconfig that authenticates as the provider's ServiceAccount (TokenRequest API). */
async function serviceAccountKubeconfig(): Promise<string> {
  const token = (await kubectl(['create', 'token', 'eci-virtual-node', '-n', NS, '--duration=1h'])).stdout.trim();
  const cp = controlPlane();
  const path = join(work, 'provider.kubeconfig');
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: cp.server, 'certificate-authority-data': Buffer.from(cp.caCertPem).toString('base64') } }],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa' } }],
      'current-context': 'sa',
    }),
  );
  return path;
}

function providerConfig(run: string): ProviderConfig {
  return {
    ...DEFAULT_CONFIG,
    clusterId: `rbac-${suffix}-${run}`,
    regionId: sim.regionId,
    cloud: { ...DEFAULT_CONFIG.cloud, eciEndpoint: sim.endpoint, vpcEndpoint: sim.endpoint, ecsEndpoint: sim.endpoint, protocol: 'http', accessKeyId: sim.accessKey.id, accessKeySecret: sim.accessKey.secret },
    defaultNetwork: { ...DEFAULT_CONFIG.defaultNetwork, vSwitchIds: ['vsw-sandboxh1', 'vsw-sandboxi1', 'vsw-sandboxj1'], securityGroupId: 'sg-sandboxdefault' },
    node: { ...DEFAULT_CONFIG.node, namePrefix: `rbac-${suffix}-${run}`, maxPods: 20 },
    kubernetes: { ...DEFAULT_CONFIG.kubernetes, kubeconfig: kubeconfigPath },
    sync: { ...DEFAULT_CONFIG.sync, workers: 4, statusPollIntervalMs: 500 },
  };
}

async function runProvider(run: string): Promise<{ provider: RunningProvider; lines: string[] }> {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => void lines.push(line) });
  const provider = await startProvider({
    config: providerConfig(run),
    log,
    nodeTiming: { leaseRenewIntervalMs: 1_000, statusIntervalMs: 2_000, vSwitchRefreshIntervalMs: 1_000, retryBaseMs: 200, retryMaxMs: 2_000 },
  });
  return { provider, lines };
}

function demoPod(name: string, nodePrefix: string): V1Pod {
  return {
    metadata: { name, labels: { app: 'rbac-demo' } },
    spec: {
      tolerations: [{ ...VIRTUAL_NODE_TOLERATION }],
      nodeSelector: { type: 'virtual-kubelet', 'eci-virtual-node/cluster': nodePrefix },
      containers: [
        {
          name: 'app',
          image: 'nginx:1.27',
          env: [
            { name: 'FROM_CONFIGMAP', valueFrom: { configMapKeyRef: { name: 'demo-config', key: 'greeting' } } },
            { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'demo-secret', key: 'password' } } },
          ],
          resources: { requests: { cpu: '250m', memory: '512Mi' } },
        },
      ],
    },
  };
}

async function stopAndForget(provider: RunningProvider): Promise<void> {
  // Read before stop(): a stopped provider runs no leader work and so has no node set to ask.
  let nodeNames: readonly string[] = [];
  try {
    nodeNames = [...provider.nodes.nodeNames()];
  } catch {
    // not leading (yet): it registered no node
  }
  await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  const { core, coordination } = apis();
  for (const name of nodeNames) {
    await core.deleteNode({ name }).catch(ignoreNotFound);
    await coordination.deleteNamespacedLease({ name, namespace: 'kube-node-lease' }).catch(ignoreNotFound);
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'eci-vn-rbac-'));
  await kubectl(['apply', ...RBAC_FILES.flatMap((f) => ['-f', join(ROOT, f)])]);
  await kubectl(['wait', '--for=condition=Established', 'crd/podnetworkings.network.alibabacloud.com', '--timeout=30s']);
  sim = await startCloudSim({ world: join(ROOT, 'deploy', 'overlays', 'sandbox', 'world.yaml'), port: 0, adminPort: 0, log: () => {} });
  kubeconfigPath = await serviceAccountKubeconfig();
  const { core } = apis();
  await core.createNamespacedConfigMap({ namespace: namespace(), body: { metadata: { name: 'demo-config' }, data: { greeting: 'hello' } } });
  await core.createNamespacedSecret({ namespace: namespace(), body: { metadata: { name: 'demo-secret' }, stringData: { password: 's3cret' } } });
});

afterAll(async () => {
  await sim?.stop();
  await kubectl(['delete', 'podnetworking', `rbac-${suffix}`, '--ignore-not-found']).catch(() => undefined);
  // Put the shipped RBAC back as it was (the last test edits the ClusterRole), then remove all of
  // it and wait for the namespace to go, so the next test file can apply into it again.
  const files = await Promise.all(RBAC_FILES.map((f) => readFile(join(ROOT, f), 'utf8')));
  await writeFile(join(work, 'all.yaml'), files.join('\n---\n'));
  await kubectl(['delete', '-f', join(work, 'all.yaml'), '--ignore-not-found', '--wait=false']);
  await waitFor(async () => (await apis().core.listNamespace()).items.every((n) => n.metadata?.name !== NS), { timeoutMs: budget({ baseMs: 90_000 }), describe: `namespace ${NS} to be deleted` });
  await rm(work, { recursive: true, force: true });
});

describe('the shipped RBAC, used by the provider itself', () => {
  it('is enough for the whole job: nodes, leases, PodNetworking status, a pod with ConfigMap and Secret references runs, gets an IP and is deleted', async () => {
    const { provider, lines } = await runProvider('a');
    const clusterLabel = `rbac-${suffix}-a`;
    try {
      const { core, coordination } = apis();
      const nodes = await waitFor(
        async () => {
          const list = await core.listNode({ labelSelector: `eci-virtual-node/cluster=${clusterLabel}` });
          const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
          return ready.length === 3 ? ready : undefined;
        },
        { timeoutMs: budget({ baseMs: 60_000 }), describe: () => `3 Ready virtual nodes; provider log tail:\n${lines.slice(-15).join('\n')}` },
      );
      for (const node of nodes) await coordination.readNamespacedLease({ name: node.metadata!.name!, namespace: 'kube-node-lease' });

      const pnFile = join(work, 'pn.yaml');
      const pnSpec = { vSwitchOptions: ['vsw-sandboxweb1'], securityGroupIDs: ['sg-sandboxweb'], selector: { podSelector: { matchLabels: { app: 'nothing' } } } };
      await writeFile(pnFile, stringify({ apiVersion: 'network.alibabacloud.com/v1beta1', kind: 'PodNetworking', metadata: { name: `rbac-${suffix}` }, spec: pnSpec }));
      await kubectl(['apply', '-f', pnFile]);
      await waitFor(
        async () => {
          const pn = JSON.parse((await kubectl(['get', 'podnetworking', `rbac-${suffix}`, '-o', 'json'])).stdout) as { status?: { status?: string } };
          return pn.status?.status === 'Ready';
        },
        { timeoutMs: budget({ baseMs: 60_000 }), describe: () => `PodNetworking status Ready; provider log tail:\n${lines.slice(-15).join('\n')}` },
      );

      await core.createNamespacedPod({ namespace: namespace(), body: demoPod('demo', clusterLabel) });
      const running = await waitFor(
        async () => {
          const pod = await core.readNamespacedPod({ name: 'demo', namespace: namespace() });
          return pod.status?.phase === 'Running' && pod.status.podIP ? pod : undefined;
        },
        { timeoutMs: budget({ baseMs: 90_000 }), describe: () => `pod demo Running with an IP; provider log tail:\n${lines.slice(-20).join('\n')}` },
      );
      expect(running.status!.podIP).toMatch(/^10\.0\.[123]\./);
      const events = await core.listNamespacedEvent({ namespace: namespace(), fieldSelector: 'involvedObject.name=demo' });
      expect(events.items.some((e) => e.source?.component === 'eci-virtual-node' || e.reportingComponent === 'eci-virtual-node')).toBe(true);

      await core.deleteNamespacedPod({ name: 'demo', namespace: namespace() });
      await waitFor(
        async () => (await core.listNamespacedPod({ namespace: namespace() })).items.every((p) => p.metadata?.name !== 'demo'),
        { timeoutMs: budget({ baseMs: 60_000 }), describe: () => `pod demo to be gone; provider log tail:\n${lines.slice(-15).join('\n')}` },
      );
      expect(lines.filter((l) => /forbidden/i.test(l))).toEqual([]);
    } finally {
      await stopAndForget(provider);
    }
  });

  it('without the pods/status rule, the pod never runs and the log names the refused permission', async () => {
    const rbac = parseAllDocuments(await readFile(join(ROOT, 'deploy/base/rbac.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; rules?: { resources: string[] }[] });
    const role = rbac.find((d) => d.kind === 'ClusterRole')!;
    role.rules = role.rules!.filter((r) => !r.resources.includes('pods/status'));
    await writeFile(join(work, 'crippled.yaml'), stringify(role));
    await kubectl(['apply', '-f', join(work, 'crippled.yaml')]);
    expect(await kubectl(['auth', 'can-i', 'patch', 'pods', '--subresource=status', '-n', namespace(), `--as=system:serviceaccount:${NS}:eci-virtual-node`]).then(() => 'yes', () => 'no')).toBe('no');

    const { provider, lines } = await runProvider('b');
    try {
      const { core } = apis();
      await core.createNamespacedPod({ namespace: namespace(), body: demoPod('crippled', `rbac-${suffix}-b`) });
      const refusal = await waitFor(() => lines.find((l) => /forbidden/i.test(l) && l.includes('pods/status')), {
        timeoutMs: budget({ baseMs: 90_000 }),
        describe: () => `a log line about the refused pods/status patch; provider log tail:\n${lines.slice(-20).join('\n')}`,
      });
      expect(refusal).toMatch(/cannot patch resource\W+pods\/status/);
      const pod = await core.readNamespacedPod({ name: 'crippled', namespace: namespace() });
      expect(pod.status?.phase).not.toBe('Running');
      await core.deleteNamespacedPod({ name: 'crippled', namespace: namespace(), gracePeriodSeconds: 0 }).catch(ignoreNotFound);
    } finally {
      await stopAndForget(provider);
      await kubectl(['apply', '-f', join(ROOT, 'deploy/base/rbac.yaml')]);
    }
  });
});
