import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import type { CloudPort } from '../../../provider/ports.ts';
import { DEFAULT_START_LOOK, LEAVE_TO_POLLER_MS, StartLookTimer } from '../../../provider/pods/start-look.ts';
import { LOOK_ANSWER_WAIT_MS, podKeyOf, PodSync } from '../../../provider/pods/sync.ts';
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

  it('holds a due look a retry while too many looks are under way', () => {
    const t = new StartLookTimer({ initialMs: 1_000, retryMs: 200, maxInFlight: 2 });
    expect(t.plan({ sinceCreateMs: 1_000, looks: 0, inFlight: 1 })).toEqual({ kind: 'look' });
    expect(t.plan({ sinceCreateMs: 1_000, looks: 0, inFlight: 2 })).toEqual({ kind: 'requeueAfter', ms: 200 });
    expect(t.plan({ sinceCreateMs: 1_300, looks: 1, sinceLastLookMs: 300, inFlight: 2 })).toEqual({ kind: 'requeueAfter', ms: 200 });
    // Not due yet: the usual wait, whatever is under way.
    expect(t.plan({ sinceCreateMs: 400, looks: 0, inFlight: 5 })).toEqual({ kind: 'requeueAfter', ms: 600 });
  });

  it('leaves the group to the status poller after its looks', () => {
    const t = new StartLookTimer({ maxLooks: 3 });
    expect(t.plan({ sinceCreateMs: 5_000, looks: 3, sinceLastLookMs: 1_000 })).toEqual({ kind: 'requeueAfter', ms: LEAVE_TO_POLLER_MS });
  });

  it('a first look that found the group says only "listed by then": the estimate probes down, by half at most two retries', () => {
    const t = new StartLookTimer({ retryMs: 200, samples: 1 });
    t.note({ kind: 'found', foundMs: 600 });
    expect(t.firstLookMs()).toBe(300);
    t.note({ kind: 'found', foundMs: 2_000 });
    expect(t.firstLookMs()).toBe(1_600);
    t.note({ kind: 'found', foundMs: 0 });
    expect(t.firstLookMs()).toBe(0);
  });

  it('a look that found the group after a miss pins the lag within a retry: its middle', () => {
    const t = new StartLookTimer({ retryMs: 200, samples: 5 });
    for (const [lastMissMs, foundMs] of [[900, 1_100], [1_000, 1_200], [950, 1_150], [5_000, 5_200], [980, 1_180]] as const) t.note({ kind: 'found', foundMs, lastMissMs });
    // middles 1000, 1100, 1050, 5100, 1080: the median, one slow group does not move it
    expect(t.firstLookMs()).toBe(1_080);
  });

  it('looks that all missed push the estimate past the last one', () => {
    const t = new StartLookTimer({ retryMs: 200, samples: 1 });
    t.note({ kind: 'missed', lastMissMs: 2_400 });
    expect(t.firstLookMs()).toBe(2_600);
  });

  it('waits at most maxFirstLookMs for a first look', () => {
    const t = new StartLookTimer({ maxFirstLookMs: 2_000, samples: 4 });
    for (let i = 0; i < 4; i++) t.note({ kind: 'missed', lastMissMs: 60_000 });
    expect(t.firstLookMs()).toBe(2_000);
  });

  it('keeps only the last samples', () => {
    const t = new StartLookTimer({ samples: 3 });
    for (const foundMs of [5_000, 5_000, 5_000, 100, 100, 100]) t.note({ kind: 'found', foundMs, lastMissMs: foundMs });
    expect(t.firstLookMs()).toBe(100);
    expect(DEFAULT_START_LOOK.maxLooks).toBeGreaterThan(1);
  });

  it('ignores outcomes that are not times', () => {
    const t = new StartLookTimer({ initialMs: 700 });
    t.note({ kind: 'found', foundMs: Number.NaN });
    t.note({ kind: 'found', foundMs: -5 });
    expect(t.firstLookMs()).toBe(700);
  });
});

/**
 * Pods created one after another, each looked at by the timer's plan against a cloud that lists
 * the group `lagMs()` after the create answered; what the pods' looks found goes back into the
 * timer. Returns, per pod, how long after its listing the group was found (the cost in latency)
 * and how many looks it took (the cost in describe ids).
 */
function simulate(t: StartLookTimer, pods: number, lagMs: (pod: number) => number, o: { queueMs?: number } = {}): { lateMs: number[]; looks: number[] } {
  const lateMs: number[] = [];
  const looks: number[] = [];
  const queueMs = o.queueMs ?? 0;
  for (let pod = 0; pod < pods; pod++) {
    const lag = lagMs(pod);
    const plannedMs = t.firstLookMs();
    // Each pass runs `queueMs` after it was due (pods waiting for a worker).
    let at = plannedMs + queueMs;
    let lastMissMs: number | undefined;
    let n = 1;
    while (at < lag && !t.lastLook(n)) {
      lastMissMs = at;
      at += DEFAULT_START_LOOK.retryMs + queueMs;
      n++;
    }
    if (at >= lag) {
      t.note({ kind: 'found', foundMs: at, plannedMs, ...(lastMissMs === undefined ? {} : { lastMissMs }) });
      lateMs.push(at - lag);
    } else {
      t.note({ kind: 'missed', lastMissMs: at });
      lateMs.push(Number.POSITIVE_INFINITY);
    }
    looks.push(n);
  }
  return { lateMs, looks };
}

