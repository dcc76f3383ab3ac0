// Our plain types <-> the SDKs' models. Field names follow
// node_modules/@alicloud/eci20180808/dist/client.d.ts, @alicloud/vpc20160428's and @alicloud/ecs20140526's models; the
// SDK turns them into the wire names (Container.1.EnvironmentVar.1.Key, ...).
import {
  CreateContainerGroupRequest,
  CreateContainerGroupRequestContainer,
  CreateContainerGroupRequestContainerEnvironmentVar,
  CreateContainerGroupRequestContainerEnvironmentVarFieldRef,
  CreateContainerGroupRequestContainerLifecyclePostStartHandlerHttpGetHttpHeader,
  CreateContainerGroupRequestContainerLifecyclePreStopHandlerHttpGetHttpHeader,
  CreateContainerGroupRequestContainerLivenessProbe,
  CreateContainerGroupRequestContainerLivenessProbeExec,
  CreateContainerGroupRequestContainerLivenessProbeHttpGet,
  CreateContainerGroupRequestContainerLivenessProbeTcpSocket,
  CreateContainerGroupRequestContainerPort,
  CreateContainerGroupRequestContainerReadinessProbe,
  CreateContainerGroupRequestContainerReadinessProbeExec,
  CreateContainerGroupRequestContainerReadinessProbeHttpGet,
  CreateContainerGroupRequestContainerReadinessProbeTcpSocket,
  CreateContainerGroupRequestContainerSecurityContext,
  CreateContainerGroupRequestContainerSecurityContextCapability,
  CreateContainerGroupRequestContainerVolumeMount,
  CreateContainerGroupRequestDnsConfig,
  CreateContainerGroupRequestDnsConfigOption,
  CreateContainerGroupRequestHostAliase,
  CreateContainerGroupRequestImageRegistryCredential,
  CreateContainerGroupRequestInitContainer,
  CreateContainerGroupRequestInitContainerEnvironmentVar,
  CreateContainerGroupRequestInitContainerEnvironmentVarFieldRef,
  CreateContainerGroupRequestInitContainerPort,
  CreateContainerGroupRequestInitContainerSecurityContext,
  CreateContainerGroupRequestInitContainerSecurityContextCapability,
  CreateContainerGroupRequestInitContainerVolumeMount,
  CreateContainerGroupRequestSecurityContext,
  CreateContainerGroupRequestSecurityContextSysctl,
  CreateContainerGroupRequestTag,
  CreateContainerGroupRequestVolume,
  CreateContainerGroupRequestVolumeConfigFileVolume,
  CreateContainerGroupRequestVolumeConfigFileVolumeConfigFileToPath,
  CreateContainerGroupRequestVolumeEmptyDirVolume,
  CreateContainerGroupRequestVolumeNFSVolume,
  type DescribeContainerGroupsResponseBodyContainerGroups,
  type DescribeContainerGroupsResponseBodyContainerGroupsContainersCurrentState,
  type DescribeContainerGroupsResponseBodyContainerGroupsInitContainersCurrentState,
} from '@alicloud/eci20180808';
import type { DescribeSecurityGroupsResponseBodySecurityGroupsSecurityGroup } from '@alicloud/ecs20140526/dist/models/DescribeSecurityGroupsResponseBody.js';
import type { DescribeVSwitchesResponseBodyVSwitchesVSwitch } from '@alicloud/vpc20160428/dist/models/DescribeVswitchesResponseBody.js';
import {
  GROUP_TAGS,
  type CloudContainerStatus,
  type CloudEvent,
  type ContainerGroup,
  type ContainerGroupStatus,
  type ContainerState,
  type SecurityGroup,
  type VSwitch,
} from '../../provider/cloud/model.ts';
import type { ContainerGroupRequest, ContainerSpec, InitContainerSpec, LifecycleHandler, Probe } from '../../provider/eci/request.ts';
import { sharedStrings } from '../strings/intern.ts';

/** The data fields of a SDK model (no methods), all optional: what its constructor accepts. */
type Fields<T> = { [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]?: T[K] };

/**
 * A nested SDK model's fields, typed as the model, for the top-level request's constructor: tea's
 * Model constructor builds every nested model from the fields it is given (`new type(value)`, even
 * when the value is already that model), so building them here built each one twice (25 MiB of
 * garbage per 1000 pods; docs/benchmark.md "Memory, third session"). It skips undefined fields.
 */
