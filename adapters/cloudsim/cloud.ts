// The simulated cloud: the world (network layout), the groups (state + indexes), IPAM, the
// lifecycle scheduler, fault injection, rate limits and persistence, wired together. Actions
// (actions/*.ts) and the admin API work on this object; the HTTP layers know nothing of it
// beyond dispatching.

import { Faults } from './faults.ts';
import { VSwitchPool, parseCidr } from './ipam.ts';
import { Lifecycle } from './lifecycle.ts';
import { Persistence, loadState } from './persistence.ts';
import type { JournalRecord } from './persistence.ts';
import { RateLimiter } from './ratelimit.ts';
import { Realism } from './realism.ts';
import { Store } from './state.ts';
import type { GroupRecord } from './state.ts';
import type { LifecycleConfig, SecurityGroupDef, VSwitchDef, VpcDef, World } from './world.ts';

export interface CloudOptions {
  world: World;
  stateFile?: string;
  now?: () => number;
  log?: (message: string) => void;
}

export class Cloud {
  readonly world: World;
  readonly store = new Store();
  readonly vpcs = new Map<string, VpcDef>();
  readonly vSwitches = new Map<string, VSwitchDef>();
  readonly securityGroups = new Map<string, SecurityGroupDef>();
  readonly pools = new Map<string, VSwitchPool>();
  readonly lifecycle: Lifecycle;
  readonly faults: Faults;
  readonly limiter: RateLimiter;
  readonly realism: Realism<GroupRecord>;
  private retentionTimer: NodeJS.Timeout | undefined;
  readonly now: () => number;
  readonly log: (message: string) => void;
  lifecycleConfig: LifecycleConfig;
  private persistence: Persistence | undefined;

  private constructor(opts: CloudOptions) {
    this.world = opts.world;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? ((m) => console.error(m));
    this.lifecycleConfig = { ...opts.world.lifecycle };
    for (const v of opts.world.vpcs) this.vpcs.set(v.id, v);
    for (const s of opts.world.securityGroups) this.securityGroups.set(s.id, s);
    for (const v of opts.world.vSwitches) {
      this.vSwitches.set(v.id, v);
      const cidr = parseCidr(v.cidr);
      if (typeof cidr === 'string') throw new Error(`vSwitch ${v.id}: ${cidr}`);
      this.pools.set(v.id, new VSwitchPool(cidr));
    }
    this.faults = new Faults(structuredClone(opts.world.faults));
    this.realism = new Realism(structuredClone(opts.world.realism));
    this.limiter = new RateLimiter(structuredClone(opts.world.rateLimits), opts.world.realism.rateWindows ? opts.world.realism.rateWindowMs : undefined);
    this.startRetention();
    this.lifecycle = new Lifecycle({
      store: this.store,
      config: () => this.lifecycleConfig,
      now: this.now,
      onChange: () => this.persistence?.markDirty(),
      onRemove: (g) => {
        this.dropGroup(g, true);
        void this.commit({ op: 'del', id: g.id }).catch(() => undefined);
      },
    });
  }

  /** Builds the cloud, loading `stateFile` (snapshot + journal) if it exists. */
  static async open(opts: CloudOptions): Promise<Cloud> {
    const cloud = new Cloud(opts);
    if (opts.stateFile === undefined) return cloud;
    const loaded = await loadState(opts.stateFile);
    const groups = new Map<string, GroupRecord>();
    for (const g of loaded.groups) groups.set((g as GroupRecord).id, g as GroupRecord);
    for (const r of loaded.journal) {
      if (r.op === 'put') groups.set((r.group as GroupRecord).id, r.group as GroupRecord);
      else if (r.op === 'del') groups.delete(r.id);
      else groups.clear();
    }
    if (loaded.skipped > 0) cloud.log(`cloudsim: ${loaded.skipped} unreadable journal line(s) skipped (a torn write at a crash is expected)`);
    const sorted = [...groups.values()].sort((a, b) => a.seq - b.seq);
    const now = cloud.now();
    for (const g of sorted) {
      const pool = cloud.pools.get(g.vSwitchId);
      if (pool === undefined || !pool.claim(g.ip)) cloud.log(`cloudsim: restored group ${g.id} has IP ${g.ip} that vSwitch ${g.vSwitchId} cannot hold (world changed?)`);
      cloud.store.add(g, g.changedAt);
    }
    cloud.store.nextSeq = Math.max(cloud.store.nextSeq, loaded.header?.nextSeq ?? 1);
    cloud.store.seedChanges();
    cloud.persistence = await Persistence.start(
      {
        file: opts.stateFile,
        durability: opts.world.persistence.durability,
        snapshotIntervalMs: opts.world.persistence.snapshotIntervalMs,
        snapshot: () => ({ nextSeq: cloud.store.nextSeq, groups: [...cloud.store.inOrder()].map((g) => cloud.store.serialized(g)) }),
        onError: (err) => cloud.log(`cloudsim: state write failed: ${err.message}`),
      },
      loaded.maxGen,
    );
    // Replay overdue transitions at their due times, then keep the timers going.
    for (const g of sorted) cloud.lifecycle.advance(g, now);
    if (sorted.length > 0) cloud.log(`cloudsim: restored ${sorted.length} container group(s) from ${opts.stateFile}`);
    return cloud;
  }

