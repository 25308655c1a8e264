// run(): the parent sequence of docs/architecture.md, in its order and with its numbers. Every
// step registers its undo before it creates anything; any failure — a bad config, an op failing
// in the child, an abort — unwinds in reverse and leaves nothing: no child, no fds, no cgroup,
// no network device, no state directory.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { type CgroupManager, createCgroupManager } from '@nsinit/cgroups';
import {
  type DeepReadonly,
  isValidOciConfig,
  NETWORK_ANNOTATION,
  type Network2014,
  type OciConfig,
  parseOciConfig,
  type Route2014,
  type ValidOciConfig,
} from '@nsinit/config';
import {
  cancelWaitExit,
  describeOp,
  detachedMount,
  launchInit,
  mountDetached,
  pidfdSendSignal,
} from '@nsinit/native';
import {
  type NetworkConfig,
  networkNamespaceNeeds,
  parseNetworkAnnotation,
  parseNetworkConfig,
  removeNetworks,
  setUpNetworks,
} from '@nsinit/network';
import { openPty, sendConsoleMaster } from '@nsinit/pty';
import {
  type ContainerDir,
  type ContainerState,
  createContainerDir,
  DEFAULT_STATE_ROOT,
  openStateRoot,
  readProcessStartTime,
  validateContainerId,
  writePidFile,
} from '@nsinit/state';
import { SyncChannel } from '@nsinit/syncpipe';
import {
  type CgroupPlan,
  type CompiledProgram,
  compileProgram,
  encodeCompiled,
  NAMESPACE_FLAGS,
} from './compile.js';
import { Container, signalNumber } from './container.js';
import { abortError, ExecError, StepError } from './errors.js';
import { childFdLayout, OwnedFds } from './fds.js';
import { readHostFacts } from './host.js';
import { type LoadedContainer, loadContainer } from './load-container.js';
import { normalizeStdio, openStreams, prepareStdio, type StdioOption, terminalRequest } from './stdio.js';
import { UndoStack } from './undo.js';

/** One stdio value for all three streams, or one each for stdin, stdout and stderr. */
export type StdioSpec = StdioOption | readonly [StdioOption, StdioOption, StdioOption];

/** nsinit's network strategies (the 2014 `networks[]` and `routes[]`, as data) and where their host side goes. */
export interface NetworkOption {
  /** `loopback`, `veth` (a host end on a bridge, eth0 inside) and `netns` (join a namespace by path). */
  networks?: readonly Network2014[];
  /** Routes added inside the container once its networks are up. */
  routes?: readonly Route2014[];
  /** Where bridges and host veth ends live: a network namespace path. Default ours. */
  hostNetns?: string;
}

export interface RunOptions<S extends StdioSpec = StdioSpec> {
  /** The command; replaces `process.args` of the config. */
  args?: readonly string[];
  /** One value for all three, or one each for stdin, stdout, stderr. Default 'pipe'. Not with a terminal. */
  stdio?: S;
  /**
   * Give the container a terminal for its stdio (`container.terminal`, a Duplex), optionally of
   * a size. Default: the config's process.terminal and consoleSize.
   */
  terminal?: boolean | { cols: number; rows: number };
  /** With a terminal: send its master to this Unix socket (runc's console socket) instead of keeping it. */
  consoleSocket?: string;
  /** Aborting before the start unwinds it; after, kills the container (see killSignal). */
  signal?: AbortSignal;
  /** Sent on abort. Default SIGKILL: an init ignores signals it has no handler for. */
  killSignal?: NodeJS.Signals | number;
  /** Container id; default 12 random hex digits. */
  id?: string;
  /** Where state directories live. Default /run/nsinit. */
  stateRoot?: string;
  /** Folder that a relative `root.path` and bind sources are relative to. Default the cwd. */
  bundleDir?: string;
  /** MS_MOVE + chroot instead of pivot_root (for a rootfs on ramfs). */
  noPivotRoot?: boolean;
  /** Signal the container gets if this thread exits first; null to let it outlive us. Default SIGKILL. */
  parentDeathSignal?: NodeJS.Signals | number | null;
  /** Receives non-fatal notices (e.g. ambient capabilities that cannot be raised). Default process.emitWarning. */
  onWarning?: (message: string) => void;
  /** Network strategies. Default: the config's `org.nsinit.network` annotation, if any. */
  network?: NetworkOption;
  /** Written (atomically) with the init's pid once it is recorded, as runc's --pid-file. */
  pidFile?: string;
  /**
   * Pass this process's fds 3 … 3+N-1 on to the container at the same numbers (runc's
   * --preserve-fds, and systemd's LISTEN_FDS). Default 0: the container gets stdio only.
   */
  preserveFds?: number;
  /** A fresh session keyring (`_ses.<id>`), as runc gives every container. Default true. */
  newSessionKeyring?: boolean;
  /** Leave the stopped container (cgroup, networks, state) for a later delete instead of removing it at exit. */
  keep?: boolean;
}

