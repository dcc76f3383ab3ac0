// The admin API: a separate HTTP server (its own port) with its own bearer token, for tests and
// operators. It reads state, injects faults, switches rate-limit modes, forces group states,
// frees groups and clears everything. Routes (JSON in and out; see docs/cloudsim.md):
//   GET    /healthz                      (no token)
//   GET    /admin/state
//   GET    /admin/groups[?status=S]      summaries
//   GET    /admin/groups/{id}            the whole stored record
//   POST   /admin/groups/{id}/state      {"status":"Failed|Expired|ScheduleFailed|Succeeded","reason"?,"message"?}
//   DELETE /admin/groups/{id}            remove at once and free its IP
//   POST   /admin/clear                  remove every group
//   GET    /admin/faults   PUT /admin/faults        (the world file's `faults` schema)
//   GET    /admin/ratelimits   PUT /admin/ratelimits {"mode"?,"throttleCode"?,"actions"?}
//   GET    /admin/lifecycle   PUT /admin/lifecycle   (partial `lifecycle` settings)
//   POST   /admin/snapshot               write a state snapshot now

import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Cloud } from './cloud.ts';
import type { RequestStats } from './wire/server.ts';
import { WorldError, defaultLifecycle, forcedGroupStatuses, parseFaultConfig, parseWorld, throttleCodes } from './world.ts';
import type { ForcedGroupStatus, LifecycleConfig, RateLimitConfig } from './world.ts';

class HttpError extends Error {
  readonly status: number;
  readonly details: unknown;

