import * as z from 'zod/mini';
import { envEntry, int64, safeString, uint32, uint64, utsName } from '../validation.js';

// The 2014 libcontainer container.json in every shape it had between February and December
// 2014 (see README "2014 container.json"). Field names are the JSON keys of the time; unknown
// keys are ignored, as Go's encoding/json did.

const optionalString = z.optional(safeString);

/** NEWNS...: Feb–Mar strings; Mar–May {key, enabled, value, file}; Nov {name, path}; May–Nov a map name → bool. */
const namespaceObject = z.object({
  key: optionalString,
  enabled: z.optional(z.boolean()),
  value: z.optional(z.number()),
  file: optionalString,
  name: optionalString,
  type: optionalString,
  path: optionalString,
});
export const namespaces2014Schema = z.union([
  z.array(z.union([safeString, namespaceObject])),
  z.record(safeString, z.boolean()),
]);

/** Capability names (without CAP_): a list; Mar–May objects {key, enabled}; May a map name → bool. */
const capabilityObject = z.object({ key: safeString, enabled: z.optional(z.boolean()) });
export const capabilities2014Schema = z.union([
  z.array(z.union([safeString, capabilityObject])),
  z.record(safeString, z.boolean()),
]);

/** Device type is a Go rune, so a number in JSON (99 = 'c'); a one-letter string is accepted too. */
const deviceType = z.union([z.number(), safeString]);

/** A device node or cgroup device rule; fields absent in JSON are Go zero values. */
export const device2014Schema = z.object({
  type: deviceType,
  path: optionalString,
  major_number: z.optional(int64),
  minor_number: z.optional(int64),
  cgroup_permissions: optionalString,
  file_mode: z.optional(uint32),
  uid: z.optional(uint32),
  gid: z.optional(uint32),
});

/** May 20: {required, additional} host device names; May 31+: an array of device nodes. */
export const deviceNodes2014Schema = z.union([
  z.array(device2014Schema),
  z.object({ required: z.optional(z.array(safeString)), additional: z.optional(z.array(safeString)) }),
]);

export const mount2014Schema = z.object({
  type: optionalString,
  source: optionalString,
  destination: optionalString,
  writable: z.optional(z.boolean()),
  private: z.optional(z.boolean()),
  slave: z.optional(z.boolean()),
});

export const network2014Schema = z.object({
  type: safeString,
  context: z.optional(z.record(safeString, safeString)),
  address: optionalString,
  gateway: optionalString,
  mtu: z.optional(uint32),
  bridge: optionalString,
  veth_prefix: optionalString,
  ns_path: optionalString,
  mac_address: optionalString,
  ipv6_address: optionalString,
  ipv6_gateway: optionalString,
  txqueuelen: z.optional(uint32),
});

export const route2014Schema = z.object({
  destination: optionalString,
  source: optionalString,
  gateway: optionalString,
  interface_name: optionalString,
});

export const cgroups2014Schema = z.object({
  name: optionalString,
  parent: optionalString,
  device_access: z.optional(z.boolean()),
  allow_all_devices: z.optional(z.boolean()),
  allowed_devices: z.optional(z.array(device2014Schema)),
  memory: z.optional(int64),
  memory_reservation: z.optional(int64),
  memory_swap: z.optional(int64),
  cpu_shares: z.optional(int64),
  cpu_quota: z.optional(int64),
  cpu_period: z.optional(int64),
  cpuset_cpus: optionalString,
  cpuset_mems: optionalString,
  /** "FROZEN" or "THAWED" (Jun 2014: the fs driver's freezer state). */
  freezer: optionalString,
});

export const mountConfig2014Schema = z.object({
  no_pivot_root: z.optional(z.boolean()),
  readonly_fs: z.optional(z.boolean()),
  mounts: z.optional(z.array(mount2014Schema)),
  device_nodes: z.optional(deviceNodes2014Schema),
  mount_label: optionalString,
});

/** 2014 rlimits carry the kernel's RLIMIT_* number as `type`. */
export const rlimit2014Schema = z.object({ type: uint32, hard: uint64, soft: uint64 });

export const containerJsonSchema = z.object({
  hostname: z.optional(utsName),
  readonly_fs: z.optional(z.boolean()),
  no_pivot_root: z.optional(z.boolean()),
  user: optionalString,
  working_dir: optionalString,
  environment: z.optional(z.array(envEntry)),
  tty: z.optional(z.boolean()),
  namespaces: z.optional(namespaces2014Schema),
  capabilities: z.optional(capabilities2014Schema),
  capabilities_mask: z.optional(capabilities2014Schema),
  network: z.optional(network2014Schema),
  networks: z.optional(z.array(network2014Schema)),
  routes: z.optional(z.array(route2014Schema)),
  cgroups: z.optional(cgroups2014Schema),
  context: z.optional(z.record(safeString, safeString)),
  mounts: z.optional(z.array(mount2014Schema)),
  device_nodes: z.optional(deviceNodes2014Schema),
  required_device_nodes: z.optional(z.array(safeString)),
  optional_device_nodes: z.optional(z.array(safeString)),
  mount_config: z.optional(mountConfig2014Schema),
  apparmor_profile: optionalString,
  process_label: optionalString,
  restrict_sys: z.optional(z.boolean()),
  root_fs: optionalString,
  rootfs: optionalString,
  rlimits: z.optional(z.array(rlimit2014Schema)),
});

export type ContainerJson = z.output<typeof containerJsonSchema>;
export type Device2014 = z.output<typeof device2014Schema>;
export type Mount2014 = z.output<typeof mount2014Schema>;
export type Network2014Json = z.output<typeof network2014Schema>;

/** Keys that only a 2014 container.json has (`hostname` and `mounts` exist in both formats). */
export const CONTAINER_JSON_ONLY_KEYS: ReadonlySet<string> = new Set(
  Object.keys(containerJsonSchema.shape).filter((key) => key !== 'hostname' && key !== 'mounts'),
);

/** Go decoded JSON null as "absent"; drop null-valued object keys so the schema sees the same. */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) {
      if (entry !== null) out[key] = withoutNulls(entry);
    }
    return out;
  }
  return value;
}
