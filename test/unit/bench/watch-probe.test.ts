import { describe, expect, it } from 'vitest';
import { probeBy10s, terminatedWatchers, unresponsiveWatchers } from '../../bench/measure.ts';

describe('watch probe legs per 10 s', () => {
  it('times each write from request to answer and from answer to the watch, by when it was sent', () => {
    const from = 1_000_000;
    const legs = probeBy10s(
      [
        { sentAt: from - 500, answeredAt: from - 400, seenAt: from }, // before the first group: left out
        { sentAt: from + 1_000, answeredAt: from + 1_300, seenAt: from + 3_300 },
        { sentAt: from + 9_000, answeredAt: from + 9_100, seenAt: from + 9_600 },
        { sentAt: from + 12_000, answeredAt: from + 12_050, seenAt: from + 12_060 },
        { sentAt: from + 13_000, answeredAt: from + 13_050 }, // never seen
      ],
      [
        [from + 2_000, 40],
        [from + 5_000, 90.4],
        [from + 15_000, 12],
      ],
      from,
    );
    expect(legs.answered).toEqual([300, 50]);
    expect(legs.seen).toEqual([2_000, 10]);
    // The first 10 s by 2 s: the write sent at 1 s, then the one at 9 s; windows without a write
    // are undefined (printed '-'), not 0, which would read as the best figure.
    expect(legs.seenFirst10sBy2s).toEqual([2_000, undefined, undefined, undefined, 500]);
    expect(legs.lost).toBe(1);
    expect(legs.benchLoopMaxMs).toEqual([90, 12]);
  });
});

describe("kube-apiserver's closed watchers", () => {
  it('reads both forms of the log line by watcher, and the incoming channel\'s peak by resource', () => {
    const log = [
      'I1206 18:44:30.1 cache_watcher.go:203] Forcing pods watcher close due to unresponsiveness: key: "/pods/", labels: "", fields: "". len(c.input) = 10, len(c.result) = 10, graceful = false',
      'I1206 18:44:30.2 cache_watcher.go:203] Forcing pods watcher close due to unresponsiveness (reason = unresponsive): key: "/pods/", labels: "", fields: "spec.nodeName=vn-a". len(c.input) = 10, len(c.result) = 10, graceful = false',
      'I1206 18:44:30.3 cache_watcher.go:203] Forcing pods watcher close due to unresponsiveness: key: "/pods/", labels: "", fields: "". len(c.input) = 10, len(c.result) = 3, graceful = false',
      // Logged at each new high: 99 then 100 is one backlog that peaked at 100, not two full channels.
      'I1206 18:44:30.35 cacher.go:855] cacher (pods): 99 objects queued in incoming channel.',
      'I1206 18:44:30.4 cacher.go:855] cacher (pods): 100 objects queued in incoming channel.',
      'I1206 18:44:30.45 cacher.go:855] cacher (replicasets.apps): 6 objects queued in incoming channel.',
      'I1206 18:44:30.5 httplog.go:1] "HTTP" verb="WATCH" URI="/api/v1/pods"',
    ].join('\n');
    expect(unresponsiveWatchers(log)).toEqual({
      closed: {
        'pods key: "/pods/", labels: "", fields: ""': 2,
        'pods key: "/pods/", labels: "", fields: "spec.nodeName=vn-a"': 1,
      },
      incomingPeak: { pods: 100, 'replicasets.apps': 6 },
    });
    expect(unresponsiveWatchers('nothing to see')).toEqual({ closed: {}, incomingPeak: {} });
  });

  it('sums apiserver_terminated_watchers_total over resources', () => {
    const metrics = ['# TYPE apiserver_terminated_watchers_total counter', 'apiserver_terminated_watchers_total{resource="pods"} 7', 'apiserver_terminated_watchers_total{resource="replicasets.apps"} 2', 'apiserver_watch_events_total{resource="pods"} 100'].join('\n');
    expect(terminatedWatchers(metrics)).toBe(9);
  });
});
