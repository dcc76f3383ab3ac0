// Self-contained kubeconfig files (certificates embedded), readable by kubectl, client-go and
// @kubernetes/client-node alike.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  caCertPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** Names the cluster, user and context. */
  name: string;
  user: string;
}

export function renderKubeconfig(options: KubeconfigOptions): string {
  const { server, caCertPem, clientCertPem, clientKeyPem, name, user } = options;
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': b64(caCertPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(clientCertPem), 'client-key-data': b64(clientKeyPem) } }],
    contexts: [{ name, context: { cluster: name, user } }],
    'current-context': name,
    preferences: {},
  });
}

export async function writeKubeconfig(file: string, options: KubeconfigOptions): Promise<string> {
  await writeFile(file, renderKubeconfig(options), { mode: 0o600 });
  return file;
}
