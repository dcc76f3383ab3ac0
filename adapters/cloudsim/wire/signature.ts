// Verifies the signatures the official SDKs send (see @alicloud/openapi-core utils.getAuthorization
// and getRPCSignature):
// - ACS3-HMAC-SHA256 (the default of @alicloud/openapi-client and @alicloud/openapi-core) and
//   ACS3-HMAC-SM3 (`signatureAlgorithm` config): `Authorization: <alg> Credential=<AK>,
//   SignedHeaders=<h1;h2>,Signature=<hex>` over the canonical request
//   `METHOD\nPATH\nSORTED_QUERY\nHEADERS\nSIGNED_HEADER_LIST\nHEX(HASH(body))`.
// - The older RPC scheme (`signatureAlgorithm: 'v2'`): `Signature` query parameter,
//   HMAC-SHA1(secret + '&', `METHOD&%2F&` + encode(sorted encoded params)), base64.
// Replays are refused: a nonce is remembered for the window, and a request older (or further in
// the future) than the window is refused, so the remembered set is complete.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { missing, simError } from '../errors.ts';

export type SignatureScheme = 'ACS3-HMAC-SHA256' | 'ACS3-HMAC-SM3' | 'HMAC-SHA1';

export interface SignedRequest {
  method: string;
  rawPath: string;
  query: Map<string, string>;
  /** Form-encoded body parameters (only the RPC scheme signs them; ACS3 signs the body hash). */
  form: Map<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Verified {
  accessKeyId: string;
  nonce: string;
  scheme: SignatureScheme;
}

/** The SDK's percent-encoding (encodeURIComponent plus `!'()*`). */
export function acsEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function mismatch(): never {
  throw simError('SignatureDoesNotMatch', 'Specified signature does not match our calculation.');
}

/** Checks the signature; throws SimError. `secretOf` returns undefined for an unknown key. */
export function verifySignature(req: SignedRequest, secretOf: (accessKeyId: string) => string | undefined): Verified {
  const authorization = header(req.headers, 'authorization');
  if (authorization !== undefined && authorization.startsWith('ACS3-')) return verifyAcs3(req, authorization, secretOf);
  if (req.query.has('Signature') || req.form.has('Signature')) return verifyRpc(req, secretOf);
  throw simError('IncompleteSignature', 'The request signature does not conform to Aliyun standards: no Authorization header and no Signature parameter.');
}

function verifyAcs3(req: SignedRequest, authorization: string, secretOf: (id: string) => string | undefined): Verified {
  const space = authorization.indexOf(' ');
  const algorithm = authorization.slice(0, space);
  if (algorithm !== 'ACS3-HMAC-SHA256' && algorithm !== 'ACS3-HMAC-SM3') {
    throw simError('IncompleteSignature', `The signature algorithm "${algorithm}" is not supported by the simulator (ACS3-HMAC-SHA256, ACS3-HMAC-SM3, HMAC-SHA1 are).`);
  }
  const fields = new Map<string, string>();
  for (const part of authorization.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeadersField = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (accessKeyId === undefined || signedHeadersField === undefined || signature === undefined) {
    throw simError('IncompleteSignature', 'The Authorization header must carry Credential, SignedHeaders and Signature.');
  }
  const secret = secretOf(accessKeyId);
  if (secret === undefined) throw simError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.');

  const signedHeaders = signedHeadersField.split(';');
  const signedSet = new Set(signedHeaders);
  for (const name of Object.keys(req.headers)) {
    if ((name.startsWith('x-acs-') || name === 'host') && !signedSet.has(name)) {
      throw simError('IncompleteSignature', `The header "${name}" must be signed (listed in SignedHeaders).`);
    }
  }
  for (const required of ['host', 'x-acs-date', 'x-acs-signature-nonce']) {
    if (!signedSet.has(required)) throw simError('IncompleteSignature', `The header "${required}" must be present and signed.`);
  }

  const hashName = algorithm === 'ACS3-HMAC-SHA256' ? 'sha256' : 'sm3';
  const bodyHash = req.body.length === 0 && hashName === 'sha256' ? EMPTY_SHA256 : createHash(hashName).update(req.body).digest('hex');
  const claimedHash = header(req.headers, 'x-acs-content-sha256');
  if (claimedHash !== undefined && claimedHash !== bodyHash) {
    throw simError('SignatureDoesNotMatch', 'The x-acs-content-sha256 header does not match the hash of the request body.');
  }

  const keys = [...req.query.keys()].sort();
  let canonicalQuery = '';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0) canonicalQuery += '&';
    canonicalQuery += `${k}=${acsEncode(req.query.get(k)!)}`;
  }
  let canonicalHeaders = '';
  for (const name of signedHeaders) {
    canonicalHeaders += `${name}:${(header(req.headers, name) ?? '').trim()}\n`;
  }
  const canonicalUri = req.rawPath.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const canonicalRequest = `${req.method}\n${canonicalUri}\n${canonicalQuery}\n${canonicalHeaders}\n${signedHeadersField}\n${claimedHash ?? bodyHash}`;
  const stringToSign = `${algorithm}\n${createHash(hashName).update(canonicalRequest).digest('hex')}`;
  const expected = createHmac(hashName, secret).update(stringToSign).digest('hex');
  if (!safeEqual(expected, signature)) mismatch();
  return { accessKeyId, nonce: header(req.headers, 'x-acs-signature-nonce') ?? '', scheme: algorithm };
}

