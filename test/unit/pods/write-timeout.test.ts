// A status write the apiserver did not answer within its deadline (ApiserverTimeoutError from
// adapters/kubernetes/raw.ts) fails the pod's sync like any other failed write: the controller
// says it will retry (naming the error's code), waits a backoff that grows with each failure,
// and the pod's status lands once the apiserver answers.
import { describe, expect, it } from 'vitest';
import { ApiserverTimeoutError } from '../../../adapters/kubernetes/raw.ts';
import { makePod } from '../builders.ts';
import { controllerOver, runningGroup, settle } from './controller-harness.ts';

describe('a status write past its deadline', () => {
  it('is logged as retried, retried after a growing backoff, and the status lands once the apiserver answers', async () => {
    const pod = makePod({ name: 'web-1', namespace: 'default', uid: 'uid-1', nodeName: 'vn-i' });
    const TIMEOUTS = 4;
    const attemptsAt: number[] = [];
    const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
    const h = controllerOver({
      groups: [runningGroup({ id: 'eci-1', uid: 'uid-1', pod: 'web-1', intranetIp: '10.0.0.5' })],
      pods: () => [pod],
      podExists: async () => true,
      beforePatch: async () => {
        attemptsAt.push(performance.now());
        if (attemptsAt.length <= TIMEOUTS) throw new ApiserverTimeoutError({ method: 'PATCH', path: '/api/v1/namespaces/default/pods/web-1/status', timeoutMs: 60_000 });
      },
      log: { info: () => {}, warn: (msg, fields) => void warnings.push({ msg, ...(fields === undefined ? {} : { fields }) }), error: () => {} },
    });
    const abort = new AbortController();
    await h.controller.start(abort.signal);
    await settle(h.controller, `the Running status patched after ${TIMEOUTS} timed-out attempts`, () => h.patched.includes('web-1'));
    abort.abort();
    await h.controller.stop();

    // The pod's status lands, once, after the apiserver answers.
    expect(attemptsAt).toHaveLength(TIMEOUTS + 1);
    expect(h.statuses.map((s) => [s.phase, s.podIP])).toEqual([['Running', '10.0.0.5']]);
    // Each timeout is logged as a failure the controller retries, naming the searchable code.
    const retries = warnings.filter((w) => w.msg === 'pod sync failed; will retry');
    expect(retries.map((w) => w.fields?.['attempt'])).toEqual([1, 2, 3, 4]);
    for (const w of retries) expect(String(w.fields?.['error'])).toContain('(ApiserverTimeout)');
    // The backoff grows (base 10 ms, jitter in the upper half: 5-10, 10-20, 20-40, 40-80 ms) and each retry waits it out.
    const delays = retries.map((w) => Number(w.fields?.['retryInMs']));
    expect(delays[0]).toBeGreaterThanOrEqual(5); // half the harness's backoffBaseMs (10): no retry comes at once
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] ?? Infinity);
    expect(delays[TIMEOUTS - 1]).toBeGreaterThanOrEqual(4 * (delays[0] ?? Infinity));
    for (let i = 0; i < TIMEOUTS; i++) expect((attemptsAt[i + 1] ?? 0) - (attemptsAt[i] ?? 0)).toBeGreaterThanOrEqual((delays[i] ?? Infinity) - 2);
  });
});
