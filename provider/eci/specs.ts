// Pod resources -> an ECI vCPU/memory spec. ECI rounds a requested (vCPU, GiB) UP to the nearest
// spec it sells ("7 vCPU, 13 GiB -> 8 vCPU, 16 GiB"); we do the same rounding ourselves so the
// virtual node's accounting, the pod annotation and the bill agree.
// Source: Alibaba Cloud ECI docs, "Specify the number of vCPUs and memory size to create an
// elastic container instance" (help.aliyun.com/document_detail/114662), table "specifications
// supported in all regions". The extra specs sold only in some regions are not used: a pod that
// rounds onto one of them would fail with no stock elsewhere.
import type { V1Container, V1Pod, V1ResourceRequirements } from '@kubernetes/client-node';
import { GiB, parseQuantity, round3 } from './quantity.ts';

export interface EciSpec {
  cpu: number;
  /** GiB */
  memory: number;
}

/** vCPU -> the memory sizes (GiB) sold with it, in every region. */
const SPEC_TABLE: ReadonlyArray<readonly [number, readonly number[]]> = [
  [0.25, [0.5, 1]],
  [0.5, [1, 2]],
  [1, [2, 4, 8]],
  [2, [1, 2, 4, 8, 16]],
  [4, [2, 4, 8, 16, 32]],
  [8, [4, 8, 16, 32, 64]],
  [12, [12, 24, 48, 96]],
  [16, [16, 32, 64, 128]],
  [24, [24, 48, 96, 192]],
  [32, [32, 64, 128, 256]],
  [52, [96, 192, 384]],
  [64, [128, 256, 512]],
];

/** Every spec, smallest vCPU first, then smallest memory. */
export const ECI_SPECS: readonly EciSpec[] = SPEC_TABLE.flatMap(([cpu, mems]) => mems.map((memory) => ({ cpu, memory })));

export const MAX_CPU = 64;
export const MAX_MEMORY_GIB = 512;

/**
 * A pod that sets no cpu and no memory anywhere gets ECI's own default, 2 vCPU / 4 GiB (the size
 * ECI picks when CreateContainerGroup has no Cpu/Memory). When only one dimension is set, the
 * other is derived at ECI's most common ratio of 2 GiB per vCPU before rounding.
 */
export const DEFAULT_SPEC: EciSpec = { cpu: 2, memory: 4 };
const GIB_PER_CPU = 2;

/** The smallest spec with at least `cpu` vCPUs and `memory` GiB (fewest vCPUs first); undefined above the largest. */
export function roundUpToSpec(cpu: number, memory: number): EciSpec | undefined {
  return ECI_SPECS.find((s) => s.cpu >= cpu - 1e-9 && s.memory >= memory - 1e-9);
}

export function isEciSpec(cpu: number, memory: number): boolean {
  return ECI_SPECS.some((s) => s.cpu === cpu && s.memory === memory);
}

export interface ContainerResources {
  /** vCPUs (limits, else requests); undefined when neither is set. */
  cpu?: number;
  /** GiB (limits, else requests). */
  memory?: number;
}

/** What one container asks for: its limit, else its request, per resource. Throws on a malformed quantity (the caller names the field). */
export function containerResources(resources: V1ResourceRequirements | undefined, onInvalid: (resource: 'cpu' | 'memory', value: string) => never): ContainerResources {
  const pick = (resource: 'cpu' | 'memory'): number | undefined => {
    const raw = resources?.limits?.[resource] ?? resources?.requests?.[resource];
    if (raw === undefined) return undefined;
    const n = parseQuantity(raw);
    if (n === undefined || n < 0) onInvalid(resource, String(raw));
    return n;
  };
  const cpu = pick('cpu');
  const memBytes = pick('memory');
  return {
    ...(cpu === undefined ? {} : { cpu: round3(cpu) }),
    ...(memBytes === undefined ? {} : { memory: round3(memBytes / GiB) }),
  };
}

export interface PodResources {
  /** Sum over app containers, max with each init container (Kubernetes' effective request). */
  cpu: number;
  memory: number;
  /** Whether any container set the resource at all. */
  cpuSet: boolean;
  memorySet: boolean;
}

