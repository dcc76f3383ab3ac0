// StringInterner: one copy of each shared string value, no value changed, a bounded table.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { StringInterner } from './intern.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A pod as the watch brings it: a fresh JSON.parse, so each value a string of its own. */
function podJson(i: number): string {
  return JSON.stringify({
    metadata: { name: `web-${i}`, uid: `uid-${i}`, namespace: 'bench-namespace-with-a-long-name', labels: { app: 'web', 'topology.kubernetes.io/zone': 'cn-hangzhou-i' } },
    spec: { nodeName: 'virtual-node-cn-hangzhou-i', containers: [{ name: 'app', image: 'registry.cn-hangzhou.aliyuncs.com/some-team/some-image:v1.2.3-with-a-long-tag' }] },
    status: { conditions: [{ type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: '2026-12-06T15:39:01Z' }], startTime: new Date(Date.UTC(2026, 11, 6, 15, 39, 1)) },
  });
}

describe('StringInterner', () => {
  it('changes no value: the interned object equals the original, Dates and buffers left alone', () => {
    const interner = new StringInterner();
    const original = JSON.parse(podJson(1)) as Record<string, unknown>;
    const copy = { ...(JSON.parse(podJson(1)) as Record<string, unknown>), at: new Date(5), raw: Buffer.from('x') };
    expect(interner.internAll(copy)).toEqual({ ...original, at: new Date(5), raw: Buffer.from('x') });
  });

  it('keeps one copy of a value many objects hold (heap after a full GC, 2000 pods)', () => {
    const heldBytes = (intern: boolean): number => {
      const interner = new StringInterner();
      gc();
      const before = process.memoryUsage().heapUsed;
      const pods = Array.from({ length: 2000 }, (_, i) => (intern ? interner.internAll(JSON.parse(podJson(i)), new Set(['uid', 'name'])) : JSON.parse(podJson(i))) as unknown);
      gc();
      const held = process.memoryUsage().heapUsed - before;
      expect(pods).toHaveLength(2000);
      return held;
    };
    const plain = heldBytes(false);
    const interned = heldBytes(true);
    process.stderr.write(`intern: ${plain} -> ${interned} bytes held\n`);
    // Six values of 40-80 characters a pod, each ~60-100 bytes on the heap: > 200 KB for 2000.
    expect({ plain, interned, saved: plain - interned > 200_000 }).toMatchObject({ saved: true });
  });

  it('leaves out the values of unique keys and long strings, and stays within its bound', () => {
    const interner = new StringInterner({ maxEntries: 3 });
    interner.internAll({ uid: 'u-1', nested: [{ uid: 'u-2' }] }, new Set(['uid']));
    interner.intern('x'.repeat(300));
    expect(interner.size).toBe(0);
    for (const v of ['a', 'b', 'c']) interner.intern(v);
    expect(interner.size).toBe(3);
    interner.intern('d'); // full: starts over
    expect(interner.size).toBe(1);
    expect(interner.intern('d')).toBe('d');
  });
});
