// The container's cgroup in the unified (cgroup2) hierarchy: one directory, controllers
// enabled down the path to it, device rules as an eBPF program, cgroup.freeze and
// cgroup.kill.
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { posix } from 'node:path';
import {
  attachCgroupDeviceProgram,
  detachCgroupDeviceProgram,
  loadCgroupDeviceProgram,
  O_PATH,
  openBpfProgramById,
  queryCgroupDevicePrograms,
} from '@nsinit/native';
import { deviceRulesPolicy } from '../device-policy.js';
import { deviceProgram, encodeBpfProgram } from '../device-program.js';
import { CgroupError, systemCause } from '../errors.js';
import {
  parseFlatKeyed,
  pidsInTree,
  readCgroupFile,
  readOptionalCgroupFile,
  writeCgroupFile,
} from '../files.js';
import type { CgroupPaths } from '../placement.js';
import type { CgroupResources, ResourceController } from '../resources.js';
import { pidsStats, type StatsReaders } from '../stats.js';
import {
  type FreezerState,
  moveProcess,
  nothingToWrite,
  refuseLimitBelowUsage,
  type VersionManager,
  waitUntil,
} from '../version.js';
import { planV2Writes, v2ControllerName, v2ControllersFor } from './plan.js';
import { blockIOStatsV2, cpuStatsV2, hugetlbStatsV2, memoryStatsV2, oomKillsV2 } from './stats.js';

export class V2Manager implements VersionManager {
  readonly directories: readonly string[];
  private offered: Set<string> | undefined;

  constructor(private readonly cgroup: NonNullable<CgroupPaths['unified']>) {
    this.directories = [cgroup.directory];
  }

  /** Device programs work in every non-root cgroup; other controllers need the hierarchy to offer them. */
  has(controller: string): boolean {
    return controller === 'devices' || this.offeredControllers().has(v2ControllerName(controller));
  }

  /** The controllers the hierarchy has (its root's cgroup.controllers). */
  offeredControllers(): Set<string> {
    this.offered ??= new Set(
      readCgroupFile(`${this.cgroup.mountPoint}/cgroup.controllers`).split(/\s+/).filter(Boolean),
    );
    return this.offered;
  }

