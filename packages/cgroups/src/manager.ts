// A container's cgroup on v1, v2 and hybrid hosts: create, apply, set, stats, freeze,
// kill, destroy. The v1 manager (v1/manager.ts) and the v2 manager (v2/manager.ts) do
// the files of their version; a hybrid host composes both, and which one serves a
// controller is decided in one place (`versionFor`). The manager keeps nothing a second
// process could not get back from `paths`, which state.json records (see loadCgroupManager).
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { systemErrorCode } from '@nsinit/native';
import { CgroupError, systemCause } from './errors.js';
import { parsePids, readOptionalCgroupFile } from './files.js';
import type { CgroupMode } from './layout.js';
import { type CgroupManagerOptions, type CgroupPaths, type CgroupPlacement, planFor } from './placement.js';
import { type CgroupResources, controllersFor, type ResourceController } from './resources.js';
import { type CgroupStats, STATS_CONTROLLERS } from './stats.js';
import { inheritCpuset, V1Manager } from './v1/manager.js';
import { V2Manager } from './v2/manager.js';
import { v2ControllerName } from './v2/plan.js';
import {
  DEFAULT_TIMEOUT_MS,
  type FreezerState,
  type VersionManager,
  type WaitOptions,
  waitUntil,
} from './version.js';

/** A container's cgroup, whatever the host's cgroup version. */
export interface CgroupManager {
  /** Where the cgroup is (plain JSON): loadCgroupManager(paths) in another process gets it back. */
  readonly paths: CgroupPaths;
  /** 'v1', 'v2' or 'hybrid', by where this container's cgroup lives. */
  readonly mode: CgroupMode;
  /**
   * Moves a process (and its threads) into the cgroup in every hierarchy. Retries
   * briefly on EINVAL, which the kernel returns for a process still being forked.
   */
  apply(pid: number): Promise<void>;
  /**
   * v2: an O_PATH directory fd of the cgroup for clone3's CLONE_INTO_CGROUP (the addon's
   * `spawn({ cgroupFd })`), so the child is born inside it. The caller closes it. On a
   * hybrid host the v1 hierarchies still need apply(pid). null on a v1-only host.
   */
  cgroupFdForClone(): number | null;
  /** The pids in the cgroup and in the cgroups below it, in every hierarchy, once each. */
  pids(): number[];
  /**
   * Applies resources. Every value is checked before the first file is written, so bad
   * input changes nothing; a value the kernel refuses fails with the file and the value.
   */
  set(resources: CgroupResources): Promise<void>;
  stats(): CgroupStats;
  /**
   * How many processes the kernel's OOM killer has killed in the cgroup (v1
   * memory.oom_control, v2 memory.events `oom_kill`); null where the container's cgroup
   * has no memory controller. Read it before and after a step to tell whether the step
   * ended in an OOM kill.
   */
  oomKills(): number | null;
  freezerState(): FreezerState;
  /** Stops every process of the cgroup and waits until the kernel says all are stopped. */
  freeze(options?: WaitOptions): Promise<void>;
  thaw(options?: WaitOptions): Promise<void>;
  /**
   * Signals every process of the cgroup and of the cgroups below it (default SIGKILL) and,
   * for SIGKILL, waits until they are gone. v2 kills with cgroup.kill, which no fork escapes.
   * Otherwise the cgroup is frozen while each pid is signalled (nothing forks, no pid is
   * reused), then thawed, for a stopped process acts on no signal; repeated until empty.
   */
  killAll(options?: WaitOptions & { signal?: NodeJS.Signals | number }): Promise<void>;
  /**
   * Removes the directories this manager created and any cgroup made below them, deepest
   * first, retrying while the kernel still counts exiting processes. Pre-existing parents
   * stay. Kill the processes first (killAll); a cgroup that stays populated fails with their pids.
   */
  destroy(options?: WaitOptions): Promise<void>;
}

class VersionRoutingManager implements CgroupManager {
  private readonly v1: V1Manager | null;
  private readonly v2: V2Manager | null;
  private readonly versions: VersionManager[];

  constructor(readonly paths: CgroupPaths) {
    this.v1 = Object.keys(paths.v1).length > 0 ? new V1Manager(paths.v1) : null;
    this.v2 = paths.unified ? new V2Manager(paths.unified) : null;
    this.versions = [this.v1, this.v2].filter((version) => version !== null);
  }

  get mode(): CgroupMode {
    return this.v1 ? (this.v2 ? 'hybrid' : 'v1') : 'v2';
  }

  /**
   * The version that holds one of these controllers for the container: a joined v1
   * hierarchy first, else cgroup v2 (whose core files serve some groups without a
   * controller: cpu.stat, cgroup.freeze); null on a v1 host without them.
   */
  private versionFor(...controllers: readonly string[]): VersionManager | null {
    if (this.v1 && controllers.some((controller) => this.v1!.has(controller))) return this.v1;
    return this.v2;
  }

