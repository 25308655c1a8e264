import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { StateRootError } from './errors.js';
import { systemErrorCode } from './system.js';

export const DEFAULT_STATE_ROOT = '/run/nsinit';
const ROOT_MODE = 0o700;

/**
 * Make sure the state root exists as a directory of mode 0700 (only its owner may look at the
 * containers in it) and return its absolute path. A root with looser permissions is tightened.
 */
export function openStateRoot(root: string = DEFAULT_STATE_ROOT): string {
  const path = resolve(root);
  const notADirectory = (): StateRootError =>
    new StateRootError(
      `the state root ${path} exists but is not a directory; remove it or choose another root`,
    );
  try {
    mkdirSync(path, { recursive: true, mode: ROOT_MODE });
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === 'EEXIST') throw notADirectory();
    if (code === 'ENOTDIR') {
      throw new StateRootError(
        `cannot create the state root ${path}: a component of its path is not a directory`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  const stats = statSync(path);
  if (!stats.isDirectory()) throw notADirectory();
  if ((stats.mode & 0o7777) !== ROOT_MODE) chmodSync(path, ROOT_MODE);
  return path;
}
