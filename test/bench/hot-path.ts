// Micro-benchmark of the provider's per-pod pure work on the create path: translating the pod,
// its ClientToken, the refusal key, and keying the group's ECI events at each status sync. No
// control plane, no cloud: it measures a change to these functions in isolation, where the bench's
// CPU per pod moves 10-20% between runs on a shared machine.
//
//   bash .ci/node24 node test/bench/hot-path.ts [--root DIR] [--pods N] [--rounds N]
//
// --root runs the same measurement against another checkout's provider/ (e.g. /work/main), so a
// before/after pair is two runs of this file, close in time. Prints microseconds per pod for each
// step (the median of the rounds) and the process CPU per pod over all rounds.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import type * as StatusModule from '../../provider/eci/status.ts';
import type * as TranslateModule from '../../provider/eci/translate.ts';
import type * as ClientTokenModule from '../../provider/eci/client-token.ts';
import type * as MemoryModule from '../../provider/pods/memory.ts';
import type { CloudEvent } from '../../provider/cloud/model.ts';

const { values } = parseArgs({
  options: { root: { type: 'string' }, pods: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '7' } },
});
const root = resolve(values.root ?? new URL('../..', import.meta.url).pathname);
const pods = Number(values.pods);
const rounds = Number(values.rounds);
const load = <T>(path: string): Promise<T> => import(pathToFileURL(resolve(root, path)).href) as Promise<T>;

const status = await load<typeof StatusModule>('provider/eci/status.ts');
const translate = await load<typeof TranslateModule>('provider/eci/translate.ts');
const token = await load<typeof ClientTokenModule>('provider/eci/client-token.ts');
const memory = await load<typeof MemoryModule>('provider/pods/memory.ts');

/** A pod as the bench's Deployments make it, once bound and admitted. */
function benchPod(i: number): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `app-${i % 30}-7d9f8c6b5-${(100000 + i).toString(36)}`,
      namespace: 'bench',
      uid: `6f1c7a52-0c1e-4b9e-9d57-${(100000000000 + i).toString(16).padStart(12, '0')}`,
      labels: { app: `app-${i % 30}`, 'bench.eci-virtual-node.io/run': 'r1', 'pod-template-hash': '7d9f8c6b5' },
      annotations: { 'eci-virtual-node.io/traceparent': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app-${i % 30}-7d9f8c6b5`, uid: 'rs-uid', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: 'virtual-node-eci-cn-hangzhou-h',
      enableServiceLinks: false,
      automountServiceAccountToken: false,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      containers: [{ name: 'main', image: 'registry.example.com/bench/app:1', resources: { requests: { cpu: '250m', memory: '512Mi' } }, imagePullPolicy: 'IfNotPresent' }],
      tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists', effect: 'NoSchedule' }],
    },
  };
}

/** The events ECI reports for one group as it starts: each status sync sees the list so far. */
function groupEvents(i: number): CloudEvent[][] {
  const t = (s: number) => `2026-12-06T17:56:${String(10 + s).padStart(2, '0')}Z`;
  const e = (reason: string, message: string, s: number): CloudEvent => ({ type: 'Normal', reason, message, count: 1, firstTimestamp: t(s), lastTimestamp: t(s) });
  const all = [
    e('Scheduled', `Successfully assigned eci-${i} to the instance`, 0),
    e('Pulling', 'Pulling image "registry.example.com/bench/app:1"', 1),
    e('Pulled', 'Successfully pulled image "registry.example.com/bench/app:1"', 2),
    e('Created', 'Created container main', 3),
    e('Started', 'Started container main', 3),
  ];
  return [all.slice(0, 2), all.slice(0, 4), all];
}

const inputs = Array.from({ length: pods }, (_, i) => ({ pod: benchPod(i), events: groupEvents(i) }));
const network = { zoneId: 'cn-hangzhou-h', vSwitchId: 'vsw-1', securityGroupId: 'sg-1' };

interface Step {
  name: string;
  run: (input: (typeof inputs)[number]) => unknown;
}
const steps: Step[] = [
  {
    name: 'translatePod (with its ClientToken)',
    run: ({ pod }) =>
      translate.translatePod({
        pod,
        network: { zoneId: network.zoneId, vSwitchIds: [network.vSwitchId], securityGroupId: network.securityGroupId },
        resolved: { configMaps: {}, secrets: {} },
        cluster: { clusterId: 'c1', nodeName: pod.spec!.nodeName!, regionId: 'cn-hangzhou' },
      }),
  },
  { name: 'refusalKey', run: ({ pod }) => memory.refusalKey(pod, network) },
  {
    name: 'cloudEventSummary x3 syncs',
    run: ({ events }) => {
      const seen = new Set<string>();
      for (const list of events) status.cloudEventSummary(list, seen);
      return seen;
    },
  },
];
// The ClientToken alone, on the request translatePod built (it is part of translatePod's time).
const requests = inputs.map((x) => (steps[0]!.run(x) as ReturnType<typeof translate.translatePod>).request);
steps.push({ name: 'clientTokenFor (part of translatePod)', run: ({ pod }) => token.clientTokenFor(pod.metadata!.uid!, requests[0]!) });

const cpu0 = process.cpuUsage();
const results = new Map<string, number[]>();
let sink = 0;
for (let r = 0; r < rounds; r++) {
  for (const step of steps) {
    const t0 = performance.now();
    for (const input of inputs) if (step.run(input) !== undefined) sink++;
    const perPod = ((performance.now() - t0) * 1000) / pods;
    results.set(step.name, [...(results.get(step.name) ?? []), perPod]);
  }
}
const cpu = process.cpuUsage(cpu0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`hot-path micro-benchmark: ${root}, ${pods} pods x ${rounds} rounds, Node ${process.version}`);
for (const [name, xs] of results) console.log(`  ${name.padEnd(40)} ${median(xs).toFixed(2).padStart(8)} us/pod (median; min ${Math.min(...xs).toFixed(2)})`);
console.log(`  process CPU over all rounds: ${(((cpu.user + cpu.system) / 1000) / (pods * rounds)).toFixed(4)} ms/pod (${sink > 0 ? 'ok' : 'no result'})`);
