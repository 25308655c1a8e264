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
