// listAllPages: the informer's paged list (limit + continue), over an in-memory collection that
// answers pages the way the apiserver does (a continue token per page, the snapshot's
// resourceVersion on every page, 410 Gone for an expired token). No server needed.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isExpiredContinue, listAllPages, type ListPage } from './informer.ts';

interface Obj extends k8s.KubernetesObject {
  metadata: { name: string; resourceVersion: string };
  spec?: { big: string };
}

const objects = (n: number): Obj[] => Array.from({ length: n }, (_, i) => ({ metadata: { name: `o${i}`, resourceVersion: String(100 + i) }, spec: { big: 'x'.repeat(100) } }));

/** Pages of a fixed collection; `expire(call)` makes that call answer 410 Gone. */
function collection(items: Obj[], o: { resourceVersion?: string; expire?: (call: number, page: ListPage) => boolean } = {}) {
  const calls: ListPage[] = [];
  const list = async (page: ListPage): Promise<k8s.KubernetesListObject<Obj>> => {
    calls.push(page);
    if (o.expire?.(calls.length, page)) throw new k8s.ApiException(410, 'Gone', { reason: 'Expired', message: 'The provided continue parameter is too old' }, {});
    const start = page._continue === undefined ? 0 : Number(page._continue);
    const end = Math.min(items.length, start + page.limit);
    return {
      apiVersion: 'v1',
      kind: 'List',
      metadata: { resourceVersion: o.resourceVersion ?? '999', ...(end < items.length ? { _continue: String(end), remainingItemCount: items.length - end } : {}) },
      items: items.slice(start, end).map((x) => structuredClone(x)),
    };
  };
  return { list, calls };
}

const lean = (obj: Obj): Obj => ({ metadata: obj.metadata });

describe('listAllPages', () => {
  it('asks page by page with the limit and the previous page token, and returns every object once, in order', async () => {
    const { list, calls } = collection(objects(7));
    const answer = await listAllPages({ list, pageSize: 3 });
    expect(calls).toEqual([{ limit: 3 }, { limit: 3, _continue: '3' }, { limit: 3, _continue: '6' }]);
    expect(answer.items.map((x) => x.metadata.name)).toEqual(['o0', 'o1', 'o2', 'o3', 'o4', 'o5', 'o6']);
  });

  it("keeps the last page's resourceVersion (where the watch starts) and no continue token", async () => {
    const { list } = collection(objects(5), { resourceVersion: '4242' });
    const answer = await listAllPages({ list, pageSize: 2 });
    expect(answer.metadata?.resourceVersion).toBe('4242');
    expect(answer.metadata?._continue).toBeUndefined();
  });

  it('transforms each page before asking for the next one', async () => {
    const { list, calls } = collection(objects(6));
    const transformedAtCall: number[] = [];
    let transformed = 0;
    const answer = await listAllPages({
      list: (page) => (transformedAtCall.push(transformed), list(page)),
      pageSize: 2,
      transform: (obj) => (transformed++, lean(obj)),
    });
    expect(calls).toHaveLength(3);
    expect(transformedAtCall).toEqual([0, 2, 4]);
    expect(answer.items.every((x) => x.spec === undefined)).toBe(true);
  });

  it('an empty collection is one call and no items', async () => {
    const { list, calls } = collection([]);
    const answer = await listAllPages({ list, pageSize: 500 });
    expect(calls).toHaveLength(1);
    expect(answer.items).toEqual([]);
  });

  it('a continue token that expired (410) restarts the list from the first page, without duplicates', async () => {
    const { list, calls } = collection(objects(5), { expire: (call) => call === 2 });
    const answer = await listAllPages({ list, pageSize: 2 });
    expect(calls.map((c) => c._continue)).toEqual([undefined, '2', undefined, '2', '4']);
    expect(answer.items.map((x) => x.metadata.name)).toEqual(['o0', 'o1', 'o2', 'o3', 'o4']);
  });

  it('gives up after three restarts: the fourth expiry reaches the informer (its backoff restarts it)', async () => {
    const { list, calls } = collection(objects(5), { expire: (_call, page) => page._continue !== undefined });
    const err: unknown = await listAllPages({ list, pageSize: 2 }).catch((e: unknown) => e);
    expect(isExpiredContinue(err)).toBe(true);
    expect(calls.filter((c) => c._continue === undefined)).toHaveLength(4);
  });

  it('a 410 on the first page, or any other error, is not retried here', async () => {
    const first = collection(objects(5), { expire: (call) => call === 1 });
    await expect(listAllPages({ list: first.list, pageSize: 2 })).rejects.toThrow(/Gone|410/);
    expect(first.calls).toHaveLength(1);

    const calls: ListPage[] = [];
    const failing = async (page: ListPage): Promise<k8s.KubernetesListObject<Obj>> => {
      calls.push(page);
      if (page._continue !== undefined) throw new k8s.ApiException(500, 'Internal', {}, {});
      return { metadata: { resourceVersion: '1', _continue: '2' }, items: objects(2) };
    };
    const err: unknown = await listAllPages({ list: failing, pageSize: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect((err as k8s.ApiException<unknown>).code).toBe(500);
    expect(calls).toHaveLength(2);
  });

  it("follows a page's raw `continue` (CustomObjectsApi answers are not deserialized) and drops it from the answer", async () => {
    const calls: ListPage[] = [];
    const list = async (page: ListPage): Promise<k8s.KubernetesListObject<k8s.KubernetesObject>> => {
      calls.push(page);
      const first = page._continue === undefined;
      return { metadata: { resourceVersion: first ? '5' : '6', ...(first ? { continue: 'next' } : {}) }, items: objects(first ? 2 : 1) };
    };
    const answer = await listAllPages({ list, pageSize: 2 });
    expect(calls).toEqual([{ limit: 2 }, { limit: 2, _continue: 'next' }]);
    expect(answer.items).toHaveLength(3);
    expect(answer.metadata).toEqual({ resourceVersion: '6' });
  });
});
