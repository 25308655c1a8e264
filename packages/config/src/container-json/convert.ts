import { statSync } from 'node:fs';
import path from 'node:path';
import { rlimitNameOf } from '../capabilities.js';
import { OCI_VERSION, RUNC_MASKED_PATHS, RUNC_READONLY_PATHS } from '../defaults.js';
import { ConfigError, type ConfigIssue, formatJsonPath } from '../errors.js';
import { checkNestingDepth } from '../json.js';
import type {
  OciDevice,
  OciDeviceCgroup,
  OciMount,
  OciNamespace,
  OciNamespaceType,
  OciProcess,
  OciResources,
  OciRlimit,
  OciUser,
} from '../oci.js';
import { parseOciConfig, type ValidOciConfig } from '../parse.js';
import { parseOrThrow } from '../validation.js';
import { decideCapabilities } from './capabilities.js';
import {
  type ContainerJson,
  containerJsonSchema,
  type Device2014,
  type Mount2014,
  type Network2014Json,
  withoutNulls,
} from './schema.js';
import { resolveUser2014, UserResolutionError } from './user.js';

/** A 2014 `networks[]` entry, flattened (Feb–Jun `context` keys become fields); for @nsinit/network. */
export interface Network2014 {
  /** "loopback", "veth" or "netns". */
  type: string;
  /** CIDR, e.g. "172.17.0.100/16". */
  address?: string;
  gateway?: string;
  mtu?: number;
  bridge?: string;
  vethPrefix?: string;
  nsPath?: string;
  macAddress?: string;
  ipv6Address?: string;
  ipv6Gateway?: string;
  txQueueLen?: number;
}

/** A 2014 `routes[]` entry (added after the networks are up). */
export interface Route2014 {
  destination?: string;
  source?: string;
  gateway?: string;
  interfaceName?: string;
}

/** What a config needs that OCI config.json cannot express. */
export interface RuntimeOptions {
  /** MS_MOVE + chroot instead of pivot_root (runc's --no-pivot). */
  noPivotRoot: boolean;
  /** A container.json's `networks[]` and `routes[]`, for @nsinit/network (run()'s `network` option). */
  network?: { networks: Network2014[]; routes: Route2014[] };
}

/**
 * The annotation that carries nsinit's network strategies in an OCI config: JSON of
 * `{ networks: Network2014[], routes: Route2014[] }` (what @nsinit/network parses). An input
 * format for OCI configs only: a converted container.json carries its networks as data, in
 * `RuntimeOptions.network`.
 */
export const NETWORK_ANNOTATION = 'org.nsinit.network';

export interface ConvertContainerJsonOptions {
  /** Folder of the container.json: relative root_fs and bind sources are resolved against it. */
  baseDir: string;
  /** Names the document in errors; default "container.json". */
  source?: string;
}

const NAMESPACES_2014: Readonly<Record<string, OciNamespaceType>> = {
  NEWNS: 'mount',
  NEWUTS: 'uts',
  NEWIPC: 'ipc',
  NEWPID: 'pid',
  NEWNET: 'network',
  NEWUSER: 'user',
};

/** Go runes for device types. */
const DEVICE_TYPES: Readonly<Record<number, 'c' | 'b' | 'u' | 'p' | 'a'>> = {
  99: 'c',
  98: 'b',
  117: 'u',
  112: 'p',
  97: 'a',
};

const SYSTEM_MOUNT_FLAGS = ['nosuid', 'noexec', 'nodev'];

function union(first: readonly string[], second: readonly string[]): readonly string[] {
  return [...new Set([...first, ...second])];
}

/**
 * What a restricted container gets read-only or masked: what `restrict_sys` (and the earlier
 * context "restrictions") did in 2014, and what runc does today.
 */
const RESTRICTED_READONLY_PATHS = union(
  ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus'],
  RUNC_READONLY_PATHS,
);
const RESTRICTED_MASKED_PATHS = union(['/proc/kcore'], RUNC_MASKED_PATHS);

/** Drop keys whose value is undefined, so converted objects carry only what was set. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function nonZero(value: number | undefined): number | undefined {
  return value === undefined || value === 0 ? undefined : value;
}

/** The mounts a 2014 nsinit always set up (mount/init.go, v1.0 order), with the 2014 options. */
function systemMounts(restrictSys: boolean): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: [...SYSTEM_MOUNT_FLAGS] },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: restrictSys ? [...SYSTEM_MOUNT_FLAGS, 'ro'] : [...SYSTEM_MOUNT_FLAGS],
    },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: [...SYSTEM_MOUNT_FLAGS, 'mode=1777', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=620', 'gid=5'],
    },
  ];
}

