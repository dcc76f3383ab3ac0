// client-go's client-side limiter (flowcontrol.NewTokenBucketRateLimiter): `burst` tokens, refilled
// at `qps` per second; take() waits for a token. Each take reserves its token at once (the count
// may go negative), so waits grow with the queue and callers go in arrival order.
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

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    const wait = this.reserve();
    if (wait === 0) return Promise.resolve();
    return this.clock.sleep(wait);
  }
}
