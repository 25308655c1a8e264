import { closeSync, constants, fstatSync, readSync } from 'node:fs';
import {
  AT_FDCWD,
  O_PATH,
  openat2,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  systemErrorCode,
} from '@nsinit/native';

// Files inside a container's rootfs belong to the image, not to us, and whoever can write the
// rootfs can change it while we read: a symlink there must resolve as it would inside the
// container (absolute targets and `..` stay under the rootfs), and no component may be swapped
// between the lookup and the open. So the kernel resolves the whole path in one step, under the
// rootfs as its root (openat2 RESOLVE_IN_ROOT), as the init helper does for every in-root path.

const MAX_FILE_BYTES = 16 * 1024 * 1024;
// openat2 gives up with EAGAIN when a rename anywhere races a `..` of the lookup; the kernel
// expects the caller to retry. A rootfs renamed into faster than this is refused.
const MAX_LOOKUP_ATTEMPTS = 16;

/** Why a file of a rootfs could not be read. */
export class RootfsFileError extends Error {
  readonly code = 'ERR_NSINIT_ROOTFS_FILE';
  /** The rootfs, as given. */
  readonly rootfs: string;
  /** The file, as the container names it (e.g. `/etc/passwd`). */
  readonly containerPath: string;
  /** The errno name when a system call refused (ELOOP, EXDEV, ...). */
  readonly errnoCode: string | undefined;
  constructor(
    rootfs: string,
    containerPath: string,
    message: string,
    options?: { cause?: unknown; errnoCode?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RootfsFileError';
    this.rootfs = rootfs;
    this.containerPath = containerPath;
    this.errnoCode = options?.errnoCode;
  }
}

/** An O_PATH fd of the rootfs directory, or undefined when there is none (so no file in it either). */
function openRootfs(rootfs: string, containerPath: string): number | undefined {
  try {
    // The rootfs path is the caller's own (from the config), so it is looked up normally.
    return openat2({ dirfd: AT_FDCWD, path: rootfs, flags: O_PATH | constants.O_DIRECTORY, resolve: 0 });
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new RootfsFileError(
      rootfs,
      containerPath,
      `cannot read ${containerPath}: cannot open the rootfs ${rootfs} (${code ?? String(error)}); check the rootfs path of the config`,
      { cause: error, errnoCode: code },
    );
  }
}

function lookupFailure(rootfs: string, containerPath: string, error: unknown): RootfsFileError {
  const code = systemErrorCode(error);
  const where = `${containerPath} in the rootfs ${rootfs}`;
  let message: string;
  switch (code) {
    case 'ELOOP':
      message =
        `cannot open ${where}: a symlink on its path loops, goes through /proc (a magic link), ` +
        'or there are more than 40 of them (ELOOP); fix the symlinks of the image';
      break;
    case 'EXDEV':
    case 'EAGAIN':
      message =
        `cannot open ${where}: the rootfs changed while the path was looked up (${code}); ` +
        'load the config again when nothing else is writing to the rootfs';
      break;
    case 'ENOSYS':
      message = `cannot open ${where} safely: the kernel lacks openat2 (ENOSYS); nsinit needs Linux 5.6 or newer`;
      break;
    default:
      message = `cannot open ${where}: ${error instanceof Error ? error.message : String(error)}`;
  }
  return new RootfsFileError(rootfs, containerPath, message, { cause: error, errnoCode: code });
}

/**
 * Read a regular file of the rootfs (e.g. `/etc/passwd`) as UTF-8, resolving symlinks as the
 * container would, in one lookup by the kernel that a concurrent writer of the rootfs cannot
 * redirect to a host file. Returns undefined when the file (or the rootfs) does not exist. A
 * FIFO, a device, a directory or a file over 16 MiB is refused.
 */
export function readRootfsFile(rootfs: string, containerPath: string): string | undefined {
  const rootfsFd = openRootfs(rootfs, containerPath);
  if (rootfsFd === undefined) return undefined;
  let fd: number | undefined;
  try {
    for (let attempt = 1; fd === undefined; attempt++) {
      try {
        fd = openat2({
          dirfd: rootfsFd,
          path: containerPath,
          // O_NONBLOCK: opening a FIFO must not hang (it is refused just below).
          flags: constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK,
          resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        });
      } catch (error) {
        const code = systemErrorCode(error);
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        if (code !== 'EAGAIN' || attempt === MAX_LOOKUP_ATTEMPTS)
          throw lookupFailure(rootfs, containerPath, error);
      }
    }
  } finally {
    closeSync(rootfsFd);
  }
  try {
    const where = `${containerPath} in the rootfs ${rootfs}`;
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new RootfsFileError(
        rootfs,
        containerPath,
        `${where} is not a regular file; the image must hold a file there`,
      );
    }
    if (stat.size > MAX_FILE_BYTES) {
      throw new RootfsFileError(rootfs, containerPath, `${where} is larger than ${MAX_FILE_BYTES} bytes`);
    }
    const buffer = Buffer.alloc(stat.size);
    let filled = 0;
    while (filled < buffer.length) {
      const n = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (n === 0) break;
      filled += n;
    }
    return buffer.toString('utf8', 0, filled);
  } catch (error) {
    if (error instanceof RootfsFileError) throw error;
    const code = systemErrorCode(error);
    throw new RootfsFileError(
      rootfs,
      containerPath,
      `cannot read ${containerPath} in the rootfs ${rootfs}: ${code ?? String(error)}`,
      {
        cause: error,
        errnoCode: code,
      },
    );
  } finally {
    closeSync(fd);
  }
}
