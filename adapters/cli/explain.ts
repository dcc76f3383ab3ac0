// `eci-virtual-node explain <namespace>/<pod>`: the decision chain of one pod (PodNetworking and
// why, allowed zones, vSwitch and why, security group, IP, ENI, timings) from what the webhook and
// the provider recorded on the pod (annotations, conditions, events) and from the cloud
// (DescribeContainerGroups by the pod's instance id, DescribeVSwitches of its vSwitch).
// Configured like `run` (kubeconfig, region, endpoints; the AccessKey from env or files), but only
// those fields are required. `--output json` for scripts. Exit 0 shown, 1 not found, 2 usage.
import type * as k8s from '@kubernetes/client-node';
import { InvalidConfigError, type ProviderConfig } from '../../provider/config/config.ts';
import { POOL_LABEL, TERWAY_CONFIG_LABEL } from '../../provider/networking/cluster-network.ts';
import { explainPod, formatExplanation, type ExplainEvent } from '../../provider/explain/explain.ts';
import { ANNOTATIONS, PODNETWORKING_API } from '../../provider/networking/constants.ts';
import { selectingPodNetworking } from '../../provider/networking/decide.ts';
import type { PodNetworking } from '../../provider/networking/podnetworking.ts';
import { POD_ANNOTATIONS } from '../../provider/pods/annotations.ts';
import { createCloud, type AlibabaCloud } from '../alibabacloud/cloud.ts';
import { configUsage, loadConfig } from '../config/load.ts';
import { isNotFound, loadKubeConfig, makeKubernetesClients, type KubernetesClients } from '../kubernetes/client.ts';

/** The fields `explain` and `whitelist` need; the rest of the provider's configuration is ignored. */
export const COMMAND_CONFIG_FIELDS = ['regionId', 'cloud.eciEndpoint', 'cloud.vpcEndpoint', 'cloud.ecsEndpoint', 'cloud.protocol', 'cloud.accessKeyId', 'cloud.accessKeySecret', 'cloud.timeoutMs', 'kubernetes'] as const;

export interface CommandArgs {
  positionals: string[];
  output: 'text' | 'json';
  help: boolean;
  config: ProviderConfig;
}

/**
 * Splits a command's own arguments (positionals, `--output`/`-o`, `--help`) from the provider's
 * configuration flags, and loads the configuration needed to read Kubernetes and the cloud.
 * Throws InvalidConfigError naming the fields at fault.
 */
export function parseCommandArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CommandArgs {
  const positionals: string[] = [];
  const rest: string[] = [];
  let output: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--output' || arg === '-o') output = argv[++i] ?? '';
    else if (arg.startsWith('--output=')) output = arg.slice('--output='.length);
    else if (arg.startsWith('-')) {
      rest.push(arg);
      // A config flag's value follows it unless given as --flag=value.
      if (!arg.includes('=') && i + 1 < argv.length) rest.push(argv[++i]!);
    } else positionals.push(arg);
  }
  if (output !== undefined && output !== 'json' && output !== 'text') {
    throw new InvalidConfigError([{ field: '--output', message: `must be text or json, got "${output}"` }]);
  }
  if (help) return { positionals, output: output === 'json' ? 'json' : 'text', help, config: loadConfig({ argv: ['--help'], env }).config };
  const { config } = loadConfig({ argv: rest, env, fields: COMMAND_CONFIG_FIELDS });
  return { positionals, output: output === 'json' ? 'json' : 'text', help, config };
}

export function commandCloud(config: ProviderConfig): AlibabaCloud {
  return createCloud({
    regionId: config.regionId,
    eciEndpoint: config.cloud.eciEndpoint,
    vpcEndpoint: config.cloud.vpcEndpoint,
    ecsEndpoint: config.cloud.ecsEndpoint,
    protocol: config.cloud.protocol,
    credentials: { accessKeyId: config.cloud.accessKeyId, accessKeySecret: config.cloud.accessKeySecret },
    timeouts: { callMs: config.cloud.timeoutMs },
  });
}

