// Scenario 5: the bad-input corpus (test/chaos/corpus/). Pods, PodNetworkings, config files and
// flags, malformed webhook and kubelet API requests, bad cloud credentials. For each case: no
// provider crash, and a clear answer naming the field (API refusal, pod condition + event, HTTP
// 4xx body, CLI message with exit code 2, log line). Afterwards a canary pod still runs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { createCertificateAuthority, issueCertificate } from '../../../adapters/tls/certificates.ts';
import type { ProviderConfig } from '../../../provider/config/config.ts';
import { PODNETWORKING_API } from '../../../provider/networking/constants.ts';
import { PROVISIONED_CONDITION } from '../../../provider/pods/annotations.ts';
import { freeLoopbackPorts } from '../../controlplane/ports.ts';
import { CONFIG_CASES, type ConfigCase } from '../corpus/config.ts';
import { POD_CASES, type PodCase } from '../corpus/pods.ts';
import { PODNETWORKING_CASES } from '../corpus/podnetworkings.ts';
import { KUBELET_CASES, WEBHOOK_CASES, type RequestCase } from '../corpus/requests.ts';
import { deleteVirtualNodes, ignoreNotFound, randomSuffix } from '../lib/cluster.ts';
import { providerEnv, sleep, type ChaosContext } from '../lib/context.ts';
import { budget, waitForExit, waitUntil, withDeadline } from '../../helpers/deadline.ts';
import { burstPod, listPods } from '../lib/pods.ts';
import { ChildProvider, chaosConfig } from '../lib/provider.ts';
import { runScenario, type ScenarioResult } from '../lib/report.ts';
import { startRig, stopRig, waitForNodes, type Rig } from '../lib/rig.ts';
import { BIG_VSWITCHES, SECURITY_GROUP } from '../lib/sim.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

export interface CorpusOptions {
  /** Only the cases marked quick (about 30). */
  quick: boolean;
  timeoutMs: number;
}

interface CaseResult {
  category: string;
  id: string;
  ok: boolean;
  detail: string;
}

export function corpusScenario(ctx: ChaosContext, o: CorpusOptions): Promise<ScenarioResult> {
  return runScenario('bad-input', ctx.log, async (s) => {
    const pick = <T extends { quick?: boolean }>(cases: readonly T[]) => (o.quick ? cases.filter((c) => c.quick === true) : [...cases]);
    const results: CaseResult[] = [];
    const add = (category: string, id: string, ok: boolean, detail: string) => {
      results.push({ category, id, ok, detail });
      if (!ok) s.progress(`${category}/${id}: ${detail}`);
    };
    let rig: Rig | undefined;
    const webhookCa = await createCertificateAuthority({ commonName: 'eci-vn-chaos-webhook-ca' });
    try {
      rig = await startRig(ctx, { name: 'corpus', prepare: (config) => prepareEndpoints(ctx, config, webhookCa) });
      const r = rig;

      s.progress('pods');
      await podCases(ctx, r, pick(POD_CASES), o.timeoutMs, add);
      s.progress('PodNetworkings');
      await podNetworkingCases(ctx, pick(PODNETWORKING_CASES), o.timeoutMs, add);
      const canary = await runCanary(ctx, r, 'canary-before');
      s.progress('webhook and kubelet API requests');
      await requestCases(ctx, r, pick(WEBHOOK_CASES), pick(KUBELET_CASES), canary, webhookCa.certPem, add);
      s.progress('config files and flags');
      await configCases(ctx, pick(CONFIG_CASES), add);
      s.progress('cloud credentials');
      await credentialCases(ctx, r, o.quick, add);
      s.progress('canary');

      // Nothing else disturbed: the provider still serves, and a new pod still runs.
      const after = await runCanary(ctx, r, 'canary-after').catch((err: unknown) => `failed: ${(err as Error).message}`);
      s.check(after === 'canary-after', `a canary pod created after the corpus runs (${after})`);
      const health = await httpsCall({ port: r.config.webhook.port, path: '/healthz', ca: webhookCa.certPem }).catch((err: unknown) => ({ status: 0, body: String(err) }));
      s.check(health.status === 200, `the webhook still answers /healthz after the corpus (HTTP ${health.status})`);
    } finally {
      const byCategory: Record<string, string> = {};
      for (const c of results) {
        const [ok, all] = (byCategory[c.category] ?? '0/0').split('/').map(Number) as [number, number];
        byCategory[c.category] = `${ok + (c.ok ? 1 : 0)}/${all + 1}`;
      }
      const failed = results.filter((c) => !c.ok);
      s.summary = `${results.length} bad-input cases (${o.quick ? 'quick slice' : 'full corpus'}): pods, PodNetworkings, webhook and kubelet API requests, config files/flags, cloud credentials`;
      s.figure('cases', results.length);
      s.figure('clear error naming the field (per category, passed/total)', byCategory);
      s.figure('cases without a clear answer', failed.length);
      for (const c of failed) s.check(false, `${c.category}/${c.id}: ${c.detail}`);
      await stopRig(ctx, rig, s);
    }
  });
}

