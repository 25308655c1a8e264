// OCI `linux.resources` and container.json's `cgroups` into CgroupResources. The input
// types are structural, so @nsinit/config's parsed configs fit without this package
// depending on it. Both keep the zero-means-unset reading of the Go runtimes whose
// configs they are (runc, the 2014 libcontainer), so 0 never becomes a zero limit.
import { DEFAULT_ALLOWED_DEVICES, type DeviceRule } from './devices.js';
import { refuse } from './plan.js';
import type { BlockIOResources, CgroupResources, CpuResources, MemoryResources } from './resources.js';

export interface OciDeviceRuleInput {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciLinuxDeviceInput {
  type: string;
  major?: number;
  minor?: number;
}

interface OciBlockIODeviceInput {
  major: number;
  minor: number;
}

/** The shape of OCI `linux.resources` (runtime-spec v1.2). */
export interface OciResourcesInput {
  devices?: OciDeviceRuleInput[];
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number;
    kernel?: number;
    kernelTCP?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
    useHierarchy?: boolean;
    checkBeforeUpdate?: boolean;
  };
  cpu?: {
    shares?: number;
    quota?: number;
    burst?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
    idle?: number;
  };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    leafWeight?: number;
    weightDevice?: (OciBlockIODeviceInput & { weight?: number; leafWeight?: number })[];
    throttleReadBpsDevice?: (OciBlockIODeviceInput & { rate: number })[];
    throttleWriteBpsDevice?: (OciBlockIODeviceInput & { rate: number })[];
    throttleReadIOPSDevice?: (OciBlockIODeviceInput & { rate: number })[];
    throttleWriteIOPSDevice?: (OciBlockIODeviceInput & { rate: number })[];
  };
  hugepageLimits?: { pageSize: string; limit: number }[];
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  rdma?: Record<string, unknown>;
  unified?: Record<string, string>;
}

/** Drops undefined properties; undefined when nothing is left. */
function compact<T extends object>(value: T): T | undefined {
  const entries = Object.entries(value).filter(([, entry]) => entry !== undefined);
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as T);
}

const set = (value: number | undefined) => (value === 0 ? undefined : value);

function deviceNumber(value: number | undefined): number | null {
  return value === undefined || value < 0 ? null : value;
}

/** The rule every container's list starts from: runc reads a device list as an allowlist. */
const DENY_ALL_DEVICES: DeviceRule = Object.freeze({
  allow: false,
  type: 'a',
  major: null,
  minor: null,
  access: 'rwm',
});

/** Each node the config creates may be used (mknod, read, write), as runc allows it. */
function nodeRules(linuxDevices: readonly OciLinuxDeviceInput[]): DeviceRule[] {
  return linuxDevices
    .filter((device) => device.type !== 'p')
    .map((device) => ({
      allow: true,
      type: device.type === 'b' ? 'b' : 'c',
      major: deviceNumber(device.major),
      minor: deviceNumber(device.minor),
      access: 'rwm',
    }));
}

/**
 * A container's device rules, always, in runc's order: deny all, the config's rules,
 * the devices every container may use (DEFAULT_ALLOWED_DEVICES), then the config's own
 * device nodes. No rules in the config means the defaults alone, never "all devices":
 * without a devices cgroup a container with CAP_MKNOD could open the host's disks.
 * The leading deny-all is left out when the config's first rule is for all devices
 * itself, which resets the state anyway (runc's default config starts so), so that
 * `{ allow: true, access: 'rwm' }` first still means every device (a privileged container).
 */
export function deviceRulesFromOci(
  rules: readonly OciDeviceRuleInput[] | undefined,
  linuxDevices: readonly OciLinuxDeviceInput[] = [],
): DeviceRule[] {
  const fromConfig: DeviceRule[] = (rules ?? []).map((rule, index) => {
    const type = rule.type ?? 'a';
    if (type !== 'a' && type !== 'c' && type !== 'b') {
      refuse(`linux.resources.devices[${index}].type`, type, 'expected a, c or b');
    }
    return {
      allow: rule.allow,
      type,
      major: deviceNumber(rule.major),
      minor: deviceNumber(rule.minor),
      access: rule.access || 'rwm',
    };
  });
  const resetsFirst = fromConfig[0]?.type === 'a';
  return [
    ...(resetsFirst ? [] : [{ ...DENY_ALL_DEVICES }]),
    ...fromConfig,
    ...DEFAULT_ALLOWED_DEVICES,
    ...nodeRules(linuxDevices),
  ];
}

