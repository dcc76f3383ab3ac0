// Pods bound to our virtual nodes: the cache the sync reads (one field-selected list-watch per
// node, so the provider never holds the cluster's other pods), and the writes it makes.
import * as k8s from '@kubernetes/client-node';
import type { ResolvedInputs } from '../../provider/eci/context.ts';
import type { PodEvent, PodInputsLoader, PodKey, PodLookup, PodStore, PodWriter } from '../../provider/ports.ts';
import { isConflict, isNotFound } from './client.ts';
import { KubernetesEventRecorder } from './events.ts';
import { startInformer, type Informer, type InformerLog } from './informer.ts';
import { leanPod } from './lean.ts';
import { listPage, RawJsonClient, seg } from './raw.ts';

export interface PodInformersOptions {
  kubeConfig: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  /** The nodes at start; addNode/removeNode follow the nodes registered and removed later. */
  nodeNames: readonly string[];
  /** Any add, update or delete of a pod of ours. */
  onChange: (pod: k8s.V1Pod) => void;
  signal: AbortSignal;
  log: InformerLog;
  /** Test hook: awaited before the first page of every list, with the informer's name (`pods@<node>`). */
  listGate?: (informer: string) => Promise<void>;
}

export interface PodInformers {
  store: PodStore;
  /** Every node's informer, also of nodes added later, has listed. */
  allSynced(): boolean;
  /** This node's informer exists and has listed (a node registered later has none until onNodeAdded). */
  nodeSynced(nodeName: string): boolean;
  /** The informers of the nodes at start have listed. */
  synced: Promise<void>;
  /** Starts the informer of a node registered later; resolves once it has listed. */
  addNode(nodeName: string): Promise<void>;
  /** Stops the informer of a removed node (its pods leave the store). */
  removeNode(nodeName: string): void;
}

export function startPodInformers(o: PodInformersOptions): PodInformers {
  const caches = new Map<string, { informer: Informer<k8s.V1Pod>; stop: AbortController }>();
  const add = (nodeName: string): Promise<void> => {
    const known = caches.get(nodeName);
    if (known !== undefined) return known.informer.synced;
    const fieldSelector = `spec.nodeName=${nodeName}`;
    const stop = new AbortController();
    const signal = AbortSignal.any([o.signal, stop.signal]);
    const name = `pods@${nodeName}`;
    const informer = startInformer<k8s.V1Pod>({
      kubeConfig: o.kubeConfig,
      path: '/api/v1/pods',
      list: async (page) => {
        // The test hook holds a list before its first page only.
        if (o.listGate !== undefined && page._continue === undefined) await o.listGate(name);
        // Plain JSON, as the watch delivers it (no typed models: see listPage).
        return listPage<k8s.V1Pod>({ kubeConfig: o.kubeConfig, path: '/api/v1/pods', query: { fieldSelector, limit: page.limit, continue: page._continue } });
      },
      fieldSelector,
      transform: leanPod,
      onAdd: o.onChange,
      onUpdate: o.onChange,
      onDelete: o.onChange,
      signal,
      log: o.log,
      name,
    });
    caches.set(nodeName, { informer, stop });
    return informer.synced;
  };
  const initial = o.nodeNames.map(add);
  const store: PodStore = {
    get(namespace, name) {
      for (const { informer } of caches.values()) {
        const pod = informer.cache.get(name, namespace);
        if (pod !== undefined) return pod;
      }
      return undefined;
    },
    list() {
      return [...caches.values()].flatMap(({ informer }) => informer.cache.list());
    },
  };
  return {
    store,
    synced: Promise.all(initial).then(() => undefined),
    allSynced: () => [...caches.values()].every(({ informer }) => informer.hasSynced()),
    nodeSynced: (nodeName) => caches.get(nodeName)?.informer.hasSynced() === true,
    addNode: add,
    removeNode(nodeName) {
      const known = caches.get(nodeName);
      if (known === undefined) return;
      caches.delete(nodeName);
      known.stop.abort();
    },
  };
}

