import { context, ROOT_CONTEXT, trace, TraceFlags, type SpanContext } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_K8S_CLUSTER_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_NODE_NAME,
  ATTR_K8S_POD_IP,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_CLOUD_AVAILABILITY_ZONE,
  ATTR_CLOUD_PROVIDER,
  ATTR_CLOUD_REGION,
  ATTR_RPC_METHOD,
  ATTR_RPC_SERVICE,
  ATTR_RPC_SYSTEM,
  CLOUD_PROVIDER_VALUE_ALIBABA_CLOUD,
} from '@opentelemetry/semantic-conventions/incubating';
import { describe, expect, it } from 'vitest';
import {
  extractTraceContext,
  formatTraceparent,
  injectTraceContext,
  parseTraceparent,
  podTraceContext,
  traceContextAnnotations,
} from '../../../provider/telemetry/context.ts';
import {
  ATTR,
  ATTRIBUTE_PREFIX,
  CLOUD_PROVIDER_ALIBABA_CLOUD,
  cloudCallAttributes,
  cloudSpanName,
  METRIC,
  podAttributes,
  SPAN,
  TRACE_CONTEXT_ANNOTATION,
} from '../../../provider/telemetry/names.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('names', () => {
  it('uses the semantic conventions keys and values where they exist', () => {
    expect([ATTR.podName, ATTR.podUid, ATTR.namespaceName, ATTR.nodeName, ATTR.podIp, ATTR.clusterName, ATTR.errorType, ATTR.httpStatusCode]).toEqual([
      ATTR_K8S_POD_NAME,
      ATTR_K8S_POD_UID,
      ATTR_K8S_NAMESPACE_NAME,
      ATTR_K8S_NODE_NAME,
      ATTR_K8S_POD_IP,
      ATTR_K8S_CLUSTER_NAME,
      ATTR_ERROR_TYPE,
      ATTR_HTTP_RESPONSE_STATUS_CODE,
    ]);
    expect([ATTR.cloudProvider, ATTR.cloudRegion, ATTR.cloudAvailabilityZone]).toEqual([ATTR_CLOUD_PROVIDER, ATTR_CLOUD_REGION, ATTR_CLOUD_AVAILABILITY_ZONE]);
    expect(CLOUD_PROVIDER_ALIBABA_CLOUD).toBe(CLOUD_PROVIDER_VALUE_ALIBABA_CLOUD);
    expect([ATTR.httpRequestMethod, ATTR.httpRoute, ATTR.urlPath, ATTR.urlScheme, ATTR.serverAddress, ATTR.serverPort]).toEqual([
      ATTR_HTTP_REQUEST_METHOD,
      ATTR_HTTP_ROUTE,
      ATTR_URL_PATH,
      ATTR_URL_SCHEME,
      ATTR_SERVER_ADDRESS,
      ATTR_SERVER_PORT,
    ]);
    expect([ATTR.rpcSystem, ATTR.rpcService, ATTR.rpcMethod]).toEqual([ATTR_RPC_SYSTEM, ATTR_RPC_SERVICE, ATTR_RPC_METHOD]);
  });

  it('puts every non-semconv attribute under the project prefix, and keeps keys unique', () => {
    const semconv = /^(k8s|cloud|error|http|url|server|rpc)\./;
    const keys = Object.values(ATTR);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(semconv.test(key) || key.startsWith(ATTRIBUTE_PREFIX), key).toBe(true);
    for (const key of keys) expect(key, key).toMatch(/^[a-z0-9_.]+$/);
  });

  it('names spans, metrics and the annotation consistently', () => {
    expect(Object.values(SPAN)).toContain('admission.pod');
    expect(cloudSpanName('CreateContainerGroup')).toBe('cloud.CreateContainerGroup');
    for (const name of Object.values(METRIC)) expect(name, name).toMatch(/^eci_vn_[a-z_]+$/);
    expect(METRIC.cloudCalls).toMatch(/_total$/);
    expect(TRACE_CONTEXT_ANNOTATION).toBe('eci-virtual-node.io/traceparent');
  });
});

