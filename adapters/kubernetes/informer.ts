// A list-watch cache that keeps itself alive. client-node's ListWatch re-lists on 410 and
// reconnects on timeouts, but STOPS on any other error (apiserver restart, network reset); this
// wrapper restarts it with capped exponential backoff until the signal aborts.
// Lists are paged (limit + continue, client-go's pager): with 10,000 pods one unpaged list is a
// ~50 MB body parsed into typed objects at once; a page of 500 bounds that transient peak, and the
// transform runs page by page so only the lean objects outlive their page.
import * as k8s from '@kubernetes/client-node';
import { Backoff } from '../../provider/runtime/backoff.ts';

export interface InformerLog {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface Informer<T extends k8s.KubernetesObject> {
  cache: k8s.ListWatch<T>;
  /** Resolves once the first list has landed in the cache. */
  synced: Promise<void>;
  /** Whether the first list has landed in the cache. */
  hasSynced(): boolean;
}

/** One page of a list: pass both to the client's list call (`{ ...page }`). */
export interface ListPage {
  limit: number;
  _continue?: string;
}

export type PagedList<T extends k8s.KubernetesObject> = (page: ListPage) => Promise<k8s.KubernetesListObject<T>>;

/** Objects per list page (client-go's pager default is 500 too). */
export const DEFAULT_LIST_PAGE_SIZE = 500;

export interface InformerOptions<T extends k8s.KubernetesObject> {
  kubeConfig: k8s.KubeConfig;
  /** Watch path, e.g. /api/v1/pods. */
  path: string;
  /** One page of the list; must pass `page.limit` and `page._continue` to the apiserver. */
  list: PagedList<T>;
  /** Objects per list page; DEFAULT_LIST_PAGE_SIZE unless set (tests use a small one). */
  listPageSize?: number;
  labelSelector?: string;
  fieldSelector?: string;
  onAdd?: (obj: T) => void;
  onUpdate?: (obj: T) => void;
  onDelete?: (obj: T) => void;
  /** Called after every (re)list, e.g. to resync everything the cache holds. */
  onConnect?: () => void;
  signal: AbortSignal;
  log: InformerLog;
  name: string;
  /**
   * Applied to every listed and watched object before the store holds it (keep only what the
   * provider reads; see lean.ts). Must keep metadata.name, namespace and resourceVersion.
   */
  transform?: (obj: T) => T;
}

export function startInformer<T extends k8s.KubernetesObject>(o: InformerOptions<T>): Informer<T> {
  const pageSize = o.listPageSize ?? DEFAULT_LIST_PAGE_SIZE;
  const list = () => listAllPages({ list: o.list, pageSize, ...(o.transform === undefined ? {} : { transform: o.transform }) });
  const watch = o.transform === undefined ? new k8s.Watch(o.kubeConfig) : new TransformingWatch(o.kubeConfig, o.transform);
  const cache = new k8s.ListWatch<T>(o.path, watch, list, false, o.labelSelector, o.fieldSelector);
  if (o.onAdd) cache.on('add', o.onAdd);
  if (o.onUpdate) cache.on('update', o.onUpdate);
  if (o.onDelete) cache.on('delete', o.onDelete);
  if (o.onConnect) cache.on('connect', () => o.onConnect?.());

  // start() never rejects: list and watch failures arrive on the 'error' callback. A start
  // during which no error arrived has listed and is watching.
  const backoff = new Backoff({ policy: { baseMs: 250, maxMs: 30_000 } });
  let erroredDuringStart = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let hasSynced = false;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));

  const attempt = async () => {
    if (o.signal.aborted) return;
    erroredDuringStart = false;
    await cache.start().catch(() => (erroredDuringStart = true));
    if (!erroredDuringStart) {
      backoff.reset();
      hasSynced = true;
      markSynced();
    }
  };
  const scheduleRestart = () => {
    if (o.signal.aborted) return;
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void attempt(), backoff.next());
  };
  cache.on('error', (err?: unknown) => {
    erroredDuringStart = true;
    if (o.signal.aborted) return; // our own shutdown aborted the watch
    o.log.warn('informer stopped; restarting', { informer: o.name, error: shortError(err) });
    scheduleRestart();
  });
  o.signal.addEventListener(
    'abort',
    () => {
      clearTimeout(restartTimer);
      void cache.stop();
    },
    { once: true },
  );
  void attempt();
  return { cache, synced, hasSynced: () => hasSynced };
}

/** A continue token the apiserver no longer knows (410 Gone: "the provided continue parameter is too old"). */
export function isExpiredContinue(err: unknown): boolean {
  if (err instanceof k8s.ApiException) return err.code === 410;
  const code = (err as { code?: unknown; statusCode?: unknown } | undefined)?.code ?? (err as { statusCode?: unknown } | undefined)?.statusCode;
  return code === 410;
}

/** Restarts of a paged list whose continue token expired, before the informer's own backoff takes over. */
const MAX_LIST_RESTARTS = 3;

/**
 * The whole collection, page by page: each page's items pass through `transform` before the next
 * page is asked for, so at most one page of full objects is alive. The answer carries the LAST
 * page's metadata (its resourceVersion is the list's snapshot, where the watch starts). A 410 on a
 * continue page (token expired: the snapshot was compacted) restarts the list from the first
 * page, up to MAX_LIST_RESTARTS times; other errors propagate.
 */
export async function listAllPages<T extends k8s.KubernetesObject>(o: { list: PagedList<T>; pageSize: number; transform?: (obj: T) => T }): Promise<k8s.KubernetesListObject<T>> {
  for (let restart = 0; ; restart++) {
    const items: T[] = [];
    let token: string | undefined;
    try {
      for (;;) {
        const page = await o.list({ limit: o.pageSize, ...(token === undefined ? {} : { _continue: token }) });
        for (const item of page.items) items.push(o.transform === undefined ? item : o.transform(item));
        token = continueOf(page.metadata);
        if (token === undefined) {
          const { _continue: _done, continue: _rawDone, ...metadata } = (page.metadata ?? {}) as k8s.V1ListMeta & { continue?: string };
          return { ...page, metadata, items };
        }
      }
    } catch (err) {
      if (token === undefined || !isExpiredContinue(err) || restart >= MAX_LIST_RESTARTS) throw err;
    }
  }
}

/**
 * The page's continue token. Typed lists (CoreV1Api) carry it as `_continue`; CustomObjectsApi
 * answers are not deserialized, so theirs keep the wire name `continue`.
 */
function continueOf(metadata: k8s.V1ListMeta | undefined): string | undefined {
  return (metadata?._continue || (metadata as { continue?: string } | undefined)?.continue) || undefined;
}

/** A Watch whose ADDED/MODIFIED/DELETED objects pass through `transform` before the cache sees them. */
class TransformingWatch<T> extends k8s.Watch {
  private readonly transform: (obj: T) => T;

  constructor(kubeConfig: k8s.KubeConfig, transform: (obj: T) => T) {
    super(kubeConfig);
    this.transform = transform;
  }

  override watch(path: string, queryParams: Record<string, string | number | boolean | undefined>, callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
    return super.watch(path, queryParams, (phase, obj: unknown, watchObj) => callback(phase, phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? this.transform(obj as T) : obj, watchObj), done);
  }
}

/** One line for a log: client-node's ApiException messages carry every response header. */
export function shortError(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    return `HTTP ${err.code}: ${(body ?? '').slice(0, 200).trim()}`;
  }
  return err instanceof Error ? err.message : String(err);
}
