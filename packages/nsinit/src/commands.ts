// The subcommands, loaded only when one runs: `exec` runs a new container in the foreground
// and returns its status; `stats`, `pause` and `unpause` act on a running container's cgroup.
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { embeddedDefaultConfig, loadConfigFile } from '@nsinit/config';
import { type Container, type ExitResult, loadContainer, run } from '@nsinit/exec';
import { attachTerminal, type TerminalAttachment } from '@nsinit/pty';
import type { GlobalOptions, Logger } from './logger.js';

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

export async function execCommand(
  command: string[],
  options: {
    config?: string;
    id?: string;
    pivot: boolean;
    root?: string;
    tty?: boolean;
    consoleSocket?: string;
  },
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
  const terminal =
    options.tty === true || options.consoleSocket !== undefined || config.process?.terminal === true;
  // The console starts at the caller's size; the attachment follows it from there. A terminal
  // whose size was never set (0x0, as under `script` without a tty) gives none: the default stays.
  const { columns, rows } = process.stdout;
  const size = process.stdout.isTTY && columns > 0 && rows > 0 ? { cols: columns, rows } : undefined;
  let attachment: TerminalAttachment | undefined;
  try {
    container = await run(config, {
      ...(command.length > 0 ? { args: command } : {}),
      ...(terminal ? { terminal: size ?? true } : { stdio: 'inherit' as const }),
      ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
      signal: abort.signal,
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
    if (container.terminal) attachment = attachTerminal(container.terminal);
    const exit = await container.wait().catch((error: unknown) => {
      // An abort after the start cannot happen here (only signals before it abort), but keep the exit if it does.
      if (error && typeof error === 'object' && 'exit' in error) return (error as { exit: ExitResult }).exit;
      throw error;
    });
    // Everything the container wrote reaches our output before we exit.
    await attachment?.finished;
    // runc's words: the status alone (137) does not say that the kernel, not a signal someone sent, ended it.
    if (exit.oomKilled) log('error', `container ${container.id} was OOM-killed (memory limit too low?)`);
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

/** `stats`, `pause`, `unpause`: the container found by id in the state root. */
export async function cgroupCommand(name: 'stats' | 'pause' | 'unpause', id: string, globals: GlobalOptions) {
  const container = loadContainer(globals.root, id);
  if (name === 'stats') process.stdout.write(`${JSON.stringify(container.stats(), null, 2)}\n`);
  else if (name === 'pause') await container.pause();
  else await container.resume();
}
