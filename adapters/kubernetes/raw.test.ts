// RawJsonClient's deadline: a write on a connection that went dead (the peer accepts and never
// answers, or sends an error's headers and never the rest) is given up after its deadline with a
// typed error, and the pod writer passes it on (to be retried) instead of taking it for an
// answer; a 2xx ends the deadline at once; an Event write is bounded the same way and not retried.
import { createServer, type Server, type Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { EventReason } from '../../provider/events/reasons.ts';
import { KubernetesPodWriter } from './pods.ts';
import { APISERVER_TIMEOUT, ApiserverTimeoutError, RawJsonClient } from './raw.ts';

const open: { server: Server; sockets: Set<Socket> }[] = [];

/** Requests each dead peer received, by its URL. */
const received = new Map<string, number>();

/** A TCP peer that reads requests and answers `reply` (or nothing) and never finishes. */
async function deadPeer(reply = ''): Promise<string> {
  const sockets = new Set<Socket>();
  let url = '';
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () => {
      received.set(url, (received.get(url) ?? 0) + 1);
      if (reply !== '') socket.write(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ server, sockets });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  url = `http://127.0.0.1:${address.port}`;
  return url;
}

function kubeConfigFor(server: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'not-a-secret' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

afterEach(async () => {
  for (const { server, sockets } of open.splice(0)) {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('RawJsonClient deadline', () => {
  it.each([
    ['no answer at all', ''],
    ['an error status whose body never ends', 'HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"message":'],
  ])('%s: ApiserverTimeout after the deadline, naming the request', async (_what, reply) => {
    const raw = new RawJsonClient({ kubeConfig: kubeConfigFor(await deadPeer(reply)), timeoutMs: 300 });
    const started = performance.now();
    const err: unknown = await raw.write({ method: 'PATCH', path: '/api/v1/namespaces/shop/pods/web-1/status', body: { status: {} } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const tookMs = performance.now() - started;
    expect(err).toBeInstanceOf(ApiserverTimeoutError);
    expect(err).toMatchObject({ code: APISERVER_TIMEOUT, method: 'PATCH', path: '/api/v1/namespaces/shop/pods/web-1/status', timeoutMs: 300 });
    expect((err as Error).message).toBe(
      "PATCH /api/v1/namespaces/shop/pods/web-1/status: no answer from the apiserver within 300 ms (ApiserverTimeout); it may or may not have been applied. If it persists, check the apiserver's health and the network path to it",
    );
    expect(tookMs).toBeGreaterThanOrEqual(290);
    expect(tookMs).toBeLessThan(5_000);
  });

  it('a 2xx whose body never ends: the write is done at its status line (it was applied), its worker not held to the deadline', async () => {
    const raw = new RawJsonClient({ kubeConfig: kubeConfigFor(await deadPeer('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"kind":"Pod",')), timeoutMs: 3_000 });
    const started = performance.now();
    await expect(raw.write({ method: 'PATCH', path: '/api/v1/namespaces/shop/pods/web-1/status', body: { status: {} } })).resolves.toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("an Event the apiserver does not answer: given up at the pod writer's deadline, logged as not retried, sent once", async () => {
    const server = await deadPeer();
    const warnings: { msg: string; fields: Record<string, unknown> | undefined }[] = [];
    const writer = new KubernetesPodWriter({ kubeConfig: kubeConfigFor(server), component: 'test', log: { warn: (msg: string, fields?: Record<string, unknown>) => void warnings.push({ msg, fields }) }, writeTimeoutMs: 300 });
    writer.events.record({ apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u-1' }, { type: 'Warning', reason: EventReason.ProviderCreateFailed, message: 'zone out of stock' });
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([writer.events.flush().then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), 4_000)))]);
    clearTimeout(timer);
    if (!flushed) throw new Error(`TEST_DEADLINE: the Event write given up within 4 s (the writer's deadline is 300 ms); warnings so far: ${JSON.stringify(warnings)}`);
    expect(warnings.map((w) => w.msg)).toEqual(['recording an event failed; not retried (events are best effort)']);
    expect(warnings[0]?.fields).toMatchObject({ reason: 'ProviderCreateFailed', object: 'Pod/web-1' });
    expect(String(warnings[0]?.fields?.['error'])).toContain('POST /api/v1/namespaces/shop/events: no answer from the apiserver within 300 ms (ApiserverTimeout)');
    expect(received.get(server)).toBe(1);
  });

  it("the pod writer's status patch rejects with it (the sync retries), rather than taking it for a gone pod", async () => {
    const writer = new KubernetesPodWriter({ kubeConfig: kubeConfigFor(await deadPeer()), component: 'test', log: { warn: () => {} }, writeTimeoutMs: 300 });
    await expect(writer.patchPodStatus({ namespace: 'shop', name: 'web-1', uid: 'u-1' }, { phase: 'Running' })).rejects.toBeInstanceOf(ApiserverTimeoutError);
    await expect(writer.finishPodDeletion({ namespace: 'shop', name: 'web-1', uid: 'u-1' })).rejects.toMatchObject({ code: APISERVER_TIMEOUT });
  });
});
