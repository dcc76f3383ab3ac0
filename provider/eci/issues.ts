// What translation reports besides the request: warnings for fields ECI cannot honour, and one
// error type for pods that cannot be created as they are.
import { EventReason } from '../events/reasons.ts';

/**
 * Something the pod asks for that is not honoured as asked; the group is still created.
 * `reason` says what kind (default UnsupportedField: ECI cannot do it).
 */
export interface TranslationWarning {
  /** Path in the pod, e.g. `spec.containers[0].securityContext.privileged`. */
  field: string;
  message: string;
  reason?: EventReason;
  /**
   * 'process': about the provider's setup, the same for every pod (e.g. no cluster DNS): the pod
   * sync reports it once per process (a log line and one event), not on every pod.
   */
  scope?: 'process';
}

/**
 * Searchable codes (CamelCase, valid as a Kubernetes condition/event reason), a part of the one
 * reason table. `retryable` ones depend on other objects (a ConfigMap or Secret that may appear
 * later); the missing-reference ones are virtual-kubelet's words.
 */
export const TranslationCode = {
  NoContainers: EventReason.NoContainers,
  TooManyContainers: EventReason.TooManyContainers,
  TooManyVolumes: EventReason.TooManyVolumes,
  TooManyVSwitches: EventReason.TooManyVSwitches,
  CpuOverLimit: EventReason.CpuOverLimit,
  MemoryOverLimit: EventReason.MemoryOverLimit,
  InvalidQuantity: EventReason.InvalidQuantity,
  InvalidEciUseSpecs: EventReason.InvalidEciUseSpecs,
  InvalidPort: EventReason.InvalidPort,
  UnknownVolume: EventReason.UnknownVolume,
  MissingPodIdentity: EventReason.MissingPodIdentity,
  MandatoryConfigMapNotFound: EventReason.MandatoryConfigMapNotFound,
  MandatoryConfigMapKeyNotFound: EventReason.MandatoryConfigMapKeyNotFound,
  MandatorySecretNotFound: EventReason.MandatorySecretNotFound,
  MandatorySecretKeyNotFound: EventReason.MandatorySecretKeyNotFound,
} as const;

export type TranslationCodeValue = (typeof TranslationCode)[keyof typeof TranslationCode];

const RETRYABLE: ReadonlySet<string> = new Set([
  TranslationCode.MandatoryConfigMapNotFound,
  TranslationCode.MandatoryConfigMapKeyNotFound,
  TranslationCode.MandatorySecretNotFound,
  TranslationCode.MandatorySecretKeyNotFound,
]);

/** A missing ConfigMap/Secret (or key of one) the pod needs: the create waits for it. */
export function mandatoryReferenceCode(kind: 'ConfigMap' | 'Secret', what: 'object' | 'key'): TranslationCodeValue {
  if (kind === 'ConfigMap') return what === 'object' ? TranslationCode.MandatoryConfigMapNotFound : TranslationCode.MandatoryConfigMapKeyNotFound;
  return what === 'object' ? TranslationCode.MandatorySecretNotFound : TranslationCode.MandatorySecretKeyNotFound;
}

/** A missing optional reference: the pod runs without it, and a Warning says so. */
export function optionalReferenceReason(kind: 'ConfigMap' | 'Secret', what: 'object' | 'key'): EventReason {
  if (kind === 'ConfigMap') return what === 'object' ? EventReason.OptionalConfigMapNotFound : EventReason.OptionalConfigMapKeyNotFound;
  return what === 'object' ? EventReason.OptionalSecretNotFound : EventReason.OptionalSecretKeyNotFound;
}

/**
 * The pod cannot be turned into a CreateContainerGroup call. Never retried as is: the pod (or,
 * when `retryable`, a ConfigMap/Secret it references) must change first.
 * message: `<field>: <what is wrong>. <what to do>`.
 */
export class TranslationError extends Error {
  readonly code: TranslationCodeValue;
  readonly field: string;
  readonly hint: string;
  /** True when creating a missing ConfigMap/Secret (or key) fixes it without touching the pod. */
  readonly retryable: boolean;

  constructor(code: TranslationCodeValue, field: string, problem: string, hint: string) {
    super(`${field}: ${problem}. ${hint}`);
    this.name = 'TranslationError';
    this.code = code;
    this.field = field;
    this.hint = hint;
    this.retryable = RETRYABLE.has(code);
  }
}

/** Collects warnings during one translation. */
export class Warnings {
  readonly list: TranslationWarning[] = [];
  add(field: string, message: string, reason?: EventReason): void {
    this.list.push({ field, message, ...(reason === undefined ? {} : { reason }) });
  }

  /** A warning about the provider's setup rather than this pod (see TranslationWarning.scope). */
  addForProcess(field: string, message: string): void {
    this.list.push({ field, message, scope: 'process' });
  }
}
