// `eci-virtual-node whitelist <podnetworking>`: the CIDRs (with zones and free IPs) of a
// PodNetworking's vSwitches, live from the VPC API: what an RDS/Redis whitelist must allow for
// that PodNetworking's pods. Human-readable, or `--output json`. Exit 0 shown, 1 not found, 2 usage.
import { formatWhitelist, whitelistOf } from '../../provider/explain/explain.ts';
import { loadKubeConfig, makeKubernetesClients } from '../kubernetes/client.ts';
import { commandCloud, commandUsage, parseCommandArgs, readPodNetworking, usageOrError, type CommandArgs } from './explain.ts';

export async function main(argv: string[]): Promise<number> {
  const summary = "Prints the CIDRs of a PodNetworking's vSwitches (and their zones and free IPs): what a database whitelist needs for its pods.";
  let args: CommandArgs;
  try {
    args = parseCommandArgs(argv, process.env);
  } catch (err) {
    return usageOrError('whitelist', err);
  }
  if (args.help) {
    console.log(commandUsage('whitelist', '<podnetworking>', summary));
    return 0;
  }
  const [name, ...extra] = args.positionals;
  if (!name || extra.length > 0) {
    console.error('eci-virtual-node whitelist: give exactly one PodNetworking name');
    return 2;
  }
  const clients = makeKubernetesClients(loadKubeConfig(args.config.kubernetes.kubeconfig));
  const podNetworking = await readPodNetworking(clients, name);
  if (podNetworking === undefined) {
    console.error(`eci-virtual-node whitelist: PodNetworking ${name} not found`);
    return 1;
  }
  const vSwitches = await commandCloud(args.config).describeVSwitches(podNetworking.spec?.vSwitchOptions ?? []);
  const whitelist = whitelistOf(podNetworking, vSwitches);
  console.log(args.output === 'json' ? JSON.stringify(whitelist, null, 2) : formatWhitelist(whitelist));
  return whitelist.missing.length > 0 && whitelist.cidrs.length === 0 ? 1 : 0;
}
