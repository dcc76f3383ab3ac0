// Fault injection, from the world file's `faults` and replaceable at run time through the admin
// API: per-action error rate and code, added latency, zones out of stock, and groups that fail or
// expire after a delay. Randomness is a seeded PRNG, so a test run is reproducible.

import { SimError } from './errors.ts';
import type { FaultConfig, GroupFault } from './world.ts';

/** mulberry32: small, fast, good enough for fault dice (and the chaos suite's). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultDecision {
  latencyMs: number;
  error?: SimError;
}

export class Faults {
  private config: FaultConfig;
  private random: () => number;
  private outOfStock: Set<string>;
  private patterns: { fault: GroupFault; re?: RegExp }[];

  constructor(config: FaultConfig) {
    this.config = config;
    this.random = seededRandom(config.seed);
    this.outOfStock = new Set(config.zonesOutOfStock);
    this.patterns = this.compile();
  }

  get current(): FaultConfig {
    return this.config;
  }

  set(config: FaultConfig): void {
    this.config = config;
    this.random = seededRandom(config.seed);
    this.outOfStock = new Set(config.zonesOutOfStock);
    this.patterns = this.compile();
  }

  private compile(): { fault: GroupFault; re?: RegExp }[] {
    return this.config.groups.map((fault) => (fault.namePattern === undefined ? { fault } : { fault, re: new RegExp(fault.namePattern) }));
  }

  /** Whether `action` should fail now, and how long to wait before answering. */
  decide(action: string): FaultDecision {
    const out: FaultDecision = { latencyMs: 0 };
    if (this.config.rules.length === 0) return out;
    for (const rule of this.config.rules) {
      if (rule.action !== '*' && rule.action !== action) continue;
      out.latencyMs = Math.max(out.latencyMs, rule.latencyMs);
      if (out.error !== undefined || rule.rate <= 0 || rule.times === 0) continue;
      if (rule.rate >= 1 || this.random() < rule.rate) {
        if (rule.times !== undefined) rule.times--;
        out.error = new SimError(rule.code, rule.status, rule.message);
      }
    }
    return out;
  }

  zoneOutOfStock(zoneId: string): boolean {
    return this.outOfStock.has(zoneId);
  }

  /** A random number in [0, 1) from the seeded generator (VSwitchRandom). */
  next(): number {
    return this.random();
  }

  /** The first group fault that matches a new group. */
  groupFault(name: string, tags: readonly { key: string; value: string }[]): GroupFault | undefined {
    for (const { fault, re } of this.patterns) {
      if (re !== undefined && !re.test(name)) continue;
      if (fault.tag !== undefined && !tags.some((t) => t.key === fault.tag!.key && t.value === fault.tag!.value)) continue;
      return fault;
    }
    return undefined;
  }
}
