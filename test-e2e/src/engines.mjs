// Real clients of an OCI runtime, run privately: a podman store and a containerd instance whose
// files, sockets, cgroups and processes are all under one directory or named for one test run,
// and the wrapper that makes a runtime (nsinit, runc, crun) one executable file, as both clients
// need. What the clients write outside that directory anyway is recorded first and removed after
// (`watchHost`). Plain JavaScript so that the benchmarks can use it too; the types are in
// engines.d.mts. The machine this was worked out on is described in test-e2e/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, delimiter, join } from 'node:path';

/** The absolute path of an executable on PATH (or `command` itself when it has a slash), or null. */
export function which(command) {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return null;
}

/** Mount points (field 5) of this process's mount table, with their filesystem types. */
function mountTable() {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const fields = line.split(' ');
      return { mountPoint: fields[4], type: fields[fields.indexOf('-') + 1] };
    });
}

/** True on a hybrid cgroup host (v1 controllers and cgroup2 at /sys/fs/cgroup/unified), which crun refuses. */
export function hasHybridCgroups() {
  return mountTable().some((m) => m.mountPoint === '/sys/fs/cgroup/unified' && m.type === 'cgroup2');
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir) {
  return mountTable()
    .map((m) => m.mountPoint)
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .reverse();
}

/** Processes (not this one) whose command line mentions `text`, e.g. a test's directory. */
export function processesMentioning(text) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(text))
        found.push({ pid: Number(entry), args: cmdline.split('\0').join(' ').trim() });
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits up to `timeoutMs` for the processes mentioning `text` to end by themselves, then
 * SIGKILLs what is left (they mention our directory: they are ours) and waits for those.
 * Returns the ones that had to be killed.
 */
export async function endProcessesMentioning(text, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (processesMentioning(text).length > 0 && Date.now() < deadline) await sleep(50);
  const killed = processesMentioning(text);
  for (const { pid } of killed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  const killDeadline = Date.now() + 5000;
  while (processesMentioning(text).length > 0 && Date.now() < killDeadline) await sleep(50);
  return killed;
}

/** The cgroup directories called `name` right under each hierarchy's root (v1 and cgroup2). */
export function cgroupDirsNamed(name) {
  if (!existsSync('/sys/fs/cgroup')) return [];
  const roots = hasCgroup2Root()
    ? ['/sys/fs/cgroup']
    : readdirSync('/sys/fs/cgroup').map((hierarchy) => join('/sys/fs/cgroup', hierarchy));
  return roots.map((root) => join(root, name)).filter((dir) => existsSync(dir));
}

function hasCgroup2Root() {
  return mountTable().some((m) => m.mountPoint === '/sys/fs/cgroup' && m.type === 'cgroup2');
}

/**
 * Removes the cgroup trees called `name` (made by a client for this run's containers), leaves
 * first. Returns the directories that could not be removed (still holding processes).
 */
export function removeCgroupTrees(name) {
  const left = [];
  const remove = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) remove(join(dir, entry.name));
    }
    try {
      rmdirSync(dir);
    } catch (error) {
      left.push(`${dir} (${error.code})`);
    }
  };
  for (const dir of cgroupDirsNamed(name)) remove(dir);
  return left;
}

/**
 * What podman and containerd write outside their own directories whatever they are told: the
 * paths this module removes again when they were not there before (the blob-info cache that
 * `podman import`/`save` write, the directory of the shims' sockets; empty directories only
 * where something else could put files there), and paths that should never appear with the
 * settings used here (checked, and removed if they did appear all the same).
 */
const CREATED_ANYWAY = [
  { path: '/var/lib/containers/cache', tree: true },
  { path: '/var/lib/containers', tree: false },
  { path: '/run/containerd/s', tree: false },
  { path: '/run/containerd/fifo', tree: false },
  { path: '/run/containerd', tree: false },
];
const NEVER_EXPECTED = [
  '/run/libpod',
  '/run/containers',
  '/etc/containers/networks',
  '/etc/cni/net.d/cni.lock',
  '/dev/shm/libpod_lock',
  '/var/tmp/containers_images',
  '/opt/containerd',
  '/var/lib/containerd',
  '/run/containerd/runc',
  '/run/containerd/io.containerd.runtime.v2.task',
];
/** Cgroups podman (cgroupfs) and containerd (namespace "default") make when not given a parent. */
const NEVER_EXPECTED_CGROUPS = ['libpod_parent', 'default'];

