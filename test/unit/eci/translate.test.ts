import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { GROUP_TAGS } from '../../../provider/cloud/model.ts';
import { redactRequest, REDACTED } from '../../../provider/eci/request.ts';
import { translatePod, TranslationError, type ResolvedInputs, type TranslateInput } from '../../../provider/eci/translate.ts';
import { makeContainer, makePod } from '../builders.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

function translate(pod: V1Pod, o: { resolved?: Partial<ResolvedInputs>; dns?: TranslateInput['cluster']['dns']; vSwitchIds?: string[] } = {}) {
  return translatePod({
    pod,
    network: { zoneId: 'cn-hangzhou-h', vSwitchIds: o.vSwitchIds ?? ['vsw-1'], securityGroupId: 'sg-1' },
    resolved: { configMaps: {}, secrets: {}, ...o.resolved },
    cluster: { clusterId: 'c1', nodeName: 'vn-h', regionId: 'cn-hangzhou', ...(o.dns ? { dns: o.dns } : {}) },
  });
}

function translationError(fn: () => unknown): TranslationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TranslationError) return err;
    throw err;
  }
  throw new Error('expected a TranslationError');
}

describe('translatePod: identity, tags, network', () => {
  it('uses the pod UID plus a digest of the body as ClientToken, tags the group and names it after namespace + pod', () => {
    const { request, warnings } = translate(makePod({ name: 'web-0', namespace: 'shop', uid: 'uid-1' }));
    expect(request.clientToken).toMatch(/^uid-1-[0-9a-f]{16}$/);
    expect(translate(makePod({ name: 'web-0', namespace: 'shop', uid: 'uid-1' })).request.clientToken).toBe(request.clientToken);
    expect(request.containerGroupName).toBe('shop-web-0');
    expect(request.tags).toEqual({
      [GROUP_TAGS.cluster]: 'c1',
      [GROUP_TAGS.node]: 'vn-h',
      [GROUP_TAGS.namespace]: 'shop',
      [GROUP_TAGS.pod]: 'web-0',
      [GROUP_TAGS.podUid]: 'uid-1',
    });
    expect(request).toMatchObject({ regionId: 'cn-hangzhou', zoneId: 'cn-hangzhou-h', vSwitchIds: ['vsw-1'], securityGroupId: 'sg-1', restartPolicy: 'Always', hostName: 'web-0' });
    expect(warnings.filter((w) => w.field !== 'spec.dnsPolicy')).toEqual([]);
  });

  it('refuses a pod with no uid', () => {
    const pod = makePod();
    delete pod.metadata!.uid;
    expect(translationError(() => translate(pod)).code).toBe('MissingPodIdentity');
  });
});

