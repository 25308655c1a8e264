import { closeSync } from 'node:fs';

/**
 * The fds the parent sequence opened and still owns. Each has one owner: it is
 * closed here, or released to whoever took it over (a stream, the handle).
 */
export class OwnedFds {
  private readonly fds = new Set<number>();

  add<T extends number>(fd: T): T {
    this.fds.add(fd);
    return fd;
  }

  /** Hands `fd` over without closing it. */
  release(fd: number): number {
    this.fds.delete(fd);
    return fd;
  }

  close(fd: number): void {
    if (this.fds.delete(fd)) closeSync(fd);
  }

  closeAll(): void {
    for (const fd of [...this.fds].reverse()) this.close(fd);
  }
}

const FIRST_PRESERVED_FD = 3;

/**
 * The fd layout in a helper's child, the same for a container's init and an exec: stdio, the
 * preserved fds (this process's 3 … 3+N-1, passed on at their numbers: runc's --preserve-fds),
 * the sync socket, the program, then the files the program needs from `firstExtraFd` on.
 */
export function childFdLayout(preserveFds = 0) {
  if (!Number.isInteger(preserveFds) || preserveFds < 0 || preserveFds > 1024)
    throw new TypeError(`options.preserveFds must be an integer from 0 to 1024, got ${preserveFds}`);
  const syncFd = FIRST_PRESERVED_FD + preserveFds;
  const preserved = Array.from({ length: preserveFds }, (_, index) => ({
    from: FIRST_PRESERVED_FD + index,
    to: FIRST_PRESERVED_FD + index,
  }));
  return { syncFd, programFd: syncFd + 1, firstExtraFd: syncFd + 2, preserved };
}
