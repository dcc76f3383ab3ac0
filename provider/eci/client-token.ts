// The ClientToken of a create: the pod UID plus a digest of the body (docs/reliability.md,
// "ClientToken"). Identical bodies share a token, so a create whose answer was lost and is sent
// again returns the group it made; a body that differs (another vSwitch after IpNotEnough, a
// changed ConfigMap) gets its own token, so a cloud that binds a token at the first attempt,
// even a refused one, never answers IdempotentParameterMismatch to a legitimate retry.
import { createHash } from 'node:crypto';
import type { ContainerGroupRequest } from './request.ts';

/** At most 64 ASCII characters (ECI's limit): a 36-character UID, `-`, 16 hex digits = 53. */
const DIGEST_HEX = 16;

export function clientTokenFor(uid: string, request: Omit<ContainerGroupRequest, 'clientToken'> & { clientToken?: string }): string {
  const { clientToken: _ignored, ...body } = request;
  const digest = createHash('sha256').update(canonicalJson(body)).digest('hex').slice(0, DIGEST_HEX);
  return `${uid}-${digest}`;
}

/** JSON with object keys sorted and undefined members left out, so equal bodies hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
