// What the kubelet API needs from ECI, as plain data (no SDK types): the three actions behind
// `kubectl logs`, `kubectl exec` and the stats endpoints. adapters/alibabacloud/kubelet.ts maps
// DescribeContainerLog, ExecContainerCommand and DescribeContainerGroupMetric onto these.

/** DescribeContainerLog parameters (ECI names in comments). */
export interface ContainerLogRequest {
  containerGroupId: string;
  /** ContainerName. */
  containerName: string;
  /** Tail: the last N lines. */
  tail?: number;
  /** SinceSeconds: lines of the last N seconds (at least 1). */
  sinceSeconds?: number;
  /** StartTime (RFC 3339): lines at or after this time. */
  startTime?: string;
  /** LimitBytes: the first N bytes. */
  limitBytes?: number;
  /** Timestamps: prefix each line with its RFC 3339 (nanosecond) time. */
  timestamps?: boolean;
  /** LastTime: the previous run's log (kubelet's `previous`). */
  previous?: boolean;
}

/** ExecContainerCommand parameters. The answer is a WebSocket URI (Sync=false). */
export interface ExecRequest {
  containerGroupId: string;
  containerName: string;
  /** Command: argv, sent as a JSON array. */
  command: readonly string[];
  stdin: boolean;
  tty: boolean;
}

export interface CpuSample {
  /** Cumulative CPU time, nanoseconds. */
  usageCoreNanoSeconds?: number;
  /** Current usage, nano-cores. */
  usageNanoCores?: number;
}

export interface MemorySample {
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
}

export interface NetworkInterfaceSample {
  name: string;
  rxBytes?: number;
  txBytes?: number;
  rxErrors?: number;
  txErrors?: number;
}

/** One DescribeContainerGroupMetric record: the group and each container at `timestamp`. */
export interface GroupMetricSample {
  /** RFC 3339. */
  timestamp: string;
  cpu: CpuSample;
  memory: MemorySample;
  containers: { name: string; cpu: CpuSample; memory: MemorySample }[];
  interfaces: NetworkInterfaceSample[];
  filesystems: { name: string; capacityBytes?: number; usedBytes?: number; availableBytes?: number }[];
}
