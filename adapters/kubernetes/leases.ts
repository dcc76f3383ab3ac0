// Node heartbeats: one Lease per virtual node in kube-node-lease, as kubelet keeps them. The Lease
// is owned by its Node (ownerReference), so deleting the node garbage-collects it; when the node
// is re-created under a new UID, the next renewal points the owner at the new node.
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { NODE_LEASE_NAMESPACE } from '../../provider/node/constants.ts';
import { isAlreadyExists, isConflict, isNotFound } from './client.ts';

export interface LeaseTarget {
  nodeName: string;
  /** UID of the Node the Lease belongs to; without it the Lease gets no owner (yet). */
  nodeUid: string | undefined;
  leaseDurationSeconds: number;
}

export function desiredLease(target: LeaseTarget, now: Date, existing?: V1Lease): V1Lease {
  const ownerReferences =
    target.nodeUid === undefined
      ? existing?.metadata?.ownerReferences
      : [{ apiVersion: 'v1', kind: 'Node', name: target.nodeName, uid: target.nodeUid }];
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...(existing?.metadata ?? {}),
      name: target.nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ...(ownerReferences === undefined ? {} : { ownerReferences }),
    },
    spec: {
      ...(existing?.spec ?? {}),
      holderIdentity: target.nodeName,
      leaseDurationSeconds: target.leaseDurationSeconds,
      renewTime: new V1MicroTime(now.getTime()),
    },
  };
}

/** renewTime of a Lease as a Date (the client leaves it a string when reading). */
export function renewTimeOf(lease: V1Lease | undefined): Date | undefined {
  const value = lease?.spec?.renewTime as unknown;
  if (value === undefined || value === null) return undefined;
  const date = new Date(value as string | Date);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Renews (or creates) the node's Lease and returns it as stored. `previous` is the Lease from the
 * last renewal: a replace on it costs one request; a 409 (someone else wrote it) re-reads and
 * tries once more; a 404 creates it.
 */
export async function renewNodeLease(input: {
  coordination: CoordinationV1Api;
  target: LeaseTarget;
  now: () => Date;
  previous?: V1Lease;
}): Promise<V1Lease> {
  const { coordination, target } = input;
  const name = target.nodeName;
  const namespace = NODE_LEASE_NAMESPACE;

  const create = async (): Promise<V1Lease> => {
    const body = desiredLease(target, input.now());
    delete body.metadata!.resourceVersion;
    try {
      return await coordination.createNamespacedLease({ namespace, body });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const current = await coordination.readNamespacedLease({ name, namespace });
      return coordination.replaceNamespacedLease({ name, namespace, body: desiredLease(target, input.now(), current) });
    }
  };

  let current = input.previous;
  if (current === undefined) {
    try {
      current = await coordination.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return create();
      throw err;
    }
  }
  for (let attempt = 0; ; attempt++) {
    try {
      return await coordination.replaceNamespacedLease({ name, namespace, body: desiredLease(target, input.now(), current) });
    } catch (err) {
      if (isNotFound(err)) return create();
      if (!isConflict(err) || attempt >= 1) throw err;
      current = await coordination.readNamespacedLease({ name, namespace });
    }
  }
}
