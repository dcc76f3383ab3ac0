// Scenario 6: strangers are refused where they should be, and no secret leaks.
//  - cloudsim admin API: no token / wrong token -> 401 (GET /healthz is open on purpose, says only {"ok":true});
//  - cloud OpenAPI: an unsigned request is refused;
//  - kubelet API: no credentials / a made-up token -> 401; a real ServiceAccount without RBAC -> 403;
//  - webhook: TLS only (plain HTTP gets no answer). It authenticates no caller on purpose: the
//    apiserver calls it, and its answer is a pure function of the request (no side effect);
//  - a pod uses a Kubernetes Secret (env secretKeyRef) and runs: the value reaches the cloud.
// secretScan() then reads every captured output of the whole run (provider logs, CLI output,
// HTTP answers, every Kubernetes event, received spans) for every configured secret.
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { ChaosContext } from '../lib/context.ts';
import { listAllEvents } from '../lib/cluster.ts';
import { burstPod } from '../lib/pods.ts';
import { runScenario, type ScenarioResult } from '../lib/report.ts';
import { startRig, stopRig, type Rig } from '../lib/rig.ts';
import { freeLoopbackPorts } from '../../controlplane/ports.ts';
import { budget, fetchText, fetchWithDeadline, waitUntil, withDeadline } from '../../helpers/deadline.ts';

function kubeletCall(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  const name = `GET https://127.0.0.1:${port}${path} (kubelet API)`;
  return withDeadline(
    (signal) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path, headers, rejectUnauthorized: false, agent: false, signal }, (res) => {
          // The status is the answer; a reset while the body streams does not change it.
          res.on('error', () => {});
          res.on('close', () => resolve(res.statusCode ?? 0));
          res.resume();
        });
        req.on('error', (err) => reject(new Error(`${name}: ${err.message}`, { cause: err })));
        req.end();
      }),
    20_000,
    `an answer to ${name}`,
  );
}

