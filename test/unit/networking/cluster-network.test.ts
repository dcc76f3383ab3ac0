import { describe, expect, it } from 'vitest';
import {
  matchingProfileSelectors,
  parseEciProfile,
  parseEniConf,
  parsePools,
  poolNetwork,
  resolveDefaultNetwork,
  type FieldError,
} from '../../../provider/networking/cluster-network.ts';
import { ClusterNetworkState } from '../../../provider/networking/cluster-network-state.ts';

const eni = (doc: unknown) => ({ eni_conf: JSON.stringify(doc) });
const fields = (r: { ok: boolean; errors?: FieldError[] }) => (r.ok ? [] : (r.errors ?? []).map((e) => e.field));
const NO_FLAGS = { vSwitchIds: [], securityGroupId: '', vSwitchSelectionPolicy: 'ordered' as const };

describe('parseEniConf (Terway eni_conf)', () => {
  it('reads vswitches by zone, both security group keys and the policy; ignores the node agent keys', () => {
    const r = parseEniConf(
      eni({
        vswitches: { 'cn-beijing-h': ['vsw-h1', 'vsw-h2'], 'cn-beijing-i': ['vsw-i1'] },
        security_group: 'sg-old',
        security_groups: ['sg-a', 'sg-old'],
        vswitch_selection_policy: 'most',
        max_pool_size: 5,
        access_key: 'LTAI-not-logged',
      }),
    );
    expect(r).toEqual({
      ok: true,
      value: { vSwitches: [{ zone: 'cn-beijing-h', ids: ['vsw-h1', 'vsw-h2'] }, { zone: 'cn-beijing-i', ids: ['vsw-i1'] }], securityGroupIds: ['sg-old', 'sg-a'], vSwitchSelectionPolicy: 'most' },
    });
  });

  it('leaves unset what the document does not set (an overlay sets only some keys)', () => {
    expect(parseEniConf(eni({ vswitches: { z: ['vsw-a'] } }))).toEqual({ ok: true, value: { vSwitches: [{ zone: 'z', ids: ['vsw-a'] }] } });
  });

  const rows: [string, Record<string, string>, string[]][] = [
    ['no eni_conf key', { other: '{}' }, ['eni_conf']],
    ['not JSON', { eni_conf: '{vswitches:' }, ['eni_conf']],
    ['not an object', { eni_conf: '[1]' }, ['eni_conf']],
    ['vswitches not an object', eni({ vswitches: ['vsw-a'] }), ['eni_conf.vswitches']],
    ['a zone not a list', eni({ vswitches: { z: 'vsw-a' } }), ['eni_conf.vswitches.z']],
    ['a bad vSwitch id', eni({ vswitches: { z: ['vsw-a', 'subnet-1'] } }), ['eni_conf.vswitches.z[1]']],
    ['a bad security_group', eni({ security_group: 'group' }), ['eni_conf.security_group']],
    ['security_groups not a list', eni({ security_groups: 'sg-a' }), ['eni_conf.security_groups']],
    ['a bad security_groups entry', eni({ security_groups: ['sg-a', 7] }), ['eni_conf.security_groups[1]']],
    ['a bad policy', eni({ vswitch_selection_policy: 'Most' }), ['eni_conf.vswitch_selection_policy']],
  ];
  it.each(rows)('%s: refused naming the field', (_name, data, expected) => {
    expect(fields(parseEniConf(data))).toEqual(expected);
  });

  it('never echoes the credentials Terway keeps in the same document', () => {
    const r = parseEniConf(eni({ access_key: 'LTAIsecret', access_secret: 'verysecret', vswitches: { z: ['bad'] } }));
    expect(JSON.stringify(r)).not.toMatch(/LTAIsecret|verysecret/);
  });
});