// ---- setup ---------------------------------------------------------------------------------------

async function prepareEndpoints(ctx: ChaosContext, config: ProviderConfig, ca: Awaited<ReturnType<typeof createCertificateAuthority>>): Promise<void> {
  const serving = await issueCertificate({ ca, commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const certFile = join(ctx.workDir, `${config.clusterId}-webhook.crt`);
  const keyFile = join(ctx.workDir, `${config.clusterId}-webhook.key`);
  const clientCAFile = join(ctx.workDir, `${config.clusterId}-cluster-ca.crt`);
  writeFileSync(certFile, serving.certPem);
  writeFileSync(keyFile, serving.keyPem);
  writeFileSync(clientCAFile, ctx.cluster.caCertPem);
  // One kubelet port per virtual node (the first node gets the first).
  const [webhookPort, kubeletPort, ...more] = (await freeLoopbackPorts(4)) as [number, number, number, number];
  config.webhook = { ...config.webhook, port: webhookPort, host: '127.0.0.1', certFile, keyFile };
  config.kubeletApi = { ...config.kubeletApi, enabled: true, host: '127.0.0.1', clientCAFile, ports: [kubeletPort, ...more] };
  config.node = { ...config.node, internalIP: '127.0.0.1', kubeletPort };
}

async function runCanary(ctx: ChaosContext, rig: Rig, name: string): Promise<string> {
  await ctx.cluster.core.createNamespacedPod({ namespace: rig.namespace, body: burstPod(rig.config, name, 'canary') });
  let phase = 'not read yet';
  await waitUntil(
    async () => {
      phase = (await ctx.cluster.core.readNamespacedPod({ name, namespace: rig.namespace })).status?.phase ?? 'no phase';
      return phase === 'Running';
    },
    { timeoutMs: budget({ baseMs: 120_000 }), intervalMs: 500, what: `canary pod ${rig.namespace}/${name} to be Running`, lastSeen: () => `phase ${phase}` },
  );
  return name;
}

// ---- pods ----------------------------------------------------------------------------------------

const apiMessage = (err: unknown): string => {
  const e = err as { body?: unknown; message?: string };
  return `${typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? '')} ${e.message ?? ''}`;
};

async function podCases(ctx: ChaosContext, rig: Rig, cases: readonly PodCase[], timeoutMs: number, add: (c: string, id: string, ok: boolean, d: string) => void): Promise<void> {
  const accepted: PodCase[] = [];
  for (const c of cases) {
    const pod = burstPod(rig.config, `bad-${c.id.toLowerCase()}`, 'corpus');
    c.mutate(pod);
    try {
      await ctx.cluster.core.createNamespacedPod({ namespace: rig.namespace, body: pod });
      if (c.expect === 'api') add('pods', c.id, false, 'the apiserver accepted it; expected a refusal');
      else accepted.push(c);
    } catch (err) {
      const code = (err as { code?: number }).code ?? 0;
      const msg = apiMessage(err);
      if (c.expect !== 'api') add('pods', c.id, false, `refused by the apiserver (HTTP ${code}): ${msg.slice(0, 300)}`);
      else add('pods', c.id, code >= 400 && code < 500 && msg.includes(c.field), `HTTP ${code} naming ${c.field}: ${msg.includes(c.field) ? 'yes' : `no: ${msg.slice(0, 300)}`}`);
    }
  }
  // Then wait until every accepted pod shows its outcome (or the time is up).
  const judge = async () => {
    const pods = new Map((await listPods(ctx.cluster, rig.namespace, 'corpus')).map((p) => [p.metadata!.name!, p]));
    const events = (await ctx.cluster.core.listNamespacedEvent({ namespace: rig.namespace })).items;
    return accepted.map((c) => ({ c, ...judgePod(c, pods.get(`bad-${c.id.toLowerCase()}`), events) }));
  };
  // Each accepted pod is one more create and one more status to report on a busy machine.
  const deadline = Date.now() + timeoutMs + budget({ baseMs: 0, perItemMs: 2_000, items: accepted.length });
  let verdicts = await judge();
  while (verdicts.some((v) => !v.ok) && Date.now() < deadline) {
    await sleep(2_000);
    verdicts = await judge();
  }
  for (const v of verdicts) add('pods', v.c.id, v.ok, v.detail);
}

function judgePod(c: PodCase, pod: k8s.V1Pod | undefined, events: readonly k8s.CoreV1Event[]): { ok: boolean; detail: string } {
  if (pod === undefined) return { ok: false, detail: 'pod vanished' };
  const phase = pod.status?.phase ?? '?';
  const cond = pod.status?.conditions?.find((x) => x.type === PROVISIONED_CONDITION && x.status === 'False');
  const mine = events.filter((e) => e.involvedObject.uid === pod.metadata?.uid);
  const seen = `phase ${phase}; condition ${cond ? `${cond.reason}: ${cond.message}` : 'none'}; events ${mine.map((e) => `${e.reason}: ${(e.message ?? '').slice(0, 120)}`).join(' | ') || 'none'}`;
  switch (c.expect) {
    case 'refused':
    case 'waits': {
      const ok = phase === 'Pending' && cond !== undefined && (cond.message ?? '').includes(c.field) && mine.some((e) => e.reason === cond.reason);
      return { ok, detail: `${c.expect}, naming ${c.field}: ${seen}` };
    }
    case 'warns': {
      const ok = phase === 'Running' && mine.some((e) => e.type === 'Warning' && (e.message ?? '').includes(c.field));
      return { ok, detail: `runs with a Warning naming ${c.field}: ${seen}` };
    }
    case 'runs':
      return { ok: phase === 'Running', detail: `runs: ${seen}` };
    case 'reported': {
      const ok = phase === 'Pending' && mine.some((e) => e.type === 'Warning' && e.reason === 'ProviderCreateFailed' && (e.message ?? '').includes(c.field));
      return { ok, detail: `Pending with a ProviderCreateFailed event naming ${c.field}: ${seen}` };
    }
    case 'api':
      return { ok: false, detail: 'unreachable' };
  }
}

// ---- PodNetworkings ------------------------------------------------------------------------------

async function podNetworkingCases(
  ctx: ChaosContext,
  cases: readonly (typeof PODNETWORKING_CASES)[number][],
  timeoutMs: number,
  add: (c: string, id: string, ok: boolean, d: string) => void,
): Promise<void> {
  const { group, version, plural } = PODNETWORKING_API;
  const suffix = randomSuffix();
  const created: { name: string; c: (typeof cases)[number] }[] = [];
  for (const c of cases) {
    const name = `bad-${c.id}-${suffix}`;
    try {
      await ctx.cluster.custom.createClusterCustomObject({ group, version, plural, body: { apiVersion: PODNETWORKING_API.apiVersion, kind: 'PodNetworking', metadata: { name }, spec: c.spec } });
      if (c.expect === 'api') add('podnetworkings', c.id, false, 'the apiserver accepted it; expected a schema refusal');
      else created.push({ name, c });
    } catch (err) {
      const code = (err as { code?: number }).code ?? 0;
      const msg = apiMessage(err);
      if (c.expect !== 'api') add('podnetworkings', c.id, false, `refused by the apiserver (HTTP ${code}): ${msg.slice(0, 300)}`);
      else add('podnetworkings', c.id, code >= 400 && code < 500 && msg.includes(c.field), `HTTP ${code} naming ${c.field}: ${msg.includes(c.field) ? 'yes' : `no: ${msg.slice(0, 300)}`}`);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const { name, c } of created) {
    let status: { status?: string; message?: string } | undefined;
    while (Date.now() < deadline) {
      status = ((await ctx.cluster.custom.getClusterCustomObject({ group, version, plural, name })) as { status?: { status?: string; message?: string } }).status;
      if (status?.status === 'Fail' || status?.status === 'Ready') break;
      await sleep(1_000);
    }
    add('podnetworkings', c.id, status?.status === 'Fail' && (status.message ?? '').includes(c.field), `status Fail naming ${c.field}: got ${JSON.stringify(status)}`);
    await ctx.cluster.custom.deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
  }
}

// ---- HTTP requests -------------------------------------------------------------------------------

/**
 * One HTTPS request that always settles: with the status and body when an answer arrived (even
 * when the server then reset the connection while the body was still being written, as it does
 * after an early 413), else with an error naming the request; at the latest after `timeoutMs`.
 */
export function httpsCall(o: { port: number; path: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; ca?: string; cert?: string; key?: string; timeoutMs?: number }): Promise<{ status: number; body: string }> {
  const name = `${o.method ?? 'GET'} https://127.0.0.1:${o.port}${o.path}`;
  let status: number | undefined;
  let body = '';
  return withDeadline(
    (signal) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        let lastError: NodeJS.ErrnoException | undefined;
        // An answer, complete or cut short by a reset: the status is what the server said.
        const answered = (): void => {
          if (status !== undefined) resolve({ status, body });
        };
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: o.port,
            path: o.path,
            method: o.method ?? 'GET',
            headers: { ...o.headers, ...(o.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(o.body)) }) },
            ...(o.ca === undefined ? { rejectUnauthorized: false } : { ca: o.ca }),
            ...(o.cert === undefined ? {} : { cert: o.cert, key: o.key }),
            agent: false,
            signal,
          },
          (res) => {
            status = res.statusCode ?? 0;
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', answered);
            // A reset after the head is still an answer (with the body so far); 'close' always comes.
            res.on('error', () => {});
            res.on('close', answered);
          },
        );
        // EPIPE/ECONNRESET while the body is written (the server answered early and closed) is not
        // the end: the answer may have arrived. 'close' comes after every error and decides.
        req.on('error', (err) => (lastError = err));
        req.on('close', () => {
          if (status !== undefined) return; // the response's own 'close' settles
          const code = lastError?.code;
          reject(new Error(`${name}: no HTTP answer (${lastError === undefined ? 'the connection closed first' : `${code ?? lastError.name}: ${lastError.message}`})`, { cause: lastError }));
        });
        req.end(o.body);
      }),
    o.timeoutMs ?? 30_000,
    `an answer to ${name}`,
    () => (status === undefined ? 'no response head yet' : `HTTP ${status}, ${body.length} bytes of body so far`),
  );
}

