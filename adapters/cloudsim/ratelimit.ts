// Per-action token buckets for the whole account (as ECI limits per account and region).
// `quota-true` enforces them; `unlimited` lets everything through (benchmarks of the provider).
// Over the limit the call answers the configured throttle code (default `Throttling.User`, 400).

import { SimError, errorStatus } from './errors.ts';
import { documentedPerMinute } from './realism.ts';
import { defaultBuckets } from './world.ts';
import type { BucketConfig, RateLimitConfig, RateLimitMode, ThrottleCode } from './world.ts';

interface Bucket {
  cfg: BucketConfig;
  tokens: number;
  at: number;
}

const messages: Record<ThrottleCode, string> = {
  'Throttling.User': 'Request was denied due to user flow control.',
  'Throttling.Api': 'Request was denied due to api flow control.',
  Throttling: 'Request was denied due to request throttling.',
  'Degrade.Api': 'The request was denied due to API flow control. The system has been downgraded.',
};

export interface RateLimitSnapshot {
  mode: RateLimitMode;
  throttleCode: ThrottleCode;
  buckets: Record<string, { burst: number; perSecond: number; tokens: number }>;
}

export class RateLimiter {
  private config: RateLimitConfig;
  private readonly buckets = new Map<string, Bucket>();
  /** Realism `rateWindows`: fixed windows of this length instead of buckets (undefined = buckets). */
  private windowMs: number | undefined;
  private readonly windows = new Map<string, { start: number; used: number }>();

  constructor(config: RateLimitConfig, windowMs?: number) {
    this.config = config;
    this.windowMs = windowMs;
  }

  /**
   * The budget of one window: the world's own per-minute figure for the action when it sets one,
   * else ECI's documented per-minute limit, else the default bucket's per-minute rate.
   */
  private windowBudget(action: string): number {
    const own = this.config.actions[action];
    if (own !== undefined) return Math.max(1, Math.round(own.perSecond * 60));
    return documentedPerMinute[action] ?? Math.max(1, Math.round(this.bucketConfig(action).perSecond * 60));
  }

  private takeWindow(action: string, now: number, windowMs: number): void {
    let w = this.windows.get(action);
    if (w === undefined || now - w.start >= windowMs) {
      w = { start: now - ((now - (w?.start ?? now)) % windowMs), used: 0 };
      this.windows.set(action, w);
    }
    if (w.used >= this.windowBudget(action)) {
      const code = this.config.throttleCode;
      throw new SimError(code, errorStatus[code], messages[code], { 'x-acs-retry-after': String(Math.max(1, w.start + windowMs - now)) });
    }
    w.used++;
  }

  get mode(): RateLimitMode {
    return this.config.mode;
  }

  /** Changes mode, code or buckets; changed buckets start full. */
  configure(patch: Partial<RateLimitConfig>): void {
    this.config = { ...this.config, ...patch, actions: { ...this.config.actions, ...patch.actions } };
    for (const action of Object.keys(patch.actions ?? {})) {
      this.buckets.delete(action);
      this.windows.delete(action);
    }
    if (patch.mode !== undefined) {
      this.buckets.clear();
      this.windows.clear();
    }
  }

  private bucketConfig(action: string): BucketConfig {
    return this.config.actions[action] ?? defaultBuckets[action] ?? this.config.actions['*'] ?? defaultBuckets['*']!;
  }

  /** Takes a token for `action` or throws the throttle error. */
  take(action: string, now: number): void {
    if (this.config.mode === 'unlimited') return;
    if (this.windowMs !== undefined) return this.takeWindow(action, now, this.windowMs);
    let b = this.buckets.get(action);
    if (b === undefined) {
      const cfg = this.bucketConfig(action);
      b = { cfg, tokens: cfg.burst, at: now };
      this.buckets.set(action, b);
    } else if (now > b.at) {
      b.tokens = Math.min(b.cfg.burst, b.tokens + ((now - b.at) / 1000) * b.cfg.perSecond);
      b.at = now;
    }
    if (b.tokens < 1) {
      const code = this.config.throttleCode;
      // The SDKs (openapi-core) read x-acs-retry-after (ms) into ThrottlingError.retryAfter.
      const waitMs = b.cfg.perSecond > 0 ? Math.ceil(((1 - b.tokens) / b.cfg.perSecond) * 1000) : 60_000;
      throw new SimError(code, errorStatus[code], messages[code], { 'x-acs-retry-after': String(waitMs) });
    }
    b.tokens -= 1;
  }

  snapshot(now: number): RateLimitSnapshot {
    const buckets: RateLimitSnapshot['buckets'] = {};
    for (const action of new Set([...Object.keys(defaultBuckets), ...Object.keys(this.config.actions)])) {
      const cfg = this.bucketConfig(action);
      const b = this.buckets.get(action);
      const tokens = b === undefined ? cfg.burst : Math.min(cfg.burst, b.tokens + ((now - b.at) / 1000) * cfg.perSecond);
      buckets[action] = { burst: cfg.burst, perSecond: cfg.perSecond, tokens: Math.floor(tokens * 100) / 100 };
    }
    return { mode: this.config.mode, throttleCode: this.config.throttleCode, buckets };
  }
}
