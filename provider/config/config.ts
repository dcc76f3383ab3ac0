// The provider's configuration as one valibot schema: its shape (ProviderConfig is inferred from
// it), its defaults, its validation with messages naming the field at fault, and the flag and env
// name of each setting (metadata the loader reads). Loading it from flags, env and files is
// adapters/config's job; this module only decides what a valid configuration is.
import * as v from 'valibot';

/** How a setting is given outside the file; read by adapters/config through configSettings(). */
export type SettingMeta = {
  flag?: string;
  env?: string;
  help?: string;
  /** Refused in the config file with this message (the AccessKey: env or mounted files only). */
  notInFile?: string;
};
const meta = <T>(m: SettingMeta) => v.metadata<T, SettingMeta>(m);

/** A value as the messages show it: strings quoted, numbers bare. */
const got = (x: unknown): string => (typeof x === 'string' ? `"${x}"` : typeof x === 'number' ? String(x) : (JSON.stringify(x) ?? String(x)));
const saying = (text: string) => (issue: v.BaseIssue<unknown>) => `${text}, got ${got(issue.input)}`;

const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;
const VSWITCH_ID = /^vsw-[a-z0-9]+$/;
const SECURITY_GROUP_ID = /^sg-[a-z0-9]+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

const isPort = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;
const positive = (def: number, m?: SettingMeta) =>
  v.optional(v.pipe(v.number(), v.check((n) => Number.isFinite(n) && n > 0, saying('must be a positive number')), meta(m ?? {})), def);
const positiveInteger = (def: number, m?: SettingMeta) =>
  v.optional(v.pipe(v.number(), v.check((n) => Number.isInteger(n) && n >= 1, saying('must be a positive integer')), meta(m ?? {})), def);
/** A listening port where 0 means "not served". */
const optionalPort = (def: number, what: string, m: SettingMeta) =>
  v.optional(v.pipe(v.number(), v.check((n) => n === 0 || isPort(n), saying(`must be a TCP port, or 0 to not serve ${what}`)), meta(m)), def);
