// The kubelet API end to end: the real kubectl -> the real apiserver -> the provider's kubelet
// API (HTTPS, client-cert + TokenReview authentication, SubjectAccessReview authorization) ->
// the cloud simulator's DescribeContainerLog / ExecContainerCommand (WebSocket) /
// DescribeContainerGroupMetric. Also straight to the kubelet port: no credentials -> 401, a user
// without nodes/proxy -> 403. Each virtual node has its own port and answers only for its pods.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProvider } from '../../adapters/cli/provider.ts';
import type { CloudSim } from '../../adapters/cloudsim/server.ts';
import { startCloudSim } from '../../adapters/cloudsim/server.ts';
import { issueCertificate, type CertificateAndKey } from '../../adapters/tls/certificates.ts';
import type { ProviderConfig } from '../../provider/config/config.ts';
import { freeLoopbackPorts } from '../controlplane/ports.ts';
import { apis, controlPlane, ignoreNotFound, kubectl, kubeConfig, uniqueName, useTestNamespace } from './helpers/cluster.ts';
import { installPodNetworkingCrd } from './helpers/crd.ts';
import { NODE_LABELS } from '../../provider/node/constants.ts';
import { deleteNodes, memoryLogger, startTestProvider, testConfig, testWorld, virtualNodePlacement } from './helpers/provider.ts';
import { waitFor } from './helpers/wait.ts';
import { apiClient, budget, sleep, waitForEvent, withDeadline } from '../helpers/deadline.ts';

const namespace = useTestNamespace('kubelet-api');
let sim: CloudSim;
let config: ProviderConfig;
let provider: RunningProvider;
const logs = memoryLogger();
const statsUser = uniqueName('stats-reader');
const rbacName = uniqueName('kubelet-api-test');

const LOG_LINES = ['alpha one', 'bravo two', 'charlie three', 'delta four', 'echo five'];

beforeAll(async () => {
  await installPodNetworkingCrd();
  sim = await startCloudSim({ world: await testWorld(), log: () => {} });
  config = testConfig(sim);
  // One port per virtual node (three zones): a listed pool, since free ports are not contiguous.
  const ports = await freeLoopbackPorts(3);
  config.node.kubeletPort = ports[0]!;
  config.kubeletApi = { ...config.kubeletApi, enabled: true, host: '127.0.0.1', certFile: '', keyFile: '', clientCAFile: join(controlPlane().dir, 'pki', 'ca.crt'), ports };
  provider = await startTestProvider(config, logs.log);
  // The ServiceAccount admission plugin refuses pods until the controller-manager made `default`.
  await waitFor(() => apis().core.readNamespacedServiceAccount({ name: 'default', namespace: namespace() }).then(() => true), {
    timeoutMs: budget({ baseMs: 60_000 }),
    describe: `ServiceAccount default in ${namespace()}`,
  });

  // A user allowed nodes/stats only (not nodes/proxy).
  const rbac = apiClient(kubeConfig(), RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name: rbacName }, rules: [{ apiGroups: [''], resources: ['nodes/stats'], verbs: ['get'] }] } });
  await rbac.createClusterRoleBinding({
    body: { metadata: { name: rbacName }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: rbacName }, subjects: [{ kind: 'User', name: statsUser, apiGroup: 'rbac.authorization.k8s.io' }] },
  });
});

afterAll(async () => {
  const rbac = apiClient(kubeConfig(), RbacAuthorizationV1Api);
  await rbac.deleteClusterRoleBinding({ name: rbacName }).catch(ignoreNotFound);
  await rbac.deleteClusterRole({ name: rbacName }).catch(ignoreNotFound);
  if (provider) await withDeadline(provider.stop(), budget({ baseMs: 30_000 }), 'the in-process provider to stop');
  if (config) await deleteNodes(config);
  await sim?.stop();
});

function pod(name: string, container: Partial<NonNullable<V1Pod['spec']>['containers'][number]>, restartPolicy = 'Always', zone?: string): V1Pod {
  const placement = virtualNodePlacement(config);
  if (zone !== undefined) placement.nodeSelector = { ...placement.nodeSelector, [NODE_LABELS.zone]: zone };
  return {
    metadata: { name },
    spec: { ...placement, restartPolicy, containers: [{ name: 'main', image: 'nginx:1.27', ...container }] },
  };
}

/** The kubelet port a node advertises (status.daemonEndpoints), as the apiserver reads it. */
async function portOfNode(nodeName: string): Promise<number> {
  const port = (await apis().core.readNode({ name: nodeName })).status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (port === undefined) throw new Error(`node ${nodeName} advertises no kubelet port`);
  return port;
}

