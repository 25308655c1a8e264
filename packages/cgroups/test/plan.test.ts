// The exact files and values each resource becomes, on v1 and on v2.
import { describe, expect, it } from 'vitest';
import {
  type CgroupResources,
  type CgroupWrite,
  planV1Writes,
  planV2Writes,
  type ResourceController,
  resourcesFromOci,
  type V1Facts,
  type V2Facts,
} from '../src/index.js';

const ALL: ReadonlySet<ResourceController> = new Set([
  'memory',
  'cpu',
  'cpuset',
  'pids',
  'blkio',
  'hugetlb',
  'net_cls',
  'net_prio',
  'devices',
]);
const V1: V1Facts = {
  memoryLimit: null,
  swapAccounting: true,
  blkioWeightFile: 'blkio.weight',
};
const V2: V2Facts = { swapFile: true, bfq: false };

/** "controller file=value" lines: easy to read in a failing test. */
const lines = (writes: CgroupWrite[]) => writes.map((w) => `${w.controller} ${w.file}=${w.value}`);

const EVERYTHING: CgroupResources = {
  memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 },
  cpu: { shares: 512, quota: 50_000, period: 100_000, burst: 10_000, idle: 0, cpus: '0-1', mems: '0' },
  pids: { limit: 100 },
  blockIO: {
    weight: 500,
    weightDevice: [{ major: 8, minor: 0, weight: 200 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1_048_576 }],
    throttleWriteIOPSDevice: [
      { major: 8, minor: 0, rate: 100 },
      { major: 8, minor: 16, rate: 0 },
    ],
  },
  hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }],
};

