// Which cgroup hierarchies the host mounts, and where a process sits in each.

export interface Hierarchy {
  /** Where it is mounted, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** 'cgroup' (v1) or 'cgroup2'. */
  fsType: 'cgroup' | 'cgroup2';
  /** v1 controllers (and `name=...`) of the hierarchy; empty for cgroup2. */
  controllers: string[];
}

/** Parses /proc/<pid>/cgroup: the v1 controller list (or '' for cgroup2) -> cgroup path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (match) paths.set(match[1]!, match[2]!);
  }
  return paths;
}

function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

// Super options of a v1 cgroup mount that are not controllers.
const NOT_CONTROLLERS = new Set([
  'rw',
  'ro',
  'clone_children',
  'noprefix',
  'xattr',
  'cpuset_v2_mode',
  'favordynmods',
]);

/** A cgroup mount with the directory of the hierarchy it shows (not always its root). */
export interface CgroupMount extends Hierarchy {
  /** The cgroup shown at the mount point, e.g. '/' or, for a bind mount of a subtree, '/docker/abc'. */
  root: string;
}

/** The cgroup mounts listed in /proc/self/mountinfo, with the cgroup each one shows. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const [fsType, , superOptions = ''] = line.slice(separator + 3).split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const fields = line.slice(0, separator).split(' ');
    const root = unescapeMountField(fields[3] ?? '/');
    const mountPoint = unescapeMountField(fields[4] ?? '');
    const controllers =
      fsType === 'cgroup2'
        ? []
        : superOptions
            .split(',')
            .filter((option) => !NOT_CONTROLLERS.has(option) && !option.startsWith('release_agent='));
    mounts.push({ mountPoint, fsType, controllers, root });
  }
  return mounts;
}


/** Where a process (given its /proc/<pid>/cgroup) sits in `hierarchy`; '/' when not listed. */
export function cgroupPathIn(hierarchy: Hierarchy, procCgroup: Map<string, string>): string {
  if (hierarchy.fsType === 'cgroup2') return procCgroup.get('') ?? '/';
  const wanted = [...hierarchy.controllers].sort().join(',');
  for (const [controllers, path] of procCgroup) {
    if (controllers !== '' && controllers.split(',').sort().join(',') === wanted) return path;
  }
  return '/';
}

