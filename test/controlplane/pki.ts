// The control plane's certificates and keys, all from one CA, written as files the components'
// flags point at. Kept in one place so later features (webhook, kubelet API) know where to find
// the CA and what identities exist.
import { generateKeyPair as generateKeyPairCallback } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createCertificateAuthority,
  issueCertificate,
  type CertificateAndKey,
  type CertificateAuthority,
} from '../../adapters/tls/certificates.ts';

const generateKeyPair = promisify(generateKeyPairCallback);

export interface PemFiles {
  cert: string;
  key: string;
}

export interface ControlPlanePki {
  ca: CertificateAuthority;
  caFile: string;
  caKeyFile: string;
  /** kube-apiserver's serving certificate. */
  apiserver: PemFiles;
  /** The apiserver's client identity towards kubelets (--kubelet-client-certificate). */
  apiserverKubeletClient: PemFiles;
  /** CN=admin, O=system:masters: tests, kubectl and the provider in the sandbox. */
  admin: CertificateAndKey & PemFiles;
  scheduler: CertificateAndKey & PemFiles;
  schedulerServing: PemFiles;
  controllerManager: CertificateAndKey & PemFiles;
  controllerManagerServing: PemFiles;
  /** The aggregation layer's CA (--requestheader-client-ca-file) and the apiserver's proxy client cert. */
  frontProxyCaFile: string;
  frontProxyClient: PemFiles;
  /** Service-account token signing key pair (private for KCM and the apiserver, public for the apiserver). */
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
}

/** Identities the apiserver knows by their certificate subject. */
export const KUBE_SCHEDULER_USER = 'system:kube-scheduler';
export const KUBE_CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';
export const APISERVER_KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';
export const FRONT_PROXY_CLIENT_USER = 'front-proxy-client';

export async function createControlPlanePki(options: { dir: string; serviceIp: string }): Promise<ControlPlanePki> {
  const { dir, serviceIp } = options;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority({ commonName: 'eci-virtual-node-test-ca' });
  // A separate CA for the aggregation layer's request-header authentication, as kubeadm does:
  // a cert from it lets its holder assert any user in headers, so it must not be the client CA.
  // Without it, the scheduler and controller-manager log an error every few seconds.
  const frontProxyCa = await createCertificateAuthority({ commonName: 'eci-virtual-node-test-front-proxy-ca' });
  const loopback = { ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] };

  const [frontProxyClient, apiserver, kubeletClient, admin, scheduler, schedulerServing, controllerManager, controllerManagerServing] = await Promise.all([
    issueCertificate({ ca: frontProxyCa, commonName: FRONT_PROXY_CLIENT_USER, usage: 'client' }),
    issueCertificate({
      ca,
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
      ipAddresses: ['127.0.0.1', serviceIp],
      usage: 'server',
    }),
    // O=system:masters: the kubelet API (later, this project's) authorizes the apiserver by
    // SubjectAccessReview, and kubeadm gives this identity the same group.
    issueCertificate({ ca, commonName: APISERVER_KUBELET_CLIENT_USER, organizations: ['system:masters'], usage: 'client' }),
    issueCertificate({ ca, commonName: 'admin', organizations: ['system:masters'], usage: 'client' }),
    issueCertificate({ ca, commonName: KUBE_SCHEDULER_USER, usage: 'client' }),
    issueCertificate({ ca, commonName: 'kube-scheduler', ...loopback, usage: 'server' }),
    issueCertificate({ ca, commonName: KUBE_CONTROLLER_MANAGER_USER, usage: 'client' }),
    issueCertificate({ ca, commonName: 'kube-controller-manager', ...loopback, usage: 'server' }),
  ]);
  const serviceAccount = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

  const write = async (name: string, pem: string): Promise<string> => {
    const file = join(dir, name);
    await writeFile(file, pem, { mode: 0o600 });
    return file;
  };
  const writePair = async (name: string, pair: CertificateAndKey): Promise<PemFiles> => ({
    cert: await write(`${name}.crt`, pair.certPem),
    key: await write(`${name}.key`, pair.keyPem),
  });

  return {
    ca,
    caFile: await write('ca.crt', ca.certPem),
    caKeyFile: await write('ca.key', ca.keyPem),
    apiserver: await writePair('apiserver', apiserver),
    apiserverKubeletClient: await writePair('apiserver-kubelet-client', kubeletClient),
    admin: { ...admin, ...(await writePair('admin', admin)) },
    scheduler: { ...scheduler, ...(await writePair('scheduler', scheduler)) },
    schedulerServing: await writePair('scheduler-serving', schedulerServing),
    controllerManager: { ...controllerManager, ...(await writePair('controller-manager', controllerManager)) },
    controllerManagerServing: await writePair('controller-manager-serving', controllerManagerServing),
    frontProxyCaFile: await write('front-proxy-ca.crt', frontProxyCa.certPem),
    frontProxyClient: await writePair('front-proxy-client', frontProxyClient),
    serviceAccountKeyFile: await write('service-account.key', serviceAccount.privateKey),
    serviceAccountPublicKeyFile: await write('service-account.pub', serviceAccount.publicKey),
  };
}
