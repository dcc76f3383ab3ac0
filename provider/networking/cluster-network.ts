// The cluster-level network settings users already write in kube-system ConfigMaps, and where
// each pod's default network comes from (docs/networks.md):
// - Terway's `eni-config` (key `eni_conf`, JSON): vswitches, security_group(s), selection policy;
// - ACK's `eci-profile`: vSwitchIds, securityGroupId, vpcId, and `selectors` for the webhook;
// - virtual node pools (`eci-virtual-node-pools`): name, labels, taints and the `terway-config`
//   overlay ConfigMap (same `eni_conf` format) whose keys overwrite eni-config's for the pool's pods.
// Pure: parsing with field-level errors, the precedence of the sources, and the overlay merge.
// The watch that feeds them is adapters/kubernetes/cluster-network.ts.
import type { V1LabelSelector, V1Taint } from '@kubernetes/client-node';
import type { VSwitchSelectionPolicy } from '../config/config.ts';
import { labelSelectorMatches, labelSelectorProblems, type Labels } from './match.ts';
import { VSWITCH_SELECTION_POLICIES } from './podnetworking.ts';

export const CLUSTER_NETWORK_NAMESPACE = 'kube-system';
/** The ConfigMaps read from kube-system. Overlays are named by the pools. */
export const CLUSTER_CONFIGMAPS = {
  eniConfig: 'eni-config',
  eciProfile: 'eci-profile',
  pools: 'eci-virtual-node-pools',
} as const;
/** Key of the JSON document in eni-config and its overlays (Terway's name). */
export const ENI_CONF_KEY = 'eni_conf';
/** The node label naming a node's overlay ConfigMap (Terway's name). */
export const TERWAY_CONFIG_LABEL = 'terway-config';
/** Which pool a virtual node belongs to (the provider's own). */
export const POOL_LABEL = 'eci-virtual-node.io/pool';

export interface FieldError {
  /** Dotted path inside the ConfigMap, starting with its data key: `eni_conf.vswitches.cn-beijing-h[0]`. */
  field: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export const describeErrors = (errors: readonly FieldError[]): string => errors.map((e) => `${e.field}: ${e.message}`).join('; ');

const VSWITCH_ID = /^vsw-[a-z0-9]+$/;
const SECURITY_GROUP_ID = /^sg-[a-z0-9]+$/;
const VPC_ID = /^vpc-[a-z0-9]+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

/** A value as messages show it; strings quoted, long ones cut. Only called on the fields parsed here (never access_key). */
const shown = (x: unknown): string => {
  const s = typeof x === 'string' ? `"${x}"` : (JSON.stringify(x) ?? String(x));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `"${key}": prefix must be a DNS subdomain`;
  if (name.length > 63 || !LABEL_NAME.test(name)) return `"${key}": must be a label key (at most 63 alphanumerics, '-', '_' or '.')`;
  return undefined;
}

/** A map of label (or annotation) keys to string values; `values` checks label values too. */
function stringMap(x: unknown, field: string, errors: FieldError[], o: { labelValues: boolean }): Record<string, string> {
  if (x === undefined || x === null) return {};
  if (!isRecord(x)) {
    errors.push({ field, message: `must be a map of keys to strings, got ${shown(x)}` });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(x)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) errors.push({ field: `${field}.${key}`, message: keyProblem });
    else if (typeof value !== 'string') errors.push({ field: `${field}.${key}`, message: `must be a string, got ${shown(value)}` });
    else if (o.labelValues && value !== '' && (value.length > 63 || !LABEL_NAME.test(value))) errors.push({ field: `${field}.${key}`, message: `must be a label value, got ${shown(value)}` });
    else out[key] = value;
  }
  return out;
}

// --- eni_conf (eni-config and its overlays) --------------------------------------------------

/** What this provider reads of Terway's eni_conf; every field absent when the document does not set it. */
export interface EniConf {
  /** Zone -> vSwitch ids, in the document's order. */
  vSwitches?: { zone: string; ids: string[] }[];
  securityGroupIds?: string[];
  vSwitchSelectionPolicy?: VSwitchSelectionPolicy;
}

/**
 * Parses the `eni_conf` key of eni-config or of an overlay. Reads only `vswitches`,
 * `security_group`, `security_groups` and `vswitch_selection_policy`; other keys (pool sizes,
 * credentials) belong to Terway's node agent and are ignored, never echoed.
 */
