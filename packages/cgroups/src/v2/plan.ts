// Resources as cgroup v2 files, converting the v1-style values OCI carries as runc
// and crun document. What v2 cannot express is refused, never dropped.
import { blkioWeightToIoWeight, cpuSharesToWeight, memorySwapToV2 } from '../convert.js';
import {
  type CgroupWrite,
  cpusetWrites,
  deviceNumberText,
  hugetlbWrites,
  integerText,
  limitText,
  lineText,
  pidsWrite,
  refuse,
} from '../plan.js';
import type { BlockIOThrottle, CgroupResources, ResourceController } from '../resources.js';

export interface V2Facts {
  /** Whether memory.swap.max exists (the kernel accounts swap). */
  swapFile: boolean;
  /** Whether io.bfq.weight exists: BFQ takes blkio weights as they are, io.weight needs a conversion. */
  bfq: boolean;
}

/** The v2 name of a v1 controller. */
export function v2ControllerName(controller: string): string {
  return controller === 'blkio' ? 'io' : controller;
}

/** Files that the manager owns or that would move processes: never written from `unified`. */
const UNIFIED_REFUSED = new Set([
  'cgroup.procs',
  'cgroup.threads',
  'cgroup.subtree_control',
  'cgroup.kill',
  'cgroup.freeze',
  'cgroup.type',
]);

/** The controller a `unified` key belongs to (its prefix), or null for core cgroup.* files. */
export function unifiedKeyController(key: string): string | null {
  if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(key) || key.includes('..')) {
    refuse(`unified["${key}"]`, key, 'expected a cgroup v2 file name such as memory.high');
  }
  if (UNIFIED_REFUSED.has(key))
    refuse(`unified["${key}"]`, key, 'this file is managed by the runtime, not by configuration');
  const prefix = key.slice(0, key.indexOf('.'));
  return prefix === 'cgroup' ? null : prefix;
}

/** The v2 controllers the resources need enabled, given which of them v2 serves. */
export function v2ControllersFor(
  resources: CgroupResources,
  controllers: ReadonlySet<ResourceController>,
): Set<string> {
  const needed = new Set<string>();
  for (const controller of controllers) {
    // Devices are an eBPF program: nothing to enable.
    if (controller !== 'devices') needed.add(v2ControllerName(controller));
  }
  for (const key of Object.keys(resources.unified ?? {})) {
    const controller = unifiedKeyController(key);
    if (controller !== null) needed.add(controller);
  }
  return needed;
}

function memoryWrites(memory: NonNullable<CgroupResources['memory']>, facts: V2Facts): CgroupWrite[] {
  const write = (file: string, value: string): CgroupWrite => ({ controller: 'memory', file, value });
  const writes: CgroupWrite[] = [];
  if (memory.swappiness !== undefined) {
    refuse('memory.swappiness', memory.swappiness, 'cgroup v2 has no per-cgroup swappiness');
  }
  if (memory.disableOomKiller) {
    refuse('memory.disableOOMKiller', true, 'cgroup v2 cannot turn the OOM killer off for a cgroup');
  }
  if (memory.limit !== undefined)
    writes.push(write('memory.max', limitText('memory.limit', memory.limit, 'max')));
  if (memory.swap !== undefined) limitText('memory.swap', memory.swap, 'max');
  const swap = memorySwapToV2(memory.swap, memory.limit);
  if (swap !== undefined) {
    // Without swap accounting nothing is swapped under a limit anyway: "no limit" needs no
    // file, but a limit would be silently lost.
    if (facts.swapFile) writes.push(write('memory.swap.max', swap === -1 ? 'max' : String(swap)));
    else if (swap !== -1)
      refuse('memory.swap', memory.swap, 'this kernel does not account swap (no memory.swap.max)');
  }
  if (memory.reservation !== undefined) {
    writes.push(write('memory.low', limitText('memory.reservation', memory.reservation, 'max')));
  }
  return writes;
}

