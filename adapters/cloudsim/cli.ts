// `eci-virtual-node cloudsim`: runs the simulator until SIGINT/SIGTERM (graceful: flush +
// snapshot). Prints one `cloudsim ready ...` line on stdout when both ports listen, so scripts
// (and the sandbox) can wait for it and read the endpoints.

import { fileURLToPath } from 'node:url';
import { startCloudSim } from './server.ts';
import { WorldError } from './world.ts';

// From this file (adapters/cloudsim/) and from the bundle's chunks (dist/adapters/cli/, .ci/bundle.ts)
// alike: adapters/cloudsim/worlds/, where .ci/build copies the worlds.
export const demoWorldPath = fileURLToPath(new URL('../cloudsim/worlds/demo.yaml', import.meta.url));

const usage = `Usage: eci-virtual-node cloudsim [flags]

Runs a local ECI (2018-08-08) + VPC (2016-04-28) + ECS (2014-05-26, DescribeSecurityGroups) OpenAPI server that the official Alibaba Cloud
SDKs talk to unmodified (endpoint host:port, protocol http). See docs/cloudsim.md.

Flags:
  --world FILE        world file (YAML or JSON); default: the bundled demo world
  --port N            OpenAPI port (0 = any free port); default 8765
  --host ADDR         listen address; default 127.0.0.1
  --admin-port N      admin API port (0 = any free port); default 8766
  --admin-token TOKEN admin bearer token; default: the world's admin.token, else random
  --state FILE        keep state in FILE (snapshot + FILE.journal.N); default: memory only
  -h, --help          this help`;

interface Flags {
  world: string;
  port: number;
  host: string;
  adminPort: number;
  adminToken?: string;
  state?: string;
}

class FlagError extends Error {}

function parseFlags(argv: string[]): Flags | 'help' {
  const flags: Flags = { world: demoWorldPath, port: 8765, host: '127.0.0.1', adminPort: 8766 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return 'help';
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const value = (): string => {
      const v = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (v === undefined || v === '' || (eq === -1 && v.startsWith('--'))) throw new FlagError(`${name}: needs a value`);
      return v;
    };
    const port = (): number => {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n > 65535) throw new FlagError(`${name}: "${v}" is not a port number (0-65535)`);
      return n;
    };
    switch (name) {
      case '--world':
        flags.world = value();
        break;
      case '--port':
        flags.port = port();
        break;
      case '--host':
        flags.host = value();
        break;
      case '--admin-port':
        flags.adminPort = port();
        break;
      case '--admin-token':
        flags.adminToken = value();
        if (flags.adminToken.length < 8) throw new FlagError('--admin-token: must be at least 8 characters');
        break;
      case '--state':
        flags.state = value();
        break;
      default:
        throw new FlagError(`unknown flag "${arg}"`);
    }
  }
  return flags;
}

export async function main(argv: string[]): Promise<number> {
  let flags: Flags | 'help';
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    console.error(`cloudsim: ${err.message}\n\n${usage}`);
    return 2;
  }
  if (flags === 'help') {
    console.log(usage);
    return 0;
  }
  let sim;
  try {
    sim = await startCloudSim({
      world: flags.world,
      port: flags.port,
      host: flags.host,
      adminPort: flags.adminPort,
      ...(flags.adminToken === undefined ? {} : { adminToken: flags.adminToken }),
      ...(flags.state === undefined ? {} : { stateFile: flags.state }),
    });
  } catch (err) {
    if (err instanceof WorldError) {
      console.error(`cloudsim: --world: ${err.message}`);
      return 2;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      console.error(`cloudsim: cannot listen (${code}): ${(err as Error).message}; choose another --port/--admin-port`);
      return 1;
    }
    throw err;
  }
  const tokenNote = flags.adminToken !== undefined || sim.world.admin.token !== undefined ? '(configured)' : sim.adminToken;
  console.log(`cloudsim ready endpoint=${sim.endpoint} region=${sim.regionId} admin=${sim.adminEndpoint} admin-token=${tokenNote} state=${flags.state ?? '(memory)'}`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.error(`cloudsim: ${signal}: stopping (flushing state)`);
  await sim.stop();
  return 0;
}