describe('planV1Writes', () => {
  it('writes every resource to its v1 file, in order', () => {
    const resources: CgroupResources = {
      ...EVERYTHING,
      memory: { ...EVERYTHING.memory, swappiness: 10, disableOomKiller: true },
      cpu: { ...EVERYTHING.cpu, realtimePeriod: 1_000_000, realtimeRuntime: 0 },
      blockIO: {
        ...EVERYTHING.blockIO,
        leafWeight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 200, leafWeight: 100 }],
      },
      network: { classId: 0x100001, priorities: [{ name: 'eth0', priority: 5 }] },
      devices: [
        { allow: false, type: 'a', major: null, minor: null, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
      ],
    };
    expect(lines(planV1Writes(resources, ALL, V1))).toEqual([
      // No limit yet (Infinity): memory first, then memory+swap above it.
      'memory memory.limit_in_bytes=67108864',
      'memory memory.memsw.limit_in_bytes=100663296',
      'memory memory.soft_limit_in_bytes=33554432',
      'memory memory.swappiness=10',
      'memory memory.oom_control=1',
      'cpu cpu.shares=512',
      'cpu cpu.cfs_period_us=100000',
      'cpu cpu.cfs_quota_us=50000',
      'cpu cpu.cfs_burst_us=10000',
      'cpu cpu.rt_period_us=1000000',
      'cpu cpu.rt_runtime_us=0',
      'cpu cpu.idle=0',
      'cpuset cpuset.cpus=0-1',
      'cpuset cpuset.mems=0',
      'pids pids.max=100',
      'blkio blkio.weight=500',
      'blkio blkio.leaf_weight=300',
      'blkio blkio.weight_device=8:0 200',
      'blkio blkio.leaf_weight_device=8:0 100',
      'blkio blkio.throttle.read_bps_device=8:0 1048576',
      'blkio blkio.throttle.write_iops_device=8:0 100',
      'blkio blkio.throttle.write_iops_device=8:16 0',
      'hugetlb hugetlb.2MB.limit_in_bytes=4194304',
      'net_cls net_cls.classid=1048577',
      'net_prio net_prio.ifpriomap=eth0 5',
      'devices devices.deny=a *:* rwm',
      'devices devices.allow=c 1:3 rw',
    ]);
  });

  it("writes a config's default device rules: deny all, then each allowed device, in runc's order", () => {
    // No linux.resources, one device node (/dev/fuse): nothing but the devices cgroup is written.
    const resources = resourcesFromOci(undefined, [{ type: 'c', major: 10, minor: 229 }]);
    expect(lines(planV1Writes(resources, ALL, V1))).toEqual([
      'devices devices.deny=a *:* rwm',
      'devices devices.allow=c *:* m',
      'devices devices.allow=b *:* m',
      'devices devices.allow=c 1:3 rwm',
      'devices devices.allow=c 1:8 rwm',
      'devices devices.allow=c 1:7 rwm',
      'devices devices.allow=c 5:0 rwm',
      'devices devices.allow=c 1:5 rwm',
      'devices devices.allow=c 1:9 rwm',
      'devices devices.allow=c 136:* rwm',
      'devices devices.allow=c 5:2 rwm',
      'devices devices.allow=c 10:200 rwm',
      'devices devices.allow=c 10:229 rwm',
    ]);
    // A privileged config: every device first; the rest changes nothing, as in runc.
    const privileged = resourcesFromOci({ devices: [{ allow: true, access: 'rwm' }] });
    expect(lines(planV1Writes(privileged, ALL, V1)).slice(0, 2)).toEqual([
      'devices devices.allow=a *:* rwm',
      'devices devices.allow=c *:* m',
    ]);
  });

  it('orders memory and memory+swap so that memory+swap never drops below memory', () => {
    const memory = (limit: number, swap: number) => ({ memory: { limit, swap } });
    // Growing past the current 64M limit: memory+swap first.
    expect(lines(planV1Writes(memory(128 << 20, 256 << 20), ALL, { ...V1, memoryLimit: 64 << 20 }))).toEqual([
      'memory memory.memsw.limit_in_bytes=268435456',
      'memory memory.limit_in_bytes=134217728',
    ]);
    // Shrinking: memory first.
    expect(lines(planV1Writes(memory(16 << 20, 32 << 20), ALL, { ...V1, memoryLimit: 64 << 20 }))).toEqual([
      'memory memory.limit_in_bytes=16777216',
      'memory memory.memsw.limit_in_bytes=33554432',
    ]);
    // No limits at all: memory+swap first.
    expect(lines(planV1Writes(memory(-1, -1), ALL, { ...V1, memoryLimit: 64 << 20 }))).toEqual([
      'memory memory.memsw.limit_in_bytes=-1',
      'memory memory.limit_in_bytes=-1',
    ]);
  });

  it('honours memory+swap as given (equal to memory: no swap), and lifts it with memory', () => {
    expect(lines(planV1Writes({ memory: { limit: 1 << 20, swap: 1 << 20 } }, ALL, V1))).toEqual([
      'memory memory.limit_in_bytes=1048576',
      'memory memory.memsw.limit_in_bytes=1048576',
    ]);
    expect(lines(planV1Writes({ memory: { limit: -1 } }, ALL, { ...V1, memoryLimit: 1 << 20 }))).toEqual([
      'memory memory.memsw.limit_in_bytes=-1',
      'memory memory.limit_in_bytes=-1',
    ]);
    expect(lines(planV1Writes({ memory: { limit: -1 } }, ALL, { ...V1, swapAccounting: false }))).toEqual([
      'memory memory.limit_in_bytes=-1',
    ]);
  });

  it('refuses what the kernel would refuse or cannot do, naming the field and the value', () => {
    expect(() => planV1Writes({ memory: { limit: 1 << 20, swap: 1 << 19 } }, ALL, V1)).toThrow(
      'memory.swap 524288: memory plus swap cannot be below memory.limit 1048576',
    );
    expect(() => planV1Writes({ memory: { swap: 1 << 20 } }, ALL, { ...V1, swapAccounting: false })).toThrow(
      'memory.swap 1048576: this kernel does not account swap',
    );
    expect(() => planV1Writes({ memory: { limit: -2 } }, ALL, V1)).toThrow(
      'memory.limit -2: expected an integer from 0',
    );
    expect(() => planV1Writes({ memory: { swappiness: 101 } }, ALL, V1)).toThrow(
      'memory.swappiness 101: expected an integer from 0 to 100',
    );
    expect(() => planV1Writes({ cpu: { shares: 1.5 } }, ALL, V1)).toThrow(
      'cpu.shares 1.5: expected an integer',
    );
    expect(() => planV1Writes({ cpu: { cpus: '0\n1' } }, ALL, V1)).toThrow('cpu.cpus "0\\n1": line breaks');
    expect(() => planV1Writes({ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, ALL, V1)).toThrow(
      'hugepageLimits[0].pageSize "2M": expected a page size like 2MB',
    );
    expect(() =>
      planV1Writes({ blockIO: { throttleReadBpsDevice: [{ major: 4096, minor: 0, rate: 1 }] } }, ALL, V1),
    ).toThrow('blockIO.throttleReadBpsDevice[0].major 4096: expected an integer from 0 to 4095');
    expect(() =>
      planV1Writes({ network: { priorities: [{ name: 'eth 0', priority: 1 }] } }, ALL, V1),
    ).toThrow('network.priorities[0].name "eth 0": expected a network interface name');
    const error = (() => {
      try {
        planV1Writes({ pids: { limit: 1.5 } }, ALL, V1);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toMatchObject({ code: 'ERR_NSINIT_CGROUP', value: '1.5' });
  });

  it('uses blkio.bfq.weight where BFQ replaced CFQ, and "max" for no pids limit', () => {
    const facts: V1Facts = { ...V1, blkioWeightFile: 'blkio.bfq.weight' };
    expect(
      lines(
        planV1Writes(
          {
            blockIO: { weight: 100, weightDevice: [{ major: 8, minor: 0, weight: 10 }] },
            pids: { limit: -1 },
          },
          ALL,
          facts,
        ),
      ),
    ).toEqual(['pids pids.max=max', 'blkio blkio.bfq.weight=100', 'blkio blkio.bfq.weight_device=8:0 10']);
  });

  it('plans only the controllers it is given', () => {
    expect(lines(planV1Writes(EVERYTHING, new Set(['pids']), V1))).toEqual(['pids pids.max=100']);
  });
});

describe('planV2Writes', () => {
  it('converts every resource to its v2 file, as runc and crun do', () => {
    expect(
      lines(
        planV2Writes({ ...EVERYTHING, unified: { 'memory.high': '50M', 'cgroup.max.depth': '3' } }, ALL, V2),
      ),
    ).toEqual([
      'memory memory.max=67108864',
      'memory memory.swap.max=33554432',
      'memory memory.low=33554432',
      'cpu cpu.weight=59',
      'cpu cpu.max=50000 100000',
      'cpu cpu.max.burst=10000',
      'cpu cpu.idle=0',
      'cpuset cpuset.cpus=0-1',
      'cpuset cpuset.mems=0',
      'pids pids.max=100',
      'io io.weight=4950',
      'io io.weight=8:0 1920',
      'io io.max=8:0 rbps=1048576 wiops=100',
      'io io.max=8:16 wiops=max',
      'hugetlb hugetlb.2MB.max=4194304',
      'memory memory.high=50M',
      'null cgroup.max.depth=3',
    ]);
  });

  it('takes blkio weights as they are where BFQ runs', () => {
    expect(
      lines(
        planV2Writes({ blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 200 }] } }, ALL, {
          ...V2,
          bfq: true,
        }),
      ),
    ).toEqual(['io io.bfq.weight=500', 'io io.bfq.weight=8:0 200']);
  });

  it('writes "max" for no limit, and a period alone without a quota', () => {
    expect(
      lines(
        planV2Writes(
          { memory: { limit: -1, reservation: -1 }, cpu: { period: 20_000 }, pids: { limit: -1 } },
          ALL,
          V2,
        ),
      ),
    ).toEqual([
      'memory memory.max=max',
      'memory memory.swap.max=max',
      'memory memory.low=max',
      'cpu cpu.max=max 20000',
      'pids pids.max=max',
    ]);
    expect(lines(planV2Writes({ cpu: { quota: -1 } }, ALL, V2))).toEqual(['cpu cpu.max=max']);
  });

  it('writes no swap file where the kernel accounts no swap, unless a swap limit is asked for', () => {
    const noSwap: V2Facts = { ...V2, swapFile: false };
    expect(lines(planV2Writes({ memory: { limit: -1 } }, ALL, noSwap))).toEqual(['memory memory.max=max']);
    expect(() => planV2Writes({ memory: { limit: 100, swap: 100 } }, ALL, noSwap)).toThrow(
      'memory.swap 100: this kernel does not account swap (no memory.swap.max)',
    );
  });

  it('refuses what cgroup v2 cannot express instead of dropping it', () => {
    expect(() => planV2Writes({ memory: { swappiness: 60 } }, ALL, V2)).toThrow(
      'memory.swappiness 60: cgroup v2 has no per-cgroup swappiness',
    );
    expect(() => planV2Writes({ memory: { disableOomKiller: true } }, ALL, V2)).toThrow(
      'cgroup v2 cannot turn the OOM killer off',
    );
    expect(() => planV2Writes({ cpu: { realtimeRuntime: 1000 } }, ALL, V2)).toThrow(
      'cgroup v2 has no realtime scheduling limits',
    );
    expect(() => planV2Writes({ blockIO: { leafWeight: 100 } }, ALL, V2)).toThrow(
      'blockIO.leafWeight 100: cgroup v2 has no leaf weights',
    );
    expect(() => planV2Writes({ network: { classId: 1 } }, ALL, V2)).toThrow('cgroup v2 has neither');
    expect(() => planV2Writes({ memory: { swap: -2 } }, ALL, V2)).toThrow(
      'memory.swap -2: expected an integer from 0',
    );
  });

  it('refuses unified keys that are not plain v2 file names, or that the runtime manages', () => {
    expect(() => planV2Writes({ unified: { '../memory.max': '1' } }, ALL, V2)).toThrow(
      'unified["../memory.max"] "../memory.max": expected a cgroup v2 file name',
    );
    expect(() => planV2Writes({ unified: { 'memory.max/x': '1' } }, ALL, V2)).toThrow(
      'expected a cgroup v2 file name',
    );
    expect(() => planV2Writes({ unified: { 'cgroup.procs': '1' } }, ALL, V2)).toThrow(
      'managed by the runtime',
    );
    expect(() => planV2Writes({ unified: { 'memory.high': '1\n2' } }, ALL, V2)).toThrow('line breaks');
  });
});
