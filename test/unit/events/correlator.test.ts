// The event correlator: repeats bump one Event's count (client-go's correlator), many messages of
// one reason are combined, a burst per object is allowed then writes are paced, caches are bounded.
import { describe, expect, it } from 'vitest';
import { COMBINED_PREFIX, EventCorrelator, type EventOccurrence, type EventWrite } from '../../../provider/events/correlator.ts';
import { EventReason, foreignReason, isEventReason } from '../../../provider/events/reasons.ts';

const pod = (name = 'web-0', uid = 'uid-1') => ({ apiVersion: 'v1', kind: 'Pod', namespace: 'team', name, uid });
const failed = (message = 'CreateContainerGroup: ServiceUnavailable', object = pod()): EventOccurrence => ({
  object,
  type: 'Warning',
  reason: EventReason.ProviderCreateFailed,
  message,
});

function clock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

const summary = (w: EventWrite) => (w.kind === 'drop' ? ['drop', w.count] : [w.kind, w.count, w.message]);

describe('EventCorrelator: the same event again', () => {
  it('creates once, then patches the same Event with count 2, 3 and the latest timestamp', () => {
    const c = clock();
    const correlator = new EventCorrelator({ now: c.now });
    const first = correlator.observe(failed());
    c.advance(1_000);
    const second = correlator.observe(failed());
    c.advance(1_000);
    const third = correlator.observe(failed());
    expect([first, second, third].map(summary)).toEqual([
      ['create', 1, 'CreateContainerGroup: ServiceUnavailable'],
      ['patch', 2, 'CreateContainerGroup: ServiceUnavailable'],
      ['patch', 3, 'CreateContainerGroup: ServiceUnavailable'],
    ]);
    if (first.kind === 'drop' || third.kind === 'drop') throw new Error('unexpected drop');
    expect(third.name).toBe(first.name);
    expect(third.firstTimestamp).toEqual(first.firstTimestamp);
    expect(third.lastTimestamp.getTime() - first.firstTimestamp.getTime()).toBe(2_000);
  });

  const distinct: [what: string, other: EventOccurrence][] = [
    ['another message', failed('CreateContainerGroup: InternalError')],
    ['another reason', { ...failed(), reason: EventReason.VSwitchExhausted }],
    ['another type', { ...failed(), type: 'Normal' }],
    ['another pod of the same name (new UID)', failed(undefined, pod('web-0', 'uid-2'))],
    ['another pod', failed(undefined, pod('web-1', 'uid-3'))],
  ];
  it.each(distinct)('%s is a new Event, not a repeat', (_, other) => {
    const correlator = new EventCorrelator({ now: clock().now });
    const first = correlator.observe(failed());
    const next = correlator.observe(other);
    expect(next.kind).toBe('create');
    if (first.kind !== 'drop' && next.kind !== 'drop') expect(next.name).not.toBe(first.name);
  });

  it('starts a new Event when the repeat comes after the window', () => {
    const c = clock();
    const correlator = new EventCorrelator({ now: c.now, windowMs: 60_000 });
    correlator.observe(failed());
    c.advance(60_001);
    expect(summary(correlator.observe(failed()))).toEqual(['create', 1, 'CreateContainerGroup: ServiceUnavailable']);
  });

  it('names Events <object>.<hex> and keeps the name a valid length for a long object name', () => {
    const correlator = new EventCorrelator({ now: clock().now });
    const w = correlator.observe(failed(undefined, pod('x'.repeat(253))));
    if (w.kind === 'drop') throw new Error('unexpected drop');
    expect(w.name.length).toBeLessThanOrEqual(253);
    expect(w.name).toMatch(/^x+\.[0-9a-f]+$/);
  });

  it('continues a series under a new name after a rename, with the running count', () => {
    const correlator = new EventCorrelator({ now: clock().now });
    const first = correlator.observe(failed());
    const renamed = correlator.renamed(first.key);
    const next = correlator.observe(failed());
    if (first.kind === 'drop' || next.kind === 'drop') throw new Error('unexpected drop');
    expect(renamed).not.toBe(first.name);
    expect(next).toMatchObject({ kind: 'patch', name: renamed, count: 2 });
  });
});