function cpuWrites(cpu: NonNullable<CgroupResources['cpu']>): CgroupWrite[] {
  const write = (file: string, value: string): CgroupWrite => ({ controller: 'cpu', file, value });
  const writes: CgroupWrite[] = [];
  if (cpu.realtimeRuntime !== undefined || cpu.realtimePeriod !== undefined) {
    refuse(
      'cpu.realtimeRuntime',
      cpu.realtimeRuntime ?? cpu.realtimePeriod,
      'cgroup v2 has no realtime scheduling limits',
    );
  }
  if (cpu.shares !== undefined) {
    writes.push(
      write('cpu.weight', String(cpuSharesToWeight(Number(integerText('cpu.shares', cpu.shares, 2))))),
    );
  }
  if (cpu.quota !== undefined || cpu.period !== undefined) {
    // cpu.max is "quota period"; a period alone keeps no quota (runc writes the same).
    const quota =
      cpu.quota === undefined || cpu.quota === -1 ? 'max' : integerText('cpu.quota', cpu.quota, 1);
    const period = cpu.period === undefined ? '' : ` ${integerText('cpu.period', cpu.period, 1)}`;
    writes.push(write('cpu.max', `${quota}${period}`));
  }
  if (cpu.burst !== undefined) writes.push(write('cpu.max.burst', integerText('cpu.burst', cpu.burst, 0)));
  if (cpu.idle !== undefined) writes.push(write('cpu.idle', integerText('cpu.idle', cpu.idle, 0, 1)));
  return writes;
}

function ioWrites(blockIO: NonNullable<CgroupResources['blockIO']>, facts: V2Facts): CgroupWrite[] {
  const write = (file: string, value: string): CgroupWrite => ({ controller: 'io', file, value });
  const writes: CgroupWrite[] = [];
  if (blockIO.leafWeight !== undefined)
    refuse('blockIO.leafWeight', blockIO.leafWeight, 'cgroup v2 has no leaf weights');
  const weight = (field: string, value: number) => {
    const checked = Number(integerText(field, value, 10, 1000));
    return String(facts.bfq ? checked : blkioWeightToIoWeight(checked));
  };
  const weightFile = facts.bfq ? 'io.bfq.weight' : 'io.weight';
  if (blockIO.weight !== undefined) writes.push(write(weightFile, weight('blockIO.weight', blockIO.weight)));
  for (const [index, device] of (blockIO.weightDevice ?? []).entries()) {
    const field = `blockIO.weightDevice[${index}]`;
    if (device.leafWeight !== undefined)
      refuse(`${field}.leafWeight`, device.leafWeight, 'cgroup v2 has no leaf weights');
    if (device.weight !== undefined) {
      writes.push(
        write(weightFile, `${deviceNumberText(field, device)} ${weight(`${field}.weight`, device.weight)}`),
      );
    }
  }
  // io.max takes one line per device with any of its four limits; 0 means none.
  const limits = new Map<string, string[]>();
  const throttles: [string, BlockIOThrottle[] | undefined, string][] = [
    ['throttleReadBpsDevice', blockIO.throttleReadBpsDevice, 'rbps'],
    ['throttleWriteBpsDevice', blockIO.throttleWriteBpsDevice, 'wbps'],
    ['throttleReadIOPSDevice', blockIO.throttleReadIOPSDevice, 'riops'],
    ['throttleWriteIOPSDevice', blockIO.throttleWriteIOPSDevice, 'wiops'],
  ];
  for (const [name, list, key] of throttles) {
    for (const [index, device] of (list ?? []).entries()) {
      const field = `blockIO.${name}[${index}]`;
      const number = deviceNumberText(field, device);
      const rate = integerText(`${field}.rate`, device.rate, 0);
      limits.set(number, [...(limits.get(number) ?? []), `${key}=${rate === '0' ? 'max' : rate}`]);
    }
  }
  for (const [number, settings] of limits) writes.push(write('io.max', `${number} ${settings.join(' ')}`));
  return writes;
}

/**
 * The v2 files for the resources of `controllers` (those v2 serves), in the order to
 * write them; `unified` entries last, so they override converted values. Device rules
 * become an eBPF program (see the v2 manager).
 */
export function planV2Writes(
  resources: CgroupResources,
  controllers: ReadonlySet<ResourceController>,
  facts: V2Facts,
): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const { memory, cpu, pids, blockIO, hugepageLimits, network, unified } = resources;
  if (memory && controllers.has('memory')) writes.push(...memoryWrites(memory, facts));
  if (cpu && controllers.has('cpu')) writes.push(...cpuWrites(cpu));
  if (cpu && controllers.has('cpuset')) writes.push(...cpusetWrites(cpu));
  if (pids && controllers.has('pids')) writes.push(pidsWrite(pids));
  if (blockIO && controllers.has('blkio')) writes.push(...ioWrites(blockIO, facts));
  if (hugepageLimits && controllers.has('hugetlb')) writes.push(...hugetlbWrites(hugepageLimits, 'max'));
  if (network && (controllers.has('net_cls') || controllers.has('net_prio'))) {
    refuse('network', network, 'net_cls and net_prio are cgroup v1 controllers; cgroup v2 has neither');
  }
  for (const [key, value] of Object.entries(unified ?? {})) {
    writes.push({
      controller: unifiedKeyController(key),
      file: key,
      value: lineText(`unified["${key}"]`, value),
    });
  }
  return writes;
}
