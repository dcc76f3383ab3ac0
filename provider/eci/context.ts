// What every translation step reads: the pod, the objects it references, the warnings so far,
// and the downward API values that can be computed before the group exists.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Warnings } from './issues.ts';
import { GiB, parseQuantity } from './quantity.ts';
import { containerResources, type EciSpec } from './specs.ts';

/** ConfigMaps and Secrets the pod references, loaded by the caller. */
export interface ResolvedInputs {
  /** name -> ConfigMap.data (plain text values). binaryData keys may be added base64-encoded under `binaryData`. */
  configMaps: Record<string, Record<string, string>>;
  /** name -> Secret.data, values base64-encoded exactly as the API returns them. */
  secrets: Record<string, Record<string, string>>;
  /** name -> ConfigMap.binaryData (base64), when the caller loads it. */
  configMapsBinary?: Record<string, Record<string, string>>;
  /**
   * A token for the pod's service account (TokenRequest by the caller), written where the pod
   * projects `serviceAccountToken`. ECI files are static: the token is not rotated, so the caller
   * should request a long-lived one. Absent: the projection is skipped with a warning.
   */
  serviceAccountToken?: string;
}

export interface TranslateContext {
  pod: V1Pod;
  resolved: ResolvedInputs;
  warnings: Warnings;
  nodeName: string;
  /** The group's spec: what a container with no limit may use (resourceFieldRef defaults). */
  groupSpec: EciSpec;
}

export type DownwardValue = { value: string } | { fieldPath: 'status.podIP' } | { unsupported: string };

const LABEL_REF = /^metadata\.(labels|annotations)\['(.+)'\]$/;

const formatMap = (m: Record<string, string> | undefined): string =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}="${(m ?? {})[k]?.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join('\n');

/**
 * A downward API fieldRef as far as it is known before the group exists. ECI resolves only
 * `status.podIP` itself (EnvironmentVar FieldRef.FieldPath); `asFile` = for a volume, where even
 * that cannot be resolved.
 */
export function downwardField(ctx: TranslateContext, fieldPath: string, asFile: boolean): DownwardValue {
  const meta = ctx.pod.metadata ?? {};
  switch (fieldPath) {
    case 'metadata.name':
      return { value: meta.name ?? '' };
    case 'metadata.namespace':
      return { value: meta.namespace ?? '' };
    case 'metadata.uid':
      return { value: meta.uid ?? '' };
    case 'metadata.labels':
      return { value: formatMap(meta.labels) };
    case 'metadata.annotations':
      return { value: formatMap(meta.annotations) };
    case 'spec.nodeName':
      return { value: ctx.pod.spec?.nodeName ?? ctx.nodeName };
    case 'spec.serviceAccountName':
      return { value: ctx.pod.spec?.serviceAccountName ?? 'default' };
    case 'status.podIP':
    case 'status.podIPs':
    case 'status.hostIP':
    case 'status.hostIPs':
      if (asFile) return { unsupported: `${fieldPath} is only known once the ENI is attached; ECI cannot write it into a file` };
      return { fieldPath: 'status.podIP' };
  }
  const m = LABEL_REF.exec(fieldPath);
  if (m !== null) {
    const source = m[1] === 'labels' ? meta.labels : meta.annotations;
    return { value: source?.[m[2] ?? ''] ?? '' };
  }
  return { unsupported: `fieldRef ${fieldPath} is not supported` };
}

/** A resourceFieldRef value, rounded up like the kubelet does (ceil(quantity / divisor)). */
export function resourceField(
  ctx: TranslateContext,
  container: V1Container | undefined,
  resource: string,
  divisor: string | undefined,
): { value: string } | { unsupported: string } {
  const own = containerResources(container?.resources, () => {
    throw new Error('unreachable: resources were validated before');
  });
  const div = parseQuantity(divisor ?? '1') ?? 1;
  const requests = container?.resources?.requests ?? {};
  let amount: number | undefined;
  switch (resource) {
    case 'limits.cpu':
      amount = own.cpu ?? ctx.groupSpec.cpu;
      break;
    case 'requests.cpu':
      amount = parseQuantity(requests.cpu) ?? own.cpu ?? 0;
      break;
    case 'limits.memory':
      amount = (own.memory ?? ctx.groupSpec.memory) * GiB;
      break;
    case 'requests.memory':
      amount = parseQuantity(requests.memory) ?? (own.memory ?? 0) * GiB;
      break;
    case 'limits.ephemeral-storage':
    case 'requests.ephemeral-storage':
      amount =
        parseQuantity(container?.resources?.limits?.['ephemeral-storage'] ?? requests['ephemeral-storage']) ?? (resource.startsWith('limits') ? 30 * GiB : 0);
      break;
    default:
      return { unsupported: `resourceFieldRef ${resource} is not supported` };
  }
  return { value: String(Math.ceil(amount / div - 1e-9)) };
}

export function decodeBase64(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

export function encodeBase64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}
