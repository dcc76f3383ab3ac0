// `/stats/summary` (the kubelet Summary API, stats/v1alpha1) and `/metrics/resource` (the
// Prometheus text metrics-server scrapes) built from the latest DescribeContainerGroupMetric
// sample of each pod. The node's figures are the sums of its pods': a virtual node has no
// machine of its own.
import type { V1Pod } from '@kubernetes/client-node';
import type { CpuSample, GroupMetricSample, MemorySample } from './model.ts';

export interface PodMetrics {
  pod: V1Pod;
  /** The latest sample; undefined when the cloud has none (not started, or the call failed). */
  sample: GroupMetricSample | undefined;
}

interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}

interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
}

/** The subset of stats/v1alpha1 Summary the samples can fill (field names as the kubelet's JSON). */
export interface Summary {
  node: {
    nodeName: string;
    startTime: string;
    cpu: CpuStats;
    memory: MemoryStats;
  };
  pods: {
    podRef: { name: string; namespace: string; uid: string };
    startTime?: string;
    containers: { name: string; startTime?: string; cpu: CpuStats; memory: MemoryStats }[];
    cpu: CpuStats;
    memory: MemoryStats;
    network?: { time: string; name: string; rxBytes?: number; txBytes?: number; rxErrors?: number; txErrors?: number; interfaces: { name: string; rxBytes?: number; txBytes?: number; rxErrors?: number; txErrors?: number }[] };
  }[];
}

const cpuStats = (time: string, c: CpuSample): CpuStats => ({ time, ...c });
const memoryStats = (time: string, m: MemorySample): MemoryStats => ({ time, ...m });

function add(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : a + b;
}

function startTimeOf(pod: V1Pod, container?: string): string | undefined {
  if (container === undefined) return toIso(pod.status?.startTime);
  const status = pod.status?.containerStatuses?.find((s) => s.name === container);
  return toIso(status?.state?.running?.startedAt ?? status?.state?.terminated?.startedAt);
}

function toIso(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toISOString();
}

