// `nsinit events`: runc 1.1's event lines, `{"type":"stats","id":…,"data":{…}}` and
// `{"type":"oom","id":…}`, each written by Go's json.Encoder (compact, a newline). The stats
// are runc's types.Stats converted from nsinit's CgroupStats, field for field in runc's
// order, with Go's omitempty rules (a zero count is left out where runc leaves it out), and
// what nsinit does not read (per-cpu usage, cpuset, kernel memory, Intel RDT, network) as runc
// prints it when it has nothing: zeros, empty objects, null.
import type { CgroupStats } from '@nsinit/exec';
import { marshalGo, sortedKeys } from './go-json.js';

/**
 * "No limit" as runc prints it: the v1 kernel's number for 4 KiB pages
 * (PAGE_COUNTER_MAX * PAGE_SIZE, as memory.limit_in_bytes reads), v2's "max" as Go's uint64.
 */
const UNLIMITED = { 1: 9223372036854771712n, 2: 18446744073709551615n } as const;

/** Fields Go leaves out when zero (omitempty), in the order given. */
function omitZero(fields: Record<string, number | bigint | undefined>): Record<string, number | bigint> {
  return Object.fromEntries(
    Object.entries(fields).filter((entry): entry is [string, number | bigint] => {
      const value = entry[1];
      return value !== undefined && value !== 0 && value !== 0n;
    }),
  );
}

/** runc's MemoryEntry: limit and failcnt always, usage and max when not zero. */
function memoryEntry(limit: number | bigint, usage: number, max: number, failcnt: number) {
  return { limit, ...omitZero({ usage, max }), failcnt };
}

function memory(stats: NonNullable<CgroupStats['memory']>, unlimited: bigint) {
  const limitOf = (value: number | null) => value ?? unlimited;
  const { swap } = stats;
  return {
    // v1's memory.stat says "cache", v2's "file": runc reports whichever its version has.
    ...omitZero({ cache: stats.stat.cache ?? stats.stat.file ?? 0 }),
    usage: memoryEntry(limitOf(stats.limit), stats.usage, stats.maxUsage ?? 0, stats.failcnt),
    // runc reports memory+swap here on v1 and v2 alike (v1's memsw counters); none without swap accounting.
    swap:
      swap === null
        ? memoryEntry(0, 0, 0, 0)
        : memoryEntry(
            swap.limit === null || stats.limit === null ? unlimited : swap.limit + stats.limit,
            swap.usage + stats.usage,
            0,
            0,
          ),
    kernel: memoryEntry(0, 0, 0, 0),
    kernelTCP: memoryEntry(0, 0, 0, 0),
    ...(Object.keys(stats.stat).length > 0
      ? {
          raw: sortedKeys(
            Object.fromEntries(Object.entries(stats.stat).map(([key, value]) => [key, limitOf(value)])),
          ),
        }
      : {}),
  };
}

function blkio(devices: NonNullable<CgroupStats['blockIO']>['devices']) {
  const entries = (read: 'readBytes' | 'readOps', write: 'writeBytes' | 'writeOps') =>
    devices.flatMap((device) => [
      {
        ...omitZero({ major: device.major, minor: device.minor }),
        op: 'Read',
        ...omitZero({ value: device[read] }),
      },
      {
        ...omitZero({ major: device.major, minor: device.minor }),
        op: 'Write',
        ...omitZero({ value: device[write] }),
      },
    ]);
  const serviceBytes = entries('readBytes', 'writeBytes');
  const serviced = entries('readOps', 'writeOps');
  return {
    ...(serviceBytes.length > 0 ? { ioServiceBytesRecursive: serviceBytes } : {}),
    ...(serviced.length > 0 ? { ioServicedRecursive: serviced } : {}),
  };
}

/** runc's types.Stats for nsinit's stats. */
export function runcStats(stats: CgroupStats) {
  // nsinit's v1 reader has no OOM event count (null); its v2 reader always has one.
  const unlimited = stats.memory?.oomEvents === null ? UNLIMITED[1] : UNLIMITED[2];
  const { cpu } = stats;
  return {
    cpu: {
      usage: { ...omitZero({ total: cpu?.usageNs }), kernel: cpu?.systemNs ?? 0, user: cpu?.userNs ?? 0 },
      throttling: omitZero({
        periods: cpu?.throttling?.periods,
        throttledPeriods: cpu?.throttling?.throttledPeriods,
        throttledTime: cpu?.throttling?.throttledTimeNs,
      }),
    },
    cpuset: {
      cpu_exclusive: 0,
      mem_hardwall: 0,
      mem_exclusive: 0,
      memory_migrate: 0,
      memory_spread_page: 0,
      memory_spread_slab: 0,
      memory_pressure: 0,
      sched_load_balance: 0,
      sched_relax_domain_level: 0,
    },
    memory: stats.memory
      ? memory(stats.memory, unlimited)
      : {
          usage: memoryEntry(0, 0, 0, 0),
          swap: memoryEntry(0, 0, 0, 0),
          kernel: memoryEntry(0, 0, 0, 0),
          kernelTCP: memoryEntry(0, 0, 0, 0),
        },
    pids: omitZero({ current: stats.pids?.current, limit: stats.pids?.limit ?? 0 }),
    blkio: blkio(stats.blockIO?.devices ?? []),
    hugetlb: sortedKeys(
      Object.fromEntries(
        Object.entries(stats.hugetlb ?? {}).map(([size, entry]) => [
          size,
          { ...omitZero({ usage: entry.usage, max: entry.maxUsage ?? 0 }), failcnt: entry.failcnt },
        ]),
      ),
    ),
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** A stats event: the line runc writes, newline included. */
export function statsEvent(id: string, stats: CgroupStats): string {
  return `${marshalGo({ type: 'stats', id, data: runcStats(stats) })}\n`;
}

/** An OOM event (runc sends no data with it): the line, newline included. */
export function oomEvent(id: string): string {
  return `${marshalGo({ type: 'oom', id })}\n`;
}