export function adminClientCertificate(ctx: ChaosContext): { cert: string; key: string } {
  const user = ctx.cluster.kc.getCurrentUser();
  if (!user?.certData || !user.keyData) throw new Error('the kubeconfig has no client certificate');
  return { cert: Buffer.from(user.certData, 'base64').toString(), key: Buffer.from(user.keyData, 'base64').toString() };
}

async function requestCases(
  ctx: ChaosContext,
  rig: Rig,
  webhook: readonly RequestCase[],
  kubelet: readonly RequestCase[],
  canary: string,
  webhookCa: string,
  add: (c: string, id: string, ok: boolean, d: string) => void,
): Promise<void> {
  const judge = (category: string, c: RequestCase, call: Promise<{ status: number; body: string }>) =>
    call.then(
      (res) => {
        ctx.capture.addText(`${category} answer ${c.id}`, res.body);
        add(category, c.id, res.status === c.status && res.body.includes(c.says), `HTTP ${res.status} (want ${c.status}) saying "${c.says}": ${res.body.slice(0, 200).trim()}`);
      },
      (err: unknown) => add(category, c.id, false, `no HTTP answer: ${(err as Error).message}`),
    );
  for (const c of webhook) {
    await judge('webhook', c, httpsCall({ port: rig.config.webhook.port, path: c.path, method: c.method ?? 'GET', ...(c.headers ? { headers: c.headers } : {}), ...(c.body === undefined ? {} : { body: c.body }), ca: webhookCa }));
  }
  const client = adminClientCertificate(ctx);
  // Each virtual node serves its own kubelet port and answers only for its own pods, as a kubelet
  // does: ask the node the canary was scheduled to (any zone), found the way the apiserver finds it.
  const port = await withDeadline(kubeletPortOf(ctx, rig.namespace, canary), budget({ baseMs: 30_000 }), `the kubelet port of the node running ${rig.namespace}/${canary}`);
  for (const c of kubelet) {
    const path = c.path.replaceAll('{ns}', rig.namespace).replaceAll('{pod}', canary);
    await judge('kubelet-api', c, httpsCall({ port, path, method: c.method ?? 'GET', ...client }));
  }
}

