// Every event (and provisioning-condition) reason this provider writes, spelled once. Users grep
// for these, so where Kubernetes, virtual-kubelet or ACK already has a word for the same thing,
// it is that word. A reason that comes from outside (an ECI event, a cloud error code) goes
// through `foreignReason`, so a literal string can never slip past this table.

export const EventReason = {
  // --- the pod's group at the cloud (virtual-kubelet's ProviderFailed for a lost group) ---
  ProviderFailed: 'ProviderFailed',
  ProviderCreateFailed: 'ProviderCreateFailed',
  ContainerGroupCreated: 'ContainerGroupCreated',
  /** An ECI event whose reason had no usable character. */
  ContainerGroupEvent: 'ContainerGroupEvent',
  // --- translation: what ECI cannot honour, or a pod that cannot be created as it is ---
  UnsupportedField: 'UnsupportedField',
  NoContainers: 'NoContainers',
  TooManyContainers: 'TooManyContainers',
  TooManyVolumes: 'TooManyVolumes',
  TooManyVSwitches: 'TooManyVSwitches',
  CpuOverLimit: 'CpuOverLimit',
  MemoryOverLimit: 'MemoryOverLimit',
  InvalidQuantity: 'InvalidQuantity',
  InvalidEciUseSpecs: 'InvalidEciUseSpecs',
  InvalidPort: 'InvalidPort',
  UnknownVolume: 'UnknownVolume',
  MissingPodIdentity: 'MissingPodIdentity',
  // --- missing env/volume references: virtual-kubelet's words (node/env.go) ---
  MandatoryConfigMapNotFound: 'MandatoryConfigMapNotFound',
  MandatoryConfigMapKeyNotFound: 'MandatoryConfigMapKeyNotFound',
  MandatorySecretNotFound: 'MandatorySecretNotFound',
  MandatorySecretKeyNotFound: 'MandatorySecretKeyNotFound',
  OptionalConfigMapNotFound: 'OptionalConfigMapNotFound',
  OptionalConfigMapKeyNotFound: 'OptionalConfigMapKeyNotFound',
  OptionalSecretNotFound: 'OptionalSecretNotFound',
  OptionalSecretKeyNotFound: 'OptionalSecretKeyNotFound',
  InvalidEnvironmentVariableNames: 'InvalidEnvironmentVariableNames',
  /** kubelet's word for an imagePullSecret it could not read. */
  FailedToRetrieveImagePullSecret: 'FailedToRetrieveImagePullSecret',
  // --- the pod's network ---
  NodeUnknown: 'NodeUnknown',
  MultiplePodNetworkings: 'MultiplePodNetworkings',
  PodNetworkingNotFound: 'PodNetworkingNotFound',
  PodNetworkingNotReady: 'PodNetworkingNotReady',
  /** A pod selected at sync (no admission annotation) whose node's zone its PodNetworking does not cover. */
  PodNetworkingZoneMismatch: 'PodNetworkingZoneMismatch',
  /** The pod's annotation names one PodNetworking while the selectors now pick another (or none). */
  PodNetworkingMismatch: 'PodNetworkingMismatch',
  FixedAllocationUnsupported: 'FixedAllocationUnsupported',
  /** A pod on a virtual node pool's node that a PodNetworking selects: the PodNetworking's network wins. */
  PodNetworkingOverridesPool: 'PodNetworkingOverridesPool',
  ZoneNotAllowed: 'ZoneNotAllowed',
  NoVSwitchInZone: 'NoVSwitchInZone',
  VSwitchExhausted: 'VSwitchExhausted',
  VSwitchesExhausted: 'VSwitchesExhausted',
  // --- every network's IPs (issue 17): headroom below the threshold and back, the drift tripwire ---
  /** A network's vSwitches have fewer free IPs than the threshold x its pods (Warning, once per change). */
  IPHeadroomLow: 'IPHeadroomLow',
  /** Back above the threshold (Normal). */
  IPHeadroomRestored: 'IPHeadroomRestored',
  /** A pod's IP lies outside its network's vSwitch CIDRs: the guarantee broke (should never fire). */
  PodIPOutsideNetwork: 'PodIPOutsideNetwork',
  /** The opt-in re-creation of a pod stuck in an exhausted zone (the descheduler's word). */
  Descheduled: 'Descheduled',
  /** The pod's network has no security group (no flag, eci-profile or eni-config sets one). */
  NoSecurityGroup: 'NoSecurityGroup',
  // --- PodNetworkings ---
  PodNetworkingFailed: 'PodNetworkingFailed',
  /** ECS refused DescribeSecurityGroups for good (e.g. no RAM permission): the check was skipped. */
  SecurityGroupsUnchecked: 'SecurityGroupsUnchecked',
  // --- cluster network ConfigMaps in kube-system (the last good version stays in force) ---
  /** kube-system/eci-profile did not parse (ACK reports a format error as an event). */
  InvalidEciProfile: 'InvalidEciProfile',
  /** kube-system/eni-config (or a pool's terway-config overlay) did not parse. */
  InvalidEniConfig: 'InvalidEniConfig',
  /** An entry of kube-system/eci-virtual-node-pools did not parse. */
  InvalidVirtualNodePool: 'InvalidVirtualNodePool',
  // --- virtual nodes (kubelet's and the node controller's words) ---
  RegisteredNode: 'RegisteredNode',
  NodeNotSchedulable: 'NodeNotSchedulable',
  RemovingNode: 'RemovingNode',
} as const;

export type EventReason = (typeof EventReason)[keyof typeof EventReason];

declare const foreign: unique symbol;
/** A reason that did not come from this table (an ECI event, a cloud error code), made valid. */
export type ForeignReason = string & { readonly [foreign]: true };

/**
 * Any code as a Kubernetes reason, which must be CamelCase-like (`[A-Za-z][A-Za-z0-9_,:]*`):
 * `Zone.NotOnSale` -> `ZoneNotOnSale`.
 */
export function foreignReason(code: string): ForeignReason {
  const cleaned = code.replace(/[^A-Za-z0-9_]/g, '');
  return (/^[A-Za-z]/.test(cleaned) ? cleaned : `Error${cleaned}`) as ForeignReason;
}

export type AnyEventReason = EventReason | ForeignReason;

const KNOWN: ReadonlySet<string> = new Set(Object.values(EventReason));
export const isEventReason = (reason: string): reason is EventReason => KNOWN.has(reason);
