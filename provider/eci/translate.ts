// translatePod: a pod (+ the ConfigMaps/Secrets it references, + the network chosen for it) ->
// one CreateContainerGroup request, the warnings for what ECI cannot honour, or a
// TranslationError for a pod that can never be created as it is. Pure: no I/O, no clock.
import type { V1Container, V1Pod, V1SecurityContext } from '@kubernetes/client-node';
import { GROUP_TAGS } from '../cloud/model.ts';
import { clientTokenFor } from './client-token.ts';
import { ECI_ANNOTATIONS } from './annotations.ts';
import { decodeBase64, type ResolvedInputs, type TranslateContext } from './context.ts';
import type { ClusterDns } from './cluster-dns.ts';
import { translateEnv } from './env.ts';
import { TranslationCode, TranslationError, Warnings, type TranslationWarning } from './issues.ts';
import { EventReason } from '../events/reasons.ts';
import { containerGroupName, hostNameOf, tagValue } from './names.ts';
import { translateLifecycleHandler, translateProbe } from './probes.ts';
import { GiB, parseQuantity, round3 } from './quantity.ts';
import type {
  ContainerGroupRequest,
  ContainerPort,
  ContainerSecurityContext,
  ContainerSpec,
  DnsConfig,
  ImageRegistryCredential,
  InitContainerSpec,
  RestartPolicy,
  VolumeMount,
} from './request.ts';
import {
  containerResources,
  MAX_CPU,
  MAX_MEMORY_GIB,
  parseUseSpecs,
  podResources,
  roundUpToSpec,
  wantedSpec,
  type ContainerResources,
  type EciSpec,
} from './specs.ts';
import { translateVolumes } from './volumes.ts';

export { TranslationCode, TranslationError, type TranslationWarning } from './issues.ts';
export type { ResolvedInputs } from './context.ts';

/** ECI's per-group limits. */
export const MAX_CONTAINERS = 20;
export const MAX_VSWITCHES = 10;

/** Capabilities ECI lets a container add (CreateContainerGroup Container.N.SecurityContext.Capability.Add). */
export const ECI_ALLOWED_CAPABILITIES: ReadonlySet<string> = new Set(['NET_ADMIN', 'NET_RAW']);

/** Namespaced sysctls ECI accepts in the group's SecurityContext.Sysctl. */
export function isEciSafeSysctl(name: string): boolean {
  if (name === 'net.ipv4.tcp_syncookies') return false;
  return (
    name.startsWith('kernel.shm') ||
    name.startsWith('kernel.msg') ||
    name === 'kernel.sem' ||
    name.startsWith('fs.mqueue.') ||
    name.startsWith('net.') ||
    name === 'vm.min_free_kbytes'
  );
}

export interface TranslateInput {
  pod: V1Pod;
  /** Where the group goes: chosen by provider/networking. */
  network: { zoneId?: string; vSwitchIds: string[]; securityGroupId: string };
  resolved: ResolvedInputs;
  cluster: {
    clusterId: string;
    nodeName: string;
    regionId: string;
    /**
     * Cluster DNS for dnsPolicy ClusterFirst (--cluster-dns, else the kube-dns Service: see
     * cluster-dns.ts); absent = pods resolve through the VPC's DNS, with a process-wide warning.
     */
    dns?: ClusterDns;
  };
}

export interface TranslateResult {
  request: ContainerGroupRequest;
  warnings: TranslationWarning[];
  /** The group spec asked for, after rounding (what the pod will be billed for). */
  spec: EciSpec & { rounded: boolean; source: 'resources' | 'default' | 'annotation' };
}

