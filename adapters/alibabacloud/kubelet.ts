// KubeletCloudPort on @alicloud/eci20180808: DescribeContainerLog, ExecContainerCommand and
// DescribeContainerGroupMetric, through the SAME CloudCaller as the pod sync's CloudPort (one
// pacing queue per action for the whole account, error mapping, read retries, onCall hook).
// ExecContainerCommand is a 'write': a retried call would open a second session.
import EciModule, {
  DescribeContainerGroupMetricRequest,
  DescribeContainerLogRequest,
  ExecContainerCommandRequest,
  type DescribeContainerGroupMetricResponseBodyRecords,
} from '@alicloud/eci20180808';
import { Config as EciConfig } from '@alicloud/openapi-client';
import { CloudError, CloudErrorCode } from '../../provider/cloud/errors.ts';
import type { ContainerLogRequest, ExecRequest, GroupMetricSample } from '../../provider/kubelet-api/model.ts';
import type { KubeletCloudPort } from '../../provider/ports.ts';
import { CloudCaller, type RateLimit } from './call.ts';
import { clearReadTimersOnResponseEnd } from './read-timers.ts';

// CommonJS interop, as in cloud.ts: Node's ESM loader gives module.exports, vitest exports.default.
function cjsDefault<T>(mod: { default: T }): T {
  const inner = (mod as { default?: unknown }).default;
  return (typeof inner === 'function' ? inner : mod) as T;
}
const EciClient = cjsDefault(EciModule);

/** ECI's published quotas for these actions (eci-openapi.md): 500/min, 500/min, 2000/min. */
export const KUBELET_RATE_LIMITS: Readonly<Record<string, RateLimit>> = {
  DescribeContainerLog: { perSecond: 8, burst: 8 },
  ExecContainerCommand: { perSecond: 8, burst: 8 },
  DescribeContainerGroupMetric: { perSecond: 33, burst: 33 },
};

export interface KubeletCloudOptions {
  regionId: string;
  /** host[:port], no scheme. */
  eciEndpoint: string;
  protocol: 'https' | 'http';
  credentials: { accessKeyId: string; accessKeySecret: string };
  timeouts?: { callMs?: number; connectMs?: number };
  /** The CloudPort's caller (AlibabaCloud.caller): share it, the quotas are the account's. */
  caller?: CloudCaller;
  /** Used only when no caller is given. */
  rateLimits?: Readonly<Record<string, RateLimit>>;
}

const num = (v: number | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** One SDK metric record -> the provider's sample. */
export function fromSdkMetricRecord(r: DescribeContainerGroupMetricResponseBodyRecords): GroupMetricSample {
  return {
    timestamp: r.timestamp ?? new Date(0).toISOString(),
    cpu: defined({ usageNanoCores: num(r.CPU?.usageNanoCores), usageCoreNanoSeconds: num(r.CPU?.usageCoreNanoSeconds) }),
    memory: defined({
      availableBytes: num(r.memory?.availableBytes),
      usageBytes: num(r.memory?.usageBytes),
      workingSetBytes: num(r.memory?.workingSet),
      rssBytes: num(r.memory?.rss),
    }),
    containers: (r.containers ?? []).map((c) => ({
      name: c.name ?? '',
      cpu: defined({ usageNanoCores: num(c.CPU?.usageNanoCores), usageCoreNanoSeconds: num(c.CPU?.usageCoreNanoSeconds) }),
      memory: defined({
        availableBytes: num(c.memory?.availableBytes),
        usageBytes: num(c.memory?.usageBytes),
        workingSetBytes: num(c.memory?.workingSet),
        rssBytes: num(c.memory?.rss),
      }),
    })),
    interfaces: (r.network?.interfaces ?? []).map((i) =>
      defined({ name: i.name ?? 'eth0', rxBytes: num(i.rxBytes), txBytes: num(i.txBytes), rxErrors: num(i.rxErrors), txErrors: num(i.txErrors) }),
    ),
    filesystems: (r.filesystem ?? []).map((f) => defined({ name: f.fsName ?? '', capacityBytes: num(f.capacity), usedBytes: num(f.usage), availableBytes: num(f.available) })),
  };
}

export function createKubeletCloud(options: KubeletCloudOptions): KubeletCloudPort & { readonly caller: CloudCaller } {
  clearReadTimersOnResponseEnd();
  const callMs = options.timeouts?.callMs ?? 15_000;
  const connectMs = options.timeouts?.connectMs ?? Math.min(5_000, callMs);
  const { accessKeyId, accessKeySecret } = options.credentials;
  const eci = new EciClient(
    new EciConfig({ accessKeyId, accessKeySecret, regionId: options.regionId, endpoint: options.eciEndpoint, protocol: options.protocol, readTimeout: callMs, connectTimeout: connectMs }),
  );
  const caller =
    options.caller ??
    new CloudCaller({ rateLimits: { ...KUBELET_RATE_LIMITS, ...options.rateLimits }, timeoutMs: callMs + 1_000, secrets: [accessKeySecret] });
  const regionId = options.regionId;

  return {
    caller,

    async describeContainerLog(request: ContainerLogRequest): Promise<string> {
      const sdkRequest = new DescribeContainerLogRequest(
        defined({
          regionId,
          containerGroupId: request.containerGroupId,
          containerName: request.containerName,
          tail: request.tail,
          sinceSeconds: request.sinceSeconds,
          startTime: request.startTime,
          limitBytes: request.limitBytes,
          timestamps: request.timestamps,
          lastTime: request.previous,
        }),
      );
      const response = await caller.call('DescribeContainerLog', 'read', () => eci.describeContainerLog(sdkRequest));
      return response.body?.content ?? '';
    },

    async execContainerCommand(request: ExecRequest): Promise<{ webSocketUri: string }> {
      const sdkRequest = new ExecContainerCommandRequest({
        regionId,
        containerGroupId: request.containerGroupId,
        containerName: request.containerName,
        command: JSON.stringify(request.command),
        stdin: request.stdin,
        TTY: request.tty,
        sync: false,
      });
      const response = await caller.call('ExecContainerCommand', 'write', () => eci.execContainerCommand(sdkRequest));
      const webSocketUri = response.body?.webSocketUri;
      if (webSocketUri === undefined || webSocketUri === '') {
        throw new CloudError({
          action: 'ExecContainerCommand',
          code: CloudErrorCode.Unknown,
          detail: 'the answer carries no WebSocketUri',
          ...(response.body?.requestId === undefined ? {} : { requestId: response.body.requestId }),
        });
      }
      return { webSocketUri };
    },

    async describeContainerGroupMetric(containerGroupId, metricOptions = {}): Promise<GroupMetricSample[]> {
      const sdkRequest = new DescribeContainerGroupMetricRequest(
        defined({
          regionId,
          containerGroupId,
          startTime: metricOptions.startTime,
          endTime: metricOptions.endTime,
          period: metricOptions.periodSeconds === undefined ? undefined : String(metricOptions.periodSeconds),
        }),
      );
      const response = await caller.call('DescribeContainerGroupMetric', 'read', () => eci.describeContainerGroupMetric(sdkRequest));
      return (response.body?.records ?? []).map(fromSdkMetricRecord);
    },
  };
}
