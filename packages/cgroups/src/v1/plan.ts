// Resources as cgroup v1 files: one hierarchy per controller (or per group of them).
import { formatDeviceRule } from '../devices.js';
import {
  type CgroupWrite,
  cpusetWrites,
  deviceNumberText,
  hugetlbWrites,
  integerText,
  limitText,
  pidsWrite,
  refuse,
} from '../plan.js';
import type { BlockIOThrottle, CgroupResources, ResourceController } from '../resources.js';

export interface V1Facts {
  /** memory.limit_in_bytes now (null: none), to order the memory and memory+swap writes. */
  memoryLimit: number | null;
  /** Whether the kernel accounts swap (memory.memsw.* exist). */
  swapAccounting: boolean;
  /** blkio.weight, or blkio.bfq.weight on kernels where BFQ took the place of CFQ. */
  blkioWeightFile: 'blkio.weight' | 'blkio.bfq.weight';
}

function memoryWrites(memory: NonNullable<CgroupResources['memory']>, facts: V1Facts): CgroupWrite[] {
  const write = (file: string, value: string): CgroupWrite => ({ controller: 'memory', file, value });
  const writes: CgroupWrite[] = [];
  const { limit, reservation, swappiness, disableOomKiller } = memory;
  // Lifting the memory limit without a word about swap lifts memory+swap too, as runc does.
  const swap = memory.swap ?? (limit === -1 && facts.swapAccounting ? -1 : undefined);
  const limitWrite =
    limit === undefined ? undefined : write('memory.limit_in_bytes', limitText('memory.limit', limit, '-1'));
  let swapWrite: CgroupWrite | undefined;
  if (swap !== undefined) {
    if (!facts.swapAccounting) {
      refuse(
        'memory.swap',
        swap,
        'this kernel does not account swap (no memory.memsw.limit_in_bytes; boot with swapaccount=1)',
      );
    }
    if (swap !== -1 && limit !== undefined && limit !== -1 && swap < limit) {
      refuse('memory.swap', swap, `memory plus swap cannot be below memory.limit ${limit}`);
    }
    swapWrite = write('memory.memsw.limit_in_bytes', limitText('memory.swap', swap, '-1'));
  }
  // The kernel keeps memory+swap >= memory after every write: when memory+swap grows
  // past the current memory limit it must go first, else memory must.
  const currentLimit = facts.memoryLimit ?? Number.POSITIVE_INFINITY;
  if (swapWrite && limitWrite && (swap === -1 || (swap !== undefined && swap > currentLimit))) {
    writes.push(swapWrite, limitWrite);
  } else {
    for (const w of [limitWrite, swapWrite]) if (w) writes.push(w);
  }
  if (reservation !== undefined) {
    writes.push(write('memory.soft_limit_in_bytes', limitText('memory.reservation', reservation, '-1')));
  }
  if (swappiness !== undefined)
    writes.push(write('memory.swappiness', integerText('memory.swappiness', swappiness, 0, 100)));
  if (disableOomKiller) writes.push(write('memory.oom_control', '1'));
  return writes;
}

function cpuWrites(cpu: NonNullable<CgroupResources['cpu']>): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const add = (field: keyof typeof cpu, file: string, min: number) => {
    const value = cpu[field];
    if (typeof value === 'number')
      writes.push({ controller: 'cpu', file, value: integerText(`cpu.${field}`, value, min) });
  };
  add('shares', 'cpu.shares', 2);
  // The period first: a quota is checked against the period in force.
  add('period', 'cpu.cfs_period_us', 1);
  add('quota', 'cpu.cfs_quota_us', -1);
  add('burst', 'cpu.cfs_burst_us', 0);
  add('realtimePeriod', 'cpu.rt_period_us', 1);
  add('realtimeRuntime', 'cpu.rt_runtime_us', -1);
  add('idle', 'cpu.idle', 0);
  return writes;
}