async function createRunning(body: V1Pod): Promise<V1Pod> {
  const { core } = apis();
  await core.createNamespacedPod({ namespace: namespace(), body });
  return waitFor(
    async () => {
      const p = await core.readNamespacedPod({ name: body.metadata!.name!, namespace: namespace() });
      return p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state?.running !== undefined ? p : undefined;
    },
    { timeoutMs: budget({ baseMs: 90_000 }), describe: `pod ${body.metadata!.name} to be Running` },
  );
}

/** Runs kubectl, never throwing: exit code, stdout, stderr (and stdin when given). */
function run(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const cp = controlPlane();
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? budget({ baseMs: 45_000 });
  const child = spawn(join(cp.binDir, 'kubectl'), args, { env: { ...process.env, KUBECONFIG: cp.kubeconfigPath }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Judged as it is when it runs too long (the test then sees a null code and the output so far).
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const closed = waitForEvent<[number | null]>(child, 'close', { timeoutMs: timeoutMs + 10_000, what: `kubectl ${args.join(' ')} to end`, lastSeen: () => `stdout: ${stdout.slice(-500)}; stderr: ${stderr.slice(-500)}` });
  if (options.input !== undefined) child.stdin.end(options.input);
  else child.stdin.end();
  return closed.then(
    ([code]) => ({ code, stdout, stderr, ms: Date.now() - started }),
  ).finally(() => clearTimeout(timer));
}

/** The harness admin identity (CN=admin, O=system:masters), signed by the client CA. */
async function adminCertificate(): Promise<CertificateAndKey> {
  const pki = join(controlPlane().dir, 'pki');
  return { certPem: await readFile(join(pki, 'admin.crt'), 'utf8'), keyPem: await readFile(join(pki, 'admin.key'), 'utf8') };
}

/** A request straight to the kubelet port (not through the apiserver). */
function direct(path: string, auth: { cert?: CertificateAndKey; token?: string; port?: number } = {}): Promise<{ status: number; body: string }> {
  const port = auth.port ?? config.node.kubeletPort;
  const name = `GET https://127.0.0.1:${port}${path}`;
  return withDeadline(
    (signal) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path,
            method: 'GET',
            rejectUnauthorized: false, // the serving certificate is self-signed here (no kubeletApi.certFile)
            ...(auth.cert === undefined ? {} : { cert: auth.cert.certPem, key: auth.cert.keyPem }),
            headers: auth.token === undefined ? {} : { Authorization: `Bearer ${auth.token}` },
            signal,
          },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            res.on('error', (err) => reject(new Error(`${name}: the answer broke off: ${err.message}`, { cause: err })));
          },
        );
        req.on('error', (err) => reject(new Error(`${name}: ${err.message}`, { cause: err })));
        req.end();
      }),
    budget({ baseMs: 30_000 }),
    `an answer to ${name}`,
  );
}

/** A WebSocket exec straight to a kubelet port: the HTTP status of a refused upgrade, or 101. */
function execUpgradeStatus(port: number, path: string, cert: CertificateAndKey): Promise<{ status: number; body: string }> {
  const name = `WebSocket exec upgrade https://127.0.0.1:${port}${path}`;
  return withDeadline(
    (signal) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://127.0.0.1:${port}${path}`, ['v5.channel.k8s.io'], { cert: cert.certPem, key: cert.keyPem, rejectUnauthorized: false });
        signal.addEventListener('abort', () => ws.terminate(), { once: true });
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('open', () => {
          ws.terminate();
          resolve({ status: 101, body: '' });
        });
        ws.on('error', (err) => reject(new Error(`${name}: ${err.message}`, { cause: err })));
      }),
    budget({ baseMs: 30_000 }),
    `an answer to ${name}`,
  );
}

