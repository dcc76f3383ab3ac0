// Builds the ProviderConfig from, lowest precedence first: built-in defaults, an optional YAML
// file (--config), environment variables, then command-line flags. The AccessKey comes from the
// standard Alibaba Cloud env vars or from files (a mounted Secret), never from a flag: flags show
// up in `ps` and in Pod specs.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_CONFIG,
  InvalidConfigError,
  validateConfig,
  type ConfigFieldError,
  type ProviderConfig,
} from '../../provider/config/config.ts';

type Kind = 'string' | 'number' | 'list' | 'numbers' | 'boolean';

interface Setting {
  /** Dotted path in ProviderConfig. */
  path: string;
  flag: string;
  env: string;
  kind: Kind;
  help: string;
}

/** Every setting that has a flag and an env var; the file can set any field. */
export const SETTINGS: readonly Setting[] = [
  { path: 'clusterId', flag: 'cluster-id', env: 'ECI_VN_CLUSTER_ID', kind: 'string', help: 'cluster id tagged on every container group' },
  { path: 'regionId', flag: 'region', env: 'ALIBABA_CLOUD_REGION_ID', kind: 'string', help: 'region, e.g. cn-hangzhou' },
  { path: 'cloud.eciEndpoint', flag: 'eci-endpoint', env: 'ECI_VN_ECI_ENDPOINT', kind: 'string', help: 'ECI endpoint host[:port] (default eci.<region>.aliyuncs.com)' },
  { path: 'cloud.vpcEndpoint', flag: 'vpc-endpoint', env: 'ECI_VN_VPC_ENDPOINT', kind: 'string', help: 'VPC endpoint host[:port] (default vpc.<region>.aliyuncs.com)' },
  { path: 'cloud.ecsEndpoint', flag: 'ecs-endpoint', env: 'ECI_VN_ECS_ENDPOINT', kind: 'string', help: 'ECS endpoint host[:port], for DescribeSecurityGroups (default ecs.<region>.aliyuncs.com)' },
  { path: 'cloud.protocol', flag: 'cloud-protocol', env: 'ECI_VN_CLOUD_PROTOCOL', kind: 'string', help: 'https (default) or http' },
  { path: 'defaultNetwork.vSwitchIds', flag: 'vswitches', env: 'ECI_VN_VSWITCHES', kind: 'list', help: 'default vSwitch ids, comma separated; virtual nodes are made for their zones' },
  { path: 'defaultNetwork.securityGroupId', flag: 'security-group', env: 'ECI_VN_SECURITY_GROUP', kind: 'string', help: 'default security group id' },
  { path: 'defaultNetwork.vSwitchSelectionPolicy', flag: 'vswitch-policy', env: 'ECI_VN_VSWITCH_POLICY', kind: 'string', help: 'ordered | random | most' },
  { path: 'node.namePrefix', flag: 'node-name-prefix', env: 'ECI_VN_NODE_NAME_PREFIX', kind: 'string', help: 'virtual nodes are named <prefix>-<zone>' },
  { path: 'node.internalIP', flag: 'node-ip', env: 'ECI_VN_NODE_IP', kind: 'string', help: 'address the apiserver reaches the kubelet API on' },
  { path: 'node.kubeletPort', flag: 'kubelet-port', env: 'ECI_VN_KUBELET_PORT', kind: 'number', help: 'kubelet API port' },
  { path: 'node.maxPods', flag: 'max-pods', env: 'ECI_VN_MAX_PODS', kind: 'number', help: 'upper bound on pods per virtual node' },
  { path: 'webhook.port', flag: 'webhook-port', env: 'ECI_VN_WEBHOOK_PORT', kind: 'number', help: 'admission webhook HTTPS port, 0 = off' },
  { path: 'webhook.certFile', flag: 'webhook-cert-file', env: 'ECI_VN_WEBHOOK_CERT_FILE', kind: 'string', help: 'webhook serving certificate (PEM)' },
  { path: 'webhook.keyFile', flag: 'webhook-key-file', env: 'ECI_VN_WEBHOOK_KEY_FILE', kind: 'string', help: 'webhook serving key (PEM)' },
  { path: 'webhook.serverless', flag: 'serverless', env: 'ECI_VN_SERVERLESS', kind: 'boolean', help: 'true: every admitted pod tolerates the virtual-node taint' },
  { path: 'clusterDNS.nameServers', flag: 'cluster-dns', env: 'ECI_VN_CLUSTER_DNS', kind: 'list', help: 'cluster DNS server IPs for ClusterFirst pods (the kube-dns Service IP)' },
  { path: 'clusterDNS.clusterDomain', flag: 'cluster-domain', env: 'ECI_VN_CLUSTER_DOMAIN', kind: 'string', help: 'cluster domain (default cluster.local)' },
  { path: 'kubernetes.kubeconfig', flag: 'kubeconfig', env: 'KUBECONFIG', kind: 'string', help: 'kubeconfig path(s), \':\'-separated (default: KUBECONFIG, ~/.kube/config, then in-cluster)' },
  { path: 'kubernetes.qps', flag: 'kube-api-qps', env: 'ECI_VN_KUBE_API_QPS', kind: 'number', help: 'client-side apiserver rate limit in requests per second (token bucket, watches included), 0 = none' },
  { path: 'kubernetes.burst', flag: 'kube-api-burst', env: 'ECI_VN_KUBE_API_BURST', kind: 'number', help: 'client-side apiserver burst, 0 = 2 x --kube-api-qps' },
  { path: 'sync.workers', flag: 'workers', env: 'ECI_VN_WORKERS', kind: 'number', help: 'pods synced at once' },
  { path: 'sync.statusPollIntervalMs', flag: 'status-poll-interval-ms', env: 'ECI_VN_STATUS_POLL_INTERVAL_MS', kind: 'number', help: 'status poll interval' },
  { path: 'metrics.port', flag: 'metrics-port', env: 'ECI_VN_METRICS_PORT', kind: 'number', help: 'Prometheus /metrics HTTP port, 0 = off' },
  { path: 'metrics.host', flag: 'metrics-host', env: 'ECI_VN_METRICS_HOST', kind: 'string', help: 'metrics listen address (default 0.0.0.0)' },
  { path: 'kubeletApi.enabled', flag: 'kubelet-api', env: 'ECI_VN_KUBELET_API', kind: 'boolean', help: 'true: serve the kubelet API (kubectl logs/exec, stats) on --node-ip:--kubelet-port' },
  { path: 'kubeletApi.host', flag: 'kubelet-api-host', env: 'ECI_VN_KUBELET_API_HOST', kind: 'string', help: 'kubelet API listen address (default 0.0.0.0)' },
  { path: 'kubeletApi.certFile', flag: 'kubelet-api-cert-file', env: 'ECI_VN_KUBELET_API_CERT_FILE', kind: 'string', help: 'kubelet API serving certificate (PEM); empty = self-signed' },
  { path: 'kubeletApi.keyFile', flag: 'kubelet-api-key-file', env: 'ECI_VN_KUBELET_API_KEY_FILE', kind: 'string', help: 'kubelet API serving key (PEM)' },
  { path: 'kubeletApi.portCount', flag: 'kubelet-port-count', env: 'ECI_VN_KUBELET_PORT_COUNT', kind: 'number', help: 'one kubelet API port per virtual node: this many ports from --kubelet-port (default 16)' },
  { path: 'kubeletApi.ports', flag: 'kubelet-ports', env: 'ECI_VN_KUBELET_PORTS', kind: 'numbers', help: 'the kubelet API ports to give the virtual nodes, comma separated (replaces --kubelet-port/--kubelet-port-count)' },
  { path: 'kubeletApi.anonymousStats', flag: 'kubelet-api-anonymous-stats', env: 'ECI_VN_KUBELET_API_ANONYMOUS_STATS', kind: 'boolean', help: 'UNSAFE opt-in: /stats/summary and /metrics/resource without credentials, authorized as system:anonymous (default false)' },
  { path: 'kubeletApi.clientCAFile', flag: 'kubelet-api-client-ca-file', env: 'ECI_VN_KUBELET_API_CLIENT_CA_FILE', kind: 'string', help: 'CA of accepted client certificates (the apiserver\'s kubelet client CA)' },
  { path: 'leaderElection.enabled', flag: 'leader-elect', env: 'ECI_VN_LEADER_ELECTION', kind: 'boolean', help: 'true: only the replica holding the Lease runs nodes and pods (all serve the webhook)' },
  { path: 'leaderElection.namespace', flag: 'leader-elect-namespace', env: 'ECI_VN_LEADER_ELECTION_NAMESPACE', kind: 'string', help: 'namespace of the Lease (default: env POD_NAMESPACE, else eci-virtual-node)' },
  { path: 'leaderElection.leaseName', flag: 'leader-elect-lease-name', env: 'ECI_VN_LEADER_ELECTION_LEASE_NAME', kind: 'string', help: 'name of the Lease (default eci-virtual-node-<cluster id>)' },
  { path: 'leaderElection.identity', flag: 'leader-elect-identity', env: 'ECI_VN_LEADER_ELECTION_IDENTITY', kind: 'string', help: 'this replica\'s name (default: env POD_NAME, else the hostname; a random suffix is added)' },
  { path: 'leaderElection.leaseDurationSeconds', flag: 'leader-elect-lease-duration-seconds', env: 'ECI_VN_LEADER_ELECTION_LEASE_DURATION_SECONDS', kind: 'number', help: 'followers take over this long after the last renewal (default 15)' },
  { path: 'leaderElection.renewDeadlineMs', flag: 'leader-elect-renew-deadline-ms', env: 'ECI_VN_LEADER_ELECTION_RENEW_DEADLINE_MS', kind: 'number', help: 'a leader that cannot renew for this long steps down (default 10000)' },
  { path: 'leaderElection.retryPeriodMs', flag: 'leader-elect-retry-period-ms', env: 'ECI_VN_LEADER_ELECTION_RETRY_PERIOD_MS', kind: 'number', help: 'poll and renew period (default 2000)' },
];

