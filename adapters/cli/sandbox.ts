// `eci-virtual-node sandbox`: a local playground in one command. It builds (or reuses) the
// control-plane binaries and starts a real control plane on loopback, the cloud simulator
// in-process with the demo world, installs the PodNetworking CRD, starts the provider as a real
// child process (`eci-virtual-node run`: leader-elected, webhook on 127.0.0.1 with a fresh serving
// certificate, registered by a MutatingWebhookConfiguration), applies a demo PodNetworking and
// two demo Deployments, waits until their pods run, and prints what to try next: a `source` line
// (env file: kubeconfig, the simulator's settings, PATH) and commands that each work verbatim
// after it (test/integration/sandbox.test.ts runs them). The kubelet API is on, at this machine's
// first non-loopback address, so kubectl logs/exec and node-proxy stats work. Ctrl-C (or
// SIGTERM) stops everything, last started first; `--exit-after-ready` does so by itself once the
// demo runs (CI, tests).
//
// The control-plane harness lives in test/controlplane/ (it is test infrastructure first); it is
// imported here lazily, only when this subcommand runs, so the provider itself never loads it.
// Certificate code the provider needs at run time is in adapters/tls/, not under test/.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { ControlPlane } from '../../test/controlplane/controlplane.ts';
import type { CloudSim } from '../cloudsim/server.ts';
import type { World } from '../cloudsim/world.ts';

const execFileAsync = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');
const MAIN = join(import.meta.dirname, 'main.ts');
const PARENT_WATCH = join(import.meta.dirname, 'parent-watch.ts');
export const SANDBOX_WORLD_FILE = join(REPO, 'adapters', 'cloudsim', 'worlds', 'demo.yaml');
const BUNDLED_WORLDS_DIR = join(REPO, 'adapters', 'cloudsim', 'worlds');

