// `/exec/{ns}/{pod}/{container}` as a WebSocket bridge: the apiserver's connection (the
// Kubernetes channel protocol, `v5.channel.k8s.io` or `v4.channel.k8s.io`) on one side, ECI's
// ExecContainerCommand WebSocket on the other.
//
// Which protocol the apiserver speaks to a kubelet (kube-apiserver 1.36,
// pkg/registry/core/pod/rest/subresources.go): a WebSocket exec from kubectl is proxied to the
// kubelet unchanged when the node declares `ExtendWebSocketsToKubelet` in
// status.declaredFeatures (feature gates ExtendWebSocketsToKubelet and NodeDeclaredFeatures, both
// beta and on by default in 1.36); otherwise the apiserver translates it to SPDY/3.1. Virtual
// nodes declare the feature, so kubectl >= 1.31 reaches this bridge over WebSocket. A client that
// itself speaks SPDY (old kubectl, KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false) is proxied as SPDY and
// refused here with a message saying so.
//
// Framing on both sides: binary messages whose first byte is the stream (0 stdin, 1 stdout,
// 2 stderr, 3 status, 4 resize); v5 adds [255, stream] = "this stream is closed". Both are
// passed through unchanged (ECI's session speaks the same framing); the status (a
// metav1.Status, exit code in details.causes) is ECI's. Failures before ECI answers become a
// Failure status on stream 3, which kubectl prints.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { classifyCloudError } from '../../provider/cloud/errors.ts';
import type { ExecRequest } from '../../provider/kubelet-api/model.ts';
import type { KubeletCloudPort } from '../../provider/ports.ts';
import type { Logger } from '../log/logger.ts';

/** Subprotocols this bridge speaks, preferred first. */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

export const STREAM = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

/** A metav1.Status for stream 3. */
export function failureStatus(message: string, reason = 'InternalError', code = 500): string {
  return JSON.stringify({ metadata: {}, status: 'Failure', message, reason, code });
}

/** Go's strconv.ParseBool truthy values (the query flags stdin/stdout/stderr/tty). */
export function queryFlag(query: URLSearchParams, ...names: string[]): boolean {
  return names.some((n) => ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(query.get(n) ?? ''));
}

export interface ExecTarget {
  /** What ExecContainerCommand gets; undefined with `refusal` when the container cannot exec. */
  request?: ExecRequest;
  refusal?: string;
  /** Streams the client asked for. */
  stdout: boolean;
  stderr: boolean;
}

export interface ExecBridgeOptions {
  cloud: KubeletCloudPort;
  log: Logger;
}

/** Upgrades a request and bridges it; `resolve` says what to run (called after the upgrade). */
export class ExecBridge {
  private readonly wss: WebSocketServer;
  private readonly options: ExecBridgeOptions;
  private readonly sessions = new Set<WebSocket>();

  constructor(options: ExecBridgeOptions) {
    this.options = options;
    this.wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (protocols) => EXEC_PROTOCOLS.find((p) => protocols.has(p)) ?? false,
      perMessageDeflate: false,
    });
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer, resolve: () => Promise<ExecTarget>): void {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!EXEC_PROTOCOLS.some((p) => offered.includes(p))) {
      const body = `exec speaks ${EXEC_PROTOCOLS.join(' or ')}; the client offered ${offered.filter((p) => p !== '').join(', ') || 'no subprotocol'}\n`;
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (client) => {
      this.sessions.add(client);
      client.on('close', () => this.sessions.delete(client));
      void this.bridge(client, resolve).catch((err: unknown) => {
        this.options.log.warn('exec bridge failed', { err });
        this.finish(client, failureStatus(`exec failed: ${(err as Error).message}`));
      });
    });
  }

  private finish(client: WebSocket, status: string): void {
    if (client.readyState !== WebSocket.OPEN) return;
    client.send(Buffer.concat([Buffer.from([STREAM.status]), Buffer.from(status)]));
    client.close(1000);
  }

  private async bridge(client: WebSocket, resolve: () => Promise<ExecTarget>): Promise<void> {
    // Stdin may arrive before ECI's session is open: hold it.
    const pending: Buffer[] = [];
    const link: { upstream?: WebSocket } = {};
    let clientClosed = false;
    client.on('message', (data: RawData, isBinary: boolean) => {
      const buf = toBuffer(data);
      if (!isBinary || buf.length === 0) return;
      if (link.upstream?.readyState === WebSocket.OPEN) link.upstream.send(buf);
      else pending.push(buf);
    });
    client.on('close', () => {
      clientClosed = true;
      link.upstream?.close();
    });

    const target = await resolve();
    if (target.request === undefined) return this.finish(client, failureStatus(target.refusal ?? 'cannot exec', 'BadRequest', 400));
    let uri: string;
    try {
      ({ webSocketUri: uri } = await this.options.cloud.execContainerCommand(target.request));
    } catch (err) {
      const gone = classifyCloudError(err).verdict === 'gone';
      return this.finish(client, failureStatus(`ExecContainerCommand: ${(err as Error).message}`, gone ? 'NotFound' : 'InternalError', gone ? 404 : 500));
    }
    if (clientClosed) return;

    const up = new WebSocket(uri, [...EXEC_PROTOCOLS, 'channel.k8s.io'], { perMessageDeflate: false, handshakeTimeout: 15_000 });
    link.upstream = up;
    let statusSent = false;
    up.on('open', () => {
      for (const buf of pending.splice(0)) up.send(buf);
    });
    up.on('message', (data: RawData, isBinary: boolean) => {
      const buf = toBuffer(data);
      if (!isBinary || buf.length === 0 || client.readyState !== WebSocket.OPEN) return;
      const stream = buf[0];
      if (stream === STREAM.stdout && !target.stdout) return;
      if (stream === STREAM.stderr && !target.stderr) return;
      if (stream === STREAM.status) statusSent = true;
      client.send(buf);
    });
    up.on('error', (err) => {
      this.options.log.warn('ECI exec session failed', { err: err.message });
      if (!statusSent) {
        statusSent = true;
        this.finish(client, failureStatus(`the ECI exec session failed: ${err.message}`));
      }
    });
    up.on('close', (code, reason) => {
      if (client.readyState !== WebSocket.OPEN) return;
      if (!statusSent) {
        statusSent = true;
        // A normal close without a status: the command ended and said nothing (success).
        if (code === 1000) this.finish(client, JSON.stringify({ metadata: {}, status: 'Success' }));
        else this.finish(client, failureStatus(`the ECI exec session closed (code ${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`));
        return;
      }
      client.close(1000);
    });
  }

  close(): void {
    for (const s of this.sessions) s.terminate();
    this.wss.close();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}
