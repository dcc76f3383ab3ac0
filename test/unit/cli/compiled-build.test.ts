// The build the image runs (.ci/build into dist/, the Dockerfile's ENTRYPOINT
// `node dist/adapters/cli/main.js`): every subcommand's chunks load (a file the code reads beside
// itself and the build did not copy fails here), the sandbox says it needs a checkout, and a stack
// trace names the .ts file and line of our code and no line of ours for a dependency's code. One
// build (~8-11 s of tsc and rolldown on a loaded 2-CPU machine) shared by the tests.
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

  it('a stack trace through the bundle names the .ts file and line (main.js turns source maps on)', async () => {
    // issueCertificate refuses an IP address that is not one: the error's first frame is ours.
    const certificates = pathToFileURL(join(build.root, 'dist', 'adapters', 'tls', 'certificates.js')).href;
    const script = [
      `process.argv = [process.execPath, 'main.js', '--help'];`,
      `console.log = () => {};`,
      `await import(${JSON.stringify(pathToFileURL(build.main).href)});`,
      `const { issueCertificate } = await import(${JSON.stringify(certificates)});`,
      `const err = await issueCertificate({ ca: { certPem: '', keyPem: '' }, commonName: 'x', ipAddresses: ['not-an-ip'], usage: 'server' }).then(() => undefined, (e) => e);`,
      `process.stderr.write(String(err?.stack));`,
    ].join('\n');
    const { code, stderr } = await node(['--input-type=module', '-e', script]);
    expect(code, stderr).toBe(0);
    const line = readFileSync(join(REPO, 'adapters', 'tls', 'certificates.ts'), 'utf8').split('\n').findIndex((l) => l.includes('is not an IP address (ipAddresses)')) + 1;
    expect(line).toBeGreaterThan(0);
    expect(stderr).toContain('"not-an-ip" is not an IP address');
    expect(stderr).toMatch(new RegExp(`at .*issueCertificate \\(.*adapters/tls/certificates\\.ts:${line}:\\d+\\)`));
  });

  it('a frame inside a bundled dependency is not pinned on a line of ours', async () => {
    // The maps keep our sources' mappings only (.ci/bundle.ts); a dependency's code maps to
    // nothing, not to the last line of ours before it in the chunk.
    const script = [
      `process.argv = [process.execPath, 'main.js', '--help'];`,
      `console.log = () => {};`,
      `await import(${JSON.stringify(pathToFileURL(build.main).href)});`,
      `const { issueCertificate } = await import(${JSON.stringify(pathToFileURL(join(build.root, 'dist', 'adapters', 'tls', 'certificates.js')).href)});`,
      // node-forge parses the CA certificate: a PEM that is not one throws inside node-forge.
      `const err = await issueCertificate({ ca: { certPem: '-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----', keyPem: '' }, commonName: 'x', dnsNames: ['x'], usage: 'server' }).then(() => undefined, (e) => e);`,
      `process.stderr.write(String(err?.cause?.stack ?? err?.stack));`,
    ].join('\n');
    const { code, stderr } = await node(['--input-type=module', '-e', script]);
    expect(code, stderr).toBe(0);
    const frames = stderr.split('\n').filter((l) => l.trimStart().startsWith('at '));
    expect(frames.length, stderr).toBeGreaterThan(0);
    // The first frames are node-forge's: they name the chunk, not a .ts file of ours.
    expect(frames[0], stderr).toMatch(/dist\/adapters\/cli\/[^/]+\.js:\d+:\d+/);
    expect(stderr).toMatch(/adapters\/tls\/certificates\.ts:\d+:\d+/);
  });
});
