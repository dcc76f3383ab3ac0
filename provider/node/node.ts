// The virtual node object: its name, labels, taint, and how an existing node (created by an earlier
// run, or edited by someone) is brought back in line without undoing what others added.
import type { V1Node, V1NodeStatus, V1Taint } from '@kubernetes/client-node';
import type { ProviderConfig } from '../config/config.ts';
import { VIRTUAL_NODE_TAINT } from '../networking/constants.ts';
import { NODE_LABELS, NODE_LABEL_VALUES } from './constants.ts';

/** Longest node name that is still a valid label value (the `kubernetes.io/hostname` label). */
const MAX_NODE_NAME = 63;

/** FNV-1a, 32 bits, as 8 hex digits: a short stable suffix for names that had to be shortened. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function toDnsLabelPart(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * `<prefix>-<zone>`, e.g. `virtual-node-eci-cn-hangzhou-h`: a DNS label (so also a valid DNS
 * subdomain and a valid `kubernetes.io/hostname` value). Too long a name is cut and given a hash
 * of the full one, so two zones never share a node name.
 */
export function nodeNameForZone(prefix: string, zone: string): string {
  const zonePart = toDnsLabelPart(zone);
  const prefixPart = toDnsLabelPart(prefix);
  if (zonePart === '') throw new Error(`zone "${zone}" has no character usable in a node name`);
  const full = prefixPart === '' ? zonePart : `${prefixPart}-${zonePart}`;
  if (full.length <= MAX_NODE_NAME) return full;
  const suffix = fnv1a(`${prefix}\u0000${zone}`);
  const head = full.slice(0, MAX_NODE_NAME - suffix.length - 1).replace(/-+$/, '');
  return `${head}-${suffix}`;
}

/** The label selector that finds every virtual node of this cluster's provider (and only those). */
export function virtualNodeSelector(clusterId: string): string {
  return `${NODE_LABELS.type}=${NODE_LABEL_VALUES.type},${NODE_LABELS.cluster}=${clusterId}`;
}

/** Labels a virtual node must carry. Configured extra labels come first; ours win on a clash. */
export function virtualNodeLabels(config: ProviderConfig, zone: string, nodeName: string): Record<string, string> {
  return {
    ...config.node.labels,
    [NODE_LABELS.type]: NODE_LABEL_VALUES.type,
    [NODE_LABELS.role]: NODE_LABEL_VALUES.role,
    [NODE_LABELS.os]: NODE_LABEL_VALUES.os,
    [NODE_LABELS.arch]: NODE_LABEL_VALUES.arch,
    [NODE_LABELS.hostname]: nodeName,
    [NODE_LABELS.zone]: zone,
    [NODE_LABELS.region]: config.regionId,
    [NODE_LABELS.instanceType]: NODE_LABEL_VALUES.instanceType,
    [NODE_LABELS.cluster]: config.clusterId,
  };
}

export function virtualNodeTaint(): V1Taint {
  return { key: VIRTUAL_NODE_TAINT.key, value: VIRTUAL_NODE_TAINT.value, effect: VIRTUAL_NODE_TAINT.effect };
}

/**
 * The node to create for a zone. `status` (see nodeStatus) is included when given. `taints`
 * replace the virtual-node taint (a virtual node pool's own, which keep other pods off it).
 */
export function buildVirtualNode(input: { config: ProviderConfig; zone: string; status?: V1NodeStatus; taints?: readonly V1Taint[] }): V1Node {
  const name = nodeNameForZone(input.config.node.namePrefix, input.zone);
  const taints = input.taints !== undefined && input.taints.length > 0 ? input.taints.map((t) => ({ ...t })) : [virtualNodeTaint()];
  const node: V1Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: virtualNodeLabels(input.config, input.zone, name) },
    spec: { taints },
  };
  if (input.status !== undefined) node.status = input.status;
  return node;
}

const sameTaint = (a: V1Taint, b: V1Taint): boolean => a.key === b.key && a.effect === b.effect;

/**
 * The update that brings an existing node in line with `desired` (from buildVirtualNode), or
 * undefined when it already is. Our labels are set (others' labels stay); our taint is set (the
 * node lifecycle controller's `not-ready`/`unreachable` taints and a user's cordon stay).
 */
export function adoptVirtualNode(existing: V1Node, desired: V1Node): V1Node | undefined {
  const labels = { ...(existing.metadata?.labels ?? {}) };
  let changed = false;
  for (const [key, value] of Object.entries(desired.metadata?.labels ?? {})) {
    if (labels[key] !== value) {
      labels[key] = value;
      changed = true;
    }
  }
  const taints = [...(existing.spec?.taints ?? [])];
  for (const want of desired.spec?.taints ?? []) {
    const index = taints.findIndex((t) => sameTaint(t, want));
    const have = index >= 0 ? taints[index] : undefined;
    if (have === undefined) {
      taints.push(want);
      changed = true;
    } else if ((have.value ?? '') !== (want.value ?? '')) {
      taints[index] = want;
      changed = true;
    }
  }
  if (!changed) return undefined;
  return {
    ...existing,
    metadata: { ...existing.metadata, labels },
    spec: { ...existing.spec, taints },
  };
}
