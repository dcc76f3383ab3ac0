// The deploy/ manifests against the code they deploy, without a cluster: the RBAC grants what the
// code calls and nothing else, the webhook configuration is what registration.ts builds, the
// configuration the manifests pass is what adapters/config accepts, and the containers keep the
// security settings the namespace's `restricted` Pod Security profile demands.
// (test/integration/deploy.test.ts applies the same files to a real apiserver.)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import type { V1ClusterRole, V1ClusterRoleBinding, V1Container, V1Deployment, V1Job, V1MutatingWebhookConfiguration, V1PodSpec, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS } from '../../../adapters/config/load.ts';
import { buildMutatingWebhookConfiguration } from '../../../adapters/webhook/registration.ts';
import { parseWorld } from '../../../adapters/cloudsim/world.ts';
import { InvalidConfigError } from '../../../provider/config/config.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
}
/** Every document of a YAML file, typed as the caller expects its kind to be. */
function docs<T = Manifest>(path: string, kind?: string): (T & Manifest)[] {
  return parseAllDocuments(read(path))
    .map((d) => d.toJS() as (T & Manifest) | null)
    .filter((d): d is T & Manifest => d !== null && (kind === undefined || d.kind === kind));
}
function one<T>(path: string, kind: string, name?: string): T & Manifest {
  const found = docs<T>(path, kind).filter((d) => name === undefined || d.metadata.name === name);
  if (found.length !== 1) throw new Error(`${path}: expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0]!;
}

/** Every non-test TypeScript source the image ships (what runs in the cluster). */
/** Commands a person runs with their own kubeconfig, never under the provider's ServiceAccount. */
const RUN_BY_PEOPLE = new Set([join('adapters', 'cli', 'explain.ts'), join('adapters', 'cli', 'whitelist.ts')]);

function shippedSources(): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !RUN_BY_PEOPLE.has(path)) out.push(`// ${path}\n${read(path)}`);
    }
  };
  walk('adapters');
  walk('provider');
  return out.join('\n');
}

// --- RBAC ------------------------------------------------------------------------------------

/**
 * Each permission the provider may hold, with the code that proves it is needed: a pattern over
 * the shipped sources. `group/resource verb` (core group: empty). A permission without a row, or
 * whose pattern matches nothing, is not needed; a row whose pattern matches must be granted.
 */
