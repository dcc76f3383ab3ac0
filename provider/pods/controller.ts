// The pod controller: three flows, named after the direction data moves.
// - podsFromKubernetes: informer events -> the keyed queue -> syncPod(key)
// - statusFromCloud: DescribeContainerGroupStatus(SinceSecond) -> changed groups -> their pods queued
// - orphansInCloud: a periodic full list -> groups of this cluster with no pod are deleted
// Start-up adopts every existing group of this cluster before any create, so a restart never
// creates a second group for a pod.
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import type { V1Pod } from '@kubernetes/client-node';
import { GROUP_TAGS, type ContainerGroup } from '../cloud/model.ts';
import { TAG_VALUE_MAX } from '../eci/names.ts';
import { ANNOTATIONS } from '../networking/constants.ts';
import type { CloudPort, PodControllerMetrics, PodKey, PodStore } from '../ports.ts';
import { PROVISIONED_CONDITION } from './annotations.ts';
import { DESCRIBE_BATCH_MAX } from './describe-batch.ts';
import { GroupIndex } from './group-index.ts';
import { PodMemories } from './memory.ts';
import { recordedGroupId, surplusGroups } from './plan.ts';
import type { PodSyncResultLabel } from '../telemetry/names.ts';
import { podKeyOf, podKeyString, PodSync, type Logger, type PodSyncOptions } from './sync.ts';
import { KeyedWorkQueue, LaneClosedError, type SyncResult, type WorkContext } from './workqueue.ts';
import { backoffDelay } from '../runtime/backoff.ts';
import { nowMs } from '../telemetry/ids.ts';

// Its metrics port lives in provider/ports.ts; re-exported for existing importers.
export type { PodControllerMetrics } from '../ports.ts';

export interface PodControllerOptions extends Omit<PodSyncOptions, 'groups'> {
  cloud: CloudPort;
  pods: PodStore;
  /** Whether every pod cache behind `pods` has listed (nodes added later start unsynced). */
  podsSynced: () => boolean;
  workers: number;
  /** Runs at once in the queue's write lane (status PATCHes); absent: `workers` (the config always sets it: sync.writeConcurrency, 64). */
  writeConcurrency?: number;
  statusPollIntervalMs: number;
  resyncIntervalMs: number;
  orphanGracePeriodMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  log: Logger;
  metrics?: PodControllerMetrics;
}

export function parsePodKey(key: string): PodKey {
  const [namespace = '', name = '', uid = ''] = key.split('/');
  return { namespace, name, uid };
}

export class PodController {
  readonly groups = new GroupIndex();
  /** Per group id, the status fingerprint we last described it at (see pollStatus). */
  private readonly describedFingerprints = new Map<string, string>();
  /** What is remembered per pod UID (shared with the sync), dropped by one forget(uid). */
  readonly memory = new PodMemories();
  readonly queue: KeyedWorkQueue<string>;
  private readonly sync: PodSync;
  private readonly clusterTags: Record<string, string>;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Group ids first seen without a pod, and when: deleted once older than the grace period. */
  private readonly orphanSince = new Map<string, number>();
  private lastStatusPoll = 0;
  private stopped = false;
  /**
   * False until one complete list of the cluster's groups went into the index: until then only
   * pods whose group the index holds are synced (a pod without one could be created twice).
   */
  private adopted = false;
  /** Pods held back until adoption ends: queue key by UID. */
  private readonly deferred = new Map<string, string>();
  /** Pods the start-up list already queued (their group came with a page). */
  private readonly queuedWhileAdopting = new Set<string>();
  /** Why the last attempt at the start-up list failed (until one succeeds): the nodes' readiness names it. */
  private adoptionError: string | undefined;
  /** When the start-up adoption began or last received a page of groups (the nodes' readiness bound). */
  private adoptionProgressAt: number | undefined;
  private readonly o: PodControllerOptions;

  constructor(options: PodControllerOptions) {
    const o = options;
    this.o = o;
    this.sync = new PodSync({ ...o, groups: this.groups, memory: this.memory, wake: (uid) => this.wake(uid) });
    this.clusterTags = { [GROUP_TAGS.cluster]: o.clusterId };
    this.queue = new KeyedWorkQueue<string>({
      concurrency: o.workers,
      ...(o.writeConcurrency === undefined ? {} : { writeConcurrency: o.writeConcurrency }),
      backoffBaseMs: o.backoffBaseMs,
      backoffMaxMs: o.backoffMaxMs,
      handle: (key, work) => this.syncPod(key, work),
      onError: (key, err, attempt, retryInMs) =>
        o.log.warn('pod sync failed; will retry', { pod: key, attempt, retryInMs, error: errorText(err) }),
    });
  }