  constructor(status: number, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

export interface AdminOptions {
  cloud: Cloud;
  token: string;
  stats: () => ReadonlyMap<string, RequestStats>;
  nonceCount: () => number;
}

export function createAdminServer(opts: AdminOptions): Server {
  const expected = Buffer.from(`Bearer ${opts.token}`);
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const url = new URL(req.url ?? '/', 'http://admin');
          if (url.pathname === '/healthz') return json(res, 200, { ok: true });
          const auth = Buffer.from(req.headers.authorization ?? '');
          if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
            res.setHeader('www-authenticate', 'Bearer realm="cloudsim-admin"');
            throw new HttpError(401, 'missing or wrong bearer token');
          }
          const body = chunks.length === 0 ? undefined : parseJson(Buffer.concat(chunks).toString());
          json(res, 200, await route(opts, req, url, body));
        } catch (e) {
          if (e instanceof HttpError) json(res, e.status, { error: e.message, details: e.details });
          else if (e instanceof WorldError) json(res, 400, { error: 'invalid settings', details: e.problems });
          else json(res, 500, { error: (e as Error).message });
        }
      })();
    });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function route(opts: AdminOptions, req: IncomingMessage, url: URL, body: unknown): Promise<unknown> {
  const { cloud } = opts;
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '');
  const groupMatch = /^\/admin\/groups\/([^/]+)(\/state)?$/.exec(path);

  if (method === 'GET' && path === '/admin/state') {
    const byStatus: Record<string, number> = {};
    for (const g of cloud.store.groups.values()) byStatus[g.status] = (byStatus[g.status] ?? 0) + 1;
    const now = cloud.now();
    return {
      regionId: cloud.world.regionId,
      groups: cloud.store.size,
      byStatus,
      vcpuInUse: cloud.store.liveVcpu,
      vSwitches: [...cloud.vSwitches.values()].map((v) => ({ id: v.id, vpcId: v.vpcId, zoneId: v.zoneId, cidr: v.cidr, available: cloud.pools.get(v.id)!.available, total: cloud.pools.get(v.id)!.total })),
      rateLimits: cloud.limiter.snapshot(now),
      faults: cloud.faults.current,
      lifecycle: cloud.lifecycleConfig,
      realism: cloud.realism.config,
      persistent: cloud.persistent,
      pendingWakeups: cloud.lifecycle.pendingWakeups,
      nonces: opts.nonceCount(),
      requests: Object.fromEntries(opts.stats()),
    };
  }
  if (method === 'GET' && path === '/admin/groups') {
    const status = url.searchParams.get('status');
    return [...cloud.store.groups.values()]
      .filter((g) => status === null || g.status === status)
      .map((g) => ({ id: g.id, name: g.name, status: g.status, ip: g.ip, vSwitchId: g.vSwitchId, zoneId: g.zoneId, createdAt: new Date(g.createdAt).toISOString() }));
  }
  if (groupMatch !== null) {
    const g = cloud.store.groups.get(decodeURIComponent(groupMatch[1]!));
    if (g === undefined) throw new HttpError(404, `no container group ${groupMatch[1]!}`);
    if (method === 'GET' && groupMatch[2] === undefined) return g;
    if (method === 'DELETE' && groupMatch[2] === undefined) {
      cloud.dropGroup(g);
      await cloud.commit({ op: 'del', id: g.id });
      return { deleted: g.id };
    }
    if (method === 'POST' && groupMatch[2] !== undefined) {
      const b = (body ?? {}) as { status?: unknown; reason?: unknown; message?: unknown };
      if (typeof b.status !== 'string' || !(forcedGroupStatuses as readonly string[]).includes(b.status)) {
        throw new HttpError(400, `status must be one of ${forcedGroupStatuses.join(', ')}`);
      }
      const reason = typeof b.reason === 'string' ? b.reason : 'ForcedByAdmin';
      const message = typeof b.message === 'string' ? b.message : `state forced to ${b.status} through the cloudsim admin API`;
      cloud.lifecycle.force(g, b.status as ForcedGroupStatus, reason, message, cloud.now());
      await cloud.commitGroup(g);
      return { id: g.id, status: g.status };
    }
  }
  if (method === 'POST' && path === '/admin/clear') return { deleted: await cloud.clear() };
  if (path === '/admin/faults') {
    if (method === 'GET') return cloud.faults.current;
    if (method === 'PUT') {
      cloud.faults.set(parseFaultConfig(body ?? {}, cloud.world.zones));
      return cloud.faults.current;
    }
  }
  if (path === '/admin/ratelimits') {
    if (method === 'GET') return cloud.limiter.snapshot(cloud.now());
    if (method === 'PUT') {
      cloud.limiter.configure(parseRateLimitPatch(cloud, body));
      return cloud.limiter.snapshot(cloud.now());
    }
  }
  if (path === '/admin/lifecycle') {
    if (method === 'GET') return cloud.lifecycleConfig;
    if (method === 'PUT') {
      const patch = (body ?? {}) as Record<string, unknown>;
      const next: LifecycleConfig = { ...cloud.lifecycleConfig };
      for (const [k, v] of Object.entries(patch)) {
        if (!(k in defaultLifecycle)) throw new HttpError(400, `unknown lifecycle setting "${k}"`);
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new HttpError(400, `lifecycle.${k} must be a number >= 0`);
        next[k as keyof LifecycleConfig] = v;
      }
      cloud.lifecycleConfig = next;
      return next;
    }
  }
  if (method === 'POST' && path === '/admin/snapshot') {
    await cloud.snapshot();
    return { ok: true, persistent: cloud.persistent };
  }
  throw new HttpError(404, `no route ${method} ${url.pathname}`);
}

/** Validates a rate-limit patch with the world file's rules (field-level errors). */
function parseRateLimitPatch(cloud: Cloud, body: unknown): Partial<RateLimitConfig> {
  const b = (body ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['mode', 'throttleCode', 'actions'].includes(k)) throw new HttpError(400, `unknown field "${k}"`);
  const w = cloud.world;
  const doc = {
    regionId: w.regionId,
    zones: w.zones,
    vpcs: w.vpcs,
    vSwitches: w.vSwitches,
    accessKeys: w.accessKeys,
    rateLimits: { mode: b.mode ?? cloud.limiter.mode, throttleCode: b.throttleCode ?? throttleCodes[0], actions: b.actions ?? {} },
  };
  const parsed = parseWorld(doc, 'ratelimits').rateLimits;
  const patch: Partial<RateLimitConfig> = {};
  if (b.mode !== undefined) patch.mode = parsed.mode;
  if (b.throttleCode !== undefined) patch.throttleCode = parsed.throttleCode;
  if (b.actions !== undefined) patch.actions = parsed.actions;
  return patch;
}
