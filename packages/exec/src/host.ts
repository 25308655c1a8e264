// Facts about the host that the compiler needs, read once per run and passed in
// (so the compiler stays a pure function that unit tests feed by hand).
import { readFileSync, statSync } from 'node:fs';
import { type CgroupLayout, detectCgroupLayout } from '@nsinit/cgroups';

export interface HostFacts {
  /** Highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
  capLastCap: number;
  /** The host's cgroup hierarchies and our place in them, read only when a config needs them. */
  cgroupLayout(): CgroupLayout;
  /** True when /proc/kcore exists (runc links /dev/core to it then). */
  hasKcore: boolean;
  /** Whether a host path is a directory; false when it is anything else; null when missing. */
  isDirectory(path: string): boolean | null;
}

let capLastCap: number | undefined;
let hasKcore: boolean | undefined;

/** The live host; facts that cannot change while we run are read once per process. */
export function readHostFacts(): HostFacts {
  capLastCap ??= Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
  hasKcore ??= statSync('/proc/kcore', { throwIfNoEntry: false }) !== undefined;
  let layout: CgroupLayout | undefined;
  return {
    capLastCap,
    hasKcore,
    cgroupLayout: () => (layout ??= detectCgroupLayout()),
    isDirectory(path) {
      const stats = statSync(path, { throwIfNoEntry: false });
      return stats === undefined ? null : stats.isDirectory();
    },
  };
}
