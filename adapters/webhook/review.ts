// The AdmissionReview layer: parse and check an `admission.k8s.io/v1` review, hand the pod to the
// pure decision (provider/admission), build the response. No HTTP here (server.ts), no decision
// here (admit.ts): three layers, as in Pepr and controller-runtime.
import type { ProfileSelector } from '../../provider/networking/cluster-network.ts';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { V1Pod } from '@kubernetes/client-node';
import { admitPod, type AdmitOptions, type AdmitResult } from '../../provider/admission/admit.ts';
import { traceContextAnnotations } from '../../provider/telemetry/context.ts';
import { nowMs } from '../../provider/telemetry/ids.ts';
import { ATTR, podAttributes, SPAN, SPAN_EVENT, STEP_TIMINGS_ANNOTATION } from '../../provider/telemetry/names.ts';
import { recordError, tracer } from '../../provider/telemetry/spans.ts';
import { matchedSelectorTerms, type Labels } from '../../provider/networking/match.ts';
import type { PodNetworking } from '../../provider/networking/podnetworking.ts';
import type { VSwitch } from '../../provider/cloud/model.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** What the decision needs beyond the pod, read from informer caches by the caller. */
export interface AdmissionInputs {
  namespaceLabels: Labels | undefined;
  podNetworkings: readonly PodNetworking[];
  /** Free IPs per vSwitch as last read (IP-aware zones); absent when unknown. */
  vSwitches?: readonly VSwitch[];
  /** kube-system/eci-profile's selectors (last good version); absent: none. */
  profileSelectors?: readonly ProfileSelector[];
}

export type GetAdmissionInputs = (pod: V1Pod, namespace: string) => AdmissionInputs | Promise<AdmissionInputs>;

export interface AdmissionDecision {
  uid: string;
  namespace: string;
  /** Empty for a pod named by generateName (the apiserver names it after admission). */
  name: string;
  generateName?: string;
  /** A dry-run request: nothing will be stored, so no event should be recorded for it. */
  dryRun: boolean;
  result: AdmitResult;
  durationMs: number;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON patch. */
  patch?: string;
  warnings?: string[];
  status?: { code: number; reason?: string; message: string };
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** The outcome of one review: an HTTP status and either a review (200) or a plain-text message. */
export type ReviewOutcome =
  | { httpStatus: 200; review: AdmissionReviewResponse; decision?: AdmissionDecision }
  | { httpStatus: 400 | 500; message: string };

export class BadReviewError extends Error {
  override readonly name = 'BadReviewError';
}

interface ParsedRequest {
  uid: string;
  namespace: string;
  operation: string;
  kind: { group: string; version: string; kind: string };
  dryRun: boolean;
  object: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the envelope of a review; throws BadReviewError naming the first thing wrong. */
export function parseAdmissionReview(body: unknown): ParsedRequest {
  if (!isObject(body)) throw new BadReviewError('body must be a JSON object (an AdmissionReview)');
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    throw new BadReviewError(
      `expected apiVersion ${ADMISSION_API_VERSION} kind AdmissionReview, got ${JSON.stringify(body.apiVersion)} ${JSON.stringify(body.kind)}`,
    );
  }
  const request = body.request;
  if (!isObject(request)) throw new BadReviewError('request: required');
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') throw new BadReviewError('request.uid: required');
  const kind = isObject(request.kind) ? request.kind : {};
  return {
    uid,
    namespace: typeof request.namespace === 'string' ? request.namespace : '',
    operation: typeof request.operation === 'string' ? request.operation : '',
    kind: {
      group: typeof kind.group === 'string' ? kind.group : '',
      version: typeof kind.version === 'string' ? kind.version : '',
      kind: typeof kind.kind === 'string' ? kind.kind : '',
    },
    dryRun: request.dryRun === true,
    object: request.object,
  };
}

function respond(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/** The AdmissionResponse for a decision: patch base64-encoded and omitted when empty. */
export function toAdmissionResponse(uid: string, result: AdmitResult): AdmissionResponse {
  if (!result.allowed) {
    return { uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: result.message } };
  }
  const response: AdmissionResponse = { uid, allowed: true };
  if (result.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(result.patch)).toString('base64');
  }
  if (result.warnings.length > 0) response.warnings = result.warnings;
  return response;
}

export interface ReviewDeps {
  getInputs: GetAdmissionInputs;
  options: AdmitOptions;
  now?: () => number;
  /** The HTTP request, for the span's HTTP server conventions (server.ts fills it). */
  http?: { route: string; serverAddress?: string; serverPort?: number };
}

/**
 * One AdmissionReview in, one outcome out. Malformed reviews -> 400; anything other than a pod
 * CREATE -> allowed untouched (the registration asks only for those; one path per kind); a failure
 * of getInputs or of the decision -> 500 with its message (the apiserver then applies the
 * webhook's failurePolicy). Never throws.
 */
