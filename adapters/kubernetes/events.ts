// Writes core/v1 Events as provider/events/correlator.ts decides: a new Event, or a merge patch
// of `count`, `lastTimestamp` (and message) on the one already written. Writes for one series run
// one after the other (a repeat never races the create it bumps); a patch that finds the Event
// gone (expired) creates it again with the running count. Never throws: events are best effort.
import * as k8s from '@kubernetes/client-node';
import { EventCorrelator, type CorrelatorOptions, type EventOccurrence, type InvolvedObject } from '../../provider/events/correlator.ts';
import type { AnyEventReason } from '../../provider/events/reasons.ts';
import { isAlreadyExists, isNotFound } from './client.ts';
import type { InformerLog } from './informer.ts';
import { RawJsonClient, seg } from './raw.ts';

export interface EventRecorderOptions {
  /** Events are written through RawJsonClient (no typed answer: see raw.ts). */
  kubeConfig: k8s.KubeConfig;
  /** The event's source and reporting component. */
  component: string;
  log: InformerLog;
  /** Where events about cluster-scoped objects go (kubelet uses `default` for its Node). */
  clusterScopedNamespace?: string;
  correlator?: Omit<CorrelatorOptions, 'now'>;
  now?: () => Date;
  /** Each Event write's deadline (default RAW_WRITE_TIMEOUT_MS). */
  writeTimeoutMs?: number;
}

export class KubernetesEventRecorder {
  private readonly correlator: EventCorrelator;
  private readonly raw: RawJsonClient;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly o: EventRecorderOptions & { clusterScopedNamespace: string };

  constructor(options: EventRecorderOptions) {
    this.o = { clusterScopedNamespace: 'default', ...options };
    this.raw = new RawJsonClient({ kubeConfig: options.kubeConfig, ...(options.writeTimeoutMs === undefined ? {} : { timeoutMs: options.writeTimeoutMs }) });
    this.correlator = new EventCorrelator({ now: options.now ?? (() => new Date()), ...options.correlator });
  }

  record(object: InvolvedObject, event: { type: 'Normal' | 'Warning'; reason: AnyEventReason; message: string }): void {
    const occurrence: EventOccurrence = { object, ...event };
    const write = this.correlator.observe(occurrence);
    if (write.kind === 'drop') return;
    const previous = this.chains.get(write.key) ?? Promise.resolve();
    const next = previous
      .then(() => this.write(occurrence, write))
      .catch((err: unknown) => {
        this.correlator.forget(write.key);
        this.o.log.warn('recording an event failed; not retried (events are best effort)', { reason: event.reason, object: `${object.kind}/${object.name}`, error: String(err) });
      })
      .finally(() => {
        if (this.chains.get(write.key) === next) this.chains.delete(write.key);
      });
    this.chains.set(write.key, next);
  }

  /** Resolves once every write queued so far has been made (or failed). */
  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  private async write(e: EventOccurrence, w: Extract<ReturnType<EventCorrelator['observe']>, { name: string }>): Promise<void> {
    const namespace = e.object.namespace === '' ? this.o.clusterScopedNamespace : e.object.namespace;
    if (w.kind === 'patch') {
      try {
        await this.raw.write({ method: 'PATCH', path: `${eventsPath(namespace)}/${seg(w.name)}`, body: { count: w.count, lastTimestamp: w.lastTimestamp, message: w.message }, contentType: k8s.PatchStrategy.MergePatch });
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    let name = w.name;
    for (let attempt = 0; ; attempt++) {
      const body: k8s.CoreV1Event = {
        metadata: { name, namespace },
        involvedObject: { apiVersion: e.object.apiVersion, kind: e.object.kind, name: e.object.name, uid: e.object.uid, ...(e.object.namespace === '' ? {} : { namespace: e.object.namespace }) },
        type: e.type,
        reason: e.reason,
        message: w.message,
        source: { component: this.o.component },
        reportingComponent: this.o.component,
        firstTimestamp: w.firstTimestamp,
        lastTimestamp: w.lastTimestamp,
        count: w.count,
      };
      try {
        await this.raw.write({ method: 'POST', path: eventsPath(namespace), body });
        return;
      } catch (err) {
        // Another process (an earlier leader) used the name: continue the series under a new one.
        if (!isAlreadyExists(err) || attempt >= 2) throw err;
        name = this.correlator.renamed(w.key) ?? name;
      }
    }
  }
}

const eventsPath = (namespace: string): string => `/api/v1/namespaces/${seg(namespace)}/events`;
