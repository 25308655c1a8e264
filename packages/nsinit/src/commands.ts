// The verbs, loaded only when one runs (main.ts parses; this acts). runc's lifecycle —
// create, start, state, kill, delete — and its other verbs, each on a container found by id
// in the state root; the 2014 form of `exec`, which runs a new container in the foreground.
// Each verb returns the process's exit code; a failure is thrown and main.ts reports it.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  type DeepReadonly,
  embeddedDefaultConfig,
  type LoadedConfig,
  loadConfigFile,
  type OciProcess,
  parseOciConfig,
  rootlessSpecConfig,
  runcSpecConfig,
  type ValidOciConfig,
} from '@nsinit/config';
import {
  type ContainerInfo,
  create,
  deleteContainer,
  describeStart,
  type ExitResult,
  type LoadedContainer,
  loadContainer,
  NAMESPACE_FLAGS,
  type RunOptions,
  run,
} from '@nsinit/exec';
import { attachTerminal, type Pty, type TerminalAttachment } from '@nsinit/pty';
import { listContainers } from '@nsinit/state';
import { oomEvent, statsEvent } from './events.js';
import { formatFeatures } from './features.js';
import { marshalGo } from './go-json.js';
import type { GlobalOptions, Logger } from './logger.js';
import { type ContainerListing, formatList, formatState, ownerName } from './oci-state.js';
import { formatPs } from './ps.js';
import { resourcesFromFlags } from './update.js';
import type {
  CreateFlags,
  DeleteFlags,
  EventsFlags,
  ExecFlags,
  KillFlags,
  LegacyExecFlags,
  ListFlags,
  PlanFlags,
  PsFlags,
  RunFlags,
  SpecFlags,
  UpdateFlags,
} from './verbs.js';

// Every signal the foreground nsinit can catch goes on to the container, as runc does —
// but SIGCHLD (ours), SIGWINCH (the terminal's size, copied onto the console), SIGURG, SIGPROF (V8's profiler),
// and the faults only the kernel raises (SIGBUS, SIGFPE, SIGILL, SIGSEGV).
const NOT_FORWARDED = new Set([
  'SIGKILL',
  'SIGSTOP',
  'SIGCHLD',
  'SIGWINCH',
  'SIGURG',
  'SIGPROF',
  'SIGBUS',
  'SIGFPE',
  'SIGILL',
  'SIGSEGV',
]);
export const FORWARDED_SIGNALS = (Object.keys(constants.signals) as NodeJS.Signals[]).filter(
  (signal) =>
    !NOT_FORWARDED.has(signal) && signal !== 'SIGPOLL' && signal !== 'SIGIOT' && signal !== 'SIGUNUSED',
);

/** A runtime failure with a one-line message (main.ts prints it and exits 1). */
class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** What a foreground process is to the loop below: a container's init or an exec'd process. */
interface Foreground {
  readonly id?: string;
  readonly terminal: Pty | null;
  kill(signal: NodeJS.Signals): unknown;
  wait(): Promise<ExitResult>;
}

/** The caller's terminal size, when it has one (a size of 0x0, as under `script` without a tty, is none). */
function callerTerminalSize(): { cols: number; rows: number } | undefined {
  const { columns, rows } = process.stdout;
  return process.stdout.isTTY && columns > 0 && rows > 0 ? { cols: columns, rows } : undefined;
}

/**
 * Starts something in the foreground and waits for it: signals caught before it started abort
 * the start (which unwinds), after it go on to it; a terminal is attached to ours; resolves
 * with its exit status.
 */
async function foreground(
  start: (signal: AbortSignal) => Promise<Foreground>,
  log: Logger,
  what: string,
): Promise<number> {
  const abort = new AbortController();
  let started: Foreground | undefined;
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) {
      started.kill(signal);
    } else {
      received ??= signal;
      abort.abort(new Error(`interrupted by ${signal}`));
    }
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  let attachment: TerminalAttachment | undefined;
  try {
    started = await start(abort.signal);
    if (started.terminal) attachment = attachTerminal(started.terminal);
    const exit = await started.wait().catch((error: unknown) => {
      // An abort after the start cannot happen here (only signals before it abort), but keep the exit if it does.
      if (error && typeof error === 'object' && 'exit' in error) return (error as { exit: ExitResult }).exit;
      throw error;
    });
    // Everything it wrote reaches our output before we exit.
    await attachment?.finished;
    // runc's words: the status alone (137) does not say that the kernel, not a signal someone sent, ended it.
    const name = started.id === undefined ? what : `container ${started.id}`;
    if (exit.oomKilled) log('error', `${name} was OOM-killed (memory limit too low?)`);
    log('debug', `${name} exited with status ${exit.status}`);
    return exit.status;
  } catch (error) {
    if (received) {
      log('error', `interrupted by ${received} before ${what} started; nothing was left behind`);
      return 128 + (constants.signals[received] ?? 0);
    }
    throw error;
  } finally {
    attachment?.detach();
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}

