// Events as kubelet users know them, on the real control plane and the cloud simulator: three
// identical create failures are ONE Event with count 3 (client-go's correlator), and a missing
// optional reference gets virtual-kubelet's Warning reason while the pod still runs.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { apis, kubectl, useTestNamespace } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { deleteNodes, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { waitFor } from './helpers/wait.ts';
import { budget, fetchText, withDeadline } from '../helpers/deadline.ts';

const namespace = useTestNamespace('events');
let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;

beforeAll(async () => {
  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await testWorld(), log: () => {} });
  config = testConfig(sim);
  provider = await startTestProvider(config, memoryLogger().log);
});

afterAll(async () => {
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  if (config) await deleteNodes(config);
  await sim?.stop();
});

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetchText(`${sim.adminEndpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${sim.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    what: `cloudsim admin ${method} ${path}`,
  });
  if (!res.ok) throw new Error(`cloudsim admin ${method} ${path}: ${res.status} ${res.text}`);
  return JSON.parse(res.text) as unknown;
}

async function eventsOf(pod: V1Pod): Promise<CoreV1Event[]> {
  const list = await apis().core.listNamespacedEvent({ namespace: namespace(), fieldSelector: `involvedObject.uid=${pod.metadata!.uid!}` });
  return list.items;
}

const describeEvents = (pod: () => V1Pod | undefined) => async () => {
  const p = pod();
  if (p === undefined) return 'the pod (not created yet)';
  const events = await eventsOf(p);
  return `events of ${p.metadata!.name}: ${JSON.stringify(events.map((e) => ({ reason: e.reason, type: e.type, count: e.count, message: e.message })))}`;
};

async function running(name: string): Promise<V1Pod> {
  return waitFor(
    async () => {
      const p = await apis().core.readNamespacedPod({ name, namespace: namespace() });
      return p.status?.phase === 'Running' ? p : undefined;
    },
    { timeoutMs: budget({ baseMs: 90_000 }), describe: async () => `pod ${name} Running (now ${(await apis().core.readNamespacedPod({ name, namespace: namespace() })).status?.phase})` },
  );
}

describe('events', () => {
  it('counts three identical create failures on one Event (count 3), and the pod then runs', async () => {
    // The next three CreateContainerGroup calls answer 503: retried with backoff, same message each time.
    await admin('PUT', '/admin/faults', { rules: [{ action: 'CreateContainerGroup', rate: 1, times: 3, code: 'ServiceUnavailable', status: 503, message: 'The request has failed due to a temporary failure of the server.' }] });
    let pod: V1Pod | undefined;
    try {
      pod = await apis().core.createNamespacedPod({
        namespace: namespace(),
        body: { metadata: { name: 'flaky' }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }], ...virtualNodePlacement(config) } },
      });
      await running('flaky');
    } finally {
      await admin('PUT', '/admin/faults', { rules: [] });
    }
    const counted = await waitFor(
      async () => {
        const failures = (await eventsOf(pod)).filter((e) => e.reason === 'ProviderCreateFailed');
        return failures.length === 1 && failures[0]!.count === 3 ? failures : undefined;
      },
      { timeoutMs: budget({ baseMs: 30_000 }), describe: describeEvents(() => pod) },
    );
    const [event] = counted;
    expect(event!.type).toBe('Warning');
    expect(event!.message).toContain('ServiceUnavailable');
    // What `kubectl get events` shows a user: one row, count 3.
    const { stdout } = await kubectl(['get', 'events', '-n', namespace(), '--field-selector', `involvedObject.name=flaky,reason=ProviderCreateFailed`, '-o', 'jsonpath={range .items[*]}{.count}{"\\n"}{end}']);
    expect(stdout.trim().split('\n')).toEqual(['3']);
  });

  it('runs a pod whose optional ConfigMap key is missing, with an OptionalConfigMapKeyNotFound Warning', async () => {
    const { core } = apis();
    await core.createNamespacedConfigMap({ namespace: namespace(), body: { metadata: { name: 'settings' }, data: { LEVEL: 'debug' } } });
    let pod: V1Pod | undefined = await core.createNamespacedPod({
      namespace: namespace(),
      body: {
        metadata: { name: 'optional-ref' },
        spec: {
          ...virtualNodePlacement(config),
          containers: [
            {
              name: 'main',
              image: 'nginx:1.27',
              env: [
                { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'LEVEL' } } },
                { name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'settings', key: 'COLOR', optional: true } } },
              ],
            },
          ],
        },
      },
    });
    pod = await running('optional-ref');
    const warning = await waitFor(async () => (await eventsOf(pod)).find((e) => e.reason === 'OptionalConfigMapKeyNotFound'), {
      timeoutMs: budget({ baseMs: 30_000 }),
      describe: describeEvents(() => pod),
    });
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain('"COLOR"');
    expect(warning.message).toContain('spec.containers[0].env[1]');
  });

  it('keeps a missing mandatory ConfigMap as MandatoryConfigMapNotFound until it is created', async () => {
    const { core } = apis();
    let pod: V1Pod | undefined = await core.createNamespacedPod({
      namespace: namespace(),
      body: {
        metadata: { name: 'mandatory-ref' },
        spec: { ...virtualNodePlacement(config), containers: [{ name: 'main', image: 'nginx:1.27', envFrom: [{ configMapRef: { name: 'later' } }] }] },
      },
    });
    await waitFor(async () => (await eventsOf(pod!)).find((e) => e.reason === 'MandatoryConfigMapNotFound' && e.type === 'Warning'), {
      timeoutMs: budget({ baseMs: 60_000 }),
      describe: describeEvents(() => pod),
    });
    await core.createNamespacedConfigMap({ namespace: namespace(), body: { metadata: { name: 'later' }, data: { A: '1' } } });
    pod = await running('mandatory-ref');
    expect(pod.status?.phase).toBe('Running');
  });
});