const text = (def: string, m?: SettingMeta) => v.optional(v.pipe(v.string(), meta(m ?? {})), def);
const flag = (def: boolean, m: SettingMeta) => v.optional(v.pipe(v.boolean(), meta(m)), def);
const endpoint = (service: 'eci' | 'vpc' | 'ecs', m: SettingMeta) =>
  v.optional(
    v.pipe(
      v.string(),
      v.check((s) => s !== '', `must be set (host[:port], e.g. ${service}.cn-hangzhou.aliyuncs.com)`),
      v.check((s) => !/^[a-z]+:\/\//i.test(s), saying('must be host[:port] without a scheme (the scheme is cloud.protocol)')),
      meta(m),
    ),
    '',
  );
/** A section's or map's message: an unknown key in it, or a value that is not a mapping. */
const mapping = (what: string) => (issue: v.BaseIssue<unknown>) =>
  issue.expected === 'never' ? 'unknown field' : `must be a mapping${what}, got ${got(issue.input)}`;
const rateLimit = (perSecond: number, burst: number) => ({ perSecond, burst });

export const VSWITCH_SELECTION_POLICY = v.picklist(['ordered', 'random', 'most'], saying('must be ordered, random or most'));
export type VSwitchSelectionPolicy = v.InferOutput<typeof VSWITCH_SELECTION_POLICY>;

const cloud = v.strictObject({
  eciEndpoint: endpoint('eci', { flag: 'eci-endpoint', env: 'ECI_VN_ECI_ENDPOINT', help: 'ECI endpoint host[:port] (default eci.<region>.aliyuncs.com)' }),
  vpcEndpoint: endpoint('vpc', { flag: 'vpc-endpoint', env: 'ECI_VN_VPC_ENDPOINT', help: 'VPC endpoint host[:port] (default vpc.<region>.aliyuncs.com)' }),
  /** ECS (DescribeSecurityGroups: PodNetworking security groups are checked against their vSwitches' VPC). */
  ecsEndpoint: endpoint('ecs', { flag: 'ecs-endpoint', env: 'ECI_VN_ECS_ENDPOINT', help: 'ECS endpoint host[:port], for DescribeSecurityGroups (default ecs.<region>.aliyuncs.com)' }),
  protocol: v.optional(
    v.pipe(v.picklist(['https', 'http'], saying('must be https or http')), meta({ flag: 'cloud-protocol', env: 'ECI_VN_CLOUD_PROTOCOL', help: 'https (default) or http' })),
    'https',
  ),
  /** Never logged (see redactConfig); env or mounted files only, never a flag or the config file. */
  accessKeyId: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => s !== '', 'must be set (env ALIBABA_CLOUD_ACCESS_KEY_ID or a credentials file)'),
      meta({ notInFile: 'put the AccessKey in env ALIBABA_CLOUD_ACCESS_KEY_ID or a Secret-mounted file (--access-key-id-file), not in the config file' }),
    ),
    '',
  ),
  accessKeySecret: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => s !== '', 'must be set (env ALIBABA_CLOUD_ACCESS_KEY_SECRET or a credentials file)'),
      meta({ notInFile: 'put the secret in a Secret-mounted file (--access-key-secret-file), not in the config file' }),
    ),
    '',
  ),
  /** Per-action call budgets for the whole account (all virtual nodes share them); the file adds to these. */
  rateLimits: v.optional(
    v.record(
      v.string(),
      v.strictObject({ perSecond: positive(1), burst: positive(1) }, mapping(' { perSecond, burst }')),
      mapping(' of action -> { perSecond, burst }'),
    ),
    // ECI's documented quotas (see docs/configuration.md): create/delete burst 100 at 20/s.
    () => ({
      CreateContainerGroup: rateLimit(20, 100),
      DeleteContainerGroup: rateLimit(20, 100),
      DescribeContainerGroups: rateLimit(33, 33),
      DescribeContainerGroupStatus: rateLimit(166, 166),
      DescribeVSwitches: rateLimit(10, 10),
      // The kubelet API's actions: DescribeContainerLog and ExecContainerCommand 500/min, the metric 2000/min.
      DescribeContainerLog: rateLimit(8, 8),
      ExecContainerCommand: rateLimit(8, 8),
      DescribeContainerGroupMetric: rateLimit(33, 33),
    }),
  ),
  timeoutMs: positive(15_000),
}, mapping(''));

/**
 * The network of pods no PodNetworking matches. Each field set here wins over kube-system's
 * eci-profile and eni-config (docs/networks.md); empty: those ConfigMaps provide it.
 */
const defaultNetwork = v.strictObject({
  vSwitchIds: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.regex(VSWITCH_ID, saying('must look like vsw-xxxx')))),
      v.check((ids) => new Set(ids).size === ids.length, 'lists a vSwitch twice'),
      meta({ flag: 'vswitches', env: 'ECI_VN_VSWITCHES', help: 'default vSwitch ids, comma separated (over kube-system eci-profile and eni-config); virtual nodes are made for their zones' }),
    ),
    () => [],
  ),
  securityGroupId: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => s === '' || SECURITY_GROUP_ID.test(s), saying('must look like sg-xxxx')),
      meta({ flag: 'security-group', env: 'ECI_VN_SECURITY_GROUP', help: 'default security group id (over kube-system eci-profile and eni-config)' }),
    ),
    '',
  ),
  vSwitchSelectionPolicy: v.optional(v.pipe(VSWITCH_SELECTION_POLICY, meta({ flag: 'vswitch-policy', env: 'ECI_VN_VSWITCH_POLICY', help: 'ordered | random | most' })), 'ordered'),
}, mapping(''));