function nested<T>(_model: new (map?: Record<string, unknown>) => T, fields: Fields<T>): T {
  return fields as T;
}

/** The list, or undefined when empty (the SDK's constructor copies it). */
const nonEmpty = <T>(list: readonly T[] | undefined): T[] | undefined => (list === undefined || list.length === 0 ? undefined : (list as T[]));

function probe<P, E, H, T>(
  p: Probe | undefined,
  models: {
    probe: new (map?: Record<string, unknown>) => P;
    exec: new (map?: Record<string, unknown>) => E;
    httpGet: new (map?: Record<string, unknown>) => H;
    tcpSocket: new (map?: Record<string, unknown>) => T;
  },
): P | undefined {
  if (p === undefined) return undefined;
  // The casts: one function serves the readiness and liveness models, alike but unrelated types.
  return nested(models.probe, {
    exec: p.exec === undefined ? undefined : nested(models.exec, { command: p.exec.command } as unknown as Fields<E>),
    httpGet: p.httpGet === undefined ? undefined : nested(models.httpGet, { path: p.httpGet.path, port: p.httpGet.port, scheme: p.httpGet.scheme } as unknown as Fields<H>),
    tcpSocket: p.tcpSocket === undefined ? undefined : nested(models.tcpSocket, { port: p.tcpSocket.port } as unknown as Fields<T>),
    initialDelaySeconds: p.initialDelaySeconds,
    periodSeconds: p.periodSeconds,
    timeoutSeconds: p.timeoutSeconds,
    successThreshold: p.successThreshold,
    failureThreshold: p.failureThreshold,
  } as Fields<P>);
}

function lifecycle(prefix: 'lifecyclePostStartHandler' | 'lifecyclePreStopHandler', h: LifecycleHandler | undefined): Record<string, unknown> {
  if (h === undefined) return {};
  const Header =
    prefix === 'lifecyclePostStartHandler'
      ? CreateContainerGroupRequestContainerLifecyclePostStartHandlerHttpGetHttpHeader
      : CreateContainerGroupRequestContainerLifecyclePreStopHandlerHttpGetHttpHeader;
  return {
    [`${prefix}Exec`]: h.exec,
    [`${prefix}HttpGetHost`]: h.httpGet?.host,
    [`${prefix}HttpGetPath`]: h.httpGet?.path,
    [`${prefix}HttpGetPort`]: h.httpGet?.port,
    [`${prefix}HttpGetScheme`]: h.httpGet?.scheme,
    [`${prefix}HttpGetHttpHeader`]: h.httpGet?.headers?.map((x) => nested(Header, { name: x.name, value: x.value })),
    [`${prefix}TcpSocketHost`]: h.tcpSocket?.host,
    [`${prefix}TcpSocketPort`]: h.tcpSocket?.port,
  };
}

