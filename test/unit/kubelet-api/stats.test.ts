// /stats/summary and /metrics/resource from DescribeContainerGroupMetric samples.
import { describe, expect, it } from 'vitest';
import type { GroupMetricSample } from '../../../provider/kubelet-api/model.ts';
import { buildSummary, resourceMetricsText } from '../../../provider/kubelet-api/stats.ts';
import { makePod } from '../builders.ts';

const T = '2026-01-02T03:04:05.000Z';
const sample = (cpuNs: number, ws: number): GroupMetricSample => ({
  timestamp: T,
  cpu: { usageNanoCores: 1e8, usageCoreNanoSeconds: cpuNs },
  memory: { workingSetBytes: ws, usageBytes: ws, availableBytes: 1000 },
  containers: [{ name: 'app', cpu: { usageNanoCores: 1e8, usageCoreNanoSeconds: cpuNs }, memory: { workingSetBytes: ws } }],
  interfaces: [{ name: 'eth0', rxBytes: 10, txBytes: 20 }],
  filesystems: [],
});

describe('buildSummary', () => {
  const started = new Date('2026-01-02T03:00:00Z');
  const podA = makePod({ name: 'a', namespace: 'ns', uid: 'uid-a', status: { phase: 'Running', startTime: started, containerStatuses: [{ name: 'app', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: started } } }] } });
  const podB = makePod({ name: 'b', namespace: 'ns', uid: 'uid-b' });
  const podC = makePod({ name: 'c', namespace: 'ns', uid: 'uid-c' });
  const summary = buildSummary({
    nodeName: 'vn-h',
    nodeStartTime: T,
    now: new Date(T),
    pods: [
      { pod: podA, sample: sample(2e9, 100) },
      { pod: podB, sample: sample(3e9, 50) },
      { pod: podC, sample: undefined },
    ],
  });

  it('lists each pod with a sample, its containers and network', () => {
    expect(summary.pods.map((p) => p.podRef)).toEqual([
      { name: 'a', namespace: 'ns', uid: 'uid-a' },
      { name: 'b', namespace: 'ns', uid: 'uid-b' },
    ]);
    const a = summary.pods[0]!;
    expect(a.startTime).toBe(started.toISOString());
    expect(a.containers).toEqual([{ name: 'app', startTime: started.toISOString(), cpu: { time: T, usageNanoCores: 1e8, usageCoreNanoSeconds: 2e9 }, memory: { time: T, workingSetBytes: 100 } }]);
    expect(a.network).toMatchObject({ name: 'eth0', rxBytes: 10, txBytes: 20, interfaces: [{ name: 'eth0', rxBytes: 10, txBytes: 20 }] });
  });

  it('makes the node the sum of its pods', () => {
    expect(summary.node).toEqual({
      nodeName: 'vn-h',
      startTime: T,
      cpu: { time: T, usageNanoCores: 2e8, usageCoreNanoSeconds: 5e9 },
      memory: { time: T, workingSetBytes: 150, usageBytes: 150, availableBytes: 2000 },
    });
  });

  it('renders the metric families metrics-server reads', () => {
    const text = resourceMetricsText({ summary, scrapeError: true });
    const ms = Date.parse(T);
    expect(text).toContain('# TYPE container_cpu_usage_seconds_total counter\n');
    expect(text).toContain(`container_cpu_usage_seconds_total{namespace="ns",pod="a",container="app"} 2 ${ms}\n`);
    expect(text).toContain(`container_memory_working_set_bytes{namespace="ns",pod="b",container="app"} 50 ${ms}\n`);
    expect(text).toContain(`container_start_time_seconds{namespace="ns",pod="a",container="app"} ${started.getTime() / 1000}\n`);
    expect(text).toContain(`node_cpu_usage_seconds_total 5 ${ms}\n`);
    expect(text).toContain(`node_memory_working_set_bytes 150 ${ms}\n`);
    expect(text).toContain(`pod_cpu_usage_seconds_total{namespace="ns",pod="b"} 3 ${ms}\n`);
    expect(text).toContain(`pod_memory_working_set_bytes{namespace="ns",pod="a"} 100 ${ms}\n`);
    expect(text.endsWith('scrape_error 1\n')).toBe(true);
  });

  it('escapes label values', () => {
    const odd = buildSummary({ nodeName: 'n', nodeStartTime: T, now: new Date(T), pods: [{ pod: makePod({ name: 'p', namespace: 'n"s\\x' }), sample: sample(1e9, 1) }] });
    expect(resourceMetricsText({ summary: odd, scrapeError: false })).toContain('pod_memory_working_set_bytes{namespace="n\\"s\\\\x",pod="p"} 1');
  });
});
