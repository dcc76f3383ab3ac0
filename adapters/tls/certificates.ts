// X.509 certificates for the TLS endpoints this project runs or talks to: the test control plane
// (apiserver serving cert, client certs), the admission webhook's self-managed serving cert and
// the kubelet API's serving cert.
//
// Keys are RSA-2048, generated natively by node:crypto (fast, off the main thread); certificates
// are assembled and signed with node-forge, which has no dependencies and no global polyfills
// (node:crypto can parse X.509 but cannot create it). Everything is returned as PEM strings, the
// form Kubernetes flags, kubeconfigs and `tls.createServer` take.
import { generateKeyPair as generateKeyPairCallback, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPair = promisify(generateKeyPairCallback);

/** A PEM certificate with its PEM (PKCS#8) private key. */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

/** A CA that can sign certificates: its own certificate and private key, PEM. */
export type CertificateAuthority = CertificateAndKey;

/** What a leaf certificate is for: `serverAuth`, `clientAuth` or both extended key usages. */
export type CertificateUsage = 'server' | 'client' | 'both';

export interface CreateCertificateAuthorityOptions {
  commonName: string;
  /** Days from `now` until the CA expires. Default 3650. */
  validityDays?: number;
  /** The clock, for tests. Default: the current time. */
  now?: Date;
}

export interface IssueCertificateOptions {
  ca: CertificateAuthority;
  commonName: string;
  /** Subject O= values; Kubernetes reads them as the client's groups (e.g. system:masters). */
  organizations?: readonly string[];
  /** DNS subject alternative names. */
  dnsNames?: readonly string[];
  /** IP subject alternative names, IPv4 or IPv6. */
  ipAddresses?: readonly string[];
  usage: CertificateUsage;
  /** Days from `now` until the certificate expires. Default 365. */
  validityDays?: number;
  now?: Date;
}

/** A certificate's validity starts this long before `now`, to tolerate small clock skew. */
const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Creates a self-signed CA (basicConstraints cA=true, keyCertSign + cRLSign). */
export async function createCertificateAuthority(options: CreateCertificateAuthorityOptions): Promise<CertificateAuthority> {
  const { commonName, validityDays = 3650, now = new Date() } = options;
  requireName('commonName', commonName);
  requireValidity(validityDays);

  const keys = await newRsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = newSerialNumber();
  setValidity(cert, now, validityDays);
  const subject = [{ shortName: 'CN', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

/** Issues a leaf certificate (cA=false) signed by `ca`. */
export async function issueCertificate(options: IssueCertificateOptions): Promise<CertificateAndKey> {
  const { ca, commonName, organizations = [], dnsNames = [], ipAddresses = [], usage, validityDays = 365, now = new Date() } = options;
  requireName('commonName', commonName);
  requireValidity(validityDays);
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw new Error(`issueCertificate: "${ip}" is not an IP address (ipAddresses)`);
  }
  for (const name of dnsNames) requireName('dnsNames[]', name);
  if (usage !== 'server' && usage !== 'client' && usage !== 'both') {
    throw new Error(`issueCertificate: usage must be "server", "client" or "both", got "${String(usage)}"`);
  }
  if ((usage === 'server' || usage === 'both') && dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new Error(`issueCertificate: a server certificate needs at least one DNS name or IP address (${commonName})`);
  }

  const caCert = parseCaCertificate(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = await newRsaKeyPair();

  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = newSerialNumber();
  setValidity(cert, now, validityDays);
  cert.setSubject([
    ...organizations.map((value) => ({ shortName: 'O', value })),
    { shortName: 'CN', value: commonName },
  ]);
  cert.setIssuer(caCert.subject.attributes);

  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: usage !== 'client', clientAuth: usage !== 'server' },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  const altNames = [
    ...dnsNames.map((value) => ({ type: 2, value })),
    ...ipAddresses.map((ip) => ({ type: 7, ip })),
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

function parseCaCertificate(pem: string): forge.pki.Certificate {
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromPem(pem);
  } catch (err) {
    throw new Error(`issueCertificate: ca.certPem is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  const constraints = cert.getExtension('basicConstraints') as { cA?: boolean } | null;
  if (constraints?.cA !== true) throw new Error('issueCertificate: ca.certPem is not a CA certificate (basicConstraints cA is not true)');
  return cert;
}

async function newRsaKeyPair(): Promise<{ publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; privateKeyPem: string }> {
  const { publicKey, privateKey } = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey),
    privateKeyPem: privateKey,
  };
}

/** 16 random bytes, top bit clear so the DER INTEGER is positive (Go rejects negative serials). */
function newSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function setValidity(cert: forge.pki.Certificate, now: Date, validityDays: number): void {
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + validityDays * DAY_MS);
}

function requireName(field: string, value: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`certificates: ${field} must be a non-empty string`);
}

function requireValidity(validityDays: number): void {
  if (!Number.isFinite(validityDays) || validityDays <= 0) {
    throw new Error(`certificates: validityDays must be a positive number, got ${validityDays}`);
  }
}
