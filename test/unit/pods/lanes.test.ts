// Status never waits behind creates: with the cloud's create tokens used up (a create that does
// not return until released), a created pod's status is still reported, on a one-worker queue.
// Nor do creates wait behind status writes: a PATCH the apiserver has not answered holds no worker.
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../helpers/deadline.ts';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import type { CloudPort, PodWriter } from '../../../provider/ports.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';
import { podKeyOf, podKeyString, PodSync } from '../../../provider/pods/sync.ts';
import { KeyedWorkQueue } from '../../../provider/pods/workqueue.ts';
import { makePod } from '../builders.ts';
import { appContainer, runningGroup } from './controller-harness.ts';

const running = (uid: string): ContainerGroup =>
  runningGroup({ id: 'eci-running', uid, pod: 'created', name: 'g', intranetIp: '10.0.0.9', cpu: 2, memory: 4, containers: [appContainer('2026-01-01T00:00:05Z')] });

describe('pod sync lanes', () => {
  it('reports a created group\'s status while another pod waits for a create token', async () => {
    const bound = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] };
    const waiting = makePod({ name: 'waits-for-token', uid: 'uid-create', nodeName: 'vn', containers: [{ name: 'app', image: 'nginx' }], spec: { dnsPolicy: 'Default' }, status: bound });
    const created = makePod({ name: 'created', uid: 'uid-status', nodeName: 'vn', containers: [{ name: 'app', image: 'nginx' }], spec: { dnsPolicy: 'Default' }, status: bound });
    const pods = new Map<string, V1Pod>([['waits-for-token', waiting], ['created', created]]);
    let releaseToken!: () => void;
    const token = new Promise<void>((resolve) => (releaseToken = resolve));
    let createsStarted = 0;
    const cloud = {
      createContainerGroup: async () => {
        createsStarted++;
        await token; // the create bucket is empty until released
        return { containerGroupId: 'eci-new' };
      },
      describeContainerGroups: async () => [],
    } as unknown as CloudPort;
    const statuses = new Map<string, V1PodStatus>();
    const writer = statusWriter(async (key, status) => void statuses.set(key.name, status));
    const groups = new GroupIndex();
    groups.put(running('uid-status'));
    const sync = laneSync({ cloud, writer, pods, groups });
    const byKey = new Map([waiting, created].map((p) => [podKeyString(podKeyOf(p)), podKeyOf(p)]));
    const queue = new KeyedWorkQueue<string>({ concurrency: 1, backoffBaseMs: 1, backoffMaxMs: 1, handle: (key, work) => sync.syncPod(byKey.get(key)!, work) });

    queue.add(podKeyString(podKeyOf(waiting)));
    queue.add(podKeyString(podKeyOf(created)));
    const deadline = Date.now() + 2_000;
    while (statuses.get('created') === undefined) {
      if (Date.now() > deadline) throw new Error(`timed out after 2 s waiting for the status of pod "created"; creates started ${createsStarted}, statuses ${JSON.stringify([...statuses.keys()])}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(statuses.get('created')?.phase).toBe('Running');
    expect(createsStarted).toBe(1);
    expect(groups.createdFor('uid-create')).toBeUndefined();
    releaseToken();
    await withDeadline(queue.idle(), 5_000, 'the work queue to go idle');
    expect(groups.createdFor('uid-create')).toBe('eci-new');
  });

  it('creates a new pod\'s group while another pod\'s status PATCH waits for the apiserver', async () => {
    const bound = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] };
    const fresh = makePod({ name: 'new', uid: 'uid-create', nodeName: 'vn', containers: [{ name: 'app', image: 'nginx' }], spec: { dnsPolicy: 'Default' }, status: bound });
    const created = makePod({ name: 'created', uid: 'uid-status', nodeName: 'vn', containers: [{ name: 'app', image: 'nginx' }], spec: { dnsPolicy: 'Default' }, status: bound });
    const pods = new Map<string, V1Pod>([['new', fresh], ['created', created]]);
    let answerPatch!: () => void;
    const apiserver = new Promise<void>((resolve) => (answerPatch = resolve));
    const statuses = new Map<string, V1PodStatus>();
    let createsStarted = 0;
    const cloud = {
      createContainerGroup: async () => {
        createsStarted++;
        return { containerGroupId: 'eci-new' };
      },
      describeContainerGroups: async () => [],
    } as unknown as CloudPort;
    const writer = statusWriter(async (key, status) => {
      await apiserver; // a loaded apiserver: the PATCH is not answered until released
      statuses.set(key.name, status);
    });
    const groups = new GroupIndex();
    groups.put(running('uid-status'));
    const sync = laneSync({ cloud, writer, pods, groups });
    const byKey = new Map([fresh, created].map((p) => [podKeyString(podKeyOf(p)), podKeyOf(p)]));
    const queue = new KeyedWorkQueue<string>({ concurrency: 1, writeConcurrency: 1, backoffBaseMs: 1, backoffMaxMs: 1, handle: (key, work) => sync.syncPod(byKey.get(key)!, work) });

    queue.add(podKeyString(podKeyOf(created)));
    queue.add(podKeyString(podKeyOf(fresh)));
    const deadline = Date.now() + 2_000;
    while (groups.createdFor('uid-create') === undefined) {
      if (Date.now() > deadline) throw new Error(`timed out after 2 s waiting for the create of pod "new" while the PATCH of "created" waits; creates started ${createsStarted}, in the write lane ${queue.inWriteLane}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(statuses.size).toBe(0);
    expect(queue.inWriteLane).toBe(1);
    answerPatch();
    await withDeadline(queue.idle(), 5_000, 'the work queue to go idle');
    expect(statuses.get('created')?.phase).toBe('Running');
  });
});

/** A PodSync over in-memory pods, the given cloud and writer, and a network that always has room. */
/** A PodWriter whose status PATCH is `patchPodStatus`; its other writes do nothing. */
function statusWriter(patchPodStatus: PodWriter['patchPodStatus']): PodWriter {
  return { patchPodStatus, annotatePod: async () => {}, finishPodDeletion: async () => {}, recordEvent: () => {} };
}

function laneSync(o: { cloud: CloudPort; writer: PodWriter; pods: Map<string, V1Pod>; groups: GroupIndex }): PodSync {
  return new PodSync({
    cloud: o.cloud,
    pods: { get: (_ns, name) => o.pods.get(name), list: () => [...o.pods.values()] },
    podLookup: { podExists: async () => false },
    writer: o.writer,
    inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
    network: {
      plan: async () => ({ kind: 'ready', zoneId: 'cn-hangzhou-i', vSwitchId: 'vsw-i1', securityGroupId: 'sg-1', reason: 'default network' }),
      noteExhausted: () => {},
      noteAllocated: () => {},
    },
    groups: o.groups,
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    zoneOfNode: () => 'cn-hangzhou-i',
    log: { info: () => {}, warn: () => {}, error: () => {} },
  });
}
