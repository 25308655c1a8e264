// Reading and writing cgroup files. These are kernel interfaces, not disk files: the
// calls return at once, so they are synchronous (a thread-pool hop per write would
// cost more than the write itself, on the container's start path).
import { closeSync, constants, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { CgroupError, errnoCode, systemCause } from './errors.js';

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
    `cannot write "${value}" to ${file}: ${systemCause(error)}${writeHint(errnoCode(error), file)}`,
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
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new CgroupError(`cannot read ${file}: ${systemCause(error)}`, file, { cause: error });
  }
}

/** `key value` lines (cpu.stat, memory.stat, memory.events ...) as numbers; `max` is Infinity. */
export function parseFlatKeyed(text: string, file: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [key, value, extra] = line.split(' ');
    if (key === undefined || value === undefined || extra !== undefined) {
      throw new CgroupError(`cannot parse ${file}: line "${line}" is not "key value"`, file);
    }
    values.set(key, parseCounter(value, file));
  }
  return values;
}

/** A counter or limit: an unsigned decimal, or `max`/`-1` for none (Infinity). */
export function parseCounter(text: string, file: string): number {
  const trimmed = text.trim();
  if (trimmed === 'max' || trimmed === '-1') return Number.POSITIVE_INFINITY;
  if (!/^\d+$/.test(trimmed))
    throw new CgroupError(`cannot parse ${file}: "${trimmed}" is not a number`, file);
  return Number(trimmed);
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
