// loadKubeConfig: which files it reads and how a ':'-separated list merges (no server needed).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from './client.ts';

let dir: string;
const kubeconfig = (name: string, server: string) => `apiVersion: v1
kind: Config
clusters: [{ name: ${name}, cluster: { server: "${server}" } }]
users: [{ name: ${name}, user: { token: t-${name} } }]
contexts: [{ name: ${name}, context: { cluster: ${name}, user: ${name} } }]
current-context: ${name}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eci-vn-kubeconfig-'));
  await writeFile(join(dir, 'a'), kubeconfig('a', 'https://a.example:6443'));
  await writeFile(join(dir, 'b'), kubeconfig('b', 'https://b.example:6443'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadKubeConfig', () => {
  it('merges a list of files like KUBECONFIG, the first one setting the current context', () => {
    const kc = loadKubeConfig([join(dir, 'a'), join(dir, 'b')].join(delimiter));
    expect(kc.getContexts().map((c) => c.name)).toEqual(['a', 'b']);
    expect(kc.getCurrentCluster()?.server).toBe('https://a.example:6443');
  });

  it('with an empty path reads KUBECONFIG through loadFromDefault (colon-separated works)', () => {
    const before = process.env.KUBECONFIG;
    process.env.KUBECONFIG = [join(dir, 'b'), join(dir, 'a')].join(delimiter);
    try {
      const kc = loadKubeConfig('');
      expect(kc.getContexts().map((c) => c.name)).toEqual(['b', 'a']);
      expect(kc.getCurrentCluster()?.server).toBe('https://b.example:6443');
    } finally {
      if (before === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = before;
    }
  });

  it('installs a client-side limiter only when qps > 0 (burst defaults to 2 x qps)', () => {
    expect(loadKubeConfig(join(dir, 'a')).limiter).toBeUndefined();
    expect(loadKubeConfig(join(dir, 'a'), { qps: 5, burst: 0 }).limiter).toBeDefined();
  });
});
