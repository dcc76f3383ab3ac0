#!/usr/bin/env node
// The eci-virtual-node command. Each subcommand lives in its own module and is loaded only when
// asked for, so `eci-virtual-node cloudsim` never loads the Kubernetes client and vice versa.
import { setSourceMapsSupport } from 'node:module';

// Bundled (the image runs dist/adapters/cli/main.js, built by .ci/build): stack traces name the
// .ts files and lines through the source maps beside each chunk, which map our own sources only
// (.ci/bundle.ts). Turned on here rather than with --enable-source-maps so that node_modules' own
// maps stay unread (what the bundle leaves to require; the flag parses every map: +20 MiB RSS,
// docs/benchmark.md, "Compiled JavaScript, fourth session"). From the sources (type stripping keeps
// every line and column) there is nothing to map.
if (import.meta.url.endsWith('.js')) setSourceMapsSupport(true, { nodeModules: false, generatedCode: false });

interface Subcommand {
  summary: string;
  load: () => Promise<{ main: (argv: string[]) => Promise<number> }>;
}

const subcommands: Record<string, Subcommand> = {
  run: {
    summary: 'run the provider: virtual nodes, pod controller, PodNetworking controller and webhook',
    load: () => import('./run.ts'),
  },
  cloudsim: {
    summary: 'run the local ECI + VPC OpenAPI simulator',
    load: () => import('../cloudsim/cli.ts'),
  },
  sandbox: {
    summary: 'start a local control plane, cloud simulator and provider to try things out',
    load: () => import('./sandbox.ts'),
  },
  explain: {
    summary: 'print why a pod got its PodNetworking, zone, vSwitch, security group and IP (explain <namespace>/<pod>)',
    load: () => import('./explain.ts'),
  },
  whitelist: {
    summary: "print the CIDRs of a PodNetworking's vSwitches, for database whitelists (whitelist <podnetworking>)",
    load: () => import('./whitelist.ts'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(subcommands).map((name) => name.length));
  const lines = Object.entries(subcommands).map(([name, cmd]) => `  ${name.padEnd(width)}  ${cmd.summary}`);
  return ['Usage: eci-virtual-node <command> [flags]', '', 'Commands:', ...lines, '', 'Run `eci-virtual-node <command> --help` for its flags. From a checkout: bin/eci-virtual-node <command>', '(any Node on PATH: it finds or fetches Node 24 and installs the dependencies once).'].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = subcommands[name];
  if (command === undefined) {
    console.error(`eci-virtual-node: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.main(rest);
}

process.exitCode = await run(process.argv.slice(2));