/** Pods read from the apiserver itself, bypassing the informers (see PodLookup). */
export class ApiPodLookup implements PodLookup {
  private readonly core: k8s.CoreV1Api;

  constructor(o: { core: k8s.CoreV1Api }) {
    this.core = o.core;
  }

  async podExists({ namespace, name, uid }: { namespace: string; name: string | undefined; uid: string }): Promise<boolean> {
    if (name !== undefined) {
      try {
        return (await this.core.readNamespacedPod({ name, namespace })).metadata?.uid === uid;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    }
    const pods = await this.core.listNamespacedPod({ namespace });
    return pods.items.some((p) => p.metadata?.uid === uid);
  }
}

export interface PodWriterOptions {
  /** The writes go through RawJsonClient (no typed answer: see raw.ts). */
  kubeConfig: k8s.KubeConfig;
  /** Reported as the event source. */
  component: string;
  log: InformerLog;
  /** Shared with the other event writers (one correlator per process); built when absent. */
  events?: KubernetesEventRecorder;
  /** Each write's deadline (default RAW_WRITE_TIMEOUT_MS), the Event recorder's too when built here; past it, ApiserverTimeoutError and the sync retries. */
  writeTimeoutMs?: number;
}

export class KubernetesPodWriter implements PodWriter {
  private readonly raw: RawJsonClient;
  readonly events: KubernetesEventRecorder;

  constructor(options: PodWriterOptions) {
    this.raw = new RawJsonClient({ kubeConfig: options.kubeConfig, ...(options.writeTimeoutMs === undefined ? {} : { timeoutMs: options.writeTimeoutMs }) });
    this.events = options.events ?? new KubernetesEventRecorder({ kubeConfig: options.kubeConfig, component: options.component, log: options.log, ...(options.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: options.writeTimeoutMs }) });
  }

  async patchPodStatus(pod: PodKey, status: k8s.V1PodStatus, annotations?: Record<string, string>): Promise<void> {
    // The UID in the patch makes the apiserver refuse it for a pod re-created under the same name
    // (422: metadata.uid is immutable): a status computed for the old pod (it may have waited
    // seconds for a write slot) never lands on the new one. The retry finds the pod gone.
    const metadata = { metadata: { uid: pod.uid, ...(annotations === undefined ? {} : { annotations }) } };
    try {
      await this.raw.write({ method: 'PATCH', path: `${podPath(pod)}/status`, body: { ...metadata, status: withClearedConditionFields(status) }, contentType: k8s.PatchStrategy.StrategicMergePatch });
    } catch (err) {
      if (isNotFound(err)) return; // the pod went away; its next sync handles the group
      throw err;
    }
  }

