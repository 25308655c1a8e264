// OCI mount options -> mount(2) flags, propagation changes and filesystem data,
// following the table runc and crun share.
import { MountFlags } from '@nsinit/native';
import { UnsupportedFeatureError } from './errors.js';

export const MS = MountFlags;

const FLAG_OPTIONS: Record<string, { set?: number; clear?: number }> = {
  defaults: {},
  ro: { set: MS.RDONLY },
  rw: { clear: MS.RDONLY },
  nosuid: { set: MS.NOSUID },
  suid: { clear: MS.NOSUID },
  nodev: { set: MS.NODEV },
  dev: { clear: MS.NODEV },
  noexec: { set: MS.NOEXEC },
  exec: { clear: MS.NOEXEC },
  sync: { set: MS.SYNCHRONOUS },
  async: { clear: MS.SYNCHRONOUS },
  dirsync: { set: MS.DIRSYNC },
  remount: { set: MS.REMOUNT },
  mand: { set: MS.MANDLOCK },
  nomand: { clear: MS.MANDLOCK },
  atime: { clear: MS.NOATIME },
  noatime: { set: MS.NOATIME },
  diratime: { clear: MS.NODIRATIME },
  nodiratime: { set: MS.NODIRATIME },
  relatime: { set: MS.RELATIME },
  norelatime: { clear: MS.RELATIME },
  strictatime: { set: MS.STRICTATIME },
  nostrictatime: { clear: MS.STRICTATIME },
  lazytime: { set: MS.LAZYTIME },
  nolazytime: { clear: MS.LAZYTIME },
  iversion: { set: MS.I_VERSION },
  noiversion: { clear: MS.I_VERSION },
  silent: { set: MS.SILENT },
  loud: { clear: MS.SILENT },
  nosymfollow: { set: MS.NOSYMFOLLOW },
  symfollow: { clear: MS.NOSYMFOLLOW },
  bind: { set: MS.BIND },
  rbind: { set: MS.BIND | MS.REC },
};

export const PROPAGATION_OPTIONS: Readonly<Record<string, number>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

// Options runc knows that change more than flags; refusing them beats ignoring them.
const UNSUPPORTED_OPTIONS = new Set(['tmpcopyup', 'idmap', 'ridmap', 'copy-symlink', 'src-nofollow']);

export interface ParsedMountOptions {
  flags: number;
  propagation: number[];
  /** Filesystem-specific options, comma-joined for mount(2)'s data argument. */
  data: string;
}

export function parseMountOptions(options: readonly string[] | undefined, field: string): ParsedMountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  for (const option of options ?? []) {
    const flag = FLAG_OPTIONS[option];
    if (flag) {
      flags = (flags | (flag.set ?? 0)) & ~(flag.clear ?? 0);
      continue;
    }
    const change = PROPAGATION_OPTIONS[option];
    if (change !== undefined) {
      propagation.push(change);
      continue;
    }
    // Recursive mount attributes (rro, rnosuid, ...): need mount_setattr per option.
    if (UNSUPPORTED_OPTIONS.has(option) || /^r(ro|rw|nosuid|suid|nodev|dev|noexec|exec|atime|noatime|relatime|strictatime|nodiratime|diratime|nosymfollow|symfollow)$/.test(option)) {
      throw new UnsupportedFeatureError(`${field}: mount option "${option}"`);
    }
    data.push(option);
  }
  return { flags, propagation, data: data.join(',') };
}