/**
 * Records which of those paths exist now. `settle()`, once every client process is gone,
 * removes what appeared since and returns a line per path that should not have appeared.
 */
export function watchHost() {
  const existed = new Set(
    [...CREATED_ANYWAY.map((entry) => entry.path), ...NEVER_EXPECTED].filter((path) => existsSync(path)),
  );
  const cgroupsBefore = new Set(NEVER_EXPECTED_CGROUPS.flatMap((name) => cgroupDirsNamed(name)));
  return {
    settle() {
      const problems = [];
      for (const path of NEVER_EXPECTED) {
        if (existed.has(path) || !existsSync(path)) continue;
        problems.push(`${path} appeared (removed)`);
        rmSync(path, { recursive: true, force: true });
      }
      for (const dir of NEVER_EXPECTED_CGROUPS.flatMap((name) => cgroupDirsNamed(name))) {
        if (cgroupsBefore.has(dir)) continue;
        problems.push(`cgroup ${dir} appeared`);
        problems.push(...removeCgroupTrees(basename(dir)).map((left) => `cannot remove cgroup ${left}`));
      }
      for (const { path, tree } of CREATED_ANYWAY) {
        if (existed.has(path) || !existsSync(path)) continue;
        try {
          if (tree) rmSync(path, { recursive: true, force: true });
          else rmdirSync(path);
        } catch (error) {
          problems.push(`${path} was created and is not empty: ${error.code}`);
        }
      }
      return problems;
    },
  };
}

const shellQuote = (text) => `'${String(text).replaceAll("'", `'\\''`)}'`;

/**
 * The runtime to put under the clients: nsinit (`node <cli>`, when `spec` is empty or
 * "nsinit") or the runc-compatible executable `spec` names (a path, or a name on PATH). On a
 * hybrid cgroup host crun runs with /sys/fs/cgroup/unified hidden (see writeRuntimeWrapper).
 */
export function describeRuntime(spec, nsinitCli) {
  if (!spec || spec === 'nsinit') {
    return { name: 'nsinit', argv: [process.execPath, nsinitCli], hideUnified: false, installed: true };
  }
  const path = which(spec);
  const name = basename(spec);
  return {
    name,
    argv: [path ?? spec],
    hideUnified: name === 'crun' && hasHybridCgroups(),
    installed: path !== null,
  };
}

/**
 * crun refuses a hybrid cgroup host: in a private mount namespace (unshare's default
 * propagation is private, so the host's mounts are untouched), a tmpfs hides the v2 hierarchy
 * and crun then sees plain cgroup v1. The namespace dies with crun; its containers get their
 * own. Every call goes through it: create, start, exec, kill, delete, ps, pause.
 */
function hiddenUnifiedPrefix() {
  const unshare = which('unshare') ?? '/usr/bin/unshare';
  return `${unshare} --mount --propagation private /bin/sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified && exec "$0" "$@"'`;
}

/**
 * Writes `<dir>/<runtime.name>`: a shell script that runs the runtime with the caller's
 * arguments, as podman's `--runtime` and ctr's `--runc-binary` want one executable. Options:
 * `root`, a state root put before the caller's arguments (podman passes none, so runc would use
 * /run/runc and nsinit /run/nsinit; the containerd shim passes its own `--root`, which comes
 * later and wins); `argvLog`, a file that gets one line per call, the arguments separated by
 * tabs; `configsDir`, where each `create`'s bundle config.json is copied, as `<id>.json` (the
 * bundle given as `--bundle DIR` or `-b DIR`, as both clients pass it).
 */
export function writeRuntimeWrapper(dir, runtime, { root, argvLog, configsDir } = {}) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, runtime.name);
  const lines = [
    '#!/bin/sh',
    `# ${runtime.name} for podman and containerd, written by test-e2e/src/engines.mjs`,
  ];
  if (argvLog) lines.push(`(IFS='\t'; printf '%s\\n' "$*") >> ${shellQuote(argvLog)}`);
  if (configsDir) {
    mkdirSync(configsDir, { recursive: true });
    lines.push(
      'verb= bundle= want= id=',
      'for arg in "$@"; do',
      '  if [ "$want" = bundle ]; then bundle=$arg want=; continue; fi',
      '  case $arg in',
      '    --bundle|-b) want=bundle ;;',
      '    create) [ -z "$verb" ] && verb=create ;;',
      '  esac',
      '  id=$arg',
      'done',
      `[ "$verb" = create ] && [ -n "$bundle" ] && cp "$bundle/config.json" ${shellQuote(configsDir)}/"$id.json"`,
    );
  }
  const command = [...runtime.argv, ...(root ? ['--root', root] : [])].map(shellQuote).join(' ');
  lines.push(`exec ${runtime.hideUnified ? `${hiddenUnifiedPrefix()} ` : ''}${command} "$@"`, '');
  writeFileSync(path, lines.join('\n'));
  chmodSync(path, 0o755);
  return path;
}

