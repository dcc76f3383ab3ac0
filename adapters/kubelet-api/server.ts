// The kubelet API of the virtual nodes: one HTTPS server on node.internalIP:node.kubeletPort
// (every virtual node of this process advertises that endpoint). The apiserver calls it for
// `kubectl logs` and `kubectl exec`; metrics-server for /metrics/resource.
//
//   request -> authenticate (client cert | TokenReview) -> 401
//           -> authorize (SubjectAccessReview on nodes/<subresource>) -> 403
//           -> route (provider/kubelet-api/routes.ts) -> logs | exec | stats | pods | healthz
//
// Which node a request is for: the node of the pod it names; requests that name no pod (stats,
// /pods, /healthz) must be allowed on every virtual node this process serves, since they share
// one address and the request cannot say which one it meant.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { classifyCloudError } from '../../provider/cloud/errors.ts';
import { advanceLog, containerLogState, logRequest, parseLogOptions, START_CURSOR, waitingMessage, type LogOptions } from '../../provider/kubelet-api/logs.ts';
import type { GroupMetricSample } from '../../provider/kubelet-api/model.ts';
import { forbiddenMessage, parseRoute, requiredAccess, type NodeAccess, type Route } from '../../provider/kubelet-api/routes.ts';
import { buildSummary, resourceMetricsText, type PodMetrics } from '../../provider/kubelet-api/stats.ts';
import { POD_ANNOTATIONS } from '../../provider/pods/annotations.ts';
import type { KubeletCloudPort, PodStore } from '../../provider/ports.ts';
import type { Logger } from '../log/logger.ts';
import { createCertificateAuthority, issueCertificate } from '../tls/certificates.ts';
import type { KubeletAuth, UserInfo } from './auth.ts';
import { ExecBridge, queryFlag, type ExecTarget } from './exec.ts';

export interface KubeletApiOptions {
  host: string;
  /** 0 = any free port (tests). */
  port: number;
  tls: { cert: string | Buffer; key: string | Buffer; clientCA?: string | Buffer };
  auth: KubeletAuth;
  cloud: KubeletCloudPort;
  pods: PodStore;
  /** The virtual nodes served on this address (they change when nodes are re-created: a function). */
  nodeNames: () => readonly string[];
  log: Logger;
  /** How often a followed log asks ECI for new lines. Default 1 s (DescribeContainerLog: 500/min per account). */
  logPollIntervalMs?: number;
  /** Metric samples are reused this long per group. Default 10 s. */
  metricCacheMs?: number;
}

