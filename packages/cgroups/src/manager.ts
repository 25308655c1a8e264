// A container's cgroup on v1, v2 and hybrid hosts: create, apply, set, stats,
// freeze, kill, destroy. The manager keeps nothing a second process could not get
// back from `paths`, which state.json records (see loadCgroupManager).
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import {
  attachCgroupDeviceProgram,
  detachCgroupDeviceProgram,
  loadCgroupDeviceProgram,
  openBpfProgramById,
  queryCgroupDevicePrograms,
} from '@nsinit/native';
import { deviceRulesPolicy } from './device-policy.js';
import { deviceProgram, encodeBpfProgram } from './device-program.js';
import { CgroupError, errnoCode, systemCause } from './errors.js';
import {
  parseFlatKeyed,
  parsePids,
  readCgroupFile,
  readOptionalCgroupFile,
  writeCgroupFile,
  writeCgroupFiles,
} from './files.js';
import { type CgroupLayout, cgroupDirectory, detectCgroupLayout, type LayoutHierarchy } from './layout.js';
import { type CgroupResources, controllersFor, type ResourceController } from './resources.js';
import {
  blockIOStatsV1,
  blockIOStatsV2,
  type CgroupStats,
  cpuStatsV1,
  cpuStatsV2,
  hugetlbStatsV1,
  hugetlbStatsV2,
  memoryStatsV1,
  memoryStatsV2,
  pidsStats,
} from './stats.js';
import { planV1Writes } from './v1.js';
import { planV2Writes, v2ControllerName, v2ControllersFor } from './v2.js';

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

export type FreezerState = 'thawed' | 'freezing' | 'frozen';

export interface WaitOptions {
  /** How long to wait for the kernel before failing. Default 10 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_V2_CONTROLLERS = ['cpu', 'io', 'memory', 'pids'];
/** Linux's O_PATH (asm-generic; x86, arm and riscv share it): an fd naming the directory, for clone3. */
const O_PATH = 0o10000000;

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

/** Waits with a growing pause until `done` holds, or throws `fail()` after the timeout. */
async function waitUntil(done: () => boolean, timeoutMs: number, fail: () => CgroupError): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 1; !done(); pause = Math.min(pause * 2, 50)) {
    if (Date.now() >= deadline) throw fail();
    await sleep(pause);
  }
}

/** Retries that only yield to the event loop, before the first timed pause. */
const QUICK_RETRIES = 8;

/**
 * The pause before retrying a removal the kernel refused with EBUSY. A process that was
 * killed leaves its cgroups within microseconds of running again, far sooner than the
 * shortest timer (1 ms): so first a few turns of the event loop, then 1, 2, 4 ... 50 ms.
 */
function pauseBeforeRetry(attempt: number): Promise<unknown> {
  if (attempt < QUICK_RETRIES) return nextTurn();
  return sleep(Math.min(2 ** (attempt - QUICK_RETRIES), 50));
}

function isV1Hierarchy(hierarchy: LayoutHierarchy): hierarchy is LayoutHierarchy & { controllers: string[] } {
  return 'controllers' in hierarchy;
}

/** Which hierarchies a manager with these options joins: the v1 ones asked for, and the unified one. */
function joinedHierarchies(options: CgroupManagerOptions, layout: CgroupLayout): LayoutHierarchy[] {
  const wanted = options.controllers === undefined ? undefined : new Set(options.controllers);
  const hierarchies: LayoutHierarchy[] = layout.v1.filter(
    (hierarchy) => wanted === undefined || hierarchy.controllers.some((controller) => wanted.has(controller)),
  );
  if (layout.unified) hierarchies.push(layout.unified);
  return hierarchies;
}

/**
 * Where createCgroupManager() with these options puts the cgroup, without creating
 * anything: a config compiler can plan mounts of the container's cgroup with it.
 */
export function planCgroupPaths(options: CgroupManagerOptions): Omit<CgroupPaths, 'created'> {
  const layout = options.layout ?? detectCgroupLayout();
  const paths: Omit<CgroupPaths, 'created'> = { v1: {}, unified: null };
  for (const hierarchy of joinedHierarchies(options, layout)) {
    const directory = cgroupDirectory(hierarchy, placement(options, hierarchy.ownCgroup));
    if (isV1Hierarchy(hierarchy)) for (const controller of hierarchy.controllers) paths.v1[controller] = directory;
    else paths.unified = { directory, mountPoint: hierarchy.mountPoint };
  }
  return paths;
}

