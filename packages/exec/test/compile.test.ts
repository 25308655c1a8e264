// compileProgram is a pure function of the config and the host facts: every test
// feeds a hand-made host and checks the exact init program (and that it encodes).
import { DEFAULT_ALLOWED_DEVICES, type DeviceRule } from '@nsinit/cgroups';
import { encodeProgram, type InitOp, MountFlags as MS, RLIM_INFINITY } from '@nsinit/native';
import {
  CAPABILITIES,
  type CapabilityName,
  DEFAULT_PATH_ENV,
  DOCKER_DEFAULT_CAPABILITIES,
  embeddedDefaultConfig,
  type OciConfig,
  RUNC_MASKED_PATHS,
  RUNC_READONLY_PATHS,
  runcSpecConfig,
} from '@nsinit/spec';
import { describe, expect, it } from 'vitest';
import { type CompiledProgram, type CompileInput, compileProgram, NAMESPACE_FLAGS } from '../src/compile.js';
import { ExecError, InvalidConfigError, UnsupportedFeatureError } from '../src/errors.js';
import type { CgroupLayout } from '@nsinit/cgroups';
import type { HostFacts } from '../src/host.js';

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

interface CgroupMount {
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  controllers: string[];
  ownCgroup: string;
}

/** The layout @nsinit/cgroups would detect for these mounts (each showing its hierarchy's root). */
function layoutOf(mounts: CgroupMount[]): CgroupLayout {
  const v1 = mounts
    .filter((m) => m.fsType === 'cgroup')
    .map((m) => ({ mountPoint: m.mountPoint, root: '/', ownCgroup: m.ownCgroup, controllers: m.controllers }));
  const unifiedMount = mounts.find((m) => m.fsType === 'cgroup2');
  const unified = unifiedMount ? { mountPoint: unifiedMount.mountPoint, root: '/', ownCgroup: unifiedMount.ownCgroup } : null;
  return { mode: v1.length === 0 ? 'v2' : unified ? 'hybrid' : 'v1', v1, unified };
}

/** A systemd-style hybrid host: v1 controllers (cpu,cpuacct co-mounted) plus cgroup2 at unified. */
const HYBRID: CgroupMount[] = [
  {
    mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
    fsType: 'cgroup',
    controllers: ['cpu', 'cpuacct'],
    ownCgroup: '/user.slice',
  },
  {
    mountPoint: '/sys/fs/cgroup/devices',
    fsType: 'cgroup',
    controllers: ['devices'],
    ownCgroup: '/user.slice',
  },
  { mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', controllers: ['memory'], ownCgroup: '/' },
  {
    mountPoint: '/sys/fs/cgroup/systemd',
    fsType: 'cgroup',
    controllers: ['name=systemd'],
    ownCgroup: '/user.slice/session-1.scope',
  },
  {
    mountPoint: '/sys/fs/cgroup/unified',
    fsType: 'cgroup2',
    controllers: [],
    ownCgroup: '/user.slice/session-1.scope',
  },
];

const PURE_V2: CgroupMount[] = [
  { mountPoint: '/sys/fs/cgroup', fsType: 'cgroup2', controllers: [], ownCgroup: '/app.slice' },
];

interface FakeHost {
  capLastCap?: number;
  hasKcore?: boolean;
  /** Undefined: the compiler must not ask (the test fails if it does). */
  cgroups?: CgroupMount[];
  /** Host paths that exist: true for a directory, false for anything else. */
  paths?: Record<string, boolean>;
}

function fakeHost({ capLastCap = 40, hasKcore = false, cgroups, paths = {} }: FakeHost = {}): HostFacts {
  const existing = new Map(Object.entries(paths));
  return {
    capLastCap,
    hasKcore,
    cgroupLayout() {
      if (!cgroups) throw new Error('the compiler read the cgroup layout for a config that needs none');
      return layoutOf(cgroups);
    },
    isDirectory: (path) => existing.get(path) ?? null,
  };
}

function compileInput(config: OciConfig, overrides: Partial<CompileInput> = {}): CompileInput {
  return {
    config,
    rootfs: '/bundle/rootfs',
    bundleDir: '/bundle',
    syncFd: 3,
    firstClosedFd: 3,
    firstExtraFd: 5,
    parentDeathSignal: 9,
    id: 'c1',
    host: fakeHost(),
    ...overrides,
  };
}

/** Compiles, and checks the helper's encoder takes the result: a compiled program must always encode. */
function compile(config: OciConfig, overrides: Partial<CompileInput> = {}): CompiledProgram {
  const program = compileProgram(compileInput(config, overrides));
  expect(encodeProgram(program.ops).length).toBeGreaterThan(12);
  return program;
}

function compileError(config: OciConfig, overrides: Partial<CompileInput> = {}): ExecError {
  try {
    compileProgram(compileInput(config, overrides));
  } catch (error) {
    if (error instanceof ExecError) return error;
    throw error;
  }
  throw new Error('expected compileProgram to throw an ExecError');
}

function busybox(): OciConfig {
  return {
    ociVersion: '1.0.2',
    process: { args: ['sh'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'mount' }] },
  };
}

/** busybox() with a fresh /dev (where device nodes go) and the namespaces a container usually has. */
function withDev(): OciConfig {
  const config = busybox();
  config.mounts!.push({ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] });
  config.linux!.namespaces = [
    { type: 'mount' },
    { type: 'uts' },
    { type: 'ipc' },
    { type: 'network' },
    { type: 'pid' },
  ];
  return config;
}

// ---------------------------------------------------------------------------
// Expected ops.

type MountOp = Extract<InitOp, { op: 'mount' }>;
const mount = (source: string, target: string, fstype: string, flags: number, data = ''): MountOp => ({
  op: 'mount',
  source,
  target,
  fstype,
  flags: BigInt(flags),
  data,
});
const realDirMount = (source: string, target: string, fstype: string, flags: number, data = ''): MountOp => ({
  ...mount(source, target, fstype, flags, data),
  targetRealDir: true,
});
const remount = (target: string, flags: number): InitOp =>
  mount('', target, '', MS.BIND | MS.REMOUNT | flags);
const mkdir = (path: string): InitOp => ({ op: 'mkdir', path, mode: 0o755 });
const mknod = (path: string, mode: number, major: number, minor: number): InitOp => ({
  op: 'mknod',
  path,
  mode,
  major,
  minor,
});
const symlink = (target: string, path: string): InitOp => ({ op: 'symlink', target, path });
const comounted = (target: string, path: string): InitOp => ({
  op: 'symlink',
  target,
  path,
  ignoreExisting: true,
});

