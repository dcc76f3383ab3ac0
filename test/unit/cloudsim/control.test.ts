// Rate limits, fault injection and the admin API.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { $eci, $vpc, ADMIN_TOKEN, REGION, admin, create, createRequest, describe1, eciClient, expectCloudError, startTestSim, vpcClient, waitFor } from './helpers.ts';
import type { EciClientT, Json } from './helpers.ts';

function vSwitchesOf(state: Json): { id: string; available: number; total: number }[] {
  return state.vSwitches as { id: string; available: number; total: number }[];
}

describe('rate limits', () => {
  let sim: CloudSim;
  let eci: EciClientT;
  beforeAll(async () => {
    sim = await startTestSim({ rateLimits: { mode: 'quota-true', actions: { CreateContainerGroup: { burst: 2, perSecond: 1 }, DescribeVSwitches: { burst: 1, perMinute: 60 } } } });
    eci = eciClient(sim);
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('quota-true: a tiny bucket from the world file answers Throttling.User (400), then refills', async () => {
    await create(eci);
    await create(eci);
    await expectCloudError(eci.createContainerGroup(createRequest()), 'Throttling.User', 400);
    await new Promise((r) => setTimeout(r, 1050));
    await create(eci);
  });

  it('tells the SDK when to retry (x-acs-retry-after -> ThrottlingError.retryAfter)', async () => {
    const vpc = vpcClient(sim);
    await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION }));
    const e = await expectCloudError(vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION })), 'Throttling.User', 400);
    expect(e.retryAfter).toBeGreaterThan(0);
    expect(e.retryAfter).toBeLessThanOrEqual(1000);
  });

  it('the admin API switches the code (Degrade.Api) and the mode (unlimited)', async () => {
    const set = await admin(sim, 'PUT', '/admin/ratelimits', { throttleCode: 'Degrade.Api', actions: { DescribeContainerGroups: { burst: 1, perSecond: 0.5 } } });
    expect(set.status).toBe(200);
    const req = new $eci.DescribeContainerGroupsRequest({ regionId: REGION });
    await eci.describeContainerGroups(req);
    await expectCloudError(eci.describeContainerGroups(req), 'Degrade.Api', 400);
    expect((await admin(sim, 'PUT', '/admin/ratelimits', { mode: 'unlimited' })).json.mode).toBe('unlimited');
    for (let i = 0; i < 5; i++) await create(eci);
    const bad = await admin(sim, 'PUT', '/admin/ratelimits', { mode: 'sometimes' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json.details)).toContain('rateLimits.mode');
  });
});