export function parseEniConf(data: Readonly<Record<string, string>> | undefined): Parsed<EniConf> {
  const text = data?.[ENI_CONF_KEY];
  if (text === undefined) return { ok: false, errors: [{ field: ENI_CONF_KEY, message: 'missing: the ConfigMap must have an eni_conf key holding a JSON document' }] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, errors: [{ field: ENI_CONF_KEY, message: `is not JSON (${(err as Error).message})` }] };
  }
  if (!isRecord(doc)) return { ok: false, errors: [{ field: ENI_CONF_KEY, message: 'must be a JSON object' }] };
  const errors: FieldError[] = [];
  const out: EniConf = {};
  const f = (k: string) => `${ENI_CONF_KEY}.${k}`;

  if (doc.vswitches !== undefined) {
    if (!isRecord(doc.vswitches)) errors.push({ field: f('vswitches'), message: `must be an object of zone -> [vSwitch ids], got ${shown(doc.vswitches)}` });
    else {
      const zones: { zone: string; ids: string[] }[] = [];
      for (const [zone, ids] of Object.entries(doc.vswitches)) {
        if (!Array.isArray(ids)) {
          errors.push({ field: f(`vswitches.${zone}`), message: `must be a list of vSwitch ids, got ${shown(ids)}` });
          continue;
        }
        const good: string[] = [];
        ids.forEach((id: unknown, i) => {
          if (typeof id !== 'string' || !VSWITCH_ID.test(id)) errors.push({ field: f(`vswitches.${zone}[${i}]`), message: `must look like vsw-xxxx, got ${shown(id)}` });
          else if (!good.includes(id)) good.push(id);
        });
        if (good.length > 0) zones.push({ zone, ids: good });
      }
      out.vSwitches = zones;
    }
  }
  const groups: string[] = [];
  if (doc.security_group !== undefined && doc.security_group !== '') {
    if (typeof doc.security_group !== 'string' || !SECURITY_GROUP_ID.test(doc.security_group)) errors.push({ field: f('security_group'), message: `must look like sg-xxxx, got ${shown(doc.security_group)}` });
    else groups.push(doc.security_group);
  }
  if (doc.security_groups !== undefined) {
    if (!Array.isArray(doc.security_groups)) errors.push({ field: f('security_groups'), message: `must be a list of security group ids, got ${shown(doc.security_groups)}` });
    else
      doc.security_groups.forEach((sg: unknown, i) => {
        if (typeof sg !== 'string' || !SECURITY_GROUP_ID.test(sg)) errors.push({ field: f(`security_groups[${i}]`), message: `must look like sg-xxxx, got ${shown(sg)}` });
        else if (!groups.includes(sg)) groups.push(sg);
      });
  }
  // Terway uses both keys together (the older single id first); a virtual node uses the first.
  if (groups.length > 0) out.securityGroupIds = groups;
  if (doc.vswitch_selection_policy !== undefined && doc.vswitch_selection_policy !== '') {
    const p = doc.vswitch_selection_policy;
    if (typeof p !== 'string' || !(VSWITCH_SELECTION_POLICIES as readonly string[]).includes(p)) errors.push({ field: f('vswitch_selection_policy'), message: `must be ordered, random or most, got ${shown(p)}` });
    else out.vSwitchSelectionPolicy = p as VSwitchSelectionPolicy;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out };
}

/** The vSwitch ids of an eni_conf, zone by zone in its order. */
export const eniConfVSwitchIds = (conf: EniConf | undefined): string[] => (conf?.vSwitches ?? []).flatMap((z) => z.ids);

/** Terway's node-level overlay: every key the overlay sets replaces the base's. */
export function overlayEniConf(base: EniConf | undefined, overlay: EniConf): EniConf {
  return { ...base, ...Object.fromEntries(Object.entries(overlay).filter(([, v]) => v !== undefined)) };
}

// --- eci-profile ------------------------------------------------------------------------------

export interface ProfileSelector {
  name: string;
  namespaceSelector?: V1LabelSelector;
  objectSelector?: V1LabelSelector;
  effect: { annotations: Record<string, string>; labels: Record<string, string> };
}