const PROLOGUE: InitOp[] = [{ op: 'dumpable', on: false }, { op: 'waitGo', fd: 3 }, { op: 'setsid' }];
const ENTER_ROOTFS: InitOp[] = [
  mount('', '/', '', MS.PRIVATE | MS.REC),
  mount('/bundle/rootfs', '/bundle/rootfs', '', MS.BIND | MS.REC),
  { op: 'openRoot', path: '/bundle/rootfs' },
];
const DEFAULT_NODES: InitOp[] = [
  mknod('/dev/null', S_IFCHR | 0o666, 1, 3),
  mknod('/dev/zero', S_IFCHR | 0o666, 1, 5),
  mknod('/dev/full', S_IFCHR | 0o666, 1, 7),
  mknod('/dev/random', S_IFCHR | 0o666, 1, 8),
  mknod('/dev/urandom', S_IFCHR | 0o666, 1, 9),
  mknod('/dev/tty', S_IFCHR | 0o666, 5, 0),
];
const DEV_SYMLINKS: InitOp[] = [
  symlink('/proc/self/fd', '/dev/fd'),
  symlink('/proc/self/fd/0', '/dev/stdin'),
  symlink('/proc/self/fd/1', '/dev/stdout'),
  symlink('/proc/self/fd/2', '/dev/stderr'),
];
const identity = (uid: number, gid: number, gids: number[] = []): InitOp[] => [
  { op: 'keepcaps', on: true },
  { op: 'setgroups', gids },
  { op: 'setresgid', gid },
  { op: 'setresuid', uid },
  { op: 'keepcaps', on: false },
];
const PDEATHSIG: InitOp = { op: 'pdeathsig', signal: 9, checkParent: true };
const start = (args: string[], env: string[], cwd = '/'): InitOp[] => [
  { op: 'chdir', path: cwd },
  { op: 'cloexecFrom', fd: 3 },
  { op: 'resetSignals' },
  { op: 'exec', args, env },
];

const capMask = (names: readonly string[]): bigint =>
  names.reduce((mask, name) => mask | (1n << BigInt(CAPABILITIES[name as CapabilityName])), 0n);
const ALL_CAPS = (1n << 41n) - 1n;

/** The ops between openRoot and the root switch: mounts, mkdirs, devices. */
function rootfsOps(program: CompiledProgram): InitOp[] {
  const from = program.ops.findIndex((op) => op.op === 'openRoot');
  const to = program.ops.findIndex((op) => op.op === 'pivotRoot' || op.op === 'moveRoot');
  expect(from).toBeGreaterThan(0);
  expect(to).toBeGreaterThan(from);
  return program.ops.slice(from + 1, to);
}

const opsNamed = (program: CompiledProgram, ...names: InitOp['op'][]): InitOp[] =>
  program.ops.filter((op) => names.includes(op.op));

// ---------------------------------------------------------------------------

