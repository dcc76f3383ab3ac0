// Deviations from the API reference fixed in the simulator: booleans in every form the official
// SDKs send, DescribeMultiContainerGroupMetric, Delete's documented OperationConflict, Restart of
// a Pending group (docs/cloudsim.md, "Differences from real ECI", lists what remains).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { $eci, REGION, create, describe1, eciClient, expectCloudError, startTestSim, waitFor } from './helpers.ts';
import type { EciClientT } from './helpers.ts';

let sim: CloudSim;
let eci: EciClientT;

beforeAll(async () => {
  // Slow enough that a group is seen Pending and Restarting.
  sim = await startTestSim({ lifecycle: { schedulingMs: 20, pendingMs: 1_500, restartMs: 1_500, updateMs: 1_500 } });
  eci = eciClient(sim);
});
afterAll(async () => {
  await sim.stop();
});

describe('booleans', () => {
  it.each(['true', 'True', 'TRUE', '"true"'])('WithEvent=%s reads as true; False as false', async (form) => {
    const id = await create(eci);
    await waitFor(async () => ((await describe1(eci, id)).events?.length ?? 0) > 0 || undefined, 'an event', 3_000);
    const res = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, containerGroupIds: JSON.stringify([id]), withEvent: form }));
    expect(res.body.containerGroups![0]!.events!.length).toBeGreaterThan(0);
    const off = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, containerGroupIds: JSON.stringify([id]), withEvent: 'False' }));
    expect(off.body.containerGroups![0]!.events).toEqual([]);
  });

  it('refuses a word that is not a boolean, naming the parameter', async () => {
    const e = await expectCloudError(eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, withEvent: 'yes' })), 'InvalidParameter', 400);
    expect(e.message).toMatch(/WithEvent/);
  });
});

describe('DescribeMultiContainerGroupMetric', () => {
  it('answers MonitorDatas for the known ids of the batch', async () => {
    const a = await create(eci);
    const b = await create(eci);
    await waitFor(async () => ((await describe1(eci, b)).status === 'Running' ? true : undefined), 'Running', 5_000);
    await waitFor(async () => ((await describe1(eci, a)).status === 'Running' ? true : undefined), 'Running', 5_000);
    const res = await eci.describeMultiContainerGroupMetric(new $eci.DescribeMultiContainerGroupMetricRequest({ regionId: REGION, containerGroupIds: JSON.stringify([a, b, 'eci-unknown']) }));
    expect(res.body.monitorDatas!.map((m) => m.containerGroupId)).toEqual([a, b]);
  });
});

describe('Delete and Restart as documented', () => {
  it('restarts a Pending group; a Delete while it restarts is OperationConflict, then succeeds', async () => {
    const id = await create(eci);
    await waitFor(async () => ((await describe1(eci, id)).status === 'Pending' ? true : undefined), 'Pending', 3_000);
    await eci.restartContainerGroup(new $eci.RestartContainerGroupRequest({ regionId: REGION, containerGroupId: id }));
    expect((await describe1(eci, id)).status).toBe('Restarting');
    await expectCloudError(eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: id })), 'OperationConflict', 400);
    await waitFor(async () => ((await describe1(eci, id)).status !== 'Restarting' ? true : undefined), 'the restart to end', 5_000);
    await eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: id }));
  });
});
