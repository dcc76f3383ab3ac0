// Container group lifecycle: Scheduling -> Pending -> Running (-> Succeeded | Failed), with
// container states, restart counts, events and logs as ECI reports them, driven by one min-heap
// scheduler (one timer for the whole simulator, not one per group).
//
// Conventions (docs/cloudsim.md, "Making containers misbehave"), by image name, with or without
// a registry in front (`registry.example.com/sim/exit:3` works too):
//   sim/exit:N        runs `exitAfterMs`, then exits with code N (sim/exit = code 0)
//   sim/crashloop[:N] runs `exitAfterMs`, exits with code N (default 1); restarted per
//                     RestartPolicy with a doubling back-off (CrashLoopBackOff)
//   sim/pull-fail     the image never pulls: ErrImagePull <-> ImagePullBackOff, group Pending
//   anything else     runs until deleted
// Env `SIM_RUN_MS` on a container overrides `exitAfterMs`; env `SIM_LOG` lines are written to the
// container's log when it starts; a container whose command is `echo ...` logs its arguments.
//
// Every transition happens at its due time, also when it is replayed late (after a restart of
// the simulator), so restored state is the state it would have had.

import type { LifecycleConfig } from './world.ts';
import type { ContainerRecord, ContainerState, GroupRecord, GroupStatus, Store } from './state.ts';

export interface Behavior {
  kind: 'run' | 'exit' | 'crashloop' | 'pullfail';
  exitCode: number;
  runMs: number;
}

const IMAGE_CONVENTION = /(?:^|\/)sim\/(exit|crashloop|pull-fail)(?::([^/@]+))?(?:@.*)?$/;

export function behaviorOf(c: { image: string; env: { key: string; value?: string }[] }, life: LifecycleConfig): Behavior {
  const runEnv = c.env.find((e) => e.key === 'SIM_RUN_MS')?.value;
  const runMs = runEnv !== undefined && Number.isFinite(Number(runEnv)) && Number(runEnv) >= 0 ? Number(runEnv) : life.exitAfterMs;
  const m = IMAGE_CONVENTION.exec(c.image);
  if (m === null) return { kind: 'run', exitCode: 0, runMs };
  const tagCode = m[2] !== undefined && /^\d{1,3}$/.test(m[2]) ? Number(m[2]) : undefined;
  switch (m[1]) {
    case 'exit':
      return { kind: 'exit', exitCode: tagCode ?? 0, runMs };
    case 'crashloop':
      return { kind: 'crashloop', exitCode: tagCode ?? 1, runMs };
    default:
      return { kind: 'pullfail', exitCode: 0, runMs };
  }
}

const PULL_AUTH_MESSAGE = (image: string): string => `pull access denied for ${image}: unauthorized: authentication required (cloudsim realism)`;

const MAX_EVENTS = 64;
const MAX_LOG_LINES = 1000;
const MAX_STEPS_PER_ADVANCE = 256;

export function addEvent(g: GroupRecord, t: number, type: 'Normal' | 'Warning', reason: string, message: string, container?: string): void {
  for (let i = g.events.length - 1; i >= Math.max(0, g.events.length - 8); i--) {
    const e = g.events[i]!;
    if (e.reason === reason && e.message === message && e.container === container) {
      e.count++;
      e.last = t;
      return;
    }
  }
  const e = { type, reason, message, count: 1, first: t, last: t, ...(container === undefined ? {} : { container }) };
  g.events.push(e);
  if (g.events.length > MAX_EVENTS) g.events.splice(0, g.events.length - MAX_EVENTS);
}

function addLog(c: ContainerRecord, t: number, text: string): void {
  c.logs.push([t, text]);
  if (c.logs.length > MAX_LOG_LINES) c.logs.splice(0, c.logs.length - MAX_LOG_LINES);
}

interface Entry {
  at: number;
  id: string;
  gen: number;
}

/** A binary min-heap of wake-ups with lazy cancellation (a newer generation wins). */
class WakeHeap {
  private readonly a: Entry[] = [];

  get size(): number {
    return this.a.length;
  }

  peek(): Entry | undefined {
    return this.a[0];
  }

  push(e: Entry): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= e.at) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = e;
  }

  pop(): Entry | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]!.at < a[l]!.at ? r : l;
        if (a[c]!.at >= last.at) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }

  clear(): void {
    this.a.length = 0;
  }
}

export interface LifecycleOptions {
  store: Store;
  config: () => LifecycleConfig;
  now: () => number;
  /** A group changed without a journal record (the snapshot will hold it). */
  onChange: (g: GroupRecord) => void;
  /** A Terminating group is gone: free its IP and forget it. */
  onRemove: (g: GroupRecord) => void;
}

