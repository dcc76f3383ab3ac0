// ECS 2014-05-26 actions: DescribeSecurityGroups only (the provider validates a PodNetworking's
// security groups with it). Filters as ECS documents them: SecurityGroupIds (a JSON array string,
// up to 100), SecurityGroupId, VpcId, SecurityGroupName; paged by PageNumber/PageSize (PageSize
// 1..50, default 10) or, when MaxResults or NextToken is given, by token (MaxResults 10..100).
// Unknown ids are simply absent. Response shape per @alicloud/ecs20140526's models:
// `SecurityGroups.SecurityGroup[]`.

import { invalid } from '../errors.ts';
import { checkRegion, decodeToken, encodeToken, iso } from './context.ts';
import type { Action, ActionContext, ActionResult } from './context.ts';

const bootTime = Date.now();

function describeSecurityGroups(ctx: ActionContext): ActionResult {
  checkRegion(ctx, true);
  const { cloud, params } = ctx;
  const ids = params.jsonStrings('SecurityGroupIds', 100);
  const oneId = params.str('SecurityGroupId');
  const vpcId = params.str('VpcId');
  const name = params.str('SecurityGroupName');
  const type = params.str('SecurityGroupType');
  if (type !== undefined && type !== '' && type !== 'normal' && type !== 'enterprise') throw invalid('SecurityGroupType', 'must be normal or enterprise');
  const wanted = ids === undefined ? undefined : new Set(ids);
  const all = [...cloud.securityGroups.values()].filter(
    (g) =>
      (wanted === undefined || wanted.has(g.id)) &&
      (oneId === undefined || oneId === '' || g.id === oneId) &&
      (vpcId === undefined || vpcId === '' || g.vpcId === vpcId) &&
      (name === undefined || name === '' || g.name === name) &&
      (type === undefined || type === '' || type === 'normal'),
  );
  const toItem = (g: (typeof all)[number]) => ({
    SecurityGroupId: g.id,
    SecurityGroupName: g.name,
    Description: '',
    VpcId: g.vpcId,
    SecurityGroupType: 'normal',
    CreationTime: iso(bootTime),
    ResourceGroupId: '',
    ServiceManaged: false,
    EcsCount: 0,
    AvailableInstanceAmount: 0,
    RuleCount: 0,
    GroupToGroupRuleCount: 0,
    Tags: { Tag: [] },
  });

  const maxResults = params.int('MaxResults', { min: 10, max: 100 });
  const nextToken = params.str('NextToken');
  if (maxResults !== undefined || (nextToken !== undefined && nextToken !== '')) {
    // Token paging: the token is the index of the next item.
    const start = decodeToken('NextToken', nextToken);
    const limit = maxResults ?? 10;
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    return {
      RegionId: cloud.world.regionId,
      TotalCount: all.length,
      NextToken: more ? encodeToken(start + limit) : '',
      SecurityGroups: { SecurityGroup: page.map(toItem) },
    };
  }
  const pageNumber = params.int('PageNumber', { min: 1 }) ?? 1;
  const pageSize = params.int('PageSize', { min: 1, max: 50 }) ?? 10;
  const page = all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  return {
    RegionId: cloud.world.regionId,
    TotalCount: all.length,
    PageNumber: pageNumber,
    PageSize: pageSize,
    SecurityGroups: { SecurityGroup: page.map(toItem) },
  };
}

export const ecsActions: Record<string, Action> = {
  DescribeSecurityGroups: describeSecurityGroups,
};