/** Pure: pod -> CreateContainerGroup request. Throws TranslationError. */
export function translatePod(input: TranslateInput): TranslateResult {
  const { pod, network, cluster } = input;
  const meta = pod.metadata ?? {};
  const spec = pod.spec;
  const uid = meta.uid ?? '';
  const namespace = meta.namespace ?? '';
  const name = meta.name ?? '';
  if (uid === '' || name === '' || namespace === '' || spec === undefined) {
    throw new TranslationError(TranslationCode.MissingPodIdentity, 'metadata', 'the pod has no uid, name, namespace or spec', 'this is a bug in the caller: pass a pod read from the API');
  }
  const warnings = new Warnings();

  // Limits ECI enforces per group.
  if (spec.containers.length === 0) {
    throw new TranslationError(TranslationCode.NoContainers, 'spec.containers', 'the pod has no containers', 'add a container');
  }
  const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  const appCount = spec.containers.length + sidecars.length;
  if (appCount > MAX_CONTAINERS) {
    throw new TranslationError(
      TranslationCode.TooManyContainers,
      'spec.containers',
      `the pod has ${appCount} containers (including sidecar init containers); ECI allows at most ${MAX_CONTAINERS} per container group`,
      'split the pod or drop containers',
    );
  }
  if ((spec.initContainers ?? []).length - sidecars.length > MAX_CONTAINERS) {
    throw new TranslationError(TranslationCode.TooManyContainers, 'spec.initContainers', `the pod has more than ${MAX_CONTAINERS} init containers`, 'merge init containers');
  }
  if (network.vSwitchIds.length === 0 || network.vSwitchIds.length > MAX_VSWITCHES) {
    throw new TranslationError(
      TranslationCode.TooManyVSwitches,
      'network.vSwitchIds',
      `${network.vSwitchIds.length} vSwitches given; ECI takes 1 to ${MAX_VSWITCHES}`,
      'this is a bug in the network planner',
    );
  }

  // Resources -> group spec.
  const resourcesOf = (c: V1Container, field: string): ContainerResources =>
    containerResources(c.resources, (resource, value) => {
      throw new TranslationError(TranslationCode.InvalidQuantity, `${field}.${resource}`, `"${value}" is not a valid quantity`, 'use a Kubernetes quantity such as 500m or 1Gi');
    });
  const annotations = meta.annotations ?? {};
  const groupSpec = decideGroupSpec(pod, annotations, resourcesOf, warnings);

  const ctx: TranslateContext = { pod, resolved: input.resolved, warnings, nodeName: cluster.nodeName, groupSpec: groupSpec.spec };
  podLevelWarnings(pod, warnings);

  // Volumes first: containers' mounts are checked against them.
  const volumes = translateVolumes(ctx);
  const volumeNames = new Set(volumes.map((v) => v.name));

  const containers: ContainerSpec[] = [];
  const initContainers: InitContainerSpec[] = [];
  (spec.initContainers ?? []).forEach((c, i) => {
    const path = `spec.initContainers[${i}]`;
    if (c.restartPolicy === 'Always') {
      warnings.add(`${path}.restartPolicy`, 'sidecar init containers are not supported on ECI; the container runs as a regular container, started with the others');
      containers.push(translateContainer(ctx, c, path, volumeNames, resourcesOf));
    } else {
      initContainers.push(translateInitContainer(ctx, c, path, volumeNames, resourcesOf));
    }
  });
  spec.containers.forEach((c, i) => containers.push(translateContainer(ctx, c, `spec.containers[${i}]`, volumeNames, resourcesOf)));

  const request: ContainerGroupRequest = {
    regionId: cluster.regionId,
    ...(network.zoneId === undefined ? {} : { zoneId: network.zoneId }),
    securityGroupId: network.securityGroupId,
    vSwitchIds: [...network.vSwitchIds],
    containerGroupName: containerGroupName(namespace, name),
    restartPolicy: (spec.restartPolicy ?? 'Always') as RestartPolicy,
    ...(groupSpec.instanceType === undefined ? { cpu: groupSpec.spec.cpu, memory: groupSpec.spec.memory } : { instanceType: groupSpec.instanceType }),
    containers,
    initContainers,
    volumes,
    tags: {
      [GROUP_TAGS.cluster]: cluster.clusterId,
      [GROUP_TAGS.node]: tagValue(cluster.nodeName),
      [GROUP_TAGS.namespace]: namespace,
      [GROUP_TAGS.pod]: tagValue(name),
      [GROUP_TAGS.podUid]: uid,
    },
    // Replaced below by the UID plus a digest of this body (client-token.ts).
    clientToken: uid,
    hostAliases: (spec.hostAliases ?? []).map((h) => ({ ip: h.ip, hostnames: h.hostnames ?? [] })),
    hostName: hostNameOf(spec.hostname ?? name),
    imageRegistryCredentials: imagePullCredentials(ctx),
    sysctls: (spec.securityContext?.sysctls ?? []).filter((s) => isEciSafeSysctl(s.name)).map((s) => ({ name: s.name, value: s.value })),
    ...dns(pod, cluster.dns, warnings),
    ...(spec.activeDeadlineSeconds === undefined ? {} : { activeDeadlineSeconds: spec.activeDeadlineSeconds }),
    ...(spec.terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds }),
    ...(spec.shareProcessNamespace === true ? { shareProcessNamespace: true } : {}),
    ...annotationOptions(annotations, network.vSwitchIds.length, warnings),
  };
  request.clientToken = clientTokenFor(uid, request);
  return { request, warnings: warnings.list, spec: { ...groupSpec.spec, rounded: groupSpec.rounded, source: groupSpec.source } };
}

