// A container held by id: what its state.json records (the init's pid and start time, its
// cgroup, its networks) is all a later call — in this process or another — needs to read it,
// pause it, signal it and remove it. The shape is runc's Load: find the directory, read the
// state, check the init is still the process that was recorded, rebuild the cgroup manager
// from the recorded paths.
//
// run()'s handle shares the cgroup verbs (CgroupVerbs) and, at process exit, the synchronous
// ending (endContainerSync).
import {
  closeSync,
  existsSync,
  constants as fs,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CgroupManager,
  type CgroupPaths,
  type CgroupStats,
  cgroupLeaves,
  loadCgroupManager,
  removeCgroupIfEmpty,
  resourcesFromOci,
} from '@nsinit/cgroups';
import type { DeepReadonly, OciProcess, OciResources } from '@nsinit/config';
import { pidfdSendSignal, systemErrorCode } from '@nsinit/native';
import { type HostNamespace, type NetworkRecord, removeNetworks } from '@nsinit/network';
import {
  type ContainerDir,
  ContainerLockedError,
  ContainerNotFoundError,
  type ContainerState,
  isSameProcess,
  loadContainerDir,
  parseProcStat,
} from '@nsinit/state';
import { type ExecProcessFor, type ExecProcessOptions, execInContainer } from './exec-process.js';
import type { StdioSpec } from './run.js';

export type ContainerErrorCode =
  /** The verb needs a running container and its init has exited. */
  | 'ERR_NSINIT_CONTAINER_NOT_RUNNING'
  /** state.json records no cgroup (written by an nsinit before every container had one). */
  | 'ERR_NSINIT_CONTAINER_NO_CGROUP'
  /** Another holder (the process that started it) still owns the container and did not remove it in time. */
  | 'ERR_NSINIT_CONTAINER_BUSY'
  /** Part of the container could not be removed; what is left stays recorded in state.json. */
  | 'ERR_NSINIT_CONTAINER_CLEANUP'
  /** start: the container is not waiting for start (started already, stopped, or still being created). */
  | 'ERR_NSINIT_CONTAINER_NOT_CREATED'
  /** delete without force: the container still runs. */
  | 'ERR_NSINIT_CONTAINER_NOT_STOPPED'
  /** exec: the container is paused (its processes are frozen; the new one would be too). */
  | 'ERR_NSINIT_CONTAINER_PAUSED';

/** A verb on a container failed; `id` names the container. */
export class ContainerError extends Error {
  constructor(
    readonly code: ContainerErrorCode,
    readonly id: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ContainerError';
  }
}

/**
 * The runtime-spec's statuses, computed from disk and the kernel alone: `creating` while a
 * runtime is making it (state.json says so and the maker or the init lives), `created` while
 * its init waits for start (the exec FIFO exists), `running` once it was started, `paused`
 * with its cgroup frozen, `stopped` once the recorded init is gone.
 */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** What state.json records, and what the container is doing now. */
export interface ContainerInfo extends ContainerState {
  status: ContainerStatus;
}

/** How state.json records the networks (run() writes `{ records, hostNetns? }`). */
interface NetworkEntry {
  records: NetworkRecord[];
  hostNetns?: HostNamespace;
}

