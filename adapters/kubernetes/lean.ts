// What the informer caches keep of each object: only what the provider reads. Applied to every
// listed and watched object before it reaches the store (client-node's ListWatch has no
// transform hook; see informer.ts), so the dropped fields are never held, only parsed once.
import type * as k8s from '@kubernetes/client-node';
import { sharedStrings } from '../strings/intern.ts';

/** Written by kubectl apply: a second copy of the object the provider never reads. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Any object: no `managedFields` (server-side apply's bookkeeping, often larger than the rest of
 * the metadata) and no kubectl last-applied copy. Returns `obj` (it is fresh from JSON) with
 * those left out of copies of the objects that held them.
 */
export function leanObject<T extends k8s.KubernetesObject>(obj: T): T {
  const metadata = obj.metadata;
  if (metadata === undefined) return obj;
  const annotations = metadata.annotations;
  if (annotations?.[LAST_APPLIED] !== undefined) metadata.annotations = without(annotations, [LAST_APPLIED]);
  obj.metadata = without(metadata, ['managedFields']);
  return obj;
}

/**
 * `obj` without `keys`, as a new object when it has any of them. Never `delete`: V8 turns an
 * object that loses a property into a hash-table ("dictionary") object, ~0.8 KB more for a
 * pod's metadata or spec, kept for the pod's whole life in the cache (docs/benchmark.md,
 * "Retained memory, fourth session").
 */
function without<T extends object>(obj: T, keys: readonly string[]): T {
  if (!keys.some((key) => Object.hasOwn(obj, key))) return obj;
  // Object.fromEntries, not a loop of kept[key] = value: past 16 keys those keyed stores make a
  // hash table too.
  return Object.fromEntries(Object.entries(obj).filter(([key]) => !keys.includes(key))) as T;
}

/** Spec fields only the scheduler and admission read (from the apiserver, never from the cache). */
const SCHEDULING_ONLY = ['tolerations', 'schedulerName', 'priority', 'priorityClassName', 'preemptionPolicy', 'enableServiceLinks'];

/**
 * A pod as the provider reads it: leanObject, and no scheduling-only spec fields (the scheduler
 * and admission read those from the apiserver, the provider never does): tolerations, priority,
 * preemption policy, scheduler name, service links. Status, containers, volumes, affinity (the
 * zone constraint), owner references and every annotation and label are kept.
 */
export function leanPod(pod: k8s.V1Pod): k8s.V1Pod {
  leanObject(pod);
  if (pod.spec !== undefined) pod.spec = without(pod.spec, SCHEDULING_ONLY);
  // Values shared by many pods (node, namespace, image, owner, zone, timestamps) kept once.
  return sharedStrings.internAll(pod, POD_UNIQUE);
}

/** Values no two pods share: not worth a place in the table. */
const POD_UNIQUE: ReadonlySet<string> = new Set(['uid', 'resourceVersion', 'containerID', 'podIP', 'ip']);
