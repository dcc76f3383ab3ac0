// Cancellation reaching the ports: the leader's work gets a CloudPort bound to the leader signal,
// so a lost Lease stops every cloud call made for that leadership (before it starts, while it
// waits for its rate-limit slot, or while it waits for the answer) without threading a signal
// through every function of the pod sync.
import type { CallOptions, CloudPort } from '../ports.ts';

/** `cloud` with `signal` added to every call that carries none of its own. */
export function cloudWithSignal(cloud: CloudPort, signal: AbortSignal): CloudPort {
  const opts = (o: CallOptions | undefined): CallOptions => ({ ...o, signal: o?.signal === undefined ? signal : AbortSignal.any([o.signal, signal]) });
  return {
    ...cloud,
    createContainerGroup: (request, o) => cloud.createContainerGroup(request, opts(o)),
    describeContainerGroups: (ids, o) => cloud.describeContainerGroups(ids, opts(o)),
    listContainerGroups: (tags, o) => cloud.listContainerGroups(tags, opts(o)),
    listChangedContainerGroups: (tags, sinceSeconds, o) => cloud.listChangedContainerGroups(tags, sinceSeconds, opts(o)),
    deleteContainerGroup: (id, o) => cloud.deleteContainerGroup(id, opts(o)),
    describeVSwitches: (ids, o) => cloud.describeVSwitches(ids, opts(o)),
    describeSecurityGroups: (ids, o) => cloud.describeSecurityGroups(ids, opts(o)),
  };
}
