// syncPod: load -> plan -> act -> report, for one pod key. At most one cloud write and one
// Kubernetes write per step; killing the process at any line and running it again creates no
// second container group (ClientToken = pod UID, groups found again by their pod-UID tag).
import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';
import type { V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';
import { classifyCloudError, CloudError, CloudErrorCode, errorCodeIs } from '../cloud/errors.ts';
import { GROUP_TAGS, type ContainerGroup } from '../cloud/model.ts';
import { cloudEventSummary, lostPodStatus, onlyRestatesPending, podStatusChanged, podStatusFromGroup } from '../eci/status.ts';
import { EventReason, foreignReason, isEventReason, type AnyEventReason } from '../events/reasons.ts';
import type { ClusterDns } from '../eci/cluster-dns.ts';
import { translatePod, TranslationError } from '../eci/translate.ts';
import type { CloudPort, Logger, NetworkDecision, NetworkPlanner, PodInputsLoader, PodKey, PodLookup, PodStore, PodSyncMetrics, PodWriter } from '../ports.ts';
import { ANNOTATIONS } from '../networking/constants.ts';
import { rescheduleWhenExhausted } from '../networking/networks.ts';
import { POD_ANNOTATIONS, PROVISIONED_CONDITION } from './annotations.ts';
import type { GroupIndex } from './group-index.ts';
import { DescribeBatcher } from './describe-batch.ts';
import { LEAVE_TO_POLLER_MS, LOOK_BATCH_WINDOW_MS, StartLookTimer, type StartLookOptions } from './start-look.ts';
import { PodMemories, REFUSAL_RECHECK_MS, refusalKey, type PodMemory } from './memory.ts';
import { createOutcome, DELETION_POLL_MS, planCreateFailure, planPod, recordedGroupId, type CreateFailureInputs, type PodPlan } from './plan.ts';
import type { ContainerGroupRequest } from '../eci/request.ts';
import type { SyncResult, WorkContext } from './workqueue.ts';
import { injectTraceContext, podTraceContext } from '../telemetry/context.ts';
import { nowMs, withSpanIds } from '../telemetry/ids.ts';
import { ATTR, parseStepTimings, podAttributes, SPAN, SPAN_EVENT, STEP_TIMINGS_ANNOTATION, TRACE_CONTEXT_ANNOTATION, type StepTimings } from '../telemetry/names.ts';
import { inSpan, recordSpan, tracer } from '../telemetry/spans.ts';

// The ports the sync uses live in provider/ports.ts; re-exported for existing importers.
export type { Logger, NetworkDecision, NetworkPlanner, PodSyncMetrics } from '../ports.ts';

export interface PodSyncOptions {
  cloud: CloudPort;
  pods: PodStore;
  /** The apiserver's word before a group is deleted because its pod left the cache. */
  podLookup: PodLookup;
  writer: PodWriter;
  inputs: PodInputsLoader;
  network: NetworkPlanner;
  groups: GroupIndex;
  clusterId: string;
  regionId: string;
  /**
   * Cluster DNS for ClusterFirst pods, read at each create (--cluster-dns, else the kube-dns
   * Service as the informer sees it now); absent or undefined = the VPC's DNS.
   */
  clusterDNS?: () => ClusterDns | undefined;
  /**
   * Process-wide translation warnings already reported (by field): shared by every PodSync of the
   * process, so a new leadership does not report them again. Default: this PodSync's own set.
   */
  processWarnings?: Set<string>;
  zoneOfNode: (nodeName: string) => string | undefined;
  now?: () => Date;
  log: Logger;
  metrics?: PodSyncMetrics;
  /** Per-pod memory, shared with the controller (which forgets a pod that left the cache). */
  memory?: PodMemories;
  /** How soon a just-created group is looked up by id (default DEFAULT_START_LOOK). */
  startLook?: Partial<StartLookOptions>;
  /** Syncs the pod again soon (a look at its new group answered); default: none, its requeueAfter brings it. */
  wake?: (uid: string) => void;
}

/** Normal ECI events of a pod that only restates Pending wait at most this long to be folded with later ones. */
export const CLOUD_EVENT_HOLD_MS = 10_000;

/**
 * The provider's annotations of a pod whose group only restates Pending wait at most this long to
 * ride on the status patch that reports the group (one write instead of two); then they go alone.
 */
export const ANNOTATION_HOLD_MS = 10_000;

/**
 * A pod whose look at its new group is under way comes back after this unless the answer wakes it
 * first (it does, through `wake`; the default only bounds a missed wake-up).
 */
export const LOOK_ANSWER_WAIT_MS = 1_000;

/** How soon a pod missing from the cache but present at the apiserver is looked at again. */
export const POD_GONE_RECHECK_MS = 30_000;

/** How long a status this process wrote counts as on the pod while the cache does not show it yet. */
export const STATUS_ECHO_MS = 30_000;

/** How long a deletion this process finished is taken as done while the cache still shows the pod. */
export const FINISHED_DELETION_MS = 2 * 60_000;

/** At most this many `pod.wait.retry` events on one `pod.wait` span (`eci_vn.wait.retries` counts them all). */
export const MAX_WAIT_EVENTS = 10;

const NO_METRICS: PodSyncMetrics = { podBoundToRunning: () => {}, podStatusWrite: () => {} };

export const podKeyString = (key: PodKey): string => `${key.namespace}/${key.name}/${key.uid}`;

export function podKeyOf(pod: V1Pod): PodKey {
  return { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
}

export class PodSync {
  private readonly o: Required<PodSyncOptions>;
  /** Everything remembered per pod UID between passes; `forget(uid)` once the pod is gone. */
  readonly memory: PodMemories;
  /** Fresh looks at single groups, shared by the syncs of one moment (one call per 20 ids). */
  private readonly describer: DescribeBatcher;
  /** When to look at a group just created (learned from when recent ones were first listed). */
  private readonly looks: StartLookTimer;
  /** Those looks, batched over a longer window than the describer's (they come at the create rate). */
  private readonly lookDescriber: DescribeBatcher;
  /** Start looks whose answer has not come yet (capped: StartLookOptions.maxInFlight). */
  private looksInFlight = 0;
  /** When this process began syncing pods (epoch ms; see beginSyncing). */
  private syncingSince: number | undefined;
  /**
   * Pods whose Pod object this process deleted (gracePeriodSeconds=0) with their group gone, and
   * when (epoch ms, oldest first). The apiserver's last MODIFIED before DELETED still shows such a
   * pod; its sync is nothing to do (no fresh look, no second DELETE). Kept FINISHED_DELETION_MS,
   * so a pod that never leaves the cache (a finalizer holds it) is looked at again after that.
   */
  private readonly finishedDeletions = new Map<string, number>();

  constructor(options: PodSyncOptions) {
    this.o = { now: () => new Date(), clusterDNS: () => undefined, processWarnings: new Set<string>(), metrics: NO_METRICS, memory: new PodMemories(), startLook: {}, wake: () => {}, ...options };
    this.memory = this.o.memory;
    this.describer = new DescribeBatcher({ cloud: this.o.cloud });
    this.looks = new StartLookTimer(options.startLook);
    this.lookDescriber = new DescribeBatcher({ cloud: this.o.cloud, windowMs: LOOK_BATCH_WINDOW_MS });
  }

  /**
   * This process begins syncing pods now (the controller's start: a restart, a new leader). The
   * start-up list adopts groups without their events, so the first look that brings them (a
   * deletion's fresh look, a container restart) would find every adopted group's past events
   * unrecorded and write them again, one new Event per pod. So for a group older than this moment,
   * not created by this process, whose pod names it (an earlier process reported it), Normal ECI
   * events from before this moment count as recorded. Warnings, and events without a time, are
   * always written (one may be written twice across a restart, none is lost).
   */
  beginSyncing(): void {
    this.syncingSince = this.o.now().getTime();
  }

  /**
   * `work` moves the run to the queue's create lane before a create, and to its write lane before
   * a status PATCH or a lone annotation write (absent: all in place).
   */
  async syncPod(key: PodKey, work?: WorkContext): Promise<SyncResult> {
    const pod = this.o.pods.get(key.namespace, key.name);
    if (pod === undefined || pod.metadata?.uid !== key.uid) return this.podGone(key);

    // load
    const deleting = pod.metadata?.deletionTimestamp != null;
    if (deleting && this.finishedRecently(key.uid)) return { kind: 'done' };
    // When the watch first delivered the pod on one of our nodes (PodController.enqueue notes it
    // first): the end of `pod.schedule`.
    if (!deleting && pod.spec?.nodeName && pod.status?.phase !== 'Running') this.memory.of(key.uid).boundSeenAt ??= nowMs();
    this.forgetEchoedWrites(key.uid, pod);
    const createdId = this.o.groups.createdFor(key.uid);
    if (this.o.groups.forPod(key.uid) !== undefined) this.lookEndedByPoller(key.uid);
    if (!deleting && this.o.groups.forPod(key.uid) === undefined && createdId !== undefined) {
      // Created moments ago: look it up when the cloud should list it (else the poller brings it).
      return this.lookAtCreated(key.uid, createdId);
    }
    // A pod being deleted waits for its group to be gone: only a fresh answer from the cloud says so.
    const group = await this.loadGroup(pod, deleting);
    const recorded = recordedGroupId(pod);
    const recordedGroupConfirmedGone = group === undefined && recorded !== undefined;
    const desiredStatus = group === undefined || deleting ? undefined : podStatusFromGroup({ group, pod, now: this.o.now() });
    // A patch that changes nothing, or only restates "Pending, being created", is not written.
    const restatesPending = desiredStatus !== undefined && onlyRestatesPending(pod.status ?? {}, desiredStatus);
    const statusChanged = desiredStatus !== undefined && !restatesPending && podStatusChanged(pod.status ?? {}, desiredStatus) && !this.alreadyWritten(key.uid, pod, desiredStatus);
    const requestedAt = this.memory.peek(key.uid)?.deleteRequestedAt;
    const deleteRequestedAt = requestedAt === undefined ? undefined : new Date(requestedAt);

    // plan
    const createdAtMs = this.memory.peek(key.uid)?.createdAt;
    const plan = planPod({
      pod,
      group,
      recordedGroupConfirmedGone,
      desiredStatus,
      statusChanged,
      ...(deleteRequestedAt === undefined ? {} : { deleteRequestedAt }),
      ...(createdAtMs === undefined ? {} : { createdAtMs }),
      now: this.o.now(),
    });

    // act + report. The provider's annotations ride on the status patch when there is one (the
    // status subresource takes metadata too); alone only when no status write comes soon.
    const annotations = group !== undefined && !deleting ? this.annotationsToRecord(key.uid, pod, group) : undefined;
    if (annotations !== undefined && plan.kind !== 'report-status' && !this.holdAnnotations(key.uid, restatesPending)) {
      // Only when nothing else follows: a lane's run should not go on to the cloud.
      if (plan.kind === 'nothing') await work?.enterWriteLane();
      await this.annotate(key, annotations);
    }
    if (group !== undefined) this.reportCloudEvents(key, group, restatesPending, recorded === group.id);
    return this.act(key, pod, group, plan, work, plan.kind === 'report-status' ? annotations : undefined);
  }

  /**
   * A group this process created and has not seen described: looked up by id (batched) at the
   * times StartLookTimer gives. No worker waits for the answer (it comes after the batch window,
   * and looks come at the create rate): the answer puts a found group in the index and wakes the
   * pod, whose next pass goes on with it or plans the next look.
   */
  private lookAtCreated(uid: string, groupId: string): SyncResult {
    const look = this.memory.peek(uid)?.startLook;
    // Created by an earlier pass this process does not time (should not happen): the poller's turn.
    if (look === undefined) return { kind: 'requeueAfter', ms: LEAVE_TO_POLLER_MS };
    if (look.inFlight === true) return { kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS };
    const at = this.o.now().getTime();
    const plan = this.looks.plan({ sinceCreateMs: at - look.createdAt, looks: look.looks, firstLookMs: look.firstLookMs, inFlight: this.looksInFlight, ...(look.lastAt === undefined ? {} : { sinceLastLookMs: at - look.lastAt }) });
    if (plan.kind === 'requeueAfter') return plan;
    // The look before this one (if any) missed: if this one finds the group, the lag lies between.
    const lastMissAt = look.lastAt;
    look.looks++;
    look.lastAt = at;
    look.inFlight = true;
    this.looksInFlight++;
    const answered = (found: ContainerGroup | undefined): void => {
      look.inFlight = false;
      this.looksInFlight--;
      if (found === undefined) {
        // Not listed yet (the cloud's List/Describe lag; a failed call counts the same): the next
        // pass looks again a retry after this look, or leaves the group to the poller.
        if (this.looks.lastLook(look.looks) && look.noted !== true) {
          look.noted = true;
          this.looks.note({ kind: 'missed', lastMissMs: at - look.createdAt });
        }
      } else {
        this.noteFound(look, at, lastMissAt);
        const memory = this.memory.peek(uid);
        if (memory?.startLook === look) memory.startLook = undefined;
        // Unless the pod moved on meanwhile (gone, or another group the index holds).
        if (this.o.groups.createdFor(uid) === groupId) this.o.groups.put(found);
      }
      this.o.wake(uid);
    };
    this.lookDescriber.describe(groupId).then(answered, () => answered(undefined));
    return { kind: 'requeueAfter', ms: LOOK_ANSWER_WAIT_MS };
  }

  /**
   * The status poller described the group before the looks found it: it was listed by now (an
   * upper bound on the lag, like a look that found it). Noted once; the looks end.
   */
  private lookEndedByPoller(uid: string): void {
    const memory = this.memory.peek(uid);
    const look = memory?.startLook;
    if (memory === undefined || look === undefined) return;
    memory.startLook = undefined;
    // A look in flight answers after this: noteFound keeps it from noting the pod a second time.
    this.noteFound(look, this.o.now().getTime(), look.lastAt);
  }

  /**
   * The group was listed by `at` (a look found it, or the poller did), not yet at `lastMissAt` (a
   * look that missed): one sighting per pod in the lag estimate.
   */
  private noteFound(look: NonNullable<PodMemory['startLook']>, at: number, lastMissAt: number | undefined): void {
    if (look.noted === true) return;
    look.noted = true;
    const lastMissMs = lastMissAt === undefined ? undefined : lastMissAt - look.createdAt;
    this.looks.note({ kind: 'found', foundMs: at - look.createdAt, plannedMs: look.firstLookMs, ...(lastMissMs === undefined ? {} : { lastMissMs }) });
  }

  private noteFinishedDeletion(uid: string): void {
    const now = this.o.now().getTime();
    for (const [old, at] of this.finishedDeletions) {
      if (now - at < FINISHED_DELETION_MS) break;
      this.finishedDeletions.delete(old);
    }
    // Deleted first, so the map stays in time order (set keeps an existing key's place).
    this.finishedDeletions.delete(uid);
    this.finishedDeletions.set(uid, now);
  }

  private finishedRecently(uid: string): boolean {
    const at = this.finishedDeletions.get(uid);
    return at !== undefined && this.o.now().getTime() - at < FINISHED_DELETION_MS;
  }

  /** Called when a pod leaves the cache entirely (e.g. force-deleted): its group must go too. */
  private async podGone(key: PodKey): Promise<SyncResult> {
    this.finishedDeletions.delete(key.uid);
    const groupId = this.o.groups.forPod(key.uid)?.id ?? this.o.groups.createdFor(key.uid);
    if (groupId === undefined) {
      this.memory.forget(key.uid);
      return { kind: 'done' };
    }
    // A cache can lose a pod that exists (a node's informer stopped or re-listing): deleting the
    // group then kills a running pod. Only the apiserver's answer deletes it.
    if (await this.o.podLookup.podExists(key)) {
      this.o.log.warn('a pod left the cache but exists at the apiserver; its container group is kept', { pod: podKeyString(key), containerGroupId: groupId });
      return { kind: 'requeueAfter', ms: POD_GONE_RECHECK_MS };
    }
    this.memory.forget(key.uid);
    const attributes: Attributes = { [ATTR.podName]: key.name, [ATTR.namespaceName]: key.namespace, [ATTR.podUid]: key.uid, [ATTR.syncPlan]: 'pod-gone', [ATTR.containerGroupId]: groupId };
    return inSpan(SPAN.podDelete, { root: true, attributes }, ROOT_CONTEXT, async () => {
      await this.o.cloud.deleteContainerGroup(groupId);
      this.o.groups.forget(key.uid);
      this.o.log.info('deleted the group of a pod that no longer exists', { pod: podKeyString(key), containerGroupId: groupId });
      return { kind: 'done' } as const;
    });
  }

  /**
   * The context of the pod's provisioning trace: its root `pod.provision` (named by the
   * traceparent annotation, or begun by this process). Undefined when the pod carries none, or
   * once the root was recorded (Running, refused, deleted).
   */
  private provisioningParent(pod: V1Pod): Context | undefined {
    const memory = this.memory.of(pod.metadata?.uid ?? '');
    if (memory.traceEnded) return undefined;
    if (memory.provisioning !== undefined) return memory.provisioning;
    // ROOT_CONTEXT as the base: never inherit whatever span happens to be active in the queue.
    const fromPod = podTraceContext(pod, ROOT_CONTEXT);
    if (trace.getSpanContext(fromPod) === undefined) return undefined;
    memory.provisioning = fromPod;
    return fromPod;
  }

  private forgetTrace(uid: string): void {
    const memory = this.memory.peek(uid);
    if (memory === undefined) return;
    memory.provisioning = undefined;
    memory.createdAt = undefined;
  }

  /** The step timings of the pod: what is on it (webhook, an earlier process) and what this process measured. */
  private stepTimings(pod: V1Pod): StepTimings {
    return { ...parseStepTimings(pod.metadata?.annotations?.[STEP_TIMINGS_ANNOTATION]), ...this.memory.peek(pod.metadata?.uid ?? '')?.timings };
  }

  private noteTiming(uid: string, timings: StepTimings): void {
    const memory = this.memory.of(uid);
    memory.timings = { ...memory.timings, ...timings };
  }

  /**
   * `pod.schedule`: admission (else creation) -> bound to the node, once per pod. The bind time is
   * when this process's watch first delivered the pod on its node; a pod seen long after its
   * PodScheduled transition (a restart) uses that condition's time (1 s resolution).
   */
  private recordSchedule(pod: V1Pod, parent: Context | undefined): void {
    const uid = pod.metadata?.uid ?? '';
    const memory = this.memory.of(uid);
    const timings = this.stepTimings(pod);
    if (memory.scheduleRecorded || timings.bound !== undefined) return;
    memory.scheduleRecorded = true;
    const start = timings.admitted ?? toMs(pod.metadata?.creationTimestamp);
    const condition = boundAt(pod);
    const seen = memory.boundSeenAt;
    let bound = seen !== undefined && (condition === undefined || seen - condition < 2_000) ? seen : condition;
    if (start === undefined || bound === undefined) return;
    bound = Math.max(start, bound);
    // The step timing also without a trace (the bench's step breakdown reads it).
    this.noteTiming(uid, { bound });
    if (parent === undefined) return;
    recordSpan(
      SPAN.podSchedule,
      { startTime: start, endTime: bound, attributes: { ...podAttributes(pod), [ATTR.boundAt]: new Date(bound).toISOString() } },
      parent,
    );
  }

  /** Ends the wait episode in progress: ONE `pod.wait` span with its reason and the first retries as events. */
  private endWait(pod: V1Pod, parent: Context | undefined): void {
    const uid = pod.metadata?.uid ?? '';
    const memory = this.memory.peek(uid);
    const wait = memory?.wait;
    if (memory === undefined || wait === undefined) return;
    memory.wait = undefined;
    const end = nowMs();
    this.noteTiming(uid, { waitedMs: (memory.timings?.waitedMs ?? this.stepTimings(pod).waitedMs ?? 0) + (end - wait.since) });
    if (parent === undefined) return;
    recordSpan(
      SPAN.podWait,
      {
        startTime: wait.since,
        endTime: end,
        attributes: { ...podAttributes(pod), [ATTR.waitReason]: wait.reason, [ATTR.waitMessage]: wait.message, [ATTR.waitRetries]: wait.retries },
      },
      parent,
      (span) => {
        for (const e of wait.events) span.addEvent(SPAN_EVENT.waitRetry, { [ATTR.waitReason]: e.reason, [ATTR.waitMessage]: e.message }, e.at);
      },
    );
  }

  /**
   * Records the root `pod.provision` with the ids the trace began with: from admission (else the
   * pod's creation) to now (Running, a refusal for good, or the deletion). Once per pod and process.
   */
  private endProvisioning(pod: V1Pod, outcome: { attributes?: Attributes; error?: string }): void {
    const uid = pod.metadata?.uid ?? '';
    const memory = this.memory.of(uid);
    const parent = memory.provisioning ?? this.provisioningParent(pod);
    if (memory.traceEnded || parent === undefined) return;
    this.endWait(pod, parent);
    memory.traceEnded = true;
    const spanContext = trace.getSpanContext(parent);
    if (spanContext === undefined || (spanContext.traceFlags & 1) === 0) return;
    const end = nowMs();
    const timings = this.stepTimings(pod);
    const start = Math.min(timings.admitted ?? toMs(pod.metadata?.creationTimestamp) ?? end, end);
    const span = withSpanIds({ traceId: spanContext.traceId, spanId: spanContext.spanId }, () =>
      tracer().startSpan(SPAN.podProvision, { root: true, startTime: start, attributes: { ...podAttributes(pod), [ATTR.cloudRegion]: this.o.regionId, ...outcome.attributes } }, ROOT_CONTEXT),
    );
    if (outcome.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
    span.end(end);
  }

  /** A link from the deletion trace to the pod's provisioning trace, when the pod carries one. */
  private provisioningLinks(pod: V1Pod): Link[] {
    const spanContext = trace.getSpanContext(podTraceContext(pod, ROOT_CONTEXT)) ?? trace.getSpanContext(this.memory.peek(pod.metadata?.uid ?? '')?.provisioning ?? ROOT_CONTEXT);
    return spanContext === undefined ? [] : [{ context: spanContext }];
  }

  private async loadGroup(pod: V1Pod, fresh: boolean): Promise<ContainerGroup | undefined> {
    const uid = pod.metadata?.uid ?? '';
    const known = this.o.groups.forPod(uid);
    const recorded = recordedGroupId(pod);
    // The pod records another group than the index holds (two groups of one pod): the recorded
    // one carries the pod's IP; the other is the collector's (surplusGroups).
    if (known !== undefined && recorded !== undefined && recorded !== known.id) {
      const mine = await this.describer.describe(recorded);
      if (mine !== undefined) {
        this.o.groups.put(mine, { replace: true });
        return mine;
      }
    }
    if (known !== undefined && !fresh) return known;
    const id = known?.id ?? recorded ?? this.o.groups.createdFor(uid);
    if (id === undefined) return undefined;
    // The pod names a group we have not seen described: ask the cloud. A failed call throws
    // (retry); an empty answer from a successful call is the only "gone".
    const found = await this.describer.describe(id);
    if (found !== undefined) this.o.groups.put(found);
    else if (fresh) this.o.groups.forget(uid);
    return found;
  }

  private async act(key: PodKey, pod: V1Pod, group: ContainerGroup | undefined, plan: PodPlan, work: WorkContext | undefined, annotations: Record<string, string> | undefined): Promise<SyncResult> {
    switch (plan.kind) {
      case 'nothing':
        return { kind: 'done' };
      case 'report-status':
        // The PATCH waits on the apiserver (seconds when it is loaded): in the write lane, not on a worker.
        await work?.enterWriteLane();
        return this.reportStatus(key, pod, group, plan.status, annotations);
      case 'delete-group': {
        const links = this.provisioningLinks(pod);
        // Deleted while being provisioned: the provisioning trace ends here.
        if ((pod.status?.phase ?? 'Pending') === 'Pending') this.endProvisioning(pod, { attributes: { [ATTR.syncResult]: 'deleted' } });
        this.forgetTrace(key.uid);
        const attributes: Attributes = { ...podAttributes(pod), [ATTR.syncPlan]: plan.kind, [ATTR.containerGroupId]: plan.containerGroupId };
        return inSpan(SPAN.podDelete, { root: true, attributes, links }, ROOT_CONTEXT, async () => {
          await this.o.cloud.deleteContainerGroup(plan.containerGroupId);
          this.memory.of(key.uid).deleteRequestedAt = this.o.now().getTime();
          // The Pod object stays until the group is gone (or the grace period is over): look again soon.
          return { kind: 'requeueAfter', ms: DELETION_POLL_MS } as const;
        });
      }
      case 'await-group-gone':
        return { kind: 'requeueAfter', ms: plan.retryAfterMs };
      case 'finish-deletion': {
        const attributes: Attributes = { ...podAttributes(pod), [ATTR.syncPlan]: plan.kind };
        if (group !== undefined) attributes[ATTR.containerGroupId] = group.id;
        return inSpan(SPAN.podDelete, { root: true, attributes, links: this.provisioningLinks(pod) }, ROOT_CONTEXT, async () => {
          await this.o.writer.finishPodDeletion(key);
          this.o.log.info('finished the deletion of a pod', { pod: podKeyString(key), why: plan.why });
          this.memory.forget(key.uid);
          if (group === undefined) {
            this.o.groups.forget(key.uid);
            this.noteFinishedDeletion(key.uid);
          }
          return { kind: 'done' } as const;
        });
      }
      case 'await-group-visible':
        return { kind: 'requeueAfter', ms: plan.retryAfterMs };
      case 'mark-lost': {
        // Once per vanished group: the cache may not show our Failed patch at the next pass.
        const memory = this.memory.of(key.uid);
        if (memory.markedLost === plan.containerGroupId) return { kind: 'done' };
        const message = `container group ${plan.containerGroupId} no longer exists in ECI (deleted outside Kubernetes, expired, or released); the pod is marked Failed`;
        // A repeat (after a failed PATCH) bumps the same Event's count.
        this.o.writer.recordEvent(key, { type: 'Warning', reason: EventReason.ProviderFailed, message });
        await work?.enterWriteLane();
        await this.o.writer.patchPodStatus(key, lostPodStatus({ pod, containerGroupId: plan.containerGroupId, now: this.o.now() }));
        // Noted once written: a PATCH that failed is retried by the next pass.
        memory.markedLost = plan.containerGroupId;
        return { kind: 'done' };
      }
      case 'create':
        return this.create(key, pod, work);
    }
  }

  /**
   * The status patch. While the pod is being provisioned (not Running yet) it is a span of the
   * provisioning trace; the first Running ends that trace with `pod.wait_running` and records
   * the bound->Running time. Later patches (restarts, completion) are not traced.
   */
  private async reportStatus(key: PodKey, pod: V1Pod, group: ContainerGroup | undefined, status: V1PodStatus, annotations: Record<string, string> | undefined): Promise<SyncResult> {
    const previousPhase = pod.status?.phase;
    const provisioningPhase = previousPhase === undefined || previousPhase === 'Pending';
    const parent = provisioningPhase ? this.provisioningParent(pod) : undefined;
    const firstRunning = status.phase === 'Running' && previousPhase !== 'Running';
    const runningAt = nowMs();
    // The step timings ride on the status patch that writes the first Running (no write of their
    // own), with the provider's other annotations when this patch is the group's first report.
    let rideAlong = annotations;
    if (firstRunning && provisioningPhase) {
      this.noteTiming(key.uid, { running: runningAt });
      rideAlong = { ...annotations, [STEP_TIMINGS_ANNOTATION]: formatStepTimings(this.stepTimings(pod)) };
    }
    const patch = async (): Promise<void> => {
      const sent = nowMs();
      try {
        await this.o.writer.patchPodStatus(key, status, rideAlong);
      } finally {
        this.o.metrics.podStatusWrite(nowMs() - sent);
      }
      this.memory.of(key.uid).statusWritten = { status, at: this.o.now().getTime() };
      if (rideAlong !== undefined) this.annotationsWritten(key.uid, rideAlong);
    };
    if (parent === undefined) await patch();
    else await inSpan(SPAN.podStatusPatch, { attributes: { ...podAttributes(pod), ...statusAttributes(status, group) } }, parent, patch);

    const nowMsWall = this.o.now().getTime();
    if (firstRunning) this.firstRunning(key, pod, group, status, parent, nowMsWall, runningAt);
    else if (status.phase === 'Succeeded' || status.phase === 'Failed') {
      if (parent !== undefined) this.endProvisioning(pod, { attributes: statusAttributes(status, group), ...(status.phase === 'Failed' ? { error: `pod ${status.phase}: ${status.reason ?? ''}` } : {}) });
      this.forgetTrace(key.uid);
    }
    return { kind: 'done' };
  }

  private firstRunning(key: PodKey, pod: V1Pod, group: ContainerGroup | undefined, status: V1PodStatus, parent: Context | undefined, nowMsWall: number, runningAt: number): void {
    const memory = this.memory.of(key.uid);
    if (!memory.runningRecorded) {
      memory.runningRecorded = true;
      const bound = boundAt(pod);
      // The trace id goes with the observation: the histogram's exemplar links to this trace.
      const traceId = parent === undefined ? undefined : trace.getSpanContext(parent)?.traceId;
      if (bound !== undefined) this.o.metrics.podBoundToRunning(Math.max(0, nowMsWall - bound), traceId);
    }
    if (parent !== undefined) {
      const running = { ...pod, status: { ...pod.status, ...status } };
      // From the create (this process's own clock, else the cloud's creation time) to the first Running seen.
      const created = memory.createdAt ?? toMs(group?.creationTime) ?? toMs(pod.metadata?.creationTimestamp) ?? runningAt;
      recordSpan(SPAN.podWaitRunning, { startTime: Math.min(created, runningAt), endTime: runningAt, attributes: { ...podAttributes(running), ...statusAttributes(status, group) } }, parent);
      this.endProvisioning(running, { attributes: { ...statusAttributes(status, group), [ATTR.syncResult]: 'done' } });
    }
    this.forgetTrace(key.uid);
  }

  private async create(key: PodKey, pod: V1Pod, work: WorkContext | undefined): Promise<SyncResult> {
    const uid = key.uid;
    const memory = this.memory.of(uid);
    let root = this.provisioningParent(pod);
    if (root === undefined && !memory.traceEnded) {
      // No traceparent annotation (webhook off or bypassed): this process begins the trace. Its
      // root is opened now and recorded when the provisioning ends (see endProvisioning).
      const probe = tracer().startSpan(SPAN.podProvision, { root: true }, ROOT_CONTEXT);
      if (probe.isRecording()) {
        root = trace.setSpan(ROOT_CONTEXT, probe);
        memory.provisioning = root;
        memory.startedTrace = true;
      }
    }
    // After the root was recorded (a refusal retried later) nothing more goes into the trace.
    const parent = memory.traceEnded || root === undefined ? unrecorded(root) : root;
    if (!memory.traceEnded) this.recordSchedule(pod, root);

    if (memory.wait !== undefined) {
      // A retry of a waiting pod: decided without spans (they would pile up at every retry), as
      // an event of the wait. The attempt that ends the wait is recorded whole, below.
      const nodeName = pod.spec?.nodeName ?? '';
      const zone = this.o.zoneOfNode(nodeName);
      const quiet = unrecorded(parent);
      const peek: NetworkDecision =
        zone === undefined
          ? { kind: 'wait', reason: EventReason.NodeUnknown, message: `node ${nodeName} is not a virtual node of this provider (yet)`, retryAfterMs: 5_000 }
          : await context.with(quiet, () => this.o.network.plan(pod, zone));
      if (peek.kind === 'wait') return context.with(quiet, () => this.waitWith(key, pod, peek.reason, peek.message, peek.retryAfterMs));
      this.endWait(pod, root !== undefined && !memory.traceEnded ? root : undefined);
    }

    const attributes: Attributes = { ...podAttributes(pod), [ATTR.syncPlan]: 'create', [ATTR.cloudRegion]: this.o.regionId };
    return inSpan(SPAN.podCreate, { attributes }, parent, async (span) => {
      const result = await this.provision(key, pod, span, memory.startedTrace === true, work);
      span.setAttribute(ATTR.syncResult, result.kind === 'done' ? 'done' : 'requeue');
      return result;
    });
  }

  private async provision(key: PodKey, pod: V1Pod, span: Span, startedTrace: boolean, work: WorkContext | undefined): Promise<SyncResult> {
    const createStarted = nowMs();
    const nodeName = pod.spec?.nodeName ?? '';
    const zone = this.o.zoneOfNode(nodeName);
    if (zone === undefined) {
      return this.waitWith(key, pod, EventReason.NodeUnknown, `node ${nodeName} is not a virtual node of this provider (yet)`, 5_000);
    }
    span.setAttribute(ATTR.cloudAvailabilityZone, zone);
    const network = await this.o.network.plan(pod, zone);
    if (network.kind !== 'ready') {
      span.setAttribute(ATTR.waitReason, network.reason);
      if (network.kind === 'refuse') span.setStatus({ code: SpanStatusCode.ERROR, message: `${network.reason}: ${network.message}` });
    }
    if (network.kind === 'wait' && network.reason === EventReason.VSwitchesExhausted) {
      const decision = rescheduleWhenExhausted({ pod, annotation: pod.metadata?.annotations?.[POD_ANNOTATIONS.rescheduleWhenExhaustedAfter], now: this.o.now() });
      if (decision.kind === 'delete') {
        this.o.writer.recordEvent(key, { type: 'Normal', reason: EventReason.Descheduled, message: decision.message });
        this.o.log.info('deleting a pod stuck in an exhausted zone (opt-in)', { pod: podKeyString(key), message: decision.message });
        await this.o.writer.finishPodDeletion(key);
        return { kind: 'done' };
      }
      const retryAfterMs = decision.kind === 'wait' ? Math.min(network.retryAfterMs, Math.max(1, decision.afterMs)) : network.retryAfterMs;
      return this.waitWith(key, pod, network.reason, network.message, retryAfterMs);
    }
    if (network.kind === 'wait') return this.waitWith(key, pod, network.reason, network.message, network.retryAfterMs);
    if (network.kind === 'refuse') return this.refuse(key, pod, network.reason, network.message);
    const networkChosen = nowMs();
    span.setAttributes({ [ATTR.vSwitchId]: network.vSwitchId, [ATTR.securityGroupId]: network.securityGroupId, [ATTR.vSwitchReason]: network.reason });
    if (network.vSwitchCidr !== undefined) span.setAttribute(ATTR.vSwitchCidr, network.vSwitchCidr);
    if (network.podNetworking !== undefined) span.setAttribute(ATTR.podNetworkingName, network.podNetworking);

    // A create refused for good is not sent again until the pod or its network changes: the
    // condition and the event are already on the pod, and the same request would fail the same way.
    const memory = this.memory.of(key.uid);
    // The key (a digest of the pod's spec, labels and annotations) only when a refusal is
    // remembered or made: most creates never need it.
    let attemptKey: string | undefined;
    const attempt = (): string => (attemptKey ??= refusalKey(pod, network));
    if (memory.refusal !== undefined && memory.refusal.key === attempt() && this.o.now().getTime() - memory.refusal.at < REFUSAL_RECHECK_MS) {
      span.setAttribute(ATTR.waitReason, memory.refusal.reason);
      return { kind: 'done' };
    }

    const resolved = await this.o.inputs.load(pod);
    let translated: ReturnType<typeof translatePod>;
    const clusterDns = this.o.clusterDNS();
    try {
      translated = translatePod({
        pod,
        network: { zoneId: network.zoneId, vSwitchIds: [network.vSwitchId], securityGroupId: network.securityGroupId },
        resolved,
        cluster: { clusterId: this.o.clusterId, nodeName, regionId: this.o.regionId, ...(clusterDns === undefined ? {} : { dns: clusterDns }) },
      });
    } catch (err) {
      if (!(err instanceof TranslationError)) throw err;
      if (!err.retryable) return this.refuse(key, pod, err.code, err.message, attempt());
      // A missing ConfigMap/Secret may be created later: say so on the pod, retry with backoff.
      await this.setProvisionedCondition(key, pod, err.code, err.message, 'Warning');
      throw err;
    }
    if (!memory.warned) {
      memory.warned = true;
      for (const warning of translated.warnings) {
        const message = `${warning.field}: ${warning.message}`;
        if (warning.scope === 'process') {
          // About the provider's setup, not this pod: one log line and one event (on the first pod
          // it concerns) per process, instead of the same Warning on every pod.
          if (this.o.processWarnings.has(warning.field)) continue;
          this.o.processWarnings.add(warning.field);
          this.o.log.warn(warning.message, { field: warning.field, firstPod: podKeyString(key), reportedOnce: true });
          this.o.writer.recordEvent(key, { type: 'Warning', reason: warning.reason ?? EventReason.UnsupportedField, message: `${message} (reported once per provider process, on the first pod it concerns)` });
          continue;
        }
        this.o.writer.recordEvent(key, { type: 'Warning', reason: warning.reason ?? EventReason.UnsupportedField, message });
      }
      for (const w of network.warnings ?? []) this.o.writer.recordEvent(key, { type: 'Warning', ...w });
      const alsoMatched = pod.metadata?.annotations?.[ANNOTATIONS.alsoMatched];
      if (alsoMatched !== undefined && alsoMatched !== '' && network.podNetworking !== undefined) {
        this.o.writer.recordEvent(key, {
          type: 'Warning',
          reason: EventReason.MultiplePodNetworkings,
          message: `pod matches PodNetworkings ${[network.podNetworking, ...alsoMatched.split(',')].join(', ')}; using ${network.podNetworking} (oldest, then by name)`,
        });
      }
    }

    // An earlier create of this process may have made a group without us hearing the answer:
    // find it by its pod-UID tag, else send that request again unchanged (same ClientToken), so
    // that a plan that changed meanwhile cannot make a second group (docs/reliability.md).
    let request = translated.request;
    let sent = network;
    const prior = memory.uncertainCreate;
    if (prior !== undefined) {
      const [found] = await this.o.cloud.listContainerGroups({ [GROUP_TAGS.cluster]: this.o.clusterId, [GROUP_TAGS.podUid]: key.uid });
      if (found !== undefined) {
        memory.uncertainCreate = undefined;
        return this.adopt(key, found);
      }
      if (prior.zoneId === network.zoneId && prior.securityGroupId === network.securityGroupId) {
        request = prior;
        sent = { ...network, vSwitchId: prior.vSwitchIds[0] ?? network.vSwitchId, reason: `${network.reason} (request re-sent unchanged after an uncertain create)` };
      } else {
        // The pod's network moved on: the old body is not allowed any more.
        memory.uncertainCreate = undefined;
      }
    }

    // The create may wait for the cloud's create tokens: wait in the create lane, not on a worker
    // that status reports, deletions and refusals of other pods need.
    await work?.enterCreateLane();
    let containerGroupId: string;
    try {
      ({ containerGroupId } = await this.o.cloud.createContainerGroup(request));
    } catch (err) {
      this.noteCreateOutcome(key.uid, request, err);
      const result = await this.createFailed(key, pod, sent, err, attempt);
      const code = err instanceof CloudError ? err.code : 'Unknown';
      span.setAttribute(ATTR.errorType, code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `CreateContainerGroup: ${code}` });
      return result;
    }
    memory.uncertainCreate = undefined;
    this.o.network.noteAllocated(sent.vSwitchId);
    // Remember the group before anything else can fail: the next sync must find it.
    this.o.groups.noteCreated(key.uid, containerGroupId);
    const created = nowMs();
    memory.createdAt = created;
    memory.startLook = { createdAt: this.o.now().getTime(), looks: 0, firstLookMs: this.looks.firstLookMs() };
    this.noteTiming(key.uid, { createStarted, networkChosen, created });
    span.setAttribute(ATTR.containerGroupId, containerGroupId);
    // A trace the provider started is written on the pod too, so a restart (and `explain`) finds it.
    const rootContext = memory.provisioning === undefined ? undefined : trace.getSpanContext(memory.provisioning);
    const traceparent = startedTrace && rootContext !== undefined && pod.metadata?.annotations?.[TRACE_CONTEXT_ANNOTATION] === undefined ? injectTraceContext(rootContext) : undefined;
    // Written with the group's ENI when the status poller first describes the group (about a
    // poll interval from now), on the status patch that reports it (see annotationsToRecord).
    // Until then the group is found by its pod-UID tag, also after a restart.
    memory.annotations = {
      [POD_ANNOTATIONS.instanceId]: containerGroupId,
      [POD_ANNOTATIONS.vSwitchId]: sent.vSwitchId,
      [POD_ANNOTATIONS.zoneId]: sent.zoneId,
      [POD_ANNOTATIONS.securityGroupId]: sent.securityGroupId,
      [POD_ANNOTATIONS.vSwitchReason]: sent.reason,
      [STEP_TIMINGS_ANNOTATION]: formatStepTimings(this.stepTimings(pod)),
      ...(traceparent === undefined ? {} : { [TRACE_CONTEXT_ANNOTATION]: traceparent }),
    };
    this.o.log.info('created container group', {
      pod: podKeyString(key),
      containerGroupId,
      vSwitchId: sent.vSwitchId,
      zoneId: sent.zoneId,
      podNetworking: sent.podNetworking,
    });
    // A pod that waited (exhausted vSwitches, a PodNetworking not Ready, ...) no longer does.
    const waited = pod.status?.conditions?.find((c) => c.type === PROVISIONED_CONDITION && c.status === 'False');
    if (waited !== undefined) {
      await this.o.writer.patchPodStatus(key, {
        conditions: [
          {
            type: PROVISIONED_CONDITION,
            status: 'True',
            reason: EventReason.ContainerGroupCreated,
            message: `container group ${containerGroupId} in vSwitch ${sent.vSwitchId} (zone ${sent.zoneId})`,
            lastTransitionTime: this.o.now(),
          },
        ],
      });
    }
    // Back when the cloud should list the group (the status poller would see it a tick later).
    return { kind: 'requeueAfter', ms: memory.startLook.firstLookMs };
  }

  private async createFailed(key: PodKey, pod: V1Pod, network: Extract<NetworkDecision, { kind: 'ready' }>, err: unknown, attempt: () => string): Promise<SyncResult> {
    const cloudError = err instanceof CloudError ? err : undefined;
    const { verdict, hint } = classifyCloudError(err);
    const code = cloudError?.code ?? 'Unknown';
    const inputs: CreateFailureInputs = { verdict, idempotentMismatch: errorCodeIs(err, CloudErrorCode.IdempotentParameterMismatch) };
    let plan = planCreateFailure(inputs);
    let existing: ContainerGroup | undefined;
    if (plan.kind === 'look-up-group') {
      // The pod UID (ClientToken) already made a group with other parameters: an earlier create
      // succeeded but its answer was lost, and this attempt's body differs (another vSwitch, a
      // fresh token). Adopt that group instead of failing the pod.
      [existing] = await this.o.cloud.listContainerGroups({ [GROUP_TAGS.cluster]: this.o.clusterId, [GROUP_TAGS.podUid]: key.uid });
      plan = planCreateFailure({ ...inputs, lookedUp: existing === undefined ? 'absent' : 'found' });
    }
    switch (plan.kind) {
      case 'look-up-group':
        throw new Error('planCreateFailure asked to look the group up twice');
      case 'adopt':
        return this.adopt(key, existing!);
      case 'fail-over':
        this.o.network.noteExhausted(network.vSwitchId, code);
        this.o.writer.recordEvent(key, {
          type: 'Warning',
          reason: EventReason.VSwitchExhausted,
          message: `vSwitch ${network.vSwitchId} (zone ${network.zoneId}) has no free IP (${code}); trying another vSwitch of the zone`,
        });
        return { kind: 'requeueAfter', ms: 0 };
      case 'wait':
        return { kind: 'requeueAfter', ms: plan.minMs + Math.round(Math.random() * (plan.maxMs - plan.minMs)) };
      case 'refuse':
        return this.refuse(key, pod, code, `${withoutRequestId(cloudError?.message ?? String(err))}. ${hint}`, attempt());
      case 'retry':
        // Retried with backoff; say why on the pod meanwhile (a zone out of stock can last):
        // one event per distinct failure, the request id left out so that retries fold into it.
        if (plan.event) {
          this.o.writer.recordEvent(key, {
            type: 'Warning',
            reason: EventReason.ProviderCreateFailed,
            message: `${withoutRequestId(cloudError?.message ?? String(err))}; retrying with backoff (${hint})`,
          });
        }
        throw err;
    }
  }

  /** A group an earlier create made for the pod (its answer was lost): record it, create nothing. */
  private async adopt(key: PodKey, group: ContainerGroup): Promise<SyncResult> {
    this.o.groups.put(group, { replace: true });
    await this.o.writer.annotatePod(key, {
      [POD_ANNOTATIONS.instanceId]: group.id,
      [POD_ANNOTATIONS.vSwitchId]: group.vSwitchId,
      [POD_ANNOTATIONS.zoneId]: group.zoneId,
      [POD_ANNOTATIONS.securityGroupId]: group.securityGroupId,
      [POD_ANNOTATIONS.vSwitchReason]: 'adopted: an earlier create for this pod succeeded but its answer was lost',
    });
    this.o.log.info('adopted the container group an earlier create made', { pod: podKeyString(key), containerGroupId: group.id });
    return { kind: 'done' };
  }

  /**
   * What a failed create tells about the group: an uncertain outcome (timeout, 5xx) keeps the
   * request for an unchanged re-send; a definite refusal of the same body (IpNotEnough, a terminal
   * error) proves no group was made under its token; throttling proves nothing new.
   */
  private noteCreateOutcome(uid: string, request: ContainerGroupRequest, err: unknown): void {
    const memory = this.memory.of(uid);
    const next = createOutcome(classifyCloudError(err).verdict);
    if (next === 'uncertain') memory.uncertainCreate = request;
    else if (next === 'definite') memory.uncertainCreate = undefined;
  }

  /** The pod cannot proceed yet: say why on the pod, try again later. */
  private async waitWith(key: PodKey, pod: V1Pod, reason: string, message: string, retryAfterMs: number): Promise<SyncResult> {
    // One wait episode per pod until it ends: its retries are counted, the first few kept as events.
    const memory = this.memory.of(key.uid);
    const at = nowMs();
    if (memory.wait === undefined) memory.wait = { reason, message, since: at, retries: 0, events: [] };
    else {
      memory.wait.retries++;
      memory.wait.message = message;
      if (memory.wait.events.length < MAX_WAIT_EVENTS) memory.wait.events.push({ at, reason, message });
    }
    await this.setProvisionedCondition(key, pod, reason, message, 'Normal');
    return { kind: 'requeueAfter', ms: retryAfterMs };
  }

  /**
   * The pod can never be created as it is: say why, once. `attempt` (the refusal key of a create
   * that was tried) is remembered so that the same pod on the same network is not tried again;
   * a change of the pod or of its network makes another key and so one new attempt.
   */
  private async refuse(key: PodKey, pod: V1Pod, reason: string, message: string, attempt?: string): Promise<SyncResult> {
    if (attempt !== undefined) {
      this.memory.of(key.uid).refusal = { key: attempt, reason: conditionReason(reason), at: this.o.now().getTime() };
      this.o.log.warn('refused to create a container group; not retried until the pod or its network changes', { pod: podKeyString(key), reason, message });
    }
    await this.setProvisionedCondition(key, pod, reason, message, 'Warning');
    // Refused for good: the provisioning trace ends here, as an error.
    this.endProvisioning(pod, { attributes: { [ATTR.waitReason]: conditionReason(reason) }, error: `${reason}: ${message}` });
    if (pod.metadata?.annotations?.[POD_ANNOTATIONS.failOnCreateError] === 'true') {
      await this.o.writer.patchPodStatus(key, { phase: 'Failed', reason: conditionReason(reason), message });
    }
    return { kind: 'done' };
  }

  private async setProvisionedCondition(key: PodKey, pod: V1Pod, code: string, message: string, eventType: 'Normal' | 'Warning') {
    const reason = conditionReason(code);
    const current = pod.status?.conditions?.find((c) => c.type === PROVISIONED_CONDITION);
    if (current?.reason === reason && current.message === message) return;
    this.o.writer.recordEvent(key, { type: eventType, reason, message });
    const condition: V1PodCondition = {
      type: PROVISIONED_CONDITION,
      status: 'False',
      reason,
      message,
      lastTransitionTime: this.o.now(),
    };
    // A span of the attempt that writes it (none during a wait's retries: their parent is not recorded).
    await inSpan(SPAN.podStatusPatch, { attributes: { ...podAttributes(pod), [ATTR.waitReason]: reason } }, context.active(), () => this.o.writer.patchPodStatus(key, { conditions: [condition] }));
  }

  /**
   * The cache shows what this process wrote: the copies kept to bridge the informer's lag (the
   * whole last status, the annotations) go. Kept, they were most of a Running pod's memory record
   * (~4 KB a pod in a 200-pod heap snapshot) for as long as the pod lived.
   */
  private forgetEchoedWrites(uid: string, pod: V1Pod): void {
    const memory = this.memory.peek(uid);
    if (memory === undefined) return;
    if (memory.statusWritten !== undefined && !podStatusChanged(pod.status ?? {}, memory.statusWritten.status)) memory.statusWritten = undefined;
    const written = memory.annotationsWritten;
    if (written === undefined) return;
    const current = pod.metadata?.annotations ?? {};
    const unseen = Object.entries(written).filter(([k, v]) => current[k] !== v);
    if (unseen.length === 0) memory.annotationsWritten = undefined;
    else if (unseen.length < Object.keys(written).length) memory.annotationsWritten = Object.fromEntries(unseen);
  }

  /**
   * True when this process patched exactly `desired` moments ago and the cache does not show it
   * yet: the informer lags behind our own write (another event of the pod came first), and the
   * same patch again would be a wasted write. Forgotten once the cache shows it; after
   * STATUS_ECHO_MS the cache is trusted again (someone else may have changed the status).
   */
  private alreadyWritten(uid: string, pod: V1Pod, desired: V1PodStatus): boolean {
    const memory = this.memory.peek(uid);
    const written = memory?.statusWritten;
    if (memory === undefined || written === undefined) return false;
    if (!podStatusChanged(pod.status ?? {}, written.status) || this.o.now().getTime() - written.at >= STATUS_ECHO_MS) {
      memory.statusWritten = undefined;
      return false;
    }
    return !podStatusChanged(written.status, desired);
  }

  /**
   * At most one Event per sync for the group's new ECI events. While the pod only restates
   * Pending, Normal news waits (up to CLOUD_EVENT_HOLD_MS) to be folded into the next one.
   * `podNamesGroup`: the pod records this group, so a process reported it (see beginSyncing).
   */
  private reportCloudEvents(key: PodKey, group: ContainerGroup, restatesPending: boolean, podNamesGroup: boolean): void {
    const memory = this.memory.of(key.uid);
    const now = this.o.now().getTime();
    const hold = restatesPending && now - (memory.cloudEventsHeldSince ?? now) < CLOUD_EVENT_HOLD_MS;
    const since = this.syncingSince;
    // ECI stamps whole seconds: a group of the second this process began may be one of its own.
    const earlier = podNamesGroup && since !== undefined && this.o.groups.createdFor(key.uid) !== group.id && Date.parse(group.creationTime ?? '') + 1000 <= since;
    const reportedEarlier = earlier ? since : undefined;
    const event = cloudEventSummary(group.events, memory.cloudEvents, hold, reportedEarlier);
    if (event !== undefined) {
      memory.cloudEventsHeldSince = undefined;
      this.o.writer.recordEvent(key, event);
    } else if (hold && group.events.length > 0) memory.cloudEventsHeldSince ??= now;
  }

  /**
   * What the provider records on the pod about its group (the group id, network, ENI, the trace
   * it started) and the pod does not carry yet; undefined when it carries them all.
   */
  private annotationsToRecord(uid: string, pod: V1Pod, group: ContainerGroup): Record<string, string> | undefined {
    const memory = this.memory.peek(uid);
    const wanted: Record<string, string> = {
      ...memory?.annotations,
      [POD_ANNOTATIONS.instanceId]: group.id,
      ...(group.vSwitchId ? { [POD_ANNOTATIONS.vSwitchId]: group.vSwitchId } : {}),
      ...(group.zoneId ? { [POD_ANNOTATIONS.zoneId]: group.zoneId } : {}),
      ...(group.securityGroupId ? { [POD_ANNOTATIONS.securityGroupId]: group.securityGroupId } : {}),
      ...(group.eniInstanceId ? { [POD_ANNOTATIONS.eniId]: group.eniInstanceId } : {}),
    };
    const current = pod.metadata?.annotations ?? {};
    // The webhook's traceparent is the pod's own: never replaced.
    if (current[TRACE_CONTEXT_ANNOTATION] !== undefined) delete wanted[TRACE_CONTEXT_ANNOTATION];
    // What this process wrote counts as there: the cache may not show our own patch yet.
    const written = memory?.annotationsWritten ?? {};
    const missing = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => current[k] !== v && written[k] !== v));
    return Object.keys(missing).length === 0 ? undefined : missing;
  }

  /**
   * While the group only restates Pending, the annotations wait (up to ANNOTATION_HOLD_MS) for the
   * status patch that reports it. Until they are written the group is found by its pod-UID tag,
   * also after a restart; a long Pending (a large image) gets them on its own after the hold.
   */
  private holdAnnotations(uid: string, restatesPending: boolean): boolean {
    const memory = this.memory.of(uid);
    const now = this.o.now().getTime();
    if (!restatesPending) return false;
    memory.annotationsHeldSince ??= now;
    return now - memory.annotationsHeldSince < ANNOTATION_HOLD_MS;
  }

  private async annotate(key: PodKey, annotations: Record<string, string>): Promise<void> {
    await this.o.writer.annotatePod(key, annotations);
    this.annotationsWritten(key.uid, annotations);
  }

  private annotationsWritten(uid: string, annotations: Record<string, string>): void {
    const record = this.memory.of(uid);
    record.annotationsWritten = { ...record.annotationsWritten, ...annotations };
    record.annotations = undefined;
    record.annotationsHeldSince = undefined;
  }
}

