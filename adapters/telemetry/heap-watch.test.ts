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

async function fullCollection(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) return gc();
  // Not started with --expose-gc: expose it now, in a fresh context (a full mark-sweep-compact).
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--expose-gc');
  const { runInNewContext } = await import('node:vm');
  (runInNewContext('gc') as () => void)();
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
});
