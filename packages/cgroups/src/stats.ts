// Usage counters of a cgroup, in one shape for v1 and v2. A group is absent when its
// controller is neither joined (v1) nor enabled (v2) for the container.
import { readdirSync } from 'node:fs';
import { CgroupError } from './errors.js';
import { parseCounter, parseFlatKeyed, readCgroupFile, readOptionalCgroupFile } from './files.js';

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
  /** Processes the OOM killer killed in the cgroup. */
  oomKills: number;
  /** Swap alone (v1's memory+swap counters less memory); null when the kernel does not account swap. */
  swap: { usage: number; limit: number | null } | null;
  /** memory.stat as the kernel words it (its keys differ between v1 and v2). */
  stat: Record<string, number>;
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

/** Limits beyond this are the kernel's "none" (v1 writes PAGE_COUNTER_MAX * page size). */
const NO_LIMIT_ABOVE = 2 ** 62;

function limitOrNull(value: number): number | null {
  return value === Number.POSITIVE_INFINITY || value >= NO_LIMIT_ABOVE ? null : value;
}

function counter(dir: string, file: string): number {
  const path = `${dir}/${file}`;
  return parseCounter(readCgroupFile(path), path);
}

function optionalCounter(dir: string, file: string): number | null {
  const path = `${dir}/${file}`;
  const text = readOptionalCgroupFile(path);
  return text === undefined ? null : parseCounter(text, path);
}

function flatKeyed(dir: string, file: string): Map<string, number> {
  const path = `${dir}/${file}`;
  return parseFlatKeyed(readCgroupFile(path), path);
}

function required(values: Map<string, number>, key: string, file: string): number {
  const value = values.get(key);
  if (value === undefined) throw new CgroupError(`cannot parse ${file}: no "${key}" line`, file);
  return value;
}

// ---------------------------------------------------------------------------------------
// v1

export function memoryStatsV1(dir: string): MemoryStats | undefined {
  const usage = optionalCounter(dir, 'memory.usage_in_bytes');
  if (usage === null) return undefined;
  const limit = counter(dir, 'memory.limit_in_bytes');
  const oomControl = flatKeyed(dir, 'memory.oom_control');
  const swapUsage = optionalCounter(dir, 'memory.memsw.usage_in_bytes');
  const swapLimit = optionalCounter(dir, 'memory.memsw.limit_in_bytes');
  const memoryPlusSwapLimit = swapLimit === null ? null : limitOrNull(swapLimit);
  const memoryLimit = limitOrNull(limit);
  return {
    usage,
    maxUsage: counter(dir, 'memory.max_usage_in_bytes'),
    limit: memoryLimit,
    failcnt: counter(dir, 'memory.failcnt'),
    oomEvents: null,
    oomKills: oomControl.get('oom_kill') ?? 0,
    swap:
      swapUsage === null
        ? null
        : {
            usage: Math.max(0, swapUsage - usage),
            limit:
              memoryPlusSwapLimit === null || memoryLimit === null ? null : memoryPlusSwapLimit - memoryLimit,
          },
    stat: Object.fromEntries(flatKeyed(dir, 'memory.stat')),
  };
}

/** User and system time in USER_HZ ticks (cpuacct.stat): 100 a second on every Linux ABI. */
const NS_PER_TICK = 10_000_000;

/** Usage from the cpuacct hierarchy, throttling from the cpu one (they may be the same). */
export function cpuStatsV1(cpuacctDir: string | undefined, cpuDir: string | undefined): CpuStats | undefined {
  if (cpuacctDir === undefined && cpuDir === undefined) return undefined;
  let usage = { usageNs: 0, userNs: 0, systemNs: 0 };
  if (cpuacctDir !== undefined) {
    const userNs = optionalCounter(cpuacctDir, 'cpuacct.usage_user');
    const systemNs = optionalCounter(cpuacctDir, 'cpuacct.usage_sys');
    const ticks = userNs === null || systemNs === null ? flatKeyed(cpuacctDir, 'cpuacct.stat') : undefined;
    const file = `${cpuacctDir}/cpuacct.stat`;
    usage = {
      usageNs: counter(cpuacctDir, 'cpuacct.usage'),
      userNs: userNs ?? required(ticks!, 'user', file) * NS_PER_TICK,
      systemNs: systemNs ?? required(ticks!, 'system', file) * NS_PER_TICK,
    };
  }
  let throttling: CpuStats['throttling'] = null;
  if (cpuDir !== undefined) {
    const file = `${cpuDir}/cpu.stat`;
    const stat = flatKeyed(cpuDir, 'cpu.stat');
    throttling = {
      periods: required(stat, 'nr_periods', file),
      throttledPeriods: required(stat, 'nr_throttled', file),
      throttledTimeNs: required(stat, 'throttled_time', file),
    };
  }
  return { ...usage, throttling };
}

