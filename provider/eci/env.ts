// Container env (env + envFrom) -> ECI EnvironmentVar: literal values, ConfigMap and Secret refs
// resolved now, the downward API computed now except status.podIP, which ECI resolves itself.
import type { V1Container } from '@kubernetes/client-node';
import { decodeBase64, downwardField, resourceField, type TranslateContext } from './context.ts';
import { EventReason } from '../events/reasons.ts';
import { mandatoryReferenceCode, optionalReferenceReason, TranslationError } from './issues.ts';
import type { EnvironmentVar } from './request.ts';

/** What the kubelet accepts as an env var name (C_IDENTIFIER relaxed: any printable but '='). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function lookup(
  ctx: TranslateContext,
  kind: 'ConfigMap' | 'Secret',
  name: string,
  key: string | undefined,
  optional: boolean,
  field: string,
): Record<string, string> | string | undefined {
  const store = kind === 'ConfigMap' ? ctx.resolved.configMaps : ctx.resolved.secrets;
  const data = store[name];
  if (data === undefined) {
    if (optional) {
      ctx.warnings.add(field, `optional ${kind} "${name}" does not exist in namespace ${ctx.pod.metadata?.namespace ?? ''}; ${key === undefined ? 'no variable is set from it' : 'the variable is not set'}`, optionalReferenceReason(kind, 'object'));
      return undefined;
    }
    throw new TranslationError(
      mandatoryReferenceCode(kind, 'object'),
      field,
      `${kind} "${name}" does not exist in namespace ${ctx.pod.metadata?.namespace ?? ''}`,
      `create the ${kind} (the pod is created once it exists) or mark the reference optional`,
    );
  }
  if (key === undefined) return data;
  const value = data[key];
  if (value === undefined) {
    if (optional) {
      ctx.warnings.add(field, `optional ${kind} "${name}" has no key "${key}"; the variable is not set`, optionalReferenceReason(kind, 'key'));
      return undefined;
    }
    throw new TranslationError(
      mandatoryReferenceCode(kind, 'key'),
      field,
      `${kind} "${name}" has no key "${key}"`,
      `add the key to the ${kind} or mark the reference optional`,
    );
  }
  return value;
}

/** The container's environment, in Kubernetes precedence: envFrom first, env overrides, last definition wins. */
export function translateEnv(ctx: TranslateContext, container: V1Container, path: string): EnvironmentVar[] {
  const out = new Map<string, EnvironmentVar>();
  const put = (v: EnvironmentVar) => {
    out.delete(v.key);
    out.set(v.key, v);
  };

  (container.envFrom ?? []).forEach((source, i) => {
    const field = `${path}.envFrom[${i}]`;
    const prefix = source.prefix ?? '';
    if (source.configMapRef !== undefined) {
      const data = lookup(ctx, 'ConfigMap', source.configMapRef.name ?? '', undefined, source.configMapRef.optional === true, `${field}.configMapRef`);
      for (const [k, v] of Object.entries((data as Record<string, string> | undefined) ?? {})) {
        if (!ENV_NAME.test(prefix + k)) ctx.warnings.add(`${field}.configMapRef`, `key "${k}" is not a valid environment variable name; skipped`, EventReason.InvalidEnvironmentVariableNames);
        else put({ key: prefix + k, value: v });
      }
    } else if (source.secretRef !== undefined) {
      const data = lookup(ctx, 'Secret', source.secretRef.name ?? '', undefined, source.secretRef.optional === true, `${field}.secretRef`);
      for (const [k, v] of Object.entries((data as Record<string, string> | undefined) ?? {})) {
        if (!ENV_NAME.test(prefix + k)) ctx.warnings.add(`${field}.secretRef`, `key "${k}" is not a valid environment variable name; skipped`, EventReason.InvalidEnvironmentVariableNames);
        else put({ key: prefix + k, value: decodeBase64(v), sensitive: true });
      }
    }
  });

  (container.env ?? []).forEach((env, i) => {
    const field = `${path}.env[${i}]`;
    const from = env.valueFrom;
    if (from === undefined) {
      put({ key: env.name, value: env.value ?? '' });
      return;
    }
    if (from.configMapKeyRef !== undefined) {
      const ref = from.configMapKeyRef;
      const v = lookup(ctx, 'ConfigMap', ref.name ?? '', ref.key, ref.optional === true, `${field}.valueFrom.configMapKeyRef`);
      if (typeof v === 'string') put({ key: env.name, value: v });
    } else if (from.secretKeyRef !== undefined) {
      const ref = from.secretKeyRef;
      const v = lookup(ctx, 'Secret', ref.name ?? '', ref.key, ref.optional === true, `${field}.valueFrom.secretKeyRef`);
      if (typeof v === 'string') put({ key: env.name, value: decodeBase64(v), sensitive: true });
    } else if (from.fieldRef !== undefined) {
      const fieldPath = from.fieldRef.fieldPath;
      const d = downwardField(ctx, fieldPath, false);
      if ('value' in d) put({ key: env.name, value: d.value });
      else if ('fieldPath' in d) {
        if (fieldPath === 'status.hostIP' || fieldPath === 'status.hostIPs') {
          ctx.warnings.add(`${field}.valueFrom.fieldRef`, `${fieldPath}: an ECI pod has no node of its own; the variable carries the pod IP`);
        } else if (fieldPath === 'status.podIPs') {
          ctx.warnings.add(`${field}.valueFrom.fieldRef`, 'status.podIPs: ECI resolves only status.podIP; the variable carries the IPv4 pod IP');
        }
        put({ key: env.name, fieldPath: d.fieldPath });
      } else ctx.warnings.add(`${field}.valueFrom.fieldRef`, `${d.unsupported}; variable ${env.name} is not set`);
    } else if (from.resourceFieldRef !== undefined) {
      const ref = from.resourceFieldRef;
      const target = ref.containerName === undefined || ref.containerName === '' ? container : findContainer(ctx, ref.containerName);
      const r = resourceField(ctx, target, ref.resource, ref.divisor);
      if ('value' in r) put({ key: env.name, value: r.value });
      else ctx.warnings.add(`${field}.valueFrom.resourceFieldRef`, `${r.unsupported}; variable ${env.name} is not set`);
    } else {
      ctx.warnings.add(`${field}.valueFrom`, `this valueFrom source is not supported; variable ${env.name} is not set`);
    }
  });
  return [...out.values()];
}

function findContainer(ctx: TranslateContext, name: string): V1Container | undefined {
  return [...(ctx.pod.spec?.containers ?? []), ...(ctx.pod.spec?.initContainers ?? [])].find((c) => c.name === name);
}
