// The kubelet API of the virtual nodes: one HTTPS listener per virtual node, each on its own port
// (node.internalIP:<port of that node>, the port the node advertises in daemonEndpoints), all with
// the same serving certificate. The apiserver calls it for `kubectl logs` and `kubectl exec`;
// metrics-server for /metrics/resource.
//
//   request -> authenticate (client cert | TokenReview) -> 401
//           -> authorize (SubjectAccessReview on nodes/<subresource> of THIS node) -> 403
//           -> route (provider/kubelet-api/routes.ts) -> logs | exec | stats | pods | healthz
//
// Each listener is one kubelet: it lists, serves and reports only the pods bound to its node, and
// answers 404 for a pod of another node, as a kubelet that does not run the pod would.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { classifyCloudError } from '../../provider/cloud/errors.ts';
import { advanceLog, containerLogState, logRequest, parseLogOptions, START_CURSOR, waitingMessage, type LogOptions } from '../../provider/kubelet-api/logs.ts';
import type { GroupMetricSample } from '../../provider/kubelet-api/model.ts';
import { podOnNode, podsOfNode, runningPodsOfNode, type KubeletPorts } from '../../provider/kubelet-api/endpoints.ts';
import { anonymousStatsRoute, forbiddenMessage, parseRoute, requiredAccess, type Route } from '../../provider/kubelet-api/routes.ts';
import { buildSummary, resourceMetricsText, type PodMetrics } from '../../provider/kubelet-api/stats.ts';
import { POD_ANNOTATIONS } from '../../provider/pods/annotations.ts';
import type { KubeletCloudPort, PodStore } from '../../provider/ports.ts';
import type { Logger } from '../log/logger.ts';
import { createCertificateAuthority, issueCertificate } from '../tls/certificates.ts';
import { ANONYMOUS_USER, type KubeletAuth, type UserInfo } from './auth.ts';
import { ExecBridge, queryFlag, type ExecTarget } from './exec.ts';

export interface KubeletApiOptions {
  host: string;
  /** Which port each node listens on (shared with the node manager, which advertises them). */
  ports: KubeletPorts;
  tls: { cert: string | Buffer; key: string | Buffer; clientCA?: string | Buffer };
  auth: KubeletAuth;
  cloud: KubeletCloudPort;
  pods: PodStore;
  log: Logger;
  /** How often a followed log asks ECI for new lines. Default 1 s (DescribeContainerLog: 500/min per account). */
  logPollIntervalMs?: number;
  /** Metric samples are reused this long per group. Default 10 s. */
  metricCacheMs?: number;
  /**
   * Opt-in, off by default: GET /stats/summary and /metrics/resource without credentials are
   * authorized as system:anonymous (SubjectAccessReview) instead of answered 401. For callers
   * that cannot send credentials, such as the apiserver's pod proxy (docs/kubelet-api.md).
   */
  anonymousStats?: boolean;
}

/**
 * The kubelet API of every virtual node of this process. The node manager calls addNode when a
 * node appears (before or after it is registered: the port is fixed by `ports` either way) and
 * removeNode when the node goes away.
 */
export interface KubeletApi {
  /** Starts the node's listener (idempotent); resolves to its port. Rejects when it cannot listen. */
  addNode(nodeName: string): Promise<number>;
  /** Stops the node's listener, ends its open streams and gives its port back. */
  removeNode(nodeName: string): Promise<void>;
  /** Node name -> port of the listeners running now. */
  listeners(): Map<string, number>;
  close(): Promise<void>;
}

