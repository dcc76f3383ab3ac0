// The bundled provider, as the image runs it: .ci/build (tsc type-check + .ci/bundle.ts) into
// <root>/dist, beside a copy of package.json ("type": "module") and a link to this checkout's
// node_modules, i.e. the image's /app layout. Used by the benchmark (it measures what the image
// runs) and by test/unit/cli/compiled-build.test.ts.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { stopChild, waitForExit } from './deadline.ts';

const REPO = join(import.meta.dirname, '..', '..');

export interface CompiledBuild {
  /** Holds dist/, package.json and node_modules (a link). */
  root: string;
  /** <root>/dist/adapters/cli/main.js: what the image's ENTRYPOINT runs. */
  main: string;
  /** How long .ci/build took. */
  seconds: number;
}

/** Builds into `root` (new or empty). Fails naming the build and its output tail past `timeoutMs`. */
export async function buildCompiled(root: string, o: { timeoutMs: number }): Promise<CompiledBuild> {
  mkdirSync(root, { recursive: true });
  const started = performance.now();
  const child = spawn('bash', [join(REPO, '.ci', 'build'), join(root, 'dist')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exit;
  try {
    exit = await waitForExit(child, { timeoutMs: o.timeoutMs, what: `.ci/build into ${root}/dist`, output: () => output });
  } catch (err) {
    await stopChild(child, { what: '.ci/build', graceMs: 2_000 });
    throw err;
  }
  if (exit.code !== 0) throw new Error(`.ci/build into ${root}/dist failed (exit ${exit.code ?? exit.signal}):\n${output.slice(-3000)}`);
  copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
  if (!existsSync(join(root, 'node_modules'))) symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  return { root, main: join(root, 'dist', 'adapters', 'cli', 'main.js'), seconds: (performance.now() - started) / 1000 };
}

/**
 * A test-only TypeScript file (no relative imports) as JavaScript at `<root>/<name>.js`, for a
 * `--import` preload of the compiled provider: preloading the .ts would load type stripping into
 * the process being measured.
 */
export function transpileBeside(root: string, file: string, name: string): string {
  const out = join(root, `${name}.js`);
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { fileName: file, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  mkdirSync(root, { recursive: true });
  writeFileSync(out, outputText);
  return out;
}
