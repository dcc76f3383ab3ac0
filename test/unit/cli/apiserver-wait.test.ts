// A provider started before its apiserver answers waits and says so, instead of dying on the first
// ECONNREFUSED (it did: `TypeError: fetch failed` out of start-up, exit 1). The apiserver here is a
// loopback port nothing listens on; nothing answers, so no fake server is involved.
import { once } from 'node:events';
import { createServer } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podNetworkingCrdInstalled } from '../../../adapters/cli/provider.ts';
import { createLogger } from '../../../adapters/log/logger.ts';
import { withDeadline } from '../../helpers/deadline.ts';

async function closedLoopbackPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('start-up before the apiserver answers', () => {
  it('retries with growing delays, logging why and what to check, until stopped', async () => {
    const port = await closedLoopbackPort();
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'not-a-real-token' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (line) => lines.push(line) });
    const abort = new AbortController();
    const warnings = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'cannot reach the Kubernetes API server; retrying');

    const waiting = podNetworkingCrdInstalled({ custom: kc.makeApiClient(k8s.CustomObjectsApi), log, signal: abort.signal, retry: { baseMs: 20, maxMs: 80 } });
    const outcome = waiting.then(() => 'resolved', (err: unknown) => err);
    const deadline = Date.now() + 10_000;
    while (warnings().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    const ended = await withDeadline(outcome, 5_000, 'the apiserver wait to end once aborted');

    const seen = warnings();
    expect(seen.length, lines.join('\n')).toBeGreaterThanOrEqual(4);
    expect(seen.map((w) => w.attempt).slice(0, 4)).toEqual([1, 2, 3, 4]);
    // Capped exponential: never above maxMs.
    for (const w of seen) expect(w.retryInMs as number).toBeLessThanOrEqual(80);
    expect(JSON.stringify(seen[0])).toContain('ECONNREFUSED');
    expect(String(seen[0]!.fix)).toContain('kubeconfig');
    expect(lines.join('\n')).not.toContain('not-a-real-token');
    // Aborting is the only way out while nothing answers: it never resolved as "no CRD".
    expect(ended).toBeInstanceOf(Error);
    expect((ended as Error).name).toBe('AbortError');
  });
});
