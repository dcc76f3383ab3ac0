// Names ECI accepts, derived deterministically from Kubernetes names.
import { createHash } from 'node:crypto';

/**
 * ECI's ContainerGroupName rule (CreateContainerGroup): 2-128 characters, lower-case letters,
 * digits and hyphens, not starting or ending with a hyphen.
 */
export const CONTAINER_GROUP_NAME_MAX = 128;
export const CONTAINER_GROUP_NAME = /^[a-z0-9][a-z0-9-]{0,126}[a-z0-9]$/;

/** Alibaba Cloud tag values: at most 128 characters. */
export const TAG_VALUE_MAX = 128;

const shortHash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8);

/** Cuts `text` to `max` characters, replacing the tail by `-<hash of the whole>` when it is cut. */
export function truncateWithHash(text: string, max: number): string {
  if (text.length <= max) return text;
  const hash = shortHash(text);
  return `${text.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/**
 * `<namespace>-<pod>` made valid for ECI: lower-cased, any other character (e.g. `.`) becomes `-`,
 * trimmed of edge hyphens, and cut to 128 with a hash of the full name so that long names stay
 * distinct. Deterministic: the same pod always gets the same name.
 */
export function containerGroupName(namespace: string, podName: string): string {
  const full = `${namespace}-${podName}`;
  const cleaned = full
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  if (cleaned.length < 2) return `pod-${shortHash(full)}`;
  return truncateWithHash(cleaned, CONTAINER_GROUP_NAME_MAX).replace(/^-+/, '');
}

/** A tag value of at most 128 characters (long pod names keep a hash of the full name). */
export function tagValue(value: string): string {
  return truncateWithHash(value, TAG_VALUE_MAX);
}

/** RFC 1123 hostname label (ECI HostName): the pod's hostname or name, cut to 63. */
export function hostNameOf(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  return truncateWithHash(cleaned === '' ? 'pod' : cleaned, 63);
}