/** The 2014 form: `nsinit exec [--config F] -- CMD` runs a new container in the foreground. */
export async function execCommand(
  command: string[],
  options: LegacyExecFlags,
  globals: GlobalOptions,
  log: Logger,
): Promise<number> {
  const loaded = options.config ? await loadConfigFile(options.config) : undefined;
  for (const warning of loaded?.warnings ?? []) log('warning', warning);
  const config = loaded?.config ?? embeddedDefaultConfig();
  const terminal =
    options.tty === true || options.consoleSocket !== undefined || config.process?.terminal === true;
  return foreground(
    async (signal) => {
      const container = await run(config, {
        ...(command.length > 0 ? { args: command } : {}),
        ...(terminal ? { terminal: callerTerminalSize() ?? true } : { stdio: 'inherit' as const }),
        ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
        signal,
        ...(options.id !== undefined ? { id: options.id } : {}),
        // The config's folder is the bundle: relative bind sources are relative to it, as root.path is.
        ...(loaded ? { bundleDir: dirname(loaded.path) } : {}),
        // A container.json's networks travel as data; the embedded default has loopback.
        ...(loaded
          ? loaded.runtime.network
            ? { network: loaded.runtime.network }
            : {}
          : { network: { networks: [{ type: 'loopback' }] } }),
        stateRoot: options.root ?? globals.root,
        noPivotRoot: !options.pivot || (loaded?.runtime.noPivotRoot ?? false),
        onWarning: (message) => log('warning', message),
      });
      log('debug', `container ${container.id} started, pid ${container.pid}`);
      return container;
    },
    log,
    'the container',
  );
}

/** `stats`, `pause`, `unpause`/`resume`: the container found by id in the state root. */
export async function cgroupCommand(
  name: 'stats' | 'pause' | 'unpause' | 'resume',
  id: string,
  globals: GlobalOptions,
): Promise<number> {
  const container = loadContainer(globals.root, id);
  if (name === 'stats') process.stdout.write(`${JSON.stringify(container.stats(), null, 2)}\n`);
  else if (name === 'pause') await container.pause();
  else await container.resume();
  return 0;
}

// ---------------------------------------------------------------------------------------
// runc's verbs.

function refuseSystemdCgroup(globals: GlobalOptions): void {
  if (globals.systemdCgroup) {
    throw new CommandError(
      '--systemd-cgroup: systemd is not running on this host (and nsinit does not drive it yet); ' +
        'leave the flag out to manage cgroups directly (cgroupfs)',
    );
  }
}

/** The bundle's config.json, its warnings logged. */
async function loadBundle(bundle: string, log: Logger): Promise<{ dir: string; loaded: LoadedConfig }> {
  const dir = resolve(bundle);
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new CommandError(`${file} does not exist: is ${dir} an OCI bundle?`);
  const loaded = await loadConfigFile(file);
  for (const warning of loaded.warnings) log('warning', warning);
  return { dir, loaded };
}

/**
 * systemd's socket activation, as runc passes it on: with LISTEN_PID naming us, the
 * LISTEN_FDS fds from 3 go to the container, whose process gets LISTEN_FDS and LISTEN_PID=1.
 */
function socketActivation(config: ValidOciConfig): { config: ValidOciConfig; fds: number } {
  const count = Number(process.env.LISTEN_FDS ?? '');
  if (process.env.LISTEN_PID !== String(process.pid) || !Number.isInteger(count) || count <= 0) {
    return { config, fds: 0 };
  }
  const env = (config.process?.env ?? []).filter(
    (entry) => !entry.startsWith('LISTEN_FDS=') && !entry.startsWith('LISTEN_PID='),
  );
  const process_ = { ...config.process!, env: [...env, `LISTEN_FDS=${count}`, 'LISTEN_PID=1'] };
  return { config: parseOciConfig({ ...config, process: process_ }), fds: count };
}

/**
 * What create and run start from: the bundle's config (with systemd's socket activation laid
 * over it), whether its process has a terminal, and run()'s and create()'s options from runc's
 * flags. A console socket without a terminal is refused here, for both.
 */
