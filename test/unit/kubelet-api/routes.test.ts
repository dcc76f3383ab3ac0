// Kubelet routes and the authorization each needs, as kubelet 1.36 decides them
// (pkg/kubelet/server/auth.go, KubeletFineGrainedAuthz GA).
import { describe, expect, it } from 'vitest';
import { anonymousStatsRoute, forbiddenMessage, parseRoute, requiredAccess, verbOf } from '../../../provider/kubelet-api/routes.ts';

describe('anonymousStatsRoute (the opt-in anonymous stats mode)', () => {
  it.each([
    ['GET', '/stats/summary', true],
    ['GET', '/metrics/resource', true],
    ['POST', '/stats/summary', false],
    ['GET', '/pods', false],
    ['GET', '/runningpods/', false],
    ['GET', '/healthz', false],
    ['GET', '/containerLogs/ns/p/c', false],
    ['GET', '/exec/ns/p/c', false],
    ['GET', '/metrics/cadvisor', false],
    ['GET', '/stats', false],
  ])('%s %s -> %s', (method, path, allowed) => {
    expect(anonymousStatsRoute(method, parseRoute(path))).toBe(allowed);
  });
});

describe('parseRoute', () => {
  it.each([
    ['/healthz', { kind: 'healthz' }],
    ['/healthz/ping', { kind: 'healthz' }],
    ['/pods', { kind: 'pods' }],
    ['/pods/', { kind: 'pods' }],
    ['/runningpods/', { kind: 'runningpods' }],
    ['/stats/summary', { kind: 'statsSummary' }],
    ['/metrics/resource', { kind: 'metricsResource' }],
    ['/containerLogs/ns/web-0/app', { kind: 'containerLogs', namespace: 'ns', pod: 'web-0', container: 'app' }],
    ['/exec/ns/web-0/app', { kind: 'exec', namespace: 'ns', pod: 'web-0', container: 'app' }],
    ['/exec/ns/web-0/uid-1/app', { kind: 'exec', namespace: 'ns', pod: 'web-0', uid: 'uid-1', container: 'app' }],
    ['/attach/ns/web-0/app', { kind: 'attach', namespace: 'ns', pod: 'web-0', container: 'app' }],
    ['/portForward/ns/web-0', { kind: 'portForward', namespace: 'ns', pod: 'web-0' }],
    ['/portForward/ns/web-0/uid-1', { kind: 'portForward', namespace: 'ns', pod: 'web-0', uid: 'uid-1' }],
    ['/containerLogs/ns/web%2D0/app', { kind: 'containerLogs', namespace: 'ns', pod: 'web-0', container: 'app' }],
  ])('%s', (path, route) => {
    expect(parseRoute(path)).toEqual(route);
  });

  it.each(['/', '/nope', '/containerLogs/ns/pod', '/containerLogs/ns/pod/c/extra', '/exec/ns', '/containerLogs/ns/../c', '/containerLogs/ns//c', '/stats/other', '/containerLogs/%E0%A4%A/p/c'])(
    '%s is not found',
    (path) => {
      expect(parseRoute(path)).toEqual({ kind: 'notFound' });
    },
  );

  it.each(['/logs/', '/checkpoint/ns/p/c', '/configz', '/metrics', '/metrics/cadvisor', '/stats', '/debug/pprof/'])('%s is a kubelet path ECI cannot serve', (path) => {
    expect(parseRoute(path).kind).toBe('unsupported');
  });
});

describe('requiredAccess', () => {
  it.each([
    ['GET', '/containerLogs/ns/p/c', ['proxy']],
    ['GET', '/exec/ns/p/c', ['proxy']],
    ['POST', '/exec/ns/p/c', ['proxy']],
    ['GET', '/attach/ns/p/c', ['proxy']],
    ['GET', '/portForward/ns/p', ['proxy']],
    ['GET', '/stats/summary', ['stats']],
    ['GET', '/stats', ['stats']], // isSubpath trims the trailing slash of "/stats/"
    ['GET', '/metrics/resource', ['metrics']],
    ['GET', '/metrics', ['metrics']],
    ['GET', '/logs/messages', ['log']],
    ['GET', '/pods', ['pods', 'proxy']],
    ['GET', '/runningpods/', ['pods', 'proxy']],
    ['GET', '/healthz', ['healthz', 'proxy']],
    ['GET', '/configz', ['configz', 'proxy']],
    ['GET', '/checkpoint/ns/p/c', ['checkpoint']],
    ['GET', '/podsx', ['proxy']],
  ])('%s %s -> nodes/%s', (method, path, subresources) => {
    const access = requiredAccess(method, path, 'vn-h');
    expect(access.map((a) => a.subresource)).toEqual(subresources);
    for (const a of access) expect(a).toMatchObject({ resource: 'nodes', name: 'vn-h', verb: verbOf(method) });
  });

  it.each([
    ['GET', 'get'],
    ['HEAD', ''],
    ['POST', 'create'],
    ['PUT', 'update'],
    ['PATCH', 'patch'],
    ['DELETE', 'delete'],
  ])('%s -> verb "%s"', (method, verb) => {
    expect(verbOf(method)).toBe(verb);
  });

  it("writes the kubelet's 403 body", () => {
    expect(forbiddenMessage('alice', requiredAccess('GET', '/pods', 'vn-h'))).toBe('Forbidden (user=alice, verb=get, resource=nodes, subresource(s)=[pods proxy])\n');
  });
});
