// A PodController over in-memory ports for unit tests: a cloud that lists the given groups (and,
// when asked, answers the status poll) and records deletions, a pod cache read through `pods()`, a writer that records status patches, and
// a network planner that records which pods it was asked about (a sync on its way to a create).
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { GROUP_TAGS, type ContainerGroup } from '../../../provider/cloud/model.ts';
import { EventReason } from '../../../provider/events/reasons.ts';
import type { CloudPort, PodLookup } from '../../../provider/ports.ts';
import { PodController } from '../../../provider/pods/controller.ts';
import { GroupIndex } from '../../../provider/pods/group-index.ts';

/** A Running group of pod `default/<pod>` (uid `uid`) in zone i, as the cloud describes it; fields overridable. */
export function runningGroup(o: { id: string; uid: string; pod: string } & Partial<ContainerGroup>): ContainerGroup {
  const { uid, pod, ...fields } = o;
  return {
    name: `default-${pod}`,
    status: 'Running',
    zoneId: 'cn-hangzhou-i',
    vSwitchId: 'vsw-i1',
    securityGroupId: 'sg-1',
    vpcId: 'vpc-1',
    cpu: 1,
    memory: 2,
    containers: [],
    initContainers: [],
    events: [],
    tags: { [GROUP_TAGS.cluster]: 'c1', [GROUP_TAGS.podUid]: uid, [GROUP_TAGS.namespace]: 'default', [GROUP_TAGS.pod]: pod },
    ...fields,
  };
}

/**
 * What the PodSync of these tests share: cluster c1 in cn-hangzhou, every node in zone i, pods
 * that reference no ConfigMap or Secret, a quiet log, a fresh group index.
 */
export function syncDefaults() {
  return {
    inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
    groups: new GroupIndex(),
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    zoneOfNode: () => 'cn-hangzhou-i',
    log: { info: () => {}, warn: () => {}, error: () => {} },
  };
}

/** The container `app` (nginx) as the cloud reports it: Running since `startTime`, else still being created. */
export function appContainer(startTime?: string): ContainerGroup['containers'][number] {
  return startTime === undefined
    ? { name: 'app', image: 'nginx', ready: false, restartCount: 0, currentState: { state: 'Waiting', reason: 'ContainerCreating' } }
    : { name: 'app', image: 'nginx', ready: true, restartCount: 0, currentState: { state: 'Running', startTime } };
}

export function controllerOver(o: {
  groups: ContainerGroup[];
  pods: () => V1Pod[];
  synced?: () => boolean;
  podExists: PodLookup['podExists'];
  list?: CloudPort['listContainerGroups'];
  /** The status poll's question (default: nothing changed). */
  listChanged?: CloudPort['listChangedContainerGroups'];
  describe?: CloudPort['describeContainerGroups'];
  /** Runs before each status patch is recorded; a throw fails that patch (as the apiserver can). */
  beforePatch?: () => Promise<void>;
  /** The controller's log (default: quiet). */
  log?: { info: (msg: string, fields?: Record<string, unknown>) => void; warn: (msg: string, fields?: Record<string, unknown>) => void; error: (msg: string, fields?: Record<string, unknown>) => void };
}) {
  const deleted: string[] = [];
  const statuses: V1PodStatus[] = [];
  const patched: string[] = [];
  const planned: string[] = [];
  const finished: string[] = [];
  /** Every syncPod pass, by its result. */
  const syncs: string[] = [];
  /** Events written, as `pod reason`. */
  const events: string[] = [];
  const cloud = {
    listContainerGroups: o.list ?? (async () => o.groups),
    listChangedContainerGroups: o.listChanged ?? (async () => []),
    describeContainerGroups: o.describe ?? (async (ids: string[]) => o.groups.filter((g) => ids.includes(g.id))),
    deleteContainerGroup: async (id: string) => void deleted.push(id),
  } as unknown as CloudPort;
  const controller = new PodController({
    cloud,
    pods: { get: (ns, name) => o.pods().find((p) => p.metadata?.namespace === ns && p.metadata?.name === name), list: () => o.pods() },
    podsSynced: o.synced ?? (() => true),
    podLookup: { podExists: o.podExists },
    writer: {
      patchPodStatus: async (k, status) => {
        await o.beforePatch?.();
        statuses.push(status);
        patched.push(k.name);
      },
      annotatePod: async () => {},
      finishPodDeletion: async (k: { name: string }) => void finished.push(k.name),
      recordEvent: (k, e) => void events.push(`${k.name} ${e.reason}`),
    },
    inputs: { load: async () => ({ configMaps: {}, secrets: {} }) },
    network: {
      plan: async (pod) => {
        planned.push(pod.metadata?.name ?? '');
        return { kind: 'wait', reason: EventReason.VSwitchesExhausted, message: 'no free IP', retryAfterMs: 1000 };
      },
      noteExhausted: () => {},
      noteAllocated: () => {},
    },
    clusterId: 'c1',
    regionId: 'cn-hangzhou',
    zoneOfNode: () => 'cn-hangzhou-i',
    log: o.log ?? { info: () => {}, warn: () => {}, error: () => {} },
    workers: 1,
    statusPollIntervalMs: 60_000,
    resyncIntervalMs: 60_000,
    orphanGracePeriodMs: 0,
    backoffBaseMs: 10,
    backoffMaxMs: 100,
    metrics: { podSync: (r) => void syncs.push(r.result), podBoundToRunning: () => {}, podStatusWrite: () => {} },
  });
  return { controller, deleted, statuses, patched, planned, finished, syncs, events };
}

/** Waits (5 s at most) until `done()` holds and the controller's queue has nothing in flight. */
export async function settle(controller: PodController, what: string, done: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done() || controller.queue.inFlight > 0 || controller.queue.depth > 0) {
    if (Date.now() > deadline) throw new Error(`TEST_DEADLINE: ${what} within 5 s; queue depth ${controller.queue.depth}, in flight ${controller.queue.inFlight}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