async function bundleStart(
  id: string,
  flags: CreateFlags,
  globals: GlobalOptions,
  log: Logger,
): Promise<{ config: ValidOciConfig; terminal: boolean; options: RunOptions }> {
  refuseSystemdCgroup(globals);
  const bundle = await loadBundle(flags.bundle, log);
  const activated = socketActivation(bundle.loaded.config);
  const terminal = activated.config.process?.terminal === true;
  if (!terminal && flags.consoleSocket !== undefined) {
    throw new CommandError('--console-socket needs process.terminal: true in the config');
  }
  const { runtime } = bundle.loaded;
  return {
    config: activated.config,
    terminal,
    options: {
      id,
      stateRoot: globals.root,
      bundleDir: bundle.dir,
      ...(flags.pidFile !== undefined ? { pidFile: flags.pidFile } : {}),
      ...(flags.consoleSocket !== undefined ? { consoleSocket: flags.consoleSocket } : {}),
      noPivotRoot: flags.noPivot || runtime.noPivotRoot,
      newSessionKeyring: !flags.noNewKeyring,
      preserveFds: activated.fds + flags.preserveFds,
      ...(runtime.network ? { network: runtime.network } : {}),
      onWarning: (message) => log('warning', message),
    },
  };
}

/**
 * create: everything but the command, which waits for `start`; this process then exits and
 * leaves the container to whoever reaps it (conmon, a containerd shim, or init).
 */
async function createDetached(
  id: string,
  flags: CreateFlags,
  globals: GlobalOptions,
  log: Logger,
): Promise<LoadedContainer> {
  const { config, terminal, options } = await bundleStart(id, flags, globals, log);
  if (terminal && flags.consoleSocket === undefined) {
    // runc's rule: nobody would hold the terminal's master once this process exits.
    throw new CommandError(
      'cannot allocate a terminal if nsinit exits without a console socket: give --console-socket, or set process.terminal to false',
    );
  }
  const container = await create(config, {
    ...options,
    ...(terminal ? { terminal: true } : { stdio: 'inherit' as const }),
    detach: true,
  });
  log('debug', `container ${id} created, pid ${container.pid}`);
  return container;
}

export async function createCommand(
  id: string,
  flags: CreateFlags,
  globals: GlobalOptions,
  log: Logger,
): Promise<number> {
  await createDetached(id, flags, globals, log);
  return 0;
}

export async function runCommand(
  id: string,
  flags: RunFlags,
  globals: GlobalOptions,
  log: Logger,
): Promise<number> {
  if (flags.detach) {
    if (flags.keep) throw new CommandError('--keep and --detach exclude each other');
    const container = await createDetached(id, flags, globals, log);
    container.start();
    return 0;
  }
  const { config, terminal, options } = await bundleStart(id, flags, globals, log);
  return foreground(
    async (signal) => {
      const container = await run(config, {
        ...options,
        ...(terminal ? { terminal: callerTerminalSize() ?? true } : { stdio: 'inherit' as const }),
        keep: flags.keep,
        signal,
      });
      log('debug', `container ${id} started, pid ${container.pid}`);
      return container;
    },
    log,
    `container ${id}`,
  );
}

export async function startCommand(id: string, globals: GlobalOptions, _log: Logger): Promise<number> {
  loadContainer(globals.root, id).start();
  return 0;
}

/** runc's view of a container: what `state` and `list` print (runc's `list` names the owner, `state` does not). */
function listing(info: ContainerInfo, owner = ''): ContainerListing {
  return {
    ...(info.ociVersion !== undefined ? { ociVersion: info.ociVersion } : {}),
    id: info.id,
    // runc prints 0 for a stopped container: its pid means nothing any more.
    pid: info.status === 'stopped' ? 0 : info.pid,
    status: info.status,
    bundle: info.bundle ?? '',
    rootfs: info.rootfs,
    created: info.created,
    owner,
    ...(info.annotations ? { annotations: info.annotations } : {}),
  };
}

export async function stateCommand(id: string, globals: GlobalOptions, _log: Logger): Promise<number> {
  process.stdout.write(formatState(listing(loadContainer(globals.root, id).state())));
  return 0;
}

export async function killCommand(
  id: string,
  signal: number,
  flags: KillFlags,
  globals: GlobalOptions,
  _log: Logger,
): Promise<number> {
  const container = loadContainer(globals.root, id);
  const status = container.state().status;
  // The words containerd's shim looks for ("container not running": the process already finished).
  const notRunning = () => new CommandError(`cannot kill container "${id}": container not running`);
  if (status === 'stopped') throw notRunning();
  if (!(await container.kill(signal, { all: flags.all }))) throw notRunning();
  return 0;
}

