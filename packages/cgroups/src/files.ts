// Reading and writing cgroup files. These are kernel interfaces, not disk files: the
// calls return at once, so they are synchronous (a thread-pool hop per write would
// cost more than the write itself, on the container's start path).
import {
  closeSync,
  constants,
  type Dirent,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { systemErrorCode } from '@nsinit/native';
import { CgroupError, systemCause } from './errors.js';

/** What the kernel means by an errno on a cgroup write, where it says more than the code. */
function writeHint(code: string | undefined, file: string): string {
  const name = file.slice(file.lastIndexOf('/') + 1);
  if (code === 'ENOENT') return ' (no such file: is the controller enabled for this cgroup?)';
  if (code === 'EINVAL' || code === 'ERANGE') return ' (the kernel refused the value)';
  if (code === 'EBUSY' && name === 'cgroup.subtree_control') {
    return ' (the cgroup has processes of its own: cgroup v2 lets only a cgroup without processes hand controllers to its children; place the container under another parent)';
  }
  if (code === 'EBUSY') return ' (the value conflicts with the current usage or a related limit)';
  if (code === 'ENOSPC' && name === 'cgroup.procs') return ' (the cgroup has no cpus or mems in its cpuset)';
  return '';
}

function writeError(file: string, value: string, error: unknown): CgroupError {
  return new CgroupError(
    `cannot write "${value}" to ${file}: ${systemCause(error)}${writeHint(systemErrorCode(error), file)}`,
    file,
    { cause: error, value },
  );
}

export function writeCgroupFile(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch (error) {
    throw writeError(file, value, error);
  }
}

/**
 * Writes each value, in order, with one write() through one fd per file. A v1 file such
 * as devices.allow takes one entry per write(), so a container's dozen device rules cost
 * two opens instead of a dozen; the kernel ignores the offset of a cgroup file. Opened
 * O_WRONLY only: cgroup files cannot be created or truncated, so a missing one fails
 * with ENOENT (where O_CREAT would turn it into EACCES).
 */
export function writeCgroupFiles(writes: Iterable<{ readonly file: string; readonly value: string }>): void {
  const fds = new Map<string, number>();
  try {
    for (const { file, value } of writes) {
      let written: number;
      try {
        let fd = fds.get(file);
        if (fd === undefined) {
          fd = openSync(file, constants.O_WRONLY);
          fds.set(file, fd);
        }
        // writeFileSync writes nothing for '', where an empty write() would reach the kernel as a value.
        written = value === '' ? 0 : writeSync(fd, value);
      } catch (error) {
        throw writeError(file, value, error);
      }
      const length = Buffer.byteLength(value);
      if (written !== length) {
        throw new CgroupError(
          `cannot write "${value}" to ${file}: the kernel took ${written} of its ${length} bytes`,
          file,
          { value },
        );
      }
    }
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
}

export function readCgroupFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CgroupError(`cannot read ${file}: ${systemCause(error)}`, file, { cause: error });
  }
}

/** The file's text, or undefined when it does not exist (a controller not enabled, an older kernel). */
export function readOptionalCgroupFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return undefined;
    throw new CgroupError(`cannot read ${file}: ${systemCause(error)}`, file, { cause: error });
  }
}

/**
 * From here on a kernel value means "none": v1 shows an unlimited page counter as LONG_MAX
 * rounded down to a whole page (9223372036854771712 with 4 KiB pages), which as a JavaScript
 * number would be the meaningless 9223372036854772000.
 */
const NONE_FROM = 2n ** 62n;

/**
 * A 64-bit value of a cgroup file: null for none (`max`, `-1`, or v1's unlimited page
 * counter), else its number. Exact up to 2^53 (8 PiB, or 104 days of CPU time in ns);
 * no real limit or counter comes near it.
 */
export function parseKernelValue(text: string, file: string): number | null {
  const trimmed = text.trim();
  if (trimmed === 'max' || trimmed === '-1') return null;
  if (!/^\d+$/.test(trimmed))
    throw new CgroupError(`cannot parse ${file}: "${trimmed}" is not a number`, file);
  // Up to 15 digits a number is exact without asking BigInt.
  if (trimmed.length <= 15 || BigInt(trimmed) < NONE_FROM) return Number(trimmed);
  return null;
}

/** A value that must be a count (bytes, events, pids): "none" is malformed here. */
export function parseCount(text: string, file: string): number {
  const value = parseKernelValue(text, file);
  if (value === null) throw new CgroupError(`cannot parse ${file}: "${text.trim()}" is not a count`, file);
  return value;
}

/** `key value` lines (cpu.stat, memory.stat, memory.events ...); null values mean none (see parseKernelValue). */
export function parseFlatKeyed(text: string, file: string): Map<string, number | null> {
  const values = new Map<string, number | null>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [key, value, extra] = line.split(' ');
    if (key === undefined || value === undefined || extra !== undefined) {
      throw new CgroupError(`cannot parse ${file}: line "${line}" is not "key value"`, file);
    }
    values.set(key, parseKernelValue(value, file));
  }
  return values;
}

/** The count under `key` of a flat-keyed file. */
export function requiredCount(values: Map<string, number | null>, key: string, file: string): number {
  const value = values.get(key);
  if (value === undefined) throw new CgroupError(`cannot parse ${file}: no "${key}" line`, file);
  if (value === null) throw new CgroupError(`cannot parse ${file}: "${key}" is not a count`, file);
  return value;
}

/** The pids in a cgroup.procs file. */
export function parsePids(text: string, file: string): number[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      if (!/^\d+$/.test(line)) throw new CgroupError(`cannot parse ${file}: "${line}" is not a pid`, file);
      return Number(line);
    });
}

/**
 * The pids in a cgroup and in every cgroup below it: a container with a writable cgroup
 * namespace may make sub-cgroups and move its processes there. A cgroup removed while
 * being read counts as empty.
 */
export function pidsInTree(dir: string, into: Set<number> = new Set()): Set<number> {
  const file = `${dir}/cgroup.procs`;
  const text = readOptionalCgroupFile(file);
  if (text === undefined) return into;
  for (const pid of parsePids(text, file)) into.add(pid);
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return into;
    throw new CgroupError(`cannot list ${dir}: ${systemCause(error)}`, dir, { cause: error });
  }
  for (const entry of entries) if (entry.isDirectory()) pidsInTree(`${dir}/${entry.name}`, into);
  return into;
}