/** Reads the configured PEM files, or makes a self-signed serving pair for `addresses` (like a kubelet without --tls-cert-file). */
export async function servingCertificate(input: { certFile: string; keyFile: string; addresses: readonly string[] }): Promise<{ cert: string; key: string; selfSigned: boolean }> {
  if (input.certFile !== '' && input.keyFile !== '') {
    return { cert: readFileSync(input.certFile, 'utf8'), key: readFileSync(input.keyFile, 'utf8'), selfSigned: false };
  }
  const ca = await createCertificateAuthority({ commonName: 'eci-virtual-node-kubelet-ca' });
  const ipAddresses = input.addresses.filter((a) => isIP(a) !== 0);
  const dnsNames = input.addresses.filter((a) => isIP(a) === 0 && a !== '');
  const pair = await issueCertificate({ ca, commonName: 'eci-virtual-node-kubelet', ipAddresses, dnsNames: dnsNames.length === 0 && ipAddresses.length === 0 ? ['localhost'] : dnsNames, usage: 'server' });
  return { cert: pair.certPem, key: pair.keyPem, selfSigned: true };
}

function plain(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(body.endsWith('\n') ? body : `${body}\n`);
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 501: 'Not Implemented' };

/** An HTTP answer written on a socket that asked for an upgrade (no ServerResponse there). */
function rawAnswer(socket: Duplex, status: number, body: string): void {
  const text = body.endsWith('\n') ? body : `${body}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

type Answer = { status: number; body: string };

export function createKubeletApi(options: KubeletApiOptions): KubeletApi {
  const { auth, cloud, pods, log } = options;
  const pollMs = options.logPollIntervalMs ?? 1_000;
  const metricCacheMs = options.metricCacheMs ?? 10_000;
  const exec = new ExecBridge({ cloud, log });
  const metricCache = new Map<string, { at: number; sample: GroupMetricSample | undefined }>();
  const abort = new AbortController();

  /** Authenticated and authorized as the kubelet does it: on nodes/<subresource> of this node. */
  const gate = async (nodeName: string, req: IncomingMessage, path: string, route: Route): Promise<{ user: UserInfo } | Answer> => {
    let user: UserInfo;
    try {
      const authn = await auth.authenticate(req);
      if (!authn.ok && authn.noCredentials === true && options.anonymousStats === true && anonymousStatsRoute(req.method ?? 'GET', route)) {
        user = ANONYMOUS_USER;
      } else if (!authn.ok) {
        log.debug('kubelet API: unauthenticated request', { path, reason: authn.reason });
        return { status: 401, body: 'Unauthorized' };
      } else {
        user = authn.user;
      }
    } catch (err) {
      log.error('kubelet API: TokenReview failed', { path, err });
      return { status: 401, body: 'Unauthorized' };
    }
    const access = requiredAccess(req.method ?? 'GET', path, nodeName);
    try {
      if (!(await auth.authorize(user, access))) {
        log.info('kubelet API: forbidden', { path, user: user.username, node: nodeName, subresources: access.map((a) => a.subresource) });
        return { status: 403, body: forbiddenMessage(user.username, access) };
      }
    } catch (err) {
      log.error('kubelet API: SubjectAccessReview failed', { path, err });
      const first = access[0];
      return { status: 500, body: `Authorization error (user=${user.username}, verb=${first?.verb ?? ''}, resource=nodes, subresource=${first?.subresource ?? ''})` };
    }
    return { user };
  };

  const podOrAnswer = (nodeName: string, namespace: string, name: string): { pod: V1Pod } | Answer => {
    const pod = podOnNode(pods.get(namespace, name), nodeName);
    return pod === undefined ? { status: 404, body: `pod "${name}" in namespace "${namespace}" not found on this node` } : { pod };
  };

  const groupIdOf = (pod: V1Pod): string | undefined => pod.metadata?.annotations?.[POD_ANNOTATIONS.instanceId] || undefined;

  // --- logs ------------------------------------------------------------------------------------
  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', done);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
    });

  async function containerLogs(nodeName: string, res: ServerResponse, route: Extract<Route, { kind: 'containerLogs' }>, query: URLSearchParams): Promise<void> {
    const parsed = parseLogOptions(query);
    if (!parsed.ok) return plain(res, 400, parsed.message);
    const options: LogOptions = parsed.value;
    const found = podOrAnswer(nodeName, route.namespace, route.pod);
    if (!('pod' in found)) return plain(res, found.status, found.body);
    const uid = found.pod.metadata?.uid;
    const state = containerLogState(found.pod, route.container);
    if (state.kind === 'unknownContainer') {
      return plain(res, 400, `container ${route.container} is not valid for pod ${route.pod}`);
    }
    const groupId = groupIdOf(found.pod);
    if (state.kind === 'waiting' || groupId === undefined) {
      return plain(res, 400, waitingMessage(route.container, route.pod, state.kind === 'waiting' ? state.reason : 'ContainerCreating'));
    }
    const closed = new AbortController();
    const onClose = () => closed.abort();
    res.on('close', onClose);
    abort.signal.addEventListener('abort', onClose, { once: true });
    let cursor = START_CURSOR;
    const following = options.follow && !options.previous && state.kind === 'running';
    let lastPoll = false;
    try {
      for (;;) {
        let content: string;
        try {
          content = await cloud.describeContainerLog(logRequest({ containerGroupId: groupId, container: route.container, options, cursor }));
        } catch (err) {
          if (res.headersSent) {
            log.warn('kubelet API: log poll failed; ending the stream', { pod: `${route.namespace}/${route.pod}`, err });
            return void res.end();
          }
          const gone = classifyCloudError(err).verdict === 'gone';
          return plain(res, gone ? 404 : 500, (err as Error).message);
        }
        if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        const step = advanceLog({ content, cursor, options });
        cursor = step.cursor;
        if (step.output !== '') res.write(step.output);
        if (step.done || !following || lastPoll || closed.signal.aborted) break;
        await sleep(pollMs, closed.signal);
        if (closed.signal.aborted) break;
        // The container ended (or the pod went): one more poll for its last lines, then stop.
        const now = pods.get(route.namespace, route.pod);
        if (now === undefined || now.metadata?.uid !== uid || containerLogState(now, route.container).kind !== 'running') lastPoll = true;
      }
    } finally {
      res.off('close', onClose);
      abort.signal.removeEventListener('abort', onClose);
    }
    res.end();
  }

  // --- stats -----------------------------------------------------------------------------------
  async function latestSample(groupId: string): Promise<{ sample: GroupMetricSample | undefined; failed: boolean }> {
    const cached = metricCache.get(groupId);
    if (cached !== undefined && Date.now() - cached.at < metricCacheMs) return { sample: cached.sample, failed: false };
    try {
      const samples = await cloud.describeContainerGroupMetric(groupId);
      const sample = samples.at(-1);
      metricCache.set(groupId, { at: Date.now(), sample });
      return { sample, failed: false };
    } catch (err) {
      log.warn('kubelet API: DescribeContainerGroupMetric failed', { groupId, err });
      return { sample: undefined, failed: true };
    }
  }

  /** Forgets the samples of groups no node runs any more. */
  const pruneMetricCache = () => {
    const live = new Set(pods.list().map(groupIdOf));
    for (const id of metricCache.keys()) if (!live.has(id)) metricCache.delete(id);
  };

  async function collect(nodeName: string): Promise<{ pods: PodMetrics[]; failed: boolean }> {
    const running = podsOfNode(pods.list(), nodeName).filter((p) => p.status?.phase === 'Running' && groupIdOf(p) !== undefined);
    pruneMetricCache();
    const out: PodMetrics[] = [];
    let failed = false;
    // At most 8 calls at once; the shared caller paces them under the account's quota.
    for (let i = 0; i < running.length; i += 8) {
      const batch = await Promise.all(running.slice(i, i + 8).map(async (pod) => ({ pod, ...(await latestSample(groupIdOf(pod)!)) })));
      for (const b of batch) {
        failed ||= b.failed;
        out.push({ pod: b.pod, sample: b.sample });
      }
    }
    return { pods: out, failed };
  }

  // --- HTTP ------------------------------------------------------------------------------------
  async function handle(node: ServedNode, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const nodeName = node.name;
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = parseRoute(url.pathname);
    const gated = await gate(nodeName, req, url.pathname, route);
    if ('status' in gated) return plain(res, gated.status, gated.body);
    switch (route.kind) {
      case 'healthz':
        return plain(res, 200, 'ok');
      case 'pods':
        return json(res, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: podsOfNode(pods.list(), nodeName) });
      case 'runningpods':
        return json(res, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: runningPodsOfNode(pods.list(), nodeName) });
      case 'statsSummary': {
        const { pods: metrics } = await collect(nodeName);
        return json(res, buildSummary({ nodeName, nodeStartTime: node.startTime, now: new Date(), pods: metrics }));
      }
      case 'metricsResource': {
        const { pods: metrics, failed } = await collect(nodeName);
        const summary = buildSummary({ nodeName, nodeStartTime: node.startTime, now: new Date(), pods: metrics });
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        return void res.end(resourceMetricsText({ summary, scrapeError: failed }));
      }
      case 'containerLogs':
        return containerLogs(nodeName, res, route, url.searchParams);
      case 'exec':
        return plain(res, 400, 'exec needs a WebSocket upgrade (v5.channel.k8s.io); this node does not serve SPDY');
      case 'attach':
        return plain(res, 501, attachRefusal);
      case 'portForward':
        return plain(res, 501, portForwardRefusal);
      case 'unsupported':
        return plain(res, 501, `${route.what} is not served by eci-virtual-node`);
      case 'notFound':
        return plain(res, 404, '404 page not found');
    }
  }

  async function upgrade(nodeName: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = parseRoute(url.pathname);
    const gated = await gate(nodeName, req, url.pathname, route);
    if ('status' in gated) return rawAnswer(socket, gated.status, gated.body);
    if (route.kind === 'attach') return rawAnswer(socket, 501, attachRefusal);
    if (route.kind === 'portForward') return rawAnswer(socket, 501, portForwardRefusal);
    if (route.kind !== 'exec') return rawAnswer(socket, route.kind === 'notFound' ? 404 : 400, 'no upgrade on this path');
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return rawAnswer(socket, 400, `exec over ${req.headers.upgrade ?? 'this protocol'} is not supported by eci-virtual-node: use a client that speaks WebSocket (v5.channel.k8s.io), e.g. kubectl >= 1.31 without KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`);
    }
    const found = podOrAnswer(nodeName, route.namespace, route.pod);
    if (!('pod' in found)) return rawAnswer(socket, found.status, found.body);
    const q = url.searchParams;
    const resolve = async (): Promise<ExecTarget> => {
      const pod = podOnNode(pods.get(route.namespace, route.pod), nodeName) ?? found.pod;
      const streams = { stdout: queryFlag(q, 'output', 'stdout'), stderr: queryFlag(q, 'error', 'stderr') };
      if (route.uid !== undefined && pod.metadata?.uid !== route.uid) return { ...streams, refusal: `pod ${route.pod} has another UID than ${route.uid}` };
      const command = q.getAll('command');
      if (command.length === 0) return { ...streams, refusal: 'no command given (query parameter "command")' };
      const state = containerLogState(pod, route.container);
      if (state.kind === 'unknownContainer') return { ...streams, refusal: `container ${route.container} is not valid for pod ${route.pod}` };
      const groupId = groupIdOf(pod);
      if (state.kind !== 'running' || groupId === undefined) return { ...streams, refusal: `container "${route.container}" in pod "${route.pod}" is not running` };
      const tty = queryFlag(q, 'tty');
      return { ...streams, request: { containerGroupId: groupId, containerName: route.container, command, stdin: queryFlag(q, 'input', 'stdin'), tty } };
    };
    exec.handle(req, socket, head, resolve);
  }

  // --- one listener per node ------------------------------------------------------------------
  const served = new Map<string, ServedNode>();

  async function listen(nodeName: string, port: number): Promise<ServedNode> {
    const node: ServedNode = { name: nodeName, port, startTime: new Date().toISOString(), server: undefined as unknown as Server };
    const server: Server = createServer({
      cert: options.tls.cert,
      key: options.tls.key,
      ...(options.tls.clientCA === undefined ? {} : { ca: options.tls.clientCA, requestCert: true, rejectUnauthorized: false }),
      minVersion: 'TLSv1.2',
    });
    node.server = server;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      handle(node, req, res).catch((err: unknown) => {
        log.error('kubelet API: request failed', { node: nodeName, path: req.url?.split('?')[0], err });
        plain(res, 500, `internal error: ${(err as Error).message}`);
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      upgrade(nodeName, req, socket, head).catch((err: unknown) => {
        log.error('kubelet API: upgrade failed', { node: nodeName, path: req.url?.split('?')[0], err });
        rawAnswer(socket, 500, `internal error: ${(err as Error).message}`);
      });
    });
    server.on('tlsClientError', (err) => log.debug('kubelet API: TLS handshake failed', { node: nodeName, err: err.message }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return node;
  }

  const stopListener = (node: ServedNode) =>
    new Promise<void>((resolve) => {
      node.server.close(() => resolve());
      node.server.closeAllConnections();
    });

  // One add/remove at a time per node name, so a remove racing an add never leaks a listener.
  const pending = new Map<string, Promise<unknown>>();
  const serially = <T>(nodeName: string, work: () => Promise<T>): Promise<T> => {
    const next = (pending.get(nodeName) ?? Promise.resolve()).then(work, work);
    const settled = next.catch(() => undefined);
    pending.set(nodeName, settled);
    void settled.then(() => {
      if (pending.get(nodeName) === settled) pending.delete(nodeName);
    });
    return next;
  };

  let closing: Promise<void> | undefined;
  return {
    addNode(nodeName) {
      return serially(nodeName, async () => {
        if (closing !== undefined) throw new Error(`kubelet API is closed; not listening for node ${nodeName}`);
        const running = served.get(nodeName);
        if (running !== undefined) return running.port;
        const port = options.ports.assign(nodeName);
        try {
          served.set(nodeName, await listen(nodeName, port));
        } catch (err) {
          throw new KubeletListenError(nodeName, options.host, port, err);
        }
        log.info('kubelet API listening for virtual node', { node: nodeName, address: `${options.host}:${port}` });
        return port;
      });
    },
    removeNode(nodeName) {
      return serially(nodeName, async () => {
        const node = served.get(nodeName);
        served.delete(nodeName);
        options.ports.release(nodeName);
        if (node === undefined) return;
        await stopListener(node);
        pruneMetricCache();
        log.info('kubelet API stopped listening for virtual node', { node: nodeName, port: node.port });
      });
    },
    listeners: () => new Map([...served.values()].map((n) => [n.name, n.port])),
    close() {
      closing ??= (async () => {
        abort.abort();
        exec.close();
        await Promise.all([...pending.values()]);
        await Promise.all([...served.values()].map(stopListener));
        served.clear();
      })();
      return closing;
    },
  };
}

interface ServedNode {
  name: string;
  port: number;
  /** When this node's listener started: the Summary's node startTime. */
  startTime: string;
  server: Server;
}

/** A node's listener could not start (the port is in use, or the address is not local). */
export class KubeletListenError extends Error {
  readonly code = 'KubeletListenFailed';
  constructor(nodeName: string, host: string, port: number, cause: unknown) {
    const why = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause instanceof Error ? cause.message : String(cause));
    super(
      `kubelet API for virtual node ${nodeName} cannot listen on ${host}:${port} (${why}): free that port, or move the pool with --kubelet-port/--kubelet-port-count or --kubelet-ports`,
      { cause },
    );
    this.name = 'KubeletListenError';
  }
}

const attachRefusal =
  'attach is not supported by eci-virtual-node: ECI cannot attach to a container\'s main process; use "kubectl logs -f" for its output or "kubectl exec" to run a command';
const portForwardRefusal =
  'port-forward is not supported by eci-virtual-node: ECI offers no port-forwarding API; reach the pod on its IP (it is a VPC address) or through a Service';