/** Per-network IP checks (issue 17): headroom, and the drift tripwire. */
const networkHealth = v.strictObject({
  /** A network is low on IPs below this many free IPs per pod it serves (the seed article's advice: 2). */
  ipHeadroomRatio: positive(2, { flag: 'ip-headroom-ratio', env: 'ECI_VN_IP_HEADROOM_RATIO', help: 'free IPs wanted per pod of a network; below it: IPHeadroom=False, a Warning event (default 2)' }),
  /** How often headroom and pod IPs are checked (over the vSwitches the node manager already polls: no extra cloud call). */
  checkIntervalMs: positive(10_000, { flag: 'network-check-interval-ms', env: 'ECI_VN_NETWORK_CHECK_INTERVAL_MS', help: 'how often IP headroom and pod IPs are checked (default 10000)' }),
}, mapping(''));

const node = v.strictObject({
  /** Virtual nodes are named `<namePrefix>-<zone>`. */
  namePrefix: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => DNS_LABEL.test(s) && s.length <= 40, saying('must be a DNS label of at most 40 characters (the zone is appended)')),
      meta({ flag: 'node-name-prefix', env: 'ECI_VN_NODE_NAME_PREFIX', help: 'virtual nodes are named <prefix>-<zone>' }),
    ),
    'virtual-node-eci',
  ),
  cpu: v.optional(v.pipe(v.string(), v.regex(QUANTITY, saying('must be a Kubernetes quantity'))), '20000'),
  memory: v.optional(v.pipe(v.string(), v.regex(QUANTITY, saying('must be a Kubernetes quantity'))), '80000Gi'),
  /** Upper bound on pods per node; the zone's free IPs lower it further. */
  maxPods: positiveInteger(20_000, { flag: 'max-pods', env: 'ECI_VN_MAX_PODS', help: 'upper bound on pods per virtual node' }),
  /** Address the kubelet API is reachable on (node InternalIP) and its port. */
  internalIP: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => s !== '', 'must be set (the address the apiserver reaches the kubelet API on)'),
      meta({ flag: 'node-ip', env: 'ECI_VN_NODE_IP', help: 'address the apiserver reaches the kubelet API on' }),
    ),
    '127.0.0.1',
  ),
  kubeletPort: v.optional(v.pipe(v.number(), v.check(isPort, saying('must be a TCP port')), meta({ flag: 'kubelet-port', env: 'ECI_VN_KUBELET_PORT', help: 'kubelet API port' })), 10250),
  /** Extra labels on every virtual node ("team: 5" in YAML is a number, not a label value). */
  labels: v.optional(
    v.record(
      v.string(),
      v.pipe(
        v.string(saying("must be a label value (a string of at most 63 letters, digits, '-', '_', '.')")),
        v.regex(LABEL_VALUE, saying("must be a label value (a string of at most 63 letters, digits, '-', '_', '.')")),
      ),
      mapping(''),
    ),
    () => ({}),
  ),
}, mapping(''));

const webhook = v.strictObject({
  /** HTTPS port of the PodNetworking admission webhook; 0 = not served by this process. */
  port: optionalPort(0, 'the webhook', { flag: 'webhook-port', env: 'ECI_VN_WEBHOOK_PORT', help: 'admission webhook HTTPS port, 0 = off' }),
  host: text('0.0.0.0'),
  /** PEM files of the serving certificate and key (e.g. a mounted Secret). */
  certFile: text('', { flag: 'webhook-cert-file', env: 'ECI_VN_WEBHOOK_CERT_FILE', help: 'webhook serving certificate (PEM)' }),
  keyFile: text('', { flag: 'webhook-key-file', env: 'ECI_VN_WEBHOOK_KEY_FILE', help: 'webhook serving key (PEM)' }),
  /** Serverless mode: every admitted pod tolerates the virtual-node taint (ACK Serverless style). */
  serverless: flag(false, { flag: 'serverless', env: 'ECI_VN_SERVERLESS', help: 'true: every admitted pod tolerates the virtual-node taint' }),
}, mapping(''));

