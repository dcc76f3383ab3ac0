// The ClientToken of a create: the pod UID plus a digest of the body (docs/reliability.md,
// "ClientToken"). Identical bodies share a token, so a create whose answer was lost and is sent
// again returns the group it made; a body that differs (another vSwitch after IpNotEnough, a
// changed ConfigMap) gets its own token, so a cloud that binds a token at the first attempt,
// even a refused one, never answers IdempotentParameterMismatch to a legitimate retry.
import { hash } from 'node:crypto';
import type { ContainerGroupRequest } from './request.ts';

/** At most 64 ASCII characters (ECI's limit): a 36-character UID, `-`, 16 hex digits = 53. */
const DIGEST_HEX = 16;

export function clientTokenFor(uid: string, request: Omit<ContainerGroupRequest, 'clientToken'> & { clientToken?: string }): string {
  const { clientToken: _ignored, ...body } = request;
  const digest = hash('sha256', canonicalJson(body), 'hex').slice(0, DIGEST_HEX);
  return `${uid}-${digest}`;
}

/** JSON with object keys sorted and undefined members left out, so equal bodies hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // Built by concatenation (no entries/filter/map arrays per object): it runs on every create.
  let out = '';
  if (Array.isArray(value)) {
    for (const v of value as unknown[]) out += `${out === '' ? '' : ','}${v === undefined ? 'null' : canonicalJson(v)}`;
    return `[${out}]`;
  }
  const record = value as Record<string, unknown>;
  // Default sort order = UTF-16 code units, as `<` compares strings.
  for (const k of Object.keys(record).sort()) {
    const v = record[k];
    if (v !== undefined) out += `${out === '' ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `{${out}}`;
}
