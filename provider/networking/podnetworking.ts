// The PodNetworking custom resource (Terway's network.alibabacloud.com/v1beta1, cluster-scoped) as
// plain data, its validation, and the pure half of its controller: given the spec and what
// DescribeVSwitches returned, which status to write. The controller (adapters + the lead's wiring)
// does the lookup and the status patch; everything it decides is here.
import type { V1LabelSelector, V1ObjectMeta } from '@kubernetes/client-node';
import type { SecurityGroup, VSwitch } from '../cloud/model.ts';
import { MAX_SECURITY_GROUPS } from './constants.ts';
import { labelSelectorProblems } from './match.ts';

export type AllocationTypeName = 'Elastic' | 'Fixed';
export type ReleaseStrategy = 'TTL' | 'Never';
export type VSwitchSelectionPolicy = 'ordered' | 'random' | 'most';
export type EniType = 'Default' | 'ENI' | 'Trunk';
export type PodNetworkingPhase = 'Ready' | 'Fail';

export const ALLOCATION_TYPES: readonly AllocationTypeName[] = ['Elastic', 'Fixed'];
export const RELEASE_STRATEGIES: readonly ReleaseStrategy[] = ['TTL', 'Never'];
export const VSWITCH_SELECTION_POLICIES: readonly VSwitchSelectionPolicy[] = ['ordered', 'random', 'most'];
export const ENI_TYPES: readonly EniType[] = ['Default', 'ENI', 'Trunk'];

export interface PodNetworkingSpec {
  /** Absent = Elastic. Fixed (static IP kept across re-creation) is not possible on ECI. */
  allocationType?: {
    type?: AllocationTypeName;
    /** Fixed only. */
    releaseStrategy?: ReleaseStrategy;
    /** Fixed + TTL only; a Go duration such as "5m0s". */
    releaseAfter?: string;
  };
  /** BOTH present selectors must match the pod (AND). Neither present: matches no pod. */
  selector?: {
    podSelector?: V1LabelSelector;
    namespaceSelector?: V1LabelSelector;
  };
  /** 1..5; on virtual nodes only the first is used. */
  securityGroupIDs?: string[];
  /** Any one may be used (OR); their zones constrain where the pod runs. */
  vSwitchOptions?: string[];
  vSwitchSelectOptions?: { vSwitchSelectionPolicy?: VSwitchSelectionPolicy };
  /** Terway's attach mode on real nodes; a virtual node's pod always gets its own ENI. */
  eniOptions?: { eniType?: EniType };
}

export interface PodNetworkingVSwitch {
  id: string;
  zone: string;
}

export interface PodNetworkingStatus {
  status?: PodNetworkingPhase;
  message?: string;
  /** RFC 3339, seconds precision (metav1.Time). */
  updateAt?: string;
  vSwitches?: PodNetworkingVSwitch[];
  /** The virtual node of each of its zones that has one (written by the node manager). */
  virtualNodes?: { zone: string; node: string }[];
}

export interface PodNetworking {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta & { name: string };
  spec: PodNetworkingSpec;
  status?: PodNetworkingStatus;
}

export interface FieldError {
  /** Path of the field at fault, e.g. `spec.selector.podSelector.matchExpressions[0].operator`. */
  field: string;
  message: string;
}

/** `field: message`, the form used in status messages and logs. */
export function formatFieldError(error: FieldError): string {
  return `${error.field}: ${error.message}`;
}

export const FIXED_UNSUPPORTED =
  'Fixed is not supported on virtual nodes: an ECI pod cannot keep a static IP across re-creation; use Elastic';

const VSWITCH_ID = /^vsw-[a-z0-9]+$/;
const SECURITY_GROUP_ID = /^sg-[a-z0-9]+$/;
/** Go's time.ParseDuration syntax, at least one unit group: 5m0s, 1h, 300ms, 1.5h. */
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

/** A value from an untrusted spec, quoted for a message. */
function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** The allocation type, defaulted as the CRD defaults it. */
export function allocationTypeOf(spec: PodNetworkingSpec | undefined): string {
  return spec?.allocationType?.type ?? 'Elastic';
}

export function isFixedAllocation(podNetworking: Pick<PodNetworking, 'spec'>): boolean {
  return allocationTypeOf(podNetworking.spec) === 'Fixed';
}

