// The admission webhook's HTTPS envelope: one path (POST /mutate-pods, application/json, body at
// most 3 MiB), /healthz (liveness), /readyz (the process's readiness checks), and nothing else.
// Every failure is an HTTP answer, never a crash: 400 malformed, 404 unknown path, 405 wrong
// method, 413 too big, 415 wrong content type, 500 internal or caches not synced yet (the
// apiserver then applies the webhook's failurePolicy: admitting against empty caches would let a
// pod that a PodNetworking selects through as unmatched).
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { AdmitOptions } from '../../provider/admission/admit.ts';
import type { ReadinessReport } from '../../provider/runtime/readiness.ts';
import { MUTATE_PODS_PATH } from '../../provider/networking/constants.ts';
import type { Logger } from '../log/logger.ts';
import { reviewPod, type AdmissionDecision, type GetAdmissionInputs } from './review.ts';

/** The apiserver's own limit on an object is ~1.5 MiB in etcd; a review carries it once or twice. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Searchable prefix of the 500 answered while the webhook's caches have not synced. */
export const WEBHOOK_NOT_SYNCED = 'WebhookCachesNotSynced: the eci-virtual-node admission webhook has not synced its caches yet';

export interface AdmissionWebhookOptions {
  /** 0 picks a free port (tests). */
  port: number;
  host?: string;
  /** PEM serving certificate (chain) and key. */
  tlsCert: string | Buffer;
  tlsKey: string | Buffer;
  /** Namespace labels and PodNetworkings, from informer caches: no API call on this path. */
  getInputs: GetAdmissionInputs;
  options: AdmitOptions;
  /**
   * True once the caches behind getInputs have synced, else why not. Until then every review is
   * answered 500. Default: always synced.
   */
  cachesSynced?: () => true | string;
  /** What /readyz reports (503 and the failing checks while not ready). Default: always ready. */
  readiness?: () => ReadinessReport;
  /** Called after each pod decision (log, span, Warning event for several matches). Must not throw. */
  onDecision?: (decision: AdmissionDecision) => void;
  maxBodyBytes?: number;
  /** Whole-request deadline; the apiserver gives up after the webhook's timeoutSeconds anyway. */
  requestTimeoutMs?: number;
  log?: Logger;
}

export interface AdmissionWebhook {
  /** The port actually bound. */
  port: number;
  /** e.g. `https://127.0.0.1:8443`; the mutate URL is `${url}/mutate-pods`. */
  url: string;
  /** Swap the serving certificate without a restart (rotation). */
  setCertificate(tlsCert: string | Buffer, tlsKey: string | Buffer): void;
  close(): Promise<void>;
}

/** A request over HTTP/1.1 or HTTP/2 (the server speaks both: see startAdmissionWebhook). */
type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/**
 * Concurrent reviews one apiserver connection may carry over HTTP/2. The apiserver opens a
 * second connection beyond it; a burst of pod creates stays far below.
 */
const MAX_CONCURRENT_STREAMS = 100;

function send(res: Response, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  // The HTTP/2 compatibility response takes the same arguments; TypeScript cannot unify the overloads.
  (res as ServerResponse).writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads the body up to `limit` bytes; `undefined` when it was larger (the rest is drained). */
function readBody(req: Request, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      if (tooBig) return;
      size += chunk.length;
      if (size > limit) {
        tooBig = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(tooBig ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** How much of an oversized body is read and dropped before the 413, at most (then the connection is cut). */
const OVERSIZED_DISCARD_MAX_BYTES = 64 * 1024 * 1024;
const OVERSIZED_DISCARD_MS = 5_000;
/** A connection with no request for this long is closed (Go's apiserver client keeps idle ones 90 s). */
const IDLE_CONNECTION_MS = 120_000;

/** Reads and drops a request body; resolves at its end, on error, or at the byte or time bound. */
function discardBody(req: Request, bound: { maxBytes: number; timeoutMs: number }): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > bound.maxBytes) done();
    };
    const timer = setTimeout(done, bound.timeoutMs);
    req.on('data', onData);
    req.once('end', done);
    req.once('error', done);
    req.once('close', done);
  });
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

