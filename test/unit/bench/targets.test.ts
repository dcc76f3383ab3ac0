// The bench's targets block (issue 16): each target met, missed, or not measured by the run's
// shape (a 10,000-pod target is not judged on 1000 pods, except RSS already above its bound).
import { describe, expect, it } from 'vitest';
import type { BenchResult, CaseResult } from '../../bench/harness.ts';
import { checkTargets, renderDetails } from '../../bench/report.ts';
import { providerStatusWriteBuckets, statusPatchBuckets, statusPatchLatency, stepBreakdown } from '../../bench/measure.ts';

function kase(o: Partial<CaseResult> & Pick<CaseResult, 'system' | 'mode'>): CaseResult {
  return {
    tuning: '',
    nodes: [],
    create: { pods: 1000, running: 1000, failed: 0, latency: { count: 1000 }, seconds: 10, throughputPodsPerSec: 100, endToEndSeconds: 10 },
    rssPeakMiB: 100,
    rssHwmMiB: 100,
    cpuSeconds: 3,
    series: [],
    errors: [],
    ...o,
  };
}

function result(cases: CaseResult[]): BenchResult {
  return { startedAt: '', host: { cpus: 2, loadAverageAtStart: [], loadAverageAtEnd: [], node: '' }, options: {} as BenchResult['options'], peerBuildErrors: [], cases };
}

const byTarget = (r: BenchResult): Record<string, boolean | undefined> => Object.fromEntries(checkTargets(r).map((c) => [c.target, c.met]));

describe('checkTargets', () => {
  it('judges the unlimited targets against kwok in the same run', () => {
    const met = byTarget(
      result([
        kase({ system: 'eci-vn', mode: 'unlimited', create: { pods: 1000, running: 1000, failed: 0, latency: { count: 1000 }, seconds: 10, throughputPodsPerSec: 90, endToEndSeconds: 12 }, cpuSeconds: 7, apiserverCreateRequestsPerPodByKind: { other: 0.5, 'patch-pods-status': 1, 'create-events': 1 } }),
        kase({ system: 'kwok', mode: 'unlimited' }),
      ]),
    );
    expect(met['unlimited: throughput >= 1.0x kwok']).toBe(false);
    expect(met['unlimited: <= 2 apiserver writes per pod to Running']).toBe(true);
    expect(met["unlimited: CPU per pod <= 2x kwok's"]).toBe(false);
    expect(met['unlimited: p99 bound->Running <= 1 s at 100 pods/s offered']).toBeUndefined();
    // 1000 pods: the 10,000-pod time target is not judged.
    expect(met["10000 pods: first Deployment -> last pod Running <= 1.1x kwok's time"]).toBeUndefined();
  });

  it('a third write per pod misses the writes target', () => {
    const met = byTarget(result([kase({ system: 'eci-vn', mode: 'unlimited', apiserverCreateRequestsPerPodByKind: { 'patch-pods': 1, 'patch-pods-status': 1, 'create-events': 1 } })]));
    expect(met['unlimited: <= 2 apiserver writes per pod to Running']).toBe(false);
  });

  it('judges the 10,000-pod targets only at 10,000 pods, RSS above its bound already at fewer', () => {
    const tenK = { pods: 10_000, running: 10_000, failed: 0, latency: { count: 10_000 }, seconds: 100 };
    const met = byTarget(
      result([
        kase({ system: 'eci-vn', mode: 'unlimited', create: { ...tenK, endToEndSeconds: 130 }, rssPeakMiB: 280, restart: { podsPresent: 10_000, readySeconds: 2, convergenceSeconds: 25, converged: 10_000, createCalls: 0, cloudCalls: {} } }),
        kase({ system: 'kwok', mode: 'unlimited', create: { ...tenK, endToEndSeconds: 120 } }),
      ]),
    );
    expect(met["10000 pods: first Deployment -> last pod Running <= 1.1x kwok's time"]).toBe(true);
    expect(met['10000 pods: RSS <= 300 MiB']).toBe(true);
    expect(met['10000 pods: restart converged <= 30 s with 0 creates']).toBe(true);
    const small = byTarget(result([kase({ system: 'eci-vn', mode: 'unlimited', rssPeakMiB: 400 })]));
    expect(small['10000 pods: RSS <= 300 MiB']).toBe(false);
  });

  it('judges quota-true: time to 1000 Running, bucket use, Failed pods, Running - group created', () => {
    const met = byTarget(
      result([
        kase({
          system: 'eci-vn',
          mode: 'quota-true',
          create: { pods: 1000, running: 1000, failed: 0, latency: { count: 1000 }, seconds: 48, endToEndSeconds: 48 },
          quota: { creates: 1000, windowSeconds: 45, allowed: 1000, usedPct: 96, throttled: 0, runningAfterGroupCreated: { count: 1000, p99Ms: 2500 } },
        }),
      ]),
    );
    expect(met['quota-true: 1000 pods Running <= 50 s from the first Deployment']).toBe(true);
    expect(met['quota-true: >= 95% of the bucket used']).toBe(true);
    expect(met['quota-true: 0 Failed']).toBe(true);
    expect(met['quota-true: p99 of (Running - group created) <= 2 s']).toBe(false);
  });
});

