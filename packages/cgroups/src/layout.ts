// Which cgroup hierarchies the host mounts, and where the calling process sits in each.
import { readFileSync } from 'node:fs';
import { CgroupError } from './errors.js';

/** A mounted cgroup hierarchy, and the calling process's cgroup in it. */
export interface CgroupHierarchy {
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory or /sys/fs/cgroup. */
  mountPoint: string;
  /** The cgroup the mount point shows: '/' unless a subtree is bind-mounted there. */
  root: string;
  /** The calling process's cgroup in this hierarchy, e.g. /user.slice (as /proc/self/cgroup says). */
  ownCgroup: string;
  /** A v1 hierarchy's controllers, and `name=...` for a named one, e.g. ['cpu', 'cpuacct']; absent on cgroup2. */
  controllers?: string[];
}

/**
 * v1: only v1 hierarchies. v2: the unified hierarchy holds every controller. hybrid:
 * v1 hierarchies hold the controllers, a cgroup2 mount (e.g. /sys/fs/cgroup/unified)
 * the rest, often none or few.
 */
export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export interface CgroupLayout {
  mode: CgroupMode;
  v1: (CgroupHierarchy & { controllers: string[] })[];
  unified: CgroupHierarchy | null;
}

/** One cgroup line of /proc/self/mountinfo: a hierarchy may be mounted more than once. */
export interface CgroupMount {
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  /** v1 controllers (and `name=...`) of the hierarchy; empty for cgroup2. */
  controllers: string[];
  /** The cgroup shown at the mount point, e.g. '/' or, for a bind mount of a subtree, '/docker/abc'. */
  root: string;
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

/** Where a process (given its /proc/<pid>/cgroup) sits in a mounted hierarchy; '/' when not listed. */
export function cgroupPathIn(
  mount: Pick<CgroupMount, 'fsType' | 'controllers'>,
  procCgroup: Map<string, string>,
): string {
  if (mount.fsType === 'cgroup2') return procCgroup.get('') ?? '/';
  const wanted = [...mount.controllers].sort().join(',');
  for (const [controllers, path] of procCgroup) {
    if (controllers !== '' && controllers.split(',').sort().join(',') === wanted) return path;
  }
  return '/';
}

/** The directory of `cgroup` (a path from the hierarchy's root) under the hierarchy's mount point. */
export function cgroupDirectory(
  hierarchy: Pick<CgroupHierarchy, 'mountPoint' | 'root'>,
  cgroup: string,
): string {
  const root = hierarchy.root === '/' ? '' : hierarchy.root;
  if (cgroup !== hierarchy.root && !cgroup.startsWith(`${root}/`)) {
    throw new CgroupError(
      `cgroup ${cgroup} is outside ${hierarchy.root}, the part of the hierarchy mounted at ${hierarchy.mountPoint}`,
      hierarchy.mountPoint,
    );
  }
  const rest = cgroup.slice(root.length);
  return rest === '/' || rest === '' ? hierarchy.mountPoint : `${hierarchy.mountPoint}${rest}`;
}

/** Mounts of the same hierarchy once each: the one showing its root when there is one. */
function distinctHierarchies(mounts: CgroupMount[]): CgroupMount[] {
  const byHierarchy = new Map<string, CgroupMount>();
  for (const mount of mounts) {
    const key = mount.fsType === 'cgroup2' ? '' : [...mount.controllers].sort().join(',');
    const seen = byHierarchy.get(key);
    if (seen === undefined || (seen.root !== '/' && mount.root === '/')) byHierarchy.set(key, mount);
  }
  return [...byHierarchy.values()];
}

/**
 * The host's layout from /proc/self/mountinfo and /proc/self/cgroup (or the texts
 * given, for tests and for reading another process's view).
 */
export function detectCgroupLayout(texts?: { mountinfo: string; procCgroup: string }): CgroupLayout {
  const mountinfo = texts?.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8');
  const procCgroup = parseProcCgroup(texts?.procCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));
  const mounts = distinctHierarchies(parseCgroupMounts(mountinfo));
  const unifiedMount = mounts.find((mount) => mount.fsType === 'cgroup2');
  const v1 = mounts
    .filter((mount) => mount.fsType === 'cgroup' && mount.controllers.length > 0)
    .map((mount) => ({
      mountPoint: mount.mountPoint,
      root: mount.root,
      controllers: mount.controllers,
      ownCgroup: cgroupPathIn(mount, procCgroup),
    }));
  const hasV1Controllers = v1.some((hierarchy) => hierarchy.controllers.some((c) => !c.startsWith('name=')));
  const unified = unifiedMount
    ? { mountPoint: unifiedMount.mountPoint, root: unifiedMount.root, ownCgroup: procCgroup.get('') ?? '/' }
    : null;
  if (!hasV1Controllers && unified === null) {
    throw new CgroupError(
      'no cgroup hierarchy is mounted (neither cgroup v1 controllers nor cgroup2)',
      '/proc/self/mountinfo',
    );
  }
  if (!hasV1Controllers) return { mode: 'v2', v1: [], unified };
  return { mode: unified ? 'hybrid' : 'v1', v1, unified };
}
