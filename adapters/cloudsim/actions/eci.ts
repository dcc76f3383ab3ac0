// ECI 2018-08-08 actions. Field names follow the official SDK's models
// (@alicloud/eci20180808 dist/client.d.ts): requests arrive flattened (Container.1.Port.2.Port),
// responses are PascalCase JSON the SDK maps onto its camelCase models.

import { createHash, randomFillSync, randomUUID } from 'node:crypto';
import { SimError, invalid, missing, simError } from '../errors.ts';
import { addEvent } from '../lifecycle.ts';
import type { ContainerRecord, ContainerSpec, ContainerState, EnvVar, GroupRecord, GroupStatus, RestartPolicy } from '../state.ts';
import { Params } from '../wire/params.ts';
import type { Nested } from '../wire/params.ts';
import type { VSwitchDef } from '../world.ts';
import { checkRegion, decodeToken, encodeToken, iso, tagFilters } from './context.ts';
import type { Action, ActionContext, ActionResult } from './context.ts';

const NAME_RE = /^[a-z0-9]([-a-z0-9]{0,126}[a-z0-9])?$/;
const CONTAINER_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MAX_CONTAINERS = 20;
const MAX_VOLUMES = 20;
const MAX_VSWITCHES = 10;

/** vCPU -> allowed memory (GiB), ECI's specification table for CPU/memory creation. */
export const specTable: ReadonlyMap<number, readonly number[]> = new Map([
  [0.25, [0.5, 1]],
  [0.5, [1, 2]],
  [1, [2, 4, 8]],
  [2, [2, 4, 8, 16]],
  [4, [4, 8, 16, 32]],
  [8, [8, 16, 32, 64]],
  [12, [24, 48, 96]],
  [16, [32, 64, 128]],
  [24, [48, 96, 192]],
  [32, [64, 128, 256]],
  [52, [96, 192, 384]],
  [64, [128, 256, 512]],
]);

// Random bytes for ids, drawn from the CSPRNG 4 KiB at a time (two ids per create; one
// randomBytes call each showed in the simulator's profile at 10,000 groups).
const idBytes = Buffer.alloc(4096);
let idBytesAt = idBytes.length;

