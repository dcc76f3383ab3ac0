import { afterEach, describe, expect, it } from 'vitest';
import { METRIC } from '../../provider/telemetry/names.ts';
import { createMetrics, startMetricsServer, type MetricsServer } from './metrics.ts';

const servers: MetricsServer[] = [];
afterEach(async () => {
  while (servers.length > 0) await servers.pop()!.close();
});

async function serve(...args: Parameters<typeof startMetricsServer>): Promise<MetricsServer> {
  const server = await startMetricsServer(...args);
  servers.push(server);
  return server;
}

interface Exposition {
  types: Map<string, string>;
  helps: Map<string, string>;
  /** `name{a="x",b="y"}` (labels sorted) -> value. */
  samples: Map<string, number>;
}

/** A small parser of the Prometheus text format, enough to check names, labels, types and values. */
function parse(text: string): Exposition {
  const out: Exposition = { types: new Map(), helps: new Map(), samples: new Map() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (TYPE|HELP) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'TYPE' ? out.types : out.helps).set(meta[2]!, meta[3]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not an exposition line: ${line}`);
    const labels = [...(sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    out.samples.set(labels.length > 0 ? `${sample[1]}{${labels.join(',')}}` : sample[1]!, Number(sample[3]));
  }
  return out;
}

async function scrape(server: MetricsServer): Promise<{ status: number; contentType: string | null; exposition: Exposition }> {
  const res = await fetch(`${server.url}/metrics`);
  return { status: res.status, contentType: res.headers.get('content-type'), exposition: parse(await res.text()) };
}

describe('metrics over HTTP', () => {
  it('serves what was recorded, with Prometheus names, labels and types', async () => {
    const metrics = createMetrics();
    metrics.cloudCall({ action: 'CreateContainerGroup', durationMs: 120, throttleWaitMs: 0 });
    metrics.cloudCall({ action: 'CreateContainerGroup', durationMs: 80, throttleWaitMs: 1500 });
    metrics.cloudCall({ action: 'CreateContainerGroup', code: 'InvalidVSwitchId.IpNotEnough', durationMs: 40 });
    metrics.cloudCall({ action: 'DescribeVSwitches', code: undefined, durationMs: 5, throttleWaitMs: 0 });
    metrics.podSync({ result: 'done', durationMs: 30 });
    metrics.podSync({ result: 'done', durationMs: 700 });
    metrics.podSync({ result: 'error', durationMs: 3 });
    metrics.podBoundToRunning(23_500);
    metrics.podStatusWrite(40);
    metrics.podStatusWrite(1_200);
    metrics.setWorkqueueDepth(4);
    metrics.setPods({ Running: 3, Pending: 1 });
    metrics.setVSwitchFreeIps([
      { vSwitchId: 'vsw-a', zoneId: 'cn-hangzhou-h', freeIps: 250 },
      { vSwitchId: 'vsw-b', zoneId: 'cn-hangzhou-i', freeIps: 0 },
    ]);
    metrics.setPodNetworkingStatus([
      { name: 'pn-web', status: 'Ready' },
      { name: 'pn-new', status: undefined },
    ]);

    const server = await serve({ port: 0, host: '127.0.0.1', metrics });
    const { status, contentType, exposition: e } = await scrape(server);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    expect(e.types.get(METRIC.cloudCalls)).toBe('counter');
    expect(e.samples.get('eci_vn_cloud_calls_total{action="CreateContainerGroup",code="OK"}')).toBe(2);
    expect(e.samples.get('eci_vn_cloud_calls_total{action="CreateContainerGroup",code="InvalidVSwitchId.IpNotEnough"}')).toBe(1);
    expect(e.samples.get('eci_vn_cloud_calls_total{action="DescribeVSwitches",code="OK"}')).toBe(1);

    expect(e.types.get(METRIC.cloudCallDuration)).toBe('histogram');
    expect(e.samples.get('eci_vn_cloud_call_duration_seconds_count{action="CreateContainerGroup"}')).toBe(3);
    expect(e.samples.get('eci_vn_cloud_call_duration_seconds_sum{action="CreateContainerGroup"}')).toBeCloseTo(0.24, 6);
    expect(e.samples.get('eci_vn_cloud_call_duration_seconds_bucket{action="CreateContainerGroup",le="0.05"}')).toBe(1);
    expect(e.samples.get('eci_vn_cloud_call_duration_seconds_bucket{action="CreateContainerGroup",le="+Inf"}')).toBe(3);

    expect(e.types.get(METRIC.cloudThrottleWait)).toBe('histogram');
    expect(e.samples.get('eci_vn_cloud_throttle_wait_seconds_count{action="CreateContainerGroup"}')).toBe(2);
    expect(e.samples.get('eci_vn_cloud_throttle_wait_seconds_sum{action="CreateContainerGroup"}')).toBeCloseTo(1.5, 6);

    expect(e.types.get(METRIC.podSyncDuration)).toBe('histogram');
    expect(e.samples.get('eci_vn_pod_sync_duration_seconds_count{result="done"}')).toBe(2);
    expect(e.samples.get('eci_vn_pod_sync_duration_seconds_count{result="error"}')).toBe(1);
    expect(e.samples.get('eci_vn_pod_sync_duration_seconds_bucket{le="0.05",result="done"}')).toBe(1);

    expect(e.types.get(METRIC.podBoundToRunning)).toBe('histogram');
    expect(e.samples.get('eci_vn_pod_bound_to_running_seconds_count')).toBe(1);
    expect(e.samples.get('eci_vn_pod_bound_to_running_seconds_bucket{le="20"}')).toBe(0);
    expect(e.samples.get('eci_vn_pod_bound_to_running_seconds_bucket{le="30"}')).toBe(1);

    expect(e.types.get(METRIC.podStatusWriteDuration)).toBe('histogram');
    expect(e.samples.get('eci_vn_pod_status_write_duration_seconds_count')).toBe(2);
    expect(e.samples.get('eci_vn_pod_status_write_duration_seconds_bucket{le="0.05"}')).toBe(1);
    expect(e.samples.get('eci_vn_pod_status_write_duration_seconds_bucket{le="1"}')).toBe(1);
    expect(e.samples.get('eci_vn_pod_status_write_duration_seconds_bucket{le="2.5"}')).toBe(2);

    expect(e.types.get(METRIC.workqueueDepth)).toBe('gauge');
    expect(e.samples.get('eci_vn_workqueue_depth')).toBe(4);
    expect(e.types.get(METRIC.pods)).toBe('gauge');
    expect(e.samples.get('eci_vn_pods{phase="Running"}')).toBe(3);
    expect(e.samples.get('eci_vn_pods{phase="Pending"}')).toBe(1);
    expect(e.samples.get('eci_vn_pods{phase="Failed"}')).toBe(0);
    expect(e.samples.get('eci_vn_vswitch_free_ips{vswitch="vsw-a",zone="cn-hangzhou-h"}')).toBe(250);
    expect(e.samples.get('eci_vn_vswitch_free_ips{vswitch="vsw-b",zone="cn-hangzhou-i"}')).toBe(0);
    expect(e.samples.get('eci_vn_podnetworking_status{podnetworking="pn-web",status="Ready"}')).toBe(1);
    expect(e.samples.get('eci_vn_podnetworking_status{podnetworking="pn-web",status="Fail"}')).toBe(0);
    expect(e.samples.get('eci_vn_podnetworking_status{podnetworking="pn-new",status="Pending"}')).toBe(1);

    // Every metric of ours has HELP text, and nothing else is exported unless asked for.
    for (const name of Object.values(METRIC)) expect(e.helps.get(name), name).toBeTruthy();
    expect([...e.types.keys()].sort()).toEqual(Object.values(METRIC).sort());
  });

  it('exports the leader gauge on every replica: 0 until leadership is gained, 0 again once it is lost', async () => {
    const metrics = createMetrics();
    const server = await serve({ port: 0, host: '127.0.0.1', metrics });
    const leader = async () => (await scrape(server)).exposition;

    let e = await leader();
    expect(e.types.get(METRIC.leader)).toBe('gauge');
    expect(e.samples.get('eci_vn_leader')).toBe(0);
    metrics.setLeader(true);
    expect((await leader()).samples.get('eci_vn_leader')).toBe(1);
    metrics.setLeader(false);
    e = await leader();
    expect(e.samples.get('eci_vn_leader')).toBe(0);
  });

  it('reads scrape-time sources on every scrape; a failing source does not fail the scrape', async () => {
    const metrics = createMetrics({ defaultLabels: { cluster: 'c-1' } });
    let depth = 2;
    let freeIps = [{ vSwitchId: 'vsw-a', zoneId: 'z-1', freeIps: 10 }];
    metrics.observe({
      workqueueDepth: () => depth,
      vSwitchFreeIps: () => freeIps,
      podsByPhase: () => {
        throw new Error('pod cache not synced');
      },
    });
    const server = await serve({ port: 0, host: '127.0.0.1', metrics });

    let { exposition: e } = await scrape(server);
    expect(e.samples.get('eci_vn_workqueue_depth{cluster="c-1"}')).toBe(2);
    expect(e.samples.get('eci_vn_vswitch_free_ips{cluster="c-1",vswitch="vsw-a",zone="z-1"}')).toBe(10);
    expect(e.samples.get('eci_vn_pods{cluster="c-1",phase="Running"}')).toBe(0);

    depth = 7;
    freeIps = [{ vSwitchId: 'vsw-b', zoneId: 'z-2', freeIps: 3 }];
    ({ exposition: e } = await scrape(server));
    expect(e.samples.get('eci_vn_workqueue_depth{cluster="c-1"}')).toBe(7);
    // A vSwitch no longer reported disappears instead of showing a stale count.
    expect(e.samples.has('eci_vn_vswitch_free_ips{cluster="c-1",vswitch="vsw-a",zone="z-1"}')).toBe(false);
    expect(e.samples.get('eci_vn_vswitch_free_ips{cluster="c-1",vswitch="vsw-b",zone="z-2"}')).toBe(3);
  });

  it('adds process metrics only when asked', async () => {
    const metrics = createMetrics({ processMetrics: true });
    const server = await serve({ port: 0, host: '127.0.0.1', metrics });
    const { exposition: e } = await scrape(server);
    expect(e.types.get('process_cpu_seconds_total')).toBe('counter');
    expect(e.types.get(METRIC.cloudCalls)).toBe('counter');
  });

  it('answers /healthz, and refuses other paths and methods', async () => {
    let healthy = true;
    const server = await serve({ port: 0, host: '127.0.0.1', metrics: createMetrics(), healthy: () => healthy });
    expect(server.port).toBeGreaterThan(0);

    const ok = await fetch(`${server.url}/healthz`);
    expect([ok.status, await ok.text()]).toEqual([200, 'ok\n']);
    healthy = false;
    expect((await fetch(`${server.url}/healthz`)).status).toBe(503);

    const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('closes: the port stops answering', async () => {
    const server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics: createMetrics() });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await server.close();
    await server.close();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});

describe('exemplars', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

  it('links the bound->Running and cloud call histograms to traces in the OpenMetrics exposition only', async () => {
    const metrics = createMetrics();
    metrics.podBoundToRunning(2_600, traceId);
    metrics.cloudCall({ action: 'CreateContainerGroup', durationMs: 120, traceId });
    metrics.cloudCall({ action: 'DescribeContainerGroups', durationMs: 30 });
    const server = await serve({ port: 0, host: '127.0.0.1', metrics });

    const open = await fetch(`${server.url}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(open.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    const text = await open.text();
    expect(text.trimEnd().endsWith('# EOF')).toBe(true);
    // The exemplar sits on the bucket the value fell in: `... # {trace_id="..."} <value> <timestamp>`.
    const b2r = text.split('\n').filter((l) => l.startsWith(`${METRIC.podBoundToRunning}_bucket`) && l.includes('# {'));
    expect(b2r).toHaveLength(1);
    expect(b2r[0]).toContain(`# {trace_id="${traceId}"} 2.6 `);
    const calls = text.split('\n').filter((l) => l.startsWith(`${METRIC.cloudCallDuration}_bucket`) && l.includes('# {'));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toContain('action="CreateContainerGroup"');
    expect(calls[0]).toContain(`trace_id="${traceId}"`);

    // A plain scrape stays Prometheus text 0.0.4, without exemplars.
    const plain = await fetch(`${server.url}/metrics`);
    expect(plain.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const plainText = await plain.text();
    expect(plainText).not.toContain('trace_id');
    expect(parse(plainText).samples.get(`${METRIC.podBoundToRunning}_count`)).toBe(1);
  });
});
