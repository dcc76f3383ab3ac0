// A pod cache that lags behind the apiserver (a node's informer re-listing under load, a node added
// moments ago) must never cost a running pod its container group: the orphan collector waits for
// every cache to list, and both it and the pod-gone path ask the apiserver before deleting.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { GROUP_TAGS, type ContainerGroup } from '../../../provider/cloud/model.ts';
import { EventReason } from '../../../provider/events/reasons.ts';
import type { CloudPort, PodLookup } from '../../../provider/ports.ts';
import { PodController } from '../../../provider/pods/controller.ts';
import { makePod } from '../builders.ts';

const RUNNING_UID = 'uid-running';

function group(uid: string, podName: string): ContainerGroup {
  return {
    id: `eci-${uid}`,
    name: podName,
    status: 'Running',
    zoneId: 'cn-hangzhou-i',
    vSwitchId: 'vsw-i1',
    securityGroupId: 'sg-1',
    vpcId: 'vpc-1',
    cpu: 1,
    memory: 2,
    containers: [],
    initContainers: [],
    events: [],
    tags: { [GROUP_TAGS.cluster]: 'c1', [GROUP_TAGS.podUid]: uid, [GROUP_TAGS.namespace]: 'default', [GROUP_TAGS.pod]: podName },
  };
}

/** A controller over a cache that holds `cached` while the cloud has a group for the running pod. */
function harness(o: { cached: V1Pod[]; synced: boolean; existsAtApiserver: boolean }) {
  const deleted: string[] = [];
  const lookups: Parameters<PodLookup['podExists']>[0][] = [];
  const groups = [group(RUNNING_UID, 'web-0')];
  const cloud = {
    listContainerGroups: async () => groups,
    describeContainerGroups: async (ids: string[]) => groups.filter((g) => ids.includes(g.id)),
    deleteContainerGroup: async (id: string) => void deleted.push(id),
  } as unknown as CloudPort;
  const controller = new PodController({
    cloud,
    pods: { get: (ns, name) => o.cached.find((p) => p.metadata?.namespace === ns && p.metadata?.name === name), list: () => o.cached },
    podsSynced: () => o.synced,
    podLookup: {
      podExists: async (pod) => {
        lookups.push(pod);
        return o.existsAtApiserver;
      },
    },
    writer: { patchPodStatus: async () => {}, annotatePod: async () => {}, finishPodDeletion: async () => {}, recordEvent: () => {} },
    inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
    network: { plan: async () => ({ kind: 'wait', reason: EventReason.VSwitchesExhausted, message: 'no free IP', retryAfterMs: 1000 }), noteExhausted: () => {}, noteAllocated: () => {} },
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    zoneOfNode: () => 'cn-hangzhou-i',
    log: { info: () => {}, warn: () => {}, error: () => {} },
    workers: 1,
    statusPollIntervalMs: 60_000,
    resyncIntervalMs: 60_000,
    orphanGracePeriodMs: 0,
    backoffBaseMs: 10,
    backoffMaxMs: 100,
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
    await waitForIdle(h.controller);
    expect(h.deleted).toEqual([]);
    expect(h.lookups).toContainEqual({ namespace: 'default', name: 'web-0', uid: RUNNING_UID });
    await h.controller.stop();
  });
});

async function waitForIdle(controller: PodController): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (controller.queue.inFlight > 0 || controller.queue.depth > 0) {
    if (Date.now() > deadline) throw new Error(`TEST_DEADLINE: the pod queue to drain within 5 s; depth ${controller.queue.depth}, in flight ${controller.queue.inFlight}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