  private freezer(): VersionManager {
    const version = this.versionFor('freezer');
    if (version === null) {
      throw new CgroupError(
        "the container's cgroup has no freezer: no v1 freezer hierarchy and no cgroup v2",
        '',
      );
    }
    return version;
  }

  async apply(pid: number): Promise<void> {
    if (!Number.isSafeInteger(pid) || pid <= 0)
      throw new CgroupError(`pid ${pid} is not a process id`, '', { value: String(pid) });
    for (const version of this.versions) await version.apply(pid);
  }

  cgroupFdForClone(): number | null {
    return this.v2?.openForClone() ?? null;
  }

  pids(): number[] {
    const pids = new Set<number>();
    for (const version of this.versions) version.collectPids(pids);
    return [...pids].sort((a, b) => a - b);
  }

  async set(resources: CgroupResources): Promise<void> {
    const forV1 = new Set<ResourceController>();
    const forV2 = new Set<ResourceController>();
    for (const controller of controllersFor(resources)) {
      const version = this.versionFor(controller);
      if (version === null || !version.has(controller)) {
        const where = this.v2
          ? `no v1 ${controller} hierarchy and no ${v2ControllerName(controller)} controller in cgroup v2`
          : `no v1 ${controller} hierarchy`;
        throw new CgroupError(`the container's cgroup has no ${controller} controller: ${where}`, '', {
          value: controller,
        });
      }
      (version === this.v1 ? forV1 : forV2).add(controller);
    }
    if (resources.unified && Object.keys(resources.unified).length > 0 && !this.v2) {
      throw new CgroupError(
        'unified resources need cgroup v2, and this container has no cgroup v2 directory',
        '',
      );
    }
    const writeV1 = this.v1?.prepareSet(resources, forV1);
    const writeV2 = this.v2?.prepareSet(resources, forV2);
    writeV1?.();
    writeV2?.();
  }

  stats(): CgroupStats {
    const readers = (group: keyof CgroupStats) => this.versionFor(...STATS_CONTROLLERS[group])?.stats;
    const stats: CgroupStats = {};
    const memory = readers('memory')?.memory();
    if (memory) stats.memory = memory;
    const cpu = readers('cpu')?.cpu();
    if (cpu) stats.cpu = cpu;
    const pids = readers('pids')?.pids();
    if (pids) stats.pids = pids;
    const blockIO = readers('blockIO')?.blockIO();
    if (blockIO) stats.blockIO = blockIO;
    const hugetlb = readers('hugetlb')?.hugetlb();
    if (hugetlb) stats.hugetlb = hugetlb;
    return stats;
  }

  oomKills(): number | null {
    return this.versionFor('memory')?.oomKills() ?? null;
  }

  freezerState(): FreezerState {
    return this.freezer().freezerState();
  }

