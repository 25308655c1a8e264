// events against runc 1.1.5's `events --stats` for a container on this cgroup v1 host
// (fixtures/runc-1.1.5/events-stats-v1.json): the same stats as nsinit's CgroupStats give the
// same bytes, but for what nsinit does not read (per-cpu usage, cpuset, kernel memory, the
// memory+swap peak), which comes out as runc prints it when it has nothing.
import { readFileSync } from 'node:fs';
import type { CgroupStats } from '@nsinit/exec';
import { describe, expect, it } from 'vitest';
import { oomEvent, runcStats, statsEvent } from '../src/events.js';

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/runc-1.1.5/${name}`, import.meta.url), 'utf8');

const RAW: Record<string, number | null> = {
  cache: 0,
  rss: 49152,
  rss_huge: 0,
  shmem: 0,
  mapped_file: 0,
  dirty: 0,
  writeback: 0,
  swap: 0,
  swapcached: 0,
  pgpgin: 423,
  pgpgout: 411,
  pgfault: 674,
  pgmajfault: 0,
  inactive_anon: 45056,
  active_anon: 4096,
  inactive_file: 0,
  active_file: 0,
  unevictable: 0,
  hierarchical_memory_limit: null,
  hierarchical_memsw_limit: null,
  total_cache: 0,
  total_rss: 49152,
  total_rss_huge: 0,
  total_shmem: 0,
  total_mapped_file: 0,
  total_dirty: 0,
  total_writeback: 0,
  total_swap: 0,
  total_swapcached: 0,
  total_pgpgin: 423,
  total_pgpgout: 411,
  total_pgfault: 674,
  total_pgmajfault: 0,
  total_inactive_anon: 45056,
  total_active_anon: 4096,
  total_inactive_file: 0,
  total_active_file: 0,
  total_unevictable: 0,
  workingset_refault_anon: 0,
  workingset_refault_file: 0,
  total_workingset_refault_anon: 0,
  total_workingset_refault_file: 0,
};

/** What nsinit's v1 reader gives for the container runc reported on. */
const V1: CgroupStats = {
  memory: {
    usage: 294912,
    maxUsage: 2224128,
    limit: null,
    failcnt: 0,
    oomEvents: null,
    oomKills: 0,
    swap: { usage: 0, limit: null },
    stat: RAW,
  },
  cpu: {
    usageNs: 41951024,
    userNs: 10000000,
    systemNs: 30000000,
    throttling: { periods: 0, throttledPeriods: 0, throttledTimeNs: 0 },
  },
  pids: { current: 1, limit: null },
  blockIO: { devices: [] },
  hugetlb: {},
};

describe('statsEvent', () => {
  it("is runc's line, but for what nsinit does not read", () => {
    const runc = fixture('events-stats-v1.json')
      .replace(/"percpu":\[[^\]]*\],"percpu_kernel":\[[^\]]*\],"percpu_user":\[[^\]]*\],/, '')
      .replace(
        /"cpuset":\{[^}]*\}/,
        '"cpuset":{"cpu_exclusive":0,"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,' +
          '"memory_spread_slab":0,"memory_pressure":0,"sched_load_balance":0,"sched_relax_domain_level":0}',
      )
      .replace(
        '"swap":{"limit":9223372036854771712,"usage":294912,"max":2224128,"failcnt":0}',
        '"swap":{"limit":9223372036854771712,"usage":294912,"failcnt":0}',
      )
      .replace(
        /"kernel":\{[^}]*\},"kernelTCP":\{[^}]*\}/,
        '"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0}',
      );
    expect(statsEvent('c1', V1)).toBe(runc);
  });

  it('reports v2 stats with v2\'s "no limit", memory+swap as runc does, and io, hugetlb, throttling', () => {
    const data = runcStats({
      memory: {
        usage: 1000,
        maxUsage: null,
        limit: 4096,
        failcnt: 2,
        oomEvents: 1,
        oomKills: 1,
        swap: { usage: 10, limit: 100 },
        stat: { file: 7, anon: 3 },
      },
      cpu: {
        usageNs: 5,
        userNs: 3,
        systemNs: 2,
        throttling: { periods: 4, throttledPeriods: 0, throttledTimeNs: 9 },
      },
      pids: { current: 3, limit: 10 },
      blockIO: { devices: [{ major: 8, minor: 0, readBytes: 100, writeBytes: 0, readOps: 1, writeOps: 2 }] },
      hugetlb: {
        '2MB': { usage: 0, maxUsage: null, failcnt: 1 },
        '1GB': { usage: 5, maxUsage: null, failcnt: 0 },
      },
    });
    expect(data.memory).toEqual({
      cache: 7,
      usage: { limit: 4096, usage: 1000, failcnt: 2 },
      swap: { limit: 4196, usage: 1010, failcnt: 0 },
      kernel: { limit: 0, failcnt: 0 },
      kernelTCP: { limit: 0, failcnt: 0 },
      raw: { anon: 3, file: 7 },
    });
    expect(data.cpu).toEqual({
      usage: { total: 5, kernel: 2, user: 3 },
      throttling: { periods: 4, throttledTime: 9 },
    });
    expect(data.pids).toEqual({ current: 3, limit: 10 });
    expect(data.blkio).toEqual({
      ioServiceBytesRecursive: [
        { major: 8, op: 'Read', value: 100 },
        { major: 8, op: 'Write' },
      ],
      ioServicedRecursive: [
        { major: 8, op: 'Read', value: 1 },
        { major: 8, op: 'Write', value: 2 },
      ],
    });
    expect(Object.keys(data.hugetlb)).toEqual(['1GB', '2MB']);
    expect(data.hugetlb).toEqual({ '1GB': { usage: 5, failcnt: 0 }, '2MB': { failcnt: 1 } });
    const unlimited = statsEvent('x', {
      memory: {
        usage: 1,
        maxUsage: 1,
        limit: null,
        failcnt: 0,
        oomEvents: 0,
        oomKills: 0,
        swap: null,
        stat: {},
      },
    });
    expect(unlimited).toContain(
      '"memory":{"usage":{"limit":18446744073709551615,"usage":1,"max":1,"failcnt":0},"swap":{"limit":0,"failcnt":0}',
    );
  });

  it('prints the empty shapes runc prints for a container with no stats', () => {
    expect(statsEvent('x', {})).toBe(
      '{"type":"stats","id":"x","data":{"cpu":{"usage":{"kernel":0,"user":0},"throttling":{}},"cpuset":{"cpu_exclusive":0,' +
        '"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,"memory_spread_slab":0,' +
        '"memory_pressure":0,"sched_load_balance":0,"sched_relax_domain_level":0},' +
        '"memory":{"usage":{"limit":0,"failcnt":0},"swap":{"limit":0,"failcnt":0},"kernel":{"limit":0,"failcnt":0},' +
        '"kernelTCP":{"limit":0,"failcnt":0}},"pids":{},"blkio":{},"hugetlb":{},"intel_rdt":{},"network_interfaces":null}}\n',
    );
  });
});

describe('oomEvent', () => {
  it('has no data', () => {
    expect(oomEvent('c1')).toBe('{"type":"oom","id":"c1"}\n');
  });
});