export function selectionPolicyOf(spec: PodNetworkingSpec | undefined): VSwitchSelectionPolicy {
  const policy = spec?.vSwitchSelectOptions?.vSwitchSelectionPolicy;
  return policy !== undefined && VSWITCH_SELECTION_POLICIES.includes(policy) ? policy : 'ordered';
}

/**
 * Every problem with a PodNetworking spec for use on virtual nodes, each naming its field; empty
 * when valid. Mirrors the CRD schema (which the apiserver enforces) and adds what only a virtual
 * node cares about (Fixed allocation). Tolerates any JSON shape: specs come from the apiserver,
 * which may hold objects written under an older schema.
 */
export function validatePodNetworkingSpec(spec: PodNetworkingSpec | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (spec === undefined || spec === null || typeof spec !== 'object') {
    fail('spec', 'required');
    return errors;
  }

  const vsws: unknown = spec.vSwitchOptions;
  if (vsws === undefined || (Array.isArray(vsws) && vsws.length === 0)) {
    fail('spec.vSwitchOptions', 'must not be empty');
  } else if (!isStringArray(vsws)) {
    fail('spec.vSwitchOptions', 'must be a list of vSwitch ids');
  } else {
    const seen = new Set<string>();
    vsws.forEach((id, i) => {
      if (!VSWITCH_ID.test(id)) fail(`spec.vSwitchOptions[${i}]`, `must be a vSwitch id (vsw-...), got "${id}"`);
      else if (seen.has(id)) fail(`spec.vSwitchOptions[${i}]`, `duplicate "${id}"`);
      seen.add(id);
    });
  }

  const sgs: unknown = spec.securityGroupIDs;
  if (sgs === undefined || (Array.isArray(sgs) && sgs.length === 0)) {
    fail('spec.securityGroupIDs', 'must not be empty');
  } else if (!isStringArray(sgs)) {
    fail('spec.securityGroupIDs', 'must be a list of security group ids');
  } else {
    if (sgs.length > MAX_SECURITY_GROUPS) {
      fail('spec.securityGroupIDs', `at most ${MAX_SECURITY_GROUPS} on virtual nodes (only the first is used), got ${sgs.length}`);
    }
    const seen = new Set<string>();
    sgs.forEach((id, i) => {
      if (!SECURITY_GROUP_ID.test(id)) fail(`spec.securityGroupIDs[${i}]`, `must be a security group id (sg-...), got "${id}"`);
      else if (seen.has(id)) fail(`spec.securityGroupIDs[${i}]`, `duplicate "${id}"`);
      seen.add(id);
    });
  }

  const alloc = spec.allocationType;
  if (alloc !== undefined) {
    const type: unknown = alloc.type;
    if (type === 'Fixed') {
      fail('spec.allocationType.type', FIXED_UNSUPPORTED);
    } else if (type !== undefined && type !== 'Elastic') {
      fail('spec.allocationType.type', `must be one of Elastic, Fixed, got ${show(type)}`);
    }
    const strategy: unknown = alloc.releaseStrategy;
    if (strategy !== undefined && !RELEASE_STRATEGIES.includes(strategy as ReleaseStrategy)) {
      fail('spec.allocationType.releaseStrategy', `must be one of TTL, Never, got ${show(strategy)}`);
    }
    const after: unknown = alloc.releaseAfter;
    if (after !== undefined && (typeof after !== 'string' || !GO_DURATION.test(after))) {
      fail('spec.allocationType.releaseAfter', `must be a duration such as 5m0s, got ${show(after)}`);
    }
  }

  const policy: unknown = spec.vSwitchSelectOptions?.vSwitchSelectionPolicy;
  if (policy !== undefined && !VSWITCH_SELECTION_POLICIES.includes(policy as VSwitchSelectionPolicy)) {
    fail('spec.vSwitchSelectOptions.vSwitchSelectionPolicy', `must be one of ordered, random, most, got ${show(policy)}`);
  }

  const eniType: unknown = spec.eniOptions?.eniType;
  if (eniType !== undefined && !ENI_TYPES.includes(eniType as EniType)) {
    fail('spec.eniOptions.eniType', `must be one of Default, ENI, Trunk, got ${show(eniType)}`);
  }

  for (const which of ['podSelector', 'namespaceSelector'] as const) {
    const selector = spec.selector?.[which];
    if (selector === undefined || selector === null) continue;
    for (const problem of labelSelectorProblems(selector)) {
      fail(`spec.selector.${which}${problem.field}`, problem.message);
    }
  }
  return errors;
}

