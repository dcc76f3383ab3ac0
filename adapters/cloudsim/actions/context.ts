// What an action handler gets, and small helpers shared by the ECI and VPC actions.

import type { Cloud } from '../cloud.ts';
import { invalid, missing, simError } from '../errors.ts';
import type { ExecSessions } from '../exec.ts';
import type { Params } from '../wire/params.ts';

export interface ActionContext {
  cloud: Cloud;
  /** Nested parameters (`Container.1.Name` -> params.list('Container')[0].str('Name')). */
  params: Params;
  /** Flat parameters as sent, without the signature/common ones. */
  flat: ReadonlyMap<string, string>;
  requestId: string;
  /** Host:port the caller used, for URLs handed back (exec WebSocket). */
  host: string;
  exec: ExecSessions;
}

export type ActionResult = Record<string, unknown>;
export type Action = (ctx: ActionContext) => ActionResult | Promise<ActionResult>;

/** RegionId must name the world's region. */
export function checkRegion(ctx: ActionContext, required = true): void {
  const region = ctx.params.str('RegionId');
  if (region === undefined || region === '') {
    if (required) throw missing('RegionId');
    return;
  }
  if (region !== ctx.cloud.world.regionId) throw simError('InvalidRegionId.NotFound', `The specified region "${region}" does not exist (this simulator serves ${ctx.cloud.world.regionId}).`);
}

const isoCache = new Map<number, string>();

/** RFC 3339 without fractions, as ECI prints times (memoised per second: describes print many). */
export function iso(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  const second = Math.floor(ms / 1000);
  let s = isoCache.get(second);
  if (s === undefined) {
    s = `${new Date(second * 1000).toISOString().slice(0, 19)}Z`;
    if (isoCache.size > 50_000) isoCache.clear();
    isoCache.set(second, s);
  }
  return s;
}

/** Opaque paging token over creation sequence numbers. */
export function encodeToken(seq: number): string {
  return Buffer.from(`cloudsim:${seq}`).toString('base64url');
}

export function decodeToken(param: string, token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  const text = Buffer.from(token, 'base64url').toString();
  const m = /^cloudsim:(\d+)$/.exec(text);
  if (m === null) throw invalid(param, 'not a token returned by a previous call');
  return Number(m[1]);
}

/** Tag.N.Key / Tag.N.Value filters: all must match. */
export function tagFilters(params: Params): { key: string; value: string }[] {
  return params.list('Tag', 20).map((t) => ({ key: t.reqStr('Key'), value: t.str('Value') ?? '' }));
}
