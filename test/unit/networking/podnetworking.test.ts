import { describe, expect, it } from 'vitest';
import {
  formatFieldError,
  needsResolve,
  resolvePodNetworkingStatus,
  sameStatus,
  selectionPolicyOf,
  validatePodNetworkingSpec,
  type PodNetworkingSpec,
} from '../../../provider/networking/podnetworking.ts';
import { makePodNetworking, makeVSwitch } from './builders.ts';

const good: PodNetworkingSpec = {
  allocationType: { type: 'Elastic' },
  selector: { podSelector: { matchLabels: { app: 'web' } } },
  securityGroupIDs: ['sg-a'],
  vSwitchOptions: ['vsw-a', 'vsw-b'],
  vSwitchSelectOptions: { vSwitchSelectionPolicy: 'most' },
  eniOptions: { eniType: 'Default' },
};

function spec(patch: Record<string, unknown>): PodNetworkingSpec {
  const merged: PodNetworkingSpec = { ...good, ...patch };
  return merged;
}

describe('validatePodNetworkingSpec', () => {
  it('accepts a good spec and a minimal one', () => {
    expect(validatePodNetworkingSpec(good)).toEqual([]);
    expect(validatePodNetworkingSpec({ securityGroupIDs: ['sg-a'], vSwitchOptions: ['vsw-a'] })).toEqual([]);
  });

  it.each([
    ['no spec', undefined, ['spec: required']],
    ['empty vSwitchOptions', spec({ vSwitchOptions: [] }), ['spec.vSwitchOptions: must not be empty']],
    ['missing vSwitchOptions', spec({ vSwitchOptions: undefined }), ['spec.vSwitchOptions: must not be empty']],
    ['vSwitchOptions not a list', spec({ vSwitchOptions: 'vsw-a' }), ['spec.vSwitchOptions: must be a list of vSwitch ids']],
    ['malformed vSwitch id', spec({ vSwitchOptions: ['vsw-a', 'sw-b'] }), ['spec.vSwitchOptions[1]: must be a vSwitch id (vsw-...), got "sw-b"']],
    ['duplicate vSwitch', spec({ vSwitchOptions: ['vsw-a', 'vsw-a'] }), ['spec.vSwitchOptions[1]: duplicate "vsw-a"']],
    ['no security group', spec({ securityGroupIDs: [] }), ['spec.securityGroupIDs: must not be empty']],
    [
      'six security groups',
      spec({ securityGroupIDs: ['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5', 'sg-6'] }),
      ['spec.securityGroupIDs: at most 5 on virtual nodes (only the first is used), got 6'],
    ],
    [
      'Fixed allocation',
      spec({ allocationType: { type: 'Fixed', releaseStrategy: 'TTL', releaseAfter: '5m0s' } }),
      ['spec.allocationType.type: Fixed is not supported on virtual nodes: an ECI pod cannot keep a static IP across re-creation; use Elastic'],
    ],
    ['unknown allocation type', spec({ allocationType: { type: 'Static' } }), ['spec.allocationType.type: must be one of Elastic, Fixed, got "Static"']],
    ['bad releaseAfter', spec({ allocationType: { releaseAfter: '5 minutes' } }), ['spec.allocationType.releaseAfter: must be a duration such as 5m0s, got "5 minutes"']],
    ['bad policy', spec({ vSwitchSelectOptions: { vSwitchSelectionPolicy: 'Most' } }), ['spec.vSwitchSelectOptions.vSwitchSelectionPolicy: must be one of ordered, random, most, got "Most"']],
    ['bad eniType', spec({ eniOptions: { eniType: 'Shared' } }), ['spec.eniOptions.eniType: must be one of Default, ENI, Trunk, got "Shared"']],
    [
      'bad selector operator',
      spec({ selector: { podSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] } } }),
      ['spec.selector.podSelector.matchExpressions[0].operator: "Equals" is not one of In, NotIn, Exists, DoesNotExist'],
    ],
    [
      'In without values in the namespace selector',
      spec({ selector: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } } }),
      ['spec.selector.namespaceSelector.matchExpressions[0].values: must not be empty for operator In'],
    ],
    [
      'several faults at once',
      spec({ vSwitchOptions: [], securityGroupIDs: ['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5', 'sg-6'], allocationType: { type: 'Fixed' } }),
      [
        'spec.vSwitchOptions: must not be empty',
        'spec.securityGroupIDs: at most 5 on virtual nodes (only the first is used), got 6',
        'spec.allocationType.type: Fixed is not supported on virtual nodes: an ECI pod cannot keep a static IP across re-creation; use Elastic',
      ],
    ],
  ] as [string, PodNetworkingSpec | undefined, string[]][])('%s', (_name, input, expected) => {
    expect(validatePodNetworkingSpec(input).map(formatFieldError)).toEqual(expected);
  });

  it('defaults the selection policy to ordered', () => {
    expect(selectionPolicyOf({})).toBe('ordered');
    expect(selectionPolicyOf(good)).toBe('most');
    expect(selectionPolicyOf(spec({ vSwitchSelectOptions: { vSwitchSelectionPolicy: 'bogus' } }))).toBe('ordered');
  });
});

