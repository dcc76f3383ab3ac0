// ContainerGroupRequest: our plain, typed description of one ECI CreateContainerGroup call.
// Close to the ECI 2018-08-08 parameters (names follow the SDK's models), but ours: no SDK
// types, units spelled out. provider/eci/translate.ts builds it from a pod; adapters/alibabacloud
// turns it into the SDK request. Values derived from Secrets are flagged `sensitive` so that
// `redactRequest` can mask them before the request is logged or put on a trace.

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';
export type ScheduleStrategy = 'VSwitchOrdered' | 'VSwitchRandom';
export type SpotStrategy = 'NoSpot' | 'SpotAsPriceGo' | 'SpotWithPriceLimit';

export interface EnvironmentVar {
  key: string;
  /** Literal value (absent when `fieldPath` is set). */
  value?: string;
  /** Resolved by ECI when the container starts; ECI supports `status.podIP`. */
  fieldPath?: string;
  /** The value came from a Secret: masked by redactRequest. Not sent to ECI. */
  sensitive?: boolean;
}

export interface ContainerPort {
  port: number;
  protocol: 'TCP' | 'UDP';
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
  mountPropagation?: 'None' | 'HostToContainer' | 'Bidirectional';
}

export interface Probe {
  exec?: { command: string[] };
  httpGet?: { path?: string; port: number; scheme?: 'HTTP' | 'HTTPS' };
  tcpSocket?: { port: number };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface ContainerSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  /** Linux capabilities to add; ECI accepts only a few (see translate). */
  capabilityAdd?: string[];
}

export interface LifecycleHandler {
  exec?: string[];
  httpGet?: { host?: string; path?: string; port: number; scheme?: 'HTTP' | 'HTTPS'; headers?: { name: string; value: string }[] };
  tcpSocket?: { host?: string; port: number };
}

export interface ContainerSpec {
  name: string;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  command: string[];
  args: string[];
  workingDir?: string;
  /** vCPUs for this container (limits, else requests); absent = shares the group's. */
  cpu?: number;
  /** GiB for this container (limits, else requests); absent = shares the group's. */
  memory?: number;
  ports: ContainerPort[];
  env: EnvironmentVar[];
  volumeMounts: VolumeMount[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  /** ECI has no startupProbe; translate folds it into nothing and warns. */
  securityContext?: ContainerSecurityContext;
  postStart?: LifecycleHandler;
  preStop?: LifecycleHandler;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  terminationMessagePath?: string;
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
}

/** Init containers: ECI accepts no probes, lifecycle hooks or TTY on them. */
export type InitContainerSpec = Omit<ContainerSpec, 'readinessProbe' | 'livenessProbe' | 'postStart' | 'preStop' | 'stdin' | 'stdinOnce' | 'tty'>;

export interface ConfigFile {
  /** Relative path inside the volume. */
  path: string;
  /** File content, base64-encoded (what ECI expects). */
  contentBase64: string;
  /** File mode (decimal of the octal bits, e.g. 420 = 0644). */
  mode?: number;
  /** The content came from a Secret or a token: masked by redactRequest. Not sent to ECI. */
  sensitive?: boolean;
}

export type Volume =
  | { name: string; type: 'EmptyDirVolume'; medium?: 'Memory'; sizeLimit?: string }
  | { name: string; type: 'ConfigFileVolume'; defaultMode?: number; files: ConfigFile[] }
  | { name: string; type: 'NFSVolume'; server: string; path: string; readOnly?: boolean };

export interface ImageRegistryCredential {
  server: string;
  userName: string;
  /** Always secret-derived: masked by redactRequest. */
  password: string;
}

export interface DnsConfig {
  nameServers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

export interface HostAlias {
  ip: string;
  hostnames: string[];
}

export interface ContainerGroupRequest {
  regionId: string;
  zoneId?: string;
  securityGroupId: string;
  /** Up to 10; ECI tries them per `scheduleStrategy`. Sent as a comma list. */
  vSwitchIds: string[];
  scheduleStrategy?: ScheduleStrategy;
  /** A valid ECI name derived from namespace + pod name (see names.ts). */
  containerGroupName: string;
  restartPolicy: RestartPolicy;
  /** Group vCPUs, rounded up to an ECI spec (absent when `instanceType` is used). */
  cpu?: number;
  /** Group memory in GiB, rounded up to an ECI spec. */
  memory?: number;
  /** ECS instance type(s) or `<cpu>-<mem>Gi` specs, comma list, from annotations. */
  instanceType?: string;
  containers: ContainerSpec[];
  initContainers: InitContainerSpec[];
  volumes: Volume[];
  /** Always includes GROUP_TAGS (cluster, node, namespace, pod, pod UID). */
  tags: Record<string, string>;
  /** `<pod UID>-<digest of the body>` (client-token.ts): a resent body never makes a second group. */
  clientToken: string;
  dnsPolicy?: 'Default' | 'None';
  dnsConfig?: DnsConfig;
  hostAliases: HostAlias[];
  hostName?: string;
  imageRegistryCredentials: ImageRegistryCredential[];
  spotStrategy?: SpotStrategy;
  spotPriceLimit?: number;
  autoCreateEip?: boolean;
  eipBandwidth?: number;
  eipInstanceId?: string;
  ramRoleName?: string;
  /** Let ECI pick a matching image cache (`k8s.aliyun.com/eci-image-cache`). */
  autoMatchImageCache?: boolean;
  imageSnapshotId?: string;
  activeDeadlineSeconds?: number;
  terminationGracePeriodSeconds?: number;
  shareProcessNamespace?: boolean;
  /** Safe sysctls (pod securityContext.sysctls that ECI accepts). */
  sysctls: { name: string; value: string }[];
  /** Ephemeral storage in GiB beyond the default 30 GiB. */
  ephemeralStorage?: number;
  ipv6AddressCount?: number;
}

export const REDACTED = '<redacted>';

/** A copy of `request` safe for logs and traces: every Secret-derived value is `<redacted>`. */
export function redactRequest(request: ContainerGroupRequest): ContainerGroupRequest {
  const redactEnv = (env: EnvironmentVar[]) => env.map((e) => (e.sensitive === true && e.value !== undefined ? { ...e, value: REDACTED } : { ...e }));
  return {
    ...request,
    containers: request.containers.map((c) => ({ ...c, env: redactEnv(c.env) })),
    initContainers: request.initContainers.map((c) => ({ ...c, env: redactEnv(c.env) })),
    volumes: request.volumes.map((v) =>
      v.type === 'ConfigFileVolume'
        ? { ...v, files: v.files.map((f) => (f.sensitive === true ? { ...f, contentBase64: REDACTED } : { ...f })) }
        : { ...v },
    ),
    imageRegistryCredentials: request.imageRegistryCredentials.map((c) => ({ server: c.server, userName: REDACTED, password: REDACTED })),
  };
}
