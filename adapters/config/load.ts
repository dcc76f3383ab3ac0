// Builds the ProviderConfig from, lowest precedence first: the schema's defaults, an optional YAML
// file (--config), environment variables, then command-line flags; then the schema validates the
// result. The AccessKey comes from the standard Alibaba Cloud env vars or from files (a mounted
// Secret), never from a flag or the config file: flags show up in `ps` and in Pod specs.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_CONFIG,
  InvalidConfigError,
  configSettings,
  parseConfig,
  type ConfigFieldError,
  type ConfigSetting,
  type ProviderConfig,
} from '../../provider/config/config.ts';

type Setting = ConfigSetting & { flag: string; env: string; help: string };

/** Every field of the schema, and those of them that have a flag and an env var (the file can set any but the AccessKey). */
const FIELDS = configSettings();
export const SETTINGS: readonly Setting[] = FIELDS.filter((s): s is Setting => s.flag !== undefined && s.env !== undefined && s.help !== undefined);

export interface LoadInputs {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => string;
  /**
   * Validate only these fields (dotted paths; a path covers its children): for commands that
   * need part of the configuration (`explain` needs the kubeconfig and the cloud, not vSwitches).
   * Default: every field.
   */
  fields?: readonly string[];
}

export interface LoadedConfig {
  config: ProviderConfig;
  /** Flags the caller's command handles itself (positional args, --help). */
  help: boolean;
}

/** Parses flags, env and files into a validated config; throws InvalidConfigError naming fields. */
export function loadConfig({ argv, env, readFile = (p) => readFileSync(p, 'utf8'), fields }: LoadInputs): LoadedConfig {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    config: { type: 'string' },
    help: { type: 'boolean' },
    'access-key-id-file': { type: 'string' },
    'access-key-secret-file': { type: 'string' },
  };
  for (const s of SETTINGS) options[s.flag] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new InvalidConfigError([{ field: 'flags', message: (err as Error).message }]);
  }
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  if (flags.help === true) return { config: structuredClone(DEFAULT_CONFIG), help: true };

  const errors: ConfigFieldError[] = [];
  // Untyped until the schema has judged it: the file may hold anything.
  const merged = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, unknown>;

  const configPath = typeof flags.config === 'string' ? flags.config : env.ECI_VN_CONFIG;
  if (configPath !== undefined && configPath !== '') {
    let fileText: string | undefined;
    try {
      fileText = readFile(configPath);
    } catch (err) {
      errors.push({ field: 'config', message: `cannot read ${configPath}: ${(err as Error).message}` });
    }
    if (fileText !== undefined) mergeFile(merged, fileText, configPath, errors);
  }

  for (const s of SETTINGS) {
    const fromEnv = env[s.env];
    if (fromEnv !== undefined && fromEnv !== '') assign(merged, s, fromEnv, `env ${s.env}`, errors);
    const fromFlag = flags[s.flag];
    if (typeof fromFlag === 'string') assign(merged, s, fromFlag, `--${s.flag}`, errors);
  }

  // A file that made `cloud` something else than a mapping has its error already; keep the keys aside.
  const cloud = isMapping(merged.cloud) ? merged.cloud : {};
  const idFile = typeof flags['access-key-id-file'] === 'string' ? flags['access-key-id-file'] : env.ALIBABA_CLOUD_ACCESS_KEY_ID_FILE;
  const secretFile =
    typeof flags['access-key-secret-file'] === 'string' ? flags['access-key-secret-file'] : env.ALIBABA_CLOUD_ACCESS_KEY_SECRET_FILE;
  cloud.accessKeyId = env.ALIBABA_CLOUD_ACCESS_KEY_ID ?? cloud.accessKeyId;
  cloud.accessKeySecret = env.ALIBABA_CLOUD_ACCESS_KEY_SECRET ?? cloud.accessKeySecret;
  for (const [file, key, field] of [
    [idFile, 'accessKeyId', 'cloud.accessKeyId'],
    [secretFile, 'accessKeySecret', 'cloud.accessKeySecret'],
  ] as const) {
    if (file === undefined || file === '') continue;
    try {
      cloud[key] = readFile(file).trim();
    } catch (err) {
      // The message names the file, never its content.
      errors.push({ field, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
    }
  }

  // Values derived from others, only where the user left them empty and the source is usable.
  const region = merged.regionId;
  if (typeof region === 'string' && region !== '') {
    for (const service of ['eci', 'vpc', 'ecs'] as const) {
      if (cloud[`${service}Endpoint`] === '') cloud[`${service}Endpoint`] = `${service}.${region}.aliyuncs.com`;
    }
  }
  // Leader election: the Deployment passes its pod's name and namespace (downward API).
  const election = merged.leaderElection;
  if (isMapping(election)) {
    if (election.namespace === '') election.namespace = env.POD_NAMESPACE || 'eci-virtual-node';
    if (election.identity === '') election.identity = env.POD_NAME || hostname();
    const clusterId = merged.clusterId;
    if (election.leaseName === '' && typeof clusterId === 'string' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(clusterId)) {
      election.leaseName = `eci-virtual-node-${clusterId}`;
    }
  }

  const covered = (field: string) => fields === undefined || fields.some((f) => field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`));
  // A field refused while loading (not a number, unknown in the file) is not judged again by the schema.
  const refused = new Set(errors.map((e) => e.field));
  const result = parseConfig(merged);
  errors.push(...result.errors.filter((e) => covered(e.field) && !refused.has(e.field)));
  if (errors.length > 0) throw new InvalidConfigError(errors);
  // Valid, or valid in every field this command uses.
  return { config: result.config ?? (merged as unknown as ProviderConfig), help: false };
}

const PLACEHOLDER: Record<ConfigSetting['kind'], string> = { list: 'A,B', numbers: 'N,M', number: 'N', boolean: 'true|false', string: 'VALUE', mapping: 'K=V' };

export function configUsage(): string {
  const rows: [string, string][] = [
    ['--config FILE', 'YAML file with any ProviderConfig field [env ECI_VN_CONFIG]'],
    ...SETTINGS.map((s): [string, string] => [`--${s.flag} ${PLACEHOLDER[s.kind]}`, `${s.help} [env ${s.env}]`]),
    ['--access-key-id-file FILE', 'file holding the AccessKey id [env ALIBABA_CLOUD_ACCESS_KEY_ID_FILE]'],
    ['--access-key-secret-file FILE', 'file holding the AccessKey secret [env ALIBABA_CLOUD_ACCESS_KEY_SECRET_FILE]'],
  ];
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [...rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`), '  (or env ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET)'].join('\n');
}

