// The test suite's deadline helpers: every wait ends, and its error says what was awaited and
// what was last seen. Real child processes and a real TLS socket; no vitest timeout involved.
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate } from '../../../adapters/tls/certificates.ts';
import { httpsCall } from '../../chaos/scenarios/corpus.ts';
import { boundedApi, budget, DeadlineError, stopChild, waitForExit, waitForOutput, waitUntil, withDeadline } from '../../helpers/deadline.ts';
import { waitFor } from '../../integration/helpers/wait.ts';

const never = (): Promise<never> => new Promise<never>(() => {});
const node = (code: string) => spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });

describe('withDeadline', () => {
  it('settles like the work when it is in time', async () => {
    await expect(withDeadline(Promise.resolve(7), 1_000, 'seven')).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 1_000, 'boom')).rejects.toThrow('boom');
  });

  it('fails after the time with a DeadlineError naming what and the last state, and aborts the work', async () => {
    let aborted: unknown;
    const err = await withDeadline(
      (signal) => {
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
        });
        return never();
      },
      50,
      'an answer to GET /x',
      () => 'HTTP 200, 3 bytes so far',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineError);
    expect((err as Error).message).toBe('TEST_DEADLINE: an answer to GET /x did not happen within 0.1 s; last seen: HTTP 200, 3 bytes so far');
    expect(aborted).toBe(err);
  });
});

