// RPC-style parameters as the official SDKs send them: a flat map of `Container.1.Port.2.Port`
// style keys (lists are 1-based) with string values; some parameters are JSON strings
// (`ContainerGroupIds`, `Command`). `Params` reads them typed, and every error names the parameter
// the way the caller wrote it.

import { invalid, missing } from '../errors.ts';

/** Splits a raw query or form string into a flat map (last value wins for a repeated key). */
export function parseQueryString(raw: string, into: Map<string, string> = new Map()): Map<string, string> {
  if (raw.length === 0) return into;
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf('&', start);
    if (end === -1) end = raw.length;
    if (end > start) {
      const part = raw.slice(start, end);
      const eq = part.indexOf('=');
      const key = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? '' : part.slice(eq + 1);
      into.set(decode(key), decode(value));
    }
    start = end + 1;
  }
  return into;
}

function decode(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export type Nested = string | Nested[] | { [key: string]: Nested };

/**
 * Turns flat keys into nested objects and lists: `Container.1.Port.2.Port=80` becomes
 * `{ Container: [{ Port: [undefined, { Port: '80' }] }] }` with holes compacted. A key that is
 * both a value and a parent (`Tag=1` and `Tag.1.Key=k`) is an InvalidParameter.
 */
export function unflatten(flat: Iterable<[string, string]>): Record<string, Nested> {
  const root: Record<string, Nested> = {};
  const sparse = new Set<Nested[]>();
  for (const [key, value] of flat) {
    const parts = key.split('.');
    let node: Record<string, Nested> | Nested[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = i === parts.length - 1;
      const index = isIndex(part) ? Number(part) - 1 : -1;
      if (Array.isArray(node)) {
        if (index < 0) throw invalid(key, 'expected a 1-based list index');
        if (last) {
          node[index] = value;
        } else {
          node[index] ??= isIndex(parts[i + 1]!) ? [] : {};
          const child: Nested = node[index];
          if (typeof child === 'string') throw invalid(key, 'is both a value and a list');
          if (Array.isArray(child)) sparse.add(child);
          node = child;
        }
        continue;
      }
      if (index >= 0 && i === 0) throw invalid(key);
      if (last) {
        if (node[part] !== undefined && typeof node[part] !== 'string') throw invalid(key, 'is both a value and a list');
        node[part] = value;
      } else {
        const existing: Nested | undefined = node[part];
        if (typeof existing === 'string') throw invalid(key, 'is both a value and a list');
        const child: Nested = existing ?? (isIndex(parts[i + 1]!) ? [] : {});
        node[part] = child;
        if (Array.isArray(child)) sparse.add(child);
        node = child;
      }
    }
  }
  for (const list of sparse) compact(list);
  return root;
}

function compact(list: Nested[]): void {
  let w = 0;
  for (let r = 0; r < list.length; r++) if (list[r] !== undefined) list[w++] = list[r]!;
  list.length = w;
}

function isIndex(part: string): boolean {
  if (part.length === 0 || part.length > 4) return false;
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return part !== '0' && part[0] !== '0';
}

/** Typed reads over a nested parameter object; `path` is the flat name used in error messages. */
export class Params {
  readonly data: Record<string, Nested>;
  readonly path: string;

  constructor(data: Record<string, Nested>, path = '') {
    this.data = data;
    this.path = path;
  }

  name(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return this.data[key] !== undefined;
  }

  str(key: string): string | undefined {
    const v = this.data[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalid(this.name(key), 'expected a single value');
    return v;
  }

  reqStr(key: string): string {
    const v = this.str(key);
    if (v === undefined || v === '') throw missing(this.name(key));
    return v;
  }

  num(key: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
    const raw = this.str(key);
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw invalid(this.name(key), `"${raw}" is not a number`);
    if (opts.integer === true && !Number.isInteger(n)) throw invalid(this.name(key), `"${raw}" is not an integer`);
    if (opts.min !== undefined && n < opts.min) throw invalid(this.name(key), `must be at least ${opts.min}`);
    if (opts.max !== undefined && n > opts.max) throw invalid(this.name(key), `must be at most ${opts.max}`);
    return n;
  }

  int(key: string, opts: { min?: number; max?: number } = {}): number | undefined {
    return this.num(key, { ...opts, integer: true });
  }

  bool(key: string): boolean | undefined {
    const raw = this.str(key);
    if (raw === undefined || raw === '') return undefined;
    // Every form the official SDKs send: `true` (TypeScript, Go), `True` (Python's str(bool)),
    // and a JSON-quoted `"true"`.
    const word = raw.replace(/^"(.*)"$/, '$1').toLowerCase();
    if (word === 'true') return true;
    if (word === 'false') return false;
    throw invalid(this.name(key), `"${raw}" is not true or false`);
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const raw = this.str(key);
    if (raw === undefined || raw === '') return undefined;
    if (!(values as readonly string[]).includes(raw)) throw invalid(this.name(key), `"${raw}" is not one of ${values.join(', ')}`);
    return raw as T;
  }

  /** A list of objects (`Container.N.*`). */
  list(key: string, max?: number): Params[] {
    const v = this.data[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw invalid(this.name(key), 'expected a list (Name.1, Name.2, ...)');
    if (max !== undefined && v.length > max) throw invalid(this.name(key), `at most ${max} items are allowed`);
    return v.map((item, i) => {
      if (typeof item === 'string' || Array.isArray(item)) throw invalid(`${this.name(key)}.${i + 1}`, 'expected an object');
      return new Params(item, `${this.name(key)}.${i + 1}`);
    });
  }

  /** A list of strings (`Container.N.Command.M`). */
  strings(key: string, max?: number): string[] {
    const v = this.data[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw invalid(this.name(key), 'expected a list (Name.1, Name.2, ...)');
    if (max !== undefined && v.length > max) throw invalid(this.name(key), `at most ${max} items are allowed`);
    return v.map((item, i) => {
      if (typeof item !== 'string') throw invalid(`${this.name(key)}.${i + 1}`, 'expected a value');
      return item;
    });
  }

  /** A nested object (`Container.N.ReadinessProbe.*`). */
  obj(key: string): Params | undefined {
    const v = this.data[key];
    if (v === undefined) return undefined;
    if (typeof v === 'string' || Array.isArray(v)) throw invalid(this.name(key), 'expected an object');
    return new Params(v, this.name(key));
  }

  /** A JSON-string array of strings (`ContainerGroupIds='["eci-1","eci-2"]'`). */
  jsonStrings(key: string, max?: number): string[] | undefined {
    const raw = this.str(key);
    if (raw === undefined || raw === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw invalid(this.name(key), 'expected a JSON array of strings');
    }
    if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) {
      throw invalid(this.name(key), 'expected a JSON array of strings');
    }
    if (max !== undefined && parsed.length > max) throw invalid(this.name(key), `at most ${max} items are allowed`);
    return parsed;
  }

  /** Any plain JS view of a nested value, for storing opaque specs (volumes, probes). */
  raw(key: string): Nested | undefined {
    return this.data[key];
  }
}
