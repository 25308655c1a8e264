// Compiles an OCI config into the init program that the static helper runs
// inside the container. All policy lives here: which mounts, in which order,
// which devices, which capabilities. The helper only executes the list.

import { posix } from 'node:path';
import {
  CgroupError,
  type CgroupHierarchy,
  type CgroupManagerOptions,
  type CgroupPaths,
  type CgroupResources,
  planCgroupPaths,
  resourcesFromOci,
} from '@nsinit/cgroups';
import { CAPABILITIES, type DeepReadonly, type OciConfig, type OciMount, RLIMITS } from '@nsinit/config';
import {
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  encodeProgram,
  type InitOp,
  MountAttr,
  PROGRAM_LIMITS,
  ProgramEncodeError,
  type Propagation,
  systemErrorCode,
} from '@nsinit/native';
import { InvalidConfigError, UnsupportedFeatureError } from './errors.js';
import type { HostFacts } from './host.js';
import {
  bindFsOptions,
  MS,
  type ParsedMountOptions,
  PROPAGATION_OPTIONS,
  parseMountOptions,
} from './mount-options.js';

/** The CLONE_NEW* flag of each OCI namespace type. */
export const NAMESPACE_FLAGS = {
  mount: CLONE_NEWNS,
  uts: CLONE_NEWUTS,
  ipc: CLONE_NEWIPC,
  pid: CLONE_NEWPID,
  network: CLONE_NEWNET,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
  user: CLONE_NEWUSER,
} as const;

export type NamespaceType = keyof typeof NAMESPACE_FLAGS;

/** A config as the compiler reads it: validated or not, it never changes it. */
export type ConfigInput = DeepReadonly<OciConfig>;
/** A process as the runtime-spec describes it: the config's, or an exec's process.json. */
export type ProcessInput = NonNullable<ConfigInput['process']>;
type MountInput = DeepReadonly<OciMount>;

export interface CompileInput {
  config: ConfigInput;
  /** Absolute host path of the root filesystem. */
  rootfs: string;
  /** Folder relative bind-mount sources are resolved against (the bundle). */
  bundleDir: string;
  /** Replaces `process.args` when given. */
  args?: readonly string[];
  /** MS_MOVE + chroot instead of pivot_root (rootfs on ramfs/initramfs). */
  noPivotRoot?: boolean;
  /**
   * The container's stdio is a terminal the parent placed at fds 0-2: the helper makes it
   * the controlling terminal and binds it over /dev/console. Default: process.terminal.
   */
  terminal?: boolean;
  /** The sync/report socket's fd number in the child. */
  syncFd: number;
  /** Every fd from this number up is closed when the command starts. */
  firstClosedFd: number;
  /** The first fd number free in the child for files the program needs (namespace files). */
  firstExtraFd: number;
  /** Re-armed after the identity switch, which clears it. */
  parentDeathSignal?: number;
  /** Container id: names the cgroup the container gets when its config asks for one. */
  id: string;
  /** What the network strategies need of the namespaces (@nsinit/network's config). */
  network?: {
    /** A `netns` strategy: the network namespace to join, as a path in linux.namespaces would. */
    joinPath?: string;
    /** loopback, veth or routes: configured in the container's own network namespace. */
    configuresNamespace: boolean;
  };
  host: HostFacts;
  /**
   * create: the init waits on a FIFO (placed by the parent at `execFifoFd`) after everything
   * but the exec, until start; the command's executable is looked up before, so a missing one
   * fails create, as under runc.
   */
  awaitStart?: boolean;
  /** A fresh session keyring of this name (runc: `_ses.<id>`), so the container does not share ours; null to keep ours. */
  sessionKeyring?: string | null;
}

/** The cgroup the parent creates for the container (step 7), and what to set in it. */
export interface CgroupPlan {
  /** For createCgroupManager() of @nsinit/cgroups. */
  options: CgroupManagerOptions;
  resources: CgroupResources;
  /** Where the cgroup will be, per hierarchy (for mounting it into the container). */
  paths: Omit<CgroupPaths, 'created'>;
}

export interface CompiledProgram {
  ops: InitOp[];
  cloneFlags: number;
  /** Things runc would warn about: the program still runs. */
  warnings: string[];
  /** The container's own cgroup: every container gets one, with the default device rules at least. */
  cgroup: CgroupPlan;
  /** Namespaces to join: the parent opens each `path` and places it at `fd` in the child. */
  namespaceFiles: { type: NamespaceType; path: string; fd: number }[];
  /** With a terminal and a fresh /dev: where the parent places a detached mount of the console's pts (for /dev/console). */
  consoleMountFd: number | null;
  /** With awaitStart: where the parent places the read end of the exec FIFO. */
  execFifoFd: number | null;
  /**
   * With a terminal and a devpts at /dev/pts: the parent mounts that devpts itself (detached,
   * with these options and attributes), opens the console in it and places the mount at `fd`;
   * the helper attaches it at /dev/pts. So the console is /dev/pts/N of the container's own
   * devpts (ttyname works), as under runc.
   */
  consoleDevpts: { fd: number; options: string[]; attrSet: number } | null;
}

/** Namespaces the helper can join with setns: it is single-threaded, but a pid namespace
 * needs a fork, a mount namespace would swap the root it works in, a user namespace its ids. */
const JOINABLE: readonly NamespaceType[] = ['ipc', 'uts', 'network', 'cgroup'];

const DEFAULT_UMASK = 0o022;
/** The kernel's soft RLIMIT_NOFILE for init (INR_OPEN_CUR). */
const DEFAULT_OPEN_FILES = 1024n;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** The devices every container gets (runtime-spec "Default Devices"). */
export const DEFAULT_DEVICES = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
] as const;

