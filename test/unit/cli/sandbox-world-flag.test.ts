// `sandbox --world FILE`: --help lists the bundled worlds, and a world the demo cannot run in is
// refused before anything starts (exit 2, naming the file and what is missing).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bundledWorlds, main } from '../../../adapters/cli/sandbox.ts';

function captured() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  return { out, err };
}

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('sandbox --world', () => {
  it('--help lists every bundled world with its description', async () => {
    const { out } = captured();
    expect(await main(['--help'])).toBe(0);
    const help = out.join('\n');
    expect(help).toContain('--world FILE');
    const worlds = bundledWorlds();
    expect(worlds.map((w) => w.file)).toContain(join('adapters', 'cloudsim', 'worlds', 'demo.yaml'));
    for (const w of worlds) {
      expect(w.about).not.toBe('');
      expect(help).toContain(w.file);
      expect(help).toContain(w.about);
    }
  });

  it('refuses a missing file before starting anything', async () => {
    const { err } = captured();
    expect(await main(['--world', '/nonexistent/world.yaml'])).toBe(2);
    expect(err.join('\n')).toContain('sandbox: --world: /nonexistent/world.yaml: no such file');
  });

  it('refuses a world with an invalid id, naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sandbox-world-'));
    dirs.push(dir);
    const file = join(dir, 'world.yaml');
    await writeFile(file, 'regionId: r\nzones: [z]\nvpcs: [{id: vpc-a, cidr: 10.0.0.0/16}]\nvSwitches: [{id: vsw-i-small, vpcId: vpc-a, zoneId: z, cidr: 10.0.0.0/24}]\naccessKeys: [{id: a, secret: b}]\n');
    const { err } = captured();
    expect(await main(['--world', file])).toBe(2);
    expect(err.join('\n')).toContain('vSwitches[0].id: "vsw-i-small" is not a valid vSwitch id');
  });

  it("refuses a valid world that lacks the demo's vSwitches, naming them", async () => {
    const { err } = captured();
    expect(await main(['--world', 'deploy/overlays/sandbox/world.yaml'])).toBe(2);
    expect(err.join('\n')).toMatch(/demo does not fit deploy\/overlays\/sandbox\/world\.yaml: vSwitch vsw-simh1 is not in the world/);
  });
});