describe('translatePod: containers', () => {
  it('carries image, command, args, workingDir, ports and pull policy; init containers separately', () => {
    const pod = makePod({
      containers: [
        makeContainer({
          name: 'app',
          image: 'registry/app:1',
          command: ['/bin/app'],
          args: ['--port', '8080'],
          workingDir: '/srv',
          imagePullPolicy: 'IfNotPresent',
          ports: [{ containerPort: 8080 }, { containerPort: 53, protocol: 'UDP', name: 'dns' }],
          tty: true,
          stdin: true,
        }),
      ],
      initContainers: [makeContainer({ name: 'init', image: 'busybox', command: ['sh', '-c', 'true'] })],
    });
    const { request } = translate(pod);
    expect(request.containers).toHaveLength(1);
    expect(request.containers[0]).toMatchObject({
      name: 'app',
      image: 'registry/app:1',
      command: ['/bin/app'],
      args: ['--port', '8080'],
      workingDir: '/srv',
      imagePullPolicy: 'IfNotPresent',
      ports: [
        { port: 8080, protocol: 'TCP' },
        { port: 53, protocol: 'UDP' },
      ],
      tty: true,
      stdin: true,
    });
    expect(request.initContainers.map((c) => [c.name, c.command])).toEqual([['init', ['sh', '-c', 'true']]]);
  });

  it('runs sidecar init containers (restartPolicy Always) as regular containers, with a warning', () => {
    const pod = makePod({ initContainers: [makeContainer({ name: 'proxy', restartPolicy: 'Always' }), makeContainer({ name: 'setup' })] });
    const { request, warnings } = translate(pod);
    expect(request.containers.map((c) => c.name)).toEqual(['proxy', 'app']);
    expect(request.initContainers.map((c) => c.name)).toEqual(['setup']);
    expect(warnings).toContainEqual(expect.objectContaining({ field: 'spec.initContainers[0].restartPolicy' }));
  });

  it('refuses more than 20 containers, naming the field and the fix', () => {
    const pod = makePod({ containers: Array.from({ length: 21 }, (_, i) => makeContainer({ name: `c${i}` })) });
    const err = translationError(() => translate(pod));
    expect(err).toMatchObject({ code: 'TooManyContainers', field: 'spec.containers', retryable: false });
    expect(err.message).toMatch(/21 containers.*at most 20/);
  });

  it('probes: exec, httpGet with a named port, tcpSocket, timings; gRPC and startup probes are warned', () => {
    const pod = makePod({
      containers: [
        makeContainer({
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' as unknown as number, scheme: 'HTTP' }, periodSeconds: 5, failureThreshold: 2 },
          livenessProbe: { tcpSocket: { port: 8080 as unknown as number }, initialDelaySeconds: 10, timeoutSeconds: 3, successThreshold: 1 },
          startupProbe: { exec: { command: ['true'] } },
        }),
        makeContainer({ name: 'b', livenessProbe: { exec: { command: ['cat', '/ok'] } }, readinessProbe: { grpc: { port: 9000 } } }),
      ],
    });
    const { request, warnings } = translate(pod);
    expect(request.containers[0]!.readinessProbe).toEqual({ httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, failureThreshold: 2 });
    expect(request.containers[0]!.livenessProbe).toEqual({ tcpSocket: { port: 8080 }, initialDelaySeconds: 10, timeoutSeconds: 3, successThreshold: 1 });
    expect(request.containers[1]!.livenessProbe).toEqual({ exec: { command: ['cat', '/ok'] } });
    expect(request.containers[1]!.readinessProbe).toBeUndefined();
    expect(warnings.map((w) => w.field)).toEqual(expect.arrayContaining(['spec.containers[0].startupProbe', 'spec.containers[1].readinessProbe.grpc']));
  });

  it('refuses a probe on a port name the container does not declare', () => {
    const pod = makePod({ containers: [makeContainer({ livenessProbe: { httpGet: { port: 'metrics' as unknown as number } } })] });
    expect(translationError(() => translate(pod))).toMatchObject({ code: 'InvalidPort', field: 'spec.containers[0].livenessProbe.httpGet.port' });
  });

  it('lifecycle hooks become ECI handlers', () => {
    const pod = makePod({ containers: [makeContainer({ lifecycle: { preStop: { exec: { command: ['nginx', '-s', 'quit'] } }, postStart: { httpGet: { port: 80 as unknown as number, path: '/warm' } } } })] });
    const c = translate(pod).request.containers[0]!;
    expect(c.preStop).toEqual({ exec: ['nginx', '-s', 'quit'] });
    expect(c.postStart).toEqual({ httpGet: { port: 80, path: '/warm' } });
  });

  it('security context: runAsUser from the pod, allowed capabilities only, readOnlyRootFilesystem', () => {
    const pod = makePod({
      spec: { securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, sysctls: [{ name: 'net.core.somaxconn', value: '1024' }, { name: 'kernel.panic', value: '1' }] } },
      containers: [makeContainer({ securityContext: { readOnlyRootFilesystem: true, privileged: true, capabilities: { add: ['NET_ADMIN', 'SYS_TIME'], drop: ['ALL'] } } })],
    });
    const { request, warnings } = translate(pod);
    expect(request.containers[0]!.securityContext).toEqual({ runAsUser: 1000, runAsGroup: 3000, readOnlyRootFilesystem: true, capabilityAdd: ['NET_ADMIN'] });
    expect(request.sysctls).toEqual([{ name: 'net.core.somaxconn', value: '1024' }]);
    expect(warnings.map((w) => w.field)).toEqual(
      expect.arrayContaining([
        'spec.containers[0].securityContext.privileged',
        'spec.containers[0].securityContext.capabilities.add[1]',
        'spec.containers[0].securityContext.capabilities.drop',
        'spec.securityContext.fsGroup',
        'spec.securityContext.sysctls[1]',
      ]),
    );
  });
});

