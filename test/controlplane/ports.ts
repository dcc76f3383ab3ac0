// Free TCP ports on the loopback interface. All ports of one control plane are taken in one call
// and held until every one is known, so they are distinct from each other; another program can
// still grab one between release and use (a startup failure then names the port in the log tail).
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';

export async function freeLoopbackPorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, host, () => {
            const address = server.address();
            if (address === null || typeof address === 'string') reject(new Error(`no port from listen on ${host}`));
            else resolve(address.port);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/**
 * The machine's first non-loopback, non-link-local IPv4 address: where a kubelet API must listen
 * for the apiserver to proxy to it (kubectl logs/exec, nodes/<node>/proxy), since its node and pod
 * proxies refuse loopback and link-local addresses.
 */
export function proxyableAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address;
    }
  }
  throw new Error('no non-loopback IPv4 address on this machine: the apiserver proxies (kubectl logs/exec, nodes/N/proxy) refuse 127.0.0.1, so they cannot reach the kubelet API: give this machine a network interface with an IPv4 address');
}
