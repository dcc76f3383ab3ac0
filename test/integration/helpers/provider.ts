// A cloud simulator and a provider for one test file: the simulator in-process (its world read
// from the demo world with overrides), the provider either in-process (startProvider) or as a
// real child process (`eci-virtual-node run`) for crash tests. Each file gets its own cluster id
// and node-name prefix, and removes its nodes afterwards, so files never see each other's nodes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import type { V1Pod } from '@kubernetes/client-node';
import { createCloud, type AlibabaCloud } from '../../../adapters/alibabacloud/cloud.ts';
import { startProvider, type RunningProvider } from '../../../adapters/cli/provider.ts';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { parseWorld } from '../../../adapters/cloudsim/world.ts';
import { createLogger, type Logger } from '../../../adapters/log/logger.ts';
import { DEFAULT_CONFIG, type ProviderConfig } from '../../../provider/config/config.ts';
import { VIRTUAL_NODE_TOLERATION } from '../../../provider/networking/constants.ts';
import { NODE_LABELS } from '../../../provider/node/constants.ts';
import { apis, controlPlane, ignoreNotFound } from './cluster.ts';
import { budget, fetchText, waitFor } from './wait.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
export const DEMO_WORLD = join(REPO, 'adapters', 'cloudsim', 'worlds', 'demo.yaml');
const CLI_MAIN = join(REPO, 'adapters', 'cli', 'main.ts');
const execFileAsync = promisify(execFile);

/**
 * `eci-virtual-node <args>` (explain, whitelist, ...) as a child process, configured like the
 * test's provider: its cluster and the simulator by flags, the AccessKey in the environment.
 * Rejects (with `code`, `stdout`, `stderr`) on a non-zero exit, and is killed past its budget.
 */
export function runCommand(sim: CloudSim, config: ProviderConfig, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(
    process.execPath,
    [CLI_MAIN, ...args, '--kubeconfig', controlPlane().kubeconfigPath, '--region', config.regionId, '--eci-endpoint', sim.endpoint, '--vpc-endpoint', sim.endpoint, '--ecs-endpoint', sim.endpoint, '--cloud-protocol', 'http'],
    {
      env: { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_ID: config.cloud.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: config.cloud.accessKeySecret, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
      timeout: budget({ baseMs: 60_000 }),
      killSignal: 'SIGKILL',
    },
  );
}

/** The tests' fast lifecycle (no realism profile: the demo world's is replaced with the rest). */
export const TEST_LIFECYCLE = { schedulingMs: 100, pendingMs: 300, exitAfterMs: 500, crashBackoffMs: 300, crashBackoffMaxMs: 2000, pullRetryMs: 500, terminatingMs: 0 } as const;

/**
 * The demo world with fast lifecycles and any section overridden; `extra` zones and vSwitches are
 * appended to the demo world's (a parsed world is not a world file, so extend before parsing).
 */
export async function testWorld(overrides: Record<string, unknown> = {}, extra: { zones?: string[]; vSwitches?: Record<string, unknown>[] } = {}) {
  const doc = parse(await readFile(DEMO_WORLD, 'utf8')) as Record<string, unknown>;
  const list = (key: 'zones' | 'vSwitches'): unknown[] => [...((doc[key] as unknown[] | undefined) ?? []), ...(extra[key] ?? [])];
  return parseWorld({
    ...doc,
    zones: list('zones'),
    vSwitches: list('vSwitches'),
    lifecycle: TEST_LIFECYCLE,
    rateLimits: { mode: 'unlimited' },
    persistence: { durability: 'write', snapshotIntervalMs: 1000 },
    ...overrides,
  });
}

export function testConfig(sim: CloudSim, overrides: { vSwitchIds?: string[]; securityGroupId?: string } = {}): ProviderConfig {
  const id = randomBytes(3).toString('hex');
  const config = structuredClone(DEFAULT_CONFIG);
  config.clusterId = `it-${id}`;
  config.regionId = sim.regionId;
  config.cloud = { ...config.cloud, eciEndpoint: sim.endpoint, vpcEndpoint: sim.endpoint, ecsEndpoint: sim.endpoint, protocol: 'http', accessKeyId: sim.accessKey.id, accessKeySecret: sim.accessKey.secret };
  config.defaultNetwork = {
    vSwitchIds: overrides.vSwitchIds ?? ['vsw-simh1', 'vsw-simi1', 'vsw-simj1'],
    securityGroupId: overrides.securityGroupId ?? 'sg-simdefault',
    vSwitchSelectionPolicy: 'ordered',
  };
  config.node.namePrefix = `vn-${id}`;
  config.kubernetes.kubeconfig = controlPlane().kubeconfigPath;
  config.sync = { ...config.sync, workers: 16, statusPollIntervalMs: 300, resyncIntervalMs: 5_000, orphanGracePeriodMs: 3_000, backoffBaseMs: 200, backoffMaxMs: 3_000 };
  return config;
}

/** The provider's own cloud adapter, pointed at a simulator: what tests use to look at groups. */
export function cloudOf(sim: CloudSim): AlibabaCloud {
  return createCloud({
    regionId: sim.regionId,
    eciEndpoint: sim.endpoint,
    vpcEndpoint: sim.endpoint,
    ecsEndpoint: sim.endpoint,
    protocol: 'http',
    credentials: { accessKeyId: sim.accessKey.id, accessKeySecret: sim.accessKey.secret },
  });
}

/** Log lines kept in memory; also echoed to stderr when ECI_VN_TEST_LOGS=1 (for debugging). */
export function memoryLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const echo = process.env.ECI_VN_TEST_LOGS === '1';
  return {
    log: createLogger({
      level: 'info',
      write: (line) => {
        lines.push(line);
        if (echo) process.stderr.write(`${line}\n`);
      },
    }),
    lines,
  };
}

