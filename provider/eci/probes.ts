// Probes and lifecycle hooks -> ECI's exec / httpGet / tcpSocket forms. Named ports are resolved
// against the container's ports; what ECI has no field for (headers, host, gRPC, sleep) is warned.
import type { V1Container, V1LifecycleHandler, V1Probe } from '@kubernetes/client-node';
import type { TranslateContext } from './context.ts';
import { TranslationCode, TranslationError } from './issues.ts';
import type { LifecycleHandler, Probe } from './request.ts';

function resolvePort(container: V1Container, port: number | string | undefined, field: string): number {
  if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536) return port;
  if (typeof port === 'string') {
    if (/^\d+$/.test(port)) return resolvePort(container, Number(port), field);
    const named = container.ports?.find((p) => p.name === port);
    if (named !== undefined) return named.containerPort;
  }
  throw new TranslationError(
    TranslationCode.InvalidPort,
    field,
    `port ${JSON.stringify(port)} is neither a port number nor the name of one of the container's ports`,
    'use a number or name a port listed in ports[]',
  );
}

const scheme = (s: string | undefined): 'HTTP' | 'HTTPS' | undefined => (s === 'HTTPS' ? 'HTTPS' : s === 'HTTP' ? 'HTTP' : undefined);

export function translateProbe(ctx: TranslateContext, container: V1Container, probe: V1Probe | undefined, field: string): Probe | undefined {
  if (probe === undefined) return undefined;
  const timings = {
    ...(probe.initialDelaySeconds === undefined ? {} : { initialDelaySeconds: probe.initialDelaySeconds }),
    ...(probe.periodSeconds === undefined ? {} : { periodSeconds: probe.periodSeconds }),
    ...(probe.timeoutSeconds === undefined ? {} : { timeoutSeconds: probe.timeoutSeconds }),
    ...(probe.successThreshold === undefined ? {} : { successThreshold: probe.successThreshold }),
    ...(probe.failureThreshold === undefined ? {} : { failureThreshold: probe.failureThreshold }),
  };
  if (probe.terminationGracePeriodSeconds !== undefined) {
    ctx.warnings.add(`${field}.terminationGracePeriodSeconds`, 'per-probe termination grace is not supported on ECI; the pod-level grace period applies');
  }
  if (probe.exec !== undefined) return { exec: { command: probe.exec.command ?? [] }, ...timings };
  if (probe.httpGet !== undefined) {
    const h = probe.httpGet;
    if ((h.httpHeaders ?? []).length > 0) ctx.warnings.add(`${field}.httpGet.httpHeaders`, 'ECI probes send no custom headers; the headers are dropped');
    if (h.host !== undefined && h.host !== '') ctx.warnings.add(`${field}.httpGet.host`, 'ECI probes always target the pod IP; host is ignored');
    const s = scheme(h.scheme);
    return {
      httpGet: { port: resolvePort(container, h.port, `${field}.httpGet.port`), ...(h.path === undefined ? {} : { path: h.path }), ...(s === undefined ? {} : { scheme: s }) },
      ...timings,
    };
  }
  if (probe.tcpSocket !== undefined) {
    return { tcpSocket: { port: resolvePort(container, probe.tcpSocket.port, `${field}.tcpSocket.port`) }, ...timings };
  }
  if (probe.grpc !== undefined) {
    ctx.warnings.add(`${field}.grpc`, 'gRPC probes are not supported on ECI; the probe is dropped (use exec with grpc_health_probe)');
    return undefined;
  }
  return undefined;
}

export function translateLifecycleHandler(
  ctx: TranslateContext,
  container: V1Container,
  handler: V1LifecycleHandler | undefined,
  field: string,
): LifecycleHandler | undefined {
  if (handler === undefined) return undefined;
  if (handler.exec !== undefined) return { exec: handler.exec.command ?? [] };
  if (handler.httpGet !== undefined) {
    const h = handler.httpGet;
    const s = scheme(h.scheme);
    return {
      httpGet: {
        port: resolvePort(container, h.port, `${field}.httpGet.port`),
        ...(h.host === undefined || h.host === '' ? {} : { host: h.host }),
        ...(h.path === undefined ? {} : { path: h.path }),
        ...(s === undefined ? {} : { scheme: s }),
        ...((h.httpHeaders ?? []).length === 0 ? {} : { headers: (h.httpHeaders ?? []).map((x) => ({ name: x.name, value: x.value })) }),
      },
    };
  }
  if (handler.tcpSocket !== undefined) {
    const t = handler.tcpSocket;
    return { tcpSocket: { port: resolvePort(container, t.port, `${field}.tcpSocket.port`), ...(t.host === undefined || t.host === '' ? {} : { host: t.host }) } };
  }
  if (handler.sleep !== undefined) {
    const seconds = handler.sleep.seconds;
    ctx.warnings.add(`${field}.sleep`, `sleep hooks are not supported on ECI; replaced by exec ["sleep", "${seconds}"] (needs a sleep binary in the image)`);
    return { exec: ['sleep', String(seconds)] };
  }
  return undefined;
}