/**
 * create(): run()'s options, for a container whose command waits for start(). With `detach`,
 * the container outlives this process (no parent-death signal, no removal when this process
 * ends, and this process never reaps it: its exit status is for the subreaper it is left to):
 * `nsinit create`, which exits and leaves it to whoever reaps it.
 */
export interface CreateOptions<S extends StdioSpec = StdioSpec> extends RunOptions<S> {
  detach?: boolean;
}

/** Which stream a stdio value gives: a stream for 'pipe', null for everything else. */
type StreamFor<V, T> = [V] extends ['pipe'] ? T : 'pipe' extends V ? T | null : null;
type Nth<S, I extends 0 | 1 | 2> = S extends readonly [StdioOption, StdioOption, StdioOption] ? S[I] : S;

/** The container run() resolves with, its stream types following the `stdio` option. */
export type ContainerFor<S extends StdioSpec> = Container<
  StreamFor<Nth<S, 0>, Writable>,
  StreamFor<Nth<S, 1>, Readable>,
  StreamFor<Nth<S, 2>, Readable>
>;

type StartMode = 'run' | 'create';

/** Everything step 1 works out before anything exists. */
interface StartPlan {
  id: string;
  stateRoot: string;
  config: ValidOciConfig;
  rootfs: string;
  /** Recorded in state.json when the caller named a bundle. */
  bundle: string | null;
  program: CompiledProgram;
  encoded: Buffer;
  /** The child's stdio, or a terminal instead. */
  stdio: [StdioOption, StdioOption, StdioOption] | null;
  terminal: {
    size: { cols: number; rows: number } | Record<string, never>;
    consoleSocket: string | null;
  } | null;
  network: { config: NetworkConfig; hostNetns: string | null } | null;
  parentDeathSignal: number;
  killSignal: number;
  mode: StartMode;
  detach: boolean;
  preserveFds: number;
  pidFile: string | null;
  keep: boolean;
}

/** nsinit's own typed errors pass through a step; system errors get the step's name. */
function isNsinitError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  return error.name === 'AbortError' || (typeof code === 'string' && code.startsWith('ERR_NSINIT_'));
}

/**
 * For the tests that prove a runtime killed at any moment leaves a container `delete --force`
 * can remove: NSINIT_TEST_KILL_AT=<step name> makes this process SIGKILL itself as that step
 * begins (nothing can run after a SIGKILL: no cleanup of ours either).
 */
const killAtStep = process.env.NSINIT_TEST_KILL_AT;

async function step<T>(
  name: string,
  signal: AbortSignal | undefined,
  action: () => T | Promise<T>,
): Promise<T> {
  if (killAtStep === name) process.kill(process.pid, 'SIGKILL');
  if (signal?.aborted) throw abortError(signal);
  try {
    return await action();
  } catch (error) {
    throw isNsinitError(error) ? error : new StepError(name, error);
  }
}