/** A context whose spans are not recorded (the parent is not sampled), in the same trace when there is one. */
function unrecorded(parent: Context | undefined): Context {
  const spanContext = parent === undefined ? undefined : trace.getSpanContext(parent);
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: spanContext?.traceId ?? '00000000000000000000000000000001',
    spanId: spanContext?.spanId ?? '0000000000000001',
    traceFlags: 0,
    isRemote: true,
  });
}

/** The step timings annotation's value (epoch ms to the microsecond). */
export function formatStepTimings(timings: StepTimings): string {
  return JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round((v as number) * 1000) / 1000])));
}

/** Attributes of a status patch: the phase and, once known, the network the group got. */
function statusAttributes(status: V1PodStatus, group: ContainerGroup | undefined): Attributes {
  const attributes: Attributes = {};
  if (status.phase !== undefined) attributes[ATTR.podPhase] = status.phase;
  if (status.podIP) attributes[ATTR.podIp] = status.podIP;
  if (group !== undefined) {
    attributes[ATTR.containerGroupId] = group.id;
    if (group.vSwitchId) attributes[ATTR.vSwitchId] = group.vSwitchId;
    if (group.zoneId) attributes[ATTR.cloudAvailabilityZone] = group.zoneId;
    if (group.securityGroupId) attributes[ATTR.securityGroupId] = group.securityGroupId;
    if (group.eniInstanceId) attributes[ATTR.eniId] = group.eniInstanceId;
  }
  return attributes;
}

function toMs(value: Date | string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** When the pod was bound to its node: the PodScheduled condition's transition, else its creation. */
export function boundAt(pod: V1Pod): number | undefined {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True');
  return toMs(scheduled?.lastTransitionTime) ?? toMs(pod.metadata?.creationTimestamp);
}

/**
 * A message without the cloud's request id: the request id is in the logs and the trace; on the
 * pod it would make every attempt's condition and event differ (each write re-queuing the pod).
 */
export function withoutRequestId(message: string): string {
  return message.replace(/ ?\(requestId [^)]*\)/g, '');
}

/**
 * A cloud or translation code as a Kubernetes condition reason, which must be CamelCase-like
 * (`[A-Za-z][A-Za-z0-9_,:]*`): `Zone.NotOnSale` -> `ZoneNotOnSale`.
 */
export function conditionReason(code: string): AnyEventReason {
  return isEventReason(code) ? code : foreignReason(code);
}