export interface ResolveStatusInput {
  spec: PodNetworkingSpec;
  /** What DescribeVSwitches returned for spec.vSwitchOptions; unknown ids are simply absent. */
  vSwitches: readonly VSwitch[];
  /**
   * What DescribeSecurityGroups returned for spec.securityGroupIDs (unknown ids are absent);
   * undefined when the caller did not look them up (the security groups are then not checked).
   */
  securityGroups?: readonly SecurityGroup[];
  now: Date;
}

/** metav1.Time's wire form: RFC 3339 in UTC, whole seconds. */
export function toKubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The status the controller writes for a PodNetworking: Ready with `vSwitches [{id, zone}]` in
 * spec order, or Fail with a message naming every fault (invalid spec, Fixed allocation, unknown
 * vSwitch ids, vSwitches in several VPCs, unknown security groups, a security group in another VPC).
 */
export function resolvePodNetworkingStatus(input: ResolveStatusInput): PodNetworkingStatus {
  const { spec, vSwitches, securityGroups, now } = input;
  const updateAt = toKubeTime(now);
  const faults = validatePodNetworkingSpec(spec).map(formatFieldError);
  const fail = (): PodNetworkingStatus => ({ status: 'Fail', message: faults.join('; '), updateAt });
  if (faults.length > 0) return fail();

  const ids = spec.vSwitchOptions ?? [];
  const byId = new Map(vSwitches.map((v) => [v.id, v]));
  const unknown = ids.filter((id) => !byId.has(id));
  if (unknown.length > 0) {
    faults.push(`vSwitch ${unknown.join(', ')} not found (DescribeVSwitches knows no such id in this region)`);
  }

  const found = ids.flatMap((id) => byId.get(id) ?? []);
  const byVpc = new Map<string, string[]>();
  for (const v of found) byVpc.set(v.vpcId, [...(byVpc.get(v.vpcId) ?? []), v.id]);
  if (byVpc.size > 1) {
    const groups = [...byVpc].map(([vpc, members]) => `${members.join(', ')} in ${vpc}`);
    faults.push(`vSwitches are in different VPCs (${groups.join('; ')}): a pod's ENI, vSwitch and security group must share one VPC`);
  }
  if (securityGroups !== undefined) {
    // Every security group must exist and share the vSwitches' VPC: ECI refuses the create
    // otherwise (InvalidSecurityGroupId.NotFound, InvalidOperation.VpcMismatch), for every pod.
    const sgById = new Map(securityGroups.map((g) => [g.id, g]));
    const sgIds = spec.securityGroupIDs ?? [];
    const missing = sgIds.filter((id) => !sgById.has(id));
    if (missing.length > 0) {
      faults.push(`security group ${missing.join(', ')} not found (DescribeSecurityGroups knows no such id in this region)`);
    }
    const [vpc] = byVpc.size === 1 ? [...byVpc.keys()] : [];
    if (vpc !== undefined) {
      for (const id of sgIds) {
        const sg = sgById.get(id);
        if (sg !== undefined && sg.vpcId !== vpc) faults.push(`security group ${id} is in ${sg.vpcId} but the vSwitches are in ${vpc}`);
      }
    }
  }
  if (faults.length > 0) return fail();

  return { status: 'Ready', updateAt, vSwitches: found.map((v) => ({ id: v.id, zone: v.zoneId })) };
}

/**
 * Whether the controller should resolve this PodNetworking now (besides its periodic resync):
 * no status yet, Fail (retried), or the spec's vSwitch ids differ from the resolved ones.
 */
export function needsResolve(podNetworking: Pick<PodNetworking, 'spec' | 'status'>): boolean {
  const status = podNetworking.status;
  if (status?.status !== 'Ready') return true;
  const want = [...new Set(podNetworking.spec.vSwitchOptions ?? [])].sort();
  const have = [...new Set((status.vSwitches ?? []).map((v) => v.id))].sort();
  return want.length !== have.length || want.some((id, i) => id !== have[i]);
}

/** Same status apart from updateAt: lets the controller skip a write that changes nothing. */
export function sameStatus(a: PodNetworkingStatus | undefined, b: PodNetworkingStatus | undefined): boolean {
  const va = a?.vSwitches ?? [];
  const vb = b?.vSwitches ?? [];
  return (
    a?.status === b?.status &&
    (a?.message ?? '') === (b?.message ?? '') &&
    va.length === vb.length &&
    va.every((v, i) => v.id === vb[i]?.id && v.zone === vb[i]?.zone)
  );
}
