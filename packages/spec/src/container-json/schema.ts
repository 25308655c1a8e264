import { z } from 'zod';
import { envEntry, int64, safeString, uint32, uint64 } from '../validation.js';

// The 2014 libcontainer container.json in every shape it had between February and December
// 2014 (see README "2014 container.json"). Field names are the JSON keys of the time; unknown
// keys are ignored, as Go's encoding/json did.

const optionalString = safeString.optional();

/** NEWNS...: Feb–Mar strings; Mar–May {key, enabled, value, file}; Nov {name, path}; May–Nov a map name → bool. */
const namespaceObject = z.object({
  key: optionalString,
  enabled: z.boolean().optional(),
  value: z.number().optional(),
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
const capabilityObject = z.object({ key: safeString, enabled: z.boolean().optional() });
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
  major_number: int64.optional(),
  minor_number: int64.optional(),
  cgroup_permissions: optionalString,
  file_mode: uint32.optional(),
  uid: uint32.optional(),
  gid: uint32.optional(),
});

/** May 20: {required, additional} host device names; May 31+: an array of device nodes. */
export const deviceNodes2014Schema = z.union([
  z.array(device2014Schema),
  z.object({ required: z.array(safeString).optional(), additional: z.array(safeString).optional() }),
]);

export const mount2014Schema = z.object({
  type: optionalString,
  source: optionalString,
  destination: optionalString,
  writable: z.boolean().optional(),
  private: z.boolean().optional(),
  slave: z.boolean().optional(),
});

export const network2014Schema = z.object({
  type: safeString,
  context: z.record(safeString, safeString).optional(),
  address: optionalString,
  gateway: optionalString,
  mtu: uint32.optional(),
  bridge: optionalString,
  veth_prefix: optionalString,
  ns_path: optionalString,
  mac_address: optionalString,
  ipv6_address: optionalString,
  ipv6_gateway: optionalString,
  txqueuelen: uint32.optional(),
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
  device_access: z.boolean().optional(),
  allow_all_devices: z.boolean().optional(),
  allowed_devices: z.array(device2014Schema).optional(),
  memory: int64.optional(),
  memory_reservation: int64.optional(),
  memory_swap: int64.optional(),
  cpu_shares: int64.optional(),
  cpu_quota: int64.optional(),
  cpu_period: int64.optional(),
  cpuset_cpus: optionalString,
  cpuset_mems: optionalString,
});

export const mountConfig2014Schema = z.object({
  no_pivot_root: z.boolean().optional(),
  readonly_fs: z.boolean().optional(),
  mounts: z.array(mount2014Schema).optional(),
  device_nodes: deviceNodes2014Schema.optional(),
  mount_label: optionalString,
});

/** 2014 rlimits carry the kernel's RLIMIT_* number as `type`. */
export const rlimit2014Schema = z.object({ type: uint32, hard: uint64, soft: uint64 });

export const containerJsonSchema = z.object({
  hostname: optionalString,
  readonly_fs: z.boolean().optional(),
  no_pivot_root: z.boolean().optional(),
  user: optionalString,
  working_dir: optionalString,
  environment: z.array(envEntry).optional(),
  tty: z.boolean().optional(),
  namespaces: namespaces2014Schema.optional(),
  capabilities: capabilities2014Schema.optional(),
  capabilities_mask: capabilities2014Schema.optional(),
  network: network2014Schema.optional(),
  networks: z.array(network2014Schema).optional(),
  routes: z.array(route2014Schema).optional(),
  cgroups: cgroups2014Schema.optional(),
  context: z.record(safeString, safeString).optional(),
  mounts: z.array(mount2014Schema).optional(),
  device_nodes: deviceNodes2014Schema.optional(),
  required_device_nodes: z.array(safeString).optional(),
  optional_device_nodes: z.array(safeString).optional(),
  mount_config: mountConfig2014Schema.optional(),
  apparmor_profile: optionalString,
  process_label: optionalString,
  restrict_sys: z.boolean().optional(),
  root_fs: optionalString,
  rootfs: optionalString,
  rlimits: z.array(rlimit2014Schema).optional(),
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
