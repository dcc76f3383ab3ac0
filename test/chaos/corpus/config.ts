// Broken configuration: `eci-virtual-node run` must exit 2 and name the field at fault (never
// start, never crash with a stack trace, never echo a secret). Each case edits a valid base
// config file (YAML text or document), or passes flags / env over it.
type Doc = Record<string, unknown>;

export interface ConfigCase {
  id: string;
  /** The config file: a function of the valid base document, or raw text. */
  file?: ((base: Doc) => unknown) | { raw: string | Buffer };
  args?: string[];
  env?: Record<string, string>;
  /** Must appear in stderr. */
  field: string;
  quick?: boolean;
}

const set = (path: string, value: unknown) => (base: Doc) => {
  const keys = path.split('.');
  let node = base;
  for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Doc;
  node[keys.at(-1)!] = value;
  return base;
};

export const CONFIG_SECRET_IN_FILE = 'chaos-config-file-secret-0123456789';

export const CONFIG_CASES: ConfigCase[] = [
  { id: 'not-yaml', file: { raw: '{{{ : :\n  - ]' }, field: 'config', quick: true },
  { id: 'yaml-list', file: { raw: '- a\n- b\n' }, field: 'must be a mapping' },
  { id: 'binary-garbage', file: { raw: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)) }, field: 'config' },
  { id: 'alias-bomb', file: { raw: 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n' }, field: 'config' },
  { id: 'deep-nesting', file: { raw: `sync: ${'['.repeat(5000)}${']'.repeat(5000)}\n` }, field: 'not valid YAML' },
  { id: 'missing-file', file: { raw: '' }, args: ['--config', '/nonexistent/eci-vn.yaml'], field: 'config', quick: true },
  { id: 'empty-file', file: { raw: '' }, field: 'clusterId' },
  { id: 'unknown-top-level', file: set('clusterName', 'x'), field: 'clusterName', quick: true },
  { id: 'unknown-nested', file: set('sync.wrokers', 4), field: 'sync.wrokers' },
  { id: 'section-not-mapping', file: set('sync', 5), field: 'sync' },
  { id: 'workers-string', file: set('sync.workers', 'many'), field: 'sync.workers', quick: true },
  { id: 'workers-zero', file: set('sync.workers', 0), field: 'sync.workers' },
  { id: 'workers-negative', file: set('sync.workers', -5), field: 'sync.workers' },
  { id: 'cluster-id-invalid', file: set('clusterId', 'Bad_Id'), field: 'clusterId' },
  { id: 'region-invalid', file: set('regionId', 'mars'), field: 'regionId' },
  { id: 'endpoint-with-scheme', file: set('cloud.eciEndpoint', 'https://eci.cn-hangzhou.aliyuncs.com'), field: 'cloud.eciEndpoint' },
  { id: 'protocol-ftp', file: set('cloud.protocol', 'ftp'), field: 'cloud.protocol' },
  { id: 'timeout-negative', file: set('cloud.timeoutMs', -1), field: 'cloud.timeoutMs' },
  { id: 'vswitches-not-list', file: set('defaultNetwork.vSwitchIds', 'vsw-a'), field: 'defaultNetwork.vSwitchIds' },
  { id: 'vswitch-malformed', file: set('defaultNetwork.vSwitchIds', ['subnet-1']), field: 'defaultNetwork.vSwitchIds[0]', quick: true },
  { id: 'vswitch-duplicate', file: set('defaultNetwork.vSwitchIds', ['vsw-a', 'vsw-a']), field: 'defaultNetwork.vSwitchIds' },
  { id: 'security-group-malformed', file: set('defaultNetwork.securityGroupId', 'group'), field: 'defaultNetwork.securityGroupId' },
  { id: 'policy-bogus', file: set('defaultNetwork.vSwitchSelectionPolicy', 'best'), field: 'defaultNetwork.vSwitchSelectionPolicy' },
  { id: 'name-prefix-too-long', file: set('node.namePrefix', 'n'.repeat(50)), field: 'node.namePrefix' },
  { id: 'node-cpu-garbage', file: set('node.cpu', 'lots'), field: 'node.cpu' },
  { id: 'max-pods-zero', file: set('node.maxPods', 0), field: 'node.maxPods' },
  { id: 'kubelet-port-70000', file: set('node.kubeletPort', 70000), field: 'node.kubeletPort' },
  { id: 'node-labels-string', file: set('node.labels', 'a=b'), field: 'node.labels' },
  { id: 'node-labels-number-value', file: set('node.labels', { team: 5 }), field: 'node.labels' },
  { id: 'webhook-port-without-cert', file: set('webhook.port', 8443), field: 'webhook.certFile' },
  { id: 'secret-in-file', file: set('cloud.accessKeySecret', CONFIG_SECRET_IN_FILE), field: 'cloud.accessKeySecret', quick: true },
  { id: 'rate-limit-zero', file: set('cloud.rateLimits', { CreateContainerGroup: { perSecond: 0, burst: 10 } }), field: 'cloud.rateLimits.CreateContainerGroup.perSecond' },
  { id: 'rate-limit-null', file: set('cloud.rateLimits', { CreateContainerGroup: null }), field: 'cloud.rateLimits.CreateContainerGroup', quick: true },
  { id: 'rate-limits-number', file: set('cloud.rateLimits', 5), field: 'cloud.rateLimits' },
  { id: 'backoff-max-below-base', file: set('sync.backoffMaxMs', 10), field: 'sync.backoffMaxMs' },
  { id: 'renew-deadline-above-lease', file: set('leaderElection.renewDeadlineMs', 60_000), field: 'leaderElection.renewDeadlineMs' },
  { id: 'cluster-dns-not-ip', file: set('clusterDNS.nameServers', ['dns.example.com']), field: 'clusterDNS.nameServers[0]' },
  { id: 'flag-workers-abc', args: ['--workers', 'abc'], field: 'sync.workers', quick: true },
  { id: 'flag-unknown', args: ['--no-such-flag', 'x'], field: 'no-such-flag' },
  { id: 'flag-max-pods-negative', args: ['--max-pods=-1'], field: 'node.maxPods' },
  { id: 'flag-value-looks-like-flag', args: ['--max-pods', '-1'], field: '--max-pods' },
  { id: 'flag-leader-elect-maybe', args: ['--leader-elect', 'maybe'], field: 'leaderElection.enabled' },
  { id: 'env-workers-many', env: { ECI_VN_WORKERS: 'many' }, field: 'sync.workers' },
  { id: 'secret-file-missing', args: ['--access-key-secret-file', '/nonexistent/secret'], field: 'cloud.accessKeySecret' },
];
