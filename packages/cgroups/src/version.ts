// What the manager (manager.ts) asks of the cgroup of each version it composes: the v1
// manager (v1/manager.ts) for the v1 hierarchies, the v2 manager (v2/manager.ts) for the
// unified one. The manager routes every controller to one of them; a hybrid host has both.
import { setTimeout as sleep } from 'node:timers/promises';
import { systemErrorCode } from '@nsinit/native';
import { CgroupError } from './errors.js';
import { parseCount, readCgroupFile, writeCgroupFile } from './files.js';
import type { CgroupResources, ResourceController } from './resources.js';
import type { StatsReaders } from './stats.js';

export type FreezerState = 'thawed' | 'freezing' | 'frozen';

export interface WaitOptions {
  /** How long to wait for the kernel before failing. Default 10 s. */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/** prepareSet's answer when no resource is routed to that version. */
export const nothingToWrite = (): void => {};

export interface VersionManager {
  /** The container's cgroup directories in this version's hierarchies, each once. */
  readonly directories: readonly string[];
  /** Whether this version can serve a resource controller (a v1 name) for the container. */
  has(controller: string): boolean;
  /** Moves a process (and its threads) into the cgroup. */
  apply(pid: number): Promise<void>;
  /**
   * Checks every value of the resources routed here and reads what their conversion
   * depends on; the function returned writes them, so no resource file is written before
   * both versions' values are checked. (v2 enables the controllers they need on the way:
   * the files its conversions depend on appear only then.)
   */
  prepareSet(resources: CgroupResources, controllers: ReadonlySet<ResourceController>): () => void;
  readonly stats: StatsReaders;
  /** Processes the OOM killer killed in the cgroup; null without a memory controller. */
  oomKills(): number | null;
  freezerState(): FreezerState;
  freeze(timeoutMs: number): Promise<void>;
  thaw(timeoutMs: number): Promise<void>;
  /** Adds the pids in the cgroup and in every cgroup below it. */
  collectPids(into: Set<number>): void;
  /** Whether any process is in the cgroup or below it. */
  populated(): boolean;
}

/** Waits with a growing pause until `done` holds, or throws `fail()` after the timeout. */
export async function waitUntil(
  done: () => boolean,
  timeoutMs: number,
  fail: () => CgroupError,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 1; !done(); pause = Math.min(pause * 2, 50)) {
    if (Date.now() >= deadline) throw fail();
    await sleep(pause);
  }
}

/** Writes the pid to `dir`/cgroup.procs, retrying briefly on EINVAL: the kernel's answer for a process still being forked. */
export async function moveProcess(dir: string, pid: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      writeCgroupFile(`${dir}/cgroup.procs`, String(pid));
      return;
    } catch (error) {
      if (attempt >= 5 || systemErrorCode((error as CgroupError).cause) !== 'EINVAL') throw error;
      await sleep(10);
    }
  }
}

/** memory.checkBeforeUpdate: a limit below what is in use now is refused, not reclaimed. */
export function refuseLimitBelowUsage(memory: CgroupResources['memory'], usageFile: string): void {
  const limit = memory?.limit;
  if (!memory?.checkBeforeUpdate || limit === undefined || limit === -1) return;
  const usage = parseCount(readCgroupFile(usageFile), usageFile);
  if (limit < usage) {
    throw new CgroupError(
      `memory.limit ${limit} is below the ${usage} bytes in use (${usageFile})`,
      usageFile,
      {
        value: String(limit),
      },
    );
  }
}
