// Shared set-up for the cloudsim tests: a small world with tiny lifecycle delays, the official
// SDK clients pointed at the in-process simulator, and a fetch helper for the admin API.

import eciModule from '@alicloud/eci20180808';
import * as $eci from '@alicloud/eci20180808';
import { Config } from '@alicloud/openapi-client';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import vpcModule from '@alicloud/vpc20160428';
import { expect } from 'vitest';
import { startCloudSim } from '../../../adapters/cloudsim/server.ts';
import type { CloudSim, CloudSimOptions } from '../../../adapters/cloudsim/server.ts';
import { fetchText, withDeadline } from '../../helpers/deadline.ts';

export { $eci };
export * as $vpc from '@alicloud/vpc20160428';

// The SDK packages are CommonJS with `exports.default = Client`: Node's own loader hands the
// whole `exports` object to a default import, vitest's interop hands `exports.default`.
function cjsDefault<T>(m: { default: T }): T {
  return (typeof m.default === 'function' ? m.default : m) as T;
}
export const EciClient = cjsDefault(eciModule);
export const VpcClient = cjsDefault(vpcModule);
export type EciClientT = InstanceType<typeof EciClient>;
export type VpcClientT = InstanceType<typeof VpcClient>;

export const REGION = 'cn-test-1';
export const AK = { id: 'LTAItestAccessKey', secret: 'test-secret-0123456789' };
export const ADMIN_TOKEN = 'test-admin-token-0123';

/** A small world: tiny vSwitches, fast lifecycle, unlimited rate (tests override what they need). */
export function testWorld(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    regionId: REGION,
    zones: ['cn-test-1a', 'cn-test-1b', 'cn-test-1c'],
    vpcs: [
      { id: 'vpc-main', cidr: '10.0.0.0/16' },
      { id: 'vpc-other', cidr: '172.16.0.0/16' },
    ],
    vSwitches: [
      { id: 'vsw-a', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.1.0/24' },
      { id: 'vsw-b', vpcId: 'vpc-main', zoneId: 'cn-test-1b', cidr: '10.0.2.0/24' },
      { id: 'vsw-tiny', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.9.0/29' },
      { id: 'vsw-tiny2', vpcId: 'vpc-main', zoneId: 'cn-test-1b', cidr: '10.0.9.8/29' },
      { id: 'vsw-other', vpcId: 'vpc-other', zoneId: 'cn-test-1a', cidr: '172.16.1.0/24' },
    ],
    securityGroups: [
      { id: 'sg-main', vpcId: 'vpc-main' },
      { id: 'sg-other', vpcId: 'vpc-other' },
    ],
    accessKeys: [AK, { id: 'LTAIsecondKey', secret: 'second-secret' }],
    admin: { token: ADMIN_TOKEN },
    lifecycle: { schedulingMs: 40, pendingMs: 40, exitAfterMs: 60, crashBackoffMs: 40, crashBackoffMaxMs: 80, pullRetryMs: 40, restartMs: 40, updateMs: 40 },
    rateLimits: { mode: 'unlimited' },
    persistence: { durability: 'fsync', snapshotIntervalMs: 100 },
    ...overrides,
  };
}

export async function startTestSim(overrides: Record<string, unknown> = {}, extra: Partial<CloudSimOptions> = {}): Promise<CloudSim> {
  return startCloudSim({ world: testWorld(overrides), log: () => undefined, ...extra });
}

export function eciClient(sim: CloudSim, opts: { secret?: string; id?: string; signatureAlgorithm?: string } = {}): EciClientT {
  const config = new Config({
    accessKeyId: opts.id ?? AK.id,
    accessKeySecret: opts.secret ?? AK.secret,
    endpoint: sim.endpoint,
    protocol: 'http',
    regionId: REGION,
    readTimeout: 10_000,
    connectTimeout: 5_000,
  });
  if (opts.signatureAlgorithm !== undefined) config.signatureAlgorithm = opts.signatureAlgorithm;
  return new EciClient(config);
}

export function vpcClient(sim: CloudSim): VpcClientT {
  return new VpcClient(new $OpenApiUtil.Config({ accessKeyId: AK.id, accessKeySecret: AK.secret, endpoint: sim.endpoint, protocol: 'http', regionId: REGION }));
}

export interface CreateOpts {
  name?: string;
  vSwitchId?: string;
  securityGroupId?: string;
  clientToken?: string;
  image?: string;
  tags?: Record<string, string>;
  restartPolicy?: string;
  scheduleStrategy?: string;
  env?: Record<string, string>;
  command?: string[];
  cpu?: number;
  memory?: number;
  containers?: $eci.CreateContainerGroupRequestContainer[];
}

let counter = 0;

export function createRequest(o: CreateOpts = {}): $eci.CreateContainerGroupRequest {
  const req = new $eci.CreateContainerGroupRequest({
    regionId: REGION,
    containerGroupName: o.name ?? `pod-${++counter}`,
    vSwitchId: o.vSwitchId ?? 'vsw-a',
    securityGroupId: o.securityGroupId ?? 'sg-main',
    restartPolicy: o.restartPolicy ?? 'Always',
    container: o.containers ?? [
      new $eci.CreateContainerGroupRequestContainer({
        name: 'main',
        image: o.image ?? 'nginx:1.27',
        command: o.command,
        port: [new $eci.CreateContainerGroupRequestContainerPort({ port: 80, protocol: 'TCP' })],
        environmentVar: Object.entries(o.env ?? {}).map(([key, value]) => new $eci.CreateContainerGroupRequestContainerEnvironmentVar({ key, value })),
      }),
    ],
    tag: Object.entries(o.tags ?? {}).map(([key, value]) => new $eci.CreateContainerGroupRequestTag({ key, value })),
  });
  if (o.clientToken !== undefined) req.clientToken = o.clientToken;
  if (o.scheduleStrategy !== undefined) req.scheduleStrategy = o.scheduleStrategy;
  if (o.cpu !== undefined) req.cpu = o.cpu;
  if (o.memory !== undefined) req.memory = o.memory;
  return req;
}

export async function create(eci: EciClientT, o: CreateOpts = {}): Promise<string> {
  const res = await eci.createContainerGroup(createRequest(o));
  expect(res.body?.requestId).toMatch(/^[0-9A-F-]{36}$/);
  return res.body.containerGroupId!;
}

export async function describe1(eci: EciClientT, id: string): Promise<$eci.DescribeContainerGroupsResponseBodyContainerGroups> {
  const res = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, containerGroupIds: JSON.stringify([id]) }));
  const g = res.body?.containerGroups?.[0];
  if (g === undefined) throw new Error(`group ${id} not found`);
  return g;
}

