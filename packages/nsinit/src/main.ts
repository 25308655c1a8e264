// The nsinit command line: runc's verbs with runc's flags, flag for flag, so that podman and
// containerd drive nsinit as they drive runc; the 2014 `exec` form (a new container in the
// foreground); `plan`, `stats`. Parsing and the shape of every value (numbers, signals, sizes,
// durations) are checked here; the verbs act in commands.ts, loaded only when one runs, so that
// `--help` and a usage error never load the runtime.
//
// Exit codes, as runc 1.1's:
// - a usage error — unknown verb or flag, missing or extra argument, a value of the wrong
//   shape — exits 1 with one line and where to look. (runc prints "Incorrect Usage" and the
//   help, and exits 1; for an unknown verb it exits 3, an urfave/cli artefact not copied here.)
// - a verb that fails exits 1, but `exec` exits 255 in both forms (runc's exec does; the 2014
//   form always has), and so does `stats`;
// - otherwise the verb's return value: 0, or the status of a foreground process.
// A failure is one line, `nsinit: <message>`, on stderr; with --log FILE it is also appended
// to FILE in --log-format (runc's logrus lines: JSON keys level, msg, time), usage errors
// included, since containerd's shim reads the last error from that file.
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseGoDuration } from './duration.js';
import { formatted, type GlobalOptions, type Logger, makeLogger } from './logger.js';
import { parseSignal } from './signals.js';
import { parseGoInteger, parseMemoryFlag } from './units.js';
import type { CreateFlags, ExecFlags, LegacyExecFlags, RunFlags, UpdateFlags } from './verbs.js';
import { versionText } from './version.js';

const USAGE_ERROR = 1;
const VERB_FAILURE = 1;
const EXEC_FAILURE = 255;

/** A verb's failure, with the exit code its verb fails with. */
class VerbFailure extends Error {
  constructor(
    readonly failure: unknown,
    readonly exitCode: number,
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
  }
}

type Commands = typeof import('./commands.js');
/** A verb with its arguments and flags bound: it runs once the verbs are loaded. */
type Verb = (commands: Commands, globals: GlobalOptions, log: Logger) => Promise<number>;

/**
 * A command's action: `bind` turns commander's arguments (…args, options, command) into the
 * verb — checks that need no runtime go there —, then the verbs module is loaded and the verb's
 * return value is the exit code; what it throws fails with `failureCode`.
 */
function verbAction<A extends unknown[]>(failureCode: number, bind: (...args: A) => Verb) {
  return async (...args: A) => {
    let root = args.at(-1) as Command;
    while (root.parent) root = root.parent;
    const globals = root.opts<GlobalOptions>();
    try {
      const verb = bind(...args);
      process.exitCode = await verb(await import('./commands.js'), globals, makeLogger(globals));
    } catch (error) {
      if (error instanceof CommanderError) throw error;
      throw new VerbFailure(error, failureCode);
    }
  };
}

// ---------------------------------------------------------------------------------------
// Values.

function usage(message: string): never {
  throw new InvalidArgumentError(message);
}

/** An option that names something must name it: `--id ''` is a mistake, not a request for the default. */
function nonEmpty(what: string) {
  return (value: string): string => {
    if (value === '') usage(`an empty ${what} names nothing; leave the option out for the default`);
    return value;
  };
}

/** Wrap a parser whose errors are usage errors; `''` is "not given", as runc reads its string flags. */
function parsed<T>(parse: (text: string) => T, emptyIsUnset = false) {
  return (text: string): T | undefined => {
    if (emptyIsUnset && text === '') return undefined;
    try {
      return parse(text);
    } catch (error) {
      return usage((error as Error).message);
    }
  };
}

/** A repeatable option: each value parsed, collected in order. */
function repeated<T>(parse: (text: string) => T) {
  return (text: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(text)];
}

const MAX_ID = 0xffff_fffe;

/** -u/--user UID[:GID], numbers only (runc's exec). */
function parseUser(text: string): { uid: number; gid?: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(text);
  const [uid, gid] = [match?.[1], match?.[2]].map((id) => (id === undefined ? undefined : Number(id)));
  if (uid === undefined || uid > MAX_ID || (gid !== undefined && gid > MAX_ID))
    usage(`"${text}" is not UID[:GID] (numbers from 0 to ${MAX_ID})`);
  return gid === undefined ? { uid } : { uid, gid };
}

