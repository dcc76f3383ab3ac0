// ECI + VPC actions through the official SDKs: create/describe/paging/tags, ClientToken
// idempotency, IPAM (exhaustion, live AvailableIpAddressCount, vSwitch fail-over), validation.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { $eci, $vpc, REGION, create, createRequest, describe1, eciClient, expectCloudError, startTestSim, vpcClient } from './helpers.ts';
import type { EciClientT, VpcClientT } from './helpers.ts';

let sim: CloudSim;
let eci: EciClientT;
let vpc: VpcClientT;

beforeAll(async () => {
  sim = await startTestSim();
  eci = eciClient(sim);
  vpc = vpcClient(sim);
});
afterAll(async () => {
  await sim.stop();
});

async function available(vSwitchId: string): Promise<number> {
  const res = await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION, vSwitchId }));
  return res.body!.vSwitches!.vSwitch![0]!.availableIpAddressCount!;
}

describe('CreateContainerGroup and DescribeContainerGroups', () => {
  it('creates a group with an IP of its vSwitch and describes it with the SDK model', async () => {
    const id = await create(eci, { name: 'web-1', tags: { app: 'web', team: 'a' }, env: { GREETING: 'hi' } });
    expect(id).toMatch(/^eci-[a-z0-9]{20}$/);
    const g = await describe1(eci, id);
    expect(g.containerGroupName).toBe('web-1');
    expect(g.vSwitchId).toBe('vsw-a');
    expect(g.vpcId).toBe('vpc-main');
    expect(g.zoneId).toBe('cn-test-1a');
    expect(g.securityGroupId).toBe('sg-main');
    expect(g.intranetIp).toMatch(/^10\.0\.1\.\d+$/);
    expect(g.intranetIp).not.toBe('10.0.1.0');
    expect(g.eniInstanceId).toMatch(/^eni-/);
    expect(g.cpu).toBe(2);
    expect(g.memory).toBe(4);
    expect(['Scheduling', 'Pending', 'Running']).toContain(g.status);
    expect(g.tags).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'app', value: 'web' })]));
    expect(g.containers![0]!.environmentVars![0]).toEqual(expect.objectContaining({ key: 'GREETING', value: 'hi' }));
    expect(g.containers![0]!.ports![0]).toEqual(expect.objectContaining({ port: 80, protocol: 'TCP' }));
    expect(g.creationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('pages with Limit/NextToken and filters by tags (all must match), name, zone and vSwitch', async () => {
    const run = `run${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await create(eci, { tags: { run, parity: i % 2 === 0 ? 'even' : 'odd' }, vSwitchId: i < 5 ? 'vsw-a' : 'vsw-b' }));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const req = new $eci.DescribeContainerGroupsRequest({ regionId: REGION, limit: 3, tag: [new $eci.DescribeContainerGroupsRequestTag({ key: 'run', value: run })] });
      if (token !== undefined) req.nextToken = token;
      const res = await eci.describeContainerGroups(req);
      expect(res.body.totalCount).toBe(7);
      seen.push(...res.body.containerGroups!.map((g) => g.containerGroupId!));
      token = res.body.nextToken === '' ? undefined : res.body.nextToken;
      pages++;
    } while (token !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);

    const both = await eci.describeContainerGroups(
      new $eci.DescribeContainerGroupsRequest({
        regionId: REGION,
        tag: [new $eci.DescribeContainerGroupsRequestTag({ key: 'run', value: run }), new $eci.DescribeContainerGroupsRequestTag({ key: 'parity', value: 'even' })],
      }),
    );
    expect(both.body.containerGroups!.map((g) => g.containerGroupId)).toEqual([ids[0], ids[2], ids[4], ids[6]]);

    const inB = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, vSwitchId: 'vsw-b', tag: [new $eci.DescribeContainerGroupsRequestTag({ key: 'run', value: run })] }));
    expect(inB.body.containerGroups!.map((g) => g.containerGroupId)).toEqual([ids[5], ids[6]]);
    const inZone = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, zoneId: 'cn-test-1b', tag: [new $eci.DescribeContainerGroupsRequestTag({ key: 'run', value: run })] }));
    expect(inZone.body.totalCount).toBe(2);

    const g0 = await describe1(eci, ids[0]!);
    const byName = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, containerGroupName: g0.containerGroupName }));
    expect(byName.body.containerGroups!.map((g) => g.containerGroupId)).toEqual([ids[0]]);

    await expectCloudError(eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, limit: 21 })), 'InvalidParameter', 400);
    await expectCloudError(eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, containerGroupIds: JSON.stringify(Array.from({ length: 21 }, (_, i) => `eci-${i}`)) })), 'InvalidParameter', 400);
    await expectCloudError(eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, nextToken: 'garbage' })), 'InvalidParameter', 400);
  });

  it('is idempotent per ClientToken: same parameters give the same group, others IdempotentParameterMismatch', async () => {
    const token = `uid-${Date.now()}`;
    const opts = { name: 'idem-1', clientToken: token, tags: { uid: token } };
    const first = await create(eci, opts);
    const again = await create(eci, opts);
    expect(again).toBe(first);
    const listed = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, tag: [new $eci.DescribeContainerGroupsRequestTag({ key: 'uid', value: token })] }));
    expect(listed.body.totalCount).toBe(1);
    await expectCloudError(eci.createContainerGroup(createRequest({ ...opts, image: 'nginx:other' })), 'IdempotentParameterMismatch', 400);
  });

  it('validates the network: unknown vSwitch/SG, VPC mismatch, too many vSwitches, zone', async () => {
    await expectCloudError(eci.createContainerGroup(createRequest({ vSwitchId: 'vsw-nope' })), 'InvalidVSwitchId.NotFound', 404);
    await expectCloudError(eci.createContainerGroup(createRequest({ securityGroupId: 'sg-nope' })), 'InvalidSecurityGroupId.NotFound', 404);
    await expectCloudError(eci.createContainerGroup(createRequest({ securityGroupId: 'sg-other' })), 'InvalidOperation.VpcMismatch', 400);
    await expectCloudError(eci.createContainerGroup(createRequest({ vSwitchId: 'vsw-a,vsw-other', securityGroupId: 'sg-main' })), 'InvalidOperation.VpcMismatch', 400);
    await expectCloudError(eci.createContainerGroup(createRequest({ vSwitchId: Array.from({ length: 11 }, () => 'vsw-a').join(',') })), 'InvalidParameter', 400);
    const wrongZone = createRequest({ vSwitchId: 'vsw-a' });
    wrongZone.zoneId = 'cn-test-1b';
    await expectCloudError(eci.createContainerGroup(wrongZone), 'InvalidParameter', 400);
  });

  it('validates specs: CPU/memory combinations, container count, names', async () => {
    await expectCloudError(eci.createContainerGroup(createRequest({ cpu: 3, memory: 5 })), 'InvalidParameter', 400);
    const ok = await create(eci, { cpu: 0.5, memory: 1 });
    expect((await describe1(eci, ok)).cpu).toBe(0.5);
    const many = Array.from({ length: 21 }, (_, i) => new $eci.CreateContainerGroupRequestContainer({ name: `c${i}`, image: 'busybox' }));
    await expectCloudError(eci.createContainerGroup(createRequest({ containers: many })), 'InvalidParameter', 400);
    const dup = [new $eci.CreateContainerGroupRequestContainer({ name: 'c', image: 'a' }), new $eci.CreateContainerGroupRequestContainer({ name: 'c', image: 'b' })];
    const e = await expectCloudError(eci.createContainerGroup(createRequest({ containers: dup })), 'InvalidParameter', 400);
    expect(e.data.Message).toContain('Container.2.Name');
    await expectCloudError(eci.createContainerGroup(createRequest({ name: 'Bad_Name' })), 'InvalidParameter', 400);
  });
});

describe('IPAM', () => {
  it('exhausts a /29 (4 usable), answers InvalidVSwitchId.IpNotEnough 403, and frees IPs on delete', async () => {
    expect(await available('vsw-tiny')).toBe(4);
    const ids: string[] = [];
    const ips = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const id = await create(eci, { vSwitchId: 'vsw-tiny' });
      ids.push(id);
      ips.add((await describe1(eci, id)).intranetIp!);
      expect(await available('vsw-tiny')).toBe(3 - i);
    }
    // 10.0.9.0/29: .0 and .5-.7 are reserved, .1-.4 usable.
    expect([...ips].sort()).toEqual(['10.0.9.1', '10.0.9.2', '10.0.9.3', '10.0.9.4']);
    const e = await expectCloudError(eci.createContainerGroup(createRequest({ vSwitchId: 'vsw-tiny' })), 'InvalidVSwitchId.IpNotEnough', 403);
    expect(e.data.Message).toContain('vsw-tiny');
    await eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: ids[1] }));
    expect(await available('vsw-tiny')).toBe(1);
    const again = await create(eci, { vSwitchId: 'vsw-tiny' });
    expect((await describe1(eci, again)).intranetIp).toBe('10.0.9.2');
    for (const id of [ids[0], ids[2], ids[3], again]) await eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: id }));
    expect(await available('vsw-tiny')).toBe(4);
  });

  it('fails over along a comma list of vSwitches (VSwitchOrdered) and refuses when all are exhausted', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await create(eci, { vSwitchId: 'vsw-tiny,vsw-tiny2', scheduleStrategy: 'VSwitchOrdered' }));
    const placed = await Promise.all(ids.map(async (id) => (await describe1(eci, id)).vSwitchId));
    expect(placed).toEqual(['vsw-tiny', 'vsw-tiny', 'vsw-tiny', 'vsw-tiny', 'vsw-tiny2', 'vsw-tiny2', 'vsw-tiny2', 'vsw-tiny2']);
    expect((await describe1(eci, ids[5]!)).zoneId).toBe('cn-test-1b');
    await expectCloudError(eci.createContainerGroup(createRequest({ vSwitchId: 'vsw-tiny,vsw-tiny2' })), 'InvalidVSwitchId.IpNotEnough', 403);
    for (const id of ids) await eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: id }));
    // VSwitchRandom still only picks vSwitches with free IPs.
    const random = await create(eci, { vSwitchId: 'vsw-tiny,vsw-tiny2', scheduleStrategy: 'VSwitchRandom' });
    expect(['vsw-tiny', 'vsw-tiny2']).toContain((await describe1(eci, random)).vSwitchId);
    await eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: random }));
  });
});

describe('DeleteContainerGroup and VPC describes', () => {
  it('deletes, then the group is gone and a second delete is InvalidContainerGroupId.NotFound (404)', async () => {
    const id = await create(eci);
    await eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: id }));
    const res = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, containerGroupIds: JSON.stringify([id]) }));
    expect(res.body.containerGroups).toEqual([]);
    await expectCloudError(eci.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: id })), 'InvalidContainerGroupId.NotFound', 404);
  });

  it('DescribeVSwitches filters and pages; DescribeVpcs lists the VPCs with their vSwitches', async () => {
    const byVpc = await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION, vpcId: 'vpc-main', pageSize: 2 }));
    expect(byVpc.body!.totalCount).toBe(4);
    expect(byVpc.body!.vSwitches!.vSwitch!.map((v) => v.vSwitchId)).toEqual(['vsw-a', 'vsw-b']);
    const page2 = await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION, vpcId: 'vpc-main', pageSize: 2, pageNumber: 2 }));
    expect(page2.body!.vSwitches!.vSwitch!.map((v) => v.vSwitchId)).toEqual(['vsw-tiny', 'vsw-tiny2']);
    const list = await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION, vSwitchId: 'vsw-a,vsw-other' }));
    expect(list.body!.vSwitches!.vSwitch!.map((v) => [v.vSwitchId, v.zoneId, v.cidrBlock, v.status])).toEqual([
      ['vsw-a', 'cn-test-1a', '10.0.1.0/24', 'Available'],
      ['vsw-other', 'cn-test-1a', '172.16.1.0/24', 'Available'],
    ]);
    const zone = await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION, zoneId: 'cn-test-1b' }));
    expect(zone.body!.vSwitches!.vSwitch!.map((v) => v.vSwitchId)).toEqual(['vsw-b', 'vsw-tiny2']);
    await expectCloudError(vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION, pageSize: 51 })), 'InvalidParameter', 400);
    const vpcs = await vpc.describeVpcs(new $vpc.DescribeVpcsRequest({ regionId: REGION }));
    expect(vpcs.body!.totalCount).toBe(2);
    expect(vpcs.body!.vpcs!.vpc![0]!.vSwitchIds!.vSwitchId).toEqual(['vsw-a', 'vsw-b', 'vsw-tiny', 'vsw-tiny2']);
    expect(vpcs.body!.vpcs!.vpc![1]!.cidrBlock).toBe('172.16.0.0/16');
  });
});