function container(c: ContainerSpec): CreateContainerGroupRequestContainer {
  return nested(CreateContainerGroupRequestContainer, {
    name: c.name,
    image: c.image,
    imagePullPolicy: c.imagePullPolicy,
    command: nonEmpty(c.command),
    arg: nonEmpty(c.args),
    workingDir: c.workingDir,
    cpu: c.cpu,
    memory: c.memory,
    port: nonEmpty(c.ports.map((p) => nested(CreateContainerGroupRequestContainerPort, { port: p.port, protocol: p.protocol }))),
    environmentVar: nonEmpty(
      c.env.map((e) =>
        nested(CreateContainerGroupRequestContainerEnvironmentVar, {
          key: e.key,
          value: e.fieldPath === undefined ? e.value : undefined,
          fieldRef: e.fieldPath === undefined ? undefined : nested(CreateContainerGroupRequestContainerEnvironmentVarFieldRef, { fieldPath: e.fieldPath }),
        }),
      ),
    ),
    volumeMount: nonEmpty(
      c.volumeMounts.map((m) =>
        nested(CreateContainerGroupRequestContainerVolumeMount, {
          name: m.name,
          mountPath: m.mountPath,
          readOnly: m.readOnly,
          subPath: m.subPath,
          mountPropagation: m.mountPropagation,
        }),
      ),
    ),
    readinessProbe: probe(c.readinessProbe, {
      probe: CreateContainerGroupRequestContainerReadinessProbe,
      exec: CreateContainerGroupRequestContainerReadinessProbeExec,
      httpGet: CreateContainerGroupRequestContainerReadinessProbeHttpGet,
      tcpSocket: CreateContainerGroupRequestContainerReadinessProbeTcpSocket,
    }),
    livenessProbe: probe(c.livenessProbe, {
      probe: CreateContainerGroupRequestContainerLivenessProbe,
      exec: CreateContainerGroupRequestContainerLivenessProbeExec,
      httpGet: CreateContainerGroupRequestContainerLivenessProbeHttpGet,
      tcpSocket: CreateContainerGroupRequestContainerLivenessProbeTcpSocket,
    }),
    securityContext:
      c.securityContext === undefined
        ? undefined
        : nested(CreateContainerGroupRequestContainerSecurityContext, {
            runAsUser: c.securityContext.runAsUser,
            readOnlyRootFilesystem: c.securityContext.readOnlyRootFilesystem,
            capability:
              c.securityContext.capabilityAdd === undefined
                ? undefined
                : nested(CreateContainerGroupRequestContainerSecurityContextCapability, { add: c.securityContext.capabilityAdd }),
          }),
    securityContextRunAsGroup: c.securityContext?.runAsGroup,
    securityContextRunAsNonRoot: c.securityContext?.runAsNonRoot,
    stdin: c.stdin,
    stdinOnce: c.stdinOnce,
    tty: c.tty,
    terminationMessagePath: c.terminationMessagePath,
    terminationMessagePolicy: c.terminationMessagePolicy,
    ...(lifecycle('lifecyclePostStartHandler', c.postStart) as Fields<CreateContainerGroupRequestContainer>),
    ...(lifecycle('lifecyclePreStopHandler', c.preStop) as Fields<CreateContainerGroupRequestContainer>),
  });
}

function initContainer(c: InitContainerSpec): CreateContainerGroupRequestInitContainer {
  return nested(CreateContainerGroupRequestInitContainer, {
    name: c.name,
    image: c.image,
    imagePullPolicy: c.imagePullPolicy,
    command: nonEmpty(c.command),
    arg: nonEmpty(c.args),
    workingDir: c.workingDir,
    cpu: c.cpu,
    memory: c.memory,
    port: nonEmpty(c.ports.map((p) => nested(CreateContainerGroupRequestInitContainerPort, { port: p.port, protocol: p.protocol }))),
    environmentVar: nonEmpty(
      c.env.map((e) =>
        nested(CreateContainerGroupRequestInitContainerEnvironmentVar, {
          key: e.key,
          value: e.fieldPath === undefined ? e.value : undefined,
          fieldRef: e.fieldPath === undefined ? undefined : nested(CreateContainerGroupRequestInitContainerEnvironmentVarFieldRef, { fieldPath: e.fieldPath }),
        }),
      ),
    ),
    volumeMount: nonEmpty(
      c.volumeMounts.map((m) =>
        nested(CreateContainerGroupRequestInitContainerVolumeMount, {
          name: m.name,
          mountPath: m.mountPath,
          readOnly: m.readOnly,
          subPath: m.subPath,
          mountPropagation: m.mountPropagation,
        }),
      ),
    ),
    securityContext:
      c.securityContext === undefined
        ? undefined
        : nested(CreateContainerGroupRequestInitContainerSecurityContext, {
            runAsUser: c.securityContext.runAsUser,
            readOnlyRootFilesystem: c.securityContext.readOnlyRootFilesystem,
            capability:
              c.securityContext.capabilityAdd === undefined
                ? undefined
                : nested(CreateContainerGroupRequestInitContainerSecurityContextCapability, { add: c.securityContext.capabilityAdd }),
          }),
    terminationMessagePath: c.terminationMessagePath,
    terminationMessagePolicy: c.terminationMessagePolicy,
  });
}

