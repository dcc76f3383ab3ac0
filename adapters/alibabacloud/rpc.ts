// Lean RPC calls on @alicloud/openapi-core for the few ECS and VPC actions the provider uses.
// The generated clients of @alicloud/ecs20140526 and @alicloud/vpc20160428 require ./models/model,
// which loads every model of the product (~3,500 files): +70 MiB RSS and ~0.5 s each, for one action
// each. Here the action's own model files are deep-imported and the request is sent the way the
// generated `<action>WithOptions` method sends it: the same query, the same openapi-core Params,
// openapi-core's callApi (its signing and HTTP), and $dara.cast into the SDK's response model.
// test/unit/alibabacloud/rpc.test.ts checks the query and Params against the generated methods.
import * as $dara from '@darabonba/typescript';
import OpenApiModule, { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';

// CommonJS interop, as in cloud.ts: Node's ESM loader gives module.exports, vitest exports.default.
function cjsDefault<T>(mod: { default: T }): T {
  const inner = (mod as { default?: unknown }).default;
  return (typeof inner === 'function' ? inner : mod) as T;
}
const OpenApiClient = cjsDefault(OpenApiModule);

/** A generated request model: its static names() maps field -> wire name. */
interface RequestModelClass {
  names(): Record<string, string>;
}
interface RequestModel {
  validate(): void;
}

/** One RPC action as the generated SDK method describes it. */
export interface RpcAction<Res extends $dara.Model> {
  action: string;
  version: string;
  /** The SDK's response model (DescribeVSwitchesResponse, ...). */
  Response: new (map?: Record<string, unknown>) => Res;
}

/**
 * The query the generated method builds: every field of the request that is set, under its wire
 * name, flattened by OpenApiUtil.query. Valid for actions whose generated method puts every
 * request field in the query (checked per action by the unit test).
 */
export function rpcQuery(request: RequestModel): Record<string, string> {
  const names = (request.constructor as unknown as RequestModelClass).names();
  const query: Record<string, unknown> = {};
  for (const [field, wire] of Object.entries(names)) {
    const value = (request as unknown as Record<string, unknown>)[field];
    if (!$dara.isNull(value)) query[wire] = value;
  }
  return OpenApiUtil.query(query);
}

/** The Params every generated ECS/VPC RPC method passes to callApi. */
export function rpcParams(action: string, version: string): $OpenApiUtil.Params {
  return new $OpenApiUtil.Params({
    action,
    version,
    protocol: 'HTTPS',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
}

export interface RpcClient {
  call<Res extends $dara.Model>(spec: RpcAction<Res>, request: RequestModel): Promise<Res>;
}

/**
 * An openapi-core client configured as the generated product client configures itself
 * (endpoint rule "regional", checkConfig). The endpoint must be given: the generated clients'
 * region -> endpoint tables are not loaded.
 */
export function createRpcClient(config: $OpenApiUtil.Config): RpcClient {
  if (!config.endpoint) throw new Error('createRpcClient: config.endpoint is required (the SDK endpoint tables are not loaded)');
  const client = new OpenApiClient(config);
  client._endpointRule = 'regional';
  client.checkConfig(config);
  return {
    async call(spec, request) {
      request.validate();
      const req = new $OpenApiUtil.OpenApiRequest({ query: rpcQuery(request) });
      const raw = await client.callApi(rpcParams(spec.action, spec.version), req, new $dara.RuntimeOptions({}));
      return $dara.cast(raw, new spec.Response({}));
    },
  };
}
