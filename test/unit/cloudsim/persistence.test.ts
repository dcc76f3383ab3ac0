// State survives restarts: graceful (snapshot), abrupt (journal only), and a real kill -9 of the
// CLI process. Overdue lifecycle transitions are replayed after a restart.

import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { $eci, $vpc, REGION, create, describe1, eciClient, startTestSim, testWorld, vpcClient, waitFor } from './helpers.ts';
import { waitForExit } from '../../helpers/deadline.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudsim-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function availableIn(sim: CloudSim, vSwitchId: string): Promise<number> {
  const res = await vpcClient(sim).describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: REGION, vSwitchId }));
  return res.body!.vSwitches!.vSwitch![0]!.availableIpAddressCount!;
}

describe('in-process restarts', () => {
  it('keeps groups, IPs, statuses and ClientTokens across a graceful restart', async () => {
    const stateFile = join(dir, 'state.json');
    const sim1 = await startTestSim({}, { stateFile });
    const eci1 = eciClient(sim1);
    const a = await create(eci1, { name: 'keep-a', vSwitchId: 'vsw-tiny', clientToken: 'uid-a', tags: { k: 'v' } });
    const b = await create(eci1, { vSwitchId: 'vsw-tiny', image: 'sim/exit:4', restartPolicy: 'Never' });
    await waitFor(async () => ((await describe1(eci1, b)).status === 'Failed' ? true : undefined), 'b to fail');
    const before = await Promise.all([a, b].map((id) => describe1(eci1, id)));
    await sim1.stop();

    const sim2 = await startTestSim({}, { stateFile });
    try {
      const eci2 = eciClient(sim2);
      const after = await Promise.all([a, b].map((id) => describe1(eci2, id)));
      expect(after.map((g) => [g.containerGroupId, g.intranetIp, g.vSwitchId])).toEqual(before.map((g) => [g.containerGroupId, g.intranetIp, g.vSwitchId]));
      expect(after[1]!.status).toBe('Failed');
      expect(after[1]!.containers![0]!.currentState!.exitCode).toBe(4);
      expect(await availableIn(sim2, 'vsw-tiny')).toBe(2);
      expect(await create(eci2, { name: 'keep-a', vSwitchId: 'vsw-tiny', clientToken: 'uid-a', tags: { k: 'v' } })).toBe(a);
      const c = await create(eci2, { vSwitchId: 'vsw-tiny' });
      expect(before.map((g) => g.intranetIp)).not.toContain((await describe1(eci2, c)).intranetIp);
    } finally {
      await sim2.stop();
    }
  });

  it('loses no acknowledged change on an abrupt stop (no snapshot, journal only), and replays overdue transitions', async () => {
    const stateFile = join(dir, 'state.json');
    const world = { persistence: { durability: 'fsync', snapshotIntervalMs: 600_000 }, lifecycle: { schedulingMs: 1000, pendingMs: 200 } };
    const sim1 = await startTestSim(world, { stateFile });
    const eci1 = eciClient(sim1);
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => create(eci1, { name: `crash-${i}` })));
    // Every create is acknowledged by now: their transitions fall due by this moment + 1200 ms
    // (counting from before the creates was flaky on a loaded machine, where they take a while).
    const t0 = Date.now();
    await eci1.deleteContainerGroup(new $eci.DeleteContainerGroupRequest({ regionId: REGION, containerGroupId: ids[0] }));
    expect((await describe1(eci1, ids[1]!)).status).toBe('Scheduling');
    await sim1.stop({ graceful: false });
    // Only the journal holds these groups: the snapshot was written before any of them.
    expect((await readdir(dir)).some((f) => f.startsWith('state.json.journal.'))).toBe(true);
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + 1300 - Date.now()))); // the clock itself is awaited

    const sim2 = await startTestSim(world, { stateFile });
    try {
      const eci2 = eciClient(sim2);
      const res = await eci2.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, limit: 20 }));
      expect(res.body.totalCount).toBe(19);
      expect(res.body.containerGroups!.map((g) => g.containerGroupId)).toEqual(ids.slice(1));
      // Scheduling (1000 ms) + Pending (200 ms) were due while the simulator was down.
      expect(res.body.containerGroups!.every((g) => g.status === 'Running')).toBe(true);
      expect(res.body.containerGroups![0]!.events!.map((e) => e.reason)).toEqual(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']);
    } finally {
      await sim2.stop();
    }
  });
});

describe('kill -9 of the CLI process', () => {
  const mainTs = fileURLToPath(new URL('../../../adapters/cli/main.ts', import.meta.url));

  function startCli(worldFile: string, stateFile: string): Promise<{ child: ChildProcessWithoutNullStreams; endpoint: string }> {
    const child = spawn(process.execPath, [mainTs, 'cloudsim', '--world', worldFile, '--port', '0', '--admin-port', '0', '--state', stateFile], { stdio: 'pipe' });
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`cloudsim did not start: ${err}`)), 15_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /cloudsim ready endpoint=(\S+)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve({ child, endpoint: m[1]! });
        }
      });
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('exit', (code) => reject(new Error(`cloudsim exited with ${code}: ${err}`)));
    });
  }

  it('keeps every acknowledged create after SIGKILL, and exits 0 on SIGTERM', async () => {
    const worldFile = join(dir, 'world.yaml');
    const stateFile = join(dir, 'state', 'cloudsim.json');
    await writeFile(worldFile, stringify(testWorld({ persistence: { durability: 'fsync', snapshotIntervalMs: 600_000 } })));

    const first = await startCli(worldFile, stateFile);
    const fake = { endpoint: first.endpoint } as CloudSim;
    const eci1 = eciClient(fake);
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => create(eci1, { name: `k9-${i}`, clientToken: `k9-${i}` })));
    first.child.kill('SIGKILL');
    await waitForExit(first.child, { timeoutMs: 10_000, what: 'cloudsim after SIGKILL' });

    const second = await startCli(worldFile, stateFile);
    const eci2 = eciClient({ endpoint: second.endpoint } as CloudSim);
    const res = await eci2.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, limit: 20 }));
    expect(res.body.containerGroups!.map((g) => g.containerGroupId).sort()).toEqual([...ids].sort());
    expect(await create(eci2, { name: 'k9-3', clientToken: 'k9-3' })).toBe(ids[3]);
    second.child.kill('SIGTERM');
    expect((await waitForExit(second.child, { timeoutMs: 10_000, what: 'cloudsim after SIGTERM' })).code).toBe(0);
  }, 30_000);
});
