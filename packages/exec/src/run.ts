// run(): the seed's parent sequence (ARCHITECTURE.md, "The parent sequence"),
// in its order. Every step registers its undo before it creates anything; any
// failure — bad config, an op failing in the child, an abort — unwinds in
// reverse and leaves nothing: no child, no fds, no state directory.
import { randomBytes } from 'node:crypto';
import { openSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { detachedMount, launchInit, pidfdSendSignal } from '@nsinit/native';
import { createCgroupManager } from '@nsinit/cgroups';
import { openPty, sendConsoleMaster } from '@nsinit/pty';
import {
  type NetworkConfig,
  namespaceToJoin,
  parseNetworkConfig,
  removeNetworks,
  setUpNetworks,
} from '@nsinit/network';
import { NETWORK_ANNOTATION, type OciConfig, parseOciConfig } from '@nsinit/config';
import {
  createContainerDir,
  DEFAULT_STATE_ROOT,
  openStateRoot,
  readProcessStartTime,
  validateContainerId,
} from '@nsinit/state';
import { SyncChannel } from '@nsinit/syncpipe';
import { compileProgram, encodeCompiled, NAMESPACE_FLAGS } from './compile.js';
import { Container, signalNumber } from './container.js';
import { abortError, ExecError, InvalidConfigError, StepError } from './errors.js';
import { OwnedFds } from './fds.js';
import { readHostFacts } from './host.js';
import { normalizeStdio, openStreams, prepareStdio, type StdioOption } from './stdio.js';
import { UndoStack } from './undo.js';

export interface RunOptions {
  /** The command; replaces `process.args` of the config. */
  args?: readonly string[];
  /** One value for all three, or one each for stdin, stdout, stderr. Default 'pipe'. Not with a terminal. */
  stdio?: StdioOption | readonly [StdioOption, StdioOption, StdioOption];
  /**
   * Give the container a terminal for its stdio (`container.terminal`, a Duplex), optionally of
   * a size. Default: the config's process.terminal and consoleSize.
   */
  terminal?: boolean | { cols: number; rows: number };
  /** With a terminal: send its master to this Unix socket (runc's --console-socket) instead of keeping it. */
  consoleSocket?: string;
  /** Aborting before the start unwinds it; after, kills the container (see killSignal). */
  signal?: AbortSignal;
  /** Sent on abort. Default SIGKILL: an init ignores signals it has no handler for. */
  killSignal?: NodeJS.Signals | number;
  /** Container id; default a random `nsinit-<hex>`. */
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
  /**
   * nsinit's network strategies (loopback, veth, netns) and routes, in any 2014 spelling
   * (see @nsinit/network). Default: the config's `org.nsinit.network` annotation.
   */
  network?: {
    networks?: unknown;
    routes?: unknown;
    /** Where bridges and host veth ends live: a network namespace path. Default ours. */
    hostNetns?: string;
  };
}

/** The strategies to run: the option, else the config's annotation, else none. */
function networkConfig(config: OciConfig, option: RunOptions['network']): NetworkConfig | null {
  const annotation = config.annotations?.[NETWORK_ANNOTATION];
  let input: { networks?: unknown; routes?: unknown } | undefined = option;
  if (!input && annotation !== undefined) {
    try {
      input = JSON.parse(annotation) as { networks?: unknown; routes?: unknown };
    } catch (error) {
      throw new InvalidConfigError(
        `annotations["${NETWORK_ANNOTATION}"]`,
        `not JSON: ${(error as Error).message}`,
      );
    }
  }
  if (!input) return null;
  const parsed = parseNetworkConfig({ networks: input.networks, routes: input.routes });
  return parsed.networks.length === 0 && parsed.routes.length === 0 ? null : parsed;
}

// fd layout in the child: stdio, then the sync socket, then the program, then the files
// the program needs (namespaces to join).
const SYNC_FD = 3;
const PROGRAM_FD = 4;
const FIRST_EXTRA_FD = 5;

/** nsinit's own typed errors pass through a step; system errors get the step's name. */
function isNsinitError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  return error.name === 'AbortError' || (typeof code === 'string' && code.startsWith('ERR_NSINIT_'));
}