describe('faults and the admin API', () => {
  let sim: CloudSim;
  let eci: EciClientT;
  beforeAll(async () => {
    sim = await startTestSim();
    eci = eciClient(sim);
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('needs its own bearer token (health check excepted)', async () => {
    expect((await admin(sim, 'GET', '/admin/state', undefined, null)).status).toBe(401);
    expect((await admin(sim, 'GET', '/admin/state', undefined, 'wrong-token-xx')).status).toBe(401);
    expect((await admin(sim, 'GET', '/healthz', undefined, null)).status).toBe(200);
    expect(sim.adminToken).toBe(ADMIN_TOKEN);
    const state = await admin(sim, 'GET', '/admin/state');
    expect(state.status).toBe(200);
    expect(state.json.regionId).toBe(REGION);
    expect(vSwitchesOf(state.json).find((v) => v.id === 'vsw-tiny')).toEqual(expect.objectContaining({ total: 4 }));
  });

  it('injects per-action errors (code, status, times) and latency', async () => {
    const put = await admin(sim, 'PUT', '/admin/faults', {
      rules: [
        { action: 'CreateContainerGroup', code: 'ServiceUnavailable', status: 503, times: 2 },
        { action: 'DescribeContainerGroups', latencyMs: 150 },
      ],
    });
    expect(put.status).toBe(200);
    await expectCloudError(eci.createContainerGroup(createRequest()), 'ServiceUnavailable', 503);
    await expectCloudError(eci.createContainerGroup(createRequest()), 'ServiceUnavailable', 503);
    const id = await create(eci);
    const t0 = Date.now();
    await describe1(eci, id);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    // The injected latency is time inside the simulator: /admin/state counts it per action.
    const requests = (await admin(sim, 'GET', '/admin/state')).json.requests as Record<string, { ok: number; ms: number }>;
    expect(requests.DescribeContainerGroups!.ms).toBeGreaterThanOrEqual(140);
    const bad = await admin(sim, 'PUT', '/admin/faults', { rules: [{ action: 'X', rate: 2 }] });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toEqual(['faults.rules[0].rate: must be at most 1, got 2']);
    await admin(sim, 'PUT', '/admin/faults', {});
  });

  it('puts a zone out of stock: OperationDenied.NoStock, and a vSwitch list skips that zone', async () => {
    await admin(sim, 'PUT', '/admin/faults', { zonesOutOfStock: ['cn-test-1a'] });
    await expectCloudError(eci.createContainerGroup(createRequest({ vSwitchId: 'vsw-a' })), 'OperationDenied.NoStock', 403);
    const id = await create(eci, { vSwitchId: 'vsw-a,vsw-b' });
    expect((await describe1(eci, id)).vSwitchId).toBe('vsw-b');
    await admin(sim, 'PUT', '/admin/faults', {});
    await create(eci, { vSwitchId: 'vsw-a' });
  });

  it('fails groups by a world-file rule or an admin rule, and forces any state through the admin API', async () => {
    // The world file's rule was replaced by the tests above (PUT replaces all faults); a fresh
    // simulator shows the world-file rule, this one the admin rule.
    const fresh = await startTestSim({ faults: { groups: [{ namePattern: '^doomed-', status: 'Failed', afterMs: 80 }] } });
    try {
      const freshEci = eciClient(fresh);
      const doomed = await create(freshEci, { name: 'doomed-1' });
      const g = await waitFor(async () => {
        const x = await describe1(freshEci, doomed);
        return x.status === 'Failed' ? x : undefined;
      }, 'doomed group to fail');
      expect(g.events!.map((e) => e.reason)).toContain('InjectedFault');
    } finally {
      await fresh.stop();
    }
    await admin(sim, 'PUT', '/admin/faults', { groups: [{ tag: { key: 'fate', value: 'expire' }, status: 'Expired', afterMs: 50, reason: 'SpotInterruption' }] });
    const tagged = await create(eci, { tags: { fate: 'expire' } });
    const spared = await create(eci);
    await waitFor(async () => ((await describe1(eci, tagged)).status === 'Expired' ? true : undefined), 'tagged group to expire');
    expect((await describe1(eci, spared)).status).not.toBe('Expired');
    await admin(sim, 'PUT', '/admin/faults', {});

    const id = await create(eci);
    const forced = await admin(sim, 'POST', `/admin/groups/${id}/state`, { status: 'Expired', reason: 'SpotReclaimed' });
    expect(forced.json).toEqual({ id, status: 'Expired' });
    const x = await describe1(eci, id);
    expect(x.status).toBe('Expired');
    expect(x.expiredTime).toMatch(/Z$/);
    expect((await admin(sim, 'POST', `/admin/groups/${id}/state`, { status: 'Nope' })).status).toBe(400);
    expect((await admin(sim, 'GET', '/admin/groups/eci-none')).status).toBe(404);
  });

  it('frees a group and clears everything', async () => {
    const id = await create(eci, { vSwitchId: 'vsw-tiny' });
    const before = vSwitchesOf((await admin(sim, 'GET', '/admin/state')).json).find((v) => v.id === 'vsw-tiny')!.available;
    expect((await admin(sim, 'DELETE', `/admin/groups/${id}`)).json).toEqual({ deleted: id });
    const after = vSwitchesOf((await admin(sim, 'GET', '/admin/state')).json).find((v) => v.id === 'vsw-tiny')!.available;
    expect(after).toBe(before + 1);
    const cleared = await admin(sim, 'POST', '/admin/clear');
    expect(cleared.json.deleted).toBeGreaterThan(0);
    expect((await admin(sim, 'GET', '/admin/state')).json.groups).toBe(0);
  });
});