describe('EventCorrelator: similar events', () => {
  it('combines the 10th distinct message of one reason, and counts further ones on the combined Event', () => {
    const c = clock();
    const correlator = new EventCorrelator({ now: c.now });
    const writes = Array.from({ length: 12 }, (_, i) => {
      c.advance(1_000);
      return correlator.observe(failed(`zone out of stock (attempt ${i})`));
    });
    expect(writes.slice(0, 9).map((w) => w.kind)).toEqual(Array(9).fill('create'));
    expect(writes.slice(9).map(summary)).toEqual([
      ['create', 1, `${COMBINED_PREFIX}zone out of stock (attempt 9)`],
      ['patch', 2, `${COMBINED_PREFIX}zone out of stock (attempt 10)`],
      ['patch', 3, `${COMBINED_PREFIX}zone out of stock (attempt 11)`],
    ]);
  });

  it('does not combine messages spread wider than the aggregation window', () => {
    const c = clock();
    const correlator = new EventCorrelator({ now: c.now, aggregateWindowMs: 10_000, spamBurst: 100 });
    const kinds = Array.from({ length: 12 }, (_, i) => {
      c.advance(11_000);
      const w = correlator.observe(failed(`message ${i}`));
      return w.kind === 'drop' ? 'drop' : w.message.startsWith(COMBINED_PREFIX) ? 'combined' : w.kind;
    });
    expect(kinds).toEqual(Array(12).fill('create'));
  });
});

describe('EventCorrelator: pacing per object', () => {
  it('allows a burst, then one write per refill interval; a dropped repeat still counts', () => {
    const c = clock();
    const correlator = new EventCorrelator({ now: c.now, spamBurst: 3, spamRefillMs: 60_000 });
    const burst = [1, 2, 3, 4].map(() => correlator.observe(failed()));
    expect(burst.map(summary)).toEqual([
      ['create', 1, 'CreateContainerGroup: ServiceUnavailable'],
      ['patch', 2, 'CreateContainerGroup: ServiceUnavailable'],
      ['patch', 3, 'CreateContainerGroup: ServiceUnavailable'],
      ['drop', 4],
    ]);
    // Another pod has its own bucket.
    expect(correlator.observe(failed(undefined, pod('other', 'uid-9'))).kind).toBe('create');
    c.advance(60_000);
    expect(summary(correlator.observe(failed()))).toEqual(['patch', 5, 'CreateContainerGroup: ServiceUnavailable']);
    expect(correlator.observe(failed()).kind).toBe('drop');
  });
});

describe('EventCorrelator: memory', () => {
  it('keeps at most maxEntries per cache, evicting the least recently used', () => {
    const correlator = new EventCorrelator({ now: clock().now, maxEntries: 50, spamBurst: 1000 });
    const keep = failed(undefined, pod('keep', 'uid-keep'));
    correlator.observe(keep);
    for (let i = 0; i < 500; i++) {
      correlator.observe(failed(undefined, pod(`p${i}`, `u${i}`)));
      if (i % 10 === 0) correlator.observe(keep); // recently used: stays
    }
    expect(correlator.size).toEqual({ series: 50, similar: 50, buckets: 50 });
    expect(correlator.observe(keep).kind).toBe('patch');
    expect(correlator.observe(failed(undefined, pod('p0', 'u0'))).kind).toBe('create');
  });
});

describe('event reasons', () => {
  it('turns any code into a valid reason, and knows the table', () => {
    expect(foreignReason('Zone.NotOnSale')).toBe('ZoneNotOnSale');
    expect(foreignReason('4xx')).toBe('Error4xx');
    expect(isEventReason('OptionalConfigMapKeyNotFound')).toBe(true);
    expect(isEventReason('ConfigMapNotFound')).toBe(false);
  });

  it('spells every reason as its own key (grep finds the constant and the value alike)', () => {
    for (const [key, value] of Object.entries(EventReason)) expect(value).toBe(key);
  });
});