const DEV_SYMLINKS: readonly [target: string, path: string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

/** `/tmp/` and `/a/./b/../c` name the same places as `/tmp` and `/a/c`; policy compares paths, so clean them first. */
function cleanPath(path: string): string {
  const clean = posix.normalize(path);
  return clean.length > 1 && clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

function withCleanPaths(config: ConfigInput): ConfigInput {
  const linux = config.linux;
  return {
    ...config,
    ...(config.process ? { process: { ...config.process, cwd: cleanPath(config.process.cwd) } } : {}),
    ...(config.mounts
      ? { mounts: config.mounts.map((m) => ({ ...m, destination: cleanPath(m.destination) })) }
      : {}),
    ...(linux
      ? {
          linux: {
            ...linux,
            ...(linux.devices
              ? { devices: linux.devices.map((d) => ({ ...d, path: cleanPath(d.path) })) }
              : {}),
            ...(linux.maskedPaths ? { maskedPaths: linux.maskedPaths.map(cleanPath) } : {}),
            ...(linux.readonlyPaths ? { readonlyPaths: linux.readonlyPaths.map(cleanPath) } : {}),
          },
        }
      : {}),
  };
}

export function compileProgram(rawInput: CompileInput): CompiledProgram {
  const input = { ...rawInput, config: withCleanPaths(rawInput.config) };
  const { config } = input;
  const warnings: string[] = [];
  const process = config.process;
  if (!process) throw new InvalidConfigError('process', 'is required to run a container');
  const args = input.args ?? process.args ?? [];
  if (args.length === 0)
    throw new InvalidConfigError('process.args', 'must not be empty (give a command to run)');
  rejectUnsupported(config);
  const namespaces = namespaceSet(config);
  const terminal = input.terminal ?? process.terminal ?? false;
  const cgroup = planCgroup(input);

  const ops: InitOp[] = [{ op: 'dumpable', on: false }, { op: 'waitGo', fd: input.syncFd }, { op: 'setsid' }];
  if (input.sessionKeyring) ops.push({ op: 'joinSessionKeyring', name: input.sessionKeyring });
  // Joined before anything else, in runc's order, so every later op runs inside them.
  const namespaceFiles: CompiledProgram['namespaceFiles'] = [];
  const networkPath = config.linux?.namespaces?.find((n) => n.type === 'network')?.path;
  if (input.network?.joinPath && networkPath && networkPath !== input.network.joinPath) {
    throw new InvalidConfigError(
      'linux.namespaces',
      `the network path ${networkPath} and the netns network ${input.network.joinPath} disagree`,
    );
  }
  if (input.network?.configuresNamespace && !namespaces.has('network') && !input.network.joinPath) {
    throw new InvalidConfigError(
      'networks',
      'loopback, veth and routes configure the container\'s own network namespace: add { "type": "network" } to linux.namespaces',
    );
  }
  for (const type of JOINABLE) {
    const path =
      type === 'network'
        ? (input.network?.joinPath ?? networkPath)
        : config.linux?.namespaces?.find((n) => n.type === type)?.path;
    if (!path) continue;
    const fd = input.firstExtraFd + namespaceFiles.length;
    namespaceFiles.push({ type, path, fd });
    ops.push({ op: 'setns', fd, nstype: NAMESPACE_FLAGS[type] });
  }
  // The terminal at fds 0-2 becomes the controlling terminal of the new session.
  if (terminal) ops.push({ op: 'setCtty', fd: 0 });
  // A cgroup namespace is made after the go signal, so it is rooted at the cgroups
  // the parent moved the process into (step 7), not at ours.
  const joined = new Set(namespaceFiles.map((file) => file.type));
  if (namespaces.has('cgroup') && !joined.has('cgroup'))
    ops.push({ op: 'unshare', flags: NAMESPACE_FLAGS.cgroup });
  if (process.oomScoreAdj !== undefined) {
    // Before the root switch: the host's /proc shows this process whether or not the container mounts one.
    ops.push({ op: 'writeFile', path: '/proc/self/oom_score_adj', data: String(process.oomScoreAdj) });
  }
  const consoleMountFd = terminal ? input.firstExtraFd + namespaceFiles.length : null;
  const rootfsOps = compileRootfs(input, namespaces, cgroup, consoleMountFd);
  ops.push(...rootfsOps.ops);

  for (const [key, value] of Object.entries(config.linux?.sysctl ?? {})) {
    ops.push({ op: 'writeFile', path: sysctlPath(key, namespaces, namespaceFiles, input.host), data: value });
  }
  for (const path of config.linux?.maskedPaths ?? []) ops.push({ op: 'mask', path });
  for (const path of config.linux?.readonlyPaths ?? []) {
    ops.push({
      op: 'setattr',
      path,
      attrSet: MountAttr.RDONLY,
      attrClr: 0,
      propagation: 0,
      bindFirst: true,
      recursive: true,
      ignoreMissing: true,
    });
  }
  if (config.hostname !== undefined && config.hostname !== '') {
    if (!namespaces.has('uts'))
      throw new InvalidConfigError('hostname', 'unable to set hostname without a private UTS namespace');
    ops.push({ op: 'sethostname', name: config.hostname });
  }
  if (config.domainname !== undefined && config.domainname !== '') {
    if (!namespaces.has('uts'))
      throw new InvalidConfigError('domainname', 'unable to set domainname without a private UTS namespace');
    ops.push({ op: 'setdomainname', name: config.domainname });
  }

  const umask = process.user?.umask ?? DEFAULT_UMASK;
  if (umask > 0o777)
    throw new InvalidConfigError(
      'process.user.umask',
      `0o${umask.toString(8)} is more than permission bits (at most 0o777)`,
    );
  ops.push({ op: 'umask', mask: umask });
  ops.push(...compileRlimits(process, input.host));
  ops.push(...compileIdentity(process, input.host, input.parentDeathSignal, warnings));
  if (process.noNewPrivileges) ops.push({ op: 'noNewPrivs' });
  const exec = { args: [...args], env: [...(process.env ?? [])] };
  // After the namespace files, the console's mount and its devpts.
  const execFifoFd = input.awaitStart
    ? consoleMountFd === null
      ? input.firstExtraFd + namespaceFiles.length
      : consoleMountFd + 2
    : null;
  ops.push({ op: 'chdir', path: process.cwd });
  if (execFifoFd !== null) ops.push({ op: 'checkExec', ...exec });
  ops.push({ op: 'cloexecFrom', fd: input.firstClosedFd }, { op: 'resetSignals' });
  // Signals are back to their defaults while it waits: a created container can be killed.
  if (execFifoFd !== null) ops.push({ op: 'awaitStart', fd: execFifoFd });
  ops.push({ op: 'exec', ...exec });

  let cloneFlags = 0;
  for (const type of namespaces)
    if (type !== 'cgroup' && !joined.has(type)) cloneFlags |= NAMESPACE_FLAGS[type];
  return {
    ops,
    cloneFlags,
    warnings,
    cgroup,
    namespaceFiles,
    consoleMountFd: rootfsOps.consoleBound ? consoleMountFd : null,
    execFifoFd,
    consoleDevpts: rootfsOps.consoleDevpts,
  };
}

/** What compileExecProcess needs: a process to start inside a running container. */
export interface ExecProcessInput {
  process: ProcessInput;
  /** Where the parent places a pidfd of the container's init. */
  pidfdFd: number;
  /** CLONE_NEW* flags of the init's namespaces that differ from ours: the ones to enter. */
  namespaces: number;
  syncFd: number;
  firstClosedFd: number;
  /** Re-armed after the identity switch; 0 for a detached process. */
  parentDeathSignal?: number;
  sessionKeyring?: string | null;
  host: HostFacts;
}

/**
 * The program of `exec` into a running container: every namespace of its init entered at once
 * through a pidfd (the cgroup is the parent's to join), a fork into the pid namespace with the
 * parent's parent as the new process's parent, then the process settings as for a container's
 * command — identity and capabilities, no_new_privs, rlimits, cwd checked inside the root — and
 * the exec. Nothing of the host is left to it: every fd from firstClosedFd up is closed.
 */
export function compileExecProcess(input: ExecProcessInput): { ops: InitOp[]; warnings: string[] } {
  const { process } = input;
  const warnings: string[] = [];
  if (!process.args || process.args.length === 0)
    throw new InvalidConfigError('process.args', 'must not be empty (give a command to run)');
  if (!process.cwd?.startsWith('/')) throw new InvalidConfigError('process.cwd', 'must be an absolute path');
  rejectUnsupportedProcess(process);
  const ops: InitOp[] = [
    { op: 'dumpable', on: false },
    { op: 'waitGo', fd: input.syncFd },
  ];
  if (input.namespaces !== 0)
    ops.push({ op: 'setns', fd: input.pidfdFd, nstype: input.namespaces, pidfd: true });
  ops.push({ op: 'close', fd: input.pidfdFd }, { op: 'cloneParent' });
  if (process.terminal) ops.push({ op: 'setsid' }, { op: 'setCtty', fd: 0 });
  if (input.sessionKeyring) ops.push({ op: 'joinSessionKeyring', name: input.sessionKeyring });
  if (process.oomScoreAdj !== undefined)
    ops.push({ op: 'writeFile', path: '/proc/self/oom_score_adj', data: String(process.oomScoreAdj) });
  const umask = process.user?.umask;
  if (umask !== undefined) ops.push({ op: 'umask', mask: umask });
  ops.push(...compileRlimits(process, input.host));
  ops.push(...compileIdentity(process, input.host, input.parentDeathSignal, warnings));
  if (process.noNewPrivileges) ops.push({ op: 'noNewPrivs' });
  ops.push(
    { op: 'chdir', path: process.cwd },
    { op: 'cloexecFrom', fd: input.firstClosedFd },
    { op: 'resetSignals' },
    { op: 'exec', args: [...process.args], env: [...(process.env ?? [])] },
  );
  return { ops, warnings };
}

/** The config field an op of the program comes from, to name it when the program's limits are hit. */
function fieldOfOp(op: InitOp | undefined, opField: string | undefined): string {
  switch (op?.op) {
    case 'exec':
      return opField?.startsWith('env') ? 'process.env' : 'process.args';
    case 'setgroups':
      return 'process.user.additionalGids';
    case 'sethostname':
      return 'hostname';
    case 'setdomainname':
      return 'domainname';
    case 'chdir':
      return 'process.cwd';
    case 'bind':
    case 'fsmount':
    case 'mkdir':
    case 'createFile':
      return 'mounts';
    case 'mknod':
    case 'chown':
      return 'linux.devices';
    case 'writeFile':
      return op.path.startsWith('/proc/sys/') ? 'linux.sysctl' : 'process.oomScoreAdj';
    case 'mask':
      return 'linux.maskedPaths';
    case 'setattr':
      return 'linux.readonlyPaths';
    default:
      return 'the config';
  }
}

/**
 * Encodes a compiled program for the helper. A config too big for the program's limits is
 * an error about the config, naming the field that made it so ("mounts: 5000 entries ..."),
 * not about an op the user never wrote.
 */
export function encodeCompiled(ops: readonly InitOp[], config: ConfigInput): Buffer {
  if (ops.length > PROGRAM_LIMITS.maxOps) {
    const lists: [string, number][] = [
      ['mounts', config.mounts?.length ?? 0],
      ['linux.devices', config.linux?.devices?.length ?? 0],
      ['linux.maskedPaths', config.linux?.maskedPaths?.length ?? 0],
      ['linux.readonlyPaths', config.linux?.readonlyPaths?.length ?? 0],
      ['linux.sysctl', Object.keys(config.linux?.sysctl ?? {}).length],
      ['process.rlimits', config.process?.rlimits?.length ?? 0],
    ];
    const [field, count] = lists.reduce((most, list) => (list[1] > most[1] ? list : most));
    throw new InvalidConfigError(
      field,
      `${count} entries make an init program of ${ops.length} operations; the limit is ${PROGRAM_LIMITS.maxOps}`,
    );
  }
  try {
    return encodeProgram(ops);
  } catch (error) {
    if (!(error instanceof ProgramEncodeError)) throw error;
    const op = error.opIndex === undefined ? undefined : ops[error.opIndex];
    if (/grows past/.test(error.message)) {
      throw new InvalidConfigError(
        'the config',
        `makes an init program larger than its limit of ${PROGRAM_LIMITS.maxBytes} bytes`,
      );
    }
    // "init program op 7 (exec "sh"): env[3] is 200000 bytes long, ..." -> process.env[3]: is 200000 bytes long, ...
    const field = error.field ?? '';
    const detail = error.message.slice(error.message.indexOf('): ') + 3);
    const problem = field !== '' && detail.startsWith(`${field} `) ? detail.slice(field.length + 1) : detail;
    throw new InvalidConfigError(`${fieldOfOp(op, field)}${/\[\d+\]$/.exec(field)?.[0] ?? ''}`, problem);
  }
}

/** Process fields nsinit cannot honour yet: refused, never ignored (a container's or an exec's). */
function rejectUnsupportedProcess(process: ProcessInput): void {
  if (process.apparmorProfile) throw new UnsupportedFeatureError('process.apparmorProfile');
  if (process.selinuxLabel) throw new UnsupportedFeatureError('process.selinuxLabel');
  if (process.ioPriority) throw new UnsupportedFeatureError('process.ioPriority');
  if (process.scheduler) throw new UnsupportedFeatureError('process.scheduler');
  if (process.execCPUAffinity) throw new UnsupportedFeatureError('process.execCPUAffinity');
}

function rejectUnsupported(config: ConfigInput): void {
  rejectUnsupportedProcess(config.process!);
  if (config.hooks && Object.values(config.hooks).some((list) => Array.isArray(list) && list.length > 0)) {
    throw new UnsupportedFeatureError('hooks');
  }
  const linux = config.linux;
  if (!linux) return;
  for (const [index, namespace] of (linux.namespaces ?? []).entries()) {
    if (namespace.type === 'user') throw new UnsupportedFeatureError('user namespaces');
    if (namespace.path && !JOINABLE.includes(namespace.type as NamespaceType)) {
      throw new UnsupportedFeatureError(
        `linux.namespaces[${index}].path`,
        `joining an existing ${namespace.type} namespace`,
      );
    }
  }
  if (linux.uidMappings?.length || linux.gidMappings?.length)
    throw new UnsupportedFeatureError('linux.uidMappings/gidMappings');
  if (linux.timeOffsets && Object.keys(linux.timeOffsets).length > 0)
    throw new UnsupportedFeatureError('linux.timeOffsets');
  if (linux.seccomp) throw new UnsupportedFeatureError('linux.seccomp');
  if (linux.cgroupsPath?.includes(':')) {
    throw new UnsupportedFeatureError(
      'linux.cgroupsPath',
      `"${linux.cgroupsPath}" is a systemd slice:prefix:name path`,
    );
  }
  if (linux.resources?.rdma && Object.keys(linux.resources.rdma).length > 0)
    throw new UnsupportedFeatureError('linux.resources.rdma');
  if (linux.intelRdt) throw new UnsupportedFeatureError('linux.intelRdt');
  if (linux.personality) throw new UnsupportedFeatureError('linux.personality');
  if (linux.mountLabel) throw new UnsupportedFeatureError('linux.mountLabel');
  for (const [index, mount] of (config.mounts ?? []).entries()) {
    if (mount.uidMappings?.length || mount.gidMappings?.length) {
      throw new UnsupportedFeatureError(`mounts[${index}].uidMappings/gidMappings`, 'id-mapped mounts');
    }
  }
}

function namespaceSet(config: ConfigInput): Set<NamespaceType> {
  const namespaces = new Set<NamespaceType>();
  for (const namespace of config.linux?.namespaces ?? []) namespaces.add(namespace.type as NamespaceType);
  if (!namespaces.has('mount')) {
    throw new InvalidConfigError(
      'linux.namespaces',
      'nsinit needs a private mount namespace (add { "type": "mount" })',
    );
  }
  return namespaces;
}

function rlimitValue(value: number | bigint): bigint {
  const big = BigInt(value);
  return big < 0n || big > RLIM_INFINITY ? RLIM_INFINITY : big;
}

// ---------------------------------------------------------------------------
// Root filesystem: propagation, bind, mounts, devices, root switch.

function isUnder(path: string, ancestor: string): boolean {
  return ancestor === '/' ? path !== '/' : path === ancestor || path.startsWith(`${ancestor}/`);
}

function isBind(mount: MountInput): boolean {
  return mount.type === 'bind' || (mount.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/**
 * Every container gets a cgroup of its own, as under runc: its device rules (deny all but
 * the standard nodes, whatever else the config asks) are what keeps CAP_MKNOD from opening
 * the host's disks, and its directories are what the container's /sys/fs/cgroup shows.
 */
function planCgroup(input: CompileInput): CgroupPlan {
  const linux = input.config.linux;
  const resources = resourcesFromOci(linux?.resources, linux?.devices);
  const options: CgroupManagerOptions = {
    ...(linux?.cgroupsPath ? { path: linux.cgroupsPath } : { name: `nsinit-${input.id}` }),
    layout: input.host.cgroupLayout(),
  };
  try {
    return { options, resources, paths: planCgroupPaths(options) };
  } catch (error) {
    // Placement is all a plan can fail at, and with a cgroupsPath that is where it is placed.
    if (!linux?.cgroupsPath || !(error instanceof CgroupError)) throw error;
    throw new InvalidConfigError('linux.cgroupsPath', error.message.replace(/^path /, ''));
  }
}

/** `consoleBound`: whether /dev/console was bound (only in a fresh /dev), so the parent passes its mount. */
function compileRootfs(
  input: CompileInput,
  namespaces: Set<NamespaceType>,
  cgroup: CgroupPlan,
  consoleMountFd: number | null,
): { ops: InitOp[]; consoleBound: boolean; consoleDevpts: CompiledProgram['consoleDevpts'] } {
  const { config, rootfs } = input;
  const mounts = config.mounts ?? [];
  const ops: InitOp[] = [];

  // The host's own root needs no root switch: the private mount namespace already
  // isolates every mount made below, and there is no old root to detach.
  const switchRoot = rootfs !== '/';
  const propagation = rootPropagation(
    config.linux?.rootfsPropagation,
    switchRoot && (input.noPivotRoot ?? false),
  );
  ops.push({ op: 'setattr', path: '/', attrSet: 0, attrClr: 0, ...propagation });
  // Named by its real path (run() checked): the helper refuses any symlink on the way, so none can be swapped in.
  if (switchRoot) ops.push({ op: 'openRoot', path: rootfs, noSymlinks: true });

  // A destination is created right after the mount that contains it; those in
  // no mount are created first, while the root may still be written.
  const containing = (path: string, before: number): number => {
    for (let j = before - 1; j >= 0; j--)
      if (isUnder(path, mounts[j]!.destination) || path === mounts[j]!.destination) return j;
    return -1;
  };
  const ensure = (index: number): InitOp[] => {
    const mount = mounts[index]!;
    if (isBind(mount) && input.host.isDirectory(bindSource(mount, input.bundleDir)) === false) {
      // A file's folder may be missing from the image (podman binds /run/.containerenv): made
      // first, as runc does.
      const parent = posix.dirname(mount.destination);
      return [
        ...(parent === '/' ? [] : [{ op: 'mkdir', path: parent, mode: 0o755 } as const]),
        { op: 'createFile', path: mount.destination, mode: 0o644 },
      ];
    }
    return [{ op: 'mkdir', path: mount.destination, mode: 0o755 }];
  };
  const cwd = config.process!.cwd;
  const cwdParent = containing(cwd, mounts.length);
  for (const [index, mount] of mounts.entries()) {
    if (containing(mount.destination, index) < 0) ops.push(...ensure(index));
  }
  if (cwdParent < 0 && cwd !== '/') ops.push({ op: 'mkdir', path: cwd, mode: 0o755 });
  // The root becomes a mount of its own, read-only from its first instant when asked
  // (and with every mount under it: a host root's submounts too).
  const rootAttrs = config.root?.readonly ? MountAttr.RDONLY : 0;
  if (switchRoot) ops.push({ op: 'openRoot', path: '/', bind: true, attrSet: rootAttrs });
  else if (rootAttrs !== 0)
    ops.push({ op: 'setattr', path: '/', attrSet: rootAttrs, attrClr: 0, propagation: 0, recursive: true });

  let devMounted = false;
  let devptsMounted = false;
  let consoleDevpts: CompiledProgram['consoleDevpts'] = null;
  for (const [index, mount] of mounts.entries()) {
    if (containing(mount.destination, index) >= 0) ops.push(...ensure(index));
    const compiled = compileMount(mount, index, input, namespaces, cgroup);
    const fresh = compiled.length === 1 ? compiled[0]! : null;
    if (
      consoleMountFd !== null &&
      devMounted &&
      mount.destination === '/dev/pts' &&
      fresh?.op === 'fsmount' &&
      fresh.fstype === 'devpts'
    ) {
      // The console's devpts is the parent's to make (see CompiledProgram.consoleDevpts).
      consoleDevpts = { fd: consoleMountFd + 1, options: [...fresh.options], attrSet: fresh.attrSet };
      ops.push({ op: 'bindFd', fd: consoleDevpts.fd, target: '/dev/pts', directory: true });
    } else {
      ops.push(...compiled);
    }
    if (mount.destination === '/dev') devMounted = !isBind(mount);
    if (mount.destination === '/dev/pts') devptsMounted = true;
  }
  if (cwdParent >= 0) ops.push({ op: 'mkdir', path: cwd, mode: 0o755 });

  // Device nodes go only into a /dev the container got fresh: never into the image's own files.
  if (devMounted) ops.push(...compileDevices(input, devptsMounted, consoleMountFd));
  if (switchRoot) ops.push(input.noPivotRoot ? { op: 'moveRoot' } : { op: 'pivotRoot' });
  return {
    ops,
    consoleBound: devMounted && consoleMountFd !== null,
    consoleDevpts,
  };
}

function rootPropagation(
  requested: string | undefined,
  noPivotRoot: boolean,
): { propagation: Propagation; recursive: boolean } {
  // rprivate, as the seed did; rslave without pivot_root (as the seed did too), since the
  // old root stays underneath and a private one is what runc calls unsafe there.
  if (requested === undefined || requested === '')
    return { propagation: noPivotRoot ? MS.SLAVE : MS.PRIVATE, recursive: true };
  const change = PROPAGATION_OPTIONS[requested];
  if (change === undefined)
    throw new InvalidConfigError('linux.rootfsPropagation', `unknown propagation "${requested}"`);
  // A shared root needs its parent mount made private for pivot_root: not done yet.
  if (change.propagation === MS.SHARED)
    throw new UnsupportedFeatureError(`linux.rootfsPropagation "${requested}"`);
  if (noPivotRoot && change.propagation === MS.PRIVATE) {
    throw new InvalidConfigError('linux.rootfsPropagation', `"${requested}" is not safe without pivot_root`);
  }
  return change;
}

function bindSource(mount: MountInput, bundleDir: string): string {
  const source = mount.source ?? '';
  if (source === '') return source;
  return source.startsWith('/') ? source : `${bundleDir.replace(/\/$/, '')}/${source}`;
}

/**
 * Files inside /proc a mount may cover (runc's list, for lxcfs and the like). Anything else
 * in /proc — /proc/sys, /proc/self/attr, /proc/<pid> — would let a config reach the host's
 * kernel settings or another process's files.
 */
const PROC_FILES_MOUNTABLE: ReadonlySet<string> = new Set([
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/net/dev',
  '/proc/sys/kernel/ns_last_pid',
  '/proc/sys/crypto/fips_enabled',
]);

type Placement = Pick<Extract<InitOp, { op: 'bind' }>, 'targetRealDir' | 'targetOnProc' | 'sourceProcRoot'>;

/** Where a mount may go, and what the helper must check there (/proc and /sys are policed). */
function placement(
  mount: MountInput,
  field: string,
  bind: boolean,
  host: HostFacts,
  bundleDir: string,
): Placement {
  const destination = mount.destination;
  if (!bind && !mount.type)
    throw new InvalidConfigError(`${field}.type`, 'is required for a mount that is not a bind mount');
  if (destination === '/proc') {
    if (bind) {
      const source = bindSource(mount, bundleDir);
      if (host.isProcRoot(source) === false) {
        throw new InvalidConfigError(
          `${field}.source`,
          `${source} is not a procfs: /proc can only be a fresh proc or a bind of a whole procfs`,
        );
      }
      return { targetRealDir: true, targetOnProc: true, sourceProcRoot: true };
    }
    if (mount.type !== 'proc') {
      throw new InvalidConfigError(
        `${field}.type`,
        `"${mount.type}" on /proc: /proc can only be a fresh proc or a bind of a whole procfs`,
      );
    }
    return { targetRealDir: true, targetOnProc: true };
  }
  if (mount.type === 'proc')
    throw new InvalidConfigError(`${field}.destination`, 'proc may only be mounted on /proc');
  if (isUnder(destination, '/proc')) {
    if (!PROC_FILES_MOUNTABLE.has(destination)) {
      throw new InvalidConfigError(
        `${field}.destination`,
        `${destination} is inside /proc, where only ${[...PROC_FILES_MOUNTABLE].join(', ')} may be mounted over`,
      );
    }
    return { targetOnProc: true };
  }
  return destination === '/sys' ? { targetRealDir: true } : {};
}

/** Turns off every op flag that is false, so ops carry only what they set. */
function flagsOf<T extends Record<string, boolean | undefined>>(flags: T): Partial<T> {
  return Object.fromEntries(Object.entries(flags).filter(([, on]) => on === true)) as Partial<T>;
}

function compileMount(
  mount: MountInput,
  index: number,
  input: CompileInput,
  namespaces: Set<NamespaceType>,
  cgroup: CgroupPlan,
): InitOp[] {
  const field = `mounts[${index}]`;
  const parsed = parseMountOptions(mount.options, `${field}.options`);
  const target = mount.destination;
  const bind = isBind(mount);
  const where = placement(mount, field, bind, input.host, input.bundleDir);
  if (bind) {
    const source = bindSource(mount, input.bundleDir);
    if (source === '') throw new InvalidConfigError(`${field}.source`, 'a bind mount needs a source');
    if (input.host.isDirectory(source) === null)
      throw new InvalidConfigError(`${field}.source`, `${source} does not exist`);
    const fsOptions = bindFsOptions(parsed);
    if (fsOptions.length > 0) {
      throw new InvalidConfigError(
        `${field}.options`,
        `bind mounts cannot have filesystem options (${fsOptions.join(',')})`,
      );
    }
    return [
      {
        op: 'bind',
        source,
        target,
        attrSet: parsed.attrSet,
        attrClr: parsed.attrClr,
        propagation: parsed.propagation,
        ...flagsOf({
          recursive: parsed.recursive,
          propagationRecursive: parsed.propagationRecursive,
          ...where,
        }),
      },
    ];
  }
  if (mount.type === 'cgroup' || mount.type === 'cgroup2') {
    // A joined cgroup namespace is someone else's: it may be rooted anywhere, even at the host's root.
    const cgroupNamespace = input.config.linux?.namespaces?.find((n) => n.type === 'cgroup');
    const ownNamespace = namespaces.has('cgroup') && cgroupNamespace !== undefined && !cgroupNamespace.path;
    return compileCgroupMount(mount, parsed, input, ownNamespace, cgroup);
  }
  if (!mount.type)
    throw new InvalidConfigError(`${field}.type`, 'is required for a mount that is not a bind mount');
  return [
    {
      op: 'fsmount',
      fstype: mount.type,
      source: mount.source ?? mount.type,
      options: parsed.fsOptions,
      target,
      attrSet: parsed.attrSet,
      propagation: parsed.propagation,
      dirs: [],
      links: [],
      ...flagsOf({ targetRealDir: where.targetRealDir, targetOnProc: where.targetOnProc }),
    },
  ];
}

/**
 * A `cgroup` mount shows the container its own cgroup and nothing else. With a cgroup
 * namespace of its own, fresh mounts of every hierarchy (the namespace roots them at the
 * container's cgroup), read-only or not as the config says; otherwise binds of the
 * container's own cgroup directories, always read-only — a writable view without the
 * namespace would be a way to the host's cgroups.
 */
function compileCgroupMount(
  mount: MountInput,
  parsed: ParsedMountOptions,
  input: CompileInput,
  ownNamespace: boolean,
  cgroup: CgroupPlan,
): InitOp[] {
  const target = mount.destination;
  const layout = input.host.cgroupLayout();
  type Hierarchy = CgroupHierarchy & { fsType: 'cgroup' | 'cgroup2'; controllers: string[] };
  const hierarchies: Hierarchy[] = [
    ...layout.v1.map((h) => ({ ...h, fsType: 'cgroup' as const })),
    ...(layout.unified ? [{ ...layout.unified, fsType: 'cgroup2' as const, controllers: [] }] : []),
  ];
  const attrSet = parsed.attrSet | (ownNamespace ? 0 : MountAttr.RDONLY);
  const hierarchyOp = (hierarchy: Hierarchy, at: string): InitOp => {
    if (ownNamespace) {
      return {
        op: 'fsmount',
        fstype: hierarchy.fsType,
        source: 'cgroup',
        options: hierarchy.controllers,
        target: at,
        attrSet,
        propagation: 0,
        dirs: [],
        links: [],
      };
    }
    const own =
      hierarchy.fsType === 'cgroup2'
        ? cgroup.paths.unified?.directory
        : cgroup.paths.v1[hierarchy.controllers[0]!];
    if (own === undefined) throw new Error(`no cgroup planned in the hierarchy at ${hierarchy.mountPoint}`);
    return {
      op: 'bind',
      source: own,
      target: at,
      attrSet,
      attrClr: parsed.attrClr & ~attrSet,
      propagation: 0,
    };
  };

  const legacy = hierarchies.filter((h) => h.fsType === 'cgroup');
  if (legacy.length === 0) {
    const unified = hierarchies[0];
    if (unified === undefined)
      throw new InvalidConfigError('mounts', `${target}: the host has no cgroup hierarchy to mount`);
    return [hierarchyOp(unified, target)];
  }
  // A tmpfs holding a directory per hierarchy (and a link per co-mounted controller, as on
  // the host), made before it becomes read-only and visible; then each hierarchy on its directory.
  const dirs = hierarchies.map((h) => h.mountPoint.slice(h.mountPoint.lastIndexOf('/') + 1));
  const links: string[] = [];
  for (const name of dirs.filter((dir) => dir.includes(','))) {
    for (const part of name.split(',')) {
      if (!dirs.includes(part) && !links.includes(part)) links.push(part, name);
    }
  }
  return [
    {
      op: 'fsmount',
      fstype: 'tmpfs',
      source: 'tmpfs',
      options: ['mode=755'],
      target,
      attrSet: MountAttr.NOSUID | MountAttr.NODEV | MountAttr.NOEXEC | (attrSet & MountAttr.RDONLY),
      propagation: 0,
      dirs,
      links,
    },
    ...hierarchies.map((hierarchy, i) => hierarchyOp(hierarchy, `${target}/${dirs[i]}`)),
  ];
}

/** A path inside the fresh /dev: no `.`, `..` or empty component that could lead elsewhere. */
function isDevicePath(path: string): boolean {
  const [root, dev, ...rest] = path.split('/');
  return (
    root === '' &&
    dev === 'dev' &&
    rest.length > 0 &&
    rest.every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

function compileDevices(
  input: CompileInput,
  devptsMounted: boolean,
  consoleMountFd: number | null,
): InitOp[] {
  const ops: InitOp[] = [];
  const configured = input.config.linux?.devices ?? [];
  const configuredPaths = new Set(configured.map((d) => d.path));
  for (const device of DEFAULT_DEVICES) {
    if (configuredPaths.has(device.path)) continue;
    ops.push({
      op: 'mknod',
      path: device.path,
      mode: S_IFCHR | 0o666,
      major: device.major,
      minor: device.minor,
    });
  }
  for (const [index, device] of configured.entries()) {
    const field = `linux.devices[${index}]`;
    if (!isDevicePath(device.path))
      throw new InvalidConfigError(`${field}.path`, `${device.path} is not under /dev`);
    const kind = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO }[device.type as 'c' | 'u' | 'b' | 'p'];
    if (kind === undefined)
      throw new InvalidConfigError(`${field}.type`, `unknown device type "${device.type}"`);
    if (kind !== S_IFIFO && (device.major === undefined || device.minor === undefined)) {
      throw new InvalidConfigError(field, 'a character or block device needs major and minor numbers');
    }
    const parent = device.path.slice(0, device.path.lastIndexOf('/'));
    if (parent !== '/dev') ops.push({ op: 'mkdir', path: parent, mode: 0o755 });
    ops.push({
      op: 'mknod',
      path: device.path,
      mode: kind | ((device.fileMode ?? 0o666) & 0o7777),
      major: device.major ?? 0,
      minor: device.minor ?? 0,
    });
    if ((device.uid ?? 0) !== 0 || (device.gid ?? 0) !== 0) {
      ops.push({ op: 'chown', path: device.path, uid: device.uid ?? 0, gid: device.gid ?? 0 });
    }
  }
  if (consoleMountFd !== null) {
    // An empty file as the target, then the pts on it: nothing in the image is followed.
    ops.push(
      { op: 'createFile', path: '/dev/console', mode: 0o600 },
      { op: 'bindFd', fd: consoleMountFd, target: '/dev/console' },
    );
  }
  for (const [target, path] of DEV_SYMLINKS) ops.push({ op: 'symlink', target, path });
  if (input.host.hasKcore) ops.push({ op: 'symlink', target: '/proc/kcore', path: '/dev/core' });
  if (devptsMounted) ops.push({ op: 'symlink', target: 'pts/ptmx', path: '/dev/ptmx' });
  return ops;
}

const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

function isOwnNamespace(host: HostFacts, type: NamespaceType, path: string): boolean {
  try {
    return host.isOwnNamespace(type, path);
  } catch (error) {
    throw new InvalidConfigError(
      'linux.namespaces',
      `the ${type} namespace ${path} cannot be inspected (${systemErrorCode(error) ?? String(error)})`,
    );
  }
}

/**
 * Only sysctls a namespace isolates may be set, and only in a namespace the container
 * has to itself (runc's rule): else the host's would change.
 */
function sysctlPath(
  key: string,
  namespaces: Set<NamespaceType>,
  joined: readonly { type: NamespaceType; path: string }[],
  host: HostFacts,
): string {
  const dotted = key.replaceAll('/', '.');
  const field = `linux.sysctl["${key}"]`;
  if (dotted.split('.').some((part) => part === '' || part === '..'))
    throw new InvalidConfigError(field, 'is not a sysctl name');
  const namespace: NamespaceType | undefined =
    IPC_SYSCTLS.has(dotted) || dotted.startsWith('fs.mqueue.')
      ? 'ipc'
      : dotted.startsWith('net.')
        ? 'network'
        : dotted === 'kernel.hostname' || dotted === 'kernel.domainname'
          ? 'uts'
          : undefined;
  if (namespace === undefined) throw new InvalidConfigError(field, 'is not in a separate kernel namespace');
  const joinedPath = joined.find((file) => file.type === namespace)?.path;
  if (!namespaces.has(namespace) && joinedPath === undefined) {
    throw new InvalidConfigError(field, `needs a private ${namespace} namespace`);
  }
  if (joinedPath !== undefined && isOwnNamespace(host, namespace, joinedPath)) {
    throw new InvalidConfigError(
      field,
      `is not allowed in the ${namespace} namespace nsinit itself runs in (${joinedPath}): it would change the host's`,
    );
  }
  return `/proc/sys/${dotted.replaceAll('.', '/')}`;
}

// ---------------------------------------------------------------------------
// Identity and capabilities, in runc's order: drop the bounding set while
// still privileged, keep capabilities across setuid, then set the final sets.

function capabilityMask(
  names: readonly string[] | undefined,
  field: string,
  host: HostFacts,
  warnings: string[],
): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const number = CAPABILITIES[name as keyof typeof CAPABILITIES];
    // runc warns about a capability it does not know and goes on without it.
    if (number === undefined) {
      warnings.push(`${field}: unknown capability ${name}; ignored`);
      continue;
    }
    if (number > host.capLastCap) {
      warnings.push(`${field}: ${name} is not known to this kernel; ignored`);
      continue;
    }
    mask |= 1n << BigInt(number);
  }
  return mask;
}

/**
 * An absent capabilities section grants nothing: the spec's sets are all empty then (as
 * under runc), whatever the user — root included.
 */
function compileIdentity(
  process: ProcessInput,
  host: HostFacts,
  parentDeathSignal: number | undefined,
  warnings: string[],
): InitOp[] {
  const user = process.user ?? { uid: 0, gid: 0 };
  const caps = process.capabilities ?? {};
  const allCaps = (1n << BigInt(host.capLastCap + 1)) - 1n;
  const bounding = capabilityMask(caps.bounding, 'process.capabilities.bounding', host, warnings);
  const effective = capabilityMask(caps.effective, 'process.capabilities.effective', host, warnings);
  const permitted = capabilityMask(caps.permitted, 'process.capabilities.permitted', host, warnings);
  const inheritable = capabilityMask(caps.inheritable, 'process.capabilities.inheritable', host, warnings);
  let ambient = capabilityMask(caps.ambient, 'process.capabilities.ambient', host, warnings);
  const notRaisable = ambient & ~(permitted & inheritable);
  if (notRaisable !== 0n) {
    // The kernel refuses an ambient capability that is not both permitted and inheritable.
    warnings.push(
      `process.capabilities.ambient: ${capabilityNames(notRaisable).join(', ')} not in both permitted and inheritable; not raised`,
    );
    ambient &= ~notRaisable;
  }
  if ((effective & ~permitted) !== 0n) {
    throw new InvalidConfigError(
      'process.capabilities.effective',
      `${capabilityNames(effective & ~permitted).join(', ')} not in the permitted set`,
    );
  }
  const ops: InitOp[] = [
    { op: 'boundingDrop', mask: allCaps & ~bounding },
    { op: 'keepcaps', on: true },
    { op: 'setgroups', gids: [...(user.additionalGids ?? [])] },
    { op: 'setresgid', gid: user.gid },
    { op: 'setresuid', uid: user.uid },
    { op: 'keepcaps', on: false },
    { op: 'capset', effective, permitted, inheritable },
    { op: 'ambient', mask: ambient },
  ];
  if (parentDeathSignal) ops.push({ op: 'pdeathsig', signal: parentDeathSignal, checkParent: true });
  return ops;
}

function compileRlimits(process: ProcessInput, host: HostFacts): InitOp[] {
  const ops: InitOp[] = [];
  if (!(process.rlimits ?? []).some((limit) => limit.type === 'RLIMIT_NOFILE')) {
    // Node raised its soft limit to the hard one; a container that asked for nothing gets the
    // kernel's default soft limit back, as runc restores the one it found (select() and
    // programs that loop over every fd number expect 1024).
    const hard = host.openFilesHardLimit;
    const soft = hard < DEFAULT_OPEN_FILES ? hard : DEFAULT_OPEN_FILES;
    ops.push({ op: 'setrlimit', resource: RLIMITS.RLIMIT_NOFILE, soft, hard });
  }
  for (const [index, limit] of (process.rlimits ?? []).entries()) {
    const resource = RLIMITS[limit.type as keyof typeof RLIMITS];
    if (resource === undefined)
      throw new InvalidConfigError(`process.rlimits[${index}].type`, `unknown rlimit "${limit.type}"`);
    if (BigInt(limit.soft) > BigInt(limit.hard)) {
      throw new InvalidConfigError(
        `process.rlimits[${index}]`,
        `soft limit ${limit.soft} exceeds hard limit ${limit.hard}`,
      );
    }
    ops.push({ op: 'setrlimit', resource, soft: rlimitValue(limit.soft), hard: rlimitValue(limit.hard) });
  }

  return ops;
}

function capabilityNames(mask: bigint): string[] {
  return Object.entries(CAPABILITIES)
    .filter(([, number]) => (mask & (1n << BigInt(number))) !== 0n)
    .map(([name]) => name);
}
