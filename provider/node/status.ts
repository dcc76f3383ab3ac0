// A virtual node's status: capacity from configuration and the zone's free IPs, conditions from
// the cloud's reachability and the provider's readiness (readiness.ts), and heartbeat/transition
// times kept the way kubelet keeps them.
import type { V1NodeCondition, V1NodeStatus, V1Pod } from '@kubernetes/client-node';
import type { ProviderConfig } from '../config/config.ts';
import { DEFAULT_EPHEMERAL_STORAGE, NODE_REASONS } from './constants.ts';
import { readyCondition } from './readiness.ts';

export interface NodeStatusInput {
  zone: string;
  nodeName: string;
  /** The zone's vSwitches (default network's, then Ready PodNetworkings'); undefined while not known yet. */
  vSwitchIds: readonly string[] | undefined;
  /** Free IPs of those vSwitches (last DescribeVSwitches); undefined while never read. */
  freeIps: number | undefined;
  /**
   * Pods bound to the node that already hold an IP: they are not among the free ones. undefined
   * while not known yet (the provider's pod cache has not listed): the last published figure stands.
   */
  podsHoldingIps: number | undefined;
  cloudReachable: boolean;
  /** Why the cloud is unreachable (shown in the Ready condition's message). */
  lastError?: string;
  /**
   * Why the provider cannot take the node's pods yet (its readiness gate is closed); undefined once
   * it can. A node that is Ready stays Ready meanwhile, any other says Ready=False with this
   * message (provider/node/readiness.ts).
   */
  syncing?: { why: string; forMs: number };
  /** How long a Ready node is kept Ready while syncing (default in readiness.ts). */
  keepReadyWhileSyncingMs?: number;
  config: ProviderConfig;
  /** This build's version; kubeletVersion is `v<kubernetes>-eci-virtual-node-<version>` or as given. */
  kubeletVersion: string;
  now: Date;
  /** The status the node has now (from the apiserver), for transition times and last-known capacity. */
  previous?: V1NodeStatus;
  ephemeralStorage?: string;
  /** This node's own kubelet API port (one listener per node); default config.node.kubeletPort. */
  kubeletPort?: number;
}

/** Pods bound to the node that are not finished and have an IP: each holds one of the zone's IPs. */
export function countPodsHoldingIps(pods: Iterable<V1Pod>, nodeName: string): number {
  let n = 0;
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (pod.spec?.nodeName === nodeName && phase !== 'Succeeded' && phase !== 'Failed' && (pod.status?.podIP ?? '') !== '') n++;
  }
  return n;
}

