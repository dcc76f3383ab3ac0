// AdmissionReview fixtures (real v1 reviews as the apiserver sends them), read once and handed
// out as fresh clones so no test can leak a mutation into another.
import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';

export type FixtureName = 'pod-create' | 'pod-create-affinity' | 'daemonset-pod' | 'hostnetwork-pod' | 'configmap-create';

export interface Review {
  apiVersion: string;
  kind: string;
  request: { uid: string; namespace: string; operation: string; dryRun?: boolean; object: V1Pod; [key: string]: unknown };
}

const cache = new Map<FixtureName, Review>();

export function loadReview(name: FixtureName): Review {
  let review = cache.get(name);
  if (review === undefined) {
    review = JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Review;
    cache.set(name, review);
  }
  return structuredClone(review);
}

export function loadPod(name: FixtureName): V1Pod {
  return loadReview(name).request.object;
}