function randomId(prefix: string): string {
  if (idBytesAt + 20 > idBytes.length) {
    randomFillSync(idBytes);
    idBytesAt = 0;
  }
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = prefix;
  for (let i = idBytesAt; i < idBytesAt + 20; i++) s += alphabet[idBytes[i]! % 36];
  idBytesAt += 20;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Request parsing

function reqInt(p: Params, key: string, min: number, max: number): number {
  const v = p.int(key, { min, max });
  if (v === undefined) throw missing(p.name(key));
  return v;
}

function parseContainer(p: Params, volumeNames: ReadonlySet<string>, init: boolean): ContainerSpec {
  const name = p.reqStr('Name');
  if (!CONTAINER_NAME_RE.test(name)) throw invalid(p.name('Name'), `"${name}" must be a DNS label (lower case letters, digits, '-')`);
  const image = p.reqStr('Image');
  const env: EnvVar[] = p.list('EnvironmentVar').map((e) => {
    const v: EnvVar = { key: e.reqStr('Key') };
    const value = e.str('Value');
    if (value !== undefined) v.value = value;
    const fieldPath = e.obj('FieldRef')?.str('FieldPath');
    if (fieldPath !== undefined) v.fieldPath = fieldPath;
    return v;
  });
  const ports = p.list('Port').map((x) => ({
    port: reqInt(x, 'Port', 1, 65535),
    protocol: x.oneOf('Protocol', ['TCP', 'UDP', 'SCTP'] as const) ?? 'TCP',
  }));
  const volumeMounts = p.list('VolumeMount').map((m) => {
    const vname = m.reqStr('Name');
    if (!volumeNames.has(vname)) throw invalid(m.name('Name'), `no Volume named "${vname}"`);
    const mount: ContainerSpec['volumeMounts'][number] = { name: vname, mountPath: m.reqStr('MountPath') };
    const ro = m.bool('ReadOnly');
    if (ro !== undefined) mount.readOnly = ro;
    const sub = m.str('SubPath');
    if (sub !== undefined) mount.subPath = sub;
    return mount;
  });
  const spec: ContainerSpec = {
    name,
    image,
    commands: p.strings('Command'),
    args: p.strings('Arg'),
    env,
    ports,
    volumeMounts,
    cpu: p.num('Cpu', { min: 0 }) ?? 0,
    memory: p.num('Memory', { min: 0 }) ?? 0,
    gpu: p.int('Gpu', { min: 0 }) ?? 0,
  };
  const wd = p.str('WorkingDir');
  if (wd !== undefined) spec.workingDir = wd;
  const pull = p.oneOf('ImagePullPolicy', ['Always', 'IfNotPresent', 'Never'] as const);
  if (pull !== undefined) spec.imagePullPolicy = pull;
  if (!init) {
    const stdin = p.bool('Stdin');
    if (stdin !== undefined) spec.stdin = stdin;
    const tty = p.bool('Tty');
    if (tty !== undefined) spec.tty = tty;
    const rp = p.raw('ReadinessProbe');
    if (rp !== undefined) spec.readinessProbe = rp;
    const lp = p.raw('LivenessProbe');
    if (lp !== undefined) spec.livenessProbe = lp;
  }
  const sc = p.raw('SecurityContext');
  if (sc !== undefined) spec.securityContext = sc;
  return spec;
}

function parseContainers(params: Params, key: string, volumeNames: ReadonlySet<string>, required: boolean): ContainerSpec[] {
  const list = params.list(key, MAX_CONTAINERS);
  if (required && list.length === 0) throw missing(`${key}.1.Name`);
  const specs = list.map((c) => parseContainer(c, volumeNames, key === 'InitContainer'));
  const seen = new Set<string>();
  specs.forEach((s, i) => {
    if (seen.has(s.name)) throw invalid(`${key}.${i + 1}.Name`, `duplicate container name "${s.name}"`);
    seen.add(s.name);
  });
  return specs;
}

function parseVolumes(params: Params): { volumes: Nested[]; names: Set<string> } {
  const list = params.list('Volume', MAX_VOLUMES);
  const names = new Set<string>();
  list.forEach((v) => {
    const name = v.reqStr('Name');
    if (names.has(name)) throw invalid(v.name('Name'), `duplicate volume name "${name}"`);
    names.add(name);
  });
  const raw = params.raw('Volume');
  return { volumes: Array.isArray(raw) ? raw : [], names };
}

function parseTags(params: Params): { key: string; value: string }[] {
  const tags = params.list('Tag', 20).map((t) => ({ key: t.reqStr('Key'), value: t.str('Value') ?? '' }));
  const keys = new Set<string>();
  tags.forEach((t, i) => {
    if (keys.has(t.key)) throw invalid(`Tag.${i + 1}.Key`, `duplicate tag key "${t.key}"`);
    keys.add(t.key);
  });
  return tags;
}

/** Resolves the group's vCPU/GiB: explicit Cpu+Memory, InstanceType, or the containers' sum rounded up to a spec. */
function resolveSpec(params: Params, containers: ContainerSpec[]): { cpu: number; memory: number; instanceType: string } {
  const cpu = params.num('Cpu', { min: 0 });
  const memory = params.num('Memory', { min: 0 });
  const instanceType = params.str('InstanceType') ?? '';
  const sumCpu = containers.reduce((s, c) => s + c.cpu, 0);
  const sumMem = containers.reduce((s, c) => s + c.memory, 0);
  if (cpu !== undefined || memory !== undefined) {
    if (cpu === undefined) throw missing('Cpu');
    if (memory === undefined) throw missing('Memory');
    const allowed = specTable.get(cpu);
    if (allowed === undefined || !allowed.includes(memory)) {
      throw invalid('Cpu', `the specification ${cpu} vCPU / ${memory} GiB is not supported (see docs/cloudsim.md for the table)`);
    }
    if (sumCpu > cpu + 1e-9) throw invalid('Container.N.Cpu', `the containers ask for ${sumCpu} vCPU, more than the group's ${cpu}`);
    if (sumMem > memory + 1e-9) throw invalid('Container.N.Memory', `the containers ask for ${sumMem} GiB, more than the group's ${memory}`);
    return { cpu, memory, instanceType };
  }
  if (instanceType !== '') {
    const spec = instanceTypeSpec(instanceType);
    if (spec === undefined) throw invalid('InstanceType', `"${instanceType}" is not an instance type the simulator knows (ecs.<family>.<size>)`);
    return { ...spec, instanceType };
  }
  if (sumCpu === 0 && sumMem === 0) return { cpu: 2, memory: 4, instanceType };
  for (const [c, mems] of specTable) {
    if (c + 1e-9 < sumCpu) continue;
    const m = mems.find((x) => x + 1e-9 >= sumMem);
    if (m !== undefined) return { cpu: c, memory: m, instanceType };
  }
  throw invalid('Container.N.Cpu', `no specification fits ${sumCpu} vCPU / ${sumMem} GiB (max 64 vCPU)`);
}

function instanceTypeSpec(t: string): { cpu: number; memory: number } | undefined {
  const m = /^ecs\.([a-z0-9-]+)\.(\d*)(large|xlarge)$/.exec(t);
  if (m === null) return undefined;
  const cpu = m[3] === 'large' ? 2 : 4 * (m[2] === '' ? 1 : Number(m[2]));
  const family = m[1]!;
  const ratio = family.startsWith('c') ? 2 : family.startsWith('r') ? 8 : 4;
  return { cpu, memory: cpu * ratio };
}

const COMMON = new Set(['ClientToken']);

/** Hash of every parameter except ClientToken, for IdempotentParameterMismatch. */
function paramsHash(flat: ReadonlyMap<string, string>): string {
  const h = createHash('sha1');
  for (const k of [...flat.keys()].sort()) {
    if (COMMON.has(k)) continue;
    h.update(k).update('\u0000').update(flat.get(k)!).update('\u0001');
  }
  return h.digest('hex');
}

function newContainer(spec: ContainerSpec, backoffMs: number): ContainerRecord {
  return { spec, phase: 'waiting', ready: false, restartCount: 0, state: { State: 'Waiting', Reason: 'ContainerCreating' }, backoffMs, logs: [], previousLogs: [] };
}

// ---------------------------------------------------------------------------------------------
// CreateContainerGroup

async function createContainerGroup(ctx: ActionContext): Promise<ActionResult> {
  const { cloud, params } = ctx;
  checkRegion(ctx);
  const token = params.str('ClientToken');
  let hash: string | undefined;
  if (token !== undefined && token !== '') {
    if (token.length > 64 || !/^[\x20-\x7e]+$/.test(token)) throw invalid('ClientToken', 'at most 64 ASCII characters');
    hash = paramsHash(ctx.flat);
    const existing = cloud.store.byClientToken(token);
    if (existing !== undefined) {
      if (existing.paramsHash !== hash) throw mismatch();
      await cloud.commitGroup(existing);
      return { ContainerGroupId: existing.id };
    }
    // Realism: a token bound by a refused attempt (bind-on-first-attempt) or by a deleted group.
    const bound = cloud.realism.boundToken(token, cloud.now());
    if (bound !== undefined) {
      if (bound.hash !== hash) throw mismatch();
      if (bound.groupId !== undefined) return { ContainerGroupId: bound.groupId };
    }
    try {
      return await createNew(ctx, token, hash);
    } catch (err) {
      if (err instanceof SimError && err.code !== 'DryRun.Success') cloud.realism.bindAttempt(token, hash, cloud.now());
      throw err;
    }
  }
  return createNew(ctx, undefined, undefined);
}

function mismatch(): SimError {
  return simError('IdempotentParameterMismatch', 'The request uses the same client token as a previous, but non-identical request.');
}

async function createNew(ctx: ActionContext, token: string | undefined, hash: string | undefined): Promise<ActionResult> {
  const { cloud, params } = ctx;
  const name = params.reqStr('ContainerGroupName');
  if (!NAME_RE.test(name)) throw invalid('ContainerGroupName', `"${name}" must be 2-128 lower case letters, digits or '-', starting and ending with a letter or digit`);
  const { volumes, names: volumeNames } = parseVolumes(params);
  const containers = parseContainers(params, 'Container', volumeNames, true);
  const initContainers = parseContainers(params, 'InitContainer', volumeNames, false);
  const tags = parseTags(params);
  const restartPolicy: RestartPolicy = params.oneOf('RestartPolicy', ['Always', 'OnFailure', 'Never'] as const) ?? 'Always';
  const spec = resolveSpec(params, containers);
  const activeDeadline = params.int('ActiveDeadlineSeconds', { min: 1 });
  params.int('TerminationGracePeriodSeconds', { min: 0 });
  const spotStrategy = params.oneOf('SpotStrategy', ['NoSpot', 'SpotAsPriceGo', 'SpotWithPriceLimit'] as const) ?? 'NoSpot';
  const strategy = params.oneOf('ScheduleStrategy', ['VSwitchOrdered', 'VSwitchRandom'] as const) ?? 'VSwitchOrdered';

  // Network: vSwitch list, security group, VPC consistency, zone.
  const vswRaw = params.reqStr('VSwitchId');
  const vswIds = vswRaw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (vswIds.length === 0) throw missing('VSwitchId');
  if (vswIds.length > MAX_VSWITCHES) throw invalid('VSwitchId', `at most ${MAX_VSWITCHES} vSwitches (comma separated) are allowed`);
  if (new Set(vswIds).size !== vswIds.length) throw invalid('VSwitchId', 'a vSwitch is listed twice');
  const switches: VSwitchDef[] = vswIds.map((id) => {
    const v = cloud.vSwitches.get(id);
    if (v === undefined) throw simError('InvalidVSwitchId.NotFound', `The specified VSwitchId "${id}" does not exist.`);
    return v;
  });
  const vpcId = switches[0]!.vpcId;
  const otherVpc = switches.find((v) => v.vpcId !== vpcId);
  if (otherVpc !== undefined) throw simError('InvalidOperation.VpcMismatch', `The vSwitches ${switches[0]!.id} (${vpcId}) and ${otherVpc.id} (${otherVpc.vpcId}) are not in the same VPC.`);
  let sgId = params.str('SecurityGroupId');
  if (sgId === undefined || sgId === '') {
    const sg = [...cloud.securityGroups.values()].find((s) => s.vpcId === vpcId);
    if (sg === undefined) throw missing('SecurityGroupId');
    sgId = sg.id;
  } else {
    const sg = cloud.securityGroups.get(sgId);
    if (sg === undefined) throw simError('InvalidSecurityGroupId.NotFound', `The specified SecurityGroupId "${sgId}" does not exist.`);
    if (sg.vpcId !== vpcId) throw simError('InvalidOperation.VpcMismatch', `The security group ${sgId} (${sg.vpcId}) and the vSwitch ${switches[0]!.id} (${vpcId}) are not in the same VPC.`);
  }
  let candidates = switches;
  const zoneId = params.str('ZoneId');
  if (zoneId !== undefined && zoneId !== '') {
    if (!cloud.world.zones.includes(zoneId)) throw invalid('ZoneId', `"${zoneId}" is not a zone of ${cloud.world.regionId}`);
    candidates = switches.filter((v) => v.zoneId === zoneId);
    if (candidates.length === 0) throw invalid('ZoneId', `none of the vSwitches (${vswIds.join(',')}) is in zone ${zoneId}`);
  }

  // Quotas.
  if (cloud.store.size >= cloud.world.quotas.maxGroups) throw simError('QuotaExceeded.ContainerGroup', `The number of container groups would exceed the quota (${cloud.world.quotas.maxGroups}).`);
  if (cloud.store.liveVcpu + spec.cpu > cloud.world.quotas.maxVcpu) throw simError('QuotaExceeded.Vcpu', `The vCPUs in use would exceed the quota (${cloud.world.quotas.maxVcpu}).`);

  if (params.bool('DryRun') === true) throw new SimError('DryRun.Success', 400, 'This request is a dryrun request with successful result.');

  // Pick a vSwitch with free IPs (and stock in its zone), in order or at random.
  const order = [...candidates];
  if (strategy === 'VSwitchRandom') {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(cloud.faults.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  cloud.realism.settle(cloud.now());
  const refusals: string[] = [];
  let chosen: VSwitchDef | undefined;
  let ip: string | undefined;
  let lastCode: 'InvalidVSwitchId.IpNotEnough' | 'OperationDenied.NoStock' = 'InvalidVSwitchId.IpNotEnough';
  for (const v of order) {
    if (cloud.faults.zoneOutOfStock(v.zoneId)) {
      refusals.push(`${v.id}: zone ${v.zoneId} has no stock`);
      lastCode = 'OperationDenied.NoStock';
      continue;
    }
    ip = cloud.pools.get(v.id)!.allocate();
    if (ip === undefined) {
      refusals.push(`${v.id}: no free IP address`);
      lastCode = 'InvalidVSwitchId.IpNotEnough';
      continue;
    }
    chosen = v;
    break;
  }
  if (chosen === undefined || ip === undefined) {
    const msg = lastCode === 'InvalidVSwitchId.IpNotEnough' ? `The specified VSwitch has not enough IpAddress. (${refusals.join('; ')})` : `The resource is out of stock in the specified zone. Please try other types, or choose other regions and zones. (${refusals.join('; ')})`;
    throw simError(lastCode, msg);
  }

  const now = cloud.now();
  const backoff = cloud.lifecycleConfig.crashBackoffMs;
  const extra: Record<string, Nested> = {};
  for (const key of ['DnsConfig', 'HostAliase', 'ImageRegistryCredential', 'SecurityContext', 'RamRoleName', 'AutoCreateEip', 'EphemeralStorage']) {
    const v = params.raw(key);
    if (v !== undefined) extra[key] = v;
  }
  extra.SpotStrategy = spotStrategy;
  const g: GroupRecord = {
    seq: cloud.store.nextSeq,
    id: randomId('eci-'),
    uuid: randomUUID(),
    name,
    regionId: cloud.world.regionId,
    zoneId: chosen.zoneId,
    vpcId,
    vSwitchId: chosen.id,
    securityGroupId: sgId,
    ip,
    eniId: randomId('eni-'),
    cpu: spec.cpu,
    memory: spec.memory,
    instanceType: spec.instanceType,
    restartPolicy,
    tags,
    containers: containers.map((c) => newContainer(c, backoff)),
    initContainers: initContainers.map((c) => newContainer(c, backoff)),
    volumes,
    extra,
    status: 'Scheduling',
    stage: 'scheduling',
    createdAt: now,
    changedAt: now,
    events: [],
  };
  if (token !== undefined && hash !== undefined) {
    g.clientToken = token;
    g.paramsHash = hash;
    cloud.realism.forgetToken(token);
  }
  cloud.store.add(g, now);
  const fault = cloud.faults.groupFault(name, tags);
  if (fault !== undefined) g.forced = { status: fault.status, at: now + fault.afterMs, reason: fault.reason, message: `cloudsim fault rule: ${fault.status} after ${fault.afterMs} ms` };
  if (activeDeadline !== undefined) {
    const at = now + activeDeadline * 1000;
    if (g.forced === undefined || at < g.forced.at) g.forced = { status: 'Failed', at, reason: 'DeadlineExceeded', message: `Pod was active on the node longer than the specified deadline (${activeDeadline}s)` };
  }
  applyRealism(cloud, g, now, spotStrategy !== 'NoSpot');
  cloud.lifecycle.admit(g, now);
  await cloud.commitGroup(g);
  return { ContainerGroupId: g.id };
}

/** The realism profile's unkindness for a new group (all no-ops when the profile is off). */
function applyRealism(cloud: ActionContext['cloud'], g: GroupRecord, now: number, spot: boolean): void {
  const r = cloud.realism.config;
  if (r.listLagMs > 0) g.visibleAt = now + r.listLagMs;
  if (r.ipAssignDelayMs > 0) g.ipAt = now + cloud.lifecycleConfig.schedulingMs + r.ipAssignDelayMs;
  const realism = cloud.realism;
  if (realism.roll(r.scheduleFailedRate)) {
    const at = now + cloud.lifecycleConfig.schedulingMs;
    if (g.forced === undefined || at < g.forced.at) g.forced = { status: 'ScheduleFailed', at, reason: 'ScheduleFailed', message: 'The container group could not be scheduled: the zone has no capacity for this specification now (cloudsim realism)' };
  }
  if (spot && realism.roll(r.spotReclaimRate)) {
    const at = now + r.spotProtectionMs;
    if (g.forced === undefined || at < g.forced.at) {
      g.forced = { status: 'Expired', at, reason: 'SpotReclaimed', message: 'The spot instance was reclaimed (price or inventory) (cloudsim realism)' };
      g.notice = { at: Math.max(now, at - r.spotNoticeMs), reason: 'SpotToBeReleased', message: `The spot instance will be released at ${new Date(at).toISOString()} (cloudsim realism)` };
    }
  }
  for (const c of g.containers) if (realism.roll(r.pullAuthFailRate)) c.pullAuthFail = true;
}

/** Realism: the IP and ENI are known to callers only once assigned. */
function ipShown(g: GroupRecord, now: number): boolean {
  return g.ipAt === undefined || g.ipAt <= now;
}

// ---------------------------------------------------------------------------------------------
// Describe helpers

function stateOut(s: ContainerState | undefined): Record<string, unknown> | undefined {
  if (s === undefined) return undefined;
  return {
    State: s.State,
    Reason: s.Reason,
    Message: s.Message,
    ExitCode: s.ExitCode,
    StartTime: iso(s.StartTime),
    FinishTime: iso(s.FinishTime),
    DetailStatus: s.DetailStatus ?? s.Reason,
    Signal: s.ExitCode !== undefined && s.ExitCode > 128 ? s.ExitCode - 128 : undefined,
  };
}

function probeOut(p: Nested | undefined): Record<string, unknown> | undefined {
  if (p === undefined || typeof p === 'string' || Array.isArray(p)) return undefined;
  const num = (v: Nested | undefined): number | undefined => (typeof v === 'string' && v !== '' ? Number(v) : undefined);
  const sub = (v: Nested | undefined): Record<string, Nested> | undefined => (v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined);
  const http = sub(p.HttpGet);
  const tcp = sub(p.TcpSocket);
  const exec = sub(p.Exec);
  return {
    InitialDelaySeconds: num(p.InitialDelaySeconds),
    PeriodSeconds: num(p.PeriodSeconds),
    TimeoutSeconds: num(p.TimeoutSeconds),
    SuccessThreshold: num(p.SuccessThreshold),
    FailureThreshold: num(p.FailureThreshold),
    HttpGet: http === undefined ? undefined : { Path: http.Path, Port: num(http.Port), Scheme: http.Scheme },
    TcpSocket: tcp === undefined ? undefined : { Port: num(tcp.Port) },
    Execs: exec === undefined || !Array.isArray(exec.Command) ? undefined : exec.Command,
  };
}

function containerOut(c: ContainerRecord, init: boolean): Record<string, unknown> {
  const s = c.spec;
  return {
    Name: s.name,
    Image: s.image,
    [init ? 'Command' : 'Commands']: s.commands,
    Args: s.args,
    Cpu: s.cpu,
    Memory: s.memory,
    Gpu: s.gpu,
    WorkingDir: s.workingDir,
    ImagePullPolicy: s.imagePullPolicy ?? 'IfNotPresent',
    Ready: c.ready,
    RestartCount: c.restartCount,
    CurrentState: stateOut(c.state),
    PreviousState: stateOut(c.previous) ?? {},
    EnvironmentVars: s.env.map((e) => ({ Key: e.key, Value: e.value, ValueFrom: e.fieldPath === undefined ? undefined : { FieldRef: { FieldPath: e.fieldPath } } })),
    Ports: s.ports.map((p) => ({ Port: p.port, Protocol: p.protocol })),
    VolumeMounts: s.volumeMounts.map((m) => ({ Name: m.name, MountPath: m.mountPath, ReadOnly: m.readOnly ?? false, SubPath: m.subPath })),
    Stdin: s.stdin,
    Tty: s.tty,
    ReadinessProbe: probeOut(s.readinessProbe),
    LivenessProbe: probeOut(s.livenessProbe),
  };
}

function volumeOut(v: Nested): Record<string, unknown> {
  if (typeof v === 'string' || Array.isArray(v)) return {};
  const sub = (x: Nested | undefined): Record<string, Nested> => (x !== undefined && typeof x === 'object' && !Array.isArray(x) ? x : {});
  const cfg = sub(v.ConfigFileVolume);
  const nfs = sub(v.NFSVolume);
  const empty = sub(v.EmptyDirVolume);
  const paths = cfg.ConfigFileToPath;
  return {
    Name: v.Name,
    Type: v.Type,
    ConfigFileVolumeConfigFileToPaths: Array.isArray(paths) ? paths.map((p) => (typeof p === 'object' && !Array.isArray(p) ? { Path: p.Path, Content: p.Content } : {})) : undefined,
    EmptyDirVolumeMedium: empty.Medium,
    EmptyDirVolumeSizeLimit: empty.SizeLimit,
    NFSVolumeServer: nfs.Server,
    NFSVolumePath: nfs.Path,
    NFSVolumeReadOnly: nfs.ReadOnly === undefined ? undefined : nfs.ReadOnly === 'true',
  };
}

function eventsOut(g: GroupRecord): Record<string, unknown>[] {
  return g.events.map((e) => ({
    Count: e.count,
    Type: e.type,
    Name: e.container === undefined ? g.name : `${g.name}.${e.container}`,
    Reason: e.reason,
    Message: e.message,
    FirstTimestamp: iso(e.first),
    LastTimestamp: iso(e.last),
  }));
}

export function groupOut(g: GroupRecord, withEvents: boolean, now = Date.now()): Record<string, unknown> {
  const ip = ipShown(g, now);
  return {
    ContainerGroupId: g.id,
    ContainerGroupName: g.name,
    RegionId: g.regionId,
    ZoneId: g.zoneId,
    VpcId: g.vpcId,
    VSwitchId: g.vSwitchId,
    SecurityGroupId: g.securityGroupId,
    Status: g.status,
    IntranetIp: ip ? g.ip : '',
    InternetIp: '',
    Ipv6Address: '',
    EniInstanceId: ip ? g.eniId : '',
    Cpu: g.cpu,
    Memory: g.memory,
    InstanceType: g.instanceType,
    RestartPolicy: g.restartPolicy,
    SpotStrategy: g.extra.SpotStrategy,
    RamRoleName: g.extra.RamRoleName,
    CreationTime: iso(g.createdAt),
    SucceededTime: iso(g.succeededAt),
    FailedTime: iso(g.failedAt),
    ExpiredTime: iso(g.expiredAt),
    Tags: g.tags.map((t) => ({ Key: t.key, Value: t.value })),
    Containers: g.containers.map((c) => containerOut(c, false)),
    InitContainers: g.initContainers.map((c) => containerOut(c, true)),
    Volumes: g.volumes.map(volumeOut),
    Events: withEvents ? eventsOut(g) : [],
    Discount: 1,
    ResourceGroupId: '',
  };
}

interface Filter {
  ids?: string[];
  name?: string;
  status?: string;
  zoneId?: string;
  vSwitchId?: string;
  securityGroupId?: string;
  tags: { key: string; value: string }[];
  sinceMs?: number;
}

function matches(g: GroupRecord, f: Filter): boolean {
  if (f.name !== undefined && g.name !== f.name) return false;
  if (f.status !== undefined && g.status !== f.status) return false;
  if (f.zoneId !== undefined && g.zoneId !== f.zoneId) return false;
  if (f.vSwitchId !== undefined && g.vSwitchId !== f.vSwitchId) return false;
  if (f.securityGroupId !== undefined && g.securityGroupId !== f.securityGroupId) return false;
  for (const t of f.tags) if (!g.tags.some((x) => x.key === t.key && x.value === t.value)) return false;
  if (f.sinceMs !== undefined && g.changedAt < f.sinceMs) return false;
  return true;
}

/**
 * Filters and pages groups in creation order. Candidates come from the most selective index
 * (ids, SinceSecond change log, a tag), so a filtered call does not scan every group. A tag's
 * index is kept in creation order: a page starts at its NextToken by binary search, and when the
 * index alone answers the filter (one tag, nothing else, no list lag) the total is the index's
 * size, so a page costs O(log n + Limit) however many groups carry the tag (the provider's relist
 * at 10,000 groups is 500 such pages).
 */
function page(ctx: ActionContext, f: Filter, limit: number, token: string | undefined): { items: GroupRecord[]; total: number; next: string } {
  const { store, realism } = ctx.cloud;
  const after = decodeToken('NextToken', token);
  // Realism `listLagMs`: List/Describe are eventually consistent: a group created less than the
  // lag ago is not listed yet, one deleted less than the lag ago still is.
  const lag = realism.config.listLagMs > 0;
  const now = ctx.cloud.now();
  const ghosts = lag ? realism.liveGhosts(now).filter((g) => f.ids === undefined || f.ids.includes(g.id)) : [];
  const others = f.name !== undefined || f.status !== undefined || f.zoneId !== undefined || f.vSwitchId !== undefined || f.securityGroupId !== undefined;
  /** Candidates in creation order, from the first with a seq above the argument. */
  let from: (afterSeq: number) => Iterable<GroupRecord>;
  /** The total when the candidates are exactly the matches (nothing left to filter or count). */
  let exactTotal: number | undefined;
  if (f.ids !== undefined) {
    const sorted = f.ids.map((id) => store.groups.get(id)).filter((g): g is GroupRecord => g !== undefined).sort((a, b) => a.seq - b.seq);
    from = (a) => sorted.filter((g) => g.seq > a);
  } else if (f.sinceMs !== undefined) {
    const sorted = store.changedSince(f.sinceMs).sort((a, b) => a.seq - b.seq);
    from = (a) => sorted.filter((g) => g.seq > a);
  } else if (f.tags.length > 0) {
    let smallest = f.tags[0]!;
    for (const t of f.tags) if (store.countWithTag(t.key, t.value) < store.countWithTag(smallest.key, smallest.value)) smallest = t;
    from = (a) => store.withTag(smallest.key, smallest.value, a);
    if (f.tags.length === 1 && !others && !lag) exactTotal = store.countWithTag(smallest.key, smallest.value);
  } else {
    from = (a) => store.inOrder(a);
    if (!others && !lag) exactTotal = store.size;
  }
  if (exactTotal !== undefined) {
    const items: GroupRecord[] = [];
    let more = false;
    for (const g of from(after)) {
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(g);
    }
    return { items, total: exactTotal, next: more ? encodeToken(items[items.length - 1]!.seq) : '' };
  }
  // Other filters or the list lag: every candidate is checked, once, to count the total.
  const items: GroupRecord[] = [];
  let total = 0;
  let more = false;
  let source: Iterable<GroupRecord> = from(0);
  if (ghosts.length > 0) source = [...source, ...ghosts].sort((a, b) => a.seq - b.seq);
  for (const g of source) {
    if (lag && g.visibleAt !== undefined && g.visibleAt > now) continue;
    if (!matches(g, f)) continue;
    total++;
    if (g.seq <= after) continue;
    if (items.length < limit) items.push(g);
    else more = true;
  }
  return { items, total, next: more ? encodeToken(items[items.length - 1]!.seq) : '' };
}

function commonFilter(ctx: ActionContext, maxIds: number): Filter {
  const p = ctx.params;
  const f: Filter = { tags: tagFilters(p) };
  const ids = p.jsonStrings('ContainerGroupIds', maxIds);
  if (ids !== undefined) f.ids = ids;
  const zone = p.str('ZoneId');
  if (zone !== undefined && zone !== '') f.zoneId = zone;
  const vsw = p.str('VSwitchId');
  if (vsw !== undefined && vsw !== '') f.vSwitchId = vsw;
  return f;
}

// ---------------------------------------------------------------------------------------------
// DescribeContainerGroups

function describeContainerGroups(ctx: ActionContext): ActionResult {
  checkRegion(ctx);
  const p = ctx.params;
  const f = commonFilter(ctx, 20);
  const name = p.str('ContainerGroupName');
  if (name !== undefined && name !== '') f.name = name;
  const status = p.str('Status');
  if (status !== undefined && status !== '') f.status = status;
  const sg = p.str('SecurityGroupId');
  if (sg !== undefined && sg !== '') f.securityGroupId = sg;
  const limit = p.int('Limit', { min: 1, max: 20 }) ?? 20;
  const withEvents = p.bool('WithEvent') ?? true;
  const { items, total, next } = page(ctx, f, limit, p.str('NextToken'));
  return { TotalCount: total, NextToken: next, ContainerGroups: items.map((g) => groupOut(g, withEvents, ctx.cloud.now())) };
}

// ---------------------------------------------------------------------------------------------
// DescribeContainerGroupStatus: Kubernetes-like PodStatus per group

const phaseOf: Record<GroupStatus, string> = {
  Scheduling: 'Pending',
  Pending: 'Pending',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  ScheduleFailed: 'Failed',
  Expired: 'Failed',
  Restarting: 'Pending',
  Updating: 'Pending',
  Terminating: 'Running',
};

function k8sState(s: ContainerState | undefined, id: string): Record<string, unknown> {
  if (s === undefined) return {};
  if (s.State === 'Running') {
    const started = iso(s.StartTime);
    return { Running: { StartedAtstartedAt: started, StartedAt: started } };
  }
  if (s.State === 'Waiting') return { Waiting: { Reason: s.Reason, Message: s.Message } };
  return {
    Terminated: {
      ExitCode: s.ExitCode,
      Reason: s.Reason,
      Message: s.Message,
      StartedAt: iso(s.StartTime),
      FinishedAt: iso(s.FinishTime),
      ContainerID: `containerd://${id}`,
      Signal: s.ExitCode !== undefined && s.ExitCode > 128 ? s.ExitCode - 128 : undefined,
    },
  };
}

function imageId(image: string): string {
  return `sha256:${createHash('sha256').update(image).digest('hex')}`;
}

export function podStatusOut(g: GroupRecord, now = Date.now()): Record<string, unknown> {
  const ip = ipShown(g, now) ? g.ip : '';
  const scheduled = g.status !== 'Scheduling' && g.status !== 'ScheduleFailed';
  const allReady = g.containers.length > 0 && g.containers.every((c) => c.ready);
  const initDone = g.initContainers.every((c) => c.state.State === 'Terminated');
  const tt = iso(g.changedAt);
  const cond = (type: string, ok: boolean, reason?: string): Record<string, unknown> => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: tt, Reason: ok ? undefined : reason, Message: undefined });
  let phase = phaseOf[g.status];
  if ((g.status === 'Restarting' || g.status === 'Updating') && g.containers.some((c) => c.state.State === 'Running')) phase = 'Running';
  return {
    Phase: phase,
    PodIp: ip,
    PodIps: ip === '' ? [] : [{ Ip: ip }],
    HostIp: ip,
    StartTime: iso(g.createdAt),
    QosClass: 'Guaranteed',
    Conditions: [
      cond('PodScheduled', scheduled, g.status === 'ScheduleFailed' ? 'Unschedulable' : 'Scheduling'),
      cond('Initialized', scheduled && initDone, 'ContainersNotInitialized'),
      cond('ContainersReady', allReady, 'ContainersNotReady'),
      cond('Ready', allReady, 'ContainersNotReady'),
    ],
    ContainerStatuses: g.containers.map((c, i) => ({
      Name: c.spec.name,
      Image: c.spec.image,
      ImageID: imageId(c.spec.image),
      Ready: c.ready,
      RestartCount: c.restartCount,
      Started: c.state.State === 'Running',
      State: k8sState(c.state, `${g.id}-${i}-${c.restartCount}`),
      LastState: k8sState(c.previous, `${g.id}-${i}-${c.restartCount - 1}`),
    })),
  };
}

function describeContainerGroupStatus(ctx: ActionContext): ActionResult {
  checkRegion(ctx);
  const p = ctx.params;
  const f = commonFilter(ctx, 20);
  const since = p.int('SinceSecond', { min: 1 });
  if (since !== undefined) f.sinceMs = ctx.cloud.now() - since * 1000;
  const limit = p.int('Limit', { min: 1, max: 200 }) ?? 200;
  const { items, total, next } = page(ctx, f, limit, p.str('NextToken'));
  return {
    TotalCount: total,
    NextToken: next,
    Data: items.map((g) => ({ ContainerGroupId: g.id, Name: g.name, Namespace: '', uuid: g.uuid, Status: g.status, Annotations: '{}', PodStatus: podStatusOut(g, ctx.cloud.now()) })),
  };
}

// ---------------------------------------------------------------------------------------------
// DescribeContainerGroupEvents

function describeContainerGroupEvents(ctx: ActionContext): ActionResult {
  checkRegion(ctx);
  const p = ctx.params;
  const f = commonFilter(ctx, 20);
  const since = p.int('SinceSecond', { min: 1 });
  const sinceMs = since === undefined ? undefined : ctx.cloud.now() - since * 1000;
  if (sinceMs !== undefined) f.sinceMs = sinceMs;
  const limit = p.int('Limit', { min: 1, max: 200 }) ?? 200;
  const { items, total, next } = page(ctx, f, limit, p.str('NextToken'));
  return {
    TotalCount: total,
    NextToken: next,
    Data: items.map((g) => ({
      ContainerGroupId: g.id,
      Name: g.name,
      Namespace: '',
      uuid: g.uuid,
      Annotations: '{}',
      Events: g.events
        .filter((e) => sinceMs === undefined || e.last >= sinceMs)
        .map((e) => ({
          Count: e.count,
          Type: e.type,
          Reason: e.reason,
          Message: e.message,
          FirstTimestamp: iso(e.first),
          LastTimestamp: iso(e.last),
          Metadata: { Name: `${g.name}.${e.first.toString(16)}`, Namespace: '' },
          ReportingComponent: 'eci',
          ReportingInstance: g.id,
          Source: { Component: 'eci', Host: g.ip },
          involvedObject: { Kind: 'Pod', Name: g.name, Namespace: '', Uid: g.uuid, ApiVersion: 'v1', FieldPath: e.container === undefined ? undefined : `spec.containers{${e.container}}` },
        })),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Delete / Restart / Update

function groupById(ctx: ActionContext): GroupRecord {
  const id = ctx.params.reqStr('ContainerGroupId');
  const g = ctx.cloud.store.groups.get(id);
  if (g === undefined) throw simError('InvalidContainerGroupId.NotFound', `The specified ContainerGroupId "${id}" does not exist.`);
  return g;
}

async function deleteContainerGroup(ctx: ActionContext): Promise<ActionResult> {
  checkRegion(ctx);
  const { cloud } = ctx;
  const g = groupById(ctx);
  if (g.status === 'Terminating') return {};
  // Documented for DeleteContainerGroup: OperationConflict while an earlier request is in progress.
  if (g.status === 'Restarting' || g.status === 'Updating') throw simError('OperationConflict', `Request was denied due to conflict with a previous request (the container group ${g.id} is ${g.status}).`);
  if (cloud.lifecycleConfig.terminatingMs === 0) {
    cloud.dropGroup(g, true);
    await cloud.commit({ op: 'del', id: g.id });
  } else {
    cloud.lifecycle.terminate(g, cloud.now());
    await cloud.commitGroup(g);
  }
  return {};
}

async function restartContainerGroup(ctx: ActionContext): Promise<ActionResult> {
  checkRegion(ctx);
  const { cloud } = ctx;
  const g = groupById(ctx);
  // The API reference allows a restart of a Running or Pending group.
  if (g.status !== 'Running' && g.status !== 'Pending') throw simError('IncorrectStatus', `The container group ${g.id} is ${g.status}; only a Running or Pending group can be restarted.`);
  cloud.lifecycle.restart(g, cloud.now());
  await cloud.commitGroup(g);
  return {};
}

async function updateContainerGroup(ctx: ActionContext): Promise<ActionResult> {
  checkRegion(ctx);
  const { cloud, params } = ctx;
  const g = groupById(ctx);
  if (g.status === 'Scheduling' || g.status === 'Restarting' || g.status === 'Updating' || g.status === 'Terminating') {
    throw simError('IncorrectStatus', `The container group ${g.id} is ${g.status} and cannot be updated now.`);
  }
  const incremental = (params.oneOf('UpdateType', ['RenewUpdate', 'IncrementalUpdate'] as const) ?? 'RenewUpdate') === 'IncrementalUpdate';
  const now = cloud.now();
  const restartPolicy = params.oneOf('RestartPolicy', ['Always', 'OnFailure', 'Never'] as const);
  if (restartPolicy !== undefined) g.restartPolicy = restartPolicy;
  if (params.has('Tag')) cloud.store.setTags(g, parseTags(params));
  let respawn = false;
  if (params.has('Container')) {
    const volumeNames = new Set(g.volumes.flatMap((v) => (typeof v === 'object' && !Array.isArray(v) && typeof v.Name === 'string' ? [v.Name] : [])));
    const specs = params.list('Container', MAX_CONTAINERS).map((c) => {
      const existing = g.containers.find((x) => x.spec.name === c.str('Name'));
      if (incremental && existing !== undefined) {
        // Fill what the caller left out from the current spec, then parse as a whole.
        const merged = { ...specToParams(existing.spec), ...c.data };
        return parseContainer(new Params(merged, c.path), volumeNames, false);
      }
      return parseContainer(c, volumeNames, false);
    });
    const backoff = cloud.lifecycleConfig.crashBackoffMs;
    if (incremental) {
      for (const s of specs) {
        const i = g.containers.findIndex((x) => x.spec.name === s.name);
        if (i >= 0) g.containers[i]!.spec = s;
        else g.containers.push(newContainer(s, backoff));
      }
    } else {
      g.containers = specs.map((s) => {
        const old = g.containers.find((x) => x.spec.name === s.name);
        const c = newContainer(s, backoff);
        if (old !== undefined) c.restartCount = old.restartCount;
        return c;
      });
    }
    respawn = true;
  }
  const cpu = params.num('Cpu', { min: 0 });
  const memory = params.num('Memory', { min: 0 });
  if (cpu !== undefined || memory !== undefined) {
    const c = cpu ?? g.cpu;
    const m = memory ?? g.memory;
    if (!(specTable.get(c) ?? []).includes(m)) throw invalid('Cpu', `the specification ${c} vCPU / ${m} GiB is not supported`);
    cloud.store.setCpu(g, c);
    g.memory = m;
    respawn = true;
  }
  if (respawn) {
    cloud.lifecycle.update(g, now);
  } else {
    addEvent(g, now, 'Normal', 'Updated', `Updated container group ${g.id}`);
    cloud.store.touch(g, now);
  }
  await cloud.commitGroup(g);
  return {};
}

/** The flat-parameter view of a stored spec (for IncrementalUpdate merges). */
function specToParams(s: ContainerSpec): Record<string, Nested> {
  const out: Record<string, Nested> = { Name: s.name, Image: s.image, Cpu: String(s.cpu), Memory: String(s.memory), Gpu: String(s.gpu) };
  if (s.commands.length > 0) out.Command = s.commands;
  if (s.args.length > 0) out.Arg = s.args;
  if (s.env.length > 0) out.EnvironmentVar = s.env.map((e) => ({ Key: e.key, ...(e.value === undefined ? {} : { Value: e.value }), ...(e.fieldPath === undefined ? {} : { FieldRef: { FieldPath: e.fieldPath } }) }));
  if (s.ports.length > 0) out.Port = s.ports.map((p) => ({ Port: String(p.port), Protocol: p.protocol }));
  if (s.volumeMounts.length > 0) out.VolumeMount = s.volumeMounts.map((m) => ({ Name: m.name, MountPath: m.mountPath, ...(m.readOnly === undefined ? {} : { ReadOnly: String(m.readOnly) }), ...(m.subPath === undefined ? {} : { SubPath: m.subPath }) }));
  if (s.workingDir !== undefined) out.WorkingDir = s.workingDir;
  if (s.imagePullPolicy !== undefined) out.ImagePullPolicy = s.imagePullPolicy;
  if (s.readinessProbe !== undefined) out.ReadinessProbe = s.readinessProbe;
  if (s.livenessProbe !== undefined) out.LivenessProbe = s.livenessProbe;
  if (s.securityContext !== undefined) out.SecurityContext = s.securityContext;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Logs, exec, metrics

function containerOf(ctx: ActionContext, g: GroupRecord, required: boolean): ContainerRecord {
  const name = required ? ctx.params.reqStr('ContainerName') : ctx.params.str('ContainerName');
  if (name === undefined || name === '') {
    if (g.containers.length === 1) return g.containers[0]!;
    throw missing('ContainerName');
  }
  const c = g.containers.find((x) => x.spec.name === name) ?? g.initContainers.find((x) => x.spec.name === name);
  if (c === undefined) throw invalid('ContainerName', `the group ${g.id} has no container named "${name}"`);
  return c;
}

function rfc3339Nano(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000000Z`;
}

function describeContainerLog(ctx: ActionContext): ActionResult {
  checkRegion(ctx);
  const p = ctx.params;
  const g = groupById(ctx);
  const c = containerOf(ctx, g, true);
  const tail = p.int('Tail', { min: 0 });
  const sinceSeconds = p.int('SinceSeconds', { min: 1 });
  const limitBytes = p.int('LimitBytes', { min: 1 });
  const timestamps = p.bool('Timestamps') ?? false;
  const previous = p.bool('LastTime') ?? false;
  let lines = previous ? c.previousLogs : c.logs;
  const startTime = p.str('StartTime');
  let fromMs = sinceSeconds === undefined ? undefined : ctx.cloud.now() - sinceSeconds * 1000;
  if (startTime !== undefined && startTime !== '') {
    const t = Date.parse(startTime);
    if (Number.isNaN(t)) throw invalid('StartTime', `"${startTime}" is not an RFC 3339 time`);
    fromMs = Math.max(fromMs ?? t, t);
  }
  if (fromMs !== undefined) lines = lines.filter(([t]) => t >= fromMs);
  if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
  let content = lines.map(([t, text]) => (timestamps ? `${rfc3339Nano(t)} ${text}\n` : `${text}\n`)).join('');
  if (limitBytes !== undefined) {
    const buf = Buffer.from(content);
    if (buf.length > limitBytes) content = buf.subarray(0, limitBytes).toString();
  }
  return { ContainerName: c.spec.name, Content: content };
}

async function execContainerCommand(ctx: ActionContext): Promise<ActionResult> {
  checkRegion(ctx);
  const p = ctx.params;
  const g = groupById(ctx);
  const c = containerOf(ctx, g, true);
  const command = p.jsonStrings('Command');
  if (command === undefined) throw missing('Command');
  if (command.length === 0) throw invalid('Command', 'must not be empty');
  if (c.state.State !== 'Running') throw simError('IncorrectStatus', `The container ${c.spec.name} of ${g.id} is not running (${c.state.State}).`);
  const session = { groupId: g.id, container: c.spec.name, command, stdin: p.bool('Stdin') ?? false, tty: p.bool('TTY') ?? false };
  if (p.bool('Sync') === true) {
    const result = await ctx.exec.runSync(session);
    return { SyncResponse: result, WebSocketUri: '', HttpUrl: '' };
  }
  const token = ctx.exec.open(session);
  return { WebSocketUri: `ws://${ctx.host}/exec/${token}`, HttpUrl: `http://${ctx.host}/exec/${token}` };
}

function describeContainerGroupMetric(ctx: ActionContext): ActionResult {
  checkRegion(ctx);
  const g = groupById(ctx);
  return { ContainerGroupId: g.id, Records: metricRecords(ctx, g) };
}

/** DescribeMultiContainerGroupMetric: the same samples for up to 20 groups; unknown ids are left out. */
function describeMultiContainerGroupMetric(ctx: ActionContext): ActionResult {
  checkRegion(ctx);
  const ids = ctx.params.jsonStrings('ContainerGroupIds', 20);
  if (ids === undefined || ids.length === 0) throw missing('ContainerGroupIds');
  const groups = ids.map((id) => ctx.cloud.store.groups.get(id)).filter((g): g is GroupRecord => g !== undefined);
  return { MonitorDatas: groups.map((g) => ({ ContainerGroupId: g.id, Records: metricRecords(ctx, g) })) };
}

function metricRecords(ctx: ActionContext, g: GroupRecord): Record<string, unknown>[] {
  const p = ctx.params;
  const now = ctx.cloud.now();
  const parseTime = (key: string, fallback: number): number => {
    const raw = p.str(key);
    if (raw === undefined || raw === '') return fallback;
    const t = Date.parse(raw);
    if (Number.isNaN(t)) throw invalid(key, `"${raw}" is not an RFC 3339 time`);
    return t;
  };
  const end = Math.min(parseTime('EndTime', now), now);
  const start = parseTime('StartTime', end - 5 * 60_000);
  if (start > end) throw invalid('StartTime', 'must not be after EndTime');
  const periodSec = p.oneOf('Period', ['15', '60', '600', '3600'] as const) ?? '60';
  const period = Number(periodSec) * 1000;
  const records: Record<string, unknown>[] = [];
  const from = Math.max(start, g.startedAt ?? Infinity);
  // Samples every Period back from EndTime (at most 100), oldest first.
  const times: number[] = [];
  for (let t = end; t >= from && times.length < 100; t -= period) times.unshift(t);
  for (const t of times) {
    const wave = (salt: string): number => {
      const h = createHash('md5').update(`${g.id}|${salt}|${t}`).digest();
      return h.readUInt16BE(0) / 65535;
    };
    const memLimit = g.memory * 1024 ** 3;
    const cpuLoad = 0.05 + 0.3 * wave('cpu');
    const memUsed = Math.round(memLimit * (0.1 + 0.4 * wave('mem')));
    const cpu = { Limit: g.cpu * 1000, Load: Math.round(cpuLoad * 100), UsageNanoCores: Math.round(cpuLoad * g.cpu * 1e9), UsageCoreNanoSeconds: Math.round(((t - (g.startedAt ?? t)) / 1000) * cpuLoad * g.cpu * 1e9) };
    const memory = { AvailableBytes: memLimit - memUsed, UsageBytes: memUsed, WorkingSet: memUsed, Rss: Math.round(memUsed * 0.8), Cache: Math.round(memUsed * 0.2) };
    const n = g.containers.length;
    records.push({
      Timestamp: iso(t),
      CPU: cpu,
      Memory: memory,
      Containers: g.containers.map((c) => ({
        Name: c.spec.name,
        CPU: { Limit: (c.spec.cpu || g.cpu / n) * 1000, Load: cpu.Load, UsageNanoCores: Math.round(cpu.UsageNanoCores / n), UsageCoreNanoSeconds: Math.round(cpu.UsageCoreNanoSeconds / n) },
        Memory: { AvailableBytes: Math.round(memory.AvailableBytes / n), UsageBytes: Math.round(memUsed / n), WorkingSet: Math.round(memUsed / n), Rss: Math.round(memory.Rss / n), Cache: Math.round(memory.Cache / n) },
      })),
      Network: { Interfaces: [{ Name: 'eth0', RxBytes: Math.round(wave('rx') * 1e6), TxBytes: Math.round(wave('tx') * 1e6), RxPackets: Math.round(wave('rxp') * 1e4), TxPackets: Math.round(wave('txp') * 1e4), RxErrors: 0, TxErrors: 0, RxDrops: 0, TxDrops: 0 }] },
      Disk: [{ Device: 'vda', ReadBytes: Math.round(wave('rd') * 1e6), WriteBytes: Math.round(wave('wr') * 1e6), ReadIO: Math.round(wave('rio') * 100), WriteIO: Math.round(wave('wio') * 100) }],
      Filesystem: [{ FsName: '/', Category: 'system', Capacity: 30 * 1024 ** 3, Usage: 2 * 1024 ** 3, Available: 28 * 1024 ** 3 }],
    });
  }
  return records;
}

export const eciActions: Record<string, Action> = {
  CreateContainerGroup: createContainerGroup,
  DescribeContainerGroups: describeContainerGroups,
  DescribeContainerGroupStatus: describeContainerGroupStatus,
  DescribeContainerGroupEvents: describeContainerGroupEvents,
  DeleteContainerGroup: deleteContainerGroup,
  UpdateContainerGroup: updateContainerGroup,
  RestartContainerGroup: restartContainerGroup,
  DescribeContainerLog: describeContainerLog,
  ExecContainerCommand: execContainerCommand,
  DescribeContainerGroupMetric: describeContainerGroupMetric,
  DescribeMultiContainerGroupMetric: describeMultiContainerGroupMetric,
};