/** metav1.Time has second precision: anything finer would look like a change on every read. */
export function toSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function parsePods(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * How many pods the node admits: pods already holding an IP plus the IPs still free, never above
 * maxPods. While free IPs are unknown (cloud never reached) the last published figure stands, or 0.
 * While the pods holding IPs are unknown (pod cache not listed yet) the last published figure
 * stands too, or the free IPs alone (a node never published has no pod running on it).
 */
export function podCapacity(input: {
  maxPods: number;
  freeIps: number | undefined;
  podsHoldingIps: number | undefined;
  previousPods?: string;
}): number {
  const previous = parsePods(input.previousPods);
  let known: number | undefined;
  if (input.freeIps === undefined) known = previous;
  else if (input.podsHoldingIps === undefined) known = previous ?? Math.max(0, input.freeIps);
  else known = Math.max(0, input.freeIps) + Math.max(0, input.podsHoldingIps);
  return Math.min(input.maxPods, known ?? 0);
}

type ConditionCore = Pick<V1NodeCondition, 'type' | 'status' | 'reason' | 'message'>;

function withTimes(core: ConditionCore, previous: readonly V1NodeCondition[], now: Date): V1NodeCondition {
  const before = previous.find((c) => c.type === core.type);
  const since = before !== undefined && before.status === core.status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : now;
  return { ...core, lastHeartbeatTime: now, lastTransitionTime: toSeconds(new Date(since)) };
}

export function nodeConditions(input: NodeStatusInput): V1NodeCondition[] {
  const now = toSeconds(input.now);
  const previous = input.previous?.conditions ?? [];
  const previousReady = previous.find((c) => c.type === 'Ready');
  const ready = readyCondition({
    zone: input.zone,
    cloudReachable: input.cloudReachable,
    ...(input.lastError === undefined ? {} : { lastError: input.lastError }),
    ...(input.syncing === undefined ? {} : { syncing: input.syncing }),
    ...(input.keepReadyWhileSyncingMs === undefined ? {} : { keepReadyWhileSyncingMs: input.keepReadyWhileSyncingMs }),
    ...(previousReady === undefined ? {} : { previous: previousReady }),
  });
  let network: ConditionCore;
  if (input.vSwitchIds === undefined) {
    const before = previous.find((c) => c.type === 'NetworkUnavailable');
    network =
      before !== undefined
        ? { type: 'NetworkUnavailable', status: before.status, reason: before.reason, message: before.message }
        : { type: 'NetworkUnavailable', status: 'Unknown', reason: NODE_REASONS.unknown, message: 'the zone\'s vSwitches are not known yet' };
  } else if (input.vSwitchIds.length > 0) {
    network = {
      type: 'NetworkUnavailable',
      status: 'False',
      reason: NODE_REASONS.vSwitchesConfigured,
      message: `pods get ENIs from vSwitches ${input.vSwitchIds.join(', ')} in zone ${input.zone}`,
    };
  } else {
    network = { type: 'NetworkUnavailable', status: 'True', reason: NODE_REASONS.noVSwitches, message: `no vSwitch of the default network or of a Ready PodNetworking is in zone ${input.zone}` };
  }
  const cores: ConditionCore[] = [
    ready,
    { type: 'MemoryPressure', status: 'False', reason: NODE_REASONS.sufficientMemory, message: 'ECI sizes memory per pod' },
    { type: 'DiskPressure', status: 'False', reason: NODE_REASONS.noDiskPressure, message: 'ECI sizes storage per pod' },
    { type: 'PIDPressure', status: 'False', reason: NODE_REASONS.sufficientPid, message: 'ECI isolates each pod in its own sandbox' },
    network,
  ];
  return cores.map((core) => withTimes(core, previous, now));
}

/** The whole status subresource of a virtual node. */
export function nodeStatus(input: NodeStatusInput): V1NodeStatus {
  const { config } = input;
  const pods = podCapacity({
    maxPods: config.node.maxPods,
    freeIps: input.freeIps,
    podsHoldingIps: input.podsHoldingIps,
    previousPods: input.previous?.allocatable?.['pods'],
  });
  const resources = {
    cpu: config.node.cpu,
    memory: config.node.memory,
    'ephemeral-storage': input.ephemeralStorage ?? DEFAULT_EPHEMERAL_STORAGE,
    pods: String(pods),
  };
  return {
    capacity: { ...resources },
    allocatable: { ...resources },
    conditions: nodeConditions(input),
    addresses: [
      { type: 'InternalIP', address: config.node.internalIP },
      { type: 'Hostname', address: input.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: input.kubeletPort ?? config.node.kubeletPort } },
    // The kubelet API speaks WebSocket exec (v5.channel.k8s.io), not SPDY: with this the 1.36
    // apiserver proxies kubectl's WebSocket to us instead of translating it to SPDY (docs/kubelet-api.md).
    declaredFeatures: ['ExtendWebSocketsToKubelet'],
    nodeInfo: {
      architecture: 'amd64',
      operatingSystem: 'linux',
      kubeletVersion: input.kubeletVersion,
      kubeProxyVersion: '',
      containerRuntimeVersion: 'eci://2018-08-08',
      osImage: 'Alibaba Cloud Elastic Container Instance',
      kernelVersion: '',
      machineID: '',
      systemUUID: '',
      bootID: '',
    },
  };
}

/**
 * What makes two statuses different for the scheduler and for users: capacity and each
 * condition's status, reason and message, without the times (which change on every heartbeat).
 */
export function statusSignature(status: V1NodeStatus): string {
  const conditions = (status.conditions ?? [])
    .map((c) => `${c.type}=${c.status}/${c.reason ?? ''}/${c.message ?? ''}`)
    .sort();
  const resources = (map: Record<string, string> | undefined) =>
    Object.entries(map ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(',');
  const addresses = (status.addresses ?? []).map((a) => `${a.type}=${a.address}`).join(',');
  return [resources(status.capacity), resources(status.allocatable), conditions.join(';'), addresses, String(status.daemonEndpoints?.kubeletEndpoint?.Port)].join('|');
}
