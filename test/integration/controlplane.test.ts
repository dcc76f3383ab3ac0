// The real control plane does what the provider will rely on: the controller-manager turns a
// Deployment into pods, the scheduler refuses them while no node exists and binds them once a
// Node with a live Lease appears, and kubectl (built from the same release) sees the same.
import type { V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { apis, controlPlane, kubectl, uniqueName, useTestNamespace } from './helpers/cluster.ts';
import { registerNode, type RegisteredNode } from './helpers/nodes.ts';
import { waitFor } from './helpers/wait.ts';
import { budget } from '../helpers/deadline.ts';

const REPLICAS = 2;
const APP = 'web';
// What kube-scheduler v1.36 writes when the cluster has no nodes at all (ErrNoNodesAvailable in
// pkg/scheduler/scheduler.go); with nodes that all refuse, it writes "0/N nodes are available: ...".
const NO_NODES_MESSAGE = 'no nodes available to schedule pods';

describe('a Deployment on the real control plane', () => {
  const namespace = useTestNamespace('deploy');
  const { core, apps } = apis();
  const nodeName = uniqueName('test-node');
  let node: RegisteredNode | undefined;
  afterAll(async () => {
    await node?.remove();
  });

  const listPods = async (): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: namespace(), labelSelector: `app=${APP}` })).items;
  const scheduledCondition = (pod: V1Pod): V1PodCondition | undefined => pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const summary = async (): Promise<string> =>
    JSON.stringify((await listPods()).map((p) => ({ name: p.metadata?.name, node: p.spec?.nodeName, scheduled: scheduledCondition(p) })));

  it('controller-manager creates the pods; the scheduler reports them Unschedulable while there are no nodes', async () => {
    // Precondition: this file registers the only node; a node left by another file would make
    // the scheduler's answer different (and this test meaningless).
    const nodes = (await core.listNode()).items.map((n) => n.metadata?.name);
    expect(nodes, 'the cluster must have no nodes before this test').toEqual([]);

    await apps.createNamespacedDeployment({
      namespace: namespace(),
      body: {
        metadata: { name: APP },
        spec: {
          replicas: REPLICAS,
          selector: { matchLabels: { app: APP } },
          template: {
            metadata: { labels: { app: APP } },
            spec: {
              containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
            },
          },
        },
      },
    });

    // Deployment controller -> ReplicaSet -> ReplicaSet controller -> pods.
    const pods = await waitFor(
      async () => {
        const items = await listPods();
        return items.length === REPLICAS ? items : undefined;
      },
      { timeoutMs: budget({ baseMs: 90_000 }), describe: async () => `${REPLICAS} pods of Deployment ${APP} (seen: ${await summary()})` },
    );
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences?.map((o) => o.kind)).toEqual(['ReplicaSet']);
      expect(pod.spec?.nodeName).toBeUndefined();
    }

    const unschedulable = await waitFor(
      async () => {
        const items = await listPods();
        return items.length === REPLICAS && items.every((p) => scheduledCondition(p)?.status === 'False') ? items : undefined;
      },
      { timeoutMs: budget({ baseMs: 90_000 }), describe: async () => `PodScheduled=False on every pod (seen: ${await summary()})` },
    );
    for (const pod of unschedulable) {
      const condition = scheduledCondition(pod)!;
      expect(condition.reason).toBe('Unschedulable');
      expect(condition.message).toBe(NO_NODES_MESSAGE);
      expect(pod.status?.phase).toBe('Pending');
    }

    // The scheduler also says so in an event, as `kubectl describe pod` shows it.
    const events = await waitFor(
      async () => {
        const list = await core.listNamespacedEvent({ namespace: namespace(), fieldSelector: 'reason=FailedScheduling' });
        return list.items.length > 0 ? list.items : undefined;
      },
      { timeoutMs: budget({ baseMs: 60_000 }), describe: 'a FailedScheduling event' },
    );
    expect(events[0]!.message).toBe(NO_NODES_MESSAGE);
    expect(events[0]!.reportingComponent ?? events[0]!.source?.component).toBe('default-scheduler');
  });

  it('the scheduler binds the pods to a registered Node whose Lease is kept renewed', async () => {
    node = await registerNode(apis(), { name: nodeName });
    // Admission (TaintNodesByCondition) marks every new node not-ready until the controller
    // manager's node lifecycle controller has seen it Ready.
    expect(node.node.spec?.taints?.map((t) => `${t.key}:${t.effect}`)).toEqual(['node.kubernetes.io/not-ready:NoSchedule']);

    const bound = await waitFor(
      async () => {
        const items = await listPods();
        return items.length === REPLICAS && items.every((p) => p.spec?.nodeName !== undefined) ? items : undefined;
      },
      { timeoutMs: budget({ baseMs: 120_000 }), describe: async () => `every pod bound to ${nodeName} (seen: ${await summary()})` },
    );
    for (const pod of bound) {
      expect(pod.spec?.nodeName).toBe(nodeName);
      await waitFor(
        async () => scheduledCondition(await core.readNamespacedPod({ name: pod.metadata!.name!, namespace: namespace() }))?.status === 'True',
        { timeoutMs: budget({ baseMs: 60_000 }), describe: `PodScheduled=True on ${pod.metadata?.name}` },
      );
    }

    // The node lifecycle controller lifted the not-ready taint that admission put on the new node
    // (otherwise nothing could have been scheduled) and has not tainted it unreachable.
    const current = await core.readNode({ name: nodeName });
    expect(current.spec?.taints ?? []).toEqual([]);
    expect(current.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('kubectl get pods -o wide, with the generated kubeconfig, shows the same pods on the same node', async () => {
    // Child processes get the shared kubeconfig from the environment the global setup set.
    expect(process.env.KUBECONFIG).toBe(controlPlane().kubeconfigPath);

    const { stdout } = await kubectl(['get', 'pods', '--namespace', namespace(), '--selector', `app=${APP}`, '-o', 'wide']);
    const [header, ...rows] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    // kubectl aligns columns: read each row's NAME and NODE at the header's column offsets.
    const nodeColumn = header!.search(/\bNODE\b/);
    const fromKubectl = rows.map((row) => ({ name: row.split(/\s+/)[0], node: row.slice(nodeColumn).split(/\s+/)[0] }));
    const fromApi = (await listPods()).map((p) => ({ name: p.metadata?.name, node: p.spec?.nodeName }));
    const byName = (a: { name?: string }, b: { name?: string }): number => (a.name ?? '').localeCompare(b.name ?? '');
    expect(fromKubectl.sort(byName)).toEqual(fromApi.sort(byName));
    expect(fromKubectl.map((p) => p.node)).toEqual(Array<string>(REPLICAS).fill(nodeName));
  });
});