function decideGroupSpec(
  pod: V1Pod,
  annotations: Record<string, string>,
  resourcesOf: (c: V1Container, field: string) => ContainerResources,
  warnings: Warnings,
): { spec: EciSpec; rounded: boolean; source: 'resources' | 'default' | 'annotation'; instanceType?: string } {
  const resources = podResources(pod, resourcesOf);
  const useSpecs = annotations[ECI_ANNOTATIONS.useSpecs];
  const instanceType = annotations[ECI_ANNOTATIONS.instanceType];
  if (useSpecs !== undefined) {
    const field = `metadata.annotations['${ECI_ANNOTATIONS.useSpecs}']`;
    const parsed = parseUseSpecs(useSpecs);
    if ('error' in parsed) {
      throw new TranslationError(TranslationCode.InvalidEciUseSpecs, field, `"${useSpecs}" ${parsed.error}`, 'write e.g. "2-4Gi" or "2-4Gi,4-8Gi,ecs.c6.xlarge"');
    }
    if (instanceType !== undefined) warnings.add(`metadata.annotations['${ECI_ANNOTATIONS.instanceType}']`, `ignored: ${ECI_ANNOTATIONS.useSpecs} is set too and wins`);
    const [first] = parsed;
    if (parsed.length === 1 && first?.kind === 'spec') {
      const rounded = roundUpToSpec(first.cpu, first.memory);
      if (rounded === undefined) {
        throw new TranslationError(TranslationCode.InvalidEciUseSpecs, field, `"${first.text}" is above every ECI spec`, `ask for at most ${MAX_CPU} vCPU and ${MAX_MEMORY_GIB} GiB`);
      }
      const exact = rounded.cpu === first.cpu && rounded.memory === first.memory;
      if (!exact) warnings.add(field, `${first.text} is not an ECI spec; rounded up to ${rounded.cpu}-${rounded.memory}Gi`);
      return { spec: rounded, rounded: !exact, source: 'annotation' };
    }
    const firstSpec = parsed.find((p) => p.kind === 'spec');
    return {
      spec: firstSpec?.kind === 'spec' ? { cpu: firstSpec.cpu, memory: firstSpec.memory } : (roundUpToSpec(resources.cpu, resources.memory) ?? wantedSpec(resources)),
      rounded: false,
      source: 'annotation',
      instanceType: parsed.map((p) => p.text).join(','),
    };
  }
  if (instanceType !== undefined && instanceType.trim() !== '') {
    return { spec: roundUpToSpec(resources.cpu, resources.memory) ?? wantedSpec(resources), rounded: false, source: 'annotation', instanceType: instanceType.trim() };
  }
  const wanted = wantedSpec(resources);
  if (wanted.cpu > MAX_CPU) {
    throw new TranslationError(
      TranslationCode.CpuOverLimit,
      'spec.containers[*].resources',
      `the pod needs ${wanted.cpu} vCPU (sum of its containers' limits, else requests); ECI's maximum is ${MAX_CPU}`,
      `lower the containers' cpu to at most ${MAX_CPU} in total`,
    );
  }
  if (wanted.memory > MAX_MEMORY_GIB) {
    throw new TranslationError(
      TranslationCode.MemoryOverLimit,
      'spec.containers[*].resources',
      `the pod needs ${round3(wanted.memory)} GiB of memory; ECI's maximum is ${MAX_MEMORY_GIB} GiB`,
      `lower the containers' memory to at most ${MAX_MEMORY_GIB}Gi in total`,
    );
  }
  const rounded = roundUpToSpec(wanted.cpu, wanted.memory);
  if (rounded === undefined) {
    throw new TranslationError(TranslationCode.CpuOverLimit, 'spec.containers[*].resources', `no ECI spec holds ${wanted.cpu} vCPU and ${wanted.memory} GiB`, 'lower cpu or memory');
  }
  const isDefault = !resources.cpuSet && !resources.memorySet;
  return { spec: rounded, rounded: rounded.cpu !== wanted.cpu || rounded.memory !== wanted.memory, source: isDefault ? 'default' : 'resources' };
}