  /**
   * Enables controllers for the container's cgroup: each goes into cgroup.subtree_control
   * of every ancestor, top down, from the nearest one that has it. Ancestors that already
   * hand it down are left alone.
   */
  enableControllers(controllers: readonly string[]): void {
    const { directory, mountPoint } = this.cgroup;
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
    for (let dir = directory; dir !== mountPoint && dir !== '/'; ) {
      dir = posix.dirname(dir);
      ancestors.push(dir);
    }
    const toEnable = new Map<string, string[]>();
    for (const controller of controllers) {
      if (controllersOf(directory).has(controller)) continue;
      const nearest = ancestors.findIndex((dir) => controllersOf(dir).has(controller));
      if (nearest < 0) {
        throw new CgroupError(
          `the cgroup v2 hierarchy at ${mountPoint} offers no ${controller} controller`,
          `${mountPoint}/cgroup.controllers`,
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

  async apply(pid: number): Promise<void> {
    await moveProcess(this.cgroup.directory, pid);
  }

  /**
   * An O_PATH directory fd of the cgroup for clone3's CLONE_INTO_CGROUP (the addon's
   * `spawn({ cgroupFd })`), so the child is born inside it. The caller closes it.
   */
  openForClone(): number {
    const dir = this.cgroup.directory;
    try {
      return openSync(dir, O_PATH | constants.O_DIRECTORY);
    } catch (error) {
      throw new CgroupError(`cannot open ${dir}: ${systemCause(error)}`, dir, { cause: error });
    }
  }

  prepareSet(resources: CgroupResources, controllers: ReadonlySet<ResourceController>): () => void {
    if (controllers.size === 0 && resources.unified === undefined) return nothingToWrite;
    const dir = this.cgroup.directory;
    // Planned twice: the files that decide the conversions (swap, BFQ) appear only once the
    // controllers are enabled, and nothing is enabled before every value is checked.
    planV2Writes(resources, controllers, { swapFile: true, bfq: false });
    const devices =
      resources.devices && controllers.has('devices')
        ? encodeBpfProgram(deviceProgram(deviceRulesPolicy(resources.devices)))
        : null;
    const needed = v2ControllersFor(resources, controllers);
    if (needed.size > 0) this.enableControllers([...needed]);
    const writes = planV2Writes(resources, controllers, {
      swapFile: controllers.has('memory') && existsSync(`${dir}/memory.swap.max`),
      bfq: controllers.has('blkio') && existsSync(`${dir}/io.bfq.weight`),
    });
    if (controllers.has('memory')) refuseLimitBelowUsage(resources.memory, `${dir}/memory.current`);
    return () => {
      for (const write of writes) writeCgroupFile(`${dir}/${write.file}`, write.value);
      if (devices) this.attachDeviceProgram(devices);
    };
  }

  /**
   * Attaches the device program, then detaches the ones it replaces, so there is no
   * moment without a filter (while both are attached, both must allow). Attached with
   * BPF_F_ALLOW_MULTI: the programs of ancestors still apply.
   */
  private attachDeviceProgram(instructions: Uint8Array): void {
    const dir = this.cgroup.directory;
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

  readonly stats: StatsReaders = {
    memory: () => memoryStatsV2(this.cgroup.directory),
    cpu: () => cpuStatsV2(this.cgroup.directory),
    pids: () => pidsStats(this.cgroup.directory),
    blockIO: () => blockIOStatsV2(this.cgroup.directory),
    hugetlb: () => hugetlbStatsV2(this.cgroup.directory),
  };

  oomKills(): number | null {
    return oomKillsV2(this.cgroup.directory);
  }

  freezerState(): FreezerState {
    const dir = this.cgroup.directory;
    const requested = readCgroupFile(`${dir}/cgroup.freeze`).trim() === '1';
    const eventsFile = `${dir}/cgroup.events`;
    const frozen = parseFlatKeyed(readCgroupFile(eventsFile), eventsFile).get('frozen') === 1;
    return frozen ? 'frozen' : requested ? 'freezing' : 'thawed';
  }

  async freeze(timeoutMs: number): Promise<void> {
    const dir = this.cgroup.directory;
    const file = `${dir}/cgroup.freeze`;
    writeCgroupFile(file, '1');
    try {
      await waitUntil(
        () => this.freezerState() === 'frozen',
        timeoutMs,
        () =>
          new CgroupError(`${dir} did not freeze in time: it is still ${this.freezerState()}`, file, {
            value: 'frozen',
          }),
      );
    } catch (error) {
      // Half-frozen helps nobody: let the processes run again.
      writeCgroupFile(file, '0');
      throw error;
    }
  }

  async thaw(timeoutMs: number): Promise<void> {
    const dir = this.cgroup.directory;
    const file = `${dir}/cgroup.freeze`;
    writeCgroupFile(file, '0');
    await waitUntil(
      () => this.freezerState() === 'thawed',
      timeoutMs,
      () =>
        new CgroupError(`${dir} did not thaw in time: it is still ${this.freezerState()}`, file, {
          value: 'thawed',
        }),
    );
  }

  /**
   * SIGKILL to every process of the cgroup and of the cgroups below it, through
   * cgroup.kill (Linux 5.14+), which no fork escapes. False where the kernel has no cgroup.kill.
   */
  kill(): boolean {
    const file = `${this.cgroup.directory}/cgroup.kill`;
    if (!existsSync(file)) return false;
    writeCgroupFile(file, '1');
    return true;
  }

  collectPids(into: Set<number>): void {
    pidsInTree(this.cgroup.directory, into);
  }

  /** cgroup.events says it for the whole subtree at the cost of one read; a fake tree may lack it. */
  populated(): boolean {
    const eventsFile = `${this.cgroup.directory}/cgroup.events`;
    const events = readOptionalCgroupFile(eventsFile);
    if (events !== undefined) return parseFlatKeyed(events, eventsFile).get('populated') === 1;
    const pids = new Set<number>();
    this.collectPids(pids);
    return pids.size > 0;
  }
}
