// Which cgroup hierarchies the host has, and where the calling process sits in them.
import { readFileSync } from 'node:fs';
import { CgroupError } from './errors.js';
import { type CgroupMount, cgroupPathIn, parseCgroupMounts, parseProcCgroup } from './hierarchy.js';

export interface LayoutHierarchy {
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory or /sys/fs/cgroup. */
  mountPoint: string;
  /** The cgroup the mount point shows: '/' unless a subtree is bind-mounted there. */
  root: string;
  /** The calling process's cgroup in this hierarchy, e.g. /user.slice (as /proc/self/cgroup says). */
  ownCgroup: string;
}

export interface V1LayoutHierarchy extends LayoutHierarchy {
  /** Its controllers, and `name=...` for a named hierarchy, e.g. ['cpu', 'cpuacct']. */
  controllers: string[];
}

/**
 * v1: only v1 hierarchies. v2: the unified hierarchy holds every controller. hybrid:
 * v1 hierarchies hold the controllers, a cgroup2 mount (e.g. /sys/fs/cgroup/unified)
 * the rest, often none or few (this machine's holds only hugetlb).
 */
export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export interface CgroupLayout {
  mode: CgroupMode;
  v1: V1LayoutHierarchy[];
  unified: LayoutHierarchy | null;
}

/** The directory of `cgroup` (a path from the hierarchy's root) under the hierarchy's mount point. */
export function cgroupDirectory(hierarchy: LayoutHierarchy, cgroup: string): string {
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
    .map(({ mountPoint, root, controllers, fsType }) => ({
      mountPoint,
      root,
      controllers,
      ownCgroup: cgroupPathIn({ mountPoint, fsType, controllers }, procCgroup),
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
