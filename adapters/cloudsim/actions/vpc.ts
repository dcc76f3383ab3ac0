// VPC 2016-04-28 actions: DescribeVSwitches and DescribeVpcs, paged (PageNumber/PageSize up to
// 50), with the live AvailableIpAddressCount from IPAM. Response shape per @alicloud/vpc20160428
// models: `VSwitches.VSwitch[]`, `Vpcs.Vpc[]`.

import { invalid } from '../errors.ts';
import { usableCount, parseCidr } from '../ipam.ts';
import { checkRegion, iso } from './context.ts';
import type { Action, ActionContext, ActionResult } from './context.ts';

const bootTime = Date.now();

function paging(ctx: ActionContext): { pageNumber: number; pageSize: number } {
  return {
    pageNumber: ctx.params.int('PageNumber', { min: 1 }) ?? 1,
    pageSize: ctx.params.int('PageSize', { min: 1, max: 50 }) ?? 10,
  };
}

function idList(ctx: ActionContext, key: string, max: number): Set<string> | undefined {
  const raw = ctx.params.str(key);
  if (raw === undefined || raw === '') return undefined;
  const ids = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length > max) throw invalid(key, `at most ${max} ids (comma separated) are allowed`);
  return new Set(ids);
}

function describeVSwitches(ctx: ActionContext): ActionResult {
  checkRegion(ctx, false);
  const { cloud, params } = ctx;
  const ids = idList(ctx, 'VSwitchId', 50);
  const vpcId = params.str('VpcId');
  const zoneId = params.str('ZoneId');
  const name = params.str('VSwitchName');
  const isDefault = params.bool('IsDefault');
  const { pageNumber, pageSize } = paging(ctx);
  const all = [...cloud.vSwitches.values()].filter(
    (v) =>
      (ids === undefined || ids.has(v.id)) &&
      (vpcId === undefined || vpcId === '' || v.vpcId === vpcId) &&
      (zoneId === undefined || zoneId === '' || v.zoneId === zoneId) &&
      (name === undefined || name === '' || v.name === name) &&
      isDefault !== true,
  );
  const pageItems = all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  const now = cloud.now();
  cloud.realism.settle(now);
  return {
    TotalCount: all.length,
    PageNumber: pageNumber,
    PageSize: pageSize,
    VSwitches: {
      VSwitch: pageItems.map((v) => ({
        VSwitchId: v.id,
        VSwitchName: v.name,
        VpcId: v.vpcId,
        ZoneId: v.zoneId,
        CidrBlock: v.cidr,
        // Realism: released IPs come back late, and the count is a cached figure.
        AvailableIpAddressCount: cloud.realism.cachedFree(v.id, cloud.pools.get(v.id)!.available, now),
        Status: 'Available',
        IsDefault: false,
        Description: '',
        CreationTime: iso(bootTime),
        ResourceGroupId: '',
        NetworkAclId: '',
        ShareType: 'Private',
        EnabledIpv6: false,
        Ipv6CidrBlock: '',
        RouteTable: { RouteTableId: `vtb-${v.vpcId.replace(/^vpc-/, '')}`, RouteTableType: 'System' },
        Tags: { Tag: [] },
      })),
    },
  };
}

function describeVpcs(ctx: ActionContext): ActionResult {
  checkRegion(ctx, false);
  const { cloud, params } = ctx;
  const ids = idList(ctx, 'VpcId', 20);
  const name = params.str('VpcName');
  const isDefault = params.bool('IsDefault');
  const { pageNumber, pageSize } = paging(ctx);
  const all = [...cloud.vpcs.values()].filter((v) => (ids === undefined || ids.has(v.id)) && (name === undefined || name === '' || v.name === name) && isDefault !== true);
  const pageItems = all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  return {
    TotalCount: all.length,
    PageNumber: pageNumber,
    PageSize: pageSize,
    Vpcs: {
      Vpc: pageItems.map((v) => {
        const switches = [...cloud.vSwitches.values()].filter((s) => s.vpcId === v.id);
        const cidr = parseCidr(v.cidr);
        return {
          VpcId: v.id,
          VpcName: v.name,
          CidrBlock: v.cidr,
          RegionId: cloud.world.regionId,
          Status: 'Available',
          IsDefault: false,
          Description: typeof cidr === 'string' ? '' : `cloudsim VPC (${usableCount(cidr)} addresses)`,
          CreationTime: iso(bootTime),
          VRouterId: `vrt-${v.id.replace(/^vpc-/, '')}`,
          VSwitchIds: { VSwitchId: switches.map((s) => s.id) },
          RouterTableIds: { RouterTableIds: [`vtb-${v.id.replace(/^vpc-/, '')}`] },
          NatGatewayIds: { NatGatewayIds: [] },
          SecondaryCidrBlocks: { SecondaryCidrBlock: [] },
          UserCidrs: { UserCidr: [] },
          Tags: { Tag: [] },
          EnabledIpv6: false,
          Ipv6CidrBlock: '',
          ResourceGroupId: '',
        };
      }),
    },
  };
}

export const vpcActions: Record<string, Action> = {
  DescribeVSwitches: describeVSwitches,
  DescribeVpcs: describeVpcs,
};
