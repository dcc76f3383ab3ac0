import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../adapters/config/load.ts';
import { InvalidConfigError, redactConfig } from '../../../provider/config/config.ts';

const SECRET = 'sEcReT-value-that-must-not-leak';
const goodEnv = {
  ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tExampleKeyId',
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET,
};
const goodFlags = ['--cluster-id', 'c1', '--region', 'cn-hangzhou', '--vswitches', 'vsw-a,vsw-b', '--security-group', 'sg-1'];

function fieldErrors(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidConfigError) return Object.fromEntries(err.fieldErrors.map((e) => [e.field, e.message]));
    throw err;
  }
  throw new Error('expected InvalidConfigError');
}

describe('loadConfig', () => {
  it('builds a config from flags and env, deriving the endpoints from the region', () => {
    const { config } = loadConfig({ argv: goodFlags, env: goodEnv });
    expect(config.clusterId).toBe('c1');
    expect(config.defaultNetwork.vSwitchIds).toEqual(['vsw-a', 'vsw-b']);
    expect(config.cloud.eciEndpoint).toBe('eci.cn-hangzhou.aliyuncs.com');
    expect(config.cloud.vpcEndpoint).toBe('vpc.cn-hangzhou.aliyuncs.com');
    expect(config.cloud.ecsEndpoint).toBe('ecs.cn-hangzhou.aliyuncs.com');
    expect(config.cloud.accessKeySecret).toBe(SECRET);
  });

  it('an unset endpoint is reported with an example of its own host', () => {
    const errors = fieldErrors(() => loadConfig({ argv: ['--cluster-id', 'c1', '--vswitches', 'vsw-a', '--security-group', 'sg-1'], env: goodEnv }));
    expect(errors['cloud.eciEndpoint']).toContain('e.g. eci.cn-hangzhou.aliyuncs.com');
    expect(errors['cloud.vpcEndpoint']).toContain('e.g. vpc.cn-hangzhou.aliyuncs.com');
    expect(errors['cloud.ecsEndpoint']).toContain('e.g. ecs.cn-hangzhou.aliyuncs.com');
  });

  it('reads the kubelet port pool: a count from the base port, or a list', () => {
    expect(loadConfig({ argv: [...goodFlags, '--kubelet-port-count', '4'], env: goodEnv }).config.kubeletApi).toMatchObject({ portCount: 4, ports: [] });
    expect(loadConfig({ argv: goodFlags, env: { ...goodEnv, ECI_VN_KUBELET_PORTS: '20001, 20003' } }).config.kubeletApi.ports).toEqual([20001, 20003]);
    expect(fieldErrors(() => loadConfig({ argv: [...goodFlags, '--kubelet-ports', '20001,x'], env: goodEnv }))).toEqual({ 'kubeletApi.ports': '--kubelet-ports: "x" is not a number' });
    expect(fieldErrors(() => loadConfig({ argv: [...goodFlags, '--kubelet-ports', '20001,70000,20001'], env: goodEnv }))).toEqual({
      'kubeletApi.ports[1]': 'must be a TCP port, got 70000',
      'kubeletApi.ports': 'must not list a port twice, got 20001,70000,20001',
    });
    expect(Object.keys(fieldErrors(() => loadConfig({ argv: [...goodFlags, '--kubelet-port', '65530', '--kubelet-port-count', '16'], env: goodEnv })))).toEqual(['kubeletApi.portCount']);
  });

  it('lets flags override env and env override the file', () => {
    const file = 'clusterId: from-file\nregionId: cn-beijing\nsync:\n  workers: 7\n';
    const { config } = loadConfig({
      argv: ['--config', '/etc/vn.yaml', '--cluster-id', 'from-flag', '--vswitches', 'vsw-a', '--security-group', 'sg-1'],
      env: { ...goodEnv, ECI_VN_CLUSTER_ID: 'from-env', ALIBABA_CLOUD_REGION_ID: 'cn-shanghai' },
      readFile: () => file,
    });
    expect(config.clusterId).toBe('from-flag');
    expect(config.regionId).toBe('cn-shanghai');
    expect(config.sync.workers).toBe(7);
  });

  it('names every field at fault', () => {
    const errors = fieldErrors(() =>
      loadConfig({ argv: ['--cluster-id', 'Bad_Name', '--vswitches', 'vsw-a,subnet-1', '--security-group', 'default', '--workers', 'lots'], env: {} }),
    );
    expect(Object.keys(errors).sort()).toEqual(
      [
        'clusterId',
        'regionId',
        'cloud.eciEndpoint',
        'cloud.vpcEndpoint',
        'cloud.ecsEndpoint',
        'cloud.accessKeyId',
        'cloud.accessKeySecret',
        'defaultNetwork.vSwitchIds[1]',
        'defaultNetwork.securityGroupId',
        'sync.workers',
      ].sort(),
    );
    expect(errors['defaultNetwork.vSwitchIds[1]']).toContain('"subnet-1"');
    expect(errors['sync.workers']).toContain('"lots" is not a number');
  });

  it('the default network may be left to kube-system\'s eci-profile and eni-config (docs/networks.md)', () => {
    const errors = fieldErrors(() => loadConfig({ argv: ['--cluster-id', 'c1'], env: {} }));
    expect(Object.keys(errors).filter((f) => f.startsWith('defaultNetwork'))).toEqual([]);
  });

  it('refuses unknown flags, unknown file fields and a secret in the config file', () => {
    expect(fieldErrors(() => loadConfig({ argv: ['--colour', 'blue'], env: goodEnv })).flags).toMatch(/colour/);
    const errors = fieldErrors(() =>
      loadConfig({ argv: [...goodFlags, '--config', 'f.yaml'], env: goodEnv, readFile: () => 'sync:\n  wrokers: 3\ncloud:\n  accessKeySecret: x\n' }),
    );
    expect(errors['sync.wrokers']).toMatch(/unknown field/);
    expect(errors['cloud.accessKeySecret']).toMatch(/Secret-mounted file/);
  });

  it('refuses the AccessKey id in the config file too, naming where it belongs', () => {
    const errors = fieldErrors(() => loadConfig({ argv: [...goodFlags, '--config', 'f.yaml'], env: goodEnv, readFile: () => 'cloud:\n  accessKeyId: LTAIinfile\n' }));
    expect(errors).toEqual({ 'cloud.accessKeyId': expect.stringMatching(/ALIBABA_CLOUD_ACCESS_KEY_ID or a Secret-mounted file/) });
  });

  it("gives each endpoint's own host as the example", () => {
    const errors = fieldErrors(() => loadConfig({ argv: ['--cluster-id', 'c1', '--vswitches', 'vsw-a', '--security-group', 'sg-1'], env: goodEnv }));
    expect(errors['cloud.eciEndpoint']).toContain('e.g. eci.cn-hangzhou.aliyuncs.com');
    expect(errors['cloud.vpcEndpoint']).toContain('e.g. vpc.cn-hangzhou.aliyuncs.com');
    expect(errors['cloud.ecsEndpoint']).toContain('e.g. ecs.cn-hangzhou.aliyuncs.com');
  });

  it('names a file value of the wrong type by its field and what was expected', () => {
    const errors = fieldErrors(() => loadConfig({ argv: [...goodFlags, '--config', 'f.yaml'], env: goodEnv, readFile: () => 'sync:\n  workers: many\nwebhook: 5\n' }));
    expect(errors).toEqual({ 'sync.workers': 'must be a number, got "many"', webhook: 'must be a mapping, got 5' });
  });

  it('reads the AccessKey from mounted files and never puts file content in an error', () => {
    const files: Record<string, string> = { '/keys/id': 'LTAIfromfile\n', '/keys/secret': `${SECRET}\n` };
    const { config } = loadConfig({
      argv: [...goodFlags, '--access-key-id-file', '/keys/id', '--access-key-secret-file', '/keys/secret'],
      env: {},
      readFile: (p) => {
        const text = files[p];
        if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        return text;
      },
    });
    expect(config.cloud.accessKeyId).toBe('LTAIfromfile');
    expect(config.cloud.accessKeySecret).toBe(SECRET);
  });

  it('redacts the secret for logging', () => {
    const { config } = loadConfig({ argv: goodFlags, env: goodEnv });
    const text = JSON.stringify(redactConfig(config));
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('LTAI5tExampleKeyId');
    expect(config.cloud.accessKeySecret).toBe(SECRET); // the original is untouched
  });
});

