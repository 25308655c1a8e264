import { type OciConfig, ociConfigSchema } from './oci.js';
import { parseOrThrow } from './validation.js';

/**
 * Validate an OCI config.json document (already JSON-decoded). Unknown properties are
 * dropped. Throws ConfigError whose message names `source` and the JSON path of the first
 * bad field, e.g. `config.json: process.user.uid: expected a non-negative integer`.
 */
export function parseOciConfig(json: unknown, source = 'config.json'): OciConfig {
  return parseOrThrow(ociConfigSchema, json, source);
}
