// Starts a real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-scheduler and
// kube-controller-manager, each on a free port, all certificates from one fresh CA, everything
// under one temp dir. Writes one admin kubeconfig for tests, the provider and kubectl.
//
//   const binDir = await ensureControlPlaneBinaries();
//   const cp = await startControlPlane({ binDir });
//   ... use cp.kubeconfigPath ...
//   await cp.stop();   // also done on SIGINT/SIGTERM/exit if forgotten
//
// Layout of `cp.dir`: harness.json (owner pid + child pids, for reaping after a SIGKILL),
// pki/, etcd/, kubeconfig, <component>.kubeconfig, <component>/ (cert dirs), logs/ (unless
// `logDir` is given elsewhere, which then survives `stop()`).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeKubeconfig } from './kubeconfig.ts';
import { FRONT_PROXY_CLIENT_USER, createControlPlanePki, type ControlPlanePki } from './pki.ts';
import { freeLoopbackPorts } from './ports.ts';
import {
  isProcessAlive,
  killGroup,
  logTail,
  registerCleanup,
  removeDirSync,
  startProcess,
  type ManagedProcess,
} from './processes.ts';
import { withDeadline } from '../helpers/deadline.ts';

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-scheduler' | 'kube-controller-manager';

export interface StartControlPlaneOptions {
  /** Directory with the binaries (from ensureControlPlaneBinaries). */
  binDir: string;
  /** Parent of the control plane's temp dir. Default: the OS temp dir. */
  tempRoot?: string;
  /** Where the component logs go. Default: `<dir>/logs` (removed by stop()); a dir given here is kept. */
  logDir?: string;
  /** Keep the temp dir (data, certificates, logs) after stop(), for inspection. */
  keepDirs?: boolean;
  /** Default 10.0.0.0/24; the apiserver's cert includes its first address. */
  serviceClusterIpRange?: string;
  /** Extra flags per component, appended last (a repeated scalar flag overrides ours). */
  extraArgs?: Partial<Record<ComponentName, readonly string[]>>;
  /** Time each component gets to become healthy. Default 120 s. */
  startTimeoutMs?: number;
  /** SIGTERM grace before SIGKILL, per component. Default 10 s. */
  stopGraceMs?: number;
  onProgress?: (message: string) => void;
}