/** Resolves with `promise`, or rejects with an AbortError as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolvePromise, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The bundle folder by its real path, as runc takes it (it chdirs there): a link to it is fine. */
function realBundleDir(dir: string): string {
  try {
    return realpathSync(resolve(dir));
  } catch (error) {
    throw new ExecError(
      'ERR_NSINIT_ROOTFS',
      `the bundle folder ${resolve(dir)} cannot be opened: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * root.path must name the root filesystem itself: a symlink there (or on the way, inside
 * the bundle) would let whoever made the bundle point the container at any host folder,
 * which nsinit would then fill with /dev, /proc and /sys. runc refuses it too.
 */
function checkedRootfs(rootfs: string): string {
  const stat = statSync(rootfs, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) {
    throw new ExecError(
      'ERR_NSINIT_ROOTFS',
      `root.path ${rootfs} ${stat ? 'is not a directory' : 'does not exist'}`,
    );
  }
  const real = realpathSync(rootfs);
  if (real !== rootfs) {
    throw new ExecError(
      'ERR_NSINIT_ROOTFS',
      `root.path must not be a symlink: ${rootfs} leads to ${real}; name the real path if that is the root filesystem you mean`,
    );
  }
  return rootfs;
}

/** The strategies to run: the option's, else the config's annotation's (an input format of OCI configs), else none. */
function plannedNetwork(config: ValidOciConfig, option: NetworkOption | undefined): StartPlan['network'] {
  const annotation = config.annotations?.[NETWORK_ANNOTATION];
  const parsed = option
    ? parseNetworkConfig({ networks: option.networks ?? [], routes: option.routes ?? [] })
    : annotation === undefined
      ? null
      : parseNetworkAnnotation(annotation, `annotations["${NETWORK_ANNOTATION}"]`);
  if (!parsed || (parsed.networks.length === 0 && parsed.routes.length === 0)) return null;
  return { config: parsed, hostNetns: option?.hostNetns ?? null };
}

/** Step 1, everything that needs nothing created: the config validated (once), the options resolved, the program. */
function planStart(
  config: DeepReadonly<OciConfig> | ValidOciConfig,
  options: CreateOptions,
  mode: StartMode,
): StartPlan {
  const valid = isValidOciConfig(config) ? config : parseOciConfig(config);
  const id = options.id ?? randomBytes(6).toString('hex');
  validateContainerId(id);
  if (!valid.root?.path) throw new ExecError('ERR_NSINIT_ROOTFS', 'root.path is required');
  const bundleDir = realBundleDir(options.bundleDir ?? '.');
  const rootfs = checkedRootfs(resolve(bundleDir, valid.root.path));
  const detach = mode === 'create' && options.detach === true;
  if (detach && options.parentDeathSignal)
    throw new TypeError('options.parentDeathSignal: a detached container outlives this process');
  const parentDeathSignal =
    detach || options.parentDeathSignal === null ? 0 : signalNumber(options.parentDeathSignal ?? 'SIGKILL');
  const preserveFds = options.preserveFds ?? 0;
  if (options.keep && mode === 'create' && detach)
    throw new TypeError('options.keep: a detached container is kept until it is deleted anyway');
  const layout = childFdLayout(preserveFds);

  const size = terminalRequest(options.terminal, valid.process, options.stdio, options.consoleSocket);
  const wantsTerminal = size !== null;
  const terminal = size === null ? null : { size, consoleSocket: options.consoleSocket ?? null };

  const network = plannedNetwork(valid, options.network);
  const program = compileProgram({
    id,
    terminal: wantsTerminal,
    ...(network ? { network: networkNamespaceNeeds(network.config) } : {}),
    config: valid,
    rootfs,
    bundleDir,
    ...(options.args ? { args: options.args } : {}),
    noPivotRoot: options.noPivotRoot ?? false,
    syncFd: layout.syncFd,
    firstClosedFd: layout.syncFd,
    firstExtraFd: layout.firstExtraFd,
    parentDeathSignal,
    host: readHostFacts(),
    awaitStart: mode === 'create',
    sessionKeyring: options.newSessionKeyring === false ? null : `_ses.${id}`,
  });
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'NsinitWarning'));
  for (const warning of program.warnings) warn(warning);
  return {
    id,
    stateRoot: options.stateRoot ?? DEFAULT_STATE_ROOT,
    config: valid,
    rootfs,
    bundle: options.bundleDir === undefined ? null : bundleDir,
    program,
    encoded: encodeCompiled(program.ops, valid),
    stdio: terminal ? null : normalizeStdio(options.stdio),
    terminal,
    network,
    parentDeathSignal,
    killSignal: signalNumber(options.killSignal ?? 'SIGKILL'),
    mode,
    detach,
    preserveFds,
    pidFile: options.pidFile === undefined ? null : resolve(options.pidFile),
    keep: options.keep ?? false,
  };
}

/** What create() (or run()) would do with a config, worked out without creating anything. */
export interface StartDescription {
  id: string;
  rootfs: string;
  /** The CLONE_NEW* flags of the namespaces the init is cloned into. */
  cloneFlags: number;
  /** Where its cgroup goes, per hierarchy, and the resources set there. */
  cgroup: CgroupPlan;
  /** The init program, op by op, in words. */
  ops: string[];
  warnings: string[];
}

/** `nsinit plan`: the init program for a config in words; nothing is created (the state root is not even opened). */
export function describeStart(
  config: DeepReadonly<OciConfig> | ValidOciConfig,
  options: CreateOptions = {},
  mode: StartMode = 'create',
): StartDescription {
  const plan = planStart(config, { ...options, onWarning: () => {} }, mode);
  return {
    id: plan.id,
    rootfs: plan.rootfs,
    cloneFlags: plan.program.cloneFlags,
    cgroup: plan.program.cgroup,
    ops: plan.program.ops.map((op) => describeOp(op)),
    warnings: plan.program.warnings,
  };
}

/** The OOM killer ended the init while it started: what to tell the caller instead of "it started". */
function oomKilledAtStart(plan: StartPlan, cgroup: CgroupManager): ExecError | null {
  if ((cgroup.oomKills() ?? 0) === 0) return null;
  const limit = plan.program.cgroup.resources.memory?.limit;
  return new ExecError(
    'ERR_NSINIT_OOM_KILLED',
    `container ${plan.id}: the kernel's OOM killer ended it while it started` +
      `${limit === undefined ? '' : ` (linux.resources.memory.limit is ${limit} bytes)`}; give it more memory`,
  );
}

/**
 * Starts a container from an OCI config and returns once its command runs (the helper's
 * exec succeeded). A config from parseOciConfig or loadConfigFile is taken as validated; any
 * other is validated first. A failure at any later step unwinds everything done so far.
 */
export function run<const S extends StdioSpec = StdioSpec>(
  config: DeepReadonly<OciConfig> | ValidOciConfig,
  options: RunOptions<S> = {},
): Promise<ContainerFor<S>> {
  return startContainer(config, options, 'run') as Promise<ContainerFor<S>>;
}

/**
 * Creates a container: everything up to, but not including, its command — namespaces,
 * cgroup, mounts, networks, identity — after which its init waits for start(). Resolves once
 * it waits. Without `detach`, the handle is run()'s, plus start(); with it, the container is
 * left for any process to start, signal and delete by id (loadContainer), as `nsinit create`
 * leaves it.
 */
export async function create<const S extends StdioSpec = StdioSpec>(
  config: DeepReadonly<OciConfig> | ValidOciConfig,
  options: CreateOptions<S> & { detach: true },
): Promise<LoadedContainer>;
export async function create<const S extends StdioSpec = StdioSpec>(
  config: DeepReadonly<OciConfig> | ValidOciConfig,
  options?: CreateOptions<S>,
): Promise<ContainerFor<S>>;
export async function create(
  config: DeepReadonly<OciConfig> | ValidOciConfig,
  options: CreateOptions = {},
): Promise<Container | LoadedContainer> {
  return startContainer(config, options, 'create');
}

/** Which cgroup directories do not exist yet, from each leaf up: the ones a start is about to create. */
function missingCgroupDirectories(paths: CgroupPlan['paths']): string[] {
  const missing: string[] = [];
  const leaves = new Set([...Object.values(paths.v1), ...(paths.unified ? [paths.unified.directory] : [])]);
  for (const leaf of leaves) {
    const chain: string[] = [];
    for (let dir = leaf; dir !== '/' && !existsSync(dir); dir = dirname(dir)) chain.unshift(dir);
    for (const dir of chain) if (!missing.includes(dir)) missing.push(dir);
  }
  return missing;
}

async function startContainer(
  config: DeepReadonly<OciConfig> | ValidOciConfig,
  options: CreateOptions,
  mode: StartMode,
): Promise<Container | LoadedContainer> {
  const signal = options.signal;
  const undo = new UndoStack();
  const owned = new OwnedFds();
  undo.push('close fds', () => owned.closeAll());
  try {
    // 1. Validate and compile (nothing exists yet, so a bad config leaves nothing behind);
    // then the state directory, created atomically, and its lock; and at once a state.json
    // that says what is about to be made (phase "creating"), so that a runtime killed at any
    // later moment leaves a record `delete --force` can remove everything from.
    const plan = planStart(config, options, mode);
    const { id, program } = plan;
    const layout = childFdLayout(plan.preserveFds);
    const createdAt = new Date().toISOString();
    const recorded = (fields: Partial<ContainerState>): ContainerState => ({
      version: 1,
      id,
      phase: 'creating',
      pid: 0,
      pidStartTime: '0',
      rootfs: plan.rootfs,
      bundle: plan.bundle,
      created: createdAt,
      ...(plan.config.annotations ? { annotations: { ...plan.config.annotations } } : {}),
      ociVersion: plan.config.ociVersion,
      ...fields,
    });
    const containerDir: ContainerDir = await step('create the state directory', signal, () => {
      const dir = createContainerDir(openStateRoot(plan.stateRoot), id);
      undo.push(`remove ${dir.path}`, () => dir.remove());
      dir.lock();
      dir.writeState(
        recorded({
          cgroupPaths: { ...program.cgroup.paths, created: missingCgroupDirectories(program.cgroup.paths) },
        }),
      );
      return dir;
    });

    // 3. The console: a pty pair; the child gets the slave as its stdio and, bound over
    // /dev/console, a detached mount of it (a new mount namespace cannot clone one of ours).
    // In the container's own devpts when it gets a fresh one: this process mounts it (detached),
    // the console is a pty of it, and the helper attaches it at /dev/pts.
    const devpts = program.consoleDevpts
      ? await step('mount the console devpts', signal, () =>
          owned.add(
            mountDetached({
              fstype: 'devpts',
              options: program.consoleDevpts!.options,
              attrSet: program.consoleDevpts!.attrSet,
            }),
          ),
        )
      : null;
    const pty = plan.terminal
      ? await step('open the console', signal, () => {
          const opened = openPty({ ...plan.terminal!.size, ...(devpts !== null ? { devpts } : {}) });
          undo.push('close the console', () => {
            opened.destroy();
          });
          return opened;
        })
      : null;
    const consoleMount =
      pty && program.consoleMountFd !== null ? owned.add(detachedMount({ fd: pty.slave! })) : null;
    // create: the FIFO the init waits on until start (its read end goes to the init).
    const execFifo =
      program.execFifoFd !== null
        ? await step('make the exec FIFO', signal, () => owned.add(containerDir.openExecFifo()))
        : null;

    // 4. The child's fds, its cgroup and the spawn.
    const prepared = plan.stdio
      ? await step('prepare stdio', signal, () => prepareStdio(plan.stdio!, owned))
      : {
          childFds: [pty!.slave!, pty!.slave!, pty!.slave!] as [number, number, number],
          childOwned: [],
          parentFds: [null, null, null] as [null, null, null],
        };
    const namespaceFds = await step('open the namespaces to join', signal, () =>
      program.namespaceFiles.map((file) => ({ from: owned.add(openSync(file.path, 'r')), to: file.fd })),
    );
    // The cgroup exists with its resources and device rules set before the child does: on
    // cgroup v2 the child is born inside it (CLONE_INTO_CGROUP); step 7 joins the v1 hierarchies.
    const cgroup = await step('create the cgroup', signal, async () => {
      const manager = await createCgroupManager(program.cgroup.options);
      undo.push('remove the cgroup', () => manager.destroy());
      // state.json already names these directories (step 1): nothing to write until the pid.
      await manager.set(program.cgroup.resources);
      return manager;
    });
    const cloneFd = await step('open the cgroup for the spawn', signal, () => cgroup.cgroupFdForClone());
    const cloneCgroupFd = cloneFd === null ? null : owned.add(cloneFd);
    // 2 and 4: the launcher makes the sync channel (one socketpair carries the go signal down
    // and the child's report back) and spawns the helper into the new namespaces with the
    // program on an inherited fd; the helper waits for the go signal.
    const child = await step('spawn the init helper', signal, () =>
      launchInit({
        program: { ops: program.ops, encoded: plan.encoded },
        reportFd: layout.syncFd,
        programFd: layout.programFd,
        cloneFlags: program.cloneFlags,
        fds: [
          { from: prepared.childFds[0], to: 0 },
          { from: prepared.childFds[1], to: 1 },
          { from: prepared.childFds[2], to: 2 },
          ...layout.preserved,
          ...namespaceFds,
          ...(consoleMount !== null && program.consoleMountFd !== null
            ? [{ from: consoleMount, to: program.consoleMountFd }]
            : []),
          ...(execFifo !== null && program.execFifoFd !== null
            ? [{ from: execFifo, to: program.execFifoFd }]
            : []),
          ...(devpts !== null && program.consoleDevpts !== null
            ? [{ from: devpts, to: program.consoleDevpts.fd }]
            : []),
        ],
        ...(plan.parentDeathSignal ? { parentDeathSignal: plan.parentDeathSignal } : {}),
        ...(cloneCgroupFd !== null ? { cgroupFd: cloneCgroupFd } : {}),
        keepAlive: !plan.detach,
        errorContext: { subject: `container ${id}`, searchPath: "the container's PATH" },
      }),
    );
    owned.add(child.pidfd);
    undo.push(`kill and reap pid ${child.pid}`, async () => {
      pidfdSendSignal({ pidfd: child.pidfd, signal: 9 });
      await child.exited;
    });
    const syncFd = owned.add(child.syncFd!);
    const sync = new SyncChannel(owned.release(syncFd));
    undo.push('close the sync channel', () => sync.close());
    // Consumed in step 10, or moot once the sequence unwinds.
    const ready = mode === 'create' ? sync.awaitReady() : null;
    const report = mode === 'run' ? sync.awaitChildReport() : null;
    ready?.catch(() => {});
    report?.catch(() => {});
    for (const fd of [...namespaceFds.map((f) => f.from), ...prepared.childOwned]) owned.close(fd);
    if (cloneCgroupFd !== null) owned.close(cloneCgroupFd);
    if (consoleMount !== null) owned.close(consoleMount);
    if (execFifo !== null) owned.close(execFifo);
    if (devpts !== null) owned.close(devpts);
    // The terminal ends (EIO) only once every holder of the slave has closed it.
    pty?.closeSlave();

    // 5. Stdio streams; a terminal's master goes to the console socket when there is one.
    const streams = openStreams(prepared.parentFds, owned);
    undo.push('destroy stdio streams', () => {
      for (const stream of streams) stream?.destroy();
    });
    if (pty && plan.terminal?.consoleSocket) {
      const socketPath = plan.terminal.consoleSocket;
      await step('send the console to the console socket', signal, () => sendConsoleMaster(socketPath, pty));
    }

    // 6. state.json with the init's pid and start time against pid reuse.
    const pidStartTime = await step('write the pid and state', signal, async () => {
      const startTime = readProcessStartTime(child.pid);
      if (startTime === null) {
        // Gone before it was released: the kernel, not the program, ended it (the program waits for the go signal).
        const status = await child.exited;
        throw (
          oomKilledAtStart(plan, cgroup) ??
          new Error(`the init (pid ${child.pid}) died before it was recorded, ${describeExit(status)}`)
        );
      }
      containerDir.writePid(child.pid);
      // run(): "created" at once (no FIFO: running once it execs; if this process dies before
      // the go signal, the init reads EOF and ends). create(): "created" once it waits.
      containerDir.writeState(
        recorded({
          phase: plan.mode === 'run' ? 'created' : 'creating',
          pid: child.pid,
          pidStartTime: startTime,
          cgroupPaths: { ...cgroup.paths },
        }),
      );
      return startTime;
    });

    // 7. The v1 hierarchies: the child joins its cgroup in every one before it may run, so nothing escapes it.
    await step('join the cgroup', signal, () => cgroup.apply(child.pid));

    // 8. Networks: each strategy's host side, and the container side through a netlink socket
    // opened inside the container's network namespace; recorded for whoever removes them.
    const networks = plan.network
      ? await step('set up the networks', signal, () => {
          const removal = plan.network!.hostNetns ? { hostNetns: { path: plan.network!.hostNetns } } : {};
          const records = setUpNetworks({ config: plan.network!.config, pid: child.pid, ...removal });
          undo.push('remove the networks', () => removeNetworks(records, removal));
          containerDir.writeState({ ...containerDir.readState(), network: { records, ...removal } });
          return { records, removal };
        })
      : null;

    // 9. The go signal: the context, then EOF.
    await step('send the go signal', signal, () => sync.go({}));

    // 10. run: EOF on the channel means the command was exec'd — or that the kernel killed the
    // helper before it could say anything; a frame is the helper's error. create: the READY
    // frame means everything but the exec is done and the init waits on the exec FIFO.
    if (ready) {
      const outcome = await untilAborted(ready, signal);
      if (!outcome.ready) {
        if (outcome.report) throw child.initError(outcome.report);
        const status = await child.exited;
        throw (
          oomKilledAtStart(plan, cgroup) ??
          new Error(`the init (pid ${child.pid}) ended before it was ready, ${describeExit(status)}`)
        );
      }
    } else if (report) {
      const failure = await untilAborted(report, signal);
      if (failure) throw child.initError(failure);
    }
    const oomKilled = oomKilledAtStart(plan, cgroup);
    if (oomKilled) throw oomKilled;
    await step('record the container as created', signal, () => {
      if (plan.mode === 'create') containerDir.writeState({ ...containerDir.readState(), phase: 'created' });
      if (plan.pidFile !== null) writePidFile(plan.pidFile, child.pid);
    });
    sync.close();

    undo.commit();
    if (pty && plan.terminal?.consoleSocket) pty.destroy();
    if (plan.detach) {
      // Left for whoever reaps it — a subreaper such as conmon or a containerd shim once this
      // process exits, which must see its exit status, so we stop watching it — and for
      // loadContainer(): nothing of ours refers to it any more.
      containerDir.unlock();
      for (const stream of streams) stream?.destroy();
      child.exited.catch(() => {});
      cancelWaitExit({ pidfd: child.pidfd });
      closeSync(owned.release(child.pidfd));
      return loadContainer(plan.stateRoot, id);
    }
    owned.release(child.pidfd);
    // 11. The handle: wait() resolves once the init exited and everything above is removed.
    return new Container({
      id,
      pid: child.pid,
      pidfd: child.pidfd,
      pidStartTime,
      stateDir: containerDir.path,
      stdio: streams,
      // Sent to a console socket, the master is the receiver's: ours closes once the start is done.
      terminal: pty && !plan.terminal?.consoleSocket ? pty : null,
      exited: child.exited,
      oomKilled: () => (cgroup.oomKills() ?? 0) > 0,
      cleanup: async () => {
        if (plan.keep) {
          // Left for delete: the lock goes with this process's interest in it.
          containerDir.unlock();
          return;
        }
        if (networks) removeNetworks(networks.records, networks.removal);
        // Without a pid namespace of its own, the init's end does not end its children.
        if ((program.cloneFlags & NAMESPACE_FLAGS.pid) === 0) await cgroup.killAll();
        await cgroup.destroy();
        containerDir.remove();
      },
      keep: plan.keep,
      ...(signal ? { signal } : {}),
      killSignal: plan.killSignal,
    });
  } catch (error) {
    const failures = await undo.unwind();
    if (failures.length > 0 && error instanceof Error) {
      error.message += `; cleanup also failed: ${failures.map((f) => f.message).join('; ')}`;
    }
    throw error;
  }
}

function describeExit(status: { code: number | null; signal: number | null }): string {
  return status.signal === null ? `with status ${status.code}` : `killed by signal ${status.signal}`;
}
