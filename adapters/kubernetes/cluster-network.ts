// The kube-system ConfigMaps that carry cluster network settings (eni-config, eci-profile, the
// virtual node pools and their terway-config overlays), watched by one shared informer and fed
// into provider/networking/cluster-network-state.ts. A malformed ConfigMap keeps its last good
// version and gets a Warning event naming the field (ACK reports an eci-profile format error the
// same way); a change that matters calls onChange (the nodes and pools follow, new pods use it).
import type * as k8s from '@kubernetes/client-node';
import { EventReason } from '../../provider/events/reasons.ts';
import type { ClusterNetworkState, ApplyResult } from '../../provider/networking/cluster-network-state.ts';
import { CLUSTER_NETWORK_NAMESPACE, describeErrors } from '../../provider/networking/cluster-network.ts';
import type { KubernetesEventRecorder } from './events.ts';
import type { InformerLog } from './informer.ts';
import type { SharedInformer, SharedInformers } from './manager.ts';

export interface ClusterNetworkWatch {
  state: ClusterNetworkState;
  informer: SharedInformer<k8s.V1ConfigMap>;
  /** Stops feeding the state. */
  stop(): void;
}

const REASONS: Record<NonNullable<ApplyResult['kind']>, EventReason> = {
  'eci-profile': EventReason.InvalidEciProfile,
  'eni-config': EventReason.InvalidEniConfig,
  overlay: EventReason.InvalidEniConfig,
  pools: EventReason.InvalidVirtualNodePool,
};

export function watchClusterNetwork(o: {
  informers: SharedInformers;
  core: k8s.CoreV1Api;
  state: ClusterNetworkState;
  events: KubernetesEventRecorder;
  log: InformerLog & { info(msg: string, fields?: Record<string, unknown>): void };
  onChange: () => void;
}): ClusterNetworkWatch {
  const namespace = CLUSTER_NETWORK_NAMESPACE;
  const informer = o.informers.informerFor<k8s.V1ConfigMap>({
    name: 'kube-system-configmaps',
    path: `/api/v1/namespaces/${CLUSTER_NETWORK_NAMESPACE}/configmaps`,
    list: (page) => o.core.listNamespacedConfigMap({ namespace, ...page }),
  });
  const apply = (cm: k8s.V1ConfigMap, deleted: boolean) => {
    const name = cm.metadata?.name ?? '';
    const result = o.state.apply(name, deleted ? undefined : (cm.data ?? {}));
    if (result.kind === undefined) return;
    if (result.errors.length > 0) {
      const message = `${namespace}/${name}: ${describeErrors(result.errors)}; the last good version stays in force`;
      o.log.warn('a cluster network ConfigMap is malformed; keeping its last good version', { configMap: `${namespace}/${name}`, errors: result.errors });
      o.events.record({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name, uid: cm.metadata?.uid ?? name }, { type: 'Warning', reason: REASONS[result.kind], message });
    }
    if (result.changed) {
      const d = o.state.defaultNetwork();
      o.log.info('cluster network settings changed; new pods use them', {
        configMap: `${namespace}/${name}`,
        deleted,
        defaultNetwork: { vSwitchIds: d.vSwitchIds, securityGroupId: d.securityGroupId, policy: d.vSwitchSelectionPolicy, sources: d.sources },
        pools: o.state.pools().map((p) => p.name),
        profileSelectors: o.state.profileSelectors().map((s) => s.name),
      });
      o.onChange();
    }
  };
  const controller = new AbortController();
  // Subscribed before the informer starts: the state is complete once the cache has synced, so
  // the webhook (which waits for the cache) never answers with a half-read profile.
  informer.subscribe({ onAdd: (cm) => apply(cm, false), onUpdate: (cm) => apply(cm, false), onDelete: (cm) => apply(cm, true) }, controller.signal);
  return { state: o.state, informer, stop: () => controller.abort() };
}