export async function deleteCommand(
  id: string,
  flags: DeleteFlags,
  globals: GlobalOptions,
  _log: Logger,
): Promise<number> {
  try {
    await deleteContainer(globals.root, id, { force: flags.force });
  } catch (error) {
    // runc's rule: --force deletes what is there, and nothing there is no failure.
    if (flags.force && (error as { code?: string }).code === 'ERR_NSINIT_STATE_NOT_FOUND') return 0;
    throw error;
  }
  return 0;
}

export async function listCommand(flags: ListFlags, globals: GlobalOptions, log: Logger): Promise<number> {
  const listings: ContainerListing[] = [];
  for (const id of listContainers(globals.root)) {
    try {
      const container = loadContainer(globals.root, id);
      listings.push(listing(container.state(), ownerName(statSync(container.stateDir).uid)));
    } catch (error) {
      // A directory a runtime is still making (or left half-made) has no state to list.
      log('debug', `${id}: ${(error as Error).message}`);
    }
  }
  process.stdout.write(formatList(listings, flags));
  return 0;
}

/** The container `id`, unless it has stopped (in the words containerd's shim looks for). */
function runningContainer(root: string, id: string): LoadedContainer {
  const container = loadContainer(root, id);
  if (container.state().status === 'stopped')
    throw new CommandError(`container "${id}": container not running`);
  return container;
}

export async function psCommand(
  id: string,
  psArgs: string[],
  flags: PsFlags,
  globals: GlobalOptions,
  _log: Logger,
): Promise<number> {
  const container = runningContainer(globals.root, id);
  process.stdout.write(await formatPs(container.ps(), psArgs, flags.format));
  return 0;
}

/** A process.json (`-` for stdin); exec() validates it as a config's process is. */
function readProcessFile(path: string): DeepReadonly<OciProcess> {
  const text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(path), 'utf8');
  try {
    return JSON.parse(text) as DeepReadonly<OciProcess>;
  } catch (error) {
    throw new CommandError(`--process ${path}: not JSON (${(error as Error).message})`);
  }
}

/**
 * runc's exec without --process: the container's own process (from its bundle's config.json)
 * with the command and the flags laid over it.
 */
async function processFromFlags(
  info: ContainerInfo,
  command: string[],
  flags: ExecFlags,
  log: Logger,
): Promise<DeepReadonly<OciProcess>> {
  if (command.length === 0) throw new CommandError('exec needs a command (or --process FILE)');
  const base: DeepReadonly<OciProcess> =
    info.bundle !== null && existsSync(join(info.bundle, 'config.json'))
      ? ((await loadBundle(info.bundle, log)).loaded.config.process ?? { cwd: '/' })
      : { cwd: '/', env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };
  const caps = base.capabilities ?? {};
  const added = flags.caps;
  const user = flags.user
    ? { ...base.user, uid: flags.user.uid, gid: flags.user.gid ?? base.user?.gid ?? 0 }
    : (base.user ?? { uid: 0, gid: 0 });
  return {
    ...base,
    args: command,
    terminal: flags.tty,
    ...(flags.cwd !== undefined ? { cwd: flags.cwd } : {}),
    env: [...(base.env ?? []), ...flags.env],
    user: {
      ...user,
      ...(flags.additionalGids.length > 0
        ? { additionalGids: [...(user.additionalGids ?? []), ...flags.additionalGids] }
        : {}),
    },
    ...(added.length > 0
      ? {
          capabilities: {
            bounding: [...(caps.bounding ?? []), ...added],
            effective: [...(caps.effective ?? []), ...added],
            permitted: [...(caps.permitted ?? []), ...added],
            inheritable: [...(caps.inheritable ?? []), ...added],
            ambient: [...(caps.ambient ?? []), ...added],
          },
        }
      : {}),
    ...(flags.noNewPrivs ? { noNewPrivileges: true } : {}),
  };
}

