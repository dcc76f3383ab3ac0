// statusFromCloud: the groups a status poll finds changed are described in batches of at most 20
// ids sent together, and each batch's pods are queued as soon as its own answer lands (a slow
// batch holds back only its own pods). The first poll after the start-up adoption looks back to
// when the list began.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import type { ChangedContainerGroup, ListOptions } from '../../../provider/ports.ts';
import { makePod } from '../builders.ts';
import { controllerOver, runningGroup } from './controller-harness.ts';

const group = (n: number) => runningGroup({ id: `eci-${n}`, uid: `uid-${n}`, pod: `web-${n}`, name: `web-${n}` });

describe('the status poll', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('describes 45 changed groups as 3 batches sent together; the answered batches are indexed while the slow one is pending', async () => {
    const groups = Array.from({ length: 45 }, (_, i) => group(i));
    const calls: string[][] = [];
    let releaseSlow: () => void = () => {};
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    const { controller } = controllerOver({
      groups,
      pods: () => [],
      podExists: async () => true,
      listChanged: async () => groups.map((g) => ({ id: g.id, fingerprint: 'Running' })),
      describe: async (ids) => {
        calls.push([...ids]);
        if (ids.includes('eci-0')) await slow;
        return groups.filter((g) => ids.includes(g.id));
      },
    });
    const poll = controller.pollStatus();
    const deadline = Date.now() + 5_000;
    while (controller.groups.forPod('uid-44') === undefined || controller.groups.forPod('uid-20') === undefined) {
      if (Date.now() > deadline) throw new Error(`TEST_DEADLINE: the answered batches indexed within 5 s; describe calls so far: ${JSON.stringify(calls.map((c) => c.length))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(calls.map((c) => c.length)).toEqual([20, 20, 5]);
    expect(controller.groups.forPod('uid-0')).toBeUndefined();
    releaseSlow();
    await poll;
    expect(controller.groups.forPod('uid-0')?.id).toBe('eci-0');
    // Described once: the next poll finds the same fingerprints and describes nothing.
    await controller.pollStatus();
    expect(calls).toHaveLength(3);
    await controller.stop();
  });

  it('after the start-up adoption, asks for the changes since the list BEGAN: a group that changed after its page was read is seen by the first poll', async () => {
    // Only Date is faked: the list's 120 s (500 pages at 10,000 groups) pass in an instant.
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.parse('2026-12-06T10:00:00Z');
    vi.setSystemTime(t0);
    const pending = runningGroup({ id: 'eci-1', uid: 'uid-1', pod: 'web-1', status: 'Pending' });
    const running: ContainerGroup = { ...pending, status: 'Running', intranetIp: '10.0.0.7' };
    // The cloud: the group turned Running 60 s into the list, after its page (the first) was read.
    const changedAt = t0 + 60_000;
    const asked: number[] = [];
    const list = async (_tags: Readonly<Record<string, string>>, o?: ListOptions): Promise<ContainerGroup[]> => {
      o?.onPage?.([pending]);
      vi.setSystemTime(t0 + 120_000);
      return [pending];
    };
    const listChanged = async (_tags: Readonly<Record<string, string>>, sinceSeconds: number): Promise<ChangedContainerGroup[]> => {
      asked.push(sinceSeconds);
      return Date.now() - sinceSeconds * 1000 <= changedAt ? [{ id: running.id, fingerprint: running.status }] : [];
    };
    const pod = makePod({ name: 'web-1', namespace: 'default', uid: 'uid-1', nodeName: 'vn-i' });
    const h = controllerOver({ groups: [running], pods: () => [pod], podExists: async () => true, list, listChanged });
    const abort = new AbortController();
    await h.controller.start(abort.signal);
    expect(h.controller.groups.forPod('uid-1')?.status).toBe('Pending');

    vi.setSystemTime(t0 + 121_000);
    await h.controller.pollStatus();
    expect(h.controller.groups.forPod('uid-1')?.status, 'the group after the first poll').toBe('Running');
    expect(asked[0], 'the look-back of the first poll (s)').toBeGreaterThanOrEqual(121);
    abort.abort();
    await h.controller.stop();
  });
});
