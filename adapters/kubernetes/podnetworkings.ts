// The PodNetworking controller: keeps each PodNetworking's status true to the cloud.
// Resolves spec.vSwitchOptions through DescribeVSwitches (VPC) and spec.securityGroupIDs through
// DescribeSecurityGroups (ECS), and writes status.vSwitches [{id, zone}] + Ready, or Fail with a
// message naming the fault (provider/networking decides: unknown ids, vSwitches in several VPCs,
// a security group in another VPC). Resolves on create, on any spec change, every few seconds
// while Fail, and periodically (vSwitches and security groups can change in the cloud).
import { ROOT_CONTEXT, SpanStatusCode } from '@opentelemetry/api';
import * as k8s from '@kubernetes/client-node';
import { classifyCloudError, CloudError } from '../../provider/cloud/errors.ts';
import type { SecurityGroup } from '../../provider/cloud/model.ts';
import { PODNETWORKING_API } from '../../provider/networking/constants.ts';
import { needsResolve, resolvePodNetworkingStatus, sameStatus, type PodNetworking } from '../../provider/networking/podnetworking.ts';
import { KeyedWorkQueue } from '../../provider/pods/workqueue.ts';
import { ATTR, SPAN } from '../../provider/telemetry/names.ts';
import { inSpan } from '../../provider/telemetry/spans.ts';
import type { CloudPort } from '../../provider/ports.ts';
import type { PodNetworkingStore } from '../../provider/pods/network.ts';
import { EventReason } from '../../provider/events/reasons.ts';
import { isNotFound } from './client.ts';
import { KubernetesEventRecorder } from './events.ts';
import { podNetworkingNodes, sameZoneNodes } from '../../provider/node/zone-plan.ts';
import { startInformer, type Informer, type InformerLog } from './informer.ts';
import { leanObject } from './lean.ts';
import type { SharedInformer } from './manager.ts';

type PodNetworkingObject = PodNetworking & k8s.KubernetesObject;

export interface PodNetworkingControllerOptions {
  kubeConfig: k8s.KubeConfig;
  custom: k8s.CustomObjectsApi;
  core: k8s.CoreV1Api;
  cloud: Pick<CloudPort, 'describeVSwitches' | 'describeSecurityGroups'>;
  signal: AbortSignal;
  log: InformerLog & { info(msg: string, fields?: Record<string, unknown>): void };
  /** Re-resolve Ready ones this often (vSwitches can be deleted in the cloud). */
  resyncMs?: number;
  /** Re-resolve Fail ones this often. */
  failRetryMs?: number;
  component: string;
  /** The process's event recorder (one correlator); built when absent. */
  events?: KubernetesEventRecorder;
  /** The process's shared PodNetworking informer (the webhook's); without it, one of its own. */
  informer?: Pick<SharedInformer<PodNetworkingObject>, 'subscribe' | 'get' | 'list' | 'synced'>;
  /** Called after every change to the cache (the pod sync waits on PodNetworkings). */
  onChange?: (pn: PodNetworking) => void;
}

export interface PodNetworkingController {
  store: PodNetworkingStore;
  synced: Promise<void>;
  /** From now on, status.virtualNodes follows these nodes (set once the virtual nodes run). */
  setZoneNodes(nodes: ZoneNodeLookup): void;
  /** Re-writes status.virtualNodes of every PodNetworking whose nodes changed. */
  refreshVirtualNodes(): void;
  /** Resolves it again now (e.g. one of its vSwitches was not found by another DescribeVSwitches). */
  resolve(name: string): void;
}

export interface ZoneNodeLookup {
  nodeOfZone(zone: string): string | undefined;
}

