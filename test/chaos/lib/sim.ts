// The cloud side of a chaos scenario: a simulator world sized for bursts (three /20 vSwitches, one
// per zone, plus tiny /29 ones for exhaustion), a per-run AccessKey secret and admin token (so the
// secret scan looks for strings that exist nowhere else), the admin API, and a restart on the
// same state file and ports.
import { randomBytes } from 'node:crypto';
import { startCloudSim, type CloudSim } from '../../../adapters/cloudsim/server.ts';
import type { World } from '../../../adapters/cloudsim/world.ts';
import { fetchText, sleep } from '../../helpers/deadline.ts';
import { TEST_LIFECYCLE, testWorld } from '../../integration/helpers/provider.ts';

export const ZONES = { h: 'cn-hangzhou-h', i: 'cn-hangzhou-i', j: 'cn-hangzhou-j' } as const;
export const BIG_VSWITCHES = ['vsw-chaosh1', 'vsw-chaosi1', 'vsw-chaosj1'];
/** Four usable IPs each, all in zone j. */
export const TINY_VSWITCHES = ['vsw-chaostiny1', 'vsw-chaostiny2', 'vsw-chaostiny3'];
export const SECURITY_GROUP = 'sg-chaosdefault';

export interface ChaosSecrets {
  accessKeyId: string;
  accessKeySecret: string;
  adminToken: string;
}

export function newSecrets(): ChaosSecrets {
  return {
    accessKeyId: `LTAIchaos${randomBytes(6).toString('hex')}`,
    accessKeySecret: `chaos-ak-secret-${randomBytes(12).toString('hex')}`,
    adminToken: `chaos-admin-${randomBytes(12).toString('hex')}`,
  };
}

/**
 * The realism profile `npm run chaos` runs its scenarios with (`--kind` turns it off): the
 * realistic lags, ClientToken bound at the first attempt and retention (scaled to seconds), but
 * neither the random failures (every scenario's invariant is "every pod Running"; the unit and
 * integration tests cover them) nor the per-minute windows (the scenarios pace creates with
 * buckets so that kills land mid-burst).
 */
export const CHAOS_REALISM = { profile: 'realistic', retentionScale: 0.001, scheduleFailedRate: 0, spotReclaimRate: 0, pullAuthFailRate: 0, rateWindows: false } as const;

export async function chaosWorld(secrets: ChaosSecrets, overrides: Record<string, unknown> = {}, realism?: Record<string, unknown>): Promise<World> {
  if (realism !== undefined) overrides = { ...overrides, lifecycle: { ...TEST_LIFECYCLE, ...(overrides.lifecycle as Record<string, unknown> | undefined), realism } };
  return testWorld({
    vpcs: [{ id: 'vpc-chaos', name: 'chaos', cidr: '10.0.0.0/16' }],
    vSwitches: [
      { id: 'vsw-chaosh1', vpcId: 'vpc-chaos', zoneId: ZONES.h, cidr: '10.0.16.0/20' },
      { id: 'vsw-chaosi1', vpcId: 'vpc-chaos', zoneId: ZONES.i, cidr: '10.0.32.0/20' },
      { id: 'vsw-chaosj1', vpcId: 'vpc-chaos', zoneId: ZONES.j, cidr: '10.0.48.0/20' },
      { id: 'vsw-chaostiny1', vpcId: 'vpc-chaos', zoneId: ZONES.j, cidr: '10.0.9.0/29' },
      { id: 'vsw-chaostiny2', vpcId: 'vpc-chaos', zoneId: ZONES.j, cidr: '10.0.9.8/29' },
      { id: 'vsw-chaostiny3', vpcId: 'vpc-chaos', zoneId: ZONES.j, cidr: '10.0.9.16/29' },
    ],
    securityGroups: [{ id: SECURITY_GROUP, vpcId: 'vpc-chaos', name: 'default' }],
    accessKeys: [{ id: secrets.accessKeyId, secret: secrets.accessKeySecret }],
    admin: { token: secrets.adminToken },
    quotas: { maxGroups: 20_000, maxVcpu: 1_000_000 },
    ...overrides,
  });
}

export interface RequestCounts {
  ok: number;
  errors: Record<string, number>;
}