function recordedNetworks(state: ContainerState): NetworkEntry | null {
  const entry = state.network as Partial<NetworkEntry> | undefined;
  if (!entry || !Array.isArray(entry.records) || entry.records.length === 0) return null;
  return { records: entry.records, ...(entry.hostNetns ? { hostNetns: entry.hostNetns } : {}) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A signal name or number; numbers pass through unchanged. */
export function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') return signal;
  const number = constants.signals[signal];
  if (number === undefined) throw new TypeError(`unknown signal ${signal}`);
  return number;
}

/**
 * Signals the recorded init only if it is still that process: /proc/<pid> is opened first (a
 * pidfd for pidfd_send_signal, pinned to that one process), its start time read through it and
 * compared, and the signal sent through the same fd — a pid reused in between cannot be hit.
 * False when the init is gone (or a zombie).
 */
export function signalRecordedProcess(pid: number, startTime: string, signal: number): boolean {
  let pidfd: number;
  try {
    pidfd = openSync(`/proc/${pid}`, fs.O_RDONLY | fs.O_DIRECTORY);
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return false;
    throw error;
  }
  try {
    let stat: ReturnType<typeof parseProcStat>;
    try {
      stat = parseProcStat(readFileSync(`/proc/self/fd/${pidfd}/stat`, 'utf8'));
    } catch (error) {
      // The process behind the fd was reaped while we looked.
      if (systemErrorCode(error) === 'ESRCH' || systemErrorCode(error) === 'ENOENT') return false;
      throw error;
    }
    if (stat.startTime !== startTime || stat.state === 'Z' || stat.state === 'X') return false;
    return pidfdSendSignal({ pidfd, signal });
  } finally {
    closeSync(pidfd);
  }
}

function cgroupDirectories(paths: CgroupPaths): string[] {
  const dirs = new Set(Object.values(paths.v1));
  if (paths.unified) dirs.add(paths.unified.directory);
  return [...dirs];
}

/**
 * stats, pause and resume on a container's cgroup: one implementation for run()'s handle and
 * loadContainer()'s. `recorded` gives state.json's cgroupPaths (read once, on first use, so a
 * container nobody asks about costs nothing); `running` whether the init still runs.
 */
export class CgroupVerbs {
  #manager: CgroupManager | undefined;

  constructor(
    private readonly id: string,
    private readonly recorded: () => unknown,
    private readonly running: () => boolean,
  ) {}

  /** The container's cgroup manager, from the recorded paths. */
  manager(): CgroupManager {
    if (this.#manager) return this.#manager;
    const paths = this.recorded();
    if (paths === undefined || paths === null) {
      throw new ContainerError(
        'ERR_NSINIT_CONTAINER_NO_CGROUP',
        this.id,
        `container "${this.id}" has no cgroup recorded in its state.json (an older nsinit started it); stop and start it again`,
      );
    }
    this.#manager = loadCgroupManager(paths);
    return this.#manager;
  }

  requireRunning(verb: string): CgroupManager {
    if (!this.running()) {
      throw new ContainerError(
        'ERR_NSINIT_CONTAINER_NOT_RUNNING',
        this.id,
        `cannot ${verb} container "${this.id}": it is not running`,
      );
    }
    return this.manager();
  }

  /** Resource usage of the container's cgroup: memory, cpu, pids, block I/O, hugetlb. */
  stats(): CgroupStats {
    return this.requireRunning('read the stats of').stats();
  }

  /** Freezes every process of the container; resolves once the kernel says they are all stopped. */
  async pause(): Promise<void> {
    await this.requireRunning('pause').freeze();
  }

  /** Thaws a paused container. */
  async resume(): Promise<void> {
    await this.requireRunning('resume').thaw();
  }

  /** True when the container's cgroup is frozen (or freezing); false when it cannot tell. */
  frozen(): boolean {
    try {
      return this.manager().freezerState() !== 'thawed';
    } catch {
      return false;
    }
  }

  /**
   * After a SIGKILL: a process stopped by the v1 freezer acts on no signal, not even SIGKILL,
   * until it is thawed (runc thaws a paused container it kills, for the same reason).
   */
  thawIfFrozen(): void {
    if (this.frozen())
      this.manager()
        .thaw()
        .catch(() => {});
  }
}

/**
 * Kills every process of the cgroup: a container without a pid namespace of its own keeps its
 * other processes when its init dies (only the init gets the parent-death signal). The
 * cgroup's directories may be gone already (a cleanup that got that far).
 */
async function killEveryProcess(manager: CgroupManager): Promise<void> {
  // Removed, by this call's owner or another: the kernel removes only an empty cgroup.
  const removed = () => !cgroupDirectories(manager.paths).every((dir) => existsSync(dir));
  try {
    if (removed() || manager.pids().length === 0) return;
    await manager.killAll();
  } catch (error) {
    // The init's death made its owner clean up under us.
    if (!removed()) throw error;
  }
}

/** What is left of a container after an ending that could not remove everything. */
function recordLeftovers(
  dir: ContainerDir,
  state: ContainerState,
  left: { cgroup: boolean; network: boolean },
): void {
  const { cgroupPaths, network, ...rest } = state;
  dir.writeState({
    ...rest,
    ...(left.cgroup && cgroupPaths ? { cgroupPaths } : {}),
    ...(left.network && network ? { network } : {}),
  });
}

/** A container found by id in a state root; see loadContainer(). */
export class LoadedContainer {
  readonly id: string;
  /** The state root it was found in. */
  readonly root: string;
  /** Its state directory (pid file, state.json). */
  readonly stateDir: string;
  /** The init's pid in this process's pid namespace, as recorded. */
  readonly pid: number;
  readonly #pidStartTime: string;
  readonly #dir: ContainerDir;
  readonly #cgroup: CgroupVerbs;
  #state: ContainerState;

  /** @internal Use loadContainer(). */
  constructor(dir: ContainerDir, state: ContainerState) {
    this.#dir = dir;
    this.#state = state;
    this.id = dir.id;
    this.root = dir.root;
    this.stateDir = dir.path;
    this.pid = state.pid;
    this.#pidStartTime = state.pidStartTime;
    this.#cgroup = new CgroupVerbs(
      this.id,
      () => this.#state.cgroupPaths,
      () => this.running,
    );
  }

  /** True while the recorded init is alive (the same process: its start time is checked). */
  get running(): boolean {
    return this.#state.pid !== 0 && isSameProcess(this.#state.pid, this.#state.pidStartTime);
  }

  /** state.json as it is now, with the container's status. */
  state(): ContainerInfo {
    this.#state = this.#dir.readState();
    return { ...this.#state, status: this.#status() };
  }

  #status(): ContainerStatus {
    const state = this.#state;
    if (state.pid === 0) return this.#dir.heldByAnother() ? 'creating' : 'stopped';
    if (!this.running) return 'stopped';
    if (state.phase === 'creating') return 'creating';
    if (this.#dir.hasExecFifo()) return 'created';
    return this.#cgroup.frozen() ? 'paused' : 'running';
  }

  /**
   * Lets a created container exec its command (its init waits on the exec FIFO). Throws
   * ContainerError `ERR_NSINIT_CONTAINER_NOT_CREATED` when it is not waiting: started already,
   * stopped, or still being created.
   */
  start(): void {
    this.#state = this.#dir.readState();
    if (this.#state.phase === 'creating' && this.running) {
      throw new ContainerError(
        'ERR_NSINIT_CONTAINER_NOT_CREATED',
        this.id,
        `cannot start container "${this.id}": it is still being created`,
      );
    }
    startCreated(this.root, this.id, () => this.running);
  }

  /** The pids of every process in the container's cgroup, in this process's pid namespace. */
  ps(): number[] {
    if (!this.running) return [];
    return this.#cgroup.manager().pids();
  }

  /**
   * Changes the container's resources (runtime-spec `linux.resources`; devices are not
   * changed). Only the fields given are written.
   */
  async update(resources: DeepReadonly<OciResources>): Promise<void> {
    const converted = resourcesFromOci(resources);
    const { devices: _devices, ...rest } = converted;
    await this.#cgroup.requireRunning('update').set(rest);
  }

  /**
   * Its events, as runc's `events` streams them: an `oom` event each time the kernel's OOM
   * killer strikes in its cgroup, and its stats every `intervalMs` (default 5 s); ends when
   * the container stops (or `signal` aborts).
   */
  async *events(options: { intervalMs?: number; signal?: AbortSignal } = {}): AsyncGenerator<ContainerEvent> {
    const intervalMs = options.intervalMs ?? 5000;
    const manager = this.#cgroup.requireRunning('read the events of');
    let ooms = manager.oomKills() ?? 0;
    let nextStats = Date.now();
    while (this.running && !options.signal?.aborted) {
      const now = Date.now();
      const count = manager.oomKills() ?? 0;
      for (; ooms < count; ooms++) yield { type: 'oom', id: this.id };
      if (now >= nextStats) {
        yield { type: 'stats', id: this.id, data: manager.stats() };
        nextStats = now + intervalMs;
      }
      await sleep(Math.min(OOM_POLL_MS, Math.max(1, nextStats - Date.now())), undefined, {
        ...(options.signal ? { signal: options.signal } : {}),
      }).catch(() => {});
    }
  }

  /**
   * Starts a process inside the running container, as runc's `exec`: every namespace of its
   * init, its cgroup, then the process's own settings. See ExecProcessOptions.
   */
  exec<const S extends StdioSpec = StdioSpec>(
    process: DeepReadonly<OciProcess>,
    options: ExecProcessOptions<S> = {},
  ): Promise<ExecProcessFor<S>> {
    this.#state = this.#dir.readState();
    const status = this.#status();
    if (status === 'stopped' || status === 'creating') {
      throw new ContainerError(
        'ERR_NSINIT_CONTAINER_NOT_RUNNING',
        this.id,
        `cannot exec in container "${this.id}": it is ${status}`,
      );
    }
    if (status === 'paused' && !options.ignorePaused) {
      throw new ContainerError(
        'ERR_NSINIT_CONTAINER_PAUSED',
        this.id,
        `cannot exec in container "${this.id}": it is paused (resume it first, or ignorePaused)`,
      );
    }
    return execInContainer(
      {
        id: this.id,
        pid: this.#state.pid,
        pidStartTime: this.#state.pidStartTime,
        cgroup: this.#cgroup.manager(),
      },
      process,
      options,
    );
  }

  /**
   * delete: removes a stopped (or created) container, as destroy(). Without `force`, one that
   * runs, is paused or is being created is refused (ContainerError `ERR_NSINIT_CONTAINER_NOT_STOPPED`).
   */
  async delete(options: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    try {
      this.#state = this.#dir.readState();
    } catch (error) {
      if (error instanceof ContainerNotFoundError) return;
      throw error;
    }
    const status = this.#status();
    if (!options.force && status !== 'stopped' && status !== 'created') {
      throw new ContainerError(
        'ERR_NSINIT_CONTAINER_NOT_STOPPED',
        this.id,
        `cannot delete container "${this.id}" that is not stopped: ${status} (kill it first, or delete --force)`,
      );
    }
    await this.destroy(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
  }

  stats(): CgroupStats {
    return this.#cgroup.stats();
  }

  pause(): Promise<void> {
    return this.#cgroup.pause();
  }

  resume(): Promise<void> {
    return this.#cgroup.resume();
  }

  /**
   * Sends a signal to the init, through a pidfd checked against the recorded start time;
   * false when the init has exited. SIGKILL ends the container: every other process in its
   * cgroup is killed too (a container without a pid namespace of its own would keep them),
   * and a paused container is thawed so that it can die.
   */
  async kill(signal: NodeJS.Signals | number = 'SIGKILL', options: { all?: boolean } = {}): Promise<boolean> {
    const number = signalNumber(signal);
    if (this.pid === 0) return false;
    const sent = signalRecordedProcess(this.pid, this.#pidStartTime, number);
    if (options.all && sent && number !== constants.signals.SIGKILL && this.#state.cgroupPaths) {
      // Every process of the cgroup, each signalled while it is frozen (nothing forks meanwhile).
      await this.#cgroup.manager().killAll({ signal: number });
    }
    if (number === constants.signals.SIGKILL && this.#state.cgroupPaths) {
      // Thawed first: killAll waits for the cgroup to empty, and a frozen process never leaves.
      this.#cgroup.thawIfFrozen();
      await killEveryProcess(this.#cgroup.manager());
    }
    return sent;
  }

  /**
   * Ends the container and removes what it left: kills every process of it (a paused one
   * too), then its networks, its cgroup and its state directory. When the process that
   * started it still holds it (run() in a live process), that owner removes it once it sees
   * the exit, and destroy() waits for that. What cannot be removed stays recorded in
   * state.json (ContainerError `ERR_NSINIT_CONTAINER_CLEANUP`), and a later destroy() retries.
   */
  async destroy(options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    try {
      // Networks are recorded after the start: what the handle read may predate them.
      this.#state = this.#dir.readState();
    } catch (error) {
      if (error instanceof ContainerNotFoundError) return; // removed already
      throw error;
    }
    const manager = this.#state.cgroupPaths ? this.#cgroup.manager() : null;
    if (this.pid !== 0) signalRecordedProcess(this.pid, this.#pidStartTime, constants.signals.SIGKILL);
    if (manager) {
      this.#cgroup.thawIfFrozen();
      await killEveryProcess(manager);
    }
    while (this.running) {
      if (Date.now() >= deadline) {
        throw new ContainerError(
          'ERR_NSINIT_CONTAINER_BUSY',
          this.id,
          `container "${this.id}": its init (pid ${this.pid}) did not die of SIGKILL in time`,
        );
      }
      await sleep(2);
    }

    try {
      this.#dir.lock();
    } catch (error) {
      if (error instanceof ContainerNotFoundError) return; // its owner has removed it already
      if (!(error instanceof ContainerLockedError)) throw error;
      // Its owner (the process whose run() started it) is alive and cleans up after the exit.
      while (existsSync(this.stateDir)) {
        if (Date.now() >= deadline) {
          throw new ContainerError(
            'ERR_NSINIT_CONTAINER_BUSY',
            this.id,
            `container "${this.id}" has exited but the process that started it still holds ${this.stateDir} and has not removed it; try again once that process ends`,
            { cause: error },
          );
        }
        await sleep(5);
      }
      return;
    }

    const failures: string[] = [];
    const left = { cgroup: false, network: false };
    const networks = recordedNetworks(this.#state);
    if (networks) {
      try {
        removeNetworks(networks.records, networks.hostNetns ? { hostNetns: networks.hostNetns } : {});
      } catch (error) {
        left.network = true;
        failures.push(messageOf(error));
      }
    }
    if (manager) {
      try {
        await manager.destroy({ timeoutMs: Math.max(0, deadline - Date.now()) });
      } catch (error) {
        left.cgroup = true;
        failures.push(messageOf(error));
      }
    }
    if (failures.length > 0) {
      recordLeftovers(this.#dir, this.#state, left);
      this.#dir.unlock();
      throw new ContainerError(
        'ERR_NSINIT_CONTAINER_CLEANUP',
        this.id,
        `container "${this.id}" is stopped but not all of it could be removed: ${failures.join('; ')}; what is left stays recorded in ${this.#dir.stateFilePath} for a later destroy()`,
      );
    }
    this.#dir.remove();
  }
}

/**
 * The container `id` in the state root `root` (run()'s `stateRoot`, by default /run/nsinit),
 * from its state.json. Nothing is created: an unknown id or root fails with
 * ContainerNotFoundError (`ERR_NSINIT_STATE_NOT_FOUND`), an invalid id with InvalidIdError.
 * The handle reads the state when it is made; `state()` reads it again.
 */
export function loadContainer(root: string, id: string): LoadedContainer {
  const dir = loadContainerDir(root, id);
  return new LoadedContainer(dir, dir.readState());
}

/** An `oom` event each time the OOM killer strikes in the container's cgroup, or its stats. */
export type ContainerEvent = { type: 'oom'; id: string } | { type: 'stats'; id: string; data: CgroupStats };

/** How often events() looks for OOM kills between two stats. */
const OOM_POLL_MS = 200;

/**
 * start from anywhere: one byte into the exec FIFO of container `id` lets its init exec the
 * command. Under the container's lock when it can be had (two starts cannot both write); the
 * process that created it in-process may hold it, and its start is as good.
 */
export function startCreated(root: string, id: string, alive: () => boolean): void {
  const dir = loadContainerDir(root, id);
  let locked = false;
  try {
    dir.lock();
    locked = true;
  } catch (error) {
    if (!(error instanceof ContainerLockedError)) throw error;
  }
  try {
    if (!alive() || !dir.releaseExecFifo()) {
      throw new ContainerError(
        'ERR_NSINIT_CONTAINER_NOT_CREATED',
        id,
        alive()
          ? `cannot start container "${id}": it was started already`
          : `cannot start container "${id}": it has stopped`,
      );
    }
  } finally {
    if (locked) dir.unlock();
  }
}

/**
 * delete (runc's): container `id` removed from `root` — stopped or created ones always, any
 * with `force` (killed first). A directory a runtime left half-made (no state.json, nobody
 * holding it) is removed too.
 */
export async function deleteContainer(
  root: string,
  id: string,
  options: { force?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const dir = loadContainerDir(root, id);
  let state: ContainerState;
  try {
    state = dir.readState();
  } catch (error) {
    if (!(error instanceof ContainerNotFoundError) || !existsSync(dir.path)) throw error;
    // No state.json: a runtime died between making the directory and writing it, or still works on it.
    if (dir.heldByAnother()) {
      throw new ContainerError(
        'ERR_NSINIT_CONTAINER_BUSY',
        id,
        `container "${id}" is being created by another process; try again once it is done`,
      );
    }
    dir.remove();
    return;
  }
  await new LoadedContainer(dir, state).delete(options);
}

// ---------------------------------------------------------------------------------------
// The synchronous ending, for the moments no promise will settle again: process.exit(), an
// uncaught exception, a fatal signal. Same steps as destroy(), with the kernel polled between
// short sleeps of the whole thread (Atomics.wait) instead of awaited.

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Polls `done` with pauses of 1, 2, 4 … 20 ms; false once the deadline passes. */
function waitSync(done: () => boolean, deadline: number): boolean {
  for (let pause = 1; !done(); pause = Math.min(pause * 2, 20)) {
    if (Date.now() >= deadline) return false;
    sleepSync(pause);
  }
  return true;
}

function writeIfPresent(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch (error) {
    if (systemErrorCode(error) !== 'ENOENT') throw error;
  }
}

/** v1 freezer first, else cgroup v2's: where a pause froze the container. */
function freezerFile(paths: CgroupPaths): { file: string; frozen: string; thawed: string } | null {
  if (paths.v1.freezer)
    return { file: `${paths.v1.freezer}/freezer.state`, frozen: 'FROZEN', thawed: 'THAWED' };
  if (paths.unified) return { file: `${paths.unified.directory}/cgroup.freeze`, frozen: '1', thawed: '0' };
  return null;
}

/**
 * SIGKILL to every process of the cgroup (sub-cgroups included), synchronously: cgroup.kill on
 * v2, else freeze, kill each pid, thaw. The cgroups manager's killAll does the same awaiting.
 */
function killEveryProcessSync(manager: CgroupManager, deadline: number): void {
  const { paths } = manager;
  const cgroupPids = () => manager.pids();
  const freezer = freezerFile(paths);
  const killFile = paths.unified ? `${paths.unified.directory}/cgroup.kill` : null;
  for (;;) {
    if (cgroupPids().length === 0) return;
    if (killFile && existsSync(killFile)) {
      writeIfPresent(killFile, '1');
    } else {
      // Frozen, nothing forks and no pid is reused while the list is signalled.
      if (freezer) writeIfPresent(freezer.file, freezer.frozen);
      for (const pid of cgroupPids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (error) {
          if (systemErrorCode(error) !== 'ESRCH') throw error;
        }
      }
    }
    // A frozen process dies of nothing, SIGKILL included, until it is thawed.
    if (freezer) writeIfPresent(freezer.file, freezer.thawed);
    if (waitSync(() => cgroupPids().length === 0, Math.min(deadline, Date.now() + 50))) return;
    if (Date.now() >= deadline) {
      throw new Error(`processes ${cgroupPids().join(', ')} are still in the cgroup after SIGKILL`);
    }
  }
}

/** rmdir of a cgroup and, if the kernel refuses, of the sub-cgroups a container made inside it. */
function removeCgroupTreeSync(dir: string, deadline: number): void {
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = systemErrorCode(error);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() >= deadline)
        throw new Error(`cannot remove ${dir}: ${code ?? messageOf(error)}`);
      if (attempt === 0) {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          if (entry.isDirectory()) removeCgroupTreeSync(`${dir}/${entry.name}`, deadline);
        }
      } else {
        sleepSync(Math.min(attempt, 20));
      }
    }
  }
}

/**
 * Ends a container and removes it, synchronously: kills every process in its cgroup, waits
 * until its init has exited, removes its networks, its cgroup and its state directory. What
 * cannot be removed stays recorded in state.json (for a later destroy()) and is returned as
 * messages; the init must have been sent SIGKILL already (run()'s handle does it on its pidfd).
 */
export function endContainerSync(stateDir: string, id: string, deadline: number): string[] {
  let dir: ContainerDir;
  let state: ContainerState;
  try {
    dir = loadContainerDir(dirname(stateDir), id);
    state = dir.readState();
  } catch (error) {
    // Never recorded (the start had not got that far) or already removed: nothing to undo here.
    return systemErrorCode(error) === 'ERR_NSINIT_STATE_NOT_FOUND' ? [] : [messageOf(error)];
  }
  const failures: string[] = [];
  const left = { cgroup: false, network: false };
  let paths: CgroupPaths | null = null;
  try {
    const manager = state.cgroupPaths ? loadCgroupManager(state.cgroupPaths) : null;
    paths = manager?.paths ?? null;
    if (manager) killEveryProcessSync(manager, deadline);
    if (state.pid !== 0 && !waitSync(() => !isSameProcess(state.pid, state.pidStartTime), deadline)) {
      throw new Error(`its init (pid ${state.pid}) did not die of SIGKILL in time`);
    }
  } catch (error) {
    // Whatever still runs holds the cgroup: leave it recorded.
    left.cgroup = state.cgroupPaths !== undefined;
    failures.push(messageOf(error));
  }
  const networks = recordedNetworks(state);
  if (networks) {
    try {
      removeNetworks(networks.records, networks.hostNetns ? { hostNetns: networks.hostNetns } : {});
    } catch (error) {
      left.network = true;
      failures.push(messageOf(error));
    }
  }
  if (paths && !left.cgroup) {
    try {
      // As the manager's destroy(): the container's own cgroups with what it made below them,
      // parents made on the way only when empty (another container may live there).
      const leaves = cgroupLeaves(paths);
      for (const created of [...paths.created].reverse()) {
        if (leaves.has(created)) removeCgroupTreeSync(created, deadline);
        else removeCgroupIfEmpty(created);
      }
    } catch (error) {
      left.cgroup = true;
      failures.push(messageOf(error));
    }
  }
  try {
    if (failures.length > 0) recordLeftovers(dir, state, left);
    else dir.remove();
  } catch (error) {
    failures.push(messageOf(error));
  }
  return failures;
}