function podLevelWarnings(pod: V1Pod, warnings: Warnings): void {
  const spec = pod.spec;
  if (spec === undefined) return;
  if (spec.hostNetwork === true) warnings.add('spec.hostNetwork', 'an ECI pod has its own ENI and no host network; the pod gets its own IP');
  if (spec.hostPID === true) warnings.add('spec.hostPID', 'an ECI pod has no host PID namespace; ignored');
  if (spec.hostIPC === true) warnings.add('spec.hostIPC', 'an ECI pod has no host IPC namespace; ignored');
  if (spec.hostUsers === false) warnings.add('spec.hostUsers', 'user namespaces are not supported on ECI; ignored');
  if (spec.runtimeClassName !== undefined && spec.runtimeClassName !== '') {
    warnings.add('spec.runtimeClassName', `ECI picks its own runtime; runtimeClassName ${spec.runtimeClassName} is ignored`);
  }
  if ((spec.ephemeralContainers ?? []).length > 0) warnings.add('spec.ephemeralContainers', 'ephemeral containers are not supported on ECI; ignored');
  if ((spec.resourceClaims ?? []).length > 0) warnings.add('spec.resourceClaims', 'dynamic resource claims are not supported on ECI; ignored');
  if (spec.os?.name === 'windows') warnings.add('spec.os.name', 'ECI runs Linux containers only');
  const psc = spec.securityContext;
  if (psc !== undefined) {
    if (psc.fsGroup !== undefined) warnings.add('spec.securityContext.fsGroup', 'fsGroup is not supported on ECI; volume ownership is not changed');
    if ((psc.supplementalGroups ?? []).length > 0) warnings.add('spec.securityContext.supplementalGroups', 'supplementalGroups are not supported on ECI; ignored');
    if (psc.seLinuxOptions !== undefined) warnings.add('spec.securityContext.seLinuxOptions', 'SELinux options are not supported on ECI; ignored');
    if (psc.seccompProfile !== undefined && psc.seccompProfile.type !== 'RuntimeDefault') {
      warnings.add('spec.securityContext.seccompProfile', `seccomp profile ${psc.seccompProfile.type} is not supported on ECI; the runtime default applies`);
    }
    (psc.sysctls ?? []).forEach((s, i) => {
      if (!isEciSafeSysctl(s.name)) warnings.add(`spec.securityContext.sysctls[${i}]`, `sysctl ${s.name} cannot be set on ECI; ignored`);
    });
  }
}

