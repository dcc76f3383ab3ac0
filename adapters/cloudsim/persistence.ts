// Durable state: a snapshot file plus a write-ahead journal.
//
// Guarantee: an answer that acknowledges a change (CreateContainerGroup, Delete, Update, Restart,
// admin writes) is sent only after its journal record reached the file — with `durability:
// fsync` (default) after fdatasync, so it survives kill -9 and power loss; with `durability:
// write` after write(2), which survives kill -9 (the kernel holds the data) but not power loss.
// Records are group-committed: everything appended in one event-loop turn is one write (+ one
// fdatasync), so durability costs one sync per batch, not per request.
//
// Lifecycle transitions (Scheduling -> Pending -> Running, exits, restarts) are NOT journaled:
// each group stores when its next transition is due, and after a restart the lifecycle replays
// overdue transitions at their due times, so the result is the same as if it had kept running.
//
// Snapshots compact the journal: every `snapshotIntervalMs` while dirty (and on graceful stop),
// the state is written to `<file>.tmp`, fsynced, renamed over `<file>` and the directory fsynced.
// Journals are numbered (`<file>.journal.<gen>`); a snapshot records the generation that follows
// it, and loading replays every journal from that generation on. Replay is idempotent (records
// carry whole groups), so a crash between any two steps loses nothing acknowledged.

import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Durability } from './world.ts';

export interface SnapshotHeader {
  version: 1;
  savedAt: string;
  journalGen: number;
  nextSeq: number;
}

export type JournalRecord = { op: 'put'; group: unknown } | { op: 'del'; id: string } | { op: 'clear' };

export interface Loaded {
  header?: SnapshotHeader;
  groups: unknown[];
  journal: JournalRecord[];
  /** Lines that could not be read (a torn last line after a crash is expected and harmless). */
  skipped: number;
  maxGen: number;
}

export interface PersistenceOptions {
  file: string;
  durability: Durability;
  snapshotIntervalMs: number;
  /** Produces the snapshot body: the header fields and the serialised groups. */
  snapshot: () => { nextSeq: number; groups: string[] };
  onError: (err: Error) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export async function loadState(file: string): Promise<Loaded> {
  const out: Loaded = { groups: [], journal: [], skipped: 0, maxGen: 0 };
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as SnapshotHeader & { groups: unknown[] };
    if (doc.version !== 1) throw new Error(`${file}: unknown state version ${String(doc.version)}`);
    out.header = { version: 1, savedAt: doc.savedAt, journalGen: doc.journalGen, nextSeq: doc.nextSeq };
    out.groups = doc.groups;
    out.maxGen = doc.journalGen;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fromGen = out.header?.journalGen ?? 0;
  const prefix = `${basename(file)}.journal.`;
  let names: string[] = [];
  try {
    names = await readdir(dirname(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const gens = names
    .filter((n) => n.startsWith(prefix))
    .map((n) => Number(n.slice(prefix.length)))
    .filter((g) => Number.isInteger(g) && g >= fromGen)
    .sort((a, b) => a - b);
  for (const gen of gens) {
    out.maxGen = Math.max(out.maxGen, gen);
    const text = await readFile(`${file}.journal.${gen}`, 'utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        out.journal.push(JSON.parse(line) as JournalRecord);
      } catch {
        out.skipped++;
      }
    }
  }
  return out;
}

export class Persistence {
  private readonly opts: PersistenceOptions;
  private gen: number;
  private fh: FileHandle | undefined;
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private flushing = false;
  private drained: (() => void)[] = [];
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private snapshotting: Promise<void> | undefined;
  private closed = false;

  private constructor(opts: PersistenceOptions, gen: number) {
    this.opts = opts;
    this.gen = gen;
  }

  /** Opens a fresh journal after `loadedGen` and writes a compacting snapshot at once. */
  static async start(opts: PersistenceOptions, loadedGen: number): Promise<Persistence> {
    await mkdir(dirname(opts.file), { recursive: true });
    const p = new Persistence(opts, loadedGen);
    p.fh = await open(`${opts.file}.journal.${loadedGen}`, 'a');
    await p.snapshotNow();
    return p;
  }

  /** Appends a record; resolves once it is durable as configured. */
  append(record: JournalRecord): Promise<void> {
    return this.appendLine(JSON.stringify(record));
  }

  /** Appends one already-serialised record (a JSON object on one line). */
  appendLine(json: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('state is closed'));
    this.pending.push(`${json}\n`);
    this.markDirty();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flushLoop());
    }
    return p;
  }

  /** Notes a change that needs no journal record (lifecycle); the next snapshot will hold it. */
  markDirty(): void {
    this.dirty = true;
    if (this.timer === undefined && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.dirty) void this.snapshotNow().catch((err: unknown) => this.opts.onError(err as Error));
      }, this.opts.snapshotIntervalMs);
      this.timer.unref();
    }
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.join('');
        const waiters = this.waiters;
        this.pending = [];
        this.waiters = [];
        try {
          const fh = this.fh!;
          await fh.write(batch);
          if (this.opts.durability === 'fsync') await fh.datasync();
          for (const w of waiters) w.resolve();
        } catch (err) {
          this.opts.onError(err as Error);
          for (const w of waiters) w.reject(err as Error);
        }
      }
    } finally {
      this.flushing = false;
      const drained = this.drained;
      this.drained = [];
      for (const d of drained) d();
    }
  }

  private drain(): Promise<void> {
    if (!this.flushing && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Writes a snapshot now (one at a time) and drops the journals it covers. */
  snapshotNow(): Promise<void> {
    this.snapshotting ??= this.writeSnapshot().finally(() => {
      this.snapshotting = undefined;
    });
    return this.snapshotting;
  }

  private async writeSnapshot(): Promise<void> {
    const nextGen = this.gen + 1;
    const next = await open(`${this.opts.file}.journal.${nextGen}`, 'a');
    await this.drain();
    while (this.flushing) await this.drain();
    // From here to the swap everything is synchronous: the snapshot holds every change applied so
    // far, and every record appended later goes to the new journal.
    this.dirty = false;
    const { nextSeq, groups } = this.opts.snapshot();
    const old = this.fh;
    const oldGen = this.gen;
    this.fh = next;
    this.gen = nextGen;
    const header: SnapshotHeader = { version: 1, savedAt: new Date().toISOString(), journalGen: nextGen, nextSeq };
    const head = JSON.stringify(header);
    const body = `${head.slice(0, -1)},"groups":[\n${groups.join(',\n')}\n]}\n`;
    const tmp = `${this.opts.file}.tmp`;
    await writeFile(tmp, body);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    await rename(tmp, this.opts.file);
    syncDir(dirname(this.opts.file));
    await old?.close();
    for (let g = oldGen; g >= 0; g--) {
      try {
        await unlink(`${this.opts.file}.journal.${g}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && g < oldGen) break;
      }
    }
  }

  /** Graceful: flush, snapshot, close. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.drain();
    await this.snapshotNow();
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
  }

  /** Abrupt (like kill -9, for tests): no snapshot; what is in the journal stays. */
  async abandon(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.drain();
    await this.fh?.close();
    this.fh = undefined;
  }
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