class Conversion {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: string[] = [];

  constructor(
    readonly doc: ContainerJson,
    readonly baseDir: string,
  ) {}

  issue(pathSegments: readonly PropertyKey[], message: string): void {
    this.issues.push({ path: formatJsonPath(pathSegments), message });
  }

  rootfs(): string {
    return path.resolve(this.baseDir, nonEmpty(this.doc.root_fs) ?? nonEmpty(this.doc.rootfs) ?? '.');
  }

  namespaces(): OciNamespace[] {
    const input = this.doc.namespaces;
    if (input === undefined) return [];
    const out: OciNamespace[] = [];
    const seen = new Set<OciNamespaceType>();
    const add = (name: string, nsPath: string | undefined, at: PropertyKey[]) => {
      const type = NAMESPACES_2014[name];
      if (type === undefined) {
        this.issue(
          at,
          `unknown namespace ${JSON.stringify(name)}; expected one of ${Object.keys(NAMESPACES_2014).join(', ')}`,
        );
        return;
      }
      if (seen.has(type)) {
        this.issue(at, `duplicated namespace ${JSON.stringify(name)}`);
        return;
      }
      seen.add(type);
      if (nsPath !== undefined && !nsPath.startsWith('/')) {
        this.issue([...at.slice(0, -1), 'path'], 'expected an absolute path (starting with "/")');
        return;
      }
      out.push(nsPath === undefined ? { type } : { type, path: nsPath });
    };
    if (!Array.isArray(input)) {
      for (const [name, enabled] of Object.entries(input))
        if (enabled) add(name, undefined, ['namespaces', name]);
      return out;
    }
    input.forEach((entry, index) => {
      if (typeof entry === 'string') {
        add(entry, undefined, ['namespaces', index]);
      } else if (entry.key !== undefined) {
        // Mar–May form: only entries marked enabled were created.
        if (entry.enabled === true) add(entry.key, undefined, ['namespaces', index, 'key']);
      } else {
        const name = entry.name ?? entry.type;
        if (name === undefined)
          this.issue(['namespaces', index], 'expected a namespace name in "key" or "name"');
        else
          add(name, nonEmpty(entry.path), ['namespaces', index, entry.name === undefined ? 'type' : 'name']);
      }
    });
    return out;
  }

  user(rootfs: string): OciUser {
    try {
      return resolveUser2014(this.doc.user ?? '', rootfs);
    } catch (error) {
      if (!(error instanceof UserResolutionError)) throw error;
      this.issue(['user'], error.message);
      return { uid: 0, gid: 0 };
    }
  }

  cwd(): string {
    const dir = nonEmpty(this.doc.working_dir) ?? '/';
    // 2014 nsinit chdir'ed after the root switch, so a relative dir was relative to "/".
    return path.posix.resolve('/', dir);
  }

  mounts(restrictSys: boolean): OciMount[] {
    const fromConfig = this.doc.mount_config?.mounts;
    const list = fromConfig ?? this.doc.mounts ?? [];
    const prefix = fromConfig === undefined ? ['mounts'] : ['mount_config', 'mounts'];
    const out = systemMounts(restrictSys);
    list.forEach((mount, index) => {
      const converted = this.mount(mount, [...prefix, index]);
      if (converted !== undefined) out.push(converted);
    });
    return out;
  }

  private mount(mount: Mount2014, at: PropertyKey[]): OciMount | undefined {
    switch (mount.type) {
      case 'devtmpfs':
        // v0.11: "devtmpfs" asked for the tmpfs on /dev, which every converted config has.
        return undefined;
      case 'bind': {
        const source = nonEmpty(mount.source);
        const destination = this.destination(mount, at);
        if (source === undefined) this.issue([...at, 'source'], 'required for a bind mount');
        if (source === undefined || destination === undefined) return undefined;
        const options = ['rbind'];
        if (mount.writable !== true) options.push('ro');
        if (mount.private === true) options.push('private');
        if (mount.slave === true) options.push('slave');
        return { destination, type: 'bind', source: path.resolve(this.baseDir, source), options };
      }
      case 'tmpfs': {
        const destination = this.destination(mount, at);
        if (destination === undefined) return undefined;
        return { destination, type: 'tmpfs', source: 'tmpfs', options: [...SYSTEM_MOUNT_FLAGS] };
      }
      default:
        this.issue(
          [...at, 'type'],
          `unsupported mount type ${JSON.stringify(mount.type ?? '')}; 2014 nsinit knew "bind", "tmpfs" and "devtmpfs"`,
        );
        return undefined;
    }
  }

