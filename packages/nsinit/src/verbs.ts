// The contract between the argument parser (main.ts) and the verbs (commands.ts): what each
// runc-style command receives once its flags are parsed. main.ts parses and validates the
// shape (numbers are numbers, a signal is a name or a number); commands.ts acts.
import type { GlobalOptions } from './logger.js';

export type { GlobalOptions };

/** `create` and `run`: runc's flags. */
export interface CreateFlags {
  /** -b/--bundle, made absolute; default the current directory. */
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** --no-pivot */
  noPivot: boolean;
  /** --no-new-keyring: keep the caller's session keyring instead of a fresh one. */
  noNewKeyring: boolean;
  /** --preserve-fds N: fds 3 … 3+N-1 (after $LISTEN_FDS ones) passed on as they are. */
  preserveFds: number;
}

export interface RunFlags extends CreateFlags {
  /** -d/--detach: return once the command runs, leaving the container. */
  detach: boolean;
  /** --keep: do not delete the container after it exits (foreground only). */
  keep: boolean;
  /** --no-subreaper: runc's flag (do not make the foreground runtime a child subreaper). */
  noSubreaper: boolean;
}

/**
 * `exec` into a running container (`exec ID CMD...` or `exec --process F ID`). main.ts refuses
 * a non-empty --process-label or --apparmor (no LSM here) and any --cgroup before the verb runs,
 * and a missing command without -p (runc's "process args cannot be empty").
 */
export interface ExecFlags {
  /** -p/--process: a process.json (runtime-spec `process`); `-` for stdin. runc then ignores any command given. */
  process?: string;
  consoleSocket?: string;
  cwd?: string;
  /** -e/--env, repeated: KEY=VALUE. */
  env: string[];
  tty: boolean;
  /** -u/--user uid[:gid], numbers only (as runc). */
  user?: { uid: number; gid?: number };
  /** -g/--additional-gids, repeated (each a non-negative integer). */
  additionalGids: number[];
  detach: boolean;
  pidFile?: string;
  noNewPrivs: boolean;
  /** -c/--cap, repeated: capability names (CAP_ prefix optional on input, normalised to CAP_X). */
  caps: string[];
  preserveFds: number;
  /** --ignore-paused */
  ignorePaused: boolean;
}

/** The 2014 form: `exec [--config F] -- CMD` starts a new container in the foreground. */
export interface LegacyExecFlags {
  config?: string;
  id?: string;
  pivot: boolean;
  root?: string;
  tty?: boolean;
  consoleSocket?: string;
}

export interface KillFlags {
  all: boolean;
}

export interface DeleteFlags {
  force: boolean;
}

export interface ListFlags {
  format: 'table' | 'json';
  quiet: boolean;
}

export interface PsFlags {
  format: 'table' | 'json';
}

export interface EventsFlags {
  stats: boolean;
  /** --interval, in milliseconds, > 0 (runc takes a Go duration: 5s, 500ms, 1m30s; 500us is 0.5). */
  intervalMs: number;
}

/**
 * `update`: runc's flags, or -r FILE (`-` for stdin) with a runtime-spec LinuxResources document
 * (runc then ignores every other flag). A flag left out is undefined; 0 leaves a value as it is
 * (runc's rule; update.ts's resourcesFromFlags applies both rules).
 */
export interface UpdateFlags {
  /** -r/--resources */
  resources?: string;
  blkioWeight?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShare?: number;
  cpuRtPeriod?: number;
  cpuRtRuntime?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** Bytes; -1 for unlimited. Parsed from runc's forms (e.g. 512m, 1g). */
  memory?: number;
  memoryReservation?: number;
  memorySwap?: number;
  pidsLimit?: number;
  /** --l3-cache-schema, --mem-bw-schema: Intel RDT (runc's flags; refused: no RDT here). */
  l3CacheSchema?: string;
  memBwSchema?: string;
}

export interface SpecFlags {
  /** -b/--bundle, absolute; default the current directory. */
  bundle: string;
  rootless: boolean;
}

/** `plan` (and `create --dry-run`): print the init program for a bundle in words. */
export interface PlanFlags {
  /** -b/--bundle, absolute; default the current directory. */
  bundle: string;
  noPivot: boolean;
}