/** The kubelet port the pod's node publishes (status.daemonEndpoints), where the apiserver sends `kubectl logs`. */
async function kubeletPortOf(ctx: ChaosContext, namespace: string, name: string): Promise<number> {
  const nodeName = (await ctx.cluster.core.readNamespacedPod({ name, namespace })).spec?.nodeName;
  if (!nodeName) throw new Error(`pod ${namespace}/${name} is not bound to a node`);
  const port = (await ctx.cluster.core.readNode({ name: nodeName })).status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!port) throw new Error(`node ${nodeName} publishes no kubelet port (status.daemonEndpoints.kubeletEndpoint)`);
  return port;
}

// ---- config files and flags ----------------------------------------------------------------------

async function runCli(args: string[], env: Record<string, string | undefined>, timeoutMs = budget({ baseMs: 60_000 })): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO, 'adapters', 'cli', 'main.ts'), 'run', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A bad config must end the CLI by itself; one still running at the deadline is killed and judged as it is.
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const { code, signal } = await waitForExit(child, { timeoutMs: timeoutMs + 15_000, what: `eci-virtual-node run ${args.join(' ')}`, output: () => stdout + stderr });
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

async function configCases(ctx: ChaosContext, cases: readonly ConfigCase[], add: (c: string, id: string, ok: boolean, d: string) => void): Promise<void> {
  const secret = `chaos-cli-secret-${randomBytes(10).toString('hex')}`;
  ctx.secrets['CLI AccessKey secret'] = secret;
  const base = () => ({
    clusterId: 'chaos-config',
    regionId: 'cn-hangzhou',
    cloud: { eciEndpoint: '127.0.0.1:9', vpcEndpoint: '127.0.0.1:9', ecsEndpoint: '127.0.0.1:9', protocol: 'http' },
    defaultNetwork: { vSwitchIds: [BIG_VSWITCHES[0]!], securityGroupId: SECURITY_GROUP },
    node: { namePrefix: 'vn-chaos-config' },
    kubernetes: { kubeconfig: ctx.cluster.kubeconfigPath },
  });
  const env: Record<string, string | undefined> = { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIchaoscli', ALIBABA_CLOUD_ACCESS_KEY_SECRET: secret, ECI_VN_CONFIG: undefined };
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const file = join(ctx.workDir, `config-${c.id}.yaml`);
      const content = c.file === undefined ? stringify(base()) : typeof c.file === 'function' ? stringify(c.file(base())) : c.file.raw;
      writeFileSync(file, content);
      const args = c.args?.includes('--config') ? c.args : ['--config', file, ...(c.args ?? [])];
      const res = await runCli(args, { ...env, ...c.env });
      ctx.capture.addText(`CLI ${c.id}`, res.stdout + res.stderr);
      const stack = /\n\s+at .+:\d+:\d+/.test(res.stderr);
      const ok = res.code === 2 && res.stderr.includes(c.field) && !stack;
      add('config', c.id, ok, `exit ${res.code ?? res.signal} (want 2) naming ${c.field}${stack ? ', with a stack trace' : ''}: ${res.stderr.trim().split('\n').slice(0, 4).join(' / ').slice(0, 300)}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

// ---- cloud credentials ---------------------------------------------------------------------------

async function credentialCases(ctx: ChaosContext, rig: Rig, quick: boolean, add: (c: string, id: string, ok: boolean, d: string) => void): Promise<void> {
  const wrongSecret = `chaos-wrong-secret-${randomBytes(10).toString('hex')}`;
  ctx.secrets['wrong AccessKey secret'] = wrongSecret;
  const cases = [
    { id: 'wrong-secret', edit: (c: ProviderConfig) => (c.cloud.accessKeySecret = wrongSecret), says: 'SignatureDoesNotMatch' },
    { id: 'unknown-key-id', edit: (c: ProviderConfig) => (c.cloud.accessKeyId = 'LTAInosuchkey0000'), says: 'InvalidAccessKeyId' },
  ].slice(0, quick ? 1 : 2);
  for (const c of cases) {
    const config = chaosConfig(rig.sim.sim, ctx.cluster, { vSwitchIds: [...BIG_VSWITCHES] });
    c.edit(config);
    const output: string[] = [];
    const provider = new ChildProvider({ config, capture: ctx.capture, dir: ctx.workDir, env: providerEnv(ctx), label: `credentials-${c.id}` });
    ctx.capture.add(`credentials ${c.id} (checked)`, () => output.join(''));
    provider.start();
    provider.child?.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    provider.child?.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    // Give it time to try the cloud (and to fail at it) a few times.
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && !output.join('').includes(c.says) && provider.alive) await sleep(500);
    // Not a wait for a state: it must still be alive a while after it met the bad key.
    await sleep(3_000);
    const alive = provider.alive;
    const said = output.join('').includes(c.says);
    const code = await provider.stop();
    add('credentials', c.id, alive && said && provider.crashes.length === 0, `alive ${alive}, logs name ${c.says}: ${said}, exit on SIGTERM ${String(code)}${provider.crashes.length ? `; crashed: ${provider.crashes[0]!.slice(0, 300)}` : ''}`);
    await deleteVirtualNodes(ctx.cluster, config.clusterId).catch(() => {});
  }
  // The rig's own provider, with the right key, is unaffected.
  await waitForNodes(ctx.cluster, rig.config, 3, 30_000);
}