/** Our request -> the SDK's CreateContainerGroupRequest (its constructor builds the nested models). */
export function toSdkCreateRequest(r: ContainerGroupRequest): CreateContainerGroupRequest {
  const fields: Fields<CreateContainerGroupRequest> = {
    regionId: r.regionId,
    zoneId: r.zoneId,
    securityGroupId: r.securityGroupId,
    vSwitchId: r.vSwitchIds.join(','),
    scheduleStrategy: r.scheduleStrategy,
    containerGroupName: r.containerGroupName,
    restartPolicy: r.restartPolicy,
    cpu: r.cpu,
    memory: r.memory,
    instanceType: r.instanceType,
    container: r.containers.map(container),
    initContainer: nonEmpty(r.initContainers.map(initContainer)),
    volume: nonEmpty(
      r.volumes.map((v) => {
        switch (v.type) {
          case 'EmptyDirVolume':
            return nested(CreateContainerGroupRequestVolume, {
              name: v.name,
              type: v.type,
              emptyDirVolume: nested(CreateContainerGroupRequestVolumeEmptyDirVolume, { medium: v.medium, sizeLimit: v.sizeLimit }),
            });
          case 'ConfigFileVolume':
            return nested(CreateContainerGroupRequestVolume, {
              name: v.name,
              type: v.type,
              configFileVolume: nested(CreateContainerGroupRequestVolumeConfigFileVolume, {
                defaultMode: v.defaultMode,
                configFileToPath: v.files.map((f) =>
                  nested(CreateContainerGroupRequestVolumeConfigFileVolumeConfigFileToPath, { path: f.path, content: f.contentBase64, mode: f.mode }),
                ),
              }),
            });
          case 'NFSVolume':
            return nested(CreateContainerGroupRequestVolume, {
              name: v.name,
              type: v.type,
              NFSVolume: nested(CreateContainerGroupRequestVolumeNFSVolume, { server: v.server, path: v.path, readOnly: v.readOnly }),
            });
        }
      }),
    ),
    tag: Object.entries(r.tags).map(([key, value]) => nested(CreateContainerGroupRequestTag, { key, value })),
    clientToken: r.clientToken,
    dnsPolicy: r.dnsPolicy,
    dnsConfig:
      r.dnsConfig === undefined
        ? undefined
        : nested(CreateContainerGroupRequestDnsConfig, {
            nameServer: nonEmpty(r.dnsConfig.nameServers),
            search: nonEmpty(r.dnsConfig.searches),
            option: nonEmpty(r.dnsConfig.options.map((o) => nested(CreateContainerGroupRequestDnsConfigOption, { name: o.name, value: o.value }))),
          }),
    hostAliase: nonEmpty(r.hostAliases.map((h) => nested(CreateContainerGroupRequestHostAliase, { ip: h.ip, hostname: h.hostnames }))),
    hostName: r.hostName,
    imageRegistryCredential: nonEmpty(
      r.imageRegistryCredentials.map((c) =>
        nested(CreateContainerGroupRequestImageRegistryCredential, { server: c.server, userName: c.userName, password: c.password }),
      ),
    ),
    spotStrategy: r.spotStrategy,
    spotPriceLimit: r.spotPriceLimit,
    autoCreateEip: r.autoCreateEip,
    eipBandwidth: r.eipBandwidth,
    eipInstanceId: r.eipInstanceId,
    ramRoleName: r.ramRoleName,
    autoMatchImageCache: r.autoMatchImageCache,
    imageSnapshotId: r.imageSnapshotId,
    activeDeadlineSeconds: r.activeDeadlineSeconds,
    terminationGracePeriodSeconds: r.terminationGracePeriodSeconds,
    shareProcessNamespace: r.shareProcessNamespace,
    securityContext:
      r.sysctls.length === 0
        ? undefined
        : nested(CreateContainerGroupRequestSecurityContext, {
            sysctl: r.sysctls.map((s) => nested(CreateContainerGroupRequestSecurityContextSysctl, { name: s.name, value: s.value })),
          }),
    ephemeralStorage: r.ephemeralStorage,
    ipv6AddressCount: r.ipv6AddressCount,
  };
  return new CreateContainerGroupRequest(fields);
}

const GROUP_STATUSES: ReadonlySet<string> = new Set<ContainerGroupStatus>([
  'Pending',
  'Scheduling',
  'Running',
  'Succeeded',
  'Failed',
  'ScheduleFailed',
  'Expired',
  'Restarting',
  'Updating',
  'Terminating',
]);

function groupStatus(s: string | undefined): ContainerGroupStatus {
  return s !== undefined && GROUP_STATUSES.has(s) ? (s as ContainerGroupStatus) : 'Pending';
}

type SdkState = DescribeContainerGroupsResponseBodyContainerGroupsContainersCurrentState | DescribeContainerGroupsResponseBodyContainerGroupsInitContainersCurrentState;

