// Facts about the host that the compiler needs, read once per run and passed in
// (so the compiler stays a pure function that unit tests feed by hand).
import { readFileSync, statSync } from 'node:fs';

export interface CgroupMount {
  /** Where the hierarchy is mounted on the host, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** 'cgroup' (v1) or 'cgroup2'. */
  fsType: 'cgroup' | 'cgroup2';
  /** v1 controllers (and `name=...`) of the hierarchy; empty for cgroup2. */
  controllers: string[];
  /** The cgroup a process of ours belongs to in this hierarchy, e.g. /user.slice. */
  ownCgroup: string;
}

export interface HostFacts {
  /** Highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
  capLastCap: number;
  /** The host's cgroup hierarchies, read only when a config mounts cgroups. */
  cgroupMounts(): CgroupMount[];
  /** True when /proc/kcore exists (runc links /dev/core to it then). */
  hasKcore: boolean;
  /** Whether a host path is a directory; false when it is anything else; null when missing. */
  isDirectory(path: string): boolean | null;
}

/** Parses /proc/self/cgroup: hierarchy controllers (or '' for v2) -> path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (match) paths.set(match[1]!, match[2]!);
  }
  return paths;
}

/** Unescapes the octal escapes (\040 for space ...) of /proc/self/mountinfo fields. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

export function parseCgroupMounts(mountinfo: string, procCgroup: string): CgroupMount[] {
  const own = parseProcCgroup(procCgroup);
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const before = line.slice(0, separator).split(' ');
    const [fsType, , superOptions = ''] = line.slice(separator + 3).split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const mountPoint = unescapeMountField(before[4] ?? '');
    if (fsType === 'cgroup2') {
      mounts.push({ mountPoint, fsType, controllers: [], ownCgroup: own.get('') ?? '/' });
      continue;
    }
    const controllers = superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent') && o !== 'clone_children' && o !== 'noprefix' && o !== 'xattr' && o !== 'cpuset_v2_mode');
    const key = [...own.keys()].find((k) => k !== '' && k.split(',').sort().join(',') === [...controllers].sort().join(','));
    mounts.push({ mountPoint, fsType, controllers, ownCgroup: key === undefined ? '/' : own.get(key)! });
  }
  return mounts;
}

let capLastCap: number | undefined;
let hasKcore: boolean | undefined;

/** The live host; facts that cannot change while we run are read once per process. */
export function readHostFacts(): HostFacts {
  capLastCap ??= Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
  hasKcore ??= statSync('/proc/kcore', { throwIfNoEntry: false }) !== undefined;
  return {
    capLastCap,
    hasKcore,
    cgroupMounts: () =>
      parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8')),
    isDirectory(path) {
      const stats = statSync(path, { throwIfNoEntry: false });
      return stats === undefined ? null : stats.isDirectory();
    },
  };
}
