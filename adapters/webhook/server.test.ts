// The webhook envelope over real HTTPS (a CA and serving cert from adapters/tls), fed with real
// AdmissionReview fixtures.
import { request } from 'node:https';
import { connect, type ClientHttp2Session } from 'node:http2';
import { withDeadline } from '../../test/helpers/deadline.ts';
import jsonpatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { makePodNetworking } from '../../test/unit/networking/builders.ts';
import { loadReview } from '../../test/unit/admission/fixtures.ts';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from '../tls/certificates.ts';
import type { AdmissionDecision, AdmissionInputs, AdmissionReviewResponse } from './review.ts';
import { aggregateReadiness } from '../../provider/runtime/readiness.ts';
import { DEFAULT_MAX_BODY_BYTES, startAdmissionWebhook, WEBHOOK_NOT_SYNCED, type AdmissionWebhook } from './server.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => AdmissionReviewResponse;
}

let ca: CertificateAuthority;
let webhook: AdmissionWebhook;
const decisions: AdmissionDecision[] = [];
const inputs: { current: AdmissionInputs | Error; onDecisionThrows: boolean } = { current: { namespaceLabels: {}, podNetworkings: [] }, onDecisionThrows: false };
/** What the webhook's caches report (the manager's informers in production). */
const caches = { synced: true as true | string };