  get persistent(): boolean {
    return this.persistence !== undefined;
  }

  /** Journals a change; resolves when it is durable (immediately without a state file). */
  commit(record: JournalRecord): Promise<void> {
    return this.persistence === undefined ? Promise.resolve() : this.persistence.append(record);
  }

  /** Journals the group's current state. */
  commitGroup(g: GroupRecord): Promise<void> {
    if (this.persistence === undefined) return Promise.resolve();
    return this.persistence.appendLine(`{"op":"put","group":${this.store.serialized(g)}}`);
  }

  /**
   * Frees the group's IP and forgets it (no journal record). `deleted` (a delete or a retention
   * removal, not an admin clear): the realism profile's lags apply — the IP returns later, the
   * group is still listed for a while, its ClientToken is remembered.
   */
  dropGroup(g: GroupRecord, deleted = false): void {
    const pool = this.pools.get(g.vSwitchId);
    const now = this.now();
    if (deleted) {
      this.realism.releaseLater(() => pool?.release(g.ip), now);
      this.realism.addGhost(g, now);
      if (g.clientToken !== undefined && g.paramsHash !== undefined) this.realism.rememberDeleted(g.clientToken, g.paramsHash, g.id, now);
    } else {
      pool?.release(g.ip);
    }
    this.lifecycle.forget(g.id);
    this.store.remove(g.id);
  }

  /**
   * Realism retention: a finished group is kept `retentionMs` (x `retentionScale`) after it
   * finished (ScheduleFailed: 24 h, scaled alike), then only if it is among the newest
   * `retentionKeep` finished groups. Swept on a timer; each removal is journaled.
   */
  sweepRetention(now = this.now()): number {
    const r = this.realism.config;
    if (r.retentionMs <= 0) return 0;
    const finished: { g: GroupRecord; at: number }[] = [];
    for (const g of this.store.groups.values()) {
      const at = g.status === 'Succeeded' ? g.succeededAt : g.status === 'Failed' || g.status === 'ScheduleFailed' ? g.failedAt : g.status === 'Expired' ? g.expiredAt : undefined;
      if (at !== undefined) finished.push({ g, at });
    }
    finished.sort((a, b) => b.at - a.at);
    let removed = 0;
    finished.forEach(({ g, at }, i) => {
      const keepFor = (g.status === 'ScheduleFailed' ? 24 * 3_600_000 : r.retentionMs) * r.retentionScale;
      if (now - at < keepFor || i < r.retentionKeep) return;
      this.dropGroup(g, true);
      void this.commit({ op: 'del', id: g.id }).catch(() => undefined);
      removed++;
    });
    return removed;
  }

  private startRetention(): void {
    const r = this.realism.config;
    if (r.retentionMs <= 0) return;
    const every = Math.max(50, Math.min(5_000, (r.retentionMs * r.retentionScale) / 4));
    this.retentionTimer = setInterval(() => this.sweepRetention(), every);
    this.retentionTimer.unref();
  }

  /** Deletes every group (admin "clear"). */
  async clear(): Promise<number> {
    const n = this.store.size;
    for (const g of [...this.store.groups.values()]) this.dropGroup(g);
    this.store.clear();
    await this.commit({ op: 'clear' });
    return n;
  }

  async snapshot(): Promise<void> {
    await this.persistence?.snapshotNow();
  }

  /** Graceful: flush and snapshot. Abrupt (`graceful: false`): keep only what is journaled. */
  async close(graceful = true): Promise<void> {
    this.lifecycle.stop();
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    if (this.persistence === undefined) return;
    if (graceful) await this.persistence.close();
    else await this.persistence.abandon();
  }
}