/** blkio `8:0 Read 4096` lines into per-device counters. */
function addBlkioCounts(
  devices: Map<string, BlockIODeviceStats>,
  text: string,
  file: string,
  keys: { Read: 'readBytes' | 'readOps'; Write: 'writeBytes' | 'writeOps' },
): void {
  for (const line of text.split('\n')) {
    const match = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line);
    if (match === null) {
      if (line === '' || line.startsWith('Total ')) continue;
      throw new CgroupError(`cannot parse ${file}: line "${line}"`, file);
    }
    const [, major, minor, operation, value] = match;
    if (operation !== 'Read' && operation !== 'Write') continue;
    const key = `${major}:${minor}`;
    const device = devices.get(key) ?? {
      major: Number(major),
      minor: Number(minor),
      readBytes: 0,
      writeBytes: 0,
      readOps: 0,
      writeOps: 0,
    };
    device[keys[operation]] = Number(value);
    devices.set(key, device);
  }
}

export function blockIOStatsV1(dir: string): { devices: BlockIODeviceStats[] } {
  const devices = new Map<string, BlockIODeviceStats>();
  for (const [file, keys] of [
    ['blkio.throttle.io_service_bytes_recursive', { Read: 'readBytes', Write: 'writeBytes' }],
    ['blkio.throttle.io_serviced_recursive', { Read: 'readOps', Write: 'writeOps' }],
  ] as const) {
    const path = `${dir}/${file}`;
    addBlkioCounts(devices, readCgroupFile(path), path, keys);
  }
  return { devices: [...devices.values()] };
}

function hugepageSizes(dir: string, suffix: string): string[] {
  const pattern = new RegExp(`^hugetlb\\.(\\d+[KMG]B)\\.${suffix.replaceAll('.', '\\.')}$`);
  return readdirSync(dir).flatMap((name) => pattern.exec(name)?.[1] ?? []);
}

export function hugetlbStatsV1(dir: string): Record<string, HugetlbStats> {
  return Object.fromEntries(
    hugepageSizes(dir, 'usage_in_bytes').map((size) => [
      size,
      {
        usage: counter(dir, `hugetlb.${size}.usage_in_bytes`),
        maxUsage: counter(dir, `hugetlb.${size}.max_usage_in_bytes`),
        failcnt: counter(dir, `hugetlb.${size}.failcnt`),
      },
    ]),
  );
}

export function pidsStats(dir: string): PidsStats | undefined {
  const current = optionalCounter(dir, 'pids.current');
  if (current === null) return undefined;
  return { current, limit: limitOrNull(counter(dir, 'pids.max')) };
}

// ---------------------------------------------------------------------------------------
// v2

export function memoryStatsV2(dir: string): MemoryStats | undefined {
  const usage = optionalCounter(dir, 'memory.current');
  if (usage === null) return undefined;
  const eventsFile = `${dir}/memory.events`;
  const events = flatKeyed(dir, 'memory.events');
  const swapUsage = optionalCounter(dir, 'memory.swap.current');
  return {
    usage,
    maxUsage: optionalCounter(dir, 'memory.peak'),
    limit: limitOrNull(counter(dir, 'memory.max')),
    failcnt: required(events, 'max', eventsFile),
    oomEvents: required(events, 'oom', eventsFile),
    oomKills: required(events, 'oom_kill', eventsFile),
    swap:
      swapUsage === null ? null : { usage: swapUsage, limit: limitOrNull(counter(dir, 'memory.swap.max')) },
    stat: Object.fromEntries(flatKeyed(dir, 'memory.stat')),
  };
}

/** cpu.stat is a core file: usage is there always, throttling only with the cpu controller. */
export function cpuStatsV2(dir: string): CpuStats {
  const file = `${dir}/cpu.stat`;
  const stat = flatKeyed(dir, 'cpu.stat');
  const periods = stat.get('nr_periods');
  return {
    usageNs: required(stat, 'usage_usec', file) * 1000,
    userNs: required(stat, 'user_usec', file) * 1000,
    systemNs: required(stat, 'system_usec', file) * 1000,
    throttling:
      periods === undefined
        ? null
        : {
            periods,
            throttledPeriods: required(stat, 'nr_throttled', file),
            throttledTimeNs: required(stat, 'throttled_usec', file) * 1000,
          },
  };
}

export function blockIOStatsV2(dir: string): { devices: BlockIODeviceStats[] } | undefined {
  const file = `${dir}/io.stat`;
  const text = readOptionalCgroupFile(file);
  if (text === undefined) return undefined;
  const devices: BlockIODeviceStats[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [device = '', ...pairs] = line.split(' ');
    const number = /^(\d+):(\d+)$/.exec(device);
    if (number === null) throw new CgroupError(`cannot parse ${file}: line "${line}"`, file);
    const values = new Map(pairs.map((pair) => pair.split('=') as [string, string]));
    const value = (key: string) => Number(values.get(key) ?? 0);
    devices.push({
      major: Number(number[1]),
      minor: Number(number[2]),
      readBytes: value('rbytes'),
      writeBytes: value('wbytes'),
      readOps: value('rios'),
      writeOps: value('wios'),
    });
  }
  return { devices };
}

export function hugetlbStatsV2(dir: string): Record<string, HugetlbStats> | undefined {
  const sizes = hugepageSizes(dir, 'current');
  if (sizes.length === 0) return undefined;
  return Object.fromEntries(
    sizes.map((size) => {
      const eventsFile = `${dir}/hugetlb.${size}.events`;
      return [
        size,
        {
          usage: counter(dir, `hugetlb.${size}.current`),
          maxUsage: null,
          failcnt: required(flatKeyed(dir, `hugetlb.${size}.events`), 'max', eventsFile),
        },
      ];
    }),
  );
}
