// The PodNetworking CRD and the admission webhook on the REAL apiserver: the schema accepts and
// rejects what it should, the status subresource works, and pods created through the apiserver
// come back with the annotations and the zone affinity our webhook added (or are refused with its
// message). The webhook is ours, on 127.0.0.1, with a serving cert from adapters/tls, registered
// by a MutatingWebhookConfiguration from adapters/webhook/registration.ts. Its inputs come from
// the API (PodNetworkings with a Ready status written through the status subresource, namespace
// labels), read once per step: in production they come from informer caches.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate } from '../../adapters/tls/certificates.ts';
import { buildMutatingWebhookConfiguration } from '../../adapters/webhook/registration.ts';
import type { AdmissionInputs } from '../../adapters/webhook/review.ts';
import { startAdmissionWebhook, type AdmissionWebhook } from '../../adapters/webhook/server.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import type { PodNetworking, PodNetworkingSpec, PodNetworkingStatus } from '../../provider/networking/podnetworking.ts';
import { apis, ignoreNotFound, kubeConfig, kubectl, uniqueName } from './helpers/cluster.ts';
import { waitFor } from './helpers/wait.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { apiClient, budget } from '../helpers/deadline.ts';

const { group, version, plural } = PODNETWORKING_API;
const suffix = randomBytes(3).toString('hex');
const ZONE = 'topology.kubernetes.io/zone';
const ZONE_I = `itest-${suffix}-i`;
const ZONE_J = `itest-${suffix}-j`;
const ZONE_K = `itest-${suffix}-k`;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const kc = kubeConfig();
const { core } = apis(kc);
const custom = apiClient(kc, CustomObjectsApi);
const registration = apiClient(kc, AdmissionregistrationV1Api);

const installCrd = installPodNetworkingCrd;

const created: string[] = [];

async function createPodNetworking(name: string, spec: PodNetworkingSpec): Promise<PodNetworking> {
  const body = { apiVersion: `${group}/${version}`, kind: 'PodNetworking', metadata: { name }, spec };
  const pn = (await custom.createClusterCustomObject({ group, version, plural, body })) as PodNetworking;
  created.push(name);
  return pn;
}

async function writeStatus(name: string, status: PodNetworkingStatus): Promise<PodNetworking> {
  return (await custom.patchClusterCustomObjectStatus({ group, version, plural, name, body: { status } }, mergePatch)) as PodNetworking;
}

/** The apiserver's error text for a rejected create (its Status message). */
async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: number; body?: unknown; message: string };
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? '');
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      // not JSON: keep the raw body
    }
    return `${e.code ?? '?'} ${message}`;
  }
  throw new Error('expected the apiserver to refuse, but it accepted');
}

