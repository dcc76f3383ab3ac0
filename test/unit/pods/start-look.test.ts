import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import type { CloudPort } from '../../../provider/ports.ts';
import { DEFAULT_START_LOOK, LEAVE_TO_POLLER_MS, StartLookTimer } from '../../../provider/pods/start-look.ts';
import { podKeyOf, PodSync } from '../../../provider/pods/sync.ts';
import { makePod } from '../builders.ts';
import { appContainer, runningGroup, syncDefaults } from './controller-harness.ts';

describe('StartLookTimer', () => {
  it('looks first after the initial guess, before anything was seen', () => {
    const t = new StartLookTimer({ initialMs: 1_000 });
    expect(t.plan({ sinceCreateMs: 0, looks: 0 })).toEqual({ kind: 'requeueAfter', ms: 1_000 });
    expect(t.plan({ sinceCreateMs: 400, looks: 0 })).toEqual({ kind: 'requeueAfter', ms: 600 });
    expect(t.plan({ sinceCreateMs: 1_000, looks: 0 })).toEqual({ kind: 'look' });
  });

  it('after a miss, looks again a retry later, however soon the pod is synced again', () => {
    const t = new StartLookTimer({ initialMs: 1_000, retryMs: 200 });
    expect(t.plan({ sinceCreateMs: 1_050, looks: 1, sinceLastLookMs: 50 })).toEqual({ kind: 'requeueAfter', ms: 150 });
    expect(t.plan({ sinceCreateMs: 1_200, looks: 1, sinceLastLookMs: 200 })).toEqual({ kind: 'look' });
  });

  it('leaves the group to the status poller after its looks', () => {
    const t = new StartLookTimer({ maxLooks: 3 });
    expect(t.plan({ sinceCreateMs: 5_000, looks: 3, sinceLastLookMs: 1_000 })).toEqual({ kind: 'requeueAfter', ms: LEAVE_TO_POLLER_MS });
  });

  it('learns when groups get listed: the median of first sightings, half a retry early', () => {
    const t = new StartLookTimer({ initialMs: 1_000, retryMs: 200 });
    for (const ms of [300, 320, 340, 5_000, 310]) t.noteSeen(ms);
    // median 320 (one slow sighting does not move it), looked at 100 ms early
    expect(t.firstLookMs()).toBe(220);
  });

  it('comes down when the cloud lists groups sooner than the guess (sightings are never early)', () => {
    // A cloud that lists a group 300 ms after the create answered. Each look happens at the
    // planned time, finds the group only once it is listed, and reports when it looked.
    const listedAfter = 300;
    const t = new StartLookTimer({ initialMs: 1_000, retryMs: 200 });
    const lookTimes: number[] = [];
    for (let pod = 0; pod < 200; pod++) {
      let at = t.firstLookMs();
      while (at < listedAfter) at += 200;
      t.noteSeen(at);
      lookTimes.push(at);
    }
    // First looks at 1000 ms; then they settle within a retry after the listing.
    expect(lookTimes[0]).toBe(1_000);
    expect(lookTimes.slice(-50).every((at) => at >= listedAfter && at < listedAfter + 200)).toBe(true);
    expect(t.firstLookMs()).toBeLessThan(listedAfter + 200);
  });

  it('waits at most maxFirstLookMs for a first look', () => {
    const t = new StartLookTimer({ maxFirstLookMs: 2_000, samples: 4 });
    for (let i = 0; i < 4; i++) t.noteSeen(60_000);
    expect(t.firstLookMs()).toBe(2_000);
  });

  it('keeps only the last samples', () => {
    const t = new StartLookTimer({ samples: 3, retryMs: 0 });
    for (const ms of [5_000, 5_000, 5_000, 100, 100, 100]) t.noteSeen(ms);
    expect(t.firstLookMs()).toBe(100);
    expect(DEFAULT_START_LOOK.maxLooks).toBeGreaterThan(1);
  });
});

const UID = 'uid-look';

/** The group once the cloud lists it. */
const listedGroup = (): ContainerGroup =>
  runningGroup({ id: 'eci-1', uid: UID, pod: 'web', name: 'g', intranetIp: '10.0.0.7', eniInstanceId: 'eni-1', cpu: 2, memory: 4, containers: [appContainer('2026-01-01T00:00:02Z')], creationTime: '2026-01-01T00:00:01Z' });

/** One bound pod over a cloud that lists its new group only once `listed` is set (ECI's List lag). */
function lookHarness() {
  let pod: V1Pod = makePod({
    uid: UID,
    nodeName: 'vn-cn-hangzhou-i',
    containers: [{ name: 'app', image: 'nginx' }],
    spec: { dnsPolicy: 'Default' },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date('2026-01-01T00:00:00Z') }] },
  });
  let clock = Date.parse('2026-01-01T00:00:01Z');
  const state = { listed: false, describes: [] as string[][], statuses: [] as V1PodStatus[] };
  const cloud = {
    createContainerGroup: async () => ({ containerGroupId: 'eci-1' }),
    describeContainerGroups: async (ids: string[]) => {
      state.describes.push([...ids]);
      return state.listed ? [listedGroup()].filter((g) => ids.includes(g.id)) : [];
    },
  } as unknown as CloudPort;
  const sync = new PodSync({
    cloud,
    pods: { get: () => pod, list: () => [pod] },
    podLookup: { podExists: async () => true },
    writer: {
      annotatePod: async () => {},
      patchPodStatus: async (_key, status) => {
        state.statuses.push(status);
        pod = { ...pod, status: { ...pod.status, ...status } };
      },
      finishPodDeletion: async () => {},
      recordEvent: () => {},
    },
    ...syncDefaults(),
    network: {
      plan: async () => ({ kind: 'ready', zoneId: 'cn-hangzhou-i', vSwitchId: 'vsw-i1', securityGroupId: 'sg-1', reason: 'default network' }),
      noteExhausted: () => {},
      noteAllocated: () => {},
    },
    now: () => new Date(clock),
    startLook: { initialMs: 1_000, retryMs: 200, maxLooks: 3 },
  });
  return { sync: () => sync.syncPod(podKeyOf(pod)), advance: (ms: number) => (clock += ms), state, pod: () => pod };
}

describe('PodSync looks at the group it created when the cloud should list it', () => {
  it('comes back at the first look, looks by id, and reports Running in the pass that finds the group', async () => {
    const h = lookHarness();
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 1_000 }); // created
    // An informer event before the look is due: no cloud call.
    h.advance(400);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 600 });
    expect(h.state.describes).toEqual([]);

    h.advance(600);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 200 }); // not listed yet
    expect(h.state.describes).toEqual([['eci-1']]);

    h.state.listed = true;
    h.advance(100);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 100 });
    expect(h.state.describes).toHaveLength(1);
    h.advance(100);
    expect(await h.sync()).toEqual({ kind: 'done' });
    expect(h.state.describes).toEqual([['eci-1'], ['eci-1']]);
    expect(h.state.statuses.map((s) => s.phase)).toEqual(['Running']);
    expect(h.pod().status?.podIP).toBe('10.0.0.7');
  });

  it('never reports Running from the look before the cloud lists the group, and leaves it to the poller after its looks', async () => {
    const h = lookHarness();
    await h.sync();
    h.advance(1_000);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 200 });
    h.advance(200);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 200 });
    h.advance(200);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LEAVE_TO_POLLER_MS });
    h.advance(200);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LEAVE_TO_POLLER_MS });
    expect(h.state.describes).toHaveLength(3);
    expect(h.state.statuses).toEqual([]);
    expect(h.pod().status?.phase).toBe('Pending');
  });
});