describe('parseEciProfile (ACK eci-profile)', () => {
  const selectors = JSON.stringify([
    { name: 'web', objectSelector: { matchLabels: { eci: 'true' } }, effect: { annotations: { 'k8s.aliyun.com/eci-use-specs': 'ecs.c6.large' }, labels: { on: 'eci' } } },
    { name: 'batch', namespaceSelector: { matchLabels: { team: 'batch' } } },
  ]);

  it('reads the network keys and the selectors; other keys (feature switches) are ignored', () => {
    const r = parseEciProfile({ vSwitchIds: 'vsw-a, vsw-b', securityGroupId: 'sg-a', vpcId: 'vpc-a', selectors, enableClusterIp: 'true' });
    expect(r.ok && r.value).toEqual({
      vSwitchIds: ['vsw-a', 'vsw-b'],
      securityGroupId: 'sg-a',
      vpcId: 'vpc-a',
      selectors: [
        { name: 'web', objectSelector: { matchLabels: { eci: 'true' } }, effect: { annotations: { 'k8s.aliyun.com/eci-use-specs': 'ecs.c6.large' }, labels: { on: 'eci' } } },
        { name: 'batch', namespaceSelector: { matchLabels: { team: 'batch' } }, effect: { annotations: {}, labels: {} } },
      ],
    });
  });

  it('an empty selectors value (ACK writes "") means none', () => {
    expect(parseEciProfile({ selectors: '' })).toEqual({ ok: true, value: { vSwitchIds: [], selectors: [] } });
  });

  const rows: [string, Record<string, string>, string[]][] = [
    ['a bad vSwitch id', { vSwitchIds: 'vsw-a,subnet' }, ['vSwitchIds[1]']],
    ['a bad security group', { securityGroupId: 'default' }, ['securityGroupId']],
    ['a bad vpc id', { vpcId: 'main' }, ['vpcId']],
    ['selectors not JSON', { selectors: '[{name:' }, ['selectors']],
    ['selectors not an array', { selectors: '{"name":"x"}' }, ['selectors']],
    ['a selector without a name', { selectors: '[{"objectSelector":{}}]' }, ['selectors[0].name']],
    ['two selectors with one name', { selectors: '[{"name":"a","objectSelector":{}},{"name":"a","objectSelector":{}}]' }, ['selectors[1].name']],
    ['a selector without either selector', { selectors: '[{"name":"a"}]' }, ['selectors[0]']],
    ['a bad operator', { selectors: '[{"name":"a","objectSelector":{"matchExpressions":[{"key":"k","operator":"in","values":["v"]}]}}]' }, ['selectors[0].objectSelector.matchExpressions[0].operator']],
    ['an effect label value that is no label value', { selectors: '[{"name":"a","objectSelector":{},"effect":{"labels":{"k":"a b"}}}]' }, ['selectors[0].effect.labels.k']],
    ['an effect annotation that is not a string', { selectors: '[{"name":"a","objectSelector":{},"effect":{"annotations":{"k":1}}}]' }, ['selectors[0].effect.annotations.k']],
  ];
  it.each(rows)('%s: refused naming the field', (_name, data, expected) => {
    expect(fields(parseEciProfile(data))).toEqual(expected);
  });

  it('selectors match on pod labels AND namespace labels, each when present', () => {
    const r = parseEciProfile({ selectors });
    if (!r.ok) throw new Error('profile did not parse');
    const names = (pod: Record<string, string>, ns: Record<string, string>) => matchingProfileSelectors(r.value.selectors, pod, ns).map((s) => s.name);
    expect(names({ eci: 'true' }, {})).toEqual(['web']);
    expect(names({}, { team: 'batch' })).toEqual(['batch']);
    expect(names({ eci: 'true' }, { team: 'batch' })).toEqual(['web', 'batch']);
    expect(names({ eci: 'false' }, { team: 'web' })).toEqual([]);
  });
});

describe('parsePools', () => {
  it('adds terway-config and the pool label to the labels; keeps the taints', () => {
    const r = parsePools({ fixed: { terwayConfig: 'eni-config-fixed', labels: { team: 'db' }, taints: [{ key: 'fixed', value: 'true', effect: 'NoSchedule' }] } });
    expect(r).toEqual({
      errors: [],
      pools: [{ name: 'fixed', terwayConfig: 'eni-config-fixed', labels: { team: 'db', 'terway-config': 'eni-config-fixed', 'eci-virtual-node.io/pool': 'fixed' }, taints: [{ key: 'fixed', value: 'true', effect: 'NoSchedule' }] }],
    });
  });

  it('a bad pool is reported by field and the good ones stay', () => {
    const r = parsePools({
      good: { terwayConfig: 'eni-config-a' },
      Bad_Name: { terwayConfig: 'x' },
      notaint: { terwayConfig: 'eni-config-b', taints: [{ key: 'fixed', effect: 'NoEverything' }] },
      nooverlay: { labels: {} },
      extra: { terwayConfig: 'x', nodes: 3 },
    });
    expect(r.pools.map((p) => p.name)).toEqual(['good']);
    expect(r.errors.map((e) => e.field).sort()).toEqual(['Bad_Name', 'extra.nodes', 'nooverlay.terwayConfig', 'notaint.taints[0].effect']);
  });
});