/** -g/--additional-gids: Go's int64 flag, and runc's check that it is not negative. */
function parseGid(text: string): number {
  const gid = parsed((value) => parseGoInteger(value, { base: 0, signed: true }))(text)!;
  if (gid < 0 || gid > MAX_ID) usage(`additional-gids must be a number from 0 to ${MAX_ID}, got ${gid}`);
  return gid;
}

/** -c/--cap: a capability name, CAP_ optional, any case; normalised to CAP_X. */
function parseCap(text: string): string {
  const upper = text.toUpperCase();
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!/^CAP_[A-Z_]+$/.test(name)) {
    const looksLikeAFile = /[/.]/.test(text);
    usage(
      `"${text}" is not a capability name${
        looksLikeAFile
          ? " (in runc's form of exec, -c is --cap; for a config file use --config, or put -- before the command)"
          : ''
      }`,
    );
  }
  return name;
}

/** runc's --preserve-fds: Go's uint flag. */
const parsePreserveFds = parsed((text) => parseGoInteger(text, { base: 0, signed: false }));

/** Global --rootless: true, false or auto, with Go's strconv.ParseBool spellings. */
function parseRootless(text: string): 'true' | 'false' | 'auto' {
  if (text === 'auto' || text === '') return 'auto';
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return 'true';
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return 'false';
  return usage(`"${text}" is not true, false or auto`);
}

/** `events --interval`: a Go duration, in milliseconds, greater than 0 (runc's rule). */
function parseInterval(text: string): number {
  const nanoseconds = parsed(parseGoDuration)(text)!;
  if (nanoseconds <= 0) usage('duration interval must be greater than 0');
  return nanoseconds / 1e6;
}

/** `update --blkio-weight`: Go's int flag; 0 leaves it as it is, else 10 to 1000 (runc's help). */
function parseBlkioWeight(text: string): number {
  const weight = parsed((value) => parseGoInteger(value, { base: 0, signed: true }))(text)!;
  if (weight !== 0 && (weight < 10 || weight > 1000)) usage(`the weight goes from 10 to 1000, got ${weight}`);
  return weight;
}

const decimalUnsigned = parsed((text) => parseGoInteger(text, { base: 10, signed: false }), true);
const decimalSigned = parsed((text) => parseGoInteger(text, { base: 10, signed: true }), true);
const memorySize = parsed(parseMemoryFlag, true);

// ---------------------------------------------------------------------------------------
// Commands.

/** A usage error is one line and where to look, not the whole help (as git and docker do). */
function pointToHelp(command: Command, path: string): Command {
  return command.showHelpAfterError(`see '${path} --help'`);
}

function bundleOption(): Option {
  return new Option(
    '-b, --bundle <dir>',
    'path to the root of the bundle directory (default: the current directory)',
  );
}

/** create's and run's flags (runc's, in runc's order). */
function addCreateOptions(command: Command): Command {
  return command
    .addOption(bundleOption())
    .option(
      '--console-socket <path>',
      "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
    )
    .option('--pid-file <path>', 'specify the file to write the process id to')
    .option('--no-pivot', 'do not use pivot root to jail process inside rootfs (for a rootfs on a ramdisk)')
    .option('--no-new-keyring', "do not create a new session keyring: the container inherits the caller's")
    .addOption(
      new Option(
        '--preserve-fds <n>',
        'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)',
      )
        .argParser(parsePreserveFds)
        .default(0),
    )
    .option('--dry-run', 'print the init program the container would run (as `plan`), and create nothing');
}

interface CreateOptions {
  bundle?: string;
  consoleSocket?: string;
  pidFile?: string;
  pivot: boolean;
  newKeyring: boolean;
  preserveFds: number;
  dryRun?: boolean;
}

function createFlags(options: CreateOptions): CreateFlags {
  return {
    bundle: resolve(options.bundle ?? ''),
    ...(options.pidFile !== undefined ? { pidFile: options.pidFile } : {}),
    ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
    noPivot: !options.pivot,
    noNewKeyring: !options.newKeyring,
    preserveFds: options.preserveFds,
  };
}

