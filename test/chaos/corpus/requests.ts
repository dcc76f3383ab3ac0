// Malformed requests to the provider's HTTP endpoints. Each must get an HTTP answer (never a
// crash or a hung connection) with the expected status and a body naming what is wrong.
export interface RequestCase {
  id: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  status: number;
  /** Must appear in the answer's body. */
  says: string;
  quick?: boolean;
}

const review = (request: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request, ...extra });
const podRequest = (over: Record<string, unknown> = {}) => ({
  uid: 'chaos-uid-1',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: 'default',
  operation: 'CREATE',
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  ...over,
});
const JSON_HEADERS = { 'content-type': 'application/json' };

export const WEBHOOK_CASES: RequestCase[] = [
  { id: 'not-json', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: 'this is not json', status: 400, says: 'malformed JSON', quick: true },
  { id: 'truncated-json', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(podRequest()).slice(0, 60), status: 400, says: 'malformed JSON' },
  { id: 'empty-body', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: '', status: 400, says: 'malformed JSON' },
  { id: 'wrong-content-type', path: '/mutate-pods', method: 'POST', headers: { 'content-type': 'text/plain' }, body: review(podRequest()), status: 415, says: 'application/json', quick: true },
  { id: 'no-content-type', path: '/mutate-pods', method: 'POST', body: review(podRequest()), status: 415, says: 'application/json' },
  { id: 'no-uid', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(podRequest({ uid: undefined })), status: 400, says: 'request.uid', quick: true },
  { id: 'uid-not-string', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(podRequest({ uid: 42 })), status: 400, says: 'request.uid' },
  { id: 'oversized-4MiB', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(podRequest({ pad: 'x'.repeat(4 * 1024 * 1024) })), status: 413, says: 'exceeds', quick: true },
  { id: 'wrong-api-version', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(podRequest(), { apiVersion: 'admission.k8s.io/v1beta1' }), status: 400, says: 'apiVersion' },
  { id: 'wrong-envelope-kind', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(podRequest(), { kind: 'Pod' }), status: 400, says: 'AdmissionReview' },
  { id: 'body-array', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: '[1,2,3]', status: 400, says: 'JSON object' },
  { id: 'request-null', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(null), status: 400, says: 'request' },
  { id: 'deep-nesting', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, status: 400, says: 'JSON object' },
  { id: 'object-not-a-pod', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(podRequest({ object: 'a string' })), status: 400, says: 'request.object' },
  { id: 'object-missing', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(podRequest({ object: undefined })), status: 400, says: 'request.object' },
  // Not a pod creation: allowed untouched (one path per kind); the uid is echoed.
  { id: 'wrong-kind-deployment', path: '/mutate-pods', method: 'POST', headers: JSON_HEADERS, body: review(podRequest({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' } })), status: 200, says: '"uid":"chaos-uid-1"' },
  { id: 'get-method', path: '/mutate-pods', method: 'GET', status: 405, says: 'POST', quick: true },
  { id: 'unknown-path', path: '/admin', method: 'POST', headers: JSON_HEADERS, body: '{}', status: 404, says: 'mutate-pods' },
];

/**
 * Malformed requests to the kubelet API, made by an authenticated and authorized client (the
 * cluster admin's certificate), so they reach the routes. `{ns}`/`{pod}` name a running pod.
 */
export const KUBELET_CASES: RequestCase[] = [
  { id: 'logs-tail-not-a-number', path: '/containerLogs/{ns}/{pod}/main?tailLines=abc', status: 400, says: 'tailLines', quick: true },
  { id: 'logs-since-negative', path: '/containerLogs/{ns}/{pod}/main?sinceSeconds=-5', status: 400, says: 'sinceSeconds' },
  { id: 'logs-limit-bytes-garbage', path: '/containerLogs/{ns}/{pod}/main?limitBytes=lots', status: 400, says: 'limitBytes' },
  { id: 'logs-unknown-container', path: '/containerLogs/{ns}/{pod}/nope', status: 400, says: 'nope' },
  { id: 'logs-unknown-pod', path: '/containerLogs/{ns}/no-such-pod/main', status: 404, says: 'no-such-pod', quick: true },
  { id: 'logs-path-traversal', path: '/containerLogs/%2e%2e/%2e%2e/etc/passwd', status: 404, says: 'not found' },
  { id: 'exec-without-upgrade', path: '/exec/{ns}/{pod}/main?command=ls&output=1', method: 'POST', status: 400, says: 'WebSocket' },
  { id: 'unknown-path', path: '/no/such/path', status: 404, says: 'not found' },
];
