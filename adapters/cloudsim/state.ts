// The simulator's state: container groups as plain, JSON-serialisable records, plus the indexes
// that keep the hot paths O(1) or O(log n): by id, by ClientToken, by tag (each tag's groups kept
// in creation order, so a tag-filtered page starts at its NextToken by binary search instead of
// sorting the tag's whole set), creation order (for paging) and a change log ordered by time (for
// DescribeContainerGroupStatus SinceSecond).
// Every mutation of a group goes through `touch`, which also invalidates its cached JSON so a
// snapshot re-serialises only the groups that changed.

import type { Nested } from './wire/params.ts';

export type GroupStatus =
  | 'Scheduling'
  | 'Pending'
  | 'Running'
  | 'Succeeded'
  | 'Failed'
  | 'ScheduleFailed'
  | 'Expired'
  | 'Restarting'
  | 'Updating'
  | 'Terminating';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface ContainerState {
  State: 'Waiting' | 'Running' | 'Terminated';
  Reason?: string;
  Message?: string;
  ExitCode?: number;
  StartTime?: number;
  FinishTime?: number;
  DetailStatus?: string;
}

export interface EnvVar {
  key: string;
  value?: string;
  fieldPath?: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  commands: string[];
  args: string[];
  env: EnvVar[];
  ports: { port: number; protocol: string }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  cpu: number;
  memory: number;
  gpu: number;
  workingDir?: string;
  imagePullPolicy?: string;
  stdin?: boolean;
  tty?: boolean;
  readinessProbe?: Nested;
  livenessProbe?: Nested;
  securityContext?: Nested;
}

/** Internal container phase driving the lifecycle (not on the wire). */
export type ContainerPhase = 'waiting' | 'running' | 'backoff' | 'pullfail' | 'exited';

export type LogLine = [at: number, text: string];

export interface ContainerRecord {
  spec: ContainerSpec;
  phase: ContainerPhase;
  ready: boolean;
  restartCount: number;
  state: ContainerState;
  previous?: ContainerState;
  /** Next container transition (ms since epoch). */
  dueAt?: number;
  backoffMs: number;
  /** Realism: the registry refuses the pull (authorization); never pulls. */
  pullAuthFail?: boolean;
  logs: LogLine[];
  previousLogs: LogLine[];
}

export interface EventRecord {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  count: number;
  first: number;
  last: number;
  container?: string;
}

export type GroupStage = 'scheduling' | 'pending' | 'running' | 'restarting' | 'updating' | 'terminating' | 'done';

export interface GroupRecord {
  seq: number;
  id: string;
  uuid: string;
  name: string;
  regionId: string;
  zoneId: string;
  vpcId: string;
  vSwitchId: string;
  securityGroupId: string;
  ip: string;
  eniId: string;
  cpu: number;
  memory: number;
  instanceType: string;
  restartPolicy: RestartPolicy;
  tags: { key: string; value: string }[];
  containers: ContainerRecord[];
  initContainers: ContainerRecord[];
  volumes: Nested[];
  extra: Record<string, Nested>;
  clientToken?: string;
  paramsHash?: string;
  status: GroupStatus;
  stage: GroupStage;
  /** Next group-level transition. */
  dueAt?: number;
  /** A forced end state (fault rule, ActiveDeadlineSeconds, admin API). */
  forced?: { status: 'Failed' | 'Expired' | 'ScheduleFailed' | 'Succeeded'; at: number; reason: string; message: string };
  /** Realism: a warning event due at `at` (SpotToBeReleased before a reclaim). */
  notice?: { at: number; reason: string; message: string };
  /** Realism `listLagMs`: not listed or described before this time. */
  visibleAt?: number;
  /** Realism `ipAssignDelayMs`: IP and ENI not reported before this time. */
  ipAt?: number;
  /** The IP's appearance was recorded as a change (a lifecycle wake-up at `ipAt`). */
  ipAnnounced?: boolean;
  createdAt: number;
  /** When the status or a container state last changed. */
  changedAt: number;
  startedAt?: number;
  succeededAt?: number;
  failedAt?: number;
  expiredAt?: number;
  events: EventRecord[];
}

