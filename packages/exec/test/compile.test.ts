// compileProgram is a pure function of the config and the host facts: every test
// feeds a hand-made host and checks the exact init program (and that it encodes).
import type { CgroupLayout, DeviceRule } from '@nsinit/cgroups';
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
} from '@nsinit/config';
import { MountAttr as A, encodeProgram, type InitOp, MountFlags as MS, RLIM_INFINITY } from '@nsinit/native';
import { describe, expect, it } from 'vitest';
import {
  type CompiledProgram,
  type CompileInput,
  compileExecProcess,
  compileProgram,
  encodeCompiled,
  NAMESPACE_FLAGS,
} from '../src/compile.js';
import { ExecError, InvalidConfigError, UnsupportedFeatureError } from '../src/errors.js';
import type { HostFacts, NamespaceFileType } from '../src/host.js';

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

interface CgroupMount {
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  controllers: string[];
  ownCgroup: string;
  /** The cgroup the mount shows (a nested host's is not '/'); default '/'. */
  root?: string;
}

/** The layout @nsinit/cgroups would detect for these mounts. */
function layoutOf(mounts: CgroupMount[]): CgroupLayout {
  const v1 = mounts
    .filter((m) => m.fsType === 'cgroup')
    .map((m) => ({
      mountPoint: m.mountPoint,
      root: m.root ?? '/',
      ownCgroup: m.ownCgroup,
      controllers: m.controllers,
    }));
  const unifiedMount = mounts.find((m) => m.fsType === 'cgroup2');
  const unified = unifiedMount
    ? {
        mountPoint: unifiedMount.mountPoint,
        root: unifiedMount.root ?? '/',
        ownCgroup: unifiedMount.ownCgroup,
      }
    : null;
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

/** The container's own cgroup on HYBRID: nsinit-<id> under the caller's cgroup in each hierarchy. */
const HYBRID_OWN = {
  'cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/user.slice/nsinit-c1',
  devices: '/sys/fs/cgroup/devices/user.slice/nsinit-c1',
  memory: '/sys/fs/cgroup/memory/nsinit-c1',
  systemd: '/sys/fs/cgroup/systemd/user.slice/session-1.scope/nsinit-c1',
  unified: '/sys/fs/cgroup/unified/user.slice/session-1.scope/nsinit-c1',
};
const HYBRID_DIRS = ['cpu,cpuacct', 'devices', 'memory', 'systemd', 'unified'];
const HYBRID_LINKS = ['cpu', 'cpu,cpuacct', 'cpuacct', 'cpu,cpuacct'];

const PURE_V2: CgroupMount[] = [
  { mountPoint: '/sys/fs/cgroup', fsType: 'cgroup2', controllers: [], ownCgroup: '/app.slice' },
];
const PURE_V2_PATHS = {
  v1: {},
  unified: { directory: '/sys/fs/cgroup/app.slice/nsinit-c1', mountPoint: '/sys/fs/cgroup' },
};

interface FakeHost {
  capLastCap?: number;
  hasKcore?: boolean;
  /** The host's cgroup mounts; default PURE_V2 (every container gets a cgroup, so the compiler always asks). */
  cgroups?: CgroupMount[];
  /** Host paths that exist: true for a directory, false for anything else. */
  paths?: Record<string, boolean>;
  /** Host paths that are the root of a procfs (directories, too). */
  procRoots?: string[];
  /** Namespace files that name the namespace nsinit itself runs in, by type. */
  ownNamespaces?: Partial<Record<NamespaceFileType, string[]>>;
  /** This process's hard RLIMIT_NOFILE. */
  openFilesHardLimit?: bigint;
}

function fakeHost({
  capLastCap = 40,
  hasKcore = false,
  cgroups = PURE_V2,
  paths = {},
  procRoots = [],
  ownNamespaces = {},
  openFilesHardLimit = 20_000n,
}: FakeHost = {}): HostFacts {
  const existing = new Map(Object.entries(paths));
  for (const root of procRoots) existing.set(root, true);
  return {
    capLastCap,
    hasKcore,
    openFilesHardLimit,
    cgroupLayout: () => layoutOf(cgroups),
    isDirectory: (path) => existing.get(path) ?? null,
    isProcRoot: (path) => (procRoots.includes(path) ? true : existing.has(path) ? false : null),
    isOwnNamespace: (type, path) => ownNamespaces[type]?.includes(path) ?? false,
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

type BindOp = Extract<InitOp, { op: 'bind' }>;
type FsmountOp = Extract<InitOp, { op: 'fsmount' }>;
type SetattrOp = Extract<InitOp, { op: 'setattr' }>;

/** A bind: no attributes, no propagation change, no flags unless given. */
const bind = (
  source: string,
  target: string,
  extra: Partial<Omit<BindOp, 'op' | 'source' | 'target'>> = {},
): BindOp => ({
  op: 'bind',
  source,
  target,
  attrSet: 0,
  attrClr: 0,
  propagation: 0,
  ...extra,
});
/** A fresh filesystem: no attributes, no skeleton, no flags unless given. */
const fsmount = (
  fstype: string,
  source: string,
  target: string,
  options: string[] = [],
  extra: Partial<Omit<FsmountOp, 'op' | 'fstype' | 'source' | 'target' | 'options'>> = {},
): FsmountOp => ({
  op: 'fsmount',
  fstype,
  source,
  options,
  target,
  attrSet: 0,
  propagation: 0,
  dirs: [],
  links: [],
  ...extra,
});
const setattr = (path: string, extra: Partial<Omit<SetattrOp, 'op' | 'path'>> = {}): SetattrOp => ({
  op: 'setattr',
  path,
  attrSet: 0,
  attrClr: 0,
  propagation: 0,
  ...extra,
});
/** The root's propagation, first of the rootfs ops. */
const rootPropagation = (propagation: number, recursive: boolean): SetattrOp =>
  setattr('/', { propagation: propagation as SetattrOp['propagation'], recursive });
/** A fresh proc on /proc: a real directory, which lies on a procfs once the first proc is there. */
const procMount = (attrSet = 0): FsmountOp =>
  fsmount('proc', 'proc', '/proc', [], { attrSet, targetRealDir: true, targetOnProc: true });
const readonlyPath = (path: string): SetattrOp =>
  setattr(path, { attrSet: A.RDONLY, bindFirst: true, recursive: true, ignoreMissing: true });
/** Step one: the bundle's rootfs, by its real path. */
const OPEN_ROOTFS: InitOp = { op: 'openRoot', path: '/bundle/rootfs', noSymlinks: true };
/** Step two, after the mkdirs in no mount: the root becomes a mount of its own. */
const bindRoot = (attrSet = 0): InitOp => ({ op: 'openRoot', path: '/', bind: true, attrSet });
const mkdir = (path: string): InitOp => ({ op: 'mkdir', path, mode: 0o755 });
const createFile = (path: string): InitOp => ({ op: 'createFile', path, mode: 0o644 });
const mknod = (path: string, mode: number, major: number, minor: number): InitOp => ({
  op: 'mknod',
  path,
  mode,
  major,
  minor,
});
const symlink = (target: string, path: string): InitOp => ({ op: 'symlink', target, path });

const PROLOGUE: InitOp[] = [{ op: 'dumpable', on: false }, { op: 'waitGo', fd: 3 }, { op: 'setsid' }];
const ENTER_ROOTFS: InitOp[] = [rootPropagation(MS.PRIVATE, true), OPEN_ROOTFS];
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
/** Without an RLIMIT_NOFILE in the config, the kernel's default soft limit under the caller's hard one. */
const NOFILE_RESTORED: InitOp = { op: 'setrlimit', resource: 7, soft: 1024n, hard: 20_000n };
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
/** What an absent capabilities section compiles to, for any user: nothing in any set. */
const NO_CAPS: InitOp[] = [
  { op: 'capset', effective: 0n, permitted: 0n, inheritable: 0n },
  { op: 'ambient', mask: 0n },
];

const deviceRule = (
  type: DeviceRule['type'],
  major: number | null,
  minor: number | null,
  access = 'rwm',
): DeviceRule => ({
  allow: true,
  type,
  major,
  minor,
  access,
});
const DENY_ALL: DeviceRule = { allow: false, type: 'a', major: null, minor: null, access: 'rwm' };

/** The device rules every container gets, checked loosely (@nsinit/cgroups owns the list): deny all first, /dev/null allowed. */
function expectDefaultDeviceRules(devices: readonly DeviceRule[] | undefined): void {
  expect(devices?.[0]).toEqual(DENY_ALL);
  expect(devices).toContainEqual(deviceRule('c', 1, 3));
}

/** The ops between the first openRoot and the root switch: mkdirs, the root's bind, mounts, devices. */
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
      bindRoot(),
      procMount(),
      { op: 'pivotRoot' },
      { op: 'umask', mask: 0o022 },
      NOFILE_RESTORED,
      // No capabilities section: none at all, root included.
      { op: 'boundingDrop', mask: ALL_CAPS },
      ...identity(0, 0),
      ...NO_CAPS,
      PDEATHSIG,
      ...start(['sh'], ['PATH=/bin']),
    ]);
    expect(program.cloneFlags).toBe(NAMESPACE_FLAGS.mount);
    expect(program.warnings).toEqual([]);
    // A cgroup even so: nsinit-<id> under ours, with the default device rules.
    expect(program.cgroup).toEqual({
      options: { name: 'nsinit-c1', layout: layoutOf(PURE_V2) },
      resources: { devices: expect.any(Array) },
      paths: PURE_V2_PATHS,
    });
    expectDefaultDeviceRules(program.cgroup.resources.devices);
  });

  it('compiles the runc spec config on a hybrid cgroup host, with its devices cgroup', () => {
    const config = runcSpecConfig();
    config.process!.terminal = false;
    const program = compile(config, { host: fakeHost({ cgroups: HYBRID }) });

    const runcCaps = capMask(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
    // nosuid, noexec, nodev, relatime, ro: relatime is the atime mode 0, with the whole field cleared.
    const cgroupBind = (hierarchy: keyof typeof HYBRID_OWN) =>
      bind(HYBRID_OWN[hierarchy], `/sys/fs/cgroup/${hierarchy}`, {
        attrSet: A.RDONLY | A.NOSUID | A.NODEV | A.NOEXEC,
        attrClr: A.ATIME_MASK,
      });
    expect(program.ops).toEqual([
      ...PROLOGUE,
      ...ENTER_ROOTFS,
      // Destinations in no mount, then the root bound read-only, before the first mount.
      mkdir('/proc'),
      mkdir('/dev'),
      mkdir('/sys'),
      bindRoot(A.RDONLY),
      procMount(),
      fsmount('tmpfs', 'tmpfs', '/dev', ['mode=755', 'size=65536k'], { attrSet: A.NOSUID | A.STRICTATIME }),
      mkdir('/dev/pts'),
      fsmount('devpts', 'devpts', '/dev/pts', ['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'], {
        attrSet: A.NOSUID | A.NOEXEC,
      }),
      mkdir('/dev/shm'),
      fsmount('tmpfs', 'shm', '/dev/shm', ['mode=1777', 'size=65536k'], {
        attrSet: A.NOSUID | A.NOEXEC | A.NODEV,
      }),
      mkdir('/dev/mqueue'),
      fsmount('mqueue', 'mqueue', '/dev/mqueue', [], { attrSet: A.NOSUID | A.NOEXEC | A.NODEV }),
      fsmount('sysfs', 'sysfs', '/sys', [], {
        attrSet: A.NOSUID | A.NOEXEC | A.NODEV | A.RDONLY,
        targetRealDir: true,
      }),
      mkdir('/sys/fs/cgroup'),
      // No cgroup namespace: a read-only tmpfs with a directory per hierarchy (and links for
      // the co-mounted cpu and cpuacct), made before it is attached...
      fsmount('tmpfs', 'tmpfs', '/sys/fs/cgroup', ['mode=755'], {
        attrSet: A.NOSUID | A.NODEV | A.NOEXEC | A.RDONLY,
        dirs: HYBRID_DIRS,
        links: HYBRID_LINKS,
      }),
      // ...then the container's own cgroup in every hierarchy, which the parent creates before the go signal.
      cgroupBind('cpu,cpuacct'),
      cgroupBind('devices'),
      cgroupBind('memory'),
      cgroupBind('systemd'),
      cgroupBind('unified'),
      ...DEFAULT_NODES,
      ...DEV_SYMLINKS,
      symlink('pts/ptmx', '/dev/ptmx'),
      { op: 'pivotRoot' },
      ...RUNC_MASKED_PATHS.map((path): InitOp => ({ op: 'mask', path })),
      ...RUNC_READONLY_PATHS.map(readonlyPath),
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
      resources: { devices: expect.any(Array) },
      paths: {
        v1: {
          cpu: HYBRID_OWN['cpu,cpuacct'],
          cpuacct: HYBRID_OWN['cpu,cpuacct'],
          devices: HYBRID_OWN.devices,
          memory: HYBRID_OWN.memory,
          'name=systemd': HYBRID_OWN.systemd,
        },
        unified: { directory: HYBRID_OWN.unified, mountPoint: '/sys/fs/cgroup/unified' },
      },
    });
    expectDefaultDeviceRules(program.cgroup.resources.devices);
  });

  it('compiles the embedded default on the host root: no openRoot, no root switch, a read-only / by setattr', () => {
    const program = compile(embeddedDefaultConfig(), { rootfs: '/', bundleDir: '/work', noPivotRoot: true });
    const docker = capMask(DOCKER_DEFAULT_CAPABILITIES);
    expect(program.ops).toEqual([
      ...PROLOGUE,
      // Without a root switch, noPivotRoot does not matter: rprivate.
      rootPropagation(MS.PRIVATE, true),
      mkdir('/proc'),
      mkdir('/dev'),
      mkdir('/tmp'),
      mkdir('/sys'),
      setattr('/', { attrSet: A.RDONLY, recursive: true }),
      procMount(A.NOSUID | A.NOEXEC | A.NODEV),
      fsmount('tmpfs', 'tmpfs', '/dev', ['mode=755', 'size=65536k'], { attrSet: A.NOSUID | A.STRICTATIME }),
      mkdir('/dev/pts'),
      fsmount('devpts', 'devpts', '/dev/pts', ['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'], {
        attrSet: A.NOSUID | A.NOEXEC,
      }),
      mkdir('/dev/shm'),
      fsmount('tmpfs', 'shm', '/dev/shm', ['mode=1777', 'size=65536k'], {
        attrSet: A.NOSUID | A.NODEV | A.NOEXEC,
      }),
      mkdir('/dev/mqueue'),
      fsmount('mqueue', 'mqueue', '/dev/mqueue', [], { attrSet: A.NOSUID | A.NOEXEC | A.NODEV }),
      fsmount('tmpfs', 'tmpfs', '/tmp', ['mode=1777'], { attrSet: A.NOSUID | A.NODEV }),
      fsmount('sysfs', 'sysfs', '/sys', [], {
        attrSet: A.NOSUID | A.NOEXEC | A.NODEV | A.RDONLY,
        targetRealDir: true,
      }),
      ...DEFAULT_NODES,
      ...DEV_SYMLINKS,
      symlink('pts/ptmx', '/dev/ptmx'),
      ...RUNC_MASKED_PATHS.map((path): InitOp => ({ op: 'mask', path })),
      ...RUNC_READONLY_PATHS.map(readonlyPath),
      { op: 'sethostname', name: 'nsinit' },
      { op: 'umask', mask: 0o022 },
      NOFILE_RESTORED,
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
    expect(program.cgroup).toEqual({
      options: { name: 'nsinit-c1', layout: layoutOf(PURE_V2) },
      resources: { devices: expect.any(Array) },
      paths: PURE_V2_PATHS,
    });
    expectDefaultDeviceRules(program.cgroup.resources.devices);
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
    const bindFd = devices.findIndex((op) => op.op === 'bindFd');
    expect(devices.slice(bindFd - 1, bindFd + 1)).toEqual([
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
    expect(compileError(config).message).toBe(
      'linux.namespaces[0].path is not supported yet (joining an existing mount namespace)',
    );
  });
});

describe('the root', () => {
  it('opens a bundle rootfs by its real path first, and binds it onto itself after the mkdirs in no mount', () => {
    const program = compile(busybox());
    expect(program.ops.slice(3, 8)).toEqual([
      rootPropagation(MS.PRIVATE, true),
      { op: 'openRoot', path: '/bundle/rootfs', noSymlinks: true },
      mkdir('/proc'),
      // Writable: the config does not ask for a read-only root.
      { op: 'openRoot', path: '/', bind: true, attrSet: 0 },
      procMount(),
    ]);
    expect(opsNamed(program, 'openRoot')).toHaveLength(2);
    expect(opsNamed(program, 'setattr')).toEqual([rootPropagation(MS.PRIVATE, true)]);
  });

  it('makes a read-only root read-only from its first instant: the root bind carries RDONLY, after the top-level mkdirs', () => {
    const config = busybox();
    config.root.readonly = true;
    config.process!.cwd = '/home/user';
    config.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
    expect(rootfsOps(compile(config))).toEqual([
      mkdir('/proc'),
      mkdir('/tmp'),
      mkdir('/home/user'),
      { op: 'openRoot', path: '/', bind: true, attrSet: A.RDONLY },
      procMount(),
      fsmount('tmpfs', 'tmpfs', '/tmp'),
    ]);
    // No second, remounting step: the bind is the only op that makes / read-only.
    expect(
      opsNamed(compile(config), 'setattr').filter((op) => op.op === 'setattr' && op.path === '/'),
    ).toEqual([rootPropagation(MS.PRIVATE, true)]);
  });

  it('on the host root: no openRoot at all; a read-only root is setattr / RDONLY recursive after the mkdirs', () => {
    const config = busybox();
    config.root.readonly = true;
    config.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
    const program = compile(config, { rootfs: '/' });
    expect(program.ops.slice(3, 9)).toEqual([
      rootPropagation(MS.PRIVATE, true),
      mkdir('/proc'),
      mkdir('/tmp'),
      setattr('/', { attrSet: A.RDONLY, recursive: true }),
      procMount(),
      fsmount('tmpfs', 'tmpfs', '/tmp'),
    ]);
    expect(opsNamed(program, 'openRoot', 'pivotRoot', 'moveRoot')).toEqual([]);

    // Writable: nothing but the propagation change touches /.
    config.root.readonly = false;
    const writable = compile(config, { rootfs: '/' });
    expect(opsNamed(writable, 'setattr', 'openRoot')).toEqual([rootPropagation(MS.PRIVATE, true)]);
  });

  it('moves the root with MS_MOVE + chroot when there is no pivot_root, with / rslave rather than rprivate', () => {
    const program = compile(busybox(), { noPivotRoot: true });
    expect(opsNamed(program, 'pivotRoot', 'moveRoot')).toEqual([{ op: 'moveRoot' }]);
    expect(program.ops[3]).toEqual(rootPropagation(MS.SLAVE, true));
    expect(compile(busybox()).ops[3]).toEqual(rootPropagation(MS.PRIVATE, true));
  });

  it('sets the requested root propagation, and refuses [r]private without pivot_root', () => {
    const config = busybox();
    config.linux!.rootfsPropagation = 'rslave';
    expect(compile(config, { noPivotRoot: true }).ops[3]).toEqual(rootPropagation(MS.SLAVE, true));
    config.linux!.rootfsPropagation = 'unbindable';
    expect(compile(config).ops[3]).toEqual(rootPropagation(MS.UNBINDABLE, false));

    config.linux!.rootfsPropagation = 'rprivate';
    const error = compileError(config, { noPivotRoot: true });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe('linux.rootfsPropagation: "rprivate" is not safe without pivot_root');
  });
});

describe('root filesystem', () => {
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
      bindRoot(),
      fsmount('tmpfs', 'tmpfs', '/srv'),
      mkdir('/srv/data'),
      fsmount('tmpfs', 'tmpfs', '/srv/data'),
      mkdir('/srv/data/cache'),
      fsmount('tmpfs', 'tmpfs', '/srv/data/cache'),
      fsmount('tmpfs', 'tmpfs', '/srvx'),
      mkdir('/srv/logs'),
      fsmount('tmpfs', 'tmpfs', '/srv/logs'),
      mkdir('/srv/data/work'),
    ]);
  });

  it('refuses a non-bind mount without a type', () => {
    const config = busybox();
    config.mounts = [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/x', source: 'tmpfs' },
    ];
    const untyped = compileError(config);
    expect(untyped).toBeInstanceOf(InvalidConfigError);
    expect(untyped.message).toBe('mounts[1].type: is required for a mount that is not a bind mount');
  });

  it('passes a mount source through, defaulting it to the type, and its options to fsconfig one by one', () => {
    const config = busybox();
    config.mounts!.push(
      { destination: '/run', type: 'tmpfs', options: ['nodev', 'size=1m', 'mode=700', 'noatime'] },
      { destination: '/var', type: 'tmpfs', source: 'scratch', options: ['ro', 'sync'] },
    );
    expect(rootfsOps(compile(config)).slice(-2)).toEqual([
      // A fresh mount takes its atime mode with fsmount; superblock flags such as sync go to fsconfig.
      fsmount('tmpfs', 'tmpfs', '/run', ['size=1m', 'mode=700'], { attrSet: A.NODEV | A.NOATIME }),
      fsmount('tmpfs', 'scratch', '/var', ['sync'], { attrSet: A.RDONLY }),
    ]);
  });

  it("sets a fresh mount's propagation on the mount itself", () => {
    const config = busybox();
    config.mounts!.push({ destination: '/shared', type: 'tmpfs', source: 'tmpfs', options: ['rshared'] });
    expect(rootfsOps(compile(config)).at(-1)).toEqual(
      fsmount('tmpfs', 'tmpfs', '/shared', [], { propagation: MS.SHARED }),
    );
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
      // The file's folder first, in case the image lacks it (mkdir -p: an existing one is fine).
      mkdir('/etc'),
      createFile('/etc/file'),
      bindRoot(),
      bind('/host/dir', '/mnt/dir', { recursive: true }),
      bind('/host/file', '/etc/file'),
    ]);
  });

  it('sets and clears per-mount attributes on the detached clone, in one op', () => {
    expect(
      bindOps([
        {
          destination: '/mnt',
          type: 'bind',
          source: '/host/dir',
          options: ['rbind', 'ro', 'nosuid', 'nodev'],
        },
        { destination: '/rw', type: 'bind', source: '/host/dir', options: ['bind', 'rw', 'suid', 'exec'] },
        {
          destination: '/cold',
          type: 'bind',
          source: '/host/dir',
          options: ['bind', 'noatime', 'nodiratime'],
        },
      ]).filter((op) => op.op === 'bind'),
    ).toEqual([
      bind('/host/dir', '/mnt', { attrSet: A.RDONLY | A.NOSUID | A.NODEV, recursive: true }),
      // A bind keeps its source's attributes unless told: rw, suid, exec clear them.
      bind('/host/dir', '/rw', { attrClr: A.RDONLY | A.NOSUID | A.NOEXEC }),
      // An atime mode replaces the whole atime field.
      bind('/host/dir', '/cold', { attrSet: A.NOATIME | A.NODIRATIME, attrClr: A.ATIME_MASK }),
    ]);
  });

  it('changes propagation on the clone before it is attached, recursively for an r* option', () => {
    expect(
      bindOps([
        { destination: '/a', type: 'bind', source: '/host/dir', options: ['rbind', 'rslave'] },
        { destination: '/b', type: 'bind', source: '/host/dir', options: ['bind', 'unbindable'] },
      ]).filter((op) => op.op === 'bind'),
    ).toEqual([
      bind('/host/dir', '/a', { propagation: MS.SLAVE, recursive: true, propagationRecursive: true }),
      bind('/host/dir', '/b', { propagation: MS.UNBINDABLE }),
    ]);
  });

  it('refuses two different propagation options on one mount', () => {
    const config = busybox();
    config.mounts = [
      { destination: '/mnt', type: 'bind', source: '/host/dir', options: ['rbind', 'rslave', 'unbindable'] },
    ];
    const error = compileError(config, { host });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe('mounts[0].options: "rslave" and "unbindable": give one propagation option');
  });

  it('resolves a relative source against the bundle directory', () => {
    expect(
      bindOps([
        { destination: '/data', type: 'bind', source: 'data', options: ['rbind'] },
        { destination: '/app.ini', type: 'bind', source: 'conf/app.ini' },
      ]),
    ).toEqual([
      mkdir('/data'),
      createFile('/app.ini'),
      bindRoot(),
      bind('/bundle/data', '/data', { recursive: true }),
      bind('/bundle/conf/app.ini', '/app.ini'),
    ]);
  });

  it("ignores superblock flags on a bind, which cannot change its source's superblock", () => {
    expect(
      bindOps([
        {
          destination: '/mnt',
          type: 'bind',
          source: '/host/dir',
          options: ['rbind', 'sync', 'dirsync', 'ro'],
        },
      ]).at(-1),
    ).toEqual(bind('/host/dir', '/mnt', { attrSet: A.RDONLY, recursive: true }));
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
        [
          {
            destination: '/mnt',
            type: 'bind',
            source: '/host/dir',
            options: ['bind', 'mode=755', 'sync', 'size=1m'],
          },
        ],
        'mounts[0].options: bind mounts cannot have filesystem options (mode=755,size=1m)',
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

/** runc's list of files inside /proc a mount may cover (lxcfs and the like). */
const PROC_FILES = [
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
];

describe('/proc and /sys', () => {
  const host = fakeHost({
    paths: { '/host/dir': true, '/host/sys': true, '/var/lib/lxcfs/proc/cpuinfo': false },
    procRoots: ['/run/other/proc'],
  });

  function withMounts(...mounts: NonNullable<OciConfig['mounts']>): OciConfig {
    const config = busybox();
    config.mounts = mounts;
    return config;
  }

  /** The error, which must name `field` (InvalidConfigError.field) as the one at fault. */
  function refused(config: OciConfig, field: string): ExecError {
    const error = compileError(config, { host });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).field).toBe(field);
    return error;
  }

  it('takes a fresh proc on /proc: a real directory, allowed to lie on a procfs already', () => {
    const program = compile(
      withMounts({ destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid'] }),
      { host },
    );
    expect(opsNamed(program, 'fsmount', 'bind')).toEqual([procMount(A.NOSUID)]);
  });

  it('takes a bind of a whole procfs on /proc, which the helper checks is a procfs root', () => {
    const program = compile(
      withMounts({
        destination: '/proc',
        type: 'bind',
        source: '/run/other/proc',
        options: ['rbind', 'nosuid'],
      }),
      { host },
    );
    expect(rootfsOps(program)).toEqual([
      mkdir('/proc'),
      bindRoot(),
      bind('/run/other/proc', '/proc', {
        attrSet: A.NOSUID,
        recursive: true,
        targetRealDir: true,
        targetOnProc: true,
        sourceProcRoot: true,
      }),
    ]);
  });

  it('refuses a bind of anything but a procfs root on /proc, naming its source', () => {
    const error = refused(
      withMounts({ destination: '/proc', type: 'bind', source: '/host/dir', options: ['rbind'] }),
      'mounts[0].source',
    );
    expect(error.message).toBe(
      'mounts[0].source: /host/dir is not a procfs: /proc can only be a fresh proc or a bind of a whole procfs',
    );
    // A missing source is still just missing.
    expect(
      refused(withMounts({ destination: '/proc', type: 'bind', source: '/host/none' }), 'mounts[0].source')
        .message,
    ).toBe('mounts[0].source: /host/none does not exist');
  });

  it('refuses any other filesystem on /proc, naming its type', () => {
    for (const type of ['tmpfs', 'sysfs']) {
      const error = refused(
        withMounts(
          { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/proc/', type, source: type },
        ),
        'mounts[1].type',
      );
      expect(error.message).toBe(
        `mounts[1].type: "${type}" on /proc: /proc can only be a fresh proc or a bind of a whole procfs`,
      );
    }
  });

  it('refuses proc anywhere but /proc, naming the destination', () => {
    for (const destination of ['/host-proc', '/proc/sys', '/mnt/proc']) {
      const error = refused(
        withMounts({ destination, type: 'proc', source: 'proc' }),
        'mounts[0].destination',
      );
      expect(error.message).toBe('mounts[0].destination: proc may only be mounted on /proc');
    }
  });

  it("takes a mount inside /proc only on runc's list of files, marked as lying on a procfs", () => {
    for (const file of PROC_FILES) {
      const program = compile(
        withMounts(
          { destination: '/proc', type: 'proc', source: 'proc' },
          { destination: file, type: 'bind', source: '/var/lib/lxcfs/proc/cpuinfo', options: ['bind', 'ro'] },
        ),
        { host },
      );
      expect(rootfsOps(program).slice(-2), file).toEqual([
        createFile(file),
        bind('/var/lib/lxcfs/proc/cpuinfo', file, { attrSet: A.RDONLY, targetOnProc: true }),
      ]);
    }
  });

  it('refuses a mount anywhere else inside /proc, naming the destination', () => {
    // Paths are cleaned before the check: /proc/./sys/ is /proc/sys.
    for (const [destination, cleaned] of [
      ['/proc/sys', '/proc/sys'],
      ['/proc/./sys/', '/proc/sys'],
      ['/proc/sys/kernel/core_pattern', '/proc/sys/kernel/core_pattern'],
      ['/proc/self/attr', '/proc/self/attr'],
      ['/proc/1/root', '/proc/1/root'],
      ['/proc/cpuinfo/../kcore', '/proc/kcore'],
    ]) {
      const error = refused(
        withMounts(
          { destination: '/proc', type: 'proc', source: 'proc' },
          { destination: destination!, type: 'tmpfs', source: 'tmpfs' },
        ),
        'mounts[1].destination',
      );
      expect(error.message).toBe(
        `mounts[1].destination: ${cleaned} is inside /proc, where only ${PROC_FILES.join(', ')} may be mounted over`,
      );
    }
  });

  it('makes the helper check that /sys is a real directory, whatever is mounted there, and only /sys', () => {
    const program = compile(
      withMounts(
        { destination: '/sys/', type: 'bind', source: '/host/sys', options: ['rbind', 'ro'] },
        { destination: '/sys/kernel/x', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/sysx', type: 'tmpfs', source: 'tmpfs' },
      ),
      { host },
    );
    expect(opsNamed(program, 'bind', 'fsmount')).toEqual([
      bind('/host/sys', '/sys', { attrSet: A.RDONLY, recursive: true, targetRealDir: true }),
      fsmount('tmpfs', 'tmpfs', '/sys/kernel/x'),
      fsmount('tmpfs', 'tmpfs', '/sysx'),
    ]);
    const fresh = compile(withMounts({ destination: '/sys', type: 'tmpfs', source: 'tmpfs' }), { host });
    expect(opsNamed(fresh, 'fsmount')).toEqual([
      fsmount('tmpfs', 'tmpfs', '/sys', [], { targetRealDir: true }),
    ]);
  });
});

describe('the cgroup mount', () => {
  /** busybox() with a cgroup mount at /sys/fs/cgroup, and a cgroup namespace: none, its own, or joined by path. */
  function cgroupConfig(options: string[], namespace?: 'own' | 'joined'): OciConfig {
    const config = busybox();
    config.mounts!.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options });
    if (namespace === 'own') config.linux!.namespaces!.push({ type: 'cgroup' });
    if (namespace === 'joined') config.linux!.namespaces!.push({ type: 'cgroup', path: '/proc/7/ns/cgroup' });
    return config;
  }

  /** The cgroup ops: everything after the proc mount (mounts[0]). */
  function cgroupOps(program: CompiledProgram): InitOp[] {
    const ops = rootfsOps(program);
    expect(ops.slice(0, 4)).toEqual([mkdir('/proc'), mkdir('/sys/fs/cgroup'), bindRoot(), procMount()]);
    return ops.slice(4);
  }

  const at = (name: string) => `/sys/fs/cgroup/${name}`;
  const TMPFS_ATTRS = A.NOSUID | A.NODEV | A.NOEXEC;
  const skeleton = (attrSet: number): InitOp =>
    fsmount('tmpfs', 'tmpfs', '/sys/fs/cgroup', ['mode=755'], {
      attrSet,
      dirs: HYBRID_DIRS,
      links: HYBRID_LINKS,
    });
  /** Without a cgroup namespace of its own: the container's own cgroup directories, read-only. */
  const ownCgroupBinds = (attrSet: number): InitOp[] =>
    (Object.keys(HYBRID_OWN) as (keyof typeof HYBRID_OWN)[]).map((name) =>
      bind(HYBRID_OWN[name], at(name), { attrSet }),
    );

  it('unshares a cgroup namespace right after the go signal, never at clone', () => {
    const program = compile(cgroupConfig(['nosuid', 'ro'], 'own'), { host: fakeHost({ cgroups: PURE_V2 }) });
    expect(program.ops.slice(0, 4)).toEqual([...PROLOGUE, { op: 'unshare', flags: NAMESPACE_FLAGS.cgroup }]);
    expect(opsNamed(program, 'unshare')).toHaveLength(1);
    expect(program.cloneFlags).toBe(NAMESPACE_FLAGS.mount);
  });

  it("without a cgroup namespace: binds of the container's own cgroup, read-only even when the config says rw", () => {
    const program = compile(cgroupConfig(['nosuid', 'rw']), { host: fakeHost({ cgroups: HYBRID }) });
    expect(cgroupOps(program)).toEqual([
      skeleton(TMPFS_ATTRS | A.RDONLY),
      ...ownCgroupBinds(A.NOSUID | A.RDONLY),
    ]);
    // Never the host's hierarchy roots, never the caller's cgroup: the planned directories.
    const sources = opsNamed(program, 'bind').map((op) => (op as BindOp).source);
    expect(sources).toEqual([
      program.cgroup.paths.v1.cpu,
      program.cgroup.paths.v1.devices,
      program.cgroup.paths.v1.memory,
      program.cgroup.paths.v1['name=systemd'],
      program.cgroup.paths.unified?.directory,
    ]);
  });

  it("with a cgroup namespace joined by path (someone else's): the same read-only binds", () => {
    const program = compile(cgroupConfig(['nosuid', 'rw'], 'joined'), {
      host: fakeHost({ cgroups: HYBRID }),
    });
    expect(opsNamed(program, 'setns', 'unshare')).toEqual([
      { op: 'setns', fd: 5, nstype: NAMESPACE_FLAGS.cgroup },
    ]);
    expect(cgroupOps(program)).toEqual([
      skeleton(TMPFS_ATTRS | A.RDONLY),
      ...ownCgroupBinds(A.NOSUID | A.RDONLY),
    ]);
  });

  it('with a cgroup namespace of its own: each hierarchy mounted fresh, read-only as the config says', () => {
    const fresh = (attrSet: number): InitOp[] => [
      fsmount('cgroup', 'cgroup', at('cpu,cpuacct'), ['cpu', 'cpuacct'], { attrSet }),
      fsmount('cgroup', 'cgroup', at('devices'), ['devices'], { attrSet }),
      fsmount('cgroup', 'cgroup', at('memory'), ['memory'], { attrSet }),
      fsmount('cgroup', 'cgroup', at('systemd'), ['name=systemd'], { attrSet }),
      fsmount('cgroup2', 'cgroup', at('unified'), [], { attrSet }),
    ];
    const host = fakeHost({ cgroups: HYBRID });
    expect(cgroupOps(compile(cgroupConfig(['nosuid', 'ro'], 'own'), { host }))).toEqual([
      skeleton(TMPFS_ATTRS | A.RDONLY),
      ...fresh(A.NOSUID | A.RDONLY),
    ]);
    // rw: the namespace confines what the mounts show, so they may be writable, and so is the skeleton.
    const writable = compile(cgroupConfig(['nosuid', 'rw'], 'own'), { host });
    expect(cgroupOps(writable)).toEqual([skeleton(TMPFS_ATTRS), ...fresh(A.NOSUID)]);
    expect(opsNamed(writable, 'bind')).toEqual([]);
  });

  it("on a cgroup2-only host: one fresh cgroup2 with a namespace of its own, else one read-only bind of the container's cgroup", () => {
    const host = fakeHost({ cgroups: PURE_V2 });
    expect(cgroupOps(compile(cgroupConfig(['nosuid', 'ro'], 'own'), { host }))).toEqual([
      fsmount('cgroup2', 'cgroup', '/sys/fs/cgroup', [], { attrSet: A.NOSUID | A.RDONLY }),
    ]);
    expect(cgroupOps(compile(cgroupConfig(['nosuid', 'rw'], 'own'), { host }))).toEqual([
      fsmount('cgroup2', 'cgroup', '/sys/fs/cgroup', [], { attrSet: A.NOSUID }),
    ]);
    for (const namespace of [undefined, 'joined'] as const) {
      expect(
        cgroupOps(compile(cgroupConfig(['nosuid', 'rw'], namespace), { host })),
        String(namespace),
      ).toEqual([
        bind('/sys/fs/cgroup/app.slice/nsinit-c1', '/sys/fs/cgroup', { attrSet: A.NOSUID | A.RDONLY }),
      ]);
    }
    // The container's cgroup wherever linux.cgroupsPath puts it.
    const pinned = cgroupConfig([]);
    pinned.linux!.cgroupsPath = '/pinned/web';
    expect(cgroupOps(compile(pinned, { host }))).toEqual([
      bind('/sys/fs/cgroup/pinned/web', '/sys/fs/cgroup', { attrSet: A.RDONLY }),
    ]);
  });

  it('links each co-mounted controller to its hierarchy in the skeleton, and no controller that has a directory', () => {
    const V1: CgroupMount[] = [
      {
        mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
        fsType: 'cgroup',
        controllers: ['cpu', 'cpuacct'],
        ownCgroup: '/',
      },
      {
        mountPoint: '/sys/fs/cgroup/net_cls,net_prio',
        fsType: 'cgroup',
        controllers: ['net_cls', 'net_prio'],
        ownCgroup: '/',
      },
      { mountPoint: '/sys/fs/cgroup/pids', fsType: 'cgroup', controllers: ['pids'], ownCgroup: '/' },
    ];
    const ops = cgroupOps(compile(cgroupConfig(['ro']), { host: fakeHost({ cgroups: V1 }) }));
    expect(ops).toEqual([
      fsmount('tmpfs', 'tmpfs', '/sys/fs/cgroup', ['mode=755'], {
        attrSet: TMPFS_ATTRS | A.RDONLY,
        dirs: ['cpu,cpuacct', 'net_cls,net_prio', 'pids'],
        links: [
          'cpu',
          'cpu,cpuacct',
          'cpuacct',
          'cpu,cpuacct',
          'net_cls',
          'net_cls,net_prio',
          'net_prio',
          'net_cls,net_prio',
        ],
      }),
      bind('/sys/fs/cgroup/cpu,cpuacct/nsinit-c1', at('cpu,cpuacct'), { attrSet: A.RDONLY }),
      bind('/sys/fs/cgroup/net_cls,net_prio/nsinit-c1', at('net_cls,net_prio'), { attrSet: A.RDONLY }),
      bind('/sys/fs/cgroup/pids/nsinit-c1', at('pids'), { attrSet: A.RDONLY }),
    ]);
  });

  it('refuses a cgroup mount on a host without cgroups', () => {
    const error = compileError(cgroupConfig(['nosuid', 'ro']), { host: fakeHost({ cgroups: [] }) });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe('mounts: /sys/fs/cgroup: the host has no cgroup hierarchy to mount');
  });
});

describe("the container's cgroup", () => {
  it("is planned for every container, nsinit-<id> under the caller's cgroup, in every hierarchy", () => {
    expect(compile(withDev()).cgroup).toEqual({
      options: { name: 'nsinit-c1', layout: layoutOf(PURE_V2) },
      resources: { devices: expect.any(Array) },
      paths: PURE_V2_PATHS,
    });
    expect(compile(withDev(), { id: 'web', host: fakeHost({ cgroups: HYBRID }) }).cgroup.paths).toEqual({
      v1: {
        cpu: '/sys/fs/cgroup/cpu,cpuacct/user.slice/nsinit-web',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct/user.slice/nsinit-web',
        devices: '/sys/fs/cgroup/devices/user.slice/nsinit-web',
        memory: '/sys/fs/cgroup/memory/nsinit-web',
        'name=systemd': '/sys/fs/cgroup/systemd/user.slice/session-1.scope/nsinit-web',
      },
      unified: {
        directory: '/sys/fs/cgroup/unified/user.slice/session-1.scope/nsinit-web',
        mountPoint: '/sys/fs/cgroup/unified',
      },
    });
  });

  it("goes where linux.cgroupsPath says: from the hierarchy's root when absolute, else under the caller's cgroup", () => {
    const config = withDev();
    config.linux!.cgroupsPath = '/pinned/web';
    expect(compile(config).cgroup).toMatchObject({
      options: { path: '/pinned/web', layout: layoutOf(PURE_V2) },
      paths: { v1: {}, unified: { directory: '/sys/fs/cgroup/pinned/web' } },
    });
    expect(compile(config).cgroup.options.name).toBeUndefined();
    config.linux!.cgroupsPath = 'pinned/web';
    expect(compile(config).cgroup.paths.unified?.directory).toBe('/sys/fs/cgroup/app.slice/pinned/web');
  });

  it("refuses a cgroupsPath that cannot be the container's cgroup, naming linux.cgroupsPath", () => {
    const NESTED: CgroupMount[] = [
      {
        mountPoint: '/sys/fs/cgroup',
        fsType: 'cgroup2',
        controllers: [],
        ownCgroup: '/docker/abc',
        root: '/docker/abc',
      },
    ];
    const cases: [string, string, CgroupMount[]?][] = [
      ['/', '"/" is the root cgroup, which a container cannot have'],
      ['../escape', '"../escape" leaves the hierarchy or names none'],
      ['a/../../b', '"a/../../b" leaves the hierarchy or names none'],
      [
        '/elsewhere',
        'cgroup /elsewhere is outside /docker/abc, the part of the hierarchy mounted at /sys/fs/cgroup',
        NESTED,
      ],
    ];
    for (const [cgroupsPath, problem, cgroups] of cases) {
      const config = withDev();
      config.linux!.cgroupsPath = cgroupsPath;
      const error = compileError(config, { host: fakeHost({ cgroups: cgroups ?? PURE_V2 }) });
      expect(error, cgroupsPath).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe('linux.cgroupsPath');
      expect(error.message).toBe(`linux.cgroupsPath: ${problem}`);
    }
    // Inside the nested host's part of the hierarchy it is fine.
    const inside = withDev();
    inside.linux!.cgroupsPath = '/docker/abc/web';
    expect(compile(inside, { host: fakeHost({ cgroups: NESTED }) }).cgroup.paths.unified?.directory).toBe(
      '/sys/fs/cgroup/web',
    );
  });

  it("always has device rules: deny all, the config's rules, the defaults, then the config's devices", () => {
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
    const cgroup = compile(config, { host: fakeHost({ cgroups: DEVICES_ONLY }) }).cgroup;
    expect(cgroup.options).toEqual({ name: 'nsinit-c1', layout: layoutOf(DEVICES_ONLY) });
    expect(cgroup.paths).toEqual({ v1: { devices: '/sys/fs/cgroup/devices/nsinit-c1' }, unified: null });
    const devices = cgroup.resources.devices ?? [];
    expectDefaultDeviceRules(devices);
    // In order (the list's details are @nsinit/cgroups'): a minor of -1 is any, no access is rwm;
    // the fifo needs no rule, a 'u' device is a character device.
    const order = [
      deviceRule('c', 4, null),
      deviceRule('b', 8, 0, 'r'),
      deviceRule('c', 1, 3),
      deviceRule('c', 10, 229),
      deviceRule('c', 162, 1),
      deviceRule('b', 8, 0),
    ].map((rule) =>
      devices.findIndex(
        (c) =>
          c.allow === rule.allow &&
          c.type === rule.type &&
          c.major === rule.major &&
          c.minor === rule.minor &&
          c.access === rule.access,
      ),
    );
    expect(order.every((index) => index > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(devices.at(-1)).toEqual(deviceRule('b', 8, 0));
  });

  it('has the default device rules without any resources, and the other resources the config asks for', () => {
    const bare = compile(withDev()).cgroup.resources;
    expect(Object.keys(bare)).toEqual(['devices']);
    expectDefaultDeviceRules(bare.devices);

    const config = withDev();
    config.linux!.resources = { pids: { limit: 64 } };
    const resources = compile(config).cgroup.resources;
    expect(resources.pids).toEqual({ limit: 64 });
    expectDefaultDeviceRules(resources.devices);
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
      expect(opsNamed(compile(inside), 'mknod')).toContainEqual(
        expect.objectContaining({ path: '/dev/null' }),
      );
    }
    const numberless = withDev();
    numberless.linux!.devices = [{ type: 'c', path: '/dev/x', major: 1 }];
    const error = compileError(numberless);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe('linux.devices[0]: a character or block device needs major and minor numbers');
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

  it("refuses a sysctl in a namespace joined by a path that is nsinit's own: it would change the host's", () => {
    const cases: [string, 'network' | 'ipc' | 'uts', string][] = [
      ['net.ipv4.ip_forward', 'network', '/proc/1/ns/net'],
      ['kernel.shmmax', 'ipc', '/proc/self/ns/ipc'],
      ['fs.mqueue.queues_max', 'ipc', '/proc/self/ns/ipc'],
      ['kernel.domainname', 'uts', '/run/host-uts'],
    ];
    for (const [key, type, path] of cases) {
      const config = busybox();
      config.linux!.namespaces!.push({ type, path });
      config.linux!.sysctl = { [key]: '1' };
      const host = fakeHost({ ownNamespaces: { [type]: [path] } });
      const error = compileError(config, { host });
      expect(error, key).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe(`linux.sysctl["${key}"]`);
      expect(error.message).toBe(
        `linux.sysctl["${key}"]: is not allowed in the ${type} namespace nsinit itself runs in (${path}): it would change the host's`,
      );
      // Another namespace joined by path is the container's to change.
      const other = compile(config, {
        host: fakeHost({ ownNamespaces: { [type]: ['/proc/self/ns/other'] } }),
      });
      expect(opsNamed(other, 'writeFile'), key).toEqual([
        { op: 'writeFile', path: `/proc/sys/${key.replaceAll('.', '/')}`, data: '1' },
      ]);
    }
  });

  it("checks the file joined for the sysctl's own namespace type, among several joined", () => {
    const config = busybox();
    config.linux!.namespaces!.push(
      { type: 'ipc', path: '/run/ns/ipc' },
      { type: 'uts', path: '/run/ns/uts' },
      { type: 'network', path: '/run/ns/net' },
    );
    config.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000' };
    // The network file is the third one joined (fd 7); the others are not nsinit's.
    expect(compile(config).namespaceFiles.map((file) => file.fd)).toEqual([5, 6, 7]);
    const ownNet = compileError(config, { host: fakeHost({ ownNamespaces: { network: ['/run/ns/net'] } }) });
    expect(ownNet.message).toBe(
      'linux.sysctl["net.ipv4.ip_forward"]: is not allowed in the network namespace nsinit itself runs in (/run/ns/net): it would change the host\'s',
    );
    const ownIpc = compileError(config, {
      host: fakeHost({ ownNamespaces: { ipc: ['/run/ns/ipc'], network: ['/run/ns/ipc'] } }),
    });
    expect(ownIpc.message).toBe(
      'linux.sysctl["kernel.shmmax"]: is not allowed in the ipc namespace nsinit itself runs in (/run/ns/ipc): it would change the host\'s',
    );
    // nsinit's own uts namespace joined changes nothing for net.* and IPC keys.
    expect(
      opsNamed(compile(config, { host: fakeHost({ ownNamespaces: { uts: ['/run/ns/uts'] } }) }), 'writeFile'),
    ).toHaveLength(2);
  });

  it('checks the network namespace a netns strategy joins too', () => {
    const config = withDev();
    config.linux!.sysctl = { 'net.core.somaxconn': '1024' };
    const network = { joinPath: '/var/run/netns/host', configuresNamespace: false };
    const error = compileError(config, {
      network,
      host: fakeHost({ ownNamespaces: { network: ['/var/run/netns/host'] } }),
    });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe(
      'linux.sysctl["net.core.somaxconn"]: is not allowed in the network namespace nsinit itself runs in (/var/run/netns/host): it would change the host\'s',
    );
    expect(opsNamed(compile(config, { network }), 'writeFile')).toEqual([
      { op: 'writeFile', path: '/proc/sys/net/core/somaxconn', data: '1024' },
    ]);
  });

  it("takes a network namespace that only a netns strategy joins as the container's, for net.* keys", () => {
    const config = withDev();
    config.linux!.namespaces = config.linux!.namespaces!.filter((n) => n.type !== 'network');
    config.linux!.sysctl = { 'net.core.somaxconn': '1024' };
    const network = { joinPath: '/var/run/netns/web', configuresNamespace: false };
    expect(opsNamed(compile(config, { network }), 'writeFile')).toEqual([
      { op: 'writeFile', path: '/proc/sys/net/core/somaxconn', data: '1024' },
    ]);
    expect(compileError(config).message).toBe(
      'linux.sysctl["net.core.somaxconn"]: needs a private network namespace',
    );
  });

  it('says which namespace file it could not inspect, rather than throwing a system error', () => {
    const config = withDev();
    config.linux!.namespaces = [{ type: 'mount' }, { type: 'network', path: '/proc/1/ns/net' }];
    config.linux!.sysctl = { 'net.core.somaxconn': '1024' };
    const host: HostFacts = {
      ...fakeHost(),
      isOwnNamespace: () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      },
    };
    const error = compileError(config, { host });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe(
      'linux.namespaces: the network namespace /proc/1/ns/net cannot be inspected (EACCES)',
    );
  });

  it('asks for the type of a mount on /proc that has none, as for any other', () => {
    const config = withDev();
    config.mounts = [{ destination: '/proc', source: 'proc' }];
    expect(compileError(config).message).toBe(
      'mounts[0].type: is required for a mount that is not a bind mount',
    );
  });

  it('gives back the default RLIMIT_NOFILE that Node raised, unless the config sets one', () => {
    const limits = (program: CompiledProgram) => opsNamed(program, 'setrlimit');
    expect(limits(compile(withDev()))).toEqual([NOFILE_RESTORED]);
    // Under a hard limit below 1024, the soft limit cannot be above it.
    expect(limits(compile(withDev(), { host: fakeHost({ openFilesHardLimit: 512n }) }))).toEqual([
      { op: 'setrlimit', resource: 7, soft: 512n, hard: 512n },
    ]);
    const config = withDev();
    config.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 4096, hard: 8192 }];
    expect(limits(compile(config))).toEqual([{ op: 'setrlimit', resource: 7, soft: 4096n, hard: 8192n }]);
  });

  it('names the config field that makes a program too big for the helper, not an op', () => {
    const many = withDev();
    many.mounts = Array.from({ length: 5000 }, (_, i) => ({
      destination: `/m${i}`,
      type: 'tmpfs',
      source: 'tmpfs',
    }));
    const tooMany = () => encodeCompiled(compileProgram(compileInput(many)).ops, many);
    expect(tooMany).toThrow(InvalidConfigError);
    expect(tooMany).toThrow(
      /^mounts: 5000 entries make an init program of 1\d{4} operations; the limit is 4096$/,
    );
    const longEnv = withDev();
    longEnv.process!.env = ['PATH=/bin', `BIG=${'x'.repeat(200_000)}`];
    expect(() => encodeCompiled(compileProgram(compileInput(longEnv)).ops, longEnv)).toThrow(
      /^process\.env\[1\]: is 200004 bytes long, over the limit of 131072$/,
    );
    const manyEnv = withDev();
    manyEnv.process!.env = Array.from({ length: 70_000 }, (_, i) => `V${i}=1`);
    expect(() => encodeCompiled(compileProgram(compileInput(manyEnv)).ops, manyEnv)).toThrow(
      /^process\.env: has 70000 entries, over the limit of 65536$/,
    );
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
      rootPropagation(MS.PRIVATE, true),
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
    expect(program.warnings).toEqual([
      'process.capabilities.bounding: unknown capability CAP_NO_SUCH_THING; ignored',
    ]);
    expect(opsNamed(program, 'boundingDrop')).toEqual([
      { op: 'boundingDrop', mask: ALL_CAPS & ~capMask(['CAP_KILL']) },
    ]);
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

  it('without a capabilities section: no capabilities at all, for root as for any other user', () => {
    for (const [uid, gid] of [
      [0, 0],
      [1000, 100],
    ] as const) {
      const config = busybox();
      config.process!.user = { uid, gid };
      delete config.process!.capabilities;
      const program = compile(config);
      expect(
        program.ops.slice(program.ops.findIndex((op) => op.op === 'boundingDrop')),
        `uid ${uid}`,
      ).toEqual([
        { op: 'boundingDrop', mask: ALL_CAPS },
        ...identity(uid, gid),
        ...NO_CAPS,
        PDEATHSIG,
        ...start(['sh'], ['PATH=/bin']),
      ]);
      expect(program.warnings).toEqual([]);
    }
    // On an older kernel the bounding drop stops at its last capability.
    expect(opsNamed(compile(busybox(), { host: fakeHost({ capLastCap: 37 }) }), 'boundingDrop')).toEqual([
      { op: 'boundingDrop', mask: (1n << 38n) - 1n },
    ]);
  });

  it('runs as root when the config names no user', () => {
    const config = busybox();
    delete config.process!.user;
    expect(opsNamed(compile(config), 'setresuid', 'setresgid', 'setgroups', 'capset')).toEqual([
      { op: 'setgroups', gids: [] },
      { op: 'setresgid', gid: 0 },
      { op: 'setresuid', uid: 0 },
      { op: 'capset', effective: 0n, permitted: 0n, inheritable: 0n },
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
    [
      'mounts[1].options: mount option "remount" is not supported yet',
      (c) => {
        c.mounts!.push({
          destination: '/proc/sys',
          type: 'bind',
          source: '/proc/sys',
          options: ['bind', 'remount', 'ro'],
        });
      },
    ],
    [
      'mounts[1].options: mount option "rro" is not supported yet',
      (c) => {
        c.mounts!.push({ destination: '/data', type: 'bind', source: '/data', options: ['rbind', 'rro'] });
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
    [
      'mounts[1].options: "private" and "rshared": give one propagation option',
      (c) => {
        c.mounts!.push({
          destination: '/run',
          type: 'tmpfs',
          source: 'tmpfs',
          options: ['private', 'nosuid', 'rshared'],
        });
      },
    ],
    [
      'mounts[1].options: "" is not a mount option',
      (c) => {
        c.mounts!.push({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', ''] });
      },
    ],
    [
      'linux.cgroupsPath: "/" is the root cgroup, which a container cannot have',
      (c) => {
        c.linux!.cgroupsPath = '/';
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

describe('create: the init waits for start after everything but the exec', () => {
  it('looks the command up, resets signals, then waits on the exec FIFO right before the exec', () => {
    const program = compile(busybox(), { awaitStart: true });
    const tail = program.ops.slice(-6);
    expect(tail).toEqual([
      { op: 'chdir', path: '/' },
      { op: 'checkExec', args: ['sh'], env: ['PATH=/bin'] },
      { op: 'cloexecFrom', fd: 3 },
      { op: 'resetSignals' },
      { op: 'awaitStart', fd: 5 },
      { op: 'exec', args: ['sh'], env: ['PATH=/bin'] },
    ]);
    expect(program.execFifoFd).toBe(5);
    // Everything that sets the container up comes before the wait.
    const wait = program.ops.findIndex((op) => op.op === 'awaitStart');
    for (const op of ['openRoot', 'pivotRoot', 'capset', 'setresuid', 'pdeathsig'] as const) {
      expect(program.ops.findIndex((o) => o.op === op)).toBeLessThan(wait);
    }
  });

  it('puts the FIFO after the namespace files and the console', () => {
    const config = withDev();
    config.linux!.namespaces = [
      ...config.linux!.namespaces!.filter((ns) => ns.type !== 'ipc'),
      { type: 'ipc', path: '/proc/1/ns/ipc' },
    ];
    const program = compile(config, { awaitStart: true, terminal: true });
    expect(program.namespaceFiles.map((file) => file.fd)).toEqual([5]);
    expect(program.consoleMountFd).toBe(6);
    // 7 is the console's devpts, when there is one.
    expect(program.execFifoFd).toBe(8);
  });

  it('run() has no FIFO and no lookup', () => {
    const program = compile(busybox());
    expect(program.execFifoFd).toBe(null);
    expect(program.ops.some((op) => op.op === 'awaitStart' || op.op === 'checkExec')).toBe(false);
  });

  it('joins a fresh session keyring right after setsid, as runc', () => {
    const program = compile(busybox(), { sessionKeyring: '_ses.c1' });
    expect(program.ops.slice(0, 4)).toEqual([
      { op: 'dumpable', on: false },
      { op: 'waitGo', fd: 3 },
      { op: 'setsid' },
      { op: 'joinSessionKeyring', name: '_ses.c1' },
    ]);
    expect(
      compile(busybox(), { sessionKeyring: null }).ops.some((op) => op.op === 'joinSessionKeyring'),
    ).toBe(false);
  });
});

describe('compileExecProcess: a process in a running container', () => {
  const base = {
    pidfdFd: 5,
    namespaces: NAMESPACE_FLAGS.mount | NAMESPACE_FLAGS.pid | NAMESPACE_FLAGS.network,
    syncFd: 3,
    firstClosedFd: 3,
    host: fakeHost(),
  };

  it('enters the namespaces through the pidfd, forks into the pid namespace, then the process settings', () => {
    const { ops } = compileExecProcess({
      ...base,
      parentDeathSignal: 9,
      sessionKeyring: '_ses.c1',
      process: {
        args: ['id'],
        cwd: '/tmp',
        env: ['PATH=/bin'],
        user: { uid: 1000, gid: 1000, additionalGids: [10] },
        capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
        noNewPrivileges: true,
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }],
      },
    });
    expect(encodeProgram(ops).length).toBeGreaterThan(12);
    const names = ops.map((op) => op.op);
    expect(names.slice(0, 6)).toEqual([
      'dumpable',
      'waitGo',
      'setns',
      'close',
      'cloneParent',
      'joinSessionKeyring',
    ]);
    expect(ops[2]).toEqual({ op: 'setns', fd: 5, nstype: base.namespaces, pidfd: true });
    expect(ops).toContainEqual({ op: 'setrlimit', resource: 7, soft: 100n, hard: 200n });
    expect(ops).toContainEqual({ op: 'setgroups', gids: [10] });
    expect(ops).toContainEqual({ op: 'setresuid', uid: 1000 });
    expect(ops).toContainEqual({ op: 'pdeathsig', signal: 9, checkParent: true });
    // Identity, then no_new_privs, the cwd check, no fd of ours, default signals, exec.
    expect(names.slice(-7)).toEqual([
      'ambient',
      'pdeathsig',
      'noNewPrivs',
      'chdir',
      'cloexecFrom',
      'resetSignals',
      'exec',
    ]);
    expect(ops.slice(-4)).toEqual([
      { op: 'chdir', path: '/tmp' },
      { op: 'cloexecFrom', fd: 3 },
      { op: 'resetSignals' },
      { op: 'exec', args: ['id'], env: ['PATH=/bin'] },
    ]);
    // The pidfd is closed before the fork: the container never holds it.
    expect(names.indexOf('close')).toBeLessThan(names.indexOf('cloneParent'));
  });

  it('a terminal makes a new session with the terminal as its controlling one; detached has no death signal', () => {
    const { ops } = compileExecProcess({ ...base, process: { args: ['sh'], cwd: '/', terminal: true } });
    const fork = ops.findIndex((op) => op.op === 'cloneParent');
    expect(ops.slice(fork + 1, fork + 3)).toEqual([{ op: 'setsid' }, { op: 'setCtty', fd: 0 }]);
    expect(ops.some((op) => op.op === 'pdeathsig')).toBe(false);
  });

  it('grants no capability the process does not list, and refuses an empty command or a relative cwd', () => {
    const { ops } = compileExecProcess({ ...base, process: { args: ['sh'], cwd: '/' } });
    expect(ops).toContainEqual({ op: 'capset', effective: 0n, permitted: 0n, inheritable: 0n });
    expect(() => compileExecProcess({ ...base, process: { args: [], cwd: '/' } })).toThrow(
      InvalidConfigError,
    );
    expect(() => compileExecProcess({ ...base, process: { args: ['sh'], cwd: 'tmp' } })).toThrow(/absolute/);
  });

  it('refuses process fields it cannot honour, as for a container: never ignored', () => {
    for (const extra of [
      { apparmorProfile: 'p' },
      { selinuxLabel: 'l' },
      { scheduler: { policy: 'SCHED_OTHER' } },
      { ioPriority: { class: 'IOPRIO_CLASS_IDLE' } },
    ]) {
      expect(() =>
        compileExecProcess({ ...base, process: { args: ['sh'], cwd: '/', ...extra } as never }),
      ).toThrow(UnsupportedFeatureError);
    }
  });

  it('enters nothing when it shares every namespace with us (no setns at all)', () => {
    const { ops } = compileExecProcess({ ...base, namespaces: 0, process: { args: ['sh'], cwd: '/' } });
    expect(ops.some((op) => op.op === 'setns')).toBe(false);
  });
});

describe('file bind targets in folders the image lacks', () => {
  it('makes the folder first (podman binds /run/.containerenv into images without /run)', () => {
    const config = busybox();
    config.mounts!.push({
      destination: '/run/.containerenv',
      type: 'bind',
      source: '/host/containerenv',
      options: ['bind'],
    });
    const { ops } = compile(config, { host: fakeHost({ paths: { '/host/containerenv': false } }) });
    const make = ops.findIndex((op) => op.op === 'mkdir' && op.path === '/run');
    const file = ops.findIndex((op) => op.op === 'createFile' && op.path === '/run/.containerenv');
    expect(make).toBeGreaterThanOrEqual(0);
    expect(make).toBe(file - 1);
    // A file at the top needs no folder.
    config.mounts!.push({
      destination: '/top',
      type: 'bind',
      source: '/host/containerenv',
      options: ['bind'],
    });
    const again = compile(config, { host: fakeHost({ paths: { '/host/containerenv': false } }) }).ops;
    const top = again.findIndex((op) => op.op === 'createFile' && op.path === '/top');
    expect(again[top - 1]).not.toEqual({ op: 'mkdir', path: '/', mode: 0o755 });
  });
});

describe("a terminal's console in the container's own devpts", () => {
  const withDevpts = () => {
    const config = withDev();
    config.mounts!.push({
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    });
    return config;
  };

  it('leaves the devpts to the parent (its options and attributes) and attaches its mount at /dev/pts', () => {
    const program = compile(withDevpts(), { terminal: true });
    expect(program.consoleDevpts).toEqual({
      fd: 6,
      options: ['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      attrSet: A.NOSUID | A.NOEXEC,
    });
    expect(program.ops).toContainEqual({ op: 'bindFd', fd: 6, target: '/dev/pts', directory: true });
    expect(program.ops.some((op) => op.op === 'fsmount' && op.fstype === 'devpts')).toBe(false);
    // /dev/console is still the console (the pts cloned by the parent), after /dev/pts is there.
    const pts = program.ops.findIndex((op) => op.op === 'bindFd' && op.target === '/dev/pts');
    const console = program.ops.findIndex((op) => op.op === 'bindFd' && op.target === '/dev/console');
    expect(pts).toBeLessThan(console);
  });

  it('mounts the devpts itself without a terminal, and into no image /dev', () => {
    expect(compile(withDevpts()).consoleDevpts).toBe(null);
    const config = withDevpts();
    config.mounts = config.mounts!.filter((mount) => mount.destination !== '/dev');
    const program = compile(config, { terminal: true });
    expect(program.consoleDevpts).toBe(null);
    expect(program.ops.some((op) => op.op === 'fsmount' && op.fstype === 'devpts')).toBe(true);
  });
});
