// The one backoff rule of the process: capped exponential, with jitter on the upper half so many
// keys (pods, informers, loops) that failed together do not retry together.

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** 0: exact delays; 0.5 (default): uniformly in [delay/2, delay]. */
  jitter?: number;
}

/** Delay before retry number `attempt` (1 = the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.5));
  return Math.round(exp * (1 - jitter) + exp * jitter * random());
}

/** A backoff that remembers its attempts: `next()` after a failure, `reset()` after a success. */
export class Backoff {
  private attempts = 0;
  private readonly policy: BackoffPolicy;
  private readonly random: () => number;

  constructor(options: { policy: BackoffPolicy; random?: () => number }) {
    this.policy = options.policy;
    this.random = options.random ?? Math.random;
  }

  /** Counts a failure and returns how long to wait before the next try. */
  next(): number {
    this.attempts++;
    return backoffDelay(this.attempts, this.policy, this.random);
  }

  reset(): void {
    this.attempts = 0;
  }

  get failures(): number {
    return this.attempts;
  }
}
