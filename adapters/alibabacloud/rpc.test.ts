// The lean RPC path (rpc.ts) hands openapi-core's callApi exactly what the generated SDK methods
// hand it: same Params, same query. The generated clients are loaded here (test only) and their
// callApi is intercepted at the openapi-core boundary, so both sides are compared before signing;
// the signing and HTTP below callApi are openapi-core's in both cases (cloud.test.ts runs them
// against the simulator, which verifies the signature).
import EcsModule, * as $ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import VpcModule, * as $vpc from '@alicloud/vpc20160428';
import { describe, expect, it } from 'vitest';
import { DescribeSecurityGroupsRequest } from '@alicloud/ecs20140526/dist/models/DescribeSecurityGroupsRequest.js';
import { DescribeVSwitchesRequest } from '@alicloud/vpc20160428/dist/models/DescribeVswitchesRequest.js';
import { rpcParams, rpcQuery } from './rpc.ts';

// CommonJS interop, as in cloud.ts.
function cjsDefault<T>(mod: { default: T }): T {
  const inner = (mod as { default?: unknown }).default;
  return (typeof inner === 'function' ? inner : mod) as T;
}

class Captured extends Error {
  readonly params: $OpenApiUtil.Params;
  readonly request: $OpenApiUtil.OpenApiRequest;

  constructor(params: $OpenApiUtil.Params, request: $OpenApiUtil.OpenApiRequest) {
    super('captured');
    this.params = params;
    this.request = request;
  }
}

/** Runs the generated method and returns what it gave callApi (the call itself is stopped there). */
async function generated(Client: new (config: $OpenApiUtil.Config) => object, method: string, request: unknown): Promise<Captured> {
  const client = new Client(new $OpenApiUtil.Config({ accessKeyId: 'id', accessKeySecret: 'secret', regionId: 'cn-hangzhou', endpoint: 'example.invalid' })) as Record<string, unknown>;
  client.callApi = (params: $OpenApiUtil.Params, req: $OpenApiUtil.OpenApiRequest) => {
    throw new Captured(params, req);
  };
  const err: unknown = await (client[method] as (r: unknown) => Promise<unknown>).call(client, request).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Captured)) throw new Error(`${method}: callApi was not reached (${String(err)})`);
  return err;
}

type ModelClass = (new (map: Record<string, unknown>) => { validate(): void }) & { names(): Record<string, string>; types(): Record<string, unknown> };

// Every field of the request set, so a field the generated method leaves out of the query (or
// renames, or flattens differently) shows up as a difference.
function everyField(Request: ModelClass, Tag: new (map: Record<string, unknown>) => unknown): { validate(): void } {
  const types = Request.types();
  const map: Record<string, unknown> = {};
  for (const field of Object.keys(Request.names())) {
    const type = types[field];
    if (field === 'tag') map[field] = [new Tag({ key: 'k', value: 'v' }), new Tag({ key: 'k2', value: 'v2' })];
    else if (type === 'string') map[field] = `v-${field}`;
    else if (type === 'number') map[field] = 3;
    else if (type === 'boolean') map[field] = true;
    else throw new Error(`${Request.name}.${field}: no sample value for type ${JSON.stringify(type)}`);
  }
  return new Request(map);
}

const asClient = (mod: unknown) => cjsDefault(mod as { default: new (config: $OpenApiUtil.Config) => object });

const cases = [
  {
    name: 'DescribeVSwitches',
    version: '2016-04-28',
    Client: asClient(VpcModule),
    method: 'describeVSwitches',
    lean: DescribeVSwitchesRequest as unknown as ModelClass,
    sdk: $vpc.DescribeVSwitchesRequest as unknown as ModelClass,
    Tag: $vpc.DescribeVSwitchesRequestTag,
  },
  {
    name: 'DescribeSecurityGroups',
    version: '2014-05-26',
    Client: asClient(EcsModule),
    method: 'describeSecurityGroups',
    lean: DescribeSecurityGroupsRequest as unknown as ModelClass,
    sdk: $ecs.DescribeSecurityGroupsRequest as unknown as ModelClass,
    Tag: $ecs.DescribeSecurityGroupsRequestTag,
  },
];

describe('lean RPC calls match the generated SDK methods', () => {
  it.each(cases)('$name: same Params and query as the generated client', async (c) => {
    const viaSdk = await generated(c.Client, c.method, everyField(c.sdk, c.Tag));
    const leanRequest = everyField(c.lean, c.Tag);
    expect({ ...rpcParams(c.name, c.version) }).toEqual({ ...viaSdk.params });
    const query = rpcQuery(leanRequest);
    expect(query).toEqual(viaSdk.request.query);
    // The case really sets fields beyond the basics (a regression would not hide in an empty query).
    expect(Object.keys(query).length).toBeGreaterThan(10);
  });

  it('the deep-imported model is the class the package entry exports', () => {
    expect(new DescribeVSwitchesRequest({ vSwitchId: 'vsw-a' })).toBeInstanceOf($vpc.DescribeVSwitchesRequest);
    expect(new DescribeSecurityGroupsRequest({ vpcId: 'vpc-1' })).toBeInstanceOf($ecs.DescribeSecurityGroupsRequest);
  });
});
