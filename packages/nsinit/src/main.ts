// The nsinit command line: parse, call @nsinit/exec, exit with the container's status.
import { appendFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { type Container, run } from '@nsinit/exec';
import { embeddedDefaultConfig, loadConfigFile } from '@nsinit/spec';

/** nsinit's own failures, as runc: anything else is the container's status. */
const RUNTIME_FAILURE = 255;
const USAGE_ERROR = 2;

type LogFormat = 'text' | 'json';
interface GlobalOptions {
  root?: string;
  log?: string;
  logFormat: LogFormat;
  debug?: boolean;
}

function makeLogger(options: GlobalOptions) {
  return (level: 'debug' | 'warning' | 'error', message: string) => {
    if (level === 'debug' && !options.debug) return;
    if (options.log) {
      const time = new Date().toISOString();
      const line =
        options.logFormat === 'json'
          ? JSON.stringify({ level, msg: message, time })
          : `time="${time}" level=${level} msg=${JSON.stringify(message)}`;
      appendFileSync(options.log, `${line}\n`);
    }
    if (level !== 'debug' || !options.log) process.stderr.write(`nsinit: ${level === 'error' ? '' : `${level}: `}${message}\n`);
  };
}

// Signals the foreground nsinit passes on to the container, as runc does.
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGTSTP'];

async function execCommand(command: string[], options: { config?: string; id?: string; pivot: boolean; root?: string }, globals: GlobalOptions) {
  const log = makeLogger(globals);
  const loaded = options.config ? await loadConfigFile(options.config) : undefined;
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
  try {
    container = await run(config, {
      ...(command.length > 0 ? { args: command } : {}),
      stdio: 'inherit',
      signal: abort.signal,
      ...(options.id ? { id: options.id } : {}),
      // The config's folder is the bundle: relative bind sources are relative to it, as root.path is.
      ...(loaded ? { bundleDir: dirname(loaded.path) } : {}),
      ...((options.root ?? globals.root) ? { stateRoot: options.root ?? globals.root } : {}),
      noPivotRoot: !options.pivot || (loaded?.runtime.noPivotRoot ?? false),
      onWarning: (message) => log('warning', message),
    });
    log('debug', `container ${container.id} started, pid ${container.pid}`);
    const exit = await container.wait().catch((error: unknown) => {
      // An abort after the start cannot happen here (only signals before it abort), but keep the exit if it does.
      if (error && typeof error === 'object' && 'exit' in error) return (error as { exit: { status: number } }).exit;
      throw error;
    });
    log('debug', `container ${container.id} exited with status ${exit.status}`);
    return exit.status;
  } catch (error) {
    if (received) {
      log('error', `interrupted by ${received} before the container started; nothing was left behind`);
      return 128 + (constants.signals[received] ?? 0);
    }
    throw error;
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}

export function buildProgram(): Command {
  const program = new Command('nsinit')
    .description('Run a command in a new Linux container (namespaces, mounts, capabilities) — an OCI-style runtime.')
    .version('0.1.0')
    .option('--root <dir>', 'root directory for container state', '/run/nsinit')
    .option('--log <file>', 'also write log lines to this file')
    .addOption(new Option('--log-format <format>', 'log line format').choices(['text', 'json']).default('text'))
    .option('--debug', 'log debug messages')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();

  program
    .command('exec')
    .description(
      'Run CMD in a new container and exit with its status. Without --config, the embedded default: the host root ' +
        "read-only, fresh /proc, /dev and /tmp, new mount, uts, ipc, pid and net namespaces, hostname 'nsinit'.",
    )
    .argument('[cmd...]', "the command and its arguments (default: the config's process.args)")
    .option('-c, --config <file>', 'an OCI config.json (root.path relative to its folder) or a 2014 container.json')
    .option('--root <dir>', 'root directory for container state (same as the global --root)')
    .option('--id <id>', 'container id (default: a random nsinit-<hex>)')
    .option('--no-pivot', 'use MS_MOVE + chroot instead of pivot_root (for a rootfs on ramfs)')
    .passThroughOptions()
    .action(async (cmd: string[], options: { config?: string; id?: string; pivot: boolean; root?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      process.exitCode = await execCommand(cmd, options, globals);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? 0 : USAGE_ERROR;
    }
    const globals = program.opts<GlobalOptions>();
    const message = error instanceof Error ? error.message.split('\n').join(' ') : String(error);
    makeLogger(globals)('error', message);
    return RUNTIME_FAILURE;
  }
}
