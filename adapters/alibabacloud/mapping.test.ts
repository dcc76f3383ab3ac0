// toSdkCreateRequest: our request -> the SDK's CreateContainerGroupRequest. The SDK's constructor
// builds the nested models from plain fields (mapping.ts: building them first built each twice), so
// this checks what the SDK then signs and sends: every nested object is the SDK model of its field
// (a plain object would be flattened under our camelCase names), and the wire names of the parts
// the simulator test (cloud.test.ts) does not send: lifecycle handlers, NFS, exec probes, init
// container ports, env and security context.
import { describe, expect, it } from 'vitest';
import { translatePod } from '../../provider/eci/translate.ts';
import { makeContainer, makePod } from '../../test/unit/builders.ts';
import { toSdkCreateRequest } from './mapping.ts';

function richRequest() {
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  const pod = makePod({
    name: 'rich', uid: 'uid-rich',
    annotations: { 'k8s.aliyun.com/eci-with-eip': 'true' },
    spec: {
      restartPolicy: 'OnFailure', dnsPolicy: 'None',
      dnsConfig: { nameservers: ['1.1.1.1'], searches: ['corp.local'], options: [{ name: 'ndots', value: '2' }] },
      hostAliases: [{ ip: '10.0.0.9', hostnames: ['db.local'] }],
      imagePullSecrets: [{ name: 'pull' }],
      securityContext: { sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] },
      volumes: [
        { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420, items: [{ key: 'a.conf', path: 'a.conf', mode: 384 }] } },
        { name: 'tmp', emptyDir: { medium: 'Memory' } },
        { name: 'nfs', nfs: { server: 'nfs.local', path: '/x', readOnly: true } },
      ],
    },
    initContainers: [makeContainer({ name: 'init', image: 'busybox', command: ['true'], env: [{ name: 'A', value: 'b' }, { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }], ports: [{ containerPort: 81 }], volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }], securityContext: { runAsUser: 7, capabilities: { add: ['NET_ADMIN'] } } })],
    containers: [
      makeContainer({
        resources: { limits: { cpu: '500m', memory: '512Mi' } },
        ports: [{ containerPort: 80 }],
        env: [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'pull', key: 'token' } } }],
        volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }, { name: 'tmp', mountPath: '/tmp' }, { name: 'nfs', mountPath: '/nfs' }],
        readinessProbe: { httpGet: { path: '/healthz', port: 80 as unknown as number }, periodSeconds: 3 },
        livenessProbe: { exec: { command: ['true'] } },
        lifecycle: { postStart: { httpGet: { path: '/s', port: 80 as unknown as number, httpHeaders: [{ name: 'h', value: 'v' }] } }, preStop: { exec: { command: ['stop'] } } },
        securityContext: { runAsUser: 1000, capabilities: { add: ['NET_ADMIN'] } },
      }),
    ],
  });
  const { request } = translatePod({
    pod,
    network: { zoneId: 'cn-hangzhou-h', vSwitchIds: ['vsw-simh1', 'vsw-simh2'], securityGroupId: 'sg-simdefault' },
    resolved: { configMaps: { cfg: { 'a.conf': 'x=1' } }, secrets: { pull: { token: b64('t0k'), '.dockerconfigjson': b64(JSON.stringify({ auths: { 'r.io': { username: 'u', password: 'p' } } })) } } },
    cluster: { clusterId: 'test-cluster', nodeName: 'vn-h', regionId: 'cn-hangzhou' },
  });
  return request;
}

/** Paths of objects in the tree that are not SDK models (plain objects). */
function plainObjects(value: unknown, path: string): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => plainObjects(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const own = value.constructor === Object || typeof (value as { toMap?: unknown }).toMap !== 'function' ? [path] : [];
  return [...own, ...Object.entries(value).flatMap(([k, v]) => plainObjects(v, `${path}.${k}`))];
}

describe('toSdkCreateRequest', () => {
  it('hands the SDK its models at every level, never a plain object', () => {
    const sdk = toSdkCreateRequest(richRequest());
    expect(plainObjects(sdk, 'request')).toEqual([]);
    expect(sdk.container?.[0]?.constructor.name).toBe('CreateContainerGroupRequestContainer');
    expect(sdk.container?.[0]?.lifecyclePostStartHandlerHttpGetHttpHeader?.[0]?.constructor.name).toBe('CreateContainerGroupRequestContainerLifecyclePostStartHandlerHttpGetHttpHeader');
    expect(sdk.volume?.find((v) => v.type === 'NFSVolume')?.NFSVolume?.constructor.name).toBe('CreateContainerGroupRequestVolumeNFSVolume');
  });

  it('puts each field under the wire name ECI expects', () => {
    const wire = JSON.stringify(toSdkCreateRequest(richRequest()).toMap());
    for (const fragment of [
      '"LifecyclePostStartHandlerHttpGetHttpHeader":[{"Name":"h","Value":"v"}]',
      '"LifecyclePostStartHandlerHttpGetPath":"/s"',
      '"LifecyclePreStopHandlerExec":["stop"]',
      '"LivenessProbe":{"Exec":{"Command":["true"]}}',
      '"NFSVolume":{"Path":"/x","ReadOnly":true,"Server":"nfs.local"}',
      '"VSwitchId":"vsw-simh1,vsw-simh2"',
      '"InitContainer":[{',
      '"Port":[{"Port":81,"Protocol":"TCP"}]',
      '{"FieldRef":{"FieldPath":"status.podIP"},"Key":"IP"}',
      '"SecurityContext":{"Capability":{"Add":["NET_ADMIN"]},"RunAsUser":7}',
    ]) {
      expect(wire).toContain(fragment);
    }
  });
});