  /**
   * One pass, timed for metrics. Runs in the root context: the queue may start it from inside
   * another pod's span (an add made there), and its spans must not become children of that one.
   */
  private async syncPod(key: string, work: WorkContext): Promise<SyncResult> {
    const started = performance.now();
    let result: PodSyncResultLabel = 'error';
    try {
      const outcome = await context.with(ROOT_CONTEXT, () => this.sync.syncPod(parsePodKey(key), work));
      result = outcome.kind === 'done' ? 'done' : 'requeue';
      return outcome;
    } catch (err) {
      if (err instanceof LaneClosedError) result = 'dropped';
      throw err;
    } finally {
      this.o.metrics?.podSync({ result, durationMs: performance.now() - started });
      const { namespace, name, uid } = parsePodKey(key);
      // A pod gone from the cache is forgotten once its sync is done (not when it was re-queued
      // because the apiserver still has it: an uncertain create must not be forgotten then).
      if (result === 'done' && this.o.pods.get(namespace, name)?.metadata?.uid !== uid) this.memory.forget(uid);
    }
  }

  /** Where the start-up adoption stands, for the nodes' readiness (provider/node/readiness.ts adoptionGate). */
  adoption(): { adopted: boolean; podsHeld: number; lastProgressAt?: number; lastListError?: string } {
    return {
      adopted: this.adopted,
      podsHeld: this.deferred.size,
      ...(this.adoptionProgressAt === undefined ? {} : { lastProgressAt: this.adoptionProgressAt }),
      ...(this.adoptionError === undefined ? {} : { lastListError: this.adoptionError }),
    };
  }

