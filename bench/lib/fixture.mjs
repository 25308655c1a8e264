// Everything the measurements share: a busybox bundle, a temp work dir, state roots on a tmpfs, the
// runtimes found on this machine, and the cleanup that leaves nothing behind.
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killChildren, refuseNewChildren, runCommand, settleChildren } from './harness.mjs';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'true', 'sleep'];
const NAMESPACES = ['pid', 'network', 'ipc', 'uts', 'mount'];

/** The absolute path of an executable on PATH, or null. */
export function which(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return null;
}

function firstLineOf(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.split('\n')[0].trim() : null;
}

/** An OCI config for `args` in the busybox rootfs: the namespaces of the issue, /proc mounted. */
export function ociConfig(rootPath, args) {
  return {
    ociVersion: '1.0.2',
    process: { terminal: false, args, cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
    root: { path: rootPath },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: NAMESPACES.map((type) => ({ type })) },
  };
}

export function buildRootfs(dir) {
  for (const sub of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc'])
    mkdirSync(join(dir, sub), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  for (const applet of APPLETS) symlinkSync('busybox', join(dir, 'bin', applet));
}

/** The filesystem type mounted at `mountPoint`, or null when nothing is mounted there. */
function filesystemAt(mountPoint) {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    // Mount point is field 5; the type follows the " - " separator.
    if (fields[4] === mountPoint) return fields[fields.indexOf('-') + 1] ?? null;
  }
  return null;
}

/** True on a hybrid cgroup host: v1 controllers plus the v2 hierarchy at /sys/fs/cgroup/unified. */
function hasHybridCgroups() {
  return filesystemAt('/sys/fs/cgroup/unified') !== null;
}

/**
 * State roots (nsinit's, runc's, crun's) live where they do on a typical host: on a tmpfs,
 * as /run is. /dev/shm is one almost everywhere; without it they go into the work dir.
 * The difference is real: creating the state files costs about a millisecond more on ext4.
 */
function makeStateBase(work) {
  if (filesystemAt('/dev/shm') === 'tmpfs')
    return { dir: mkdtempSync('/dev/shm/nsinit-bench-state-'), fs: 'tmpfs (/dev/shm)' };
  const dir = join(work, 'state');
  mkdirSync(dir);
  return { dir, fs: `the work dir under ${tmpdir()}` };
}

/**
 * crun refuses a hybrid cgroup layout, so on such a host it runs in a private mount
 * namespace where a tmpfs hides /sys/fs/cgroup/unified; the host's mounts stay as they are.
 * Returns [command, args] that run `argv` inside that namespace.
 */
export function hiddenUnifiedWrapper(argv) {
  const script = 'mount --make-rprivate / && mount -t tmpfs none /sys/fs/cgroup/unified && exec "$@"';
  return ['unshare', ['--mount', 'sh', '-c', script, 'sh', ...argv]];
}

/**
 * An OCI runtime CLI (runc or crun): how to run a bundle in the foreground with its own
 * state root, and how to remove whatever is left in that root.
 */
function ociRuntime({ name, binary, stateRoot, wrap }) {
  const path = which(binary);
  const invoke = (args) =>
    wrap ? wrap([binary, '--root', stateRoot, ...args]) : [binary, ['--root', stateRoot, ...args]];
  return {
    name,
    binary,
    stateRoot,
    installed: path !== null,
    version: path ? firstLineOf(binary, ['--version']) : null,
    /** [command, args] of `<runtime> run` in the foreground. */
    run: (id, bundle) => invoke(['run', '--bundle', bundle, id]),
    /** The container's state as the runtime reports it, or null when it has none. */
    state(id) {
      const [command, args] = invoke(['state', id]);
      const result = spawnSync(command, args, { encoding: 'utf8' });
      return result.status === 0 ? JSON.parse(result.stdout) : null;
    },
    /** Kills and deletes one container; one already gone is no error. */
    async remove(id) {
      const [command, args] = invoke(['delete', '--force', id]);
      try {
        await runCommand(command, args, { cleanup: true });
      } catch (error) {
        // `run` in the foreground deletes its container itself as it exits, racing this delete.
        if (existsSync(join(stateRoot, id))) throw error;
      }
    },
    /** Kills and deletes every container in this runtime's state root. */
    async removeAll() {
      if (!path || !existsSync(stateRoot)) return;
      const errors = [];
      for (const id of readdirSync(stateRoot)) await this.remove(id).catch((error) => errors.push(error));
      if (errors.length > 0) throw new Error(errors.map((error) => error.message).join('; '));
    },
  };
}

/** The built CLI, as the nsinit package's `bin` names it. */
export function nsinitCliPath() {
  const manifestUrl = import.meta.resolve('nsinit/package.json');
  const { bin } = JSON.parse(readFileSync(new URL(manifestUrl), 'utf8'));
  const relative = typeof bin === 'string' ? bin : bin?.nsinit;
  if (!relative) throw new Error(`${fileURLToPath(manifestUrl)} names no nsinit bin`);
  const path = fileURLToPath(new URL(relative, manifestUrl));
  if (!existsSync(path)) throw new Error(`${path} is missing: build the packages first (pnpm build)`);
  return path;
}

/** Sets up the work dir; call `cleanup()` when done, whatever happened. */
export function createFixture() {
  if (process.getuid?.() !== 0) throw new Error('the benchmarks start containers: run them as root');
  if (!existsSync(BUSYBOX))
    throw new Error(`${BUSYBOX} is missing: install busybox-static (apt-get install busybox-static)`);
  const cliPath = nsinitCliPath();
  if (!which('unshare')) {
    throw new Error(
      'unshare (util-linux) is missing: it runs the reference floor and hides cgroups from crun',
    );
  }

  const work = mkdtempSync(join(tmpdir(), 'nsinit-bench-'));
  let stateBase;
  try {
    stateBase = makeStateBase(work);
    return populate(work, stateBase, cliPath);
  } catch (error) {
    if (stateBase) rmSync(stateBase.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

function populate(work, stateBase, cliPath) {
  const rootfs = join(work, 'rootfs');
  buildRootfs(rootfs);
  // Two bundles over one rootfs: /bin/true for lifecycles, `sleep 1000` for memory.
  const bundleOf = (name, args, rootPath = rootfs) => {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(ociConfig(rootPath, args), null, 2));
    return { dir, configPath: join(dir, 'config.json'), config: ociConfig(rootPath, args) };
  };
  const trueBundle = bundleOf('bundle-true', ['/bin/true']);
  // runc and crun populate the rootfs's own /dev (this config mounts none), which races when
  // two of them share a rootfs: each concurrent slot gets its own copy.
  const slotBundles = [trueBundle];
  const stateRoots = { library: join(stateBase.dir, 'nsinit'), cli: join(stateBase.dir, 'nsinit-cli') };
  const hybrid = hasHybridCgroups();
  const runtimes = {
    runc: ociRuntime({ name: 'runc run', binary: 'runc', stateRoot: join(stateBase.dir, 'runc') }),
    crun: ociRuntime({
      name: 'crun run',
      binary: 'crun',
      stateRoot: join(stateBase.dir, 'crun'),
      wrap: hybrid ? hiddenUnifiedWrapper : null,
    }),
  };
  let counter = 0;
  let cleaning = null;
  /** What measurements registered to undo (cgroups they made), run once their processes are gone. */
  const undos = [];

  const failures = [];
  const removeAllContainers = async () => {
    for (const runtime of Object.values(runtimes))
      await runtime.removeAll().catch((error) => failures.push(error));
  };
  // A runtime killed in the middle of `run` leaves its cgroups behind, so runs in flight are
  // let finish: the sleeping containers are deleted (their `run` then returns), the /bin/true
  // ones end by themselves, and only what is still there after that is killed.
  const removeEverything = async () => {
    refuseNewChildren();
    await killChildren((child) => child.killFirst);
    await removeAllContainers();
    await settleChildren(10_000);
    await removeAllContainers();
    await killChildren();
    for (const undo of undos.splice(0).reverse())
      await Promise.resolve()
        .then(undo)
        .catch((error) => failures.push(error));
    if (failures.length > 0) {
      // The state roots are how these containers can still be found: keep them.
      const roots = Object.values(runtimes).map((runtime) => runtime.stateRoot);
      throw new Error(
        `cleanup failed, containers may be left in ${roots.join(' and ')}: ${failures.map((e) => e.message).join('; ')}`,
      );
    }
    rmSync(stateBase.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  };

  return {
    trueBundle,
    /** The /bin/true bundle of concurrent slot `slot` (0 is trueBundle), on a rootfs of its own. */
    slotBundle(slot) {
      while (slotBundles.length <= slot) {
        const copy = join(work, `rootfs-slot${slotBundles.length}`);
        buildRootfs(copy);
        slotBundles.push(bundleOf(`bundle-true-slot${slotBundles.length}`, ['/bin/true'], copy));
      }
      return slotBundles[slot];
    },
    sleepBundle: bundleOf('bundle-sleep', ['/bin/sleep', '1000']),
    stateRoots,
    /** Where the state roots are, for the report. */
    stateFilesystem: stateBase.fs,
    runtimes,
    cliPath,
    /** The CLI as the method text names it: relative to the workspace root. */
    cliShown: relative(fileURLToPath(new URL('../..', import.meta.url)), cliPath),
    hybridCgroups: hybrid,
    /** crun's wrapper alone, exec'ing /bin/true: what the crun rows pay on top of crun. */
    crunWrapperOnly: hybrid ? hiddenUnifiedWrapper(['/bin/true']) : null,
    /** A container id no other run in this benchmark uses. */
    nextId: (prefix) => `${prefix}-${process.pid}-${counter++}`,
    /** A new directory in the work dir (removed with it). */
    scratchDir(name) {
      const dir = join(work, `${name}-${counter++}`);
      mkdirSync(dir);
      return dir;
    },
    /**
     * Registers something to undo at cleanup (also on SIGINT), after every child process is
     * gone; returns a function that unregisters it once the measurement undid it itself.
     */
    onCleanup(undo) {
      undos.push(undo);
      return () => {
        const at = undos.indexOf(undo);
        if (at >= 0) undos.splice(at, 1);
      };
    },
    /** Removes every container, process, state root and file this fixture made; once, however often called. */
    cleanup() {
      cleaning ??= removeEverything();
      return cleaning;
    },
  };
}