export interface ControlPlaneProcessInfo {
  name: ComponentName;
  pid: number;
  logFile: string;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string;
  /** The admin kubeconfig (CN=admin, O=system:masters), certificates embedded. */
  kubeconfigPath: string;
  binDir: string;
  /** The temp dir holding everything of this control plane. */
  dir: string;
  logDir: string;
  caCertPem: string;
  caKeyPem: string;
  /** File paths of every certificate and key (CA, apiserver kubelet client, service-account key ...). */
  pki: ControlPlanePki;
  /** The running processes (a restarted component shows its new pid). */
  readonly processes: readonly ControlPlaneProcessInfo[];
  /** etcd's client URL (http://127.0.0.1:<port>), e.g. for its v3 JSON gateway (`POST /v3/kv/compaction`). */
  etcdUrl: string;
  /**
   * Stops kube-apiserver alone (SIGTERM and the usual grace, or SIGKILL), leaves it down for
   * `downMs`, starts it again with the same flags, port and certificates, and resolves once it
   * is ready again. For chaos tests: every client sees its connections and watches drop.
   */
  restartApiserver(options?: { signal?: 'SIGTERM' | 'SIGKILL'; downMs?: number; onDown?: () => Promise<void> }): Promise<void>;
  /** Stops every process (SIGTERM, then SIGKILL) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export class ControlPlaneStartError extends Error {
  override name = 'ControlPlaneStartError';
}

const TEMP_PREFIX = 'eci-vn-controlplane-';
const STATE_FILE = 'harness.json';

interface HarnessState {
  ownerPid: number;
  binDir: string;
  pids: number[];
  kept?: boolean;
}

export async function startControlPlane(options: StartControlPlaneOptions): Promise<ControlPlane> {
  const {
    binDir,
    tempRoot = tmpdir(),
    keepDirs = false,
    serviceClusterIpRange = '10.0.0.0/24',
    extraArgs = {},
    startTimeoutMs = 120_000,
    stopGraceMs = 10_000,
    onProgress = () => {},
  } = options;

  for (const reaped of reapOrphans(tempRoot)) onProgress(`removed leftovers of a killed run: ${reaped}`);

  await mkdir(tempRoot, { recursive: true });
  const dir = await mkdtemp(join(tempRoot, TEMP_PREFIX));
  const logDir = resolve(options.logDir ?? join(dir, 'logs'));
  await mkdir(logDir, { recursive: true });
  const state: HarnessState = { ownerPid: process.pid, binDir, pids: [] };
  const saveState = (): void => writeFileSync(join(dir, STATE_FILE), JSON.stringify(state));
  saveState();

  const processes: ManagedProcess[] = [];
  const stopProcesses = async (): Promise<void> => {
    // Reverse start order: controllers first, etcd last.
    for (const batch of [['kube-controller-manager', 'kube-scheduler'], ['kube-apiserver'], ['etcd']]) {
      await Promise.all(processes.filter((p) => batch.includes(p.name)).map((p) => p.stop(stopGraceMs)));
    }
  };
  const removeDirs = async (): Promise<void> => {
    if (keepDirs) {
      state.kept = true;
      saveState();
      return;
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await stopProcesses();
        await removeDirs();
      } finally {
        unregister();
      }
    })();
    return stopping;
  };
  const unregister = registerCleanup({
    run: stop,
    runSync: () => {
      for (const p of processes) killGroup(p.pid, 'SIGKILL');
      if (!keepDirs) removeDirSync(dir);
    },
  });

  const argsOf = new Map<ComponentName, string[]>();
  const start = (name: ComponentName, args: string[]): ManagedProcess => {
    // stop() may have run meanwhile (a signal during start-up): start nothing after it.
    if (stopping !== undefined) throw new ControlPlaneStartError(`stopped while starting (before ${name})`);
    argsOf.set(name, args);
    const proc = startProcess({
      name,
      command: join(binDir, name),
      args: [...args, ...(extraArgs[name] ?? [])],
      logFile: join(logDir, `${name}.log`),
      cwd: dir,
    });
    processes.push(proc);
    state.pids.push(proc.pid);
    saveState();
    return proc;
  };

  try {
    const [etcdPort, etcdPeerPort, apiserverPort, schedulerPort, controllerManagerPort] = (await freeLoopbackPorts(5)) as [
      number, number, number, number, number,
    ];
    const serviceIp = firstServiceIp(serviceClusterIpRange);
    onProgress('generating certificates');
    const pki = await createControlPlanePki({ dir: join(dir, 'pki'), serviceIp });
    const server = `https://127.0.0.1:${apiserverPort}`;
    const tlsToApiserver = { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem };

    // --- etcd ---------------------------------------------------------------------------------
    onProgress(`starting etcd on 127.0.0.1:${etcdPort}`);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = start('etcd', [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=default=${etcdPeerUrl}`,
      '--unsafe-no-fsync=true', // throwaway data: no fsync keeps a shared CI disk from slowing us
      '--log-level=warn',
    ]);
    await waitUntilHealthy(etcd, startTimeoutMs, async () => {
      const { status, body } = await get(`${etcdUrl}/health`, {});
      return status === 200 && body.includes('"health":"true"') ? true : `HTTP ${status}: ${body.slice(0, 200)}`;
    });

    // --- kube-apiserver -----------------------------------------------------------------------
    onProgress(`starting kube-apiserver on ${server}`);
    const apiserver = start('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiserverPort}`,
      `--cert-dir=${join(dir, 'kube-apiserver')}`,
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.caFile}`,
      '--authorization-mode=Node,RBAC',
      // Added to the default-enabled set (which includes TaintNodesByCondition, ServiceAccount ...).
      '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--allow-privileged=true',
      `--kubelet-client-certificate=${pki.apiserverKubeletClient.cert}`,
      `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
      // Virtual nodes also report a Hostname address (the node name), which resolves nowhere: reach
      // kubelets (the provider's kubelet API on 127.0.0.1) by InternalIP first.
      '--kubelet-preferred-address-types=InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP',
      `--requestheader-client-ca-file=${pki.frontProxyCaFile}`,
      `--requestheader-allowed-names=${FRONT_PROXY_CLIENT_USER}`,
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
      `--proxy-client-key-file=${pki.frontProxyClient.key}`,
      // The lease reconciler would publish 127.0.0.1 as the `kubernetes` Service endpoint, which
      // Endpoints validation refuses (loopback) every 10 s. Nothing here runs in-cluster clients.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=1',
    ]);
    const apiserverReady = async (): Promise<true | string> => {
      const { status, body } = await get(`${server}/readyz`, tlsToApiserver);
      return status === 200 ? true : `HTTP ${status}: ${body.slice(-300)}`;
    };
    await waitUntilHealthy(apiserver, startTimeoutMs, apiserverReady);

    // --- kubeconfigs --------------------------------------------------------------------------
    const kubeconfigPath = await writeKubeconfig(join(dir, 'kubeconfig'), {
      server,
      caCertPem: pki.ca.certPem,
      clientCertPem: pki.admin.certPem,
      clientKeyPem: pki.admin.keyPem,
      name: 'eci-vn-test',
      user: 'admin',
    });
    const componentKubeconfig = async (name: string, identity: { certPem: string; keyPem: string }, user: string): Promise<string> =>
      writeKubeconfig(join(dir, `${name}.kubeconfig`), {
        server,
        caCertPem: pki.ca.certPem,
        clientCertPem: identity.certPem,
        clientKeyPem: identity.keyPem,
        name: 'eci-vn-test',
        user,
      });
    const schedulerKubeconfig = await componentKubeconfig('kube-scheduler', pki.scheduler, 'kube-scheduler');
    const controllerManagerKubeconfig = await componentKubeconfig('kube-controller-manager', pki.controllerManager, 'kube-controller-manager');

    // --- kube-scheduler and kube-controller-manager --------------------------------------------
    onProgress('starting kube-scheduler and kube-controller-manager');
    const componentCommon = (kubeconfig: string, port: number, serving: { cert: string; key: string }, name: string): string[] => [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--client-ca-file=${pki.caFile}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--cert-dir=${join(dir, name)}`,
      '--leader-elect=false', // one instance each: no election to wait for
      '--v=2',
    ];
    const scheduler = start('kube-scheduler', componentCommon(schedulerKubeconfig, schedulerPort, pki.schedulerServing, 'kube-scheduler'));
    const controllerManager = start('kube-controller-manager', [
      ...componentCommon(controllerManagerKubeconfig, controllerManagerPort, pki.controllerManagerServing, 'kube-controller-manager'),
      '--controllers=*',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
      `--root-ca-file=${pki.caFile}`,
      `--cluster-signing-cert-file=${pki.caFile}`,
      `--cluster-signing-key-file=${pki.caKeyFile}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--cluster-name=eci-vn-test',
      '--allocate-node-cidrs=false',
    ]);
    const healthz = (port: number) => async (): Promise<true | string> => {
      const { status, body } = await get(`https://127.0.0.1:${port}/healthz`, { ca: pki.ca.certPem });
      return status === 200 ? true : `HTTP ${status}: ${body.slice(-300)}`;
    };
    await Promise.all([
      waitUntilHealthy(scheduler, startTimeoutMs, healthz(schedulerPort)),
      waitUntilHealthy(controllerManager, startTimeoutMs, healthz(controllerManagerPort)),
    ]);
    onProgress(`control plane ready at ${server}`);

    const restartApiserver: ControlPlane['restartApiserver'] = async ({ signal = 'SIGTERM', downMs = 0, onDown } = {}) => {
      const current = processes.find((p) => p.name === 'kube-apiserver' && p.isRunning());
      if (current !== undefined) {
        if (signal === 'SIGKILL') {
          killGroup(current.pid, 'SIGKILL');
          await withDeadline(current.exited, 30_000, `kube-apiserver (pid ${current.pid}) to exit after SIGKILL`);
        } else await current.stop(stopGraceMs);
        processes.splice(processes.indexOf(current), 1);
        state.pids = state.pids.filter((pid) => pid !== current.pid);
        saveState();
      }
      await onDown?.();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs)); // the outage itself
      const restarted = start('kube-apiserver', argsOf.get('kube-apiserver') ?? []);
      await waitUntilHealthy(restarted, startTimeoutMs, apiserverReady);
      onProgress(`kube-apiserver restarted (${signal}, down ${downMs} ms)`);
    };

    return {
      server,
      kubeconfigPath,
      binDir,
      dir,
      logDir,
      caCertPem: pki.ca.certPem,
      caKeyPem: pki.ca.keyPem,
      pki,
      get processes() {
        return processes.map((p) => ({ name: p.name as ComponentName, pid: p.pid, logFile: p.logFile }));
      },
      etcdUrl,
      restartApiserver,
      stop,
    };
  } catch (err) {
    // Keep the logs of a failed start when they live outside the temp dir; say where they are.
    await stop().catch(() => {});
    // A step that was still running when stop() ran may have re-created files: remove them again.
    if (!keepDirs) await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    const where = keepDirs || options.logDir !== undefined ? ` (logs: ${logDir})` : '';
    if (err instanceof ControlPlaneStartError) {
      err.message += where;
      throw err;
    }
    throw new ControlPlaneStartError(`starting the control plane failed: ${(err as Error).message}${where}`, { cause: err });
  }
}

/**
 * Polls `check` until it returns true. Fails at once, with the log tail, when the process exits;
 * after `timeoutMs`, with the last check result and the log tail.
 */
async function waitUntilHealthy(proc: ManagedProcess, timeoutMs: number, check: () => Promise<true | string>): Promise<void> {
  const started = Date.now();
  let last = 'not checked yet';
  let exit: { code: number | null; signal: string | null } | undefined;
  void proc.exited.then((e) => (exit = e));
  while (Date.now() - started < timeoutMs) {
    if (exit !== undefined) {
      throw new ControlPlaneStartError(
        `${proc.name} exited (${exit.signal ?? `code ${exit.code}`}) before it was healthy; last lines of ${proc.logFile}:\n${logTail(proc.logFile)}`,
      );
    }
    try {
      const result = await check();
      if (result === true) return;
      last = result;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new ControlPlaneStartError(
    `${proc.name} was not healthy within ${Math.round(timeoutMs / 1000)} s (last check: ${last}); last lines of ${proc.logFile}:\n${logTail(proc.logFile)}`,
  );
}

function get(url: string, tls: { ca?: string; cert?: string; key?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const send = url.startsWith('https:') ? request : httpRequest;
    const req = send(url, { method: 'GET', timeout: 5_000, agent: false, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** 10.0.0.0/24 -> 10.0.0.1 (IPv4 only, which is all the harness uses). */
export function firstServiceIp(cidr: string): string {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (match === null) throw new Error(`serviceClusterIpRange must be an IPv4 CIDR like 10.0.0.0/24, got "${cidr}"`);
  const octets = match.slice(1, 5).map(Number);
  const value = octets.reduce((acc, octet) => acc * 256 + octet, 0) + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/**
 * Removes what a control plane left behind when its owner was SIGKILLed (no handler ran): for each
 * temp dir whose owner pid is gone and that was not kept on purpose, SIGKILL the process groups
 * recorded there (only if the process still runs a command mentioning that dir) and delete it.
 * Returns the dirs removed.
 */
export function reapOrphans(tempRoot: string = tmpdir()): string[] {
  const reaped: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(tempRoot).filter((name) => name.startsWith(TEMP_PREFIX));
  } catch {
    return reaped;
  }
  for (const entry of entries) {
    const dir = join(tempRoot, entry);
    let state: HarnessState;
    try {
      state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as HarnessState;
    } catch {
      continue; // being created right now, or not ours
    }
    if (state.kept === true || isProcessAlive(state.ownerPid)) continue;
    for (const pid of state.pids) {
      if (isProcessAlive(pid) && commandLine(pid).includes(dir)) killGroup(pid, 'SIGKILL');
    }
    if (existsSync(dir)) removeDirSync(dir);
    reaped.push(dir);
  }
  return reaped;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
