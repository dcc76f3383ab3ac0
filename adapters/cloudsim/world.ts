// The world file: the cloud the simulator pretends to be (region, zones, VPCs, vSwitches,
// security groups, AccessKeys, quotas, lifecycle delays, rate limits, faults). YAML or JSON.
// `parseWorld` validates everything and reports every problem with its field path, e.g.
// `vSwitches[2].cidr: "10.0.0.0/33" is not a CIDR`. The schema is in docs/cloudsim.md.

import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { cidrContains, cidrOverlaps, parseCidr } from './ipam.ts';
import type { Cidr } from './ipam.ts';
import { realismOff, realismProfiles } from './realism.ts';
import type { RealismConfig, RealismProfile } from './realism.ts';

export interface VpcDef {
  id: string;
  name: string;
  cidr: string;
}

export interface VSwitchDef {
  id: string;
  name: string;
  vpcId: string;
  zoneId: string;
  cidr: string;
}

export interface SecurityGroupDef {
  id: string;
  name: string;
  vpcId: string;
}

export interface AccessKeyDef {
  id: string;
  secret: string;
}

export interface LifecycleConfig {
  /** Scheduling -> Pending. */
  schedulingMs: number;
  /** Pending -> Running (image pull and start). */
  pendingMs: number;
  /** How long `sim/exit:N` and `sim/crashloop` containers run before they exit. */
  exitAfterMs: number;
  /** First crash-loop back-off; doubles each restart up to crashBackoffMaxMs. */
  crashBackoffMs: number;
  crashBackoffMaxMs: number;
  /** Between pull attempts of a `sim/pull-fail` image (ErrImagePull <-> ImagePullBackOff). */
  pullRetryMs: number;
  /** Terminating -> gone after DeleteContainerGroup; 0 removes at once. */
  terminatingMs: number;
  /** Restarting -> Pending after RestartContainerGroup. */
  restartMs: number;
  /** Updating -> Pending after UpdateContainerGroup. */
  updateMs: number;
}

export type RateLimitMode = 'quota-true' | 'unlimited';
export const throttleCodes = ['Throttling.User', 'Throttling.Api', 'Throttling', 'Degrade.Api'] as const;
export type ThrottleCode = (typeof throttleCodes)[number];

export interface BucketConfig {
  burst: number;
  perSecond: number;
}

export interface RateLimitConfig {
  mode: RateLimitMode;
  throttleCode: ThrottleCode;
  /** Per action; actions not listed use `defaultBuckets` (and `*` if given). */
  actions: Record<string, BucketConfig>;
}

export interface FaultRule {
  /** Action name or `*`. */
  action: string;
  /** Probability in [0, 1] that a call fails with `code`. */
  rate: number;
  code: string;
  status: number;
  message: string;
  /** Added before answering (whether or not the call fails). */
  latencyMs: number;
  /** Fail at most this many calls, then the rule is spent; undefined = no limit. */
  times?: number;
}

export type ForcedGroupStatus = 'Failed' | 'Expired' | 'ScheduleFailed' | 'Succeeded';
export const forcedGroupStatuses: readonly ForcedGroupStatus[] = ['Failed', 'Expired', 'ScheduleFailed', 'Succeeded'];

export interface GroupFault {
  /** Regular expression on ContainerGroupName. */
  namePattern?: string;
  tag?: { key: string; value: string };
  status: ForcedGroupStatus;
  /** After creation. */
  afterMs: number;
  reason: string;
}

export interface FaultConfig {
  seed: number;
  rules: FaultRule[];
  zonesOutOfStock: string[];
  groups: GroupFault[];
}

export type Durability = 'fsync' | 'write';

export interface World {
  regionId: string;
  zones: string[];
  vpcs: VpcDef[];
  vSwitches: VSwitchDef[];
  securityGroups: SecurityGroupDef[];
  accessKeys: AccessKeyDef[];
  admin: { token?: string };
  quotas: { maxGroups: number; maxVcpu: number };
  lifecycle: LifecycleConfig;
  /** `lifecycle.realism`: see realism.ts and docs/cloudsim.md ("Realism profile"). */
  realism: RealismConfig;
  rateLimits: RateLimitConfig;
  faults: FaultConfig;
  persistence: { durability: Durability; snapshotIntervalMs: number };
  nonceWindowSeconds: number;
}