describe('loadConfig: malformed rate limits in the file (found by the chaos corpus)', () => {
  const load = (file: string) => () => loadConfig({ argv: ['--config', '/etc/vn.yaml', ...goodFlags], env: goodEnv, readFile: () => file });

  it('names an action whose limit is null instead of crashing', () => {
    const errors = fieldErrors(load('cloud:\n  rateLimits:\n    CreateContainerGroup: null\n'));
    expect(errors['cloud.rateLimits.CreateContainerGroup']).toMatch(/must be a mapping/);
  });

  it('refuses rateLimits or node.labels that are not mappings', () => {
    expect(fieldErrors(load('cloud:\n  rateLimits: 5\n'))['cloud.rateLimits']).toMatch(/must be a mapping/);
    expect(fieldErrors(load('node:\n  labels: a=b\n'))['node.labels']).toMatch(/must be a mapping/);
  });
});

describe('validateConfig: node labels (found by the chaos corpus)', () => {
  it('names a label whose value is not a string instead of starting with it', () => {
    const load = () => loadConfig({ argv: ['--config', '/etc/vn.yaml', ...goodFlags], env: goodEnv, readFile: () => 'node:\n  labels:\n    team: 5\n    ok: web\n' });
    const errors = fieldErrors(load);
    expect(errors['node.labels.team']).toMatch(/must be a label value/);
    expect(errors['node.labels.ok']).toBeUndefined();
  });
});
