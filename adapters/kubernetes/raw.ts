// Plain JSON writes to the apiserver, for the provider's per-pod hot path (pod status patch, pod
// annotations, finishing a deletion, Events). client-node's generated API sends every request
// through undici's WHATWG fetch and serializes the body and DESERIALIZES THE ANSWER into typed
// models (ObjectSerializer) that these callers throw away: in a 1000-pod CPU profile that path was
// ~13% of the provider's busy samples (ObjectSerializer 6.4%, fetch 8.9%, overlapping; see
// docs/benchmark.md). Here the same KubeConfig authenticates the request (headers, the shared
// TLS Agent of PooledKubeConfig, client-side pacing) and undici's lower-level `request` sends it;
// the answer is read only when it is an error. Each write has a deadline of its own
// (RAW_WRITE_TIMEOUT_MS): a write on a connection that went dead is given up and retried, rather
// than holding its pod's worker for undici's 300 s header and body timeouts.
import * as k8s from '@kubernetes/client-node';
import { request } from 'undici';

/**
 * A raw write's deadline, from sending it to reading its answer: kube-apiserver's own default
 * --request-timeout (60 s), after which it answers 504 to any request that is not a watch. A
 * write still unanswered then sits on a connection that went dead; nothing is cut short that the
 * apiserver would still answer. (client-node's generated calls have no deadline of their own.)
 */
export const RAW_WRITE_TIMEOUT_MS = 60_000;

/** Code of a raw write that got no answer within its deadline. */
export const APISERVER_TIMEOUT = 'ApiserverTimeout';

/**
 * A write the apiserver did not answer within its deadline. Transient; whether it is retried is
 * the caller's choice and the caller says so (the pod controller requeues the pod with backoff and
 * logs 'will retry'; an Event, best effort, is not retried). It may still have landed; every raw
 * write is safe to repeat (patches, a UID-preconditioned delete, an Event the correlator names).
 */
export class ApiserverTimeoutError extends Error {
  readonly code = APISERVER_TIMEOUT;
  readonly method: string;
  readonly path: string;
  readonly timeoutMs: number;

  constructor(o: { method: string; path: string; timeoutMs: number }) {
    super(`${o.method} ${o.path}: no answer from the apiserver within ${o.timeoutMs} ms (${APISERVER_TIMEOUT}); it may or may not have been applied. If it persists, check the apiserver's health and the network path to it`);
    this.name = 'ApiserverTimeoutError';
    this.method = o.method;
    this.path = o.path;
    this.timeoutMs = o.timeoutMs;
  }
}

export interface RawWrite {
  method: 'PATCH' | 'POST' | 'DELETE' | 'PUT';
  /** Absolute API path, e.g. /api/v1/namespaces/ns/pods/name/status. */
  path: string;
  body: unknown;
  /** Default application/json. */
  contentType?: string;
}

export class RawJsonClient {
  private readonly kubeConfig: k8s.KubeConfig;
  private readonly timeoutMs: number;

  constructor(o: { kubeConfig: k8s.KubeConfig; timeoutMs?: number }) {
    this.kubeConfig = o.kubeConfig;
    this.timeoutMs = o.timeoutMs ?? RAW_WRITE_TIMEOUT_MS;
  }

  /**
   * Sends one write; resolves on a 2xx status line. Any other status throws client-node's
   * ApiException with that code and the apiserver's Status as the body, as the generated API
   * does, so callers' isNotFound/isConflict checks read the same. No answer within the deadline
   * (counted once the request is authenticated, so a client-side --kube-api-qps wait is not part
   * of it) throws ApiserverTimeoutError. A 2xx ends the deadline: the write was applied, and the
   * echoed object (which no caller reads) drains after it, so a slow body never turns an applied
   * write into a failure and a needless retry.
   */
  async write(w: RawWrite): Promise<void> {
    await send(
      { kubeConfig: this.kubeConfig, method: w.method, path: w.path, timeoutMs: this.timeoutMs, body: JSON.stringify(w.body), contentType: w.contentType ?? 'application/json' },
      (response, endDeadline) => {
        endDeadline();
        // Not awaited: the write is done. dump() frees the connection (undici's own body
        // timeout bounds a body that never ends); its failure changes nothing.
        response.body.dump().catch(() => {});
      },
    );
  }
}