export function securityScenario(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario('security', ctx.log, async (s) => {
    s.summary = 'admin API, cloud API, kubelet API and webhook against strangers; a pod using a Secret';
    let rig: Rig | undefined;
    try {
      rig = await startRig(ctx, {
        name: 'security',
        prepare: async (config) => {
          // One kubelet port per virtual node (the first node gets the first).
          const [kubeletPort, metricsPort, ...more] = (await freeLoopbackPorts(4)) as [number, number, number, number];
          config.kubeletApi = { ...config.kubeletApi, enabled: true, host: '127.0.0.1', ports: [kubeletPort, ...more] };
          config.node = { ...config.node, internalIP: '127.0.0.1', kubeletPort };
          config.metrics = { port: metricsPort, host: '127.0.0.1' };
        },
      });
      const { sim, config, namespace } = rig;
      // The kubelet API listens once start-up is complete (after the nodes exist).
      await waitUntil(() => kubeletCall(config.node.kubeletPort, '/healthz').then(() => true), {
        timeoutMs: budget({ baseMs: 60_000 }),
        intervalMs: 500,
        what: `the kubelet API on port ${config.node.kubeletPort} to answer /healthz`,
      });

      // cloudsim admin API
      const admin = sim.sim.adminEndpoint;
      const noToken = (await fetchWithDeadline(`${admin}/admin/state`)).status;
      const wrongToken = (await fetchWithDeadline(`${admin}/admin/state`, { headers: { authorization: 'Bearer not-the-token' } })).status;
      const clearing = (await fetchWithDeadline(`${admin}/admin/clear`, { method: 'POST' })).status;
      const health = await fetchText(`${admin}/healthz`);
      const healthBody = health.text;
      s.figure('admin API without token / wrong token / POST clear without token', `${noToken} / ${wrongToken} / ${clearing}`);
      s.figure('admin /healthz (open on purpose)', `${health.status} ${healthBody}`);
      s.check(noToken === 401 && wrongToken === 401 && clearing === 401, 'the admin API refuses requests without its token (401)');
      s.check(health.status === 200 && healthBody === '{"ok":true}', '/healthz is open and says nothing but ok');

      // cloud OpenAPI without a signature
      const unsigned = await fetchText(`${sim.sim.url}/?RegionId=${sim.sim.regionId}`, { method: 'POST', headers: { 'x-acs-action': 'DescribeContainerGroups', 'x-acs-version': '2018-08-08' } });
      const unsignedBody = JSON.parse(unsigned.text) as { Code?: string };
      s.figure('cloud OpenAPI unsigned request', `${unsigned.status} ${unsignedBody.Code ?? ''}`);
      s.check(unsigned.status >= 400 && unsigned.status < 500, 'the cloud API refuses an unsigned request');

      // kubelet API
      const port = config.node.kubeletPort;
      const anonymous = await kubeletCall(port, '/pods');
      const madeUp = await kubeletCall(port, '/pods', { authorization: 'Bearer made-up-token' });
      const sa = `stranger-${randomBytes(3).toString('hex')}`;
      await ctx.cluster.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: sa } } });
      const token = (await ctx.cluster.core.createNamespacedServiceAccountToken({ namespace, name: sa, body: { spec: { audiences: [], expirationSeconds: 600 } } })).status?.token ?? '';
      const unprivileged = await kubeletCall(port, '/pods', { authorization: `Bearer ${token}` });
      ctx.secrets['ServiceAccount token'] = token;
      s.figure('kubelet API anonymous / made-up token / ServiceAccount without RBAC', `${anonymous} / ${madeUp} / ${unprivileged}`);
      s.check(anonymous === 401 && madeUp === 401, 'the kubelet API refuses unauthenticated callers (401)');
      s.check(unprivileged === 403, 'the kubelet API refuses an authenticated caller without RBAC (403)');

      // Metrics: open on purpose (Prometheus scrapes without credentials; bind it to a private
      // address). Its text joins the secret scan, and it serves nothing but /metrics and /healthz.
      const metrics = await fetchText(`http://127.0.0.1:${config.metrics.port}/metrics`);
      const metricsText = metrics.text;
      ctx.capture.addText('metrics endpoint', metricsText);
      const elsewhere = (await fetchWithDeadline(`http://127.0.0.1:${config.metrics.port}/admin`)).status;
      s.figure('metrics /metrics (open on purpose) / other path', `${metrics.status} (${Math.round(metricsText.length / 1024)} KiB) / ${elsewhere}`);
      s.check(metrics.status === 200 && elsewhere === 404, 'the metrics endpoint serves /metrics and nothing else');
      // The webhook is not enabled on this rig; its TLS-only envelope is covered by the corpus.
      s.note('intentionally unauthenticated: cloudsim GET /healthz; the metrics endpoint (plain HTTP, for Prometheus; its text is in the secret scan); the admission webhook (TLS only; called by the apiserver; a pure decision with no side effect)');

      // A pod that uses a Secret: it must run (the value reaches the cloud) and appear nowhere else.
      const value = `chaos-pod-secret-${randomBytes(12).toString('hex')}`;
      ctx.secrets['Kubernetes Secret value'] = value;
      ctx.secrets['Kubernetes Secret value (base64)'] = Buffer.from(value).toString('base64');
      await ctx.cluster.core.createNamespacedSecret({ namespace, body: { metadata: { name: 'app-secret' }, stringData: { password: value } } });
      const pod = burstPod(config, 'uses-secret', 'security');
      pod.spec!.containers[0]!.env = [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } }];
      await ctx.cluster.core.createNamespacedPod({ namespace, body: pod });
      let phase = '';
      await waitUntil(
        async () => {
          phase = (await ctx.cluster.core.readNamespacedPod({ name: 'uses-secret', namespace })).status?.phase ?? '';
          return phase === 'Running';
        },
        { timeoutMs: budget({ baseMs: 90_000 }), intervalMs: 500, what: `pod ${namespace}/uses-secret to be Running`, lastSeen: () => `phase ${phase || 'none'}` },
      ).catch(() => {}); // judged below, with the phase seen
      const inCloud = [...sim.sim.cloud.store.groups.values()].some((g) => JSON.stringify(g.containers).includes(value));
      s.figure('pod using a Secret', `${phase}; value delivered to the cloud: ${inCloud}`);
      s.check(phase === 'Running' && inCloud, 'the pod using a Secret runs with the value delivered to ECI');
    } finally {
      await stopRig(ctx, rig, s);
    }
  });
}

/** The scan over everything the run printed or produced. Call last. */
export function secretScan(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario('secret-scan', ctx.log, async (s) => {
    const events = await listAllEvents(ctx.cluster);
    ctx.capture.addText('every event of the cluster (at the end)', JSON.stringify(events));
    if (ctx.spans !== undefined) ctx.capture.add('received spans', ctx.spans);
    const { hits, sources, bytes } = ctx.capture.scan(ctx.secrets);
    s.summary = `${Object.keys(ctx.secrets).length} secrets searched in ${sources} captured outputs (${Math.round(bytes / 1024)} KiB)`;
    s.figure('secrets searched', Object.keys(ctx.secrets).length);
    s.figure('outputs scanned', sources);
    s.figure('KiB scanned', Math.round(bytes / 1024));
    s.figure('spans scanned', ctx.spans === undefined ? 'no receiver' : (JSON.parse(ctx.spans()) as unknown[]).length);
    s.figure('secrets found', hits.length);
    for (const h of hits.slice(0, 20)) s.check(false, `${h.secret} appears in ${h.source}: ...${h.excerpt}...`);
  });
}
