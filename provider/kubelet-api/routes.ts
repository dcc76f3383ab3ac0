// The kubelet API's routes, as the kubelet serves them (pkg/kubelet/server/server.go), and the
// authorization each path needs (pkg/kubelet/server/auth.go GetRequestAttributes). Pure: the
// HTTPS server in adapters/kubelet-api parses with these and acts.

export type Route =
  | { kind: 'healthz' }
  | { kind: 'pods' }
  | { kind: 'runningpods' }
  | { kind: 'statsSummary' }
  | { kind: 'metricsResource' }
  | { kind: 'containerLogs'; namespace: string; pod: string; container: string }
  | { kind: 'exec' | 'attach'; namespace: string; pod: string; uid?: string; container: string }
  | { kind: 'portForward'; namespace: string; pod: string; uid?: string }
  /** A path the kubelet has and ECI cannot serve (checkpoint, logs of the node, configz, ...). */
  | { kind: 'unsupported'; what: string }
  | { kind: 'notFound' };

function segments(path: string): string[] | undefined {
  const parts = path.split('/').slice(1);
  if (parts.at(-1) === '') parts.pop();
  try {
    return parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}

/** Which route a request path is (the query string is not part of `path`). */
export function parseRoute(path: string): Route {
  const parts = segments(path);
  if (parts === undefined || parts.some((p) => p === '' || p === '.' || p === '..')) return { kind: 'notFound' };
  const [head, ...rest] = parts;
  switch (head) {
    case 'healthz':
      return rest.length === 0 || (rest.length === 1 && rest[0] === 'ping') ? { kind: 'healthz' } : { kind: 'notFound' };
    case 'pods':
      return rest.length === 0 ? { kind: 'pods' } : { kind: 'notFound' };
    case 'runningpods':
      return rest.length === 0 ? { kind: 'runningpods' } : { kind: 'notFound' };
    case 'stats':
      if (rest.length === 1 && rest[0] === 'summary') return { kind: 'statsSummary' };
      return rest.length === 0 ? { kind: 'unsupported', what: '/stats (the cAdvisor API; use /stats/summary)' } : { kind: 'notFound' };
    case 'metrics':
      if (rest.length === 1 && rest[0] === 'resource') return { kind: 'metricsResource' };
      return { kind: 'unsupported', what: `/${parts.join('/')} (only /metrics/resource is served: ECI reports no cAdvisor or probe metrics)` };
    case 'containerLogs': {
      if (rest.length !== 3) return { kind: 'notFound' };
      const [namespace, pod, container] = rest as [string, string, string];
      return { kind: 'containerLogs', namespace, pod, container };
    }
    case 'exec':
    case 'attach': {
      // /exec/{namespace}/{pod}/{container} and /exec/{namespace}/{pod}/{uid}/{container}
      if (rest.length === 3) {
        const [namespace, pod, container] = rest as [string, string, string];
        return { kind: head, namespace, pod, container };
      }
      if (rest.length === 4) {
        const [namespace, pod, uid, container] = rest as [string, string, string, string];
        return { kind: head, namespace, pod, uid, container };
      }
      return { kind: 'notFound' };
    }
    case 'portForward': {
      if (rest.length === 2) return { kind: 'portForward', namespace: rest[0]!, pod: rest[1]! };
      if (rest.length === 3) return { kind: 'portForward', namespace: rest[0]!, pod: rest[1]!, uid: rest[2]! };
      return { kind: 'notFound' };
    }
    case 'logs':
    case 'checkpoint':
    case 'configz':
    case 'debug':
    case 'run':
    case 'statusz':
    case 'flagz':
    case 'cri':
      return { kind: 'unsupported', what: `/${head} (ECI runs no node-level kubelet to serve it)` };
    default:
      return { kind: 'notFound' };
  }
}

/**
 * Which requests the opt-in anonymous stats mode (kubeletApi.anonymousStats) lets in without
 * credentials, as user system:anonymous (still authorized by SubjectAccessReview): GET of
 * /stats/summary and /metrics/resource. Everything else still needs credentials.
 */
export function anonymousStatsRoute(method: string, route: Route): boolean {
  return method.toUpperCase() === 'GET' && (route.kind === 'statsSummary' || route.kind === 'metricsResource');
}

/** One SubjectAccessReview's resource attributes: `nodes/<subresource>` of one node. */
export interface NodeAccess {
  verb: string;
  resource: 'nodes';
  subresource: string;
  /** The node's name. */
  name: string;
}

/** The kubelet's HTTP method -> API verb mapping (an unknown method maps to ""). */
export function verbOf(method: string): string {
  switch (method.toUpperCase()) {
    case 'POST':
      return 'create';
    case 'GET':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

function isSubpath(subpath: string, path: string): boolean {
  const base = path.endsWith('/') ? path.slice(0, -1) : path;
  return subpath === base || (subpath.startsWith(base) && subpath[base.length] === '/');
}

/**
 * What a request must be allowed, as kubelet 1.36 decides it (KubeletFineGrainedAuthz is GA):
 * any ONE of the returned attributes allowed is enough. `/stats/*` -> nodes/stats,
 * `/metrics/*` -> nodes/metrics, `/logs/*` -> nodes/log, `/checkpoint/*` -> nodes/checkpoint,
 * `/pods`, `/runningpods/` -> nodes/pods or nodes/proxy, `/healthz` -> nodes/healthz or
 * nodes/proxy, everything else (`/containerLogs`, `/exec`, `/attach`, `/portForward`) ->
 * nodes/proxy.
 */
export function requiredAccess(method: string, path: string, nodeName: string): NodeAccess[] {
  const verb = verbOf(method);
  const subresources: string[] = [];
  if (isSubpath(path, '/pods') || isSubpath(path, '/runningpods/')) subresources.push('pods');
  else if (isSubpath(path, '/healthz')) subresources.push('healthz');
  else if (isSubpath(path, '/configz')) subresources.push('configz');
  if (isSubpath(path, '/stats/')) subresources.push('stats');
  else if (isSubpath(path, '/metrics')) subresources.push('metrics');
  else if (isSubpath(path, '/logs/')) subresources.push('log');
  else if (isSubpath(path, '/checkpoint')) subresources.push('checkpoint');
  else if (isSubpath(path, '/statusz')) subresources.push('statusz');
  else if (isSubpath(path, '/flagz')) subresources.push('configz');
  else subresources.push('proxy');
  return subresources.map((subresource) => ({ verb, resource: 'nodes', subresource, name: nodeName }));
}

/** The kubelet's 403 body: `Forbidden (user=alice, verb=get, resource=nodes, subresource(s)=[proxy])`. */
export function forbiddenMessage(user: string, access: readonly NodeAccess[]): string {
  const first = access[0];
  return `Forbidden (user=${user}, verb=${first?.verb ?? ''}, resource=nodes, subresource(s)=[${access.map((a) => a.subresource).join(' ')}])\n`;
}
