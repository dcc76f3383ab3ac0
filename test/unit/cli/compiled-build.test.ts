// The compiled build the image runs (.ci/build into dist/, the Dockerfile's ENTRYPOINT
// `node dist/adapters/cli/main.js`): every subcommand's module graph resolves as JavaScript (a
// relative `.ts` specifier left unrewritten, or a file the code reads beside itself and the build
// did not copy, fails here), the sandbox says it needs a checkout, and a stack trace names the .ts
// file and line. One build (~8-11 s of tsc on a loaded 2-CPU machine) shared by the tests.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCompiled, type CompiledBuild } from '../../helpers/compiled-build.ts';
import { budget, waitForExit, waitForOutput } from '../../helpers/deadline.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
let build: CompiledBuild;

beforeAll(async () => {
  build = await buildCompiled(await mkdtemp(join(tmpdir(), 'eci-vn-dist-')), { timeoutMs: budget({ baseMs: 120_000 }) });
}, budget({ baseMs: 150_000 }));
afterAll(async () => {
  if (build !== undefined) await rm(build.root, { recursive: true, force: true });
});

/** `node args...` in the build's root (as WORKDIR /app), with a deadline. */
async function node(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: build.root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '/nonexistent' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = await waitForExit(child, { timeoutMs: budget({ baseMs: 30_000 }), what: `node ${args.join(' ')}`, output: () => stdout + stderr });
  return { code: exit.code, stdout, stderr };
}

describe('the compiled build (.ci/build, what the image runs)', () => {
  it("holds the Dockerfile ENTRYPOINT's script and no tests", () => {
    const entrypoint = JSON.parse(`[${/^ENTRYPOINT \[(.*)\]$/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'))?.[1] ?? ''}]`) as string[];
    const script = entrypoint.find((arg) => arg.endsWith('.js'));
    expect(script).toBe('dist/adapters/cli/main.js');
    expect(existsSync(join(build.root, script!))).toBe(true);
    const files = readdirSync(join(build.root, 'dist'), { recursive: true, encoding: 'utf8' });
    expect(files.filter((f) => f.endsWith('.test.js'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(existsSync(join(build.root, 'dist', 'test'))).toBe(false);
  });

  it("has the certificate module the webhook-certgen Job imports by default, with its exports", async () => {
    // The Job runs in this image (WORKDIR /app) and imports CERTGEN_TLS_MODULE's default path.
    const script = readFileSync(join(REPO, 'deploy', 'components', 'webhook-certgen', 'certgen-script.yaml'), 'utf8');
    const inImage = /CERTGEN_TLS_MODULE \?\? '([^']+)'/.exec(script)?.[1];
    expect(inImage).toMatch(/^\/app\//);
    const module = (await import(pathToFileURL(join(build.root, inImage!.slice('/app/'.length))).href)) as Record<string, unknown>;
    expect(typeof module.createCertificateAuthority).toBe('function');
    expect(typeof module.issueCertificate).toBe('function');
  });

  it('every subcommand loads and prints its usage', async () => {
    const top = await node([build.main, '--help']);
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout).toContain('Usage: eci-virtual-node <command> [flags]');
    const names = ['run', 'cloudsim', 'explain', 'whitelist', 'sandbox'];
    for (const name of names) expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const helps = await Promise.all(names.map((name) => node([build.main, name, '--help'])));
    for (const [i, help] of helps.entries()) {
      expect(help.code, `${names[i]} --help: ${help.stderr}`).toBe(0);
      expect(help.stdout).toContain(`eci-virtual-node ${names[i]}`);
    }
  });

  it('cloudsim starts on its bundled demo world (a data file copied beside the JavaScript)', async () => {
    const child = spawn(process.execPath, [build.main, 'cloudsim', '--port', '0', '--admin-port', '0'], { cwd: build.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      await waitForOutput(child, { pattern: /^cloudsim ready .*region=cn-hangzhou/m, timeoutMs: budget({ baseMs: 30_000 }), what: 'the compiled cloudsim to be ready', output: () => output });
    } finally {
      child.kill('SIGTERM');
      await waitForExit(child, { timeoutMs: budget({ baseMs: 15_000 }), what: 'the compiled cloudsim to stop', output: () => output });
    }
  });

  it('sandbox refuses to start from the build and says where it runs', async () => {
    const sandbox = await node([build.main, 'sandbox']);
    expect(sandbox.code).toBe(2);
    expect(sandbox.stderr).toContain('runs from a checkout');
  });

  it('a stack trace through compiled code names the .ts file and line (main.js turns source maps on)', async () => {
    const ids = pathToFileURL(join(build.root, 'dist', 'provider', 'telemetry', 'ids.js')).href;
    const script = [
      `process.argv = [process.execPath, 'main.js', '--help'];`,
      `console.log = () => {};`,
      `await import(${JSON.stringify(pathToFileURL(build.main).href)});`,
      `const { withSpanIds } = await import(${JSON.stringify(ids)});`,
      `process.stderr.write(withSpanIds({ traceId: 'a', spanId: 'b' }, () => new Error('where')).stack);`,
    ].join('\n');
    const { code, stderr } = await node(['--input-type=module', '-e', script]);
    expect(code, stderr).toBe(0);
    const line = readFileSync(join(REPO, 'provider', 'telemetry', 'ids.ts'), 'utf8').split('\n').findIndex((l) => l.includes('start()')) + 1;
    expect(line).toBeGreaterThan(0);
    expect(stderr).toMatch(new RegExp(`at withSpanIds \\(.*provider/telemetry/ids\\.ts:${line}:\\d+\\)`));
  });
});
