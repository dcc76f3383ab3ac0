// Pod volumes -> ECI volumes. emptyDir -> EmptyDirVolume (medium Memory kept); configMap, secret,
// downwardAPI and projected -> ConfigFileVolume (files with base64 content, computed now); nfs ->
// NFSVolume. Anything ECI cannot mount becomes an emptyDir of the same name (so the containers
// still start) with a warning saying the data is not what the pod asked for.
import type { V1DownwardAPIVolumeFile, V1KeyToPath, V1Volume } from '@kubernetes/client-node';
import { downwardField, encodeBase64, resourceField, type TranslateContext } from './context.ts';
import { mandatoryReferenceCode, optionalReferenceReason, TranslationCode, TranslationError } from './issues.ts';
import type { ConfigFile, Volume } from './request.ts';

/** ECI's per-group limit. */
export const MAX_VOLUMES = 20;

type FileSource = { kind: 'ConfigMap' | 'Secret'; name: string; items?: V1KeyToPath[]; optional: boolean };

/** Files of one configMap/secret source; undefined when it is optional and missing. */
function filesOf(ctx: TranslateContext, src: FileSource, field: string): ConfigFile[] | undefined {
  const isSecret = src.kind === 'Secret';
  const text = isSecret ? undefined : ctx.resolved.configMaps[src.name];
  const binary = isSecret ? undefined : ctx.resolved.configMapsBinary?.[src.name];
  const secret = isSecret ? ctx.resolved.secrets[src.name] : undefined;
  if (text === undefined && binary === undefined && secret === undefined) {
    if (src.optional) {
      ctx.warnings.add(field, `optional ${src.kind} "${src.name}" does not exist in namespace ${ctx.pod.metadata?.namespace ?? ''}; its files are not written`, optionalReferenceReason(src.kind, 'object'));
      return undefined;
    }
    throw new TranslationError(
      mandatoryReferenceCode(src.kind, 'object'),
      field,
      `${src.kind} "${src.name}" does not exist in namespace ${ctx.pod.metadata?.namespace ?? ''}`,
      `create the ${src.kind} (the pod is created once it exists) or mark the volume optional`,
    );
  }
  // key -> base64 content
  const contents = new Map<string, string>();
  for (const [k, v] of Object.entries(text ?? {})) contents.set(k, encodeBase64(v));
  for (const [k, v] of Object.entries(binary ?? {})) contents.set(k, v);
  for (const [k, v] of Object.entries(secret ?? {})) contents.set(k, v);

  const sensitive = isSecret ? { sensitive: true } : {};
  if (src.items === undefined || src.items.length === 0) {
    return [...contents.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([path, contentBase64]) => ({ path, contentBase64, ...sensitive }));
  }
  const files: ConfigFile[] = [];
  src.items.forEach((item, i) => {
    const content = contents.get(item.key);
    if (content === undefined) {
      if (src.optional) {
        ctx.warnings.add(`${field}.items[${i}]`, `optional ${src.kind} "${src.name}" has no key "${item.key}"; ${item.path} is not written`, optionalReferenceReason(src.kind, 'key'));
        return;
      }
      throw new TranslationError(
        mandatoryReferenceCode(src.kind, 'key'),
        `${field}.items[${i}]`,
        `${src.kind} "${src.name}" has no key "${item.key}"`,
        `add the key to the ${src.kind} or mark the volume optional`,
      );
    }
    files.push({ path: item.path, contentBase64: content, ...(item.mode === undefined ? {} : { mode: item.mode }), ...sensitive });
  });
  return files;
}

function downwardFiles(
  ctx: TranslateContext,
  items: V1DownwardAPIVolumeFile[],
  field: string,
): ConfigFile[] {
  const files: ConfigFile[] = [];
  items.forEach((item, i) => {
    const mode = item.mode === undefined ? {} : { mode: item.mode };
    if (item.fieldRef !== undefined) {
      const d = downwardField(ctx, item.fieldRef.fieldPath, true);
      if ('value' in d) files.push({ path: item.path, contentBase64: encodeBase64(d.value), ...mode });
      else ctx.warnings.add(`${field}.items[${i}].fieldRef`, `${'unsupported' in d ? d.unsupported : 'not supported'}; file ${item.path} is not written`);
    } else if (item.resourceFieldRef !== undefined) {
      const ref = item.resourceFieldRef;
      const container = [...(ctx.pod.spec?.containers ?? []), ...(ctx.pod.spec?.initContainers ?? [])].find((c) => c.name === ref.containerName);
      const r = resourceField(ctx, container, ref.resource, ref.divisor);
      if ('value' in r) files.push({ path: item.path, contentBase64: encodeBase64(r.value), ...mode });
      else ctx.warnings.add(`${field}.items[${i}].resourceFieldRef`, `${r.unsupported}; file ${item.path} is not written`);
    }
  });
  return files;
}

function replacedByEmptyDir(ctx: TranslateContext, v: V1Volume, field: string, what: string): Volume {
  ctx.warnings.add(field, `${what} volumes are not supported on ECI; "${v.name}" is mounted as an empty directory instead (its data is NOT what the pod expects)`);
  return { name: v.name, type: 'EmptyDirVolume' };
}