describe('PodNetworking CRD on the real apiserver', () => {
  beforeAll(installCrd, 60_000);
  afterAll(async () => {
    for (const name of created.splice(0)) await custom.deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
  });

  it('rejects an invalid PodNetworking, naming the fields', async () => {
    const message = await rejection(
      createPodNetworking(`pn-bad-${suffix}`, {
        securityGroupIDs: ['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5', 'sg-6'],
        vSwitchOptions: [],
      }),
    );
    expect(message).toMatch(/^422 /);
    expect(message).toContain('spec.securityGroupIDs: Too many: 6: must have at most 5 items');
    expect(message).toContain('spec.vSwitchOptions: Invalid value: 0: spec.vSwitchOptions in body should have at least 1 items');
  });

  it.each([
    ['missing vSwitchOptions', { securityGroupIDs: ['sg-a'] }, 'spec.vSwitchOptions: Required value'],
    ['unknown allocation type', { securityGroupIDs: ['sg-a'], vSwitchOptions: ['vsw-a'], allocationType: { type: 'Static' } }, 'spec.allocationType.type: Unsupported value: "Static"'],
    ['unknown policy', { securityGroupIDs: ['sg-a'], vSwitchOptions: ['vsw-a'], vSwitchSelectOptions: { vSwitchSelectionPolicy: 'Most' } }, 'Unsupported value: "Most"'],
    ['duplicate vSwitch', { securityGroupIDs: ['sg-a'], vSwitchOptions: ['vsw-a', 'vsw-a'] }, 'spec.vSwitchOptions[1]: Duplicate value: "vsw-a"'],
    ['malformed vSwitch id', { securityGroupIDs: ['sg-a'], vSwitchOptions: ['subnet-1'] }, 'spec.vSwitchOptions[0]: Invalid value: "subnet-1"'],
    [
      'In without values',
      { securityGroupIDs: ['sg-a'], vSwitchOptions: ['vsw-a'], selector: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } } },
      'operators In and NotIn need a non-empty values list; Exists and DoesNotExist take no values',
    ],
    [
      'unknown operator',
      { securityGroupIDs: ['sg-a'], vSwitchOptions: ['vsw-a'], selector: { namespaceSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] } } },
      'spec.selector.namespaceSelector.matchExpressions[0].operator: Unsupported value: "Equals"',
    ],
  ])('rejects %s', async (_name, spec, fragment) => {
    const message = await rejection(createPodNetworking(uniqueName(`pn-bad-${suffix}`), spec as PodNetworkingSpec));
    expect(message).toMatch(/^422 /);
    expect(message).toContain(fragment);
  });

  it('accepts a good one, applies the defaults, and keeps status behind the status subresource', async () => {
    const name = `pn-good-${suffix}`;
    const pn = await createPodNetworking(name, {
      selector: { podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] } },
      securityGroupIDs: ['sg-a'],
      vSwitchOptions: ['vsw-i', 'vsw-k'],
      // A status sent with the main resource is dropped: status has its own subresource.
      ...({ status: { status: 'Ready' } } as object),
    });
    expect(pn.spec.allocationType).toEqual({ type: 'Elastic' });
    expect(pn.spec.vSwitchSelectOptions).toEqual({ vSwitchSelectionPolicy: 'ordered' });
    expect(pn.spec.eniOptions).toEqual({ eniType: 'Default' });
    expect(pn.status).toBeUndefined();

    const status: PodNetworkingStatus = { status: 'Ready', updateAt: '2024-05-06T07:08:09Z', vSwitches: [{ id: 'vsw-i', zone: ZONE_I }, { id: 'vsw-k', zone: ZONE_K }] };
    const patched = await writeStatus(name, status);
    expect(patched.status).toEqual(status);
    expect(patched.spec.vSwitchOptions).toEqual(['vsw-i', 'vsw-k']);

    // The status schema validates too.
    expect(await rejection(writeStatus(name, { status: 'Bogus' as 'Ready' }))).toContain('status.status: Unsupported value: "Bogus"');

    // kubectl shows the printer columns.
    const table = await kubectl(['get', 'podnetworkings', name, '-o', 'wide']);
    expect(table.stdout).toMatch(/NAME\s+STATUS\s+ALLOCATION\s+POLICY\s+MESSAGE\s+AGE/);
    expect(table.stdout).toMatch(new RegExp(`${name}\\s+Ready\\s+Elastic\\s+ordered`));
  });

  it('accepts allocationType Fixed (Terway-compatible); the refusal is the controller\'s and the webhook\'s', async () => {
    const pn = await createPodNetworking(`pn-fixed-ok-${suffix}`, {
      allocationType: { type: 'Fixed', releaseStrategy: 'TTL', releaseAfter: '5m0s' },
      selector: { podSelector: { matchLabels: { never: 'matches' } } },
      securityGroupIDs: ['sg-a'],
      vSwitchOptions: ['vsw-a'],
    });
    expect(pn.spec.allocationType?.type).toBe('Fixed');
  });
});