describe('whole programs', () => {
  it('compiles a minimal busybox config (proc only)', () => {
    const program = compile(busybox());
    expect(program.ops).toEqual([
      ...PROLOGUE,
      ...ENTER_ROOTFS,
      mkdir('/proc'),
      realDirMount('proc', '/proc', 'proc', 0),
      { op: 'pivotRoot' },
      { op: 'umask', mask: 0o022 },
      ...identity(0, 0),
      PDEATHSIG,
      ...start(['sh'], ['PATH=/bin']),
    ]);
    expect(program.cloneFlags).toBe(NAMESPACE_FLAGS.mount);
    expect(program.warnings).toEqual([]);
    expect(program.cgroup).toBeNull();
  });

  it('compiles the runc spec config on a hybrid cgroup host, with its devices cgroup', () => {
    const config = runcSpecConfig();
    config.process!.terminal = false;
    const program = compile(config, { host: fakeHost({ cgroups: HYBRID }) });

    const cgroupFlags = MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RELATIME | MS.RDONLY;
    const runcCaps = capMask(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
    expect(program.ops).toEqual([
      ...PROLOGUE,
      ...ENTER_ROOTFS,
      // Destinations in no mount, then the read-only root, before the first mount.
      mkdir('/proc'),
      mkdir('/dev'),
      mkdir('/sys'),
      { op: 'readonly', path: '/', recursive: true },
      realDirMount('proc', '/proc', 'proc', 0),
      mount('tmpfs', '/dev', 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k'),
      mkdir('/dev/pts'),
      mount(
        'devpts',
        '/dev/pts',
        'devpts',
        MS.NOSUID | MS.NOEXEC,
        'newinstance,ptmxmode=0666,mode=0620,gid=5',
      ),
      mkdir('/dev/shm'),
      mount('shm', '/dev/shm', 'tmpfs', MS.NOSUID | MS.NOEXEC | MS.NODEV, 'mode=1777,size=65536k'),
      mkdir('/dev/mqueue'),
      mount('mqueue', '/dev/mqueue', 'mqueue', MS.NOSUID | MS.NOEXEC | MS.NODEV),
      realDirMount('sysfs', '/sys', 'sysfs', MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY),
      mkdir('/sys/fs/cgroup'),
      // No cgroup namespace: a tmpfs of read-only binds of our own cgroup in each hierarchy.
      mount('tmpfs', '/sys/fs/cgroup', 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755'),
      mkdir('/sys/fs/cgroup/cpu,cpuacct'),
      // The container's own cgroup in every hierarchy, which the parent creates before the spawn.
      mount('/sys/fs/cgroup/cpu,cpuacct/user.slice/nsinit-c1', '/sys/fs/cgroup/cpu,cpuacct', '', MS.BIND | MS.REC),
      remount('/sys/fs/cgroup/cpu,cpuacct', cgroupFlags),
      comounted('cpu,cpuacct', '/sys/fs/cgroup/cpu'),
      comounted('cpu,cpuacct', '/sys/fs/cgroup/cpuacct'),
      mkdir('/sys/fs/cgroup/devices'),
      mount('/sys/fs/cgroup/devices/user.slice/nsinit-c1', '/sys/fs/cgroup/devices', '', MS.BIND | MS.REC),
      remount('/sys/fs/cgroup/devices', cgroupFlags),
      mkdir('/sys/fs/cgroup/memory'),
      mount('/sys/fs/cgroup/memory/nsinit-c1', '/sys/fs/cgroup/memory', '', MS.BIND | MS.REC),
      remount('/sys/fs/cgroup/memory', cgroupFlags),
      mkdir('/sys/fs/cgroup/systemd'),
      mount(
        '/sys/fs/cgroup/systemd/user.slice/session-1.scope/nsinit-c1',
        '/sys/fs/cgroup/systemd',
        '',
        MS.BIND | MS.REC,
      ),
      remount('/sys/fs/cgroup/systemd', cgroupFlags),
      mkdir('/sys/fs/cgroup/unified'),
      mount(
        '/sys/fs/cgroup/unified/user.slice/session-1.scope/nsinit-c1',
        '/sys/fs/cgroup/unified',
        '',
        MS.BIND | MS.REC,
      ),
      remount('/sys/fs/cgroup/unified', cgroupFlags),
      mount('', '/sys/fs/cgroup', '', MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755'),
      ...DEFAULT_NODES,
      ...DEV_SYMLINKS,
      symlink('pts/ptmx', '/dev/ptmx'),
      { op: 'pivotRoot' },
      ...RUNC_MASKED_PATHS.map((path): InitOp => ({ op: 'mask', path })),
      ...RUNC_READONLY_PATHS.map(
        (path): InitOp => ({ op: 'readonly', path, bindFirst: true, recursive: true, ignoreMissing: true }),
      ),
      { op: 'sethostname', name: 'runc' },
      { op: 'umask', mask: 0o022 },
      { op: 'setrlimit', resource: 7, soft: 1024n, hard: 1024n },
      { op: 'boundingDrop', mask: ALL_CAPS & ~runcCaps },
      ...identity(0, 0),
      { op: 'capset', effective: runcCaps, permitted: runcCaps, inheritable: 0n },
      { op: 'ambient', mask: 0n },
      PDEATHSIG,
      { op: 'noNewPrivs' },
      ...start(['sh'], [DEFAULT_PATH_ENV, 'TERM=xterm']),
    ]);
    expect(program.cloneFlags).toBe(
      NAMESPACE_FLAGS.pid |
        NAMESPACE_FLAGS.network |
        NAMESPACE_FLAGS.ipc |
        NAMESPACE_FLAGS.uts |
        NAMESPACE_FLAGS.mount,
    );
    // runc's spec lists ambient capabilities but no inheritable ones: the kernel would refuse them.
    expect(program.warnings).toEqual([
      'process.capabilities.ambient: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE not in both permitted and inheritable; not raised',
    ]);
    expect(program.cgroup).toEqual({
      options: { name: 'nsinit-c1', layout: layoutOf(HYBRID) },
      resources: { devices: [{ allow: false, type: 'a', major: null, minor: null, access: 'rwm' }, ...DEFAULT_ALLOWED_DEVICES] },
      paths: {
        v1: {
          cpu: '/sys/fs/cgroup/cpu,cpuacct/user.slice/nsinit-c1',
          cpuacct: '/sys/fs/cgroup/cpu,cpuacct/user.slice/nsinit-c1',
          devices: '/sys/fs/cgroup/devices/user.slice/nsinit-c1',
          memory: '/sys/fs/cgroup/memory/nsinit-c1',
          'name=systemd': '/sys/fs/cgroup/systemd/user.slice/session-1.scope/nsinit-c1',
        },
        unified: {
          directory: '/sys/fs/cgroup/unified/user.slice/session-1.scope/nsinit-c1',
          mountPoint: '/sys/fs/cgroup/unified',
        },
      },
    });
  });

  it('compiles the embedded default on the host root: no bind, no openRoot, no root switch', () => {
    const program = compile(embeddedDefaultConfig(), { rootfs: '/', bundleDir: '/work', noPivotRoot: true });
    const docker = capMask(DOCKER_DEFAULT_CAPABILITIES);
    expect(program.ops).toEqual([
      ...PROLOGUE,
      mount('', '/', '', MS.PRIVATE | MS.REC),
      mkdir('/proc'),
      mkdir('/dev'),
      mkdir('/tmp'),
      mkdir('/sys'),
      { op: 'readonly', path: '/', recursive: true },
      realDirMount('proc', '/proc', 'proc', MS.NOSUID | MS.NOEXEC | MS.NODEV),
      mount('tmpfs', '/dev', 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k'),
      mkdir('/dev/pts'),
      mount(
        'devpts',
        '/dev/pts',
        'devpts',
        MS.NOSUID | MS.NOEXEC,
        'newinstance,ptmxmode=0666,mode=0620,gid=5',
      ),
      mkdir('/dev/shm'),
      mount('shm', '/dev/shm', 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=1777,size=65536k'),
      mkdir('/dev/mqueue'),
      mount('mqueue', '/dev/mqueue', 'mqueue', MS.NOSUID | MS.NOEXEC | MS.NODEV),
      mount('tmpfs', '/tmp', 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=1777'),
      realDirMount('sysfs', '/sys', 'sysfs', MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY),
      ...DEFAULT_NODES,
      ...DEV_SYMLINKS,
      symlink('pts/ptmx', '/dev/ptmx'),
      ...RUNC_MASKED_PATHS.map((path): InitOp => ({ op: 'mask', path })),
      ...RUNC_READONLY_PATHS.map(
        (path): InitOp => ({ op: 'readonly', path, bindFirst: true, recursive: true, ignoreMissing: true }),
      ),
      { op: 'sethostname', name: 'nsinit' },
      { op: 'umask', mask: 0o022 },
      { op: 'boundingDrop', mask: ALL_CAPS & ~docker },
      ...identity(0, 0),
      { op: 'capset', effective: docker, permitted: docker, inheritable: 0n },
      { op: 'ambient', mask: 0n },
      PDEATHSIG,
      { op: 'noNewPrivs' },
      ...start(['sh'], [DEFAULT_PATH_ENV, 'TERM=xterm', 'HOME=/root']),
    ]);
    expect(program.cloneFlags).toBe(
      NAMESPACE_FLAGS.mount |
        NAMESPACE_FLAGS.uts |
        NAMESPACE_FLAGS.ipc |
        NAMESPACE_FLAGS.pid |
        NAMESPACE_FLAGS.network,
    );
    expect(program.warnings).toEqual([]);
    expect(program.cgroup).toBeNull();
  });

  it('replaces process.args with the given args, and arms no parent-death signal when there is none', () => {
    const program = compile(busybox(), { args: ['/bin/echo', 'hi'], parentDeathSignal: 0 });
    expect(program.ops.at(-1)).toEqual({ op: 'exec', args: ['/bin/echo', 'hi'], env: ['PATH=/bin'] });
    expect(opsNamed(program, 'pdeathsig')).toEqual([]);
  });

  it('uses the sync fd and the first closed fd it is given', () => {
    const program = compile(busybox(), { syncFd: 5, firstClosedFd: 7 });
    expect(opsNamed(program, 'waitGo', 'cloexecFrom')).toEqual([
      { op: 'waitGo', fd: 5 },
      { op: 'cloexecFrom', fd: 7 },
    ]);
  });
});

describe('the console', () => {
  it('makes the terminal at fds 0-2 the controlling terminal and binds it over a fresh /dev/console', () => {
    const config = withDev();
    config.process!.terminal = true;
    const program = compile(config);
    expect(program.ops.slice(0, 4)).toEqual([...PROLOGUE, { op: 'setCtty', fd: 0 }]);
    expect(program.consoleMountFd).toBe(5);
    const devices = rootfsOps(program);
    const bind = devices.findIndex((op) => op.op === 'bindFd');
    expect(devices.slice(bind - 1, bind + 1)).toEqual([
      { op: 'createFile', path: '/dev/console', mode: 0o600 },
      { op: 'bindFd', fd: 5, target: '/dev/console' },
    ]);
  });

  it('binds no /dev/console into an image /dev, and the option overrides process.terminal', () => {
    const config = busybox();
    config.process!.terminal = true;
    const program = compile(config);
    expect(opsNamed(program, 'setCtty')).toEqual([{ op: 'setCtty', fd: 0 }]);
    expect(opsNamed(program, 'bindFd', 'createFile')).toEqual([]);
    expect(program.consoleMountFd).toBeNull();
    expect(opsNamed(compile(config, { terminal: false }), 'setCtty')).toEqual([]);
  });
});

describe('joining namespaces by path', () => {
  it('opens each joinable namespace file at its own fd and joins it right after the go signal, in runc order', () => {
    const config = busybox();
    config.linux!.namespaces = [
      { type: 'mount' },
      { type: 'network', path: '/run/netns/a' },
      { type: 'uts', path: '/proc/7/ns/uts' },
      { type: 'cgroup', path: '/proc/7/ns/cgroup' },
      { type: 'pid' },
    ];
    const program = compile(config);
    expect(program.namespaceFiles).toEqual([
      { type: 'uts', path: '/proc/7/ns/uts', fd: 5 },
      { type: 'network', path: '/run/netns/a', fd: 6 },
      { type: 'cgroup', path: '/proc/7/ns/cgroup', fd: 7 },
    ]);
    expect(program.ops.slice(3, 6)).toEqual([
      { op: 'setns', fd: 5, nstype: NAMESPACE_FLAGS.uts },
      { op: 'setns', fd: 6, nstype: NAMESPACE_FLAGS.network },
      { op: 'setns', fd: 7, nstype: NAMESPACE_FLAGS.cgroup },
    ]);
    // Joined namespaces are not also created, and a joined cgroup namespace is not unshared.
    expect(program.cloneFlags).toBe(NAMESPACE_FLAGS.mount | NAMESPACE_FLAGS.pid);
    expect(opsNamed(program, 'unshare')).toEqual([]);
  });

  it('refuses to join a mount namespace by path', () => {
    const config = busybox();
    config.linux!.namespaces = [{ type: 'mount', path: '/proc/1/ns/mnt' }];
    expect(compileError(config).message).toBe('linux.namespaces[0].path is not supported yet (joining an existing mount namespace)');
  });
});

describe('root filesystem', () => {
  it('moves the root with MS_MOVE + chroot when there is no pivot_root, with / rslave rather than rprivate', () => {
    const program = compile(busybox(), { noPivotRoot: true });
    expect(opsNamed(program, 'pivotRoot', 'moveRoot')).toEqual([{ op: 'moveRoot' }]);
    expect(program.ops[3]).toEqual(mount('', '/', '', MS.SLAVE | MS.REC));
    expect(compile(busybox()).ops[3]).toEqual(mount('', '/', '', MS.PRIVATE | MS.REC));
  });

  it('sets the requested root propagation, and refuses [r]private without pivot_root', () => {
    const config = busybox();
    config.linux!.rootfsPropagation = 'rslave';
    expect(compile(config, { noPivotRoot: true }).ops[3]).toEqual(mount('', '/', '', MS.SLAVE | MS.REC));
    config.linux!.rootfsPropagation = 'unbindable';
    expect(compile(config).ops[3]).toEqual(mount('', '/', '', MS.UNBINDABLE));

    config.linux!.rootfsPropagation = 'rprivate';
    const error = compileError(config, { noPivotRoot: true });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe('linux.rootfsPropagation: "rprivate" is not safe without pivot_root');
  });

  it('makes the root read-only after the top-level mkdirs and before the first mount', () => {
    const config = busybox();
    config.root.readonly = true;
    config.process!.cwd = '/home/user';
    config.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
    expect(rootfsOps(compile(config))).toEqual([
      mkdir('/proc'),
      mkdir('/tmp'),
      mkdir('/home/user'),
      { op: 'readonly', path: '/', recursive: true },
      realDirMount('proc', '/proc', 'proc', 0),
      mount('tmpfs', '/tmp', 'tmpfs', 0),
    ]);
  });

  it('creates nested destinations and the cwd after the mount that contains them', () => {
    const config = busybox();
    config.process!.cwd = '/srv/data/work';
    config.mounts = [
      { destination: '/srv', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/srv/data', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/srv/data/cache', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/srvx', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/srv/logs', type: 'tmpfs', source: 'tmpfs' },
    ];
    expect(rootfsOps(compile(config))).toEqual([
      // '/srvx' is not inside '/srv': a prefix of the name is not a parent directory.
      mkdir('/srv'),
      mkdir('/srvx'),
      mount('tmpfs', '/srv', 'tmpfs', 0),
      mkdir('/srv/data'),
      mount('tmpfs', '/srv/data', 'tmpfs', 0),
      mkdir('/srv/data/cache'),
      mount('tmpfs', '/srv/data/cache', 'tmpfs', 0),
      mount('tmpfs', '/srvx', 'tmpfs', 0),
      mkdir('/srv/logs'),
      mount('tmpfs', '/srv/logs', 'tmpfs', 0),
      mkdir('/srv/data/work'),
    ]);
  });

  it('refuses proc anywhere but /proc, and a non-bind mount without a type', () => {
    const config = busybox();
    config.mounts = [{ destination: '/host-proc', type: 'proc', source: 'proc' }];
    const proc = compileError(config);
    expect(proc).toBeInstanceOf(InvalidConfigError);
    expect(proc.message).toBe('mounts[0].destination: proc may only be mounted on /proc');

    config.mounts = [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/x', source: 'tmpfs' },
    ];
    const untyped = compileError(config);
    expect(untyped).toBeInstanceOf(InvalidConfigError);
    expect(untyped.message).toBe('mounts[1].type: is required for a mount that is not a bind mount');
  });

  it('passes a mount source through, defaulting it to the type', () => {
    const config = busybox();
    config.mounts!.push({ destination: '/run', type: 'tmpfs', options: ['nodev', 'size=1m'] });
    expect(rootfsOps(compile(config)).at(-1)).toEqual(mount('tmpfs', '/run', 'tmpfs', MS.NODEV, 'size=1m'));
  });
});

describe('bind mounts', () => {
  const host = fakeHost({
    paths: { '/host/dir': true, '/host/file': false, '/bundle/data': true, '/bundle/conf/app.ini': false },
  });

  function bindOps(mounts: OciConfig['mounts']): InitOp[] {
    const config = busybox();
    config.mounts = mounts;
    return rootfsOps(compile(config, { host }));
  }

  it('binds a directory onto a created directory, a file onto a created file', () => {
    expect(
      bindOps([
        { destination: '/mnt/dir', type: 'bind', source: '/host/dir', options: ['rbind'] },
        { destination: '/etc/file', source: '/host/file', options: ['bind'] },
      ]),
    ).toEqual([
      mkdir('/mnt/dir'),
      { op: 'createFile', path: '/etc/file', mode: 0o644 },
      mount('/host/dir', '/mnt/dir', '', MS.BIND | MS.REC),
      mount('/host/file', '/etc/file', '', MS.BIND),
    ]);
  });

  it('applies per-mount flags with a second, remounting call', () => {
    expect(
      bindOps([
        {
          destination: '/mnt',
          type: 'bind',
          source: '/host/dir',
          options: ['rbind', 'ro', 'nosuid', 'nodev'],
        },
      ]),
    ).toEqual([
      mkdir('/mnt'),
      mount('/host/dir', '/mnt', '', MS.BIND | MS.REC),
      remount('/mnt', MS.RDONLY | MS.NOSUID | MS.NODEV),
    ]);
  });

  it('changes propagation with one extra mount call per option, in order', () => {
    expect(
      bindOps([
        {
          destination: '/mnt',
          type: 'bind',
          source: '/host/dir',
          options: ['rbind', 'rslave', 'unbindable'],
        },
      ]),
    ).toEqual([
      mkdir('/mnt'),
      mount('/host/dir', '/mnt', '', MS.BIND | MS.REC),
      mount('', '/mnt', '', MS.SLAVE | MS.REC),
      mount('', '/mnt', '', MS.UNBINDABLE),
    ]);
  });

  it('resolves a relative source against the bundle directory', () => {
    expect(
      bindOps([
        { destination: '/data', type: 'bind', source: 'data', options: ['rbind'] },
        { destination: '/app.ini', type: 'bind', source: 'conf/app.ini' },
      ]),
    ).toEqual([
      mkdir('/data'),
      { op: 'createFile', path: '/app.ini', mode: 0o644 },
      mount('/bundle/data', '/data', '', MS.BIND | MS.REC),
      mount('/bundle/conf/app.ini', '/app.ini', '', MS.BIND),
    ]);
  });

  it('refuses a missing source, no source, and filesystem options', () => {
    const cases: [OciConfig['mounts'], string][] = [
      [
        [{ destination: '/mnt', type: 'bind', source: 'nope' }],
        'mounts[0].source: /bundle/nope does not exist',
      ],
      [
        [{ destination: '/mnt', type: 'bind', source: '/host/nope' }],
        'mounts[0].source: /host/nope does not exist',
      ],
      [[{ destination: '/mnt', options: ['rbind'] }], 'mounts[0].source: a bind mount needs a source'],
      [
        [{ destination: '/mnt', type: 'bind', source: '/host/dir', options: ['bind', 'mode=755'] }],
        'mounts[0].options: bind mounts cannot have filesystem options (mode=755)',
      ],
    ];
    for (const [mounts, message] of cases) {
      const config = busybox();
      config.mounts = mounts;
      const error = compileError(config, { host });
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect(error.message).toBe(message);
    }
  });

  it('does not make device nodes in a /dev that is a bind of the host', () => {
    const config = busybox();
    config.mounts!.push({ destination: '/dev', type: 'bind', source: '/host/dir', options: ['rbind'] });
    expect(opsNamed(compile(config, { host }), 'mknod', 'symlink')).toEqual([]);
  });
});

describe('cgroup mounts', () => {
  function cgroupConfig(namespace: boolean): OciConfig {
    const config = busybox();
    config.mounts!.push({
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'ro'],
    });
    if (namespace) config.linux!.namespaces!.push({ type: 'cgroup' });
    return config;
  }

  it('unshares a cgroup namespace right after the go signal, never at clone', () => {
    const program = compile(cgroupConfig(true), { host: fakeHost({ cgroups: PURE_V2 }) });
    expect(program.ops.slice(0, 4)).toEqual([...PROLOGUE, { op: 'unshare', flags: NAMESPACE_FLAGS.cgroup }]);
    expect(opsNamed(program, 'unshare')).toHaveLength(1);
    expect(program.cloneFlags).toBe(NAMESPACE_FLAGS.mount);
  });

  it('mounts each hierarchy fresh inside a cgroup namespace', () => {
    const program = compile(cgroupConfig(true), { host: fakeHost({ cgroups: HYBRID }) });
    const flags = MS.NOSUID | MS.RDONLY;
    const at = (name: string) => `/sys/fs/cgroup/${name}`;
    expect(rootfsOps(program)).toEqual([
      mkdir('/proc'),
      mkdir('/sys/fs/cgroup'),
      realDirMount('proc', '/proc', 'proc', 0),
      mount('tmpfs', '/sys/fs/cgroup', 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755'),
      mkdir(at('cpu,cpuacct')),
      mount('cgroup', at('cpu,cpuacct'), 'cgroup', flags, 'cpu,cpuacct'),
      comounted('cpu,cpuacct', at('cpu')),
      comounted('cpu,cpuacct', at('cpuacct')),
      mkdir(at('devices')),
      mount('cgroup', at('devices'), 'cgroup', flags, 'devices'),
      mkdir(at('memory')),
      mount('cgroup', at('memory'), 'cgroup', flags, 'memory'),
      mkdir(at('systemd')),
      mount('cgroup', at('systemd'), 'cgroup', flags, 'name=systemd'),
      mkdir(at('unified')),
      mount('cgroup', at('unified'), 'cgroup2', flags),
      mount('', '/sys/fs/cgroup', '', MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755'),
    ]);
  });

  it('on a cgroup2-only host: a fresh cgroup2 with a namespace, else a read-only bind of our cgroup', () => {
    const host = fakeHost({ cgroups: PURE_V2 });
    expect(rootfsOps(compile(cgroupConfig(true), { host })).slice(3)).toEqual([
      mount('cgroup', '/sys/fs/cgroup', 'cgroup2', MS.NOSUID | MS.RDONLY),
    ]);
    expect(rootfsOps(compile(cgroupConfig(false), { host })).slice(3)).toEqual([
      mount('/sys/fs/cgroup/app.slice', '/sys/fs/cgroup', '', MS.BIND | MS.REC),
      remount('/sys/fs/cgroup', MS.NOSUID | MS.RDONLY),
    ]);
  });

  it('refuses a cgroup mount on a host without cgroups', () => {
    const error = compileError(cgroupConfig(false), { host: fakeHost({ cgroups: [] }) });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe('mounts: /sys/fs/cgroup: the host has no cgroup hierarchy to mount');
  });
});

describe('devices', () => {
  it('creates the default nodes, the configured ones with their owners, and the standard links', () => {
    const config = withDev();
    config.linux!.devices = [
      { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o600, uid: 1000, gid: 1001 },
      { type: 'b', path: '/dev/disk/sda', major: 8, minor: 0 },
      { type: 'p', path: '/dev/pipe' },
      { type: 'u', path: '/dev/null', major: 1, minor: 3, uid: 7 },
    ];
    const ops = rootfsOps(compile(config, { host: fakeHost({ hasKcore: true }) }));
    expect(ops.slice(ops.findIndex((op) => op.op === 'mknod'))).toEqual([
      // A configured /dev/null replaces the default one.
      ...DEFAULT_NODES.filter((op) => op.op === 'mknod' && op.path !== '/dev/null'),
      mknod('/dev/fuse', S_IFCHR | 0o600, 10, 229),
      { op: 'chown', path: '/dev/fuse', uid: 1000, gid: 1001 },
      mkdir('/dev/disk'),
      mknod('/dev/disk/sda', S_IFBLK | 0o666, 8, 0),
      mknod('/dev/pipe', S_IFIFO | 0o666, 0, 0),
      mknod('/dev/null', S_IFCHR | 0o666, 1, 3),
      { op: 'chown', path: '/dev/null', uid: 7, gid: 0 },
      ...DEV_SYMLINKS,
      symlink('/proc/kcore', '/dev/core'),
    ]);
  });

  it('refuses a device outside the fresh /dev, or a character device without numbers', () => {
    // `..` would lead out of the fresh /dev into the image's own files; /dev itself is no node.
    // Paths are cleaned first, as runc does: `/dev/../etc/null` is `/etc/null`, `/dev/` is `/dev`.
    for (const [path, cleaned] of [
      ['/etc/null', '/etc/null'],
      ['/device', '/device'],
      ['/dev', '/dev'],
      ['/dev/', '/dev'],
      ['/dev/../etc/null', '/etc/null'],
    ]) {
      const outside = withDev();
      outside.linux!.devices = [{ type: 'c', path: path!, major: 1, minor: 3 }];
      const error = compileError(outside);
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect(error.message).toBe(`linux.devices[0].path: ${cleaned} is not under /dev`);
    }
    for (const path of ['/dev//null', '/dev/./null']) {
      const inside = withDev();
      inside.linux!.devices = [{ type: 'c', path, major: 1, minor: 3 }];
      expect(opsNamed(compile(inside), 'mknod')).toContainEqual(expect.objectContaining({ path: '/dev/null' }));
    }
    const numberless = withDev();
    numberless.linux!.devices = [{ type: 'c', path: '/dev/x', major: 1 }];
    const error = compileError(numberless);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe('linux.devices[0]: a character or block device needs major and minor numbers');
  });

  it('plans a devices cgroup: config rules, then the defaults, then the config devices', () => {
    const config = withDev();
    config.linux!.resources = {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 4, minor: -1, access: '' },
        { allow: true, type: 'b', major: 8, minor: 0, access: 'r' },
      ],
    };
    config.linux!.devices = [
      { type: 'c', path: '/dev/fuse', major: 10, minor: 229 },
      { type: 'p', path: '/dev/pipe' },
      { type: 'u', path: '/dev/raw', major: 162, minor: 1 },
      { type: 'b', path: '/dev/sda', major: 8, minor: 0 },
    ];
    const DEVICES_ONLY: CgroupMount[] = [
      { mountPoint: '/sys/fs/cgroup/devices', fsType: 'cgroup', controllers: ['devices'], ownCgroup: '/' },
    ];
    const host = fakeHost({ cgroups: DEVICES_ONLY });
    const rules: DeviceRule[] = [
      { allow: false, type: 'a', major: null, minor: null, access: 'rwm' },
      { allow: true, type: 'c', major: 4, minor: null, access: 'rwm' },
      { allow: true, type: 'b', major: 8, minor: 0, access: 'r' },
      ...DEFAULT_ALLOWED_DEVICES,
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' },
      { allow: true, type: 'c', major: 162, minor: 1, access: 'rwm' },
      { allow: true, type: 'b', major: 8, minor: 0, access: 'rwm' },
    ];
    expect(compile(config, { host }).cgroup).toEqual({
      options: { name: 'nsinit-c1', layout: layoutOf(DEVICES_ONLY) },
      resources: { devices: rules },
      paths: { v1: { devices: '/sys/fs/cgroup/devices/nsinit-c1' }, unified: null },
    });
  });

  it('asks for no cgroup without resources or a cgroups path; on cgroup v2 device rules go to the unified cgroup', () => {
    expect(compile(withDev()).cgroup).toBeNull();
    const config = withDev();
    config.linux!.resources = { devices: [{ allow: false, access: 'rwm' }] };
    expect(compile(config, { host: fakeHost({ cgroups: PURE_V2 }) }).cgroup?.paths).toEqual({
      v1: {},
      unified: { directory: '/sys/fs/cgroup/app.slice/nsinit-c1', mountPoint: '/sys/fs/cgroup' },
    });
    config.linux!.resources = {};
    config.linux!.cgroupsPath = '/pinned/web';
    expect(compile(config, { host: fakeHost({ cgroups: PURE_V2 }) }).cgroup).toMatchObject({
      options: { path: '/pinned/web' },
      resources: {},
      paths: { unified: { directory: '/sys/fs/cgroup/pinned/web' } },
    });
  });
});

describe('sysctl, hostname, oom score', () => {
  it('writes sysctls that a private namespace isolates, after the root switch', () => {
    const config = withDev();
    config.linux!.sysctl = {
      'kernel.shmmax': '1000',
      'fs.mqueue.queues_max': '10',
      'net.ipv4.ip_forward': '1',
      'net/ipv4/conf/all/forwarding': '1',
      'kernel.domainname': 'example.test',
    };
    const program = compile(config);
    const writes = program.ops.slice(program.ops.findIndex((op) => op.op === 'pivotRoot') + 1).slice(0, 5);
    expect(writes).toEqual([
      { op: 'writeFile', path: '/proc/sys/kernel/shmmax', data: '1000' },
      { op: 'writeFile', path: '/proc/sys/fs/mqueue/queues_max', data: '10' },
      { op: 'writeFile', path: '/proc/sys/net/ipv4/ip_forward', data: '1' },
      { op: 'writeFile', path: '/proc/sys/net/ipv4/conf/all/forwarding', data: '1' },
      { op: 'writeFile', path: '/proc/sys/kernel/domainname', data: 'example.test' },
    ]);
  });

  it('refuses sysctls of the host, of a namespace the container shares, and malformed names', () => {
    const cases: [string, OciConfig['linux'], string][] = [
      ['kernel.pid_max', undefined, 'is not in a separate kernel namespace'],
      ['vm.swappiness', undefined, 'is not in a separate kernel namespace'],
      ['net.ipv4.ip_forward', { namespaces: [{ type: 'mount' }] }, 'needs a private network namespace'],
      ['kernel.msgmax', { namespaces: [{ type: 'mount' }] }, 'needs a private ipc namespace'],
      ['fs.mqueue.msg_max', { namespaces: [{ type: 'mount' }] }, 'needs a private ipc namespace'],
      ['kernel.hostname', { namespaces: [{ type: 'mount' }] }, 'needs a private uts namespace'],
      ['net.ipv4..ip_forward', undefined, 'is not a sysctl name'],
      ['net/../kernel/pid_max', undefined, 'is not a sysctl name'],
    ];
    for (const [key, linux, problem] of cases) {
      const config = withDev();
      if (linux) config.linux = linux;
      config.linux!.sysctl = { [key]: '1' };
      const error = compileError(config);
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect(error.message).toBe(`linux.sysctl["${key}"]: ${problem}`);
    }
  });

  it('sets the hostname and domain name only with a private UTS namespace', () => {
    const config = withDev();
    config.hostname = 'box';
    config.domainname = 'example.test';
    expect(opsNamed(compile(config), 'sethostname', 'setdomainname')).toEqual([
      { op: 'sethostname', name: 'box' },
      { op: 'setdomainname', name: 'example.test' },
    ]);
    const empty = busybox();
    empty.hostname = '';
    expect(opsNamed(compile(empty), 'sethostname')).toEqual([]);

    for (const field of ['hostname', 'domainname'] as const) {
      const shared = busybox();
      shared[field] = 'box';
      const error = compileError(shared);
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect(error.message).toBe(`${field}: unable to set ${field} without a private UTS namespace`);
    }
  });

  it('writes the oom score through the host /proc, before the root filesystem', () => {
    const config = busybox();
    config.process!.oomScoreAdj = -500;
    expect(compile(config).ops.slice(3, 5)).toEqual([
      { op: 'writeFile', path: '/proc/self/oom_score_adj', data: '-500' },
      mount('', '/', '', MS.PRIVATE | MS.REC),
    ]);
  });
});

describe('umask and rlimits', () => {
  it('sets the configured umask, and refuses more than permission bits', () => {
    const config = busybox();
    config.process!.user = { uid: 0, gid: 0, umask: 0o077 };
    expect(opsNamed(compile(config), 'umask')).toEqual([{ op: 'umask', mask: 0o077 }]);
    config.process!.user.umask = 0o1777;
    const error = compileError(config);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe('process.user.umask: 0o1777 is more than permission bits (at most 0o777)');
  });

  it('maps rlimits to their numbers, with 2^64-1 (and above) as RLIM_INFINITY', () => {
    const config = busybox();
    config.process!.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
      // JSON.parse reads 18446744073709551615 as 2^64.
      { type: 'RLIMIT_CORE', soft: 2 ** 64, hard: 2 ** 64 },
      { type: 'RLIMIT_STACK', soft: 8 * 1024 * 1024, hard: 2 ** 64 },
      { type: 'RLIMIT_MEMLOCK', soft: 2 ** 63, hard: 2 ** 63 },
      { type: 'RLIMIT_RTTIME', soft: 0, hard: 0 },
    ];
    expect(opsNamed(compile(config), 'setrlimit')).toEqual([
      { op: 'setrlimit', resource: 7, soft: 1024n, hard: 4096n },
      { op: 'setrlimit', resource: 4, soft: RLIM_INFINITY, hard: RLIM_INFINITY },
      { op: 'setrlimit', resource: 3, soft: 8388608n, hard: RLIM_INFINITY },
      { op: 'setrlimit', resource: 8, soft: 2n ** 63n, hard: 2n ** 63n },
      { op: 'setrlimit', resource: 15, soft: 0n, hard: 0n },
    ]);
  });

  it('refuses a soft limit above the hard one, and an unknown rlimit', () => {
    const config = busybox();
    config.process!.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 },
      { type: 'RLIMIT_NPROC', soft: 2 ** 64, hard: 100 },
    ];
    const error = compileError(config);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe(`process.rlimits[1]: soft limit ${2 ** 64} exceeds hard limit 100`);

    // The spec package refuses this name; the compiler must not trust that it ran.
    config.process!.rlimits = [{ type: 'RLIMIT_BOGUS' as 'RLIMIT_CPU', soft: 1, hard: 1 }];
    expect(compileError(config).message).toBe('process.rlimits[0].type: unknown rlimit "RLIMIT_BOGUS"');
  });
});

describe('identity and capabilities', () => {
  function withCaps(
    capabilities: NonNullable<OciConfig['process']>['capabilities'],
    capLastCap = 40,
  ): CompiledProgram {
    const config = busybox();
    config.process!.capabilities = capabilities;
    return compile(config, { host: fakeHost({ capLastCap }) });
  }

  it('drops from the bounding set every capability up to cap_last_cap that is not listed', () => {
    const program = withCaps({ bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_CHECKPOINT_RESTORE'] });
    expect(opsNamed(program, 'boundingDrop')).toEqual([
      { op: 'boundingDrop', mask: ALL_CAPS & ~capMask(['CAP_CHOWN', 'CAP_KILL', 'CAP_CHECKPOINT_RESTORE']) },
    ]);
    // An older kernel knows fewer capabilities: nothing above its last one is dropped.
    const older = withCaps({ bounding: [] }, 37);
    expect(opsNamed(older, 'boundingDrop')).toEqual([{ op: 'boundingDrop', mask: (1n << 38n) - 1n }]);
  });

  it('drops the bounding set while privileged, and sets the final sets after the identity switch', () => {
    const caps = ['CAP_NET_BIND_SERVICE'];
    const config = busybox();
    config.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 20] };
    config.process!.capabilities = {
      bounding: caps,
      effective: caps,
      permitted: caps,
      inheritable: caps,
      ambient: caps,
    };
    config.process!.noNewPrivileges = true;
    const program = compile(config);
    const from = program.ops.findIndex((op) => op.op === 'boundingDrop');
    const mask = capMask(caps);
    expect(program.ops.slice(from)).toEqual([
      { op: 'boundingDrop', mask: ALL_CAPS & ~mask },
      ...identity(1000, 1000, [10, 20]),
      { op: 'capset', effective: mask, permitted: mask, inheritable: mask },
      { op: 'ambient', mask },
      PDEATHSIG,
      { op: 'noNewPrivs' },
      ...start(['sh'], ['PATH=/bin']),
    ]);
    expect(program.warnings).toEqual([]);
  });

  it('does not raise an ambient capability that is not both permitted and inheritable, with a warning', () => {
    const program = withCaps({
      permitted: ['CAP_KILL', 'CAP_CHOWN', 'CAP_NET_RAW'],
      inheritable: ['CAP_KILL', 'CAP_NET_RAW', 'CAP_SYS_ADMIN'],
      ambient: ['CAP_KILL', 'CAP_CHOWN', 'CAP_SYS_ADMIN'],
    });
    expect(opsNamed(program, 'ambient')).toEqual([{ op: 'ambient', mask: capMask(['CAP_KILL']) }]);
    expect(program.warnings).toEqual([
      'process.capabilities.ambient: CAP_CHOWN, CAP_SYS_ADMIN not in both permitted and inheritable; not raised',
    ]);
  });

  it('refuses an effective capability that is not permitted; ignores an unknown one with a warning, as runc', () => {
    const config = busybox();
    config.process!.capabilities = {
      effective: ['CAP_KILL', 'CAP_CHOWN', 'CAP_SYS_ADMIN'],
      permitted: ['CAP_KILL'],
    };
    const error = compileError(config);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe(
      'process.capabilities.effective: CAP_CHOWN, CAP_SYS_ADMIN not in the permitted set',
    );

    config.process!.capabilities = { bounding: ['CAP_KILL', 'CAP_NO_SUCH_THING'] };
    const program = compile(config);
    expect(program.warnings).toEqual(['process.capabilities.bounding: unknown capability CAP_NO_SUCH_THING; ignored']);
    expect(opsNamed(program, 'boundingDrop')).toEqual([{ op: 'boundingDrop', mask: ALL_CAPS & ~capMask(['CAP_KILL']) }]);
  });

  it('ignores, with a warning, a capability this kernel does not know', () => {
    const program = withCaps(
      { bounding: ['CAP_KILL', 'CAP_BPF'], effective: ['CAP_KILL'], permitted: ['CAP_KILL', 'CAP_BPF'] },
      38,
    );
    expect(opsNamed(program, 'boundingDrop', 'capset')).toEqual([
      { op: 'boundingDrop', mask: ((1n << 39n) - 1n) & ~capMask(['CAP_KILL']) },
      { op: 'capset', effective: capMask(['CAP_KILL']), permitted: capMask(['CAP_KILL']), inheritable: 0n },
    ]);
    expect(program.warnings).toEqual([
      'process.capabilities.bounding: CAP_BPF is not known to this kernel; ignored',
      'process.capabilities.permitted: CAP_BPF is not known to this kernel; ignored',
    ]);
  });

  it('without a capabilities section: root keeps its capabilities, any other user gets none', () => {
    expect(opsNamed(compile(busybox()), 'boundingDrop', 'capset', 'ambient')).toEqual([]);
    const config = busybox();
    config.process!.user = { uid: 1000, gid: 100 };
    const program = compile(config);
    expect(program.ops.slice(program.ops.findIndex((op) => op.op === 'keepcaps'))).toEqual([
      ...identity(1000, 100),
      { op: 'capset', effective: 0n, permitted: 0n, inheritable: 0n },
      PDEATHSIG,
      ...start(['sh'], ['PATH=/bin']),
    ]);
  });

  it('runs as root when the config names no user', () => {
    const config = busybox();
    delete config.process!.user;
    expect(opsNamed(compile(config), 'setresuid', 'setresgid', 'setgroups', 'capset')).toEqual([
      { op: 'setgroups', gids: [] },
      { op: 'setresgid', gid: 0 },
      { op: 'setresuid', uid: 0 },
    ]);
  });
});

describe('configs nsinit refuses', () => {
  const unsupported: [string, (config: OciConfig) => void][] = [
    [
      'process.apparmorProfile is not supported yet',
      (c) => {
        c.process!.apparmorProfile = 'docker-default';
      },
    ],
    [
      'process.selinuxLabel is not supported yet',
      (c) => {
        c.process!.selinuxLabel = 'system_u:system_r:container_t:s0';
      },
    ],
    [
      'process.ioPriority is not supported yet',
      (c) => {
        c.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
      },
    ],
    [
      'process.scheduler is not supported yet',
      (c) => {
        c.process!.scheduler = { policy: 'SCHED_BATCH' };
      },
    ],
    [
      'process.execCPUAffinity is not supported yet',
      (c) => {
        c.process!.execCPUAffinity = { initial: '0' };
      },
    ],
    [
      'hooks is not supported yet',
      (c) => {
        c.hooks = { createRuntime: [], poststart: [{ path: '/bin/true' }] };
      },
    ],
    [
      'linux.namespaces[1].path is not supported yet (joining an existing pid namespace)',
      (c) => {
        c.linux!.namespaces!.push({ type: 'pid', path: '/proc/1/ns/pid' });
      },
    ],
    [
      'user namespaces is not supported yet',
      (c) => {
        c.linux!.namespaces!.push({ type: 'user' });
      },
    ],
    [
      'linux.uidMappings/gidMappings is not supported yet',
      (c) => {
        c.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
      },
    ],
    [
      'linux.timeOffsets is not supported yet',
      (c) => {
        c.linux!.timeOffsets = { monotonic: { secs: 10 } };
      },
    ],
    [
      'linux.seccomp is not supported yet',
      (c) => {
        c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW' };
      },
    ],
    [
      'linux.cgroupsPath is not supported yet ("system.slice:nsinit:c1" is a systemd slice:prefix:name path)',
      (c) => {
        c.linux!.cgroupsPath = 'system.slice:nsinit:c1';
      },
    ],
    [
      'linux.resources.rdma is not supported yet',
      (c) => {
        c.linux!.resources = { rdma: { mlx5_0: { hcaHandles: 1 } } };
      },
    ],
    [
      'linux.intelRdt is not supported yet',
      (c) => {
        c.linux!.intelRdt = { closID: 'guaranteed' };
      },
    ],
    [
      'linux.personality is not supported yet',
      (c) => {
        c.linux!.personality = { domain: 'LINUX32' };
      },
    ],
    [
      'linux.mountLabel is not supported yet',
      (c) => {
        c.linux!.mountLabel = 'system_u:object_r:container_file_t:s0';
      },
    ],
    [
      'mounts[1].uidMappings/gidMappings is not supported yet (id-mapped mounts)',
      (c) => {
        c.mounts!.push({
          destination: '/data',
          type: 'bind',
          source: '/data',
          uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        });
      },
    ],
    [
      'linux.rootfsPropagation "rshared" is not supported yet',
      (c) => {
        c.linux!.rootfsPropagation = 'rshared';
      },
    ],
    [
      'mounts[1].options: mount option "tmpcopyup" is not supported yet',
      (c) => {
        c.mounts!.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] });
      },
    ],
  ];

  for (const [message, change] of unsupported) {
    it(`refuses rather than ignores: ${message}`, () => {
      const config = busybox();
      change(config);
      const error = compileError(config);
      expect(error).toBeInstanceOf(UnsupportedFeatureError);
      expect(error.code).toBe('ERR_NSINIT_UNSUPPORTED');
      expect(error.message).toBe(message);
    });
  }

  it('accepts hooks lists that are all empty', () => {
    const config = busybox();
    config.hooks = { prestart: [], poststop: [] };
    expect(compile(config).ops.at(-1)).toMatchObject({ op: 'exec' });
  });

  const invalid: [string, (config: OciConfig) => void, Partial<CompileInput>?][] = [
    [
      'process: is required to run a container',
      (c) => {
        delete c.process;
      },
    ],
    [
      'process.args: must not be empty (give a command to run)',
      (c) => {
        c.process!.args = [];
      },
    ],
    ['process.args: must not be empty (give a command to run)', () => {}, { args: [] }],
    [
      'linux.namespaces: nsinit needs a private mount namespace (add { "type": "mount" })',
      (c) => {
        c.linux!.namespaces = [{ type: 'pid' }, { type: 'uts' }];
      },
    ],
    [
      'linux.namespaces: nsinit needs a private mount namespace (add { "type": "mount" })',
      (c) => {
        delete c.linux;
      },
    ],
    [
      'linux.rootfsPropagation: unknown propagation "sideways"',
      (c) => {
        c.linux!.rootfsPropagation = 'sideways' as 'private';
      },
    ],
  ];

  for (const [message, change, overrides] of invalid) {
    it(`refuses an invalid config: ${message}`, () => {
      const config = busybox();
      change(config);
      const error = compileError(config, overrides);
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect(error.code).toBe('ERR_NSINIT_CONFIG_INVALID');
      expect(error.message).toBe(message);
    });
  }
});
