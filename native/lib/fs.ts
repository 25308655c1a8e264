/**
 * The typed surface of src/fs.cc: `openat2`, opening a path with the kernel's resolution
 * controls. A path inside a tree someone else may write (a container's rootfs) must be
 * resolved by the kernel in one step: a walk in user space followed by an open can be raced
 * by swapping a component in between.
 */
import { native } from './index.js';

// <linux/openat2.h>: the same values on every architecture.
/** Refuse to cross a mount point (EXDEV). */
export const RESOLVE_NO_XDEV = 0x01;
/** Refuse "magic links" such as /proc/<pid>/root or /proc/<pid>/fd/<n> (ELOOP). */
export const RESOLVE_NO_MAGICLINKS = 0x02;
/** Refuse every symlink (ELOOP). */
export const RESOLVE_NO_SYMLINKS = 0x04;
/** Refuse any path that would leave `dirfd`'s directory (EXDEV). */
export const RESOLVE_BENEATH = 0x08;
/** Resolve as if `dirfd` were the root: absolute symlinks and `..` stay under it. */
export const RESOLVE_IN_ROOT = 0x10;
/** Resolve from the dentry cache only, or fail with EAGAIN. */
export const RESOLVE_CACHED = 0x20;

export interface Openat2Options {
  /** The directory `path` is resolved from (and, with RESOLVE_IN_ROOT, the root), or AT_FDCWD (./constants.ts). */
  dirfd: number;
  path: string;
  /** O_* flags (Node's `fs.constants`, `O_PATH`). O_CLOEXEC is always added. */
  flags: number;
  /** Permission bits for a file O_CREAT or O_TMPFILE makes; must be absent (or 0) otherwise. */
  mode?: number;
  /** RESOLVE_* bits, 0 for none. */
  resolve: number;
}

export interface FsBinding {
  /**
   * openat2(2): an fd (CLOEXEC, owned by the caller) of `path` resolved from `dirfd` under
   * the `resolve` restrictions. Fails like Node's system errors: an Error with `code` (the
   * errno name: ELOOP when a symlink or magic link is refused, EXDEV when the path would
   * leave the root, EAGAIN when a concurrent rename made the kernel give up — retrying may
   * work), `errno` (negative), `syscall: 'openat2'` and `path`.
   */
  openat2(options: Openat2Options): number;
  /**
   * mknod(S_IFIFO) at an absolute `path` with `mode` (the umask applies, as for mkfifo(3)):
   * Node has none. Fails with the system error (EEXIST when something is there).
   */
  mkfifo(options: { path: string; mode: number }): void;
  /**
   * A new filesystem mounted nowhere: fsopen(`fstype`), each option through fsconfig
   * (`key=value` as a string, `key` as a flag), fsmount with the MOUNT_ATTR_* bits of `attrSet`.
   * Returns the mount's fd (CLOEXEC, the caller's), for a child to attach with move_mount.
   * Fails with the system error, naming the option the kernel refused.
   */
  mountDetached(options: { fstype: string; options: readonly string[]; attrSet: number }): number;
}

export const openat2: FsBinding['openat2'] = (options) => native().openat2(options);
export const mkfifo: FsBinding['mkfifo'] = (options) => native().mkfifo(options);
export const mountDetached: FsBinding['mountDetached'] = (options) => native().mountDetached(options);