/**
 * One page of a list as the apiserver's JSON, parsed with JSON.parse only: what the watch delivers
 * too, where client-node's typed list runs every object through its ObjectSerializer (Dates,
 * renamed keys) first, a cost the restart's start-up list paid for every pod. Non-2xx throws
 * client-node's ApiException (a 410 on an expired continue token reads as with the typed call);
 * no whole answer (body included) within the deadline throws ApiserverTimeoutError.
 */
export async function listPage<T extends k8s.KubernetesObject>(o: { kubeConfig: k8s.KubeConfig; path: string; query: Record<string, string | number | undefined>; timeoutMs?: number }): Promise<k8s.KubernetesListObject<T>> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(o.query)) if (value !== undefined && value !== '') params.set(name, String(value));
  return send(
    { kubeConfig: o.kubeConfig, method: 'GET', path: o.path, query: params.toString(), timeoutMs: o.timeoutMs ?? RAW_WRITE_TIMEOUT_MS },
    async (response) => (await response.body.json()) as k8s.KubernetesListObject<T>,
  );
}

type RawResponse = Awaited<ReturnType<typeof request>>;

/** Names the provider in kube-apiserver's logs and audit events (undici's request sends none). */
const USER_AGENT = 'eci-virtual-node';

/**
 * One request authenticated by the KubeConfig (headers, the shared TLS Agent of PooledKubeConfig,
 * client-side pacing) and sent with undici's `request`. A 2xx answer goes to `read`, which may end
 * the deadline early (`endDeadline`); any other status throws client-node's ApiException; no answer
 * within `timeoutMs` (counted once the request is authenticated, so a client-side --kube-api-qps
 * wait is not part of it) throws ApiserverTimeoutError.
 */
async function send<R>(
  o: { kubeConfig: k8s.KubeConfig; method: 'GET' | RawWrite['method']; path: string; query?: string; timeoutMs: number; body?: string; contentType?: string },
  read: (response: RawResponse, endDeadline: () => void) => R | Promise<R>,
): Promise<R> {
  const server = o.kubeConfig.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('No currently active cluster');
  const url = `${server.replace(/\/+$/, '')}${o.path}${o.query === undefined || o.query === '' ? '' : `?${o.query}`}`;
  const context = new k8s.RequestContext(url, o.method);
  await o.kubeConfig.applySecurityAuthentication(context);
  const dispatcher = context.getDispatcher();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), o.timeoutMs);
  try {
    const response = await request(url, {
      method: o.method,
      // No accept-encoding: answers come uncompressed. The provider runs next to its apiserver,
      // where gzip costs both sides CPU (kube-apiserver's gzip was 3.7% of its profile at a
      // restart's lists) to save bandwidth that is not short: ~5 KB a pod, ~100 MB for a
      // start-up list of 20,000 pods, well inside the 60 s deadline on a cluster network.
      headers: { ...context.getHeaders(), ...(o.contentType === undefined ? {} : { 'content-type': o.contentType }), accept: 'application/json', 'user-agent': USER_AGENT },
      ...(o.body === undefined ? {} : { body: o.body }),
      signal: deadline.signal,
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    if (response.statusCode < 200 || response.statusCode >= 300) throw await apiException(response);
    return await read(response, () => clearTimeout(timer));
  } catch (err) {
    if (deadline.signal.aborted && !(err instanceof k8s.ApiException)) throw new ApiserverTimeoutError({ method: o.method, path: o.path, timeoutMs: o.timeoutMs });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** client-node's ApiException for a non-2xx answer (its body read within the write's deadline). */
async function apiException(response: Awaited<ReturnType<typeof request>>): Promise<k8s.ApiException<unknown>> {
  const text = await response.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (a proxy's page): keep the text
  }
  const message = (body as { message?: unknown } | null)?.message;
  return new k8s.ApiException<unknown>(response.statusCode, typeof message === 'string' ? message : `HTTP ${response.statusCode}`, body, headersOf(response.headers));
}

function headersOf(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** URL path segment (names are DNS labels, but never trust that for a path). */
export const seg = (s: string): string => encodeURIComponent(s);
