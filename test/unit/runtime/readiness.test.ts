import { describe, expect, it } from 'vitest';
import { aggregateReadiness, Readiness } from '../../../provider/runtime/readiness.ts';

describe('aggregateReadiness', () => {
  it('is ready only when every check passes, and names the failing ones', () => {
    const report = aggregateReadiness([
      { name: 'informer-namespaces', check: () => true },
      { name: 'informer-podnetworkings', check: () => 'the PodNetworking cache has not synced' },
      { name: 'leader-pod-controller', check: () => 'pods not synced' },
    ]);
    expect(report.ready).toBe(false);
    expect(report.failing.map((f) => f.name)).toEqual(['informer-podnetworkings', 'leader-pod-controller']);
    expect(report.text).toBe(
      '[+]informer-namespaces ok\n[-]informer-podnetworkings failed: the PodNetworking cache has not synced\n[-]leader-pod-controller failed: pods not synced\nreadyz check failed\n',
    );
  });

  it('passes with all checks good (and with none)', () => {
    expect(aggregateReadiness([{ name: 'a', check: () => true }])).toEqual({ ready: true, failing: [], text: '[+]a ok\nreadyz check passed\n' });
    expect(aggregateReadiness([]).ready).toBe(true);
  });

  it('counts a check that throws as failing', () => {
    const report = aggregateReadiness([{ name: 'broken', check: () => { throw new Error('boom'); } }]);
    expect(report.failing).toEqual([{ name: 'broken', reason: 'check threw: boom' }]);
  });

  it('refuses a second check with the same name', () => {
    const r = new Readiness();
    r.add('x', () => true);
    expect(() => r.add('x', () => true)).toThrow(/already registered/);
  });
});
