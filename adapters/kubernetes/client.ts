// One place that turns configuration into Kubernetes API clients. @kubernetes/client-node has no
// client-side rate limiter (unlike client-go's old 5 QPS default), so the apiserver's own
// priority and fairness is what paces us; `kubernetes.qps` (--kube-api-qps/--kube-api-burst)
// adds client-go's token bucket over every request, watches included, only when asked.
import type * as https from 'node:https';
import { delimiter } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { TokenBucket } from '../../provider/runtime/tokenbucket.ts';

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
 * Agent, which keeps connections alive and reuses them, as client-go does. The Agent is found by
 * the material itself (CA, client certificate and key as read for this request, server, proxy), so
 * a rotated certificate file gets a new Agent; and none is built only to be thrown away (building
 * and closing one per request, and hashing the key, were ~1.5% of the provider's busy CPU). The
 * lookup compares the options with those each Agent was built from, buffers by content, in place:
 * a string key copied the CA and client certificate on every request (24 MiB of garbage per 1000
 * pods, docs/benchmark.md "Memory, third session").
 */
type Dispatcher = NonNullable<ReturnType<k8s.RequestContext['getDispatcher']>>;
type DispatcherOptions = ReturnType<k8s.KubeConfig['createDispatcherOptions']>;
type BuildDispatcher = (cluster: k8s.Cluster | null, agentOptions: https.AgentOptions) => Dispatcher | undefined;

export class PooledKubeConfig extends k8s.KubeConfig {
  /** Each Agent with the options it was built from; the newest last (a rotation appends one). */
  private readonly dispatchers: { options: DispatcherOptions; dispatcher: Dispatcher }[] = [];
  /** Client-side pacing of every request (set by loadKubeConfig when qps > 0). */
  limiter: TokenBucket | undefined;

  constructor() {
    super();
    // client-node calls its (TypeScript-private) createDispatcher once per request, from
    // applySecurityAuthentication; it is replaced on this instance by a lookup in the pool.
    const self = this as unknown as { createDispatcher: BuildDispatcher };
    const build = self.createDispatcher.bind(this);
    Object.defineProperty(this, 'createDispatcher', {
      value: (cluster: k8s.Cluster | null, agentOptions: https.AgentOptions): Dispatcher | undefined => {
        const options = this.createDispatcherOptions(cluster, agentOptions);
        if (options.type === 'none') return undefined;
        for (let i = this.dispatchers.length - 1; i >= 0; i--) {
          const entry = this.dispatchers[i]!;
          if (sameMaterial(entry.options, options)) return entry.dispatcher;
        }
        const dispatcher = build(cluster, agentOptions);
        if (dispatcher !== undefined) this.dispatchers.push({ options, dispatcher });
        return dispatcher;
      },
    });
  }

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    // client-node calls this once before every request and watch: the one place to pace them.
    await this.limiter?.take();
    await super.applySecurityAuthentication(context);
  }
}

/**
 * Whether two dispatcher options describe the same Agent: the same keys, buffers equal by content,
 * arrays element by element, other values identical. Allocates nothing (it runs on every request).
 */
export function sameMaterial(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameMaterial(a[i], b[i])) return false;
    return true;
  }
  // Anything else that is not a plain record (a function, a number that differs) is different:
  // client-node passes TLS data, flags and strings only.
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const key in x) {
    if (!Object.hasOwn(x, key)) continue;
    if (!Object.hasOwn(y, key) || !sameMaterial(x[key], y[key])) return false;
    keys++;
  }
  for (const key in y) if (Object.hasOwn(y, key)) keys--;
  return keys === 0;
}

/**
 * `kubeconfigPath` empty: client-node's loadFromDefault (KUBECONFIG, colon-separated files
 * merged; then ~/.kube/config; then the in-cluster service account). A colon-separated list (as
 * KUBECONFIG, which feeds --kubeconfig, may be) is merged the same way, first file winning.
 * `rate.qps` > 0 limits requests to qps per second with bursts of `rate.burst` (default 2 x qps).
 */
export function loadKubeConfig(kubeconfigPath: string, rate: { qps: number; burst: number } = { qps: 0, burst: 0 }): PooledKubeConfig {
  const kubeConfig = new PooledKubeConfig();
  const files = kubeconfigPath.split(delimiter).filter((f) => f !== '');
  // kubectl's rule: the first file that sets current-context wins (client-node's default lets
  // the last one win, hence `true`).
  if (files.length === 0) kubeConfig.loadFromDefault(undefined, true);
  else {
    kubeConfig.loadFromFile(files[0] as string);
    for (const file of files.slice(1)) {
      const other = new k8s.KubeConfig();
      other.loadFromFile(file);
      kubeConfig.mergeConfig(other, true);
    }
  }
  if (rate.qps > 0) kubeConfig.limiter = new TokenBucket({ qps: rate.qps, burst: rate.burst > 0 ? rate.burst : Math.ceil(rate.qps * 2) });
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