export interface AdminState {
  groups: number;
  byStatus: Record<string, number>;
  vSwitches: { id: string; available: number; total: number }[];
  requests: Record<string, RequestCounts>;
}

/** The simulator's admin API (its own port and bearer token). */
export class SimAdmin {
  readonly endpoint: string;
  private readonly token: string;

  constructor(endpoint: string, token: string) {
    this.endpoint = endpoint;
    this.token = token;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetchText(`${this.endpoint}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      what: `cloudsim admin ${method} ${path}`,
    });
    if (!res.ok) throw new Error(`cloudsim admin ${method} ${path}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
    return JSON.parse(res.text) as T;
  }

  state(): Promise<AdminState> {
    return this.call('GET', '/admin/state');
  }

  groups(): Promise<{ id: string; name: string; status: string }[]> {
    return this.call('GET', '/admin/groups');
  }

  setFaults(faults: Record<string, unknown>): Promise<unknown> {
    return this.call('PUT', '/admin/faults', faults);
  }

  forceGroup(id: string, status: 'Failed' | 'Expired', reason: string): Promise<unknown> {
    return this.call('POST', `/admin/groups/${encodeURIComponent(id)}/state`, { status, reason, message: `forced to ${status} by the chaos suite` });
  }
}

/**
 * A simulator that can be restarted on the same state file and ports (a crash: only what its
 * journal holds survives). Request counters live per process: `totals()` adds every incarnation's.
 */
export class RestartableSim {
  sim: CloudSim;
  admin: SimAdmin;
  restarts = 0;
  private readonly world: World;
  private readonly stateFile: string | undefined;
  private readonly earlier: Record<string, RequestCounts>[] = [];

  private constructor(sim: CloudSim, world: World, stateFile: string | undefined) {
    this.sim = sim;
    this.world = world;
    this.stateFile = stateFile;
    this.admin = new SimAdmin(sim.adminEndpoint, sim.adminToken);
  }

  static async start(world: World, stateFile?: string): Promise<RestartableSim> {
    const sim = await startCloudSim({ world, ...(stateFile === undefined ? {} : { stateFile }), log: () => {} });
    return new RestartableSim(sim, world, stateFile);
  }

  /** Crash (no graceful flush) and start again on the same ports and state file. */
  async restart(downMs = 0): Promise<void> {
    this.earlier.push((await this.admin.state()).requests);
    const port = this.sim.port;
    const adminPort = Number(new URL(this.sim.adminEndpoint).port);
    await this.sim.stop({ graceful: false });
    if (downMs > 0) await sleep(downMs); // the outage itself, not a wait for a state
    // The ports were just released; another process could take them in between (unlikely on loopback).
    this.sim = await startCloudSim({ world: this.world, port, adminPort, ...(this.stateFile === undefined ? {} : { stateFile: this.stateFile }), log: () => {} });
    this.admin = new SimAdmin(this.sim.adminEndpoint, this.sim.adminToken);
    this.restarts++;
  }

  /** Request counts of every incarnation, per action. */
  async totals(): Promise<Record<string, RequestCounts>> {
    return sumCounts([...this.earlier, (await this.admin.state()).requests]);
  }

  stop(): Promise<void> {
    return this.sim.stop();
  }
}

export function sumCounts(parts: readonly Record<string, RequestCounts>[]): Record<string, RequestCounts> {
  const out: Record<string, RequestCounts> = {};
  for (const part of parts) {
    for (const [action, counts] of Object.entries(part)) {
      const into = (out[action] ??= { ok: 0, errors: {} });
      into.ok += counts.ok;
      for (const [code, n] of Object.entries(counts.errors)) into.errors[code] = (into.errors[code] ?? 0) + n;
    }
  }
  return out;
}

/** Calls per action (ok + every error), and the total. */
export function callFigures(counts: Record<string, RequestCounts>): { total: number; perAction: Record<string, number>; errors: Record<string, number> } {
  const perAction: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let total = 0;
  for (const [action, c] of Object.entries(counts)) {
    const failed = Object.values(c.errors).reduce((a, b) => a + b, 0);
    perAction[action] = c.ok + failed;
    total += c.ok + failed;
    for (const [code, n] of Object.entries(c.errors)) errors[code] = (errors[code] ?? 0) + n;
  }
  return { total, perAction, errors };
}