/** `exec ID CMD…` / `exec --process F ID`: a new process in a running container. */
export async function execIntoCommand(
  id: string,
  command: string[],
  flags: ExecFlags,
  globals: GlobalOptions,
  log: Logger,
): Promise<number> {
  refuseSystemdCgroup(globals);
  const container = loadContainer(globals.root, id);
  const info = container.state();
  const processSpec =
    flags.process !== undefined
      ? readProcessFile(flags.process)
      : await processFromFlags(info, command, flags, log);
  const terminal = processSpec.terminal === true;
  if (terminal && flags.detach && flags.consoleSocket === undefined) {
    throw new CommandError(
      'cannot allocate a terminal if nsinit exits without a console socket: give --console-socket',
    );
  }
  if (!terminal && flags.consoleSocket !== undefined) {
    throw new CommandError('--console-socket needs a terminal (-t, or "terminal": true in the process)');
  }
  const options = {
    ...(flags.pidFile !== undefined ? { pidFile: flags.pidFile } : {}),
    ...(flags.consoleSocket !== undefined ? { consoleSocket: flags.consoleSocket } : {}),
    preserveFds: flags.preserveFds,
    ignorePaused: flags.ignorePaused,
    detach: flags.detach,
    onWarning: (message: string) => log('warning', message),
  };
  if (flags.detach) {
    const started = await container.exec(processSpec, {
      ...options,
      ...(terminal ? { terminal: true } : { stdio: 'inherit' as const }),
    });
    log('debug', `exec in container ${id}: pid ${started.pid}`);
    return 0;
  }
  return foreground(
    async () =>
      container.exec(processSpec, {
        ...options,
        ...(terminal && flags.consoleSocket === undefined
          ? { terminal: callerTerminalSize() ?? true }
          : terminal
            ? { terminal: true }
            : { stdio: 'inherit' as const }),
      }),
    log,
    `the process in container ${id}`,
  );
}

export async function pauseCommand(id: string, globals: GlobalOptions, _log: Logger): Promise<number> {
  return cgroupCommand('pause', id, globals);
}

export async function resumeCommand(id: string, globals: GlobalOptions, _log: Logger): Promise<number> {
  return cgroupCommand('resume', id, globals);
}

export async function eventsCommand(
  id: string,
  flags: EventsFlags,
  globals: GlobalOptions,
  _log: Logger,
): Promise<number> {
  const container = runningContainer(globals.root, id);
  if (flags.stats) {
    process.stdout.write(statsEvent(id, container.stats()));
    return 0;
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for await (const event of container.events({ intervalMs: flags.intervalMs, signal: abort.signal })) {
      process.stdout.write(event.type === 'oom' ? oomEvent(id) : statsEvent(id, event.data));
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}

export async function updateCommand(
  id: string,
  flags: UpdateFlags,
  globals: GlobalOptions,
  _log: Logger,
): Promise<number> {
  const container = loadContainer(globals.root, id);
  await container.update(await resourcesFromFlags(flags));
  return 0;
}

export async function specCommand(flags: SpecFlags, _globals: GlobalOptions, _log: Logger): Promise<number> {
  const file = join(resolve(flags.bundle), 'config.json');
  if (existsSync(file)) throw new CommandError(`${file} exists already; remove it first`);
  const config = flags.rootless ? rootlessSpecConfig() : runcSpecConfig();
  // Byte for byte what runc spec writes (Go's encoding, tabs, no newline at the end).
  writeFileSync(file, marshalGo(config, '\t'), { flag: 'wx', mode: 0o644 });
  return 0;
}

export async function featuresCommand(_globals: GlobalOptions, _log: Logger): Promise<number> {
  process.stdout.write(formatFeatures());
  return 0;
}

function namespaceNames(flags: number): string[] {
  return Object.entries(NAMESPACE_FLAGS)
    .filter(([, flag]) => (flags & flag) !== 0)
    .map(([name]) => name);
}

/** `plan` / `create --dry-run`: the init program for a bundle in words; nothing is created. */
export async function planCommand(flags: PlanFlags, globals: GlobalOptions, log: Logger): Promise<number> {
  const bundle = await loadBundle(flags.bundle, log);
  const described = describeStart(bundle.loaded.config, {
    stateRoot: globals.root,
    bundleDir: bundle.dir,
    noPivotRoot: flags.noPivot || bundle.loaded.runtime.noPivotRoot,
    ...(bundle.loaded.runtime.network ? { network: bundle.loaded.runtime.network } : {}),
    ...(bundle.loaded.config.process?.terminal ? { terminal: true } : {}),
  });
  const lines = [
    `rootfs: ${described.rootfs}`,
    `new namespaces: ${namespaceNames(described.cloneFlags).join(', ') || 'none'}`,
    `cgroup: ${[...new Set([...Object.values(described.cgroup.paths.v1), described.cgroup.paths.unified?.directory].filter(Boolean))].join(', ')}`,
    ...described.warnings.map((warning) => `warning: ${warning}`),
    'init program:',
    ...described.ops.map((op, index) => `${String(index).padStart(4)}  ${op}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