describe('waitUntil and waitFor', () => {
  it('return the first truthy value', async () => {
    let n = 0;
    await expect(waitUntil(() => ++n >= 3 && n, { timeoutMs: 2_000, intervalMs: 1, what: 'three calls' })).resolves.toBe(3);
    await expect(waitFor(() => 'ok', { timeoutMs: 1_000, describe: 'ok' })).resolves.toBe('ok');
  });

  it('end even when a check hangs, naming what was awaited and what was seen', async () => {
    const started = Date.now();
    const err = await waitUntil(never, { timeoutMs: 100, what: 'pods Running', lastSeen: () => 'phase Pending' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((err as Error).message).toMatch(/^TEST_DEADLINE: pods Running did not happen within 0\.1 s; last seen: phase Pending; last error: TEST_DEADLINE: one check of pods Running/);
    const old = await waitFor(never, { timeoutMs: 100, describe: 'a hanging probe' }).catch((e: unknown) => e);
    expect(old).toBeInstanceOf(DeadlineError);
    expect((old as Error).message).toMatch(/^timed out after 0\.1 s waiting for a hanging probe; last error: TEST_DEADLINE: one probe of a hanging probe/);
  }, 30_000);
});

describe('child processes', () => {
  it('waitForExit resolves with the exit, or fails naming the process and its output', async () => {
    await expect(waitForExit(node('process.exit(3)'), { timeoutMs: 20_000, what: 'exit-3' })).resolves.toEqual({ code: 3, signal: null });
    const sleeper = node('console.log("still here"); setInterval(() => {}, 1000)');
    let out = '';
    sleeper.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitForOutput(sleeper, { pattern: 'still here', timeoutMs: 20_000, what: 'the greeting', output: () => out });
    const err = await waitForExit(sleeper, { timeoutMs: 100, what: 'the sleeper', output: () => out }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^TEST_DEADLINE: the sleeper to exit \(pid \d+\) did not happen within 0\.1 s; last seen: output tail:\nstill here/);
    sleeper.kill('SIGKILL');
  }, 30_000);

  it('stopChild escalates to SIGKILL when SIGTERM is ignored', async () => {
    const stubborn = node('process.on("SIGTERM", () => console.log("ignored")); console.log("up"); setInterval(() => {}, 1000)');
    let out = '';
    stubborn.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitForOutput(stubborn, { pattern: 'up', timeoutMs: 20_000, what: 'start-up', output: () => out });
    await expect(stopChild(stubborn, { what: 'stubborn', graceMs: 300 })).resolves.toEqual({ code: null, signal: 'SIGKILL', killed: true });
  }, 30_000);

  it('waitForOutput fails at once when the process exits without printing it', async () => {
    const quitter = node('console.log("bye")');
    let out = '';
    quitter.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await expect(waitForOutput(quitter, { pattern: /ready/, timeoutMs: 20_000, what: 'the ready line', output: () => out })).rejects.toThrow(/the ready line: the process exited \(0\) first; output tail:\nbye/);
  }, 30_000);
});

describe('boundedApi', () => {
  it('puts a deadline on every call, naming the method and its object', async () => {
    class CoreV1Api {
      readNamespacedPod(_p: { namespace: string; name: string }): Promise<string> {
        return never();
      }
      sync(): number {
        return 1;
      }
    }
    const api = boundedApi(new CoreV1Api(), { timeoutMs: 50 });
    expect(api.sync()).toBe(1);
    await expect(api.readNamespacedPod({ namespace: 'ns', name: 'web' })).rejects.toThrow('TEST_DEADLINE: an answer to CoreV1Api.readNamespacedPod(namespace=ns name=web) did not happen within 0.1 s');
  });
});

describe('budget', () => {
  it('grows with the work', () => {
    expect(budget({ baseMs: 1_000, perItemMs: 10, items: 30 })).toBe(1_300);
  });
});

describe('httpsCall (chaos corpus)', () => {
  /** TLS over a TCP socket we hold, so the test can reset the TCP connection itself. */
  const tlsServer = async (onSocket: (tls: TLSSocket, tcp: Socket) => void) => {
    const ca = await createCertificateAuthority({ commonName: 'deadline-test-ca' });
    const serving = await issueCertificate({ ca, commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
    const secureContext = createSecureContext({ cert: serving.certPem, key: serving.keyPem });
    const server = createServer((tcp) => onSocket(new TLSSocket(tcp, { isServer: true, secureContext }), tcp));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as AddressInfo).port, ca: ca.certPem };
  };

  it('settles when the server answers 413 and resets while the body is still being sent', async () => {
    const { server, port, ca } = await tlsServer((tls, tcp) => {
      tls.once('data', () => {
        tls.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 9\r\nconnection: close\r\n\r\nexceeds\r\n', () => tcp.resetAndDestroy());
      });
    });
    try {
      for (let i = 0; i < 5; i++) {
        const outcome = await httpsCall({ port, path: '/mutate-pods', method: 'POST', body: 'x'.repeat(4 * 1024 * 1024), ca, timeoutMs: 20_000 }).then(
          (res) => `HTTP ${res.status}`,
          (err: unknown) => (err as Error).message,
        );
        // An answer when it arrived before the reset; otherwise an error naming the request. Never a hang.
        expect(outcome).toMatch(/^HTTP 413$|^POST https:\/\/127\.0\.0\.1:\d+\/mutate-pods: no HTTP answer \((EPIPE|ECONNRESET)/);
      }
    } finally {
      server.close();
    }
  }, 120_000);

  it('rejects naming the request when the server resets before any answer (the old helper hung here)', async () => {
    const { server, port, ca } = await tlsServer((tls, tcp) => tls.once('data', () => tcp.resetAndDestroy()));
    try {
      const err = await httpsCall({ port, path: '/mutate-pods', method: 'POST', body: 'x'.repeat(4 * 1024 * 1024), ca, timeoutMs: 20_000 }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/^POST https:\/\/127\.0\.0\.1:\d+\/mutate-pods: no HTTP answer \((EPIPE|ECONNRESET)/);
    } finally {
      server.close();
    }
  }, 60_000);

  it('fails with the request named when nothing answers', async () => {
    const { server, port, ca } = await tlsServer((tls) => tls.on('error', () => {}));
    try {
      await expect(httpsCall({ port, path: '/healthz', ca, timeoutMs: 300 })).rejects.toThrow(`TEST_DEADLINE: an answer to GET https://127.0.0.1:${port}/healthz did not happen within 0.3 s; last seen: no response head yet`);
    } finally {
      server.close();
    }
  }, 30_000);
});
