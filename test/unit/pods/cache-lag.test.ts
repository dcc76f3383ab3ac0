// A pod cache that lags behind the apiserver (a node's informer re-listing under load, a node added
// moments ago) must never cost a running pod its container group: the orphan collector waits for
// every cache to list, and both it and the pod-gone path ask the apiserver before deleting.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { PodLookup } from '../../../provider/ports.ts';
import { makePod } from '../builders.ts';
import { controllerOver, runningGroup, settle } from './controller-harness.ts';

const RUNNING_UID = 'uid-running';

const group = (uid: string, podName: string) => runningGroup({ id: `eci-${uid}`, uid, pod: podName, name: podName });

/** A controller over a cache that holds `cached` while the cloud has a group for the running pod. */
function harness(o: { cached: V1Pod[]; synced: boolean; existsAtApiserver: boolean }) {
  const lookups: Parameters<PodLookup['podExists']>[0][] = [];
  const { controller, deleted } = controllerOver({
    groups: [group(RUNNING_UID, 'web-0')],
    pods: () => o.cached,
    synced: () => o.synced,
    podExists: async (pod) => {
      lookups.push(pod);
      return o.existsAtApiserver;
    },
  });
  return { controller, deleted, lookups };
}

describe('a lagging pod cache never deletes a running pod\'s group', () => {
  it('collects no orphan while a pod cache has not listed', async () => {
    const h = harness({ cached: [], synced: false, existsAtApiserver: false });
    await h.controller.relist();
    await h.controller.relist();
    expect(h.deleted).toEqual([]);
    expect(h.lookups).toEqual([]);
  });

  it('keeps a seeming orphan whose pod the apiserver still has, asking by the name tag', async () => {
    const h = harness({ cached: [], synced: true, existsAtApiserver: true });
    await h.controller.relist();
    expect(h.deleted).toEqual([]);
    expect(h.lookups).toEqual([{ namespace: 'default', name: 'web-0', uid: RUNNING_UID }]);
  });

  it('deletes a real orphan once the apiserver confirms its pod is gone', async () => {
    const h = harness({ cached: [], synced: true, existsAtApiserver: false });
    await h.controller.relist();
    expect(h.deleted).toEqual([`eci-${RUNNING_UID}`]);
  });

  it('does not ask about a group whose pod the cache holds', async () => {
    const pod = makePod({ name: 'web-0', namespace: 'default', uid: RUNNING_UID });
    const h = harness({ cached: [pod], synced: true, existsAtApiserver: false });
    await h.controller.relist();
    expect([h.deleted, h.lookups]).toEqual([[], []]);
  });

  it('keeps the group of a queued pod that left the cache but exists at the apiserver', async () => {
    const pod = makePod({ name: 'web-0', namespace: 'default', uid: RUNNING_UID });
    const cached = [pod];
    const h = harness({ cached, synced: true, existsAtApiserver: true });
    await h.controller.relist(); // the index learns the group
    cached.length = 0; // the cache loses the pod, and then its key is synced
    h.controller.enqueue(pod);
    await settle(h.controller, 'the pod queue to drain');
    expect(h.deleted).toEqual([]);
    expect(h.lookups).toContainEqual({ namespace: 'default', name: 'web-0', uid: RUNNING_UID });
    await h.controller.stop();
  });
});