const EXEC_FORMS = `
exec has two forms, told apart before any option is read:
  the 2014 form, a NEW container in the foreground (nsinit's own):
    nsinit exec [--config F] [--id X] [--root R] [--no-pivot] [-t] [--console-socket S] [-- CMD...]
  runc's form, a new process in an EXISTING container:
    nsinit exec [options] ID CMD...        nsinit exec [options] -p process.json ID
It is the 2014 form when --config, --id, --root or --no-pivot is given, when there is no
argument at all, or when -- comes before the first argument; runc's when one of runc's own
options is given (--cwd, -e, -u, -g, -p, -d, --pid-file, --cap, ...) or an argument comes
first. -c is --config in the 2014 form and --cap in runc's; -t and --console-socket are in both.
In runc's form the options go before ID: everything after CMD's first word is CMD's.`;

/** The 2014 form: `exec [options] [-- CMD...]`, a new container in the foreground. */
function legacyExec(): Command {
  return new Command('exec')
    .summary(
      "Run CMD in a new container (the 2014 form), or in an existing one (runc's form): see 'exec --help'",
    )
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
    .action(
      verbAction(
        EXEC_FAILURE,
        (cmd: string[], options: LegacyExecFlags): Verb =>
          (commands, globals, log) =>
            commands.execCommand(cmd, options, globals, log),
      ),
    );
}

interface RuncExecOptions {
  consoleSocket?: string;
  cwd?: string;
  env?: string[];
  tty?: boolean;
  user?: { uid: number; gid?: number };
  additionalGids?: number[];
  process?: string;
  detach?: boolean;
  pidFile?: string;
  processLabel?: string;
  apparmor?: string;
  newPrivs: boolean;
  cap?: string[];
  preserveFds: number;
  cgroup?: string[];
  ignorePaused?: boolean;
}

/** runc's form: `exec [options] ID CMD...` or `exec [options] -p process.json ID`. */
function runcExec(): Command {
  return new Command('exec')
    .summary(
      "Run CMD in an existing container (runc's form), or in a new one (the 2014 form): see 'exec --help'",
    )
    .description("Run a new process in the existing container ID (runc's exec) and exit with its status.")
    .argument('<id>', 'the container id')
    .argument('[command...]', 'the command and its arguments (none with -p)')
    .option(
      '--console-socket <path>',
      "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
    )
    .option('--cwd <dir>', 'current working directory in the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', repeated(String))
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('-u, --user <uid[:gid]>', 'UID (format: <uid>[:<gid>])', parseUser)
    .option('-g, --additional-gids <gid>', 'an additional gid (repeatable)', repeated(parseGid))
    .option('-p, --process <file>', "path to the process.json ('-': standard input)")
    .option('-d, --detach', "detach from the container's process")
    .option('--pid-file <path>', 'specify the file to write the process id to')
    .option('--process-label <label>', 'the SELinux process label (refused: no LSM on this host)')
    .option('--apparmor <profile>', 'the AppArmor profile (refused: no LSM on this host)')
    .option('--no-new-privs', 'set no_new_privs for the process')
    .option(
      '-c, --cap <cap>',
      'add a capability to the bounding set for the process (repeatable)',
      repeated(parseCap),
    )
    .addOption(
      new Option(
        '--preserve-fds <n>',
        'pass N additional file descriptors to the process (stdio + $LISTEN_FDS + N in total)',
      )
        .argParser(parsePreserveFds)
        .default(0),
    )
    .option(
      '--cgroup <path>',
      'run the process in a sub-cgroup (refused: not supported yet)',
      repeated(String),
    )
    .option('--ignore-paused', 'allow exec in a paused container')
    .passThroughOptions()
    .action(
      verbAction(EXEC_FAILURE, (id: string, cmd: string[], options: RuncExecOptions): Verb => {
        if (options.processLabel)
          throw new Error('--process-label: no SELinux on this host (nsinit has no LSM support)');
        if (options.apparmor)
          throw new Error('--apparmor: no AppArmor on this host (nsinit has no LSM support)');
        if (options.cgroup?.length) throw new Error('--cgroup: an exec in a sub-cgroup is not supported yet');
        if (options.process === undefined && cmd.length === 0) {
          throw new Error(
            'process args cannot be empty: give a command after the container id, or -p process.json',
          );
        }
        const flags: ExecFlags = {
          ...(options.process !== undefined ? { process: options.process } : {}),
          ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
          ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
          env: options.env ?? [],
          tty: options.tty === true,
          ...(options.user !== undefined ? { user: options.user } : {}),
          additionalGids: options.additionalGids ?? [],
          detach: options.detach === true,
          ...(options.pidFile !== undefined ? { pidFile: options.pidFile } : {}),
          noNewPrivs: !options.newPrivs,
          caps: options.cap ?? [],
          preserveFds: options.preserveFds,
          ignorePaused: options.ignorePaused === true,
        };
        return (commands, globals, log) => commands.execIntoCommand(id, cmd, flags, globals, log);
      }),
    );
}