/**
 * OCI `linux.resources` (with `linux.devices`, whose nodes the container may use). The
 * result always has device rules (see deviceRulesFromOci), also without `resources`.
 * What nsinit cannot enforce is refused: kernel memory limits (gone from Linux),
 * memory.useHierarchy false (always hierarchical now), rdma.
 */
export function resourcesFromOci(
  resources: OciResourcesInput | undefined,
  linuxDevices?: readonly OciLinuxDeviceInput[],
): CgroupResources {
  if (!resources) return { devices: deviceRulesFromOci(undefined, linuxDevices) };
  const { memory: m, cpu: c, blockIO: b, network: n } = resources;
  if (set(m?.kernel) !== undefined)
    refuse(
      'linux.resources.memory.kernel',
      m?.kernel,
      'kernel memory limits are not supported (Linux dropped them)',
    );
  if (set(m?.kernelTCP) !== undefined)
    refuse('linux.resources.memory.kernelTCP', m?.kernelTCP, 'kernel TCP memory limits are not supported');
  if (m?.useHierarchy === false)
    refuse(
      'linux.resources.memory.useHierarchy',
      false,
      'memory accounting is always hierarchical on current kernels',
    );
  if (resources.rdma && Object.keys(resources.rdma).length > 0)
    refuse(
      'linux.resources.rdma',
      Object.keys(resources.rdma).join(','),
      'the rdma controller is not supported',
    );
  const memory = m
    ? compact<MemoryResources>({
        limit: set(m.limit),
        reservation: set(m.reservation),
        swap: set(m.swap),
        swappiness: m.swappiness,
        disableOomKiller: m.disableOOMKiller || undefined,
        checkBeforeUpdate: m.checkBeforeUpdate || undefined,
      })
    : undefined;
  const cpu = c
    ? compact<CpuResources>({
        shares: set(c.shares),
        quota: set(c.quota),
        period: set(c.period),
        burst: c.burst,
        realtimeRuntime: set(c.realtimeRuntime),
        realtimePeriod: set(c.realtimePeriod),
        idle: c.idle,
        cpus: c.cpus || undefined,
        mems: c.mems || undefined,
      })
    : undefined;
  const blockIO = b
    ? compact<BlockIOResources>({
        weight: set(b.weight),
        leafWeight: set(b.leafWeight),
        weightDevice: b.weightDevice?.length ? b.weightDevice.map((d) => compact(d)!) : undefined,
        throttleReadBpsDevice: b.throttleReadBpsDevice?.length ? b.throttleReadBpsDevice : undefined,
        throttleWriteBpsDevice: b.throttleWriteBpsDevice?.length ? b.throttleWriteBpsDevice : undefined,
        throttleReadIOPSDevice: b.throttleReadIOPSDevice?.length ? b.throttleReadIOPSDevice : undefined,
        throttleWriteIOPSDevice: b.throttleWriteIOPSDevice?.length ? b.throttleWriteIOPSDevice : undefined,
      })
    : undefined;
  const network = n
    ? compact({ classId: set(n.classID), priorities: n.priorities?.length ? n.priorities : undefined })
    : undefined;
  const mapped = compact<CgroupResources>({
    memory,
    cpu,
    pids: set(resources.pids?.limit) === undefined ? undefined : { limit: resources.pids!.limit },
    blockIO,
    hugepageLimits: resources.hugepageLimits?.length ? resources.hugepageLimits : undefined,
    network,
    unified: resources.unified && Object.keys(resources.unified).length > 0 ? resources.unified : undefined,
  });
  return { ...mapped, devices: deviceRulesFromOci(resources.devices, linuxDevices) };
}

