// Kubelet authentication (client certificate, else TokenReview) and authorization
// (SubjectAccessReview, any attribute allowed), with kubelet's cache lifetimes.
import type { IncomingMessage } from 'node:http';
import type { V1SubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { requiredAccess } from '../../provider/kubelet-api/routes.ts';
import { KubeletAuth } from './auth.ts';

function fakeRequest(o: { authorization?: string; cert?: { CN?: string; O?: string | string[] }; authorized?: boolean; authorizationError?: string }): IncomingMessage {
  const socket = {
    authorized: o.authorized ?? false,
    authorizationError: o.authorizationError,
    getPeerCertificate: () => (o.cert === undefined ? {} : { subject: o.cert }),
  };
  return { socket, headers: o.authorization === undefined ? {} : { authorization: o.authorization } } as unknown as IncomingMessage;
}

function harness(o: { tokens?: Record<string, { username: string; groups?: string[] }>; allowed?: (user: string, subresource: string) => boolean } = {}) {
  let clock = 0;
  const tokenReviews: string[] = [];
  const accessReviews: string[] = [];
  const auth = new KubeletAuth({
    clientCertificates: true,
    now: () => clock,
    authentication: {
      createTokenReview: ({ body }: { body: V1TokenReview }) => {
        const token = body.spec.token;
        tokenReviews.push(token);
        const user = o.tokens?.[token];
        return Promise.resolve({ spec: body.spec, status: user === undefined ? { authenticated: false, error: 'invalid bearer token' } : { authenticated: true, user } });
      },
    },
    authorization: {
      createSubjectAccessReview: ({ body }: { body: V1SubjectAccessReview }) => {
        const a = body.spec.resourceAttributes!;
        accessReviews.push(`${body.spec.user} ${a.verb} ${a.resource}/${a.subresource} ${a.name}`);
        return Promise.resolve({ spec: body.spec, status: { allowed: o.allowed?.(body.spec.user!, a.subresource!) ?? false } });
      },
    },
  });
  return { auth, tokenReviews, accessReviews, advance: (ms: number) => (clock += ms) };
}

describe('KubeletAuth.authenticate', () => {
  it('takes a verified client certificate: CN is the user, O the groups', async () => {
    const { auth, tokenReviews } = harness();
    const result = await auth.authenticate(fakeRequest({ cert: { CN: 'kube-apiserver-kubelet-client', O: 'system:masters' }, authorized: true, authorization: 'Bearer x' }));
    expect(result).toEqual({ ok: true, user: { username: 'kube-apiserver-kubelet-client', groups: ['system:masters', 'system:authenticated'], via: 'x509' } });
    expect(tokenReviews).toEqual([]);
  });

  it('refuses a certificate that does not chain to the client CA', async () => {
    const { auth } = harness();
    expect(await auth.authenticate(fakeRequest({ cert: { CN: 'mallory' }, authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }))).toEqual({
      ok: false,
      reason: 'client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('checks a bearer token with TokenReview and caches only a success, for 2 minutes', async () => {
    const { auth, tokenReviews, advance } = harness({ tokens: { good: { username: 'system:serviceaccount:ns:sa', groups: ['system:serviceaccounts'] } } });
    const good = fakeRequest({ authorization: 'Bearer good' });
    expect(await auth.authenticate(good)).toMatchObject({ ok: true, user: { username: 'system:serviceaccount:ns:sa', groups: ['system:serviceaccounts'], via: 'token' } });
    await auth.authenticate(good);
    expect(tokenReviews).toEqual(['good']);
    advance(120_001);
    await auth.authenticate(good);
    expect(tokenReviews).toEqual(['good', 'good']);

    expect(await auth.authenticate(fakeRequest({ authorization: 'Bearer bad' }))).toEqual({ ok: false, reason: 'invalid bearer token' });
    await auth.authenticate(fakeRequest({ authorization: 'Bearer bad' }));
    expect(tokenReviews.filter((t) => t === 'bad')).toHaveLength(2);
  });

  it('refuses a request with neither', async () => {
    const { auth } = harness();
    // Only a request with no credentials at all is marked so (the anonymous stats mode looks at it).
    expect(await auth.authenticate(fakeRequest({}))).toEqual({ ok: false, reason: 'no client certificate and no bearer token', noCredentials: true });
    expect(await auth.authenticate(fakeRequest({ authorization: 'Basic dXNlcjpwdw==' }))).toEqual({ ok: false, reason: 'Authorization header is not a bearer token' });
  });
});

describe('KubeletAuth.authorize', () => {
  const user = { username: 'alice', groups: ['dev'], via: 'x509' as const };

  it('allows when any attribute is allowed, asking in order', async () => {
    const { auth, accessReviews } = harness({ allowed: (_u, sub) => sub === 'proxy' });
    expect(await auth.authorize(user, requiredAccess('GET', '/pods', 'vn-h'))).toBe(true);
    expect(accessReviews).toEqual(['alice get nodes/pods vn-h', 'alice get nodes/proxy vn-h']);
  });

  it('denies when none is, caching denials 30 s and allowances 5 min', async () => {
    let allow = false;
    const { auth, accessReviews, advance } = harness({ allowed: () => allow });
    const access = requiredAccess('GET', '/containerLogs/ns/p/c', 'vn-h');
    expect(await auth.authorize(user, access)).toBe(false);
    allow = true;
    expect(await auth.authorize(user, access)).toBe(false); // cached denial
    advance(30_001);
    expect(await auth.authorize(user, access)).toBe(true);
    allow = false;
    advance(299_000);
    expect(await auth.authorize(user, access)).toBe(true); // cached allowance
    advance(2_000);
    expect(await auth.authorize(user, access)).toBe(false);
    expect(accessReviews).toHaveLength(3);
  });
});
