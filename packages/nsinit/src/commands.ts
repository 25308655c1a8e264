// The subcommands, loaded only when one runs: `exec` runs a new container in the foreground
// and returns its status; `stats`, `pause` and `unpause` act on a running container's cgroup.
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { loadCgroupManager } from '@nsinit/cgroups';
import { type Container, run } from '@nsinit/exec';
import { attachTerminal, type TerminalAttachment } from '@nsinit/pty';
import { embeddedDefaultConfig, loadConfigFile } from '@nsinit/config';
import { DEFAULT_STATE_ROOT, isSameProcess, loadContainerDir } from '@nsinit/state';
import type { GlobalOptions, Logger } from './logger.js';

// Every signal the foreground nsinit can catch goes on to the container, as runc does —
// but SIGCHLD (ours), SIGWINCH (the terminal's size, copied onto the console), SIGURG, SIGPROF (V8's profiler),
// and the faults only the kernel raises (SIGBUS, SIGFPE, SIGILL, SIGSEGV).
const NOT_FORWARDED = new Set(['SIGKILL', 'SIGSTOP', 'SIGCHLD', 'SIGWINCH', 'SIGURG', 'SIGPROF', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGSEGV']);
export const FORWARDED_SIGNALS = (Object.keys(constants.signals) as NodeJS.Signals[]).filter(
  (signal) => !NOT_FORWARDED.has(signal) && signal !== 'SIGPOLL' && signal !== 'SIGIOT' && signal !== 'SIGUNUSED',
);

export async function execCommand(
  command: string[],
  options: { config?: string; id?: string; pivot: boolean; root?: string; tty?: boolean; consoleSocket?: string },
  globals: GlobalOptions,
  log: Logger,
) {
  const loaded = options.config ? await loadConfigFile(options.config) : undefined;
  for (const warning of loaded?.warnings ?? []) log('warning', warning);
  const config = loaded?.config ?? embeddedDefaultConfig();

  // Before the start a signal unwinds everything; after it, signals go to the container.
  const abort = new AbortController();
  let container: Container | undefined;
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (container) {
      container.kill(signal);
    } else {
      received ??= signal;
      abort.abort(new Error(`interrupted by ${signal}`));
    }
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  const terminal = options.tty === true || options.consoleSocket !== undefined || config.process?.terminal === true;
  // The console starts at the caller's size; the attachment follows it from there.
  const size = process.stdout.isTTY ? { cols: process.stdout.columns, rows: process.stdout.rows } : undefined;
  let attachment: TerminalAttachment | undefined;
  try {
    container = await run(config, {
      ...(command.length > 0 ? { args: command } : {}),
      ...(terminal ? { terminal: size ?? true } : { stdio: 'inherit' as const }),
      ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
      signal: abort.signal,
      ...(options.id ? { id: options.id } : {}),
      // The config's folder is the bundle: relative bind sources are relative to it, as root.path is.
      ...(loaded ? { bundleDir: dirname(loaded.path) } : {}),
      ...((options.root ?? globals.root) ? { stateRoot: options.root ?? globals.root } : {}),
      noPivotRoot: !options.pivot || (loaded?.runtime.noPivotRoot ?? false),
      onWarning: (message) => log('warning', message),
    });
    log('debug', `container ${container.id} started, pid ${container.pid}`);
    if (container.terminal) attachment = attachTerminal(container.terminal);
    const exit = await container.wait().catch((error: unknown) => {
      // An abort after the start cannot happen here (only signals before it abort), but keep the exit if it does.
      if (error && typeof error === 'object' && 'exit' in error) return (error as { exit: { status: number } }).exit;
      throw error;
    });
    // Everything the container wrote reaches our output before we exit.
    await attachment?.finished;
    log('debug', `container ${container.id} exited with status ${exit.status}`);
    return exit.status;
  } catch (error) {
    if (received) {
      log('error', `interrupted by ${received} before the container started; nothing was left behind`);
      return 128 + (constants.signals[received] ?? 0);
    }
    throw error;
  } finally {
    attachment?.detach();
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}


/** The cgroup of a running container, from its state.json. */
function runningContainerCgroup(id: string, globals: GlobalOptions) {
  const state = loadContainerDir(globals.root ?? DEFAULT_STATE_ROOT, id).readState();
  if (!isSameProcess(state.pid, state.pidStartTime)) throw new Error(`container ${id} is not running`);
  if (!state.cgroupPaths) {
    throw new Error(
      `container ${id} has no cgroup of its own: its config sets neither linux.resources nor linux.cgroupsPath`,
    );
  }
  return loadCgroupManager(state.cgroupPaths);
}

export async function cgroupCommand(name: 'stats' | 'pause' | 'unpause', id: string, globals: GlobalOptions) {
  const cgroup = runningContainerCgroup(id, globals);
  if (name === 'stats') process.stdout.write(`${JSON.stringify(cgroup.stats(), null, 2)}\n`);
  else if (name === 'pause') await cgroup.freeze();
  else await cgroup.thaw();
}