/** The calls a wrapper logged (`argvLog`), each as its arguments. */
export function readArgvLog(argvLog) {
  if (!existsSync(argvLog)) return [];
  return readFileSync(argvLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
}

/** Global options of runc's CLI that take a value as the next argument. */
const VALUED_GLOBALS = new Set(['--root', '--log', '--log-format', '--criu', '--rootless']);

/** The verb of one logged call: the first argument that is neither a global option nor its value. */
export function verbOf(args) {
  for (let i = 0; i < args.length; i++) {
    if (VALUED_GLOBALS.has(args[i])) i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return null;
}

/** The verbs of `runtime` that its `--help` does not list (commander's and urfave/cli's lists alike). */
export function missingVerbs(runtime, verbs) {
  const [command, ...args] = runtime.argv;
  const help = spawnSync(command, [...args, '--help'], { encoding: 'utf8', timeout: 30_000 });
  // A line per command: its name first, with commander's aliases as `resume|unpause`.
  const listed = new Set(
    `${help.stdout}`.split('\n').flatMap((line) =>
      line
        .trim()
        .split(/[\s,[<]/)[0]
        .split('|'),
    ),
  );
  return verbs.filter((verb) => !listed.has(verb));
}

/** Runs a command to its end: status, signal and text output (a failure to start throws). */
export function runSync(command, args, { env, input, timeoutMs = 120_000 } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', env, input, timeout: timeoutMs });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** runSync that throws, with the command and its stderr, unless the command exits 0. */
export function runOk(command, args, options) {
  const result = runSync(command, args, options);
  if (result.status !== 0) {
    throw new Error(
      `${[command, ...args].join(' ')} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`,
    );
  }
  return result;
}

/**
 * Unmounts whatever is still mounted under `dir` (overlays of containers a client did not get
 * to remove), deepest first, lazily if busy. Returns the mount points it found.
 */
export function unmountUnder(dir) {
  const found = mountsUnder(dir);
  for (const point of found) {
    if (runSync('umount', [point]).status !== 0) runSync('umount', ['-l', point]);
  }
  return found;
}

/**
 * A private podman: storage, run root, tmp dir, locks, networks config and logs under `dir`, its
 * own containers.conf (CONTAINERS_CONF, which podman also hands to conmon's clean-up calls), the
 * runtime `runtimePath`, and containers in cgroups under `/<cgroupParent>` (podman's cgroupfs
 * default, /libpod_parent, would outlive the test).
 */
export function createPodman({ dir, runtimePath, cgroupParent }) {
  const paths = {
    storage: join(dir, 'storage'),
    run: join(dir, 'run'),
    tmp: join(dir, 'tmp'),
    networks: join(dir, 'networks'),
    plugins: join(dir, 'cni-plugins'),
    conf: join(dir, 'containers.conf'),
  };
  for (const sub of [paths.tmp, paths.networks, paths.plugins]) mkdirSync(sub, { recursive: true });
  writeFileSync(
    paths.conf,
    [
      '[containers]',
      // conmon writes the logs to a file: no journald here.
      'log_driver = "k8s-file"',
      '[network]',
      // The CNI backend keeps its lock in network_config_dir; netavark's would be /run/containers.
      // No plugins are needed (or installed, necessarily) for --network none.
      'network_backend = "cni"',
      `network_config_dir = ${JSON.stringify(paths.networks)}`,
      `cni_plugin_dirs = [${JSON.stringify(paths.plugins)}]`,
      '[engine]',
      // File locks under tmp_dir instead of /dev/shm/libpod_lock.
      'lock_type = "file"',
      `tmp_dir = ${JSON.stringify(paths.tmp)}`,
      `image_copy_tmp_dir = ${JSON.stringify(paths.tmp)}`,
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      // Treated as runc and crun are: podman then passes --log-format=json --log <file> to create
      // and exec, and reads the runtime's error from that file.
      `runtime_supports_json = ["crun", "runc", ${JSON.stringify(basename(runtimePath))}]`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, CONTAINERS_CONF: paths.conf };
  const globalArgs = (runtime = runtimePath) => [
    '--root',
    paths.storage,
    '--runroot',
    paths.run,
    '--tmpdir',
    paths.tmp,
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--log-level',
    'error',
    '--runtime',
    runtime,
  ];
  const podman = {
    dir,
    env,
    /**
     * The options every container here gets: no network (no CNI plugins here), the local image
     * only, this run's cgroup parent, the ulimits this machine allows (podman's default nofile
     * for root, 1048576, is above the hard limit; nproc above 32768 gets EPERM).
     */
    containerArgs: [
      '--network',
      'none',
      '--pull',
      'never',
      '--cgroup-parent',
      `/${cgroupParent}`,
      '--ulimit',
      'nofile=1024:1024',
      '--ulimit',
      'nproc=32768:32768',
    ],
    /**
     * [command, args] of `podman <args>` on this store (run them with `env`), with the runtime
     * `runtime` (another wrapper named in runtime_supports_json, e.g. runc's) instead of `runtimePath`.
     */
    command: (args, runtime = runtimePath) => ['podman', [...globalArgs(runtime), ...args]],
    /** `podman <args>` on this store, to its end. */
    run: (args, options = {}) => runSync('podman', [...globalArgs(), ...args], { env, ...options }),
    /** The same, throwing unless it exits 0. */
    ok: (args, options = {}) => runOk('podman', [...globalArgs(), ...args], { env, ...options }),
    /** Imports the folder `rootfs` as the image `ref`, with /bin/sh as its command. */
    importRootfs(rootfs, ref) {
      const tarball = join(dir, 'rootfs.tar');
      runOk('tar', ['-C', rootfs, '-cf', tarball, '.']);
      podman.ok(['import', '--change', 'CMD ["/bin/sh"]', tarball, ref]);
      rmSync(tarball);
    },
    /** Writes the image `ref` as an OCI archive (what `ctr images import` reads). */
    saveOciArchive(ref, archive) {
      podman.ok(['save', '--format', 'oci-archive', '-o', archive, ref]);
    },
    /**
     * Removes every container (killed at once), waits for conmon and its clean-up calls, unmounts
     * what is still mounted under `dir`, removes the cgroup parent and `dir`. Returns a line per
     * thing that had to be forced or could not be removed.
     */
    async cleanup() {
      const problems = [];
      const removed = podman.run(['rm', '--all', '--force', '--time', '0']);
      if (removed.status !== 0) problems.push(`podman rm --all failed: ${removed.stderr.trim()}`);
      for (const { args } of await endProcessesMentioning(dir)) problems.push(`killed: ${args}`);
      for (const point of unmountUnder(dir)) problems.push(`unmounted ${point}`);
      problems.push(...removeCgroupTrees(cgroupParent).map((left) => `cannot remove cgroup ${left}`));
      rmSync(dir, { recursive: true, force: true });
      return problems;
    },
  };
  return podman;
}

/**
 * Disabled in the private containerd: the CRI plugin (slow to start, wants CNI), the opt plugin
 * (it creates /opt/containerd), snapshotters that cannot work here, restart and tracing. The
 * v1 linux runtime stays: the tasks service will not load without one. Starts in ~0.1 s
 * instead of ~0.2 s.
 */
const DISABLED_PLUGINS = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.internal.v1.opt',
  'io.containerd.internal.v1.restart',
  'io.containerd.internal.v1.tracing',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
];

/**
 * Starts a private containerd: config, root, state and sockets under `dir`; resolves once it
 * answers. Containers get their cgroups under `/<cgroupParent>/<id>`, the runtime's state root
 * under `dir` and their IO fifos under `dir`. `stop()` removes every task and container, stops
 * containerd by its pid, waits for the shims (found by the socket address in their arguments)
 * and removes `dir`.
 */
export async function startContainerd({ dir, cgroupParent, timeoutMs = 60_000 }) {
  const address = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  const fifoDir = join(dir, 'fifo');
  const runtimeRoot = join(dir, 'runtime-root');
  mkdirSync(fifoDir, { recursive: true });
  writeFileSync(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(join(dir, 'root'))}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      `disabled_plugins = ${JSON.stringify(DISABLED_PLUGINS)}`,
      '[grpc]',
      `  address = ${JSON.stringify(address)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${address}.ttrpc`)}`,
      '',
    ].join('\n'),
  );
  const daemon = spawn('containerd', ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let logText = '';
  daemon.stderr.setEncoding('utf8').on('data', (chunk) => {
    logText = (logText + chunk).slice(-20_000);
  });
  let spawnError = null;
  daemon.once('error', (error) => {
    spawnError = error;
  });
  const exited = once(daemon, 'exit').catch(() => {});
  const ctrArgs = (args) => ['--address', address, ...args];
  const ctr = {
    dir,
    address,
    pid: daemon.pid,
    fifoDir,
    /** [command, args] of `ctr <args>` against this containerd. */
    command: (args) => ['ctr', ctrArgs(args)],
    run: (args, options) => runSync('ctr', ctrArgs(args), options),
    ok: (args, options) => runOk('ctr', ctrArgs(args), options),
    /** The options of `ctr run` for container `id` under `runtimePath`. */
    runArgs: (runtimePath, id) => [
      '--runc-binary',
      runtimePath,
      '--runc-root',
      runtimeRoot,
      '--cgroup',
      `/${cgroupParent}/${id}`,
      '--fifo-dir',
      fifoDir,
    ],
    /** Imports an OCI archive as `<baseName>:<tag>`. */
    importArchive(archive, baseName) {
      ctr.ok(['images', 'import', '--base-name', baseName, archive]);
    },
    /** Task id → status (RUNNING, PAUSED, STOPPED, …), from `ctr task ls`. */
    tasks() {
      const rows = ctr.ok(['task', 'ls']).stdout.trim().split('\n').slice(1);
      return Object.fromEntries(rows.map((row) => row.trim().split(/\s+/)).map((f) => [f[0], f[2]]));
    },
    /** The log containerd wrote so far (its stderr), for failures. */
    log: () => logText,
    async stop() {
      const problems = [];
      if (daemon.pid !== undefined && daemon.exitCode === null && daemon.signalCode === null) {
        try {
          // What a failed test left: tasks killed (thawed first), deleted, containers removed.
          for (const [id, status] of Object.entries(ctr.tasks())) {
            if (status === 'PAUSED') ctr.run(['task', 'resume', id]);
            ctr.run(['task', 'kill', '--signal', 'SIGKILL', id]);
            const deadline = Date.now() + 30_000;
            while (![undefined, 'STOPPED'].includes(ctr.tasks()[id]) && Date.now() < deadline)
              await sleep(50);
            const deleted = ctr.run(['task', 'delete', '--force', id]);
            if (deleted.status !== 0) problems.push(`ctr task delete ${id}: ${deleted.stderr.trim()}`);
          }
          for (const id of ctr.ok(['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
            const removed = ctr.run(['containers', 'rm', id]);
            if (removed.status !== 0) problems.push(`ctr containers rm ${id}: ${removed.stderr.trim()}`);
          }
        } catch (error) {
          problems.push(`containerd did not answer: ${error.message}`);
        }
        daemon.kill('SIGTERM');
        const timer = setTimeout(() => daemon.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      for (const { args } of await endProcessesMentioning(address)) problems.push(`killed: ${args}`);
      for (const { args } of await endProcessesMentioning(dir)) problems.push(`killed: ${args}`);
      for (const point of unmountUnder(dir)) problems.push(`unmounted ${point}`);
      problems.push(...removeCgroupTrees(cgroupParent).map((left) => `cannot remove cgroup ${left}`));
      rmSync(dir, { recursive: true, force: true });
      return problems;
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) throw new Error(`cannot start containerd: ${spawnError.message}`);
    if (daemon.exitCode !== null || daemon.signalCode !== null) {
      throw new Error(`containerd exited at start-up: ${logText.trim().split('\n').slice(-5).join('\n')}`);
    }
    if (existsSync(address) && runSync('ctr', ctrArgs(['version']), { timeoutMs: 10_000 }).status === 0)
      break;
    if (Date.now() > deadline) {
      await ctr.stop();
      throw new Error(`containerd did not answer on ${address} within ${timeoutMs} ms`);
    }
    await sleep(20);
  }
  return ctr;
}
