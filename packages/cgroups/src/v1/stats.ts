// CgroupStats from the v1 controllers' files.
import { CgroupError } from '../errors.js';
import { parseCount, readCgroupFile, requiredCount } from '../files.js';
import {
  type BlockIODeviceStats,
  type CpuStats,
  count,
  flatKeyed,
  type HugetlbStats,
  hugepageSizes,
  limit,
  type MemoryStats,
  optionalCount,
} from '../stats.js';

export function memoryStatsV1(dir: string): MemoryStats | undefined {
  const usage = optionalCount(dir, 'memory.usage_in_bytes');
  if (usage === null) return undefined;
  const memoryLimit = limit(dir, 'memory.limit_in_bytes');
  const swapUsage = optionalCount(dir, 'memory.memsw.usage_in_bytes');
  const memoryPlusSwapLimit = swapUsage === null ? null : limit(dir, 'memory.memsw.limit_in_bytes');
  return {
    usage,
    maxUsage: count(dir, 'memory.max_usage_in_bytes'),
    limit: memoryLimit,
    failcnt: count(dir, 'memory.failcnt'),
    oomEvents: null,
    oomKills: oomKillsV1(dir) ?? 0,
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

/** memory.oom_control's `oom_kill` (Linux 4.13+); null on older kernels. */
export function oomKillsV1(dir: string): number | null {
  const file = `${dir}/memory.oom_control`;
  const control = flatKeyed(dir, 'memory.oom_control');
  return control.has('oom_kill') ? requiredCount(control, 'oom_kill', file) : null;
}

/** User and system time in USER_HZ ticks (cpuacct.stat): 100 a second on every Linux ABI. */
const NS_PER_TICK = 10_000_000;

/** Usage from the cpuacct hierarchy, throttling from the cpu one (they may be the same). */
export function cpuStatsV1(cpuacctDir: string | undefined, cpuDir: string | undefined): CpuStats | undefined {
  if (cpuacctDir === undefined && cpuDir === undefined) return undefined;
  let usage = { usageNs: 0, userNs: 0, systemNs: 0 };
  if (cpuacctDir !== undefined) {
    const userNs = optionalCount(cpuacctDir, 'cpuacct.usage_user');
    const systemNs = optionalCount(cpuacctDir, 'cpuacct.usage_sys');
    const file = `${cpuacctDir}/cpuacct.stat`;
    const ticks = userNs === null || systemNs === null ? flatKeyed(cpuacctDir, 'cpuacct.stat') : undefined;
    usage = {
      usageNs: count(cpuacctDir, 'cpuacct.usage'),
      userNs: userNs ?? requiredCount(ticks!, 'user', file) * NS_PER_TICK,
      systemNs: systemNs ?? requiredCount(ticks!, 'system', file) * NS_PER_TICK,
    };
  }
  let throttling: CpuStats['throttling'] = null;
  if (cpuDir !== undefined) {
    const file = `${cpuDir}/cpu.stat`;
    const stat = flatKeyed(cpuDir, 'cpu.stat');
    throttling = {
      periods: requiredCount(stat, 'nr_periods', file),
      throttledPeriods: requiredCount(stat, 'nr_throttled', file),
      throttledTimeNs: requiredCount(stat, 'throttled_time', file),
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
    device[keys[operation]] = parseCount(value!, file);
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

export function hugetlbStatsV1(dir: string): Record<string, HugetlbStats> {
  return Object.fromEntries(
    hugepageSizes(dir, 'usage_in_bytes').map((size) => [
      size,
      {
        usage: count(dir, `hugetlb.${size}.usage_in_bytes`),
        maxUsage: count(dir, `hugetlb.${size}.max_usage_in_bytes`),
        failcnt: count(dir, `hugetlb.${size}.failcnt`),
      },
    ]),
  );
}