  /** Pods on this provider's nodes by phase (for the pods gauge, read at scrape time). */
  podsByPhase(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const pod of this.o.pods.list()) {
      const phase = pod.status?.phase ?? 'Pending';
      counts[phase] = (counts[phase] ?? 0) + 1;
    }
    return counts;
  }

  /** podsFromKubernetes: any change to a pod of ours. */
  enqueue(pod: V1Pod): void {
    if (this.stopped) return;
    const key = podKeyOf(pod);
    const keyString = podKeyString(key);
    const memory = this.memory.of(key.uid);
    memory.queueKey = keyString;
    // The end of `pod.schedule`: when the watch delivered the pod on our node, before any wait in the queue.
    if (pod.spec?.nodeName && pod.metadata?.deletionTimestamp == null && pod.status?.phase !== 'Running') memory.boundSeenAt ??= nowMs();
    // A pod queued from a page stays queueable: its group can leave the index (found gone) before
    // the list ends, and endAdoption skips the pods it queued.
    if (!this.adopted && !this.queuedWhileAdopting.has(key.uid) && this.groups.forPod(key.uid) === undefined) {
      this.deferred.set(key.uid, keyString);
      return;
    }
    this.queue.add(keyString);
  }

  /**
   * Queues the pod a group belongs to, by the pod-UID tag. Only pods the informers have shown us
   * are queued: a group whose pod we never saw is the orphan collector's business (with its grace
   * period), never a reason to delete at once. (The name tag cannot serve as a key: long names
   * are shortened with a hash to fit ECI's tag limits.)
   */
  private enqueueGroupOwner(group: { tags: Record<string, string> }): void {
    const uid = group.tags[GROUP_TAGS.podUid];
    if (uid !== undefined) this.wake(uid);
  }

  /** Queues a pod the informers showed us, by UID, as a follow-up (its group changed, a look at it answered). */
  private wake(uid: string): void {
    const key = this.memory.peek(uid)?.queueKey;
    if (key !== undefined && !this.stopped) this.queue.add(key, { soon: true });
  }

  /**
   * Pods with no group yet that may be waiting on this PodNetworking: those that name it, and
   * those without the annotation that wait or were refused (the sync matched them by selector).
   */
  waitingOn(podNetworking: string): V1Pod[] {
    return this.o.pods.list().filter((pod) => {
      if (this.groups.forPod(pod.metadata?.uid ?? '') !== undefined) return false;
      const named = pod.metadata?.annotations?.[ANNOTATIONS.podNetworking];
      if (named !== undefined && named !== '') return named === podNetworking;
      return pod.status?.conditions?.some((c) => c.type === PROVISIONED_CONDITION && c.status === 'False') === true;
    });
  }

  /**
   * Adopts existing groups (retrying until the cloud answers), then starts the loops. A pod whose
   * group arrives with a page of the list is synced at once (a restart repairs its pods while the
   * list goes on); every other pod waits until the whole list is in the index.
   */
  async start(signal: AbortSignal): Promise<void> {
    const startedAt = Date.now();
    this.sync.beginSyncing();
    for (const pod of this.o.pods.list()) {
      const key = podKeyOf(pod);
      this.memory.of(key.uid).queueKey = podKeyString(key);
    }
    this.adoptionProgressAt = startedAt;
    const onPage = (groups: readonly ContainerGroup[]): void => {
      // A page is progress: a long list (500 pages at 10,000 groups on real ECI) keeps the nodes Ready.
      this.adoptionProgressAt = Date.now();
      for (const group of groups) {
        const uid = this.groups.put(group);
        const key = uid === undefined ? undefined : this.memory.peek(uid)?.queueKey;
        if (uid === undefined || key === undefined || this.stopped) continue;
        this.queuedWhileAdopting.add(uid);
        this.deferred.delete(uid);
        this.queue.add(key);
      }
    };
    // The status poll asks for changes since the list BEGAN: a group that changed after its page
    // was read (500 pages at 10,000 groups) is then still seen.
    let listedFrom = Date.now();
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        listedFrom = Date.now();
        await this.relist({ onPage });
        this.adoptionError = undefined;
        this.o.log.info('adopted the existing container groups', { groups: this.groups.size, attempts: attempt, ms: Date.now() - startedAt });
        break;
      } catch (err) {
        this.adoptionError = errorText(err);
        // The pods bound meanwhile get no status or event until the list succeeds: count them.
        this.o.log.warn('listing existing container groups failed; retrying before any create', { attempt, error: this.adoptionError, podsHeld: this.deferred.size });
        await sleep(backoffDelay(attempt, { baseMs: 1_000, maxMs: 30_000, jitter: 0 }), signal);
      }
    }
    this.lastStatusPoll = listedFrom;
    this.every(this.o.statusPollIntervalMs, () => this.pollStatus());
    this.every(this.o.resyncIntervalMs, async () => {
      await this.relist();
      for (const pod of this.o.pods.list()) this.enqueue(pod);
    });
    signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.queue.shutDown();
  }

  /** statusFromCloud: only groups whose status changed since the last poll, batched. */
  async pollStatus(): Promise<void> {
    const startedAt = Date.now();
    // Look back over the whole gap since the last successful poll, plus a margin for clock skew.
    const sinceSeconds = Math.ceil((startedAt - this.lastStatusPoll) / 1000) + 5;
    const changed = await this.o.cloud.listChangedContainerGroups(this.clusterTags, sinceSeconds);
    // Consecutive polls look back over overlapping windows: describe a group only when the status
    // the cloud reports for it is not the one we described last time.
    const fresh = changed.filter((c) => this.describedFingerprints.get(c.id) !== c.fingerprint);
    // One describe per DESCRIBE_BATCH_MAX ids, all sent at once (the cloud caller paces them), and
    // each batch's pods queued as soon as its answer lands: one call for every id ran the batches
    // one after another and queued no pod before the last answered, which at 100 pods/s kept pods
    // seconds behind their groups. A failed batch is described again by the next poll.
    const batches: (typeof fresh)[] = [];
    for (let i = 0; i < fresh.length; i += DESCRIBE_BATCH_MAX) batches.push(fresh.slice(i, i + DESCRIBE_BATCH_MAX));
    await Promise.all(
      batches.map(async (batch) => {
        const groups = await this.o.cloud.describeContainerGroups(batch.map((c) => c.id));
        for (const c of batch) this.describedFingerprints.set(c.id, c.fingerprint);
        for (const group of groups) {
          this.groups.put(group);
          this.enqueueGroupOwner(group);
        }
      }),
    );
    this.lastStatusPoll = startedAt;
  }

  /**
   * A full list: refreshes the index, notices vanished groups, collects orphans. The first that
   * completes ends adoption (pods held back until then are queued by `start`).
   */
  async relist(options: { onPage?: (groups: readonly ContainerGroup[]) => void } = {}): Promise<void> {
    const groups = await this.o.cloud.listContainerGroups(this.clusterTags, options.onPage === undefined ? undefined : { onPage: options.onPage });
    const listed = new Set<string>();
    for (const group of groups) {
      listed.add(group.id);
      this.groups.put(group);
    }
    if (!this.adopted) this.endAdoption();
    for (const id of [...this.describedFingerprints.keys()]) if (!listed.has(id)) this.describedFingerprints.delete(id);
    for (const group of [...this.groups.all()]) {
      if (listed.has(group.id)) continue;
      // Gone from a complete list: forget it; the pod's next sync confirms by id and reacts.
      const uid = this.groups.podUidOf(group.id);
      if (uid !== undefined) this.groups.forget(uid);
      this.enqueueGroupOwner(group);
    }
    await this.collectOrphans(groups);
  }

  /**
   * The index holds every group: queue every pod the start-up list's pages did not queue, and
   * every pod held back meanwhile (also one that left the cache since: its sync asks the
   * apiserver before its group goes).
   */
  private endAdoption(): void {
    this.adopted = true;
    const cached = new Set<string>();
    for (const pod of this.o.pods.list()) {
      const uid = pod.metadata?.uid ?? '';
      cached.add(uid);
      if (!this.queuedWhileAdopting.has(uid)) this.enqueue(pod);
    }
    // Queued once: a second add of a key whose run has begun would run it twice.
    for (const [uid, key] of this.deferred) if (!cached.has(uid)) this.queue.add(key);
    this.deferred.clear();
    this.queuedWhileAdopting.clear();
  }

  private async collectOrphans(groups: readonly { id: string; tags: Record<string, string>; status: string; creationTime?: string }[]): Promise<void> {
    // A pod cache that has not listed yet (a node added moments ago, a re-list under load) makes
    // its pods' groups look orphaned: judge nothing until every cache has listed.
    if (!this.o.podsSynced()) {
      this.o.log.info('orphan collection skipped: a pod cache has not listed yet', {});
      return;
    }
    const pods = this.o.pods.list();
    const podUids = new Set(pods.map((p) => p.metadata?.uid ?? ''));
    const recorded = new Map(pods.map((p) => [p.metadata?.uid ?? '', recordedGroupId(p)]));
    // A second group of one pod is collected like an orphan (after the same grace period).
    const surplus = new Set(surplusGroups(groups, (uid) => recorded.get(uid) ?? this.groups.forPod(uid)?.id));
    const now = Date.now();
    const stillOrphaned = new Set<string>();
    for (const group of groups) {
      const uid = group.tags[GROUP_TAGS.podUid];
      if (uid !== undefined && podUids.has(uid) && !surplus.has(group.id)) continue;
      if (group.status === 'Terminating') continue;
      stillOrphaned.add(group.id);
      const since = this.orphanSince.get(group.id) ?? now;
      this.orphanSince.set(group.id, since);
      if (now - since < this.o.orphanGracePeriodMs) continue;
      try {
        // A pod the caches do not show (an orphan's, or a surplus group's whose pod seems gone):
        // the apiserver decides.
        if (uid !== undefined && !podUids.has(uid) && (await this.podStillExists(group.tags, uid))) continue;
        await this.o.cloud.deleteContainerGroup(group.id);
        if (surplus.has(group.id)) {
          // The index may hold the deleted one (last listed wins): the next sync looks again.
          if (uid !== undefined && this.groups.forPod(uid)?.id === group.id) this.groups.forget(uid);
          this.o.log.warn('deleted a second container group of one pod (an earlier create landed unseen)', { containerGroupId: group.id, podUid: uid });
        } else {
          if (uid !== undefined) this.groups.forget(uid);
          this.o.log.info('deleted orphaned container group (no pod of this cluster owns it)', { containerGroupId: group.id, podUid: uid });
        }
      } catch (err) {
        this.o.log.warn('deleting orphaned container group failed; will retry', { containerGroupId: group.id, error: errorText(err) });
      }
    }
    for (const id of [...this.orphanSince.keys()]) if (!stillOrphaned.has(id)) this.orphanSince.delete(id);
  }

  /**
   * The apiserver's word on a pod the caches do not hold. Found: the cache lags (its group is kept
   * and the pod queued when the cache shows it); the deletion waits for the next round.
   */
  private async podStillExists(tags: Record<string, string>, uid: string): Promise<boolean> {
    const namespace = tags[GROUP_TAGS.namespace];
    if (namespace === undefined) return false;
    const nameTag = tags[GROUP_TAGS.pod];
    // A tag at ECI's length limit may be a name cut with a hash: the lookup lists the namespace then.
    const name = nameTag !== undefined && nameTag.length < TAG_VALUE_MAX ? nameTag : undefined;
    const exists = await this.o.podLookup.podExists({ namespace, name, uid });
    if (exists) this.o.log.warn('a container group looked orphaned but its pod exists (the pod cache lags); kept', { namespace, pod: nameTag, podUid: uid });
    return exists;
  }

  private every(ms: number, fn: () => Promise<void>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running || this.stopped) return;
      running = true;
      fn()
        .catch((err: unknown) => this.o.log.warn('periodic cloud sync failed; next round retries', { error: errorText(err) }))
        .finally(() => (running = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
