// CloudPort on the official SDKs against the in-process cloud simulator: the same signed HTTP
// the adapter sends to Alibaba Cloud.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { classifyCloudError, CloudError } from '../../provider/cloud/errors.ts';
import { GROUP_TAGS } from '../../provider/cloud/model.ts';
import type { ContainerGroupRequest } from '../../provider/eci/request.ts';
import { podStatusFromGroup } from '../../provider/eci/status.ts';
import { translatePod } from '../../provider/eci/translate.ts';
import { makeContainer, makePod } from '../../test/unit/builders.ts';
import { startCloudSim, type CloudSim } from '../cloudsim/server.ts';
import { parseWorld, type World } from '../cloudsim/world.ts';
import type { CallInfo } from './call.ts';
import { createCloud, type AlibabaCloud } from './cloud.ts';

const EXTRA_VSWITCHES = 60;

let sim: CloudSim;
let cloud: AlibabaCloud;
const calls: CallInfo[] = [];
/** Runs after each reported call attempt (its answer is in), before the adapter goes on. */
let afterCall: ((info: CallInfo) => void) | undefined;

async function world(): Promise<World> {
  const doc = parse(await readFile(new URL('../cloudsim/worlds/demo.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
  // Enough vSwitches for DescribeVSwitches to need two pages of 50.
  const extra = Array.from({ length: EXTRA_VSWITCHES }, (_, i) => ({
    id: `vsw-simp${String(i).padStart(2, '0')}`,
    vpcId: 'vpc-simmain',
    zoneId: 'cn-hangzhou-i',
    cidr: `10.0.${100 + i}.0/28`,
  }));
  // The adapter's own contract, read back at once: the demo world's realism profile (list lag,
  // late IPs) is the pod sync's concern (test/unit/pods, chaos), so it is off here.
  const lifecycle = { ...(doc.lifecycle as Record<string, unknown>), realism: { profile: 'off' } };
  return parseWorld({ ...doc, lifecycle, vSwitches: [...(doc.vSwitches as unknown[]), ...extra] });
}

beforeAll(async () => {
  sim = await startCloudSim({ world: await world(), log: () => {} });
  cloud = createCloud({
    regionId: sim.regionId,
    eciEndpoint: sim.endpoint,
    vpcEndpoint: sim.endpoint,
    ecsEndpoint: sim.endpoint,
    protocol: 'http',
    credentials: { accessKeyId: sim.accessKey.id, accessKeySecret: sim.accessKey.secret },
    onCall: (info) => {
      calls.push(info);
      afterCall?.(info);
    },
  });
});

afterAll(async () => {
  await sim?.stop({ graceful: false });
});

function callsOf(action: string, run: () => Promise<unknown>): Promise<number> {
  const before = calls.filter((c) => c.action === action).length;
  return run().then(() => calls.filter((c) => c.action === action).length - before);
}

let seq = 0;
function request(o: { tags?: Record<string, string>; vSwitchId?: string; zoneId?: string; uid?: string } = {}): ContainerGroupRequest {
  seq++;
  const uid = o.uid ?? `uid-${process.pid}-${seq}`;
  const { request: r } = translatePod({
    pod: makePod({ name: `pod-${seq}`, uid, containers: [makeContainer({ ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] })] }),
    network: { zoneId: o.zoneId ?? 'cn-hangzhou-h', vSwitchIds: [o.vSwitchId ?? 'vsw-simh1'], securityGroupId: 'sg-simdefault' },
    resolved: { configMaps: {}, secrets: {} },
    cluster: { clusterId: 'test-cluster', nodeName: 'vn-h', regionId: sim.regionId },
  });
  return { ...r, tags: { ...r.tags, ...o.tags } };
}

describe('alibabacloud CloudPort against the simulator', () => {
  it('creates idempotently under one ClientToken', async () => {
    const r = request({ tags: { run: 'idempotent' } });
    const first = await cloud.createContainerGroup(r);
    const second = await cloud.createContainerGroup(r);
    expect(first.containerGroupId).toMatch(/^eci-/);
    expect(second.containerGroupId).toBe(first.containerGroupId);
    const listed = await cloud.listContainerGroups({ [GROUP_TAGS.podUid]: r.tags[GROUP_TAGS.podUid]! });
    expect(listed.map((g) => g.id)).toEqual([first.containerGroupId]);
    const [group] = listed;
    expect(group?.tags[GROUP_TAGS.cluster]).toBe('test-cluster');
    expect(group?.vSwitchId).toBe('vsw-simh1');
    expect(group?.containers.map((c) => c.name)).toEqual(['app']);
  });

  it('describes more than 20 groups in batches of 20 and leaves unknown ids out', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push((await cloud.createContainerGroup(request({ tags: { run: 'batch' } }))).containerGroupId);
    let described: Awaited<ReturnType<AlibabaCloud['describeContainerGroups']>> = [];
    const n = await callsOf('DescribeContainerGroups', async () => {
      described = await cloud.describeContainerGroups([...ids, 'eci-does-not-exist']);
    });
    expect(described.map((g) => g.id).sort()).toEqual([...ids].sort());
    expect(n).toBe(2);
  });

  it('lists by tags across pages of 20, only groups carrying every tag, each page as it arrives', async () => {
    await cloud.createContainerGroup(request({ tags: { run: 'other' } }));
    let listed: Awaited<ReturnType<AlibabaCloud['listContainerGroups']>> = [];
    const pages: string[][] = [];
    const n = await callsOf('DescribeContainerGroups', async () => {
      listed = await cloud.listContainerGroups({ run: 'batch', [GROUP_TAGS.cluster]: 'test-cluster' }, { onPage: (groups) => void pages.push(groups.map((g) => g.id)) });
    });
    expect(listed).toHaveLength(25);
    expect(listed.every((g) => g.tags.run === 'batch')).toBe(true);
    expect(n).toBeGreaterThanOrEqual(2);
    expect(pages.map((p) => p.length)).toEqual([20, 5]);
    expect(pages.flat().sort()).toEqual(listed.map((g) => g.id).sort());
  });

  it('lists ids of groups changed in the last seconds, scoped by tags', async () => {
    const { containerGroupId } = await cloud.createContainerGroup(request({ tags: { run: 'changed' } }));
    const changed = (await cloud.listChangedContainerGroups({ run: 'changed' }, 30)).map((c) => c.id);
    expect(changed).toEqual([containerGroupId]);
    const batch = (await cloud.listChangedContainerGroups({ run: 'batch' }, 600)).map((c) => c.id);
    expect(batch).toHaveLength(25);
    expect(batch).not.toContain(containerGroupId);
  });

  it('deletes, and a second delete of the same group is a success', async () => {
    const { containerGroupId } = await cloud.createContainerGroup(request({ tags: { run: 'delete' } }));
    await cloud.deleteContainerGroup(containerGroupId);
    await expect(cloud.deleteContainerGroup(containerGroupId)).resolves.toBeUndefined();
    expect(await cloud.describeContainerGroups([containerGroupId])).toEqual([]);
  });

  it('describes a few vSwitches one by one, with live free-IP counts', async () => {
    const found = await cloud.describeVSwitches(['vsw-simh1', 'vsw-simi1', 'vsw-unknown']);
    expect(found.map((v) => v.id)).toEqual(['vsw-simh1', 'vsw-simi1']);
    expect(found[0]).toMatchObject({ zoneId: 'cn-hangzhou-h', vpcId: 'vpc-simmain', cidrBlock: '10.0.1.0/26', status: 'Available' });
    expect(found[0]!.availableIpCount).toBeGreaterThan(0);
    expect(found[0]!.availableIpCount).toBeLessThan(60);
  });

  it('describes security groups through ECS DescribeSecurityGroups with their VPCs; unknown ids are absent', async () => {
    const n = await callsOf('DescribeSecurityGroups', async () => {
      const found = await cloud.describeSecurityGroups(['sg-simother', 'sg-unknown', 'sg-simdefault', 'sg-simother']);
      expect(found).toEqual([
        { id: 'sg-simother', vpcId: 'vpc-simother', name: 'other' },
        { id: 'sg-simdefault', vpcId: 'vpc-simmain', name: 'default' },
      ]);
    });
    expect(n).toBe(1);
    expect(await cloud.describeSecurityGroups([])).toEqual([]);
  });

  it('pages through the region (PageSize 50) when many vSwitches are asked for', async () => {
    const ids = Array.from({ length: EXTRA_VSWITCHES }, (_, i) => `vsw-simp${String(i).padStart(2, '0')}`);
    let found: Awaited<ReturnType<AlibabaCloud['describeVSwitches']>> = [];
    const n = await callsOf('DescribeVSwitches', async () => {
      found = await cloud.describeVSwitches([...ids, 'vsw-simj1']);
    });
    expect(found.map((v) => v.id)).toEqual([...ids, 'vsw-simj1']);
    expect(n).toBe(2);
  });

  it('asks by id for a vSwitch a region scan skipped (another vSwitch deleted between two pages), so absent means not in the cloud', async () => {
    // vsw-simp00 sits on the scan's first page; deleting it once that page is answered shifts
    // the second page by one, and the scan never sees one vSwitch that exists.
    const victim = 'vsw-simp00';
    const def = sim.cloud.vSwitches.get(victim)!;
    const ids = Array.from({ length: EXTRA_VSWITCHES - 1 }, (_, i) => `vsw-simp${String(i + 1).padStart(2, '0')}`);
    let deleted = false;
    afterCall = (info) => {
      if (deleted || info.action !== 'DescribeVSwitches') return;
      sim.cloud.vSwitches.delete(victim);
      deleted = true;
    };
    try {
      let found: Awaited<ReturnType<AlibabaCloud['describeVSwitches']>> = [];
      const n = await callsOf('DescribeVSwitches', async () => {
        found = await cloud.describeVSwitches(ids);
      });
      expect(deleted).toBe(true);
      expect(found.map((v) => v.id)).toEqual(ids);
      // Two scan pages, then one call by id for the vSwitch the second page skipped.
      expect(n).toBe(3);
    } finally {
      afterCall = undefined;
      sim.cloud.vSwitches.set(victim, def);
    }
  });

  it('surfaces IpNotEnough as a CloudError with code, status and request id, never retried', async () => {
    const attempts = () => calls.filter((c) => c.action === 'CreateContainerGroup').length;
    let failure: unknown;
    for (let i = 0; i < 8 && failure === undefined; i++) {
      const before = attempts();
      try {
        await cloud.createContainerGroup(request({ vSwitchId: 'vsw-simtiny', zoneId: 'cn-hangzhou-j', tags: { run: 'tiny' } }));
      } catch (err) {
        failure = err;
        expect(attempts() - before).toBe(1);
      }
    }
    expect(failure).toBeInstanceOf(CloudError);
    const err = failure as CloudError;
    expect(err.code).toBe('InvalidVSwitchId.IpNotEnough');
    expect(err.httpStatus).toBe(403);
    expect(err.requestId).toMatch(/\S/);
    expect(err.message).toMatch(/^CreateContainerGroup: InvalidVSwitchId\.IpNotEnough: .+ \(requestId .+\)$/);
    expect(classifyCloudError(err).verdict).toBe('failover-vswitch');
    const everything = JSON.stringify({ message: err.message, stack: err.stack, cause: err.cause, err });
    expect(everything).not.toContain(sim.accessKey.secret);
  });

  it('a wrong secret fails as SignatureDoesNotMatch without the secret anywhere in the error', async () => {
    const secret = 'a-wrong-secret-that-must-not-leak';
    const bad = createCloud({
      regionId: sim.regionId,
      eciEndpoint: sim.endpoint,
      vpcEndpoint: sim.endpoint,
      ecsEndpoint: sim.endpoint,
      protocol: 'http',
      credentials: { accessKeyId: sim.accessKey.id, accessKeySecret: secret },
      readRetry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const err = await bad.describeVSwitches(['vsw-simh1']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CloudError);
    expect((err as CloudError).code).toBe('SignatureDoesNotMatch');
    expect(classifyCloudError(err).verdict).toBe('terminal');
    const e = err as CloudError;
    expect(JSON.stringify({ m: e.message, s: e.stack, c: e.cause, e })).not.toContain(secret);
  });

  it('an unreachable endpoint is a retryable Network error, and reads are retried', async () => {
    const seen: CallInfo[] = [];
    const down = createCloud({
      regionId: sim.regionId,
      eciEndpoint: '127.0.0.1:1',
      vpcEndpoint: '127.0.0.1:1',
      ecsEndpoint: '127.0.0.1:1',
      protocol: 'http',
      credentials: { accessKeyId: sim.accessKey.id, accessKeySecret: sim.accessKey.secret },
      readRetry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      onCall: (c) => seen.push(c),
    });
    const err = await down.describeContainerGroups(['eci-x']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CloudError);
    expect((err as CloudError).code).toBe('Network');
    expect((err as CloudError).httpStatus).toBeUndefined();
    expect(classifyCloudError(err).verdict).toBe('retry');
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3]);
  });

  it('sends every translated field under the wire names ECI expects', async () => {
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const pod = makePod({
      name: 'rich',
      uid: `uid-rich-${process.pid}`,
      annotations: { 'k8s.aliyun.com/eci-with-eip': 'true' },
      spec: {
        restartPolicy: 'OnFailure',
        dnsPolicy: 'None',
        dnsConfig: { nameservers: ['1.1.1.1'], searches: ['corp.local'], options: [{ name: 'ndots', value: '2' }] },
        hostAliases: [{ ip: '10.0.0.9', hostnames: ['db.local'] }],
        imagePullSecrets: [{ name: 'pull' }],
        securityContext: { sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] },
        volumes: [
          { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420, items: [{ key: 'a.conf', path: 'a.conf', mode: 384 }] } },
          { name: 'tmp', emptyDir: { medium: 'Memory' } },
        ],
      },
      initContainers: [makeContainer({ name: 'init', image: 'busybox', command: ['true'] })],
      containers: [
        makeContainer({
          resources: { limits: { cpu: '500m', memory: '512Mi' } },
          ports: [{ containerPort: 80 }],
          env: [
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'pull', key: 'token' } } },
          ],
          volumeMounts: [
            { name: 'cfg', mountPath: '/etc/cfg' },
            { name: 'tmp', mountPath: '/tmp' },
          ],
          readinessProbe: { httpGet: { path: '/healthz', port: 80 as unknown as number }, periodSeconds: 3 },
          livenessProbe: { tcpSocket: { port: 80 as unknown as number } },
          securityContext: { runAsUser: 1000, capabilities: { add: ['NET_ADMIN'] } },
        }),
      ],
    });
    const { request: r } = translatePod({
      pod,
      network: { zoneId: 'cn-hangzhou-h', vSwitchIds: ['vsw-simh1'], securityGroupId: 'sg-simdefault' },
      resolved: {
        configMaps: { cfg: { 'a.conf': 'x=1' } },
        secrets: { pull: { token: b64('t0k'), '.dockerconfigjson': b64(JSON.stringify({ auths: { 'r.io': { username: 'u', password: 'p' } } })) } },
      },
      cluster: { clusterId: 'test-cluster', nodeName: 'vn-h', regionId: sim.regionId },
    });
    const { containerGroupId } = await cloud.createContainerGroup(r);
    const res = await fetch(`${sim.adminEndpoint}/admin/groups/${containerGroupId}`, { headers: { authorization: `Bearer ${sim.adminToken}` } });
    const stored = JSON.stringify(await res.json());
    for (const fragment of [
      '"restartPolicy":"OnFailure"',
      '"cpu":0.5,"memory":1,',
      '{"key":"IP","fieldPath":"status.podIP"}',
      '{"key":"TOKEN","value":"t0k"}',
      '"HttpGet":{"Path":"/healthz","Port":"80"}',
      '"TcpSocket":{"Port":"80"}',
      '"Capability":{"Add":["NET_ADMIN"]}',
      `"Content":"${b64('x=1')}"`,
      '"Mode":"384"',
      '"EmptyDirVolume":{"Medium":"Memory"}',
      '"NameServer":["1.1.1.1"]',
      '"Hostname":["db.local"],"Ip":"10.0.0.9"',
      '"Password":"p","Server":"r.io","UserName":"u"',
      '"Sysctl":[{"Name":"net.core.somaxconn","Value":"1024"}]',
      '"AutoCreateEip":"true"',
      '"name":"init"',
    ]) {
      expect(stored).toContain(fragment);
    }
  });

  it('a described group maps to a Running pod status with an IP of the vSwitch', async () => {
    const r = request({ tags: { run: 'status' } });
    const { containerGroupId } = await cloud.createContainerGroup(r);
    let group = (await cloud.describeContainerGroups([containerGroupId]))[0];
    for (let i = 0; i < 50 && group?.status !== 'Running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      group = (await cloud.describeContainerGroups([containerGroupId]))[0];
    }
    expect(group?.status).toBe('Running');
    const status = podStatusFromGroup({ group: group!, pod: makePod({ containers: [makeContainer()] }), now: new Date() });
    expect(status.phase).toBe('Running');
    expect(status.podIP).toMatch(/^10\.0\.1\.\d+$/);
    expect(status.containerStatuses?.[0]?.state?.running).toBeDefined();
    expect(group?.eniInstanceId).toMatch(/^eni-/);
    expect(group?.events.map((e) => e.reason)).toContain('Started');
  });
});