/** Each option token of a form (`--long` and `-s`), and whether it takes a value. */
function optionTokens(command: Command): Map<string, boolean> {
  const tokens = new Map<string, boolean>();
  for (const option of command.options) {
    for (const token of [option.long, option.short])
      if (token) tokens.set(token, option.required || option.optional);
  }
  return tokens;
}

export type ExecForm = 'legacy' | 'runc';

/**
 * Which form `exec ARGS` is (see EXEC_FORMS), from what comes before the first argument. When
 * options of both forms' own are given, the first decides, and its parser names the other unknown.
 */
export function execForm(args: readonly string[]): ExecForm {
  const legacy = optionTokens(legacyExec());
  const runc = optionTokens(runcExec());
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--') return 'legacy';
    if (!arg.startsWith('-') || arg === '-') return 'runc';
    const names = arg.startsWith('--')
      ? [arg.split('=')[0]!]
      : [...arg.slice(1)].map((letter) => `-${letter}`);
    for (const [position, name] of names.entries()) {
      const inLegacy = legacy.get(name);
      const inRunc = runc.get(name);
      // The same option in both forms (-t, --console-socket) says nothing; -c is in both, as different options.
      if (inLegacy !== undefined && inRunc === undefined) return 'legacy';
      if (inRunc !== undefined && inLegacy === undefined) return 'runc';
      if (inLegacy === true || inRunc === true) {
        // A short option's value is the rest of its cluster, or the next argument; a long one's follows `=` or comes next.
        const attached = arg.startsWith('--') ? arg.includes('=') : position < names.length - 1;
        if (!attached) index++;
        break;
      }
    }
  }
  return 'legacy';
}

/** The verbs that take the container id alone. */
const ID_VERBS = [
  ['start', 'Start the user-defined process of a created container.', 'startCommand'],
  ['state', "Print the state of a container (runc's JSON).", 'stateCommand'],
  ['pause', 'Suspend every process of a container (its cgroup freezer).', 'pauseCommand'],
  ['resume', 'Resume every process of a paused container.', 'resumeCommand'],
] as const;

type AddVerb = (name: string, description: string) => Command;

/** create, run, start, state, pause, resume (unpause), kill, delete. */
function addLifecycleVerbs(verb: AddVerb): void {
  addCreateOptions(verb('create', 'Create a container from a bundle; its process waits for `start`.'))
    .argument('<id>', 'the container id, unique under --root')
    .action(
      verbAction(VERB_FAILURE, (id: string, options: CreateOptions): Verb => {
        const flags = createFlags(options);
        return (commands, globals, log) =>
          options.dryRun
            ? commands.planCommand({ bundle: flags.bundle, noPivot: flags.noPivot }, globals, log)
            : commands.createCommand(id, flags, globals, log);
      }),
    );

  addCreateOptions(verb('run', 'Create and start a container; in the foreground, exit with its status.'))
    .argument('<id>', 'the container id, unique under --root')
    .option('-d, --detach', "detach from the container's process")
    .option('--keep', 'do not delete the container after it exits')
    .option('--no-subreaper', 'disable the use of the subreaper used to reap reparented processes')
    .action(
      verbAction(
        VERB_FAILURE,
        (
          id: string,
          options: CreateOptions & { detach?: boolean; keep?: boolean; subreaper: boolean },
        ): Verb => {
          const flags: RunFlags = {
            ...createFlags(options),
            detach: options.detach === true,
            keep: options.keep === true,
            noSubreaper: !options.subreaper,
          };
          return (commands, globals, log) =>
            options.dryRun
              ? commands.planCommand({ bundle: flags.bundle, noPivot: flags.noPivot }, globals, log)
              : commands.runCommand(id, flags, globals, log);
        },
      ),
    );

  for (const [name, description, method] of ID_VERBS) {
    const command = verb(name, description)
      .argument('<id>', 'the container id')
      .action(
        verbAction(
          VERB_FAILURE,
          (id: string): Verb =>
            (commands, globals, log) =>
              commands[method](id, globals, log),
        ),
      );
    if (name === 'resume') command.alias('unpause');
  }

  verb('kill', "Send a signal (default: SIGTERM) to a container's init process.")
    .argument('<id>', 'the container id')
    .argument(
      '[signal]',
      'a name (KILL, SIGKILL, kill) or a number',
      (text: string) => parsed(parseSignal)(text)!,
      15,
    )
    .option('-a, --all', 'send the signal to every process of the container')
    .action(
      verbAction(
        VERB_FAILURE,
        (id: string, signal: number, options: { all?: boolean }): Verb =>
          (commands, globals, log) =>
            commands.killCommand(id, signal, { all: options.all === true }, globals, log),
      ),
    );

  verb('delete', "Delete a container's resources (it must be stopped, or --force).")
    .argument('<id>', 'the container id')
    .option('-f, --force', 'forcibly delete the container if it is still running (uses SIGKILL)')
    .action(
      verbAction(
        VERB_FAILURE,
        (id: string, options: { force?: boolean }): Verb =>
          (commands, globals, log) =>
            commands.deleteCommand(id, { force: options.force === true }, globals, log),
      ),
    );
}

