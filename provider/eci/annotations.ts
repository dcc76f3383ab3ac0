// Pod annotations ECI users already know (ACK's virtual node), read by translatePod.

export const ECI_ANNOTATIONS = {
  /** `2-4Gi`, `ecs.c6.large`, or a comma list of up to 5 of them (tried in order). */
  useSpecs: 'k8s.aliyun.com/eci-use-specs',
  /** An ECS instance type (or comma list). eci-use-specs wins when both are set. */
  instanceType: 'k8s.aliyun.com/eci-instance-type',
  /** SpotAsPriceGo | SpotWithPriceLimit (with eci-spot-price-limit) | NoSpot. */
  spotStrategy: 'k8s.aliyun.com/eci-spot-strategy',
  spotPriceLimit: 'k8s.aliyun.com/eci-spot-price-limit',
  /** "true": ECI creates and binds an EIP. */
  withEip: 'k8s.aliyun.com/eci-with-eip',
  eipBandwidth: 'k8s.aliyun.com/eip-bandwidth',
  /** Bind this existing EIP. */
  eipInstanceId: 'k8s.aliyun.com/eci-eip-instanceid',
  ramRoleName: 'k8s.aliyun.com/eci-ram-role-name',
  /** "true": let ECI match an image cache automatically. */
  imageCache: 'k8s.aliyun.com/eci-image-cache',
  /** A specific image cache (snapshot) id. */
  imageSnapshotId: 'k8s.aliyun.com/eci-image-snapshot-id',
  /** VSwitchOrdered | VSwitchRandom: how ECI tries several vSwitches. */
  scheduleStrategy: 'k8s.aliyun.com/eci-schedule-strategy',
  /** Extra ephemeral storage beyond the default 30 GiB (a quantity, e.g. 50Gi). */
  extraEphemeralStorage: 'k8s.aliyun.com/eci-extra-ephemeral-storage',
  /** "true": give the group an IPv6 address. */
  enableIpv6: 'k8s.aliyun.com/eci-enable-ipv6',
} as const;
