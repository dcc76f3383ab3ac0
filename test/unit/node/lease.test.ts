import { describe, expect, it } from 'vitest';
import type { V1Lease } from '@kubernetes/client-node';
import { desiredLease, renewTimeOf } from '../../../adapters/kubernetes/leases.ts';

const NOW = new Date('2026-01-01T00:00:10.123Z');
const target = (nodeUid: string | undefined) => ({ nodeName: 'vn-a', nodeUid, leaseDurationSeconds: 40 });
const stored: V1Lease = {
  metadata: {
    name: 'vn-a',
    namespace: 'kube-node-lease',
    resourceVersion: '42',
    uid: 'lease-uid',
    ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'vn-a', uid: 'old-node' }],
  },
  spec: { holderIdentity: 'someone-else', leaseDurationSeconds: 15, leaseTransitions: 2 },
};

describe('desiredLease', () => {
  it.each([
    { name: 'new, node uid known', uid: 'node-1', existing: undefined, owner: 'node-1', resourceVersion: undefined },
    { name: 'new, node uid not known yet: no owner', uid: undefined, existing: undefined, owner: undefined, resourceVersion: undefined },
    { name: 'renewal moves the owner to the current node', uid: 'node-2', existing: stored, owner: 'node-2', resourceVersion: '42' },
    { name: 'renewal without a uid keeps the owner', uid: undefined, existing: stored, owner: 'old-node', resourceVersion: '42' },
  ])('$name', ({ uid, existing, owner, resourceVersion }) => {
    const lease = desiredLease(target(uid), NOW, existing);
    expect(lease.metadata?.name).toBe('vn-a');
    expect(lease.metadata?.namespace).toBe('kube-node-lease');
    expect(lease.metadata?.resourceVersion).toBe(resourceVersion);
    expect(lease.metadata?.ownerReferences?.[0]?.uid).toBe(owner);
    expect(lease.spec?.holderIdentity).toBe('vn-a');
    expect(lease.spec?.leaseDurationSeconds).toBe(40);
    if (existing !== undefined) expect(lease.spec?.leaseTransitions).toBe(2);
  });

  it('writes renewTime as a MicroTime (microsecond RFC 3339)', () => {
    const json = JSON.parse(JSON.stringify(desiredLease(target('u'), NOW))) as { spec: { renewTime: string } };
    expect(json.spec.renewTime).toBe('2026-01-01T00:00:10.123000Z');
  });
});

describe('renewTimeOf', () => {
  it.each([
    [{ spec: { renewTime: '2026-01-01T00:00:10.123456Z' } }, '2026-01-01T00:00:10.123Z'],
    [{ spec: {} }, undefined],
    [{ spec: { renewTime: 'garbage' } }, undefined],
    [undefined, undefined],
  ])('%j -> %s', (lease, expected) => {
    expect(renewTimeOf(lease as unknown as V1Lease)?.toISOString()).toBe(expected);
  });
});
