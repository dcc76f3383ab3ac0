// The exec bridge between a Kubernetes channel-protocol client (as the apiserver proxies kubectl's
// WebSocket) and an ECI-style exec WebSocket, both real WebSockets on loopback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { CloudError } from '../../provider/cloud/errors.ts';
import type { ExecRequest } from '../../provider/kubelet-api/model.ts';
import type { KubeletCloudPort } from '../../provider/ports.ts';
import { createLogger } from '../log/logger.ts';
import { ExecBridge, type ExecTarget } from './exec.ts';

const log = createLogger({ level: 'error', write: () => {} });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const frame = (stream: number, text = '') => Buffer.concat([Buffer.from([stream]), Buffer.from(text)]);

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/** A fake ECI exec endpoint: records what it gets, runs `script` on each session. */
async function fakeEci(script: (ws: WebSocket, received: Buffer[]) => void): Promise<{ uri: string; received: Buffer[]; protocols: string[] }> {
  const received: Buffer[] = [];
  const protocols: string[] = [];
  const server = createServer();
  const wss = new WebSocketServer({ server, handleProtocols: (p) => (p.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : false) });
  wss.on('connection', (ws, req) => {
    protocols.push(String(req.headers['sec-websocket-protocol']));
    ws.on('message', (d: Buffer) => received.push(Buffer.from(d)));
    script(ws, received);
  });
  cleanups.push(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
  const port = await listen(server);
  return { uri: `ws://127.0.0.1:${port}/exec/token`, received, protocols };
}

function cloudFor(uri: string | Error, calls: ExecRequest[] = []): KubeletCloudPort {
  return {
    describeContainerLog: () => Promise.reject(new Error('unused')),
    describeContainerGroupMetric: () => Promise.reject(new Error('unused')),
    execContainerCommand: (r) => {
      calls.push(r);
      return typeof uri === 'string' ? Promise.resolve({ webSocketUri: uri }) : Promise.reject(uri);
    },
  };
}

const request: ExecRequest = { containerGroupId: 'eci-1', containerName: 'app', command: ['cat'], stdin: true, tty: false };

async function bridgeServer(cloud: KubeletCloudPort, target: ExecTarget): Promise<string> {
  const bridge = new ExecBridge({ cloud, log });
  const server = createServer();
  server.on('upgrade', (req, socket, head) => bridge.handle(req, socket, head, () => Promise.resolve(target)));
  cleanups.push(() => bridge.close());
  const port = await listen(server);
  return `ws://127.0.0.1:${port}/exec/ns/pod/app?command=cat`;
}

/** Connects as kubectl would and collects every message until the server closes. */
function client(url: string, protocols: string[], send: (ws: WebSocket) => void = () => {}): Promise<{ protocol: string; messages: Buffer[]; code: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const messages: Buffer[] = [];
    ws.on('open', () => send(ws));
    ws.on('message', (d: Buffer) => messages.push(Buffer.from(d)));
    ws.on('close', (code) => resolve({ protocol: ws.protocol, messages, code }));
    ws.on('error', reject);
  });
}

const text = (messages: Buffer[], stream: number) =>
  messages
    .filter((m) => m[0] === stream)
    .map((m) => m.subarray(1).toString())
    .join('');

describe('ExecBridge', () => {
  it('passes stdin (held until ECI answers), stdout, stderr and the exit status through', async () => {
    const status = JSON.stringify({ metadata: {}, status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    const eci = await fakeEci((ws, received) => {
      ws.send(frame(2, 'warming up\n'));
      const poll = setInterval(() => {
        if (!received.some((m) => m[0] === 255)) return;
        clearInterval(poll);
        ws.send(frame(1, received.filter((m) => m[0] === 0).map((m) => m.subarray(1).toString()).join('')));
        ws.send(frame(3, status));
        ws.close(1000);
      }, 5);
    });
    const calls: ExecRequest[] = [];
    const url = await bridgeServer(cloudFor(eci.uri, calls), { request, stdout: true, stderr: true });
    const result = await client(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], (ws) => {
      ws.send(frame(0, 'hello '));
      ws.send(frame(0, 'world'));
      ws.send(Buffer.from([255, 0]));
    });
    expect(result.protocol).toBe('v5.channel.k8s.io');
    expect(text(result.messages, 1)).toBe('hello world');
    expect(text(result.messages, 2)).toBe('warming up\n');
    expect(text(result.messages, 3)).toBe(status);
    expect(result.code).toBe(1000);
    expect(calls).toEqual([request]);
    expect(eci.protocols[0]).toContain('v5.channel.k8s.io');
    // Resize and the v5 close signal travel unchanged.
    expect(eci.received.at(-1)).toEqual(Buffer.from([255, 0]));
  });

  it('drops the streams the client did not ask for', async () => {
    const eci = await fakeEci((ws) => {
      ws.send(frame(1, 'out'));
      ws.send(frame(2, 'err'));
      ws.send(frame(3, '{"metadata":{},"status":"Success"}'));
      ws.close(1000);
    });
    const url = await bridgeServer(cloudFor(eci.uri), { request, stdout: true, stderr: false });
    const result = await client(url, ['v4.channel.k8s.io']);
    expect(result.protocol).toBe('v4.channel.k8s.io');
    expect(text(result.messages, 1)).toBe('out');
    expect(text(result.messages, 2)).toBe('');
  });

  it('reports success when ECI closes normally without a status, failure when it closes abnormally', async () => {
    const quiet = await fakeEci((ws) => ws.close(1000));
    const ok = await client(await bridgeServer(cloudFor(quiet.uri), { request, stdout: true, stderr: true }), ['v5.channel.k8s.io']);
    expect(JSON.parse(text(ok.messages, 3))).toEqual({ metadata: {}, status: 'Success' });

    const broken = await fakeEci((ws) => ws.close(1011, 'boom'));
    const failed = await client(await bridgeServer(cloudFor(broken.uri), { request, stdout: true, stderr: true }), ['v5.channel.k8s.io']);
    expect(JSON.parse(text(failed.messages, 3))).toMatchObject({ status: 'Failure', message: 'the ECI exec session closed (code 1011: boom)' });
  });

  it('answers a refusal or a cloud error as a Failure status kubectl prints', async () => {
    const refused = await client(await bridgeServer(cloudFor('ws://unused'), { refusal: 'container "app" in pod "p" is not running', stdout: true, stderr: true }), ['v5.channel.k8s.io']);
    expect(JSON.parse(text(refused.messages, 3))).toEqual({ metadata: {}, status: 'Failure', message: 'container "app" in pod "p" is not running', reason: 'BadRequest', code: 400 });

    const gone = new CloudError({ action: 'ExecContainerCommand', code: 'InvalidContainerGroupId.NotFound', detail: 'no such group', httpStatus: 404 });
    const failed = await client(await bridgeServer(cloudFor(gone), { request, stdout: true, stderr: true }), ['v5.channel.k8s.io']);
    const status = JSON.parse(text(failed.messages, 3)) as { status: string; reason: string; code: number; message: string };
    expect(status).toMatchObject({ status: 'Failure', reason: 'NotFound', code: 404 });
    expect(status.message).toContain('no such group');
  });

  it('refuses the upgrade (400) of a client that offers no subprotocol it knows', async () => {
    const eci = await fakeEci((ws) => ws.close(1000));
    await expect(client(await bridgeServer(cloudFor(eci.uri), { request, stdout: true, stderr: true }), ['base64.channel.k8s.io'])).rejects.toThrow(/Unexpected server response: 400/);
    expect(eci.protocols).toEqual([]);
  });
});
