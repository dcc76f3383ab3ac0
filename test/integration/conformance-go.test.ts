// The simulator against a second official SDK: the Go github.com/aliyun/alibaba-cloud-sdk-go (old
// RPC signature, its own models; test/conformance-go). Its program creates, describes (also the
// status and the metrics), deletes and reads vSwitches, and decodes every answer strictly into the
// SDK's response types. Against the demo world, so with the realism profile on (late IPs,
// lagging lists). Built once and cached (test/conformance-go/build.sh, like test/e2e-vk).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudSim } from '../../adapters/cloudsim/server.ts';
import { startCloudSim } from '../../adapters/cloudsim/server.ts';
import { budget, stopChild, waitForExit } from '../helpers/deadline.ts';
import { DEMO_WORLD } from './helpers/provider.ts';

const BUILD = join(import.meta.dirname, '..', 'conformance-go', 'build.sh');
let sim: CloudSim;
const children: ReturnType<typeof spawn>[] = [];

beforeAll(async () => {
  sim = await startCloudSim({ world: DEMO_WORLD, log: () => {} });
});
afterAll(async () => {
  for (const c of children) await stopChild(c, { what: 'a conformance-go process' });
  await sim?.stop();
});

async function run(command: string, args: string[], what: string, timeoutMs: number): Promise<{ code: number | null; output: string; stdout: string }> {
  let output = '';
  let stdout = '';
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  children.push(child);
  child.stdout.on('data', (d: Buffer) => ((output += d.toString()), (stdout += d.toString())));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exit = await waitForExit(child, { timeoutMs, what, output: () => output });
  return { code: exit.code, output, stdout };
}

describe('the Go SDK (alibaba-cloud-sdk-go) against the simulator', () => {
  it('decodes every answer strictly into the SDK types', async () => {
    // A cold build (module download + compile) took about 2 minutes on 2 CPUs; cached after.
    const built = await run('bash', [BUILD], 'test/conformance-go/build.sh', budget({ baseMs: 15 * 60_000 }));
    expect(built.code, built.output.slice(-3000)).toBe(0);
    const bin = built.stdout.trim().split('\n').at(-1)!;
    const res = await run(
      bin,
      ['-endpoint', sim.endpoint, '-region', sim.regionId, '-ak', sim.accessKey.id, '-secret', sim.accessKey.secret, '-vswitch', 'vsw-simh1', '-sg', 'sg-simdefault', '-timeout', '30s'],
      'the conformance-go program',
      budget({ baseMs: 90_000 }),
    );
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(res.output);
    expect(summary, res.output).not.toBeNull();
    expect(res.output.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(Number(summary![1])).toBeGreaterThanOrEqual(20);
    expect(res.code, res.output).toBe(0);
  }, 20 * 60_000);
});
