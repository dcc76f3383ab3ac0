// What a scenario reports: figures (printed, and written to the JSON summary), failed
// invariants (each one line saying what was expected and what was seen), notes; and the capture
// of every output of the run that the secret scan reads.

export type Figure = number | string | boolean | Record<string, number | string>;

export interface ScenarioResult {
  name: string;
  /** One line: what was done, at what size. */
  summary: string;
  figures: Record<string, Figure>;
  failures: string[];
  notes: string[];
  durationMs: number;
}

export class Scenario {
  readonly figures: Record<string, Figure> = {};
  readonly failures: string[] = [];
  readonly notes: string[] = [];
  summary = '';
  private readonly started = Date.now();
  readonly name: string;
  private readonly log: (line: string) => void;

  constructor(name: string, log: (line: string) => void) {
    this.name = name;
    this.log = log;
  }

  /** An invariant: `ok` false records the failure (the scenario carries on and reports all). */
  check(ok: boolean, what: string): boolean {
    if (!ok) {
      this.failures.push(what);
      this.log(`  FAIL ${what}`);
    }
    return ok;
  }

  figure(key: string, value: Figure): void {
    this.figures[key] = value;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  progress(text: string): void {
    this.log(`  [${this.name} +${((Date.now() - this.started) / 1000).toFixed(0)}s] ${text}`);
  }

  result(): ScenarioResult {
    return { name: this.name, summary: this.summary, figures: this.figures, failures: this.failures, notes: this.notes, durationMs: Date.now() - this.started };
  }
}

/** Runs a scenario body; an exception is a failure of that scenario, not the end of the suite. */
export async function runScenario(name: string, log: (line: string) => void, body: (s: Scenario) => Promise<void>): Promise<ScenarioResult> {
  const s = new Scenario(name, log);
  log(`== ${name}`);
  try {
    await body(s);
  } catch (err) {
    s.check(false, `scenario threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  const r = s.result();
  log(formatResult(r));
  return r;
}

export function formatResult(r: ScenarioResult): string {
  const figures = Object.entries(r.figures)
    .map(([k, v]) => `    ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('\n');
  const status = r.failures.length === 0 ? 'PASS' : `FAIL (${r.failures.length})`;
  return [`-- ${r.name}: ${status} in ${(r.durationMs / 1000).toFixed(0)} s — ${r.summary}`, figures, ...r.notes.map((n) => `    note: ${n}`), ...r.failures.map((f) => `    FAIL: ${f}`)]
    .filter((l) => l !== '')
    .join('\n');
}

/** Every output of the run that must not contain a secret, by source. Sources are read lazily at scan time. */
export class Capture {
  private readonly sources = new Map<string, () => string>();

  add(name: string, read: () => string): void {
    let unique = name;
    for (let i = 2; this.sources.has(unique); i++) unique = `${name} (${i})`;
    this.sources.set(unique, read);
  }

  addText(name: string, text: string): void {
    this.add(name, () => text);
  }

  /** Where each secret appears: `[]` when nowhere. The excerpt masks the secret itself. */
  scan(secrets: Record<string, string>): { hits: { source: string; secret: string; excerpt: string }[]; sources: number; bytes: number } {
    const hits: { source: string; secret: string; excerpt: string }[] = [];
    let bytes = 0;
    for (const [source, read] of this.sources) {
      const text = read();
      bytes += text.length;
      for (const [name, value] of Object.entries(secrets)) {
        if (value.length < 8) continue;
        const at = text.indexOf(value);
        if (at >= 0) hits.push({ source, secret: name, excerpt: text.slice(Math.max(0, at - 80), at + value.length + 40).replaceAll(value, `<${name}>`) });
      }
    }
    return { hits, sources: this.sources.size, bytes };
  }
}

export const seconds = (ms: number): number => Math.round(ms / 100) / 10;
