// The simulator's state: container groups as plain, JSON-serialisable records, plus the indexes
// that keep the hot paths O(1) or O(log n): by id, by ClientToken, by tag, creation order (for
// paging) and a change log ordered by time (for DescribeContainerGroupStatus SinceSecond).
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

export class Store {
  readonly groups = new Map<string, GroupRecord>();
  private readonly byToken = new Map<string, GroupRecord>();
  private readonly byTag = new Map<string, Set<string>>();
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
    for (const t of g.tags) this.indexTag(t.key, t.value, g.id);
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
    for (const t of g.tags) this.byTag.get(tagKey(t.key, t.value))?.delete(id);
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
    for (const t of g.tags) this.byTag.get(tagKey(t.key, t.value))?.delete(g.id);
    g.tags = tags;
    for (const t of tags) this.indexTag(t.key, t.value, g.id);
  }

  setCpu(g: GroupRecord, cpu: number): void {
    this.liveVcpu += cpu - g.cpu;
    g.cpu = cpu;
  }

  private indexTag(key: string, value: string, id: string): void {
    const k = tagKey(key, value);
    let set = this.byTag.get(k);
    if (set === undefined) {
      set = new Set();
      this.byTag.set(k, set);
    }
    set.add(id);
  }

  idsWithTag(key: string, value: string): ReadonlySet<string> {
    return this.byTag.get(tagKey(key, value)) ?? new Set();
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
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.order.length; i++) {
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
