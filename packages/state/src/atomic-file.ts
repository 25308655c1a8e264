import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** Temp files are `.<name>.<random hex>.tmp` beside their target; remove() cleans up stray ones. */
export const TEMP_FILE_PATTERN = /^\.[^/]+\.[0-9a-f]{12}\.tmp$/;

/**
 * Replace `dir/name` with `data` so that readers see the old content or the new, never a part:
 * write a temp file in the same directory (same filesystem, so rename is atomic), then rename.
 * The temp file is removed on any failure.
 *
 * Synchronous, and without fsync, like runc's state.json: state roots live on a tmpfs (/run)
 * that does not survive a reboot, so durability buys nothing, while an fsync costs about a
 * quarter of a millisecond even there, and a thread-pool round trip per call more than the work.
 */
export function writeFileAtomically(dir: string, name: string, data: string, mode: number): void {
  const tempPath = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(
      tempPath,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
    created = true;
    // The mode given to open() is reduced by the umask; the file's mode is part of the contract.
    fchmodSync(fd, mode);
    writeSync(fd, data);
    closeSync(fd);
    fd = undefined;
    renameSync(tempPath, join(dir, name));
    created = false;
  } finally {
    if (fd !== undefined) closeSync(fd);
    // The original error matters more than a failed cleanup of the temp file.
    if (created) {
      try {
        unlinkSync(tempPath);
      } catch {}
    }
  }
}

/**
 * A pid file at any path (runc's --pid-file): the decimal pid, replaced whole (a temporary file
 * with a random name beside it, created O_EXCL|O_NOFOLLOW — a link planted in that folder is
 * never followed — then renamed over it). Mode 0644.
 */
export function writePidFile(path: string, pid: number): void {
  const absolute = resolve(path);
  writeFileAtomically(dirname(absolute), basename(absolute), String(pid), 0o644);
}
