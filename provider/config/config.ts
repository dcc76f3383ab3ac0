// The provider's configuration: one typed shape, its defaults, and a validation that names the
// field at fault. Loading it from flags, env and files is adapters/config's job; this module
// only decides what a valid configuration is.

export type VSwitchSelectionPolicy = 'ordered' | 'random' | 'most';

export interface ProviderConfig {
  /** Tags every container group; garbage collection only ever touches this cluster's groups. */
  clusterId: string;
  regionId: string;
  cloud: {
    eciEndpoint: string;
    vpcEndpoint: string;
    /** ECS (DescribeSecurityGroups: PodNetworking security groups are checked against their vSwitches' VPC). */
    ecsEndpoint: string;
    protocol: 'https' | 'http';
    /** Never logged: see redactConfig. */
    accessKeyId: string;
    accessKeySecret: string;
    /** Per-action call budgets for the whole account (all virtual nodes share them). */
    rateLimits: Record<string, { perSecond: number; burst: number }>;
    timeoutMs: number;
  };
  /** The network of pods no PodNetworking matches. */
  defaultNetwork: {
    vSwitchIds: string[];
    securityGroupId: string;
    vSwitchSelectionPolicy: VSwitchSelectionPolicy;
  };
  node: {
    /** Virtual nodes are named `<namePrefix>-<zone>`. */
    namePrefix: string;
    cpu: string;
    memory: string;
    /** Upper bound on pods per node; the zone's free IPs lower it further. */
    maxPods: number;
    /** Address the kubelet API is reachable on (node InternalIP) and its port. */
    internalIP: string;
    kubeletPort: number;
    /** Extra labels on every virtual node. */
    labels: Record<string, string>;
  };
  webhook: {
    /** HTTPS port of the PodNetworking admission webhook; 0 = not served by this process. */
    port: number;
    host: string;
    /** PEM files of the serving certificate and key (e.g. a mounted Secret). */
    certFile: string;
    keyFile: string;
    /** Serverless mode: every admitted pod tolerates the virtual-node taint (ACK Serverless style). */
    serverless: boolean;
  };
  /** Cluster DNS for pods with dnsPolicy ClusterFirst (the kube-dns Service IP); empty = the VPC's DNS. */
  clusterDNS: { nameServers: string[]; clusterDomain: string };
  kubernetes: {
    /**
     * Path to a kubeconfig, or several joined by ':' (merged, the first wins); empty = client-node's
     * default (KUBECONFIG, ~/.kube/config, then the in-cluster service account).
     */
    kubeconfig: string;
    /** Client-side token bucket over every apiserver request: qps per second (0 = none)... */
    qps: number;
    /** ...with bursts of this many (0 = 2 x qps). */
    burst: number;
  };
  sync: {
    /** Pods synced at once. */
    workers: number;
    /** How often DescribeContainerGroupStatus is asked what changed. */
    statusPollIntervalMs: number;
    /** Full resync of every pod (safety net under the watch). */
    resyncIntervalMs: number;
    /** A group with no pod is deleted only after this long (a create may be in flight). */
    orphanGracePeriodMs: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
  };
  /** Prometheus metrics (`GET /metrics`, `/healthz`) over plain HTTP. */
  metrics: {
    /** 0 = not served. */
    port: number;
    host: string;
  };
  /** The kubelet API (`kubectl logs/exec`, stats) on node.internalIP:node.kubeletPort, HTTPS. */
  kubeletApi: {
    enabled: boolean;
    /** Listen address. */
    host: string;
    /** PEM serving certificate and key; both empty = a self-signed pair made at start (like kubelet). */
    certFile: string;
    keyFile: string;
    /** PEM CA(s) whose client certificates are accepted (the apiserver's kubelet client CA); empty = bearer tokens only. */
    clientCAFile: string;
    /**
     * Each virtual node has its own listener and port: the pool is `ports` when listed, else
     * `portCount` ports from node.kubeletPort. A node takes the first free port of the pool.
     */
    portCount: number;
    ports: number[];
    /**
     * Opt-in, default false: GET /stats/summary and /metrics/resource without credentials are
     * authorized (SubjectAccessReview) as system:anonymous instead of refused with 401.
     */
    anonymousStats: boolean;
  };
  /**
   * Leader election among replicas (a Lease, client-go semantics): only the leader runs the
   * virtual nodes, the pod controller and the PodNetworking status writer; every replica serves
   * the webhook. Off: this process leads unconditionally.
   */
  leaderElection: {
    enabled: boolean;
    /** Namespace of the Lease; empty = env POD_NAMESPACE, else `eci-virtual-node`. */
    namespace: string;
    /** Name of the Lease; empty = `eci-virtual-node-<clusterId>` (one leader per cluster id). */
    leaseName: string;
    /** This replica's name; empty = env POD_NAME, else the hostname. A random suffix is appended. */
    identity: string;
    /** A follower takes over this long after it last saw the Lease change (client-go: 15). */
    leaseDurationSeconds: number;
    /** A leader that could not renew for this long steps down; below the lease duration (client-go: 10 s). */
    renewDeadlineMs: number;
    /** Poll and renew period (client-go: 2 s). */
    retryPeriodMs: number;
  };
}

