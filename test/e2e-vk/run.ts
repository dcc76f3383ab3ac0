// `npm run e2e:vk`: virtual-kubelet's own end-to-end suite (github.com/virtual-kubelet/
// virtual-kubelet/test/e2e, the version pinned in go.mod) against one virtual node of this provider.
//
//   node test/e2e-vk/run.ts [--zone cn-hangzhou-h] [--watch-timeout 60s] [--expect-pass 7] [--keep]
//                           [--anonymous-stats]
//
// Starts a real control plane (test/controlplane), the cloud simulator and the provider in this
// process, with the kubelet API on a non-loopback address of this machine (the apiserver's node
// proxy refuses loopback), builds the suite once (test/e2e-vk/build.sh, cached), runs it against
// the zone's virtual node, prints its output, then each test's verdict and the count. Exits 0
// when at least --expect-pass tests passed. Logs of the provider stay in the printed directory.
//
// --anonymous-stats turns on the provider's opt-in anonymous stats mode and sets up what the
// suite's two stats tests assume of virtual-kubelet's own harness (where the virtual kubelet runs
// as a pod named after its node): the node under test on port 10250, a stand-in Pod named after
// the node whose status.podIP is the kubelet API's address (the apiserver's pod proxy dials it),
// and RBAC letting system:anonymous get nodes/stats and nodes/metrics. Off by default.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { startProvider, type RunningProvider } from '../../adapters/cli/provider.ts';
import { startCloudSim, type CloudSim } from '../../adapters/cloudsim/server.ts';
import { parseWorld } from '../../adapters/cloudsim/world.ts';
import { createLogger } from '../../adapters/log/logger.ts';
import { DEFAULT_CONFIG, type ProviderConfig } from '../../provider/config/config.ts';
import { nodeNameForZone } from '../../provider/node/node.ts';
import { ensureControlPlaneBinaries } from '../controlplane/binaries.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/controlplane.ts';
import { freeLoopbackPorts, proxyableAddress } from '../controlplane/ports.ts';
import { waitUntil } from '../helpers/deadline.ts';

const HERE = import.meta.dirname;
const REPO = join(HERE, '..', '..');
const NAMESPACE = 'vk-e2e';

/** The suite's tests that wait for an event with a virtual-kubelet reason (podutils.Reason*). */
const WANTED_REASONS: Record<string, string> = {
  TestCreatePodWithOptionalInexistentSecrets: 'OptionalSecretNotFound',
  TestCreatePodWithMandatoryInexistentSecrets: 'MandatorySecretNotFound',
  TestCreatePodWithOptionalInexistentConfigMap: 'OptionalConfigMapNotFound',
  TestCreatePodWithMandatoryInexistentConfigMap: 'MandatoryConfigMapNotFound',
};
/** The tests that read stats through the apiserver's pod proxy (docs/kubelet-api.md, "virtual-kubelet's e2e suite"). */
const POD_PROXY_TESTS = new Set(['TestGetStatsSummary', 'TestGetMetricsResource']);

