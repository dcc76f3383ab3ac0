// The last good cluster-level network settings, fed one kube-system ConfigMap at a time (the
// informer's add/update/delete). A malformed ConfigMap keeps the last good version of what it
// carried and returns its field errors (the adapter turns them into a Warning event on the
// ConfigMap); a deleted one removes what it carried. Plain data, no I/O.
import { parse as parseYaml } from 'yaml';
import type { VSwitchSelectionPolicy } from '../config/config.ts';
import {
  CLUSTER_CONFIGMAPS,
  ENI_CONF_KEY,
  parseEciProfile,
  parseEniConf,
  parsePools,
  poolNetwork,
  resolveDefaultNetwork,
  type EciProfile,
  type EniConf,
  type FieldError,
  type PoolSpec,
  type ProfileSelector,
  type ResolvedNetwork,
} from './cluster-network.ts';

export interface NetworkOfPods {
  vSwitchIds: string[];
  securityGroupId: string;
  vSwitchSelectionPolicy: VSwitchSelectionPolicy;
}

export interface ApplyResult {
  /** Something the provider acts on changed (default network, pools, an overlay in use, selectors). */
  changed: boolean;
  /** Field errors of a malformed ConfigMap (its last good version stays in force). */
  errors: FieldError[];
  /** What kind of ConfigMap it was, for the event reason; undefined: not one of ours. */
  kind?: 'eni-config' | 'eci-profile' | 'pools' | 'overlay';
}

export class ClusterNetworkState {
  private readonly flags: NetworkOfPods;
  private eniConfig: EniConf | undefined;
  private eciProfile: EciProfile | undefined;
  /** Pool name -> last good spec, for the pools of the ConfigMap as it is now. */
  private poolSpecs = new Map<string, PoolSpec>();
  /** Last good eni_conf of every other ConfigMap that has one (pools name them as overlays). */
  private readonly overlays = new Map<string, EniConf>();

  constructor(o: { flags: NetworkOfPods }) {
    this.flags = o.flags;
  }

  apply(name: string, data: Readonly<Record<string, string>> | undefined): ApplyResult {
    const before = this.signature();
    const errors: FieldError[] = [];
    let kind: ApplyResult['kind'];
    if (name === CLUSTER_CONFIGMAPS.eniConfig) {
      kind = 'eni-config';
      if (data === undefined) this.eniConfig = undefined;
      else {
        const parsed = parseEniConf(data);
        if (parsed.ok) this.eniConfig = parsed.value;
        else errors.push(...parsed.errors);
      }
    } else if (name === CLUSTER_CONFIGMAPS.eciProfile) {
      kind = 'eci-profile';
      if (data === undefined) this.eciProfile = undefined;
      else {
        const parsed = parseEciProfile(data);
        if (parsed.ok) this.eciProfile = parsed.value;
        else errors.push(...parsed.errors);
      }
    } else if (name === CLUSTER_CONFIGMAPS.pools) {
      kind = 'pools';
      const entries: Record<string, unknown> = {};
      for (const [key, text] of Object.entries(data ?? {})) {
        try {
          entries[key] = parseYaml(text) as unknown;
        } catch (err) {
          errors.push({ field: key, message: `is not YAML or JSON (${(err as Error).message.split('\n')[0] ?? ''})` });
        }
      }
      const parsed = parsePools(entries);
      errors.push(...parsed.errors);
      const next = new Map(parsed.pools.map((p) => [p.name, p]));
      // A pool whose entry is malformed now keeps its last good spec.
      for (const key of Object.keys(data ?? {})) {
        const previous = this.poolSpecs.get(key);
        if (!next.has(key) && previous !== undefined) next.set(key, previous);
      }
      this.poolSpecs = new Map([...next.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    } else if (data === undefined) {
      this.overlays.delete(name);
      kind = this.isOverlayInUse(name) ? 'overlay' : undefined;
    } else if (data[ENI_CONF_KEY] !== undefined) {
      const parsed = parseEniConf(data);
      if (parsed.ok) this.overlays.set(name, parsed.value);
      else errors.push(...parsed.errors);
      kind = this.isOverlayInUse(name) ? 'overlay' : undefined;
    } else {
      this.overlays.delete(name);
    }
    // Errors of an overlay no pool names are not ours to report.
    return { changed: this.signature() !== before, errors: kind === undefined ? [] : errors, ...(kind === undefined ? {} : { kind }) };
  }

  defaultNetwork(): ResolvedNetwork {
    return resolveDefaultNetwork({ flags: this.flags, eciProfile: this.eciProfile, eniConfig: this.eniConfig });
  }

  pools(): PoolSpec[] {
    return [...this.poolSpecs.values()];
  }

  pool(name: string): PoolSpec | undefined {
    return this.poolSpecs.get(name);
  }

  /** The network of a pool's pods; undefined for an unknown pool. */
  poolNetwork(name: string): NetworkOfPods | undefined {
    const pool = this.poolSpecs.get(name);
    if (pool === undefined) return undefined;
    return poolNetwork({ overlay: this.overlays.get(pool.terwayConfig), eniConfig: this.eniConfig, defaults: this.defaultNetwork() });
  }

  profileSelectors(): readonly ProfileSelector[] {
    return this.eciProfile?.selectors ?? [];
  }

  private isOverlayInUse(name: string): boolean {
    return [...this.poolSpecs.values()].some((p) => p.terwayConfig === name);
  }

  /** What the provider acts on, as one string: a change of it is a change. */
  private signature(): string {
    const pools = this.pools().map((p) => ({ ...p, network: this.poolNetwork(p.name) }));
    return JSON.stringify({ d: this.defaultNetwork(), pools, s: this.profileSelectors() });
  }
}