export async function readPodNetworking(clients: KubernetesClients, name: string): Promise<PodNetworking | undefined> {
  const { group, version, plural } = PODNETWORKING_API;
  try {
    return (await clients.custom.getClusterCustomObject({ group, version, plural, name })) as PodNetworking;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The PodNetworking whose selectors select the pod now (Ready first, else the first not Ready), as the sync matches. */
async function selectedBySelectors(clients: KubernetesClients, pod: k8s.V1Pod): Promise<PodNetworking | undefined> {
  const { group, version, plural } = PODNETWORKING_API;
  const [list, namespace] = await Promise.all([
    clients.custom.listClusterCustomObject({ group, version, plural }) as Promise<{ items: PodNetworking[] }>,
    clients.core.readNamespace({ name: pod.metadata?.namespace ?? '' }),
  ]);
  return selectingPodNetworking({ pod, namespaceLabels: namespace.metadata?.labels, podNetworkings: list.items });
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Prints usage or a configuration error; returns the exit code, or undefined to go on. */
export function usageOrError(command: string, err: unknown): number {
  if (err instanceof InvalidConfigError) {
    console.error(`eci-virtual-node ${command}: ${err.message}\n\nRun \`eci-virtual-node ${command} --help\` for the flags.`);
    return 2;
  }
  throw err;
}

export function commandUsage(command: string, synopsis: string, summary: string): string {
  return `Usage: eci-virtual-node ${command} ${synopsis} [--output text|json] [flags]\n\n${summary}\n\nFlags (those of \`run\`; only the kubeconfig, region, endpoints and AccessKey are used):\n${configUsage()}`;
}

export async function main(argv: string[]): Promise<number> {
  const summary = 'Prints why a pod got its PodNetworking, zone, vSwitch, security group and IP, and where its start-up time went.';
  let args: CommandArgs;
  try {
    args = parseCommandArgs(argv, process.env);
  } catch (err) {
    return usageOrError('explain', err);
  }
  if (args.help) {
    console.log(commandUsage('explain', '<namespace>/<pod>', summary));
    return 0;
  }
  const [target, ...extra] = args.positionals;
  const [namespace, name, more] = (target ?? '').split('/');
  if (!namespace || !name || more !== undefined || extra.length > 0) {
    console.error('eci-virtual-node explain: give exactly one <namespace>/<pod>');
    return 2;
  }

  const clients = makeKubernetesClients(loadKubeConfig(args.config.kubernetes.kubeconfig));
  let pod: k8s.V1Pod;
  try {
    pod = await clients.core.readNamespacedPod({ namespace, name });
  } catch (err) {
    if (isNotFound(err)) {
      console.error(`eci-virtual-node explain: pod ${namespace}/${name} not found`);
      return 1;
    }
    throw err;
  }
  const annotations = pod.metadata?.annotations ?? {};
  const problems: string[] = [];
  const pnName = annotations[ANNOTATIONS.podNetworking];
  const uid = pod.metadata?.uid ?? '';
  const cloud = commandCloud(args.config);
  const instanceId = annotations[POD_ANNOTATIONS.instanceId];
  const vSwitchId = annotations[POD_ANNOTATIONS.vSwitchId];
  const [events, podNetworking, group, vSwitch] = await Promise.all([
    clients.core
      .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid}` })
      .then((list) => list.items as ExplainEvent[])
      .catch((err: unknown) => (problems.push(`reading events: ${errorText(err)}`), [] as ExplainEvent[])),
    pnName ? readPodNetworking(clients, pnName).catch((err: unknown) => (problems.push(`reading PodNetworking ${pnName}: ${errorText(err)}`), undefined)) : Promise.resolve(undefined),
    instanceId
      ? cloud
          .describeContainerGroups([instanceId])
          .then(([g]) => {
            if (g === undefined) problems.push(`container group ${instanceId} recorded on the pod was not found in ECI`);
            return g;
          })
          .catch((err: unknown) => (problems.push(`DescribeContainerGroups ${instanceId}: ${errorText(err)}`), undefined))
      : Promise.resolve(undefined),
    vSwitchId
      ? cloud
          .describeVSwitches([vSwitchId])
          .then(([v]) => v)
          .catch((err: unknown) => (problems.push(`DescribeVSwitches ${vSwitchId}: ${errorText(err)}`), undefined))
      : Promise.resolve(undefined),
  ]);
  // No annotation: what the sync's matcher selects now (the same decision the provider makes).
  const selectedAtSync = pnName ? undefined : await selectedBySelectors(clients, pod).catch((err: unknown) => (problems.push(`matching PodNetworkings: ${errorText(err)}`), undefined));
  // A pool node's labels name its pool and overlay (docs/networks.md).
  const nodeName = pod.spec?.nodeName;
  const noLabels: Record<string, string> = {};
  const nodeLabels: Record<string, string> = nodeName
    ? await clients.core
        .readNode({ name: nodeName })
        .then((n) => n.metadata?.labels ?? noLabels)
        .catch((err: unknown) => (problems.push(`reading node ${nodeName}: ${errorText(err)}`), noLabels))
    : noLabels;
  const poolName = nodeLabels[POOL_LABEL];
  const pool = poolName === undefined ? undefined : { name: poolName, terwayConfig: nodeLabels[TERWAY_CONFIG_LABEL] ?? '' };
  const explanation = explainPod({ pod, events, podNetworking, selectedAtSync, group, vSwitch, pool, problems });
  console.log(args.output === 'json' ? JSON.stringify(explanation, null, 2) : formatExplanation(explanation));
  return 0;
}
