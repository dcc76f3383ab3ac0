// World file validation (errors name the field path) and the CLI's flag handling.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { demoWorldPath, main } from '../../../adapters/cloudsim/cli.ts';
import { RESOURCE_ID_PATTERNS, WorldError, loadWorldFile, parseWorld } from '../../../adapters/cloudsim/world.ts';
import { testWorld } from './helpers.ts';

function problems(doc: unknown): string[] {
  try {
    parseWorld(doc);
  } catch (e) {
    if (e instanceof WorldError) return e.problems;
    throw e;
  }
  return [];
}

describe('world file validation', () => {
  it('accepts the test world and fills defaults', () => {
    const w = parseWorld(testWorld());
    expect(w.rateLimits.mode).toBe('unlimited');
    expect(w.quotas.maxGroups).toBeGreaterThan(0);
    expect(w.lifecycle.terminatingMs).toBe(0);
    expect(w.persistence.durability).toBe('fsync');
  });

  it.each([
    ['a bad CIDR', { vSwitches: [{ id: 'vsw-v1', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.1.0/24' }, { id: 'vsw-v2', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.2.0/24' }, { id: 'vsw-v3', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.0.0/33' }] }, 'vSwitches[2].cidr: "10.0.0.0/33" is not a CIDR'],
    ['host bits', { vSwitches: [{ id: 'vsw-v1', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.1.5/24' }] }, 'vSwitches[0].cidr: "10.0.1.5/24" has host bits set (did you mean 10.0.1.0/24?)'],
    ['outside the VPC', { vSwitches: [{ id: 'vsw-v1', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '192.168.0.0/24' }] }, 'vSwitches[0].cidr: "192.168.0.0/24" is not inside the CIDR block of VPC vpc-main'],
    ['overlapping', { vSwitches: [{ id: 'vsw-v1', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.1.0/24' }, { id: 'vsw-v2', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.1.128/25' }] }, 'vSwitches[1].cidr: "10.0.1.128/25" overlaps vSwitches[0].cidr'],
    ['too small', { vSwitches: [{ id: 'vsw-v1', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.1.0/30' }] }, 'vSwitches[0].cidr: "10.0.1.0/30": a vSwitch CIDR block must be /16 to /29'],
    ['an unknown zone', { vSwitches: [{ id: 'vsw-v1', vpcId: 'vpc-main', zoneId: 'mars-1', cidr: '10.0.1.0/24' }] }, 'vSwitches[0].zoneId: "mars-1" is not one of zones'],
    ['an unknown VPC', { securityGroups: [{ id: 'sg-1', vpcId: 'vpc-nope' }] }, 'securityGroups[0].vpcId: "vpc-nope" is not one of vpcs[].id'],
    ['a duplicate id', { securityGroups: [{ id: 'sg-1', vpcId: 'vpc-main' }, { id: 'sg-1', vpcId: 'vpc-main' }] }, 'securityGroups[1].id: duplicate id "sg-1" (also securityGroups[0].id)'],
    ['no access keys', { accessKeys: [] }, 'accessKeys: must not be empty'],
    ['an unknown field', { lifecycle: { schedulingMs: 1, pendingSecs: 2 } }, 'lifecycle.pendingSecs: unknown field (known: schedulingMs, pendingMs, exitAfterMs, crashBackoffMs, crashBackoffMaxMs, pullRetryMs, terminatingMs, restartMs, updateMs, realism)'],
    ['a bad mode', { rateLimits: { mode: 'fast' } }, 'rateLimits.mode: must be one of quota-true, unlimited, got "fast"'],
    ['a bad fault rate', { faults: { rules: [{ action: 'CreateContainerGroup', rate: -1 }] } }, 'faults.rules[0].rate: must be at least 0, got -1'],
    ['a negative delay', { lifecycle: { pendingMs: -5 } }, 'lifecycle.pendingMs: must be at least 0, got -5'],
    // Ids the PodNetworking CRD (or the cloud) would refuse are refused here, not later by the apiserver.
    ['a vSwitch id the CRD refuses', { vSwitches: [{ id: 'vsw-a', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.1.0/24' }, { id: 'vsw-b', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.2.0/24' }, { id: 'vsw-i-small', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.3.0/24' }] }, 'vSwitches[2].id: "vsw-i-small" is not a valid vSwitch id (expected vsw- followed by lowercase letters and digits, e.g. vsw-simh1)'],
    ['an upper-case vSwitch id', { vSwitches: [{ id: 'vsw-A1', vpcId: 'vpc-main', zoneId: 'cn-test-1a', cidr: '10.0.1.0/24' }] }, 'vSwitches[0].id: "vsw-A1" is not a valid vSwitch id (expected vsw- followed by lowercase letters and digits, e.g. vsw-simh1)'],
    ['a security group id the CRD refuses', { securityGroups: [{ id: 'sg_web', vpcId: 'vpc-main' }] }, 'securityGroups[0].id: "sg_web" is not a valid security group id (expected sg- followed by lowercase letters and digits, e.g. sg-simdefault)'],
    ['a VPC id the cloud refuses', { vpcs: [{ id: 'vpc-sim-main', cidr: '10.0.0.0/16' }], vSwitches: [{ id: 'vsw-a', vpcId: 'vpc-sim-main', zoneId: 'cn-test-1a', cidr: '10.0.1.0/24' }], securityGroups: [] }, 'vpcs[0].id: "vpc-sim-main" is not a valid VPC id (expected vpc- followed by lowercase letters and digits, e.g. vpc-simmain)'],
  ])('names the field for %s', (_what, overrides, expected) => {
    expect(problems(testWorld(overrides))).toContain(expected);
  });

  it('uses the PodNetworking CRD\'s own id patterns', async () => {
    const crd = await readFile(new URL('../../../deploy/crds/network.alibabacloud.com_podnetworkings.yaml', import.meta.url), 'utf8');
    const patterns = [...crd.matchAll(/pattern: '(\^(?:vsw|sg)-[^']*)'/g)].map((m) => m[1]);
    expect(new Set(patterns)).toEqual(new Set([RESOURCE_ID_PATTERNS.vSwitch.pattern.source, RESOURCE_ID_PATTERNS.securityGroup.pattern.source]));
  });

  it('reports every problem at once', () => {
    const p = problems({ zones: [], vpcs: 'x' });
    expect(p).toEqual(expect.arrayContaining(['regionId: is required', 'zones: must not be empty', 'vpcs: must be a list', 'vSwitches: is required (a non-empty list)', 'accessKeys: is required (a non-empty list)']));
  });

  it('ships a demo world with 3 zones, small vSwitches, two security groups and a second VPC', async () => {
    const w = await loadWorldFile(demoWorldPath);
    expect(w.zones).toHaveLength(3);
    expect(w.securityGroups.filter((s) => s.vpcId === w.vpcs[0]!.id).length).toBeGreaterThanOrEqual(2);
    expect(w.vpcs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(w.vSwitches.map((v) => v.zoneId)).size).toBe(3);
  });
});

describe('cloudsim CLI flags', () => {
  let dir: string | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function run(argv: string[]): Promise<{ code: number; err: string; out: string }> {
    let err = '';
    let out = '';
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += `${a.join(' ')}\n`));
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
    const code = await main(argv);
    return { code, err, out };
  }

  it('prints help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--world FILE');
  });

  it('names the bad flag', async () => {
    expect(await run(['--port', 'abc'])).toEqual(expect.objectContaining({ code: 2, err: expect.stringContaining('cloudsim: --port: "abc" is not a port number (0-65535)') }));
    expect(await run(['--admin-port=70000'])).toEqual(expect.objectContaining({ code: 2, err: expect.stringContaining('--admin-port: "70000"') }));
    expect(await run(['--world'])).toEqual(expect.objectContaining({ code: 2, err: expect.stringContaining('--world: needs a value') }));
    expect(await run(['--frobnicate'])).toEqual(expect.objectContaining({ code: 2, err: expect.stringContaining('unknown flag "--frobnicate"') }));
  });

  it('reports a bad world file with the field path', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloudsim-world-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'regionId: r\nzones: [z]\nvpcs: [{id: v, cidr: 10.0.0.0/16}]\nvSwitches: [{id: s, vpcId: v, zoneId: z, cidr: 10.0.0.0/33}]\naccessKeys: [{id: a, secret: b}]\n');
    const r = await run(['--world', file, '--port', '0', '--admin-port', '0']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('vSwitches[0].cidr: "10.0.0.0/33" is not a CIDR');
    await writeFile(file, 'regionId: [unclosed\n');
    expect((await run(['--world', file])).err).toContain('not valid YAML/JSON');
  });
});
