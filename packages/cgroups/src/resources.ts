// The one input shape for what a container's cgroup enforces. OCI `linux.resources`
// maps into it (mappers.ts; @nsinit/config turns a 2014 container.json into OCI first);
// the v1 and v2 managers turn it into files. Absent means "leave as it is", never zero.
import type { DeviceRule } from './devices.js';

export interface MemoryResources {
  /** Bytes; -1: no limit. v1 memory.limit_in_bytes, v2 memory.max. */
  limit?: number;
  /** Bytes; -1: none. v1 memory.soft_limit_in_bytes, v2 memory.low. */
  reservation?: number;
  /**
   * Memory plus swap, in bytes (the v1 meaning, which OCI keeps); -1: no limit. Equal to
   * `limit`: no swap. v1 memory.memsw.limit_in_bytes; v2 memory.swap.max = swap - limit.
   */
  swap?: number;
  /** 0-100; v1 only (memory.swappiness). */
  swappiness?: number;
  /** v1 only (memory.oom_control): processes over the limit wait instead of being killed. */
  disableOomKiller?: boolean;
  /** Refuse a limit below the current usage instead of making the kernel reclaim. */
  checkBeforeUpdate?: boolean;
}

export interface CpuResources {
  /** Relative weight, 2-262144 (v1 cpu.shares); converted to cpu.weight on v2. */
  shares?: number;
  /** Microseconds per period; -1: no limit. v1 cpu.cfs_quota_us, v2 cpu.max. */
  quota?: number;
  /** Microseconds. v1 cpu.cfs_period_us, v2 cpu.max. */
  period?: number;
  /** Microseconds. v1 cpu.cfs_burst_us, v2 cpu.max.burst. */
  burst?: number;
  /** Realtime runtime and period in microseconds; v1 only (cpu.rt_runtime_us, cpu.rt_period_us). */
  realtimeRuntime?: number;
  realtimePeriod?: number;
  /** 1: SCHED_IDLE for the cgroup (cpu.idle). */
  idle?: number;
  /** cpuset.cpus and cpuset.mems, e.g. '0-3,6'. */
  cpus?: string;
  mems?: string;
}

export interface BlockIODeviceWeight {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface BlockIOThrottle {
  major: number;
  minor: number;
  /** Bytes or operations per second; 0: no limit. */
  rate: number;
}

export interface BlockIOResources {
  /** 10-1000 (v1 blkio.weight); converted to io.weight on v2 unless BFQ takes it as is. */
  weight?: number;
  /** v1 only (blkio.leaf_weight). */
  leafWeight?: number;
  weightDevice?: BlockIODeviceWeight[];
  throttleReadBpsDevice?: BlockIOThrottle[];
  throttleWriteBpsDevice?: BlockIOThrottle[];
  throttleReadIOPSDevice?: BlockIOThrottle[];
  throttleWriteIOPSDevice?: BlockIOThrottle[];
}

export interface HugepageLimit {
  /** '2MB', '1GB', '64KB'. */
  pageSize: string;
  /** Bytes. */
  limit: number;
}

export interface NetworkResources {
  /** v1 only (net_cls.classid). */
  classId?: number;
  /** v1 only (net_prio.ifpriomap). */
  priorities?: { name: string; priority: number }[];
}

export interface CgroupResources {
  memory?: MemoryResources;
  cpu?: CpuResources;
  /** Most processes the cgroup may hold; -1: no limit. */
  pids?: { limit: number };
  blockIO?: BlockIOResources;
  hugepageLimits?: HugepageLimit[];
  network?: NetworkResources;
  /**
   * Device access rules in order; later rules take precedence, and a rule for all
   * devices (`a`) resets to allow-all or deny-all (the v1 semantics). v1: devices.allow and
   * devices.deny; v2: an eBPF program built from them.
   */
  devices?: DeviceRule[];
  /** cgroup v2 files to write as they are, e.g. { 'memory.high': '50M' }. */
  unified?: Record<string, string>;
}

/**
 * Every resource group a cgroup controller serves, by v1 controller name. On v2,
 * blkio is `io` and devices are an eBPF program.
 */
export type ResourceController =
  | 'memory'
  | 'cpu'
  | 'cpuset'
  | 'pids'
  | 'blkio'
  | 'hugetlb'
  | 'net_cls'
  | 'net_prio'
  | 'devices';

/** The controllers the given resources need (unified entries name their own, see v2.ts). */
export function controllersFor(resources: CgroupResources): Set<ResourceController> {
  const needed = new Set<ResourceController>();
  const { memory, cpu, blockIO, network } = resources;
  if (memory && Object.values(memory).some((value) => value !== undefined)) needed.add('memory');
  if (cpu) {
    const { cpus, mems, ...scheduling } = cpu;
    if (Object.values(scheduling).some((value) => value !== undefined)) needed.add('cpu');
    if (cpus !== undefined || mems !== undefined) needed.add('cpuset');
  }
  if (resources.pids) needed.add('pids');
  if (blockIO && Object.values(blockIO).some((value) => value !== undefined)) needed.add('blkio');
  if (resources.hugepageLimits?.length) needed.add('hugetlb');
  if (network?.classId !== undefined) needed.add('net_cls');
  if (network?.priorities?.length) needed.add('net_prio');
  if (resources.devices?.length) needed.add('devices');
  return needed;
}
