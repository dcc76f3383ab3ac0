// Vitest global setup of the `integration` project: builds (or reuses) the control-plane binaries,
// starts ONE real control plane for the whole run, hands its coordinates to the tests
// (inject('controlPlane')) and to child processes (KUBECONFIG), and stops it at the end.
// Component logs are kept after the run in .tmp/integration/controlplane-logs/ (cleared at the
// start of the next run); everything else lives in a temp dir that stop() removes. Interrupting
// the run (Ctrl-C) or a crash still kills every process: see test/controlplane/processes.ts.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureControlPlaneBinaries } from '../controlplane/binaries.ts';
import { startControlPlane } from '../controlplane/controlplane.ts';
import { budget, DeadlineError } from '../helpers/deadline.ts';

export const CONTROL_PLANE_START_MS = budget({ baseMs: 240_000 });

/** What tests get from inject('controlPlane'). Plain data: it crosses to the test workers. */
export interface ProvidedControlPlane {
  server: string;
  kubeconfigPath: string;
  binDir: string;
  logDir: string;
  /** The temp dir of this control plane (pki/ holds every certificate and key as files). */
  dir: string;
  caCertPem: string;
  caKeyPem: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlane: ProvidedControlPlane;
  }
}

export const INTEGRATION_LOG_DIR = join(import.meta.dirname, '..', '..', '.tmp', 'integration', 'controlplane-logs');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  // A cold build takes 6-10 min (longer on a busy machine, or behind another process's build lock).
  const buildMs = budget({ baseMs: 45 * 60_000 });
  const building = new AbortController();
  const buildTimer = setTimeout(() => building.abort(new DeadlineError('the control-plane binaries to build (test/controlplane/build.sh)', buildMs, 'its output above')), buildMs);
  const binDir = await ensureControlPlaneBinaries({ onProgress: log, signal: building.signal }).finally(() => clearTimeout(buildTimer));
  await rm(INTEGRATION_LOG_DIR, { recursive: true, force: true });
  const startedAt = Date.now();
  const controlPlane = await startControlPlane({
    binDir,
    logDir: INTEGRATION_LOG_DIR,
    // Per component; a loaded 2-CPU machine can take minutes to bring kube-apiserver up.
    startTimeoutMs: CONTROL_PLANE_START_MS,
    onProgress: (message) => log(`[controlplane] ${message}`),
  });
  log(`[controlplane] up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; logs in ${controlPlane.logDir}`);

  const previousKubeconfig = process.env.KUBECONFIG;
  process.env.KUBECONFIG = controlPlane.kubeconfigPath;
  project.provide('controlPlane', {
    server: controlPlane.server,
    kubeconfigPath: controlPlane.kubeconfigPath,
    binDir: controlPlane.binDir,
    logDir: controlPlane.logDir,
    dir: controlPlane.dir,
    caCertPem: controlPlane.caCertPem,
    caKeyPem: controlPlane.caKeyPem,
  });

  return async () => {
    if (previousKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = previousKubeconfig;
    await controlPlane.stop();
    log(`[controlplane] stopped; component logs kept in ${controlPlane.logDir}`);
  };
}