describe('renderDetails, quota-true', () => {
  it('prints where (Running - group created) goes: its legs, and p99 per 10 s of group creation', () => {
    const details = renderDetails(
      result([
        kase({
          system: 'eci-vn',
          mode: 'quota-true',
          quota: {
            creates: 1000,
            windowSeconds: 45,
            allowed: 1000,
            usedPct: 100,
            throttled: 0,
            runningAfterGroupCreated: { count: 1000, p50Ms: 1170, p99Ms: 4005 },
            lagLegs: { answer: { count: 1000, p50Ms: 1, p99Ms: 115 }, seen: { count: 1000, p50Ms: 1119, p99Ms: 1400 }, written: { count: 1000, p50Ms: 20, p99Ms: 2655 } },
            lagP99By10s: [4066, 1372],
            legP99By10s: { seen: [1417, 1333], written: [2780, 43] },
          },
        }),
      ]),
    );
    expect(details).toContain('by leg: create answered p50 1 / p99 115 ms; provider saw Running p50 1119 / p99 1400 ms; status write seen p50 20 / p99 2655 ms');
    expect(details).toContain('p99 by 10 s of group creation: 4066, 1372 ms');
    expect(details).toContain('provider saw Running: 1417, 1333 ms; status write seen: 2780, 43 ms');
  });
});

describe('statusPatchLatency', () => {
  it("reads the apiserver's PATCH pods/status histogram between two scrapes", () => {
    const scrape = (counts: [string, number][]): string =>
      counts.map(([le, n]) => `apiserver_request_duration_seconds_bucket{component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PATCH",version="v1",le="${le}"} ${n}`).join('\n') +
      '\napiserver_request_duration_seconds_bucket{component="apiserver",resource="pods",scope="resource",subresource="",verb="PATCH",version="v1",le="+Inf"} 999\n';
    const before = statusPatchBuckets(scrape([['0.1', 10], ['1', 10], ['4', 10], ['+Inf', 10]]));
    const after = statusPatchBuckets(scrape([['0.1', 900], ['1', 980], ['4', 1005], ['+Inf', 1010]]));
    expect(statusPatchLatency(before, after)).toEqual({ count: 1000, p50AtMostSeconds: 0.1, p99AtMostSeconds: 4, overOneSecondPct: 3 });
    expect(statusPatchLatency(after, after)).toBeUndefined();
  });

  it("reads the provider's own status-write histogram the same way", () => {
    const scrape = (counts: [string, number][]): string =>
      '# TYPE eci_vn_pod_status_write_duration_seconds histogram\n' + counts.map(([le, n]) => `eci_vn_pod_status_write_duration_seconds_bucket{le="${le}"} ${n}`).join('\n') + '\neci_vn_pod_status_write_duration_seconds_count 40\n';
    const before = providerStatusWriteBuckets(scrape([['0.05', 0], ['0.25', 0], ['2.5', 0], ['+Inf', 0]]));
    const after = providerStatusWriteBuckets(scrape([['0.05', 30], ['0.25', 38], ['2.5', 40], ['+Inf', 40]]));
    expect(statusPatchLatency(before, after)).toEqual({ count: 40, p50AtMostSeconds: 0.05, p99AtMostSeconds: 2.5, overOneSecondPct: 5 });
  });
});

describe('stepBreakdown', () => {
  it("starts at the bench's own bound time, so the steps add up to bound->Running", () => {
    const steps = { bound: 1_300, createStarted: 1_500, created: 1_600, running: 1_700 };
    const out = stepBreakdown([{ uid: 'u', namespace: 'n', name: 'p', ready: true, phase: 'Running', boundAt: 1_000, runningAt: 1_750, steps }]);
    expect(Object.fromEntries(Object.entries(out ?? {}).map(([k, v]) => [k, v.p50Ms]))).toEqual({
      'bound -> provider saw it': 300,
      'provider saw it -> create began': 200,
      'create began -> answered': 100,
      'create answered -> Running written': 100,
      'Running written -> seen by the bench': 50,
    });
  });
});