describe('podAttributes', () => {
  it.each([
    [
      'bound pod with an IP',
      { metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1' }, spec: { nodeName: 'vn-a', containers: [] }, status: { podIP: '10.0.0.7' } },
      { 'k8s.pod.name': 'web-1', 'k8s.namespace.name': 'shop', 'k8s.pod.uid': 'u-1', 'k8s.node.name': 'vn-a', 'k8s.pod.ip': '10.0.0.7' },
    ],
    [
      'pod at admission, named by generateName',
      { metadata: { generateName: 'web-', namespace: 'shop' }, spec: { containers: [] } },
      { 'eci_vn.pod.generate_name': 'web-', 'k8s.namespace.name': 'shop' },
    ],
    ['empty pod', {}, {}],
  ])('%s', (_name, pod, expected) => {
    expect(podAttributes(pod)).toEqual(expected);
  });
});

describe('cloudCallAttributes', () => {
  it('describes a failed attempt with the semconv error type and the request id', () => {
    expect(cloudCallAttributes({ action: 'CreateContainerGroup', attempt: 2, queuedMs: 12.6, code: 'InvalidVSwitchId.IpNotEnough', httpStatus: 400, requestId: 'req-1', serverAddress: 'eci.cn-hangzhou.aliyuncs.com', serverPort: 443 })).toEqual({
      'cloud.provider': 'alibaba_cloud',
      'rpc.system': 'alibaba_cloud_openapi',
      'rpc.service': 'ECI',
      'rpc.method': 'CreateContainerGroup',
      'http.request.method': 'POST',
      'server.address': 'eci.cn-hangzhou.aliyuncs.com',
      'server.port': 443,
      'eci_vn.cloud.action': 'CreateContainerGroup',
      'eci_vn.cloud.attempt': 2,
      'eci_vn.cloud.throttle_wait_ms': 13,
      'eci_vn.cloud.request_id': 'req-1',
      'error.type': 'InvalidVSwitchId.IpNotEnough',
      'eci_vn.cloud.error_code': 'InvalidVSwitchId.IpNotEnough',
      'http.response.status_code': 400,
    });
  });

  it('has no error attributes on success', () => {
    const attributes = cloudCallAttributes({ action: 'DescribeVSwitches', attempt: 1, queuedMs: 0 });
    expect(attributes).not.toHaveProperty('error.type');
    expect(attributes).not.toHaveProperty('eci_vn.cloud.request_id');
    // The status code is there on success too, and the product is named.
    expect(attributes).toMatchObject({ 'http.response.status_code': 200, 'rpc.service': 'VPC', 'rpc.method': 'DescribeVSwitches' });
    expect(cloudCallAttributes({ action: 'DescribeSecurityGroups', attempt: 1, queuedMs: 0 })['rpc.service']).toBe('ECS');
  });

  it('has no status code for a failure that got no HTTP answer (timeout)', () => {
    expect(cloudCallAttributes({ action: 'CreateContainerGroup', attempt: 1, queuedMs: 0, code: 'Timeout' })).not.toHaveProperty('http.response.status_code');
  });
});

describe('traceparent', () => {
  const sampled: SpanContext = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED };

  it('formats a valid span context and refuses an invalid one', () => {
    expect(formatTraceparent(sampled)).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(formatTraceparent({ ...sampled, traceFlags: TraceFlags.NONE })).toBe(`00-${TRACE_ID}-${SPAN_ID}-00`);
    expect(formatTraceparent(trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }).spanContext())).toBeUndefined();
  });

  it.each([
    [`00-${TRACE_ID}-${SPAN_ID}-01`, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true }],
    [` 00-${TRACE_ID}-${SPAN_ID}-00 `, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0, isRemote: true }],
    // A later version may add fields; unknown flag bits are dropped.
    [`01-${TRACE_ID}-${SPAN_ID}-03-extra`, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true }],
    [`00-${TRACE_ID}-${SPAN_ID}-01-extra`, undefined],
    [`ff-${TRACE_ID}-${SPAN_ID}-01`, undefined],
    [`00-${'0'.repeat(32)}-${SPAN_ID}-01`, undefined],
    [`00-${TRACE_ID}-${'0'.repeat(16)}-01`, undefined],
    [`00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`, undefined],
    ['garbage', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('parses %j', (value, expected) => {
    expect(parseTraceparent(value)).toEqual(expected);
  });

  it('carries a span across a pod annotation: inject, then extract as the parent', () => {
    const admission = trace.wrapSpanContext(sampled);
    const annotations = traceContextAnnotations(admission);
    expect(annotations).toEqual({ [TRACE_CONTEXT_ANNOTATION]: `00-${TRACE_ID}-${SPAN_ID}-01` });

    const ctx = podTraceContext({ metadata: { annotations } }, ROOT_CONTEXT);
    expect(trace.getSpanContext(ctx)).toEqual({ ...sampled, isRemote: true });
    // A span started in that context (here the API's no-op tracer) inherits the trace.
    const child = trace.getTracer('t').startSpan('child', {}, ctx);
    expect(child.spanContext().traceId).toBe(TRACE_ID);
  });

  it('writes nothing for a no-op span and keeps the base context for a bad annotation', () => {
    const noop = trace.getTracer('t').startSpan('s');
    expect(noop.isRecording()).toBe(false);
    expect(injectTraceContext(noop)).toBeUndefined();
    expect(traceContextAnnotations(noop)).toEqual({});
    expect(extractTraceContext('nonsense', ROOT_CONTEXT)).toBe(ROOT_CONTEXT);
    expect(podTraceContext({})).toBe(context.active());
  });
});
