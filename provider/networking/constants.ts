// Names shared by the webhook, the PodNetworking controller, the pod sync and the node manager.
// One place, so a label key or annotation is spelled the same everywhere (and in deploy/).

/** The PodNetworking CRD: Terway's API, so manifests written for ACK apply unchanged. */
export const PODNETWORKING_API = {
  group: 'network.alibabacloud.com',
  version: 'v1beta1',
  apiVersion: 'network.alibabacloud.com/v1beta1',
  kind: 'PodNetworking',
  plural: 'podnetworkings',
  singular: 'podnetworking',
} as const;

/** Annotations the admission webhook writes on a pod (and the pod sync reads back). */
export const ANNOTATIONS = {
  /** Name of the PodNetworking chosen for the pod at admission. */
  podNetworking: 'k8s.aliyun.com/pod-networking',
  /** "true": the pod gets its own ENI from a PodNetworking (on a virtual node it always does). */
  podEni: 'k8s.aliyun.com/pod-eni',
  /** Other Ready PodNetworkings that matched too (comma list): the provider turns it into a Warning event. */
  alsoMatched: 'eci-virtual-node.io/podnetworking-also-matched',
} as const;

/** Labels read by the webhook and the node manager. */
export const LABELS = {
  /** On a Namespace: "false" opts the namespace out of PodNetworking admission entirely. */
  namespacePodEni: 'k8s.aliyun.com/pod-eni',
  /** The well-known node label the zone affinity is written against; virtual nodes carry it. */
  zone: 'topology.kubernetes.io/zone',
  /** Set by the apiserver on every Namespace (since 1.21); the webhook's namespaceSelector uses it. */
  namespaceName: 'kubernetes.io/metadata.name',
} as const;

/**
 * The taint every virtual node carries, so ordinary pods stay off it unless they tolerate it.
 * Key and value are ACK's virtual-kubelet's (`virtual-kubelet.io/provider=alibabacloud:NoSchedule`):
 * manifests that already tolerate ACK's virtual nodes land on ours unchanged.
 */
export const VIRTUAL_NODE_TAINT = {
  key: 'virtual-kubelet.io/provider',
  value: 'alibabacloud',
  effect: 'NoSchedule',
} as const;

/** The toleration serverless mode adds to every admitted pod (matches VIRTUAL_NODE_TAINT exactly). */
export const VIRTUAL_NODE_TOLERATION = {
  key: VIRTUAL_NODE_TAINT.key,
  operator: 'Equal',
  value: VIRTUAL_NODE_TAINT.value,
  effect: VIRTUAL_NODE_TAINT.effect,
} as const;

/** ACK's documented limit for virtual nodes (Terway allows 10 on real nodes); only the first is used. */
export const MAX_SECURITY_GROUPS = 5;

/** How long a vSwitch that ran out of IPs is skipped unless a refresh shows free IPs (Terway: 20 min). */
export const DEFAULT_EXHAUSTED_TTL_MS = 20 * 60_000;

/** The admission webhook's one path. */
export const MUTATE_PODS_PATH = '/mutate-pods';
