import type { V1PodStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { CloudContainerStatus, CloudEvent, ContainerGroup, ContainerGroupStatus } from '../../../provider/cloud/model.ts';
import { cloudEventKey, cloudEventSummary, eventsToRecord, fnv1a64Hex, lostPodStatus, podStatusChanged, podStatusFromGroup, UNKNOWN_TERMINATION } from '../../../provider/eci/status.ts';
import { makeContainer, makePod } from '../builders.ts';

const NOW = new Date('2026-05-01T10:00:30.456Z');

function makeGroup(o: Partial<ContainerGroup> = {}): ContainerGroup {
  return {
    id: 'eci-abc',
    name: 'default-web-0',
    status: 'Running',
    zoneId: 'cn-hangzhou-h',
    vSwitchId: 'vsw-1',
    securityGroupId: 'sg-1',
    vpcId: 'vpc-1',
    intranetIp: '10.0.1.7',
    cpu: 2,
    memory: 4,
    containers: [running('app')],
    initContainers: [],
    events: [],
    tags: {},
    creationTime: '2026-05-01T10:00:00Z',
    ...o,
  };
}

function running(name: string, o: Partial<CloudContainerStatus> = {}): CloudContainerStatus {
  return { name, image: 'nginx:1.27', ready: true, restartCount: 0, currentState: { state: 'Running', startTime: '2026-05-01T10:00:05Z' }, ...o };
}

describe('podStatusFromGroup: phase per ECI status', () => {
  const rows: [ContainerGroupStatus, boolean, string][] = [
    ['Scheduling', false, 'Pending'],
    ['Pending', false, 'Pending'],
    ['Running', true, 'Running'],
    ['Succeeded', false, 'Succeeded'],
    ['Failed', false, 'Failed'],
    ['ScheduleFailed', false, 'Failed'],
    ['Expired', false, 'Failed'],
    ['Restarting', true, 'Running'],
    ['Restarting', false, 'Pending'],
    ['Updating', true, 'Running'],
    ['Updating', false, 'Pending'],
    ['Terminating', true, 'Running'],
  ];
  it.each(rows)('%s (a container running: %s) -> %s', (status, containerUp, phase) => {
    const containers = containerUp ? [running('app')] : [{ name: 'app', image: 'nginx:1.27', ready: false, restartCount: 0, currentState: { state: 'Waiting' as const, reason: 'ContainerCreating' } }];
    expect(podStatusFromGroup({ group: makeGroup({ status, containers }), pod: makePod(), now: NOW }).phase).toBe(phase);
  });

  it('never moves a pod out of a terminal phase', () => {
    const pod = makePod({ status: { phase: 'Succeeded' } });
    expect(podStatusFromGroup({ group: makeGroup({ status: 'Running' }), pod, now: NOW }).phase).toBe('Succeeded');
  });

  it('ScheduleFailed and Expired carry a reason and the last warning', () => {
    const events: CloudEvent[] = [{ type: 'Warning', reason: 'NoStock', message: 'zone out of stock', count: 1 }];
    const s = podStatusFromGroup({ group: makeGroup({ status: 'ScheduleFailed', containers: [], events }), pod: makePod(), now: NOW });
    expect(s).toMatchObject({ phase: 'Failed', reason: 'ScheduleFailed' });
    expect(s.message).toContain('NoStock: zone out of stock');
    expect(podStatusFromGroup({ group: makeGroup({ status: 'Expired' }), pod: makePod(), now: NOW }).reason).toBe('Expired');
    expect(podStatusFromGroup({ group: makeGroup({ status: 'Failed', containers: [] }), pod: makePod(), now: NOW }).reason).toBe('ProviderFailed');
  });
});

describe('podStatusFromGroup: IPs, times, conditions', () => {
  it('pod IPs from the ENI (IPv4 first, then IPv6), host IP, start time', () => {
    const s = podStatusFromGroup({ group: makeGroup({ ipv6Address: 'fd00::7' }), pod: makePod(), now: NOW });
    expect(s.podIP).toBe('10.0.1.7');
    expect(s.podIPs).toEqual([{ ip: '10.0.1.7' }, { ip: 'fd00::7' }]);
    expect(s.hostIP).toBe('10.0.1.7');
    expect(s.startTime).toEqual(new Date('2026-05-01T10:00:00Z'));
  });

  it('no IP before the ENI is attached', () => {
    const s = podStatusFromGroup({ group: makeGroup({ status: 'Pending', intranetIp: undefined, containers: [] }), pod: makePod(), now: NOW });
    expect(s.podIP).toBeUndefined();
    expect(s.podIPs).toBeUndefined();
  });

  it('Ready when every container is ready; reasons when not', () => {
    const pod = makePod({ containers: [makeContainer({ name: 'a' }), makeContainer({ name: 'b' })] });
    const ready = podStatusFromGroup({ group: makeGroup({ containers: [running('a'), running('b')] }), pod, now: NOW });
    const cond = (s: V1PodStatus, t: string) => s.conditions?.find((c) => c.type === t);
    expect(['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((t) => cond(ready, t)?.status)).toEqual(['True', 'True', 'True', 'True']);
    const notReady = podStatusFromGroup({ group: makeGroup({ containers: [running('a'), running('b', { ready: false })] }), pod, now: NOW });
    expect(cond(notReady, 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [b]' });
    expect(cond(notReady, 'Ready')?.lastTransitionTime).toEqual(new Date('2026-05-01T10:00:30Z'));
  });

  it('readiness gates hold Ready until their condition is True', () => {
    const pod = makePod({ spec: { readinessGates: [{ conditionType: 'example.com/lb' }] } });
    const s = podStatusFromGroup({ group: makeGroup(), pod, now: NOW });
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ReadinessGatesNotReady' });
  });

  it('Initialized waits for init containers; app containers wait in PodInitializing', () => {
    const pod = makePod({ initContainers: [makeContainer({ name: 'init' })] });
    const group = makeGroup({
      status: 'Pending',
      initContainers: [{ name: 'init', image: 'busybox', ready: false, restartCount: 0, currentState: { state: 'Running', startTime: '2026-05-01T10:00:02Z' } }],
      containers: [{ name: 'app', image: 'nginx:1.27', ready: false, restartCount: 0 }],
    });
    const s = podStatusFromGroup({ group, pod, now: NOW });
    expect(s.conditions?.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized' });
    expect(s.initContainerStatuses?.[0]?.state?.running).toBeDefined();
    expect(s.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'PodInitializing' } });
  });

  it('keeps a condition transition time while its status is unchanged', () => {
    const earlier = new Date('2026-05-01T09:00:00Z');
    const pod = makePod({ status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: earlier }] } });
    const s = podStatusFromGroup({ group: makeGroup(), pod, now: NOW });
    expect(s.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toEqual(earlier);
  });
});

describe('podStatusFromGroup: container states', () => {
  it('running: started, ready, containerID, image', () => {
    const [c] = podStatusFromGroup({ group: makeGroup(), pod: makePod(), now: NOW }).containerStatuses!;
    expect(c).toEqual({
      name: 'app',
      image: 'nginx:1.27',
      imageID: 'nginx:1.27',
      containerID: 'eci://eci-abc/app',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: new Date('2026-05-01T10:00:05Z') } },
      lastState: {},
    });
  });

  const exits: [exitCode: number, reason: string | undefined, expectedReason: string][] = [
    [0, undefined, 'Completed'],
    [3, undefined, 'Error'],
    [137, 'OOMKilled', 'OOMKilled'],
  ];
  it.each(exits)('terminated with exit code %s -> reason %s', (exitCode, reason, expectedReason) => {
    const group = makeGroup({
      status: exitCode === 0 ? 'Succeeded' : 'Failed',
      containers: [
        {
          name: 'app',
          image: 'nginx:1.27',
          ready: false,
          restartCount: 0,
          currentState: { state: 'Terminated', exitCode, ...(reason ? { reason } : {}), startTime: '2026-05-01T10:00:05Z', finishTime: '2026-05-01T10:00:09Z' },
        },
      ],
    });
    const [c] = podStatusFromGroup({ group, pod: makePod(), now: NOW }).containerStatuses!;
    expect(c!.state?.terminated).toEqual({
      exitCode,
      reason: expectedReason,
      startedAt: new Date('2026-05-01T10:00:05Z'),
      finishedAt: new Date('2026-05-01T10:00:09Z'),
      containerID: 'eci://eci-abc/app',
    });
    expect(c!.ready).toBe(false);
  });

  it('restarts: restartCount and lastState from the previous state, waiting reason passed through', () => {
    const group = makeGroup({
      containers: [
        {
          name: 'app',
          image: 'nginx:1.27',
          ready: false,
          restartCount: 4,
          currentState: { state: 'Waiting', reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' },
          previousState: { state: 'Terminated', exitCode: 3, startTime: '2026-05-01T10:00:10Z', finishTime: '2026-05-01T10:00:12Z' },
        },
      ],
    });
    const [c] = podStatusFromGroup({ group, pod: makePod(), now: NOW }).containerStatuses!;
    expect(c).toMatchObject({ restartCount: 4, ready: false, started: false });
    expect(c!.state).toEqual({ waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } });
    expect(c!.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(c!.containerID).toBeUndefined();
  });

  it('a container ECI does not report yet is waiting in ContainerCreating', () => {
    const [c] = podStatusFromGroup({ group: makeGroup({ status: 'Pending', containers: [] }), pod: makePod(), now: NOW }).containerStatuses!;
    expect(c).toMatchObject({ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } });
  });
});