/** The Summary of one node: every pod with a sample, the node as their sum. */
export function buildSummary(input: { nodeName: string; nodeStartTime: string; now: Date; pods: readonly PodMetrics[] }): Summary {
  const now = input.now.toISOString();
  const nodeCpu: CpuStats = { time: now };
  const nodeMemory: MemoryStats = { time: now };
  const pods: Summary['pods'] = [];
  for (const { pod, sample } of input.pods) {
    if (sample === undefined) continue;
    const time = sample.timestamp;
    const podStart = startTimeOf(pod);
    pods.push({
      podRef: { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', uid: pod.metadata?.uid ?? '' },
      ...(podStart === undefined ? {} : { startTime: podStart }),
      containers: sample.containers.map((c) => {
        const started = startTimeOf(pod, c.name);
        return { name: c.name, ...(started === undefined ? {} : { startTime: started }), cpu: cpuStats(time, c.cpu), memory: memoryStats(time, c.memory) };
      }),
      cpu: cpuStats(time, sample.cpu),
      memory: memoryStats(time, sample.memory),
      ...(sample.interfaces.length === 0
        ? {}
        : {
            network: {
              time,
              name: sample.interfaces[0]!.name,
              rxBytes: sample.interfaces[0]!.rxBytes,
              txBytes: sample.interfaces[0]!.txBytes,
              rxErrors: sample.interfaces[0]!.rxErrors,
              txErrors: sample.interfaces[0]!.txErrors,
              interfaces: sample.interfaces.map((i) => ({ ...i })),
            },
          }),
    });
    nodeCpu.usageNanoCores = add(nodeCpu.usageNanoCores, sample.cpu.usageNanoCores);
    nodeCpu.usageCoreNanoSeconds = add(nodeCpu.usageCoreNanoSeconds, sample.cpu.usageCoreNanoSeconds);
    nodeMemory.usageBytes = add(nodeMemory.usageBytes, sample.memory.usageBytes);
    nodeMemory.workingSetBytes = add(nodeMemory.workingSetBytes, sample.memory.workingSetBytes);
    nodeMemory.rssBytes = add(nodeMemory.rssBytes, sample.memory.rssBytes);
    nodeMemory.availableBytes = add(nodeMemory.availableBytes, sample.memory.availableBytes);
  }
  return { node: { nodeName: input.nodeName, startTime: input.nodeStartTime, cpu: nodeCpu, memory: nodeMemory }, pods };
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;
}

/**
 * The kubelet's `/metrics/resource` exposition (the metric names metrics-server reads): node,
 * pod and container CPU seconds and working set, container start times, and scrape_error (1
 * when any pod's metrics could not be read). Sample times are in milliseconds, as the kubelet's.
 */
export function resourceMetricsText(input: { summary: Summary; scrapeError: boolean }): string {
  const { summary } = input;
  const out: string[] = [];
  const family = (name: string, help: string, type: 'counter' | 'gauge', rows: string[]) => {
    if (rows.length === 0) return;
    out.push(`# HELP ${name} [STABLE] ${help}`, `# TYPE ${name} ${type}`, ...rows);
  };
  const ms = (time: string) => Date.parse(time);
  const seconds = (ns: number | undefined) => (ns === undefined ? undefined : ns / 1e9);
  const row = (name: string, l: Record<string, string>, value: number | undefined, time: string) =>
    value === undefined ? [] : [`${name}${Object.keys(l).length === 0 ? '' : labels(l)} ${value} ${ms(time)}`];

  // Labels in the order namespace, pod, container: parsers look them up by name (metrics-server
  // does), but virtual-kubelet's e2e suite reads the second label of a container series as the pod.
  const containers = summary.pods.flatMap((p) => p.containers.map((c) => ({ c, l: { namespace: p.podRef.namespace, pod: p.podRef.name, container: c.name } })));
  family('container_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the container in core-seconds', 'counter',
    containers.flatMap(({ c, l }) => row('container_cpu_usage_seconds_total', l, seconds(c.cpu.usageCoreNanoSeconds), c.cpu.time)));
  family('container_memory_working_set_bytes', 'Current working set of the container in bytes', 'gauge',
    containers.flatMap(({ c, l }) => row('container_memory_working_set_bytes', l, c.memory.workingSetBytes, c.memory.time)));
  family('container_start_time_seconds', 'Start time of the container since unix epoch in seconds', 'gauge',
    containers.flatMap(({ c, l }) => (c.startTime === undefined ? [] : [`container_start_time_seconds${labels(l)} ${Date.parse(c.startTime) / 1000}`])));
  family('node_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the node in core-seconds', 'counter',
    row('node_cpu_usage_seconds_total', {}, seconds(summary.node.cpu.usageCoreNanoSeconds), summary.node.cpu.time));
  family('node_memory_working_set_bytes', 'Current working set of the node in bytes', 'gauge',
    row('node_memory_working_set_bytes', {}, summary.node.memory.workingSetBytes, summary.node.memory.time));
  family('pod_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the pod in core-seconds', 'counter',
    summary.pods.flatMap((p) => row('pod_cpu_usage_seconds_total', { namespace: p.podRef.namespace, pod: p.podRef.name }, seconds(p.cpu.usageCoreNanoSeconds), p.cpu.time)));
  family('pod_memory_working_set_bytes', 'Current working set of the pod in bytes', 'gauge',
    summary.pods.flatMap((p) => row('pod_memory_working_set_bytes', { namespace: p.podRef.namespace, pod: p.podRef.name }, p.memory.workingSetBytes, p.memory.time)));
  out.push('# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise', '# TYPE scrape_error gauge', `scrape_error ${input.scrapeError ? 1 : 0}`);
  return `${out.join('\n')}\n`;
}
