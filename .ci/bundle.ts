// Bundles the provider's command (adapters/cli/main.ts) and the certificate module the
// webhook-certgen Job imports (adapters/tls/certificates.ts) with their npm dependencies into
// <outDir>/adapters/cli/main.js, <outDir>/adapters/tls/certificates.js and chunks beside main.js.
// Usage (from .ci/build, under Node 24): node .ci/bundle.ts <outDir>
//
// Why a bundle: loading @kubernetes/client-node's ~2,700 model files, the Alibaba Cloud SDKs and
// OpenTelemetry as separate modules costs ~40 MiB of RSS and ~24 MiB of V8 heap more than the same
// code in a few chunks, and ~0.4 s more start-up (docs/benchmark.md, "Restart and memory, sixth
// session").
// Subcommands stay lazy (each is a chunk loaded when asked for). No minification of names: only
// top-level names that clash across modules get a `$1` suffix (the maps give stack traces theirs).
//
// Source maps: the chunks' maps keep our own sources' mappings only. A map of the dependencies'
// code too is ~20 MB that Node parses at load when source maps are on (+32 MiB RSS, most of the
// gain); a dependency's frame then shows its place in the chunk instead of its file.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { decode, encode, type SourceMapSegment } from '@jridgewell/sourcemap-codec';
import { build } from 'rolldown';

const repo = resolve(import.meta.dirname, '..');
if (process.argv[2] === undefined || process.argv[2] === '') {
  console.error('usage: node .ci/bundle.ts <outDir>');
  process.exit(2);
}
// Against the caller's directory, for rolldown (which would take its cwd, the repo) as for the rest.
const outDir = resolve(process.argv[2]);

// Left to Node's require from node_modules (the image ships production dependencies): packages
// that a bundled dependency also loads at run time with a require() the bundler cannot follow.
// Bundled as well, they would be two copies, and objects of one fail the other's instanceof:
// @opentelemetry/otlp-grpc-exporter-base imports @grpc/grpc-js for its client but require()s it
// for the credentials it hands that client ("Channel credentials must be a ChannelCredentials").
const RUNTIME_REQUIRED = ['@grpc/grpc-js'];

const result = await build({
  cwd: repo,
  input: {
    'adapters/cli/main': join(repo, 'adapters/cli/main.ts'),
    'adapters/tls/certificates': join(repo, 'adapters/tls/certificates.ts'),
  },
  platform: 'node',
  // The sandbox's control-plane harness (test/) is for a checkout only: sandbox.ts refuses to
  // start from a build before it imports it, so its imports of test/ stay out of the bundle.
  external: (id, importer) =>
    RUNTIME_REQUIRED.some((name) => id === name || id.startsWith(`${name}/`)) ||
    (importer !== undefined && !importer.includes('/node_modules/') && /^(\.\.\/)+test\//.test(id)),
  logLevel: 'warn',
  output: {
    dir: outDir,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: 'adapters/cli/[name]-[hash].js',
    sourcemap: true,
    sourcemapExcludeSources: true,
    minify: { compress: false, mangle: false, codegen: { removeWhitespace: true } },
  },
});

interface SourceMapFile {
  version: number;
  file?: string;
  sources: (string | null)[];
  names: string[];
  mappings: string;
  sourcesContent?: unknown;
  [key: string]: unknown;
}

/**
 * Keeps the segments that point into our own sources; a run of dependency code gets one segment
 * without a source, so a position inside it maps to nothing rather than to our line before it.
 */
function ownSourcesOnly(map: SourceMapFile): SourceMapFile {
  const own = map.sources.map((s) => s !== null && !/(^|\/)node_modules\//.test(s));
  const index = new Map<number, number>();
  const sources: string[] = [];
  for (const [i, keep] of own.entries()) {
    if (!keep) continue;
    index.set(i, sources.length);
    sources.push(map.sources[i] as string);
  }
  let unmapped = true; // no mapped segment before: nothing to cut off
  const lines = decode(map.mappings).map((line) => {
    const out: SourceMapSegment[] = [];
    for (const segment of line) {
      // A segment without a source (rolldown's own, after a module) or into a dependency.
      const to = segment.length === 1 ? undefined : index.get(segment[1]);
      if (to === undefined) {
        if (!unmapped) out.push([segment[0]]);
        unmapped = true;
        continue;
      }
      unmapped = false;
      out.push(segment.length === 5 ? [segment[0], to, segment[2], segment[3], segment[4]] : [segment[0], to, segment[2]!, segment[3]!]);
    }
    return out;
  });
  // Only our sources remain: nothing for a debugger to skip (its indices would be stale anyway).
  const { sourcesContent: _content, ignoreList: _ignored, x_google_ignoreList: _googleIgnored, ...rest } = map;
  return { ...rest, sources, mappings: encode(lines) };
}

// A package the bundle holds and also require()s by name at run time (`__require("name")`, how
// rolldown emits a require() it cannot follow) would be two copies (see RUNTIME_REQUIRED): refused,
// naming it. A require() of a package the bundle does not hold, such as ws's optional bufferutil,
// loads the one copy in node_modules or fails into its fallback, as it does unbundled. Requires of
// a computed name (an alias of require, a variable) are not seen here.
const bundled = new Set<string>();
for (const chunk of result.output) {
  if (chunk.type !== 'chunk') continue;
  for (const id of chunk.moduleIds) {
    const match = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(id);
    if (match !== null) bundled.add(match[1]!);
  }
}
const twice = new Set<string>();
for (const chunk of result.output) {
  if (chunk.type !== 'chunk') continue;
  for (const [, id] of chunk.code.matchAll(/__require(?:\$\d+)?\(["'`]([^"'`]+)["'`]\)/g)) {
    const name = id!.startsWith('@') ? id!.split('/').slice(0, 2).join('/') : id!.split('/')[0]!;
    if (!isBuiltin(id!) && bundled.has(name)) twice.add(`${name} (${chunk.fileName})`);
  }
}
if (twice.size > 0) {
  console.error(`.ci/bundle.ts: the bundle holds and also require()s at run time ${[...twice].join(', ')}: add each package to RUNTIME_REQUIRED (external), or it runs as two copies`);
  process.exit(1);
}

for (const file of readdirSync(outDir, { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.js.map')) continue;
  const path = join(outDir, file);
  writeFileSync(path, JSON.stringify(ownSourcesOnly(JSON.parse(readFileSync(path, 'utf8')) as SourceMapFile)));
}
