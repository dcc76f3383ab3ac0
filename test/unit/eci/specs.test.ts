import { describe, expect, it } from 'vitest';
import { containerGroupName, CONTAINER_GROUP_NAME, tagValue } from '../../../provider/eci/names.ts';
import { parseQuantity } from '../../../provider/eci/quantity.ts';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { ECI_SPECS, parseUseSpecs, podResources, roundUpToSpec, wantedSpec } from '../../../provider/eci/specs.ts';

describe('roundUpToSpec', () => {
  const rows: [cpu: number, memGiB: number, expected: string | undefined][] = [
    [0.1, 0.1, '0.25-0.5'],
    [0.25, 0.5, '0.25-0.5'],
    [0.25, 0.75, '0.25-1'],
    [0.3, 0.5, '0.5-1'],
    [0.5, 3, '1-4'],
    [1, 1, '1-2'],
    [1, 9, '2-16'],
    [1.5, 3, '2-4'],
    [2, 5, '2-8'],
    [2, 20, '4-32'],
    [7, 13, '8-16'],
    [8, 64, '8-64'],
    [8, 65, '12-96'],
    [12, 12, '12-12'],
    [33, 64, '52-96'],
    [52, 384, '52-384'],
    [53, 1, '64-128'],
    [64, 512, '64-512'],
    [64.5, 1, undefined],
    [1, 513, undefined],
  ];
  it.each(rows)('%s vCPU / %s GiB -> %s', (cpu, mem, expected) => {
    const spec = roundUpToSpec(cpu, mem);
    expect(spec === undefined ? undefined : `${spec.cpu}-${spec.memory}`).toBe(expected);
  });

  it('encodes the all-region table: 12 vCPU sizes, 44 specs', () => {
    expect(new Set(ECI_SPECS.map((s) => s.cpu)).size).toBe(12);
    expect(ECI_SPECS).toHaveLength(44);
  });
});

describe('parseQuantity', () => {
  const rows: [string, number | undefined][] = [
    ['500m', 0.5],
    ['2', 2],
    ['1.5', 1.5],
    ['512Mi', 512 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1e3', 1000],
    ['100k', 100_000],
    ['abc', undefined],
    ['1Gb', undefined],
  ];
  it.each(rows)('%s -> %s', (text, expected) => expect(parseQuantity(text)).toBe(expected));
});

describe('parseUseSpecs', () => {
  it('reads cpu-memory specs and instance types', () => {
    expect(parseUseSpecs('2-4Gi, ecs.c6.large')).toEqual([
      { kind: 'spec', cpu: 2, memory: 4, text: '2-4Gi' },
      { kind: 'instanceType', text: 'ecs.c6.large' },
    ]);
  });
  it.each(['', '2-4', '2C4G', '128-256Gi', '1-2Gi,2-4Gi,4-8Gi,8-16Gi,16-32Gi,32-64Gi', 'ecs.'])('refuses %j', (text) => {
    expect(parseUseSpecs(text)).toHaveProperty('error');
  });
});

describe('containerGroupName', () => {
  it('joins namespace and pod, lower-cased, dots become hyphens', () => {
    expect(containerGroupName('default', 'web-0')).toBe('default-web-0');
    expect(containerGroupName('Team.A', 'api.v2-7d9f')).toBe('team-a-api-v2-7d9f');
  });
  it('cuts long names to 128 with a stable hash, keeping them distinct and valid', () => {
    const a = containerGroupName('ns', `${'x'.repeat(200)}-a`);
    const b = containerGroupName('ns', `${'x'.repeat(200)}-b`);
    expect(a).toHaveLength(128);
    expect(a).not.toBe(b);
    expect(containerGroupName('ns', `${'x'.repeat(200)}-a`)).toBe(a);
    for (const n of [a, b, containerGroupName('default', 'web-0'), containerGroupName('-', '.')]) expect(n).toMatch(CONTAINER_GROUP_NAME);
  });
  it('tag values stay within 128 characters', () => {
    expect(tagValue('short')).toBe('short');
    expect(tagValue('p'.repeat(253))).toHaveLength(128);
  });
});

describe('pod resources: sidecars and memory-only pods', () => {
  const resourcesOf = (c: V1Container) => ({
    ...(c.resources?.limits?.cpu ? { cpu: Number(c.resources.limits.cpu) } : {}),
    ...(c.resources?.limits?.memory ? { memory: Number(String(c.resources.limits.memory).replace('Gi', '')) } : {}),
  });
  const container = (name: string, cpu: string, memoryGi: number, restartPolicy?: string): V1Container => ({
    name,
    image: 'x',
    resources: { limits: { cpu, memory: `${memoryGi}Gi` } },
    ...(restartPolicy ? { restartPolicy } : {}),
  });

  it('adds sidecars (restartPolicy Always init containers) to the app containers, as Kubernetes does', () => {
    const pod: V1Pod = {
      spec: {
        initContainers: [container('sidecar', '1', 2, 'Always'), container('migrate', '2', 2)],
        containers: [container('app', '2', 4)],
      },
    };
    // app 2/4 + sidecar 1/2 = 3/6; the init container runs next to the sidecar: 3/4. Max: 3/6.
    expect(podResources(pod, resourcesOf)).toMatchObject({ cpu: 3, memory: 6 });
  });

  it('lets a big regular init container (plus the sidecars before it) set the size', () => {
    const pod: V1Pod = {
      spec: {
        initContainers: [container('sidecar', '1', 1, 'Always'), container('warmup', '4', 8)],
        containers: [container('app', '1', 1)],
      },
    };
    expect(podResources(pod, resourcesOf)).toMatchObject({ cpu: 5, memory: 9 });
  });

  it('sizes a memory-only pod within ECI limits instead of deriving more vCPUs than any spec has', () => {
    expect(wantedSpec({ cpu: 0, memory: 256, cpuSet: false, memorySet: true })).toEqual({ cpu: 32, memory: 256 });
    expect(wantedSpec({ cpu: 0, memory: 8, cpuSet: false, memorySet: true })).toEqual({ cpu: 4, memory: 8 });
  });
});
