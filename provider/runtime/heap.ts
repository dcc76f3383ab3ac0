// When V8's heap is close to its limit. The Deployment caps the old space (NODE_OPTIONS
// --max-old-space-size, sized to the number of pods: docs/deploy.md, "Memory"); past the cap V8
// aborts the process ("JavaScript heap out of memory"). What a full collection leaves is what
// the caches really hold, so that figure, against the limit, says when to raise the cap: early,
// once per crossing, not on every collection.

/** A warning once the heap a full collection leaves reaches this share of the limit. */
export const HEAP_WARN_SHARE = 0.75;
/** Warned again only after it fell below this share (no warning per collection near the line). */
export const HEAP_REARM_SHARE = 0.6;

export interface HeapSample {
  /** V8's heap in use right after a full (mark-sweep-compact) collection. */
  liveBytes: number;
  /** V8's heap limit (old space cap and the rest: v8.getHeapStatistics().heap_size_limit). */
  limitBytes: number;
}

export type HeapNotice = { kind: 'near-limit' | 'back-below'; share: number; liveMiB: number; limitMiB: number };

/** `warned`: whether the last notice was a near-limit one. Returns the new state and what to say, if anything. */
export function heapNotice(warned: boolean, sample: HeapSample): { warned: boolean; notice?: HeapNotice } {
  if (!(sample.limitBytes > 0)) return { warned };
  const share = sample.liveBytes / sample.limitBytes;
  const figures = { share, liveMiB: sample.liveBytes / 1048576, limitMiB: sample.limitBytes / 1048576 };
  if (!warned && share >= HEAP_WARN_SHARE) return { warned: true, notice: { kind: 'near-limit', ...figures } };
  if (warned && share < HEAP_REARM_SHARE) return { warned: false, notice: { kind: 'back-below', ...figures } };
  return { warned };
}
