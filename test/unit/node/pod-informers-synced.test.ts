// Which nodes the pod caches can count IP-holding pods for: a zone node registered after the
// caches synced has no cache until onNodeAdded starts one, and one that has not listed yet knows
// none of its pods; both must be counted from the apiserver (allSynced() does not see them).
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startPodInformers } from '../../../adapters/kubernetes/pods.ts';

const stop = new AbortController();
afterEach(() => stop.abort());

describe('PodInformers.nodeSynced', () => {
  it('is false for a node without a cache and for one whose cache has not listed, while allSynced() holds', () => {
    const gated: string[] = [];
    const informers = startPodInformers({
      kubeConfig: new k8s.KubeConfig(),
      core: {} as k8s.CoreV1Api,
      nodeNames: [],
      onChange: () => {},
      signal: stop.signal,
      log: { warn: () => {} },
      // Held before its first page: no request leaves the test.
      listGate: (name) => (gated.push(name), new Promise<void>(() => {})),
    });
    expect(informers.allSynced()).toBe(true);
    expect(informers.nodeSynced('vn-late')).toBe(false);
    void informers.addNode('vn-late');
    expect(informers.nodeSynced('vn-late')).toBe(false);
    expect(gated).toEqual(['pods@vn-late']);
  });
});
