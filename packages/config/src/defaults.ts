import type { CapabilityName } from './capabilities.js';
import type { OciConfig, OciLinux, OciMount, OciProcess } from './oci.js';

/**
 * A config whose `process` (with its args and env), `linux` and `mounts` are there to be changed
 * in place (`config.linux.resources = …` type-checks), as the configs built here always have them.
 */
export type CompleteOciConfig = OciConfig & {
  process: OciProcess & { args: string[]; env: string[] };
  linux: OciLinux;
  mounts: OciMount[];
};

/** The runtime-spec version nsinit writes into the configs it builds. */
export const OCI_VERSION = '1.2.0';

/** `linux.maskedPaths` as `runc spec` writes it. */
export const RUNC_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
]);

/** `linux.readonlyPaths` as `runc spec` writes it. */
export const RUNC_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
]);

/** Docker's default capability set (moby oci defaults, 14 names). */
export const DOCKER_DEFAULT_CAPABILITIES: readonly CapabilityName[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['mode=755', 'size=65536k', 'nosuid', 'strictatime'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5', 'nosuid', 'noexec'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['mode=1777', 'size=65536k', 'nosuid', 'nodev', 'noexec'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['mode=1777', 'nosuid', 'nodev'] },
    // A fresh sysfs, not a bind of the host's, so /sys/class/net lists the container's own interfaces.
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  ];
}

/**
 * The container `nsinit exec` runs when no --config is given: the host root read-only,
 * fresh /proc, /dev, /tmp and /sys, every namespace but user (network: loopback only),
 * `sh` as root with Docker's default capabilities and no_new_privs. A new object each call.
 */
export function embeddedDefaultConfig(): CompleteOciConfig {
  const capabilities = [...DOCKER_DEFAULT_CAPABILITIES];
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: [DEFAULT_PATH_ENV, 'TERM=xterm', 'HOME=/root'],
      cwd: '/',
      capabilities: {
        bounding: [...capabilities],
        effective: [...capabilities],
        permitted: [...capabilities],
      },
      noNewPrivileges: true,
    },
    root: { path: '/', readonly: true },
    hostname: 'nsinit',
    mounts: defaultMounts(),
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, { type: 'pid' }, { type: 'network' }],
      maskedPaths: [...RUNC_MASKED_PATHS],
      readonlyPaths: [...RUNC_READONLY_PATHS],
    },
  };
}

/** Exactly what `runc spec` (runc 1.1) writes to config.json. A new object each call. */
export function runcSpecConfig(): CompleteOciConfig {
  const capabilities = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: [DEFAULT_PATH_ENV, 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...capabilities],
        effective: [...capabilities],
        permitted: [...capabilities],
        ambient: [...capabilities],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [...RUNC_MASKED_PATHS],
      readonlyPaths: [...RUNC_READONLY_PATHS],
    },
  };
}