describe('precedence of the default-network sources: flags > eci-profile > eni-config', () => {
  const eniConfig = { vSwitches: [{ zone: 'z1', ids: ['vsw-eni'] }], securityGroupIds: ['sg-eni'], vSwitchSelectionPolicy: 'most' as const };
  const eciProfile = { vSwitchIds: ['vsw-profile'], securityGroupId: 'sg-profile', selectors: [] };

  it('flags win field by field, with their policy', () => {
    const r = resolveDefaultNetwork({ flags: { vSwitchIds: ['vsw-flag'], securityGroupId: 'sg-flag', vSwitchSelectionPolicy: 'random' }, eciProfile, eniConfig });
    expect(r).toEqual({ vSwitchIds: ['vsw-flag'], securityGroupId: 'sg-flag', vSwitchSelectionPolicy: 'random', sources: { vSwitchIds: 'flags', securityGroupId: 'flags', vSwitchSelectionPolicy: 'flags' } });
  });

  it('eci-profile over eni-config; the policy is eni-config\'s (eci-profile has none)', () => {
    const r = resolveDefaultNetwork({ flags: NO_FLAGS, eciProfile, eniConfig });
    expect(r).toEqual({ vSwitchIds: ['vsw-profile'], securityGroupId: 'sg-profile', vSwitchSelectionPolicy: 'most', sources: { vSwitchIds: 'eci-profile', securityGroupId: 'eci-profile', vSwitchSelectionPolicy: 'eni-config' } });
  });

  it('each field from the first source that sets it', () => {
    const r = resolveDefaultNetwork({ flags: { ...NO_FLAGS, securityGroupId: 'sg-flag' }, eciProfile: { vSwitchIds: [], selectors: [] }, eniConfig });
    expect(r).toMatchObject({ vSwitchIds: ['vsw-eni'], securityGroupId: 'sg-flag', sources: { vSwitchIds: 'eni-config', securityGroupId: 'flags' } });
  });

  it('no source: no default network', () => {
    expect(resolveDefaultNetwork({ flags: NO_FLAGS, eciProfile: undefined, eniConfig: undefined })).toMatchObject({ vSwitchIds: [], securityGroupId: '', vSwitchSelectionPolicy: 'ordered' });
  });

  it('a pool: its overlay overwrites eni-config key by key; without its overlay, no vSwitch', () => {
    const defaults = resolveDefaultNetwork({ flags: NO_FLAGS, eciProfile, eniConfig });
    expect(poolNetwork({ overlay: { vSwitches: [{ zone: 'z1', ids: ['vsw-fixed'] }] }, eniConfig, defaults })).toEqual({ vSwitchIds: ['vsw-fixed'], securityGroupId: 'sg-eni', vSwitchSelectionPolicy: 'most' });
    expect(poolNetwork({ overlay: { securityGroupIds: ['sg-fixed'] }, eniConfig, defaults })).toEqual({ vSwitchIds: ['vsw-eni'], securityGroupId: 'sg-fixed', vSwitchSelectionPolicy: 'most' });
    expect(poolNetwork({ overlay: undefined, eniConfig, defaults }).vSwitchIds).toEqual([]);
  });
});

describe('ClusterNetworkState: hot updates keep the last good version', () => {
  const state = () => new ClusterNetworkState({ flags: NO_FLAGS });

  it('eni-config, then eci-profile over it, then the profile deleted', () => {
    const s = state();
    expect(s.apply('eni-config', eni({ vswitches: { z: ['vsw-eni'] }, security_group: 'sg-eni' }))).toMatchObject({ changed: true, errors: [] });
    expect(s.defaultNetwork().vSwitchIds).toEqual(['vsw-eni']);
    s.apply('eci-profile', { vSwitchIds: 'vsw-p', securityGroupId: 'sg-p' });
    expect(s.defaultNetwork()).toMatchObject({ vSwitchIds: ['vsw-p'], securityGroupId: 'sg-p' });
    expect(s.apply('eci-profile', undefined).changed).toBe(true);
    expect(s.defaultNetwork().vSwitchIds).toEqual(['vsw-eni']);
  });

  it('a malformed eci-profile reports the field and keeps the previous settings', () => {
    const s = state();
    s.apply('eci-profile', { vSwitchIds: 'vsw-p', selectors: '[{"name":"a","objectSelector":{"matchLabels":{"eci":"true"}}}]' });
    const r = s.apply('eci-profile', { vSwitchIds: 'vsw-q', selectors: '[{"name":' });
    expect(r).toMatchObject({ changed: false, kind: 'eci-profile' });
    expect(r.errors.map((e) => e.field)).toEqual(['selectors']);
    expect(s.defaultNetwork().vSwitchIds).toEqual(['vsw-p']);
    expect(s.profileSelectors().map((x) => x.name)).toEqual(['a']);
  });

  it('a pool takes its network from its overlay, whichever arrives first; a malformed pool entry keeps its last good spec', () => {
    const s = state();
    s.apply('eni-config', eni({ security_group: 'sg-eni' }));
    s.apply('eni-config-fixed', eni({ vswitches: { z: ['vsw-fixed'] } }));
    expect(s.apply('eci-virtual-node-pools', { fixed: 'terwayConfig: eni-config-fixed\ntaints: [{key: fixed, value: "true", effect: NoSchedule}]' })).toMatchObject({ changed: true, errors: [] });
    expect(s.poolNetwork('fixed')).toEqual({ vSwitchIds: ['vsw-fixed'], securityGroupId: 'sg-eni', vSwitchSelectionPolicy: 'ordered' });
    const bad = s.apply('eci-virtual-node-pools', { fixed: 'terwayConfig: [' });
    expect(bad.errors.map((e) => e.field)).toEqual(['fixed']);
    expect(s.pool('fixed')?.terwayConfig).toBe('eni-config-fixed');
    // A malformed overlay in use is reported; one nobody uses is not.
    expect(s.apply('eni-config-fixed', { eni_conf: 'nope' }).errors.map((e) => e.field)).toEqual(['eni_conf']);
    expect(s.apply('other', { eni_conf: 'nope' }).errors).toEqual([]);
    expect(s.poolNetwork('fixed')?.vSwitchIds).toEqual(['vsw-fixed']);
    expect(s.apply('eci-virtual-node-pools', undefined).changed).toBe(true);
    expect(s.pools()).toEqual([]);
  });
});
