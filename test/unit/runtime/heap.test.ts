import { describe, expect, it } from 'vitest';
import { heapNotice } from '../../../provider/runtime/heap.ts';

const MiB = 1048576;
const sample = (liveMiB: number, limitMiB = 304) => ({ liveBytes: liveMiB * MiB, limitBytes: limitMiB * MiB });

describe('heapNotice: the heap a full collection leaves, against the limit', () => {
  it('says nothing while the live heap is well below the limit', () => {
    expect(heapNotice(false, sample(120))).toEqual({ warned: false });
  });

  it('warns once when the live heap reaches three quarters of the limit, with the figures', () => {
    const first = heapNotice(false, sample(240));
    expect(first.warned).toBe(true);
    expect(first.notice).toMatchObject({ kind: 'near-limit', liveMiB: 240, limitMiB: 304 });
    expect(first.notice?.share).toBeCloseTo(240 / 304, 5);
    // Every later collection near the line: no repeat.
    expect(heapNotice(true, sample(250))).toEqual({ warned: true });
    expect(heapNotice(true, sample(200))).toEqual({ warned: true });
  });

  it('says when it fell back below 60%, and warns again on the next crossing', () => {
    const below = heapNotice(true, sample(150));
    expect(below).toMatchObject({ warned: false, notice: { kind: 'back-below', liveMiB: 150 } });
    expect(heapNotice(false, sample(230)).notice?.kind).toBe('near-limit');
  });

  it('ignores a sample without a limit', () => {
    expect(heapNotice(false, { liveBytes: 10, limitBytes: 0 })).toEqual({ warned: false });
  });
});
