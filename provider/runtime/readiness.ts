// Readiness as named checks, aggregated like the apiserver's /readyz: ready only when every
// check passes; the body names each failing check and why, so `curl /readyz` explains itself.
// Liveness (/healthz) is separate and answers only "the process serves requests".

/** A check answers true, or a short reason it is not ready. It must be cheap and never throw. */
export type ReadyCheck = () => true | string;

export interface ReadinessReport {
  ready: boolean;
  failing: { name: string; reason: string }[];
  /** `[+]name ok` / `[-]name failed: reason` lines, then `readyz check passed|failed`. */
  text: string;
}

export function aggregateReadiness(checks: readonly { name: string; check: ReadyCheck }[]): ReadinessReport {
  const lines: string[] = [];
  const failing: ReadinessReport['failing'] = [];
  for (const { name, check } of checks) {
    let result: true | string;
    try {
      result = check();
    } catch (err) {
      result = `check threw: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (result === true) lines.push(`[+]${name} ok`);
    else {
      failing.push({ name, reason: result });
      lines.push(`[-]${name} failed: ${result}`);
    }
  }
  const ready = failing.length === 0;
  lines.push(ready ? 'readyz check passed' : 'readyz check failed');
  return { ready, failing, text: `${lines.join('\n')}\n` };
}

/** The process's checks, added by name as components register. */
export class Readiness {
  private readonly checks: { name: string; check: ReadyCheck }[] = [];

  add(name: string, check: ReadyCheck): void {
    if (this.checks.some((c) => c.name === name)) throw new Error(`readiness check ${name} is already registered`);
    this.checks.push({ name, check });
  }

  report(): ReadinessReport {
    return aggregateReadiness(this.checks);
  }
}
