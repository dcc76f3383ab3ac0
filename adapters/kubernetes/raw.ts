// Plain JSON writes to the apiserver, for the provider's per-pod hot path (pod status patch, pod
// annotations, finishing a deletion, Events). client-node's generated API sends every request
// through undici's WHATWG fetch and serializes the body and DESERIALIZES THE ANSWER into typed
// models (ObjectSerializer) that these callers throw away: in a 1000-pod CPU profile that path was
// ~13% of the provider's busy samples (ObjectSerializer 6.4%, fetch 8.9%, overlapping; see
// docs/benchmark.md). Here the same KubeConfig authenticates the request (headers, the shared
// TLS Agent of PooledKubeConfig, client-side pacing) and undici's lower-level `request` sends it;
// the answer is read only when it is an error.
import * as k8s from '@kubernetes/client-node';
import { request } from 'undici';

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

  constructor(o: { kubeConfig: k8s.KubeConfig }) {
    this.kubeConfig = o.kubeConfig;
  }

  /**
   * Sends one write; resolves on 2xx. Any other status throws client-node's ApiException with
   * that code and the apiserver's Status as the body, as the generated API does, so callers'
   * isNotFound/isConflict checks read the same.
   */
  async write(w: RawWrite): Promise<void> {
    const server = this.kubeConfig.getCurrentCluster()?.server;
    if (server === undefined) throw new Error('No currently active cluster');
    const url = server.replace(/\/+$/, '') + w.path;
    const context = new k8s.RequestContext(url, w.method);
    await this.kubeConfig.applySecurityAuthentication(context);
    const dispatcher = context.getDispatcher();
    const response = await request(url, {
      method: w.method,
      headers: { ...context.getHeaders(), 'content-type': w.contentType ?? 'application/json', accept: 'application/json' },
      body: JSON.stringify(w.body),
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    if (response.statusCode >= 200 && response.statusCode < 300) {
      await response.body.dump();
      return;
    }
    const text = await response.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (a proxy's page): keep the text
    }
    const message = (body as { message?: unknown } | null)?.message;
    throw new k8s.ApiException<unknown>(response.statusCode, typeof message === 'string' ? message : `HTTP ${response.statusCode}`, body, headersOf(response.headers));
  }
}

function headersOf(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** URL path segment (names are DNS labels, but never trust that for a path). */
export const seg = (s: string): string => encodeURIComponent(s);