  private destination(mount: Mount2014, at: PropertyKey[]): string | undefined {
    const destination = nonEmpty(mount.destination);
    if (destination === undefined) {
      this.issue([...at, 'destination'], 'required');
      return undefined;
    }
    // 2014 joined the destination onto the rootfs, so "data" meant "/data"; ".." cannot climb out.
    return path.posix.resolve('/', destination);
  }

  private deviceType(device: Device2014, at: PropertyKey[]): 'c' | 'b' | 'u' | 'p' | 'a' | undefined {
    const type =
      typeof device.type === 'number'
        ? DEVICE_TYPES[device.type]
        : (['c', 'b', 'u', 'p', 'a'] as const).find((t) => t === device.type);
    if (type === undefined) {
      this.issue(
        [...at, 'type'],
        `unknown device type ${JSON.stringify(device.type)}; expected 99 ('c') or 98 ('b')`,
      );
    }
    return type;
  }

  devices(): OciDevice[] {
    const fromConfig = this.doc.mount_config?.device_nodes;
    const nodes = fromConfig ?? this.doc.device_nodes;
    const prefix = fromConfig === undefined ? ['device_nodes'] : ['mount_config', 'device_nodes'];
    const out: OciDevice[] = [];
    if (Array.isArray(nodes)) {
      nodes.forEach((node, index) => {
        const device = this.deviceNode(node, [...prefix, index]);
        if (device !== undefined) out.push(device);
      });
    } else if (nodes !== undefined) {
      this.hostDevices(nodes.required ?? [], true, [...prefix, 'required'], out);
      this.hostDevices(nodes.additional ?? [], false, [...prefix, 'additional'], out);
    }
    this.hostDevices(this.doc.required_device_nodes ?? [], true, ['required_device_nodes'], out);
    this.hostDevices(this.doc.optional_device_nodes ?? [], false, ['optional_device_nodes'], out);
    return out;
  }

  private deviceNode(node: Device2014, at: PropertyKey[]): OciDevice | undefined {
    const type = this.deviceType(node, at);
    const given = nonEmpty(node.path);
    const devicePath = given?.startsWith('/') ? given : undefined;
    if (devicePath === undefined) {
      this.issue([...at, 'path'], 'expected the absolute path of the device node in the container');
    }
    const major = node.major_number ?? 0;
    const minor = node.minor_number ?? 0;
    for (const [field, value] of [
      ['major_number', major],
      ['minor_number', minor],
    ] as const) {
      if (value < 0)
        this.issue(
          [...at, field],
          'a wildcard (-1) is only meaningful in a cgroup rule, not for a device node',
        );
    }
    if (type === undefined || type === 'a' || devicePath === undefined || major < 0 || minor < 0) {
      if (type === 'a') this.issue([...at, 'type'], "type 'a' (all) is only meaningful in a cgroup rule");
      return undefined;
    }
    return defined({
      type,
      path: devicePath,
      major,
      minor,
      // Go's os.FileMode carried type bits too; the OCI field is the permission bits.
      fileMode: nonZero(node.file_mode === undefined ? undefined : node.file_mode & 0o7777),
      uid: node.uid,
      gid: node.gid,
    });
  }

  /** May 2014 listed host device names to copy from the host's /dev. */
  private hostDevices(
    names: readonly string[],
    required: boolean,
    at: PropertyKey[],
    out: OciDevice[],
  ): void {
    names.forEach((name, index) => {
      if (name === '' || name === '.' || name === '..' || name.includes('/')) {
        this.issue([...at, index], `expected a device name in /dev, got ${JSON.stringify(name)}`);
        return;
      }
      const hostPath = path.posix.join('/dev', name);
      let stat: ReturnType<typeof statSync>;
      try {
        stat = statSync(hostPath, { bigint: true });
      } catch {
        if (required) this.issue([...at, index], `required device ${hostPath} does not exist on the host`);
        return;
      }
      const type = stat.isCharacterDevice() ? 'c' : stat.isBlockDevice() ? 'b' : undefined;
      if (type === undefined) {
        this.issue([...at, index], `${hostPath} on the host is not a device node`);
        return;
      }
      // glibc's gnu_dev_major / gnu_dev_minor encoding of dev_t.
      const rdev = stat.rdev;
      const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
      out.push({ type, path: hostPath, major, minor, fileMode: Number(stat.mode & 0o7777n) });
    });
  }