async function step<T>(
  name: string,
  signal: AbortSignal | undefined,
  action: () => T | Promise<T>,
): Promise<T> {
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
    throw new ExecError('ERR_NSINIT_ROOTFS', `the bundle folder ${resolve(dir)} cannot be opened: ${(error as Error).message}`, {
      cause: error,
    });
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
    throw new ExecError('ERR_NSINIT_ROOTFS', `root.path ${rootfs} ${stat ? 'is not a directory' : 'does not exist'}`);
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

/** What step 1 works out before anything exists: the valid config, the program, the options resolved. */
function plan(config: OciConfig, options: RunOptions) {
  const valid = parseOciConfig(config);
  if (!valid.root?.path) throw new ExecError('ERR_NSINIT_ROOTFS', 'root.path is required');
  const bundleDir = realBundleDir(options.bundleDir ?? '.');
  const rootfs = checkedRootfs(resolve(bundleDir, valid.root.path));
  const parentDeathSignal =
    options.parentDeathSignal === null ? 0 : signalNumber(options.parentDeathSignal ?? 'SIGKILL');
  const id = options.id ?? `nsinit-${randomBytes(6).toString('hex')}`;
  validateContainerId(id);
  const terminalOption = options.terminal;
  const terminal =
    terminalOption === undefined ? (valid.process?.terminal ?? false) : terminalOption !== false;
  if (terminal && options.stdio !== undefined)
    throw new TypeError('options.stdio and a terminal exclude each other');
  if (!terminal && options.consoleSocket !== undefined)
    throw new TypeError('options.consoleSocket needs a terminal');
  const consoleSize = valid.process?.consoleSize;
  const windowSize =
    typeof terminalOption === 'object'
      ? terminalOption
      : consoleSize?.width && consoleSize.height
        ? { cols: consoleSize.width, rows: consoleSize.height }
        : {};
  const network = networkConfig(valid, options.network);
  const joinPath = network ? namespaceToJoin(network)?.path : undefined;
  const program = compileProgram({
    id,
    terminal,
    ...(network
      ? {
          network: {
            ...(joinPath ? { joinPath } : {}),
            configuresNamespace:
              network.routes.length > 0 || network.networks.some((n) => n.type !== 'netns'),
          },
        }
      : {}),
    config: valid,
    rootfs,
    bundleDir,
    ...(options.args ? { args: options.args } : {}),
    noPivotRoot: options.noPivotRoot ?? false,
    syncFd: SYNC_FD,
    firstClosedFd: SYNC_FD,
    firstExtraFd: FIRST_EXTRA_FD,
    parentDeathSignal,
    host: readHostFacts(),
  });
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'NsinitWarning'));
  for (const warning of program.warnings) warn(warning);
  return {
    valid,
    id,
    rootfs,
    bundleDir,
    parentDeathSignal,
    terminal,
    windowSize,
    network,
    program,
    encoded: encodeCompiled(program.ops, valid),
    stdio: normalizeStdio(options.stdio),
    killSignal: signalNumber(options.killSignal ?? 'SIGKILL'),
  };
}

/**
 * Starts a container from an OCI config and returns once its command runs
 * (the helper's exec succeeded). The config is validated first; a failure at
 * any later step unwinds everything done so far.
 */