function containerState(s: SdkState | undefined): ContainerState | undefined {
  if (s === undefined || s === null || s.state === undefined || s.state === '') return undefined;
  const state: ContainerState['state'] = s.state === 'Running' || s.state === 'Terminated' ? s.state : 'Waiting';
  return {
    state,
    ...(s.startTime ? { startTime: s.startTime } : {}),
    ...(s.finishTime ? { finishTime: s.finishTime } : {}),
    ...(typeof s.exitCode === 'number' ? { exitCode: s.exitCode } : {}),
    ...(typeof s.signal === 'number' ? { signal: s.signal } : {}),
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.message ? { message: s.message } : {}),
    ...(s.detailStatus ? { detailStatus: s.detailStatus } : {}),
  };
}

interface SdkContainer {
  name?: string;
  image?: string;
  ready?: boolean;
  restartCount?: number;
  currentState?: SdkState;
  previousState?: SdkState;
}

function containerStatus(c: SdkContainer): CloudContainerStatus {
  const current = containerState(c.currentState);
  const previous = containerState(c.previousState);
  return {
    name: c.name ?? '',
    image: c.image ?? '',
    ready: c.ready === true,
    restartCount: c.restartCount ?? 0,
    ...(current === undefined ? {} : { currentState: current }),
    ...(previous === undefined ? {} : { previousState: previous }),
  };
}

const opt = <K extends string>(key: K, v: string | undefined): Partial<Record<K, string>> =>
  v === undefined || v === '' ? {} : ({ [key]: v } as Partial<Record<K, string>>);

/** SDK DescribeContainerGroups entry -> our ContainerGroup. */
export function fromSdkContainerGroup(g: DescribeContainerGroupsResponseBodyContainerGroups): ContainerGroup {
  const tags: Record<string, string> = {};
  for (const t of g.tags ?? []) if (t.key !== undefined) tags[t.key] = t.value ?? '';
  const events: CloudEvent[] = (g.events ?? []).map((e) => ({
    type: e.type === 'Warning' ? 'Warning' : 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
    count: e.count ?? 1,
    ...opt('firstTimestamp', e.firstTimestamp),
    ...opt('lastTimestamp', e.lastTimestamp),
  }));
  // The index keeps each group for its pod's life: values shared by many groups (zone, vSwitch,
  // tags, image, events' reasons, messages and times) kept once.
  return sharedStrings.internAll({
    id: g.containerGroupId ?? '',
    name: g.containerGroupName ?? '',
    status: groupStatus(g.status),
    ...opt('regionId', g.regionId),
    zoneId: g.zoneId ?? '',
    vSwitchId: g.vSwitchId ?? '',
    securityGroupId: g.securityGroupId ?? '',
    vpcId: g.vpcId ?? '',
    ...opt('intranetIp', g.intranetIp),
    ...opt('internetIp', g.internetIp),
    ...opt('ipv6Address', g.ipv6Address),
    ...opt('eniInstanceId', g.eniInstanceId),
    cpu: g.cpu ?? 0,
    memory: g.memory ?? 0,
    ...opt('instanceType', g.instanceType),
    containers: (g.containers ?? []).map(containerStatus),
    initContainers: (g.initContainers ?? []).map(containerStatus),
    events,
    tags,
    ...opt('creationTime', g.creationTime),
    ...opt('succeededTime', g.succeededTime),
    ...opt('failedTime', g.failedTime),
    ...opt('expiredTime', g.expiredTime),
  } satisfies ContainerGroup, GROUP_UNIQUE);
}

/** Values no two groups share. */
const GROUP_UNIQUE: ReadonlySet<string> = new Set(['id', 'intranetIp', 'internetIp', 'ipv6Address', 'eniInstanceId', GROUP_TAGS.podUid, GROUP_TAGS.pod]);

/** SDK DescribeVSwitches entry -> our VSwitch. */
export function fromSdkVSwitch(v: DescribeVSwitchesResponseBodyVSwitchesVSwitch): VSwitch {
  return {
    id: v.vSwitchId ?? '',
    vpcId: v.vpcId ?? '',
    zoneId: v.zoneId ?? '',
    cidrBlock: v.cidrBlock ?? '',
    availableIpCount: v.availableIpAddressCount ?? 0,
    status: v.status === 'Pending' ? 'Pending' : 'Available',
    ...opt('name', v.vSwitchName),
  };
}

export function fromSdkSecurityGroup(g: DescribeSecurityGroupsResponseBodySecurityGroupsSecurityGroup): SecurityGroup {
  return { id: g.securityGroupId ?? '', vpcId: g.vpcId ?? '', ...opt('name', g.securityGroupName) };
}
