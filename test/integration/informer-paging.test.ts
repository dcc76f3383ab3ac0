// The informer's paged list against the real apiserver: with a page size of 3 the first list of
// 8 ConfigMaps takes several limit/continue requests, the cache holds every object once, and the
// watch that starts at the last page's resourceVersion sees what happens afterwards.
import * as k8s from '@kubernetes/client-node';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAllPages, startInformer, type Informer, type ListPage } from '../../adapters/kubernetes/informer.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import { apiClient } from '../helpers/deadline.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { leanObject } from '../../adapters/kubernetes/lean.ts';
import { listPage } from '../../adapters/kubernetes/raw.ts';
import { apis, ignoreNotFound, kubeConfig, uniqueName, useTestNamespace } from './helpers/cluster.ts';
import { budget, waitFor, withDeadline } from './helpers/wait.ts';

const namespace = useTestNamespace('informer-paging');
const LABEL = 'eci-vn-it/paging';
const COUNT = 8;
const PAGE = 3;

const stop = new AbortController();
const pages: ListPage[] = [];
const warnings: string[] = [];
let informer: Informer<V1ConfigMap>;

const names = (): string[] =>
  informer.cache
    .list()
    .map((cm) => cm.metadata?.name ?? '')
    .sort();

beforeAll(async () => {
  const { core, kc } = apis();
  const ns = namespace();
  for (let i = 0; i < COUNT; i++) {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${i}`, labels: { [LABEL]: 'yes' } }, data: { i: String(i) } } });
  }
  informer = startInformer<V1ConfigMap>({
    kubeConfig: kc,
    path: `/api/v1/namespaces/${ns}/configmaps`,
    labelSelector: `${LABEL}=yes`,
    list: (page) => {
      pages.push(page);
      return core.listNamespacedConfigMap({ namespace: ns, labelSelector: `${LABEL}=yes`, ...page });
    },
    listPageSize: PAGE,
    transform: leanObject,
    signal: stop.signal,
    log: { warn: (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields)}`) },
    name: 'paging-test',
  });
  await withDeadline(informer.synced, budget({ baseMs: 30_000 }), 'the paged informer to list', () => `pages asked so far ${JSON.stringify(pages)}; warnings ${warnings.join('; ')}`);
});

afterAll(() => stop.abort());

describe('informer paging against the apiserver', () => {
  it('lists in pages of the configured size and caches every object once', () => {
    const expected = Array.from({ length: COUNT }, (_, i) => `cm-${i}`).sort();
    expect(names()).toEqual(expected);
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(COUNT / PAGE));
    expect(pages.every((p) => p.limit === PAGE)).toBe(true);
    expect(pages[0]?._continue).toBeUndefined();
    expect(pages.slice(1).every((p) => typeof p._continue === 'string' && p._continue !== '')).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('the watch resumes from the paged list: later adds and deletes reach the cache', async () => {
    const { core } = apis();
    const ns = namespace();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm-late', labels: { [LABEL]: 'yes' } } } });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'cm-0' });
    await waitFor(() => names().includes('cm-late') && !names().includes('cm-0'), {
      timeoutMs: budget({ baseMs: 20_000 }),
      describe: () => `cm-late in the cache and cm-0 gone; the cache holds ${names().join(', ')}`,
    });
    // No re-list happened: the watch carried both changes.
    expect(pages.filter((p) => p._continue === undefined)).toHaveLength(1);
  });

  it('pages custom objects too (CustomObjectsApi keeps the wire name `continue`): every PodNetworking once', async () => {
    await installPodNetworkingCrd();
    const custom = apiClient(kubeConfig(), k8s.CustomObjectsApi);
    const { group, version, plural } = PODNETWORKING_API;
    const label = uniqueName('paging');
    const created = Array.from({ length: 5 }, (_, i) => `${label}-${i}`);
    try {
      for (const name of created) {
        await custom.createClusterCustomObject({
          group,
          version,
          plural,
          body: { apiVersion: PODNETWORKING_API.apiVersion, kind: 'PodNetworking', metadata: { name, labels: { [LABEL]: label } }, spec: { vSwitchOptions: ['vsw-simh1'], securityGroupIDs: ['sg-simdefault'] } },
        });
      }
      const asked: ListPage[] = [];
      const answer = await listAllPages<k8s.KubernetesObject>({
        list: (page) => {
          asked.push(page);
          return custom.listClusterCustomObject({ group, version, plural, labelSelector: `${LABEL}=${label}`, ...page }) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
        },
        pageSize: 2,
      });
      expect(answer.items.map((o) => o.metadata?.name).sort()).toEqual(created);
      expect(asked).toHaveLength(3);
      expect(asked.slice(1).every((p) => typeof p._continue === 'string' && p._continue !== '')).toBe(true);
    } finally {
      for (const name of created) await custom.deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
    }
  });

  it("the plain-JSON list (the pod caches' list) pages the same objects, in the shape the watch delivers; an error answer is client-node's ApiException", async () => {
    const { kc } = apis();
    const ns = namespace();
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const asked: ListPage[] = [];
    const answer = await withDeadline(
      listAllPages<V1ConfigMap>({
        list: (page) => (asked.push(page), listPage<V1ConfigMap>({ kubeConfig: kc, path, query: { labelSelector: `${LABEL}=yes`, limit: page.limit, continue: page._continue } })),
        pageSize: PAGE,
      }),
      budget({ baseMs: 30_000 }),
      'the plain-JSON paged list of the ConfigMaps',
      () => `pages asked so far ${asked.length}`,
    );
    expect(answer.items.map((cm) => cm.metadata?.name).sort()).toEqual(names());
    expect(asked.length).toBeGreaterThanOrEqual(Math.ceil(names().length / PAGE));
    expect(answer.metadata?.resourceVersion).toMatch(/^\d+$/);
    // Not client-node's typed models: a timestamp stays the wire's string, as in a watch event.
    expect(typeof answer.items[0]?.metadata?.creationTimestamp).toBe('string');
    // An error answer reads as with the typed call: client-node's ApiException with its code.
    const err: unknown = await listPage({ kubeConfig: kc, path: `/api/v1/namespaces/${ns}/nosuchresources`, query: { limit: PAGE } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect((err as k8s.ApiException<unknown>).code).toBe(404);
  });
});
