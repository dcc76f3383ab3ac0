// One kubelet endpoint per virtual node: which port each node listens on and advertises in
// `status.daemonEndpoints.kubeletEndpoint.port`, and which pods each node's endpoint answers for.
// A kubelet only knows its own pods; so does each endpoint here.
import type { V1Pod } from '@kubernetes/client-node';
import { POD_ANNOTATIONS } from '../pods/annotations.ts';

/**
 * The ports the kubelet API may listen on: `listed` when given, else `count` ports from `base`
 * (base, base+1, ...). The first node of a single-zone setup keeps `base` (10250).
 */
export function kubeletPortPool(input: { base: number; count: number; listed: readonly number[] }): number[] {
  if (input.listed.length > 0) return [...new Set(input.listed)];
  return Array.from({ length: Math.max(0, input.count) }, (_, i) => input.base + i).filter((p) => p <= 65535);
}

/** Every port of the pool is taken by a node of this process. */
export class KubeletPortsExhaustedError extends Error {
  readonly code = 'KubeletPortsExhausted';
  constructor(nodeName: string, pool: readonly number[]) {
    super(
      `no kubelet API port left for virtual node ${nodeName}: all ${pool.length} ports of the pool (${describePool(pool)}) are taken by other virtual nodes; ` +
        'raise kubeletApi.portCount (--kubelet-port-count) or list more ports in kubeletApi.ports (--kubelet-ports)',
    );
    this.name = 'KubeletPortsExhaustedError';
  }
}

function describePool(pool: readonly number[]): string {
  if (pool.length === 0) return 'empty';
  const contiguous = pool.every((p, i) => i === 0 || p === pool[i - 1]! + 1);
  return contiguous && pool.length > 2 ? `${pool[0]}-${pool.at(-1)}` : pool.join(', ');
}

/**
 * Which node holds which port. A node keeps its port for as long as this process serves it;
 * a new node takes the first free port of the pool (in pool order), so the nodes known at start
 * get base, base+1, ... in the order they are assigned (the node manager: by zone name), and a
 * node that comes later takes the lowest port a removed node gave back.
 */
export class KubeletPorts {
  private readonly pool: readonly number[];
  private readonly byNode = new Map<string, number>();

  constructor(options: { pool: readonly number[] }) {
    this.pool = options.pool;
  }

  portOf(nodeName: string): number | undefined {
    return this.byNode.get(nodeName);
  }

  /** The node's port, taking the first free one on first use; throws KubeletPortsExhaustedError. */
  assign(nodeName: string): number {
    const held = this.byNode.get(nodeName);
    if (held !== undefined) return held;
    const taken = new Set(this.byNode.values());
    const free = this.pool.find((p) => !taken.has(p));
    if (free === undefined) throw new KubeletPortsExhaustedError(nodeName, this.pool);
    this.byNode.set(nodeName, free);
    return free;
  }

  release(nodeName: string): void {
    this.byNode.delete(nodeName);
  }

  /** Node name -> port, in the order the ports were assigned. */
  entries(): [string, number][] {
    return [...this.byNode.entries()];
  }
}

/** The pod, if it is bound to `nodeName`; a kubelet answers 404 for pods it does not run. */
export function podOnNode(pod: V1Pod | undefined, nodeName: string): V1Pod | undefined {
  return pod !== undefined && pod.spec?.nodeName === nodeName ? pod : undefined;
}

/** `/pods`: every pod bound to the node. */
export function podsOfNode(pods: readonly V1Pod[], nodeName: string): V1Pod[] {
  return pods.filter((p) => p.spec?.nodeName === nodeName);
}

/**
 * `/runningpods/`: what the node's runtime runs, as a kubelet reads it from its container runtime
 * rather than from the pods' status alone: the pods with a container group (its id on the pod) or
 * reported Running, that have not finished and are not being deleted (the provider deletes the
 * group as soon as it sees the deletion, as virtual-kubelet's providers do). Reduced to names,
 * uid and container images.
 */
export function runningPodsOfNode(pods: readonly V1Pod[], nodeName: string): V1Pod[] {
  return podsOfNode(pods, nodeName)
    .filter(
      (p) =>
        ((p.metadata?.annotations?.[POD_ANNOTATIONS.instanceId] ?? '') !== '' || p.status?.phase === 'Running') &&
        p.metadata?.deletionTimestamp == null &&
        p.status?.phase !== 'Succeeded' &&
        p.status?.phase !== 'Failed',
    )
    .map((p) => ({
      metadata: { name: p.metadata?.name, namespace: p.metadata?.namespace, uid: p.metadata?.uid },
      spec: { containers: (p.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image })) },
    }));
}
