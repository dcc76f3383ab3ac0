// One place that turns configuration into Kubernetes API clients. @kubernetes/client-node has no
// client-side rate limiter (unlike client-go's old 5 QPS default), so the apiserver's own
// priority and fairness is what paces us; `kubernetes.qps` adds a limit only when asked.
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

export function loadKubeConfig(kubeconfigPath: string): k8s.KubeConfig {
  const kubeConfig = new k8s.KubeConfig();
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