/** A device of the 2014 container.json: `type` is a Go rune (99 = 'c') or a letter. */
export interface ContainerJsonDeviceInput {
  type: number | string;
  major_number?: number;
  minor_number?: number;
  cgroup_permissions?: string;
}

/** The `cgroups` object of the 2014 container.json. */
export interface ContainerJsonCgroupsInput {
  name?: string;
  parent?: string;
  device_access?: boolean;
  allow_all_devices?: boolean;
  allowed_devices?: ContainerJsonDeviceInput[];
  memory?: number;
  memory_reservation?: number;
  memory_swap?: number;
  cpu_shares?: number;
  cpu_quota?: number;
  cpu_period?: number;
  cpuset_cpus?: string;
  cpuset_mems?: string;
  /** 'FROZEN' or 'THAWED' (later 2014 versions). */
  freezer?: string;
}

function deviceType2014(type: number | string, field: string): 'a' | 'b' | 'c' {
  const letter = typeof type === 'number' ? String.fromCharCode(type) : type;
  if (letter !== 'a' && letter !== 'b' && letter !== 'c')
    refuse(field, type, "expected a cgroup device type: 'a', 'b' or 'c'");
  return letter;
}

/**
 * container.json's `cgroups`: the resources, and where the cgroup goes (`parent`/`name`,
 * for createCgroupManager). `memory_swap` is memory plus swap, as documented in 2014,
 * and is honoured as such (not doubled from `memory` as the 2014 code did); -1 lifts it.
 * Device rules, always: every device with `allow_all_devices`/`device_access` (one rule for
 * all devices, after which the defaults would change nothing), else deny all, then
 * `allowed_devices`, then DEFAULT_ALLOWED_DEVICES. Without any of these keys (or without
 * `cgroups`) that is the defaults alone, never every device: the 2014 code denied all then too.
 */
export function resourcesFromContainerJson(cgroups: ContainerJsonCgroupsInput | undefined): {
  resources: CgroupResources;
  parent?: string;
  name?: string;
} {
  if (!cgroups) return { resources: { devices: [{ ...DENY_ALL_DEVICES }, ...DEFAULT_ALLOWED_DEVICES] } };
  const devices: DeviceRule[] =
    cgroups.allow_all_devices || cgroups.device_access
      ? [{ allow: true, type: 'a', major: null, minor: null, access: 'rwm' }]
      : [
          { ...DENY_ALL_DEVICES },
          ...(cgroups.allowed_devices ?? []).map(
            (device, index): DeviceRule => ({
              allow: true,
              type: deviceType2014(device.type, `cgroups.allowed_devices[${index}].type`),
              major: deviceNumber(device.major_number),
              minor: deviceNumber(device.minor_number),
              access: device.cgroup_permissions || 'rwm',
            }),
          ),
          ...DEFAULT_ALLOWED_DEVICES,
        ];
  let freezer: CgroupResources['freezer'];
  if (cgroups.freezer === 'FROZEN') freezer = 'frozen';
  else if (cgroups.freezer === 'THAWED') freezer = 'thawed';
  else if (cgroups.freezer) refuse('cgroups.freezer', cgroups.freezer, 'expected FROZEN or THAWED');
  const resources: CgroupResources = {
    ...compact<CgroupResources>({
      memory: compact<MemoryResources>({
        limit: set(cgroups.memory),
        reservation: set(cgroups.memory_reservation),
        swap: set(cgroups.memory_swap),
      }),
      cpu: compact<CpuResources>({
        shares: set(cgroups.cpu_shares),
        quota: set(cgroups.cpu_quota),
        period: set(cgroups.cpu_period),
        cpus: cgroups.cpuset_cpus || undefined,
        mems: cgroups.cpuset_mems || undefined,
      }),
      freezer,
    }),
    devices,
  };
  return {
    resources,
    ...(cgroups.parent ? { parent: cgroups.parent } : {}),
    ...(cgroups.name ? { name: cgroups.name } : {}),
  };
}
