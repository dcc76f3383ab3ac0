// The apiserver writes one pod costs from bound to Running, counted by kind: one status patch
// (Running) carrying the provider's annotations (the group id, network and ENI), one Event folding
// the group's ECI events. The writer here applies each write to the pod, as the informer would show it.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { CloudEvent, ContainerGroup } from '../../../provider/cloud/model.ts';
import type { CloudPort, PodEvent, PodWriter } from '../../../provider/ports.ts';
import { POD_ANNOTATIONS } from '../../../provider/pods/annotations.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';
import { ANNOTATION_HOLD_MS, CLOUD_EVENT_HOLD_MS, FINISHED_DELETION_MS, podKeyOf, PodSync, STATUS_ECHO_MS } from '../../../provider/pods/sync.ts';
import { hasFastProperties } from '../../helpers/fast-properties.ts';
import { makePod } from '../builders.ts';
import { appContainer, runningGroup } from './controller-harness.ts';

const UID = 'uid-writes';

function cloudEvent(reason: string, message: string, at: string, type: 'Normal' | 'Warning' = 'Normal'): CloudEvent {
  return { type, reason, message, count: 1, firstTimestamp: at, lastTimestamp: at };
}

function group(status: ContainerGroup['status'], events: CloudEvent[], running = false): ContainerGroup {
  return runningGroup({
    id: 'eci-1',
    uid: UID,
    pod: 'web',
    name: 'g',
    status,
    events,
    intranetIp: '10.0.0.7',
    eniInstanceId: 'eni-1',
    cpu: 2,
    memory: 4,
    containers: [appContainer(running ? '2026-01-01T00:00:05Z' : undefined)],
    creationTime: '2026-01-01T00:00:00Z',
  });
}

function harness(initial: V1Pod, o: { cacheShowsStatus?: () => boolean } = {}) {
  let pod = initial;
  let clock = Date.parse('2026-01-01T00:00:01Z');
  const writes = { annotatePod: 0, patchPodStatus: 0, recordEvent: 0 };
  const events: PodEvent[] = [];
  const groups = new GroupIndex();
  /** Pod objects deleted (gracePeriodSeconds=0) and groups looked up by id. */
  const deletion = { finished: 0, described: 0 };
  const cloud = {
    createContainerGroup: async () => ({ containerGroupId: 'eci-1' }),
    describeContainerGroups: async (ids: string[]) => {
      deletion.described += ids.length;
      return [];
    },
  } as unknown as CloudPort;
  const annotate = (annotations: Record<string, string | null>) => {
    const merged = { ...pod.metadata?.annotations } as Record<string, string>;
    for (const [k, v] of Object.entries(annotations)) if (v !== null) merged[k] = v;
    pod = { ...pod, metadata: { ...pod.metadata, annotations: merged } };
  };
  const writer: PodWriter = {
    annotatePod: async (_key, annotations) => {
      writes.annotatePod++;
      annotate(annotations);
    },
    patchPodStatus: async (_key, status, annotations) => {
      writes.patchPodStatus++;
      // A lagging informer: the write happened, the cache does not show it yet.
      if (!(o.cacheShowsStatus?.() ?? true)) return;
      pod = { ...pod, status: { ...pod.status, ...status } };
      if (annotations !== undefined) annotate(annotations);
    },
    finishPodDeletion: async () => {
      deletion.finished++;
    },
    recordEvent: (_key, event) => {
      writes.recordEvent++;
      events.push(event);
    },
  };
  const sync = new PodSync({
    cloud,
    pods: { get: () => pod, list: () => [pod] },
    podLookup: { podExists: async () => false },
    writer,
    inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
    network: {
      plan: async () => ({ kind: 'ready', zoneId: 'cn-hangzhou-i', vSwitchId: 'vsw-i1', securityGroupId: 'sg-1', reason: 'default network' }),
      noteExhausted: () => {},
      noteAllocated: () => {},
    },
    groups,
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    zoneOfNode: () => 'cn-hangzhou-i',
    now: () => new Date(clock),
    log: { info: () => {}, warn: () => {}, error: () => {} },
  });
  return {
    memory: () => sync.memory.peek(UID),
    sync: () => sync.syncPod(podKeyOf(pod)),
    /** What the status poller does: the group described, its owner synced. */
    described: (g: ContainerGroup) => groups.put(g),
    advance: (ms: number) => (clock += ms),
    /** This process begins syncing now (PodController.start). */
    beginSyncing: () => sync.beginSyncing(),
    writes,
    events,
    deletion,
    /** The pod as the informer shows it once it was deleted (grace period running). */
    markDeleted: () => (pod = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date(clock + 30_000) } }),
    pod: () => pod,
  };
}

