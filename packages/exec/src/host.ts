// Facts about the host that the compiler needs, read once per run and passed in
// (so the compiler stays a pure function that unit tests feed by hand).
import { readFileSync, statfsSync, statSync } from 'node:fs';
import { type CgroupLayout, detectCgroupLayout } from '@nsinit/cgroups';

export interface HostFacts {
  /** Highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
  capLastCap: number;
  /** The host's cgroup hierarchies and our place in them, read only when a config needs them. */
  cgroupLayout(): CgroupLayout;
  /** True when /proc/kcore exists (runc links /dev/core to it then). */
  hasKcore: boolean;
  /** This process's hard RLIMIT_NOFILE (Node raised the soft limit to it at start-up). */
  openFilesHardLimit: bigint;
  /** Whether a host path is a directory; false when it is anything else; null when missing. */
  isDirectory(path: string): boolean | null;
  /** Whether a host path is the root of a procfs; null when missing. */
  isProcRoot(path: string): boolean | null;
  /** Whether a namespace file names the namespace of that type this process runs in. */
  isOwnNamespace(type: NamespaceFileType, path: string): boolean;
}

/** A namespace type as linux.namespaces names it. */
export type NamespaceFileType = 'mount' | 'uts' | 'ipc' | 'pid' | 'network' | 'cgroup' | 'time' | 'user';

const PROC_NS_NAMES: Readonly<Record<NamespaceFileType, string>> = {
  mount: 'mnt',
  uts: 'uts',
  ipc: 'ipc',
  pid: 'pid',
  network: 'net',
  cgroup: 'cgroup',
  time: 'time',
  user: 'user',
};
const PROC_SUPER_MAGIC = 0x9fa0;
const PROC_ROOT_INO = 1;

let capLastCap: number | undefined;
let hasKcore: boolean | undefined;
let openFilesHardLimit: bigint | undefined;

/** The hard limit of "Max open files" in /proc/self/limits ("unlimited" is RLIM_INFINITY). */
export function readOpenFilesHardLimit(limits: string = readFileSync('/proc/self/limits', 'utf8')): bigint {
  const fields = limits.match(/^Max open files\s+(\S+)\s+(\S+)/m);
  if (!fields) throw new Error('/proc/self/limits has no "Max open files" line');
  return fields[2] === 'unlimited' ? 0xffff_ffff_ffff_ffffn : BigInt(fields[2]!);
}

let lastLayout: { mountinfo: string; procCgroup: string; layout: CgroupLayout } | undefined;

/**
 * The cgroup layout, parsed again only when this process's mount table or cgroups changed:
 * reading the two files costs a tenth of parsing them, and every container start needs it.
 */
function currentCgroupLayout(): CgroupLayout {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const procCgroup = readFileSync('/proc/self/cgroup', 'utf8');
  if (lastLayout?.mountinfo !== mountinfo || lastLayout.procCgroup !== procCgroup) {
    lastLayout = { mountinfo, procCgroup, layout: detectCgroupLayout({ mountinfo, procCgroup }) };
  }
  return lastLayout.layout;
}

/** The live host; facts that cannot change while we run are read once per process. */
export function readHostFacts(): HostFacts {
  capLastCap ??= Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
  hasKcore ??= statSync('/proc/kcore', { throwIfNoEntry: false }) !== undefined;
  openFilesHardLimit ??= readOpenFilesHardLimit();
  let layout: CgroupLayout | undefined;
  return {
    capLastCap,
    hasKcore,
    openFilesHardLimit,
    cgroupLayout: () => (layout ??= currentCgroupLayout()),
    isDirectory(path) {
      const stats = statSync(path, { throwIfNoEntry: false });
      return stats === undefined ? null : stats.isDirectory();
    },
    isProcRoot(path) {
      const stats = statSync(path, { throwIfNoEntry: false });
      return stats === undefined
        ? null
        : stats.ino === PROC_ROOT_INO && statfsSync(path).type === PROC_SUPER_MAGIC;
    },
    isOwnNamespace(type, path) {
      const theirs = statSync(path, { throwIfNoEntry: false });
      const ours = statSync(`/proc/self/ns/${PROC_NS_NAMES[type]}`);
      return theirs !== undefined && theirs.ino === ours.ino && theirs.dev === ours.dev;
    },
  };
}
