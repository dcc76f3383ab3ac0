// The provider's apiserver writes per pod from bound to Running, counted by the apiserver itself
// (its APF flow-schema metrics, as the benchmark counts them), not by the provider: one status
// patch carrying the provider's annotations, and one Event folding the group's ECI events.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubernetesPodWriter } from '../../adapters/kubernetes/pods.ts';
import { EventReason } from '../../provider/events/reasons.ts';
import { POD_ANNOTATIONS } from '../../provider/pods/annotations.ts';
import { runBenchmark } from '../bench/harness.ts';
import { renderDetails } from '../bench/report.ts';
import { apis, controlPlane, kubeConfig, uniqueName, useTestNamespace } from './helpers/cluster.ts';

describe('apiserver writes per pod', () => {
  const namespace = useTestNamespace('pod-writes');

  it('the pods/status subresource takes the annotations in the same patch, and refuses a re-created pod', async () => {
    const { core } = apis();
    const name = uniqueName('w');
    const pod = await core.createNamespacedPod({ namespace: namespace(), body: { metadata: { name }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } });
    const key = { namespace: namespace(), name, uid: pod.metadata!.uid! };
    const writer = new KubernetesPodWriter({ kubeConfig: kubeConfig(), component: 'pod-writes-test', log: { warn: () => {} } });
    await writer.patchPodStatus(key, { phase: 'Running', podIP: '10.0.0.9' }, { [POD_ANNOTATIONS.instanceId]: 'eci-w1' });
    const read = await core.readNamespacedPod({ name, namespace: namespace() });
    expect(read.status?.phase).toBe('Running');
    expect(read.status?.podIP).toBe('10.0.0.9');
    expect(read.metadata?.annotations?.[POD_ANNOTATIONS.instanceId]).toBe('eci-w1');
    // The UID in the patch: a pod re-created under the same name is not written.
    await expect(writer.patchPodStatus({ ...key, uid: '00000000-0000-0000-0000-000000000000' }, { phase: 'Failed' }, { [POD_ANNOTATIONS.instanceId]: 'eci-other' })).rejects.toBeInstanceOf(k8s.ApiException);
    // Without annotations too: a status computed for the old pod never lands on the new one.
    await expect(writer.patchPodStatus({ ...key, uid: '00000000-0000-0000-0000-000000000000' }, { phase: 'Failed' })).rejects.toBeInstanceOf(k8s.ApiException);
    const after = await core.readNamespacedPod({ name, namespace: namespace() });
    expect(after.metadata?.annotations?.[POD_ANNOTATIONS.instanceId]).toBe('eci-w1');
    expect(after.status?.phase).toBe('Running');
  });

  it('the raw writes keep the typed client\'s answers: a gone or re-created pod is no error, an Event repeat bumps its count', async () => {
    const { core } = apis();
    const name = uniqueName('r');
    const pod = await core.createNamespacedPod({ namespace: namespace(), body: { metadata: { name }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } });
    const key = { namespace: namespace(), name, uid: pod.metadata!.uid! };
    const writer = new KubernetesPodWriter({ kubeConfig: kubeConfig(), component: 'pod-writes-test', log: { warn: () => {} } });
    // Another UID (the pod was re-created): the apiserver refuses the precondition (409), nothing is deleted.
    await writer.finishPodDeletion({ ...key, uid: '00000000-0000-0000-0000-000000000000' });
    expect((await core.readNamespacedPod({ name, namespace: namespace() })).metadata?.uid).toBe(key.uid);
    // The same event twice: one Event whose count is 2 (a create, then a merge patch).
    writer.recordEvent(key, { type: 'Normal', reason: EventReason.ContainerGroupCreated, message: 'raw write test' });
    await writer.events.flush();
    writer.recordEvent(key, { type: 'Normal', reason: EventReason.ContainerGroupCreated, message: 'raw write test' });
    await writer.events.flush();
    const events = await core.listNamespacedEvent({ namespace: namespace(), fieldSelector: `involvedObject.uid=${key.uid}` });
    expect(events.items.filter((e) => e.source?.component === 'pod-writes-test').map((e) => [e.reason, e.message, e.count])).toEqual([[EventReason.ContainerGroupCreated, 'raw write test', 2]]);
    // Deleted with grace 0, then every write about it is a quiet no-op (404).
    await writer.finishPodDeletion(key);
    await expect(core.readNamespacedPod({ name, namespace: namespace() })).rejects.toMatchObject({ code: 404 });
    await writer.finishPodDeletion(key);
    await writer.annotatePod(key, { [POD_ANNOTATIONS.instanceId]: 'eci-gone' });
    await writer.patchPodStatus(key, { phase: 'Running' });
  });

  it('20 pods reach Running with at most 2 writes each (status + annotations, one Event)', async () => {
    const cp = controlPlane();
    const lines: string[] = [];
    const result = await runBenchmark({
      pods: 20,
      modes: ['unlimited'],
      systems: ['eci-vn'],
      workers: 8,
      deployments: 2,
      pacedRate: 100,
      pacedPods: 0,
      restart: false,
      controlPlane: { server: cp.server, kubeconfigPath: cp.kubeconfigPath, binDir: cp.binDir, caCertPem: cp.caCertPem, caKeyPem: cp.caKeyPem },
      log: (line) => lines.push(line),
    });
    const ours = result.cases[0]!;
    process.stderr.write(`\n${renderDetails(result)}\n`);
    expect(ours.errors, lines.join('\n')).toEqual([]);
    expect(ours.create.running).toBe(20);
    const byKind = ours.apiserverCreateRequestsPerPodByKind ?? {};
    const writes = Object.entries(byKind)
      .filter(([kind]) => kind !== 'other')
      .reduce((sum, [, n]) => sum + n, 0);
    // Counted: the apiserver saw this identity's writes at all (the status of 20 pods).
    expect(byKind['patch-pods-status']).toBeGreaterThanOrEqual(1);
    expect(byKind['patch-pods'] ?? 0).toBe(0);
    expect(writes).toBeLessThanOrEqual(2);
  }, 300_000);
});