describe('kubectl logs', () => {
  let chatty: V1Pod;
  beforeAll(async () => {
    chatty = await createRunning(pod('chatty', { env: [{ name: 'SIM_LOG', value: LOG_LINES.join('\n') }] }));
  });

  it('prints the container log, --tail the last lines, --timestamps prefixed', async () => {
    const all = await kubectl(['logs', '-n', namespace(), 'chatty']);
    expect(all.stdout).toContain('[cloudsim] container main started');
    for (const line of LOG_LINES) expect(all.stdout).toContain(`${line}\n`);

    const tail = await kubectl(['logs', '-n', namespace(), 'chatty', '--tail=2']);
    expect(tail.stdout).toBe('delta four\necho five\n');

    const stamped = await kubectl(['logs', '-n', namespace(), 'chatty', '--tail=1', '--timestamps']);
    expect(stamped.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z echo five\n$/);

    const limited = await kubectl(['logs', '-n', namespace(), 'chatty', '--tail=2', '--limit-bytes=5']);
    expect(limited.stdout).toBe('delta');
  });

  it('--since keeps only recent lines', async () => {
    // Every line was written when the container started; wait until they are over 2 s old.
    const started = Date.parse(String(chatty.status!.containerStatuses![0]!.state!.running!.startedAt));
    await sleep(Math.max(0, started + 3_000 - Date.now())); // the state awaited is the clock itself
    const recent = await kubectl(['logs', '-n', namespace(), 'chatty', '--since=1s']);
    expect(recent.stdout).toBe('');
    const hour = await kubectl(['logs', '-n', namespace(), 'chatty', '--since=1h']);
    expect(hour.stdout).toContain('echo five\n');
  });

  it('-f streams until the container ends, then exits', async () => {
    await createRunning(pod('short', { image: 'sim/exit:0', env: [{ name: 'SIM_RUN_MS', value: '6000' }, { name: 'SIM_LOG', value: 'first\nsecond' }] }, 'Never'));
    const followed = await run(['logs', '-f', '-n', namespace(), 'short'], { timeoutMs: budget({ baseMs: 60_000 }) });
    expect(followed.stderr).toBe('');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain('first\nsecond\n');
    // The line written when the container exited arrived through the follow, once.
    expect(followed.stdout.match(/exited with code 0/g)).toHaveLength(1);
    expect(followed.stdout.match(/second/g)).toHaveLength(1);
  }, budget({ baseMs: 90_000 }) + budget({ baseMs: 60_000 }) + 30_000);

  it('answers a bad query or an unknown container with 400 (straight to the kubelet port, as the apiserver)', async () => {
    const admin = { cert: await adminCertificate(), port: await portOfNode(chatty.spec!.nodeName!) };
    expect(await direct(`/containerLogs/${namespace()}/chatty/main?tailLines=-1`, admin)).toEqual({ status: 400, body: 'tailLines: must be greater than or equal to 0\n' });
    expect(await direct(`/containerLogs/${namespace()}/chatty/main?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z`, admin)).toMatchObject({ status: 400 });
    expect(await direct(`/containerLogs/${namespace()}/chatty/nope`, admin)).toEqual({ status: 400, body: 'container nope is not valid for pod chatty\n' });
    expect(await direct(`/containerLogs/${namespace()}/absent/main`, admin)).toMatchObject({ status: 404 });
    expect(await direct(`/containerLogs/${namespace()}/chatty/main?tailLines=1`, admin)).toEqual({ status: 200, body: 'echo five\n' });
    expect(await direct(`/portForward/${namespace()}/chatty`, admin)).toMatchObject({ status: 501, body: expect.stringMatching(/port-forward is not supported/) });
  });
});