function securityContext(pod: V1Pod, sc: V1SecurityContext | undefined, path: string, warnings: Warnings): ContainerSecurityContext | undefined {
  const psc = pod.spec?.securityContext;
  const field = `${path}.securityContext`;
  if (sc?.privileged === true) warnings.add(`${field}.privileged`, 'privileged containers are not supported on ECI; the container runs unprivileged');
  if (sc?.allowPrivilegeEscalation === true) warnings.add(`${field}.allowPrivilegeEscalation`, 'not supported on ECI; ignored');
  if ((sc?.capabilities?.drop ?? []).length > 0) warnings.add(`${field}.capabilities.drop`, 'ECI cannot drop capabilities; the runtime default set applies');
  if (sc?.seLinuxOptions !== undefined) warnings.add(`${field}.seLinuxOptions`, 'SELinux options are not supported on ECI; ignored');
  if (sc?.seccompProfile !== undefined && sc.seccompProfile.type !== 'RuntimeDefault') {
    warnings.add(`${field}.seccompProfile`, `seccomp profile ${sc.seccompProfile.type} is not supported on ECI; the runtime default applies`);
  }
  if (sc?.procMount !== undefined && sc.procMount !== 'Default') warnings.add(`${field}.procMount`, 'not supported on ECI; ignored');
  const add: string[] = [];
  (sc?.capabilities?.add ?? []).forEach((cap, i) => {
    const name = cap.replace(/^CAP_/, '');
    if (ECI_ALLOWED_CAPABILITIES.has(name)) add.push(name);
    else warnings.add(`${field}.capabilities.add[${i}]`, `ECI lets containers add only ${[...ECI_ALLOWED_CAPABILITIES].join(' and ')}; ${cap} is not added`);
  });
  const runAsUser = sc?.runAsUser ?? psc?.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? psc?.runAsGroup;
  const runAsNonRoot = sc?.runAsNonRoot ?? psc?.runAsNonRoot;
  const out: ContainerSecurityContext = {
    ...(runAsUser === undefined ? {} : { runAsUser }),
    ...(runAsGroup === undefined ? {} : { runAsGroup }),
    ...(runAsNonRoot === undefined ? {} : { runAsNonRoot }),
    ...(sc?.readOnlyRootFilesystem === undefined ? {} : { readOnlyRootFilesystem: sc.readOnlyRootFilesystem }),
    ...(add.length === 0 ? {} : { capabilityAdd: add }),
  };
  return Object.keys(out).length === 0 ? undefined : out;
}

function ports(c: V1Container, path: string, warnings: Warnings): ContainerPort[] {
  const out: ContainerPort[] = [];
  (c.ports ?? []).forEach((p, i) => {
    const field = `${path}.ports[${i}]`;
    if (p.hostPort !== undefined && p.hostPort !== 0) warnings.add(`${field}.hostPort`, 'an ECI pod has no host ports; the container port is reachable on the pod IP');
    if (p.hostIP !== undefined && p.hostIP !== '') warnings.add(`${field}.hostIP`, 'an ECI pod has no host; ignored');
    const protocol = p.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP') {
      warnings.add(`${field}.protocol`, `ECI supports TCP and UDP ports; ${protocol} port ${p.containerPort} is not declared`);
      return;
    }
    if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
      throw new TranslationError(TranslationCode.InvalidPort, `${field}.containerPort`, `${p.containerPort} is not a port number`, 'use 1-65535');
    }
    out.push({ port: p.containerPort, protocol });
  });
  return out;
}

function mounts(c: V1Container, path: string, volumeNames: ReadonlySet<string>, warnings: Warnings): VolumeMount[] {
  return (c.volumeMounts ?? []).map((m, i) => {
    const field = `${path}.volumeMounts[${i}]`;
    if (!volumeNames.has(m.name)) {
      throw new TranslationError(TranslationCode.UnknownVolume, `${field}.name`, `no volume named "${m.name}" in spec.volumes`, 'add the volume or fix the mount');
    }
    if (m.subPathExpr !== undefined && m.subPathExpr !== '') warnings.add(`${field}.subPathExpr`, 'subPathExpr is not supported on ECI; the whole volume is mounted');
    if (m.recursiveReadOnly !== undefined && m.recursiveReadOnly !== 'Disabled') warnings.add(`${field}.recursiveReadOnly`, 'not supported on ECI; ignored');
    const propagation = m.mountPropagation;
    return {
      name: m.name,
      mountPath: m.mountPath,
      ...(m.readOnly === undefined ? {} : { readOnly: m.readOnly }),
      ...(m.subPath === undefined || m.subPath === '' ? {} : { subPath: m.subPath }),
      ...(propagation === 'None' || propagation === 'HostToContainer' || propagation === 'Bidirectional' ? { mountPropagation: propagation } : {}),
    };
  });
}