export interface LoadInputs {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => string;
  /**
   * Validate only these fields (dotted paths; a path covers its children): for commands that
   * need part of the configuration (`explain` needs the kubeconfig and the cloud, not vSwitches).
   * Default: every field.
   */
  fields?: readonly string[];
}

export interface LoadedConfig {
  config: ProviderConfig;
  /** Flags the caller's command handles itself (positional args, --help). */
  help: boolean;
}

/** Parses flags, env and files into a validated config; throws InvalidConfigError naming fields. */
export function loadConfig({ argv, env, readFile = (p) => readFileSync(p, 'utf8'), fields }: LoadInputs): LoadedConfig {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    config: { type: 'string' },
    help: { type: 'boolean' },
    'access-key-id-file': { type: 'string' },
    'access-key-secret-file': { type: 'string' },
  };
  for (const s of SETTINGS) options[s.flag] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new InvalidConfigError([{ field: 'flags', message: (err as Error).message }]);
  }
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  if (flags.help === true) return { config: structuredClone(DEFAULT_CONFIG), help: true };

  const errors: ConfigFieldError[] = [];
  const config: ProviderConfig = structuredClone(DEFAULT_CONFIG);

  const configPath = typeof flags.config === 'string' ? flags.config : env.ECI_VN_CONFIG;
  if (configPath !== undefined && configPath !== '') {
    let fileText: string | undefined;
    try {
      fileText = readFile(configPath);
    } catch (err) {
      errors.push({ field: 'config', message: `cannot read ${configPath}: ${(err as Error).message}` });
    }
    if (fileText !== undefined) mergeFile(config, fileText, configPath, errors);
  }

  for (const s of SETTINGS) {
    const fromEnv = env[s.env];
    if (fromEnv !== undefined && fromEnv !== '') assign(config, s, fromEnv, `env ${s.env}`, errors);
    const fromFlag = flags[s.flag];
    if (typeof fromFlag === 'string') assign(config, s, fromFlag, `--${s.flag}`, errors);
  }

  const idFile = typeof flags['access-key-id-file'] === 'string' ? flags['access-key-id-file'] : env.ALIBABA_CLOUD_ACCESS_KEY_ID_FILE;
  const secretFile =
    typeof flags['access-key-secret-file'] === 'string' ? flags['access-key-secret-file'] : env.ALIBABA_CLOUD_ACCESS_KEY_SECRET_FILE;
  config.cloud.accessKeyId = env.ALIBABA_CLOUD_ACCESS_KEY_ID ?? config.cloud.accessKeyId;
  config.cloud.accessKeySecret = env.ALIBABA_CLOUD_ACCESS_KEY_SECRET ?? config.cloud.accessKeySecret;
  for (const [file, key, field] of [
    [idFile, 'accessKeyId', 'cloud.accessKeyId'],
    [secretFile, 'accessKeySecret', 'cloud.accessKeySecret'],
  ] as const) {
    if (file === undefined || file === '') continue;
    try {
      config.cloud[key] = readFile(file).trim();
    } catch (err) {
      // The message names the file, never its content.
      errors.push({ field, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
    }
  }

  if (config.regionId !== '') {
    if (config.cloud.eciEndpoint === '') config.cloud.eciEndpoint = `eci.${config.regionId}.aliyuncs.com`;
    if (config.cloud.vpcEndpoint === '') config.cloud.vpcEndpoint = `vpc.${config.regionId}.aliyuncs.com`;
    if (config.cloud.ecsEndpoint === '') config.cloud.ecsEndpoint = `ecs.${config.regionId}.aliyuncs.com`;
  }

  // Leader election: the Deployment passes its pod's name and namespace (downward API).
  if (config.leaderElection.namespace === '') config.leaderElection.namespace = env.POD_NAMESPACE || 'eci-virtual-node';
  if (config.leaderElection.identity === '') config.leaderElection.identity = env.POD_NAME || hostname();
  if (config.leaderElection.leaseName === '' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(config.clusterId)) config.leaderElection.leaseName = `eci-virtual-node-${config.clusterId}`;

  const covered = (field: string) => fields === undefined || fields.some((f) => field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`));
  errors.push(...validateConfig(config).filter((e) => covered(e.field)));
  if (errors.length > 0) throw new InvalidConfigError(errors);
  return { config, help: false };
}

export function configUsage(): string {
  const rows: [string, string][] = [
    ['--config FILE', 'YAML file with any ProviderConfig field [env ECI_VN_CONFIG]'],
    ...SETTINGS.map((s): [string, string] => [`--${s.flag} ${s.kind === 'list' ? 'A,B' : s.kind === 'numbers' ? 'N,M' : s.kind === 'number' ? 'N' : s.kind === 'boolean' ? 'true|false' : 'VALUE'}`, `${s.help} [env ${s.env}]`]),
    ['--access-key-id-file FILE', 'file holding the AccessKey id [env ALIBABA_CLOUD_ACCESS_KEY_ID_FILE]'],
    ['--access-key-secret-file FILE', 'file holding the AccessKey secret [env ALIBABA_CLOUD_ACCESS_KEY_SECRET_FILE]'],
  ];
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [...rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`), '  (or env ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET)'].join('\n');
}