/** ECI's documented per-action limits (see docs/cloudsim.md, "Rate limits"). */
export const defaultBuckets: Record<string, BucketConfig> = {
  CreateContainerGroup: { burst: 100, perSecond: 20 },
  DeleteContainerGroup: { burst: 100, perSecond: 20 },
  DescribeContainerGroups: perMinute(2000),
  DescribeContainerGroupStatus: perMinute(10000),
  DescribeContainerGroupEvents: perMinute(10000),
  UpdateContainerGroup: perMinute(1000),
  RestartContainerGroup: perMinute(1000),
  DescribeContainerGroupMetric: perMinute(2000),
  DescribeContainerLog: perMinute(500),
  ExecContainerCommand: perMinute(500),
  DescribeVSwitches: perMinute(6000),
  DescribeVpcs: perMinute(6000),
  DescribeSecurityGroups: perMinute(6000),
  '*': perMinute(1000),
};

function perMinute(n: number): BucketConfig {
  return { burst: n, perSecond: n / 60 };
}

export const defaultLifecycle: LifecycleConfig = {
  schedulingMs: 500,
  pendingMs: 1500,
  exitAfterMs: 2000,
  crashBackoffMs: 1000,
  crashBackoffMaxMs: 20000,
  pullRetryMs: 2000,
  terminatingMs: 0,
  restartMs: 1000,
  updateMs: 1000,
};

export class WorldError extends Error {
  readonly problems: string[];