const boundPod = (): V1Pod =>
  makePod({
    uid: UID,
    nodeName: 'vn-cn-hangzhou-i',
    containers: [{ name: 'app', image: 'nginx' }],
    spec: { dnsPolicy: 'Default' },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date('2026-01-01T00:00:00Z') }] },
  });

describe('PodSync writes per pod', () => {
  it('from bound to Running: one status patch carrying the annotations, one Event', async () => {
    const h = harness(boundPod());
    await h.sync(); // create
    expect(h.events).toEqual([]);
    expect(h.writes).toEqual({ annotatePod: 0, patchPodStatus: 0, recordEvent: 0 });

    h.described(group('Pending', [cloudEvent('Scheduled', 'placed', '2026-01-01T00:00:02Z'), cloudEvent('Pulling', 'pulling nginx', '2026-01-01T00:00:03Z')]));
    await h.sync();
    // "Pending, being created" is not restated; the annotations wait for the status patch.
    expect(h.writes).toEqual({ annotatePod: 0, patchPodStatus: 0, recordEvent: 0 });

    const all = [
      cloudEvent('Scheduled', 'placed', '2026-01-01T00:00:02Z'),
      cloudEvent('Pulling', 'pulling nginx', '2026-01-01T00:00:03Z'),
      cloudEvent('Pulled', 'pulled nginx', '2026-01-01T00:00:04Z'),
      cloudEvent('Started', 'started app', '2026-01-01T00:00:05Z'),
    ];
    h.described(group('Running', all, true));
    await h.sync();
    expect(h.writes).toEqual({ annotatePod: 0, patchPodStatus: 1, recordEvent: 1 });
    expect(h.pod().status?.phase).toBe('Running');
    // The group id, the network and the ENI, in the same request as Running.
    expect(h.pod().metadata?.annotations).toMatchObject({
      [POD_ANNOTATIONS.instanceId]: 'eci-1',
      [POD_ANNOTATIONS.vSwitchId]: 'vsw-i1',
      [POD_ANNOTATIONS.zoneId]: 'cn-hangzhou-i',
      [POD_ANNOTATIONS.securityGroupId]: 'sg-1',
      [POD_ANNOTATIONS.vSwitchReason]: 'default network',
      [POD_ANNOTATIONS.eniId]: 'eni-1',
    });
    expect(h.events[0]).toMatchObject({ type: 'Normal', reason: 'Started' });
    expect(h.events[0]?.message).toBe('Scheduled: placed; Pulling: pulling nginx; Pulled: pulled nginx; Started: started app');

    // Nothing new: nothing written.
    await h.sync();
    expect(h.writes).toEqual({ annotatePod: 0, patchPodStatus: 1, recordEvent: 1 });
    // The cache shows the patch: the copies kept to bridge its lag are gone from the pod's memory.
    expect(h.memory()?.statusWritten).toBeUndefined();
    expect(h.memory()?.annotationsWritten).toBeUndefined();
    // Forgotten by assignment, not delete: the record, kept for the pod's life, stays a fast-mode
    // object (a delete made it a hash table, ~0.8 KB a pod in a 2500-pod heap snapshot).
    expect(hasFastProperties(h.memory())).toBe(true);
  });

  it('a restarted process does not report again the ECI events an earlier one reported', async () => {
    const reported = [
      cloudEvent('Scheduled', 'placed', '2026-01-01T00:00:02Z'),
      cloudEvent('Pulled', 'pulled nginx', '2026-01-01T00:00:04Z'),
      cloudEvent('Started', 'started app', '2026-01-01T00:00:05Z'),
    ];
    const first = harness(boundPod());
    await first.sync();
    first.described(group('Running', reported, true));
    await first.sync();
    expect(first.events).toHaveLength(1);

    // A new process (its memory empty) starts a minute later; the pod names the group.
    const restarted = harness(first.pod());
    restarted.advance(60_000);
    restarted.beginSyncing();
    restarted.described(group('Running', reported, true));
    await restarted.sync();
    expect(restarted.events).toEqual([]);
    // What ECI records from then on is news.
    restarted.advance(5_000);
    restarted.described(group('Running', [...reported, cloudEvent('Killing', 'stopping app', '2026-01-01T00:01:03Z')], true));
    await restarted.sync();
    expect(restarted.events).toEqual([expect.objectContaining({ reason: 'Killing', message: 'stopping app' })]);

    // A Warning is written again rather than risk losing it.
    const warned = harness(first.pod());
    warned.advance(60_000);
    warned.beginSyncing();
    warned.described(group('Running', [...reported, cloudEvent('BackOff', 'back-off pulling nginx', '2026-01-01T00:00:03Z', 'Warning')], true));
    await warned.sync();
    expect(warned.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'BackOff', message: 'back-off pulling nginx' })]);

    // A pod that does not name its group was never reported on (the earlier process stopped
    // between the create and the first report): its events are all written.
    const annotations = { ...first.pod().metadata?.annotations };
    delete annotations[POD_ANNOTATIONS.instanceId];
    const unreported = harness({ ...first.pod(), metadata: { ...first.pod().metadata, annotations } });
    unreported.advance(60_000);
    unreported.beginSyncing();
    unreported.described(group('Running', reported, true));
    await unreported.sync();
    expect(unreported.events).toEqual([expect.objectContaining({ reason: 'Started', message: 'Scheduled: placed; Pulled: pulled nginx; Started: started app' })]);
  });

  it('a group made after the process began syncing keeps every event, even one ECI stamps earlier', async () => {
    const h = harness(boundPod());
    h.advance(60_000);
    h.beginSyncing();
    await h.sync(); // create
    // The cloud's clock a second behind: its events look older than the process's start.
    const made = { ...group('Running', [cloudEvent('Started', 'started app', '2026-01-01T00:00:59Z')], true), creationTime: '2026-01-01T00:01:01Z' };
    h.described(made);
    await h.sync();
    expect(h.pod().metadata?.annotations?.[POD_ANNOTATIONS.instanceId]).toBe('eci-1');
    expect(h.events).toEqual([expect.objectContaining({ reason: 'Started' })]);
    // And after Running, when the pod names the group and the trace (with its create time) is gone.
    h.described({ ...made, events: [...made.events, cloudEvent('Killing', 'stopping app', '2026-01-01T00:00:59Z')] });
    await h.sync();
    expect(h.events.map((e) => e.reason)).toEqual(['Started', 'Killing']);
  });

  it('a pod whose deletion it finished is not looked up or deleted again while the cache still shows it', async () => {
    const h = harness({ ...boundPod(), metadata: { ...boundPod().metadata, annotations: { [POD_ANNOTATIONS.instanceId]: 'eci-1' } } });
    h.markDeleted();
    // The group is gone at the cloud (the fresh look finds nothing): the Pod object is deleted.
    await h.sync();
    expect(h.deletion).toEqual({ finished: 1, described: 1 });
    // The apiserver's MODIFIED (grace period 0) before its DELETED: nothing left to do.
    await h.sync();
    expect(h.deletion).toEqual({ finished: 1, described: 1 });
    // A pod the cache keeps showing (a finalizer holds it) is looked at again after a while.
    h.advance(FINISHED_DELETION_MS);
    await h.sync();
    expect(h.deletion).toEqual({ finished: 2, described: 2 });
  });

  it('a long Pending gets its annotations on their own once the hold is over, and only once', async () => {
    const h = harness(boundPod());
    await h.sync();
    h.described(group('Pending', []));
    await h.sync();
    h.advance(ANNOTATION_HOLD_MS - 1);
    await h.sync();
    expect(h.writes.annotatePod).toBe(0);
    h.advance(1);
    await h.sync();
    expect(h.writes).toEqual({ annotatePod: 1, patchPodStatus: 0, recordEvent: 0 });
    expect(h.pod().metadata?.annotations?.[POD_ANNOTATIONS.instanceId]).toBe('eci-1');
    h.described(group('Running', [], true));
    await h.sync();
    // Running alone: the annotations are there already.
    expect(h.writes).toEqual({ annotatePod: 1, patchPodStatus: 1, recordEvent: 0 });
  });

  it('a wait reason is written while Pending, and a Warning is reported at once', async () => {
    const h = harness(boundPod());
    await h.sync();
    const pulling = group('Pending', [cloudEvent('Failed', 'pull access denied for nginx', '2026-01-01T00:00:03Z', 'Warning')]);
    pulling.containers[0]!.currentState = { state: 'Waiting', reason: 'ErrImagePull', message: 'pull access denied' };
    h.described(pulling);
    await h.sync();
    expect(h.writes).toEqual({ annotatePod: 0, patchPodStatus: 1, recordEvent: 1 });
    expect(h.pod().metadata?.annotations?.[POD_ANNOTATIONS.instanceId]).toBe('eci-1');
    expect(h.pod().status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ErrImagePull');
    expect(h.events[0]).toMatchObject({ type: 'Warning', reason: 'Failed' });
  });

  it('Normal ECI events of a long Pending are reported once they are older than the hold', async () => {
    const h = harness(boundPod());
    await h.sync();
    h.described(group('Pending', [cloudEvent('Pulling', 'pulling a large image', '2026-01-01T00:00:03Z')]));
    await h.sync();
    expect(h.writes.recordEvent).toBe(0);
    h.advance(CLOUD_EVENT_HOLD_MS);
    await h.sync();
    expect(h.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'Pulling', message: 'pulling a large image' })]);
    expect(h.writes.patchPodStatus).toBe(0);
  });

  it('does not patch the same status again while the cache lags behind its own write', async () => {
    let lagging = true;
    const h = harness(boundPod(), { cacheShowsStatus: () => !lagging });
    await h.sync();
    h.described(group('Running', [], true));
    await h.sync();
    await h.sync(); // e.g. the event of the annotation patch arrives before the status patch's
    expect(h.writes.patchPodStatus).toBe(1);
    // The cache does not show the write yet: the copy that bridges the lag stays.
    expect(h.memory()?.statusWritten?.status.phase).toBe('Running');
    // Someone else changed the status meanwhile (the cache still disagrees after the echo window):
    // the provider's view is written again.
    h.advance(STATUS_ECHO_MS);
    await h.sync();
    expect(h.writes.patchPodStatus).toBe(2);
    // Once the cache shows a write, the pod's status is compared as usual: nothing more to write.
    lagging = false;
    h.advance(STATUS_ECHO_MS);
    await h.sync();
    expect(h.pod().status?.phase).toBe('Running');
    await h.sync();
    expect(h.writes.patchPodStatus).toBe(3);
    expect(h.memory()?.statusWritten).toBeUndefined();
  });
});