function assign(config: ProviderConfig, s: Setting, raw: string, source: string, errors: ConfigFieldError[]): void {
  let value: unknown = raw;
  if (s.kind === 'number') {
    value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) {
      errors.push({ field: s.path, message: `${source}: "${raw}" is not a number` });
      return;
    }
  } else if (s.kind === 'boolean') {
    if (raw !== 'true' && raw !== 'false') {
      errors.push({ field: s.path, message: `${source}: must be true or false, got "${raw}"` });
      return;
    }
    value = raw === 'true';
  } else if (s.kind === 'list' || s.kind === 'numbers') {
    const items = raw
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    if (s.kind === 'numbers') {
      const bad = items.find((v) => !Number.isFinite(Number(v)));
      if (bad !== undefined) {
        errors.push({ field: s.path, message: `${source}: "${bad}" is not a number` });
        return;
      }
    }
    value = s.kind === 'numbers' ? items.map(Number) : items;
  }
  setPath(config as unknown as Record<string, unknown>, s.path, value);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

/** Merges a YAML file over the defaults, refusing unknown keys and wrong types by path. */
function mergeFile(config: ProviderConfig, text: string, path: string, errors: ConfigFieldError[]): void {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    errors.push({ field: 'config', message: `${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  if (doc === null || doc === undefined) return;
  mergeInto(config as unknown as Record<string, unknown>, doc, '', errors, path);
}

function mergeInto(target: Record<string, unknown>, source: unknown, prefix: string, errors: ConfigFieldError[], file: string): void {
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    errors.push({ field: prefix || 'config', message: `${file}: must be a mapping` });
    return;
  }
  for (const [key, value] of Object.entries(source)) {
    const field = prefix === '' ? key : `${prefix}.${key}`;
    if (field === 'cloud.accessKeySecret') {
      errors.push({ field, message: `${file}: put the secret in a Secret-mounted file (--access-key-secret-file), not in the config file` });
      continue;
    }
    if (!(key in target)) {
      errors.push({ field, message: `${file}: unknown field` });
      continue;
    }
    const current = target[key];
    const freeMap = field === 'node.labels' || field === 'cloud.rateLimits';
    if (freeMap && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      errors.push({ field, message: `${file}: must be a mapping, got ${JSON.stringify(value)}` });
    } else if (typeof current === 'object' && current !== null && !Array.isArray(current) && !freeMap) {
      mergeInto(current as Record<string, unknown>, value, field, errors, file);
    } else if (Array.isArray(current) && !Array.isArray(value)) {
      errors.push({ field, message: `${file}: must be a list` });
    } else if (!freeMap && !Array.isArray(current) && typeof value !== typeof current) {
      errors.push({ field, message: `${file}: must be a ${typeof current}, got ${JSON.stringify(value)}` });
    } else {
      target[key] = freeMap ? { ...(current as object), ...(value as object) } : value;
    }
  }
}