describe('a finished pod is consistent: not ready, every container terminated', () => {
  const condition = (status: V1PodStatus, type: string) => status.conditions?.find((c) => c.type === type);

  it.each([
    ['Failed', 'PodFailed'],
    ['Succeeded', 'PodCompleted'],
  ] as const)('a %s group: Ready and ContainersReady False (%s), containers terminated even if ECI still says Running', (groupStatus, reason) => {
    const status = podStatusFromGroup({ group: makeGroup({ status: groupStatus, containers: [running('app')] }), pod: makePod(), now: NOW });
    expect(status.phase).toBe(groupStatus);
    for (const type of ['Ready', 'ContainersReady']) expect(condition(status, type)).toMatchObject({ status: 'False', reason });
    const [c] = status.containerStatuses!;
    expect(c).toMatchObject({ ready: false, started: false });
    expect(c!.state?.terminated).toMatchObject({ reason: UNKNOWN_TERMINATION.reason, exitCode: 137, startedAt: new Date('2026-05-01T10:00:05Z') });
    expect(c!.state?.running).toBeUndefined();
  });

  it('a pod held Failed keeps its terminal phase and shows no running container, whatever the group says', () => {
    const pod = makePod({ status: { phase: 'Failed' } });
    const status = podStatusFromGroup({ group: makeGroup({ status: 'Running' }), pod, now: NOW });
    expect(status.phase).toBe('Failed');
    expect(condition(status, 'Ready')?.status).toBe('False');
    expect(status.containerStatuses!.every((c) => c.state?.terminated !== undefined && !c.ready)).toBe(true);
  });

  it('a True condition carries no reason or message (none to go stale)', () => {
    const status = podStatusFromGroup({ group: makeGroup(), pod: makePod(), now: NOW });
    for (const type of ['Ready', 'ContainersReady', 'Initialized', 'PodScheduled']) {
      const c = condition(status, type)!;
      expect(c.status).toBe('True');
      expect(c.reason).toBeUndefined();
      expect(c.message).toBeUndefined();
    }
  });

  it('lostPodStatus (the group vanished): Failed, ProviderFailed naming the group, not ready, running containers terminated', () => {
    const pod = makePod({
      containers: [makeContainer({ name: 'app' }), makeContainer({ name: 'never-started' })],
      status: {
        phase: 'Running',
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'ContainersReady', status: 'True' },
        ],
        containerStatuses: [
          { name: 'app', image: 'nginx:1.27', imageID: 'nginx:1.27', containerID: 'eci://eci-gone/app', ready: true, started: true, restartCount: 2, state: { running: { startedAt: new Date('2026-05-01T10:00:05Z') } } },
        ],
      },
    });
    const status = lostPodStatus({ pod, containerGroupId: 'eci-gone', now: NOW });
    expect(status).toMatchObject({ phase: 'Failed', reason: 'ProviderFailed' });
    expect(status.message).toContain('eci-gone');
    for (const type of ['Ready', 'ContainersReady']) expect(condition(status, type)).toMatchObject({ status: 'False', reason: 'PodFailed' });
    const [app, never] = status.containerStatuses!;
    expect(app).toMatchObject({ name: 'app', ready: false, restartCount: 2, containerID: 'eci://eci-gone/app' });
    expect(app!.state?.terminated).toMatchObject({ reason: 'ContainerStatusUnknown', exitCode: 137, startedAt: new Date('2026-05-01T10:00:05Z'), finishedAt: new Date('2026-05-01T10:00:30Z') });
    expect(app!.lastState?.running).toBeDefined();
    expect(never).toMatchObject({ name: 'never-started', ready: false });
    expect(never!.state?.terminated?.reason).toBe('ContainerStatusUnknown');
    // Written over a pod whose status said Ready: the patch must change it.
    expect(podStatusChanged(pod.status!, status)).toBe(true);
  });
});

