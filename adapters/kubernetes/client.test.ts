// loadKubeConfig: which files it reads and how a ':'-separated list merges; PooledKubeConfig:
// one shared Agent per TLS material (no server needed).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, sameMaterial } from './client.ts';

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

describe('PooledKubeConfig', () => {
  const dispatcherOf = async (kc: k8s.KubeConfig) => {
    const context = new k8s.RequestContext('https://c.example:6443/api/v1/pods', k8s.HttpMethod.GET);
    await kc.applySecurityAuthentication(context);
    return context.getDispatcher();
  };

  it('hands every request the same Agent until the TLS material changes (a rotated CA file gets a new one)', async () => {
    const ca = join(dir, 'ca.pem');
    await writeFile(ca, 'first CA');
    await writeFile(
      join(dir, 'c'),
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://c.example:6443", certificate-authority: "${ca}" } }]
users: [{ name: c, user: { token: t-c } }]
contexts: [{ name: c, context: { cluster: c, user: c } }]
current-context: c
`,
    );
    const kc = loadKubeConfig(join(dir, 'c'));
    const first = await dispatcherOf(kc);
    expect(first).toBeDefined();
    expect(await dispatcherOf(kc)).toBe(first);
    await writeFile(ca, 'rotated CA');
    const rotated = await dispatcherOf(kc);
    expect(rotated).toBeDefined();
    expect(rotated).not.toBe(first);
    expect(await dispatcherOf(kc)).toBe(rotated);
  });

  it('builds no Agent when there is no TLS material (plain token over the default dispatcher)', async () => {
    expect(await dispatcherOf(loadKubeConfig(join(dir, 'a')))).toBeUndefined();
  });
});

describe('sameMaterial (the pool\'s lookup: one Agent per TLS material)', () => {
  const agent = (ca: string, extra: Record<string, unknown> = {}) => ({
    type: 'agent',
    connect: { ca: Buffer.from(ca), cert: Buffer.from('cert'), key: Buffer.from('key'), keepAlive: true, keepAliveInitialDelay: 30000, ...extra },
  });
  it.each([
    ['the same material read again (new buffers, same bytes)', agent('ca-1'), agent('ca-1'), true],
    ['a rotated CA', agent('ca-1'), agent('ca-2'), false],
    ['a CA one byte longer', agent('ca-1'), agent('ca-1\n'), false],
    ['a flag set on one side only', agent('ca-1'), agent('ca-1', { rejectUnauthorized: false }), false],
    ['a flag that differs', agent('ca-1', { servername: 'a' }), agent('ca-1', { servername: 'b' }), false],
    ['a buffer against the same text as a string', agent('ca-1'), { type: 'agent', connect: { ...agent('ca-1').connect, ca: 'ca-1' } }, false],
    ['CA lists equal element by element', agent('x', { ca: [Buffer.from('a'), Buffer.from('b')] }), agent('x', { ca: [Buffer.from('a'), Buffer.from('b')] }), true],
    ['CA lists of different lengths', agent('x', { ca: [Buffer.from('a'), Buffer.from('b')] }), agent('x', { ca: [Buffer.from('a')] }), false],
    ['a proxy against a direct Agent', { type: 'proxy', uri: 'http://p:3128', requestTls: {} }, { type: 'agent', connect: {} }, false],
  ])('%s', (_name, a, b, same) => {
    expect(sameMaterial(a, b)).toBe(same);
    expect(sameMaterial(b, a)).toBe(same);
  });
});