describe('translatePod: fields ECI cannot honour become warnings with their path', () => {
  const rows: [what: string, pod: V1Pod, field: string][] = [
    ['hostNetwork', makePod({ spec: { hostNetwork: true } }), 'spec.hostNetwork'],
    ['hostPID', makePod({ spec: { hostPID: true } }), 'spec.hostPID'],
    ['hostIPC', makePod({ spec: { hostIPC: true } }), 'spec.hostIPC'],
    ['privileged', makePod({ containers: [makeContainer({ securityContext: { privileged: true } })] }), 'spec.containers[0].securityContext.privileged'],
    ['hostPort', makePod({ containers: [makeContainer({ ports: [{ containerPort: 80, hostPort: 80 }] })] }), 'spec.containers[0].ports[0].hostPort'],
    ['SCTP port', makePod({ containers: [makeContainer({ ports: [{ containerPort: 9, protocol: 'SCTP' }] })] }), 'spec.containers[0].ports[0].protocol'],
    [
      'hostPath volume',
      makePod({ spec: { volumes: [{ name: 'h', hostPath: { path: '/var/log' } }] }, containers: [makeContainer({ volumeMounts: [{ name: 'h', mountPath: '/h' }] })] }),
      'spec.volumes[0].hostPath',
    ],
    ['PVC volume', makePod({ spec: { volumes: [{ name: 'p', persistentVolumeClaim: { claimName: 'data' } }] } }), 'spec.volumes[0].persistentVolumeClaim'],
    ['iscsi volume', makePod({ spec: { volumes: [{ name: 'i', iscsi: { targetPortal: 't', iqn: 'q', lun: 0 } }] } }), 'spec.volumes[0].iscsi'],
    ['ephemeral containers', makePod({ spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] } }), 'spec.ephemeralContainers'],
    ['GPU resource', makePod({ containers: [makeContainer({ resources: { limits: { 'nvidia.com/gpu': '1' } } })] }), 'spec.containers[0].resources'],
  ];
  it.each(rows)('%s', (_, pod, field) => {
    const { warnings } = translate(pod);
    const w = warnings.find((x) => x.field === field);
    expect(w, `warnings: ${JSON.stringify(warnings)}`).toBeDefined();
    expect(w!.message.length).toBeGreaterThan(10);
  });

  it('an unsupported volume still exists (as an emptyDir) so its mounts work', () => {
    const pod = makePod({ spec: { volumes: [{ name: 'h', hostPath: { path: '/x' } }] }, containers: [makeContainer({ volumeMounts: [{ name: 'h', mountPath: '/h' }] })] });
    expect(translate(pod).request.volumes).toEqual([{ name: 'h', type: 'EmptyDirVolume' }]);
  });
});