  async annotatePod(pod: PodKey, annotations: Record<string, string | null>): Promise<void> {
    // The UID in the patch makes the apiserver refuse it for a re-created pod of the same name.
    const body = { metadata: { uid: pod.uid, annotations } };
    try {
      await this.raw.write({ method: 'PATCH', path: podPath(pod), body, contentType: k8s.PatchStrategy.MergePatch });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  async finishPodDeletion(pod: PodKey): Promise<void> {
    try {
      await this.raw.write({ method: 'DELETE', path: `${podPath(pod)}?gracePeriodSeconds=0`, body: { gracePeriodSeconds: 0, preconditions: { uid: pod.uid } } });
    } catch (err) {
      // 404: already gone. 409: the name now belongs to a new pod; ours is gone.
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  /** A repeat bumps the count of the Event already written (provider/events/correlator.ts). */
  recordEvent(pod: PodKey, event: PodEvent): void {
    this.events.record({ apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid }, event);
  }
}

const podPath = (pod: PodKey): string => `/api/v1/namespaces/${seg(pod.namespace)}/pods/${seg(pod.name)}`;

/**
 * Conditions merge by type in a strategic-merge patch, field by field: a condition sent without
 * reason or message would keep the old ones (Ready=True still saying ContainersNotReady). An
 * absent reason/message means "none", so it is sent as null, which removes it.
 */
export function withClearedConditionFields(status: k8s.V1PodStatus): unknown {
  if (status.conditions === undefined) return status;
  return { ...status, conditions: status.conditions.map((c) => ({ reason: null, message: null, ...c })) };
}

/**
 * Reads the ConfigMaps and Secrets a pod references (env, envFrom, volumes, projected volumes,
 * image pull secrets). ConfigMap values are plain text (binaryData is base64); Secret values are
 * base64 exactly as the API stores them. A missing object is left out: the translation decides
 * whether that is fatal (a non-optional reference) or fine.
 */
export class ApiPodInputsLoader implements PodInputsLoader {
  private readonly core: k8s.CoreV1Api;

  constructor(core: k8s.CoreV1Api) {
    this.core = core;
  }

  async load(pod: k8s.V1Pod): Promise<ResolvedInputs> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const { configMaps, secrets } = referencedObjects(pod);
    const result: ResolvedInputs & { configMapsBinary: Record<string, Record<string, string>> } = {
      configMaps: {},
      secrets: {},
      configMapsBinary: {},
    };
    const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
    await Promise.all([
      (async () => {
        if (!projectsServiceAccountToken(pod)) return;
        const token = await this.requestToken(namespace, serviceAccount, pod);
        if (token !== undefined) result.serviceAccountToken = token;
      })(),
      ...[...configMaps].map(async (name) => {
        try {
          const cm = await this.core.readNamespacedConfigMap({ name, namespace });
          result.configMaps[name] = { ...(cm.data ?? {}) };
          if (cm.binaryData !== undefined) result.configMapsBinary[name] = { ...cm.binaryData };
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }),
      ...[...secrets].map(async (name) => {
        try {
          const secret = await this.core.readNamespacedSecret({ name, namespace });
          result.secrets[name] = { ...(secret.data ?? {}) };
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }),
    ]);
    return result;
  }

  /**
   * A token bound to the pod (it dies with the pod). ECI files are static, so it is asked for
   * the longest lifetime the apiserver grants (it may cap it); kubelet would rotate it instead.
   */
  private async requestToken(namespace: string, serviceAccount: string, pod: k8s.V1Pod): Promise<string | undefined> {
    try {
      const response = await this.core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        body: {
          spec: {
            audiences: [],
            expirationSeconds: 365 * 24 * 3600,
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
          },
        },
      });
      return response.status?.token;
    } catch (err) {
      if (isNotFound(err)) return undefined; // no such ServiceAccount: translate warns, pod still runs
      throw err;
    }
  }
}

function projectsServiceAccountToken(pod: k8s.V1Pod): boolean {
  return (pod.spec?.volumes ?? []).some((v) => (v.projected?.sources ?? []).some((s) => s.serviceAccountToken !== undefined));
}

export function referencedObjects(pod: k8s.V1Pod): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const c of containers) {
    for (const env of c.env ?? []) {
      if (env.valueFrom?.configMapKeyRef?.name) configMaps.add(env.valueFrom.configMapKeyRef.name);
      if (env.valueFrom?.secretKeyRef?.name) secrets.add(env.valueFrom.secretKeyRef.name);
    }
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef?.name) configMaps.add(from.configMapRef.name);
      if (from.secretRef?.name) secrets.add(from.secretRef.name);
    }
  }
  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    for (const source of v.projected?.sources ?? []) {
      if (source.configMap?.name) configMaps.add(source.configMap.name);
      if (source.secret?.name) secrets.add(source.secret.name);
    }
  }
  for (const ref of pod.spec?.imagePullSecrets ?? []) if (ref.name) secrets.add(ref.name);
  return { configMaps, secrets };
}
