// What translation reports besides the request: warnings for fields ECI cannot honour, and one
// error type for pods that cannot be created as they are.

/** A field of the pod ECI cannot honour; the group is still created without it. */
export interface TranslationWarning {
  /** Path in the pod, e.g. `spec.containers[0].securityContext.privileged`. */
  field: string;
  message: string;
}

/**
 * Searchable codes (CamelCase, valid as a Kubernetes condition/event reason).
 * `retryable` ones depend on other objects (a ConfigMap or Secret that may appear later).
 */
export const TranslationCode = {
  NoContainers: 'NoContainers',
  TooManyContainers: 'TooManyContainers',
  TooManyVolumes: 'TooManyVolumes',
  TooManyVSwitches: 'TooManyVSwitches',
  CpuOverLimit: 'CpuOverLimit',
  MemoryOverLimit: 'MemoryOverLimit',
  InvalidQuantity: 'InvalidQuantity',
  InvalidEciUseSpecs: 'InvalidEciUseSpecs',
  InvalidPort: 'InvalidPort',
  UnknownVolume: 'UnknownVolume',
  MissingPodIdentity: 'MissingPodIdentity',
  ConfigMapNotFound: 'ConfigMapNotFound',
  ConfigMapKeyNotFound: 'ConfigMapKeyNotFound',
  SecretNotFound: 'SecretNotFound',
  SecretKeyNotFound: 'SecretKeyNotFound',
} as const;

export type TranslationCodeValue = (typeof TranslationCode)[keyof typeof TranslationCode];

const RETRYABLE: ReadonlySet<string> = new Set([
  TranslationCode.ConfigMapNotFound,
  TranslationCode.ConfigMapKeyNotFound,
  TranslationCode.SecretNotFound,
  TranslationCode.SecretKeyNotFound,
]);

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
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
}
