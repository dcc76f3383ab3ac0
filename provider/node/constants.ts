// Names and defaults of the virtual nodes. The taint lives in provider/networking/constants.ts
// (the webhook's serverless toleration must match it exactly); everything else a node carries is
// spelled here, once.

/** Labels every virtual node carries, whatever the configuration adds. */
export const NODE_LABELS = {
  /** virtual-kubelet's convention: `type=virtual-kubelet` (DaemonSets and users select on it). */
  type: 'type',
  role: 'kubernetes.io/role',
  os: 'kubernetes.io/os',
  arch: 'kubernetes.io/arch',
  hostname: 'kubernetes.io/hostname',
  zone: 'topology.kubernetes.io/zone',
  region: 'topology.kubernetes.io/region',
  instanceType: 'node.kubernetes.io/instance-type',
  /** This provider's own: which cluster's provider owns the node (its informer selects on it). */
  cluster: 'eci-virtual-node/cluster',
} as const;

export const NODE_LABEL_VALUES = {
  type: 'virtual-kubelet',
  role: 'agent',
  os: 'linux',
  arch: 'amd64',
  instanceType: 'virtual-node',
} as const;

/** Condition reasons this provider writes (kubelet's own where the meaning is the same). */
export const NODE_REASONS = {
  ready: 'KubeletReady',
  cloudUnreachable: 'CloudUnreachable',
  // The provider's own work on the node is not running yet (pod sync not synced/adopted).
  providerNotReady: 'KubeletNotReady',
  sufficientMemory: 'KubeletHasSufficientMemory',
  noDiskPressure: 'KubeletHasNoDiskPressure',
  sufficientPid: 'KubeletHasSufficientPID',
  vSwitchesConfigured: 'VSwitchesConfigured',
  noVSwitches: 'NoVSwitches',
  unknown: 'NodeStatusUnknown',
} as const;

/** Where node Leases live, and kubelet's heartbeat figures. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const DEFAULT_LEASE_DURATION_SECONDS = 40;
export const DEFAULT_LEASE_RENEW_INTERVAL_MS = 10_000;
/** A node status is re-posted this often even when nothing changed (it is also posted on change). */
export const DEFAULT_STATUS_INTERVAL_MS = 60_000;
/** Free IPs of the zones' vSwitches are re-read from DescribeVSwitches this often. */
export const DEFAULT_VSWITCH_REFRESH_INTERVAL_MS = 30_000;
/**
 * ECI gives every pod its own temporary storage (30 GiB free, more on request), so the node's
 * figure is only a ceiling for the scheduler's sum of requests.
 */
export const DEFAULT_EPHEMERAL_STORAGE = '100Ti';
