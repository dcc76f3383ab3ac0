// Lifecycle and the documented conventions (docs/cloudsim.md): Scheduling -> Pending -> Running,
// sim/exit:N, sim/crashloop, sim/pull-fail, events, SinceSecond, logs, exec, metrics, restart,
// update.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { $eci, REGION, create, describe1, eciClient, expectCloudError, startTestSim, waitFor } from './helpers.ts';
import type { EciClientT } from './helpers.ts';
import { withDeadline } from '../../helpers/deadline.ts';

async function statusOf(eci: EciClientT, id: string): Promise<string> {
  return (await describe1(eci, id)).status!;
}

async function waitStatus(eci: EciClientT, id: string, status: string, timeoutMs = 5000): Promise<$eci.DescribeContainerGroupsResponseBodyContainerGroups> {
  return waitFor(async () => {
    const g = await describe1(eci, id);
    return g.status === status ? g : undefined;
  }, `${id} to be ${status}`, timeoutMs);
}

describe('Scheduling -> Pending -> Running', () => {
  let sim: CloudSim;
  let eci: EciClientT;
  beforeAll(async () => {
    // Long enough to observe each state even on a loaded machine.
    sim = await startTestSim({ lifecycle: { schedulingMs: 400, pendingMs: 400 } });
    eci = eciClient(sim);
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('walks the states with container states, events and a Kubernetes-like PodStatus', async () => {
    const id = await create(eci, { name: 'life-1' });
    const first = await describe1(eci, id);
    expect(first.status).toBe('Scheduling');
    expect(first.containers![0]!.currentState!.state).toBe('Waiting');
    const pending = await waitStatus(eci, id, 'Pending');
    expect(pending.containers![0]!.currentState!.reason).toBe('ContainerCreating');
    const running = await waitStatus(eci, id, 'Running');
    const c = running.containers![0]!;
    expect(c.ready).toBe(true);
    expect(c.currentState!.state).toBe('Running');
    expect(c.currentState!.startTime).toMatch(/Z$/);
    expect(running.events!.map((e) => e.reason)).toEqual(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']);

    const st = await eci.describeContainerGroupStatus(new $eci.DescribeContainerGroupStatusRequest({ regionId: REGION, containerGroupIds: JSON.stringify([id]) }));
    const data = st.body.data![0]!;
    expect(data.status).toBe('Running');
    expect(data.podStatus!.phase).toBe('Running');
    expect(data.podStatus!.podIp).toBe(running.intranetIp);
    expect(data.podStatus!.conditions!.find((x) => x.type === 'Ready')!.status).toBe('True');
    const cs = data.podStatus!.containerStatuses![0]!;
    expect(cs.ready).toBe(true);
    expect(cs.state!.running).toBeDefined();

    const ev = await eci.describeContainerGroupEvents(new $eci.DescribeContainerGroupEventsRequest({ regionId: REGION, containerGroupIds: JSON.stringify([id]) }));
    expect(ev.body.data![0]!.events!.map((e) => e.reason)).toContain('Started');
    expect(ev.body.data![0]!.events![0]!.involvedObject!.kind).toBe('Pod');
  });
});

describe('conventions, logs, exec, restart, update', () => {
  let sim: CloudSim;
  let eci: EciClientT;
  beforeAll(async () => {
    const fast = { schedulingMs: 40, pendingMs: 40, exitAfterMs: 60, crashBackoffMs: 40, crashBackoffMaxMs: 80, pullRetryMs: 40 };
    sim = await startTestSim({ lifecycle: { ...fast, restartMs: 400, updateMs: 400 } });
    eci = eciClient(sim);
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('sim/exit:N exits with N: Never -> Failed (3) or Succeeded (0)', async () => {
    const failed = await create(eci, { image: 'sim/exit:3', restartPolicy: 'Never' });
    const ok = await create(eci, { image: 'registry.example.com/sim/exit:0', restartPolicy: 'OnFailure' });
    const f = await waitStatus(eci, failed, 'Failed');
    expect(f.containers![0]!.currentState).toEqual(expect.objectContaining({ state: 'Terminated', exitCode: 3, reason: 'Error' }));
    expect(f.failedTime).toMatch(/Z$/);
    const s = await waitStatus(eci, ok, 'Succeeded');
    expect(s.containers![0]!.currentState).toEqual(expect.objectContaining({ state: 'Terminated', exitCode: 0, reason: 'Completed' }));
    const st = await eci.describeContainerGroupStatus(new $eci.DescribeContainerGroupStatusRequest({ regionId: REGION, containerGroupIds: JSON.stringify([failed]) }));
    expect(st.body.data![0]!.podStatus!.phase).toBe('Failed');
    expect(st.body.data![0]!.podStatus!.containerStatuses![0]!.state!.terminated!.exitCode).toBe(3);
  });

  it('sim/crashloop restarts with back-off, counting restarts, while the group stays Running', async () => {
    const id = await create(eci, { image: 'sim/crashloop:2', restartPolicy: 'Always' });
    const g = await waitFor(async () => {
      const x = await describe1(eci, id);
      return x.containers![0]!.restartCount! >= 2 ? x : undefined;
    }, 'two restarts');
    expect(g.status).toBe('Running');
    expect(g.containers![0]!.previousState).toEqual(expect.objectContaining({ state: 'Terminated', exitCode: 2, reason: 'Error' }));
    expect(['Running', 'Waiting']).toContain(g.containers![0]!.currentState!.state);
    expect(g.events!.find((e) => e.reason === 'BackOff')).toEqual(expect.objectContaining({ type: 'Warning' }));
    const waiting = await waitFor(async () => {
      const x = await describe1(eci, id);
      return x.containers![0]!.currentState!.reason === 'CrashLoopBackOff' ? x : undefined;
    }, 'CrashLoopBackOff');
    expect(waiting.containers![0]!.ready).toBe(false);
  });

  it('sim/pull-fail keeps the group Pending with ErrImagePull / ImagePullBackOff', async () => {
    const id = await create(eci, { image: 'sim/pull-fail' });
    const g = await waitFor(async () => {
      const x = await describe1(eci, id);
      return x.containers![0]!.currentState!.reason === 'ImagePullBackOff' ? x : undefined;
    }, 'ImagePullBackOff');
    expect(g.status).toBe('Pending');
    expect(g.events!.some((e) => e.reason === 'Failed' && e.type === 'Warning' && e.message!.includes('sim/pull-fail'))).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    expect(await statusOf(eci, id)).toBe('Pending');
  });

  it('DescribeContainerGroupStatus SinceSecond returns only groups that changed recently', async () => {
    const tag = `since${Date.now()}`;
    const old = await create(eci, { tags: { since: tag } });
    await waitStatus(eci, old, 'Running');
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await create(eci, { tags: { since: tag } });
    const req = new $eci.DescribeContainerGroupStatusRequest({ regionId: REGION, sinceSecond: 1, tag: [new $eci.DescribeContainerGroupStatusRequestTag({ key: 'since', value: tag })] });
    const res = await eci.describeContainerGroupStatus(req);
    expect(res.body.data!.map((d) => d.containerGroupId)).toEqual([fresh]);
    const byIds = await eci.describeContainerGroupStatus(new $eci.DescribeContainerGroupStatusRequest({ regionId: REGION, sinceSecond: 1, containerGroupIds: JSON.stringify([old, fresh]) }));
    expect(byIds.body.data!.map((d) => d.containerGroupId)).toEqual([fresh]);
    const all = await eci.describeContainerGroupStatus(new $eci.DescribeContainerGroupStatusRequest({ regionId: REGION, tag: req.tag }));
    expect(all.body.data!.map((d) => d.containerGroupId)).toEqual([old, fresh]);
  });

  it('DescribeContainerLog returns the lines the conventions produce, with Tail, Timestamps, LimitBytes and LastTime', async () => {
    const id = await create(eci, { command: ['echo', 'hello', 'from', 'echo'], env: { SIM_LOG: 'line one\nline two' } });
    await waitStatus(eci, id, 'Running');
    const log = async (extra: Partial<$eci.DescribeContainerLogRequest> = {}): Promise<string> =>
      (await eci.describeContainerLog(new $eci.DescribeContainerLogRequest({ regionId: REGION, containerGroupId: id, containerName: 'main', ...extra }))).body.content!;
    expect(await log()).toBe('[cloudsim] container main started (image nginx:1.27)\nline one\nline two\nhello from echo\n');
    expect(await log({ tail: 1 })).toBe('hello from echo\n');
    expect(await log({ tail: 1, timestamps: true })).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z hello from echo\n$/);
    expect(await log({ limitBytes: 11 })).toBe('[cloudsim] ');
    await expectCloudError(eci.describeContainerLog(new $eci.DescribeContainerLogRequest({ regionId: REGION, containerGroupId: id, containerName: 'nope' })), 'InvalidParameter', 400);

    const crash = await create(eci, { image: 'sim/crashloop' });
    await waitFor(async () => ((await describe1(eci, crash)).containers![0]!.restartCount! >= 1 ? true : undefined), 'a restart');
    const prev = await eci.describeContainerLog(new $eci.DescribeContainerLogRequest({ regionId: REGION, containerGroupId: crash, containerName: 'main', lastTime: true }));
    expect(prev.body.content).toContain('exited with code 1');
  });

  it('ExecContainerCommand: Sync answers inline; otherwise a WebSocket with the documented framing', async () => {
    const id = await create(eci, { env: { FOO: 'bar' } });
    await waitStatus(eci, id, 'Running');
    const sync = await eci.execContainerCommand(new $eci.ExecContainerCommandRequest({ regionId: REGION, containerGroupId: id, containerName: 'main', command: JSON.stringify(['sh', '-c', 'echo hi; printenv FOO']), sync: true }));
    expect(sync.body.syncResponse).toBe('hi\nbar\n');

    const res = await eci.execContainerCommand(new $eci.ExecContainerCommandRequest({ regionId: REGION, containerGroupId: id, containerName: 'main', command: JSON.stringify(['/bin/sh', '-c', 'cat; echo oops >&2; exit 3']), stdin: true }));
    const uri = res.body.webSocketUri!;
    expect(uri).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/exec\//);
    const frames = await withDeadline(new Promise<{ stdout: string; stderr: string; status: { status: string; details?: { causes: { message: string }[] } } }>((resolve, reject) => {
      const ws = new WebSocket(uri, ['v4.channel.k8s.io']);
      let stdout = '';
      let stderr = '';
      let status: { status: string } | undefined;
      ws.on('open', () => {
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('typed input\n')]));
        ws.send(Buffer.from([0]));
      });
      ws.on('message', (data: Buffer) => {
        const text = data.subarray(1).toString();
        if (data[0] === 1) stdout += text;
        if (data[0] === 2) stderr += text;
        if (data[0] === 3) status = JSON.parse(text) as { status: string };
      });
      ws.on('close', () => resolve({ stdout, stderr, status: status as never }));
      ws.on('error', reject);
    }), 4_000, 'the exec WebSocket to close');
    expect(frames.stdout).toBe('typed input\n');
    expect(frames.stderr).toBe('oops\n');
    expect(frames.status.status).toBe('Failure');
    expect(frames.status.details!.causes[0]!.message).toBe('3');
    // The token works once.
    const again = await withDeadline(new Promise<number>((resolve) => {
      const ws = new WebSocket(uri);
      ws.on('unexpected-response', (_req, r) => resolve(r.statusCode!));
      ws.on('error', () => resolve(-1));
    }), 4_000, 'an answer to a second use of the exec token');
    expect(again).toBe(404);
  });

  it('DescribeContainerGroupMetric returns samples for a running group', async () => {
    const id = await create(eci, { cpu: 1, memory: 2 });
    await waitStatus(eci, id, 'Running');
    const m = await eci.describeContainerGroupMetric(new $eci.DescribeContainerGroupMetricRequest({ regionId: REGION, containerGroupId: id }));
    expect(m.body.records!.length).toBeGreaterThan(0);
    const r = m.body.records![0]!;
    expect(r.CPU!.limit).toBe(1000);
    expect(r.memory!.usageBytes).toBeGreaterThan(0);
    expect(r.containers![0]!.name).toBe('main');
  });

  it('RestartContainerGroup: Restarting, then Running again with a higher restart count', async () => {
    const id = await create(eci);
    await expectCloudError(eci.restartContainerGroup(new $eci.RestartContainerGroupRequest({ regionId: REGION, containerGroupId: id })), 'IncorrectStatus', 400);
    await waitStatus(eci, id, 'Running');
    await eci.restartContainerGroup(new $eci.RestartContainerGroupRequest({ regionId: REGION, containerGroupId: id }));
    expect(await statusOf(eci, id)).toBe('Restarting');
    const g = await waitStatus(eci, id, 'Running');
    expect(g.containers![0]!.restartCount).toBe(1);
    expect(g.events!.map((e) => e.reason)).toContain('Restarting');
  });

  it('UpdateContainerGroup replaces containers and tags (Updating -> Running)', async () => {
    const id = await create(eci, { tags: { v: '1' } });
    await waitStatus(eci, id, 'Running');
    await eci.updateContainerGroup(
      new $eci.UpdateContainerGroupRequest({
        regionId: REGION,
        containerGroupId: id,
        container: [new $eci.UpdateContainerGroupRequestContainer({ name: 'main', image: 'nginx:1.28' })],
        tag: [new $eci.UpdateContainerGroupRequestTag({ key: 'v', value: '2' })],
      }),
    );
    expect(await statusOf(eci, id)).toBe('Updating');
    const g = await waitStatus(eci, id, 'Running');
    expect(g.containers![0]!.image).toBe('nginx:1.28');
    const byTag = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, tag: [new $eci.DescribeContainerGroupsRequestTag({ key: 'v', value: '2' })] }));
    expect(byTag.body.containerGroups!.map((x) => x.containerGroupId)).toContain(id);
  });
});
