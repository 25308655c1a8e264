// The nsinit command line: parse, call @nsinit/exec, exit with the container's status.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type GlobalOptions, makeLogger } from './logger.js';
import { version } from './version.js';

/** nsinit's own failures, as runc: anything else is the container's status. */
const RUNTIME_FAILURE = 255;
const USAGE_ERROR = 2;

interface ExecOptions {
  config?: string;
  id?: string;
  pivot: boolean;
  root?: string;
  tty?: boolean;
  consoleSocket?: string;
}

/** An option that names something must name it: `--id ''` is a mistake, not a request for the default. */
function nonEmpty(what: string) {
  return (value: string): string => {
    if (value === '')
      throw new InvalidArgumentError(`an empty ${what} names nothing; leave the option out for the default`);
    return value;
  };
}

/** A usage error is one line and where to look, not the whole help (as git and docker do). */
function pointToHelp(command: Command, path: string): Command {
  return command.showHelpAfterError(`see '${path} --help'`);
}

export function buildProgram(): Command {
  const program = new Command('nsinit')
    .description(
      'Run a command in a new Linux container (namespaces, mounts, capabilities) — an OCI-style runtime.',
    )
    .version(version(), '-v, --version', 'print the version')
    .addOption(
      new Option('--root <dir>', 'root directory for container state')
        .default('/run/nsinit')
        .argParser(nonEmpty('state root')),
    )
    .option('--log <file>', 'also write log lines to this file')
    .addOption(
      new Option('--log-format <format>', 'log line format (json without --log: JSON lines on stderr)')
        .choices(['text', 'json'])
        .default('text'),
    )
    .option('--debug', 'log debug messages')
    .enablePositionalOptions()
    // Inherited by the subcommands: nsinit's own prefix, as on every other error line.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'nsinit: ')) })
    .exitOverride();
  pointToHelp(program, 'nsinit');

  const exec = program
    .command('exec')
    .description(
      'Run CMD in a new container and exit with its status. Without --config, the embedded default: the host root ' +
        "read-only, fresh /proc, /dev and /tmp, new mount, uts, ipc, pid and net namespaces (loopback up), hostname 'nsinit'.",
    )
    .argument('[cmd...]', "the command and its arguments (default: the config's process.args)")
    .option(
      '-c, --config <file>',
      'an OCI config.json (root.path relative to its folder) or a 2014 container.json',
    )
    .addOption(
      new Option('--root <dir>', 'root directory for container state (same as the global --root)').argParser(
        nonEmpty('state root'),
      ),
    )
    .addOption(
      new Option('--id <id>', 'container id (default: a random nsinit-<hex>)').argParser(
        nonEmpty('container id'),
      ),
    )
    .option('--no-pivot', 'use MS_MOVE + chroot instead of pivot_root (for a rootfs on ramfs)')
    .option('-t, --tty', "give the container a terminal (attached to nsinit's), whatever its config says")
    .option(
      '--console-socket <path>',
      "with a terminal: send its master to this Unix socket (runc's protocol) instead",
    )
    .passThroughOptions()
    .action(async (cmd: string[], options: ExecOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      // Loaded on use (a separate bundle): `nsinit --help` starts without the runtime and its config model.
      const { execCommand } = await import('./commands.js');
      process.exitCode = await execCommand(cmd, options, globals, makeLogger(globals));
    });
  pointToHelp(exec, 'nsinit exec');
  for (const [name, description] of [
    ['stats', "Print the resource usage of a running container's cgroup as JSON."],
    ['pause', "Freeze every process of a running container (its cgroup's freezer)."],
    ['unpause', 'Thaw a paused container.'],
  ] as const) {
    const verb = program
      .command(name)
      .description(description)
      .argument('<id>', 'the container id')
      .action(async (id: string, _options: object, command: Command) => {
        const globals = command.optsWithGlobals<GlobalOptions>();
        const { cgroupCommand } = await import('./commands.js');
        await cgroupCommand(name, id, globals);
      });
    pointToHelp(verb, `nsinit ${name}`);
  }
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
