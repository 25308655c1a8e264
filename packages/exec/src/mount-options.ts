// OCI mount options -> what the helper's fd-based mount ops take: mount attributes to set
// and to clear (mount_setattr / fsmount), one propagation change, whether a bind is
// recursive, and the filesystem's own options (fsconfig, one by one). The option names
// are the table runc and crun share.
import { MountAttr, MountFlags, type Propagation } from '@nsinit/native';
import { InvalidConfigError, UnsupportedFeatureError } from './errors.js';

export const MS = MountFlags;

/** Options that are mount attributes: the same bit set or cleared on a bind and on a fresh mount. */
const ATTR_OPTIONS: Record<string, { set?: number; clear?: number }> = {
  ro: { set: MountAttr.RDONLY },
  rw: { clear: MountAttr.RDONLY },
  nosuid: { set: MountAttr.NOSUID },
  suid: { clear: MountAttr.NOSUID },
  nodev: { set: MountAttr.NODEV },
  dev: { clear: MountAttr.NODEV },
  noexec: { set: MountAttr.NOEXEC },
  exec: { clear: MountAttr.NOEXEC },
  nodiratime: { set: MountAttr.NODIRATIME },
  diratime: { clear: MountAttr.NODIRATIME },
  nosymfollow: { set: MountAttr.NOSYMFOLLOW },
  symfollow: { clear: MountAttr.NOSYMFOLLOW },
};

/** The atime mode is one field: the last of these options wins; its negation undoes it. */
const ATIME_OPTIONS: Record<string, { mode: number } | { undoes: number }> = {
  noatime: { mode: MountAttr.NOATIME },
  atime: { undoes: MountAttr.NOATIME },
  relatime: { mode: MountAttr.RELATIME },
  norelatime: { undoes: MountAttr.RELATIME },
  strictatime: { mode: MountAttr.STRICTATIME },
  nostrictatime: { undoes: MountAttr.STRICTATIME },
};

/**
 * Superblock flags: a fresh filesystem gets them through fsconfig as flags (the kernel
 * knows these names); a bind cannot change its source's superblock, so there they are
 * ignored, as the kernel ignores them in runc's bind remount.
 */
const SUPERBLOCK_OPTIONS = new Set(['sync', 'async', 'dirsync', 'mand', 'nomand', 'lazytime', 'nolazytime']);

/**
 * Options that change nothing a container can notice: mount(2) flags the kernel takes and
 * ignores (i_version is on wherever a filesystem supports it), and fsconfig would refuse.
 */
const NO_EFFECT_OPTIONS = new Set(['defaults', 'silent', 'loud', 'iversion', 'noiversion']);

export const PROPAGATION_OPTIONS: Readonly<Record<string, { propagation: Propagation; recursive: boolean }>> =
  {
    private: { propagation: MS.PRIVATE, recursive: false },
    rprivate: { propagation: MS.PRIVATE, recursive: true },
    shared: { propagation: MS.SHARED, recursive: false },
    rshared: { propagation: MS.SHARED, recursive: true },
    slave: { propagation: MS.SLAVE, recursive: false },
    rslave: { propagation: MS.SLAVE, recursive: true },
    unbindable: { propagation: MS.UNBINDABLE, recursive: false },
    runbindable: { propagation: MS.UNBINDABLE, recursive: true },
  };

// Options runc knows that change more than attributes; refusing them beats ignoring them.
const UNSUPPORTED_OPTIONS = new Set([
  'remount',
  'tmpcopyup',
  'idmap',
  'ridmap',
  'copy-symlink',
  'src-nofollow',
]);
const RECURSIVE_ATTR_OPTION =
  /^r(ro|rw|nosuid|suid|nodev|dev|noexec|exec|atime|noatime|relatime|norelatime|strictatime|nostrictatime|nodiratime|diratime|nosymfollow|symfollow)$/;

/**
 * Every option parseMountOptions knows by name (the rest go to the filesystem as they are),
 * sorted: what `nsinit features` lists as mountOptions. Superblock flags count: a fresh
 * filesystem gets them (a bind ignores them, as the kernel does in runc's bind remount).
 */
export function recognisedMountOptions(): string[] {
  return [
    ...Object.keys(ATTR_OPTIONS),
    ...Object.keys(ATIME_OPTIONS),
    'bind',
    'rbind',
    ...Object.keys(PROPAGATION_OPTIONS),
    ...SUPERBLOCK_OPTIONS,
    ...NO_EFFECT_OPTIONS,
  ].sort();
}

export interface ParsedMountOptions {
  /** `bind` or `rbind` was given. */
  bind: boolean;
  /** `rbind`: submounts of the source come along. */
  recursive: boolean;
  /** MOUNT_ATTR_* to set, and to clear (a bind keeps its source's attributes unless told). */
  attrSet: number;
  attrClr: number;
  /** The propagation change, if any. */
  propagation: Propagation;
  propagationRecursive: boolean;
  /** Options for the filesystem itself (fsconfig): `key=value` or `flag`. */
  fsOptions: string[];
}

export function parseMountOptions(options: readonly string[] | undefined, field: string): ParsedMountOptions {
  const parsed: ParsedMountOptions = {
    bind: false,
    recursive: false,
    attrSet: 0,
    attrClr: 0,
    propagation: 0,
    propagationRecursive: false,
    fsOptions: [],
  };
  let atime: number | undefined;
  let propagationOption: string | undefined;
  for (const option of options ?? []) {
    const attr = ATTR_OPTIONS[option];
    if (attr) {
      parsed.attrSet = (parsed.attrSet | (attr.set ?? 0)) & ~(attr.clear ?? 0);
      parsed.attrClr = (parsed.attrClr | (attr.clear ?? 0)) & ~(attr.set ?? 0);
      continue;
    }
    const atimeOption = ATIME_OPTIONS[option];
    if (atimeOption) {
      if ('mode' in atimeOption) atime = atimeOption.mode;
      else if (atime === atimeOption.undoes) atime = undefined;
      continue;
    }
    if (option === 'bind' || option === 'rbind') {
      parsed.bind = true;
      parsed.recursive ||= option === 'rbind';
      continue;
    }
    const change = PROPAGATION_OPTIONS[option];
    if (change !== undefined) {
      if (propagationOption !== undefined && propagationOption !== option) {
        throw new InvalidConfigError(
          field,
          `"${propagationOption}" and "${option}": give one propagation option`,
        );
      }
      propagationOption = option;
      parsed.propagation = change.propagation;
      parsed.propagationRecursive = change.recursive;
      continue;
    }
    if (NO_EFFECT_OPTIONS.has(option)) continue;
    // Recursive mount attributes (rro, rnosuid, ...): a second, recursive set of attributes.
    if (UNSUPPORTED_OPTIONS.has(option) || RECURSIVE_ATTR_OPTION.test(option)) {
      throw new UnsupportedFeatureError(`${field}: mount option "${option}"`);
    }
    if (option === '' || option.startsWith('='))
      throw new InvalidConfigError(field, `${JSON.stringify(option)} is not a mount option`);
    parsed.fsOptions.push(option);
  }
  if (atime !== undefined) {
    parsed.attrSet |= atime;
    parsed.attrClr |= MountAttr.ATIME_MASK;
  }
  return parsed;
}

/** The filesystem options of a bind: none may be given (runc's rule), superblock flags aside. */
export function bindFsOptions(parsed: ParsedMountOptions): string[] {
  return parsed.fsOptions.filter((option) => !SUPERBLOCK_OPTIONS.has(option));
}