const tagKey = (key: string, value: string): string => `${key}\u0000${value}`;

/**
 * The groups carrying one tag: `ids` is the exact membership, `order` the same groups in seq
 * order with entries of removed or retagged groups left in place (`stale`) until compaction.
 * `unsorted` when an insertion broke the order (a retag, a load out of order): rebuilt on read.
 */
interface TagIndex {
  ids: Set<string>;
  order: GroupRecord[];
  stale: number;
  unsorted: boolean;
}

/** First index of `order` whose seq is greater than `afterSeq`. */
function firstAfter(order: readonly GroupRecord[], afterSeq: number): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order[mid]!.seq <= afterSeq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Store {
  readonly groups = new Map<string, GroupRecord>();
  private readonly byToken = new Map<string, GroupRecord>();
  private readonly byTag = new Map<string, TagIndex>();
  /** Groups in creation (seq) order; deleted entries stay until compaction. */
  private order: GroupRecord[] = [];
  private holes = 0;
  /** (time noticed, id) in time order; duplicates allowed until compaction keeps the latest per group. */
  private changes: { at: number; id: string }[] = [];
  private readonly json = new WeakMap<GroupRecord, string>();
  nextSeq = 1;
  liveVcpu = 0;

  get size(): number {
    return this.groups.size;
  }

  add(g: GroupRecord, now: number): void {
    this.groups.set(g.id, g);
    if (g.clientToken !== undefined) this.byToken.set(g.clientToken, g);
    for (const t of g.tags) this.indexTag(t.key, t.value, g);
    if (this.order.length > 0 && this.order[this.order.length - 1]!.seq > g.seq) {
      this.order.push(g);
      this.order.sort((a, b) => a.seq - b.seq);
    } else {
      this.order.push(g);
    }
    if (g.seq >= this.nextSeq) this.nextSeq = g.seq + 1;
    this.liveVcpu += g.cpu;
    this.changes.push({ at: now, id: g.id });
  }

  remove(id: string): GroupRecord | undefined {
    const g = this.groups.get(id);
    if (g === undefined) return undefined;
    this.groups.delete(id);
    if (g.clientToken !== undefined && this.byToken.get(g.clientToken) === g) this.byToken.delete(g.clientToken);
    for (const t of g.tags) this.unindexTag(t.key, t.value, id);
    this.liveVcpu -= g.cpu;
    this.holes++;
    if (this.holes > 1024 && this.holes > this.order.length / 2) {
      this.order = this.order.filter((x) => this.groups.get(x.id) === x);
      this.holes = 0;
    }
    return g;
  }

  byClientToken(token: string): GroupRecord | undefined {
    return this.byToken.get(token);
  }

  /** Replaces a group's tags, keeping the tag index right. */
  setTags(g: GroupRecord, tags: { key: string; value: string }[]): void {
    const kept = new Set(tags.map((t) => tagKey(t.key, t.value)));
    for (const t of g.tags) if (!kept.has(tagKey(t.key, t.value))) this.unindexTag(t.key, t.value, g.id);
    g.tags = tags;
    // A tag the group had before may still have its stale entry in the order: rebuilt on read.
    for (const t of tags) this.indexTag(t.key, t.value, g, true);
  }

  setCpu(g: GroupRecord, cpu: number): void {
    this.liveVcpu += cpu - g.cpu;
    g.cpu = cpu;
  }

  private indexTag(key: string, value: string, g: GroupRecord, retag = false): void {
    const k = tagKey(key, value);
    let index = this.byTag.get(k);
    if (index === undefined) {
      index = { ids: new Set(), order: [], stale: 0, unsorted: false };
      this.byTag.set(k, index);
    }
    if (index.ids.has(g.id)) return;
    index.ids.add(g.id);
    const last = index.order[index.order.length - 1];
    // A retag (a stale entry of the group may remain) or a group older than the last: the order
    // is rebuilt from `ids` on the next read.
    if (retag || (last !== undefined && last.seq >= g.seq)) index.unsorted = true;
    if (!index.unsorted) index.order.push(g);
  }

  private unindexTag(key: string, value: string, id: string): void {
    const index = this.byTag.get(tagKey(key, value));
    if (index === undefined || !index.ids.delete(id)) return;
    if (index.ids.size === 0) {
      this.byTag.delete(tagKey(key, value));
      return;
    }
    index.stale++;
    if (index.stale > 1024 && index.stale > index.order.length / 2) index.unsorted = true;
  }

  /** A tag's index with `order` exact (rebuilt when retags, loads or removals disturbed it). */
  private tagIndex(key: string, value: string): TagIndex | undefined {
    const index = this.byTag.get(tagKey(key, value));
    if (index === undefined || !index.unsorted) return index;
    index.order = [...index.ids].map((id) => this.groups.get(id)!).sort((a, b) => a.seq - b.seq);
    index.stale = 0;
    index.unsorted = false;
    return index;
  }

  /** How many live groups carry the tag. */
  countWithTag(key: string, value: string): number {
    return this.byTag.get(tagKey(key, value))?.ids.size ?? 0;
  }

  /** Live groups carrying the tag, in creation order, starting after `afterSeq`. */
  *withTag(key: string, value: string, afterSeq = 0): Generator<GroupRecord> {
    const index = this.tagIndex(key, value);
    if (index === undefined) return;
    const { ids, order } = index;
    for (let i = firstAfter(order, afterSeq); i < order.length; i++) {
      const g = order[i]!;
      if (ids.has(g.id) && this.groups.get(g.id) === g) yield g;
    }
  }

  /** Records that a group's observable state changed (call after every mutation). */
  touch(g: GroupRecord, now: number): void {
    g.changedAt = now;
    this.json.delete(g);
    this.changes.push({ at: now, id: g.id });
    if (this.changes.length > 100_000 && this.changes.length > 4 * this.groups.size) this.compactChanges();
  }

  /** Invalidates the cached JSON without counting as a status change (events, logs). */
  dirty(g: GroupRecord): void {
    this.json.delete(g);
  }

  serialized(g: GroupRecord): string {
    let s = this.json.get(g);
    if (s === undefined) {
      s = JSON.stringify(g);
      this.json.set(g, s);
    }
    return s;
  }

  /** Live groups in creation order, starting after `afterSeq`. */
  *inOrder(afterSeq = 0): Generator<GroupRecord> {
    for (let i = firstAfter(this.order, afterSeq); i < this.order.length; i++) {
      const g = this.order[i]!;
      if (this.groups.get(g.id) === g) yield g;
    }
  }

  /** Ids of live groups whose state changed at or after `since`, in order of their last change. */
  changedSince(since: number): GroupRecord[] {
    let lo = 0;
    let hi = this.changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.changes[mid]!.at < since) lo = mid + 1;
      else hi = mid;
    }
    const seen = new Set<string>();
    const out: GroupRecord[] = [];
    for (let i = lo; i < this.changes.length; i++) {
      const id = this.changes[i]!.id;
      if (seen.has(id)) continue;
      seen.add(id);
      const g = this.groups.get(id);
      if (g !== undefined) out.push(g);
    }
    return out;
  }

  /** Keeps only the latest entry of each live group (amortised O(1) per change). */
  private compactChanges(): void {
    const latest = new Map<string, number>();
    for (let i = 0; i < this.changes.length; i++) latest.set(this.changes[i]!.id, i);
    const kept: { at: number; id: string }[] = [];
    for (let i = 0; i < this.changes.length; i++) {
      const c = this.changes[i]!;
      if (latest.get(c.id) === i && this.groups.has(c.id)) kept.push(c);
    }
    this.changes = kept;
  }

  /** Rebuilds the change log from the groups' own `changedAt` (after loading state). */
  seedChanges(): void {
    this.changes = [...this.groups.values()].sort((a, b) => a.changedAt - b.changedAt).map((g) => ({ at: g.changedAt, id: g.id }));
  }

  clear(): void {
    this.groups.clear();
    this.byToken.clear();
    this.byTag.clear();
    this.order = [];
    this.holes = 0;
    this.changes = [];
    this.liveVcpu = 0;
  }
}
