import { type OciConfig, ociConfigSchema } from './oci.js';
import { parseOrThrow } from './validation.js';

declare const validated: unique symbol;

/** Every property of T and below read-only: what a validated config is (it is frozen). */
export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * An OCI config that parseOciConfig validated. It is frozen, so it is still valid when it is
 * used: a runtime takes it without validating it again. To change one, copy it
 * (`structuredClone`) and validate the copy.
 */
export type ValidOciConfig = DeepReadonly<OciConfig> & { readonly [validated]: true };

const validConfigs = new WeakSet<object>();

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

/** Freezes a config that passed the schema and marks it valid. */
export function markValid(config: OciConfig): ValidOciConfig {
  deepFreeze(config);
  validConfigs.add(config);
  return config as unknown as ValidOciConfig;
}

/** Whether `value` came out of parseOciConfig (and so is valid and unchanged since). */
export function isValidOciConfig(value: unknown): value is ValidOciConfig {
  return typeof value === 'object' && value !== null && validConfigs.has(value);
}

/**
 * Validate an OCI config.json document (already JSON-decoded). Unknown properties are
 * dropped. Throws ConfigError whose message names `source` and the JSON path of the first
 * bad field, e.g. `config.json: process.user.uid: expected a non-negative integer`. A config
 * that is already valid is returned as it is.
 */
export function parseOciConfig(json: unknown, source = 'config.json'): ValidOciConfig {
  if (isValidOciConfig(json)) return json;
  return markValid(parseOrThrow(ociConfigSchema, json, source));
}

/** The schema's output before it is frozen: for the loaders that still complete it (root.path). */
export function parseOciConfigDraft(json: unknown, source = 'config.json'): OciConfig {
  return parseOrThrow(ociConfigSchema, json, source);
}