function commonContainer(
  ctx: TranslateContext,
  c: V1Container,
  path: string,
  volumeNames: ReadonlySet<string>,
  resourcesOf: (c: V1Container, field: string) => ContainerResources,
): InitContainerSpec {
  const r = resourcesOf(c, `${path}.resources`);
  const others = Object.keys({ ...c.resources?.limits, ...c.resources?.requests }).filter((k) => k !== 'cpu' && k !== 'memory' && k !== 'ephemeral-storage');
  if (others.length > 0) ctx.warnings.add(`${path}.resources`, `${others.join(', ')} cannot be requested per container on ECI; ignored (use an instance type annotation for GPUs)`);
  if ((c.volumeDevices ?? []).length > 0) ctx.warnings.add(`${path}.volumeDevices`, 'raw block devices are not supported on ECI; ignored');
  const sc = securityContext(ctx.pod, c.securityContext, path, ctx.warnings);
  const pullPolicy = c.imagePullPolicy;
  return {
    name: c.name,
    image: c.image ?? '',
    ...(pullPolicy === 'Always' || pullPolicy === 'IfNotPresent' || pullPolicy === 'Never' ? { imagePullPolicy: pullPolicy } : {}),
    command: c.command ?? [],
    args: c.args ?? [],
    ...(c.workingDir === undefined || c.workingDir === '' ? {} : { workingDir: c.workingDir }),
    ...(r.cpu === undefined ? {} : { cpu: r.cpu }),
    ...(r.memory === undefined ? {} : { memory: r.memory }),
    ports: ports(c, path, ctx.warnings),
    env: translateEnv(ctx, c, path),
    volumeMounts: mounts(c, path, volumeNames, ctx.warnings),
    ...(sc === undefined ? {} : { securityContext: sc }),
    ...(c.terminationMessagePath === undefined ? {} : { terminationMessagePath: c.terminationMessagePath }),
    ...(c.terminationMessagePolicy === 'File' || c.terminationMessagePolicy === 'FallbackToLogsOnError' ? { terminationMessagePolicy: c.terminationMessagePolicy } : {}),
  };
}

function translateInitContainer(
  ctx: TranslateContext,
  c: V1Container,
  path: string,
  volumeNames: ReadonlySet<string>,
  resourcesOf: (c: V1Container, field: string) => ContainerResources,
): InitContainerSpec {
  return commonContainer(ctx, c, path, volumeNames, resourcesOf);
}

function translateContainer(
  ctx: TranslateContext,
  c: V1Container,
  path: string,
  volumeNames: ReadonlySet<string>,
  resourcesOf: (c: V1Container, field: string) => ContainerResources,
): ContainerSpec {
  const base = commonContainer(ctx, c, path, volumeNames, resourcesOf);
  if (c.startupProbe !== undefined) ctx.warnings.add(`${path}.startupProbe`, 'ECI has no startup probe; dropped (raise the liveness probe initialDelaySeconds instead)');
  const readinessProbe = translateProbe(ctx, c, c.readinessProbe, `${path}.readinessProbe`);
  const livenessProbe = translateProbe(ctx, c, c.livenessProbe, `${path}.livenessProbe`);
  const postStart = translateLifecycleHandler(ctx, c, c.lifecycle?.postStart, `${path}.lifecycle.postStart`);
  const preStop = translateLifecycleHandler(ctx, c, c.lifecycle?.preStop, `${path}.lifecycle.preStop`);
  if (c.lifecycle?.stopSignal !== undefined) ctx.warnings.add(`${path}.lifecycle.stopSignal`, 'custom stop signals are not supported on ECI; SIGTERM is sent');
  return {
    ...base,
    ...(readinessProbe === undefined ? {} : { readinessProbe }),
    ...(livenessProbe === undefined ? {} : { livenessProbe }),
    ...(postStart === undefined ? {} : { postStart }),
    ...(preStop === undefined ? {} : { preStop }),
    ...(c.stdin === true ? { stdin: true } : {}),
    ...(c.stdinOnce === true ? { stdinOnce: true } : {}),
    ...(c.tty === true ? { tty: true } : {}),
  };
}