const EVIDENCE: Record<string, RegExp> = {
  '/nodes create': /\.createNode\(/,
  '/nodes get': /\.readNode\(/,
  '/nodes update': /\.replaceNode\(/,
  '/nodes list': /\.listNode\(/,
  '/nodes delete': /\.deleteNode\(/,
  '/nodes watch': /['"`]\/api\/v1\/nodes['"`]/,
  '/nodes/status patch': /\.patchNodeStatus\(/,
  '/pods list': /\.listPodForAllNamespaces\(|\.listNamespacedPod\(|listPage<[^>]*>\(\{[^}]*path: '\/api\/v1\/pods'/,
  '/pods watch': /path: ['"`]\/api\/v1\/pods['"`]/,
  '/pods patch': /\.patchNamespacedPod\(|method: 'PATCH', path: podPath\(/,
  '/pods delete': /\.deleteNamespacedPod\(|method: 'DELETE', path: `\$\{podPath\(/,
  '/pods get': /\.readNamespacedPod\(/,
  '/pods/status patch': /\.patchNamespacedPodStatus\(|method: 'PATCH', path: `\$\{podPath\(pod\)\}\/status`/,
  '/configmaps get': /\.readNamespacedConfigMap\(/,
  '/configmaps list': /\.listNamespacedConfigMap\(/,
  '/configmaps watch': /path: `\/api\/v1\/namespaces\/\$\{CLUSTER_NETWORK_NAMESPACE\}\/configmaps`/,
  '/secrets get': /\.readNamespacedSecret\(/,
  '/serviceaccounts/token create': /\.createNamespacedServiceAccountToken\(/,
  '/secrets create': /\.createNamespacedSecret\(/,
  '/secrets update': /\.replaceNamespacedSecret\(/,
  '/events create': /\.createNamespacedEvent\(|method: 'POST', path: eventsPath\(/,
  '/events patch': /\.patchNamespacedEvent\(|method: 'PATCH', path: `\$\{eventsPath\(/,
  'events.k8s.io/events create': /\.events\.createNamespacedEvent\(/,
  '/namespaces list': /\.listNamespace\(/,
  '/namespaces watch': /path: ['"`]\/api\/v1\/namespaces['"`]/,
  '/services list': /\.listNamespacedService\(/,
  '/services watch': /path: `\/api\/v1\/namespaces\/\$\{namespace\}\/services`/,
  'coordination.k8s.io/leases get': /\.readNamespacedLease\(/,
  'coordination.k8s.io/leases create': /\.createNamespacedLease\(/,
  'coordination.k8s.io/leases update': /\.replaceNamespacedLease\(/,
  'network.alibabacloud.com/podnetworkings list': /\.listClusterCustomObject\(/,
  'network.alibabacloud.com/podnetworkings watch': /path: `\/apis\/\$\{group\}\/\$\{version\}\/\$\{plural\}`/,
  'network.alibabacloud.com/podnetworkings/status patch': /\.patchClusterCustomObjectStatus\(/,
  'admissionregistration.k8s.io/mutatingwebhookconfigurations get': /\.readMutatingWebhookConfiguration\(/,
  'admissionregistration.k8s.io/mutatingwebhookconfigurations patch': /\.patchMutatingWebhookConfiguration\(/,
  'authentication.k8s.io/tokenreviews create': /\.createTokenReview\(/,
  'authorization.k8s.io/subjectaccessreviews create': /\.createSubjectAccessReview\(/,
};

/** `group/resource verb` for every rule of the roles bound to the provider's ServiceAccount. */
function providerPermissions(): { permission: string; role: string }[] {
  const bindings = [...docs<V1ClusterRoleBinding>('deploy/base/rbac.yaml', 'RoleBinding'), ...docs<V1ClusterRoleBinding>('deploy/base/rbac.yaml', 'ClusterRoleBinding')];
  const bound = bindings
    .filter((b) => (b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === 'eci-virtual-node' && s.namespace === 'eci-virtual-node'))
    .map((b) => `${b.roleRef.kind}/${b.roleRef.kind === 'Role' ? (b.metadata.namespace ?? '') : ''}/${b.roleRef.name}`);
  const out: { permission: string; role: string }[] = [];
  for (const role of [...docs<V1ClusterRole>('deploy/base/rbac.yaml', 'Role'), ...docs<V1ClusterRole>('deploy/base/rbac.yaml', 'ClusterRole')]) {
    const id = `${role.kind}/${role.kind === 'Role' ? (role.metadata.namespace ?? '') : ''}/${role.metadata.name}`;
    if (!bound.includes(id)) continue;
    for (const rule of role.rules ?? []) {
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) for (const verb of rule.verbs) out.push({ permission: `${group}/${resource} ${verb}`, role: id });
      }
    }
  }
  return out;
}

describe('RBAC (deploy/base/rbac.yaml) against the code', () => {
  const sources = shippedSources();
  const granted = providerPermissions();

  it('binds every role in the file to the provider ServiceAccount', () => {
    const roles = docs('deploy/base/rbac.yaml').filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole');
    expect(new Set(granted.map((g) => g.role)).size).toBe(roles.length);
  });

  it('grants nothing the code does not call (no wildcards, each permission has evidence in the sources)', () => {
    const unused = granted.filter(({ permission }) => {
      const evidence = EVIDENCE[permission];
      return evidence === undefined || !evidence.test(sources);
    });
    expect(unused.map((u) => `${u.role}: ${u.permission}`)).toEqual([]);
    expect(granted.filter((g) => g.permission.includes('*'))).toEqual([]);
  });

  it('grants everything the code calls (each call in the sources has its permission)', () => {
    const called = Object.entries(EVIDENCE)
      .filter(([, pattern]) => pattern.test(sources))
      .map(([permission]) => permission);
    const missing = called.filter((permission) => !granted.some((g) => g.permission === permission));
    expect(missing).toEqual([]);
  });

  it('knows every Kubernetes API method the sources call (a new call needs a row above, and a rule)', () => {
    const apiClasses = [
      k8s.CoreV1Api,
      k8s.CoordinationV1Api,
      k8s.CustomObjectsApi,
      k8s.EventsV1Api,
      k8s.AdmissionregistrationV1Api,
      k8s.AuthenticationV1Api,
      k8s.AuthorizationV1Api,
      k8s.AppsV1Api,
      k8s.PolicyV1Api,
    ];
    const apiMethods = new Set(apiClasses.flatMap((c) => Object.getOwnPropertyNames(c.prototype)).filter((n) => n !== 'constructor'));
    expect(apiMethods.has('createNamespacedServiceAccountToken')).toBe(true); // the list is real
    const called = new Set([...sources.matchAll(/\.([a-z][A-Za-z]+)\(/g)].map((m) => m[1]!).filter((name) => apiMethods.has(name)));
    const known = Object.values(EVIDENCE).map((pattern) => pattern.source);
    expect([...called].filter((name) => !known.some((source) => source.includes(name)))).toEqual([]);
  });

  it('keeps Lease rights inside kube-node-lease and the provider namespace (never cluster-wide)', () => {
    const leases = granted.filter((g) => g.permission.startsWith('coordination.k8s.io/leases'));
    expect(leases.length).toBeGreaterThan(0);
    for (const { role } of leases) expect(role).toMatch(/^Role\/(kube-node-lease|eci-virtual-node)\//);
  });
});

// --- admission webhook -------------------------------------------------------------------------

describe('MutatingWebhookConfiguration (deploy/base)', () => {
  it('is what buildMutatingWebhookConfiguration returns for the in-cluster Service (caBundle left to the issuer)', () => {
    const yaml = one<V1MutatingWebhookConfiguration>('deploy/base/mutatingwebhookconfiguration.yaml', 'MutatingWebhookConfiguration');
    const built = buildMutatingWebhookConfiguration({
      service: { namespace: 'eci-virtual-node', name: 'eci-virtual-node-webhook', port: 443 },
      caBundle: '',
      excludedNamespaces: ['kube-system', 'eci-virtual-node'],
    });
    for (const webhook of built.webhooks ?? []) delete webhook.clientConfig.caBundle;
    expect(yaml).toEqual(JSON.parse(JSON.stringify(built)));
  });

  it('points at a Service that exists and selects the provider pods on its webhook port', () => {
    const mwc = one<V1MutatingWebhookConfiguration>('deploy/base/mutatingwebhookconfiguration.yaml', 'MutatingWebhookConfiguration');
    const ref = mwc.webhooks![0]!.clientConfig.service!;
    const service = one<V1Service>('deploy/base/services.yaml', 'Service', ref.name);
    expect(service.metadata.namespace).toBe(ref.namespace);
    const port = service.spec!.ports!.find((p) => p.port === ref.port);
    expect(port?.targetPort).toBe('webhook');
    expect(deployment().spec!.template.metadata!.labels).toMatchObject(service.spec!.selector!);
  });
});

// --- configuration -----------------------------------------------------------------------------

function envFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of read(path).split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

function literals(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(list.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

const deployment = () => one<V1Deployment>('deploy/base/deployment.yaml', 'Deployment');
const podSpec = (): V1PodSpec => deployment().spec!.template.spec!;
const provider = (): V1Container & { args: string[] } => podSpec().containers[0] as V1Container & { args: string[] };

/** loadConfig as the container would run it: the Deployment's args, the ConfigMap env, the Secret files. */
function loadAsDeployed(configEnv: Record<string, string>, secretFiles: Record<string, string>) {
  const container = provider();
  const argv = container.args.slice(1); // after the `run` subcommand
  expect(container.args[0]).toBe('run');
  const env = { ...configEnv, ECI_VN_NODE_IP: '10.1.2.3' };
  const readFile = (path: string) => {
    const file = Object.entries(secretFiles).find(([key]) => path.endsWith(`/${key}`));
    if (file === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
    return file[1];
  };
  return loadConfig({ argv, env, readFile });
}

describe('configuration passed by the manifests', () => {
  it('names only environment variables the provider reads', () => {
    const known = new Set(SETTINGS.map((s) => s.env));
    const sources = shippedSources();
    // Settings whose code is being written: listed here until they are in SETTINGS.
    const pending = new Set<string>([]);
    const unknown = Object.keys(envFile('deploy/base/config.env')).filter((name) => !known.has(name) && !sources.includes(`'${name}'`) && !sources.includes(`.${name}`) && !pending.has(name));
    expect(unknown).toEqual([]);
  });

  it('the sandbox overlay yields a valid configuration pointing at the in-cluster simulator over http', () => {
    const kustomization = parseYaml(read('deploy/overlays/sandbox/kustomization.yaml')) as { configMapGenerator: { literals: string[] }[]; secretGenerator: { literals: string[] }[] };
    const overrides = literals(kustomization.configMapGenerator[0]!.literals);
    const accessKey = literals(kustomization.secretGenerator[0]!.literals);
    const { config } = loadAsDeployed({ ...envFile('deploy/base/config.env'), ...overrides }, accessKey);
    expect(config.cloud).toMatchObject({ protocol: 'http', eciEndpoint: 'eci-cloudsim.eci-virtual-node.svc:8765', accessKeyId: 'LTAIsandboxDemoKey' });
    expect(config.webhook).toMatchObject({ port: 9443, certFile: '/etc/eci-virtual-node/webhook-tls/tls.crt' });
    expect(config.node).toMatchObject({ internalIP: '10.1.2.3', kubeletPort: 10250 });

    // ... and it matches the world the overlay gives the simulator (which the simulator accepts).
    const world = parseWorld(parseYaml(read('deploy/overlays/sandbox/world.yaml')), 'deploy/overlays/sandbox/world.yaml');
    expect(config.regionId).toBe(world.regionId);
    const zones = config.defaultNetwork.vSwitchIds.map((id) => world.vSwitches.find((v) => v.id === id)?.zoneId);
    expect(new Set(zones)).toEqual(new Set(world.zones)); // one virtual node per zone
    expect(world.securityGroups.map((g) => g.id)).toContain(config.defaultNetwork.securityGroupId);
    expect(world.accessKeys).toContainEqual({ id: config.cloud.accessKeyId, secret: config.cloud.accessKeySecret });
  });

  it('the base alone is refused, naming the site-specific fields an overlay must set', () => {
    let error: unknown;
    try {
      loadAsDeployed(envFile('deploy/base/config.env'), { 'access-key-id': 'LTAIx', 'access-key-secret': 's' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    const fields = (error as InvalidConfigError).fieldErrors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['clusterId', 'regionId']));
    // The default network may come from kube-system's eci-profile or eni-config instead (docs/networks.md).
    expect(fields).not.toContain('defaultNetwork.vSwitchIds');
  });

  it('container ports, config ports, Service target ports and the Dockerfile EXPOSE agree', () => {
    const config = envFile('deploy/base/config.env');
    const ports: Record<string, number> = Object.fromEntries((provider().ports ?? []).map((p) => [p.name ?? '', p.containerPort]));
    expect(ports).toEqual({ webhook: Number(config.ECI_VN_WEBHOOK_PORT), 'kubelet-api': Number(config.ECI_VN_KUBELET_PORT), metrics: Number(config.ECI_VN_METRICS_PORT) });
    for (const service of docs<V1Service>('deploy/base/services.yaml', 'Service')) {
      for (const port of service.spec!.ports!) expect(Object.keys(ports)).toContain(String(port.targetPort));
    }
    const expose = /^EXPOSE (.+)$/m.exec(read('Dockerfile'))![1]!.split(/\s+/).map(Number);
    expect(expose.sort()).toEqual(Object.values(ports).sort());
  });

  it('mounts the AccessKey and the webhook certificate from Secrets, read-only, where the config points', () => {
    const container = provider();
    const volumes = podSpec().volumes ?? [];
    const mountOf = (volume: string) => container.volumeMounts!.find((m) => m.name === volume)!;
    expect(volumes.find((v) => v.name === 'access-key')?.secret?.secretName).toBe('eci-virtual-node-access-key');
    expect(volumes.find((v) => v.name === 'webhook-tls')?.secret?.secretName).toBe('eci-virtual-node-webhook-tls');
    for (const arg of container.args.filter((a) => a.startsWith('--access-key'))) {
      expect(arg.split('=')[1]).toMatch(new RegExp(`^${mountOf('access-key').mountPath}/`));
    }
    expect(envFile('deploy/base/config.env').ECI_VN_WEBHOOK_CERT_FILE).toMatch(new RegExp(`^${mountOf('webhook-tls').mountPath}/`));
    expect(mountOf('access-key').readOnly && mountOf('webhook-tls').readOnly).toBe(true);
    // The secret itself is never in env or args.
    expect(JSON.stringify(container)).not.toMatch(/ACCESS_KEY_SECRET"|access-key-secret=[^/]/);
  });
});

// --- pod security --------------------------------------------------------------------------------

describe('how the provider is started', () => {
  it('the image, bin/eci-virtual-node and the benchmark pass Node the same flags (what the benchmark measures is what users run)', () => {
    const entrypoint = /^ENTRYPOINT \[(.*)\]$/m.exec(read('Dockerfile'))?.[1];
    const imageFlags = (JSON.parse(`[${entrypoint ?? ''}]`) as string[]).filter((arg) => arg.startsWith('--'));
    expect(imageFlags).toContain('--max-semi-space-size=16');
    const binFlags = /^exec node (.*?) ?"\$repo\/adapters\/cli\/main\.ts"/m.exec(read('bin/eci-virtual-node'))?.[1]?.split(' ').filter(Boolean);
    expect(binFlags).toEqual(imageFlags);
    const benchFlags = /^export const PROVIDER_NODE_FLAGS = (\[.*\]);$/m.exec(read('test/bench/systems.ts'))?.[1];
    expect(JSON.parse((benchFlags ?? '').replaceAll("'", '"'))).toEqual(imageFlags);
  });

  it('the benchmark runs the provider with the Deployment\'s NODE_OPTIONS (the old-space cap), below its memory limit', () => {
    const container = deployment().spec!.template.spec!.containers[0]!;
    const nodeOptions = container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
    expect(nodeOptions).toMatch(/^--max-old-space-size=\d+$/);
    const benchOptions = /^export const PROVIDER_NODE_OPTIONS = '(.*)';$/m.exec(read('test/bench/systems.ts'))?.[1];
    expect(benchOptions).toBe(nodeOptions);
    // The rest of the process (young generation, code, buffers, malloc, node's own mapped files)
    // needed ~230 MiB at 10,000 pods (docs/benchmark.md, "Retained memory, fourth session").
    const capMiB = Number(nodeOptions!.split('=')[1]);
    const limit = /^(\d+)(Mi|Gi)$/.exec(String(container.resources?.limits?.memory ?? ''));
    const limitMiB = limit === null ? 0 : Number(limit[1]) * (limit[2] === 'Gi' ? 1024 : 1);
    expect(limitMiB - capMiB).toBeGreaterThanOrEqual(256);
  });
});

describe('every container we ship', () => {
  const workloads = [
    ['deploy/base/deployment.yaml', 'Deployment'],
    ['deploy/overlays/sandbox/cloudsim.yaml', 'Deployment'],
    ['deploy/components/webhook-certgen/job.yaml', 'Job'],
  ] as const;

  it.each(workloads)('%s runs as non-root with a read-only root, no capabilities and the runtime seccomp profile', (path, kind) => {
    const spec = one<V1Deployment | V1Job>(path, kind).spec!.template.spec!;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.securityContext?.runAsUser).toBeGreaterThan(0);
    for (const container of spec.containers) {
      expect(container.securityContext, `${path} ${container.name}`).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.resources?.requests).toBeDefined();
      expect(container.resources?.limits?.memory).toBeDefined();
    }
  });

  it('the image runs as the same numeric non-root user the pods declare', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(read('Dockerfile'));
    expect(user).not.toBeNull();
    expect(Number(user![1])).toBe(podSpec().securityContext?.runAsUser);
    expect(read('Dockerfile')).toMatch(/^ENTRYPOINT \["node", (?:"--[a-z-]+=\d+", )*"dist\/adapters\/cli\/main\.js"\]$/m);
    expect(read('Dockerfile')).toMatch(/^CMD \["run"\]$/m);
  });
});