describe('podStatusChanged', () => {
  it('is false for the same status re-read from the API (strings, dropped milliseconds, extra fields)', () => {
    const desired = podStatusFromGroup({ group: makeGroup(), pod: makePod(), now: NOW });
    const roundTripped = JSON.parse(JSON.stringify(desired)) as V1PodStatus;
    roundTripped.qosClass = 'BestEffort';
    roundTripped.conditions = [...(roundTripped.conditions ?? []), { type: 'Other', status: 'True' }];
    expect(podStatusChanged(roundTripped, desired)).toBe(false);
    // A later computation over the same pod status only differs in transition times.
    const again = podStatusFromGroup({ group: makeGroup(), pod: makePod({ status: roundTripped }), now: new Date('2026-05-01T11:00:00Z') });
    expect(podStatusChanged(roundTripped, again)).toBe(false);
  });

  it('is true when phase, IP, readiness, restarts or a container state change', () => {
    const base = podStatusFromGroup({ group: makeGroup(), pod: makePod(), now: NOW });
    const changes: ContainerGroup[] = [
      makeGroup({ status: 'Succeeded' }),
      makeGroup({ intranetIp: '10.0.1.8' }),
      makeGroup({ containers: [running('app', { ready: false })] }),
      makeGroup({ containers: [running('app', { restartCount: 1 })] }),
      makeGroup({ containers: [running('app', { currentState: { state: 'Running', startTime: '2026-05-01T10:05:00Z' } })] }),
    ];
    for (const g of changes) expect(podStatusChanged(base, podStatusFromGroup({ group: g, pod: makePod(), now: NOW }))).toBe(true);
  });
});

