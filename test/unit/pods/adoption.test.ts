// Start-up adoption: a pod whose group came with a page of the start-up list is synced while the
// list goes on (a restart repairs its pods early); a pod whose group has not been listed is not
// synced (no network plan, no create) until the whole list is in the index, even when its cache
// reports a change meanwhile.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import type { ListOptions } from '../../../provider/ports.ts';
import { POD_ANNOTATIONS } from '../../../provider/pods/annotations.ts';
import { makePod } from '../builders.ts';
import { controllerOver, runningGroup, settle } from './controller-harness.ts';

const group = (id: string, uid: string, name: string) => runningGroup({ id, uid, pod: name, intranetIp: '10.0.0.5', creationTime: '2026-12-06T07:00:00Z' });

/** A Running pod whose Ready condition went stale (False) while no provider ran. */
function stalePod(name: string, uid: string): V1Pod {
  const pod = makePod({ name, namespace: 'default', uid, nodeName: 'vn-i' });
  pod.status = { phase: 'Running', podIP: '10.0.0.5', conditions: [{ type: 'Ready', status: 'False', reason: 'BenchStale' }] };
  return pod;
}

describe('start-up adoption', () => {
  it('syncs the pods of a listed page before the list ends, and the others only after it', async () => {
    const early = stalePod('web-0', 'uid-early');
    const unlisted = makePod({ name: 'web-1', namespace: 'default', uid: 'uid-new', nodeName: 'vn-i' });
    const pods = [early, unlisted];
    let releaseSecondPage: () => void = () => {};
    const secondPage = new Promise<void>((r) => (releaseSecondPage = r));
    let pagesServed = 0;
    let pageAt = 0;
    const list = async (_tags: Readonly<Record<string, string>>, o?: ListOptions): Promise<ContainerGroup[]> => {
      const first = [group('eci-early', 'uid-early', 'web-0')];
      // The first page comes a little after the list began: it counts as the adoption's progress.
      await new Promise((r) => setTimeout(r, 20));
      pageAt = Date.now();
      o?.onPage?.(first);
      pagesServed = 1;
      await secondPage;
      pagesServed = 2;
      return first;
    };
    const h = controllerOver({ groups: [], pods: () => pods, podExists: async () => true, list });
    const abort = new AbortController();
    const started = h.controller.start(abort.signal);

    await settle(h.controller, 'the listed pod repaired while the list waits on its second page', () => h.patched.includes('web-0'));
    // The cache reports a change of the unlisted pod while the list is still going on.
    h.controller.enqueue(unlisted);
    await settle(h.controller, 'the queue to drain');
    expect([pagesServed, h.planned]).toEqual([1, []]);
    // The nodes' readiness counts a stall from the last page, not from the start of the list.
    expect(h.controller.adoption().lastProgressAt).toBeGreaterThanOrEqual(pageAt);

    releaseSecondPage();
    await started;
    await settle(h.controller, 'the unlisted pod synced once the list ended', () => h.planned.includes('web-1'));
    expect(h.planned).toEqual(['web-1']);
    abort.abort();
    await h.controller.stop();
  });

  it('does not write again the ECI events of a group an earlier process reported', async () => {
    // The pod names its group (an earlier process reported it); ECI lists the group's old events.
    const pod = stalePod('web-5', 'uid-5');
    pod.metadata!.annotations = { [POD_ANNOTATIONS.instanceId]: 'eci-5' };
    const listed = { ...group('eci-5', 'uid-5', 'web-5'), events: [{ type: 'Normal' as const, reason: 'Started', message: 'started app', count: 1, firstTimestamp: '2026-12-06T07:00:05Z', lastTimestamp: '2026-12-06T07:00:05Z' }] };
    const h = controllerOver({ groups: [listed], pods: () => [pod], podExists: async () => true });
    const abort = new AbortController();
    await h.controller.start(abort.signal);
    await settle(h.controller, 'web-5 repaired', () => h.patched.includes('web-5'));
    expect(h.events).toEqual([]);
    abort.abort();
    await h.controller.stop();
  });

  it('does not sync a pod the cache reports before the controller has listed at all', async () => {
    const pod = makePod({ name: 'web-2', namespace: 'default', uid: 'uid-2', nodeName: 'vn-i' });
    const h = controllerOver({ groups: [], pods: () => [pod], podExists: async () => true });
    h.controller.enqueue(pod);
    await settle(h.controller, 'the queue to drain');
    expect(h.planned).toEqual([]);
    await h.controller.relist();
    await settle(h.controller, 'web-2 synced after the list', () => h.planned.length > 0);
    expect(h.planned).toEqual(['web-2']);
    await h.controller.stop();
  });

  it('syncs after the list an update of a pod whose listed group was found gone during it', async () => {
    // Being deleted: its sync describes the group afresh, finds it gone and forgets it.
    const leaving = makePod({ name: 'web-3', namespace: 'default', uid: 'uid-3', nodeName: 'vn-i' });
    leaving.metadata!.deletionTimestamp = new Date('2026-12-06T07:00:00Z');
    let releaseSecondPage: () => void = () => {};
    const secondPage = new Promise<void>((r) => (releaseSecondPage = r));
    const list = async (_tags: Readonly<Record<string, string>>, o?: ListOptions): Promise<ContainerGroup[]> => {
      o?.onPage?.([group('eci-3', 'uid-3', 'web-3')]);
      await secondPage;
      return [];
    };
    const h = controllerOver({ groups: [], pods: () => [leaving], podExists: async () => true, list, describe: async () => [] });
    const abort = new AbortController();
    const started = h.controller.start(abort.signal);
    await settle(h.controller, 'web-3 synced from its page', () => h.finished.length === 1);
    const syncsBefore = h.syncs.length;
    // An update of the pod while the list goes on (its group no longer in the index).
    h.controller.enqueue(leaving);
    releaseSecondPage();
    await started;
    await settle(h.controller, 'the update of web-3 synced once the list ended', () => h.syncs.length > syncsBefore);
    // Synced, and nothing done twice: this process already deleted the Pod object.
    expect(h.finished).toEqual(['web-3']);
    abort.abort();
    await h.controller.stop();
  });

  it('reports a failing start-up list and the pods it holds (for the nodes\' readiness), and clears it once a list succeeds', async () => {
    const bound = makePod({ name: 'web-4', namespace: 'default', uid: 'uid-4', nodeName: 'vn-i' });
    let failures = 1;
    const list = async (): Promise<ContainerGroup[]> => {
      if (failures-- > 0) throw new Error('Forbidden.RAM: not authorized to eci:DescribeContainerGroups');
      return [];
    };
    const h = controllerOver({ groups: [], pods: () => [bound], podExists: async () => true, list });
    const abort = new AbortController();
    const started = h.controller.start(abort.signal);
    const deadline = Date.now() + 5_000;
    while (h.controller.adoption().lastListError === undefined) {
      if (Date.now() > deadline) throw new Error(`TEST_DEADLINE: the failed list within 5 s; adoption ${JSON.stringify(h.controller.adoption())}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    h.controller.enqueue(bound);
    expect(h.controller.adoption()).toEqual({ adopted: false, podsHeld: 1, lastProgressAt: expect.any(Number), lastListError: expect.stringContaining('Forbidden.RAM') });
    await started; // the retry (1 s later) lists
    expect(h.controller.adoption()).toEqual({ adopted: true, podsHeld: 0, lastProgressAt: expect.any(Number) });
    await settle(h.controller, 'web-4 synced after the list', () => h.planned.includes('web-4'));
    abort.abort();
    await h.controller.stop();
  });
});
