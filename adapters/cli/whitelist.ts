// `eci-virtual-node whitelist <podnetworking>`: the CIDRs (with zones and free IPs) of a
// PodNetworking's vSwitches, live from the VPC API: what an RDS/Redis whitelist must allow for
// that PodNetworking's pods. `--format text|json|rds|networkpolicy` (`--output json` = json):
// the table, JSON, an RDS-style comma-separated list, or a NetworkPolicy manifest.
// Exit 0 shown, 1 not found, 2 usage.
import { InvalidConfigError } from '../../provider/config/config.ts';
import { renderWhitelist, whitelistOf, WHITELIST_FORMATS, type WhitelistFormat } from '../../provider/explain/explain.ts';
import { loadKubeConfig, makeKubernetesClients } from '../kubernetes/client.ts';
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

export async function main(argv: string[]): Promise<number> {
  const summary =
    "Prints the CIDRs of a PodNetworking's vSwitches (and their zones and free IPs): what a database whitelist needs for its pods.\n" +
    '--format text (default) | json | rds (comma-separated CIDRs for an RDS/Redis whitelist) | networkpolicy (a NetworkPolicy admitting them).';
  let args: CommandArgs;
  let format: WhitelistFormat | undefined;
  try {
    const split = splitFormat(argv);
    format = split.format;
    args = parseCommandArgs(split.rest, process.env);
  } catch (err) {
    return usageOrError('whitelist', err);
  }
  if (args.help) {
    console.log(commandUsage('whitelist', '<podnetworking> [--format text|json|rds|networkpolicy]', summary));
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
  console.log(renderWhitelist(whitelist, format ?? args.output));
  return whitelist.missing.length > 0 && whitelist.cidrs.length === 0 ? 1 : 0;
}
