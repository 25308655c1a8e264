// Kernel constants, defined once for every nsinit package. Values are those of the generic
// Linux ABI (x86-64, arm64 and riscv64 share them). A family of flags that callers compose by
// name is one frozen object (`MountFlags.BIND | MountFlags.REC`); a namespace flag keeps its
// kernel name, as setns(2) and NS_GET_NSTYPE speak of it.

// Namespaces (<linux/sched.h>): clone3's flags, setns's and unshare's nstype.
export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

/** mount(2) flags (<linux/mount.h> MS_*) by name without the prefix: `MountFlags.BIND` is MS_BIND. */
export const MountFlags = Object.freeze({
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  POSIXACL: 0x10000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  I_VERSION: 0x800000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
});

/** A mount's propagation for mount_setattr: one of these, or 0 for unchanged. */
export type Propagation =
  | 0
  | typeof MountFlags.PRIVATE
  | typeof MountFlags.SLAVE
  | typeof MountFlags.SHARED
  | typeof MountFlags.UNBINDABLE;

/** mount_setattr(2) and fsmount(2) attributes (<linux/mount.h> MOUNT_ATTR_*) by name without the prefix. */
export const MountAttr = Object.freeze({
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  /** MOUNT_ATTR__ATIME, the atime mode field: clear it whole to set one of the three modes. */
  ATIME_MASK: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  NOSYMFOLLOW: 0x200000,
});

/** The `dirfd` that means the current directory. */
export const AT_FDCWD = -100;

/**
 * An fd that names a place in the tree without opening the file (no read, no write; enough
 * for fstat, as the `dirfd` of a later openat2, and as clone3's cgroup). Node's
 * `fs.constants` lacks it.
 */
export const O_PATH = 0o10000000;
