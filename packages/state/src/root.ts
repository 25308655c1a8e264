import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { systemErrorCode } from '@nsinit/native';
import { StateRootError } from './errors.js';

export const DEFAULT_STATE_ROOT = '/run/nsinit';
const ROOT_MODE = 0o700;

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Make sure the state root is a directory and return its absolute path. A missing root (and
 * its missing parents) is created with mode 0700, so only its owner may look at the
 * containers in it. An existing root is used as it is, never chmodded: the caller may have
 * pointed at a directory others use (`/tmp`). Refused: a root whose last component is a
 * symlink (the parents may be: /var/run → /run), and one that others may write to without
 * the sticky bit, where anyone could replace the state of a container.
 */
export function openStateRoot(root: string = DEFAULT_STATE_ROOT): string {
  const path = resolve(root);
  let created: string | undefined;
  try {
    // mkdir never follows a symlink in the last component: one there is refused below.
    created = mkdirSync(path, { recursive: true, mode: ROOT_MODE });
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === 'EEXIST') throw notADirectory(path);
    // A symlink to nowhere: there is something, but not what it points to.
    if (code === 'ENOENT' && isSymlink(path)) throw aSymlink(path, error);
    if (code === 'ENOTDIR') {
      throw new StateRootError(
        `cannot create the state root ${path}: a component of its path is not a directory`,
        { cause: error },
      );
    }
    throw error;
  }
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink is refused, not followed; every check below is on what was opened.
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = systemErrorCode(error);
    // With O_DIRECTORY, a symlink fails as ENOTDIR rather than ELOOP.
    if (code === 'ELOOP' || (code === 'ENOTDIR' && isSymlink(path))) throw aSymlink(path, error);
    if (code === 'ENOTDIR') throw notADirectory(path);
    throw error;
  }
  try {
    // mkdir's mode is reduced by the umask; a root this call made gets exactly 0700.
    if (created !== undefined) fchmodSync(fd, ROOT_MODE);
    const mode = fstatSync(fd).mode;
    if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) {
      throw new StateRootError(
        `the state root ${path} is writable by others (mode 0${(mode & 0o7777).toString(8)}) without the sticky bit, ` +
          'so anyone could replace or remove container state in it; run `chmod o-w` (or `chmod +t`) on it, or choose another root',
      );
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

function aSymlink(path: string, cause?: unknown): StateRootError {
  return new StateRootError(
    `the state root ${path} is a symbolic link; give the directory it points to, or another root`,
    { cause },
  );
}

function notADirectory(path: string): StateRootError {
  return new StateRootError(
    `the state root ${path} exists but is not a directory; remove it or choose another root`,
  );
}
