// Network namespace files: open one by path, check it is one, tell two apart.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { CLONE_NEWNET, namespaceType, systemErrorCode } from '@nsinit/native';
import { NamespaceError } from './errors.js';

/**
 * Opens `path` (CLOEXEC, read-only) and checks it is a network namespace (`/run/netns/<name>`,
 * `/proc/<pid>/ns/net`). The caller owns the fd: for a `netns` network it is what the parent
 * passes to the init program's SETNS op. Throws NamespaceError and leaves nothing open.
 */
export function openNetworkNamespace(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const reason = systemErrorCode(error) ?? String(error);
    throw new NamespaceError(path, `cannot open network namespace ${path}: ${reason}`, { cause: error });
  }
  try {
    const type = namespaceType({ fd });
    if (type !== CLONE_NEWNET) {
      throw new NamespaceError(
        path,
        `${path} is a namespace of another type (0x${type.toString(16)}), not a network namespace`,
      );
    }
    return fd;
  } catch (error) {
    closeSync(fd);
    if (error instanceof NamespaceError) throw error;
    throw new NamespaceError(
      path,
      `${path} is not a namespace file (expected e.g. /run/netns/<name> or /proc/<pid>/ns/net)`,
      { cause: error },
    );
  }
}

/** True when two namespace fds refer to the same namespace. */
export function sameNamespace(a: number, b: number): boolean {
  const statA = fstatSync(a, { bigint: true });
  const statB = fstatSync(b, { bigint: true });
  return statA.dev === statB.dev && statA.ino === statB.ino;
}
