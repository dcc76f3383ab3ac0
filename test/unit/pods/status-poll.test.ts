// statusFromCloud: the groups a status poll finds changed are described in batches of at most 20
// ids sent together, and each batch's pods are queued as soon as its own answer lands (a slow
// batch holds back only its own pods).
import { describe, expect, it } from 'vitest';
import { runningGroup } from './controller-harness.ts';
import { EventReason } from '../../../provider/events/reasons.ts';
import type { CloudPort } from '../../../provider/ports.ts';
import { PodController } from '../../../provider/pods/controller.ts';

const group = (n: number) => runningGroup({ id: `eci-${n}`, uid: `uid-${n}`, pod: `web-${n}`, name: `web-${n}` });

describe('the status poll', () => {
  it('describes 45 changed groups as 3 batches sent together; the answered batches are indexed while the slow one is pending', async () => {
    const groups = Array.from({ length: 45 }, (_, i) => group(i));
    const calls: string[][] = [];
    let releaseSlow: () => void = () => {};
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    const cloud = {
      listChangedContainerGroups: async () => groups.map((g) => ({ id: g.id, fingerprint: 'Running' })),
      describeContainerGroups: async (ids: string[]) => {
        calls.push(ids);
        if (ids.includes('eci-0')) await slow;
        return groups.filter((g) => ids.includes(g.id));
      },
    } as unknown as CloudPort;
    const controller = new PodController({
      cloud,
      pods: { get: () => undefined, list: () => [] },
      podsSynced: () => true,
      podLookup: { podExists: async () => true },
      writer: { patchPodStatus: async () => {}, annotatePod: async () => {}, finishPodDeletion: async () => {}, recordEvent: () => {} },
      inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
      network: { plan: async () => ({ kind: 'wait', reason: EventReason.VSwitchesExhausted, message: 'no free IP', retryAfterMs: 1000 }), noteExhausted: () => {}, noteAllocated: () => {} },
      clusterId: 'c1',
      regionId: 'cn-hangzhou',
      zoneOfNode: () => 'cn-hangzhou-i',
      log: { info: () => {}, warn: () => {}, error: () => {} },
      workers: 1,
      statusPollIntervalMs: 60_000,
      resyncIntervalMs: 60_000,
      orphanGracePeriodMs: 60_000,
      backoffBaseMs: 10,
      backoffMaxMs: 100,
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
});
