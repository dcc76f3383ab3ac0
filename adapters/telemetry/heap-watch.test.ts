// The watch on real full garbage collections (V8's gc(), exposed for the test); the heap's figures
// are injected so the test does not depend on how much this process holds.
import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../test/helpers/deadline.ts';
import type { Logger } from '../log/logger.ts';
import { HEAP_NEAR_LIMIT, watchHeap } from './heap-watch.ts';

function recordingLogger(lines: { level: string; msg: string; fields?: Record<string, unknown> }[]): Logger {
  const log: Logger = {
    debug: (msg, fields) => lines.push({ level: 'debug', msg, ...(fields === undefined ? {} : { fields }) }),
    info: (msg, fields) => lines.push({ level: 'info', msg, ...(fields === undefined ? {} : { fields }) }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, ...(fields === undefined ? {} : { fields }) }),
    error: (msg, fields) => lines.push({ level: 'error', msg, ...(fields === undefined ? {} : { fields }) }),
    child: () => log,
  };
  return log;
}

type Gc = (options?: { type: 'major' | 'minor'; execution: 'sync' }) => void;

/** V8's gc(): exposed now, in a fresh context, when the test process was not started with --expose-gc. */
async function v8Gc(): Promise<Gc> {
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (exposed !== undefined) return exposed;
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--expose-gc');
  const { runInNewContext } = await import('node:vm');
  return runInNewContext('gc') as Gc;
}

/** A full (mark-sweep-compact) collection. */
async function fullCollection(): Promise<void> {
  (await v8Gc())({ type: 'major', execution: 'sync' });
}

describe('watchHeap', () => {
  it('warns with HeapNearLimit and the figures after a full collection leaves the heap near its limit, once', async () => {
    const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    // A limit just above what this process uses: every full collection is "near the limit".
    const stop = watchHeap({ log: recordingLogger(lines), stats: () => ({ used_heap_size: 90 * 1048576, heap_size_limit: 100 * 1048576 }) });
    try {
      await fullCollection();
      await withDeadline(
        (async () => {
          while (!lines.some((l) => l.level === 'warn')) await new Promise((r) => setTimeout(r, 20));
        })(),
        10_000,
        'a HeapNearLimit warning after a full garbage collection',
        () => JSON.stringify(lines),
      );
      await fullCollection();
      await new Promise((r) => setTimeout(r, 100));
      const warnings = lines.filter((l) => l.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.msg).toContain(HEAP_NEAR_LIMIT);
      expect(warnings[0]?.fields).toMatchObject({ liveMiB: 90, limitMiB: 100, percent: 90 });
      expect(String(warnings[0]?.fields?.fix)).toContain('--max-old-space-size');
    } finally {
      stop();
    }
  });

  it('says nothing while what a full collection leaves is far from the limit', async () => {
    const lines: { level: string; msg: string }[] = [];
    let collections = 0;
    const stop = watchHeap({
      log: recordingLogger(lines),
      stats: () => {
        collections++;
        return { used_heap_size: 10 * 1048576, heap_size_limit: 100 * 1048576 };
      },
    });
    try {
      await fullCollection();
      await withDeadline(
        (async () => {
          while (collections === 0) await new Promise((r) => setTimeout(r, 20));
        })(),
        10_000,
        'the heap watch to see a full garbage collection',
      );
      expect(lines).toEqual([]);
    } finally {
      stop();
    }
  });

  it('does not look after a young-generation collection (its heap still holds old garbage)', async () => {
    let looked = 0;
    const stop = watchHeap({
      log: recordingLogger([]),
      stats: () => {
        looked++;
        return { used_heap_size: 90 * 1048576, heap_size_limit: 100 * 1048576 };
      },
    });
    try {
      const gc = await v8Gc();
      for (let i = 0; i < 5; i++) gc({ type: 'minor', execution: 'sync' });
      // The observer's entries arrive asynchronously: then a full collection, which it must see.
      gc({ type: 'major', execution: 'sync' });
      await withDeadline(
        (async () => {
          while (looked === 0) await new Promise((r) => setTimeout(r, 20));
        })(),
        10_000,
        'the heap watch to see the full garbage collection',
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(looked).toBe(1);
    } finally {
      stop();
    }
  });
});