/** Cluster DNS for pods with dnsPolicy ClusterFirst (the kube-dns Service IP); empty = the VPC's DNS. */
const clusterDNS = v.strictObject({
  nameServers: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.regex(IPV4, saying('must be an IPv4 address (the kube-dns Service IP)')))),
      meta({ flag: 'cluster-dns', env: 'ECI_VN_CLUSTER_DNS', help: 'cluster DNS server IPs for ClusterFirst pods (the kube-dns Service IP)' }),
    ),
    () => [],
  ),
  clusterDomain: v.optional(
    v.pipe(v.string(), v.regex(DNS_SUBDOMAIN, saying('must be a DNS domain such as cluster.local')), meta({ flag: 'cluster-domain', env: 'ECI_VN_CLUSTER_DOMAIN', help: 'cluster domain (default cluster.local)' })),
    'cluster.local',
  ),
}, mapping(''));

const kubernetes = v.strictObject({
  /**
   * Path to a kubeconfig, or several joined by ':' (merged, the first wins); empty = client-node's
   * default (KUBECONFIG, ~/.kube/config, then the in-cluster service account).
   */
  kubeconfig: text('', { flag: 'kubeconfig', env: 'KUBECONFIG', help: "kubeconfig path(s), ':'-separated (default: KUBECONFIG, ~/.kube/config, then in-cluster)" }),
  /** Client-side token bucket over every apiserver request: qps per second (0 = none)... */
  qps: v.optional(
    v.pipe(
      v.number(),
      v.check((n) => n >= 0, 'must be 0 (no client-side limit) or positive'),
      meta({ flag: 'kube-api-qps', env: 'ECI_VN_KUBE_API_QPS', help: 'client-side apiserver rate limit in requests per second (token bucket, watches included), 0 = none' }),
    ),
    0,
  ),
  /** ...with bursts of this many (0 = 2 x qps). */
  burst: v.optional(
    v.pipe(v.number(), v.check((n) => n >= 0, 'must be 0 or positive'), meta({ flag: 'kube-api-burst', env: 'ECI_VN_KUBE_API_BURST', help: 'client-side apiserver burst, 0 = 2 x --kube-api-qps' })),
    0,
  ),
}, mapping(''));

const sync = v.strictObject({
  /** Pods synced at once. */
  workers: positiveInteger(64, { flag: 'workers', env: 'ECI_VN_WORKERS', help: 'pods synced at once' }),
  /** Apiserver writes of the pod sync (status PATCHes) in flight at once, off the workers (the write lane). */
  writeConcurrency: positiveInteger(64, { flag: 'write-concurrency', env: 'ECI_VN_WRITE_CONCURRENCY', help: 'pod status writes in flight at once (the write lane)' }),
  /** How often DescribeContainerGroupStatus is asked what changed. */
  statusPollIntervalMs: positive(1_000, { flag: 'status-poll-interval-ms', env: 'ECI_VN_STATUS_POLL_INTERVAL_MS', help: 'status poll interval' }),
  /** Full resync of every pod (safety net under the watch). */
  resyncIntervalMs: positive(5 * 60_000),
  /** A group with no pod is deleted only after this long (a create may be in flight). */
  orphanGracePeriodMs: v.optional(v.pipe(v.number(), v.check((n) => n >= 0, 'must not be negative')), 2 * 60_000),
  backoffBaseMs: positive(500),
  /** How soon a pod waiting for free IPs (every vSwitch of its zone exhausted) is tried again. */
  waitRetryMs: positive(15_000),
  backoffMaxMs: v.optional(v.number(), 60_000),
}, mapping(''));

/** Prometheus metrics (`GET /metrics`, `/healthz`) over plain HTTP. */
const metrics = v.strictObject({
  port: optionalPort(0, 'metrics', { flag: 'metrics-port', env: 'ECI_VN_METRICS_PORT', help: 'Prometheus /metrics HTTP port, 0 = off' }),
  host: text('0.0.0.0', { flag: 'metrics-host', env: 'ECI_VN_METRICS_HOST', help: 'metrics listen address (default 0.0.0.0)' }),
}, mapping(''));

