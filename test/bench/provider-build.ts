// What the benchmark starts as eci-vn: the compiled JavaScript the image runs (default; built once
// per run by .ci/build into the run's work directory, in the image's layout) or the TypeScript
// sources under type stripping (`--provider sources`: what bin/eci-virtual-node runs).
import { join } from 'node:path';
import { buildCompiled, transpileBeside } from '../helpers/compiled-build.ts';
import { budget } from '../helpers/deadline.ts';

const REPO = join(import.meta.dirname, '..', '..');

export interface ProviderEntry {
  kind: 'compiled' | 'sources';
  /** The script node runs: adapters/cli/main.ts or <build>/dist/adapters/cli/main.js. */
  main: string;
  /** heap-probe (the bench's memory sampler), preloaded with --import; JavaScript beside a build. */
  heapProbe: string;
}

export const SOURCES_ENTRY: ProviderEntry = {
  kind: 'sources',
  main: join(REPO, 'adapters', 'cli', 'main.ts'),
  heapProbe: join(import.meta.dirname, 'heap-probe.ts'),
};

export async function providerEntryFor(kind: 'compiled' | 'sources', buildRoot: string, log: (line: string) => void): Promise<ProviderEntry> {
  if (kind === 'sources') {
    log('[bench] eci-vn runs the TypeScript sources (type stripping), not the compiled build the image runs');
    return SOURCES_ENTRY;
  }
  log(`[bench] building the provider as the image does (.ci/build: tsc type-check + rolldown bundle) into ${buildRoot}/dist`);
  const build = await buildCompiled(buildRoot, { timeoutMs: budget({ baseMs: 180_000 }) });
  log(`[bench] built in ${build.seconds.toFixed(1)} s: eci-vn runs ${build.main}`);
  // The probe as JavaScript too: preloading the .ts would load type stripping into the process measured.
  return { kind: 'compiled', main: build.main, heapProbe: transpileBeside(buildRoot, join(import.meta.dirname, 'heap-probe.ts'), 'heap-probe') };
}