const p = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;

describe('StartLookTimer learns the cloud\'s listing lag', () => {
  it('learns a short lag within a few dozen pods, not after hundreds (the simulator lists at once)', () => {
    const t = new StartLookTimer();
    const { lateMs } = simulate(t, 200, () => 0);
    expect(lateMs[0]).toBe(1_000);
    // Each ring's worth of first-look hits halves the estimate.
    expect(lateMs.slice(100).every((ms) => ms <= 20)).toBe(true);
    expect(t.firstLookMs()).toBeLessThanOrEqual(20);
  });

  it('comes down to a lag shorter than the guess and stays within a retry of it', () => {
    const t = new StartLookTimer();
    const { lateMs, looks } = simulate(t, 400, () => 300);
    const settled = lateMs.slice(200);
    expect(p(settled, 0.99)).toBeLessThan(DEFAULT_START_LOOK.retryMs);
    // Misses are cheap (an id in a batched describe): still no pod looks more than a few times.
    expect(Math.max(...looks.slice(200))).toBeLessThanOrEqual(3);
  });

  it('fits a cloud that lists after 1 to 3 s (quota-true: ECI\'s list lag) without leaving groups to the poller', () => {
    const t = new StartLookTimer();
    // A spread lag, as ECI's: a fixed pseudo-random sequence in [1000, 3000).
    let seed = 7;
    const lag = (): number => {
      seed = (seed * 48_271) % 2_147_483_647;
      return 1_000 + (seed % 2_000);
    };
    const { lateMs, looks } = simulate(t, 600, lag);
    const settled = lateMs.slice(100);
    expect(settled.filter((ms) => ms === Number.POSITIVE_INFINITY).length).toBeLessThanOrEqual(settled.length * 0.02);
    expect(p(settled, 0.5)).toBeLessThan(DEFAULT_START_LOOK.retryMs);
    expect(p(settled, 0.9)).toBeLessThan(1_000);
    const meanLooks = looks.slice(100).reduce((a, b) => a + b, 0) / 500;
    expect(meanLooks).toBeLessThan(4);
    expect(t.firstLookMs()).toBeGreaterThan(1_000);
    expect(t.firstLookMs()).toBeLessThan(3_000);
  });

  it('does not add the queue\'s wait to the first look: looks that ran late are read as if on time', () => {
    // Passes run 800 ms late (a backlog of pods waiting for workers); the cloud lists at once.
    const t = new StartLookTimer();
    simulate(t, 200, () => 0, { queueMs: 800 });
    expect(t.firstLookMs()).toBeLessThanOrEqual(20);
    // Listed after 1 s: the look is planned so that, with the wait, it runs about then.
    const u = new StartLookTimer();
    const { lateMs } = simulate(u, 400, () => 1_000, { queueMs: 300 });
    expect(u.firstLookMs()).toBeGreaterThanOrEqual(500);
    expect(u.firstLookMs()).toBeLessThanOrEqual(1_000);
    expect(p(lateMs.slice(200), 0.9)).toBeLessThanOrEqual(DEFAULT_START_LOOK.retryMs + 300);
  });

  it('follows a cloud whose lag grows from none to 1 s', () => {
    const t = new StartLookTimer();
    const { lateMs } = simulate(t, 400, (pod) => (pod < 200 ? 0 : 1_000));
    expect(lateMs.slice(300).every((ms) => ms < DEFAULT_START_LOOK.retryMs)).toBe(true);
    expect(t.firstLookMs()).toBeGreaterThanOrEqual(500);
  });
});

const UID = 'uid-look';

/** The group once the cloud lists it. */
const listedGroup = (): ContainerGroup =>
  runningGroup({ id: 'eci-1', uid: UID, pod: 'web', name: 'g', intranetIp: '10.0.0.7', eniInstanceId: 'eni-1', cpu: 2, memory: 4, containers: [appContainer('2026-01-01T00:00:02Z')], creationTime: '2026-01-01T00:00:01Z' });

