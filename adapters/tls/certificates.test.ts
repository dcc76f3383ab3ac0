import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from './certificates.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY_MS = 24 * 60 * 60 * 1000;

let ca: CertificateAuthority;
let caCert: X509Certificate;

beforeAll(async () => {
  ca = await createCertificateAuthority({ commonName: 'test-ca' });
  caCert = new X509Certificate(ca.certPem);
});

describe('createCertificateAuthority', () => {
  it('creates a self-signed CA valid for the requested days', async () => {
    const now = new Date('2030-01-02T03:04:05Z');
    const made = await createCertificateAuthority({ commonName: 'my-ca', validityDays: 10, now });
    const cert = new X509Certificate(made.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=my-ca');
    expect(cert.issuer).toBe('CN=my-ca');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(made.keyPem))).toBe(true);
    expect(new Date(cert.validTo).getTime()).toBe(Math.floor((now.getTime() + 10 * DAY_MS) / 1000) * 1000);
    expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(now.getTime());
  });

  it('refuses an empty name and a non-positive validity', async () => {
    await expect(createCertificateAuthority({ commonName: ' ' })).rejects.toThrow(/commonName must be a non-empty string/);
    await expect(createCertificateAuthority({ commonName: 'x', validityDays: 0 })).rejects.toThrow(/validityDays must be a positive number/);
  });
});

describe('issueCertificate', () => {
  it('issues a server certificate with the SANs, issuer, key usages and validity asked for', async () => {
    const now = new Date();
    const issued = await issueCertificate({
      ca,
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '::1'],
      usage: 'server',
      validityDays: 7,
      now,
    });
    const cert = new X509Certificate(issued.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe('CN=kube-apiserver');
    expect(cert.issuer).toBe(caCert.subject);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(issued.keyPem))).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:localhost, DNS:kubernetes.default.svc, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.keyUsage).toEqual([SERVER_AUTH]);
    const days = (new Date(cert.validTo).getTime() - now.getTime()) / DAY_MS;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);
    expect(cert.checkHost('kubernetes.default.svc')).toBe('kubernetes.default.svc');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('example.com')).toBeUndefined();
  });

  it('puts organizations in the subject (Kubernetes groups) and marks client usage', async () => {
    const issued = await issueCertificate({ ca, commonName: 'admin', organizations: ['system:masters', 'team-a'], usage: 'client' });
    const cert = new X509Certificate(issued.certPem);
    expect(cert.subject.split('\n')).toEqual(['O=system:masters', 'O=team-a', 'CN=admin']);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
    expect(cert.subjectAltName).toBeUndefined();
  });

  it('marks both usages for "both"', async () => {
    const issued = await issueCertificate({ ca, commonName: 'peer', dnsNames: ['peer.local'], usage: 'both' });
    expect(new X509Certificate(issued.certPem).keyUsage?.slice().sort()).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
  });

  it.each([
    [{ usage: 'server' as const }, /needs at least one DNS name or IP address/],
    [{ usage: 'client' as const, ipAddresses: ['not-an-ip'] }, /"not-an-ip" is not an IP address/],
    [{ usage: 'client' as const, commonName: '' }, /commonName must be a non-empty string/],
    [{ usage: 'client' as const, validityDays: -1 }, /validityDays must be a positive number/],
    [{ usage: 'neither' as unknown as 'client' }, /usage must be "server", "client" or "both"/],
  ])('refuses %o', async (overrides, message) => {
    await expect(issueCertificate({ ca, commonName: 'x', ...overrides })).rejects.toThrow(message);
  });

  it('refuses to sign with a certificate that is not a CA', async () => {
    const leaf = await issueCertificate({ ca, commonName: 'leaf', usage: 'client' });
    await expect(issueCertificate({ ca: leaf, commonName: 'x', usage: 'client' })).rejects.toThrow(/not a CA certificate/);
  });
});

describe('TLS with issued certificates', () => {
  it('completes a mutual-TLS handshake: the client trusts the CA, the server sees the client identity', async () => {
    const serverCert = await issueCertificate({ ca, commonName: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    const clientCert = await issueCertificate({ ca, commonName: 'alice', organizations: ['devs'], usage: 'client' });
    const server = tls.createServer(
      { cert: serverCert.certPem, key: serverCert.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
      (socket) => {
        const peer = socket.getPeerCertificate();
        socket.end(`hello ${String(peer.subject.CN)} of ${String(peer.subject.O)}`);
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.certPem, cert: clientCert.certPem, key: clientCert.keyPem });
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (data += chunk));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(reply).toBe('hello alice of devs');
    } finally {
      server.close();
    }
  });

  it('fails the handshake when the client trusts a different CA', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'other-ca' });
    const serverCert = await issueCertificate({ ca, commonName: 'server', ipAddresses: ['127.0.0.1'], usage: 'server' });
    const server = tls.createServer({ cert: serverCert.certPem, key: serverCert.keyPem }, (socket) => socket.end('no'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const failure = await new Promise<Error>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, ca: otherCa.certPem });
        socket.on('secureConnect', () => reject(new Error('handshake unexpectedly succeeded')));
        socket.on('error', resolve);
      });
      expect((failure as NodeJS.ErrnoException).code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
    } finally {
      server.close();
    }
  });
});
