// Shared builders for unit tests: a valid pod by default, every field overridable.
import type { V1Container, V1Pod, V1PodSpec, V1PodStatus } from '@kubernetes/client-node';

export function makeContainer(o: Partial<V1Container> = {}): V1Container {
  return { name: 'app', image: 'nginx:1.27', ...o };
}

export function makePod(
  o: {
    name?: string;
    namespace?: string;
    uid?: string;
    nodeName?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    containers?: V1Container[];
    initContainers?: V1Container[];
    /** Merged over the spec built from the fields above. */
    spec?: Partial<V1PodSpec>;
    status?: V1PodStatus;
  } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name ?? 'web-0',
      namespace: o.namespace ?? 'default',
      uid: o.uid ?? '6f1c7a52-0c1e-4b9e-9d57-1d2f3a4b5c6d',
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      nodeName: o.nodeName ?? 'virtual-node-eci-cn-hangzhou-h',
      containers: o.containers ?? [makeContainer()],
      ...(o.initContainers ? { initContainers: o.initContainers } : {}),
      ...o.spec,
    },
    ...(o.status ? { status: o.status } : {}),
  };
}
