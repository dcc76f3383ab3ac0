// Free TCP ports on the loopback interface. All ports of one control plane are taken in one call
// and held until every one is known, so they are distinct from each other; another program can
// still grab one between release and use (a startup failure then names the port in the log tail).
import { createServer, type Server } from 'node:net';

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
