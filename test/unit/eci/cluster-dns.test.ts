// Which cluster DNS ClusterFirst pods get: --cluster-dns first, then the kube-dns Service's ClusterIP.
import { describe, expect, it } from 'vitest';
import { effectiveClusterDns, kubeDnsServiceIp } from '../../../provider/eci/cluster-dns.ts';

const configured = (nameServers: string[], clusterDomain = 'cluster.local') => ({ nameServers, clusterDomain });

describe('effectiveClusterDns', () => {
  it.each([
    ['--cluster-dns wins over the Service', configured(['10.0.0.53']), { spec: { clusterIP: '10.96.0.10' } }, { dns: configured(['10.0.0.53']), source: 'config' }],
    ['the Service ClusterIP, with the configured domain', configured([], 'corp.example'), { spec: { clusterIP: '10.96.0.10' } }, { dns: configured(['10.96.0.10'], 'corp.example'), source: 'kube-dns' }],
    ['no Service', configured([]), undefined, { dns: undefined, source: 'none' }],
    ['a headless Service has no address pods can use', configured([]), { spec: { clusterIP: 'None' } }, { dns: undefined, source: 'none' }],
    ['a Service without a ClusterIP yet', configured([]), { spec: {} }, { dns: undefined, source: 'none' }],
  ])('%s', (_what, conf, service, expected) => {
    expect(effectiveClusterDns({ configured: conf, kubeDnsService: service })).toEqual(expected);
  });

  it('kubeDnsServiceIp reads spec.clusterIP', () => {
    expect(kubeDnsServiceIp({ spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::a'] } })).toBe('10.96.0.10');
    expect(kubeDnsServiceIp({ spec: { clusterIP: '' } })).toBeUndefined();
  });
});