/** The pod's effective vCPU/GiB: max(sum of app containers, largest init container). */
export function podResources(pod: V1Pod, resourcesOf: (c: V1Container, field: string) => ContainerResources): PodResources {
  // Kubernetes' effective pod request: app containers and sidecars (restartPolicy Always init
  // containers) run together and add up; a regular init container runs alone, next to the
  // sidecars started before it; the pod needs the larger of the two.
  const app = { cpu: 0, memory: 0 };
  const sidecars = { cpu: 0, memory: 0 };
  const initPeak = { cpu: 0, memory: 0 };
  let cpuSet = false;
  let memorySet = false;
  const note = (r: ContainerResources) => {
    if (r.cpu !== undefined) cpuSet = true;
    if (r.memory !== undefined) memorySet = true;
  };
  (pod.spec?.containers ?? []).forEach((c, i) => {
    const r = resourcesOf(c, `spec.containers[${i}].resources`);
    note(r);
    app.cpu += r.cpu ?? 0;
    app.memory += r.memory ?? 0;
  });
  (pod.spec?.initContainers ?? []).forEach((c, i) => {
    const r = resourcesOf(c, `spec.initContainers[${i}].resources`);
    note(r);
    if (c.restartPolicy === 'Always') {
      sidecars.cpu += r.cpu ?? 0;
      sidecars.memory += r.memory ?? 0;
    } else {
      initPeak.cpu = Math.max(initPeak.cpu, (r.cpu ?? 0) + sidecars.cpu);
      initPeak.memory = Math.max(initPeak.memory, (r.memory ?? 0) + sidecars.memory);
    }
  });
  const cpu = Math.max(app.cpu + sidecars.cpu, initPeak.cpu);
  const memory = Math.max(app.memory + sidecars.memory, initPeak.memory);
  return { cpu: round3(cpu), memory: round3(memory), cpuSet, memorySet };
}

/** What to ask ECI for, before rounding, given what the pod set. */
export function wantedSpec(r: PodResources): EciSpec {
  if (!r.cpuSet && !r.memorySet) return DEFAULT_SPEC;
  // Memory alone: 2 GiB per vCPU, unless that is more vCPUs than any spec has; then the fewest
  // vCPUs that come with that much memory (256 GiB -> 32 vCPU, not 128).
  let cpu = r.cpu;
  if (!r.cpuSet) {
    cpu = r.memory / GIB_PER_CPU;
    if (cpu > MAX_CPU) cpu = ECI_SPECS.find((spec) => spec.memory >= r.memory - 1e-9)?.cpu ?? cpu;
  }
  const memory = r.memorySet ? r.memory : r.cpu * GIB_PER_CPU;
  return { cpu, memory };
}

export type UseSpec = { kind: 'spec'; cpu: number; memory: number; text: string } | { kind: 'instanceType'; text: string };

const CPU_MEM = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)Gi$/;
const INSTANCE_TYPE = /^ecs\.[a-z0-9-]+\.[a-z0-9-]+$/i;

/** At most this many entries in `k8s.aliyun.com/eci-use-specs` (ECI's InstanceType limit). */
export const MAX_USE_SPECS = 5;

/**
 * Parses `k8s.aliyun.com/eci-use-specs`: a comma list of `<vCPU>-<GiB>Gi` specs and/or ECS
 * instance types (`ecs.c6.large`). Returns the entries, or a reason it is malformed.
 */
export function parseUseSpecs(value: string): UseSpec[] | { error: string } {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0) return { error: 'is empty' };
  if (entries.length > MAX_USE_SPECS) return { error: `lists ${entries.length} entries; ECI accepts at most ${MAX_USE_SPECS}` };
  const out: UseSpec[] = [];
  for (const text of entries) {
    const m = CPU_MEM.exec(text);
    if (m !== null) {
      const cpu = Number(m[1]);
      const memory = Number(m[2]);
      if (cpu <= 0 || memory <= 0) return { error: `entry "${text}" must have positive vCPU and memory` };
      if (cpu > MAX_CPU) return { error: `entry "${text}" asks for ${cpu} vCPU; ECI's maximum is ${MAX_CPU}` };
      out.push({ kind: 'spec', cpu, memory, text });
    } else if (INSTANCE_TYPE.test(text)) {
      out.push({ kind: 'instanceType', text });
    } else {
      return { error: `entry "${text}" is neither <vCPU>-<memory>Gi (e.g. 2-4Gi) nor an ECS instance type (e.g. ecs.c6.large)` };
    }
  }
  return out;
}