describe('kubectl exec', () => {
  let shell: V1Pod;
  beforeAll(async () => {
    shell = await createRunning(pod('shell', { env: [{ name: 'GREETING', value: 'hello' }] }));
  });

  it('runs on a node that declares ExtendWebSocketsToKubelet (so the apiserver proxies WebSocket, not SPDY)', async () => {
    const node = await apis().core.readNode({ name: shell.spec!.nodeName! });
    expect(node.status?.declaredFeatures).toContain('ExtendWebSocketsToKubelet');
  });

  it('prints the output of the command', async () => {
    const result = await run(['exec', '-n', namespace(), 'shell', '--', 'echo', 'hi']);
    expect(result).toMatchObject({ code: 0, stdout: 'hi\n', stderr: '' });
    const env = await run(['exec', '-n', namespace(), 'shell', '-c', 'main', '--', 'printenv', 'GREETING']);
    expect(env).toMatchObject({ code: 0, stdout: 'hello\n' });
  });

  it("returns the command's exit code and its stderr", async () => {
    const result = await run(['exec', '-n', namespace(), 'shell', '--', 'sh', '-c', 'echo oops >&2; exit 3']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('oops\n');
  });

  it('passes stdin with -i', async () => {
    const result = await run(['exec', '-i', '-n', namespace(), 'shell', '--', 'cat'], { input: 'from stdin\nline 2\n' });
    expect(result).toMatchObject({ code: 0, stdout: 'from stdin\nline 2\n' });
  });

  it('says clearly that attach and port-forward are not available', async () => {
    const attach = await run(['attach', '-n', namespace(), 'shell'], { timeoutMs: 20_000 });
    expect(attach.code).not.toBe(0);
    expect(attach.stderr).toMatch(/attach is not supported by eci-virtual-node/);
  });
});

describe('authentication and authorization', () => {
  let nodeName: string;
  let port: number;
  beforeAll(async () => {
    nodeName = (await createRunning(pod('guarded', {}))).spec!.nodeName!;
    port = await portOfNode(nodeName);
  });

  it('answers 401 to a request without credentials', async () => {
    for (const path of ['/pods', '/healthz', `/containerLogs/${namespace()}/guarded/main`, '/stats/summary']) {
      expect(await direct(path, { port }), path).toEqual({ status: 401, body: 'Unauthorized\n' });
    }
    expect((await direct('/pods', { token: 'not-a-token', port })).status).toBe(401);
  });

  it('answers 403 to a user without nodes/proxy (client certificate), naming what was missing', async () => {
    const cp = controlPlane();
    const cert = await issueCertificate({ ca: { certPem: cp.caCertPem, keyPem: cp.caKeyPem }, commonName: statsUser, usage: 'client' });
    const logs = await direct(`/containerLogs/${namespace()}/guarded/main`, { cert, port });
    expect(logs.status).toBe(403);
    expect(logs.body).toBe(`Forbidden (user=${statsUser}, verb=get, resource=nodes, subresource(s)=[proxy])\n`);
    // The same user has nodes/stats: the stats route lets it in.
    const stats = await direct('/stats/summary', { cert, port });
    expect(stats.status).toBe(200);
    expect((JSON.parse(stats.body) as { pods: { podRef: { name: string } }[] }).pods.map((p) => p.podRef.name)).toContain('guarded');
  });

  it('answers 403 to a ServiceAccount token without RBAC (TokenReview + SubjectAccessReview)', async () => {
    const sa = uniqueName('nobody');
    await apis().core.createNamespacedServiceAccount({ namespace: namespace(), body: { metadata: { name: sa } } });
    const token = (await kubectl(['create', 'token', sa, '-n', namespace(), '--duration=10m'])).stdout.trim();
    const answer = await direct(`/exec/${namespace()}/guarded/main?command=true&output=1`, { token, port });
    expect(answer).toEqual({ status: 403, body: `Forbidden (user=system:serviceaccount:${namespace()}:${sa}, verb=get, resource=nodes, subresource(s)=[proxy])\n` });
  });

  // Not through `kubectl get --raw /api/v1/nodes/N/proxy/...`: the apiserver's node proxy refuses
  // loopback addresses ("address not allowed"), and the test's kubelet API is on 127.0.0.1.
  // metrics-server calls the kubelet port directly, as this does (with the apiserver's identity).
  it('serves /stats/summary and /metrics/resource from DescribeContainerGroupMetric', async () => {
    const admin = { cert: await adminCertificate(), port };
    const answer = await direct('/stats/summary', admin);
    expect(answer.status).toBe(200);
    const summary = JSON.parse(answer.body) as {
      node: { nodeName: string; cpu: { usageNanoCores?: number } };
      pods: { podRef: { name: string; namespace: string }; cpu: { usageNanoCores?: number }; memory: { workingSetBytes?: number }; containers: { name: string }[] }[];
    };
    expect(summary.node.nodeName).toBe(nodeName);
    const guarded = summary.pods.find((p) => p.podRef.name === 'guarded' && p.podRef.namespace === namespace());
    expect(guarded?.cpu.usageNanoCores).toBeGreaterThan(0);
    expect(guarded?.memory.workingSetBytes).toBeGreaterThan(0);
    expect(guarded?.containers.map((c) => c.name)).toEqual(['main']);
    expect(summary.node.cpu.usageNanoCores).toBeGreaterThanOrEqual(guarded!.cpu.usageNanoCores!);
    const metrics = await direct('/metrics/resource', admin);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(new RegExp(`^container_cpu_usage_seconds_total\\{namespace="${namespace()}",pod="guarded",container="main"\\} [0-9.e+]+ \\d+$`, 'm'));
    expect(metrics.body).toMatch(/^scrape_error 0$/m);
    expect(await direct('/healthz', admin)).toEqual({ status: 200, body: 'ok\n' });
    const podList = JSON.parse((await direct('/pods', admin)).body) as { kind: string; items: V1Pod[] };
    expect(podList.kind).toBe('PodList');
    expect(podList.items.map((p) => p.metadata?.name)).toContain('guarded');
  });
});

describe('one kubelet per virtual node', () => {
  const zoneH = 'cn-hangzhou-h';
  const zoneI = 'cn-hangzhou-i';
  let onH: V1Pod;
  let onI: V1Pod;
  let portH: number;
  let portI: number;
  let admin: CertificateAndKey;
  beforeAll(async () => {
    [onH, onI] = await Promise.all([createRunning(pod('on-h', {}, 'Always', zoneH)), createRunning(pod('on-i', {}, 'Always', zoneI))]);
    [portH, portI] = await Promise.all([portOfNode(onH.spec!.nodeName!), portOfNode(onI.spec!.nodeName!)]);
    admin = await adminCertificate();
  });

  it('each node advertises its own port from the pool, and listens on it', async () => {
    const nodes = await apis().core.listNode({ labelSelector: `${NODE_LABELS.cluster}=${config.clusterId}` });
    const advertised = nodes.items.map((n) => n.status?.daemonEndpoints?.kubeletEndpoint?.Port);
    expect(nodes.items).toHaveLength(3);
    expect(new Set(advertised).size).toBe(3);
    expect([...advertised].sort()).toEqual([...config.kubeletApi.ports].sort());
    expect(onH.spec!.nodeName).not.toBe(onI.spec!.nodeName);
    for (const p of [portH, portI]) expect(await direct('/healthz', { cert: admin, port: p })).toEqual({ status: 200, body: 'ok\n' });
  });

  it("node h's /pods and /runningpods/ list h's pods only, and i's list i's", async () => {
    const names = async (path: string, port: number) => (JSON.parse((await direct(path, { cert: admin, port })).body) as { items: V1Pod[] }).items.map((p) => p.metadata?.name);
    for (const path of ['/pods', '/runningpods/']) {
      const h = await names(path, portH);
      const i = await names(path, portI);
      expect(h, `${path} on h`).toContain('on-h');
      expect(h, `${path} on h`).not.toContain('on-i');
      expect(i, `${path} on i`).toContain('on-i');
      expect(i, `${path} on i`).not.toContain('on-h');
    }
    const items = (JSON.parse((await direct('/pods', { cert: admin, port: portH })).body) as { items: V1Pod[] }).items;
    expect(new Set(items.map((p) => p.spec?.nodeName))).toEqual(new Set([onH.spec!.nodeName]));
  });

  it("node h's /stats/summary reports one nodeName and only h's pods; /metrics/resource likewise", async () => {
    const summary = JSON.parse((await direct('/stats/summary', { cert: admin, port: portH })).body) as { node: { nodeName: string }; pods: { podRef: { name: string } }[] };
    expect(summary.node.nodeName).toBe(onH.spec!.nodeName);
    const podNames = summary.pods.map((p) => p.podRef.name);
    expect(podNames).toContain('on-h');
    expect(podNames).not.toContain('on-i');
    const metrics = (await direct('/metrics/resource', { cert: admin, port: portH })).body;
    expect(metrics).toMatch(/pod="on-h"/);
    expect(metrics).not.toMatch(/pod="on-i"/);
  });

  it("node h's endpoint answers 404 for node i's pod: logs and exec", async () => {
    const logs = await direct(`/containerLogs/${namespace()}/on-i/main`, { cert: admin, port: portH });
    expect(logs).toEqual({ status: 404, body: `pod "on-i" in namespace "${namespace()}" not found on this node\n` });
    expect((await direct(`/containerLogs/${namespace()}/on-i/main`, { cert: admin, port: portI })).status).toBe(200);
    expect(await execUpgradeStatus(portH, `/exec/${namespace()}/on-i/main?command=true&output=1`, admin)).toMatchObject({ status: 404 });
    expect(await execUpgradeStatus(portI, `/exec/${namespace()}/on-i/main?command=true&output=1`, admin)).toEqual({ status: 101, body: '' });
  });

  it('the apiserver reaches each pod through its own node: kubectl logs and exec on h and on i', async () => {
    for (const name of ['on-h', 'on-i']) {
      const logs = await run(['logs', '-n', namespace(), name]);
      expect(logs, `kubectl logs ${name}`).toMatchObject({ code: 0, stdout: expect.stringContaining('[cloudsim] container main started') });
      const exec = await run(['exec', '-n', namespace(), name, '--', 'echo', name]);
      expect(exec, `kubectl exec ${name}`).toMatchObject({ code: 0, stdout: `${name}\n` });
    }
  });
});