export class Lifecycle {
  private readonly opts: LifecycleOptions;
  private readonly heap = new WakeHeap();
  private readonly gens = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stopped = false;

  constructor(opts: LifecycleOptions) {
    this.opts = opts;
  }

  get pendingWakeups(): number {
    return this.heap.size;
  }

  /** A new group: Scheduling until `schedulingMs` after creation. */
  admit(g: GroupRecord, t: number): void {
    const life = this.opts.config();
    g.status = 'Scheduling';
    g.stage = 'scheduling';
    g.dueAt = t + life.schedulingMs;
    for (const c of g.containers) waitFor(c, 'ContainerCreating');
    for (const c of g.initContainers) waitFor(c, 'PodInitializing');
    this.arm(g);
  }

  /** (Re)schedules a group's next wake-up from its stored due times. */
  arm(g: GroupRecord): void {
    if (this.stopped) return;
    const at = nextWake(g);
    if (at === undefined) {
      this.gens.delete(g.id);
      return;
    }
    const gen = (this.gens.get(g.id) ?? 0) + 1;
    this.gens.set(g.id, gen);
    this.heap.push({ at, id: g.id, gen });
    if (at < this.timerAt) this.armTimer();
  }

  forget(id: string): void {
    this.gens.delete(id);
  }

  private armTimer(): void {
    const top = this.heap.peek();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    if (top === undefined || this.stopped) return;
    this.timerAt = top.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.min(top.at - this.opts.now(), 2 ** 31 - 1)));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.opts.now();
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.at > now) break;
      this.heap.pop();
      if (this.gens.get(top.id) !== top.gen) continue;
      this.gens.delete(top.id);
      const g = this.opts.store.groups.get(top.id);
      if (g !== undefined) this.advance(g, now);
    }
    this.armTimer();
  }

  /** Applies every transition due at or before `now`, each at its own due time. */
  advance(g: GroupRecord, now: number): void {
    let changed = false;
    for (let step = 0; step < MAX_STEPS_PER_ADVANCE; step++) {
      const t = nextWake(g);
      if (t === undefined || t > now) break;
      changed = true;
      if (g.ipAt === t && g.ipAnnounced !== true) {
        // Realism: the IP and ENI appear now; a change, so SinceSecond polls report it.
        g.ipAnnounced = true;
      } else if (g.notice !== undefined && g.notice.at === t) {
        addEvent(g, t, 'Warning', g.notice.reason, g.notice.message);
        g.notice = undefined;
      } else if (g.forced !== undefined && g.forced.at === t) {
        this.applyForced(g, t);
      } else if (g.dueAt === t) {
        if (this.stageStep(g, t) === 'removed') return;
      } else {
        const c = g.containers.find((x) => x.dueAt === t);
        if (c === undefined) break;
        this.containerStep(g, c, t);
      }
    }
    if (changed) {
      this.opts.store.touch(g, now);
      this.opts.onChange(g);
    }
    this.arm(g);
  }

  private stageStep(g: GroupRecord, t: number): 'removed' | undefined {
    const life = this.opts.config();
    g.dueAt = undefined;
    switch (g.stage) {
      case 'scheduling':
      case 'restarting':
      case 'updating':
        setStatus(g, 'Pending', t);
        if (g.stage === 'scheduling') addEvent(g, t, 'Normal', 'Scheduled', `Successfully assigned ${g.id} to ${g.zoneId} (vSwitch ${g.vSwitchId}, IP ${g.ip})`);
        g.stage = 'pending';
        g.dueAt = t + life.pendingMs;
        for (const c of g.containers) {
          waitFor(c, 'ContainerCreating');
          addEvent(g, t, 'Normal', 'Pulling', `Pulling image "${c.spec.image}"`, c.spec.name);
        }
        return undefined;
      case 'pending':
        g.stage = 'running';
        for (const c of g.initContainers) {
          c.state = { State: 'Terminated', Reason: 'Completed', ExitCode: 0, StartTime: t, FinishTime: t };
          c.phase = 'exited';
        }
        for (const c of g.containers) this.startContainer(g, c, t, false);
        this.settleStatus(g, t);
        return undefined;
      case 'terminating':
        this.forget(g.id);
        this.opts.onRemove(g);
        return 'removed';
      default:
        return undefined;
    }
  }

  private startContainer(g: GroupRecord, c: ContainerRecord, t: number, isRestart: boolean): void {
    const life = this.opts.config();
    const b = behaviorOf(c.spec, life);
    const name = c.spec.name;
    if (c.pullAuthFail === true) {
      c.phase = 'pullfail';
      c.ready = false;
      c.state = { State: 'Waiting', Reason: 'ErrImagePull', Message: PULL_AUTH_MESSAGE(c.spec.image) };
      c.dueAt = t + life.pullRetryMs;
      addEvent(g, t, 'Warning', 'Failed', `Failed to pull image "${c.spec.image}": ${PULL_AUTH_MESSAGE(c.spec.image)}`, name);
      return;
    }
    if (b.kind === 'pullfail') {
      c.phase = 'pullfail';
      c.ready = false;
      c.state = { State: 'Waiting', Reason: 'ErrImagePull', Message: `failed to pull and unpack image "${c.spec.image}": not found (cloudsim sim/pull-fail)` };
      c.dueAt = t + life.pullRetryMs;
      addEvent(g, t, 'Warning', 'Failed', `Failed to pull image "${c.spec.image}": not found (cloudsim sim/pull-fail)`, name);
      return;
    }
    if (!isRestart) {
      addEvent(g, t, 'Normal', 'Pulled', `Successfully pulled image "${c.spec.image}"`, name);
      addEvent(g, t, 'Normal', 'Created', `Created container ${name}`, name);
    }
    addEvent(g, t, 'Normal', 'Started', `Started container ${name}`, name);
    c.phase = 'running';
    c.ready = true;
    c.state = { State: 'Running', StartTime: t };
    addLog(c, t, `[cloudsim] container ${name} started (image ${c.spec.image})`);
    const logEnv = c.spec.env.find((e) => e.key === 'SIM_LOG')?.value;
    if (logEnv !== undefined) for (const line of logEnv.split('\n')) addLog(c, t, line);
    if (c.spec.commands[0] === 'echo') addLog(c, t, [...c.spec.commands.slice(1), ...c.spec.args].join(' '));
    c.dueAt = b.kind === 'run' ? undefined : t + b.runMs;
  }

  private containerStep(g: GroupRecord, c: ContainerRecord, t: number): void {
    const life = this.opts.config();
    c.dueAt = undefined;
    const name = c.spec.name;
    switch (c.phase) {
      case 'running': {
        const code = behaviorOf(c.spec, life).exitCode;
        const term: ContainerState = { State: 'Terminated', ExitCode: code, Reason: code === 0 ? 'Completed' : 'Error', FinishTime: t };
        if (c.state.StartTime !== undefined) term.StartTime = c.state.StartTime;
        addLog(c, t, `[cloudsim] container ${name} exited with code ${code}`);
        c.ready = false;
        const restart = g.restartPolicy === 'Always' || (g.restartPolicy === 'OnFailure' && code !== 0);
        if (restart) {
          c.previous = term;
          c.phase = 'backoff';
          c.state = { State: 'Waiting', Reason: 'CrashLoopBackOff', Message: `back-off ${Math.round(c.backoffMs / 1000)}s restarting failed container=${name} pod=${g.name}` };
          c.dueAt = t + c.backoffMs;
          addEvent(g, t, 'Warning', 'BackOff', `Back-off restarting failed container ${name}`, name);
          c.backoffMs = Math.min(Math.max(1, c.backoffMs * 2), life.crashBackoffMaxMs);
        } else {
          c.phase = 'exited';
          c.state = term;
        }
        break;
      }
      case 'backoff':
        c.restartCount++;
        c.previousLogs = c.logs;
        c.logs = [];
        this.startContainer(g, c, t, true);
        break;
      case 'pullfail':
        if (c.state.Reason === 'ErrImagePull') {
          c.state = { State: 'Waiting', Reason: 'ImagePullBackOff', Message: `Back-off pulling image "${c.spec.image}"` };
          addEvent(g, t, 'Normal', 'BackOff', `Back-off pulling image "${c.spec.image}"`, name);
        } else {
          const why = c.pullAuthFail === true ? PULL_AUTH_MESSAGE(c.spec.image) : 'not found (cloudsim sim/pull-fail)';
          c.state = { State: 'Waiting', Reason: 'ErrImagePull', Message: `failed to pull and unpack image "${c.spec.image}": ${why}` };
          addEvent(g, t, 'Warning', 'Failed', `Failed to pull image "${c.spec.image}": ${why}`, name);
        }
        c.dueAt = t + life.pullRetryMs;
        break;
      default:
        break;
    }
    this.settleStatus(g, t);
  }

  /** Group status from its containers while running. */
  private settleStatus(g: GroupRecord, t: number): void {
    if (g.stage !== 'running') return;
    if (g.containers.every((c) => c.phase === 'exited')) {
      const ok = g.containers.every((c) => c.state.ExitCode === 0);
      setStatus(g, ok ? 'Succeeded' : 'Failed', t);
      g.stage = 'done';
      return;
    }
    setStatus(g, g.containers.some((c) => c.phase === 'pullfail') ? 'Pending' : 'Running', t);
  }

  private applyForced(g: GroupRecord, t: number): void {
    const f = g.forced!;
    g.forced = undefined;
    g.dueAt = undefined;
    g.stage = 'done';
    for (const c of [...g.containers, ...g.initContainers]) {
      c.dueAt = undefined;
      c.ready = false;
      if (f.status === 'ScheduleFailed') {
        c.state = { State: 'Waiting', Reason: f.reason, Message: f.message };
        c.phase = 'waiting';
      } else if (c.phase !== 'exited') {
        const code = f.status === 'Succeeded' ? 0 : 137;
        const term: ContainerState = { State: 'Terminated', ExitCode: code, Reason: f.status === 'Succeeded' ? 'Completed' : f.reason, Message: f.message, FinishTime: t };
        if (c.state.StartTime !== undefined) term.StartTime = c.state.StartTime;
        c.state = term;
        c.phase = 'exited';
      }
    }
    addEvent(g, t, f.status === 'Succeeded' ? 'Normal' : 'Warning', f.reason, f.message);
    setStatus(g, f.status, t);
  }

  /** Forces an end state now or at `at` (fault rules, admin API). */
  force(g: GroupRecord, status: 'Failed' | 'Expired' | 'ScheduleFailed' | 'Succeeded', reason: string, message: string, at: number): void {
    g.forced = { status, at, reason, message };
    this.advance(g, this.opts.now());
  }

  /** RestartContainerGroup: Restarting for `restartMs`, then Pending -> Running again. */
  restart(g: GroupRecord, t: number): void {
    const life = this.opts.config();
    for (const c of g.containers) {
      if (c.state.State === 'Running') {
        addEvent(g, t, 'Normal', 'Killing', `Stopping container ${c.spec.name}`, c.spec.name);
        c.previous = { State: 'Terminated', ExitCode: 0, Reason: 'Completed', StartTime: c.state.StartTime ?? t, FinishTime: t };
      }
      c.restartCount++;
      c.previousLogs = c.logs;
      c.logs = [];
      c.backoffMs = life.crashBackoffMs;
      waitFor(c, 'ContainerCreating');
    }
    addEvent(g, t, 'Normal', 'Restarting', `Restarting container group ${g.id}`);
    setStatus(g, 'Restarting', t);
    g.stage = 'restarting';
    g.dueAt = t + life.restartMs;
    this.opts.store.touch(g, this.opts.now());
    this.arm(g);
  }

  /** UpdateContainerGroup: the caller replaced the specs; Updating, then Pending -> Running. */
  update(g: GroupRecord, t: number): void {
    const life = this.opts.config();
    for (const c of g.containers) {
      c.backoffMs = life.crashBackoffMs;
      waitFor(c, 'ContainerCreating');
    }
    addEvent(g, t, 'Normal', 'Updating', `Updating container group ${g.id}`);
    setStatus(g, 'Updating', t);
    g.stage = 'updating';
    g.dueAt = t + life.updateMs;
    this.opts.store.touch(g, this.opts.now());
    this.arm(g);
  }

  /** DeleteContainerGroup with a grace period: Terminating, then gone. */
  terminate(g: GroupRecord, t: number): void {
    const life = this.opts.config();
    for (const c of g.containers) {
      c.dueAt = undefined;
      if (c.state.State === 'Running') addEvent(g, t, 'Normal', 'Killing', `Stopping container ${c.spec.name}`, c.spec.name);
    }
    g.forced = undefined;
    setStatus(g, 'Terminating', t);
    g.stage = 'terminating';
    g.dueAt = t + life.terminatingMs;
    this.opts.store.touch(g, this.opts.now());
    this.arm(g);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.clear();
    this.gens.clear();
  }
}

function waitFor(c: ContainerRecord, reason: string): void {
  c.phase = 'waiting';
  c.ready = false;
  c.dueAt = undefined;
  c.state = { State: 'Waiting', Reason: reason };
}

function setStatus(g: GroupRecord, status: GroupStatus, t: number): void {
  if (g.status === status) return;
  g.status = status;
  if (status === 'Running' && g.startedAt === undefined) g.startedAt = t;
  if (status === 'Succeeded') g.succeededAt = t;
  if (status === 'Failed' || status === 'ScheduleFailed') g.failedAt = t;
  if (status === 'Expired') g.expiredAt = t;
}

function nextWake(g: GroupRecord): number | undefined {
  let at = g.dueAt;
  if (g.forced !== undefined && (at === undefined || g.forced.at < at)) at = g.forced.at;
  if (g.notice !== undefined && (at === undefined || g.notice.at < at)) at = g.notice.at;
  if (g.ipAt !== undefined && g.ipAnnounced !== true && (at === undefined || g.ipAt < at)) at = g.ipAt;
  if (g.stage === 'running') {
    for (const c of g.containers) if (c.dueAt !== undefined && (at === undefined || c.dueAt < at)) at = c.dueAt;
  }
  return at;
}
