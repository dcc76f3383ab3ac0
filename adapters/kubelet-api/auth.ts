// Who is asking and may they: the kubelet's authentication and authorization, delegated to the
// apiserver as kubelet does with --authentication-token-webhook and --authorization-mode=Webhook.
//
// Authentication, in kubelet's order: a client certificate that chains to the configured client
// CA (user = CN, groups = O), else a bearer token checked by TokenReview. Neither: 401.
// Authorization: a SubjectAccessReview per required attribute (provider/kubelet-api/routes.ts
// requiredAccess); any one allowed is enough, none: 403. Both results are cached like kubelet's
// defaults: authenticated tokens 2 min, allowed 5 min, denied 30 s.
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { AuthenticationV1Api, AuthorizationV1Api } from '@kubernetes/client-node';
import type { NodeAccess } from '../../provider/kubelet-api/routes.ts';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
  /** How the user was recognized ('anonymous': no credentials, only in the opt-in anonymous stats mode). */
  via: 'x509' | 'token' | 'anonymous';
}

/** `noCredentials`: the request carried neither a client certificate nor a bearer token. */
export type Authentication = { ok: true; user: UserInfo } | { ok: false; reason: string; noCredentials?: true };

/** Who an unauthenticated request is, as the apiserver and kubelet name it (--anonymous-auth). */
export const ANONYMOUS_USER: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'], via: 'anonymous' };

export interface KubeletAuthOptions {
  authentication: Pick<AuthenticationV1Api, 'createTokenReview'>;
  authorization: Pick<AuthorizationV1Api, 'createSubjectAccessReview'>;
  /** Whether the TLS server verifies client certificates against a client CA. */
  clientCertificates: boolean;
  tokenTtlMs?: number;
  allowedTtlMs?: number;
  deniedTtlMs?: number;
  now?: () => number;
}

/** A small TTL map that never grows without bound (oldest entries go first). */
class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly max: number;
  private readonly now: () => number;

  constructor(max: number, now: () => number) {
    this.max = max;
    this.now = now;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttlMs });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

function subjectValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export class KubeletAuth {
  private readonly options: KubeletAuthOptions;
  private readonly tokens: TtlCache<Authentication>;
  private readonly decisions: TtlCache<boolean>;

  constructor(options: KubeletAuthOptions) {
    this.options = options;
    const now = options.now ?? Date.now;
    this.tokens = new TtlCache(10_000, now);
    this.decisions = new TtlCache(10_000, now);
  }

  /** The request's user, from its client certificate or bearer token. Throws when TokenReview itself fails. */
  async authenticate(req: IncomingMessage): Promise<Authentication> {
    const socket = req.socket as TLSSocket;
    if (this.options.clientCertificates && typeof socket.getPeerCertificate === 'function') {
      const cert = socket.getPeerCertificate();
      if (cert !== undefined && Object.keys(cert).length > 0) {
        // A certificate that does not chain to the client CA is refused, as kubelet does (no
        // fallback to the token: the client meant to use the certificate).
        if (!socket.authorized) return { ok: false, reason: `client certificate refused: ${String(socket.authorizationError)}` };
        const username = subjectValues(cert.subject.CN)[0];
        if (username === undefined || username === '') return { ok: false, reason: 'client certificate has no CN' };
        return { ok: true, user: { username, groups: [...subjectValues(cert.subject.O), 'system:authenticated'], via: 'x509' } };
      }
    }
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) return header === undefined ? { ok: false, reason: 'no client certificate and no bearer token', noCredentials: true } : { ok: false, reason: 'Authorization header is not a bearer token' };
    const token = match[1]!;
    const cached = this.tokens.get(token);
    if (cached !== undefined) return cached;
    const review = await this.options.authentication.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
    const status = review.status;
    const result: Authentication =
      status?.authenticated === true && status.user?.username !== undefined
        ? {
            ok: true,
            user: {
              username: status.user.username,
              groups: status.user.groups ?? [],
              ...(status.user.uid === undefined ? {} : { uid: status.user.uid }),
              ...(status.user.extra === undefined ? {} : { extra: status.user.extra }),
              via: 'token',
            },
          }
        : { ok: false, reason: status?.error ?? 'token not authenticated' };
    // Failed reviews are not cached: a token about to become valid should not wait.
    if (result.ok) this.tokens.set(token, result, this.options.tokenTtlMs ?? 120_000);
    return result;
  }

  /** True when ANY of `access` is allowed for `user` (kubelet's rule). Throws when the review itself fails. */
  async authorize(user: UserInfo, access: readonly NodeAccess[]): Promise<boolean> {
    for (const a of access) {
      const key = JSON.stringify([user.username, user.uid ?? '', [...user.groups].sort(), user.extra ?? {}, a]);
      let allowed = this.decisions.get(key);
      if (allowed === undefined) {
        const review = await this.options.authorization.createSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: user.username,
              groups: user.groups,
              ...(user.uid === undefined ? {} : { uid: user.uid }),
              ...(user.extra === undefined ? {} : { extra: user.extra }),
              resourceAttributes: { verb: a.verb, resource: a.resource, subresource: a.subresource, name: a.name, version: 'v1', group: '' },
            },
          },
        });
        allowed = review.status?.allowed === true && review.status.denied !== true;
        this.decisions.set(key, allowed, allowed ? (this.options.allowedTtlMs ?? 300_000) : (this.options.deniedTtlMs ?? 30_000));
      }
      if (allowed) return true;
    }
    return false;
  }
}
