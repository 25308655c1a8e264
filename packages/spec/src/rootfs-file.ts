import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import path from 'node:path';

// Files inside a container's rootfs belong to the image, not to us: a symlink there must
// resolve as it would inside the container (absolute targets and `..` stay under the
// rootfs), never to a file of the host. The walk below does that in user space; the final
// open refuses a symlink swapped in meanwhile, and non-regular files (a FIFO would block).

const MAX_SYMLINKS = 40; // the kernel's limit for one path walk
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export class RootfsFileError extends Error {
  readonly hostPath: string;
  constructor(hostPath: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RootfsFileError';
    this.hostPath = hostPath;
  }
}

function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** Host path of `containerPath` resolved inside `rootfs`; undefined when a component does not exist. */
export function resolveInRootfs(rootfs: string, containerPath: string): string | undefined {
  const pending = containerPath.split('/').filter((c) => c !== '');
  const resolved: string[] = [];
  let symlinks = 0;
  while (pending.length > 0) {
    const component = pending.shift()!;
    if (component === '..') {
      resolved.pop();
      continue;
    }
    if (component === '.') continue;
    const hostPath = path.join(rootfs, ...resolved, component);
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(hostPath);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new RootfsFileError(hostPath, `cannot inspect ${hostPath}: ${code ?? String(error)}`, {
        cause: error,
      });
    }
    if (stat.isSymbolicLink()) {
      symlinks += 1;
      if (symlinks > MAX_SYMLINKS) {
        throw new RootfsFileError(
          hostPath,
          `too many levels of symbolic links resolving ${containerPath} in ${rootfs}`,
        );
      }
      const target = readlinkSync(hostPath);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/').filter((c) => c !== ''));
      continue;
    }
    resolved.push(component);
  }
  return path.join(rootfs, ...resolved);
}

/**
 * Read a regular file of the rootfs (e.g. `/etc/passwd`) as UTF-8, resolving symlinks as the
 * container would. Returns undefined when the file does not exist.
 */
export function readRootfsFile(rootfs: string, containerPath: string): string | undefined {
  const hostPath = resolveInRootfs(rootfs, containerPath);
  if (hostPath === undefined) return undefined;
  let fd: number;
  try {
    // libuv adds O_CLOEXEC itself.
    fd = openSync(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return undefined;
    throw new RootfsFileError(hostPath, `cannot open ${hostPath}: ${code ?? String(error)}`, {
      cause: error,
    });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new RootfsFileError(hostPath, `${hostPath} is not a regular file`);
    if (stat.size > MAX_FILE_BYTES) {
      throw new RootfsFileError(hostPath, `${hostPath} is larger than ${MAX_FILE_BYTES} bytes`);
    }
    const buffer = Buffer.alloc(stat.size);
    let filled = 0;
    while (filled < buffer.length) {
      const n = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (n === 0) break;
      filled += n;
    }
    return buffer.toString('utf8', 0, filled);
  } finally {
    closeSync(fd);
  }
}
