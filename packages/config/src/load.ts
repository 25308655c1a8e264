import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { systemErrorCode } from '@nsinit/native';
import { convertContainerJson, type RuntimeOptions } from './container-json/convert.js';
import { CONTAINER_JSON_ONLY_KEYS } from './container-json/schema.js';
import { ConfigError } from './errors.js';
import { parseJsonText } from './json.js';
import { markValid, parseOciConfigDraft, type ValidOciConfig } from './parse.js';

export type ConfigFormat = 'oci' | 'container.json';

export interface LoadedConfig {
  format: ConfigFormat;
  /** The OCI config, validated (and frozen: a runtime need not validate it again); `root.path` is absolute. */
  config: ValidOciConfig;
  runtime: RuntimeOptions;
  /** Absolute path of the file that was read. */
  path: string;
  /** For the user: where nsinit is safer than what the file meant in 2014, or where the file turns a protection off. */
  warnings: string[];
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

/** Far above any real configuration; the bound on what a path like /dev/zero could make us read. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const MAX_CONFIG_SIZE = '16 MiB';

/** What a shell's process substitution `<(...)` passes: the fd of a pipe, readable only as it streams. */
const FD_PATH = /^\/(?:dev|proc\/self)\/fd\/(\d+)$/;

function cannotRead(file: string, reason: string, cause?: unknown): ConfigError {
  return new ConfigError(file, [{ path: '', message: `cannot read the configuration: ${reason}` }], {
    cause,
  });
}

function fileKind(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function tooLarge(file: string, what: string, advice: string): ConfigError {
  return cannotRead(file, `${what} more than the ${MAX_CONFIG_SIZE} a configuration may have; ${advice}`);
}

const NOT_A_CONFIG = 'check that the path names the configuration';

function readRegularFile(fd: number, file: string, size: number): string {
  if (size > MAX_CONFIG_BYTES) throw tooLarge(file, `it is ${size} bytes,`, NOT_A_CONFIG);
  // Read to the end rather than `size` bytes: /proc files say 0, and a file may grow meanwhile.
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) return Buffer.concat(chunks, total).toString('utf8');
    total += n;
    if (total > MAX_CONFIG_BYTES) throw tooLarge(file, 'it grew, while it was read, to', NOT_A_CONFIG);
    chunks.push(chunk.subarray(0, n));
  }
}

/** Read a pipe or socket to its end, as it streams, refusing more than MAX_CONFIG_BYTES. The socket closes `fd`. */
function readStream(fd: number, file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stream: Socket;
    try {
      stream = new Socket({ fd, readable: true, writable: false });
    } catch (error) {
      reject(cannotRead(file, error instanceof Error ? error.message : String(error), error));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_CONFIG_BYTES) {
        stream.destroy();
        reject(tooLarge(file, 'what writes to it sent', 'check what writes to it'));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', (error) => reject(cannotRead(file, error.message, error)));
  });
}

/**
 * The text of a configuration file. Anything but a regular file is refused at once (a FIFO
 * would block, /dev/zero never ends), except a pipe or socket named as /dev/fd/N or
 * /proc/self/fd/N: that is process substitution, and it is read as it streams.
 */
async function readConfigText(file: string): Promise<string> {
  const fromFd = FD_PATH.exec(file);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOCTTY: a terminal must not become ours.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === 'ENXIO' && fromFd !== null) {
      // A socket cannot be opened, only used: read the inherited fd itself. (The socket closes
      // it when done, unless it is 0, 1 or 2: libuv leaves stdio open.)
      const inherited = Number(fromFd[1]);
      if (isSocketFd(inherited)) return readStream(inherited, file);
    }
    const reason =
      code === 'ENOENT'
        ? 'no such file; check the path'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'ENXIO'
            ? 'it is a socket or a device without a driver, not a regular file; give the path of a JSON file'
            : error instanceof Error
              ? error.message
              : String(error);
    throw cannotRead(file, reason, error);
  }
  let stats: Stats;
  try {
    stats = fstatSync(fd);
  } catch (error) {
    closeSync(fd);
    throw cannotRead(file, error instanceof Error ? error.message : String(error), error);
  }
  // The socket that reads the pipe closes the fd when done.
  if (fromFd !== null && stats.isFIFO()) return readStream(fd, file);
  try {
    if (stats.isFile()) return readRegularFile(fd, file, stats.size);
    if (stats.isDirectory()) throw cannotRead(file, 'is a directory, expected a JSON file');
    throw cannotRead(
      file,
      `it is ${fileKind(stats)}, not a regular file; give the path of a JSON file ` +
        "(a pipe is read only as /dev/fd/N, as a shell's <(...) passes it)",
    );
  } finally {
    closeSync(fd);
  }
}

function isSocketFd(fd: number): boolean {
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

/**
 * The bundle folder by its real path, as runc takes it (it chdirs there): a bundle reached
 * through a symlinked folder is fine, while a rootfs that is itself a symlink is still seen
 * as one (and refused) when the container starts.
 */
function realFolder(folder: string): string {
  try {
    return realpathSync(folder);
  } catch {
    return folder;
  }
}

/**
 * Read a configuration file and detect its format: an OCI config.json (has `ociVersion`) or a
 * 2014 container.json. `root.path` is made absolute: an OCI path relative to the file's
 * folder; a container.json's `root_fs` likewise, defaulting to the folder itself.
 */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  const json = parseJsonText(await readConfigText(absolute), absolute);
  const baseDir = realFolder(path.dirname(absolute));
  const format = detectConfigFormat(json, absolute);
  if (format === 'oci') {
    const draft = parseOciConfigDraft(json, absolute);
    draft.root.path = path.resolve(baseDir, draft.root.path);
    return {
      format,
      config: markValid(draft),
      runtime: { noPivotRoot: false },
      path: absolute,
      warnings: [],
    };
  }
  const { config, runtime, warnings } = convertContainerJson(json, { baseDir, source: absolute });
  return { format, config, runtime, path: absolute, warnings };
}