function formatOption(): Option {
  return new Option('-f, --format <format>', 'select one of: table or json')
    .choices(['table', 'json'])
    .default('table');
}

/** list (ls), ps, events, stats. */
function addInspectionVerbs(verb: AddVerb): void {
  verb('list', 'List the containers under --root.')
    .alias('ls')
    .addOption(formatOption())
    .option('-q, --quiet', 'display only container IDs')
    .action(
      verbAction(
        VERB_FAILURE,
        (options: { format: 'table' | 'json'; quiet?: boolean }): Verb =>
          (commands, globals, log) =>
            commands.listCommand({ format: options.format, quiet: options.quiet === true }, globals, log),
      ),
    );

  verb(
    'ps',
    "List a container's processes: the host's ps (default -ef) filtered to them, or their pids as JSON.",
  )
    .argument('<id>', 'the container id')
    .argument('[ps-args...]', "ps's arguments (everything after the id)")
    .addOption(formatOption())
    .passThroughOptions()
    .action(
      verbAction(
        VERB_FAILURE,
        (id: string, psArgs: string[], options: { format: 'table' | 'json' }): Verb =>
          (commands, globals, log) =>
            commands.psCommand(id, psArgs, { format: options.format }, globals, log),
      ),
    );

  verb('events', "Print a container's events: stats every --interval and OOM kills, as JSON lines.")
    .argument('<id>', 'the container id')
    .addOption(
      new Option(
        '--interval <duration>',
        'set the stats collection interval (a Go duration: 5s, 500ms, 1m30s)',
      )
        .argParser(parseInterval)
        .default(5000, '5s'),
    )
    .option('--stats', "display the container's stats then exit")
    .action(
      verbAction(
        VERB_FAILURE,
        (id: string, options: { interval: number; stats?: boolean }): Verb =>
          (commands, globals, log) =>
            commands.eventsCommand(
              id,
              { stats: options.stats === true, intervalMs: options.interval },
              globals,
              log,
            ),
      ),
    );

  verb(
    'stats',
    "Print the resource usage of a container's cgroup as JSON (nsinit's; runc's is events --stats).",
  )
    .argument('<id>', 'the container id')
    .action(
      verbAction(
        EXEC_FAILURE,
        (id: string): Verb =>
          (commands, globals) =>
            commands.cgroupCommand('stats', id, globals),
      ),
    );
}

/** update's flags other than -r, as UpdateFlags names them (commander's names for runc's flags). */
const UPDATE_FLAGS: readonly (keyof UpdateFlags)[] = [
  'resources',
  'blkioWeight',
  'cpuPeriod',
  'cpuQuota',
  'cpuShare',
  'cpuRtPeriod',
  'cpuRtRuntime',
  'cpusetCpus',
  'cpusetMems',
  'memory',
  'memoryReservation',
  'memorySwap',
  'pidsLimit',
  'l3CacheSchema',
  'memBwSchema',
];