function verifyRpc(req: SignedRequest, secretOf: (id: string) => string | undefined): Verified {
  const all = new Map<string, string>([...req.query, ...req.form]);
  const accessKeyId = all.get('AccessKeyId');
  if (accessKeyId === undefined || accessKeyId === '') throw missing('AccessKeyId');
  const method = all.get('SignatureMethod');
  if (method !== 'HMAC-SHA1') throw simError('IncompleteSignature', `The SignatureMethod "${method ?? ''}" is not supported (HMAC-SHA1 is).`);
  const nonce = all.get('SignatureNonce');
  if (nonce === undefined || nonce === '') throw missing('SignatureNonce');
  const secret = secretOf(accessKeyId);
  if (secret === undefined) throw simError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
  const signature = all.get('Signature')!;
  all.delete('Signature');
  const canonical = [...all.keys()]
    .sort()
    .map((k) => `${acsEncode(k)}=${acsEncode(all.get(k)!)}`)
    .join('&');
  const stringToSign = `${req.method}&${acsEncode('/')}&${acsEncode(canonical)}`;
  const expected = createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
  if (!safeEqual(expected, signature)) mismatch();
  return { accessKeyId, nonce, scheme: 'HMAC-SHA1' };
}

/** When the request was signed: `x-acs-date` (ACS3) or the `Timestamp` parameter (RPC). */
export function signedAt(req: SignedRequest, scheme: SignatureScheme): number {
  const raw = scheme === 'HMAC-SHA1' ? (req.query.get('Timestamp') ?? req.form.get('Timestamp')) : header(req.headers, 'x-acs-date');
  if (raw === undefined || raw === '') throw missing(scheme === 'HMAC-SHA1' ? 'Timestamp' : 'x-acs-date');
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw simError('InvalidTimeStamp.Expired', `Specified time stamp or date value "${raw}" is not well formatted.`);
  return t;
}

/**
 * Remembers nonces for `windowMs`, in one-minute buckets so forgetting is cheap. Memory grows with
 * the request rate times the window (about 100 bytes a request).
 */
export class NonceCache {
  readonly windowMs: number;
  private readonly buckets = new Map<number, Set<string>>();
  private static readonly BUCKET_MS = 60_000;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /** Returns false if the nonce was already used within the window; otherwise records it. */
  use(key: string, now: number): boolean {
    const bucketOf = (t: number): number => Math.floor(t / NonceCache.BUCKET_MS);
    const current = bucketOf(now);
    const oldest = bucketOf(now - this.windowMs);
    for (const [b, set] of this.buckets) {
      if (b < oldest) this.buckets.delete(b);
      else if (set.has(key)) return false;
    }
    let set = this.buckets.get(current);
    if (set === undefined) {
      set = new Set();
      this.buckets.set(current, set);
    }
    set.add(key);
    return true;
  }

  get size(): number {
    let n = 0;
    for (const set of this.buckets.values()) n += set.size;
    return n;
  }
}
