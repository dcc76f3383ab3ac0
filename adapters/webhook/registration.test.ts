import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildMutatingWebhookConfiguration } from './registration.ts';

describe('buildMutatingWebhookConfiguration', () => {
  it('registers pods CREATE, v1 reviews, no side effects, re-invocation, Fail by default', () => {
    const config = buildMutatingWebhookConfiguration({ caBundle: 'Q0E=', url: 'https://127.0.0.1:8443/mutate-pods' });
    expect(config.metadata?.name).toBe('eci-virtual-node-podnetworking');
    expect(config.webhooks).toHaveLength(1);
    expect(config.webhooks?.[0]).toEqual({
      name: 'podnetworking.eci-virtual-node.io',
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Fail',
      timeoutSeconds: 5,
      reinvocationPolicy: 'IfNeeded',
      matchPolicy: 'Equivalent',
      clientConfig: { url: 'https://127.0.0.1:8443/mutate-pods', caBundle: 'Q0E=' },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
      namespaceSelector: {
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
          { key: 'k8s.aliyun.com/pod-eni', operator: 'NotIn', values: ['false'] },
        ],
      },
    });
  });

  it('takes a Service reference, Ignore, a timeout and more excluded namespaces', () => {
    const webhook = buildMutatingWebhookConfiguration({
      name: 'x',
      caBundle: '',
      service: { namespace: 'eci', name: 'eci-virtual-node' },
      failurePolicy: 'Ignore',
      timeoutSeconds: 10,
      excludedNamespaces: ['kube-system', 'eci', 'kube-system'],
    }).webhooks?.[0];
    expect(webhook?.clientConfig).toEqual({ service: { namespace: 'eci', name: 'eci-virtual-node', path: '/mutate-pods', port: 443 }, caBundle: '' });
    expect(webhook?.failurePolicy).toBe('Ignore');
    expect(webhook?.timeoutSeconds).toBe(10);
    expect(webhook?.namespaceSelector?.matchExpressions?.[0]?.values).toEqual(['eci', 'kube-system']);
  });

  it('refuses ambiguous or impossible settings', () => {
    expect(() => buildMutatingWebhookConfiguration({ caBundle: '' })).toThrow(/exactly one of url and service/);
    expect(() => buildMutatingWebhookConfiguration({ caBundle: '', url: 'https://a/mutate-pods', service: { namespace: 'a', name: 'b' } })).toThrow(/exactly one/);
    expect(() => buildMutatingWebhookConfiguration({ caBundle: '', url: 'https://a/mutate-pods', timeoutSeconds: 31 })).toThrow(/1\.\.30/);
  });

  it('deploy/webhook/mutatingwebhookconfiguration.yaml is the builder output for the in-cluster Service', () => {
    const file = parse(readFileSync(new URL('../../deploy/webhook/mutatingwebhookconfiguration.yaml', import.meta.url), 'utf8')) as unknown;
    expect(file).toEqual(buildMutatingWebhookConfiguration({ caBundle: '', service: { namespace: 'kube-system', name: 'eci-virtual-node-webhook', port: 443 } }));
  });
});
