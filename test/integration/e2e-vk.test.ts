// virtual-kubelet's own e2e suite (v1.14.1, test/e2e-vk) against a virtual node of this provider,
// exactly as `npm run e2e:vk` runs it: its runner starts a control plane, the simulator and the
// provider of its own, builds the suite once (Go, cached) and prints each verdict. Peers'
// conventions (event reasons, per-node kubelet endpoints, status) are then checked on every run.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { budget, stopChild, waitForExit } from '../helpers/deadline.ts';

const RUNNER = join(import.meta.dirname, '..', 'e2e-vk', 'run.ts');
/** The two tests that read stats through the apiserver's pod proxy (docs/kubelet-api.md). */
const POD_PROXY_TESTS = ['TestGetStatsSummary', 'TestGetMetricsResource'];

describe("virtual-kubelet's e2e suite", () => {
  let child: ReturnType<typeof spawn> | undefined;
  afterAll(async () => {
    if (child !== undefined) await stopChild(child, { what: 'the e2e:vk runner' });
  });

  it('passes every test but the two that go through the pod proxy', async () => {
    let output = '';
    child = spawn(process.execPath, [RUNNER], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    // A cold build of the suite took about 4 minutes on 2 CPUs; the run itself about 30 s.
    const exit = await waitForExit(child, { timeoutMs: budget({ baseMs: 20 * 60_000 }), what: 'the e2e:vk runner (build + control plane + suite)', output: () => output });
    const verdicts = [...output.matchAll(/^ {2}(PASS|FAIL|SKIP) {2}(\w+)/gm)].map((m) => ({ result: m[1]!, test: m[2]! }));
    const failed = verdicts.filter((v) => v.result !== 'PASS').map((v) => v.test);
    expect(verdicts.length, `no verdicts; output tail:\n${output.slice(-4000)}`).toBe(9);
    expect(failed.filter((t) => !POD_PROXY_TESTS.includes(t)), output.slice(-4000)).toEqual([]);
    expect(exit.code, output.slice(-4000)).toBe(0);
  }, 25 * 60_000);
});