function blkioWrites(blockIO: NonNullable<CgroupResources['blockIO']>, facts: V1Facts): CgroupWrite[] {
  const write = (file: string, value: string): CgroupWrite => ({ controller: 'blkio', file, value });
  const writes: CgroupWrite[] = [];
  const weightFile = facts.blkioWeightFile;
  if (blockIO.weight !== undefined)
    writes.push(write(weightFile, integerText('blockIO.weight', blockIO.weight, 10, 1000)));
  if (blockIO.leafWeight !== undefined) {
    writes.push(write('blkio.leaf_weight', integerText('blockIO.leafWeight', blockIO.leafWeight, 10, 1000)));
  }
  for (const [index, device] of (blockIO.weightDevice ?? []).entries()) {
    const field = `blockIO.weightDevice[${index}]`;
    const number = deviceNumberText(field, device);
    if (device.weight !== undefined) {
      writes.push(
        write(`${weightFile}_device`, `${number} ${integerText(`${field}.weight`, device.weight, 10, 1000)}`),
      );
    }
    if (device.leafWeight !== undefined) {
      writes.push(
        write(
          'blkio.leaf_weight_device',
          `${number} ${integerText(`${field}.leafWeight`, device.leafWeight, 10, 1000)}`,
        ),
      );
    }
  }
  const throttles: [string, BlockIOThrottle[] | undefined, string][] = [
    ['throttleReadBpsDevice', blockIO.throttleReadBpsDevice, 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', blockIO.throttleWriteBpsDevice, 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', blockIO.throttleReadIOPSDevice, 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', blockIO.throttleWriteIOPSDevice, 'blkio.throttle.write_iops_device'],
  ];
  for (const [name, list, file] of throttles) {
    for (const [index, device] of (list ?? []).entries()) {
      const field = `blockIO.${name}[${index}]`;
      writes.push(
        write(file, `${deviceNumberText(field, device)} ${integerText(`${field}.rate`, device.rate, 0)}`),
      );
    }
  }
  return writes;
}

/**
 * The v1 files for the resources of `controllers` (those a v1 hierarchy serves), in
 * the order to write them. Unified entries are v2 only.
 */
export function planV1Writes(
  resources: CgroupResources,
  controllers: ReadonlySet<ResourceController>,
  facts: V1Facts,
): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const { memory, cpu, pids, blockIO, hugepageLimits, network, devices } = resources;
  if (memory && controllers.has('memory')) writes.push(...memoryWrites(memory, facts));
  if (cpu && controllers.has('cpu')) writes.push(...cpuWrites(cpu));
  if (cpu && controllers.has('cpuset')) writes.push(...cpusetWrites(cpu));
  if (pids && controllers.has('pids')) writes.push(pidsWrite(pids));
  if (blockIO && controllers.has('blkio')) writes.push(...blkioWrites(blockIO, facts));
  if (hugepageLimits && controllers.has('hugetlb'))
    writes.push(...hugetlbWrites(hugepageLimits, 'limit_in_bytes'));
  if (network?.classId !== undefined && controllers.has('net_cls')) {
    writes.push({
      controller: 'net_cls',
      file: 'net_cls.classid',
      value: integerText('network.classID', network.classId, 0, 0xffff_ffff),
    });
  }
  if (network?.priorities && controllers.has('net_prio')) {
    for (const [index, { name, priority }] of network.priorities.entries()) {
      const field = `network.priorities[${index}]`;
      if (!/^[^\s/]{1,15}$/.test(name)) refuse(`${field}.name`, name, 'expected a network interface name');
      writes.push({
        controller: 'net_prio',
        file: 'net_prio.ifpriomap',
        value: `${name} ${integerText(`${field}.priority`, priority, 0, 0xffff_ffff)}`,
      });
    }
  }
  if (devices && controllers.has('devices')) {
    for (const rule of devices) {
      writes.push({
        controller: 'devices',
        file: rule.allow ? 'devices.allow' : 'devices.deny',
        value: formatDeviceRule(rule),
      });
    }
  }
  return writes;
}