/** One bound pod over a cloud that lists its new group only once `listed` is set (ECI's List lag). */
function lookHarness(maxInFlight?: number) {
  let pod: V1Pod = makePod({
    uid: UID,
    nodeName: 'vn-cn-hangzhou-i',
    containers: [{ name: 'app', image: 'nginx' }],
    spec: { dnsPolicy: 'Default' },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date('2026-01-01T00:00:00Z') }] },
  });
  let clock = Date.parse('2026-01-01T00:00:01Z');
  const state = { listed: false, describes: [] as string[][], statuses: [] as V1PodStatus[], wakes: 0 };
  let onWake: (() => void) | undefined;
  const cloud = {
    createContainerGroup: async () => ({ containerGroupId: 'eci-1' }),
    describeContainerGroups: async (ids: string[]) => {
      state.describes.push([...ids]);
      return state.listed ? [listedGroup()].filter((g) => ids.includes(g.id)) : [];
    },
  } as unknown as CloudPort;
  const defaults = syncDefaults();
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
    ...defaults,
    network: {
      plan: async () => ({ kind: 'ready', zoneId: 'cn-hangzhou-i', vSwitchId: 'vsw-i1', securityGroupId: 'sg-1', reason: 'default network' }),
      noteExhausted: () => {},
      noteAllocated: () => {},
    },
    now: () => new Date(clock),
    startLook: { initialMs: 1_000, retryMs: 200, maxLooks: 3, ...(maxInFlight === undefined ? {} : { maxInFlight }) },
    wake: (uid) => {
      expect(uid).toBe(UID);
      state.wakes++;
      onWake?.();
    },
  });
  /** The look's answer (after the describe's batch window) wakes the pod. */
  const woken = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the pod was not woken by its look's answer within 5 s (describes so far: ${JSON.stringify(state.describes)})`)), 5_000);
      onWake = () => {
        clearTimeout(timer);
        onWake = undefined;
        resolve();
      };
    });
  return { sync: () => sync.syncPod(podKeyOf(pod)), advance: (ms: number) => (clock += ms), state, pod: () => pod, woken, groups: defaults.groups };
}

describe('PodSync looks at the group it created when the cloud should list it', () => {
  it('comes back at the first look, looks by id without waiting for the answer, and reports Running in the pass the answer wakes', async () => {
    const h = lookHarness();
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 1_000 }); // created
    // An informer event before the look is due: no cloud call.
    h.advance(400);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 600 });
    expect(h.state.describes).toEqual([]);

    h.advance(600);
    let answer = h.woken();
    // The pass that looks returns at once: no worker waits for the batched describe.
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS });
    // A pass while the look is under way does not look again.
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS });
    await answer;
    expect(h.state.describes).toEqual([['eci-1']]); // not listed yet
    // Woken by the miss: the next look a retry after this one.
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 200 });

    h.state.listed = true;
    h.advance(100);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 100 });
    expect(h.state.describes).toHaveLength(1);
    h.advance(100);
    answer = h.woken();
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS });
    await answer;
    expect(h.state.statuses).toEqual([]);
    expect(await h.sync()).toEqual({ kind: 'done' });
    expect(h.state.describes).toEqual([['eci-1'], ['eci-1']]);
    expect(h.state.statuses.map((s) => s.phase)).toEqual(['Running']);
    expect(h.pod().status?.podIP).toBe('10.0.0.7');
    expect(h.state.wakes).toBe(2);
  });

  it('never reports Running from the look before the cloud lists the group, and leaves it to the poller after its looks', async () => {
    const h = lookHarness();
    await h.sync();
    h.advance(1_000);
    for (let look = 1; look <= 3; look++) {
      const answer = h.woken();
      expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS });
      await answer;
      h.advance(200);
    }
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LEAVE_TO_POLLER_MS });
    h.advance(200);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LEAVE_TO_POLLER_MS });
    expect(h.state.describes).toHaveLength(3);
    expect(h.state.statuses).toEqual([]);
    expect(h.pod().status?.phase).toBe('Pending');
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('runs the first look at the estimate stored at the create, the one its answer is credited against', async () => {
    const h = lookHarness();
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 1_000 }); // created, planned at 1 s
    // Other pods raise the estimate meanwhile: this pod still looks at 1 s (a later look would be
    // credited as found at 1 s, and the estimate would follow a growing lag only slowly).
    vi.spyOn(StartLookTimer.prototype, 'firstLookMs').mockReturnValue(3_000);
    h.advance(1_000);
    const answer = h.woken();
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS });
    await answer;
    expect(h.state.describes).toEqual([['eci-1']]);
  });

  it('notes a pod once when the poller brings its group while a look is in flight', async () => {
    const notes = vi.spyOn(StartLookTimer.prototype, 'note');
    const h = lookHarness();
    await h.sync();
    h.advance(1_000);
    const answer = h.woken();
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS }); // the look is under way
    // The status poller describes the group first.
    h.state.listed = true;
    h.groups.put(listedGroup());
    await h.sync();
    expect(notes).toHaveBeenCalledTimes(1);
    await answer; // the look finds it too
    expect(h.state.describes).toEqual([['eci-1']]);
    expect(notes).toHaveBeenCalledTimes(1);
  });

  it('counts a look as under way only until its answer: with room for one, the pod looks again after a miss', async () => {
    const h = lookHarness(1);
    await h.sync();
    h.advance(1_000);
    let answer = h.woken();
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS });
    await answer; // missed
    h.advance(200);
    answer = h.woken();
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS });
    await answer;
    expect(h.state.describes).toEqual([['eci-1'], ['eci-1']]);
  });

  it('does not look while the cap is reached', async () => {
    const h = lookHarness(0);
    await h.sync();
    h.advance(1_000);
    expect(await h.sync()).toEqual({ kind: 'requeueAfter', ms: 200 });
    expect(h.state.describes).toEqual([]);
  });
});
