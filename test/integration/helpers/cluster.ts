// The shared control plane as tests see it: its coordinates, typed API clients, the built kubectl.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, inject } from 'vitest';
import type { ProvidedControlPlane } from '../global-setup.ts';
import { apiClient, budget, waitUntil } from '../../helpers/deadline.ts';

const execFileAsync = promisify(execFile);

export function controlPlane(): ProvidedControlPlane {
  return inject('controlPlane');
}

/** A KubeConfig loaded from the shared admin kubeconfig file. */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(controlPlane().kubeconfigPath);
  return kc;
}

export interface Apis {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  coordination: CoordinationV1Api;
}

export function apis(kc: KubeConfig = kubeConfig()): Apis {
  return { kc, core: apiClient(kc, CoreV1Api), apps: apiClient(kc, AppsV1Api), coordination: apiClient(kc, CoordinationV1Api) };
}

/** A DNS-1123 name with a random suffix, unique per call. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/**
 * Creates a fresh namespace before the file's tests and deletes it after (not waiting for the
 * namespace controller to finish). Returns a getter for its name.
 */
export function useTestNamespace(prefix: string): () => string {
  let name: string | undefined;
  beforeAll(async () => {
    const { core } = apis();
    const created = await core.createNamespace({
      body: { metadata: { name: uniqueName(prefix), labels: { 'eci-virtual-node.test/suite': 'integration' } } },
    });
    name = created.metadata!.name!;
    // The ServiceAccount admission plugin refuses pods ("serviceaccount default not found")
    // until the controller-manager has made the namespace's default ServiceAccount.
    const ns = name;
    await waitUntil(() => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }).then(() => true), {
      timeoutMs: budget({ baseMs: 60_000 }),
      what: `the default ServiceAccount of namespace ${ns}`,
    });
  });
  afterAll(async () => {
    if (name === undefined) return;
    await apis().core.deleteNamespace({ name }).catch(ignoreNotFound);
  });
  return () => {
    if (name === undefined) throw new Error('useTestNamespace: the namespace exists only inside tests (after beforeAll)');
    return name;
  };
}

/** For `.catch(ignoreNotFound)` on deletes: a 404 means it is already gone. */
export function ignoreNotFound(err: unknown): void {
  if ((err as { code?: number }).code === 404) return;
  throw err;
}

/** Runs the built kubectl against the shared control plane (KUBECONFIG set to its kubeconfig). */
export async function kubectl(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  const cp = controlPlane();
  try {
    return await execFileAsync(join(cp.binDir, 'kubectl'), args, {
      env: { ...process.env, KUBECONFIG: cp.kubeconfigPath },
      // Past it, SIGKILL: the call rejects naming the command (below), whatever kubectl does with SIGTERM.
      timeout: budget({ baseMs: 60_000 }),
      killSignal: 'SIGKILL',
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}
