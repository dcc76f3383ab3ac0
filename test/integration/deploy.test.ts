// deploy/ on the real control plane: `kubectl apply -k` of the sandbox overlay is accepted by the
// apiserver's own validation and admission (schemas, the CRD's rules, Pod Security `restricted`
// on the pods the controllers create), the base and the production overlay pass a server-side
// dry run, the RBAC is what the apiserver's authorizer grants, the self-managed webhook
// certificate Job's script does its job with its own ServiceAccount token, and the webhook
// configuration is live for exactly the namespaces it selects. Everything created is deleted.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apis, controlPlane, ignoreNotFound, kubectl, uniqueName } from './helpers/cluster.ts';
import { waitFor } from './helpers/wait.ts';
import { budget } from '../helpers/deadline.ts';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const SANDBOX = join(ROOT, 'deploy', 'overlays', 'sandbox');
const NS = 'eci-virtual-node';
const CRD = 'podnetworkings.network.alibabacloud.com';
const MWC = 'eci-virtual-node-podnetworking';
const PROVIDER = `system:serviceaccount:${NS}:eci-virtual-node`;
const CERTGEN = `system:serviceaccount:${NS}:eci-virtual-node-certgen`;

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

async function render(dir: string): Promise<Manifest[]> {
  const { stdout } = await kubectl(['kustomize', dir]);
  return parseAllDocuments(stdout).map((d) => d.toJS() as Manifest);
}

/** `kubectl auth can-i`: exit 0 = yes, 1 = no (anything else is an error). */
async function canI(as: string, args: readonly string[]): Promise<boolean> {
  try {
    await kubectl(['auth', 'can-i', ...args, `--as=${as}`]);
    return true;
  } catch (err) {
    if ((err as { cause?: { code?: number } }).cause?.code === 1) return false;
    throw err;
  }
}

let work: string;
let crdExisted = false;
const namespaces: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'eci-vn-deploy-'));
  crdExisted = await kubectl(['get', 'crd', CRD]).then(
    () => true,
    () => false,
  );
});

afterAll(async () => {
  // Delete what the sandbox overlay created (the CRD only if this file installed it), then the
  // webhook configuration must be gone: a leftover one would refuse pods in later test files.
  const objects = (await render(SANDBOX)).filter((m) => !(crdExisted && m.kind === 'CustomResourceDefinition'));
  const file = join(work, 'cleanup.yaml');
  await writeFile(file, objects.map((o) => stringify(o)).join('---\n'));
  await kubectl(['delete', '-f', file, '--ignore-not-found', '--wait=false']);
  for (const name of namespaces) await apis().core.deleteNamespace({ name }).catch(ignoreNotFound);
  await rm(work, { recursive: true, force: true });
  const left = await kubectl(['get', 'mutatingwebhookconfigurations', '-o', 'name']);
  expect(left.stdout).not.toContain(MWC);
  // deploy-rbac.test.ts applies into the same namespace: let it find it gone, not Terminating.
  await waitFor(async () => (await apis().core.listNamespace()).items.every((n) => n.metadata?.name !== NS), {
    timeoutMs: budget({ baseMs: 90_000 }),
    describe: `namespace ${NS} to be deleted`,
  });
});