/** The kubelet API (`kubectl logs/exec`, stats) on node.internalIP:node.kubeletPort, HTTPS. */
const kubeletApi = v.strictObject({
  enabled: flag(false, { flag: 'kubelet-api', env: 'ECI_VN_KUBELET_API', help: 'true: serve the kubelet API (kubectl logs/exec, stats) on --node-ip:--kubelet-port' }),
  /** Listen address. */
  host: text('0.0.0.0', { flag: 'kubelet-api-host', env: 'ECI_VN_KUBELET_API_HOST', help: 'kubelet API listen address (default 0.0.0.0)' }),
  /** PEM serving certificate and key; both empty = a self-signed pair made at start (like kubelet). */
  certFile: text('', { flag: 'kubelet-api-cert-file', env: 'ECI_VN_KUBELET_API_CERT_FILE', help: 'kubelet API serving certificate (PEM); empty = self-signed' }),
  keyFile: text('', { flag: 'kubelet-api-key-file', env: 'ECI_VN_KUBELET_API_KEY_FILE', help: 'kubelet API serving key (PEM)' }),
  /** PEM CA(s) whose client certificates are accepted (the apiserver's kubelet client CA); empty = bearer tokens only. */
  clientCAFile: text('', { flag: 'kubelet-api-client-ca-file', env: 'ECI_VN_KUBELET_API_CLIENT_CA_FILE', help: "CA of accepted client certificates (the apiserver's kubelet client CA)" }),
  /**
   * Each virtual node has its own listener and port: the pool is `ports` when listed, else
   * `portCount` ports from node.kubeletPort. A node takes the first free port of the pool.
   */
  portCount: v.optional(
    v.pipe(
      v.number(),
      v.check((n) => Number.isInteger(n) && n >= 1, saying('must be a positive integer with node.kubeletPort + portCount - 1 <= 65535 (one port per virtual node)')),
      meta({ flag: 'kubelet-port-count', env: 'ECI_VN_KUBELET_PORT_COUNT', help: 'one kubelet API port per virtual node: this many ports from --kubelet-port (default 16)' }),
    ),
    16,
  ),
  ports: v.optional(
    v.pipe(
      v.array(v.pipe(v.number(), v.check(isPort, saying('must be a TCP port')))),
      v.check((ports) => new Set(ports).size === ports.length, (issue) => `must not list a port twice, got ${issue.input.join(',')}`),
      meta({ flag: 'kubelet-ports', env: 'ECI_VN_KUBELET_PORTS', help: 'the kubelet API ports to give the virtual nodes, comma separated (replaces --kubelet-port/--kubelet-port-count)' }),
    ),
    () => [],
  ),
  /**
   * Opt-in, default false: GET /stats/summary and /metrics/resource without credentials are
   * authorized (SubjectAccessReview) as system:anonymous instead of refused with 401.
   */
  anonymousStats: flag(false, {
    flag: 'kubelet-api-anonymous-stats',
    env: 'ECI_VN_KUBELET_API_ANONYMOUS_STATS',
    help: 'UNSAFE opt-in: /stats/summary and /metrics/resource without credentials, authorized as system:anonymous (default false)',
  }),
}, mapping(''));

/**
 * Leader election among replicas (a Lease, client-go semantics): only the leader runs the
 * virtual nodes, the pod controller and the PodNetworking status writer; every replica serves
 * the webhook. Off: this process leads unconditionally.
 */