const { values: flags } = parseArgs({
  options: {
    zone: { type: 'string', default: 'cn-hangzhou-h' },
    'watch-timeout': { type: 'string', default: '60s' },
    'expect-pass': { type: 'string', default: '7' },
    keep: { type: 'boolean', default: false },
    'anonymous-stats': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (flags.help) {
  console.log('Usage: node test/e2e-vk/run.ts [--zone cn-hangzhou-h] [--watch-timeout 60s] [--expect-pass 7] [--keep] [--anonymous-stats]');
  process.exit(0);
}
const expectPass = Number(flags['expect-pass']);
const say = (line: string) => void process.stderr.write(`[e2e-vk] ${line}\n`);

function buildSuite(): string {
  say('building (or reusing) the suite binary: test/e2e-vk/build.sh');
  const built = spawnSync('bash', [join(HERE, 'build.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 30 * 60_000 });
  const bin = built.stdout.trim().split('\n').at(-1) ?? '';
  if (built.status !== 0 || bin === '') throw new Error(`test/e2e-vk/build.sh failed (exit ${built.status ?? built.signal}); see its output above`);
  return bin;
}

interface Verdict {
  test: string;
  result: 'PASS' | 'FAIL' | 'SKIP';
}

function runSuite(bin: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (d: Buffer) => {
      output += d.toString();
      process.stdout.write(d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => {
      say(`the suite ran past ${timeoutMs / 1000} s; killing it`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function main(): Promise<number> {
  const suite = buildSuite();
  const address = proxyableAddress();
  const work = await mkdtemp(join(tmpdir(), 'eci-vn-e2e-vk-'));
  let cp: ControlPlane | undefined;
  let sim: CloudSim | undefined;
  let provider: RunningProvider | undefined;
  try {
    const binDir = await ensureControlPlaneBinaries({ onProgress: say });
    say('starting the control plane');
    cp = await startControlPlane({ binDir, tempRoot: work, keepDirs: flags.keep, onProgress: (m) => say(`[controlplane] ${m}`) });

    const doc = parse(await readFile(join(REPO, 'adapters', 'cloudsim', 'worlds', 'demo.yaml'), 'utf8')) as Record<string, unknown>;
    const world = parseWorld({
      ...doc,
      lifecycle: { schedulingMs: 100, pendingMs: 300, exitAfterMs: 500, crashBackoffMs: 300, crashBackoffMaxMs: 2000, pullRetryMs: 500, terminatingMs: 0 },
      rateLimits: { mode: 'unlimited' },
    });
    sim = await startCloudSim({ world, log: () => {} });

    const config: ProviderConfig = structuredClone(DEFAULT_CONFIG);
    config.clusterId = 'vk-e2e';
    config.regionId = sim.regionId;
    config.cloud = { ...config.cloud, eciEndpoint: sim.endpoint, vpcEndpoint: sim.endpoint, ecsEndpoint: sim.endpoint, protocol: 'http', accessKeyId: sim.accessKey.id, accessKeySecret: sim.accessKey.secret };
    config.defaultNetwork = { vSwitchIds: ['vsw-simh1', 'vsw-simi1', 'vsw-simj1'], securityGroupId: 'sg-simdefault', vSwitchSelectionPolicy: 'ordered' };
    config.node = { ...config.node, namePrefix: 'vk-e2e', internalIP: address };
    config.kubernetes.kubeconfig = cp.kubeconfigPath;
    config.sync = { ...config.sync, statusPollIntervalMs: 500, orphanGracePeriodMs: 5_000 };
    const anonymousStats = flags['anonymous-stats'];
    // The suite's stats tests dial port 10250 of the pod named after the node (hard-coded). Nodes
    // take the pool's ports in the order of their zone names: 10250 goes where the zone under test is.
    const ports = await freeLoopbackPorts(3, address);
    const zones = ['cn-hangzhou-h', 'cn-hangzhou-i', 'cn-hangzhou-j'];
    if (!zones.includes(flags.zone)) throw new Error(`--zone must be one of ${zones.join(', ')} (the simulator's demo world), got ${flags.zone}`);
    if (anonymousStats) ports[zones.indexOf(flags.zone)] = 10250;
    config.node.kubeletPort = ports[0]!;
    config.kubeletApi = { ...config.kubeletApi, enabled: true, host: address, clientCAFile: cp.pki.caFile, ports, anonymousStats };
    const logFile = join(work, 'provider.log');
    const logStream = createWriteStream(logFile);
    say(`starting the provider (kubelet API on ${address}, ports ${ports.join(', ')}); its log: ${logFile}`);
    provider = await startProvider({ config, log: createLogger({ level: 'info', write: (line) => void logStream.write(`${line}\n`) }) });

    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await waitUntil(() => core.readNamespacedServiceAccount({ name: 'default', namespace: NAMESPACE }).then(() => true), { timeoutMs: 60_000, intervalMs: 500, what: `ServiceAccount default in ${NAMESPACE}` });
    const nodeName = nodeNameForZone(config.node.namePrefix, flags.zone);
    const node = await waitUntil(
      async () => {
        const n = await core.readNode({ name: nodeName });
        return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `node ${nodeName} Ready` },
    );
    say(`node ${nodeName}: kubelet endpoint ${address}:${node.status?.daemonEndpoints?.kubeletEndpoint?.Port}`);
    if (anonymousStats) await standInForStats(kc, core, nodeName, address);

    const args = ['-test.v', '-test.count=1', '-test.timeout=40m', `-kubeconfig=${cp.kubeconfigPath}`, `-namespace=${NAMESPACE}`, `-node-name=${nodeName}`, `-watch-timeout=${flags['watch-timeout']}`];
    say(`running: ${suite} ${args.join(' ')}`);
    const { output } = await runSuite(suite, args, 45 * 60_000);

    const verdicts: Verdict[] = [...output.matchAll(/^\s*--- (PASS|FAIL|SKIP): TestEndToEnd\/(\w+)/gm)].map((m) => ({ result: m[1] as Verdict['result'], test: m[2]! }));
    const passed = verdicts.filter((v) => v.result === 'PASS').length;
    console.log(`\nvirtual-kubelet e2e suite against ${nodeName}:`);
    for (const v of verdicts) {
      const why =
        v.result !== 'FAIL'
          ? ''
          : WANTED_REASONS[v.test] !== undefined
            ? ` (waits for an event with reason ${WANTED_REASONS[v.test]})`
            : POD_PROXY_TESTS.has(v.test)
              ? ' (reads stats through the apiserver pod proxy pods/https:<node>:10250/proxy: see docs/kubelet-api.md)'
              : '';
      console.log(`  ${v.result}  ${v.test}${why}`);
    }
    console.log(`${passed} of ${verdicts.length} passed (expected at least ${expectPass})`);
    if (verdicts.length === 0) {
      console.log('no test verdicts in the output: the suite did not get past its setup (see above)');
      return 1;
    }
    return passed >= expectPass ? 0 : 1;
  } finally {
    await provider?.stop().catch((err: unknown) => say(`provider stop: ${String(err)}`));
    await sim?.stop().catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    if (flags.keep) say(`kept: ${work}`);
  }
}

/** What virtual-kubelet's harness has for the stats tests: a pod named after the node at the kubelet's address, and RBAC. */
async function standInForStats(kc: KubeConfig, core: CoreV1Api, nodeName: string, address: string): Promise<void> {
  say(`--anonymous-stats: stand-in pod ${NAMESPACE}/${nodeName} at ${address}; system:anonymous may get nodes/stats and nodes/metrics`);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const name = 'vk-e2e-anonymous-stats';
  await rbac.createClusterRole({ body: { metadata: { name }, rules: [{ apiGroups: [''], resources: ['nodes/stats', 'nodes/metrics'], verbs: ['get'] }] } });
  await rbac.createClusterRoleBinding({
    body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'User', name: 'system:anonymous', apiGroup: 'rbac.authorization.k8s.io' }] },
  });
  // Unschedulable on purpose (no toleration for the virtual nodes' taint): only its IP matters.
  await core.createNamespacedPod({ namespace: NAMESPACE, body: { metadata: { name: nodeName }, spec: { containers: [{ name: 'stand-in', image: 'stand-in' }] } } });
  await core.patchNamespacedPodStatus(
    { name: nodeName, namespace: NAMESPACE, body: { status: { podIP: address, podIPs: [{ ip: address }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  },
);