  rlimits(): OciRlimit[] | undefined {
    const input = this.doc.rlimits;
    if (input === undefined) return undefined;
    const out: OciRlimit[] = [];
    input.forEach((rlimit, index) => {
      const type = rlimitNameOf(rlimit.type);
      if (type === undefined)
        this.issue(['rlimits', index, 'type'], `unknown rlimit number ${rlimit.type}; expected 0 to 15`);
      else out.push({ type, hard: rlimit.hard, soft: rlimit.soft });
    });
    return out;
  }

  /**
   * Restricted unless the document turns it off explicitly: 2014 left /sys and /proc/sys
   * writable unless asked, which lets a root container change kernel settings of the host.
   */
  restrictSys(): boolean {
    const restrictions = this.doc.context?.restrictions;
    // 2014 tested the context value for non-emptiness, not for "true".
    if (this.doc.restrict_sys === true || (restrictions !== undefined && restrictions !== '')) return true;
    const turnedOff =
      this.doc.restrict_sys === false
        ? '"restrict_sys": false'
        : restrictions === ''
          ? 'an empty "context.restrictions"'
          : undefined;
    if (turnedOff === undefined) return true;
    this.warnings.push(
      `${turnedOff} leaves /sys and /proc/sys writable: the container can change kernel settings of the whole host ` +
        '(kernel.core_pattern, vm.drop_caches, ...); remove it to restrict them',
    );
    return false;
  }

  resources(): { resources?: OciResources; cgroupsPath?: string } {
    const cgroups = this.doc.cgroups;
    if (cgroups === undefined) return {};
    const memory = defined({
      limit: nonZero(cgroups.memory),
      reservation: nonZero(cgroups.memory_reservation),
      swap: nonZero(cgroups.memory_swap),
    });
    const cpu = defined({
      shares: nonZero(cgroups.cpu_shares),
      quota: nonZero(cgroups.cpu_quota),
      period: nonZero(cgroups.cpu_period),
      cpus: nonEmpty(cgroups.cpuset_cpus),
      mems: nonEmpty(cgroups.cpuset_mems),
    });
    // A container cannot start frozen: its init must run to exec the command. Thawed is the default.
    if (cgroups.freezer !== undefined && cgroups.freezer !== '' && cgroups.freezer !== 'THAWED') {
      this.issue(
        ['cgroups', 'freezer'],
        `"${cgroups.freezer}": a container starts thawed; freeze a running one with \`nsinit pause\``,
      );
    }
    const devices = this.deviceRules();
    const resources = defined({
      memory: Object.keys(memory).length > 0 ? memory : undefined,
      cpu: Object.keys(cpu).length > 0 ? cpu : undefined,
      devices,
    });
    const name = nonEmpty(cgroups.name);
    return defined({
      resources: Object.keys(resources).length > 0 ? resources : undefined,
      // Relative: under the runtime's own cgroup, as 2014 nsinit put it under init's (which
      // was the root on a host) — and nested properly when the runtime itself runs in a cgroup.
      cgroupsPath:
        name === undefined ? undefined : path.posix.join(cgroups.parent?.replace(/^\/+/, '') ?? '', name),
    });
  }

  private deviceRules(): OciDeviceCgroup[] | undefined {
    const cgroups = this.doc.cgroups;
    if (cgroups === undefined) return undefined;
    if (cgroups.allow_all_devices === true || cgroups.device_access === true)
      return [{ allow: true, access: 'rwm' }];
    if (cgroups.allowed_devices === undefined) return undefined;
    const rules: OciDeviceCgroup[] = [{ allow: false, access: 'rwm' }];
    cgroups.allowed_devices.forEach((device, index) => {
      const at = ['cgroups', 'allowed_devices', index];
      const type = this.deviceType(device, at);
      if (type === 'u' || type === 'p')
        this.issue([...at, 'type'], `type '${type}' cannot be used in a cgroup rule`);
      if (type === undefined || type === 'u' || type === 'p') return;
      const major = device.major_number ?? 0;
      const minor = device.minor_number ?? 0;
      rules.push(
        defined({
          allow: true,
          type,
          major: major < 0 ? undefined : major,
          minor: minor < 0 ? undefined : minor,
          access: nonEmpty(device.cgroup_permissions) ?? 'rwm',
        }),
      );
    });
    return rules;
  }