describe('translatePod: resources -> ECI spec', () => {
  const rows: [what: string, pod: V1Pod, cpu: number, memory: number, source: string][] = [
    ['no resources: ECI default 2 vCPU / 4 GiB', makePod(), 2, 4, 'default'],
    ['limits win over requests', makePod({ containers: [makeContainer({ resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '2Gi' } } })] }), 1, 2, 'resources'],
    ['requests when no limits', makePod({ containers: [makeContainer({ resources: { requests: { cpu: '250m', memory: '512Mi' } } })] }), 0.25, 0.5, 'resources'],
    [
      'sum of containers, rounded up (7 vCPU 13 GiB -> 8/16)',
      makePod({
        containers: [makeContainer({ name: 'a', resources: { limits: { cpu: '3', memory: '6Gi' } } }), makeContainer({ name: 'b', resources: { limits: { cpu: '4', memory: '7Gi' } } })],
      }),
      8,
      16,
      'resources',
    ],
    [
      'an init container larger than the sum wins',
      makePod({ containers: [makeContainer({ resources: { limits: { cpu: '1', memory: '2Gi' } } })], initContainers: [makeContainer({ name: 'i', resources: { limits: { cpu: '4', memory: '8Gi' } } })] }),
      4,
      8,
      'resources',
    ],
    ['cpu only: memory at 2 GiB per vCPU', makePod({ containers: [makeContainer({ resources: { limits: { cpu: '2' } } })] }), 2, 4, 'resources'],
    ['memory only: 1 vCPU per 2 GiB', makePod({ containers: [makeContainer({ resources: { limits: { memory: '8Gi' } } })] }), 4, 8, 'resources'],
    ['eci-use-specs wins', makePod({ annotations: { 'k8s.aliyun.com/eci-use-specs': '4-8Gi' }, containers: [makeContainer({ resources: { limits: { cpu: '1' } } })] }), 4, 8, 'annotation'],
  ];
  it.each(rows)('%s', (_, pod, cpu, memory, source) => {
    const { request, spec } = translate(pod);
    expect([request.cpu, request.memory]).toEqual([cpu, memory]);
    expect(spec.source).toBe(source);
  });

  it('per-container cpu/memory are carried (limits, else requests)', () => {
    const pod = makePod({ containers: [makeContainer({ resources: { requests: { cpu: '500m', memory: '256Mi' } } })] });
    expect(translate(pod).request.containers[0]).toMatchObject({ cpu: 0.5, memory: 0.25 });
  });

  it('instance types from eci-use-specs go to InstanceType, the comma list kept in order', () => {
    const { request } = translate(makePod({ annotations: { 'k8s.aliyun.com/eci-use-specs': 'ecs.c6.large, 2-4Gi' } }));
    expect(request.instanceType).toBe('ecs.c6.large,2-4Gi');
    expect(request.cpu).toBeUndefined();
  });

  it('eci-instance-type is used when eci-use-specs is absent', () => {
    expect(translate(makePod({ annotations: { 'k8s.aliyun.com/eci-instance-type': 'ecs.g6.xlarge' } })).request.instanceType).toBe('ecs.g6.xlarge');
  });

  it('a non-spec eci-use-specs value is rounded up with a warning', () => {
    const { request, warnings } = translate(makePod({ annotations: { 'k8s.aliyun.com/eci-use-specs': '3-5Gi' } }));
    expect([request.cpu, request.memory]).toEqual([4, 8]);
    expect(warnings.some((w) => w.field.includes('eci-use-specs'))).toBe(true);
  });

  const refusals: [what: string, pod: V1Pod, code: string][] = [
    ['more than 64 vCPU', makePod({ containers: [makeContainer({ resources: { limits: { cpu: '65' } } })] }), 'CpuOverLimit'],
    ['more than 512 GiB', makePod({ containers: [makeContainer({ resources: { limits: { cpu: '8', memory: '600Gi' } } })] }), 'MemoryOverLimit'],
    ['a malformed quantity', makePod({ containers: [makeContainer({ resources: { limits: { cpu: 'lots' } } })] }), 'InvalidQuantity'],
    ['a malformed eci-use-specs', makePod({ annotations: { 'k8s.aliyun.com/eci-use-specs': '2C4G' } }), 'InvalidEciUseSpecs'],
  ];
  it.each(refusals)('refuses %s', (_, pod, code) => {
    const err = translationError(() => translate(pod));
    expect(err.code).toBe(code);
    expect(err.field).not.toBe('');
    expect(err.hint).not.toBe('');
  });
});

