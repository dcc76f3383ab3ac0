// What the provider knows of its container groups, indexed by pod UID (the ClientToken and a
// tag of every group). Fed by the start-up list, by creates, and by the status poller; read by
// the pod sync so a steady-state sync makes no cloud call.
import { GROUP_TAGS, type ContainerGroup } from '../cloud/model.ts';

export class GroupIndex {
  private readonly byPodUid = new Map<string, ContainerGroup>();
  private readonly podUidByGroupId = new Map<string, string>();
  /** Groups created but not described yet: pod UID -> group id. */
  private readonly created = new Map<string, string>();

  get size(): number {
    return this.byPodUid.size;
  }

  forPod(uid: string): ContainerGroup | undefined {
    return this.byPodUid.get(uid);
  }

  podUidOf(groupId: string): string | undefined {
    return this.podUidByGroupId.get(groupId);
  }

  /**
   * Stores a group under the pod UID its tags name; returns that UID (undefined if untagged).
   * A second group of one pod (an earlier create that landed unseen) never displaces the one the
   * index holds, else the pod would flip between two IPs and the collector could delete the one
   * in use: only the group this process created, or `replace` (the group the pod records), does.
   */
  put(group: ContainerGroup, o: { replace?: boolean } = {}): string | undefined {
    const uid = group.tags[GROUP_TAGS.podUid];
    if (uid === undefined) return undefined;
    this.podUidByGroupId.set(group.id, uid);
    if (!o.replace) {
      const pending = this.created.get(uid);
      // This process created another group for the pod: that one is coming, and it is the pod's.
      if (pending !== undefined && pending !== group.id) return uid;
      const current = this.byPodUid.get(uid);
      if (current !== undefined && current.id !== group.id && pending !== group.id) return uid;
    }
    this.created.delete(uid);
    this.byPodUid.set(uid, group);
    return uid;
  }

  /** A create succeeded; the poller will bring the group's description. */
  noteCreated(uid: string, groupId: string): void {
    this.created.set(uid, groupId);
    this.podUidByGroupId.set(groupId, uid);
  }

  /** The id of a group created for the pod and not described yet. */
  createdFor(uid: string): string | undefined {
    return this.created.get(uid);
  }

  forget(uid: string): void {
    const createdId = this.created.get(uid);
    if (createdId !== undefined) this.podUidByGroupId.delete(createdId);
    this.created.delete(uid);
    const group = this.byPodUid.get(uid);
    if (group !== undefined) this.podUidByGroupId.delete(group.id);
    this.byPodUid.delete(uid);
  }

  all(): IterableIterator<ContainerGroup> {
    return this.byPodUid.values();
  }
}
