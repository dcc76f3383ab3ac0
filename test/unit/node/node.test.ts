import { describe, expect, it } from 'vitest';
import type { V1Node } from '@kubernetes/client-node';
import { DEFAULT_CONFIG, type ProviderConfig } from '../../../provider/config/config.ts';
import { adoptVirtualNode, buildVirtualNode, nodeNameForZone, virtualNodeSelector } from '../../../provider/node/node.ts';
import { VIRTUAL_NODE_TAINT } from '../../../provider/networking/constants.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function makeConfig(overrides: { labels?: Record<string, string>; namePrefix?: string } = {}): ProviderConfig {
  return {
    ...DEFAULT_CONFIG,
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    node: { ...DEFAULT_CONFIG.node, namePrefix: overrides.namePrefix ?? 'vn', labels: overrides.labels ?? {} },
  };
}

describe('nodeNameForZone', () => {
  it.each([
    ['vn', 'cn-hangzhou-h', 'vn-cn-hangzhou-h'],
    ['virtual-node-eci', 'cn-beijing-a', 'virtual-node-eci-cn-beijing-a'],
    ['vn', 'CN_Shanghai.B', 'vn-cn-shanghai-b'],
    ['vn', '--ap-southeast-1a--', 'vn-ap-southeast-1a'],
  ])('%s + %s -> %s', (prefix, zone, expected) => {
    expect(nodeNameForZone(prefix, zone)).toBe(expected);
  });

  it('shortens long names to a valid label, distinct per zone and stable', () => {
    const prefix = 'a'.repeat(40);
    const a = nodeNameForZone(prefix, 'cn-hangzhou-very-long-zone-name-number-one');
    const b = nodeNameForZone(prefix, 'cn-hangzhou-very-long-zone-name-number-two');
    for (const name of [a, b]) {
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(DNS_LABEL);
    }
    expect(a).not.toBe(b);
    expect(nodeNameForZone(prefix, 'cn-hangzhou-very-long-zone-name-number-one')).toBe(a);
  });

  it('refuses a zone with nothing usable', () => {
    expect(() => nodeNameForZone('vn', '___')).toThrow(/zone "___"/);
  });
});

describe('buildVirtualNode', () => {
  it('carries the labels a scheduler and a user expect, and the provider taint', () => {
    const node = buildVirtualNode({ config: makeConfig({ labels: { team: 'a', type: 'overridden' } }), zone: 'cn-hangzhou-h' });
    expect(node.metadata?.name).toBe('vn-cn-hangzhou-h');
    expect(node.metadata?.labels).toEqual({
      team: 'a',
      type: 'virtual-kubelet',
      'kubernetes.io/role': 'agent',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': 'vn-cn-hangzhou-h',
      'topology.kubernetes.io/zone': 'cn-hangzhou-h',
      'topology.kubernetes.io/region': 'cn-hangzhou',
      'node.kubernetes.io/instance-type': 'virtual-node',
      'eci-virtual-node/cluster': 'c1',
    });
    expect(node.spec?.taints).toEqual([{ key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' }]);
    expect(node.spec?.taints?.[0]?.key).toBe(VIRTUAL_NODE_TAINT.key);
    expect(node.status).toBeUndefined();
  });

  it('a pool\'s node: its taints replace the virtual-node taint (an empty list keeps it); adoption puts a removed pool taint back', () => {
    const fixed = { key: 'fixed', value: 'true', effect: 'NoSchedule' };
    const node = buildVirtualNode({ config: makeConfig(), zone: 'z', taints: [fixed] });
    expect(node.spec?.taints).toEqual([fixed]);
    expect(buildVirtualNode({ config: makeConfig(), zone: 'z', taints: [] }).spec?.taints).toEqual([{ key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' }]);
    const stripped = { ...node, spec: { taints: [] } };
    expect(adoptVirtualNode(stripped, node)?.spec?.taints).toEqual([fixed]);
  });

  it('is found by the selector', () => {
    const node = buildVirtualNode({ config: makeConfig(), zone: 'z' });
    for (const term of virtualNodeSelector('c1').split(',')) {
      const [key, value] = term.split('=');
      expect(node.metadata?.labels?.[key!]).toBe(value);
    }
  });
});

describe('adoptVirtualNode', () => {
  const desired = buildVirtualNode({ config: makeConfig(), zone: 'z' });
  const existing = (patch: { labels?: Record<string, string>; taints?: NonNullable<V1Node['spec']>['taints']; unschedulable?: boolean }): V1Node => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'vn-z', uid: 'u1', resourceVersion: '7', labels: patch.labels ?? { ...desired.metadata!.labels } },
    spec: { taints: patch.taints ?? [...desired.spec!.taints!], ...(patch.unschedulable === undefined ? {} : { unschedulable: patch.unschedulable }) },
  });

  it.each([
    ['already in line', existing({}), false],
    ['a foreign label is kept', existing({ labels: { ...desired.metadata!.labels, extra: 'x' } }), false],
    ['a foreign taint is kept', existing({ taints: [...desired.spec!.taints!, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }), false],
  ])('%s: no update', (_name, node, _changed) => {
    expect(adoptVirtualNode(node, desired)).toBeUndefined();
  });

  it('restores a removed label and taint, keeps others, the cordon and the resourceVersion', () => {
    const labels: Record<string, string> = { ...desired.metadata!.labels, extra: 'x' };
    delete labels['topology.kubernetes.io/zone'];
    const node = existing({ labels, taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }], unschedulable: true });
    const updated = adoptVirtualNode(node, desired);
    expect(updated?.metadata?.labels?.['topology.kubernetes.io/zone']).toBe('z');
    expect(updated?.metadata?.labels?.['extra']).toBe('x');
    expect(updated?.metadata?.resourceVersion).toBe('7');
    expect(updated?.spec?.unschedulable).toBe(true);
    expect(updated?.spec?.taints).toEqual([
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
      { key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' },
    ]);
  });

  it('fixes the value of our taint', () => {
    const node = existing({ taints: [{ key: 'virtual-kubelet.io/provider', value: 'other', effect: 'NoSchedule' }] });
    expect(adoptVirtualNode(node, desired)?.spec?.taints).toEqual(desired.spec?.taints);
  });
});