const leaderElection = v.strictObject({
  enabled: flag(false, { flag: 'leader-elect', env: 'ECI_VN_LEADER_ELECTION', help: 'true: only the replica holding the Lease runs nodes and pods (all serve the webhook)' }),
  /** Namespace of the Lease; empty = env POD_NAMESPACE, else `eci-virtual-node`. */
  namespace: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => s === '' || DNS_LABEL.test(s), saying('must be a namespace name')),
      meta({ flag: 'leader-elect-namespace', env: 'ECI_VN_LEADER_ELECTION_NAMESPACE', help: 'namespace of the Lease (default: env POD_NAMESPACE, else eci-virtual-node)' }),
    ),
    '',
  ),
  /** Name of the Lease; empty = `eci-virtual-node-<clusterId>` (one leader per cluster id). */
  leaseName: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => s === '' || DNS_SUBDOMAIN.test(s), saying("must be a DNS subdomain (lower-case letters, digits, '-', '.')")),
      meta({ flag: 'leader-elect-lease-name', env: 'ECI_VN_LEADER_ELECTION_LEASE_NAME', help: 'name of the Lease (default eci-virtual-node-<cluster id>)' }),
    ),
    '',
  ),
  /** This replica's name; empty = env POD_NAME, else the hostname. A random suffix is appended. */
  identity: text('', { flag: 'leader-elect-identity', env: 'ECI_VN_LEADER_ELECTION_IDENTITY', help: "this replica's name (default: env POD_NAME, else the hostname; a random suffix is added)" }),
  /** A follower takes over this long after it last saw the Lease change (client-go: 15). */
  leaseDurationSeconds: positiveInteger(15, { flag: 'leader-elect-lease-duration-seconds', env: 'ECI_VN_LEADER_ELECTION_LEASE_DURATION_SECONDS', help: 'followers take over this long after the last renewal (default 15)' }),
  /** A leader that could not renew for this long steps down; below the lease duration (client-go: 10 s). */
  renewDeadlineMs: v.optional(
    v.pipe(v.number(), meta({ flag: 'leader-elect-renew-deadline-ms', env: 'ECI_VN_LEADER_ELECTION_RENEW_DEADLINE_MS', help: 'a leader that cannot renew for this long steps down (default 10000)' })),
    10_000,
  ),
  /** Poll and renew period (client-go: 2 s). */
  retryPeriodMs: positive(2_000, { flag: 'leader-elect-retry-period-ms', env: 'ECI_VN_LEADER_ELECTION_RETRY_PERIOD_MS', help: 'poll and renew period (default 2000)' }),
}, mapping(''));

const providerConfigEntries = v.strictObject({
    /** Tags every container group; garbage collection only ever touches this cluster's groups. */
    clusterId: v.optional(
      v.pipe(
        v.string(),
        v.check((s) => DNS_LABEL.test(s) && s.length <= 63, saying("must be a DNS label (lower-case letters, digits, '-', at most 63)")),
        meta({ flag: 'cluster-id', env: 'ECI_VN_CLUSTER_ID', help: 'cluster id tagged on every container group' }),
      ),
      '',
    ),
    regionId: v.optional(
      v.pipe(v.string(), v.regex(REGION, saying('must be a region id such as cn-hangzhou')), meta({ flag: 'region', env: 'ALIBABA_CLOUD_REGION_ID', help: 'region, e.g. cn-hangzhou' })),
      '',
    ),
    cloud,
    defaultNetwork,
    networkHealth,
    node,
    webhook,
    clusterDNS,
    kubernetes,
    sync,
    metrics,
    kubeletApi,
    leaderElection,
  }, mapping(''));

const WEBHOOK_TLS = 'must be set when webhook.port is (the apiserver calls webhooks over HTTPS)';
const KUBELET_PAIR = 'set both kubeletApi.certFile and kubeletApi.keyFile, or neither (a self-signed pair is made)';