describe('eventsToRecord', () => {
  const events: CloudEvent[] = [
    { type: 'Normal', reason: 'Pulling', message: 'pulling image "nginx"', count: 1, firstTimestamp: '2026-05-01T10:00:01Z', lastTimestamp: '2026-05-01T10:00:01Z' },
    { type: 'Warning', reason: 'BackOff', message: 'Back-off restarting', count: 2, firstTimestamp: '2026-05-01T10:00:20Z', lastTimestamp: '2026-05-01T10:00:25Z' },
    { type: 'Normal', reason: 'Pulled', message: 'pulled', count: 1, firstTimestamp: '2026-05-01T10:00:03Z', lastTimestamp: '2026-05-01T10:00:03Z' },
  ];

  it('maps ECI events oldest first, then records nothing twice', () => {
    const seen = new Set<string>();
    expect(eventsToRecord(events, seen).map((e) => [e.type, e.reason, e.count])).toEqual([
      ['Normal', 'Pulling', 1],
      ['Normal', 'Pulled', 1],
      ['Warning', 'BackOff', 2],
    ]);
    expect(eventsToRecord(events, seen)).toEqual([]);
  });

  it('records an event again when ECI counts it again', () => {
    const seen = new Set<string>();
    eventsToRecord(events, seen);
    const again = eventsToRecord([{ ...events[1]!, count: 3, lastTimestamp: '2026-05-01T10:00:40Z' }], seen);
    expect(again).toEqual([{ type: 'Warning', reason: 'BackOff', message: 'Back-off restarting', count: 3 }]);
  });

  it('duplicates inside one answer are recorded once; reasons are made valid', () => {
    const seen = new Set<string>();
    const dup: CloudEvent = { type: 'Warning', reason: 'Failed.Pull', message: 'x', count: 1 };
    expect(eventsToRecord([dup, dup], seen)).toEqual([{ type: 'Warning', reason: 'FailedPull', message: 'x', count: 1 }]);
  });
});

