// The realism profile (lifecycle.realism) through the official SDK: each knob seen the way a
// caller sees it, with small delays so the tests stay fast.

import { afterEach, describe, expect, it } from 'vitest';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { parseWorld } from '../../../adapters/cloudsim/world.ts';
import { $eci, $vpc, REGION, admin, create, createRequest, eciClient, expectCloudError, startTestSim, testWorld, vpcClient, waitFor } from './helpers.ts';
import type { EciClientT } from './helpers.ts';

const FAST = { schedulingMs: 40, pendingMs: 40, exitAfterMs: 60, crashBackoffMs: 40, crashBackoffMaxMs: 80, pullRetryMs: 40, restartMs: 40, updateMs: 40 };

let sim: CloudSim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function start(realism: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ sim: CloudSim; eci: EciClientT }> {
  sim = await startTestSim({ lifecycle: { ...FAST, realism }, ...extra });
  return { sim, eci: eciClient(sim) };
}

async function listed(eci: EciClientT, id: string): Promise<$eci.DescribeContainerGroupsResponseBodyContainerGroups | undefined> {
  const res = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, containerGroupIds: JSON.stringify([id]) }));
  return res.body.containerGroups?.[0];
}

describe('world: lifecycle.realism', () => {
  it('is off unless asked for; profile realistic sets the documented values; knobs override the profile', () => {
    expect(parseWorld(testWorld()).realism.listLagMs).toBe(0);
    const w = parseWorld(testWorld({ lifecycle: { realism: { profile: 'realistic', retentionScale: 0.001 } } }));
    expect(w.realism).toMatchObject({ retentionMs: 3_600_000, retentionKeep: 100, retentionScale: 0.001, rateWindows: true, clientToken: 'bind-on-first-attempt' });
  });

  it('names every bad knob with its path', () => {
    expect(() => parseWorld(testWorld({ lifecycle: { realism: { profile: 'harsh', scheduleFailedRate: 2, clientToken: 'never', bogus: 1 } } }))).toThrow(
      /lifecycle\.realism\.bogus: unknown field[\s\S]*lifecycle\.realism\.profile: must be one of off, realistic[\s\S]*clientToken: must be one of[\s\S]*scheduleFailedRate: must be at most 1/,
    );
  });
});

describe('realism: read-after-write', () => {
  it('lists a new group only after listLagMs, and its IP and ENI only after scheduling + ipAssignDelayMs', async () => {
    const { eci } = await start({ listLagMs: 300, ipAssignDelayMs: 400 });
    const id = await create(eci);
    expect(await listed(eci, id)).toBeUndefined();
    const seen = await waitFor(() => listed(eci, id), 'the new group to be listed', 3_000);
    expect(seen.intranetIp).toBe('');
    expect(seen.eniInstanceId).toBe('');
    const withIp = await waitFor(async () => {
      const g = await listed(eci, id);
      return g?.intranetIp ? g : undefined;
    }, 'the IP to be assigned', 3_000);
    expect(withIp.intranetIp).toMatch(/^10\.0\.1\./);
    expect(withIp.eniInstanceId).toMatch(/^eni-/);
    // The IP's appearance is a change (SinceSecond polls report it), after the group ran.
    const record = (await admin(sim!, 'GET', `/admin/groups/${id}`)).json as { ipAt: number; changedAt: number; startedAt: number };
    expect(record.startedAt).toBeLessThan(record.ipAt);
    expect(record.changedAt).toBeGreaterThanOrEqual(record.ipAt);
  });

  it('still lists a deleted group for listLagMs, then not', async () => {
    const { eci } = await start({ listLagMs: 250 });
    const id = await create(eci);
    await waitFor(() => listed(eci, id), 'the new group to be listed', 3_000);
    await eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: id }));
    expect((await listed(eci, id))?.containerGroupId).toBe(id);
    await waitFor(async () => ((await listed(eci, id)) === undefined ? true : undefined), 'the deleted group to leave the list', 3_000);
  });

  it('returns a deleted IP late and answers a cached free-IP count', async () => {
    const { sim: s, eci } = await start({ ipReleaseLagMs: 400, freeIpCacheMs: 200 });
    const vpc = vpcClient(s);
    const free = async (): Promise<number> => (await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION, vSwitchId: 'vsw-tiny' }))).body!.vSwitches!.vSwitch![0]!.availableIpAddressCount!;
    expect(await free()).toBe(4);
    const id = await create(eci, { vSwitchId: 'vsw-tiny' });
    expect(await free()).toBe(4); // cached
    await waitFor(async () => ((await free()) === 3 ? true : undefined), 'the count to show the used IP', 3_000);
    await eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: id }));
    await new Promise((r) => setTimeout(r, 250));
    expect(await free()).toBe(3); // the IP has not come back yet
    await waitFor(async () => ((await free()) === 4 ? true : undefined), 'the released IP to come back', 3_000);
  });
});