/** Errors of @alicloud/openapi-client (statusCode in data) and @alicloud/openapi-core (statusCode on the error). */
export interface SdkError {
  code: string;
  message: string;
  statusCode?: number;
  retryAfter?: number;
  data: { statusCode?: number; RequestId: string; HostId: string; Code: string; Message: string; Recommend: string };
}

/** Awaits a rejected SDK call and checks its code and HTTP status. */
export async function expectCloudError(p: Promise<unknown>, code: string, status?: number): Promise<SdkError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeDefined();
  const e = err as SdkError;
  expect(e.code).toBe(code);
  if (status !== undefined) expect(e.data.statusCode ?? e.statusCode).toBe(status);
  expect(e.data.RequestId).toMatch(/^[0-9A-F-]{36}$/);
  expect(e.data.HostId).toBeTypeOf('string');
  expect(e.data.Recommend).toBeTypeOf('string');
  return e;
}

// Admin answers are read loosely in tests; their shapes are asserted field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export async function admin(sim: CloudSim, method: string, path: string, body?: unknown, token: string | null = sim.adminToken): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetchText(`${sim.adminEndpoint}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), timeoutMs: 4_000, what: `cloudsim admin ${method} ${path}` });
  return { status: res.status, json: JSON.parse(res.text) };
}

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      // A call that hangs is cut at the deadline too.
      const v = await withDeadline(Promise.resolve().then(fn), Math.max(500, deadline - Date.now()), `one check of ${what}`);
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}
