// The OpenAPI HTTP surface: reads an RPC-style request as the official SDKs send it (POST or GET
// `/`, parameters in the query string and/or a form body, action and version in `x-acs-*` headers
// or `Action`/`Version` parameters), verifies the signature and nonce, applies rate limits and
// faults, dispatches to the action, and answers JSON with a RequestId — errors in Alibaba's shape
// `{ RequestId, HostId, Code, Message, Recommend }` with their HTTP status.

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Action, ActionResult } from '../actions/context.ts';
import type { Cloud } from '../cloud.ts';
import { SimError, errorBody, missing, simError } from '../errors.ts';
import type { ExecSessions } from '../exec.ts';
import { signedAt, verifySignature } from './signature.ts';
import type { SignedRequest , NonceCache} from './signature.ts';
import { Params, parseQueryString, unflatten } from './params.ts';

/** Parameters that belong to the protocol, not to the action. */
const PROTOCOL_PARAMS = new Set(['Action', 'Version', 'Format', 'Timestamp', 'SignatureNonce', 'SignatureMethod', 'SignatureVersion', 'AccessKeyId', 'Signature', 'SecurityToken', 'SignatureType', 'BearerToken']);
const MAX_BODY = 4 * 1024 * 1024;

export interface Product {
  name: string;
  hostId: string;
  actions: Record<string, Action>;
}

export interface RequestStats {
  ok: number;
  errors: Record<string, number>;
  /**
   * Milliseconds spent inside the simulator, summed over the calls: from the request's headers
   * read to its answer handed to the socket (a caller's latency minus this is spent elsewhere).
   */
  ms: number;
}

export interface ApiServerOptions {
  cloud: Cloud;
  /** Keyed by API version (`2018-08-08` -> ECI, `2016-04-28` -> VPC). */
  products: Record<string, Product>;
  exec: ExecSessions;
  accessKeys: ReadonlyMap<string, string>;
  nonces: NonceCache;
  log?: (message: string) => void;
}

export class ApiServer {
  readonly server: Server;
  readonly stats = new Map<string, RequestStats>();
  private readonly opts: ApiServerOptions;

  constructor(opts: ApiServerOptions) {
    this.opts = opts;
    this.server = createServer({ maxHeaderSize: 64 * 1024, keepAliveTimeout: 65_000, requestTimeout: 60_000 }, (req, res) => this.handle(req, res));
    opts.exec.attach(this.server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const arrived = performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const body = chunks.length === 0 ? Buffer.alloc(0) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      void this.respond(req, res, body, size > MAX_BODY, arrived);
    });
    req.on('error', () => res.destroy());
  }

  private async respond(req: IncomingMessage, res: ServerResponse, body: Buffer, tooLarge: boolean, arrived: number): Promise<void> {
    const requestId = randomUUID().toUpperCase();
    const versionHeader = req.headers['x-acs-version'];
    let product: Product | undefined;
    let action = '';
    try {
      if (tooLarge) throw simError('InvalidParameter', `The request body is larger than ${MAX_BODY} bytes.`);
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const rawPath = q === -1 ? url : url.slice(0, q);
      const query = parseQueryString(q === -1 ? '' : url.slice(q + 1));
      const form = new Map<string, string>();
      const contentType = req.headers['content-type'] ?? '';
      if (body.length > 0 && contentType.startsWith('application/x-www-form-urlencoded')) parseQueryString(body.toString(), form);

      const version = (typeof versionHeader === 'string' ? versionHeader : undefined) ?? query.get('Version') ?? form.get('Version');
      const actionHeader = req.headers['x-acs-action'];
      action = (typeof actionHeader === 'string' ? actionHeader : undefined) ?? query.get('Action') ?? form.get('Action') ?? '';

      const signed: SignedRequest = { method: req.method ?? 'GET', rawPath, query, form, headers: req.headers, body };
      const verified = verifySignature(signed, (id) => this.opts.accessKeys.get(id));
      const now = this.opts.cloud.now();
      const at = signedAt(signed, verified.scheme);
      if (Math.abs(now - at) > this.opts.nonces.windowMs) {
        throw simError('InvalidTimeStamp.Expired', `The request was signed at ${new Date(at).toISOString()}, more than ${this.opts.nonces.windowMs / 1000}s from the server time ${new Date(now).toISOString()}.`);
      }
      if (!this.opts.nonces.use(`${verified.accessKeyId}\u0000${verified.nonce}`, now)) {
        throw simError('SignatureNonceUsed', 'Specified signature nonce was used already.');
      }

      if (version === undefined || version === '') throw missing('Version');
      product = this.opts.products[version];
      if (product === undefined) throw simError('InvalidVersion', `Specified parameter Version "${version}" is not valid (cloudsim serves ${Object.keys(this.opts.products).join(', ')}).`);
      if (action === '') throw missing('Action');
      const handler = Object.hasOwn(product.actions, action) ? product.actions[action] : undefined;
      if (handler === undefined) throw simError('InvalidAction.NotFound', `Specified api "${action}" is not found, please check your url and method.`);

      this.opts.cloud.limiter.take(action, now);
      const fault = this.opts.cloud.faults.decide(action);
      if (fault.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
      if (fault.error !== undefined) throw fault.error;

      const flat = new Map<string, string>();
      for (const [k, v] of query) if (!PROTOCOL_PARAMS.has(k)) flat.set(k, v);
      for (const [k, v] of form) if (!PROTOCOL_PARAMS.has(k)) flat.set(k, v);
      const params = new Params(unflatten(flat));
      const host = req.headers.host ?? `127.0.0.1:${String((this.server.address() as { port: number } | null)?.port ?? 0)}`;
      const result: ActionResult = await handler({ cloud: this.opts.cloud, params, flat, requestId, host, exec: this.opts.exec });
      send(res, 200, JSON.stringify({ RequestId: requestId, ...result }), requestId);
      this.count(action, undefined, arrived);
    } catch (e) {
      const err = e instanceof SimError ? e : internal(e, this.opts.log);
      const hostId = product?.hostId ?? `${this.opts.cloud.world.regionId}.aliyuncs.com`;
      send(res, err.status, JSON.stringify(errorBody(err, requestId, hostId)), requestId, err.headers);
      this.count(action === '' ? '(none)' : action, err.code, arrived);
    }
  }

  private count(action: string, code: string | undefined, arrived: number): void {
    let s = this.stats.get(action);
    if (s === undefined) {
      s = { ok: 0, errors: {}, ms: 0 };
      this.stats.set(action, s);
    }
    s.ms += performance.now() - arrived;
    if (code === undefined) s.ok++;
    else s.errors[code] = (s.errors[code] ?? 0) + 1;
  }
}

function internal(e: unknown, log: ((m: string) => void) | undefined): SimError {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  log?.(`cloudsim: internal error: ${message}`);
  return simError('InternalError', 'The request processing has failed due to some unknown error, exception or failure.');
}

function send(res: ServerResponse, status: number, body: string, requestId: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-acs-request-id': requestId,
  });
  res.end(body);
}
