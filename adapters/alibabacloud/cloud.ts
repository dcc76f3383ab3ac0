// CloudPort on the official SDKs: @alicloud/eci20180808 (ECI 2018-08-08),
// @alicloud/vpc20160428 (VPC 2016-04-28) and @alicloud/ecs20140526 (ECS 2014-05-26, only
// DescribeSecurityGroups, to validate PodNetworkings' security groups). Every call goes through CloudCaller.call (pacing,
// timeout, error mapping, read retries, onCall hook). Batching follows the API limits: 20 ids per
// DescribeContainerGroups, Limit 20 + NextToken for tag listings, SinceSecond pages of
// DescribeContainerGroupStatus, PageSize 50 for DescribeVSwitches.
import { hash } from 'node:crypto';
import EciModule, {
  DeleteContainerGroupRequest,
  DescribeContainerGroupsRequest,
  DescribeContainerGroupsRequestTag,
  DescribeContainerGroupStatusRequest,
  DescribeContainerGroupStatusRequestTag,
  type DescribeContainerGroupsResponseBodyContainerGroups,
} from '@alicloud/eci20180808';
import { Config as EciConfig } from '@alicloud/openapi-client';
import { $OpenApiUtil } from '@alicloud/openapi-core';
// Deep imports of the two ECS/VPC actions' models: the packages' entry points load every model (rpc.ts).
import { DescribeSecurityGroupsRequest } from '@alicloud/ecs20140526/dist/models/DescribeSecurityGroupsRequest.js';
import { DescribeSecurityGroupsResponse } from '@alicloud/ecs20140526/dist/models/DescribeSecurityGroupsResponse.js';
import { DescribeVSwitchesRequest } from '@alicloud/vpc20160428/dist/models/DescribeVswitchesRequest.js';
import { DescribeVSwitchesResponse } from '@alicloud/vpc20160428/dist/models/DescribeVswitchesResponse.js';
import { classifyCloudError, CloudError, CloudErrorCode } from '../../provider/cloud/errors.ts';
import type { ContainerGroup, SecurityGroup, VSwitch } from '../../provider/cloud/model.ts';
import type { ContainerGroupRequest } from '../../provider/eci/request.ts';
import type { CallOptions, ChangedContainerGroup, CloudPort, ListOptions } from '../../provider/ports.ts';
import { CloudCaller, type CallInfo, type RateLimit, type RetryPolicy } from './call.ts';
import { fromSdkContainerGroup, fromSdkSecurityGroup, fromSdkVSwitch, toSdkCreateRequest } from './mapping.ts';
import { clearReadTimersOnResponseEnd } from './read-timers.ts';
import { createRpcClient, type RpcAction } from './rpc.ts';

// CommonJS packages: Node's ESM loader gives `module.exports` as the default import (the class is
// then at `.default`), bundler-style interop (vitest) gives `exports.default` itself. Accept both.
function cjsDefault<T>(mod: { default: T }): T {
  const inner = (mod as { default?: unknown }).default;
  return (typeof inner === 'function' ? inner : mod) as T;
}
const EciClient = cjsDefault(EciModule);

const DESCRIBE_VSWITCHES: RpcAction<DescribeVSwitchesResponse> = { action: 'DescribeVSwitches', version: '2016-04-28', Response: DescribeVSwitchesResponse };
const DESCRIBE_SECURITY_GROUPS: RpcAction<DescribeSecurityGroupsResponse> = {
  action: 'DescribeSecurityGroups',
  version: '2014-05-26',
  Response: DescribeSecurityGroupsResponse,
};

/** ECI's maximum for ContainerGroupIds and Limit. */
export const DESCRIBE_BATCH = 20;
/** VPC's maximum PageSize for DescribeVSwitches. */
export const VSWITCH_PAGE_SIZE = 50;
/** DescribeContainerGroupStatus page size (its default is 200; 200 keeps responses small enough). */
export const STATUS_PAGE_SIZE = 200;
/** ECS's maximum PageSize for DescribeSecurityGroups. */
export const SECURITY_GROUP_PAGE_SIZE = 50;
/** ECS's maximum number of ids in DescribeSecurityGroups' SecurityGroupIds (a JSON array). */
export const SECURITY_GROUP_IDS_MAX = 100;
/** With more ids than this, describeVSwitches pages through the region instead of one call per id. */
export const VSWITCH_PER_ID_MAX = 5;
/** A listing that never ends (a NextToken loop) is cut here and reported as an error. */
const MAX_PAGES = 10_000;

