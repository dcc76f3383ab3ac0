// The manager's Kubernetes side: shared informers (one per path and selectors, each a cache
// runnable with hasSynced) and leader election on a Lease as the manager's Election. The start
// order, readiness and stop order live in provider/runtime/manager.ts.
import type * as k8s from '@kubernetes/client-node';
import type { CacheRunnable, Election, StopFn } from '../../provider/runtime/manager.ts';
import { startInformer, type Informer, type InformerLog, type PagedList } from './informer.ts';
import { leanObject } from './lean.ts';
import { runLeaderElection, type LeaderElectionLog, type LeaderElectionOptions } from './leader.ts';

export interface InformerHandlers<T> {
  onAdd?: (obj: T) => void;
  onUpdate?: (obj: T) => void;
  onDelete?: (obj: T) => void;
}

export interface SharedInformerSpec<T extends k8s.KubernetesObject> {
  /** For logs and readiness: `namespaces`, `podnetworkings`. */
  name: string;
  /** Watch path, e.g. /api/v1/namespaces. */
  path: string;
  /** One page of the list (informer.ts's PagedList): pass `{ ...page }` to the client. */
  list: PagedList<T>;
  labelSelector?: string;
  fieldSelector?: string;
  /** False: the manager does not wait for this cache (e.g. its CRD is not installed). */
  waitForSync?: () => boolean;
}

/**
 * Test hook: awaited before every list of the named informer, so a test can hold a cache
 * unsynced (the webhook answers 500, /readyz fails) and release it.
 */
export type ListGate = (informer: string) => Promise<void>;

/** One informer shared by every consumer of its (path, selectors); started by the manager. */
export class SharedInformer<T extends k8s.KubernetesObject> implements CacheRunnable {
  readonly kind = 'cache' as const;
  readonly needsLeader = false;
  readonly name: string;
  private informer: Informer<T> | undefined;
  private readonly handlers = new Set<InformerHandlers<T>>();
  private readonly spec: SharedInformerSpec<T>;
  private readonly kubeConfig: k8s.KubeConfig;
  private readonly log: InformerLog;
  private readonly listGate: ListGate | undefined;

  constructor(o: { spec: SharedInformerSpec<T>; kubeConfig: k8s.KubeConfig; log: InformerLog; listGate?: ListGate }) {
    this.spec = o.spec;
    this.name = o.spec.name;
    this.kubeConfig = o.kubeConfig;
    this.log = o.log;
    this.listGate = o.listGate;
  }

  start(signal: AbortSignal): StopFn | void {
    const { spec, listGate } = this;
    const each = (pick: (h: InformerHandlers<T>) => ((obj: T) => void) | undefined) => (obj: T) => {
      for (const h of this.handlers) pick(h)?.(obj);
    };
    this.informer = startInformer<T>({
      kubeConfig: this.kubeConfig,
      path: spec.path,
      // The gate holds the first page only: a list already under way finishes.
      list: listGate === undefined ? spec.list : async (page) => (page._continue === undefined && (await listGate(spec.name)), spec.list(page)),
      ...(spec.labelSelector === undefined ? {} : { labelSelector: spec.labelSelector }),
      ...(spec.fieldSelector === undefined ? {} : { fieldSelector: spec.fieldSelector }),
      transform: leanObject,
      onAdd: each((h) => h.onAdd),
      onUpdate: each((h) => h.onUpdate),
      onDelete: each((h) => h.onDelete),
      signal,
      log: this.log,
      name: spec.name,
    });
  }

  waitForSync(): boolean {
    return this.spec.waitForSync?.() ?? true;
  }

  hasSynced(): boolean {
    return this.informer?.hasSynced() ?? false;
  }

  /** Resolves once synced (or never, before start). */
  get synced(): Promise<void> {
    return this.informer?.synced ?? new Promise(() => {});
  }

  list(): readonly T[] {
    return this.informer?.cache.list() ?? [];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer?.cache.get(name, namespace);
  }

  /**
   * Adds handlers until `signal` aborts. Objects already in the cache are delivered as adds
   * first (client-go's shared informers do the same for a late handler).
   */
  subscribe(handlers: InformerHandlers<T>, signal: AbortSignal): void {
    if (signal.aborted) return;
    this.handlers.add(handlers);
    signal.addEventListener('abort', () => this.handlers.delete(handlers), { once: true });
    if (this.hasSynced()) for (const obj of this.list()) handlers.onAdd?.(obj);
  }
}

/** Hands out one SharedInformer per (path, label selector, field selector). */
export class SharedInformers {
  private readonly byKey = new Map<string, SharedInformer<k8s.KubernetesObject>>();
  private readonly o: { kubeConfig: k8s.KubeConfig; log: InformerLog; listGate?: ListGate; onCreate: (informer: SharedInformer<k8s.KubernetesObject>) => void };

  constructor(o: { kubeConfig: k8s.KubeConfig; log: InformerLog; listGate?: ListGate; onCreate: (informer: SharedInformer<k8s.KubernetesObject>) => void }) {
    this.o = o;
  }

  informerFor<T extends k8s.KubernetesObject>(spec: SharedInformerSpec<T>): SharedInformer<T> {
    const key = `${spec.path}?labelSelector=${spec.labelSelector ?? ''}&fieldSelector=${spec.fieldSelector ?? ''}`;
    const existing = this.byKey.get(key);
    if (existing !== undefined) return existing as unknown as SharedInformer<T>;
    const informer = new SharedInformer<T>({ spec, kubeConfig: this.o.kubeConfig, log: this.o.log, ...(this.o.listGate ? { listGate: this.o.listGate } : {}) });
    this.byKey.set(key, informer as unknown as SharedInformer<k8s.KubernetesObject>);
    this.o.onCreate(informer as unknown as SharedInformer<k8s.KubernetesObject>);
    return informer;
  }
}

/**
 * Leader election on a Lease as the manager's Election. A lost Lease aborts the leader signal;
 * the election then keeps competing, so the replica leads again once it wins the Lease back.
 */
export function leaseElection(o: Omit<LeaderElectionOptions, 'signal' | 'onStartedLeading'> & { log: LeaderElectionLog }): Election & { identity: string } {
  return {
    identity: o.identity,
    start: ({ lead, signal }) => {
      const election = runLeaderElection({ ...o, signal, onStartedLeading: lead });
      return { release: () => election.release() };
    },
  };
}
