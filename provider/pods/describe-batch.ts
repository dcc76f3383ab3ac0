// Describes by id, many pods at once: syncs that need a fresh look at one group each (a pod being
// deleted waits for its group to be gone; a pod names a group the index has not seen) share one
// DescribeContainerGroups call per window instead of one call each. A burst of 40 deletions then
// costs 2 describes per poll round, not 40.
import type { ContainerGroup } from '../cloud/model.ts';
import type { CloudPort } from '../ports.ts';

/** ECI's limit: ContainerGroupIds holds at most 20 ids per call. */
export const DESCRIBE_BATCH_MAX = 20;

interface Waiter {
  resolve(group: ContainerGroup | undefined): void;
  reject(err: unknown): void;
}

export interface DescribeBatcherOptions {
  cloud: Pick<CloudPort, 'describeContainerGroups'>;
  /** How long the first request of a batch waits for others (ms). */
  windowMs?: number;
}

export class DescribeBatcher {
  private readonly cloud: DescribeBatcherOptions['cloud'];
  private readonly windowMs: number;
  private pending = new Map<string, Waiter[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor({ cloud, windowMs = 100 }: DescribeBatcherOptions) {
    this.cloud = cloud;
    this.windowMs = windowMs;
  }

  /**
   * The group as the cloud describes it now, or undefined when a successful describe does not
   * list it (the only "gone"). A failed call rejects every caller of its batch (each retries).
   */
  describe(id: string): Promise<ContainerGroup | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(id) ?? [];
      waiters.push({ resolve, reject });
      this.pending.set(id, waiters);
      if (this.pending.size >= DESCRIBE_BATCH_MAX) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    if (batch.size === 0) return;
    const ids = [...batch.keys()];
    this.cloud.describeContainerGroups(ids).then(
      (groups) => {
        const byId = new Map(groups.map((g) => [g.id, g]));
        for (const [id, waiters] of batch) for (const w of waiters) w.resolve(byId.get(id));
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      },
    );
  }
}