function call(o: { method?: string; path?: string; body?: string | Buffer; contentType?: string | null; chunked?: boolean; caPem?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
    const headers: Record<string, string | number> = {};
    if (o.contentType !== null) headers['Content-Type'] = o.contentType ?? 'application/json';
    if (body !== undefined && !o.chunked) headers['Content-Length'] = body.length;
    const req = request(
      { host: '127.0.0.1', port: webhook.port, agent: false, method: o.method ?? 'POST', path: o.path ?? '/mutate-pods', ca: o.caPem ?? ca.certPem, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as AdmissionReviewResponse });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined && o.chunked) {
      // Several writes without Content-Length: Transfer-Encoding chunked.
      for (let i = 0; i < body.length; i += 256 * 1024) req.write(body.subarray(i, i + 256 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

const pnWeb = makePodNetworking({
  name: 'pn-web',
  podSelector: { matchLabels: { app: 'web' } },
  vSwitches: [
    { id: 'vsw-i', zone: 'cn-hangzhou-i' },
    { id: 'vsw-k', zone: 'cn-hangzhou-k' },
  ],
});

beforeAll(async () => {
  ca = await createCertificateAuthority({ commonName: 'webhook-test-ca' });
  const serving = await issueCertificate({ ca, commonName: 'webhook', ipAddresses: ['127.0.0.1'], usage: 'server' });
  servingPem.cert = serving.certPem;
  servingPem.key = serving.keyPem;
  webhook = await startAdmissionWebhook({
    port: 0,
    host: '127.0.0.1',
    tlsCert: serving.certPem,
    tlsKey: serving.keyPem,
    options: { serverlessMode: false },
    getInputs: () => {
      if (inputs.current instanceof Error) throw inputs.current;
      return inputs.current;
    },
    onDecision: (d) => {
      decisions.push(d);
      if (inputs.onDecisionThrows) throw new Error('listener bug');
    },
    cachesSynced: () => caches.synced,
    readiness: () => aggregateReadiness([{ name: 'informer-podnetworkings', check: () => caches.synced }]),
  });
}, 60_000);

afterAll(async () => {
  await webhook?.close();
});

function useInputs(value: AdmissionInputs | Error): void {
  inputs.current = value;
  inputs.onDecisionThrows = false;
  decisions.length = 0;
}

describe('admission webhook envelope', () => {
  it('serves /healthz', async () => {
    const reply = await call({ method: 'GET', path: '/healthz', contentType: null });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('ok\n');
  });

  it('answers 500 with a searchable reason while its caches have not synced, and /readyz names the check', async () => {
    caches.synced = 'informer caches not synced: podnetworkings';
    try {
      const review = await call({ body: JSON.stringify(loadReview('pod-create')) });
      expect(review.status).toBe(500);
      expect(review.text).toContain(WEBHOOK_NOT_SYNCED);
      expect(review.text).toContain('podnetworkings');
      const ready = await call({ method: 'GET', path: '/readyz', contentType: null });
      expect(ready.status).toBe(503);
      expect(ready.text).toContain('[-]informer-podnetworkings failed: informer caches not synced: podnetworkings');
      // Liveness does not depend on the caches.
      expect((await call({ method: 'GET', path: '/healthz', contentType: null })).status).toBe(200);
    } finally {
      caches.synced = true;
    }
    expect((await call({ body: JSON.stringify(loadReview('pod-create')) })).status).toBe(200);
    const ready = await call({ method: 'GET', path: '/readyz', contentType: null });
    expect(ready.status).toBe(200);
    expect(ready.text).toContain('[+]informer-podnetworkings ok');
  });

  it('has one path, POST only', async () => {
    expect((await call({ path: '/mutate', body: '{}' })).status).toBe(404);
    const get = await call({ method: 'GET', contentType: null });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });

  it('refuses other content types with 415', async () => {
    for (const contentType of ['text/plain', 'application/yaml', null]) {
      const reply = await call({ body: JSON.stringify(loadReview('pod-create')), contentType });
      expect(reply.status).toBe(415);
    }
    // parameters on the media type are fine
    useInputs({ namespaceLabels: {}, podNetworkings: [] });
    expect((await call({ body: JSON.stringify(loadReview('pod-create')), contentType: 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it('refuses a body over the limit with 413, declared or streamed, and keeps serving', async () => {
    const big = Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 0x20);
    const declared = await call({ body: big });
    expect(declared.status).toBe(413);
    expect(declared.text).toContain(`exceeds the limit of ${DEFAULT_MAX_BODY_BYTES}`);
    const streamed = await call({ body: big, chunked: true });
    expect(streamed.status).toBe(413);
    expect((await call({ method: 'GET', path: '/healthz', contentType: null })).status).toBe(200);
  });

  it('answers 413 to a huge declared body while the client is still sending it, with no reset before the answer', async () => {
    // Several times the socket buffers: the client is mid-upload when the answer is ready.
    const huge = Buffer.alloc(8 * DEFAULT_MAX_BODY_BYTES, 0x20);
    for (let i = 0; i < 5; i++) expect((await call({ body: huge })).status).toBe(413);
  });

  it('answers 400 to malformed JSON and to a body that is not an AdmissionReview v1', async () => {
    const malformed = await call({ body: '{"apiVersion": "admission.k8s.io/v1", ' });
    expect(malformed.status).toBe(400);
    expect(malformed.text).toMatch(/^malformed JSON/);

    const v1beta1 = loadReview('pod-create') as unknown as { apiVersion: string };
    v1beta1.apiVersion = 'admission.k8s.io/v1beta1';
    const wrongVersion = await call({ body: JSON.stringify(v1beta1) });
    expect(wrongVersion.status).toBe(400);
    expect(wrongVersion.text).toContain('expected apiVersion admission.k8s.io/v1 kind AdmissionReview');

    const noUid = loadReview('pod-create');
    noUid.request.uid = '';
    expect((await call({ body: JSON.stringify(noUid) })).text).toBe('request.uid: required\n');
    expect((await call({ body: '[]' })).status).toBe(400);

    const noObject = loadReview('pod-create') as unknown as { request: { object: unknown } };
    noObject.request.object = null;
    expect((await call({ body: JSON.stringify(noObject) })).status).toBe(400);
  });

  it('echoes request.uid, and the base64 JSON patch applies to the pod it was sent', async () => {
    useInputs({ namespaceLabels: { team: 'payments' }, podNetworkings: [pnWeb] });
    const review = loadReview('pod-create');
    const reply = await call({ body: JSON.stringify(review) });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    const body = reply.json();
    expect(body.apiVersion).toBe('admission.k8s.io/v1');
    expect(body.kind).toBe('AdmissionReview');
    expect(body.response.uid).toBe('705ab4f5-6393-11e8-b7cc-42010a800002');
    expect(body.response.allowed).toBe(true);
    expect(body.response.patchType).toBe('JSONPatch');
    const patch = JSON.parse(Buffer.from(body.response.patch ?? '', 'base64').toString('utf8')) as jsonpatch.Operation[];
    const stored: V1Pod = jsonpatch.applyPatch(review.request.object, patch, true, false).newDocument;
    expect(stored.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBe('pn-web');
    expect(stored.metadata?.annotations?.['k8s.aliyun.com/pod-eni']).toBe('true');
    expect(stored.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['cn-hangzhou-i', 'cn-hangzhou-k'] }] },
    ]);
    expect(body.response.warnings).toBeUndefined();
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ uid: review.request.uid, namespace: 'shop', name: '', generateName: 'web-7d9c6b8f5-', dryRun: false });
  });

  it('omits patch and patchType when nothing changes', async () => {
    useInputs({ namespaceLabels: {}, podNetworkings: [] });
    const body = (await call({ body: JSON.stringify(loadReview('pod-create')) })).json();
    expect(body.response).toEqual({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
  });

  it('passes warnings on (several matches)', async () => {
    const older = makePodNetworking({ name: 'pn-old', podSelector: {}, created: '2020-01-01T00:00:00Z' });
    useInputs({ namespaceLabels: {}, podNetworkings: [pnWeb, older] });
    const body = (await call({ body: JSON.stringify(loadReview('pod-create')) })).json();
    expect(body.response.warnings).toEqual(['pod matches 2 PodNetworkings (pn-old, pn-web); using pn-old (oldest, then by name)']);
  });

  it('a denial carries allowed false, code 403 and the message', async () => {
    const fixed = makePodNetworking({ name: 'pn-static', podSelector: {}, fixed: true, status: { status: 'Fail', message: 'Fixed' } });
    useInputs({ namespaceLabels: {}, podNetworkings: [fixed] });
    const body = (await call({ body: JSON.stringify(loadReview('pod-create')) })).json();
    expect(body.response.uid).toBe('705ab4f5-6393-11e8-b7cc-42010a800002');
    expect(body.response.allowed).toBe(false);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.status?.code).toBe(403);
    expect(body.response.status?.message).toMatch(/^PodNetworking pn-static matches this pod but has allocationType Fixed/);
  });

  it('lets anything but a pod CREATE through untouched', async () => {
    useInputs({ namespaceLabels: {}, podNetworkings: [pnWeb] });
    const body = (await call({ body: JSON.stringify(loadReview('configmap-create')) })).json();
    expect(body.response).toEqual({ uid: '1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b', allowed: true });
    expect(decisions).toHaveLength(0);
  });

  it('an internal failure is a 500 with the message, and the server lives on', async () => {
    useInputs(new Error('namespace cache not synced'));
    const reply = await call({ body: JSON.stringify(loadReview('pod-create')) });
    expect(reply.status).toBe(500);
    expect(reply.text).toBe('admitting pod shop/web-7d9c6b8f5-: namespace cache not synced\n');
    useInputs({ namespaceLabels: {}, podNetworkings: [pnWeb] });
    inputs.onDecisionThrows = true;
    expect((await call({ body: JSON.stringify(loadReview('pod-create')) })).status).toBe(200);
  });

  it('reports dry-run requests as such', async () => {
    useInputs({ namespaceLabels: {}, podNetworkings: [pnWeb] });
    const review = loadReview('pod-create');
    review.request.dryRun = true;
    await call({ body: JSON.stringify(review) });
    expect(decisions[0]?.dryRun).toBe(true);
  });

  it('swaps its serving certificate without a restart', async () => {
    const ca2 = await createCertificateAuthority({ commonName: 'webhook-test-ca-2' });
    const serving2 = await issueCertificate({ ca: ca2, commonName: 'webhook', ipAddresses: ['127.0.0.1'], usage: 'server' });
    webhook.setCertificate(serving2.certPem, serving2.keyPem);
    try {
      expect((await call({ method: 'GET', path: '/healthz', contentType: null, caPem: ca2.certPem })).status).toBe(200);
      await expect(call({ method: 'GET', path: '/healthz', contentType: null })).rejects.toThrow();
    } finally {
      const serving = await issueCertificate({ ca, commonName: 'webhook', ipAddresses: ['127.0.0.1'], usage: 'server' });
      webhook.setCertificate(serving.certPem, serving.keyPem);
    }
  });

  it('serves reviews over HTTP/2, many at once on one connection (as the apiserver sends them)', async () => {
    useInputs({ namespaceLabels: { team: 'payments' }, podNetworkings: [pnWeb] });
    const session = connect(webhook.url, { ca: ca.certPem });
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, () => h2Post(session, '/mutate-pods', JSON.stringify(loadReview('pod-create')))));
      expect(session.alpnProtocol).toBe('h2');
      for (const reply of replies) {
        expect(reply.status).toBe(200);
        const body = JSON.parse(reply.text) as AdmissionReviewResponse;
        expect(body.response.allowed).toBe(true);
        expect(body.response.patchType).toBe('JSONPatch');
      }
      // The host the review names comes from :authority over HTTP/2.
      expect(decisions).toHaveLength(20);
    } finally {
      session.close();
    }
  });

  it('answers 413 over HTTP/2 and keeps the connection for the next review', async () => {
    const session = connect(webhook.url, { ca: ca.certPem });
    try {
      const big = await h2Post(session, '/mutate-pods', ' '.repeat(DEFAULT_MAX_BODY_BYTES + 1));
      expect(big.status).toBe(413);
      expect((await h2Post(session, '/mutate-pods', JSON.stringify(loadReview('pod-create')))).status).toBe(200);
    } finally {
      session.close();
    }
  });
});

describe('admission webhook deadlines and close', () => {
  it('cuts a request whose body does not arrive within its deadline, over HTTP/2 and HTTP/1.1', async () => {
    const short = await startAdmissionWebhook({ port: 0, host: '127.0.0.1', tlsCert: servingPem.cert, tlsKey: servingPem.key, options: { serverlessMode: false }, getInputs: () => ({ namespaceLabels: {}, podNetworkings: [] }), requestTimeoutMs: 300 });
    const session = connect(short.url, { ca: ca.certPem });
    try {
      // Declares 100 bytes, sends 10, never ends.
      const stream = session.request({ ':method': 'POST', ':path': '/mutate-pods', 'content-type': 'application/json', 'content-length': '100' });
      stream.write('{"apiVersi');
      const h2Outcome = await withDeadline(
        new Promise<string>((resolve) => {
          stream.on('response', (headers) => resolve(`status ${String(headers[':status'])}`));
          stream.on('close', () => resolve('closed'));
          stream.on('error', () => resolve('closed'));
        }),
        5_000,
        'the webhook to end an HTTP/2 request stuck mid-body (deadline 300 ms)',
      );
      expect(h2Outcome).toBe('status 408');
      const h1Outcome = await withDeadline(
        new Promise<string>((resolve) => {
          const req = request({ host: '127.0.0.1', port: short.port, agent: false, method: 'POST', path: '/mutate-pods', ca: ca.certPem, headers: { 'Content-Type': 'application/json', 'Content-Length': 100 } }, (res) => resolve(`status ${res.statusCode}`));
          req.on('error', () => resolve('closed'));
          req.write('{"apiVersi');
        }),
        5_000,
        'the webhook to end an HTTP/1.1 request stuck mid-body (deadline 300 ms)',
      );
      expect(h1Outcome).toBe('status 408');
    } finally {
      session.destroy();
      await withDeadline(short.close(), 10_000, 'close() of the webhook with the short deadline');
    }
  });

  it('close() ends idle HTTP/2 sessions instead of waiting for them', async () => {
    const other = await startAdmissionWebhook({ port: 0, host: '127.0.0.1', tlsCert: servingPem.cert, tlsKey: servingPem.key, options: { serverlessMode: false }, getInputs: () => ({ namespaceLabels: {}, podNetworkings: [] }) });
    const session = connect(other.url, { ca: ca.certPem });
    const sessionClosed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    expect((await h2Post(session, '/healthz', undefined, 'GET')).status).toBe(200);
    await withDeadline(other.close(), 10_000, 'close() of a webhook with an idle HTTP/2 session');
    await withDeadline(sessionClosed, 10_000, 'the idle HTTP/2 session to be closed by the server');
  });
});

/** The serving certificate of the suite's webhook, for the extra instances above. */
const servingPem = { cert: '', key: '' };

function h2Post(session: ClientHttp2Session, path: string, body: string | undefined, method = 'POST'): Promise<{ status: number; text: string }> {
  return withDeadline(
    new Promise((resolve, reject) => {
      const stream = session.request({ ':method': method, ':path': path, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }) });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
      stream.on('error', reject);
      stream.end(body);
    }),
    10_000,
    `an HTTP/2 answer to ${method} ${path}`,
  );
}
