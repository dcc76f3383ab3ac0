// KubeletCloudPort on the official SDK against the in-process cloud simulator, sharing the
// CloudPort's CloudCaller (one pacing queue per action, one onCall hook).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { classifyCloudError, CloudError } from '../../provider/cloud/errors.ts';
import { translatePod } from '../../provider/eci/translate.ts';
import { makeContainer, makePod } from '../../test/unit/builders.ts';
import { startCloudSim, type CloudSim } from '../cloudsim/server.ts';
import type { CallInfo } from './call.ts';
import { createCloud, type AlibabaCloud } from './cloud.ts';
import { createKubeletCloud } from './kubelet.ts';

let sim: CloudSim;
let cloud: AlibabaCloud;
let kubelet: ReturnType<typeof createKubeletCloud>;
let groupId: string;
const calls: CallInfo[] = [];

beforeAll(async () => {
  sim = await startCloudSim({ world: fileURLToPath(new URL('../cloudsim/worlds/demo.yaml', import.meta.url)), log: () => {} });
  const options = { regionId: sim.regionId, eciEndpoint: sim.endpoint, protocol: 'http' as const, credentials: { accessKeyId: sim.accessKey.id, accessKeySecret: sim.accessKey.secret } };
  cloud = createCloud({ ...options, vpcEndpoint: sim.endpoint, ecsEndpoint: sim.endpoint, onCall: (info) => calls.push(info) });
  kubelet = createKubeletCloud({ ...options, caller: cloud.caller });
  const { request } = translatePod({
    pod: makePod({ name: 'logger', uid: `uid-kubelet-${process.pid}`, containers: [makeContainer({ env: [{ name: 'SIM_LOG', value: 'one\ntwo\nthree' }] })] }),
    network: { zoneId: 'cn-hangzhou-h', vSwitchIds: ['vsw-simh1'], securityGroupId: 'sg-simdefault' },
    resolved: { configMaps: {}, secrets: {} },
    cluster: { clusterId: 'test-cluster', nodeName: 'vn-h', regionId: sim.regionId },
  });
  groupId = (await cloud.createContainerGroup(request)).containerGroupId;
  // Running (the demo world's lifecycle takes a couple of seconds).
  for (let i = 0; i < 100; i++) {
    const [g] = await cloud.describeContainerGroups([groupId]);
    if (g?.status === 'Running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 30_000);

afterAll(async () => {
  await sim?.stop({ graceful: false });
});

describe('alibabacloud KubeletCloudPort against the simulator', () => {
  it('reads a container log with tail and timestamps, through the shared caller', async () => {
    expect(await kubelet.describeContainerLog({ containerGroupId: groupId, containerName: 'app', tail: 2 })).toBe('two\nthree\n');
    const stamped = await kubelet.describeContainerLog({ containerGroupId: groupId, containerName: 'app', tail: 1, timestamps: true });
    expect(stamped).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z three\n$/);
    expect(calls.filter((c) => c.action === 'DescribeContainerLog')).toHaveLength(2);
  });

  it('opens an exec session whose WebSocket runs the command', async () => {
    const { webSocketUri } = await kubelet.execContainerCommand({ containerGroupId: groupId, containerName: 'app', command: ['echo', 'hi'], stdin: false, tty: false });
    expect(webSocketUri).toMatch(/^ws:\/\//);
    const out = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(webSocketUri, ['v5.channel.k8s.io']);
      let stdout = '';
      ws.on('message', (d: Buffer) => {
        if (d[0] === 1) stdout += d.subarray(1).toString();
      });
      ws.on('close', () => resolve(stdout));
      ws.on('error', reject);
    });
    expect(out).toBe('hi\n');
  });

  it('maps metric records to samples', async () => {
    const samples = await kubelet.describeContainerGroupMetric(groupId);
    expect(samples.length).toBeGreaterThan(0);
    const last = samples.at(-1)!;
    expect(last.cpu.usageNanoCores).toBeGreaterThan(0);
    expect(last.memory.workingSetBytes).toBeGreaterThan(0);
    expect(last.containers.map((c) => c.name)).toEqual(['app']);
    expect(last.interfaces[0]?.name).toBe('eth0');
  });

  it('throws CloudError for an unknown group (gone)', async () => {
    const err = await kubelet.describeContainerLog({ containerGroupId: 'eci-nope', containerName: 'app' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect(classifyCloudError(err).verdict).toBe('gone');
  });
});
