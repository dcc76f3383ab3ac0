// What the provider records on a pod so `kubectl describe pod` answers "why this IP, this zone,
// this vSwitch". ECI's own well-known keys are kept where users already know them.
export const POD_ANNOTATIONS = {
  /** ECI's key: the container group backing the pod. */
  instanceId: 'k8s.aliyun.com/eci-instance-id',
  /** Set by the admission webhook (Terway's keys). */
  podNetworking: 'k8s.aliyun.com/pod-networking',
  podEni: 'k8s.aliyun.com/pod-eni',
  /** Chosen by the provider at create time. */
  vSwitchId: 'eci-virtual-node.io/vswitch-id',
  zoneId: 'eci-virtual-node.io/zone-id',
  securityGroupId: 'eci-virtual-node.io/security-group-id',
  /** Why that vSwitch: the policy and what was skipped. */
  vSwitchReason: 'eci-virtual-node.io/vswitch-reason',
  /** Set when the group reports it. */
  eniId: 'eci-virtual-node.io/eni-id',
  /** User opt-in (ECI's key): make the pod Failed instead of retrying a create that keeps failing. */
  failOnCreateError: 'k8s.aliyun.com/pod-fail-on-create-err',
  /**
   * Opt-in, a duration (`5m`): a controller-owned pod waiting that long since it was bound for a
   * free IP in its zone (VSwitchesExhausted) is deleted, so its controller re-creates it elsewhere.
   */
  rescheduleWhenExhaustedAfter: 'eci-virtual-node.io/reschedule-when-exhausted-after',
} as const;

/** The provider's own pod condition: why a pod has no container group yet. */
export const PROVISIONED_CONDITION = 'eci-virtual-node.io/ContainerGroupProvisioned';
