// One kubelet endpoint per virtual node: the port table and the per-node pod filters behind
// /pods, /runningpods/, /stats/summary, /metrics/resource, containerLogs and exec.
import { describe, expect, it } from 'vitest';
import { KubeletPorts, KubeletPortsExhaustedError, kubeletPortPool, podOnNode, podsOfNode, runningPodsOfNode } from '../../../provider/kubelet-api/endpoints.ts';
import { POD_ANNOTATIONS } from '../../../provider/pods/annotations.ts';
import { makeContainer, makePod } from '../builders.ts';

const H = 'vn-cn-hangzhou-h';
const I = 'vn-cn-hangzhou-i';

describe('kubeletPortPool', () => {
  it.each([
    { name: 'count ports from the base', base: 10250, count: 3, listed: [], pool: [10250, 10251, 10252] },
    { name: 'a listed pool replaces base and count', base: 10250, count: 16, listed: [20001, 20007], pool: [20001, 20007] },
    { name: 'a port listed twice is one port', base: 10250, count: 16, listed: [20001, 20001, 20002], pool: [20001, 20002] },
    { name: 'never past 65535', base: 65534, count: 4, listed: [], pool: [65534, 65535] },
  ])('$name', ({ base, count, listed, pool }) => {
    expect(kubeletPortPool({ base, count, listed })).toEqual(pool);
  });
});

describe('KubeletPorts', () => {
  it('gives each node its own port, in the order the nodes ask, and keeps it', () => {
    const ports = new KubeletPorts({ pool: [10250, 10251, 10252] });
    expect(ports.assign(H)).toBe(10250);
    expect(ports.assign(I)).toBe(10251);
    expect(ports.assign(H)).toBe(10250);
    expect(ports.portOf(I)).toBe(10251);
    expect(ports.portOf('vn-unknown')).toBeUndefined();
    expect(ports.entries()).toEqual([
      [H, 10250],
      [I, 10251],
    ]);
  });

  it('hands a released port to the next new node (the lowest free one)', () => {
    const ports = new KubeletPorts({ pool: [10250, 10251, 10252] });
    ports.assign(H);
    ports.assign(I);
    ports.assign('vn-j');
    ports.release(H);
    expect(ports.portOf(H)).toBeUndefined();
    expect(ports.assign('vn-k')).toBe(10250);
    // The pool is full again: the old node cannot come back until a port is free.
    expect(() => ports.assign(H)).toThrow(KubeletPortsExhaustedError);
  });

  it('refuses a node when the pool is used up, saying which setting to raise', () => {
    const ports = new KubeletPorts({ pool: [10250, 10251] });
    ports.assign(H);
    ports.assign(I);
    const refuse = () => ports.assign('vn-j');
    expect(refuse).toThrow(KubeletPortsExhaustedError);
    expect(refuse).toThrow(/no kubelet API port left for virtual node vn-j: all 2 ports of the pool \(10250, 10251\) are taken.*--kubelet-port-count/);
    try {
      refuse();
    } catch (err) {
      expect((err as KubeletPortsExhaustedError).code).toBe('KubeletPortsExhausted');
    }
  });
});

describe('per-node pods', () => {
  const running = { phase: 'Running' };
  const group = (id: string) => ({ [POD_ANNOTATIONS.instanceId]: id });
  const pods = [
    makePod({ name: 'h-run', uid: 'u1', nodeName: H, status: running, annotations: group('eci-1'), containers: [makeContainer({ name: 'a', image: 'foo', env: [{ name: 'SECRET', value: 'x' }] })] }),
    makePod({ name: 'h-pending', uid: 'u2', nodeName: H, status: { phase: 'Pending' } }),
    // Running before its group id reached the cache: listed too.
    makePod({ name: 'i-run', uid: 'u3', nodeName: I, status: running }),
    makePod({ name: 'unbound', uid: 'u4', spec: { nodeName: undefined } }),
    // Its group exists, its Running status has not reached the cache yet: the runtime has it.
    makePod({ name: 'h-starting', uid: 'u5', nodeName: H, status: { phase: 'Pending' }, annotations: group('eci-5') }),
    makePod({ name: 'h-done', uid: 'u6', nodeName: H, status: { phase: 'Succeeded' }, annotations: group('eci-6') }),
    // Deleted: its group is being deleted, though the Pod object stays until the group is gone.
    { ...makePod({ name: 'h-deleting', uid: 'u7', nodeName: H, status: running, annotations: group('eci-7') }), metadata: { name: 'h-deleting', namespace: 'default', uid: 'u7', annotations: group('eci-7'), deletionTimestamp: new Date() } },
  ];

  it('/pods lists only the pods bound to that node', () => {
    expect(podsOfNode(pods, H).map((p) => p.metadata?.name)).toEqual(['h-run', 'h-pending', 'h-starting', 'h-done', 'h-deleting']);
    expect(podsOfNode(pods, I).map((p) => p.metadata?.name)).toEqual(['i-run']);
    expect(podsOfNode(pods, 'vn-other')).toEqual([]);
  });

  it("/runningpods/ lists the node's pods that have a container group and are neither finished nor being deleted, with names, uid and images only", () => {
    expect(runningPodsOfNode(pods, H)).toEqual([
      { metadata: { name: 'h-run', namespace: 'default', uid: 'u1' }, spec: { containers: [{ name: 'a', image: 'foo' }] } },
      { metadata: { name: 'h-starting', namespace: 'default', uid: 'u5' }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
    ]);
    expect(runningPodsOfNode(pods, I).map((p) => p.metadata?.name)).toEqual(['i-run']);
  });

  it('a pod of another node (or of no node) is not found on this one', () => {
    expect(podOnNode(pods[0], H)).toBe(pods[0]);
    expect(podOnNode(pods[2], H)).toBeUndefined();
    expect(podOnNode(pods[3], H)).toBeUndefined();
    expect(podOnNode(undefined, H)).toBeUndefined();
  });
});
