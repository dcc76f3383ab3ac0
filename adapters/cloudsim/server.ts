// startCloudSim: the whole simulator in-process (tests, the sandbox, benchmarks) or behind the
// CLI. The OpenAPI (ECI + VPC + ECS, all on one port: the SDKs' `x-acs-version` says which) and the
// admin API listen on separate ports.

import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eciActions } from './actions/eci.ts';
import { ecsActions } from './actions/ecs.ts';
import { vpcActions } from './actions/vpc.ts';
import { createAdminServer } from './admin.ts';
import { Cloud } from './cloud.ts';
import { ExecSessions } from './exec.ts';
import { ApiServer } from './wire/server.ts';
import { NonceCache } from './wire/signature.ts';
import { isParsedWorld, loadWorldFile, parseWorld } from './world.ts';
import type { World } from './world.ts';

export interface CloudSimOptions {
  /** A parsed World, a world document (validated here) or the path of a world file. */
  world: World | Record<string, unknown> | string;
  /** OpenAPI port; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Admin API port; 0 (default) picks a free one. */
  adminPort?: number;
  /** Overrides the world's admin.token; without either a random token is made. */
  adminToken?: string;
  /** Snapshot + journal location; without it state lives in memory only. */
  stateFile?: string;
  log?: (message: string) => void;
}

export interface CloudSim {
  /** `host:port`, what the SDKs' `endpoint` option wants (with `protocol: 'http'`). */
  endpoint: string;
  /** `http://host:port`. */
  url: string;
  port: number;
  adminEndpoint: string;
  adminToken: string;
  regionId: string;
  /** The world's first AccessKey pair, for convenience. */
  accessKey: { id: string; secret: string };
  world: World;
  cloud: Cloud;
  /**
   * Stops both servers. Graceful (default): flushes and writes a snapshot. `{ graceful: false }`
   * behaves like a crash: only what the journal already holds survives.
   */
  stop: (opts?: { graceful?: boolean }) => Promise<void>;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startCloudSim(opts: CloudSimOptions): Promise<CloudSim> {
  const world = typeof opts.world === 'string' ? await loadWorldFile(opts.world) : isParsedWorld(opts.world) ? opts.world : parseWorld(opts.world);
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? ((m: string) => console.error(m));
  const cloud = await Cloud.open({ world, ...(opts.stateFile === undefined ? {} : { stateFile: opts.stateFile }), log });
  const exec = new ExecSessions(cloud);
  const nonces = new NonceCache(world.nonceWindowSeconds * 1000);
  const api = new ApiServer({
    cloud,
    exec,
    nonces,
    log,
    accessKeys: new Map(world.accessKeys.map((k) => [k.id, k.secret])),
    products: {
      '2018-08-08': { name: 'eci', hostId: `eci.${world.regionId}.aliyuncs.com`, actions: eciActions },
      '2016-04-28': { name: 'vpc', hostId: `vpc.${world.regionId}.aliyuncs.com`, actions: vpcActions },
      '2014-05-26': { name: 'ecs', hostId: `ecs.${world.regionId}.aliyuncs.com`, actions: ecsActions },
    },
  });
  const adminToken = opts.adminToken ?? world.admin.token ?? randomBytes(24).toString('base64url');
  const admin = createAdminServer({ cloud, token: adminToken, stats: () => api.stats, nonceCount: () => nonces.size });
  let port: number;
  let adminPort: number;
  try {
    port = await listen(api.server, opts.port ?? 0, host);
    adminPort = await listen(admin, opts.adminPort ?? 0, host);
  } catch (err) {
    api.server.close();
    admin.close();
    await cloud.close(false);
    throw err;
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `${hostPart}:${port}`,
    url: `http://${hostPart}:${port}`,
    port,
    adminEndpoint: `http://${hostPart}:${adminPort}`,
    adminToken,
    regionId: world.regionId,
    accessKey: world.accessKeys[0]!,
    world,
    cloud,
    stop: (stopOpts) => {
      stopped ??= (async () => {
        exec.close();
        await Promise.all([close(api.server), close(admin)]);
        await cloud.close(stopOpts?.graceful ?? true);
      })();
      return stopped;
    },
  };
}

