// OCI `linux.resources` into CgroupResources (a 2014 container.json's `cgroups` becomes
// OCI in @nsinit/config first). The input types are structural, so @nsinit/config's
// parsed configs fit without this package depending on it. It keeps runc's reading of
// zero as unset, so 0 never becomes a zero limit.
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
  devices?: readonly OciDeviceRuleInput[];
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
    weightDevice?: readonly (OciBlockIODeviceInput & { weight?: number; leafWeight?: number })[];
    throttleReadBpsDevice?: readonly (OciBlockIODeviceInput & { rate: number })[];
    throttleWriteBpsDevice?: readonly (OciBlockIODeviceInput & { rate: number })[];
    throttleReadIOPSDevice?: readonly (OciBlockIODeviceInput & { rate: number })[];
    throttleWriteIOPSDevice?: readonly (OciBlockIODeviceInput & { rate: number })[];
  };
  hugepageLimits?: readonly { pageSize: string; limit: number }[];
  network?: { classID?: number; priorities?: readonly { name: string; priority: number }[] };
  rdma?: Readonly<Record<string, unknown>>;
  unified?: Readonly<Record<string, string>>;
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
        throttleReadBpsDevice: b.throttleReadBpsDevice?.length
          ? b.throttleReadBpsDevice.map((d) => ({ ...d }))
          : undefined,
        throttleWriteBpsDevice: b.throttleWriteBpsDevice?.length
          ? b.throttleWriteBpsDevice.map((d) => ({ ...d }))
          : undefined,
        throttleReadIOPSDevice: b.throttleReadIOPSDevice?.length
          ? b.throttleReadIOPSDevice.map((d) => ({ ...d }))
          : undefined,
        throttleWriteIOPSDevice: b.throttleWriteIOPSDevice?.length
          ? b.throttleWriteIOPSDevice.map((d) => ({ ...d }))
          : undefined,
      })
    : undefined;
  const network = n
    ? compact({
        classId: set(n.classID),
        priorities: n.priorities?.length ? n.priorities.map((p) => ({ ...p })) : undefined,
      })
    : undefined;
  const mapped = compact<CgroupResources>({
    memory,
    cpu,
    pids: set(resources.pids?.limit) === undefined ? undefined : { limit: resources.pids!.limit },
    blockIO,
    hugepageLimits: resources.hugepageLimits?.length
      ? resources.hugepageLimits.map((h) => ({ ...h }))
      : undefined,
    network,
    unified:
      resources.unified && Object.keys(resources.unified).length > 0 ? { ...resources.unified } : undefined,
  });
  return { ...mapped, devices: deviceRulesFromOci(resources.devices, linuxDevices) };
}