/** A flag or env string converted to the kind of value its field holds; the schema judges the value. */
function assign(config: Record<string, unknown>, s: Setting, raw: string, source: string, errors: ConfigFieldError[]): void {
  let value: unknown = raw;
  if (s.kind === 'number') {
    value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) {
      errors.push({ field: s.path, message: `${source}: "${raw}" is not a number` });
      return;
    }
  } else if (s.kind === 'boolean') {
    if (raw !== 'true' && raw !== 'false') {
      errors.push({ field: s.path, message: `${source}: must be true or false, got "${raw}"` });
      return;
    }
    value = raw === 'true';
  } else if (s.kind === 'list' || s.kind === 'numbers') {
    const items = raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (s.kind === 'numbers') {
      const bad = items.find((item) => !Number.isFinite(Number(item)));
      if (bad !== undefined) {
        errors.push({ field: s.path, message: `${source}: "${bad}" is not a number` });
        return;
      }
    }
    value = s.kind === 'numbers' ? items.map(Number) : items;
  }
  setPath(config, s.path, value);
}

/** Sets a dotted path, unless a section on the way is not a mapping (the file broke it; the schema says so). */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) return;
    node = next as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

const isMapping = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Merges a YAML file over the defaults: sections key by key, maps (labels, rate limits) over the
 * default entries, anything else replaced. Unknown keys and the AccessKey are refused here (with
 * the file's name); values of the wrong type are left for the schema to name.
 */
function mergeFile(config: Record<string, unknown>, text: string, path: string, errors: ConfigFieldError[]): void {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    errors.push({ field: 'config', message: `${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  if (doc === null || doc === undefined) return;
  if (!isMapping(doc)) {
    errors.push({ field: 'config', message: `${path}: must be a mapping` });
    return;
  }
  const byPath = new Map(FIELDS.map((f) => [f.path, f]));
  const merge = (target: Record<string, unknown>, source: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(source)) {
      const field = prefix === '' ? key : `${prefix}.${key}`;
      const leaf = byPath.get(field);
      const isSection = leaf === undefined && FIELDS.some((f) => f.path.startsWith(`${field}.`));
      if (leaf === undefined && !isSection) {
        errors.push({ field, message: `${path}: unknown field` });
      } else if (leaf?.notInFile !== undefined) {
        errors.push({ field, message: `${path}: ${leaf.notInFile}` });
      } else if (isSection && isMapping(value) && isMapping(target[key])) {
        merge(target[key], value, field);
      } else if (leaf?.kind === 'mapping' && isMapping(value) && isMapping(target[key])) {
        target[key] = { ...target[key], ...value };
      } else {
        target[key] = value;
      }
    }
  };
  merge(config, doc, '');
}
