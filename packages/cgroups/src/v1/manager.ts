// The container's cgroup in the v1 hierarchies: one directory per hierarchy, each
// controller's files in its own.
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupError } from '../errors.js';
import { pidsInTree, readCgroupFile, writeCgroupFile, writeCgroupFiles } from '../files.js';
import type { CgroupResources, ResourceController } from '../resources.js';
import { limit, pidsStats, type StatsReaders } from '../stats.js';
import {
  type FreezerState,
  moveProcess,
  nothingToWrite,
  refuseLimitBelowUsage,
  type VersionManager,
  waitUntil,
} from '../version.js';
import { planV1Writes } from './plan.js';
import { blockIOStatsV1, cpuStatsV1, hugetlbStatsV1, memoryStatsV1, oomKillsV1 } from './stats.js';

/**
 * The parent's cpus and mems, written into a new v1 cpuset (which takes no process
 * without them) without first reading its own: they are empty, or (with clone_children)
 * already the same values, which writing again keeps.
 */
export function inheritCpuset(dir: string): void {
  const parent = posix.dirname(dir);
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    writeCgroupFile(`${dir}/${file}`, readCgroupFile(`${parent}/${file}`).trim());
  }
}

export class V1Manager implements VersionManager {
  readonly directories: readonly string[];

  /** `byController`: each controller (and `name=...`) of every joined hierarchy -> the cgroup's directory. */
  constructor(private readonly byController: Readonly<Record<string, string>>) {
    this.directories = [...new Set(Object.values(byController))];
  }

  has(controller: string): boolean {
    return Object.hasOwn(this.byController, controller);
  }

  private dir(controller: string): string {
    const dir = this.byController[controller];
    if (dir === undefined || !this.has(controller)) {
      throw new CgroupError(`the container's cgroup joins no v1 ${controller} hierarchy`, '', {
        value: controller,
      });
    }
    return dir;
  }

  async apply(pid: number): Promise<void> {
    for (const dir of this.directories) await moveProcess(dir, pid);
  }

  prepareSet(resources: CgroupResources, controllers: ReadonlySet<ResourceController>): () => void {
    if (controllers.size === 0) return nothingToWrite;
    // The files that decide a conversion are read only for the controllers being set: a
    // container with nothing but device rules pays for no memory or blkio file.
    const memory = controllers.has('memory') ? this.dir('memory') : undefined;
    const blkio = controllers.has('blkio') ? this.dir('blkio') : undefined;
    const writes = planV1Writes(resources, controllers, {
      memoryLimit: memory === undefined ? null : limit(memory, 'memory.limit_in_bytes'),
      swapAccounting: memory !== undefined && existsSync(`${memory}/memory.memsw.limit_in_bytes`),
      blkioWeightFile:
        blkio === undefined || existsSync(`${blkio}/blkio.weight`) ? 'blkio.weight' : 'blkio.bfq.weight',
    });
    if (memory !== undefined) refuseLimitBelowUsage(resources.memory, `${memory}/memory.usage_in_bytes`);
    const files = writes.map((write) => ({
      file: `${this.byController[write.controller!]}/${write.file}`,
      value: write.value,
    }));
    return () => writeCgroupFiles(files);
  }

  readonly stats: StatsReaders = {
    memory: () => (this.has('memory') ? memoryStatsV1(this.dir('memory')) : undefined),
    cpu: () => cpuStatsV1(this.byController.cpuacct, this.byController.cpu),
    pids: () => (this.has('pids') ? pidsStats(this.dir('pids')) : undefined),
    blockIO: () => (this.has('blkio') ? blockIOStatsV1(this.dir('blkio')) : undefined),
    hugetlb: () => (this.has('hugetlb') ? hugetlbStatsV1(this.dir('hugetlb')) : undefined),
  };

  oomKills(): number | null {
    return this.has('memory') ? oomKillsV1(this.dir('memory')) : null;
  }

  freezerState(): FreezerState {
    const state = readCgroupFile(`${this.dir('freezer')}/freezer.state`).trim();
    if (state === 'FROZEN') return 'frozen';
    return state === 'FREEZING' ? 'freezing' : 'thawed';
  }

  async freeze(timeoutMs: number): Promise<void> {
    const dir = this.dir('freezer');
    const file = `${dir}/freezer.state`;
    try {
      // The v1 freezer can stall in FREEZING while its tasks fork: writing FROZEN again moves
      // it on, and a thaw now and then gets a stuck one going (runc's freezer does both).
      const deadline = Date.now() + timeoutMs;
      for (let attempt = 1; ; attempt++) {
        if (attempt % 25 === 0) writeCgroupFile(file, 'THAWED');
        writeCgroupFile(file, 'FROZEN');
        if (this.freezerState() === 'frozen') return;
        if (Date.now() >= deadline) {
          throw new CgroupError(`${dir} did not freeze in time: it is still ${this.freezerState()}`, file, {
            value: 'frozen',
          });
        }
        await sleep(Math.min(attempt, 10));
      }
    } catch (error) {
      // Half-frozen helps nobody: let the processes run again.
      writeCgroupFile(file, 'THAWED');
      throw error;
    }
  }

  async thaw(timeoutMs: number): Promise<void> {
    const dir = this.dir('freezer');
    const file = `${dir}/freezer.state`;
    writeCgroupFile(file, 'THAWED');
    await waitUntil(
      () => this.freezerState() === 'thawed',
      timeoutMs,
      () =>
        new CgroupError(`${dir} did not thaw in time: it is still ${this.freezerState()}`, file, {
          value: 'thawed',
        }),
    );
  }

  collectPids(into: Set<number>): void {
    for (const dir of this.directories) pidsInTree(dir, into);
  }

  populated(): boolean {
    const pids = new Set<number>();
    this.collectPids(pids);
    return pids.size > 0;
  }
}