export interface CloudOptions {
  regionId: string;
  /** host[:port], no scheme. */
  eciEndpoint: string;
  vpcEndpoint: string;
  /** ECS (DescribeSecurityGroups), host[:port]. */
  ecsEndpoint: string;
  protocol: 'https' | 'http';
  credentials: { accessKeyId: string; accessKeySecret: string };
  /** Per action; merged over DEFAULT_RATE_LIMITS. */
  rateLimits?: Readonly<Record<string, RateLimit>>;
  timeouts?: { callMs?: number; connectMs?: number };
  readRetry?: RetryPolicy;
  onCall?: (info: CallInfo) => void;
  /** Share one caller between clouds of the same account (tests inject one with fake sleep). */
  caller?: CloudCaller;
}

function pagingLimit(action: string): CloudError {
  return new CloudError({ action, code: CloudErrorCode.Unknown, detail: `more than ${MAX_PAGES} pages; refusing a partial list` });
}

export interface AlibabaCloud extends CloudPort {
  readonly caller: CloudCaller;
}

/** The CloudPort of one account and region. Make one per process and give it to every virtual node. */
export function createCloud(options: CloudOptions): AlibabaCloud {
  clearReadTimersOnResponseEnd();
  const callMs = options.timeouts?.callMs ?? 15_000;
  const connectMs = options.timeouts?.connectMs ?? Math.min(5_000, callMs);
  const { accessKeyId, accessKeySecret } = options.credentials;
  const eci = new EciClient(
    new EciConfig({
      accessKeyId,
      accessKeySecret,
      regionId: options.regionId,
      endpoint: options.eciEndpoint,
      protocol: options.protocol,
      readTimeout: callMs,
      connectTimeout: connectMs,
    }),
  );
  const vpc = createRpcClient(
    new $OpenApiUtil.Config({
      accessKeyId,
      accessKeySecret,
      regionId: options.regionId,
      endpoint: options.vpcEndpoint,
      protocol: options.protocol,
      readTimeout: callMs,
      connectTimeout: connectMs,
    }),
  );
  const ecs = createRpcClient(
    new $OpenApiUtil.Config({
      accessKeyId,
      accessKeySecret,
      regionId: options.regionId,
      endpoint: options.ecsEndpoint,
      protocol: options.protocol,
      readTimeout: callMs,
      connectTimeout: connectMs,
    }),
  );
  const caller =
    options.caller ??
    new CloudCaller({
      ...(options.rateLimits === undefined ? {} : { rateLimits: options.rateLimits }),
      ...(options.readRetry === undefined ? {} : { readRetry: options.readRetry }),
      ...(options.onCall === undefined ? {} : { onCall: options.onCall }),
      // The SDK's own timers end the socket; this one is the backstop (a bit later).
      timeoutMs: callMs + 1_000,
      secrets: [accessKeySecret],
      endpoints: {
        ECI: { endpoint: options.eciEndpoint, protocol: options.protocol },
        VPC: { endpoint: options.vpcEndpoint, protocol: options.protocol },
        ECS: { endpoint: options.ecsEndpoint, protocol: options.protocol },
      },
    });
  const regionId = options.regionId;

  const tagsOf = <T>(Tag: new (map?: Record<string, unknown>) => T, tags: Readonly<Record<string, string>>): T[] =>
    Object.entries(tags).map(([key, value]) => new Tag({ key, value }));

  async function describePage(request: DescribeContainerGroupsRequest, signal?: AbortSignal): Promise<{ groups: DescribeContainerGroupsResponseBodyContainerGroups[]; nextToken?: string }> {
    const response = await caller.call('DescribeContainerGroups', 'read', () => eci.describeContainerGroups(request), signal);
    const nextToken = response.body?.nextToken;
    return { groups: response.body?.containerGroups ?? [], ...(nextToken ? { nextToken } : {}) };
  }

  return {
    caller,

    async createContainerGroup(request: ContainerGroupRequest, options?: CallOptions) {
      const sdkRequest = toSdkCreateRequest(request);
      const response = await caller.call('CreateContainerGroup', 'write', () => eci.createContainerGroup(sdkRequest), options?.signal);
      const containerGroupId = response.body?.containerGroupId;
      if (containerGroupId === undefined || containerGroupId === '') {
        throw new CloudError({
          action: 'CreateContainerGroup',
          code: CloudErrorCode.Unknown,
          detail: 'the answer carries no ContainerGroupId',
          ...(response.body?.requestId === undefined ? {} : { requestId: response.body.requestId }),
        });
      }
      return { containerGroupId };
    },

    async describeContainerGroups(ids: readonly string[], options?: CallOptions): Promise<ContainerGroup[]> {
      const unique = [...new Set(ids)];
      const out: ContainerGroup[] = [];
      const describe = async (chunk: string[]) => {
        const { groups } = await describePage(
          new DescribeContainerGroupsRequest({ regionId, containerGroupIds: JSON.stringify(chunk), limit: DESCRIBE_BATCH, withEvent: true }),
          options?.signal,
        );
        const wanted = new Set(chunk);
        for (const g of groups) if (g.containerGroupId !== undefined && wanted.has(g.containerGroupId)) out.push(fromSdkContainerGroup(g));
      };
      for (let i = 0; i < unique.length; i += DESCRIBE_BATCH) {
        const chunk = unique.slice(i, i + DESCRIBE_BATCH);
        try {
          await describe(chunk);
        } catch (err) {
          // ECI may refuse a whole batch because one id is unknown (InvalidParameter.NotFound):
          // ask one by one, an unknown id is then simply absent. Any other error propagates.
          if (classifyCloudError(err).verdict !== 'gone' || chunk.length === 1) {
            if (classifyCloudError(err).verdict === 'gone') continue;
            throw err;
          }
          for (const id of chunk) {
            try {
              await describe([id]);
            } catch (inner) {
              if (classifyCloudError(inner).verdict !== 'gone') throw inner;
            }
          }
        }
      }
      return out;
    },

    async listContainerGroups(tags: Readonly<Record<string, string>>, options?: ListOptions): Promise<ContainerGroup[]> {
      const out = new Map<string, ContainerGroup>();
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await describePage(
          // A relist (adoption, garbage collection) needs no events: describeContainerGroups brings them.
          new DescribeContainerGroupsRequest({
            regionId,
            limit: DESCRIBE_BATCH,
            withEvent: false,
            tag: tagsOf(DescribeContainerGroupsRequestTag, tags),
            ...(nextToken === undefined ? {} : { nextToken }),
          }),
          options?.signal,
        );
        const pageGroups: ContainerGroup[] = [];
        for (const g of result.groups) {
          const group = fromSdkContainerGroup(g);
          // ECI filters by tag already; checked again so a partial filter never leaks foreign groups.
          if (Object.entries(tags).every(([k, v]) => group.tags[k] === v)) {
            out.set(group.id, group);
            pageGroups.push(group);
          }
        }
        if (pageGroups.length > 0) options?.onPage?.(pageGroups);
        if (result.nextToken === undefined || result.groups.length === 0) return [...out.values()];
        nextToken = result.nextToken;
      }
      throw pagingLimit('DescribeContainerGroups');
    },

    async listChangedContainerGroups(tags: Readonly<Record<string, string>>, sinceSeconds: number, options?: CallOptions): Promise<ChangedContainerGroup[]> {
      const out = new Map<string, string>();
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const request = new DescribeContainerGroupStatusRequest({
          regionId,
          sinceSecond: Math.max(1, Math.ceil(sinceSeconds)),
          limit: STATUS_PAGE_SIZE,
          tag: tagsOf(DescribeContainerGroupStatusRequestTag, tags),
          ...(nextToken === undefined ? {} : { nextToken }),
        });
        const response = await caller.call('DescribeContainerGroupStatus', 'read', () => eci.describeContainerGroupStatus(request), options?.signal);
        const data = response.body?.data ?? [];
        for (const d of data) {
          if (!d.containerGroupId) continue;
          const fingerprint = hash('sha1', JSON.stringify([d.status, d.podStatus]), 'base64');
          out.set(d.containerGroupId, fingerprint);
        }
        const token = response.body?.nextToken;
        if (!token || data.length === 0) return [...out].map(([id, fingerprint]) => ({ id, fingerprint }));
        nextToken = token;
      }
      throw pagingLimit('DescribeContainerGroupStatus');
    },

    async deleteContainerGroup(containerGroupId: string, options?: CallOptions): Promise<void> {
      const request = new DeleteContainerGroupRequest({ regionId, containerGroupId });
      try {
        await caller.call('DeleteContainerGroup', 'write', () => eci.deleteContainerGroup(request), options?.signal);
      } catch (err) {
        if (classifyCloudError(err).verdict === 'gone') return;
        throw err;
      }
    },

    async describeVSwitches(ids: readonly string[], options?: CallOptions): Promise<VSwitch[]> {
      const wanted = new Set(ids);
      if (wanted.size === 0) return [];
      const byId = new Map<string, VSwitch>();
      const pages = async (filter: { vSwitchId?: string }) => {
        for (let pageNumber = 1; pageNumber <= MAX_PAGES; pageNumber++) {
          const request = new DescribeVSwitchesRequest({ regionId, pageSize: VSWITCH_PAGE_SIZE, pageNumber, ...filter });
          const response = await caller.call('DescribeVSwitches', 'read', () => vpc.call(DESCRIBE_VSWITCHES, request), options?.signal);
          const list = response.body?.vSwitches?.vSwitch ?? [];
          for (const v of list) if (v.vSwitchId !== undefined && wanted.has(v.vSwitchId)) byId.set(v.vSwitchId, fromSdkVSwitch(v));
          const total = response.body?.totalCount ?? 0;
          if (list.length === 0 || pageNumber * VSWITCH_PAGE_SIZE >= total) return;
        }
        throw pagingLimit('DescribeVSwitches');
      };
      if (wanted.size <= VSWITCH_PER_ID_MAX) {
        for (const id of wanted) await pages({ vSwitchId: id });
      } else {
        await pages({});
        // A region scan pages by PageNumber: a vSwitch deleted elsewhere between two pages shifts
        // the rest and one that exists can be skipped. An id the scan did not return is asked for
        // by id before the answer calls it missing (callers take absent as "not in the cloud").
        for (const id of wanted) if (!byId.has(id)) await pages({ vSwitchId: id });
      }
      return ids.filter((id, i) => ids.indexOf(id) === i).flatMap((id) => byId.get(id) ?? []);
    },

    async describeSecurityGroups(ids: readonly string[], options?: CallOptions): Promise<SecurityGroup[]> {
      const unique = [...new Set(ids)];
      const byId = new Map<string, SecurityGroup>();
      for (let i = 0; i < unique.length; i += SECURITY_GROUP_IDS_MAX) {
        const chunk = unique.slice(i, i + SECURITY_GROUP_IDS_MAX);
        const wanted = new Set(chunk);
        for (let pageNumber = 1; ; pageNumber++) {
          if (pageNumber > MAX_PAGES) throw pagingLimit('DescribeSecurityGroups');
          const request = new DescribeSecurityGroupsRequest({ regionId, securityGroupIds: JSON.stringify(chunk), pageSize: SECURITY_GROUP_PAGE_SIZE, pageNumber });
          const response = await caller.call('DescribeSecurityGroups', 'read', () => ecs.call(DESCRIBE_SECURITY_GROUPS, request), options?.signal);
          const list = response.body?.securityGroups?.securityGroup ?? [];
          // Unknown ids are simply absent from the answer (ECS does not fail the call for them).
          for (const g of list) if (g.securityGroupId !== undefined && wanted.has(g.securityGroupId)) byId.set(g.securityGroupId, fromSdkSecurityGroup(g));
          const total = response.body?.totalCount ?? 0;
          if (list.length === 0 || pageNumber * SECURITY_GROUP_PAGE_SIZE >= total) break;
        }
      }
      return unique.flatMap((id) => byId.get(id) ?? []);
    },
  };
}