describe('cloudEventSummary: events reported before a time', () => {
  const at = (reason: string, time?: string): CloudEvent => ({ type: 'Normal', reason, message: reason.toLowerCase(), count: 1, ...(time === undefined ? {} : { firstTimestamp: time, lastTimestamp: time }) });
  const before = Date.parse('2026-05-01T10:00:10Z');

  it('leaves out what ECI last saw before it, and reports what came after', () => {
    const seen = new Set<string>();
    const events = [at('Pulled', '2026-05-01T10:00:03Z'), at('Started', '2026-05-01T10:00:05Z')];
    expect(cloudEventSummary(events, seen, false, before)).toBeUndefined();
    const later = { ...at('Killing', '2026-05-01T10:00:12Z'), type: 'Warning' as const };
    expect(cloudEventSummary([...events, later], seen, false, before)).toEqual({ type: 'Warning', reason: 'Killing', message: 'killing', count: 1 });
    expect(cloudEventSummary([...events, later], seen, false, before)).toBeUndefined();
  });

  it('an event of the second it names may be after it; one counted again later is new', () => {
    expect(cloudEventSummary([at('Pulled', '2026-05-01T10:00:09Z')], new Set(), false, before)).toBeUndefined();
    expect(cloudEventSummary([at('Pulled', '2026-05-01T10:00:10Z')], new Set(), false, before)).toMatchObject({ reason: 'Pulled' });
    const pulled: CloudEvent = { ...at('Pulled', '2026-05-01T10:00:01Z'), count: 2, lastTimestamp: '2026-05-01T10:00:11Z' };
    expect(cloudEventSummary([pulled], new Set(), false, before)).toMatchObject({ reason: 'Pulled', count: 2 });
  });

  it('a Warning, or an event without a time, is always reported', () => {
    const backOff: CloudEvent = { type: 'Warning', reason: 'BackOff', message: 'back-off', count: 1, firstTimestamp: '2026-05-01T10:00:01Z', lastTimestamp: '2026-05-01T10:00:01Z' };
    expect(cloudEventSummary([backOff], new Set(), false, before)).toMatchObject({ type: 'Warning', reason: 'BackOff' });
    expect(cloudEventSummary([at('Scheduled')], new Set(), false, before)).toMatchObject({ reason: 'Scheduled' });
  });
});

describe('cloudEventKey', () => {
  it('is the 64-bit FNV-1a of the occurrence in 16 hex digits, and a count increase is a new key', () => {
    const e: CloudEvent = { type: 'Normal', reason: 'Pulled', message: 'pulled nginx', count: 1, firstTimestamp: '2026-05-01T10:00:01Z' };
    expect(cloudEventKey(e)).toBe(fnv1a64Reference('Normal|Pulled|pulled nginx|2026-05-01T10:00:01Z#1'));
    expect(cloudEventKey({ ...e, count: 2 })).not.toBe(cloudEventKey(e));
    expect(cloudEventKey({ ...e, firstTimestamp: '2026-05-01T10:00:02Z' })).not.toBe(cloudEventKey(e));
  });

  it('FNV-1a 64: the published vectors for ASCII, and the BigInt definition for any text', () => {
    expect(fnv1a64Hex('')).toBe('cbf29ce484222325');
    expect(fnv1a64Hex('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64Hex('foobar')).toBe('85944171f73967e8');
    for (const text of ['Back-off pulling image "nginx:1.27"', 'é漢字\u{1F600}', 'x'.repeat(5000)]) expect(fnv1a64Hex(text)).toBe(fnv1a64Reference(text));
  });
});

/** FNV-1a 64 over UTF-16 code units, in BigInt: the definition the 32-bit halves must match. */
function fnv1a64Reference(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) h = ((h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}
