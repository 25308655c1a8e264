import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { convertContainerJson, type RuntimeOptions } from './container-json/convert.js';
import { CONTAINER_JSON_ONLY_KEYS } from './container-json/schema.js';
import { ConfigError } from './errors.js';
import { parseJsonText } from './json.js';
import type { OciConfig } from './oci.js';
import { parseOciConfig } from './parse.js';

export type ConfigFormat = 'oci' | 'container.json';

export interface LoadedConfig {
  format: ConfigFormat;
  /** The OCI config; `root.path` is absolute. */
  config: OciConfig;
  runtime: RuntimeOptions;
  /** Absolute path of the file that was read. */
  path: string;
}

/** Keys only an OCI config.json has: with one of these but no ociVersion, report the missing ociVersion. */
const OCI_ONLY_KEYS = ['process', 'root', 'linux', 'hooks', 'annotations', 'domainname'];
/** Keys both formats have. */
const SHARED_KEYS = ['hostname', 'mounts'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * An OCI config has `ociVersion`; a 2014 container.json has none but has 2014 keys. A document
 * with neither is rejected rather than run as an empty (and, in 2014 terms, all-capabilities)
 * container.
 */
export function detectConfigFormat(json: unknown, source: string): ConfigFormat {
  if (!isPlainObject(json)) {
    const got = json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`;
    throw new ConfigError(source, [{ path: '', message: `expected a JSON object, got ${got}` }]);
  }
  const keys = Object.keys(json);
  if (keys.includes('ociVersion')) return 'oci';
  if (keys.some((key) => CONTAINER_JSON_ONLY_KEYS.has(key))) return 'container.json';
  if (keys.some((key) => OCI_ONLY_KEYS.includes(key))) return 'oci';
  if (keys.some((key) => SHARED_KEYS.includes(key))) return 'container.json';
  throw new ConfigError(source, [
    {
      path: '',
      message:
        'not a container configuration: no "ociVersion" (OCI config.json) and none of the 2014 container.json keys',
    },
  ]);
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : undefined;
    const reason =
      code === 'ENOENT'
        ? 'no such file (check the --config path)'
        : code === 'EISDIR'
          ? 'is a directory, expected a JSON file'
          : code === 'EACCES'
            ? 'permission denied'
            : error instanceof Error
              ? error.message
              : String(error);
    throw new ConfigError(file, [{ path: '', message: `cannot read the configuration: ${reason}` }], {
      cause: error,
    });
  }
}

/**
 * Read a configuration file and detect its format: an OCI config.json (has `ociVersion`) or a
 * 2014 container.json. `root.path` is made absolute: an OCI path relative to the file's
 * folder; a container.json's `root_fs` likewise, defaulting to the folder itself.
 */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  const json = parseJsonText(await readText(absolute), absolute);
  const baseDir = path.dirname(absolute);
  const format = detectConfigFormat(json, absolute);
  if (format === 'oci') {
    const config = parseOciConfig(json, absolute);
    config.root.path = path.resolve(baseDir, config.root.path);
    return { format, config, runtime: { noPivotRoot: false }, path: absolute };
  }
  const { config, runtime } = convertContainerJson(json, { baseDir, source: absolute });
  return { format, config, runtime, path: absolute };
}