  async freeze(options: WaitOptions = {}): Promise<void> {
    await this.freezer().freeze(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  async thaw(options: WaitOptions = {}): Promise<void> {
    await this.freezer().thaw(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  private populated(): boolean {
    return this.versions.some((version) => version.populated());
  }

  async killAll(options: WaitOptions & { signal?: NodeJS.Signals | number } = {}): Promise<void> {
    const signal = options.signal ?? 'SIGKILL';
    const kill = signal === 'SIGKILL' || signal === 9;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!kill || !this.v2?.kill()) await this.signalEachFrozen(signal, kill, timeoutMs);
    if (kill) {
      await waitUntil(
        () => !this.populated(),
        timeoutMs,
        () =>
          new CgroupError(
            `processes ${this.pids().join(', ')} are still in the cgroup after SIGKILL`,
            this.versions[0]?.directories[0] ?? '',
          ),
      );
    }
  }

  /** Signals each pid while the cgroup is frozen (when it has a freezer); for SIGKILL until none is left. */
  private async signalEachFrozen(
    signal: NodeJS.Signals | number,
    kill: boolean,
    timeoutMs: number,
  ): Promise<void> {
    const freezer = this.versionFor('freezer');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await freezer?.freeze(Math.max(0, deadline - Date.now()));
      const pids = this.pids();
      for (const pid of pids) {
        try {
          process.kill(pid, signal);
        } catch (error) {
          if (systemErrorCode(error) !== 'ESRCH')
            throw new CgroupError(`cannot signal pid ${pid}: ${systemCause(error)}`, '', { cause: error });
        }
      }
      await freezer?.thaw(Math.max(0, deadline - Date.now()));
      if (!kill || pids.length === 0 || !this.populated() || Date.now() >= deadline) return;
      await sleep(5);
    }
  }

  async destroy(options: WaitOptions = {}): Promise<void> {
    await removeCreated(this.paths, Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  }
}

/**
 * Creates the container's cgroup in every joined v1 hierarchy and in the unified one,
 * where planCgroupPaths(options) places it. A cgroup that already exists is refused (it
 * is not this container's); on any failure what was made is removed again.
 */
export async function createCgroupManager(options: CgroupManagerOptions): Promise<CgroupManager> {
  const plan = planFor(options);
  const paths: CgroupPaths = { v1: {}, unified: null, created: [] };
  try {
    make(plan, paths);
  } catch (error) {
    try {
      await removeCreated(paths, Date.now() + 1000);
    } catch (cleanup) {
      throw new CgroupError(
        `${(error as Error).message}; removing what was made failed too: ${(cleanup as Error).message}`,
        '',
        { cause: error },
      );
    }
    throw error;
  }
  return new VersionRoutingManager(paths);
}

/** Makes the planned directories, recording each in `paths` as it is made. */
function make(plan: CgroupPlacement, paths: CgroupPaths): void {
  for (const { mountPoint, directory, controllers } of plan.v1) {
    const made = makeCgroupDirectory(mountPoint, directory, paths.created);
    for (const controller of controllers) paths.v1[controller] = directory;
    if (controllers.includes('cpuset')) for (const dir of made) inheritCpuset(dir);
  }
  if (plan.unified === null) return;
  makeCgroupDirectory(plan.unified.mountPoint, plan.unified.directory, paths.created);
  paths.unified = { ...plan.unified };
  const v2 = new V2Manager(paths.unified);
  const { names, required } = plan.v2Controllers;
  if (required) {
    v2.enableControllers(names);
    return;
  }
  // By default only what the host offers, and only if it can be had: a parent that
  // holds processes of its own cannot hand controllers down (set() then says so).
  const offered = v2.offeredControllers();
  try {
    v2.enableControllers(names.filter((name) => offered.has(name)));
  } catch (error) {
    if (!(error instanceof CgroupError)) throw error;
  }
}

function cannotCreate(directory: string, error: unknown): CgroupError {
  const why =
    systemErrorCode(error) === 'EEXIST'
      ? 'it already exists and is not this container’s'
      : systemCause(error);
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
    if (systemErrorCode(error) !== 'ENOENT') throw cannotCreate(directory, error);
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
      if (systemErrorCode(error) === 'EEXIST' && !leaf) continue;
      throw cannotCreate(current, error);
    }
    created.push(current);
    made.push(current);
  }
  return made;
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

/** The container's own cgroups: the leaves of its paths (the rest of `created` are parents made on the way). */
export function cgroupLeaves(paths: Pick<CgroupPaths, 'v1' | 'unified'>): Set<string> {
  return new Set([...Object.values(paths.v1), ...(paths.unified ? [paths.unified.directory] : [])]);
}

/**
 * Removes the directories a manager created (whatever their version), deepest first: the
 * container's own cgroups with whatever it made below them; a parent made on the way only if
 * it is empty — another container (of this runtime or of another) may live in it by now, and
 * its cgroups are never ours to remove.
 */
async function removeCreated(paths: CgroupPaths, deadline: number): Promise<void> {
  const leaves = cgroupLeaves(paths);
  for (const dir of [...paths.created].reverse()) {
    if (leaves.has(dir)) await removeTree(dir, deadline);
    else removeCgroupIfEmpty(dir);
  }
}

/** rmdir of a cgroup that may hold another's: gone, or left alone when it is not empty. */
export function removeCgroupIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch (error) {
    const code = systemErrorCode(error);
    if (code !== 'ENOENT' && code !== 'EBUSY' && code !== 'ENOTEMPTY')
      throw new CgroupError(`cannot remove ${dir}: ${systemCause(error)}`, dir, { cause: error });
  }
}

/**
 * Removes a cgroup a manager made, and every cgroup below it: a container with a
 * writable cgroup namespace may make sub-cgroups of its own, and those are inside ours.
 * They are looked for only when the kernel refuses the removal (listing a cgroup costs
 * more than removing it).
 */
async function removeTree(dir: string, deadline: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = systemErrorCode(error);
      if (code === 'ENOENT') return;
      if (code === 'EBUSY' && attempt === 0) {
        const children = childCgroups(dir);
        for (const child of children) await removeTree(child, deadline);
        if (children.length > 0) continue;
      }
      if (code !== 'EBUSY' || Date.now() >= deadline) {
        const inside = code === 'EBUSY' ? pidsIn(dir) : [];
        const why = inside.length > 0 ? ` (processes ${inside.join(', ')} are still inside)` : '';
        throw new CgroupError(`cannot remove ${dir}: ${systemCause(error)}${why}`, dir, { cause: error });
      }
      await pauseBeforeRetry(attempt);
    }
  }
}

function childCgroups(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${dir}/${entry.name}`);
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return [];
    throw new CgroupError(`cannot list ${dir}: ${systemCause(error)}`, dir, { cause: error });
  }
}

function pidsIn(dir: string): number[] {
  const file = `${dir}/cgroup.procs`;
  const text = readOptionalCgroupFile(file);
  return text === undefined ? [] : parsePids(text, file);
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
  return new VersionRoutingManager({
    v1: { ...paths.v1! },
    unified: unified ? { directory: unified.directory, mountPoint: unified.mountPoint } : null,
    created: [...paths.created!],
  });
}