export async function startAdmissionWebhook(o: AdmissionWebhookOptions): Promise<AdmissionWebhook> {
  const limit = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = o.log;
  const host = o.host ?? '0.0.0.0';

  const handle = async (req: Request, res: Response): Promise<void> => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz' || path === '/readyz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
      if (path === '/healthz') return send(res, 200, 'ok\n');
      const report = o.readiness?.();
      if (report === undefined) return send(res, 200, 'ok\n');
      return send(res, report.ready ? 200 : 503, report.text);
    }
    if (path !== MUTATE_PODS_PATH) return send(res, 404, `not found: only POST ${MUTATE_PODS_PATH}\n`);
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return send(res, 405, 'method not allowed: POST only\n');
    }
    if (!isJson(req.headers['content-type'])) {
      return send(res, 415, `unsupported content type ${JSON.stringify(req.headers['content-type'] ?? '')}: application/json only\n`);
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      // Read and discard what the client is still sending, then answer and close. Closing with
      // unread bytes makes the kernel reset the connection, which can destroy the 413 before the
      // client reads it (RFC 9112 section 9.6). Bounded in time and bytes.
      await discardBody(req, { maxBytes: OVERSIZED_DISCARD_MAX_BYTES, timeoutMs: OVERSIZED_DISCARD_MS });
      // HTTP/2 has no Connection header (and needs none: the stream ends, the connection stays).
      if (req.httpVersionMajor === 1) res.setHeader('Connection', 'close');
      return send(res, 413, `request body of ${declared} bytes exceeds the limit of ${limit}\n`);
    }
    const synced = o.cachesSynced?.() ?? true;
    if (synced !== true) {
      req.resume();
      log?.warn('admission refused with 500: caches not synced yet', { reason: synced });
      return send(res, 500, `${WEBHOOK_NOT_SYNCED}: ${synced}; the apiserver applies this webhook's failurePolicy\n`);
    }
    const body = await readBody(req, limit);
    if (body === undefined) return send(res, 413, `request body exceeds the limit of ${limit} bytes\n`);

    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return send(res, 400, `malformed JSON: ${(err as Error).message}\n`);
    }
    // HTTP/2 names the host in :authority, HTTP/1.1 in Host.
    const authority = req.httpVersionMajor === 2 ? (req as Http2ServerRequest).authority : req.headers.host;
    const host = /^(\[[^\]]+\]|[^:]+)/.exec(authority ?? '')?.[1];
    const outcome = await reviewPod(parsed, {
      getInputs: o.getInputs,
      options: o.options,
      http: { route: MUTATE_PODS_PATH, ...(host === undefined ? {} : { serverAddress: host }), ...(req.socket.localPort === undefined ? {} : { serverPort: req.socket.localPort }) },
    });
    if (outcome.httpStatus !== 200) {
      if (outcome.httpStatus === 500) log?.error('admission failed', { error: outcome.message });
      else log?.warn('malformed admission review', { error: outcome.message });
      return send(res, outcome.httpStatus, `${outcome.message}\n`);
    }
    if (outcome.decision !== undefined) {
      try {
        o.onDecision?.(outcome.decision);
      } catch (err) {
        log?.error('onDecision threw', { error: String(err) });
      }
    }
    return send(res, 200, JSON.stringify(outcome.review), 'application/json');
  };

  // HTTP/2 as well as HTTP/1.1. The apiserver's webhook client offers h2: one connection then
  // carries every review at once. Over HTTP/1.1 it keeps few idle connections, so a burst of pod
  // creates made it open (and TLS-handshake) a new connection for 0.4 reviews in 10 on average,
  // which cost both the apiserver and this process CPU per pod (docs/benchmark.md, "The admission
  // webhook over HTTP/2").
  const requestTimeoutMs = o.requestTimeoutMs ?? 10_000;
  const server = createSecureServer(
    { cert: o.tlsCert, key: o.tlsKey, minVersion: 'TLSv1.2', allowHTTP1: true, settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS } },
    (req: Request, res: Response) => {
      // A whole-request deadline, slow senders included: the apiserver gives up after the
      // webhook's timeoutSeconds anyway; this frees what the request holds here.
      const deadline = setTimeout(() => {
        log?.debug('webhook request cut at its deadline', { ms: requestTimeoutMs });
        if (res.headersSent) return void req.destroy();
        // The 408 first, then the request (and an HTTP/1.1 connection) goes: destroying at once
        // would reset the connection before the client reads the answer.
        if (req.httpVersionMajor === 1) res.setHeader('Connection', 'close');
        send(res, 408, `request not complete within ${requestTimeoutMs} ms\n`);
        res.once('finish', () => req.destroy());
        setTimeout(() => req.destroy(), 1_000).unref();
      }, requestTimeoutMs);
      deadline.unref();
      res.once('close', () => clearTimeout(deadline));
      handle(req, res)
        .catch((err: unknown) => {
          log?.error('admission webhook request failed', { error: String(err) });
          send(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}\n`);
        })
        .finally(() => clearTimeout(deadline));
    },
  );
  // What close() must end: HTTP/2 sessions and HTTP/1.1 sockets (an idle keep-alive socket or a
  // spare connection the apiserver opened would otherwise hold close() open).
  const sessions = new Set<Http2Session>();
  const sockets = new Set<Socket>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // HTTP/1.1 requests go through Node's HTTP/1.1 server code, which also reads these two (headers
  // within 5 s; not in the HTTP/2 server's type declarations). Any connection that carries nothing
  // for IDLE_CONNECTION_MS is closed.
  Object.assign(server, { headersTimeout: 5_000, requestTimeout: requestTimeoutMs });
  server.setTimeout(IDLE_CONNECTION_MS);
  server.on('sessionError', (err: Error) => log?.debug('webhook HTTP/2 session error', { error: String(err) }));
  server.on('tlsClientError', (err: Error) => log?.debug('webhook TLS client error', { error: String(err) }));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  log?.info('admission webhook listening', { port, path: MUTATE_PODS_PATH });

  return {
    port,
    url: `https://${shownHost}:${port}`,
    setCertificate(tlsCert, tlsKey) {
      server.setSecureContext({ cert: tlsCert, key: tlsKey });
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // HTTP/2 sessions finish their open streams and take no new ones.
        for (const session of sessions) session.close();
        // Then whatever is left (idle HTTP/1.1 keep-alive sockets, spare connections the
        // apiserver opened, a session that did not finish) once in-flight reviews had a moment.
        setTimeout(() => {
          for (const session of sessions) session.destroy();
          for (const socket of sockets) socket.destroy();
        }, 2_000).unref();
      });
    },
  };
}
