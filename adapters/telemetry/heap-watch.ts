// Watches what each full garbage collection leaves of V8's heap and logs, once per crossing, when
// it nears the heap limit (the decision: provider/runtime/heap.ts). A full collection is the
// moment the heap in use is what the process really holds.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { heapNotice, HEAP_WARN_SHARE } from '../../provider/runtime/heap.ts';
import type { Logger } from '../log/logger.ts';

/** Searchable in logs (docs/deploy.md, "Memory"). */
export const HEAP_NEAR_LIMIT = 'HeapNearLimit';

/** Starts watching; returns what stops it. `stats` is injectable for tests. */
export function watchHeap(o: { log: Logger; stats?: () => { used_heap_size: number; heap_size_limit: number } }): () => void {
  const stats = o.stats ?? getHeapStatistics;
  let warned = false;
  const observer = new PerformanceObserver((list) => {
    const major = list.getEntries().some((entry) => (entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (!major) return;
    const heap = stats();
    const next = heapNotice(warned, { liveBytes: heap.used_heap_size, limitBytes: heap.heap_size_limit });
    warned = next.warned;
    const n = next.notice;
    if (n === undefined) return;
    const figures = { liveMiB: Math.round(n.liveMiB), limitMiB: Math.round(n.limitMiB), percent: Math.round(n.share * 100) };
    if (n.kind === 'near-limit') {
      o.log.warn(`${HEAP_NEAR_LIMIT}: what a full garbage collection leaves of the V8 heap is over ${HEAP_WARN_SHARE * 100}% of its limit (heap_size_limit: the old-space cap plus the young generation); past the limit the process aborts (JavaScript heap out of memory)`, {
        ...figures,
        fix: 'raise --max-old-space-size in the Deployment\'s NODE_OPTIONS, and its memory limit with it: 128 MiB plus 13 MiB per 1000 pods (docs/deploy.md, "Memory")',
      });
    } else o.log.info('the V8 heap left by a full garbage collection is back below 60% of its limit', figures);
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
