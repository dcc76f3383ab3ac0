// One place that turns configuration into Kubernetes API clients. @kubernetes/client-node has no
// client-side rate limiter (unlike client-go's old 5 QPS default), so the apiserver's own
// priority and fairness is what paces us; `kubernetes.qps` adds a limit only when asked.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';

export interface KubernetesClients {
  kubeConfig: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  coordination: k8s.CoordinationV1Api;
  events: k8s.EventsV1Api;
  custom: k8s.CustomObjectsApi;
  admissionRegistration: k8s.AdmissionregistrationV1Api;
  objects: k8s.KubernetesObjectApi;
}

/**
 * client-node 2.x builds a new undici Agent, hence a new TLS connection, for every request: at a
 * few requests per pod that was most of the provider's CPU (TLS handshakes; see
 * docs/benchmark.md). This KubeConfig hands every request with the same TLS material one shared
 * Agent, which keeps connections alive and reuses them, as client-go does. A certificate file
 * that changes (its mtime) gets a new Agent, so rotated client certificates still take effect.
 */
type Dispatcher = NonNullable<ReturnType<k8s.RequestContext['getDispatcher']>>;

export class PooledKubeConfig extends k8s.KubeConfig {
  private readonly dispatchers = new Map<string, Dispatcher>();

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return;
    const key = this.tlsMaterialKey();
    const shared = this.dispatchers.get(key);
    if (shared === undefined) {
      this.dispatchers.set(key, fresh);
      return;
    }
    context.setDispatcher(shared);
    void fresh.close(); // never connected: closing it costs nothing
  }

  /** What the Agent's TLS material is made of: inline data, or file paths with their mtimes. */
  private tlsMaterialKey(): string {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const file = (path: string | undefined) => {
      if (path === undefined || path === '') return '';
      try {
        return `${path}@${statSync(path).mtimeMs}`;
      } catch {
        return path;
      }
    };
    const parts = [
      cluster?.server,
      cluster?.caData,
      file(cluster?.caFile),
      String(cluster?.skipTLSVerify ?? ''),
      cluster?.tlsServerName,
      cluster?.proxyUrl,
      user?.certData,
      file(user?.certFile),
      user?.keyData,
      file(user?.keyFile),
    ];
    return createHash('sha256').update(parts.map((p) => p ?? '').join('\u0000')).digest('hex');
  }
}

export function loadKubeConfig(kubeconfigPath: string): k8s.KubeConfig {
  const kubeConfig = new PooledKubeConfig();
  if (kubeconfigPath === '') kubeConfig.loadFromCluster();
  else kubeConfig.loadFromFile(kubeconfigPath);
  return kubeConfig;
}

export function makeKubernetesClients(kubeConfig: k8s.KubeConfig): KubernetesClients {
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(k8s.CoreV1Api),
    coordination: kubeConfig.makeApiClient(k8s.CoordinationV1Api),
    events: kubeConfig.makeApiClient(k8s.EventsV1Api),
    custom: kubeConfig.makeApiClient(k8s.CustomObjectsApi),
    admissionRegistration: kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kubeConfig),
  };
}

/** HTTP status of an error thrown by a client-node API call, if it carries one. */
export function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown } | null)?.code ?? (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409;
export const isAlreadyExists = (err: unknown): boolean => statusCodeOf(err) === 409;
