// `eci-virtual-node whitelist <podnetworking> | pool/<pool>`: the CIDRs (with zones and free IPs)
// of a PodNetworking's vSwitches, or of a virtual node pool's terway-config overlay, live from the
// VPC API: what an RDS/Redis whitelist must allow for that network's pods. `--format text|json|rds|networkpolicy` (`--output json` = json):
// the table, JSON, an RDS-style comma-separated list, or a NetworkPolicy manifest.
// Exit 0 shown, 1 not found, 2 usage.
import { InvalidConfigError } from '../../provider/config/config.ts';
import { renderWhitelist, whitelistOf, whitelistOfPool, WHITELIST_FORMATS, type Whitelist, type WhitelistFormat } from '../../provider/explain/explain.ts';
import { CLUSTER_CONFIGMAPS, CLUSTER_NETWORK_NAMESPACE } from '../../provider/networking/cluster-network.ts';
import { ClusterNetworkState } from '../../provider/networking/cluster-network-state.ts';
import type { VSwitch } from '../../provider/cloud/model.ts';
import { loadKubeConfig, makeKubernetesClients, type KubernetesClients } from '../kubernetes/client.ts';
import { commandCloud, commandUsage, parseCommandArgs, readPodNetworking, usageOrError, type CommandArgs } from './explain.ts';

/** Takes `--format X` / `--format=X` out of argv (the other flags are parseCommandArgs'). */
export function splitFormat(argv: readonly string[]): { format: WhitelistFormat | undefined; rest: string[] } {
  const rest: string[] = [];
  let format: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--format') format = argv[++i] ?? '';
    else if (arg.startsWith('--format=')) format = arg.slice('--format='.length);
    else rest.push(arg);
  }
  if (format !== undefined && !(WHITELIST_FORMATS as readonly string[]).includes(format)) {
    throw new InvalidConfigError([{ field: '--format', message: `must be one of ${WHITELIST_FORMATS.join(', ')}, got "${format}"` }]);
  }
  return { format: format as WhitelistFormat | undefined, rest };
}

/** `pool/<name>`, `podnetworking/<name>` (kubectl's kind/name form) or a bare name (either kind). */
export function parseNetworkName(arg: string): { kind: 'pool' | 'podnetworking' | 'any'; name: string } {
  const slash = arg.indexOf('/');
  if (slash < 0) return { kind: 'any', name: arg };
  const kind = arg.slice(0, slash).toLowerCase();
  const name = arg.slice(slash + 1);
  if (kind === 'pool' || kind === 'pools') return { kind: 'pool', name };
  if (kind === 'podnetworking' || kind === 'podnetworkings') return { kind: 'podnetworking', name };
  throw new InvalidConfigError([{ field: '<network>', message: `"${arg}": the kind before "/" must be podnetworking or pool` }]);
}

/** The pools declared now (kube-system ConfigMaps, read as the provider reads them). */
async function readPools(clients: KubernetesClients): Promise<ClusterNetworkState> {
  const state = new ClusterNetworkState({ flags: { vSwitchIds: [], securityGroupId: '', vSwitchSelectionPolicy: 'ordered' } });
  const list = await clients.core.listNamespacedConfigMap({ namespace: CLUSTER_NETWORK_NAMESPACE });
  for (const cm of list.items) if (cm.metadata?.name) state.apply(cm.metadata.name, cm.data ?? {});
  return state;
}

export async function main(argv: string[]): Promise<number> {
  const summary =
    "Prints the CIDRs of a PodNetworking's vSwitches, or of a virtual node pool's (pool/<name>: its terway-config overlay), with their zones and free IPs: what a database whitelist needs for its pods.\n" +
    '--format text (default) | json | rds (comma-separated CIDRs for an RDS/Redis whitelist) | networkpolicy (a NetworkPolicy admitting them).';
  let args: CommandArgs;
  let format: WhitelistFormat | undefined;
  let target: ReturnType<typeof parseNetworkName>;
  try {
    const split = splitFormat(argv);
    format = split.format;
    args = parseCommandArgs(split.rest, process.env);
    if (args.help) {
      console.log(commandUsage('whitelist', '<podnetworking> | pool/<pool> [--format text|json|rds|networkpolicy]', summary));
      return 0;
    }
    const [name, ...extra] = args.positionals;
    if (!name || extra.length > 0) {
      console.error('eci-virtual-node whitelist: give exactly one network: a PodNetworking name, or pool/<name> for a virtual node pool');
      return 2;
    }
    target = parseNetworkName(name);
  } catch (err) {
    return usageOrError('whitelist', err);
  }
  const clients = makeKubernetesClients(loadKubeConfig(args.config.kubernetes.kubeconfig));
  const describe = (ids: readonly string[]): Promise<VSwitch[]> => commandCloud(args.config).describeVSwitches(ids);
  const podNetworking = target.kind === 'pool' ? undefined : await readPodNetworking(clients, target.name);
  const pools = target.kind === 'podnetworking' ? undefined : await readPools(clients);
  const pool = pools?.pool(target.name);
  if (podNetworking !== undefined && pool !== undefined) {
    console.error(`eci-virtual-node whitelist: both a PodNetworking and a pool are named ${target.name}: say podnetworking/${target.name} or pool/${target.name}`);
    return 2;
  }
  let whitelist: Whitelist;
  if (podNetworking !== undefined) {
    whitelist = whitelistOf(podNetworking, await describe(podNetworking.spec?.vSwitchOptions ?? []));
  } else if (pool !== undefined) {
    const ids = pools!.poolNetwork(target.name)?.vSwitchIds ?? [];
    whitelist = whitelistOfPool(target.name, ids, await describe(ids));
  } else {
    const what = { pool: `pool ${target.name} (ConfigMap ${CLUSTER_NETWORK_NAMESPACE}/${CLUSTER_CONFIGMAPS.pools})`, podnetworking: `PodNetworking ${target.name}`, any: `PodNetworking or pool ${target.name}` }[target.kind];
    console.error(`eci-virtual-node whitelist: ${what} not found`);
    return 1;
  }
  console.log(renderWhitelist(whitelist, format ?? args.output));
  // Nothing to allow (no vSwitch the VPC API knows) is a failure a script must notice.
  return whitelist.cidrs.length === 0 ? 1 : 0;
}