export interface EciProfile {
  vSwitchIds: string[];
  securityGroupId?: string;
  vpcId?: string;
  selectors: ProfileSelector[];
}

function selectorOf(x: unknown, field: string, errors: FieldError[]): V1LabelSelector | undefined {
  if (x === undefined || x === null) return undefined;
  if (!isRecord(x)) {
    errors.push({ field, message: `must be a label selector object, got ${shown(x)}` });
    return undefined;
  }
  const problems = labelSelectorProblems(x);
  for (const p of problems) errors.push({ field: `${field}${p.field}`, message: p.message });
  return problems.length === 0 ? (x) : undefined;
}

/** Parses ACK's eci-profile data (string keys). Keys this provider does not use are ignored. */
export function parseEciProfile(data: Readonly<Record<string, string>> | undefined): Parsed<EciProfile> {
  const errors: FieldError[] = [];
  const d = data ?? {};
  const out: EciProfile = { vSwitchIds: [], selectors: [] };
  const ids = (d.vSwitchIds ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  ids.forEach((id, i) => {
    if (!VSWITCH_ID.test(id)) errors.push({ field: `vSwitchIds[${i}]`, message: `must look like vsw-xxxx, got ${shown(id)}` });
    else if (!out.vSwitchIds.includes(id)) out.vSwitchIds.push(id);
  });
  const sg = (d.securityGroupId ?? '').trim();
  if (sg !== '') {
    if (!SECURITY_GROUP_ID.test(sg)) errors.push({ field: 'securityGroupId', message: `must look like sg-xxxx, got ${shown(sg)}` });
    else out.securityGroupId = sg;
  }
  const vpc = (d.vpcId ?? '').trim();
  if (vpc !== '') {
    if (!VPC_ID.test(vpc)) errors.push({ field: 'vpcId', message: `must look like vpc-xxxx, got ${shown(vpc)}` });
    else out.vpcId = vpc;
  }
  const selectorsText = (d.selectors ?? '').trim();
  if (selectorsText !== '') {
    let list: unknown;
    try {
      list = JSON.parse(selectorsText);
    } catch (err) {
      errors.push({ field: 'selectors', message: `is not JSON (${(err as Error).message})` });
    }
    if (list !== undefined && !Array.isArray(list)) errors.push({ field: 'selectors', message: `must be a JSON array of selectors, got ${shown(list)}` });
    else if (Array.isArray(list)) {
      const names = new Set<string>();
      list.forEach((entry: unknown, i) => {
        const at = `selectors[${i}]`;
        if (!isRecord(entry)) {
          errors.push({ field: at, message: `must be an object with name, namespaceSelector/objectSelector and effect, got ${shown(entry)}` });
          return;
        }
        const before = errors.length;
        const name = entry.name;
        if (typeof name !== 'string' || name === '') errors.push({ field: `${at}.name`, message: `must be a non-empty string, got ${shown(name)}` });
        else if (names.has(name)) errors.push({ field: `${at}.name`, message: `"${name}" is used by another selector` });
        const namespaceSelector = selectorOf(entry.namespaceSelector, `${at}.namespaceSelector`, errors);
        const objectSelector = selectorOf(entry.objectSelector, `${at}.objectSelector`, errors);
        if (entry.namespaceSelector == null && entry.objectSelector == null) errors.push({ field: at, message: 'needs a namespaceSelector or an objectSelector (a selector without either would send every pod to virtual nodes)' });
        const effect = entry.effect ?? {};
        let annotations: Record<string, string> = {};
        let labels: Record<string, string> = {};
        if (!isRecord(effect)) errors.push({ field: `${at}.effect`, message: `must be an object with annotations and labels, got ${shown(effect)}` });
        else {
          annotations = stringMap(effect.annotations, `${at}.effect.annotations`, errors, { labelValues: false });
          labels = stringMap(effect.labels, `${at}.effect.labels`, errors, { labelValues: true });
        }
        if (errors.length > before || typeof name !== 'string') return;
        names.add(name);
        out.selectors.push({
          name,
          ...(namespaceSelector === undefined ? {} : { namespaceSelector }),
          ...(objectSelector === undefined ? {} : { objectSelector }),
          effect: { annotations, labels },
        });
      });
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out };
}

// --- virtual node pools -------------------------------------------------------------------------

export interface PoolSpec {
  /** A DNS label; part of the node names. */
  name: string;
  /** The overlay ConfigMap in kube-system (Terway's `terway-config` label value). */
  terwayConfig: string;
  /** Extra node labels; `terway-config: <terwayConfig>` and the pool label are always set. */
  labels: Record<string, string>;
  /** The pool's taints; none: the virtual-node taint. */
  taints: V1Taint[];
}

/**
 * Parses the pools ConfigMap: one data key per pool (the pool's name), its value YAML/JSON already
 * decoded by the caller into `{ terwayConfig, labels, taints }`. Returns the good pools and the
 * errors of the bad ones (one bad pool does not take the others down).
 */
export function parsePools(entries: Readonly<Record<string, unknown>>): { pools: PoolSpec[]; errors: FieldError[] } {
  const pools: PoolSpec[] = [];
  const errors: FieldError[] = [];
  for (const [name, raw] of Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const before = errors.length;
    if (!DNS_LABEL.test(name) || name.length > 20) errors.push({ field: name, message: 'a pool name (the data key) must be a DNS label of at most 20 characters (it is part of the node names)' });
    if (!isRecord(raw)) {
      errors.push({ field: name, message: `must be a mapping with terwayConfig, labels and taints, got ${shown(raw)}` });
      continue;
    }
    for (const key of Object.keys(raw)) if (!['terwayConfig', 'labels', 'taints'].includes(key)) errors.push({ field: `${name}.${key}`, message: 'unknown field (expected terwayConfig, labels, taints)' });
    const terwayConfig = raw.terwayConfig;
    if (typeof terwayConfig !== 'string' || !DNS_SUBDOMAIN.test(terwayConfig) || terwayConfig.length > 63)
      errors.push({ field: `${name}.terwayConfig`, message: `must name the overlay ConfigMap in kube-system (e.g. eni-config-fixed), got ${shown(terwayConfig)}` });
    const labels = stringMap(raw.labels, `${name}.labels`, errors, { labelValues: true });
    const taints: V1Taint[] = [];
    if (raw.taints !== undefined && raw.taints !== null) {
      if (!Array.isArray(raw.taints)) errors.push({ field: `${name}.taints`, message: `must be a list of { key, value, effect }, got ${shown(raw.taints)}` });
      else
        raw.taints.forEach((t: unknown, i) => {
          const at = `${name}.taints[${i}]`;
          if (!isRecord(t)) return void errors.push({ field: at, message: `must be { key, value, effect }, got ${shown(t)}` });
          const keyProblem = typeof t.key === 'string' ? labelKeyProblem(t.key) : 'must be a taint key';
          if (keyProblem !== undefined) errors.push({ field: `${at}.key`, message: keyProblem });
          if (t.value !== undefined && (typeof t.value !== 'string' || (t.value !== '' && !LABEL_NAME.test(t.value)))) errors.push({ field: `${at}.value`, message: `must be a label value, got ${shown(t.value)}` });
          if (!(TAINT_EFFECTS as readonly unknown[]).includes(t.effect)) errors.push({ field: `${at}.effect`, message: `must be NoSchedule, PreferNoSchedule or NoExecute, got ${shown(t.effect)}` });
          else if (keyProblem === undefined) taints.push({ key: t.key as string, ...(typeof t.value === 'string' && t.value !== '' ? { value: t.value } : {}), effect: t.effect as string });
        });
    }
    if (errors.length > before || typeof terwayConfig !== 'string') continue;
    pools.push({ name, terwayConfig, labels: { ...labels, [TERWAY_CONFIG_LABEL]: terwayConfig, [POOL_LABEL]: name }, taints });
  }
  return { pools, errors };
}

// --- precedence ---------------------------------------------------------------------------------

export type DefaultNetworkSource = 'flags' | 'eci-profile' | 'eni-config' | 'none';

export interface ResolvedNetwork {
  vSwitchIds: string[];
  securityGroupId: string;
  vSwitchSelectionPolicy: VSwitchSelectionPolicy;
  /** Where each part came from (`kubectl describe`, logs, docs/networks.md). */
  sources: { vSwitchIds: DefaultNetworkSource; securityGroupId: DefaultNetworkSource; vSwitchSelectionPolicy: DefaultNetworkSource | 'default' };
}

/**
 * The default network, field by field, from the first source that sets the field:
 * flags/config file > eci-profile > eni-config. The selection policy goes with the vSwitch list
 * it orders: the flags' when the flags list vSwitches, else eni-config's (eci-profile has none),
 * else `ordered`.
 */
export function resolveDefaultNetwork(input: {
  flags: { vSwitchIds: readonly string[]; securityGroupId: string; vSwitchSelectionPolicy: VSwitchSelectionPolicy };
  eciProfile: EciProfile | undefined;
  eniConfig: EniConf | undefined;
}): ResolvedNetwork {
  const { flags, eciProfile, eniConfig } = input;
  const eniIds = eniConfVSwitchIds(eniConfig);
  const eniSg = eniConfig?.securityGroupIds?.[0];
  let vSwitchIds: string[];
  let vSource: DefaultNetworkSource;
  if (flags.vSwitchIds.length > 0) [vSwitchIds, vSource] = [[...flags.vSwitchIds], 'flags'];
  else if ((eciProfile?.vSwitchIds.length ?? 0) > 0) [vSwitchIds, vSource] = [[...eciProfile!.vSwitchIds], 'eci-profile'];
  else if (eniIds.length > 0) [vSwitchIds, vSource] = [eniIds, 'eni-config'];
  else [vSwitchIds, vSource] = [[], 'none'];
  let securityGroupId: string;
  let sgSource: DefaultNetworkSource;
  if (flags.securityGroupId !== '') [securityGroupId, sgSource] = [flags.securityGroupId, 'flags'];
  else if (eciProfile?.securityGroupId !== undefined) [securityGroupId, sgSource] = [eciProfile.securityGroupId, 'eci-profile'];
  else if (eniSg !== undefined) [securityGroupId, sgSource] = [eniSg, 'eni-config'];
  else [securityGroupId, sgSource] = ['', 'none'];
  let policy: VSwitchSelectionPolicy = 'ordered';
  let pSource: ResolvedNetwork['sources']['vSwitchSelectionPolicy'] = 'default';
  if (vSource === 'flags') [policy, pSource] = [flags.vSwitchSelectionPolicy, 'flags'];
  else if (eniConfig?.vSwitchSelectionPolicy !== undefined) [policy, pSource] = [eniConfig.vSwitchSelectionPolicy, 'eni-config'];
  return { vSwitchIds, securityGroupId, vSwitchSelectionPolicy: policy, sources: { vSwitchIds: vSource, securityGroupId: sgSource, vSwitchSelectionPolicy: pSource } };
}

/** A pool's network: its overlay over eni-config (Terway's rule), what the overlay leaves unset from the default network. */
export function poolNetwork(input: { overlay: EniConf | undefined; eniConfig: EniConf | undefined; defaults: ResolvedNetwork }): {
  vSwitchIds: string[];
  securityGroupId: string;
  vSwitchSelectionPolicy: VSwitchSelectionPolicy;
} {
  const merged = input.overlay === undefined ? undefined : overlayEniConf(input.eniConfig, input.overlay);
  // Without its overlay (not created yet, or malformed from the start) a pool offers no vSwitch:
  // its pods wait rather than silently take the default network.
  if (merged === undefined) return { vSwitchIds: [], securityGroupId: input.defaults.securityGroupId, vSwitchSelectionPolicy: input.defaults.vSwitchSelectionPolicy };
  return {
    vSwitchIds: eniConfVSwitchIds(merged),
    securityGroupId: merged.securityGroupIds?.[0] ?? input.defaults.securityGroupId,
    vSwitchSelectionPolicy: merged.vSwitchSelectionPolicy ?? 'ordered',
  };
}

// --- eci-profile selectors at admission --------------------------------------------------------

/** The selectors that match a pod (pod labels AND namespace labels, each when present), in profile order. */
export function matchingProfileSelectors(selectors: readonly ProfileSelector[], podLabels: Labels | undefined, namespaceLabels: Labels | undefined): ProfileSelector[] {
  const matches = (selector: V1LabelSelector, labels: Labels | undefined) => labelSelectorMatches(selector, labels).matches;
  return selectors.filter(
    (s) => (s.objectSelector === undefined || matches(s.objectSelector, podLabels)) && (s.namespaceSelector === undefined || matches(s.namespaceSelector, namespaceLabels)),
  );
}
