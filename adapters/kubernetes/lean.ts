// What the informer caches keep of each object: only what the provider reads. Applied to every
// listed and watched object before it reaches the store (client-node's ListWatch has no
// transform hook; see informer.ts), so the dropped fields are never held, only parsed once.
import type * as k8s from '@kubernetes/client-node';

/** Written by kubectl apply: a second copy of the object the provider never reads. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Any object: no `managedFields` (server-side apply's bookkeeping, often larger than the rest of
 * the metadata) and no kubectl last-applied copy. Mutates and returns `obj` (it is fresh from JSON).
 */
export function leanObject<T extends k8s.KubernetesObject>(obj: T): T {
  const metadata = obj.metadata;
  if (metadata === undefined) return obj;
  delete metadata.managedFields;
  if (metadata.annotations?.[LAST_APPLIED] !== undefined) {
    delete metadata.annotations[LAST_APPLIED];
  }
  return obj;
}

/**
 * A pod as the provider reads it: leanObject, and no scheduling-only spec fields (the scheduler
 * and admission read those from the apiserver, the provider never does): tolerations, priority,
 * preemption policy, scheduler name, service links. Status, containers, volumes, affinity (the
 * zone constraint), owner references and every annotation and label are kept.
 */
export function leanPod(pod: k8s.V1Pod): k8s.V1Pod {
  leanObject(pod);
  const spec = pod.spec;
  if (spec !== undefined) {
    delete spec.tolerations;
    delete spec.schedulerName;
    delete spec.priority;
    delete spec.priorityClassName;
    delete spec.preemptionPolicy;
    delete spec.enableServiceLinks;
  }
  return pod;
}
