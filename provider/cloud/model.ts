// The cloud as the provider sees it: plain data, no SDK types. adapters/alibabacloud maps the
// ECI 2018-08-08 and VPC 2016-04-28 models onto these; provider/ decides over them.

/** ECI container group lifecycle states, as ECI reports them. */
export type ContainerGroupStatus =
  | 'Pending'
  | 'Scheduling'
  | 'Running'
  | 'Succeeded'
  | 'Failed'
  | 'ScheduleFailed'
  | 'Expired'
  | 'Restarting'
  | 'Updating'
  | 'Terminating';

export interface VSwitch {
  id: string;
  vpcId: string;
  zoneId: string;
  cidrBlock: string;
  /** Live count of free private IPs, as DescribeVSwitches reports it. */
  availableIpCount: number;
  status: 'Available' | 'Pending';
  name?: string;
}

/** One ECS security group, as DescribeSecurityGroups (ECS 2014-05-26) returns it. */
export interface SecurityGroup {
  id: string;
  /** The VPC it belongs to; an ECI pod's vSwitch must be in the same one. */
  vpcId: string;
  name?: string;
}

export interface ContainerState {
  state: 'Waiting' | 'Running' | 'Terminated';
  startTime?: string;
  finishTime?: string;
  exitCode?: number;
  signal?: number;
  reason?: string;
  message?: string;
  detailStatus?: string;
}

export interface CloudContainerStatus {
  name: string;
  image: string;
  ready: boolean;
  restartCount: number;
  currentState?: ContainerState;
  previousState?: ContainerState;
}

export interface CloudEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  count: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

/** One ECI container group, as DescribeContainerGroups returns it. */
export interface ContainerGroup {
  id: string;
  name: string;
  status: ContainerGroupStatus;
  regionId?: string;
  zoneId: string;
  vSwitchId: string;
  securityGroupId: string;
  vpcId: string;
  /** The elastic ENI's private IP: the pod IP. Absent until the ENI is attached. */
  intranetIp?: string;
  internetIp?: string;
  ipv6Address?: string;
  eniInstanceId?: string;
  cpu: number;
  memory: number;
  instanceType?: string;
  containers: CloudContainerStatus[];
  initContainers: CloudContainerStatus[];
  events: CloudEvent[];
  tags: Record<string, string>;
  creationTime?: string;
  succeededTime?: string;
  failedTime?: string;
  expiredTime?: string;
}

/** Tags every group of this provider carries; they let a restart find groups again. */
export const GROUP_TAGS = {
  cluster: 'eci-virtual-node/cluster',
  node: 'eci-virtual-node/node',
  namespace: 'eci-virtual-node/namespace',
  pod: 'eci-virtual-node/pod',
  podUid: 'eci-virtual-node/pod-uid',
} as const;
