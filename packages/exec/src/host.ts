// Facts about the host that the compiler needs, read once per run and passed in
// (so the compiler stays a pure function that unit tests feed by hand).
import { readFileSync, statSync } from 'node:fs';
import { cgroupPathIn, type Hierarchy, parseHierarchies, parseProcCgroup } from '@nsinit/cgroups';

export interface CgroupMount extends Hierarchy {
  /** The cgroup this process belongs to in this hierarchy, e.g. /user.slice. */
  ownCgroup: string;
}

export interface HostFacts {
  /** Highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
  capLastCap: number;
  /** The host's cgroup hierarchies, read only when a config needs them. */
  cgroupMounts(): CgroupMount[];
  /** True when /proc/kcore exists (runc links /dev/core to it then). */
  hasKcore: boolean;
  /** Whether a host path is a directory; false when it is anything else; null when missing. */
  isDirectory(path: string): boolean | null;
}

export function cgroupMountsOf(mountinfo: string, procCgroup: string): CgroupMount[] {
  const own = parseProcCgroup(procCgroup);
  return parseHierarchies(mountinfo).map((hierarchy) => ({ ...hierarchy, ownCgroup: cgroupPathIn(hierarchy, own) }));
}

let capLastCap: number | undefined;
let hasKcore: boolean | undefined;

/** The live host; facts that cannot change while we run are read once per process. */
export function readHostFacts(): HostFacts {
  capLastCap ??= Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
  hasKcore ??= statSync('/proc/kcore', { throwIfNoEntry: false }) !== undefined;
  let cgroupMounts: CgroupMount[] | undefined;
  return {
    capLastCap,
    hasKcore,
    cgroupMounts: () =>
      (cgroupMounts ??= cgroupMountsOf(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'))),
    isDirectory(path) {
      const stats = statSync(path, { throwIfNoEntry: false });
      return stats === undefined ? null : stats.isDirectory();
    },
  };
}
