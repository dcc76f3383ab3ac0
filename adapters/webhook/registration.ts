// The MutatingWebhookConfiguration that sends pod CREATEs to this provider's webhook.
// deploy/webhook/mutatingwebhookconfiguration.yaml is this builder's output for the default
// in-cluster Service (a unit test keeps the two equal); the provider patches caBundle at start-up.
//
// Choices, and why:
// - failurePolicy Fail (default): a pod that bypasses the webhook gets no PodNetworking
//   annotation and no zone affinity, so it would silently take the default network (an RDS
//   whitelist refuses it) or be scheduled into a zone its PodNetworking does not cover. The sync
//   path re-checks the zone (isZoneAllowed) and refuses such a pod, but it cannot give it back
//   the right network. Fail keeps the guarantee; its cost (pod creation in the selected
//   namespaces stops while no webhook replica answers) is bounded by: kube-system and opted-out
//   namespaces are never sent, timeoutSeconds is short, and every provider replica serves the
//   webhook (not only the leader). Ignore is available for clusters that prefer availability.
// - timeoutSeconds 5: the decision is pure over informer caches (sub-millisecond); 5 s covers a
//   TLS handshake and a GC pause, and under Fail a hung webhook costs each create 5 s, not 10.
// - sideEffects None: the webhook writes nothing (events are recorded only for non-dry-run).
// - reinvocationPolicy IfNeeded: if a later webhook rewrites the affinity, ours runs again;
//   constrainToZones is idempotent, so a second pass adds nothing.
// - matchPolicy Equivalent: pods arrive as v1 whatever version the client used.
// - rules: core v1 pods, CREATE, Namespaced. No objectSelector: the pod's labels are the
//   PodNetworking's business, judged in the decision.
import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { LABELS, MUTATE_PODS_PATH } from '../../provider/networking/constants.ts';

export const DEFAULT_WEBHOOK_CONFIGURATION_NAME = 'eci-virtual-node-podnetworking';
export const DEFAULT_WEBHOOK_NAME = 'podnetworking.eci-virtual-node.io';
export const DEFAULT_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system'];

export interface ServiceReference {
  namespace: string;
  name: string;
  port?: number;
}

export interface WebhookConfigurationOptions {
  name?: string;
  /** The webhook's name inside the configuration; must be a qualified (dotted) name. */
  webhookName?: string;
  /** Base64 PEM of the CA that signed the serving certificate; empty in the template. */
  caBundle: string;
  /** `https://host:port/mutate-pods` (out-of-cluster: tests, the sandbox) ... */
  url?: string;
  /** ... or the in-cluster Service in front of the provider (path is /mutate-pods). */
  service?: ServiceReference;
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
  /** Never sent to the webhook. The provider's own namespace belongs here too. */
  excludedNamespaces?: readonly string[];
}

export function buildMutatingWebhookConfiguration(o: WebhookConfigurationOptions): V1MutatingWebhookConfiguration {
  if ((o.url === undefined) === (o.service === undefined)) {
    throw new Error('buildMutatingWebhookConfiguration: exactly one of url and service is required');
  }
  const timeoutSeconds = o.timeoutSeconds ?? 5;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30) {
    throw new Error(`buildMutatingWebhookConfiguration: timeoutSeconds must be an integer in 1..30, got ${timeoutSeconds}`);
  }
  const excluded = [...new Set(o.excludedNamespaces ?? DEFAULT_EXCLUDED_NAMESPACES)].sort();
  const clientConfig =
    o.url !== undefined
      ? { url: o.url, caBundle: o.caBundle }
      : {
          service: { namespace: o.service!.namespace, name: o.service!.name, path: MUTATE_PODS_PATH, port: o.service!.port ?? 443 },
          caBundle: o.caBundle,
        };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      name: o.name ?? DEFAULT_WEBHOOK_CONFIGURATION_NAME,
      labels: { 'app.kubernetes.io/name': 'eci-virtual-node', 'app.kubernetes.io/component': 'admission-webhook' },
    },
    webhooks: [
      {
        name: o.webhookName ?? DEFAULT_WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: o.failurePolicy ?? 'Fail',
        timeoutSeconds,
        reinvocationPolicy: 'IfNeeded',
        matchPolicy: 'Equivalent',
        clientConfig,
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: {
          matchExpressions: [
            ...(excluded.length > 0 ? [{ key: LABELS.namespaceName, operator: 'NotIn', values: excluded }] : []),
            { key: LABELS.namespacePodEni, operator: 'NotIn', values: ['false'] },
          ],
        },
      },
    ],
  };
}