/** The schema: every field, then the rules that tie fields together (each reported on one field). */
export const ProviderConfigSchema = v.pipe(
  providerConfigEntries,
  v.forward(v.partialCheck([['webhook', 'port'], ['webhook', 'certFile']], (c) => c.webhook.port === 0 || c.webhook.certFile !== '', WEBHOOK_TLS), ['webhook', 'certFile']),
  v.forward(
    v.partialCheck(
      [['webhook', 'port'], ['webhook', 'certFile'], ['webhook', 'keyFile']],
      (c) => c.webhook.port === 0 || c.webhook.certFile === '' || c.webhook.keyFile !== '',
      WEBHOOK_TLS,
    ),
    ['webhook', 'keyFile'],
  ),
  v.forward(v.partialCheck([['sync', 'backoffBaseMs'], ['sync', 'backoffMaxMs']], (c) => c.sync.backoffMaxMs >= c.sync.backoffBaseMs, 'must not be below sync.backoffBaseMs'), ['sync', 'backoffMaxMs']),
  v.forward(v.partialCheck([['metrics', 'port'], ['metrics', 'host']], (c) => c.metrics.port === 0 || c.metrics.host !== '', 'must be set (e.g. 0.0.0.0) when metrics.port is'), ['metrics', 'host']),
  v.forward(v.partialCheck([['kubeletApi', 'certFile'], ['kubeletApi', 'keyFile']], (c) => c.kubeletApi.certFile !== '' || c.kubeletApi.keyFile === '', KUBELET_PAIR), ['kubeletApi', 'certFile']),
  v.forward(v.partialCheck([['kubeletApi', 'certFile'], ['kubeletApi', 'keyFile']], (c) => c.kubeletApi.keyFile !== '' || c.kubeletApi.certFile === '', KUBELET_PAIR), ['kubeletApi', 'keyFile']),
  v.forward(
    v.partialCheck([['kubeletApi', 'enabled'], ['kubeletApi', 'host']], (c) => !c.kubeletApi.enabled || c.kubeletApi.host !== '', 'must be set (e.g. 0.0.0.0) when kubeletApi.enabled is true'),
    ['kubeletApi', 'host'],
  ),
  v.forward(
    v.partialCheck(
      [['leaderElection', 'renewDeadlineMs'], ['leaderElection', 'leaseDurationSeconds']],
      (c) => c.leaderElection.renewDeadlineMs < c.leaderElection.leaseDurationSeconds * 1000,
      (issue) => `must be below leaderElection.leaseDurationSeconds (a leader steps down before anyone may take over), got ${issue.input.leaderElection.renewDeadlineMs}`,
    ),
    ['leaderElection', 'renewDeadlineMs'],
  ),
  v.forward(
    v.partialCheck(
      [['leaderElection', 'renewDeadlineMs'], ['leaderElection', 'retryPeriodMs']],
      (c) => c.leaderElection.renewDeadlineMs > 1.2 * c.leaderElection.retryPeriodMs,
      (issue) => `must be above 1.2 x leaderElection.retryPeriodMs, got ${issue.input.leaderElection.renewDeadlineMs}`,
    ),
    ['leaderElection', 'renewDeadlineMs'],
  ),
  v.forward(
    v.partialCheck(
      [['node', 'kubeletPort'], ['kubeletApi', 'portCount']],
      (c) => c.node.kubeletPort + c.kubeletApi.portCount - 1 <= 65535,
      (issue) => `must be a positive integer with node.kubeletPort + portCount - 1 <= 65535 (one port per virtual node), got ${issue.input.kubeletApi.portCount}`,
    ),
    ['kubeletApi', 'portCount'],
  ),
);

/** The configuration, inferred from the schema: the schema is the one place a field is declared. */
export type ProviderConfig = v.InferOutput<typeof ProviderConfigSchema>;

/** Every field at its default (not a valid configuration: the cluster, region and network have none). */
export const DEFAULT_CONFIG: ProviderConfig = v.getDefaults(providerConfigEntries);

export interface ConfigFieldError {
  /** Dotted path of the field at fault, e.g. `defaultNetwork.vSwitchIds[1]`. */
  field: string;
  message: string;
}