export const DEFAULT_CONFIG: ProviderConfig = {
  clusterId: '',
  regionId: '',
  cloud: {
    eciEndpoint: '',
    vpcEndpoint: '',
    ecsEndpoint: '',
    protocol: 'https',
    accessKeyId: '',
    accessKeySecret: '',
    // ECI's documented quotas (see docs/configuration.md): create/delete burst 100 at 20/s.
    rateLimits: {
      CreateContainerGroup: { perSecond: 20, burst: 100 },
      DeleteContainerGroup: { perSecond: 20, burst: 100 },
      DescribeContainerGroups: { perSecond: 33, burst: 33 },
      DescribeContainerGroupStatus: { perSecond: 166, burst: 166 },
      DescribeVSwitches: { perSecond: 10, burst: 10 },
      // The kubelet API's actions: DescribeContainerLog and ExecContainerCommand 500/min, the metric 2000/min.
      DescribeContainerLog: { perSecond: 8, burst: 8 },
      ExecContainerCommand: { perSecond: 8, burst: 8 },
      DescribeContainerGroupMetric: { perSecond: 33, burst: 33 },
    },
    timeoutMs: 15_000,
  },
  defaultNetwork: { vSwitchIds: [], securityGroupId: '', vSwitchSelectionPolicy: 'ordered' },
  node: {
    namePrefix: 'virtual-node-eci',
    cpu: '20000',
    memory: '80000Gi',
    maxPods: 20_000,
    internalIP: '127.0.0.1',
    kubeletPort: 10250,
    labels: {},
  },
  webhook: { port: 0, host: '0.0.0.0', certFile: '', keyFile: '', serverless: false },
  clusterDNS: { nameServers: [], clusterDomain: 'cluster.local' },
  kubernetes: { kubeconfig: '', qps: 0, burst: 0 },
  sync: {
    workers: 64,
    statusPollIntervalMs: 1_000,
    resyncIntervalMs: 5 * 60_000,
    orphanGracePeriodMs: 2 * 60_000,
    backoffBaseMs: 500,
    backoffMaxMs: 60_000,
  },
  metrics: { port: 0, host: '0.0.0.0' },
  kubeletApi: { enabled: false, host: '0.0.0.0', certFile: '', keyFile: '', clientCAFile: '', portCount: 16, ports: [], anonymousStats: false },
  leaderElection: { enabled: false, namespace: '', leaseName: '', identity: '', leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
};

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

const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;
const VSWITCH_ID = /^vsw-[a-z0-9]+$/;
const SECURITY_GROUP_ID = /^sg-[a-z0-9]+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** Every problem with a configuration, each naming its field; empty when valid. */
export function validateConfig(config: ProviderConfig): ConfigFieldError[] {
  const errors: ConfigFieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  const positive = (field: string, value: number) => {
    if (!Number.isFinite(value) || value <= 0) fail(field, `must be a positive number, got ${String(value)}`);
  };

  if (!DNS_LABEL.test(config.clusterId) || config.clusterId.length > 63) {
    fail('clusterId', `must be a DNS label (lower-case letters, digits, '-', at most 63), got "${config.clusterId}"`);
  }
  if (!REGION.test(config.regionId)) fail('regionId', `must be a region id such as cn-hangzhou, got "${config.regionId}"`);

  for (const key of ['eciEndpoint', 'vpcEndpoint', 'ecsEndpoint'] as const) {
    const value = config.cloud[key];
    if (value === '') fail(`cloud.${key}`, `must be set (host[:port], e.g. ${key.slice(0, 3)}.cn-hangzhou.aliyuncs.com)`);
    else if (/^[a-z]+:\/\//i.test(value)) fail(`cloud.${key}`, `must be host[:port] without a scheme (the scheme is cloud.protocol), got "${value}"`);
  }
  if (config.cloud.protocol !== 'https' && config.cloud.protocol !== 'http') {
    fail('cloud.protocol', `must be https or http, got "${String(config.cloud.protocol)}"`);
  }
  if (config.cloud.accessKeyId === '') fail('cloud.accessKeyId', 'must be set (env ALIBABA_CLOUD_ACCESS_KEY_ID or a credentials file)');
  if (config.cloud.accessKeySecret === '') {
    fail('cloud.accessKeySecret', 'must be set (env ALIBABA_CLOUD_ACCESS_KEY_SECRET or a credentials file)');
  }
  // From a YAML file anything may arrive here (`CreateContainerGroup: null`, `rateLimits: 5`).
  const rateLimits: unknown = config.cloud.rateLimits;
  if (typeof rateLimits !== 'object' || rateLimits === null || Array.isArray(rateLimits)) {
    fail('cloud.rateLimits', 'must be a mapping of action -> { perSecond, burst }');
  } else {
    for (const [action, limit] of Object.entries(rateLimits as Record<string, unknown>)) {
      if (typeof limit !== 'object' || limit === null || Array.isArray(limit)) {
        fail(`cloud.rateLimits.${action}`, `must be a mapping { perSecond, burst }, got ${JSON.stringify(limit)}`);
        continue;
      }
      const { perSecond, burst } = limit as { perSecond?: unknown; burst?: unknown };
      positive(`cloud.rateLimits.${action}.perSecond`, perSecond as number);
      positive(`cloud.rateLimits.${action}.burst`, burst as number);
    }
  }
  positive('cloud.timeoutMs', config.cloud.timeoutMs);

  const net = config.defaultNetwork;
  if (net.vSwitchIds.length === 0) fail('defaultNetwork.vSwitchIds', 'must list at least one vSwitch (virtual nodes are made for their zones)');
  net.vSwitchIds.forEach((id, i) => {
    if (!VSWITCH_ID.test(id)) fail(`defaultNetwork.vSwitchIds[${i}]`, `must look like vsw-xxxx, got "${id}"`);
  });
  if (new Set(net.vSwitchIds).size !== net.vSwitchIds.length) fail('defaultNetwork.vSwitchIds', 'lists a vSwitch twice');
  if (!SECURITY_GROUP_ID.test(net.securityGroupId)) {
    fail('defaultNetwork.securityGroupId', `must look like sg-xxxx, got "${net.securityGroupId}"`);
  }
  if (!['ordered', 'random', 'most'].includes(net.vSwitchSelectionPolicy)) {
    fail('defaultNetwork.vSwitchSelectionPolicy', `must be ordered, random or most, got "${net.vSwitchSelectionPolicy}"`);
  }

  const node = config.node;
  if (!DNS_LABEL.test(node.namePrefix) || node.namePrefix.length > 40) {
    fail('node.namePrefix', `must be a DNS label of at most 40 characters (the zone is appended), got "${node.namePrefix}"`);
  }
  if (!QUANTITY.test(node.cpu)) fail('node.cpu', `must be a Kubernetes quantity, got "${node.cpu}"`);
  if (!QUANTITY.test(node.memory)) fail('node.memory', `must be a Kubernetes quantity, got "${node.memory}"`);
  if (!Number.isInteger(node.maxPods) || node.maxPods < 1) fail('node.maxPods', `must be a positive integer, got ${node.maxPods}`);
  if (!Number.isInteger(node.kubeletPort) || node.kubeletPort < 1 || node.kubeletPort > 65535) {
    fail('node.kubeletPort', `must be a TCP port, got ${node.kubeletPort}`);
  }
  if (node.internalIP === '') fail('node.internalIP', 'must be set (the address the apiserver reaches the kubelet API on)');
  // Kubernetes label values are strings of at most 63 characters ("team: 5" in YAML is a number).
  for (const [key, value] of Object.entries(node.labels as Record<string, unknown>)) {
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) {
      fail(`node.labels.${key}`, `must be a label value (a string of at most 63 letters, digits, '-', '_', '.'), got ${JSON.stringify(value)}`);
    }
  }

  config.clusterDNS.nameServers.forEach((ip, i) => {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) fail(`clusterDNS.nameServers[${i}]`, `must be an IPv4 address (the kube-dns Service IP), got "${ip}"`);
  });
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(config.clusterDNS.clusterDomain)) {
    fail('clusterDNS.clusterDomain', `must be a DNS domain such as cluster.local, got "${config.clusterDNS.clusterDomain}"`);
  }

  const webhook = config.webhook;
  if (!Number.isInteger(webhook.port) || webhook.port < 0 || webhook.port > 65535) {
    fail('webhook.port', `must be a TCP port, or 0 to not serve the webhook, got ${webhook.port}`);
  }
  if (webhook.port > 0 && (webhook.certFile === '' || webhook.keyFile === '')) {
    fail(webhook.certFile === '' ? 'webhook.certFile' : 'webhook.keyFile', 'must be set when webhook.port is (the apiserver calls webhooks over HTTPS)');
  }

  if (config.kubernetes.qps < 0) fail('kubernetes.qps', 'must be 0 (no client-side limit) or positive');
  if (config.kubernetes.burst < 0) fail('kubernetes.burst', 'must be 0 or positive');

  const sync = config.sync;
  if (!Number.isInteger(sync.workers) || sync.workers < 1) fail('sync.workers', `must be a positive integer, got ${sync.workers}`);
  positive('sync.statusPollIntervalMs', sync.statusPollIntervalMs);
  positive('sync.resyncIntervalMs', sync.resyncIntervalMs);
  if (sync.orphanGracePeriodMs < 0) fail('sync.orphanGracePeriodMs', 'must not be negative');
  positive('sync.backoffBaseMs', sync.backoffBaseMs);
  if (sync.backoffMaxMs < sync.backoffBaseMs) fail('sync.backoffMaxMs', 'must not be below sync.backoffBaseMs');

  if (!Number.isInteger(config.metrics.port) || config.metrics.port < 0 || config.metrics.port > 65535) {
    fail('metrics.port', `must be a TCP port, or 0 to not serve metrics, got ${config.metrics.port}`);
  }
  if (config.metrics.port > 0 && config.metrics.host === '') fail('metrics.host', 'must be set (e.g. 0.0.0.0) when metrics.port is');

  const kubeletApi = config.kubeletApi;
  if ((kubeletApi.certFile === '') !== (kubeletApi.keyFile === '')) {
    fail(kubeletApi.certFile === '' ? 'kubeletApi.certFile' : 'kubeletApi.keyFile', 'set both kubeletApi.certFile and kubeletApi.keyFile, or neither (a self-signed pair is made)');
  }
  if (kubeletApi.enabled && kubeletApi.host === '') fail('kubeletApi.host', 'must be set (e.g. 0.0.0.0) when kubeletApi.enabled is true');
  if (!Number.isInteger(kubeletApi.portCount) || kubeletApi.portCount < 1 || node.kubeletPort + kubeletApi.portCount - 1 > 65535) {
    fail('kubeletApi.portCount', `must be a positive integer with node.kubeletPort + portCount - 1 <= 65535 (one port per virtual node), got ${kubeletApi.portCount}`);
  }
  kubeletApi.ports.forEach((port, i) => {
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`kubeletApi.ports[${i}]`, `must be a TCP port, got ${JSON.stringify(port)}`);
  });
  if (new Set(kubeletApi.ports).size !== kubeletApi.ports.length) fail('kubeletApi.ports', `must not list a port twice, got ${kubeletApi.ports.join(',')}`);
  const election = config.leaderElection;
  if (election.namespace !== '' && !DNS_LABEL.test(election.namespace)) fail('leaderElection.namespace', `must be a namespace name, got "${election.namespace}"`);
  if (election.leaseName !== '' && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(election.leaseName)) {
    fail('leaderElection.leaseName', `must be a DNS subdomain (lower-case letters, digits, '-', '.'), got "${election.leaseName}"`);
  }
  if (!Number.isInteger(election.leaseDurationSeconds) || election.leaseDurationSeconds < 1) {
    fail('leaderElection.leaseDurationSeconds', `must be a positive integer, got ${election.leaseDurationSeconds}`);
  }
  positive('leaderElection.retryPeriodMs', election.retryPeriodMs);
  if (!(election.renewDeadlineMs < election.leaseDurationSeconds * 1000)) {
    fail('leaderElection.renewDeadlineMs', `must be below leaderElection.leaseDurationSeconds (a leader steps down before anyone may take over), got ${election.renewDeadlineMs}`);
  }
  if (!(election.renewDeadlineMs > 1.2 * election.retryPeriodMs)) {
    fail('leaderElection.renewDeadlineMs', `must be above 1.2 x leaderElection.retryPeriodMs, got ${election.renewDeadlineMs}`);
  }
  return errors;
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