export interface KubeletApiServer {
  port: number;
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

export async function startKubeletApi(options: KubeletApiOptions): Promise<KubeletApiServer> {
  const { auth, cloud, pods, log } = options;
  const pollMs = options.logPollIntervalMs ?? 1_000;
  const metricCacheMs = options.metricCacheMs ?? 10_000;
  const startTime = new Date().toISOString();
  const exec = new ExecBridge({ cloud, log });
  const metricCache = new Map<string, { at: number; sample: GroupMetricSample | undefined }>();
  const abort = new AbortController();

  const ourPod = (namespace: string, name: string): V1Pod | undefined => {
    const pod = pods.get(namespace, name);
    const node = pod?.spec?.nodeName;
    return node !== undefined && options.nodeNames().includes(node) ? pod : undefined;
  };

  /** The attributes a request needs: per node of the named pod, or per served node (all must allow). */
  const accessFor = (method: string, path: string, route: Route): NodeAccess[][] => {
    if ('namespace' in route && 'pod' in route) {
      const node = ourPod(route.namespace, route.pod)?.spec?.nodeName;
      if (node !== undefined) return [requiredAccess(method, path, node)];
    }
    const names = options.nodeNames();
    return names.length === 0 ? [requiredAccess(method, path, '')] : names.map((n) => requiredAccess(method, path, n));
  };

  /** undefined = go on; else the 401/403/500 to answer. */
  const gate = async (req: IncomingMessage, path: string, route: Route): Promise<{ user: UserInfo } | Answer> => {
    let user: UserInfo;
    try {
      const authn = await auth.authenticate(req);
      if (!authn.ok) {
        log.debug('kubelet API: unauthenticated request', { path, reason: authn.reason });
        return { status: 401, body: 'Unauthorized' };
      }
      user = authn.user;
    } catch (err) {
      log.error('kubelet API: TokenReview failed', { path, err });
      return { status: 401, body: 'Unauthorized' };
    }
    const needed = accessFor(req.method ?? 'GET', path, route);
    try {
      for (const access of needed) {
        if (!(await auth.authorize(user, access))) {
          log.info('kubelet API: forbidden', { path, user: user.username, node: access[0]?.name, subresources: access.map((a) => a.subresource) });
          return { status: 403, body: forbiddenMessage(user.username, access) };
        }
      }
    } catch (err) {
      log.error('kubelet API: SubjectAccessReview failed', { path, err });
      const first = needed[0]?.[0];
      return { status: 500, body: `Authorization error (user=${user.username}, verb=${first?.verb ?? ''}, resource=nodes, subresource=${first?.subresource ?? ''})` };
    }
    return { user };
  };

  const podOrAnswer = (namespace: string, name: string): { pod: V1Pod } | Answer => {
    const pod = ourPod(namespace, name);
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

  async function containerLogs(res: ServerResponse, route: Extract<Route, { kind: 'containerLogs' }>, query: URLSearchParams): Promise<void> {
    const parsed = parseLogOptions(query);
    if (!parsed.ok) return plain(res, 400, parsed.message);
    const options: LogOptions = parsed.value;
    const found = podOrAnswer(route.namespace, route.pod);
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

  async function collect(): Promise<{ pods: PodMetrics[]; failed: boolean }> {
    const names = new Set(options.nodeNames());
    const running = pods.list().filter((p) => names.has(p.spec?.nodeName ?? '') && p.status?.phase === 'Running' && groupIdOf(p) !== undefined);
    const live = new Set(running.map((p) => groupIdOf(p)!));
    for (const id of metricCache.keys()) if (!live.has(id)) metricCache.delete(id);
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

  const nodeLabel = () => {
    const names = options.nodeNames();
    return names.length === 1 ? names[0]! : names.join(',');
  };

  // --- HTTP ------------------------------------------------------------------------------------
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = parseRoute(url.pathname);
    const gated = await gate(req, url.pathname, route);
    if ('status' in gated) return plain(res, gated.status, gated.body);
    switch (route.kind) {
      case 'healthz':
        return plain(res, 200, 'ok');
      case 'pods': {
        const names = new Set(options.nodeNames());
        return json(res, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pods.list().filter((p) => names.has(p.spec?.nodeName ?? '')) });
      }
      case 'runningpods': {
        const names = new Set(options.nodeNames());
        const items = pods
          .list()
          .filter((p) => names.has(p.spec?.nodeName ?? '') && p.status?.phase === 'Running')
          .map((p) => ({
            metadata: { name: p.metadata?.name, namespace: p.metadata?.namespace, uid: p.metadata?.uid },
            spec: { containers: (p.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image })) },
          }));
        return json(res, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
      }
      case 'statsSummary': {
        const { pods: metrics } = await collect();
        return json(res, buildSummary({ nodeName: nodeLabel(), nodeStartTime: startTime, now: new Date(), pods: metrics }));
      }
      case 'metricsResource': {
        const { pods: metrics, failed } = await collect();
        const summary = buildSummary({ nodeName: nodeLabel(), nodeStartTime: startTime, now: new Date(), pods: metrics });
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        return void res.end(resourceMetricsText({ summary, scrapeError: failed }));
      }
      case 'containerLogs':
        return containerLogs(res, route, url.searchParams);
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

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = parseRoute(url.pathname);
    const gated = await gate(req, url.pathname, route);
    if ('status' in gated) return rawAnswer(socket, gated.status, gated.body);
    if (route.kind === 'attach') return rawAnswer(socket, 501, attachRefusal);
    if (route.kind === 'portForward') return rawAnswer(socket, 501, portForwardRefusal);
    if (route.kind !== 'exec') return rawAnswer(socket, route.kind === 'notFound' ? 404 : 400, 'no upgrade on this path');
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return rawAnswer(socket, 400, `exec over ${req.headers.upgrade ?? 'this protocol'} is not supported by eci-virtual-node: use a client that speaks WebSocket (v5.channel.k8s.io), e.g. kubectl >= 1.31 without KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`);
    }
    const found = podOrAnswer(route.namespace, route.pod);
    if (!('pod' in found)) return rawAnswer(socket, found.status, found.body);
    const q = url.searchParams;
    const resolve = async (): Promise<ExecTarget> => {
      const pod = pods.get(route.namespace, route.pod) ?? found.pod;
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

  const server: Server = createServer({
    cert: options.tls.cert,
    key: options.tls.key,
    ...(options.tls.clientCA === undefined ? {} : { ca: options.tls.clientCA, requestCert: true, rejectUnauthorized: false }),
    minVersion: 'TLSv1.2',
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      log.error('kubelet API: request failed', { path: req.url?.split('?')[0], err });
      plain(res, 500, `internal error: ${(err as Error).message}`);
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    upgrade(req, socket, head).catch((err: unknown) => {
      log.error('kubelet API: upgrade failed', { path: req.url?.split('?')[0], err });
      rawAnswer(socket, 500, `internal error: ${(err as Error).message}`);
    });
  });
  server.on('tlsClientError', (err) => log.debug('kubelet API: TLS handshake failed', { err: err.message }));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        abort.abort();
        exec.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

const attachRefusal =
  'attach is not supported by eci-virtual-node: ECI cannot attach to a container\'s main process; use "kubectl logs -f" for its output or "kubectl exec" to run a command';
const portForwardRefusal =
  'port-forward is not supported by eci-virtual-node: ECI offers no port-forwarding API; reach the pod on its IP (it is a VPC address) or through a Service';