export class InvalidConfigError extends Error {
  readonly code = 'InvalidConfig';
  readonly fieldErrors: readonly ConfigFieldError[];
  constructor(fieldErrors: readonly ConfigFieldError[]) {
    super(
      `invalid configuration (${fieldErrors.length} problem${fieldErrors.length === 1 ? '' : 's'}):\n` +
        fieldErrors.map((e) => `  ${e.field}: ${e.message}`).join('\n'),
    );
    this.name = 'InvalidConfigError';
    this.fieldErrors = fieldErrors;
  }
}

/** `cloud.rateLimits.X.perSecond`, `defaultNetwork.vSwitchIds[1]`. */
function fieldOf(issue: v.BaseIssue<unknown>): string {
  let field = '';
  for (const item of issue.path ?? []) {
    const key = item.key as string | number;
    field += typeof key === 'number' ? `[${key}]` : field === '' ? key : `.${key}`;
  }
  return field || 'config';
}

const KIND_NAMES: Record<string, string> = { Array: 'list', Object: 'mapping', never: '' };
/** Messages for what the schema leaves unworded: a value of the wrong type, an unknown key. */
function defaultMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.expected === 'never') return 'unknown field';
  const expected = KIND_NAMES[issue.expected ?? ''] ?? issue.expected ?? 'valid value';
  return `must be a ${expected}, got ${got(issue.input)}`;
}

/** Every problem with a configuration, each naming its field; the typed config when there is none. */
export function parseConfig(input: unknown): { config: ProviderConfig; errors: [] } | { config: undefined; errors: ConfigFieldError[] } {
  const result = v.safeParse(ProviderConfigSchema, input, { abortEarly: false, message: defaultMessage });
  if (result.success) return { config: result.output, errors: [] };
  return { config: undefined, errors: result.issues.map((issue) => ({ field: fieldOf(issue), message: issue.message })) };
}

/** Every problem with a configuration, each naming its field; empty when valid. */
export function validateConfig(config: unknown): ConfigFieldError[] {
  return parseConfig(config).errors;
}

/** A leaf of the schema: its dotted path, what kind of value it holds, and how it is set. */
export interface ConfigSetting extends SettingMeta {
  path: string;
  kind: 'string' | 'number' | 'boolean' | 'list' | 'numbers' | 'mapping';
}

type AnySchema = v.GenericSchema & { wrapped?: AnySchema; entries?: Record<string, AnySchema>; item?: AnySchema; type: string };

/** Every leaf of the schema in declaration order (sections are walked, records are leaves). */
export function configSettings(): ConfigSetting[] {
  const out: ConfigSetting[] = [];
  const walk = (schema: AnySchema, path: string) => {
    const inner = schema.type === 'optional' ? schema.wrapped! : schema;
    if (inner.type === 'strict_object') {
      for (const [key, entry] of Object.entries(inner.entries!)) walk(entry, path === '' ? key : `${path}.${key}`);
      return;
    }
    const kind =
      inner.type === 'array' ? (inner.item!.type === 'number' ? 'numbers' : 'list')
      : inner.type === 'record' ? 'mapping'
      : inner.type === 'number' || inner.type === 'boolean' ? inner.type
      : 'string';
    const m = 'pipe' in inner ? (v.getMetadata(inner as never) as SettingMeta) : {};
    out.push({ path, kind, ...m });
  };
  walk(ProviderConfigSchema, '');
  return out;
}

/** A copy safe to log: the AccessKey secret (and most of its id) are masked. */
export function redactConfig(config: ProviderConfig): ProviderConfig {
  const id = config.cloud.accessKeyId;
  return {
    ...config,
    cloud: {
      ...config.cloud,
      accessKeyId: id.length > 4 ? `${id.slice(0, 4)}****` : '****',
      accessKeySecret: config.cloud.accessKeySecret === '' ? '' : '<redacted>',
    },
  };
}