  networks(): Network2014[] | undefined {
    const list: Network2014Json[] | undefined =
      this.doc.networks ?? (this.doc.network === undefined ? undefined : [this.doc.network]);
    return list?.map((n) =>
      defined({
        type: n.type,
        address: nonEmpty(n.address),
        gateway: nonEmpty(n.gateway),
        mtu: nonZero(n.mtu),
        bridge: nonEmpty(n.bridge ?? n.context?.bridge),
        vethPrefix: nonEmpty(n.veth_prefix ?? n.context?.prefix),
        nsPath: nonEmpty(n.ns_path ?? n.context?.nspath),
        macAddress: nonEmpty(n.mac_address),
        ipv6Address: nonEmpty(n.ipv6_address),
        ipv6Gateway: nonEmpty(n.ipv6_gateway),
        txQueueLen: nonZero(n.txqueuelen),
      }),
    );
  }

  routes(): Route2014[] | undefined {
    return this.doc.routes?.map((r) =>
      defined({
        destination: nonEmpty(r.destination),
        source: nonEmpty(r.source),
        gateway: nonEmpty(r.gateway),
        interfaceName: nonEmpty(r.interface_name),
      }),
    );
  }
}

/**
 * Convert a 2014 libcontainer container.json (any 2014 shape, already JSON-decoded) to an
 * OCI config plus the runtime options OCI cannot express. The command to run is not part of
 * a container.json (nsinit took it from the command line), so `process.args` is absent.
 * Reads the rootfs's /etc/passwd and /etc/group to resolve user names, and the host's /dev
 * for May 2014 device-name lists. Throws ConfigError naming every problem found. `warnings`
 * say where the result is not what a 2014 nsinit did (safer defaults) or may surprise.
 */
export function convertContainerJson(
  json: unknown,
  options: ConvertContainerJsonOptions,
): { config: ValidOciConfig; runtime: RuntimeOptions; warnings: string[] } {
  const source = options.source ?? 'container.json';
  checkNestingDepth(json, source);
  const doc = parseOrThrow(containerJsonSchema, withoutNulls(json), source);
  const conversion = new Conversion(doc, path.resolve(options.baseDir));

  const rootfs = conversion.rootfs();
  const restrictSys = conversion.restrictSys();
  const capabilityDecision = decideCapabilities(doc, conversion.issues);
  if (capabilityDecision.warning !== undefined) conversion.warnings.push(capabilityDecision.warning);
  const capabilities = capabilityDecision.keep;
  const namespaces = conversion.namespaces();
  const user = conversion.user(rootfs);
  const mounts = conversion.mounts(restrictSys);
  const devices = conversion.devices();
  const rlimits = conversion.rlimits();
  const { resources, cgroupsPath } = conversion.resources();
  const networks2014 = conversion.networks();
  const routes2014 = conversion.routes();
  if (conversion.issues.length > 0) throw new ConfigError(source, conversion.issues);

  const context = doc.context ?? {};
  const process: OciProcess = defined({
    terminal: doc.tty === true,
    user,
    env: doc.environment === undefined ? undefined : [...doc.environment],
    cwd: conversion.cwd(),
    capabilities: {
      bounding: [...capabilities],
      effective: [...capabilities],
      permitted: [...capabilities],
      inheritable: [],
      ambient: [],
    },
    rlimits,
    apparmorProfile: nonEmpty(doc.apparmor_profile) ?? nonEmpty(context.apparmor_profile),
    selinuxLabel: nonEmpty(doc.process_label) ?? nonEmpty(context.process_label),
  });
  const linux = defined({
    namespaces,
    devices: devices.length > 0 ? devices : undefined,
    cgroupsPath,
    resources,
    maskedPaths: restrictSys ? [...RESTRICTED_MASKED_PATHS] : undefined,
    readonlyPaths: restrictSys ? [...RESTRICTED_READONLY_PATHS] : undefined,
    mountLabel: nonEmpty(doc.mount_config?.mount_label) ?? nonEmpty(context.mount_label),
  });
  const config = parseOciConfig(
    defined({
      ociVersion: OCI_VERSION,
      process,
      root: { path: rootfs, readonly: (doc.mount_config?.readonly_fs ?? doc.readonly_fs) === true },
      hostname: nonEmpty(doc.hostname),
      mounts,
      linux,
    }),
    `${source} (converted to OCI)`,
  );
  const runtime: RuntimeOptions = {
    noPivotRoot: (doc.mount_config?.no_pivot_root ?? doc.no_pivot_root) === true,
    ...(networks2014 || routes2014
      ? { network: { networks: networks2014 ?? [], routes: routes2014 ?? [] } }
      : {}),
  };
  return { config, runtime, warnings: conversion.warnings };
}
