// One copy of each string value the caches hold many times. JSON.parse makes a new string for
// every value it reads: 10,000 cached pods hold 10,000 copies of their node's name, namespace,
// image, owner, zone, vSwitch, condition types and timestamps of the same second, and each
// described group as many of its events' reasons, messages and times. Swapping each for the
// first copy seen changes no value (strings are immutable), only how many the heap keeps
// (docs/benchmark.md, "Retained memory, fourth session").

/** Longer strings are rarely shared (a status message, a last-applied copy): kept as they are. */
const MAX_INTERNED_LENGTH = 256;

/**
 * A bounded table of canonical strings. Full, it starts over: strings only the table still held
 * go, and the shared ones come back with the next objects (one more copy each per reset).
 */
export class StringInterner {
  private readonly table = new Map<string, string>();
  private readonly maxEntries: number;

  constructor(o: { maxEntries?: number } = {}) {
    this.maxEntries = o.maxEntries ?? 20_000;
  }

  get size(): number {
    return this.table.size;
  }

  intern(value: string): string {
    if (value.length > MAX_INTERNED_LENGTH) return value;
    const known = this.table.get(value);
    if (known !== undefined) return known;
    if (this.table.size >= this.maxEntries) this.table.clear();
    this.table.set(value, value);
    return value;
  }

  /**
   * Interns every string value of `obj` (plain objects and arrays, in place), except the values
   * of the keys in `unique` (e.g. a uid: never shared, it would only churn the table). Returns `obj`.
   */
  internAll<T>(obj: T, unique: ReadonlySet<string> = NONE): T {
    this.walk(obj, unique, 0);
    return obj;
  }

  private walk(node: unknown, unique: ReadonlySet<string>, depth: number): void {
    if (depth > 32 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'string') node[i] = this.intern(v);
        else this.walk(v, unique, depth + 1);
      }
      return;
    }
    // Plain data and client-node's model instances (a typed list's items); not a Date or a buffer.
    if (node instanceof Date || ArrayBuffer.isView(node) || node instanceof Map || node instanceof Set) return;
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const v = record[key];
      if (typeof v === 'string') {
        if (!unique.has(key)) record[key] = this.intern(v);
      } else this.walk(v, unique, depth + 1);
    }
  }
}

const NONE: ReadonlySet<string> = new Set();

/** The process's table: the pod caches and the group index share values (zones, vSwitches, names). */
export const sharedStrings = new StringInterner();
