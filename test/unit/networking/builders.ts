// Builders for the networking and admission tests: small, explicit, one options object each.
import type { V1Affinity, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import type { VSwitch } from '../../../provider/cloud/model.ts';
import type { PodNetworking, PodNetworkingSpec, PodNetworkingStatus } from '../../../provider/networking/podnetworking.ts';

export function makePod(o: {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  affinity?: V1Affinity;
  nodeSelector?: Record<string, string>;
  nodeName?: string;
  uid?: string;
  hostNetwork?: boolean;
  containers?: number;
  ownerKind?: string;
} = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name ?? 'web-0',
      namespace: o.namespace ?? 'default',
      ...(o.uid ? { uid: o.uid } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.ownerKind ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: o.ownerKind, name: 'owner', uid: 'owner-uid', controller: true }] } : {}),
    },
    spec: {
      containers: Array.from({ length: o.containers ?? 1 }, (_, i) => ({ name: `c${i}`, image: 'nginx' })),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.hostNetwork !== undefined ? { hostNetwork: o.hostNetwork } : {}),
    },
  };
}

export function makePodNetworking(o: {
  name: string;
  created?: string;
  podSelector?: V1LabelSelector;
  namespaceSelector?: V1LabelSelector;
  vSwitches?: { id: string; zone: string }[];
  status?: PodNetworkingStatus | null;
  fixed?: boolean;
  securityGroupIDs?: string[];
  deleting?: boolean;
}): PodNetworking {
  const vSwitches = o.vSwitches ?? [{ id: 'vsw-a', zone: 'cn-hangzhou-i' }];
  const selector: PodNetworkingSpec['selector'] = {
    ...(o.podSelector ? { podSelector: o.podSelector } : {}),
    ...(o.namespaceSelector ? { namespaceSelector: o.namespaceSelector } : {}),
  };
  return {
    apiVersion: 'network.alibabacloud.com/v1beta1',
    kind: 'PodNetworking',
    metadata: {
      name: o.name,
      creationTimestamp: (o.created ?? '2024-01-01T00:00:00Z') as unknown as Date,
      ...(o.deleting ? { deletionTimestamp: '2024-06-01T00:00:00Z' as unknown as Date } : {}),
    },
    spec: {
      allocationType: { type: o.fixed ? 'Fixed' : 'Elastic' },
      selector,
      securityGroupIDs: o.securityGroupIDs ?? ['sg-a'],
      vSwitchOptions: vSwitches.map((v) => v.id),
      vSwitchSelectOptions: { vSwitchSelectionPolicy: 'ordered' },
    },
    ...(o.status === null ? {} : { status: o.status ?? { status: 'Ready', updateAt: '2024-01-01T00:00:10Z', vSwitches } }),
  };
}

export function makeVSwitch(o: { id: string; zone?: string; free?: number; vpc?: string; status?: VSwitch['status'] }): VSwitch {
  return {
    id: o.id,
    vpcId: o.vpc ?? 'vpc-1',
    zoneId: o.zone ?? 'cn-hangzhou-i',
    cidrBlock: '192.168.0.0/24',
    availableIpCount: o.free ?? 100,
    status: o.status ?? 'Available',
  };
}