export function translateVolumes(ctx: TranslateContext): Volume[] {
  const volumes = ctx.pod.spec?.volumes ?? [];
  if (volumes.length > MAX_VOLUMES) {
    throw new TranslationError(
      TranslationCode.TooManyVolumes,
      'spec.volumes',
      `the pod has ${volumes.length} volumes; ECI allows at most ${MAX_VOLUMES} per container group`,
      'merge volumes (e.g. one projected volume for several ConfigMaps/Secrets)',
    );
  }
  return volumes.map((v, i): Volume => {
    const field = `spec.volumes[${i}]`;
    if (v.emptyDir !== undefined) {
      const sizeLimit = v.emptyDir.sizeLimit === undefined ? {} : { sizeLimit: String(v.emptyDir.sizeLimit) };
      return { name: v.name, type: 'EmptyDirVolume', ...(v.emptyDir.medium === 'Memory' ? { medium: 'Memory' } : {}), ...sizeLimit };
    }
    if (v.configMap !== undefined || v.secret !== undefined) {
      const isSecret = v.secret !== undefined;
      const src: FileSource = isSecret
        ? { kind: 'Secret', name: v.secret?.secretName ?? '', optional: v.secret?.optional === true, ...(v.secret?.items ? { items: v.secret.items } : {}) }
        : { kind: 'ConfigMap', name: v.configMap?.name ?? '', optional: v.configMap?.optional === true, ...(v.configMap?.items ? { items: v.configMap.items } : {}) };
      const files = filesOf(ctx, src, `${field}.${isSecret ? 'secret' : 'configMap'}`);
      const defaultMode = (isSecret ? v.secret?.defaultMode : v.configMap?.defaultMode) ?? undefined;
      if (files === undefined || files.length === 0) return { name: v.name, type: 'EmptyDirVolume' };
      return { name: v.name, type: 'ConfigFileVolume', files, ...(defaultMode === undefined ? {} : { defaultMode }) };
    }
    if (v.downwardAPI !== undefined) {
      const files = downwardFiles(ctx, v.downwardAPI.items ?? [], `${field}.downwardAPI`);
      if (files.length === 0) return { name: v.name, type: 'EmptyDirVolume' };
      const defaultMode = v.downwardAPI.defaultMode;
      return { name: v.name, type: 'ConfigFileVolume', files, ...(defaultMode === undefined ? {} : { defaultMode }) };
    }
    if (v.projected !== undefined) {
      const files: ConfigFile[] = [];
      (v.projected.sources ?? []).forEach((s, j) => {
        const sfield = `${field}.projected.sources[${j}]`;
        if (s.configMap !== undefined) {
          files.push(
            ...(filesOf(
              ctx,
              { kind: 'ConfigMap', name: s.configMap.name ?? '', optional: s.configMap.optional === true, ...(s.configMap.items ? { items: s.configMap.items } : {}) },
              `${sfield}.configMap`,
            ) ?? []),
          );
        } else if (s.secret !== undefined) {
          files.push(
            ...(filesOf(
              ctx,
              { kind: 'Secret', name: s.secret.name ?? '', optional: s.secret.optional === true, ...(s.secret.items ? { items: s.secret.items } : {}) },
              `${sfield}.secret`,
            ) ?? []),
          );
        } else if (s.downwardAPI !== undefined) {
          files.push(...downwardFiles(ctx, s.downwardAPI.items ?? [], `${sfield}.downwardAPI`));
        } else if (s.serviceAccountToken !== undefined) {
          const token = ctx.resolved.serviceAccountToken;
          if (token === undefined) {
            ctx.warnings.add(`${sfield}.serviceAccountToken`, `no service account token was issued for the pod; ${s.serviceAccountToken.path} is not written`);
          } else {
            files.push({ path: s.serviceAccountToken.path, contentBase64: encodeBase64(token), sensitive: true });
          }
        } else {
          ctx.warnings.add(sfield, 'this projected source is not supported on ECI; skipped');
        }
      });
      if (files.length === 0) return { name: v.name, type: 'EmptyDirVolume' };
      const defaultMode = v.projected.defaultMode;
      return { name: v.name, type: 'ConfigFileVolume', files, ...(defaultMode === undefined ? {} : { defaultMode }) };
    }
    if (v.nfs !== undefined) {
      return { name: v.name, type: 'NFSVolume', server: v.nfs.server, path: v.nfs.path, ...(v.nfs.readOnly === undefined ? {} : { readOnly: v.nfs.readOnly }) };
    }
    if (v.hostPath !== undefined) return replacedByEmptyDir(ctx, v, `${field}.hostPath`, 'hostPath');
    if (v.persistentVolumeClaim !== undefined) return replacedByEmptyDir(ctx, v, `${field}.persistentVolumeClaim`, 'persistentVolumeClaim');
    const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
    return replacedByEmptyDir(ctx, v, `${field}.${kind}`, kind);
  });
}
