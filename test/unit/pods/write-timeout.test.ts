// A status write the apiserver did not answer within its deadline (ApiserverTimeoutError from
// adapters/kubernetes/raw.ts) is retried like any other failed write: the pod is requeued with
// backoff and its status reaches the apiserver on the next pass.
import { describe, expect, it } from 'vitest';
import { ApiserverTimeoutError } from '../../../adapters/kubernetes/raw.ts';
import { makePod } from '../builders.ts';
import { controllerOver, runningGroup, settle } from './controller-harness.ts';

describe('a status write past its deadline', () => {
  it('is retried with backoff and lands on the next pass', async () => {
    const pod = makePod({ name: 'web-1', namespace: 'default', uid: 'uid-1', nodeName: 'vn-i' });
    let attempts = 0;
    const h = controllerOver({
      groups: [runningGroup({ id: 'eci-1', uid: 'uid-1', pod: 'web-1', intranetIp: '10.0.0.5' })],
      pods: () => [pod],
      podExists: async () => true,
      beforePatch: async () => {
        if (++attempts === 1) throw new ApiserverTimeoutError({ method: 'PATCH', path: '/api/v1/namespaces/default/pods/web-1/status', timeoutMs: 60_000 });
      },
    });
    const abort = new AbortController();
    await h.controller.start(abort.signal);
    await settle(h.controller, 'the Running status patched after the timed-out attempt', () => h.patched.includes('web-1'));
    expect(attempts).toBe(2);
    expect(h.statuses.map((s) => [s.phase, s.podIP])).toEqual([['Running', '10.0.0.5']]);
    abort.abort();
    await h.controller.stop();
  });
});