describe('resolvePodNetworkingStatus', () => {
  const now = new Date('2024-05-06T07:08:09.123Z');
  const a = makeVSwitch({ id: 'vsw-a', zone: 'cn-hangzhou-i' });
  const b = makeVSwitch({ id: 'vsw-b', zone: 'cn-hangzhou-k' });

  it('Ready: vSwitches with their zones in spec order, updateAt in metav1.Time form', () => {
    expect(resolvePodNetworkingStatus({ spec: good, vSwitches: [b, a], now })).toEqual({
      status: 'Ready',
      updateAt: '2024-05-06T07:08:09Z',
      vSwitches: [
        { id: 'vsw-a', zone: 'cn-hangzhou-i' },
        { id: 'vsw-b', zone: 'cn-hangzhou-k' },
      ],
    });
  });

  it('Ready when the security group shares the vSwitches VPC', () => {
    expect(resolvePodNetworkingStatus({ spec: good, vSwitches: [a, b], securityGroups: [{ id: 'sg-a', vpcId: 'vpc-1' }], now }).status).toBe('Ready');
  });

  it.each([
    ['an unknown vSwitch', { vSwitches: [a] }, 'vSwitch vsw-b not found (DescribeVSwitches knows no such id in this region)'],
    ['no vSwitch known', { vSwitches: [] }, 'vSwitch vsw-a, vsw-b not found (DescribeVSwitches knows no such id in this region)'],
    [
      'vSwitches in different VPCs',
      { vSwitches: [a, makeVSwitch({ id: 'vsw-b', vpc: 'vpc-2' })] },
      'vSwitches are in different VPCs (vsw-a in vpc-1; vsw-b in vpc-2): a pod\'s ENI, vSwitch and security group must share one VPC',
    ],
    ['security group in another VPC', { vSwitches: [a, b], securityGroups: [{ id: 'sg-a', vpcId: 'vpc-9' }] }, 'security group sg-a is in vpc-9 but the vSwitches are in vpc-1'],
    [
      'the second security group in another VPC',
      { spec: spec({ securityGroupIDs: ['sg-a', 'sg-b'] }), vSwitches: [a, b], securityGroups: [{ id: 'sg-a', vpcId: 'vpc-1' }, { id: 'sg-b', vpcId: 'vpc-2' }] },
      'security group sg-b is in vpc-2 but the vSwitches are in vpc-1',
    ],
    ['an unknown security group', { vSwitches: [a, b], securityGroups: [] }, 'security group sg-a not found (DescribeSecurityGroups knows no such id in this region)'],
    [
      'Fixed allocation',
      { spec: spec({ allocationType: { type: 'Fixed' } }), vSwitches: [a, b] },
      'spec.allocationType.type: Fixed is not supported on virtual nodes: an ECI pod cannot keep a static IP across re-creation; use Elastic',
    ],
  ] as [string, Record<string, unknown>, string][])('Fail naming the fault: %s', (_name, input, message) => {
    const status = resolvePodNetworkingStatus({ spec: good, vSwitches: [], now, ...input });
    expect(status).toEqual({ status: 'Fail', message, updateAt: '2024-05-06T07:08:09Z' });
  });

  it('Fail lists every fault', () => {
    const status = resolvePodNetworkingStatus({ spec: spec({ vSwitchOptions: ['vsw-a', 'vsw-b', 'vsw-c'] }), vSwitches: [a, makeVSwitch({ id: 'vsw-b', vpc: 'vpc-2' })], now });
    expect(status.message).toContain('vSwitch vsw-c not found');
    expect(status.message).toContain('different VPCs');
  });
});

describe('needsResolve and sameStatus', () => {
  it('resolves when unresolved, failed, or the vSwitch set changed', () => {
    const ready = makePodNetworking({ name: 'pn', vSwitches: [{ id: 'vsw-a', zone: 'z1' }, { id: 'vsw-b', zone: 'z2' }] });
    expect(needsResolve(ready)).toBe(false);
    expect(needsResolve({ ...ready, spec: { ...ready.spec, vSwitchOptions: ['vsw-b', 'vsw-a'] } })).toBe(false);
    expect(needsResolve({ ...ready, spec: { ...ready.spec, vSwitchOptions: ['vsw-a'] } })).toBe(true);
    expect(needsResolve({ ...ready, spec: { ...ready.spec, vSwitchOptions: ['vsw-a', 'vsw-c'] } })).toBe(true);
    expect(needsResolve({ ...ready, status: { status: 'Fail', message: 'x' } })).toBe(true);
    expect(needsResolve({ ...ready, status: undefined })).toBe(true);
  });

  it('compares statuses ignoring updateAt and key order', () => {
    const x = { status: 'Ready' as const, updateAt: '2024-01-01T00:00:00Z', vSwitches: [{ id: 'vsw-a', zone: 'z' }] };
    const y = { vSwitches: [{ zone: 'z', id: 'vsw-a' }], updateAt: '2025-01-01T00:00:00Z', status: 'Ready' as const };
    expect(sameStatus(x, y)).toBe(true);
    expect(sameStatus(x, { ...y, vSwitches: [{ id: 'vsw-a', zone: 'other' }] })).toBe(false);
    expect(sameStatus(x, { status: 'Fail', message: 'm' })).toBe(false);
    expect(sameStatus({ status: 'Fail', message: 'm' }, { status: 'Fail', message: 'n' })).toBe(false);
    expect(sameStatus(undefined, x)).toBe(false);
  });
});
