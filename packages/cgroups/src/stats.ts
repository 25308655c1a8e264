// Usage counters of a cgroup, in one shape for v1 and v2 (v1/stats.ts and v2/stats.ts
// read them). A group is absent when its controller is neither joined (v1) nor enabled
// (v2) for the container. Limits are null when there is none, never the kernel's
// "unlimited" as a number.
import { readdirSync } from 'node:fs';
import {
  parseCount,
  parseFlatKeyed,
  parseKernelValue,
  readCgroupFile,
  readOptionalCgroupFile,
} from './files.js';

export interface MemoryStats {
  /** Bytes in use now (page cache included, as the kernel counts it). */
  usage: number;
  /** The highest usage seen: v1 memory.max_usage_in_bytes, v2 memory.peak (null before Linux 5.19). */
  maxUsage: number | null;
  /** null: no limit. */
  limit: number | null;
  /** How often the limit was hit: v1 memory.failcnt, v2 the `max` count of memory.events. */
  failcnt: number;
  /** Times the cgroup ran out of memory (v2 `oom`; v1 keeps no such count: null). */
  oomEvents: number | null;
  /** Processes the OOM killer killed in the cgroup (see CgroupManager.oomKills). */
  oomKills: number;
  /** Swap alone (v1's memory+swap counters less memory); null when the kernel does not account swap. */
  swap: { usage: number; limit: number | null } | null;
  /**
   * memory.stat as the kernel words it (its keys differ between v1 and v2); null where
   * it shows a limit that is none (v1's hierarchical_memory_limit, hierarchical_memsw_limit).
   */
  stat: Record<string, number | null>;
}

export interface CpuStats {
  /** CPU time in nanoseconds: total, in user mode, in the kernel. */
  usageNs: number;
  userNs: number;
  systemNs: number;
  /** CFS bandwidth control; null where the cpu controller is not enabled (v2). */
  throttling: { periods: number; throttledPeriods: number; throttledTimeNs: number } | null;
}

export interface PidsStats {
  current: number;
  /** null: no limit. */
  limit: number | null;
}

export interface BlockIODeviceStats {
  major: number;
  minor: number;
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
}

export interface HugetlbStats {
  usage: number;
  /** v1 only (v2 keeps no peak): null on v2. */
  maxUsage: number | null;
  /** Allocations refused by the limit. */
  failcnt: number;
}

export interface CgroupStats {
  memory?: MemoryStats;
  cpu?: CpuStats;
  pids?: PidsStats;
  blockIO?: { devices: BlockIODeviceStats[] };
  /** By page size, e.g. '2MB'. */
  hugetlb?: Record<string, HugetlbStats>;
}

/** How a cgroup version reads each group of CgroupStats: undefined when it cannot. */
export type StatsReaders = { [Group in keyof CgroupStats]-?: () => CgroupStats[Group] };

/** The v1 controllers whose hierarchy holds each group (cpu time is cpuacct's, throttling cpu's). */
export const STATS_CONTROLLERS: { readonly [Group in keyof CgroupStats]-?: readonly string[] } = {
  memory: ['memory'],
  cpu: ['cpu', 'cpuacct'],
  pids: ['pids'],
  blockIO: ['blkio'],
  hugetlb: ['hugetlb'],
};

export function count(dir: string, file: string): number {
  const path = `${dir}/${file}`;
  return parseCount(readCgroupFile(path), path);
}

export function optionalCount(dir: string, file: string): number | null {
  const path = `${dir}/${file}`;
  const text = readOptionalCgroupFile(path);
  return text === undefined ? null : parseCount(text, path);
}

/** A limit file: null for none. */
export function limit(dir: string, file: string): number | null {
  const path = `${dir}/${file}`;
  return parseKernelValue(readCgroupFile(path), path);
}

export function flatKeyed(dir: string, file: string): Map<string, number | null> {
  const path = `${dir}/${file}`;
  return parseFlatKeyed(readCgroupFile(path), path);
}

/** The page sizes with a hugetlb.<size>.<suffix> file in `dir`. */
export function hugepageSizes(dir: string, suffix: string): string[] {
  const pattern = new RegExp(`^hugetlb\\.(\\d+[KMG]B)\\.${suffix.replaceAll('.', '\\.')}$`);
  return readdirSync(dir).flatMap((name) => pattern.exec(name)?.[1] ?? []);
}

/** pids.current and pids.max: the same files on v1 and v2. */
export function pidsStats(dir: string): PidsStats | undefined {
  const current = optionalCount(dir, 'pids.current');
  if (current === null) return undefined;
  return { current, limit: limit(dir, 'pids.max') };
}
