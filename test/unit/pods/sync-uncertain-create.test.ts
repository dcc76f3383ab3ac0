// A create whose outcome is unknown (a timeout) may have made a group: the next attempt looks the
// group up by its tags, else sends the same request again (same body, same ClientToken) even if
// the network plan changed meanwhile; only a definite refusal frees the next attempt to send a new
// body under a new token (docs/pods.md, section 6).
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../../provider/cloud/errors.ts';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import type { ContainerGroupRequest } from '../../../provider/eci/request.ts';
import type { CloudPort } from '../../../provider/ports.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';
import { podKeyOf, PodSync, type NetworkPlanner } from '../../../provider/pods/sync.ts';
import { makePod } from '../builders.ts';

const timeout = () => new CloudError({ action: 'CreateContainerGroup', code: 'Timeout', detail: 'no answer in 10 s', requestId: '' });
const ipNotEnough = () => new CloudError({ action: 'CreateContainerGroup', code: 'InvalidVSwitchId.IpNotEnough', detail: 'no free IP', requestId: 'R', httpStatus: 403 });

function harness(pod: V1Pod, answers: (Error | string)[], listed: ContainerGroup[] = []) {
  const sent: ContainerGroupRequest[] = [];
  let lookups = 0;
  const cloud = {
    createContainerGroup: async (r: ContainerGroupRequest) => {
      sent.push(r);
      const a = answers.shift();
      if (a === undefined || a instanceof Error) throw a ?? new Error('no answer scripted');
      return { containerGroupId: a };
    },
    listContainerGroups: async () => (lookups++, listed),
    describeContainerGroups: async () => [],
  } as unknown as CloudPort;
  // Each plan picks the next vSwitch of the zone (as exhaustion marks of other pods would make it).
  let plans = 0;
  const network: NetworkPlanner = {
    plan: async () => ({ kind: 'ready', zoneId: 'cn-hangzhou-i', vSwitchId: `vsw-i${++plans}`, securityGroupId: 'sg-1', reason: 'default network' }),
    noteExhausted: () => {},
    noteAllocated: () => {},
  };
  const sync = new PodSync({
    cloud,
    pods: { get: () => pod, list: () => [pod] },
    podLookup: { podExists: async () => false },
    writer: { patchPodStatus: async () => {}, annotatePod: async () => {}, finishPodDeletion: async () => {}, recordEvent: () => {} },
    inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
    network,
    groups: new GroupIndex(),
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    zoneOfNode: () => 'cn-hangzhou-i',
    log: { info: () => {}, warn: () => {}, error: () => {} },
  });
  return { sync, sent, lookups: () => lookups };
}

describe('PodSync: a create whose outcome is unknown', () => {
  it('re-sends the same request (same token, same vSwitch) although the plan changed', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i' });
    const h = harness(pod, [timeout(), 'eci-1']);
    await expect(h.sync.syncPod(podKeyOf(pod))).rejects.toThrow(/Timeout/);
    await h.sync.syncPod(podKeyOf(pod));
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]).toEqual(h.sent[0]);
    expect(h.sent[1]!.vSwitchIds).toEqual(['vsw-i1']);
    expect(h.lookups()).toBe(1);
  });

  it('adopts the group the lost create made, found by its tags, and creates nothing', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i' });
    const found = { id: 'eci-lost', status: 'Pending', zoneId: 'cn-hangzhou-i', vSwitchId: 'vsw-i1', securityGroupId: 'sg-1', tags: { 'eci-virtual-node/pod-uid': pod.metadata!.uid! } } as unknown as ContainerGroup;
    const h = harness(pod, [timeout()], [found]);
    await expect(h.sync.syncPod(podKeyOf(pod))).rejects.toThrow(/Timeout/);
    expect(await h.sync.syncPod(podKeyOf(pod))).toEqual({ kind: 'done' });
    expect(h.sent).toHaveLength(1);
  });

  it('after a definite refusal (IpNotEnough) plans afresh: another vSwitch under another token', async () => {
    const pod = makePod({ nodeName: 'vn-cn-hangzhou-i' });
    const h = harness(pod, [ipNotEnough(), 'eci-2']);
    await h.sync.syncPod(podKeyOf(pod));
    await h.sync.syncPod(podKeyOf(pod));
    expect(h.sent.map((r) => r.vSwitchIds[0])).toEqual(['vsw-i1', 'vsw-i2']);
    expect(h.sent[1]!.clientToken).not.toBe(h.sent[0]!.clientToken);
    expect(h.lookups()).toBe(0);
  });
});