export function startPodNetworkingController(o: PodNetworkingControllerOptions): PodNetworkingController {
  const { group, version, plural } = PODNETWORKING_API;
  const resyncMs = o.resyncMs ?? 5 * 60_000;
  const failRetryMs = o.failRetryMs ?? 30_000;
  const events = o.events ?? new KubernetesEventRecorder({ kubeConfig: o.kubeConfig, component: o.component, log: o.log });
  /** The spec each PodNetworking was last resolved with: any change resolves it again. */
  const resolvedSpecs = new Map<string, string>();
  /** PodNetworkings whose security groups could not be checked (warned once until a check works). */
  const warnedUnchecked = new Set<string>();
  const queue = new KeyedWorkQueue<string>({
    concurrency: 4,
    backoffBaseMs: 1_000,
    backoffMaxMs: 60_000,
    // Each resolution is a trace of its own (podnetworking.resolve, with its DescribeVSwitches).
    handle: (name) =>
      inSpan(SPAN.podNetworkingResolve, { root: true, attributes: { [ATTR.podNetworkingName]: name } }, ROOT_CONTEXT, async (span) => {
        const pn = informer.cache.get(name);
        if (pn === undefined) return { kind: 'done' };
        const specKey = JSON.stringify(pn.spec ?? null);
        const [vSwitches, securityGroups] = await Promise.all([
          o.cloud.describeVSwitches(stringsOf(pn.spec?.vSwitchOptions)),
          describeSecurityGroupsOrSkip(o, events, pn, warnedUnchecked),
        ]);
        const status = resolvePodNetworkingStatus({ spec: pn.spec, vSwitches, ...(securityGroups === undefined ? {} : { securityGroups }), now: new Date() });
        resolvedSpecs.set(name, specKey);
        span.setAttributes({ [ATTR.podNetworkingStatus]: status.status, [ATTR.zonesAllowed]: [...new Set((status.vSwitches ?? []).map((v) => v.zone))].sort() });
        if (status.status === 'Fail') span.setStatus({ code: SpanStatusCode.ERROR, message: status.message ?? 'Fail' });
        if (!sameStatus(pn.status, status)) {
          try {
            await o.custom.patchClusterCustomObjectStatus(
              { group, version, plural, name, body: { status } },
              k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
            );
          } catch (err) {
            if (isNotFound(err)) return { kind: 'done' };
            throw err;
          }
          o.log.info('PodNetworking resolved', { podNetworking: name, status: status.status, message: status.message });
          if (status.status === 'Fail') recordEvent(events, pn, EventReason.PodNetworkingFailed, status.message ?? '');
        }
        return { kind: 'requeueAfter', ms: status.status === 'Ready' ? resyncMs : failRetryMs };
      }),
    onError: (name, err, attempt) => o.log.warn('resolving PodNetworking failed; will retry', { podNetworking: name, attempt, error: String(err) }),
  });
  o.signal.addEventListener('abort', () => void queue.shutDown(), { once: true });

  // status.virtualNodes: which of its zones have a node (a merge patch of that field only, so it
  // never races the resolution's fields).
  let zoneNodes: ZoneNodeLookup | undefined;
  const writeVirtualNodes = (pn: PodNetworking): void => {
    if (zoneNodes === undefined) return;
    const want = podNetworkingNodes(pn, (zone) => zoneNodes?.nodeOfZone(zone));
    if (sameZoneNodes(pn.status?.virtualNodes, want)) return;
    o.custom
      .patchClusterCustomObjectStatus(
        { group, version, plural, name: pn.metadata.name, body: { status: { virtualNodes: want.length > 0 ? want : null } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      )
      .catch((err: unknown) => {
        if (!isNotFound(err)) o.log.warn('writing the virtual nodes of a PodNetworking failed', { podNetworking: pn.metadata.name, error: String(err) });
      });
  };
  const changed = (pn: PodNetworking) => {
    if (needsResolve(pn) || resolvedSpecs.get(pn.metadata.name) !== JSON.stringify(pn.spec ?? null)) queue.add(pn.metadata.name);
    writeVirtualNodes(pn);
    o.onChange?.(pn);
  };
  const handlers = {
    onAdd: (pn: PodNetworkingObject) => {
      queue.add(pn.metadata.name); // resolve once at start/creation, whatever the status says
      o.onChange?.(pn);
    },
    onUpdate: changed,
    onDelete: (pn: PodNetworkingObject) => {
      queue.forget(pn.metadata.name);
      resolvedSpecs.delete(pn.metadata.name);
      warnedUnchecked.delete(pn.metadata.name);
    },
  };
  const shared = o.informer;
  const informer: Pick<Informer<PodNetworkingObject>, 'synced'> & { cache: Pick<Informer<PodNetworkingObject>['cache'], 'get' | 'list'> } =
    shared !== undefined
      ? { synced: shared.synced, cache: { get: (name) => shared.get(name), list: () => shared.list() } }
      : startInformer<PodNetworkingObject>({
          kubeConfig: o.kubeConfig,
          path: `/apis/${group}/${version}/${plural}`,
          list: (page) => o.custom.listClusterCustomObject({ group, version, plural, ...page }) as Promise<k8s.KubernetesListObject<PodNetworkingObject>>,
          ...handlers,
          transform: leanObject,
          signal: o.signal,
          log: o.log,
          name: 'podnetworkings',
        });
  // Subscribed only now: the shared informer replays what it holds at once, and the handlers'
  // resolutions read `informer`, which must be assigned by then.
  if (shared !== undefined) shared.subscribe(handlers, o.signal);
  const store: PodNetworkingStore = { get: (name) => informer.cache.get(name), list: () => informer.cache.list() };
  return {
    store,
    synced: informer.synced,
    setZoneNodes: (nodes) => {
      zoneNodes = nodes;
      for (const pn of informer.cache.list()) writeVirtualNodes(pn);
    },
    refreshVirtualNodes: () => {
      for (const pn of informer.cache.list()) writeVirtualNodes(pn);
    },
    resolve: (name) => queue.add(name),
  };
}

/** The string ids of a list from an untrusted spec (validation reports the rest). */
function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

/**
 * The security groups with their VPCs, or undefined when ECS refuses the lookup for good (e.g.
 * Forbidden.RAM: the AccessKey lacks ecs:DescribeSecurityGroups): the PodNetworking is then
 * resolved without that check, and a Warning event says so once, rather than holding back
 * PodNetworkings that worked before the check existed. Transient errors throw (retried).
 */
async function describeSecurityGroupsOrSkip(o: PodNetworkingControllerOptions, events: KubernetesEventRecorder, pn: PodNetworking, warned: Set<string>): Promise<SecurityGroup[] | undefined> {
  const name = pn.metadata.name;
  try {
    const found = await o.cloud.describeSecurityGroups(stringsOf(pn.spec?.securityGroupIDs));
    warned.delete(name);
    return found;
  } catch (err) {
    if (classifyCloudError(err).verdict !== 'terminal') throw err;
    const code = err instanceof CloudError ? err.code : 'Unknown';
    if (!warned.has(name)) {
      warned.add(name);
      const message = `security groups not checked: DescribeSecurityGroups was refused (${code}); grant the AccessKey ecs:DescribeSecurityGroups so a security group in another VPC is caught before any pod is created`;
      o.log.warn('PodNetworking security groups not checked', { podNetworking: name, code });
      recordEvent(events, pn, EventReason.SecurityGroupsUnchecked, message);
    }
    return undefined;
  }
}

function recordEvent(events: KubernetesEventRecorder, pn: PodNetworking, reason: EventReason, message: string): void {
  // Cluster-scoped: the recorder files it in `default`, as kubelet does for its Node.
  events.record(
    { apiVersion: PODNETWORKING_API.apiVersion, kind: PODNETWORKING_API.kind, namespace: '', name: pn.metadata.name, uid: pn.metadata.uid ?? '' },
    { type: 'Warning', reason, message },
  );
}