function dns(
  pod: V1Pod,
  clusterDns: ClusterDns | undefined,
  warnings: Warnings,
): Pick<ContainerGroupRequest, 'dnsPolicy' | 'dnsConfig'> {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const podCfg = pod.spec?.dnsConfig;
  const fromPod: DnsConfig = {
    nameServers: podCfg?.nameservers ?? [],
    searches: podCfg?.searches ?? [],
    options: (podCfg?.options ?? []).map((o) => ({ name: o.name ?? '', ...(o.value === undefined ? {} : { value: o.value }) })),
  };
  const hasPodCfg = fromPod.nameServers.length + fromPod.searches.length + fromPod.options.length > 0;
  if (policy === 'None') return { dnsPolicy: 'None', dnsConfig: fromPod };
  if (policy === 'Default') return { dnsPolicy: 'Default', ...(hasPodCfg ? { dnsConfig: fromPod } : {}) };
  // ClusterFirst / ClusterFirstWithHostNet: the cluster's DNS, like the kubelet writes it.
  if (clusterDns === undefined || clusterDns.nameServers.length === 0) {
    // The same for every such pod: reported once per process (sync.ts), not as an event per pod.
    warnings.addForProcess(
      'spec.dnsPolicy',
      `${policy}: no cluster DNS: --cluster-dns is not set and there is no kube-system/kube-dns Service with a ClusterIP; ClusterFirst pods resolve through the VPC's DNS (Service names do not resolve)`,
    );
    return { dnsPolicy: 'Default', ...(hasPodCfg ? { dnsConfig: fromPod } : {}) };
  }
  const ns = pod.metadata?.namespace ?? '';
  const domain = clusterDns.clusterDomain;
  const options = new Map<string, { name: string; value?: string }>([['ndots', { name: 'ndots', value: '5' }]]);
  for (const o of fromPod.options) options.set(o.name, o);
  return {
    dnsPolicy: 'None',
    dnsConfig: {
      nameServers: [...clusterDns.nameServers, ...fromPod.nameServers],
      searches: [`${ns}.svc.${domain}`, `svc.${domain}`, domain, ...fromPod.searches],
      options: [...options.values()],
    },
  };
}

interface DockerAuth {
  username?: string;
  password?: string;
  auth?: string;
}

/** imagePullSecrets (kubernetes.io/dockerconfigjson or the legacy dockercfg) -> registry credentials. */
function imagePullCredentials(ctx: TranslateContext): ImageRegistryCredential[] {
  const byServer = new Map<string, ImageRegistryCredential>();
  (ctx.pod.spec?.imagePullSecrets ?? []).forEach((ref, i) => {
    const field = `spec.imagePullSecrets[${i}]`;
    const secretName = ref.name ?? '';
    const data = ctx.resolved.secrets[secretName];
    if (data === undefined) {
      ctx.warnings.add(field, `Secret "${secretName}" does not exist; images are pulled without it`, EventReason.FailedToRetrieveImagePullSecret);
      return;
    }
    const raw = data['.dockerconfigjson'] ?? data['.dockercfg'];
    if (raw === undefined) {
      ctx.warnings.add(field, `Secret "${secretName}" has no .dockerconfigjson key; ignored`);
      return;
    }
    let auths: Record<string, DockerAuth>;
    try {
      const parsed = JSON.parse(decodeBase64(raw)) as { auths?: Record<string, DockerAuth> } & Record<string, DockerAuth>;
      auths = parsed.auths ?? parsed;
    } catch {
      ctx.warnings.add(field, `Secret "${secretName}" does not hold valid docker config JSON; ignored`);
      return;
    }
    for (const [registry, entry] of Object.entries(auths)) {
      let userName = entry.username;
      let password = entry.password;
      if ((userName === undefined || password === undefined) && entry.auth !== undefined) {
        const decoded = decodeBase64(entry.auth);
        const colon = decoded.indexOf(':');
        if (colon > 0) {
          userName = decoded.slice(0, colon);
          password = decoded.slice(colon + 1);
        }
      }
      if (userName === undefined || password === undefined) {
        ctx.warnings.add(field, `the entry for ${registry} in Secret "${secretName}" has no username/password (identity tokens are not supported on ECI); ignored`);
        continue;
      }
      const server = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
      if (!byServer.has(server)) byServer.set(server, { server, userName, password });
    }
  });
  return [...byServer.values()];
}