export async function run(config: OciConfig, options: RunOptions = {}): Promise<Container> {
  const signal = options.signal;
  const undo = new UndoStack();
  const owned = new OwnedFds();
  undo.push('close fds', () => owned.closeAll());
  try {
    // 1. Validate and compile; nothing exists yet, so a bad config leaves nothing behind.
    const {
      valid,
      id,
      rootfs,
      bundleDir,
      parentDeathSignal,
      terminal,
      windowSize,
      network,
      program,
      encoded,
      stdio,
      killSignal,
    } = plan(config, options);

    // 1. The state directory, created atomically, and its lock.
    const containerDir = await step('create the state directory', signal, () => {
      const dir = createContainerDir(openStateRoot(options.stateRoot ?? DEFAULT_STATE_ROOT), id);
      undo.push(`remove ${dir.path}`, () => dir.remove());
      dir.lock();
      return dir;
    });

    // 3. Console: a pty pair; the child gets the slave as its stdio and, bound over
    // /dev/console, a detached mount of it (a new mount namespace cannot clone ours).
    const pty = terminal
      ? await step('open the console', signal, () => {
          const opened = openPty(windowSize);
          undo.push('close the console', () => {
            opened.destroy();
          });
          return opened;
        })
      : null;
    const consoleMount =
      pty && program.consoleMountFd !== null ? owned.add(detachedMount({ fd: pty.slave! })) : null;

    // 4, prepared: what the child gets besides the program and the sync socket.
    const prepared = pty
      ? {
          childFds: [pty.slave!, pty.slave!, pty.slave!] as [number, number, number],
          childOwned: [],
          parentFds: [null, null, null] as [null, null, null],
        }
      : await step('prepare stdio', signal, () => prepareStdio(stdio, owned));
    const namespaceFds = await step('open the namespaces to join', signal, () =>
      program.namespaceFiles.map((file) => ({ from: owned.add(openSync(file.path, 'r')), to: file.fd })),
    );
    // 7, begun: the cgroup exists with its resources set before the child does, so that on
    // cgroup v2 the child is born inside it (CLONE_INTO_CGROUP); v1 joins it below.
    const cgroupPlan = program.cgroup;
    const cgroup = await step('create the cgroup', signal, async () => {
      const manager = await createCgroupManager(cgroupPlan.options);
      undo.push('remove the cgroup', () => manager.destroy());
      await manager.set(cgroupPlan.resources);
      return manager;
    });
    const cloneFd = cgroup.cgroupFdForClone();
    const cloneCgroupFd = cloneFd === null ? null : owned.add(cloneFd);
    // 2 and 4. The launcher makes the sync channel (one socketpair carries the go signal down
    // and the child's error report back) and spawns the helper into the new namespaces with the
    // program on an inherited fd; the helper waits for the go signal on it.
    const child = await step('spawn the init helper', signal, () =>
      launchInit({
        program: { ops: program.ops, encoded },
        reportFd: SYNC_FD,
        programFd: PROGRAM_FD,
        cloneFlags: program.cloneFlags,
        fds: [
          { from: prepared.childFds[0], to: 0 },
          { from: prepared.childFds[1], to: 1 },
          { from: prepared.childFds[2], to: 2 },
          ...namespaceFds,
          ...(consoleMount !== null && program.consoleMountFd !== null
            ? [{ from: consoleMount, to: program.consoleMountFd }]
            : []),
        ],
        ...(parentDeathSignal ? { parentDeathSignal } : {}),
        ...(cloneCgroupFd !== null ? { cgroupFd: cloneCgroupFd } : {}),
        errorContext: { subject: `container ${id}`, searchPath: "the container's PATH" },
      }),
    );
    const exited = child.exited;
    owned.add(child.pidfd);
    undo.push(`kill and reap pid ${child.pid}`, async () => {
      pidfdSendSignal({ pidfd: child.pidfd, signal: 9 });
      await exited;
    });
    // The program waits for the go signal, so the launcher hands over the sync socket.
    const syncFd = owned.add(child.syncFd!);
    const sync = new SyncChannel(syncFd);
    owned.release(syncFd);
    undo.push('close the sync channel', () => sync.close());
    const report = sync.awaitChildReport();
    report.catch(() => {}); // consumed below, or moot once the sequence unwinds
    for (const fd of [...namespaceFds.map((f) => f.from), ...prepared.childOwned]) owned.close(fd);
    if (cloneCgroupFd !== null) owned.close(cloneCgroupFd);
    if (consoleMount !== null) owned.close(consoleMount);
    // The terminal ends (EIO) only once every holder of the slave has closed it.
    pty?.closeSlave();

    // 5. Attach stdio; a terminal's master goes to the console socket when there is one.
    const streams = openStreams(prepared.parentFds, owned);
    if (pty && options.consoleSocket !== undefined) {
      const socketPath = options.consoleSocket;
      await step('send the console to the console socket', signal, () => sendConsoleMaster(socketPath, pty));
    }
    undo.push('destroy stdio streams', () => {
      for (const stream of streams) stream?.destroy();
    });

    // 6. The pid file and state.json, with the init's start time against pid reuse.
    await step('write the pid and state', signal, () => {
      const startTime = readProcessStartTime(child.pid);
      if (startTime === null) throw new Error(`the init (pid ${child.pid}) exited before it was recorded`);
      containerDir.writePid(child.pid);
      containerDir.writeState({
        version: 1,
        id,
        pid: child.pid,
        pidStartTime: startTime,
        rootfs,
        bundle: options.bundleDir ? bundleDir : null,
        created: new Date().toISOString(),
        ...(valid.annotations ? { annotations: valid.annotations } : {}),
        cgroupPaths: { ...cgroup.paths },
      });
    });

    // 7. Cgroups: the child joins its cgroup in every v1 hierarchy before it may run, so nothing escapes it.
    await step('join the cgroup', signal, () => cgroup.apply(child.pid));
    // 8. Networking: each strategy's host side, and the container side through a netlink
    // socket opened inside the container's network namespace; recorded for the cleanup.
    const networks = network
      ? await step('set up the networks', signal, () => {
          const removal = options.network?.hostNetns
            ? { hostNetns: { path: options.network.hostNetns } }
            : {};
          const records = setUpNetworks({ config: network, pid: child.pid, ...removal });
          undo.push('remove the networks', () => removeNetworks(records, removal));
          containerDir.writeState({ ...containerDir.readState(), network: { records, ...removal } });
          return { records, removal };
        })
      : null;
    const context: Record<string, string> = {};

    // 9. The go signal: the context, then EOF.
    await step('send the go signal', signal, () => sync.go(context));

    // 10. EOF on the channel means the command was exec'd; a frame is the helper's error.
    const failure = await untilAborted(report, signal);
    if (failure) throw child.initError(failure);
    sync.close();

    undo.commit();
    if (pty && options.consoleSocket !== undefined) pty.destroy();
    owned.release(child.pidfd);
    return new Container({
      id,
      pid: child.pid,
      pidfd: child.pidfd,
      stateDir: containerDir.path,
      stdio: streams,
      // Sent to a console socket, the master is the receiver's: ours closes once the start is done.
      terminal: pty && options.consoleSocket === undefined ? pty : null,
      exited,
      cleanup: async () => {
        if (networks) removeNetworks(networks.records, networks.removal);
        // Without a pid namespace of its own, the init's end does not end its children.
        if ((program.cloneFlags & NAMESPACE_FLAGS.pid) === 0) await cgroup.killAll();
        await cgroup.destroy();
        containerDir.remove();
      },
      ...(signal ? { signal } : {}),
      killSignal,
    });
  } catch (error) {
    const failures = await undo.unwind();
    if (failures.length > 0 && error instanceof Error) {
      error.message += `; cleanup also failed: ${failures.map((f) => f.message).join('; ')}`;
    }
    throw error;
  }
}