describe('admission webhook on the real apiserver', () => {
  let webhook: AdmissionWebhook | undefined;
  const webhookConfigName = `eci-vn-itest-${suffix}`;
  const inputs: { podNetworkings: PodNetworking[]; namespaceLabels: Map<string, Record<string, string>> } = { podNetworkings: [], namespaceLabels: new Map() };
  const namespaces: string[] = [];
  let tmp: string;

  /** What informer caches would hold: this file's PodNetworkings and the namespaces' labels. */
  async function refreshInputs(): Promise<void> {
    const list = (await custom.listClusterCustomObject({ group, version, plural })) as { items: PodNetworking[] };
    inputs.podNetworkings = list.items.filter((pn) => pn.metadata.name.endsWith(`-${suffix}`));
    for (const ns of namespaces) inputs.namespaceLabels.set(ns, (await core.readNamespace({ name: ns })).metadata?.labels ?? {});
  }

  async function namespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
    const ns = await core.createNamespace({ body: { metadata: { name: uniqueName(prefix), labels: { 'eci-virtual-node.test/suite': 'integration', ...labels } } } });
    namespaces.push(ns.metadata!.name!);
    return ns.metadata!.name!;
  }

  function pod(name: string, labels: Record<string, string>, spec: Partial<V1PodSpec> = {}): V1Pod {
    return { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec } };
  }

  async function readyPodNetworking(name: string, spec: PodNetworkingSpec, zones: [string, string][]): Promise<void> {
    await createPodNetworking(name, spec);
    await writeStatus(name, { status: 'Ready', updateAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), vSwitches: zones.map(([id, zone]) => ({ id, zone })) });
  }

  beforeAll(async () => {
    await installCrd();
    tmp = await mkdtemp(join(tmpdir(), 'eci-vn-admission-'));
    const ca = await createCertificateAuthority({ commonName: 'eci-virtual-node-webhook-ca' });
    const serving = await issueCertificate({ ca, commonName: 'eci-virtual-node-webhook', ipAddresses: ['127.0.0.1'], usage: 'server' });
    webhook = await startAdmissionWebhook({
      port: 0,
      host: '127.0.0.1',
      tlsCert: serving.certPem,
      tlsKey: serving.keyPem,
      options: { serverlessMode: false },
      getInputs: (_pod, ns) => ({ namespaceLabels: inputs.namespaceLabels.get(ns), podNetworkings: inputs.podNetworkings }) satisfies AdmissionInputs,
    });
    await registration.createMutatingWebhookConfiguration({
      body: buildMutatingWebhookConfiguration({
        name: webhookConfigName,
        caBundle: Buffer.from(ca.certPem).toString('base64'),
        url: `${webhook.url}/mutate-pods`,
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
      }),
    });
  }, 120_000);

  afterAll(async () => {
    // The registration goes first: with failurePolicy Fail, a registration without a webhook
    // would refuse every pod of the tests that run after this file.
    await registration.deleteMutatingWebhookConfiguration({ name: webhookConfigName }).catch(ignoreNotFound);
    await webhook?.close();
    for (const ns of namespaces) await core.deleteNamespace({ name: ns }).catch(ignoreNotFound);
    for (const name of created.splice(0)) await custom.deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('annotates a matching pod and limits it to the PodNetworking zones, merged with its own affinity', async () => {
    const ns = await namespace('adm-web', { team: 'payments' });
    await readyPodNetworking(`pn-web-${suffix}`, {
      selector: { podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: { matchLabels: { team: 'payments' } } },
      securityGroupIDs: ['sg-a'],
      vSwitchOptions: ['vsw-i', 'vsw-k'],
    }, [['vsw-i', ZONE_I], ['vsw-k', ZONE_K]]);
    await refreshInputs();

    // The first pod can race the webhook registration reaching the apiserver's cache: retry
    // until the pod comes back mutated (each attempt a fresh pod name).
    const stored = await waitFor(
      async () => {
        const name = uniqueName('web');
        const p = await core.createNamespacedPod({ namespace: ns, body: pod(name, { app: 'web' }) });
        return p.metadata?.annotations?.['k8s.aliyun.com/pod-networking'] !== undefined ? p : false;
      },
      { describe: 'a pod created through the apiserver to carry the webhook annotations', timeoutMs: budget({ baseMs: 60_000 }), intervalMs: 500 },
    );
    expect(stored.metadata?.annotations).toMatchObject({ 'k8s.aliyun.com/pod-networking': `pn-web-${suffix}`, 'k8s.aliyun.com/pod-eni': 'true' });
    expect(stored.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: ZONE, operator: 'In', values: [ZONE_I, ZONE_K] }] },
    ]);

    // A pod with its own required affinity: the zone term is intersected, the other term limited.
    const merged = await core.createNamespacedPod({
      namespace: ns,
      body: pod('web-merged', { app: 'web' }, {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: ZONE, operator: 'In', values: [ZONE_J, ZONE_K] }] },
                { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] },
              ],
            },
          },
        },
      }),
    });
    expect(merged.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: ZONE, operator: 'In', values: [ZONE_K] }] },
      { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, { key: ZONE, operator: 'In', values: [ZONE_I, ZONE_K] }] },
    ]);
    // What the apiserver stored is what it returned.
    const read = await core.readNamespacedPod({ namespace: ns, name: 'web-merged' });
    expect(read.spec?.affinity).toEqual(merged.spec?.affinity);
    expect(read.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBe(`pn-web-${suffix}`);

    // No match (other labels): the pod is stored untouched.
    const other = await core.createNamespacedPod({ namespace: ns, body: pod('other', { app: 'other' }) });
    expect(other.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBeUndefined();
    expect(other.spec?.affinity).toBeUndefined();
  });

  it('refuses a pod whose own affinity leaves no zone of its PodNetworking, with our message', async () => {
    const ns = await namespace('adm-refuse', { team: 'payments' });
    await refreshInputs();
    const message = await rejection(
      core.createNamespacedPod({
        namespace: ns,
        body: pod('web-impossible', { app: 'web' }, {
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: [ZONE_J] }] }] } } },
        }),
      }),
    );
    expect(message).toContain('admission webhook "podnetworking.eci-virtual-node.io" denied the request');
    expect(message).toContain(
      `PodNetworking pn-web-${suffix}: the pod's required node affinity leaves no zone of the PodNetworking (zones ${ZONE_I}, ${ZONE_K}): term 1 allows only ${ZONE_J}`,
    );
  });

  it('leaves namespaces labelled k8s.aliyun.com/pod-eni=false alone', async () => {
    const ns = await namespace('adm-optout', { team: 'payments', 'k8s.aliyun.com/pod-eni': 'false' });
    await refreshInputs();
    const stored = await core.createNamespacedPod({ namespace: ns, body: pod('web', { app: 'web' }) });
    expect(stored.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBeUndefined();
    expect(stored.spec?.affinity).toBeUndefined();
  });

  it('several matches: the oldest wins and kubectl shows the warning naming all', async () => {
    const ns = await namespace('adm-multi', { team: 'search' });
    // pn-multi-a is older than pn-multi-b (creationTimestamp has 1 s resolution: wait it out).
    await readyPodNetworking(`pn-multi-a-${suffix}`, { selector: { podSelector: { matchLabels: { app: 'multi' } } }, securityGroupIDs: ['sg-a'], vSwitchOptions: ['vsw-j'] }, [['vsw-j', ZONE_J]]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await readyPodNetworking(`pn-multi-b-${suffix}`, { selector: { namespaceSelector: { matchLabels: { team: 'search' } } }, securityGroupIDs: ['sg-b'], vSwitchOptions: ['vsw-k'] }, [['vsw-k', ZONE_K]]);
    await refreshInputs();

    const file = join(tmp, 'multi.yaml');
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...pod('multi', { app: 'multi' }) }));
    const out = await kubectl(['create', '-n', ns, '-f', file]);
    expect(out.stderr).toContain(`Warning: pod matches 2 PodNetworkings (pn-multi-a-${suffix}, pn-multi-b-${suffix}); using pn-multi-a-${suffix} (oldest, then by name)`);
    const stored = await core.readNamespacedPod({ namespace: ns, name: 'multi' });
    expect(stored.metadata?.annotations?.['k8s.aliyun.com/pod-networking']).toBe(`pn-multi-a-${suffix}`);
    expect(stored.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: ZONE, operator: 'In', values: [ZONE_J] }] },
    ]);
  });

  it('refuses a pod whose PodNetworking has allocationType Fixed, saying why', async () => {
    const ns = await namespace('adm-fixed');
    await createPodNetworking(`pn-static-${suffix}`, {
      allocationType: { type: 'Fixed' },
      selector: { podSelector: { matchLabels: { app: 'static' } } },
      securityGroupIDs: ['sg-a'],
      vSwitchOptions: ['vsw-i'],
    });
    await writeStatus(`pn-static-${suffix}`, { status: 'Fail', message: 'spec.allocationType.type: Fixed is not supported on virtual nodes', updateAt: '2024-05-06T07:08:09Z' });
    await refreshInputs();
    const message = await rejection(core.createNamespacedPod({ namespace: ns, body: pod('static-0', { app: 'static' }) }));
    expect(message).toContain(`PodNetworking pn-static-${suffix} matches this pod but has allocationType Fixed (static IP), which pods on virtual nodes (ECI) cannot have`);
  });
});
