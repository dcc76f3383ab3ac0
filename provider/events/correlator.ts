// What to write for an event, like client-go's correlator (tools/record/events_cache.go), as a
// pure object with an injected clock:
// - the same (object, type, reason, message) again within the window bumps `count` and
//   `lastTimestamp` of the Event already written (a patch), instead of a new Event or nothing;
// - more than `aggregateMaxMessages` different messages for one (object, type, reason) within
//   `aggregateWindowMs` become one Event "(combined from similar events): <latest message>";
// - a token bucket per object bounds the writes (a burst, then one per refill interval); a
//   dropped write still counts, so the next one carries the true count.
// Every map is a bounded LRU, so a long-running process never grows with the pods it has seen.
import type { AnyEventReason } from './reasons.ts';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  /** Empty for a cluster-scoped object. */
  namespace: string;
  name: string;
  uid: string;
}

export interface EventOccurrence {
  object: InvolvedObject;
  type: 'Normal' | 'Warning';
  reason: AnyEventReason;
  message: string;
}

/** The Event to write: a new one (`create`) or the existing one's new count (`patch`). */
export type EventWrite =
  | { kind: 'create' | 'patch'; key: string; name: string; message: string; count: number; firstTimestamp: Date; lastTimestamp: Date }
  | { kind: 'drop'; key: string; count: number };

export interface CorrelatorOptions {
  now: () => Date;
  /** Entries kept per cache (client-go: 4096). */
  maxEntries?: number;
  /** A repeat later than this after the previous one starts a new Event (default 1 h, the apiserver's event TTL). */
  windowMs?: number;
  /** Distinct messages per (object, type, reason) before they are combined (client-go: 10). */
  aggregateMaxMessages?: number;
  aggregateWindowMs?: number;
  /** Writes allowed at once per object, then one per `spamRefillMs` (client-go: 25, 5 min). */
  spamBurst?: number;
  spamRefillMs?: number;
  /** Longest message written (the API accepts 1 KiB in practice for `kubectl describe`). */
  maxMessageLength?: number;
}

export const COMBINED_PREFIX = '(combined from similar events): ';

/** A Map used as an LRU: reads move an entry to the end, writes evict from the front. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value);
    }
  }
  delete(key: K): void {
    this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
}

interface Series {
  name: string;
  count: number;
  firstTimestamp: Date;
  lastTimestamp: Date;
}

const SEP = '\u0000';
const objectKey = (o: InvolvedObject): string => [o.apiVersion, o.kind, o.namespace, o.name, o.uid].join(SEP);

/** Longest Event name (a DNS subdomain). */
const MAX_NAME = 253;

export class EventCorrelator {
  private readonly o: Required<CorrelatorOptions>;
  private readonly series: Lru<string, Series>;
  private readonly similar: Lru<string, { messages: Set<string>; last: number }>;
  private readonly buckets: Lru<string, { tokens: number; at: number }>;
  private sequence = 0;

  constructor(options: CorrelatorOptions) {
    this.o = {
      maxEntries: 4096,
      windowMs: 60 * 60_000,
      aggregateMaxMessages: 10,
      aggregateWindowMs: 10 * 60_000,
      spamBurst: 25,
      spamRefillMs: 5 * 60_000,
      maxMessageLength: 1024,
      ...options,
    };
    this.series = new Lru(this.o.maxEntries);
    this.similar = new Lru(this.o.maxEntries);
    this.buckets = new Lru(this.o.maxEntries);
  }

  /** Decides the write for one occurrence and remembers it. */
  observe(e: EventOccurrence): EventWrite {
    const now = this.o.now();
    const { key, message } = this.aggregate(e, now.getTime());
    const previous = this.series.get(key);
    const fresh = previous === undefined || now.getTime() - previous.lastTimestamp.getTime() > this.o.windowMs;
    const series: Series = fresh
      ? { name: this.eventName(e.object.name, now), count: 1, firstTimestamp: now, lastTimestamp: now }
      : { ...previous, count: previous.count + 1, lastTimestamp: now };
    this.series.set(key, series);
    if (!this.takeToken(objectKey(e.object), now.getTime())) return { kind: 'drop', key, count: series.count };
    return { kind: fresh ? 'create' : 'patch', key, name: series.name, message: message.slice(0, this.o.maxMessageLength), count: series.count, firstTimestamp: series.firstTimestamp, lastTimestamp: series.lastTimestamp };
  }

  /**
   * The create the last `observe` asked for was refused as a duplicate name, or the patch found
   * the Event gone (expired): the series continues under a new name.
   */
  renamed(key: string): string | undefined {
    const series = this.series.get(key);
    if (series === undefined) return undefined;
    series.name = this.eventName(series.name.slice(0, series.name.lastIndexOf('.')), this.o.now());
    return series.name;
  }

  /** A write failed for good (not a missing Event): the next occurrence starts over. */
  forget(key: string): void {
    this.series.delete(key);
  }

  /** Entries held, for tests of the bound. */
  get size(): { series: number; similar: number; buckets: number } {
    return { series: this.series.size, similar: this.similar.size, buckets: this.buckets.size };
  }

  private aggregate(e: EventOccurrence, nowMs: number): { key: string; message: string } {
    const aggregateKey = [objectKey(e.object), e.type, e.reason].join(SEP);
    const exactKey = `${aggregateKey}${SEP}${e.message}`;
    let record = this.similar.get(aggregateKey);
    if (record === undefined || nowMs - record.last > this.o.aggregateWindowMs) record = { messages: new Set(), last: nowMs };
    record.last = nowMs;
    record.messages.add(e.message);
    this.similar.set(aggregateKey, record);
    if (record.messages.size < this.o.aggregateMaxMessages) return { key: exactKey, message: e.message };
    // Combined from now on: keep the set bounded (one message out), count on the combined Event.
    record.messages.delete(record.messages.values().next().value ?? '');
    return { key: aggregateKey, message: `${COMBINED_PREFIX}${e.message}` };
  }

  private takeToken(key: string, nowMs: number): boolean {
    const bucket = this.buckets.get(key) ?? { tokens: this.o.spamBurst, at: nowMs };
    bucket.tokens = Math.min(this.o.spamBurst, bucket.tokens + (nowMs - bucket.at) / this.o.spamRefillMs);
    bucket.at = nowMs;
    const ok = bucket.tokens >= 1;
    if (ok) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return ok;
  }

  /** client-go's shape, `<object>.<hex time>`, unique within this process by a sequence. */
  private eventName(objectName: string, now: Date): string {
    this.sequence = (this.sequence + 1) % 0x10000;
    const suffix = `${now.getTime().toString(16)}${this.sequence.toString(16).padStart(4, '0')}`;
    return `${objectName.slice(0, MAX_NAME - suffix.length - 1)}.${suffix}`;
  }
}
