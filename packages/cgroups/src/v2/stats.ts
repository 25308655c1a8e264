// CgroupStats from the cgroup v2 files.
import { CgroupError } from '../errors.js';
import { parseCount, parseFlatKeyed, readOptionalCgroupFile, requiredCount } from '../files.js';
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

export function memoryStatsV2(dir: string): MemoryStats | undefined {
  const usage = optionalCount(dir, 'memory.current');
  if (usage === null) return undefined;
  const eventsFile = `${dir}/memory.events`;
  const events = flatKeyed(dir, 'memory.events');
  const swapUsage = optionalCount(dir, 'memory.swap.current');
  return {
    usage,
    maxUsage: optionalCount(dir, 'memory.peak'),
    limit: limit(dir, 'memory.max'),
    failcnt: requiredCount(events, 'max', eventsFile),
    oomEvents: requiredCount(events, 'oom', eventsFile),
    oomKills: requiredCount(events, 'oom_kill', eventsFile),
    swap: swapUsage === null ? null : { usage: swapUsage, limit: limit(dir, 'memory.swap.max') },
    stat: Object.fromEntries(flatKeyed(dir, 'memory.stat')),
  };
}

/** memory.events' `oom_kill` (of the cgroup and those below it); null without the memory controller. */
export function oomKillsV2(dir: string): number | null {
  const file = `${dir}/memory.events`;
  const text = readOptionalCgroupFile(file);
  if (text === undefined) return null;
  return requiredCount(parseFlatKeyed(text, file), 'oom_kill', file);
}

/** cpu.stat is a core file: usage is there always, throttling only with the cpu controller. */
export function cpuStatsV2(dir: string): CpuStats {
  const file = `${dir}/cpu.stat`;
  const stat = flatKeyed(dir, 'cpu.stat');
  return {
    usageNs: requiredCount(stat, 'usage_usec', file) * 1000,
    userNs: requiredCount(stat, 'user_usec', file) * 1000,
    systemNs: requiredCount(stat, 'system_usec', file) * 1000,
    throttling: stat.has('nr_periods')
      ? {
          periods: requiredCount(stat, 'nr_periods', file),
          throttledPeriods: requiredCount(stat, 'nr_throttled', file),
          throttledTimeNs: requiredCount(stat, 'throttled_usec', file) * 1000,
        }
      : null,
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
    const value = (key: string) => parseCount(values.get(key) ?? '0', file);
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
          usage: count(dir, `hugetlb.${size}.current`),
          maxUsage: null,
          failcnt: requiredCount(flatKeyed(dir, `hugetlb.${size}.events`), 'max', eventsFile),
        },
      ];
    }),
  );
}