describe('translatePod: env', () => {
  const resolved: Partial<ResolvedInputs> = {
    configMaps: { cfg: { LEVEL: 'debug', URL: 'http://x' } },
    secrets: { db: { password: b64('s3cr3t'), user: b64('admin') } },
  };

  it('resolves literals, ConfigMap and Secret refs, envFrom with prefix; env overrides envFrom', () => {
    const pod = makePod({
      containers: [
        makeContainer({
          envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'db' } }],
          env: [
            { name: 'PLAIN', value: 'v' },
            { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } },
            { name: 'PASS', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
            { name: 'user', value: 'override' },
          ],
        }),
      ],
    });
    const env = translate(pod, { resolved }).request.containers[0]!.env;
    expect(env).toEqual([
      { key: 'CFG_LEVEL', value: 'debug' },
      { key: 'CFG_URL', value: 'http://x' },
      { key: 'password', value: 's3cr3t', sensitive: true },
      { key: 'PLAIN', value: 'v' },
      { key: 'LEVEL', value: 'debug' },
      { key: 'PASS', value: 's3cr3t', sensitive: true },
      { key: 'user', value: 'override' },
    ]);
  });

  it('downward API: metadata now, status.podIP by ECI FieldRef, resources computed', () => {
    const pod = makePod({
      name: 'p',
      namespace: 'ns',
      uid: 'u-1',
      labels: { app: 'web' },
      containers: [
        makeContainer({
          resources: { limits: { cpu: '1500m', memory: '1Gi' } },
          env: [
            { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
            { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
            { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
            { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          ],
        }),
      ],
    });
    const { request, warnings } = translate(pod);
    expect(request.containers[0]!.env).toEqual([
      { key: 'NAME', value: 'p' },
      { key: 'NS', value: 'ns' },
      { key: 'UID', value: 'u-1' },
      { key: 'APP', value: 'web' },
      { key: 'NODE', value: 'virtual-node-eci-cn-hangzhou-h' },
      { key: 'IP', fieldPath: 'status.podIP' },
      { key: 'HOST', fieldPath: 'status.podIP' },
      { key: 'CPU', value: '2' },
      { key: 'MEM_MI', value: '1024' },
    ]);
    expect(warnings.map((w) => w.field)).toContain('spec.containers[0].env[6].valueFrom.fieldRef');
  });

  const missing: [what: string, env: NonNullable<V1Pod['spec']>['containers'][number]['env'], code: string, field: string][] = [
    ['ConfigMap', [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }], 'MandatoryConfigMapNotFound', 'spec.containers[0].env[0].valueFrom.configMapKeyRef'],
    ['ConfigMap key', [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nope' } } }], 'MandatoryConfigMapKeyNotFound', 'spec.containers[0].env[0].valueFrom.configMapKeyRef'],
    ['Secret', [{ name: 'A', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }], 'MandatorySecretNotFound', 'spec.containers[0].env[0].valueFrom.secretKeyRef'],
    ['Secret key', [{ name: 'A', valueFrom: { secretKeyRef: { name: 'db', key: 'nope' } } }], 'MandatorySecretKeyNotFound', 'spec.containers[0].env[0].valueFrom.secretKeyRef'],
  ];
  it.each(missing)('a missing %s without optional is an error naming the field', (_, env, code, field) => {
    const err = translationError(() => translate(makePod({ containers: [makeContainer({ env })] }), { resolved }));
    expect(err).toMatchObject({ code, field, retryable: true });
  });

  // virtual-kubelet's reasons: the pod still runs, and a Warning says what is missing.
  const optionalMissing: [what: string, env: NonNullable<V1Pod['spec']>['containers'][number]['env'], reason: string, field: string][] = [
    ['ConfigMap', [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } }], 'OptionalConfigMapNotFound', 'spec.containers[0].env[0].valueFrom.configMapKeyRef'],
    ['ConfigMap key', [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nope', optional: true } } }], 'OptionalConfigMapKeyNotFound', 'spec.containers[0].env[0].valueFrom.configMapKeyRef'],
    ['Secret', [{ name: 'A', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } }], 'OptionalSecretNotFound', 'spec.containers[0].env[0].valueFrom.secretKeyRef'],
    ['Secret key', [{ name: 'A', valueFrom: { secretKeyRef: { name: 'db', key: 'nope', optional: true } } }], 'OptionalSecretKeyNotFound', 'spec.containers[0].env[0].valueFrom.secretKeyRef'],
  ];
  it.each(optionalMissing)('a missing optional %s leaves the variable out with a Warning reason', (_, env, reason, field) => {
    const { request, warnings } = translate(makePod({ containers: [makeContainer({ env })] }), { resolved });
    expect(request.containers[0]!.env).toEqual([]);
    expect(warnings.filter((w) => w.reason === reason).map((w) => w.field)).toEqual([field]);
  });

  it('a present optional reference gives no warning', () => {
    const pod = makePod({ containers: [makeContainer({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL', optional: true } } }] })] });
    const { warnings } = translate(pod, { resolved });
    expect(warnings.filter((w) => w.reason !== undefined && w.reason.startsWith('Optional'))).toEqual([]);
  });
});

describe('translatePod: volumes', () => {
  const resolved: Partial<ResolvedInputs> = {
    configMaps: { cfg: { 'app.conf': 'a=1', 'other.conf': 'b=2' } },
    secrets: { tls: { 'tls.crt': b64('CERT'), 'tls.key': b64('KEY') } },
    serviceAccountToken: 'eyJ.token',
  };

  it('emptyDir (Memory), configMap items with modes, secret, nfs', () => {
    const pod = makePod({
      spec: {
        volumes: [
          { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
          { name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'conf/app.conf', mode: 0o600 }], defaultMode: 0o644 } },
          { name: 'tls', secret: { secretName: 'tls' } },
          { name: 'share', nfs: { server: 'nas.example', path: '/export', readOnly: true } },
        ],
      },
      containers: [makeContainer({ volumeMounts: [{ name: 'cfg', mountPath: '/etc/app', readOnly: true }, { name: 'scratch', mountPath: '/tmp', subPath: 'x' }] })],
    });
    const { request } = translate(pod, { resolved });
    expect(request.volumes).toEqual([
      { name: 'scratch', type: 'EmptyDirVolume', medium: 'Memory', sizeLimit: '64Mi' },
      { name: 'cfg', type: 'ConfigFileVolume', defaultMode: 420, files: [{ path: 'conf/app.conf', contentBase64: b64('a=1'), mode: 384 }] },
      {
        name: 'tls',
        type: 'ConfigFileVolume',
        files: [
          { path: 'tls.crt', contentBase64: b64('CERT'), sensitive: true },
          { path: 'tls.key', contentBase64: b64('KEY'), sensitive: true },
        ],
      },
      { name: 'share', type: 'NFSVolume', server: 'nas.example', path: '/export', readOnly: true },
    ]);
    expect(request.containers[0]!.volumeMounts).toEqual([
      { name: 'cfg', mountPath: '/etc/app', readOnly: true },
      { name: 'scratch', mountPath: '/tmp', subPath: 'x' },
    ]);
  });

  it('projected service account volume: token, CA ConfigMap, namespace from the downward API', () => {
    const pod = makePod({
      namespace: 'team',
      spec: {
        volumes: [
          {
            name: 'kube-api-access',
            projected: {
              defaultMode: 420,
              sources: [
                { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
                { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }, { path: 'ip', fieldRef: { fieldPath: 'status.podIP' } }] } },
              ],
            },
          },
        ],
      },
    });
    const { request, warnings } = translate(pod, { resolved: { ...resolved, configMaps: { 'kube-root-ca.crt': { 'ca.crt': 'CA' } } } });
    const v = request.volumes[0]!;
    expect(v.type).toBe('ConfigFileVolume');
    if (v.type !== 'ConfigFileVolume') return;
    expect(v.files.map((f) => [f.path, unb64(f.contentBase64), f.sensitive === true])).toEqual([
      ['token', 'eyJ.token', true],
      ['ca.crt', 'CA', false],
      ['namespace', 'team', false],
    ]);
    expect(warnings.map((w) => w.field)).toContain('spec.volumes[0].projected.sources[2].downwardAPI.items[1].fieldRef');
  });

  it('without an issued token the projection is skipped with a warning', () => {
    const pod = makePod({ spec: { volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }] } });
    const { request, warnings } = translate(pod);
    expect(request.volumes).toEqual([{ name: 't', type: 'EmptyDirVolume' }]);
    expect(warnings.map((w) => w.field)).toContain('spec.volumes[0].projected.sources[0].serviceAccountToken');
  });

  it('refuses a missing ConfigMap key in items, a mount of an unknown volume, and more than 20 volumes', () => {
    const missingKey = makePod({ spec: { volumes: [{ name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'nope', path: 'x' }] } }] } });
    expect(translationError(() => translate(missingKey, { resolved }))).toMatchObject({ code: 'MandatoryConfigMapKeyNotFound', field: 'spec.volumes[0].configMap.items[0]' });
    const unknown = makePod({ containers: [makeContainer({ volumeMounts: [{ name: 'ghost', mountPath: '/g' }] })] });
    expect(translationError(() => translate(unknown))).toMatchObject({ code: 'UnknownVolume', field: 'spec.containers[0].volumeMounts[0].name' });
    const many = makePod({ spec: { volumes: Array.from({ length: 21 }, (_, i) => ({ name: `v${i}`, emptyDir: {} })) } });
    expect(translationError(() => translate(many)).code).toBe('TooManyVolumes');
  });

  it('an optional missing ConfigMap volume is an empty directory, with OptionalConfigMapNotFound', () => {
    const pod = makePod({ spec: { volumes: [{ name: 'cfg', configMap: { name: 'absent', optional: true } }] } });
    const { request, warnings } = translate(pod);
    expect(request.volumes).toEqual([{ name: 'cfg', type: 'EmptyDirVolume' }]);
    expect(warnings.map((w) => [w.reason, w.field])).toContainEqual(['OptionalConfigMapNotFound', 'spec.volumes[0].configMap']);
  });

  it('an optional Secret volume missing an item key writes the other items, with OptionalSecretKeyNotFound', () => {
    const pod = makePod({ spec: { volumes: [{ name: 's', secret: { secretName: 'tls', optional: true, items: [{ key: 'nope', path: 'x' }, { key: 'tls.crt', path: 'y' }] } }] } });
    const { request, warnings } = translate(pod, { resolved });
    const v = request.volumes[0]!;
    expect(v.type === 'ConfigFileVolume' ? v.files.map((f) => f.path) : v.type).toEqual(['y']);
    expect(warnings.map((w) => [w.reason, w.field])).toContainEqual(['OptionalSecretKeyNotFound', 'spec.volumes[0].secret.items[0]']);
  });
});