  constructor(problems: string[], source?: string) {
    super(`${source === undefined ? 'world' : source}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    this.name = 'WorldError';
    this.problems = problems;
  }
}

type Obj = Record<string, unknown>;

/** Field readers that record a problem (with its path) and return a fallback instead of throwing. */
class Reader {
  readonly problems: string[] = [];

  fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  obj(v: unknown, path: string, required = false): Obj | undefined {
    if (v === undefined || v === null) {
      if (required) this.fail(path, 'is required');
      return undefined;
    }
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.fail(path, 'must be a mapping');
      return undefined;
    }
    return v as Obj;
  }

  list(v: unknown, path: string, required = false): unknown[] {
    if (v === undefined || v === null) {
      if (required) this.fail(path, 'is required (a non-empty list)');
      return [];
    }
    if (!Array.isArray(v)) {
      this.fail(path, 'must be a list');
      return [];
    }
    if (required && v.length === 0) this.fail(path, 'must not be empty');
    return v;
  }

  str(v: unknown, path: string, fallback?: string): string {
    if (v === undefined || v === null) {
      if (fallback === undefined) this.fail(path, 'is required');
      return fallback ?? '';
    }
    if (typeof v !== 'string' || v === '') {
      this.fail(path, `must be a non-empty string, got ${JSON.stringify(v)}`);
      return fallback ?? '';
    }
    return v;
  }

  num(v: unknown, path: string, fallback: number, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(path, `must be a number, got ${JSON.stringify(v)}`);
      return fallback;
    }
    if (opts.integer === true && !Number.isInteger(v)) this.fail(path, `must be an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(path, `must be at least ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(path, `must be at most ${opts.max}, got ${v}`);
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, values: readonly T[], fallback: T): T {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.fail(path, `must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v as T;
  }

  unknownKeys(o: Obj, path: string, known: readonly string[]): void {
    for (const key of Object.keys(o)) {
      if (!known.includes(key)) this.fail(path === '' ? key : `${path}.${key}`, `unknown field (known: ${known.join(', ')})`);
    }
  }
}

/**
 * Resource id shapes: the PodNetworking CRD's patterns for vSwitch and security group ids
 * (deploy/crds/network.alibabacloud.com_podnetworkings.yaml) and the cloud's own for VPC ids. A world
 * id outside them would be accepted here and refused by the CRD (or never exist in a real VPC).
 */
export const RESOURCE_ID_PATTERNS = {
  vpc: { pattern: /^vpc-[a-z0-9]+$/, what: 'VPC', expected: 'vpc- followed by lowercase letters and digits, e.g. vpc-simmain' },
  vSwitch: { pattern: /^vsw-[a-z0-9]+$/, what: 'vSwitch', expected: 'vsw- followed by lowercase letters and digits, e.g. vsw-simh1' },
  securityGroup: { pattern: /^sg-[a-z0-9]+$/, what: 'security group', expected: 'sg- followed by lowercase letters and digits, e.g. sg-simdefault' },
} as const;

function checkResourceId(r: Reader, kind: keyof typeof RESOURCE_ID_PATTERNS, id: string, path: string): void {
  const { pattern, what, expected } = RESOURCE_ID_PATTERNS[kind];
  if (id !== '' && !pattern.test(id)) r.fail(path, `"${id}" is not a valid ${what} id (expected ${expected})`);
}

const topKeys = ['regionId', 'zones', 'vpcs', 'vSwitches', 'securityGroups', 'accessKeys', 'admin', 'quotas', 'lifecycle', 'rateLimits', 'faults', 'persistence', 'nonceWindowSeconds'] as const;

/** Validates a parsed world document; throws WorldError naming every bad field. */
/** Worlds that came out of parseWorld: only these skip validation when passed around. */
const parsedWorlds = new WeakSet<object>();

export function isParsedWorld(value: unknown): value is World {
  return typeof value === 'object' && value !== null && parsedWorlds.has(value);
}

export function parseWorld(input: unknown, source?: string): World {
  const r = new Reader();
  const root = r.obj(input, '(root)', true) ?? {};
  r.unknownKeys(root, '', topKeys);

  const regionId = r.str(root.regionId, 'regionId');
  const zones = r.list(root.zones, 'zones', true).map((z, i) => r.str(z, `zones[${i}]`));
  const zoneSet = new Set(zones);

  const ids = new Map<string, string>();
  const uniqueId = (id: string, path: string): void => {
    const prior = ids.get(id);
    if (prior !== undefined) r.fail(path, `duplicate id "${id}" (also ${prior})`);
    else ids.set(id, path);
  };

  const vpcCidrs = new Map<string, Cidr>();
  const vpcs: VpcDef[] = r.list(root.vpcs, 'vpcs', true).map((v, i) => {
    const path = `vpcs[${i}]`;
    const o = r.obj(v, path, true) ?? {};
    r.unknownKeys(o, path, ['id', 'name', 'cidr']);
    const id = r.str(o.id, `${path}.id`);
    checkResourceId(r, 'vpc', id, `${path}.id`);
    uniqueId(id, `${path}.id`);
    const cidr = r.str(o.cidr, `${path}.cidr`);
    const parsed = parseCidr(cidr);
    if (typeof parsed === 'string') r.fail(`${path}.cidr`, parsed);
    else if (parsed.prefix < 8 || parsed.prefix > 24) r.fail(`${path}.cidr`, `"${cidr}": a VPC CIDR block must be /8 to /24`);
    else vpcCidrs.set(id, parsed);
    return { id, name: r.str(o.name, `${path}.name`, id), cidr };
  });

  const switchCidrs: { vpcId: string; cidr: Cidr; path: string }[] = [];
  const vSwitches: VSwitchDef[] = r.list(root.vSwitches, 'vSwitches', true).map((v, i) => {
    const path = `vSwitches[${i}]`;
    const o = r.obj(v, path, true) ?? {};
    r.unknownKeys(o, path, ['id', 'name', 'vpcId', 'zoneId', 'cidr']);
    const id = r.str(o.id, `${path}.id`);
    checkResourceId(r, 'vSwitch', id, `${path}.id`);
    uniqueId(id, `${path}.id`);
    const vpcId = r.str(o.vpcId, `${path}.vpcId`);
    if (vpcId !== '' && !vpcs.some((x) => x.id === vpcId)) r.fail(`${path}.vpcId`, `"${vpcId}" is not one of vpcs[].id`);
    const zoneId = r.str(o.zoneId, `${path}.zoneId`);
    if (zoneId !== '' && !zoneSet.has(zoneId)) r.fail(`${path}.zoneId`, `"${zoneId}" is not one of zones`);
    const cidr = r.str(o.cidr, `${path}.cidr`);
    const parsed = parseCidr(cidr);
    if (typeof parsed === 'string') {
      r.fail(`${path}.cidr`, parsed);
    } else if (parsed.prefix < 16 || parsed.prefix > 29) {
      r.fail(`${path}.cidr`, `"${cidr}": a vSwitch CIDR block must be /16 to /29`);
    } else {
      const vpcCidr = vpcCidrs.get(vpcId);
      if (vpcCidr !== undefined && !cidrContains(vpcCidr, parsed)) r.fail(`${path}.cidr`, `"${cidr}" is not inside the CIDR block of VPC ${vpcId}`);
      for (const other of switchCidrs) {
        if (other.vpcId === vpcId && cidrOverlaps(other.cidr, parsed)) r.fail(`${path}.cidr`, `"${cidr}" overlaps ${other.path}.cidr`);
      }
      switchCidrs.push({ vpcId, cidr: parsed, path });
    }
    return { id, name: r.str(o.name, `${path}.name`, id), vpcId, zoneId, cidr };
  });

  const securityGroups: SecurityGroupDef[] = r.list(root.securityGroups, 'securityGroups').map((v, i) => {
    const path = `securityGroups[${i}]`;
    const o = r.obj(v, path, true) ?? {};
    r.unknownKeys(o, path, ['id', 'name', 'vpcId']);
    const id = r.str(o.id, `${path}.id`);
    checkResourceId(r, 'securityGroup', id, `${path}.id`);
    uniqueId(id, `${path}.id`);
    const vpcId = r.str(o.vpcId, `${path}.vpcId`);
    if (vpcId !== '' && !vpcs.some((x) => x.id === vpcId)) r.fail(`${path}.vpcId`, `"${vpcId}" is not one of vpcs[].id`);
    return { id, name: r.str(o.name, `${path}.name`, id), vpcId };
  });

  const keyIds = new Set<string>();
  const accessKeys: AccessKeyDef[] = r.list(root.accessKeys, 'accessKeys', true).map((v, i) => {
    const path = `accessKeys[${i}]`;
    const o = r.obj(v, path, true) ?? {};
    r.unknownKeys(o, path, ['id', 'secret']);
    const id = r.str(o.id, `${path}.id`);
    if (keyIds.has(id)) r.fail(`${path}.id`, `duplicate AccessKey id "${id}"`);
    keyIds.add(id);
    return { id, secret: r.str(o.secret, `${path}.secret`) };
  });

  const adminIn = r.obj(root.admin, 'admin') ?? {};
  r.unknownKeys(adminIn, 'admin', ['token']);
  const admin: { token?: string } = {};
  if (adminIn.token !== undefined) {
    admin.token = r.str(adminIn.token, 'admin.token');
    if (admin.token.length < 8) r.fail('admin.token', 'must be at least 8 characters');
  }

  const q = r.obj(root.quotas, 'quotas') ?? {};
  r.unknownKeys(q, 'quotas', ['maxGroups', 'maxVcpu']);
  const quotas = {
    maxGroups: r.num(q.maxGroups, 'quotas.maxGroups', 100_000, { min: 1, integer: true }),
    maxVcpu: r.num(q.maxVcpu, 'quotas.maxVcpu', 1_000_000, { min: 1 }),
  };

  const l = r.obj(root.lifecycle, 'lifecycle') ?? {};
  r.unknownKeys(l, 'lifecycle', [...Object.keys(defaultLifecycle), 'realism']);
  const lifecycle = { ...defaultLifecycle };
  for (const key of Object.keys(defaultLifecycle) as (keyof LifecycleConfig)[]) {
    lifecycle[key] = r.num(l[key], `lifecycle.${key}`, defaultLifecycle[key], { min: 0 });
  }
  const realism = parseRealism(r, l.realism, 'lifecycle.realism');

  const rl = r.obj(root.rateLimits, 'rateLimits') ?? {};
  r.unknownKeys(rl, 'rateLimits', ['mode', 'throttleCode', 'actions']);
  const actionsIn = r.obj(rl.actions, 'rateLimits.actions') ?? {};
  const actions: Record<string, BucketConfig> = {};
  for (const [action, v] of Object.entries(actionsIn)) {
    const path = `rateLimits.actions.${action}`;
    const o = r.obj(v, path, true) ?? {};
    r.unknownKeys(o, path, ['burst', 'perSecond', 'perMinute']);
    if (o.perSecond !== undefined && o.perMinute !== undefined) r.fail(path, 'give perSecond or perMinute, not both');
    const minute = o.perMinute === undefined ? undefined : r.num(o.perMinute, `${path}.perMinute`, 60, { min: 0 });
    const rate = minute !== undefined ? minute / 60 : r.num(o.perSecond, `${path}.perSecond`, 1, { min: 0 });
    // A per-minute budget is a bucket of that size; a per-second rate bursts one second's worth.
    const burst = r.num(o.burst, `${path}.burst`, Math.max(1, minute ?? Math.ceil(rate)), { min: 1 });
    actions[action] = { burst, perSecond: rate };
  }
  const rateLimits: RateLimitConfig = {
    mode: r.oneOf(rl.mode, 'rateLimits.mode', ['quota-true', 'unlimited'] as const, 'quota-true'),
    throttleCode: r.oneOf(rl.throttleCode, 'rateLimits.throttleCode', throttleCodes, 'Throttling.User'),
    actions,
  };

  const faults = parseFaults(r, root.faults, 'faults', zoneSet);

  const p = r.obj(root.persistence, 'persistence') ?? {};
  r.unknownKeys(p, 'persistence', ['durability', 'snapshotIntervalMs']);
  const persistence = {
    durability: r.oneOf(p.durability, 'persistence.durability', ['fsync', 'write'] as const, 'fsync'),
    snapshotIntervalMs: r.num(p.snapshotIntervalMs, 'persistence.snapshotIntervalMs', 2000, { min: 10 }),
  };
  const nonceWindowSeconds = r.num(root.nonceWindowSeconds, 'nonceWindowSeconds', 900, { min: 1 });

  if (r.problems.length > 0) throw new WorldError(r.problems, source);
  const world: World = { regionId, zones, vpcs, vSwitches, securityGroups, accessKeys, admin, quotas, lifecycle, realism, rateLimits, faults, persistence, nonceWindowSeconds };
  parsedWorlds.add(world);
  return world;
}

/** `lifecycle.realism`: `profile` (off | realistic) sets every knob; knobs given next to it override. */
function parseRealism(r: Reader, v: unknown, base: string): RealismConfig {
  const o = r.obj(v, base) ?? {};
  r.unknownKeys(o, base, ['profile', ...Object.keys(realismOff)]);
  const profile = r.oneOf(o.profile, `${base}.profile`, Object.keys(realismProfiles) as RealismProfile[], 'off');
  const d = realismProfiles[profile];
  const ms = (k: keyof RealismConfig): number => r.num(o[k], `${base}.${k}`, d[k] as number, { min: 0 });
  const rate = (k: keyof RealismConfig): number => r.num(o[k], `${base}.${k}`, d[k] as number, { min: 0, max: 1 });
  let rateWindows = d.rateWindows;
  if (o.rateWindows !== undefined) {
    if (typeof o.rateWindows !== 'boolean') r.fail(`${base}.rateWindows`, `must be true or false, got ${JSON.stringify(o.rateWindows)}`);
    else rateWindows = o.rateWindows;
  }
  return {
    ipAssignDelayMs: ms('ipAssignDelayMs'),
    listLagMs: ms('listLagMs'),
    ipReleaseLagMs: ms('ipReleaseLagMs'),
    freeIpCacheMs: ms('freeIpCacheMs'),
    retentionMs: ms('retentionMs'),
    retentionKeep: r.num(o.retentionKeep, `${base}.retentionKeep`, d.retentionKeep, { min: 0, integer: true }),
    retentionScale: r.num(o.retentionScale, `${base}.retentionScale`, d.retentionScale, { min: 0 }),
    rateWindows,
    rateWindowMs: r.num(o.rateWindowMs, `${base}.rateWindowMs`, d.rateWindowMs, { min: 100 }),
    clientToken: r.oneOf(o.clientToken, `${base}.clientToken`, ['bind-on-success', 'bind-on-first-attempt'] as const, d.clientToken),
    deletedTokenMemoryMs: ms('deletedTokenMemoryMs'),
    scheduleFailedRate: rate('scheduleFailedRate'),
    spotReclaimRate: rate('spotReclaimRate'),
    spotProtectionMs: ms('spotProtectionMs'),
    spotNoticeMs: ms('spotNoticeMs'),
    pullAuthFailRate: rate('pullAuthFailRate'),
    seed: r.num(o.seed, `${base}.seed`, d.seed, { integer: true }),
  };
}

function parseFaults(r: Reader, v: unknown, base: string, zones: Set<string>): FaultConfig {
  const f = r.obj(v, base) ?? {};
  r.unknownKeys(f, base, ['seed', 'rules', 'zonesOutOfStock', 'groups']);
  const rules = r.list(f.rules, `${base}.rules`).map((x, i) => parseFaultRule(r, x, `${base}.rules[${i}]`));
  const zonesOutOfStock = r.list(f.zonesOutOfStock, `${base}.zonesOutOfStock`).map((z, i) => {
    const zone = r.str(z, `${base}.zonesOutOfStock[${i}]`);
    if (zones.size > 0 && !zones.has(zone)) r.fail(`${base}.zonesOutOfStock[${i}]`, `"${zone}" is not one of zones`);
    return zone;
  });
  const groups = r.list(f.groups, `${base}.groups`).map((x, i) => parseGroupFault(r, x, `${base}.groups[${i}]`));
  return { seed: r.num(f.seed, `${base}.seed`, 1, { integer: true }), rules, zonesOutOfStock, groups };
}

function parseFaultRule(r: Reader, v: unknown, path: string): FaultRule {
  const o = r.obj(v, path, true) ?? {};
  r.unknownKeys(o, path, ['action', 'rate', 'code', 'status', 'message', 'latencyMs', 'times']);
  const rule: FaultRule = {
    action: r.str(o.action, `${path}.action`, '*'),
    rate: r.num(o.rate, `${path}.rate`, o.code === undefined ? 0 : 1, { min: 0, max: 1 }),
    code: r.str(o.code, `${path}.code`, 'ServiceUnavailable'),
    status: r.num(o.status, `${path}.status`, 503, { min: 400, max: 599, integer: true }),
    message: r.str(o.message, `${path}.message`, 'The request has failed due to a temporary failure of the server (injected by cloudsim).'),
    latencyMs: r.num(o.latencyMs, `${path}.latencyMs`, 0, { min: 0 }),
  };
  if (o.times !== undefined) rule.times = r.num(o.times, `${path}.times`, 1, { min: 1, integer: true });
  return rule;
}

function parseGroupFault(r: Reader, v: unknown, path: string): GroupFault {
  const o = r.obj(v, path, true) ?? {};
  r.unknownKeys(o, path, ['namePattern', 'tag', 'status', 'afterMs', 'reason']);
  const fault: GroupFault = {
    status: r.oneOf(o.status, `${path}.status`, forcedGroupStatuses, 'Failed'),
    afterMs: r.num(o.afterMs, `${path}.afterMs`, 0, { min: 0 }),
    reason: r.str(o.reason, `${path}.reason`, 'InjectedFault'),
  };
  if (o.namePattern !== undefined) {
    fault.namePattern = r.str(o.namePattern, `${path}.namePattern`);
    try {
      new RegExp(fault.namePattern);
    } catch (err) {
      r.fail(`${path}.namePattern`, `is not a regular expression: ${(err as Error).message}`);
    }
  }
  const tag = r.obj(o.tag, `${path}.tag`);
  if (tag !== undefined) fault.tag = { key: r.str(tag.key, `${path}.tag.key`), value: r.str(tag.value, `${path}.tag.value`, '') };
  if (fault.namePattern === undefined && fault.tag === undefined) r.fail(path, 'needs namePattern or tag to choose groups');
  return fault;
}

/** Fault settings as the admin API receives them (same schema as the world's `faults`). */
export function parseFaultConfig(input: unknown, zones: readonly string[]): FaultConfig {
  const r = new Reader();
  const faults = parseFaults(r, input, 'faults', new Set(zones));
  if (r.problems.length > 0) throw new WorldError(r.problems, 'faults');
  return faults;
}

export async function loadWorldFile(path: string): Promise<World> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new WorldError([`cannot read the file: ${(err as Error).message}`], path);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new WorldError([`not valid YAML/JSON: ${(err as Error).message}`], path);
  }
  return parseWorld(doc, path);
}