/**
 * Creates the container's cgroup in every joined v1 hierarchy and in the unified one.
 * A cgroup that already exists is refused (it is not this container's); on any failure
 * what was made is removed again.
 */
export async function createCgroupManager(options: CgroupManagerOptions): Promise<CgroupManager> {
  const layout = options.layout ?? detectCgroupLayout();
  const wanted = options.controllers === undefined ? undefined : new Set(options.controllers);
  const offeredByV1 = new Set(layout.v1.flatMap((hierarchy) => hierarchy.controllers));
  const hierarchies = joinedHierarchies(options, layout);
  const wantedV2 = [...(wanted ?? [])]
    .filter((controller) => !offeredByV1.has(controller))
    .map(v2ControllerName);
  if (wantedV2.length > 0 && layout.unified === null) {
    throw new CgroupError(`this host has no cgroup hierarchy for ${wantedV2.join(', ')}`, '', {
      value: wantedV2.join(','),
    });
  }

  const paths: CgroupPaths = { v1: {}, unified: null, created: [] };
  const manager = new CgroupManager(paths);
  try {
    for (const hierarchy of hierarchies) {
      const cgroup = placement(options, hierarchy.ownCgroup);
      const directory = cgroupDirectory(hierarchy, cgroup);
      const created = makeCgroupDirectory(hierarchy.mountPoint, directory, paths.created);
      if (isV1Hierarchy(hierarchy)) {
        for (const controller of hierarchy.controllers) paths.v1[controller] = directory;
        // A new v1 cpuset has no cpus and no mems, and takes no process until it has.
        if (hierarchy.controllers.includes('cpuset')) for (const dir of created) inheritCpuset(dir);
      } else {
        paths.unified = { directory, mountPoint: hierarchy.mountPoint };
      }
    }
    if (paths.unified && wanted !== undefined) {
      enableV2Controllers(paths.unified, wantedV2);
    } else if (paths.unified) {
      // By default only what the host offers, and only if it can be had: a parent that
      // holds processes of its own cannot hand controllers down (set() then says so).
      const offered = offeredV2Controllers(paths.unified);
      const defaults = DEFAULT_V2_CONTROLLERS.filter(
        (c) => offered.has(c) && !offeredByV1.has(c === 'io' ? 'blkio' : c),
      );
      try {
        enableV2Controllers(paths.unified, defaults);
      } catch (error) {
        if (!(error instanceof CgroupError)) throw error;
      }
    }
  } catch (error) {
    try {
      await manager.destroy({ timeoutMs: 1000 });
    } catch (cleanup) {
      throw new CgroupError(
        `${(error as Error).message}; removing what was made failed too: ${(cleanup as Error).message}`,
        '',
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  return manager;
}

function cannotCreate(directory: string, error: unknown): CgroupError {
  const why =
    errnoCode(error) === 'EEXIST' ? 'it already exists and is not this container’s' : systemCause(error);
  return new CgroupError(`cannot create the cgroup ${directory}: ${why}`, directory, { cause: error });
}

/**
 * mkdir of each missing directory from the mount point down to `directory`, recording
 * each in `created` as it is made. Returns the ones made here.
 */
function makeCgroupDirectory(mountPoint: string, directory: string, created: string[]): string[] {
  // Usually the parent is there (our own cgroup): one mkdir, with no probing of the path above.
  try {
    mkdirSync(directory, { mode: 0o755 });
    created.push(directory);
    return [directory];
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw cannotCreate(directory, error);
  }
  const made: string[] = [];
  const parts = directory.slice(mountPoint.length).split('/').filter(Boolean);
  let current = mountPoint;
  for (const [index, part] of parts.entries()) {
    current = `${current}/${part}`;
    const leaf = index === parts.length - 1;
    try {
      mkdirSync(current, { mode: 0o755 });
    } catch (error) {
      if (errnoCode(error) === 'EEXIST' && !leaf) continue;
      throw cannotCreate(current, error);
    }
    created.push(current);
    made.push(current);
  }
  return made;
}

/**
 * The parent's cpus and mems, written without first reading the new directory's: it is
 * empty, or (with clone_children) already holds the same values, which writing again keeps.
 */
function inheritCpuset(dir: string): void {
  const parent = posix.dirname(dir);
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    writeCgroupFile(`${dir}/${file}`, readCgroupFile(`${parent}/${file}`).trim());
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((entry) => typeof entry === 'string')
  );
}

/** The manager of a cgroup another call created, from the `paths` it recorded. */
export function loadCgroupManager(recorded: unknown): CgroupManager {
  const paths = recorded as Partial<CgroupPaths> | null;
  const unified = paths?.unified;
  const valid =
    typeof paths === 'object' &&
    paths !== null &&
    isStringRecord(paths.v1) &&
    Array.isArray(paths.created) &&
    paths.created.every((entry) => typeof entry === 'string') &&
    (unified === null ||
      (typeof unified === 'object' &&
        unified !== undefined &&
        typeof unified.directory === 'string' &&
        typeof unified.mountPoint === 'string'));
  if (!valid)
    throw new CgroupError('recorded cgroup paths are malformed: expected { v1, unified, created }', '');
  const all = [
    ...Object.values(paths.v1!),
    ...(unified ? [unified.directory, unified.mountPoint] : []),
    ...paths.created!,
  ];
  const relative = all.find((path) => !path.startsWith('/') || posix.normalize(path) !== path);
  if (relative !== undefined)
    throw new CgroupError(`recorded cgroup path "${relative}" is not a clean absolute path`, relative);
  return new CgroupManager({
    v1: { ...paths.v1! },
    unified: unified ? { ...unified } : null,
    created: [...paths.created!],
  });
}

/** The controllers the unified hierarchy has (its root's cgroup.controllers). */
function offeredV2Controllers(unified: NonNullable<CgroupPaths['unified']>): Set<string> {
  return new Set(readCgroupFile(`${unified.mountPoint}/cgroup.controllers`).split(/\s+/).filter(Boolean));
}

/**
 * Enables controllers for the container's v2 cgroup: each goes into cgroup.subtree_control
 * of every ancestor, top down, from the nearest one that has it. Ancestors that already
 * hand it down are left alone.
 */
function enableV2Controllers(
  unified: NonNullable<CgroupPaths['unified']>,
  controllers: readonly string[],
): void {
  const known = new Map<string, Set<string>>();
  // A new cgroup's file lists what its parent hands down; absent (a fake tree) is none.
  const controllersOf = (dir: string) => {
    let names = known.get(dir);
    if (names === undefined) {
      names = new Set(
        (readOptionalCgroupFile(`${dir}/cgroup.controllers`) ?? '').split(/\s+/).filter(Boolean),
      );
      known.set(dir, names);
    }
    return names;
  };
  const ancestors: string[] = [];
  for (let dir = unified.directory; dir !== unified.mountPoint && dir !== '/'; ) {
    dir = posix.dirname(dir);
    ancestors.push(dir);
  }
  const toEnable = new Map<string, string[]>();
  for (const controller of controllers) {
    if (controllersOf(unified.directory).has(controller)) continue;
    const nearest = ancestors.findIndex((dir) => controllersOf(dir).has(controller));
    if (nearest < 0) {
      throw new CgroupError(
        `the cgroup v2 hierarchy at ${unified.mountPoint} offers no ${controller} controller`,
        `${unified.mountPoint}/cgroup.controllers`,
        { value: controller },
      );
    }
    for (const dir of ancestors.slice(0, nearest + 1))
      toEnable.set(dir, [...(toEnable.get(dir) ?? []), controller]);
  }
  for (const dir of [...ancestors].reverse()) {
    const names = toEnable.get(dir);
    if (names) writeCgroupFile(`${dir}/cgroup.subtree_control`, names.map((name) => `+${name}`).join(' '));
  }
}

export class CgroupManager {
  /** @internal Use createCgroupManager or loadCgroupManager. */
  constructor(readonly paths: CgroupPaths) {}

  /** 'v1', 'v2' or 'hybrid', by where this container's cgroup lives. */
  get mode(): 'v1' | 'v2' | 'hybrid' {
    const hasV1 = Object.keys(this.paths.v1).length > 0;
    return hasV1 ? (this.paths.unified ? 'hybrid' : 'v1') : 'v2';
  }

  /** Distinct directories of the container's cgroup, v1 ones first. */
  private directories(): string[] {
    const dirs = new Set(Object.values(this.paths.v1));
    if (this.paths.unified) dirs.add(this.paths.unified.directory);
    return [...dirs];
  }

  /**
   * Moves a process (and its threads) into the cgroup in every hierarchy. Retries
   * briefly on EINVAL, which the kernel returns for a process still being forked.
   */
  async apply(pid: number): Promise<void> {
    if (!Number.isSafeInteger(pid) || pid <= 0)
      throw new CgroupError(`pid ${pid} is not a process id`, '', { value: String(pid) });
    for (const dir of this.directories()) {
      for (let attempt = 0; ; attempt++) {
        try {
          writeCgroupFile(`${dir}/cgroup.procs`, String(pid));
          break;
        } catch (error) {
          if (attempt >= 5 || errnoCode((error as CgroupError).cause) !== 'EINVAL') throw error;
          await sleep(10);
        }
      }
    }
  }

  /**
   * v2: an O_PATH directory fd of the cgroup for clone3's CLONE_INTO_CGROUP (the addon's
   * `spawn({ cgroupFd })`), so the child is born inside it. The caller closes it. On a
   * hybrid host the v1 hierarchies still need apply(pid). null on a v1-only host.
   */
  cgroupFdForClone(): number | null {
    if (!this.paths.unified) return null;
    const dir = this.paths.unified.directory;
    try {
      return openSync(dir, O_PATH | constants.O_DIRECTORY);
    } catch (error) {
      throw new CgroupError(`cannot open ${dir}: ${systemCause(error)}`, dir, { cause: error });
    }
  }

  /** The pids in the cgroup (every hierarchy's, once each). */
  pids(): number[] {
    const pids = new Set<number>();
    for (const dir of this.directories()) {
      const file = `${dir}/cgroup.procs`;
      for (const pid of parsePids(readCgroupFile(file), file)) pids.add(pid);
    }
    return [...pids].sort((a, b) => a - b);
  }

  // -------------------------------------------------------------------------------------
  // Resources

  /** Which version serves a controller for this container: a joined v1 hierarchy first. */
  private route(controller: ResourceController, offered: () => Set<string>): 'v1' | 'v2' {
    if (controller in this.paths.v1) return 'v1';
    if (this.paths.unified) {
      // v2 has device programs and cgroup.freeze in every non-root cgroup.
      if (controller === 'devices' || controller === 'freezer') return 'v2';
      if (offered().has(v2ControllerName(controller))) return 'v2';
    }
    const where = this.paths.unified
      ? `no v1 ${controller} hierarchy and no ${v2ControllerName(controller)} controller in cgroup v2`
      : `no v1 ${controller} hierarchy`;
    throw new CgroupError(`the container's cgroup has no ${controller} controller: ${where}`, '', {
      value: controller,
    });
  }

  /**
   * Applies resources. Every value is checked before the first file is written, so bad
   * input changes nothing; a value the kernel refuses fails with the file and the value.
   */
  async set(resources: CgroupResources): Promise<void> {
    let offered: Set<string> | undefined;
    const offeredOnce = () => {
      offered ??= this.paths.unified ? offeredV2Controllers(this.paths.unified) : new Set<string>();
      return offered;
    };
    const v1Controllers = new Set<ResourceController>();
    const v2Controllers = new Set<ResourceController>();
    for (const controller of controllersFor(resources)) {
      (this.route(controller, offeredOnce) === 'v1' ? v1Controllers : v2Controllers).add(controller);
    }
    if (resources.unified && Object.keys(resources.unified).length > 0 && !this.paths.unified) {
      throw new CgroupError(
        'unified resources need cgroup v2, and this container has no cgroup v2 directory',
        '',
      );
    }
    const v1Dir = (controller: string) => this.paths.v1[controller]!;
    const v2Dir = this.paths.unified?.directory ?? '';
    const memoryDir = this.paths.v1.memory;
    const blkioDir = this.paths.v1.blkio;

    // Everything is checked before anything changes. v2 is planned twice: the files that
    // decide its conversions (swap, BFQ) appear only once its controllers are enabled.
    // Those facts are read only for the controllers being set: a container with nothing
    // but device rules pays for no memory or blkio file.
    const v1Writes = planV1Writes(resources, v1Controllers, {
      memoryLimit: v1Controllers.has('memory')
        ? Number(readCgroupFile(`${memoryDir}/memory.limit_in_bytes`).trim())
        : Number.POSITIVE_INFINITY,
      swapAccounting: v1Controllers.has('memory') && existsSync(`${memoryDir}/memory.memsw.limit_in_bytes`),
      blkioWeightFile:
        !v1Controllers.has('blkio') || existsSync(`${blkioDir}/blkio.weight`)
          ? 'blkio.weight'
          : 'blkio.bfq.weight',
    });
    planV2Writes(resources, v2Controllers, { swapFile: true, bfq: false });
    const devices =
      resources.devices && v2Controllers.has('devices')
        ? encodeBpfProgram(deviceProgram(deviceRulesPolicy(resources.devices)))
        : null;

    const v2Needed = v2ControllersFor(resources, v2Controllers);
    if (this.paths.unified && v2Needed.size > 0) enableV2Controllers(this.paths.unified, [...v2Needed]);
    const v2Writes = planV2Writes(resources, v2Controllers, {
      swapFile: v2Controllers.has('memory') && existsSync(`${v2Dir}/memory.swap.max`),
      bfq: v2Controllers.has('blkio') && existsSync(`${v2Dir}/io.bfq.weight`),
    });
    this.checkMemoryUsage(resources, v1Controllers.has('memory') ? 'v1' : 'v2');

    writeCgroupFiles(
      v1Writes.map((write) => ({ file: `${v1Dir(write.controller!)}/${write.file}`, value: write.value })),
    );
    for (const write of v2Writes) writeCgroupFile(`${v2Dir}/${write.file}`, write.value);
    if (devices) this.attachDeviceProgram(devices);
    if (resources.freezer === 'frozen') await this.freeze();
    if (resources.freezer === 'thawed') await this.thaw();
  }

  /** memory.checkBeforeUpdate: a limit below what is in use now is refused, not reclaimed. */
  private checkMemoryUsage(resources: CgroupResources, version: 'v1' | 'v2'): void {
    const limit = resources.memory?.limit;
    if (!resources.memory?.checkBeforeUpdate || limit === undefined || limit === -1) return;
    const file =
      version === 'v1'
        ? `${this.paths.v1.memory}/memory.usage_in_bytes`
        : `${this.paths.unified?.directory}/memory.current`;
    const usage = Number(readCgroupFile(file).trim());
    if (limit < usage) {
      throw new CgroupError(`memory.limit ${limit} is below the ${usage} bytes in use (${file})`, file, {
        value: String(limit),
      });
    }
  }

  /**
   * Attaches the device program, then detaches the ones it replaces, so there is no
   * moment without a filter (while both are attached, both must allow).
   */
  private attachDeviceProgram(instructions: Uint8Array): void {
    const dir = this.paths.unified!.directory;
    const fail = (what: string, error: unknown) =>
      new CgroupError(`cannot ${what} the device program of ${dir}: ${(error as Error).message}`, dir, {
        cause: error,
      });
    let cgroupFd: number;
    try {
      cgroupFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (error) {
      throw new CgroupError(`cannot open ${dir}: ${systemCause(error)}`, dir, { cause: error });
    }
    try {
      let programFd: number;
      try {
        programFd = loadCgroupDeviceProgram({ instructions, license: 'Apache-2.0' });
      } catch (error) {
        throw fail('load', error);
      }
      try {
        const previous = queryCgroupDevicePrograms({ cgroupFd });
        attachCgroupDeviceProgram({ cgroupFd, programFd });
        for (const id of previous) {
          const oldFd = openBpfProgramById({ id });
          try {
            detachCgroupDeviceProgram({ cgroupFd, programFd: oldFd });
          } finally {
            closeSync(oldFd);
          }
        }
      } catch (error) {
        throw error instanceof CgroupError ? error : fail('attach', error);
      } finally {
        closeSync(programFd);
      }
    } finally {
      closeSync(cgroupFd);
    }
  }

  // -------------------------------------------------------------------------------------
  // Stats

  stats(): CgroupStats {
    const stats: CgroupStats = {};
    const { v1, unified } = this.paths;
    const v2Dir = unified?.directory;
    const memory = v1.memory ? memoryStatsV1(v1.memory) : v2Dir ? memoryStatsV2(v2Dir) : undefined;
    if (memory) stats.memory = memory;
    const cpu = v1.cpu || v1.cpuacct ? cpuStatsV1(v1.cpuacct, v1.cpu) : v2Dir ? cpuStatsV2(v2Dir) : undefined;
    if (cpu) stats.cpu = cpu;
    const pids = v1.pids ? pidsStats(v1.pids) : v2Dir ? pidsStats(v2Dir) : undefined;
    if (pids) stats.pids = pids;
    const blockIO = v1.blkio ? blockIOStatsV1(v1.blkio) : v2Dir ? blockIOStatsV2(v2Dir) : undefined;
    if (blockIO) stats.blockIO = blockIO;
    const hugetlb = v1.hugetlb ? hugetlbStatsV1(v1.hugetlb) : v2Dir ? hugetlbStatsV2(v2Dir) : undefined;
    if (hugetlb) stats.hugetlb = hugetlb;
    return stats;
  }

  // -------------------------------------------------------------------------------------
  // Freezer

  private freezer(): { version: 'v1' | 'v2'; dir: string } {
    if (this.paths.v1.freezer) return { version: 'v1', dir: this.paths.v1.freezer };
    if (this.paths.unified) return { version: 'v2', dir: this.paths.unified.directory };
    throw new CgroupError(
      "the container's cgroup has no freezer: no v1 freezer hierarchy and no cgroup v2",
      '',
    );
  }

  freezerState(): FreezerState {
    const { version, dir } = this.freezer();
    if (version === 'v1') {
      const state = readCgroupFile(`${dir}/freezer.state`).trim();
      if (state === 'FROZEN') return 'frozen';
      return state === 'FREEZING' ? 'freezing' : 'thawed';
    }
    const requested = readCgroupFile(`${dir}/cgroup.freeze`).trim() === '1';
    const eventsFile = `${dir}/cgroup.events`;
    const frozen = parseFlatKeyed(readCgroupFile(eventsFile), eventsFile).get('frozen') === 1;
    return frozen ? 'frozen' : requested ? 'freezing' : 'thawed';
  }

  /** Stops every process of the cgroup and waits until the kernel says all are stopped. */
  async freeze(options: WaitOptions = {}): Promise<void> {
    const { version, dir } = this.freezer();
    const file = version === 'v1' ? `${dir}/freezer.state` : `${dir}/cgroup.freeze`;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const fail = () =>
      new CgroupError(`${dir} did not freeze in time: it is still ${this.freezerState()}`, file, { value: 'frozen' });
    try {
      if (version === 'v2') {
        writeCgroupFile(file, '1');
        await waitUntil(() => this.freezerState() === 'frozen', timeoutMs, fail);
        return;
      }
      // The v1 freezer can stall in FREEZING while its tasks fork: writing FROZEN again moves
      // it on, and a thaw now and then gets a stuck one going (runc's freezer does both).
      const deadline = Date.now() + timeoutMs;
      for (let attempt = 1; ; attempt++) {
        if (attempt % 25 === 0) writeCgroupFile(file, 'THAWED');
        writeCgroupFile(file, 'FROZEN');
        if (this.freezerState() === 'frozen') return;
        if (Date.now() >= deadline) throw fail();
        await sleep(Math.min(attempt, 10));
      }
    } catch (error) {
      // Half-frozen helps nobody: let the processes run again.
      writeCgroupFile(file, version === 'v1' ? 'THAWED' : '0');
      throw error;
    }
  }

  async thaw(options: WaitOptions = {}): Promise<void> {
    const { version, dir } = this.freezer();
    const file = version === 'v1' ? `${dir}/freezer.state` : `${dir}/cgroup.freeze`;
    writeCgroupFile(file, version === 'v1' ? 'THAWED' : '0');
    await waitUntil(
      () => this.freezerState() === 'thawed',
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      () =>
        new CgroupError(`${dir} did not thaw in time: it is still ${this.freezerState()}`, file, {
          value: 'thawed',
        }),
    );
  }

  // -------------------------------------------------------------------------------------
  // Kill and destroy

  private populated(): boolean {
    return this.pids().length > 0;
  }

  /**
   * Signals every process of the cgroup (default SIGKILL) and, for SIGKILL, waits until
   * the cgroup is empty. v2 kills with cgroup.kill, which no fork escapes. Otherwise
   * the cgroup is frozen while each pid is signalled (nothing forks, no pid is reused),
   * then thawed, for a stopped process acts on no signal; repeated until empty.
   */
  async killAll(options: WaitOptions & { signal?: NodeJS.Signals | number } = {}): Promise<void> {
    const signal = options.signal ?? 'SIGKILL';
    const kill = signal === 'SIGKILL' || signal === 9;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const unified = this.paths.unified;
    if (kill && unified && existsSync(`${unified.directory}/cgroup.kill`)) {
      writeCgroupFile(`${unified.directory}/cgroup.kill`, '1');
    } else {
      const canFreeze = this.paths.v1.freezer !== undefined || unified !== null;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (canFreeze) await this.freeze({ timeoutMs: Math.max(0, deadline - Date.now()) });
        const pids = this.pids();
        for (const pid of pids) {
          try {
            process.kill(pid, signal);
          } catch (error) {
            if (errnoCode(error) !== 'ESRCH')
              throw new CgroupError(`cannot signal pid ${pid}: ${systemCause(error)}`, '', { cause: error });
          }
        }
        if (canFreeze) await this.thaw({ timeoutMs: Math.max(0, deadline - Date.now()) });
        if (!kill || pids.length === 0 || !this.populated() || Date.now() >= deadline) break;
        await sleep(5);
      }
    }
    if (kill) {
      await waitUntil(
        () => !this.populated(),
        timeoutMs,
        () =>
          new CgroupError(
            `processes ${this.pids().join(', ')} are still in the cgroup after SIGKILL`,
            this.directories()[0] ?? '',
          ),
      );
    }
  }

  /**
   * Removes the directories this manager created, deepest first, retrying while the
   * kernel still counts exiting processes in them. Pre-existing parents stay. Kill the
   * processes first (killAll); a cgroup that stays populated fails with their pids.
   */
  async destroy(options: WaitOptions = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    for (const dir of [...this.paths.created].reverse()) await this.removeTree(dir, deadline);
  }

  /**
   * Removes a cgroup this manager made, and every cgroup below it: a container with a
   * writable cgroup namespace may make sub-cgroups of its own, and those are inside ours.
   * They are looked for only when the kernel refuses the removal (listing a cgroup costs
   * more than removing it).
   */
  private async removeTree(dir: string, deadline: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        return;
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ENOENT') return;
        if (code === 'EBUSY' && attempt === 0) {
          const children = this.childCgroups(dir);
          for (const child of children) await this.removeTree(child, deadline);
          if (children.length > 0) continue;
        }
        if (code !== 'EBUSY' || Date.now() >= deadline) {
          const inside = code === 'EBUSY' ? this.pidsIn(dir) : [];
          const why = inside.length > 0 ? ` (processes ${inside.join(', ')} are still inside)` : '';
          throw new CgroupError(`cannot remove ${dir}: ${systemCause(error)}${why}`, dir, { cause: error });
        }
        await pauseBeforeRetry(attempt);
      }
    }
  }

  private childCgroups(dir: string): string[] {
    try {
      return readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => `${dir}/${entry.name}`);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw new CgroupError(`cannot list ${dir}: ${systemCause(error)}`, dir, { cause: error });
    }
  }

  private pidsIn(dir: string): number[] {
    const file = `${dir}/cgroup.procs`;
    const text = readOptionalCgroupFile(file);
    return text === undefined ? [] : parsePids(text, file);
  }
}
