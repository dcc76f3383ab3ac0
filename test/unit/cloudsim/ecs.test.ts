// ECS DescribeSecurityGroups through the official @alicloud/ecs20140526 SDK: SecurityGroupIds as a
// JSON array string, the VpcId filter, PageNumber/PageSize and MaxResults/NextToken paging, the
// response model (`SecurityGroups.SecurityGroup[]`), and the errors ECS answers.
import ecsModule from '@alicloud/ecs20140526';
import * as $ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { AK, REGION, expectCloudError, startTestSim } from './helpers.ts';

// CommonJS with `exports.default = Client` (see helpers.ts).
function cjsDefault<T>(m: { default: T }): T {
  return (typeof m.default === 'function' ? m.default : m) as T;
}
const EcsClient = cjsDefault(ecsModule);

let sim: CloudSim;
let ecs: InstanceType<typeof EcsClient>;

const SECURITY_GROUPS = [
  { id: 'sg-main', vpcId: 'vpc-main', name: 'main' },
  { id: 'sg-other', vpcId: 'vpc-other', name: 'other' },
  ...Array.from({ length: 12 }, (_, i) => ({ id: `sg-many${String(i).padStart(2, '0')}`, vpcId: 'vpc-main', name: `many-${i}` })),
];

beforeAll(async () => {
  sim = await startTestSim({ securityGroups: SECURITY_GROUPS });
  ecs = new EcsClient(new $OpenApiUtil.Config({ accessKeyId: AK.id, accessKeySecret: AK.secret, endpoint: sim.endpoint, protocol: 'http', regionId: REGION }));
});
afterAll(async () => {
  await sim.stop();
});

describe('ECS DescribeSecurityGroups', () => {
  it('answers the ids of a SecurityGroupIds JSON array with their VPCs; unknown ids are absent', async () => {
    const res = await ecs.describeSecurityGroups(new $ecs.DescribeSecurityGroupsRequest({ regionId: REGION, securityGroupIds: JSON.stringify(['sg-other', 'sg-nope', 'sg-main']) }));
    const groups = res.body!.securityGroups!.securityGroup!;
    expect(groups.map((g) => [g.securityGroupId, g.vpcId, g.securityGroupName]).sort()).toEqual([
      ['sg-main', 'vpc-main', 'main'],
      ['sg-other', 'vpc-other', 'other'],
    ]);
    expect(groups[0]!.securityGroupType).toBe('normal');
    expect(res.body!.totalCount).toBe(2);
    expect(res.body!.requestId).toBeTruthy();
  });

  it('filters by VpcId and pages by PageNumber/PageSize', async () => {
    const page1 = await ecs.describeSecurityGroups(new $ecs.DescribeSecurityGroupsRequest({ regionId: REGION, vpcId: 'vpc-main', pageSize: 10 }));
    expect(page1.body!.totalCount).toBe(13);
    expect(page1.body!.pageNumber).toBe(1);
    expect(page1.body!.securityGroups!.securityGroup).toHaveLength(10);
    const page2 = await ecs.describeSecurityGroups(new $ecs.DescribeSecurityGroupsRequest({ regionId: REGION, vpcId: 'vpc-main', pageSize: 10, pageNumber: 2 }));
    const ids = [...page1.body!.securityGroups!.securityGroup!, ...page2.body!.securityGroups!.securityGroup!].map((g) => g.securityGroupId);
    expect(new Set(ids).size).toBe(13);
    expect(ids).not.toContain('sg-other');
  });

  it('pages by MaxResults/NextToken', async () => {
    const seen: string[] = [];
    let nextToken: string | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await ecs.describeSecurityGroups(new $ecs.DescribeSecurityGroupsRequest({ regionId: REGION, maxResults: 10, ...(nextToken ? { nextToken } : {}) }));
      seen.push(...res.body!.securityGroups!.securityGroup!.map((g) => g.securityGroupId!));
      nextToken = res.body!.nextToken;
      if (!nextToken) break;
    }
    expect(seen.sort()).toEqual(SECURITY_GROUPS.map((g) => g.id).sort());
  });

  it('refuses what ECS refuses: no RegionId, another region, malformed SecurityGroupIds, PageSize over 50', async () => {
    await expectCloudError(ecs.describeSecurityGroups(new $ecs.DescribeSecurityGroupsRequest({})), 'MissingParameter', 400);
    await expectCloudError(ecs.describeSecurityGroups(new $ecs.DescribeSecurityGroupsRequest({ regionId: 'cn-nowhere' })), 'InvalidRegionId.NotFound', 404);
    await expectCloudError(ecs.describeSecurityGroups(new $ecs.DescribeSecurityGroupsRequest({ regionId: REGION, securityGroupIds: 'sg-main' })), 'InvalidParameter', 400);
    await expectCloudError(ecs.describeSecurityGroups(new $ecs.DescribeSecurityGroupsRequest({ regionId: REGION, pageSize: 51 })), 'InvalidParameter', 400);
  });
});