describe('realism: retention of finished groups', () => {
  it('removes a finished group after the scaled retention, unless it is among the newest retentionKeep', async () => {
    const { eci } = await start({ retentionMs: 3_600_000, retentionScale: 0.0001, retentionKeep: 1 }); // 360 ms
    const older = await create(eci, { image: 'sim/exit:0', restartPolicy: 'Never' });
    await waitFor(async () => ((await listed(eci, older))?.status === 'Succeeded' ? true : undefined), 'the first group to succeed', 3_000);
    const newer = await create(eci, { image: 'sim/exit:0', restartPolicy: 'Never' });
    await waitFor(async () => ((await listed(eci, newer))?.status === 'Succeeded' ? true : undefined), 'the second group to succeed', 3_000);
    await waitFor(async () => ((await listed(eci, older)) === undefined ? true : undefined), 'the older finished group to expire', 5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect((await listed(eci, newer))?.status).toBe('Succeeded');
  });
});

describe('realism: ClientToken', () => {
  it('bind-on-first-attempt: a refused attempt binds the token; another body under it is a mismatch, the same body is retried', async () => {
    const { eci } = await start({ clientToken: 'bind-on-first-attempt' });
    for (let i = 0; i < 4; i++) await create(eci, { vSwitchId: 'vsw-tiny' });
    await expectCloudError(eci.createContainerGroup(createRequest({ name: 'tok', vSwitchId: 'vsw-tiny', clientToken: 'tok-1' })), 'InvalidVSwitchId.IpNotEnough', 403);
    await expectCloudError(eci.createContainerGroup(createRequest({ name: 'tok', vSwitchId: 'vsw-a', clientToken: 'tok-1' })), 'IdempotentParameterMismatch', 400);
    await expectCloudError(eci.createContainerGroup(createRequest({ name: 'tok', vSwitchId: 'vsw-tiny', clientToken: 'tok-1' })), 'InvalidVSwitchId.IpNotEnough', 403);
    // A fresh token for the other body works.
    expect(await create(eci, { name: 'tok', vSwitchId: 'vsw-a', clientToken: 'tok-2' })).toMatch(/^eci-/);
  });

  it('bind-on-success (default): a refused attempt binds nothing', async () => {
    const { eci } = await start({});
    for (let i = 0; i < 4; i++) await create(eci, { vSwitchId: 'vsw-tiny' });
    await expectCloudError(eci.createContainerGroup(createRequest({ name: 'tok', vSwitchId: 'vsw-tiny', clientToken: 'tok-1' })), 'InvalidVSwitchId.IpNotEnough', 403);
    expect(await create(eci, { name: 'tok', vSwitchId: 'vsw-a', clientToken: 'tok-1' })).toMatch(/^eci-/);
  });

  it('deletedTokenMemoryMs: the token of a deleted group answers that group id for a while', async () => {
    const { eci } = await start({ deletedTokenMemoryMs: 60_000 });
    const id = await create(eci, { name: 'again', clientToken: 'tok-del' });
    await eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: id }));
    expect(await create(eci, { name: 'again', clientToken: 'tok-del' })).toBe(id);
    expect(await listed(eci, id)).toBeUndefined();
  });
});

describe('realism: rate windows', () => {
  it('counts calls per window with the per-minute budget and says when the window ends', async () => {
    const { eci } = await start({ rateWindows: true, rateWindowMs: 1_000 }, { rateLimits: { mode: 'quota-true', actions: { CreateContainerGroup: { perMinute: 3 } } } });
    for (let i = 0; i < 3; i++) await create(eci);
    const err = await expectCloudError(eci.createContainerGroup(createRequest()), 'Throttling.User', 400);
    expect(err.retryAfter ?? 0).toBeLessThanOrEqual(1_000);
    await waitFor(async () => (await create(eci)) ?? undefined, 'the next window', 3_000);
  });
});

describe('realism: random failures (seeded)', () => {
  it('fails accepted creates with ScheduleFailed, reclaims spot groups after SpotToBeReleased, refuses pulls', async () => {
    const { sim: s, eci } = await start({ scheduleFailedRate: 1 });
    const id = await create(eci);
    await waitFor(async () => ((await listed(eci, id))?.status === 'ScheduleFailed' ? true : undefined), 'ScheduleFailed', 3_000);
    await s.stop();

    const spot = await start({ spotReclaimRate: 1, spotProtectionMs: 300, spotNoticeMs: 200 });
    const req = createRequest();
    req.spotStrategy = 'SpotAsPriceGo';
    const spotId = (await spot.eci.createContainerGroup(req)).body.containerGroupId!;
    const noticed = await waitFor(async () => {
      const g = await listed(spot.eci, spotId);
      return g?.events?.some((e) => e.reason === 'SpotToBeReleased') === true ? g : undefined;
    }, 'the SpotToBeReleased event', 3_000);
    expect(noticed.status).not.toBe('Expired');
    await waitFor(async () => ((await listed(spot.eci, spotId))?.status === 'Expired' ? true : undefined), 'the reclaim', 3_000);
    await spot.sim.stop();

    const pull = await start({ pullAuthFailRate: 1 });
    const pullId = await create(pull.eci);
    const g = await waitFor(async () => {
      const x = await listed(pull.eci, pullId);
      return x?.containers?.[0]?.currentState?.reason === 'ErrImagePull' ? x : undefined;
    }, 'ErrImagePull', 3_000);
    expect(g.containers![0]!.currentState!.message).toMatch(/unauthorized: authentication required/);
    expect(g.status).toBe('Pending');
    const state = await admin(pull.sim, 'GET', '/admin/state');
    expect(state.status).toBe(200);
  });
});