function annotationOptions(annotations: Record<string, string>, vSwitchCount: number, warnings: Warnings): Partial<ContainerGroupRequest> {
  const out: Partial<ContainerGroupRequest> = {};
  const field = (key: string) => `metadata.annotations['${key}']`;
  const bool = (key: string): boolean | undefined => {
    const v = annotations[key];
    if (v === undefined) return undefined;
    if (v === 'true' || v === 'false') return v === 'true';
    warnings.add(field(key), `"${v}" is not true or false; ignored`);
    return undefined;
  };
  const spot = annotations[ECI_ANNOTATIONS.spotStrategy];
  if (spot !== undefined) {
    if (spot === 'SpotAsPriceGo' || spot === 'SpotWithPriceLimit' || spot === 'NoSpot') {
      out.spotStrategy = spot;
      const limit = annotations[ECI_ANNOTATIONS.spotPriceLimit];
      if (spot === 'SpotWithPriceLimit') {
        const price = limit === undefined ? NaN : Number(limit);
        if (Number.isFinite(price) && price > 0) out.spotPriceLimit = price;
        else warnings.add(field(ECI_ANNOTATIONS.spotPriceLimit), 'SpotWithPriceLimit needs a positive price limit; ECI will refuse the group without it');
      }
    } else {
      warnings.add(field(ECI_ANNOTATIONS.spotStrategy), `"${spot}" is not SpotAsPriceGo, SpotWithPriceLimit or NoSpot; ignored`);
    }
  }
  const eip = bool(ECI_ANNOTATIONS.withEip);
  if (eip === true) {
    out.autoCreateEip = true;
    const bw = annotations[ECI_ANNOTATIONS.eipBandwidth];
    if (bw !== undefined) {
      const n = Number(bw);
      if (Number.isInteger(n) && n > 0) out.eipBandwidth = n;
      else warnings.add(field(ECI_ANNOTATIONS.eipBandwidth), `"${bw}" is not a positive integer (Mbps); ECI's default applies`);
    }
  }
  const eipId = annotations[ECI_ANNOTATIONS.eipInstanceId];
  if (eipId !== undefined && eipId !== '') out.eipInstanceId = eipId;
  const role = annotations[ECI_ANNOTATIONS.ramRoleName];
  if (role !== undefined && role !== '') out.ramRoleName = role;
  if (bool(ECI_ANNOTATIONS.imageCache) === true) out.autoMatchImageCache = true;
  const snapshot = annotations[ECI_ANNOTATIONS.imageSnapshotId];
  if (snapshot !== undefined && snapshot !== '') out.imageSnapshotId = snapshot;
  const strategy = annotations[ECI_ANNOTATIONS.scheduleStrategy];
  if (strategy !== undefined) {
    if (strategy === 'VSwitchOrdered' || strategy === 'VSwitchRandom') {
      if (vSwitchCount > 1) out.scheduleStrategy = strategy;
    } else {
      warnings.add(field(ECI_ANNOTATIONS.scheduleStrategy), `"${strategy}" is not VSwitchOrdered or VSwitchRandom; ignored`);
    }
  }
  const storage = annotations[ECI_ANNOTATIONS.extraEphemeralStorage];
  if (storage !== undefined) {
    const bytes = parseQuantity(storage);
    if (bytes !== undefined && bytes > 0) out.ephemeralStorage = Math.ceil(bytes / GiB);
    else warnings.add(field(ECI_ANNOTATIONS.extraEphemeralStorage), `"${storage}" is not a positive quantity; ignored`);
  }
  if (bool(ECI_ANNOTATIONS.enableIpv6) === true) out.ipv6AddressCount = 1;
  return out;
}