function addUpdateVerb(verb: AddVerb): void {
  verb('update', "Update a container's resource limits: from the flags, or from a LinuxResources document.")
    .argument('<id>', 'the container id')
    .option(
      '-r, --resources <file>',
      "a runtime-spec LinuxResources JSON file ('-': standard input); all the other flags are then ignored",
    )
    .option('--blkio-weight <weight>', 'per-cgroup block IO weight, from 10 to 1000', parseBlkioWeight)
    .option('--cpu-period <usec>', 'CPU CFS period for hardcapping (0: the system default)', decimalUnsigned)
    .option('--cpu-quota <usec>', 'CPU CFS hardcap limit: allowed cpu time in a given period', decimalSigned)
    .option('--cpu-share <shares>', 'CPU shares (relative weight vs. other containers)', decimalUnsigned)
    .option(
      '--cpu-rt-period <usec>',
      'CPU realtime period for hardcapping (0: the system default)',
      decimalUnsigned,
    )
    .option(
      '--cpu-rt-runtime <usec>',
      'CPU realtime hardcap limit: allowed cpu time in a given period',
      decimalSigned,
    )
    .option('--cpuset-cpus <cpus>', 'CPU(s) to use')
    .option('--cpuset-mems <mems>', 'memory node(s) to use')
    .option(
      '--memory <bytes>',
      'memory limit: bytes, or with k, m, g, t, p (512m, 1.5g); -1: unlimited',
      memorySize,
    )
    .option('--memory-reservation <bytes>', 'memory reservation or soft limit (as --memory)', memorySize)
    .option(
      '--memory-swap <bytes>',
      "total memory usage (memory + swap); '-1' for unlimited swap",
      memorySize,
    )
    .option(
      '--pids-limit <n>',
      'maximum number of pids allowed in the container (-1: unlimited)',
      parsed((text) => parseGoInteger(text, { base: 0, signed: true })),
    )
    .option('--l3-cache-schema <schema>', 'the Intel RDT/CAT L3 cache schema (refused: no Intel RDT here)')
    .option(
      '--mem-bw-schema <schema>',
      'the Intel RDT/MBA memory bandwidth schema (refused: no Intel RDT here)',
    )
    .addOption(new Option('--kernel-memory <bytes>').hideHelp())
    .addOption(new Option('--kernel-memory-tcp <bytes>').hideHelp())
    .action(
      verbAction(VERB_FAILURE, (id: string, options: Record<string, unknown>): Verb => {
        // runc reads an empty string flag as not given.
        const flags = Object.fromEntries(
          UPDATE_FLAGS.filter((key) => options[key] !== undefined && options[key] !== '').map((key) => [
            key,
            options[key],
          ]),
        ) as UpdateFlags;
        return (commands, globals, log) => {
          // runc 1.1's words: the flags are still there, and do nothing.
          if (options.kernelMemory || options.kernelMemoryTcp)
            log('warning', 'Kernel memory settings are ignored and will be removed');
          return commands.updateCommand(id, flags, globals, log);
        };
      }),
    );
}

/** spec, features, plan. */
function addBundleVerbs(verb: AddVerb): void {
  verb('spec', "Write a starter config.json (runc spec's) into the bundle.")
    .addOption(bundleOption())
    .option('--rootless', 'generate a configuration for a rootless container')
    .action(
      verbAction(
        VERB_FAILURE,
        (options: { bundle?: string; rootless?: boolean }): Verb =>
          (commands, globals, log) =>
            commands.specCommand(
              { bundle: resolve(options.bundle ?? ''), rootless: options.rootless === true },
              globals,
              log,
            ),
      ),
    );

  verb(
    'features',
    'Print the features nsinit supports (the runtime-spec features document, as JSON).',
  ).action(
    verbAction(VERB_FAILURE, (): Verb => (commands, globals, log) => commands.featuresCommand(globals, log)),
  );

  verb('plan', "Print, in words, the init program a bundle's container would run; nothing is created.")
    .addOption(bundleOption())
    .option('--no-pivot', 'plan for MS_MOVE + chroot instead of pivot_root')
    .action(
      verbAction(
        VERB_FAILURE,
        (options: { bundle?: string; pivot: boolean }): Verb =>
          (commands, globals, log) =>
            commands.planCommand(
              { bundle: resolve(options.bundle ?? ''), noPivot: !options.pivot },
              globals,
              log,
            ),
      ),
    );
}

