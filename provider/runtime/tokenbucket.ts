// client-go's client-side limiter (flowcontrol.NewTokenBucketRateLimiter): `burst` tokens, refilled
// at `qps` per second; take() waits for a token. Each take reserves its token at once (the count
// may go negative), so waits grow with the queue and callers go in arrival order. A wait can be
// cancelled: its token goes back, so a later caller does not wait for a token nobody used.
import { systemClock, type Clock } from './clock.ts';

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;

  constructor(o: { qps: number; burst: number; clock?: Clock }) {
    if (!(o.qps > 0)) throw new Error(`qps must be positive, got ${o.qps}`);
    this.qps = o.qps;
    this.burst = Math.max(1, Math.floor(o.burst));
    this.clock = o.clock ?? systemClock;
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  /** How long a take() now would wait, in ms (0 when a token is there). */
  private reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  /**
   * Resolves true when the caller may send one request; false, at once, when `signal` aborts
   * first (the caller must then not send: its token is given back).
   */
  async take(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    const wait = this.reserve();
    if (wait === 0) return true;
    await this.clock.sleep(wait, signal);
    if (signal?.aborted !== true) return true;
    this.tokens = Math.min(this.burst, this.tokens + 1);
    return false;
  }
}