/** `--help`'s list of the bundled world files: path and the first sentence of each one's header comment. */
export function bundledWorlds(): { file: string; about: string }[] {
  return readdirSync(BUNDLED_WORLDS_DIR)
    .filter((name) => /\.(ya?ml|json)$/.test(name))
    .sort()
    .map((name) => {
      const lines = readFileSync(join(BUNDLED_WORLDS_DIR, name), 'utf8').split('\n');
      const header = lines.slice(0, Math.max(0, lines.findIndex((line) => !line.startsWith('#')))).map((line) => line.replace(/^#\s*/, '')).join(' ');
      return { file: join('adapters', 'cloudsim', 'worlds', name), about: header.split(/(?<=\.)\s/)[0] ?? '' };
    });
}
const CRD_FILE = join(REPO, 'deploy', 'crds', 'network.alibabacloud.com_podnetworkings.yaml');

/**
 * What the sandbox sets up in the demo world (checked against the world at start, so a changed
 * world fails with a clear message): one virtual node per zone of the default vSwitches; the demo
 * PodNetworking uses two other vSwitches in two zones (the tiny one holds 4 IPs: scale demo-web
 * to see it run out) and the world's first security group.
 */
export const SANDBOX_DEMO = {
  clusterId: 'sandbox',
  namespace: 'default',
  providerNamespace: 'eci-virtual-node',
  defaultNetwork: { vSwitchIds: ['vsw-simh1', 'vsw-simi1', 'vsw-simj1'], securityGroupId: 'sg-simdefault' },
  podNetworking: { name: 'demo', vSwitchIds: ['vsw-simh2', 'vsw-simtiny'], securityGroupIds: ['sg-simdefault'], podLabels: { app: 'demo-web' } },
  deployments: [
    { name: 'demo-web', replicas: 3, image: 'nginx:1.27', network: 'PodNetworking demo' },
    { name: 'demo-default', replicas: 2, image: 'nginx:1.27', network: 'the default network' },
  ],
} as const;

const USAGE = `Usage: eci-virtual-node sandbox [flags]

Starts, on this machine: a Kubernetes control plane (etcd, kube-apiserver, kube-scheduler,
kube-controller-manager; built once from Go modules and cached), the cloud simulator with the demo
world, and the provider (leader-elected, admission webhook registered); applies the PodNetworking
CRD, a demo PodNetworking and two demo Deployments, waits until their pods run, and prints what to
try next: one \`source <file>\` line (KUBECONFIG, the simulator's region, endpoints and AccessKey,
kubectl and bin/eci-virtual-node on PATH), then kubectl, logs/exec/stats through the kubelet API
(on this machine's first non-loopback IPv4 address, which the apiserver proxies to), explain and
whitelist. Keeps running until Ctrl-C, which stops everything.

Flags:
  --exit-after-ready  stop everything once the demo pods run, after printing a summary (CI, tests)
  --keep              keep running until Ctrl-C (the default)
  --keep-dirs         keep the temp dir (data, certificates, logs, demo manifests) after stopping
  --world FILE        the simulator's world file (YAML or JSON, schema in docs/cloudsim.md); default:
                      the bundled demo world. It must hold the demo's vSwitches and security group
                      (${[...SANDBOX_DEMO.defaultNetwork.vSwitchIds, ...SANDBOX_DEMO.podNetworking.vSwitchIds, SANDBOX_DEMO.defaultNetwork.securityGroupId].join(', ')})
  -h, --help          show this help

Bundled worlds (relative to the repository):
${bundledWorlds().map((w) => `  ${w.file}\n      ${w.about}`).join('\n')}

Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/gRPC, e.g. http://127.0.0.1:4317) before starting.`;

/** What the steps share: their results, and what to undo (in reverse order) on the way out. */
interface SandboxContext {
  keepDirs: boolean;
  /** --world: the simulator's world file. */
  worldFile: string;
  /** Aborted on SIGINT/SIGTERM: a long step should stop early. */
  signal: AbortSignal;
  binDir?: string;
  controlPlane?: ControlPlane;
  /** `<control plane dir>/sandbox`: certificates, demo manifests; removed with the control plane. */
  dir?: string;
  world?: World;
  sim?: CloudSim;
  webhook?: { port: number; caPem: string; certFile: string; keyFile: string };
  provider?: { child: ChildProcess; logFile: string };
  /** The virtual nodes' InternalIP, where the kubelet API listens. */
  nodeIp?: string;
  demoFiles?: string[];
  /** Undo actions, run last-in first-out by `shutdown`. */
  teardown: (() => Promise<void>)[];
}

interface Step {
  title: string;
  run: (ctx: SandboxContext) => Promise<void>;
}

const STEPS: readonly Step[] = [
  {
    title: 'control-plane binaries (built once, then cached)',
    run: async (ctx) => {
      const { ensureControlPlaneBinaries } = await import('../../test/controlplane/binaries.ts');
      const started = Date.now();
      ctx.binDir = await ensureControlPlaneBinaries({
        signal: ctx.signal,
        onProgress: (line) => console.error(`  ${elapsed(started)} ${line}`),
      });
    },
  },
  {
    title: 'control plane',
    run: async (ctx) => {
      const { startControlPlane } = await import('../../test/controlplane/controlplane.ts');
      const controlPlane = await startControlPlane({
        binDir: required(ctx.binDir, 'binDir'),
        keepDirs: ctx.keepDirs,
        onProgress: (message) => console.error(`  ${message}`),
      });
      ctx.controlPlane = controlPlane;
      ctx.teardown.push(() => controlPlane.stop());
      ctx.dir = join(controlPlane.dir, 'sandbox');
      mkdirSync(ctx.dir, { recursive: true });
    },
  },
  {
    title: 'cloud simulator (in-process)',
    run: async (ctx) => {
      const { loadWorldFile } = await import('../cloudsim/world.ts');
      const { startCloudSim } = await import('../cloudsim/server.ts');
      const world = await loadWorldFile(ctx.worldFile);
      checkDemoAgainstWorld(world, ctx.worldFile);
      const logFile = join(required(ctx.controlPlane, 'controlPlane').logDir, 'cloudsim.log');
      const logStream = createWriteStream(logFile, { flags: 'a' });
      const sim = await startCloudSim({ world, port: 0, adminPort: 0, log: (message) => void logStream.write(`${message}\n`) });
      ctx.world = world;
      ctx.sim = sim;
      ctx.teardown.push(async () => {
        await sim.stop();
        await new Promise<void>((resolve) => logStream.end(() => resolve()));
      });
      console.error(`  ECI + VPC OpenAPI at ${sim.url} (region ${world.regionId}, zones ${world.zones.join(', ')})`);
    },
  },
  {
    title: 'PodNetworking CRD (kubectl apply --server-side)',
    run: async (ctx) => {
      // Server-side apply: the CRD's schema keeps its enums and defaults (see test/integration/helpers/crd.ts).
      await kubectl(ctx, ['apply', '--server-side', '--force-conflicts', '-f', CRD_FILE]);
      await kubectl(ctx, ['wait', '--for=condition=Established', 'crd/podnetworkings.network.alibabacloud.com', '--timeout=60s']);
    },
  },
  {
    title: 'webhook serving certificate (adapters/tls)',
    run: async (ctx) => {
      const { createCertificateAuthority, issueCertificate } = await import('../tls/certificates.ts');
      const { freeLoopbackPorts } = await import('../../test/controlplane/ports.ts');
      const ca = await createCertificateAuthority({ commonName: 'eci-virtual-node sandbox webhook CA' });
      const serving = await issueCertificate({ ca, commonName: 'eci-virtual-node-webhook', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'], usage: 'server' });
      const dir = required(ctx.dir, 'dir');
      const certFile = join(dir, 'webhook.crt');
      const keyFile = join(dir, 'webhook.key');
      writeFileSync(certFile, serving.certPem);
      writeFileSync(keyFile, serving.keyPem, { mode: 0o600 });
      const [port] = await freeLoopbackPorts(1);
      ctx.webhook = { port: required(port, 'webhook port'), caPem: ca.certPem, certFile, keyFile };
    },
  },
  {
    title: 'provider (eci-virtual-node run: leader election, webhook on 127.0.0.1, kubelet API on this machine\'s address)',
    run: async (ctx) => {
      const cp = required(ctx.controlPlane, 'controlPlane');
      const sim = required(ctx.sim, 'sim');
      const webhook = required(ctx.webhook, 'webhook');
      const { freeLoopbackPorts, proxyableAddress } = await import('../../test/controlplane/ports.ts');
      // The kubelet API (kubectl logs/exec, node-proxy stats) listens on a non-loopback address of
      // this machine, the nodes' InternalIP: the apiserver's proxies refuse 127.0.0.1. One port per
      // virtual node, at most one node per zone of the world.
      const nodeIp = proxyableAddress();
      const kubeletPorts = await freeLoopbackPorts(required(ctx.world, 'world').zones.length, nodeIp);
      const [metricsPort] = await freeLoopbackPorts(1);
      ctx.nodeIp = nodeIp;
      // The leader-election Lease lives in the provider's namespace, as in a cluster.
      await kubectl(ctx, ['create', 'namespace', SANDBOX_DEMO.providerNamespace]);
      const logFile = join(cp.logDir, 'provider.log');
      const logFd = openSync(logFile, 'a');
      // Configuration by environment, as in the Deployment; nothing on the command line (which
      // `ps` shows), so the harness's process checks see only the control plane mentioning its dir.
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        KUBECONFIG: cp.kubeconfigPath,
        ECI_VN_CLUSTER_ID: SANDBOX_DEMO.clusterId,
        ALIBABA_CLOUD_REGION_ID: sim.regionId,
        ECI_VN_ECI_ENDPOINT: sim.endpoint,
        ECI_VN_VPC_ENDPOINT: sim.endpoint,
        ECI_VN_ECS_ENDPOINT: sim.endpoint,
        ECI_VN_CLOUD_PROTOCOL: 'http',
        ALIBABA_CLOUD_ACCESS_KEY_ID: sim.accessKey.id,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: sim.accessKey.secret,
        ECI_VN_VSWITCHES: SANDBOX_DEMO.defaultNetwork.vSwitchIds.join(','),
        ECI_VN_SECURITY_GROUP: SANDBOX_DEMO.defaultNetwork.securityGroupId,
        ECI_VN_NODE_IP: nodeIp,
        ECI_VN_KUBELET_API: 'true',
        ECI_VN_KUBELET_API_HOST: nodeIp,
        ECI_VN_KUBELET_PORTS: kubeletPorts.join(','),
        // Serving certificate self-signed (the apiserver does not verify kubelets here: no
        // --kubelet-certificate-authority); clients authenticated by the control plane's CA, which
        // signed the apiserver's kubelet client certificate.
        ECI_VN_KUBELET_API_CLIENT_CA_FILE: cp.pki.caFile,
        ECI_VN_METRICS_PORT: String(metricsPort),
        ECI_VN_WEBHOOK_PORT: String(webhook.port),
        ECI_VN_WEBHOOK_CERT_FILE: webhook.certFile,
        ECI_VN_WEBHOOK_KEY_FILE: webhook.keyFile,
        // Only virtual nodes exist here: every admitted pod tolerates their taint.
        ECI_VN_SERVERLESS: 'true',
        ECI_VN_LEADER_ELECTION: 'true',
        ECI_VN_LEADER_ELECTION_NAMESPACE: SANDBOX_DEMO.providerNamespace,
        ECI_VN_LEADER_ELECTION_IDENTITY: 'sandbox',
        ECI_VN_STATUS_POLL_INTERVAL_MS: '1000',
        OTEL_SERVICE_NAME: process.env.OTEL_SERVICE_NAME ?? 'eci-virtual-node-sandbox',
      };
      // Its own process group: Ctrl-C in the terminal reaches only the sandbox, which stops the
      // provider in order (SIGTERM); parent-watch.ts stops it should the sandbox die first.
      const child = spawn(process.execPath, ['--import', PARENT_WATCH, MAIN, 'run'], { env, stdio: ['ignore', logFd, logFd, 'ipc'], detached: true });
      closeSync(logFd);
      ctx.provider = { child, logFile };
      ctx.teardown.push(() => stopChild(child));
      child.once('exit', (code, signal) => {
        if (!ctx.signal.aborted && !stoppingProvider.has(child)) console.error(`\nsandbox: the provider exited (${signal ?? `code ${String(code)}`}); its log: ${logFile}`);
      });
      console.error(`  pid ${String(child.pid)}, log ${logFile}`);

      const exitedEarly = () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new FatalError(`the provider exited (${child.signalCode ?? `code ${String(child.exitCode)}`}); its log: ${logFile}`);
        }
      };
      await waitUntil(ctx, 'the webhook to answer', async () => {
        exitedEarly();
        return (await httpsStatus(`https://127.0.0.1:${webhook.port}/healthz`, webhook.caPem)) === 200;
      });
      await waitUntil(ctx, 'this replica to lead (Lease held)', async () => {
        exitedEarly();
        const lease = await kubectlJson<k8s.V1Lease>(ctx, ['get', 'lease', `eci-virtual-node-${SANDBOX_DEMO.clusterId}`, '-n', SANDBOX_DEMO.providerNamespace, '--ignore-not-found']);
        return (lease?.spec?.holderIdentity ?? '').startsWith('sandbox_') ? `Lease held by ${lease!.spec!.holderIdentity!}` : false;
      });
      const zones = new Set(SANDBOX_DEMO.defaultNetwork.vSwitchIds.map((id) => required(ctx.world, 'world').vSwitches.find((v) => v.id === id)?.zoneId));
      await waitUntil(ctx, `${zones.size} virtual nodes to be Ready`, async () => {
        exitedEarly();
        const nodes = (await kubectlJson<k8s.V1NodeList>(ctx, ['get', 'nodes', '-l', `eci-virtual-node/cluster=${SANDBOX_DEMO.clusterId}`])) ?? { items: [] };
        const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return { done: ready.length === zones.size, progress: `${ready.length}/${zones.size} Ready` };
      });
    },
  },
  {
    title: 'MutatingWebhookConfiguration -> https://127.0.0.1 (caBundle = the sandbox CA)',
    run: async (ctx) => {
      const { buildMutatingWebhookConfiguration } = await import('../webhook/registration.ts');
      const { MUTATE_PODS_PATH } = await import('../../provider/networking/constants.ts');
      const webhook = required(ctx.webhook, 'webhook');
      const configuration = buildMutatingWebhookConfiguration({
        url: `https://127.0.0.1:${webhook.port}${MUTATE_PODS_PATH}`,
        caBundle: Buffer.from(webhook.caPem).toString('base64'),
        excludedNamespaces: ['kube-system', SANDBOX_DEMO.providerNamespace],
      });
      const file = join(required(ctx.dir, 'dir'), 'mutatingwebhookconfiguration.yaml');
      writeFileSync(file, stringify(configuration));
      await kubectl(ctx, ['create', '-f', file]);
    },
  },
  {
    title: 'demo PodNetworking (two zones\' vSwitches, first security group)',
    run: async (ctx) => {
      const file = writeDemoFile(ctx, 'demo-podnetworking.yaml', [demoPodNetworking()]);
      await kubectl(ctx, ['apply', '-f', file]);
      await waitUntil(ctx, `PodNetworking ${SANDBOX_DEMO.podNetworking.name} to be Ready`, async () => {
        const pn = await kubectlJson<{ status?: { status?: string; message?: string; vSwitches?: { id: string; zone: string }[] } }>(ctx, ['get', 'podnetworking', SANDBOX_DEMO.podNetworking.name]);
        const status = pn?.status?.status ?? 'no status yet';
        if (status === 'Fail') throw new FatalError(`PodNetworking ${SANDBOX_DEMO.podNetworking.name} failed: ${pn?.status?.message ?? ''}`);
        return status === 'Ready' ? `Ready: ${(pn?.status?.vSwitches ?? []).map((v) => `${v.id} (${v.zone})`).join(', ')}` : { done: false, progress: status };
      });
    },
  },
  {
    title: 'demo Deployments (one on the PodNetworking, one on the default network)',
    run: async (ctx) => {
      const file = writeDemoFile(ctx, 'demo-deployments.yaml', SANDBOX_DEMO.deployments.map((d) => demoDeployment(d)));
      await kubectl(ctx, ['apply', '-f', file]);
      const total = SANDBOX_DEMO.deployments.reduce((sum, d) => sum + d.replicas, 0);
      await waitUntil(
        ctx,
        'the demo pods to run',
        async () => {
          const pods = await demoPods(ctx);
          const running = pods.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
          const pending = pods.find((p) => p.status?.phase !== 'Running');
          const reason = pending?.status?.conditions?.find((c) => c.status === 'False' && c.message)?.message;
          return { done: running.length === total && pods.length === total, progress: `${running.length}/${total} Running${reason ? ` (${pending?.metadata?.name ?? ''}: ${reason})` : ''}` };
        },
        { timeoutMs: 180_000 },
      );
    },
  },
];

export async function main(argv: string[]): Promise<number> {
  let flags: { 'exit-after-ready': boolean; keep: boolean; 'keep-dirs': boolean; world: string; help: boolean };
  try {
    flags = parseArgs({
      args: argv,
      options: {
        'exit-after-ready': { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        'keep-dirs': { type: 'boolean', default: false },
        world: { type: 'string', default: SANDBOX_WORLD_FILE },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`sandbox: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  // The compiled build (.ci/build: dist/, the image) holds neither the control-plane harness
  // (test/controlplane/) nor deploy/: the sandbox is for a checkout.
  if (!import.meta.url.endsWith('.ts')) {
    console.error('sandbox: runs from a checkout\'s sources only (npm run sandbox, or bin/eci-virtual-node sandbox): this compiled build has no control-plane harness');
    return 2;
  }
  if (flags.keep && flags['exit-after-ready']) {
    console.error(`sandbox: --keep and --exit-after-ready contradict each other\n\n${USAGE}`);
    return 2;
  }
  // A world that cannot work is refused before anything starts (the control plane takes a while).
  try {
    if (!existsSync(flags.world)) throw new Error(`${flags.world}: no such file`);
    const { loadWorldFile } = await import('../cloudsim/world.ts');
    checkDemoAgainstWorld(await loadWorldFile(flags.world), flags.world);
  } catch (err) {
    console.error(`sandbox: --world: ${(err as Error).message}`);
    return 2;
  }

  const abort = new AbortController();
  const ctx: SandboxContext = { keepDirs: flags['keep-dirs'], worldFile: flags.world, signal: abort.signal, teardown: [] };
  // The harness also stops its processes on a signal (and on exit, whatever happens); we exit
  // through the normal path below, after our own orderly shutdown.
  const { leaveSignalExitToCaller } = await import('../../test/controlplane/processes.ts');
  leaveSignalExitToCaller();
  // Listen before starting anything, so Ctrl-C during a step still ends in a clean shutdown.
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      abort.abort(new Error(`${signal} received`));
      resolve(signal);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });

  const startedAll = Date.now();
  try {
    for (const [index, step] of STEPS.entries()) {
      console.error(`[${index + 1}/${STEPS.length}] ${step.title}`);
      const started = Date.now();
      const running = step.run(ctx);
      const outcome = await Promise.race([running.then(() => 'done' as const), stopRequested]);
      if (outcome !== 'done') {
        console.error(`${outcome}: stopping before the sandbox was ready`);
        await running.catch(() => {}); // the step sees the abort (or the harness's own cleanup) and ends
        return 130;
      }
      console.error(`      done in ${elapsed(started)}`);
    }
    await printHowToUse(ctx, flags['keep-dirs'], elapsed(startedAll));
    if (flags['exit-after-ready']) {
      console.error('\n--exit-after-ready: stopping the sandbox ...');
      return 0;
    }
    console.log('\nPress Ctrl-C to stop.');
    const signal = await stopRequested;
    console.error(`\n${signal}: stopping the sandbox ...`);
    return 0;
  } catch (err) {
    console.error(`sandbox: ${(err as Error).message}`);
    if (ctx.provider !== undefined) console.error(`provider log: ${ctx.provider.logFile}${ctx.keepDirs ? '' : ' (removed on stop; --keep-dirs keeps it)'}`);
    return 1;
  } finally {
    await shutdown(ctx);
    if (ctx.controlPlane !== undefined) {
      console.error(flags['keep-dirs'] ? `stopped; files kept in ${ctx.controlPlane.dir}` : 'stopped; temp files removed');
    }
  }
}

async function shutdown(ctx: SandboxContext): Promise<void> {
  for (const undo of ctx.teardown.reverse()) {
    try {
      await undo();
    } catch (err) {
      console.error(`sandbox: teardown step failed: ${(err as Error).message}`);
    }
  }
}

async function printHowToUse(ctx: SandboxContext, keepDirs: boolean, took: string): Promise<void> {
  const cp = required(ctx.controlPlane, 'controlPlane');
  const sim = required(ctx.sim, 'sim');
  const world = required(ctx.world, 'world');
  const pods = await demoPods(ctx);
  const cidrOf = (id: string | undefined) => world.vSwitches.find((v) => v.id === id)?.cidr ?? '?';
  const rows = [
    ['POD', 'NETWORK', 'ZONE', 'VSWITCH (CIDR)', 'IP'],
    ...pods.map((p) => {
      const annotations = p.metadata?.annotations ?? {};
      const vSwitch = annotations['eci-virtual-node.io/vswitch-id'];
      return [
        p.metadata?.name ?? '',
        annotations['k8s.aliyun.com/pod-networking'] ?? 'default',
        annotations['eci-virtual-node.io/zone-id'] ?? '',
        `${vSwitch ?? '?'} (${cidrOf(vSwitch)})`,
        p.status?.podIP ?? '',
      ];
    }),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd());
  // An empty variable is unset (as for the OpenTelemetry SDK).
  const otlp = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
  const pn = SANDBOX_DEMO.podNetworking;
  const envFile = writeEnvFile(ctx);
  const webPod = pods.find((p) => p.metadata?.labels?.app === 'demo-web') ?? pods[0];
  const podRef = `${SANDBOX_DEMO.namespace}/${webPod?.metadata?.name ?? '<pod>'}`;
  const node = webPod?.spec?.nodeName ?? '<node>';
  // Each line runs verbatim after the `source` line (test/integration/sandbox.test.ts runs them all).
  const tryNext: [command: string, comment: string][] = [
    ['kubectl get nodes -L topology.kubernetes.io/zone', 'one virtual node per zone'],
    ['kubectl get pods -o wide', 'IPs from the vSwitches above'],
    ['kubectl get podnetworkings', `${pn.name}: Ready, its vSwitches and zones`],
    ['kubectl describe pod -l app=demo-web', 'PodNetworking, zone affinity, vSwitch, ENI, events'],
    ['kubectl logs -f deployment/demo-web', 'container logs through the kubelet API (Ctrl-C stops)'],
    ['kubectl exec deployment/demo-web -- echo hello', 'a command in the container (simulated)'],
    [`kubectl get --raw /api/v1/nodes/${node}/proxy/stats/summary`, 'node and pod stats through the node proxy'],
    [`eci-virtual-node explain ${podRef}`, 'why this IP, this zone, this vSwitch'],
    [`eci-virtual-node whitelist ${pn.name}`, 'the CIDRs to allow in an RDS/Redis whitelist'],
    ['kubectl scale deployment demo-web --replicas=8', 'vsw-simtiny has 4 IPs: see why pods stay Pending'],
    ['kubectl create deployment hello --image=nginx:1.27', 'any pod lands on a virtual node (serverless mode)'],
  ];
  const width = Math.max(...tryNext.map(([command]) => command.length)) + 2;
  console.log(
    [
      '',
      `Sandbox ready in ${took}: Kubernetes API at ${cp.server}, cloud simulator at ${sim.url}`,
      `PodNetworking ${pn.name}: ${pn.vSwitchIds.map((id) => `${id} ${cidrOf(id)}`).join(', ')}; security group ${pn.securityGroupIds.join(', ')}`,
      '',
      'Demo pods:',
      ...table,
      '',
      'Try next, from another shell (the first line puts kubectl and eci-virtual-node on PATH, configured):',
      '',
      `  source ${envFile}`,
      ...tryNext.map(([command, comment]) => `  ${command.padEnd(width)}# ${comment}`),
      '',
      otlp !== undefined
        ? `Traces: OTLP/gRPC to ${otlp} (one trace per pod: admission, sync, cloud calls).`
        : 'Traces: off. Start a collector (e.g. `docker run -p 4317:4317 -p 16686:16686 jaegertracing/jaeger:2`) and run the sandbox with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 to get one trace per pod.',
      `Logs:           ${cp.logDir} (provider.log, cloudsim.log, control plane)`,
      `Demo manifests: ${(ctx.demoFiles ?? []).join(', ')}`,
      `Certificates:   ${dirname(cp.pki.caFile)} (control plane), ${required(ctx.dir, 'dir')} (webhook)`,
      keepDirs ? `Files are kept after stopping in ${cp.dir}` : `Everything under ${cp.dir} is removed on stop (--keep-dirs keeps it).`,
    ].join('\n'),
  );
}

/**
 * The sandbox's settings as shell exports (kubeconfig, the simulator's region, endpoints and
 * AccessKey, the cluster id; kubectl and bin/eci-virtual-node on PATH): after `source`-ing it,
 * `kubectl` and `eci-virtual-node explain`/`whitelist` need no flags. Owner-only: it holds the
 * simulator's AccessKey.
 */
function writeEnvFile(ctx: SandboxContext): string {
  const cp = required(ctx.controlPlane, 'controlPlane');
  const sim = required(ctx.sim, 'sim');
  const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  const vars: [string, string][] = [
    ['KUBECONFIG', cp.kubeconfigPath],
    ['ECI_VN_CLUSTER_ID', SANDBOX_DEMO.clusterId],
    ['ALIBABA_CLOUD_REGION_ID', sim.regionId],
    ['ECI_VN_ECI_ENDPOINT', sim.endpoint],
    ['ECI_VN_VPC_ENDPOINT', sim.endpoint],
    ['ECI_VN_ECS_ENDPOINT', sim.endpoint],
    ['ECI_VN_CLOUD_PROTOCOL', 'http'],
    ['ALIBABA_CLOUD_ACCESS_KEY_ID', sim.accessKey.id],
    ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', sim.accessKey.secret],
  ];
  const file = join(required(ctx.dir, 'dir'), 'env');
  writeFileSync(
    file,
    [
      '# eci-virtual-node sandbox: `source` this file (bash/zsh) to use the sandbox from a shell.',
      ...vars.map(([name, value]) => `export ${name}=${quote(value)}`),
      `export PATH=${quote(join(REPO, 'bin'))}:${quote(cp.binDir)}:"$PATH"`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

// --- demo objects --------------------------------------------------------------------------------

function demoPodNetworking(): Record<string, unknown> {
  const pn = SANDBOX_DEMO.podNetworking;
  return {
    apiVersion: 'network.alibabacloud.com/v1beta1',
    kind: 'PodNetworking',
    metadata: { name: pn.name },
    spec: {
      allocationType: { type: 'Elastic' },
      selector: { podSelector: { matchLabels: { ...pn.podLabels } } },
      vSwitchOptions: [...pn.vSwitchIds],
      securityGroupIDs: [...pn.securityGroupIds],
    },
  };
}

function demoDeployment(d: (typeof SANDBOX_DEMO.deployments)[number]): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    // No toleration or node selector: the webhook (serverless mode) adds the toleration, and
    // for demo-web the PodNetworking's zone affinity.
    metadata: { name: d.name, namespace: SANDBOX_DEMO.namespace, labels: { 'eci-virtual-node.io/demo': 'true' } },
    spec: {
      replicas: d.replicas,
      selector: { matchLabels: { app: d.name } },
      template: {
        metadata: { labels: { app: d.name, 'eci-virtual-node.io/demo': 'true' } },
        spec: { containers: [{ name: 'web', image: d.image, resources: { requests: { cpu: '250m', memory: '512Mi' } } }] },
      },
    },
  };
}

function writeDemoFile(ctx: SandboxContext, name: string, docs: Record<string, unknown>[]): string {
  const file = join(required(ctx.dir, 'dir'), name);
  writeFileSync(file, docs.map((doc) => stringify(doc)).join('---\n'));
  (ctx.demoFiles ??= []).push(file);
  return file;
}

async function demoPods(ctx: SandboxContext): Promise<k8s.V1Pod[]> {
  const pods = (await kubectlJson<k8s.V1PodList>(ctx, ['get', 'pods', '-n', SANDBOX_DEMO.namespace, '-l', 'eci-virtual-node.io/demo=true'])) ?? { items: [] };
  return pods.items.filter((p) => p.metadata?.deletionTimestamp === undefined).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** The demo's ids must exist in the world, in the zones and VPC the demo assumes. */
function checkDemoAgainstWorld(world: World, file: string): void {
  const problems: string[] = [];
  const vSwitch = (id: string) => world.vSwitches.find((v) => v.id === id);
  for (const id of [...SANDBOX_DEMO.defaultNetwork.vSwitchIds, ...SANDBOX_DEMO.podNetworking.vSwitchIds]) {
    if (vSwitch(id) === undefined) problems.push(`vSwitch ${id} is not in the world`);
  }
  for (const id of [SANDBOX_DEMO.defaultNetwork.securityGroupId, ...SANDBOX_DEMO.podNetworking.securityGroupIds]) {
    if (!world.securityGroups.some((g) => g.id === id)) problems.push(`security group ${id} is not in the world`);
  }
  const zones = new Set(SANDBOX_DEMO.podNetworking.vSwitchIds.map((id) => vSwitch(id)?.zoneId));
  if (zones.size < 2) problems.push(`the demo PodNetworking's vSwitches should span two zones, they span ${zones.size}`);
  if (problems.length > 0) throw new Error(`the sandbox's demo does not fit ${file}: ${problems.join('; ')} (use a world that has them, or adjust SANDBOX_DEMO in adapters/cli/sandbox.ts)`);
}

// --- helpers -------------------------------------------------------------------------------------

async function kubectl(ctx: SandboxContext, args: readonly string[]): Promise<string> {
  const cp = required(ctx.controlPlane, 'controlPlane');
  try {
    const { stdout } = await execFileAsync(join(cp.binDir, 'kubectl'), args, { env: { ...process.env, KUBECONFIG: cp.kubeconfigPath }, timeout: 90_000, signal: ctx.signal });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** `kubectl get ... -o json`, parsed; undefined when --ignore-not-found found nothing. (kubectl,
 * not the client library: the sandbox acts as the cluster's admin user, not as the provider.) */
async function kubectlJson<T>(ctx: SandboxContext, args: readonly string[]): Promise<T | undefined> {
  const out = await kubectl(ctx, [...args, '-o', 'json']);
  return out.trim() === '' ? undefined : (JSON.parse(out) as T);
}

/** Thrown by a probe: waiting longer cannot help. */
class FatalError extends Error {}

type Probe = () => Promise<boolean | string | { done: boolean; progress: string }>;

/**
 * Polls `probe` until it reports done; prints progress when it changes (and every 15 s), so a
 * long wait is never silent. Probe errors are retried; the last one is in the timeout message.
 */
async function waitUntil(ctx: SandboxContext, what: string, probe: Probe, { timeoutMs = 120_000, intervalMs = 1_000 } = {}): Promise<void> {
  const started = Date.now();
  let lastShown = '';
  let lastShownAt = 0;
  let lastError = '';
  for (;;) {
    ctx.signal.throwIfAborted();
    let progress = '';
    try {
      const result = await probe();
      if (result === true || (typeof result === 'string' && result !== '')) {
        if (typeof result === 'string') console.error(`  ${result}`);
        return;
      }
      if (typeof result === 'object') {
        if (result.done) {
          console.error(`  ${result.progress}`);
          return;
        }
        progress = result.progress;
      }
    } catch (err) {
      if (err instanceof FatalError) throw err;
      lastError = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    }
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${elapsed(started)} waiting for ${what}${progress ? ` (${progress})` : ''}${lastError ? `; last error: ${lastError}` : ''}`);
    const line = `waiting for ${what}${progress ? `: ${progress}` : ''}`;
    if (line !== lastShown || Date.now() - lastShownAt > 15_000) {
      console.error(`  ${elapsed(started)} ${line}`);
      lastShown = line;
      lastShownAt = Date.now();
    }
    await sleep(intervalMs, undefined, { signal: ctx.signal }).catch(() => {});
  }
}

function httpsStatus(url: string, caPem: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: caPem, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const stoppingProvider = new WeakSet<ChildProcess>();

/** SIGTERM (the provider stops its work and releases the Lease), SIGKILL after 20 s as a backstop. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  stoppingProvider.add(child);
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `exit code ${String(code)}`)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error('sandbox: the provider did not stop within 20 s of SIGTERM; killing it');
    child.kill('SIGKILL');
  }, 20_000);
  const how = await exited;
  clearTimeout(timer);
  console.error(`provider stopped (${how})`);
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`sandbox: internal error: ${what} is not set by an earlier step`);
  return value;
}

function elapsed(since: number): string {
  const seconds = Math.round((Date.now() - since) / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
