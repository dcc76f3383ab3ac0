// A virtual node in every zone some network needs, on the real control plane, the real scheduler
// and the simulator: a PodNetworking with a vSwitch in a zone that has no node brings a node
// there (and says so in its status), a pod constrained to that zone runs on it with an IP of that
// vSwitch; removing the vSwitch cordons the node, which is removed once its last pod is gone.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import { CORDONED_ANNOTATION } from '../../adapters/kubernetes/nodes.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { ANNOTATIONS, PODNETWORKING_API } from '../../provider/networking/constants.ts';
import type { PodNetworking } from '../../provider/networking/podnetworking.ts';
import { NODE_LABELS } from '../../provider/node/constants.ts';
import { nodeNameForZone } from '../../provider/node/node.ts';
import { apis, ignoreNotFound, kubeConfig, uniqueName, useTestNamespace } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { deleteNodes, ipInCidr, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { waitFor } from './helpers/wait.ts';
import { apiClient, budget, withDeadline } from '../helpers/deadline.ts';

const { group, version, plural } = PODNETWORKING_API;
const H = 'cn-hangzhou-h';
const K = 'cn-hangzhou-k';
const namespace = useTestNamespace('zones');
const pnName = uniqueName('pn-zone-k');
const app = uniqueName('zk');
const custom = () => apiClient(kubeConfig(), k8s.CustomObjectsApi);

let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;
const logs = memoryLogger();

beforeAll(async () => {
  await installPodNetworkingCrd();
  // A fourth zone with a vSwitch no default network uses.
  sim = await startCloudSim({
    world: await testWorld({}, { zones: [K], vSwitches: [{ id: 'vsw-simk1', name: 'k1', vpcId: 'vpc-simmain', zoneId: K, cidr: '10.0.20.0/26' }] }),
    log: () => {},
  });
  config = testConfig(sim, { vSwitchIds: ['vsw-simh1'] });
  provider = await startTestProvider(config, logs.log);
});

afterAll(async () => {
  await custom().deleteClusterCustomObject({ group, version, plural, name: pnName }).catch(ignoreNotFound);
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  if (config) await deleteNodes(config);
  await sim?.stop();
});

const nodeK = () => nodeNameForZone(config.node.namePrefix, K);
const readPn = async () => (await custom().getClusterCustomObject({ group, version, plural, name: pnName })) as PodNetworking;
const readNode = (name: string) => apis().core.readNode({ name });
const nodeSummary = async (name: string) => {
  try {
    const n = await readNode(name);
    return JSON.stringify({ unschedulable: n.spec?.unschedulable, annotations: n.metadata?.annotations, conditions: n.status?.conditions?.map((c) => `${c.type}=${c.status}`) });
  } catch (err) {
    return `(not readable: ${(err as Error).message.slice(0, 80)})`;
  }
};

describe('a virtual node in every zone a network needs', () => {
  it('registers a node for a PodNetworking zone, runs a pod there, then cordons and removes the node when the zone is dropped', async () => {
    const { core } = apis();
    expect(provider.nodes.nodeOfZone(K)).toBeUndefined();
    await expect(readNode(nodeK())).rejects.toMatchObject({ code: 404 });

    await custom().createClusterCustomObject({
      group,
      version,
      plural,
      body: {
        apiVersion: PODNETWORKING_API.apiVersion,
        kind: 'PodNetworking',
        metadata: { name: pnName },
        spec: { vSwitchOptions: ['vsw-simh2', 'vsw-simk1'], securityGroupIDs: ['sg-simdefault'], selector: { podSelector: { matchLabels: { app } } } },
      },
    });

    // The zone appears: a Ready node in it, and the PodNetworking's status names it.
    await waitFor(
      async () => {
        const node = await readNode(nodeK()).catch(() => undefined);
        return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && node.spec?.unschedulable !== true;
      },
      { timeoutMs: budget({ baseMs: 60_000 }), describe: async () => `node ${nodeK()} Ready in zone ${K}; PodNetworking status ${JSON.stringify((await readPn()).status)}; node ${await nodeSummary(nodeK())}` },
    );
    const node = await readNode(nodeK());
    expect(node.metadata?.labels?.[NODE_LABELS.zone]).toBe(K);
    expect(node.status?.conditions?.find((c) => c.type === 'NetworkUnavailable')).toMatchObject({ status: 'False' });
    await waitFor(async () => (await readPn()).status?.virtualNodes?.some((n) => n.zone === K && n.node === nodeK()), {
      timeoutMs: budget({ baseMs: 30_000 }),
      describe: async () => `PodNetworking ${pnName} status.virtualNodes to name ${nodeK()}; status ${JSON.stringify((await readPn()).status)}`,
    });

    // A pod of that PodNetworking, constrained to the new zone, runs on the new node with an IP of vsw-simk1.
    await core.createNamespacedPod({
      namespace: namespace(),
      body: {
        metadata: { name: 'in-k', labels: { app }, annotations: { [ANNOTATIONS.podNetworking]: pnName } },
        spec: {
          ...virtualNodePlacement(config),
          nodeSelector: { ...virtualNodePlacement(config).nodeSelector, [NODE_LABELS.zone]: K },
          containers: [{ name: 'main', image: 'nginx:1.27' }],
        },
      },
    });
    const running = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'in-k', namespace: namespace() });
        return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
      },
      { timeoutMs: budget({ baseMs: 90_000 }), describe: async () => `pod in-k Running; now ${JSON.stringify((await core.readNamespacedPod({ name: 'in-k', namespace: namespace() })).status)}` },
    );
    expect(running.spec?.nodeName).toBe(nodeK());
    expect(ipInCidr(running.status!.podIP!, '10.0.20.0/26')).toBe(true);

    // The zone is dropped from the PodNetworking: the node is cordoned but stays while its pod runs.
    await custom().patchClusterCustomObject(
      { group, version, plural, name: pnName, body: { spec: { vSwitchOptions: ['vsw-simh2'] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitFor(
      async () => {
        const n = await readNode(nodeK());
        return n.spec?.unschedulable === true && n.metadata?.annotations?.[CORDONED_ANNOTATION] !== undefined;
      },
      { timeoutMs: budget({ baseMs: 60_000 }), describe: async () => `node ${nodeK()} cordoned; node ${await nodeSummary(nodeK())}; PodNetworking status ${JSON.stringify((await readPn()).status)}` },
    );
    await waitFor(async () => !((await readPn()).status?.virtualNodes ?? []).some((n) => n.zone === K), {
      timeoutMs: budget({ baseMs: 30_000 }),
      describe: async () => `PodNetworking ${pnName} status.virtualNodes without zone ${K}; status ${JSON.stringify((await readPn()).status)}`,
    });
    // The next reconcile sees the running pod and keeps the node.
    await waitFor(() => logs.lines.some((l) => l.includes('waiting for its pods to finish') && l.includes(K)), {
      timeoutMs: budget({ baseMs: 30_000 }),
      describe: `the provider to log that ${nodeK()} waits for its pods`,
    });
    expect((await readNode(nodeK())).metadata?.name).toBe(nodeK());
    expect((await core.readNamespacedPod({ name: 'in-k', namespace: namespace() })).status?.phase).toBe('Running');

    // Its last pod gone, the node is removed; the default network's node stays.
    await core.deleteNamespacedPod({ name: 'in-k', namespace: namespace() });
    await waitFor(async () => readNode(nodeK()).then(() => false, (err: { code?: number }) => err.code === 404), {
      timeoutMs: budget({ baseMs: 90_000 }),
      describe: async () => `node ${nodeK()} removed; node ${await nodeSummary(nodeK())}; pods on it ${(await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeK()}` })).items.map((p) => `${p.metadata?.name}:${p.status?.phase}`).join(',')}`,
    });
    expect(provider.nodes.nodeOfZone(K)).toBeUndefined();
    expect((await readNode(nodeNameForZone(config.node.namePrefix, H))).metadata?.name).toBeDefined();
  });
});
