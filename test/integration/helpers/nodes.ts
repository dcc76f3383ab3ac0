// A plain Node object kept alive the way a kubelet keeps itself alive, without a kubelet.
//
// The node lifecycle controller (in kube-controller-manager) judges a node by its heartbeats:
// the Lease in kube-node-lease (renewed every 10 s by a kubelet) and the Ready condition. If
// neither moves for --node-monitor-grace-period (50 s), it sets Ready=Unknown and taints the node
// node.kubernetes.io/unreachable, and the scheduler stops placing pods there. So we renew the
// Lease like a kubelet does, instead of hiding the problem with a pod toleration. The node is
// also created with Ready=True: the TaintNodesByCondition admission plugin gives every new node a
// not-ready:NoSchedule taint, which the node lifecycle controller lifts once it sees Ready=True.
import { V1MicroTime, type V1Lease, type V1Node } from '@kubernetes/client-node';
import { ignoreNotFound, type Apis } from './cluster.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;
const RENEW_INTERVAL_MS = 10_000;

export interface RegisteredNode {
  node: V1Node;
  /** How many times the lease was renewed after creation. */
  renewals(): number;
  /** Stops the heartbeat and deletes the Lease and the Node. */
  remove(): Promise<void>;
}

export interface RegisterNodeOptions {
  name: string;
  labels?: Record<string, string>;
  capacity?: Record<string, string>;
}

export async function registerNode(apis: Apis, options: RegisterNodeOptions): Promise<RegisteredNode> {
  const { name, labels = {}, capacity = { cpu: '8', memory: '32Gi', pods: '110' } } = options;
  const now = new Date();
  const node = await apis.core.createNode({
    body: {
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels } },
      spec: {},
      status: {
        capacity,
        allocatable: capacity,
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'heartbeat from the test', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', lastHeartbeatTime: now, lastTransitionTime: now },
        ],
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }],
        nodeInfo: {
          architecture: 'amd64',
          operatingSystem: 'linux',
          kubeletVersion: 'v1.36.3',
          kubeProxyVersion: '',
          containerRuntimeVersion: 'test://0',
          kernelVersion: '',
          osImage: 'test',
          bootID: '',
          machineID: '',
          systemUUID: '',
        },
      },
    },
  });

  const lease = (): V1Lease => ({
    metadata: {
      name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata!.uid! }],
    },
    spec: { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: new V1MicroTime() },
  });
  await apis.coordination.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: lease() });

  let renewals = 0;
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = (async () => {
      try {
        const current = await apis.coordination.readNamespacedLease({ name, namespace: NODE_LEASE_NAMESPACE });
        current.spec = { ...current.spec, renewTime: new V1MicroTime() };
        await apis.coordination.replaceNamespacedLease({ name, namespace: NODE_LEASE_NAMESPACE, body: current });
        renewals++;
      } catch (err) {
        // A missed beat is what a flaky kubelet does too; the next one retries. Make it visible.
        console.warn(`lease renewal for node ${name} failed: ${(err as Error).message}`);
      }
    })();
  }, RENEW_INTERVAL_MS);

  return {
    node,
    renewals: () => renewals,
    remove: async () => {
      clearInterval(timer);
      await renewing;
      await apis.coordination.deleteNamespacedLease({ name, namespace: NODE_LEASE_NAMESPACE }).catch(ignoreNotFound);
      await apis.core.deleteNode({ name }).catch(ignoreNotFound);
    },
  };
}