/** The line a usage error adds to the --log file (the one on stderr is commander's). */
function logUsageError(globals: Partial<GlobalOptions>, text: string): void {
  if (!globals.log) return;
  try {
    appendFileSync(
      globals.log,
      `${formatted(globals.logFormat ?? 'text', 'error', text.replace(/^error: /, '').trim())}\n`,
    );
  } catch {
    // The line on stderr is the one that matters to a person; a log file that cannot be written is not a second error.
  }
}

/** The parser; `form` is the form of `exec` it knows (main picks it from the arguments: execForm). */
export function buildProgram(form: ExecForm = 'legacy'): Command {
  const program = new Command('nsinit')
    .description(
      "Run containers: an OCI runtime with runc's verbs and flags, and the 2014 nsinit's exec (namespaces, mounts, capabilities).",
    )
    .version(versionText(), '-v, --version', 'print the version')
    .option('--debug', 'enable debug logging')
    .option('--log <file>', "set the log file to write nsinit's logs to (besides one line on stderr)")
    .addOption(
      new Option('--log-format <format>', 'set the log format (json without --log: JSON lines on stderr)')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addOption(
      new Option(
        '--root <dir>',
        'root directory for storage of container state (this should be located in tmpfs)',
      )
        .default('/run/nsinit')
        .argParser(nonEmpty('state root')),
    )
    .option('--criu <path>', 'accepted for runc compatibility and ignored (no checkpoint/restore)')
    .option(
      '--systemd-cgroup',
      'accepted for runc compatibility; the verbs refuse it (no systemd cgroup driver)',
    )
    .addOption(
      new Option('--rootless <value>', "ignore cgroup permission errors ('true', 'false', or 'auto')")
        .argParser(parseRootless)
        .default('auto'),
    )
    .enablePositionalOptions()
    // Inherited by the subcommands: nsinit's own prefix, as on every other error line; and
    // the --log file, where containerd's shim looks for the last error.
    .configureOutput({
      outputError: (text, write) => {
        write(text.replace(/^error: /, 'nsinit: '));
        logUsageError(program.opts<Partial<GlobalOptions>>(), text);
      },
    })
    .exitOverride();
  pointToHelp(program, 'nsinit');
  const verb: AddVerb = (name, description) =>
    pointToHelp(program.command(name).description(description), `nsinit ${name}`);

  addLifecycleVerbs(verb);
  addInspectionVerbs(verb);
  // One of exec's two forms, chosen from the arguments (execForm); its help tells both.
  const exec = form === 'runc' ? runcExec() : legacyExec();
  program.addCommand(exec.copyInheritedSettings(program));
  pointToHelp(exec, 'nsinit exec').addHelpText('after', () => {
    const other = form === 'runc' ? legacyExec() : runcExec();
    new Command('nsinit').enablePositionalOptions().addCommand(other);
    return `${EXEC_FORMS}\n\n${form === 'runc' ? 'The 2014' : "runc's"} form:\n${other.helpInformation()}`;
  });
  addUpdateVerb(verb);
  addBundleVerbs(verb);
  return program;
}

/** The global options' values that take a value of their own (to find the verb in argv). */
const GLOBAL_VALUE_OPTIONS = new Set(['--root', '--log', '--log-format', '--criu', '--rootless']);

/** The arguments after the verb, when the verb is `exec` (global options come before the verb). */
function execArguments(args: readonly string[]): string[] | undefined {
  let index = 0;
  while (index < args.length && args[index]!.startsWith('-') && args[index] !== '--') {
    const arg = args[index]!;
    index += GLOBAL_VALUE_OPTIONS.has(arg) ? 2 : 1;
  }
  return args[index] === 'exec' ? args.slice(index + 1) : undefined;
}

export async function main(argv: string[]): Promise<number> {
  const execArgs = execArguments(argv.slice(2));
  const program = buildProgram(execArgs === undefined ? 'legacy' : execForm(execArgs));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    // --help and --version end here too, with exit code 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_ERROR;
    const globals = program.opts<GlobalOptions>();
    const failure = error instanceof VerbFailure ? error.failure : error;
    const message = failure instanceof Error ? failure.message.split('\n').join(' ') : String(failure);
    makeLogger(globals)('error', message);
    return error instanceof VerbFailure ? error.exitCode : VERB_FAILURE;
  }
}