export async function reviewPod(body: unknown, deps: ReviewDeps): Promise<ReviewOutcome> {
  const now = deps.now ?? performance.now.bind(performance);
  let request: ParsedRequest;
  try {
    request = parseAdmissionReview(body);
  } catch (err) {
    if (err instanceof BadReviewError) return { httpStatus: 400, message: err.message };
    return { httpStatus: 500, message: `reading the AdmissionReview: ${String(err)}` };
  }
  const { uid } = request;
  if (request.kind.group !== '' || request.kind.kind !== 'Pod' || request.operation !== 'CREATE') {
    return { httpStatus: 200, review: respond({ uid, allowed: true }) };
  }
  if (!isObject(request.object)) return { httpStatus: 400, message: 'request.object: a Pod is required for CREATE' };
  const pod = request.object as V1Pod;
  const namespace = request.namespace || (pod.metadata?.namespace ?? '');

  // The pod's provisioning trace begins here: its root `pod.provision` is opened now (ids chosen
  // by the sampler and id generator) but recorded by the provider once the pod is Running, with
  // these ids, read back from the traceparent annotation. It is never ended in this process.
  // `admission.pod` is its first child; its own children are the decision's.
  // Kept to the microsecond, as written on the pod: the root recorded later starts exactly here.
  const startedAt = round3(nowMs());
  const root = tracer().startSpan(SPAN.podProvision, { root: true, startTime: startedAt }, ROOT_CONTEXT);
  const rootContext = trace.setSpan(ROOT_CONTEXT, root);
  const route = deps.http?.route ?? '';
  const span = tracer().startSpan(
    SPAN.admission,
    {
      kind: SpanKind.SERVER,
      startTime: startedAt,
      attributes: {
        ...podAttributes(pod),
        [ATTR.namespaceName]: namespace,
        [ATTR.admissionDryRun]: request.dryRun,
        [ATTR.httpRequestMethod]: 'POST',
        [ATTR.urlScheme]: 'https',
        ...(route === '' ? {} : { [ATTR.httpRoute]: route, [ATTR.urlPath]: route }),
        ...(deps.http?.serverAddress === undefined ? {} : { [ATTR.serverAddress]: deps.http.serverAddress }),
        ...(deps.http?.serverPort === undefined ? {} : { [ATTR.serverPort]: deps.http.serverPort }),
      },
    },
    rootContext,
  );
  const started = now();
  try {
    const inputs = await deps.getInputs(pod, namespace);
    const result = admitPod({
      pod,
      namespaceLabels: inputs.namespaceLabels,
      podNetworkings: inputs.podNetworkings,
      ...(inputs.profileSelectors === undefined ? {} : { profileSelectors: inputs.profileSelectors }),
      options: deps.options,
      traceAnnotations: { ...traceContextAnnotations(root), [STEP_TIMINGS_ANNOTATION]: JSON.stringify({ admitted: round3(startedAt) }) },
      ...(inputs.vSwitches === undefined ? {} : { vSwitches: inputs.vSwitches }),
    });
    recordAdmissionSpans(span, result, startedAt, inputs.podNetworkings);
    const decision: AdmissionDecision = {
      uid,
      namespace,
      name: pod.metadata?.name ?? '',
      ...(pod.metadata?.generateName ? { generateName: pod.metadata.generateName } : {}),
      dryRun: request.dryRun,
      result,
      durationMs: now() - started,
    };
    span.setAttribute(ATTR.httpStatusCode, 200);
    return { httpStatus: 200, review: respond(toAdmissionResponse(uid, result)), decision };
  } catch (err) {
    recordError(span, err);
    span.setAttributes({ [ATTR.httpStatusCode]: 500, [ATTR.errorType]: err instanceof Error ? err.name : 'Error' });
    const message = err instanceof Error ? err.message : String(err);
    return { httpStatus: 500, message: `admitting pod ${namespace}/${pod.metadata?.name ?? pod.metadata?.generateName ?? ''}: ${message}` };
  } finally {
    span.end(nowMs());
  }
}

/** Epoch ms kept to the microsecond in annotations. */
function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The decision's children of `admission.pod` (podnetworking.match, zone.constrain) and its outcome. */
function recordAdmissionSpans(span: Span, result: AdmitResult, startedAt: number, podNetworkings: readonly PodNetworking[]): void {
  if (!span.isRecording()) return;
  if (!result.allowed) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: result.message });
    span.setAttribute(ATTR.admissionPatched, false);
    return;
  }
  span.setAttribute(ATTR.admissionPatched, result.patch.length > 0);
  const considered = result.considered;
  if (considered === undefined) return; // skipped (host network, opted-out namespace...)
  const parent = trace.setSpan(ROOT_CONTEXT, span);
  const endAt = nowMs();
  const chosen = result.matched.chosen;
  const match = tracer().startSpan(
    SPAN.podNetworkingMatch,
    {
      startTime: startedAt,
      attributes: {
        [ATTR.podNetworkingCandidates]: considered.candidates,
        [ATTR.podNetworkingAlsoMatched]: result.matched.alsoMatched,
        [ATTR.podNetworkingSkipped]: considered.skipped,
        [ATTR.podNetworkingReason]: chosen === undefined ? 'no Ready PodNetworking matches: default network' : `${chosen}: selectors match${result.matched.alsoMatched.length > 0 ? ' (oldest, then by name, of several)' : ''}`,
        ...(chosen === undefined
          ? {}
          : { [ATTR.podNetworkingName]: chosen, [ATTR.podNetworkingMatchedTerms]: matchedSelectorTerms(podNetworkings.find((pn) => pn.metadata.name === chosen)?.spec.selector) }),
      },
    },
    parent,
  );
  for (const reason of considered.skipped) match.addEvent(SPAN_EVENT.podNetworkingSkipped, { [ATTR.podNetworkingReason]: reason });
  match.end(endAt);
  if (chosen !== undefined) {
    tracer()
      .startSpan(SPAN.zoneConstrain, { startTime: startedAt, attributes: { [ATTR.zonesAllowed]: considered.zones, [ATTR.zonesConstrained]: considered.zoneConstrained, [ATTR.podNetworkingName]: chosen } }, parent)
      .end(endAt);
  }
}
