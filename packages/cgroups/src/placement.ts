// Where a container's cgroup goes in each hierarchy, worked out once from the options:
// planCgroupPaths shows it (a config compiler mounts the container's cgroup with it) and
// createCgroupManager makes it.
import { posix } from 'node:path';
import { CgroupError } from './errors.js';
import { type CgroupLayout, cgroupDirectory, detectCgroupLayout } from './layout.js';
import { v2ControllerName } from './v2/plan.js';

/** Where a container's cgroup is, as state.json records it (plain JSON). */
export interface CgroupPaths {
  /** v1: each controller (and `name=...`) of every joined hierarchy -> the cgroup's directory. */
  v1: Record<string, string>;
  /** The cgroup v2 directory, and the mount point of its hierarchy; null on a v1-only host. */
  unified: { directory: string; mountPoint: string } | null;
  /** Directories this manager made, parents first: destroy removes these and nothing else. */
  created: string[];
}

export interface CgroupManagerOptions {
  /** The cgroup's name, e.g. the container id: the cgroup is `<parent>/<name>`. */
  name?: string;
  /**
   * Where `name` goes: a path from each hierarchy's root when absolute, else from the
   * caller's own cgroup. Default: the caller's own cgroup (respecting its nesting).
   */
  parent?: string;
  /** The cgroup path itself (OCI linux.cgroupsPath), absolute or relative as `parent`; excludes parent and name. */
  path?: string;
  /**
   * v1: the hierarchies to join, by controller (default: every mounted hierarchy).
   * v2: the controllers to enable for the container from the start (default: those of
   * cpu, io, memory and pids the host offers); set() enables what its resources need too.
   */
  controllers?: readonly string[];
  /** The host's hierarchies; default detectCgroupLayout(). */
  layout?: CgroupLayout;
}

/** What createCgroupManager makes, hierarchy by hierarchy. */
export interface CgroupPlacement {
  v1: { mountPoint: string; directory: string; controllers: readonly string[] }[];
  unified: { mountPoint: string; directory: string } | null;
  /**
   * The v2 controllers to enable at creation: those asked for (`required`: failing is an
   * error), or by default those of cpu, io, memory and pids that no v1 hierarchy serves,
   * where the hierarchy offers them and an ancestor holding processes does not stand in the way.
   */
  v2Controllers: { names: readonly string[]; required: boolean };
}

const DEFAULT_V2_CONTROLLERS = ['cpu', 'io', 'memory', 'pids'];

function cleanCgroupPath(field: string, path: string): string {
  if (path === '' || /[\0\n]/.test(path))
    throw new CgroupError(`${field} "${path}" is not a cgroup path`, '', { value: path });
  const normal = posix.normalize(path);
  const clean = normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
  if (clean.split('/').includes('..') || clean === '.') {
    throw new CgroupError(`${field} "${path}" leaves the hierarchy or names none`, '', { value: path });
  }
  return clean;
}

/** The cgroup's path in a hierarchy (from its root), from the options and the caller's own cgroup there. */
function placement(options: CgroupManagerOptions, ownCgroup: string): string {
  const from = (field: string, path: string) => {
    const clean = cleanCgroupPath(field, path);
    return clean.startsWith('/') ? clean : posix.join(ownCgroup, clean);
  };
  if (options.path !== undefined) {
    if (options.parent !== undefined || options.name !== undefined) {
      throw new CgroupError('give either path, or parent and name, not both', '');
    }
    const cgroup = from('path', options.path);
    if (cgroup === '/')
      throw new CgroupError('path "/" is the root cgroup, which a container cannot have', '', { value: '/' });
    return cgroup;
  }
  const name = options.name;
  if (
    name === undefined ||
    name === '' ||
    name.includes('/') ||
    name === '.' ||
    name === '..' ||
    /[\0\n]/.test(name)
  ) {
    throw new CgroupError(`name "${name ?? ''}" must be one non-empty path component`, '', {
      value: name ?? '',
    });
  }
  return posix.join(options.parent === undefined ? ownCgroup : from('parent', options.parent), name);
}

function planFrom(options: CgroupManagerOptions): CgroupPlacement {
  const layout = options.layout ?? detectCgroupLayout();
  const wanted = options.controllers === undefined ? undefined : new Set(options.controllers);
  const offeredByV1 = new Set(layout.v1.flatMap((hierarchy) => hierarchy.controllers.map(v2ControllerName)));
  const v1 = layout.v1
    .filter(
      (hierarchy) =>
        wanted === undefined || hierarchy.controllers.some((controller) => wanted.has(controller)),
    )
    .map((hierarchy) => ({
      mountPoint: hierarchy.mountPoint,
      directory: cgroupDirectory(hierarchy, placement(options, hierarchy.ownCgroup)),
      controllers: hierarchy.controllers,
    }));
  const unified = layout.unified && {
    mountPoint: layout.unified.mountPoint,
    directory: cgroupDirectory(layout.unified, placement(options, layout.unified.ownCgroup)),
  };
  const names = wanted
    ? [...wanted].map(v2ControllerName).filter((controller) => !offeredByV1.has(controller))
    : DEFAULT_V2_CONTROLLERS.filter((controller) => !offeredByV1.has(controller));
  if (wanted && names.length > 0 && unified === null) {
    throw new CgroupError(`this host has no cgroup hierarchy for ${names.join(', ')}`, '', {
      value: names.join(','),
    });
  }
  return { v1, unified, v2Controllers: { names, required: wanted !== undefined } };
}

/** Plans made by planCgroupPaths, for createCgroupManager with the same options object. */
const plans = new WeakMap<CgroupManagerOptions, CgroupPlacement>();

/**
 * The plan for these options: the one planCgroupPaths made for the same options object (a
 * config compiler plans, then the runtime creates), else a new one. Only planCgroupPaths
 * records plans: a create without one adds nothing to the map, which costs on every start.
 */
export function planFor(options: CgroupManagerOptions): CgroupPlacement {
  return plans.get(options) ?? planFrom(options);
}

/**
 * Where createCgroupManager() with these options puts the cgroup, without creating
 * anything: a config compiler can plan mounts of the container's cgroup with it.
 * createCgroupManager() given the same options object creates what this planned, without
 * planning again; so the object is not to be changed in between.
 */
export function planCgroupPaths(options: CgroupManagerOptions): Omit<CgroupPaths, 'created'> {
  const plan = planFrom(options);
  plans.set(options, plan);
  const v1: Record<string, string> = {};
  for (const { directory, controllers } of plan.v1)
    for (const controller of controllers) v1[controller] = directory;
  return { v1, unified: plan.unified && { ...plan.unified } };
}