describe('deploy/ on the real apiserver', () => {
  it('renders the base and both overlays with kubectl kustomize', async () => {
    const base = await render(join(ROOT, 'deploy', 'base'));
    const sandbox = await render(SANDBOX);
    const production = await render(join(ROOT, 'deploy', 'overlays', 'production'));
    const kinds = (ms: Manifest[]) => new Set(ms.map((m) => m.kind));
    for (const kind of ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'Deployment', 'Service', 'MutatingWebhookConfiguration', 'PodDisruptionBudget', 'ConfigMap']) {
      expect(kinds(base), kind).toContain(kind);
    }
    expect(kinds(sandbox)).toContain('Job'); // the self-managed certificate
    expect(kinds(sandbox)).not.toContain('PodDisruptionBudget'); // one replica
    expect(kinds(production)).toContain('Certificate'); // cert-manager
    // No Secret with real credentials anywhere but the sandbox's demo key.
    expect(base.filter((m) => m.kind === 'Secret')).toEqual([]);
    expect(production.filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  it('applies the sandbox overlay: every object is accepted, with no Pod Security warning', async () => {
    const { stdout, stderr } = await kubectl(['apply', '-k', SANDBOX]);
    expect(stderr).not.toMatch(/PodSecurity|would violate/i);
    const rendered = await render(SANDBOX);
    expect(stdout.trim().split('\n')).toHaveLength(rendered.length);
    const live = await kubectl(['get', '-k', SANDBOX, '-o', 'name']);
    expect(live.stdout.trim().split('\n')).toHaveLength(rendered.length);
  });

  it('the CRD becomes Established; a valid PodNetworking is accepted, invalid ones are refused by the schema', async () => {
    await kubectl(['wait', '--for=condition=Established', `crd/${CRD}`, '--timeout=30s']);
    const pn = (name: string, spec: object) => ({ apiVersion: 'network.alibabacloud.com/v1beta1', kind: 'PodNetworking', metadata: { name }, spec });
    const valid = join(work, 'pn-valid.yaml');
    const name = uniqueName('deploy-pn');
    await writeFile(
      valid,
      stringify(pn(name, { vSwitchOptions: ['vsw-sandboxweb1', 'vsw-sandboxweb2'], securityGroupIDs: ['sg-sandboxweb'], selector: { podSelector: { matchLabels: { app: 'web' } } } })),
    );
    await kubectl(['apply', '-f', valid]);
    const stored = JSON.parse((await kubectl(['get', 'podnetworking', name, '-o', 'json'])).stdout) as { spec: Record<string, unknown> };
    expect(stored.spec).toMatchObject({ allocationType: { type: 'Elastic' }, vSwitchSelectOptions: { vSwitchSelectionPolicy: 'ordered' } }); // schema defaults
    await kubectl(['delete', 'podnetworking', name]);

    const invalid = join(work, 'pn-invalid.yaml');
    await writeFile(
      invalid,
      stringify(pn(uniqueName('deploy-bad'), { vSwitchOptions: ['subnet-1'], securityGroupIDs: ['sg-sandboxweb'], selector: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } } })),
    );
    const refused = await kubectl(['apply', '-f', invalid]).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/spec\.vSwitchOptions\[0\].*should match/);
    expect(refused).toMatch(/In and NotIn need a non-empty values list/);
  });

  it('the controllers create the provider, simulator and certgen pods (Pod Security restricted admits them)', async () => {
    const pods = await waitFor(
      async () => {
        const list = await apis().core.listNamespacedPod({ namespace: NS });
        const components = list.items.map((p) => p.metadata?.labels?.['app.kubernetes.io/component']).sort();
        return components.length === 3 ? components : undefined;
      },
      { timeoutMs: budget({ baseMs: 60_000 }), describe: async () => `3 pods in ${NS}; events: ${(await kubectl(['get', 'events', '-n', NS, '-o', 'custom-columns=REASON:.reason,MSG:.message'])).stdout}` },
    );
    expect(pods).toEqual(['cloudsim', 'provider', 'webhook-certgen']);
    const [provider] = (await apis().core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/component=provider' })).items;
    expect(provider?.spec?.serviceAccountName).toBe('eci-virtual-node');
    expect(provider?.spec?.priority).toBeGreaterThan(1_000_000_000); // system-cluster-critical resolved
  });

  it('the base and the production overlay (minus cert-manager kinds, absent here) pass a server-side dry run', async () => {
    const base = await kubectl(['apply', '-k', join(ROOT, 'deploy', 'base'), '--dry-run=server']);
    expect(base.stderr).not.toMatch(/PodSecurity|would violate/i);
    const production = await render(join(ROOT, 'deploy', 'overlays', 'production'));
    const certManager = production.filter((m) => m.apiVersion.startsWith('cert-manager.io/'));
    expect(certManager.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'Certificate/eci-virtual-node-webhook',
      'Certificate/eci-virtual-node-webhook-ca',
      'Issuer/eci-virtual-node-ca',
      'Issuer/eci-virtual-node-selfsigned',
    ]);
    const file = join(work, 'production.yaml');
    await writeFile(file, production.filter((m) => !certManager.includes(m)).map((o) => stringify(o)).join('---\n'));
    const dry = await kubectl(['apply', '-f', file, '--dry-run=server']);
    expect(dry.stdout).toMatch(/mutatingwebhookconfiguration.* configured \(server dry run\)/);
    expect(dry.stderr).not.toMatch(/PodSecurity|would violate/i);
  });

  it('the apiserver grants the provider exactly the rules it needs (kubectl auth can-i as its ServiceAccount)', async () => {
    const allowed: string[][] = [
      ['create', 'nodes'],
      ['update', 'nodes'],
      ['watch', 'nodes'],
      ['patch', 'nodes', '--subresource=status'],
      ['list', 'pods', '--all-namespaces'],
      ['watch', 'pods', '--all-namespaces'],
      ['patch', 'pods', '-n', 'default'],
      ['delete', 'pods', '-n', 'some-team'],
      ['patch', 'pods', '--subresource=status', '-n', 'some-team'],
      ['get', 'secrets', '-n', 'some-team'],
      ['get', 'configmaps', '-n', 'some-team'],
      ['create', 'serviceaccounts', '--subresource=token', '-n', 'some-team'],
      ['create', 'events', '-n', 'some-team'],
      ['patch', 'events', '-n', 'some-team'],
      // a virtual node whose zone no network needs any more is cordoned, then removed
      ['delete', 'nodes'],
      ['list', 'namespaces'],
      // the kube-dns Service's ClusterIP, when --cluster-dns is unset
      ['list', 'services', '-n', 'kube-system'],
      ['watch', 'services', '-n', 'kube-system'],
      ['watch', 'podnetworkings.network.alibabacloud.com'],
      ['patch', 'podnetworkings.network.alibabacloud.com', '--subresource=status'],
      ['update', 'leases.coordination.k8s.io', '-n', 'kube-node-lease'],
      ['create', 'leases.coordination.k8s.io', '-n', NS],
    ];
    const refused: string[][] = [
      ['list', 'secrets', '-n', 'some-team'],
      ['watch', 'configmaps', '--all-namespaces'],
      ['get', 'serviceaccounts', '-n', 'some-team'],
      ['delete', 'namespaces'],
      ['create', 'pods', '-n', 'default'],
      ['update', 'podnetworkings.network.alibabacloud.com'],
      ['create', 'leases.coordination.k8s.io', '-n', 'kube-system'],
      ['update', 'deployments.apps', '-n', NS],
      ['patch', `mutatingwebhookconfigurations/${MWC}`],
      ['create', 'clusterrolebindings'],
    ];
    const wrong: string[] = [];
    for (const args of allowed) if (!(await canI(PROVIDER, args))) wrong.push(`should be allowed: ${args.join(' ')}`);
    for (const args of refused) if (await canI(PROVIDER, args)) wrong.push(`should be refused: ${args.join(' ')}`);
    // The certgen Job's account: its one Secret and the one webhook configuration, nothing else.
    if (!(await canI(CERTGEN, ['get', 'secrets/eci-virtual-node-webhook-tls', '-n', NS]))) wrong.push('certgen should get its Secret');
    if (await canI(CERTGEN, ['get', 'secrets/eci-virtual-node-access-key', '-n', NS])) wrong.push('certgen must not read the AccessKey');
    if (!(await canI(CERTGEN, ['patch', `mutatingwebhookconfigurations/${MWC}`]))) wrong.push('certgen should patch the webhook configuration');
    if (await canI(CERTGEN, ['patch', 'mutatingwebhookconfigurations/someone-elses'])) wrong.push('certgen must not patch other webhooks');
    expect(wrong).toEqual([]);
  });

  it('the certgen script, with its own ServiceAccount token, issues the serving certificate and sets caBundle; a re-run reuses them', async () => {
    const script = (await kubectl(['get', 'configmap', 'eci-virtual-node-certgen', '-n', NS, '-o', 'jsonpath={.data.certgen\\.mjs}'])).stdout;
    const token = (await kubectl(['create', 'token', 'eci-virtual-node-certgen', '-n', NS, '--duration=10m'])).stdout.trim();
    await writeFile(join(work, 'certgen.mjs'), script);
    await writeFile(join(work, 'token'), token);
    await writeFile(join(work, 'ca.crt'), controlPlane().caCertPem);
    const server = new URL(controlPlane().server);
    const runCertgen = () =>
      execFileAsync(process.execPath, [join(work, 'certgen.mjs')], {
        env: {
          PATH: process.env.PATH,
          KUBERNETES_SERVICE_HOST: server.hostname,
          KUBERNETES_SERVICE_PORT: server.port,
          NODE_EXTRA_CA_CERTS: join(work, 'ca.crt'),
          CERTGEN_NAMESPACE: NS,
          CERTGEN_TOKEN_FILE: join(work, 'token'),
          CERTGEN_TLS_MODULE: join(ROOT, 'adapters', 'tls', 'certificates.ts'),
          CERTGEN_WAIT_MS: '5000',
        },
        timeout: budget({ baseMs: 60_000 }),
        killSignal: 'SIGKILL',
      });

    const first = await runCertgen();
    expect(first.stdout).toContain('created the webhook certificate');
    const secret = await apis().core.readNamespacedSecret({ name: 'eci-virtual-node-webhook-tls', namespace: NS });
    expect(secret.type).toBe('kubernetes.io/tls');
    const pem = (key: string) => Buffer.from(secret.data![key]!, 'base64').toString('utf8');
    const ca = new X509Certificate(pem('ca.crt'));
    const leaf = new X509Certificate(pem('tls.crt'));
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkHost('eci-virtual-node-webhook.eci-virtual-node.svc')).toBe('eci-virtual-node-webhook.eci-virtual-node.svc');
    expect(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(pem('tls.key')))).toBe(true);
    const caBundle = async () =>
      (await kubectl(['get', 'mutatingwebhookconfiguration', MWC, '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}'])).stdout;
    expect(await caBundle()).toBe(secret.data!['ca.crt']);

    const second = await runCertgen();
    expect(second.stdout).toContain('reusing the webhook certificate');
    expect(second.stdout).toContain('caBundle already set');
    expect((await apis().core.readNamespacedSecret({ name: 'eci-virtual-node-webhook-tls', namespace: NS })).data).toEqual(secret.data);
  });

  it('the webhook configuration is live: pods in selected namespaces need it, opted-out namespaces do not', async () => {
    const { core } = apis();
    const selected = uniqueName('deploy-selected');
    const optedOut = uniqueName('deploy-optout');
    namespaces.push(selected, optedOut);
    await core.createNamespace({ body: { metadata: { name: selected } } });
    await core.createNamespace({ body: { metadata: { name: optedOut, labels: { 'k8s.aliyun.com/pod-eni': 'false' } } } });
    const pod = { metadata: { name: 'probe' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    // No provider pod runs here (no kubelet), so a selected namespace's pod creation fails with
    // the webhook named: failurePolicy Fail is in force.
    const refused = await core.createNamespacedPod({ namespace: selected, body: pod }).then(
      () => 'created',
      (err: Error) => err.message,
    );
    expect(refused).toContain('podnetworking.eci-virtual-node.io');
    const created = await core.createNamespacedPod({ namespace: optedOut, body: pod });
    expect(created.metadata?.name).toBe('probe');
  });
});
