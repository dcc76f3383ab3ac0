// The provider's admission webhook for one test file: a serving certificate from a throwaway CA,
// the provider config pointed at it, and a MutatingWebhookConfiguration that sends only the
// namespaces labelled `eci-vn-it/webhook=<suffix>` to it (other files' pods are not touched).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createCertificateAuthority, issueCertificate } from '../../../adapters/tls/certificates.ts';
import { buildMutatingWebhookConfiguration } from '../../../adapters/webhook/registration.ts';
import type { ProviderConfig } from '../../../provider/config/config.ts';
import { freeLoopbackPorts } from '../../controlplane/ports.ts';
import { apiClient } from '../../helpers/deadline.ts';
import { ignoreNotFound, kubeConfig } from './cluster.ts';

export const WEBHOOK_NAMESPACE_LABEL = 'eci-vn-it/webhook';

export interface TestWebhook {
  /** Registers the webhook with the apiserver (call once the provider listens). */
  register(): Promise<void>;
  /** Unregisters it and removes the certificate files. */
  cleanup(): Promise<void>;
}

/** Sets config.webhook (a free loopback port, a fresh certificate); register() after the provider started. */
export async function prepareTestWebhook(config: ProviderConfig, suffix: string): Promise<TestWebhook> {
  const ca = await createCertificateAuthority({ commonName: `eci-vn-it-${suffix}-ca` });
  const serving = await issueCertificate({ ca, commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const certDir = await mkdtemp(join(tmpdir(), 'eci-vn-webhook-'));
  await writeFile(join(certDir, 'tls.crt'), serving.certPem);
  await writeFile(join(certDir, 'tls.key'), serving.keyPem);
  const [port] = await freeLoopbackPorts(1);
  config.webhook = { port: port!, host: '127.0.0.1', certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key'), serverless: false };
  const name = `eci-vn-it-${suffix}`;
  const admission = () => apiClient(kubeConfig(), k8s.AdmissionregistrationV1Api);
  return {
    async register() {
      const registration = buildMutatingWebhookConfiguration({ name, caBundle: Buffer.from(ca.certPem).toString('base64'), url: `https://127.0.0.1:${port}/mutate-pods` });
      for (const hook of registration.webhooks ?? []) hook.namespaceSelector = { matchLabels: { [WEBHOOK_NAMESPACE_LABEL]: suffix } };
      await admission().createMutatingWebhookConfiguration({ body: registration });
    },
    async cleanup() {
      await admission().deleteMutatingWebhookConfiguration({ name }).catch(ignoreNotFound);
      await rm(certDir, { recursive: true, force: true });
    },
  };
}