export async function startTestProvider(config: ProviderConfig, log: Logger = memoryLogger().log): Promise<RunningProvider> {
  return startProvider({ config, log, nodeTiming: { leaseRenewIntervalMs: 2_000, statusIntervalMs: 5_000, vSwitchRefreshIntervalMs: 2_000 } });
}

/** `eci-virtual-node run` as a child process, configured by flags and env like in production. */
export function spawnProvider(config: ProviderConfig): { child: ChildProcess; output: string[] } {
  const args = [
    join(REPO, 'adapters', 'cli', 'main.ts'),
    'run',
    '--cluster-id', config.clusterId,
    '--region', config.regionId,
    '--eci-endpoint', config.cloud.eciEndpoint,
    '--vpc-endpoint', config.cloud.vpcEndpoint,
    '--ecs-endpoint', config.cloud.ecsEndpoint,
    '--cloud-protocol', config.cloud.protocol,
    '--vswitches', config.defaultNetwork.vSwitchIds.join(','),
    '--security-group', config.defaultNetwork.securityGroupId,
    '--node-name-prefix', config.node.namePrefix,
    '--kubeconfig', config.kubernetes.kubeconfig,
    '--workers', String(config.sync.workers),
    '--status-poll-interval-ms', String(config.sync.statusPollIntervalMs),
  ];
  if (config.leaderElection.enabled) {
    const le = config.leaderElection;
    args.push(
      '--leader-elect', 'true',
      '--leader-elect-namespace', le.namespace,
      '--leader-elect-lease-name', le.leaseName,
      '--leader-elect-identity', le.identity,
      '--leader-elect-lease-duration-seconds', String(le.leaseDurationSeconds),
      '--leader-elect-renew-deadline-ms', String(le.renewDeadlineMs),
      '--leader-elect-retry-period-ms', String(le.retryPeriodMs),
    );
  }
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_ID: config.cloud.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: config.cloud.accessKeySecret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  return { child, output };
}

/** Deletes this file's virtual nodes (and so their leases, by owner reference). */
export async function deleteNodes(config: ProviderConfig): Promise<void> {
  const { core } = apis();
  const nodes = await core.listNode({ labelSelector: `${NODE_LABELS.cluster}=${config.clusterId}` });
  await Promise.all(nodes.items.map((n) => core.deleteNode({ name: n.metadata!.name! }).catch(ignoreNotFound)));
}

/** A pod template that lands on this file's virtual nodes only. */
export function virtualNodePlacement(config: ProviderConfig): Pick<NonNullable<V1Pod['spec']>, 'tolerations' | 'nodeSelector'> {
  return {
    tolerations: [{ ...VIRTUAL_NODE_TOLERATION }],
    nodeSelector: { [NODE_LABELS.cluster]: config.clusterId },
  };
}

export function ipInCidr(ip: string, cidr: string): boolean {
  const toInt = (a: string) => a.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = toInt(base);
  const value = toInt(ip);
  return value >= start && value < start + size;
}

/** Successful calls per action the simulator has answered so far (its admin API). */
export async function cloudCallCounts(sim: CloudSim): Promise<Record<string, number>> {
  const res = await fetchText(`${sim.adminEndpoint}/admin/state`, { headers: { authorization: `Bearer ${sim.adminToken}` }, what: 'cloudsim admin GET /admin/state' });
  if (!res.ok) throw new Error(`cloudsim admin state: HTTP ${res.status}: ${res.text.slice(0, 200)}`);
  const state = JSON.parse(res.text) as { requests: Record<string, { ok: number }> };
  return Object.fromEntries(Object.entries(state.requests).map(([action, c]) => [action, c.ok]));
}

/**
 * Waits until the provider has made at least `more[action]` further successful calls of each
 * action: proof that its loops ran again (status polls, a full relist), instead of a fixed sleep
 * that a loaded machine may outlast or undercut.
 */
export async function waitForCloudCalls(sim: CloudSim, more: Record<string, number>, o: { timeoutMs: number; why: string }): Promise<void> {
  const start = await cloudCallCounts(sim);
  let now = start;
  const progress = () => Object.keys(more).map((a) => `${a} +${(now[a] ?? 0) - (start[a] ?? 0)}/${more[a]}`).join(', ');
  await waitFor(
    async () => {
      now = await cloudCallCounts(sim);
      return Object.entries(more).every(([a, n]) => (now[a] ?? 0) - (start[a] ?? 0) >= n);
    },
    { timeoutMs: o.timeoutMs, describe: () => `${o.why} (calls so far: ${progress()})` },
  );
}