describe('translatePod: pod-level options', () => {
  it('restart policy, grace, deadline, host aliases', () => {
    const pod = makePod({ spec: { restartPolicy: 'OnFailure', terminationGracePeriodSeconds: 45, activeDeadlineSeconds: 600, hostAliases: [{ ip: '10.1.1.1', hostnames: ['db.local'] }] } });
    expect(translate(pod).request).toMatchObject({
      restartPolicy: 'OnFailure',
      terminationGracePeriodSeconds: 45,
      activeDeadlineSeconds: 600,
      hostAliases: [{ ip: '10.1.1.1', hostnames: ['db.local'] }],
    });
  });

  it('ClusterFirst with a cluster DNS: kubelet-style resolv.conf; pod dnsConfig merged', () => {
    const pod = makePod({ namespace: 'shop', spec: { dnsConfig: { searches: ['corp.local'], options: [{ name: 'ndots', value: '2' }] } } });
    const { request } = translate(pod, { dns: { nameServers: ['10.96.0.10'], clusterDomain: 'cluster.local' } });
    expect(request.dnsPolicy).toBe('None');
    expect(request.dnsConfig).toEqual({
      nameServers: ['10.96.0.10'],
      searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.local'],
      options: [{ name: 'ndots', value: '2' }],
    });
  });

  it('ClusterFirst without a cluster DNS falls back to the VPC DNS with a warning; None passes dnsConfig through', () => {
    const first = translate(makePod());
    expect(first.request.dnsPolicy).toBe('Default');
    // About the provider's setup, not the pod: the sync reports it once per process.
    expect(first.warnings.filter((w) => w.field === 'spec.dnsPolicy').map((w) => w.scope)).toEqual(['process']);
    expect(translate(makePod(), { dns: { nameServers: ['10.96.0.10'], clusterDomain: 'cluster.local' } }).warnings.map((w) => w.field)).not.toContain('spec.dnsPolicy');
    const none = translate(makePod({ spec: { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'] } } }));
    expect(none.request).toMatchObject({ dnsPolicy: 'None', dnsConfig: { nameServers: ['1.1.1.1'], searches: [], options: [] } });
  });

  it('imagePullSecrets (dockerconfigjson) become registry credentials', () => {
    const config = { auths: { 'https://registry.example.com/v1/': { username: 'u', password: 'p' }, 'other.io': { auth: b64('bot:tok:en') } } };
    const pod = makePod({ spec: { imagePullSecrets: [{ name: 'pull' }, { name: 'missing' }] } });
    const { request, warnings } = translate(pod, { resolved: { secrets: { pull: { '.dockerconfigjson': b64(JSON.stringify(config)) } } } });
    expect(request.imageRegistryCredentials).toEqual([
      { server: 'registry.example.com', userName: 'u', password: 'p' },
      { server: 'other.io', userName: 'bot', password: 'tok:en' },
    ]);
    expect(warnings.map((w) => w.field)).toContain('spec.imagePullSecrets[1]');
  });

  it('annotations users know: spot, EIP, RAM role, image cache, schedule strategy', () => {
    const pod = makePod({
      annotations: {
        'k8s.aliyun.com/eci-spot-strategy': 'SpotWithPriceLimit',
        'k8s.aliyun.com/eci-spot-price-limit': '0.25',
        'k8s.aliyun.com/eci-with-eip': 'true',
        'k8s.aliyun.com/eip-bandwidth': '10',
        'k8s.aliyun.com/eci-ram-role-name': 'reader',
        'k8s.aliyun.com/eci-image-cache': 'true',
        'k8s.aliyun.com/eci-schedule-strategy': 'VSwitchRandom',
        'k8s.aliyun.com/eci-extra-ephemeral-storage': '50Gi',
      },
    });
    expect(translate(pod, { vSwitchIds: ['vsw-1', 'vsw-2'] }).request).toMatchObject({
      spotStrategy: 'SpotWithPriceLimit',
      spotPriceLimit: 0.25,
      autoCreateEip: true,
      eipBandwidth: 10,
      ramRoleName: 'reader',
      autoMatchImageCache: true,
      scheduleStrategy: 'VSwitchRandom',
      ephemeralStorage: 50,
    });
  });

  it('malformed annotation values are warned, not guessed', () => {
    const { request, warnings } = translate(makePod({ annotations: { 'k8s.aliyun.com/eci-with-eip': 'yes', 'k8s.aliyun.com/eci-spot-strategy': 'Cheap' } }));
    expect(request.autoCreateEip).toBeUndefined();
    expect(request.spotStrategy).toBeUndefined();
    expect(warnings.map((w) => w.field)).toEqual(
      expect.arrayContaining(["metadata.annotations['k8s.aliyun.com/eci-with-eip']", "metadata.annotations['k8s.aliyun.com/eci-spot-strategy']"]),
    );
  });
});

describe('redactRequest', () => {
  it('masks every Secret-derived value and nothing else', () => {
    const pod = makePod({
      containers: [
        makeContainer({
          env: [
            { name: 'PASS', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
            { name: 'PLAIN', value: 'visible' },
          ],
          envFrom: [{ secretRef: { name: 'db' }, prefix: 'DB_' }],
          volumeMounts: [{ name: 'tls', mountPath: '/tls' }],
        }),
      ],
      initContainers: [makeContainer({ name: 'init', env: [{ name: 'INIT_PASS', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] })],
      spec: {
        imagePullSecrets: [{ name: 'pull' }],
        volumes: [
          { name: 'tls', secret: { secretName: 'tls' } },
          { name: 'cfg', configMap: { name: 'cfg' } },
        ],
      },
    });
    const { request } = translate(pod, {
      resolved: {
        configMaps: { cfg: { a: 'public' } },
        secrets: {
          db: { password: b64('hunter2') },
          tls: { key: b64('PRIVATE KEY') },
          pull: { '.dockerconfigjson': b64(JSON.stringify({ auths: { 'r.io': { username: 'robot', password: 'pull-secret' } } })) },
        },
      },
    });
    const redacted = redactRequest(request);
    const text = JSON.stringify(redacted);
    for (const secret of ['hunter2', b64('hunter2'), b64('PRIVATE KEY'), 'pull-secret', 'robot']) expect(text).not.toContain(secret);
    expect(text).toContain('visible');
    expect(text).toContain(b64('public'));
    expect(redacted.containers[0]!.env.find((e) => e.key === 'PASS')!.value).toBe(REDACTED);
    expect(redacted.initContainers[0]!.env[0]!.value).toBe(REDACTED);
    expect(redacted.imageRegistryCredentials).toEqual([{ server: 'r.io', userName: REDACTED, password: REDACTED }]);
    // The original is untouched: it is what ECI gets.
    expect(JSON.stringify(request)).toContain('hunter2');
  });
});
