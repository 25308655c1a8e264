// spawn(): a host command on a new pty, the job node-pty does, through the same native
// path as containers: clone3 of this process, execveat of the sealed init helper, and an
// init program (no namespaces) that makes the pty the controlling terminal and execs the
// command. No JavaScript runs in the child.
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import {
  type ExitResult,
  exitResult,
  type InitChild,
  type InitOp,
  launchInit,
  openPty as openPtyPair,
  pidfdSendSignal,
} from '@nsinit/native';
import { checkWindowSize, DEFAULT_WINDOW_SIZE, Pty, type PtyOptions } from './pty.js';

export type { ExitResult } from '@nsinit/native';

export interface PtySpawnOptions extends PtyOptions {
  /** Working directory of the command (default: this process's). */
  cwd?: string;
  /** The command's whole environment (default: `process.env`); `PATH` in it finds `file`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** `TERM` for the command (default: `env.TERM`, else `xterm-256color`). */
  name?: string;
}

/** A disposable listener registration, as node-pty's `onData`/`onExit` return. */
export interface Subscription {
  dispose(): void;
}

/**
 * A command running on its own pty: a Duplex over the master (its output out, your input
 * in), with the process's `pid`, `kill()`, `resize()` and `wait()`.
 *
 * Events: 'exit' (ExitResult) once the command has exited and its output has been read
 * from the kernel, plus the stream events ('data', 'end' when the terminal closes, ...).
 */
export class PtyProcess extends Pty {
  readonly pid: number;
  /** The command as given to spawn(). */
  readonly file: string;
  #pidfd: number | null;
  #exitStatus: ExitResult | undefined;
  readonly #exited: Promise<ExitResult>;

  /** Use spawn(); this takes over the master and the pidfd of a running child. */
  constructor(fds: { master: number; slaveName: string }, child: InitChild, file: string) {
    super(fds);
    this.pid = child.pid;
    this.file = file;
    this.#pidfd = child.pidfd;
    this.#exited = child.exited
      .finally(() => {
        closeSync(child.pidfd);
        this.#pidfd = null;
      })
      .then(async (exit) => {
        // A pty command has no cgroup of its own to tell an OOM kill.
        const status = exitResult(exit);
        // The command is gone, but its last output may still be on its way to the master.
        this.readPending();
        // A flowing consumer gets what was just read before 'exit': Node hands buffered
        // chunks to it on the next tick (before it ever read, every push is buffered).
        await new Promise((resolve) => setImmediate(resolve));
        this.#exitStatus = status;
        this.emit('exit', status);
        return status;
      });
    // Nobody may ever call wait(); a failed waitid still reaches those who do.
    this.#exited.catch(() => {});
  }

  /**
   * Resolves with the exit status once the command has exited and everything it wrote is
   * in this stream (read it to the end, or it stays buffered here).
   */
  wait(): Promise<ExitResult> {
    return this.#exited;
  }

  /** The exit status, once wait() has resolved. */
  get exitStatus(): ExitResult | undefined {
    return this.#exitStatus;
  }

  /**
   * Sends `signal` (default SIGHUP, as node-pty) to the command. False when it has already
   * exited. Race-free: the signal goes through a pidfd, never to a recycled pid.
   */
  kill(signal: NodeJS.Signals | number = 'SIGHUP'): boolean {
    const number = typeof signal === 'number' ? signal : constants.signals[signal];
    if (number === undefined || !Number.isInteger(number) || number < 0 || number > 64) {
      throw new TypeError(`kill: unknown signal ${String(signal)}`);
    }
    if (this.#pidfd === null) return false;
    return pidfdSendSignal({ pidfd: this.#pidfd, signal: number });
  }

  /** node-pty style: `listener` gets every chunk of output; switches the stream to flowing mode. */
  onData(listener: (chunk: Buffer | string) => void): Subscription {
    this.on('data', listener);
    return { dispose: () => this.off('data', listener) };
  }

  /** node-pty style: `listener` gets the exit status (after the output was read). */
  onExit(listener: (status: ExitResult) => void): Subscription {
    if (this.#exitStatus !== undefined) {
      const status = this.#exitStatus;
      queueMicrotask(() => listener(status));
      return { dispose: () => {} };
    }
    this.once('exit', listener);
    return { dispose: () => this.off('exit', listener) };
  }
}

function checkCommand(file: unknown, args: unknown): readonly string[] {
  if (typeof file !== 'string' || file === '' || file.includes('\0')) {
    throw new TypeError(
      `spawn: file must be a non-empty string without NUL bytes, got ${JSON.stringify(file)}`,
    );
  }
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string' && !arg.includes('\0'))) {
    throw new TypeError('spawn: args must be an array of strings without NUL bytes');
  }
  return args as string[];
}

function environment(options: PtySpawnOptions): string[] {
  const source = options.env ?? process.env;
  const entries: string[] = [];
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined || key === 'TERM') continue;
    if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0')) {
      throw new TypeError(
        `spawn: options.env has an invalid entry ${JSON.stringify(key)} (no '=' or NUL in names, no NUL in values)`,
      );
    }
    entries.push(`${key}=${value}`);
  }
  const term = options.name ?? source.TERM ?? 'xterm-256color';
  if (term.includes('\0')) throw new TypeError('spawn: options.name must not contain NUL bytes');
  entries.push(`TERM=${term}`);
  return entries;
}

/**
 * Runs `file` with `args` on a new pty of `cols` x `rows`, as the leader of a new session
 * with the pty as its controlling terminal, in `cwd`, with `env`. `file` without a slash
 * is looked up in the PATH of that environment.
 *
 * Returns once the command was exec'd (like child_process, it waits for that), so a
 * command that cannot run throws here: @nsinit/native's InitError with code
 * 'ERR_NSINIT_COMMAND_NOT_FOUND' (ENOENT, EACCES) or 'ERR_NSINIT_INIT_FAILED' (e.g. a
 * missing cwd).
 */
export function spawn(file: string, args: readonly string[] = [], options: PtySpawnOptions = {}): PtyProcess {
  const argv = checkCommand(file, args);
  const size = checkWindowSize(
    options.cols ?? DEFAULT_WINDOW_SIZE.cols,
    options.rows ?? DEFAULT_WINDOW_SIZE.rows,
    'spawn',
  );
  const ops: InitOp[] = [
    { op: 'setsid' },
    { op: 'setCtty', fd: 0 },
    { op: 'chdir', path: resolve(options.cwd ?? process.cwd()) },
    { op: 'resetSignals' },
    { op: 'exec', args: [file, ...argv], env: environment(options) },
  ];
  const pair = openPtyPair(size);
  try {
    const child = launchInit({
      program: ops,
      fds: [
        { from: pair.slave, to: 0 },
        { from: pair.slave, to: 1 },
        { from: pair.slave, to: 2 },
      ],
      errorContext: {
        subject: `spawn ${JSON.stringify(file)} on ${pair.slaveName}`,
        searchPath: 'the PATH of options.env',
      },
    });
    return new PtyProcess({ master: pair.master, slaveName: pair.slaveName }, child, file);
  } catch (error) {
    closeSync(pair.master);
    throw error;
  } finally {
    // The command holds the slave now; ours would keep the terminal from ever ending.
    closeSync(pair.slave);
  }
}
