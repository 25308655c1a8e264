// spawn(): a host command on a new pty, the job node-pty does, through the same native
// path as containers: clone3 of this process, execveat of the sealed init helper, and an
// init program (no namespaces) that makes the pty the controlling terminal and execs the
// command. No JavaScript runs in the child.
import { closeSync, readSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { getSystemErrorName } from 'node:util';
import {
  createSealedMemfd,
  encodeProgram,
  type ExitStatus,
  helperFd,
  type InitOp,
  openPty as openPtyPair,
  opName,
  pidfdSendSignal,
  socketPair,
  spawn as spawnHelper,
  type SpawnedProcess,
  waitExit,
} from '@nsinit/native';
import { PtySpawnError } from './errors.js';
import { checkWindowSize, DEFAULT_WINDOW_SIZE, Pty, type PtyOptions } from './pty.js';
import { decodeReport, type HelperFailure, MAX_REPORT_BYTES } from './report.js';

export type { ExitStatus } from '@nsinit/native';

/** The fds the helper gets: the slave on 0-2, then its report socket and its program. */
const REPORT_FD = 3;
const PROGRAM_FD = 4;
const SIGKILL = constants.signals.SIGKILL;

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
 * Events: 'exit' (ExitStatus) once the command has exited and its output has been read
 * from the kernel, plus the stream events ('data', 'end' when the terminal closes, ...).
 */
export class PtyProcess extends Pty {
  readonly pid: number;
  /** The command as given to spawn(). */
  readonly file: string;
  #pidfd: number | null;
  #exitStatus: ExitStatus | undefined;
  readonly #exited: Promise<ExitStatus>;

  /** Use spawn(); this takes over the master and the pidfd of a running child. */
  constructor(fds: { master: number; slaveName: string }, child: SpawnedProcess, file: string) {
    super(fds);
    this.pid = child.pid;
    this.file = file;
    this.#pidfd = child.pidfd;
    this.#exited = waitExit({ pidfd: child.pidfd })
      .finally(() => {
        closeSync(child.pidfd);
        this.#pidfd = null;
      })
      .then(async (status) => {
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
  wait(): Promise<ExitStatus> {
    return this.#exited;
  }

  /** The exit status, once wait() has resolved. */
  get exitStatus(): ExitStatus | undefined {
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
  onExit(listener: (status: ExitStatus) => void): Subscription {
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

/** Reads the helper's report to EOF: empty once the command was exec'd (CLOEXEC closed the socket). */
function readReport(fd: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  const buffer = Buffer.allocUnsafe(MAX_REPORT_BYTES + 1);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer, 0, buffer.length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EINTR') continue;
      throw error;
    }
    if (n === 0) return Buffer.concat(chunks, total);
    chunks.push(Buffer.from(buffer.subarray(0, n)));
    total += n;
    if (total > MAX_REPORT_BYTES) return Buffer.concat(chunks, total);
  }
}

function spawnError(
  failure: HelperFailure,
  ops: readonly InitOp[],
  file: string,
  slaveName: string,
): PtySpawnError {
  const op = ops[failure.opIndex]?.op ?? opName(failure.opcode) ?? `opcode ${failure.opcode}`;
  const errnoCode = failure.errno === 0 ? '' : getSystemErrorName(-failure.errno);
  const reason =
    failure.errno === 0 ? failure.detail : `${errnoCode}${failure.detail ? `: ${failure.detail}` : ''}`;
  if (op === 'exec' && (errnoCode === 'ENOENT' || errnoCode === 'EACCES')) {
    const where = file.includes('/') ? '' : ' in the PATH of options.env';
    return new PtySpawnError(
      'ERR_NSINIT_PTY_COMMAND_NOT_FOUND',
      `spawn ${JSON.stringify(file)}: ${errnoCode === 'ENOENT' ? 'no such command' : 'permission denied'}${where} (${reason})`,
      file,
      op,
      failure.errno,
      errnoCode,
      failure.detail,
    );
  }
  return new PtySpawnError(
    'ERR_NSINIT_PTY_SPAWN',
    `spawn ${JSON.stringify(file)} on ${slaveName}: ${op} failed (${reason})`,
    file,
    op,
    failure.errno,
    errnoCode,
    failure.detail,
  );
}

/** Kills and reaps a child that will never be handed out; closes its pidfd once reaped. */
function discardChild(child: SpawnedProcess): void {
  pidfdSendSignal({ pidfd: child.pidfd, signal: SIGKILL });
  waitExit({ pidfd: child.pidfd })
    .catch(() => {})
    .finally(() => closeSync(child.pidfd));
}

/**
 * Runs `file` with `args` on a new pty of `cols` x `rows`, as the leader of a new session
 * with the pty as its controlling terminal, in `cwd`, with `env`. `file` without a slash
 * is looked up in the PATH of that environment.
 *
 * Returns once the command was exec'd (like child_process, it waits for that), so a
 * command that cannot run throws here: PtySpawnError with code
 * 'ERR_NSINIT_PTY_COMMAND_NOT_FOUND' (ENOENT, EACCES) or 'ERR_NSINIT_PTY_SPAWN' (e.g. a
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
  const program = encodeProgram(ops);

  const open = new Set<number>();
  const closeFd = (fd: number) => {
    if (open.delete(fd)) closeSync(fd);
  };
  let child: SpawnedProcess | undefined;
  try {
    const pair = openPtyPair(size);
    open.add(pair.master).add(pair.slave);
    const [parentEnd, childEnd] = socketPair();
    open.add(parentEnd!).add(childEnd!);
    const programFd = createSealedMemfd({ name: 'nsinit-pty-program', contents: program });
    open.add(programFd);
    child = spawnHelper({
      helperFd: helperFd(),
      argv: ['nsinit-init', String(PROGRAM_FD), String(REPORT_FD)],
      cloneFlags: 0,
      fds: [
        { from: pair.slave, to: 0 },
        { from: pair.slave, to: 1 },
        { from: pair.slave, to: 2 },
        { from: childEnd!, to: REPORT_FD },
        { from: programFd, to: PROGRAM_FD },
      ],
    });
    // The child holds the slave now; ours would keep the terminal from ever ending.
    for (const fd of [childEnd!, programFd, pair.slave]) closeFd(fd);
    // Blocks until the command is exec'd: the helper only makes a few non-blocking calls first.
    const failure = decodeReport(readReport(parentEnd!));
    closeFd(parentEnd!);
    if (failure) throw spawnError(failure, ops, file, pair.slaveName);
    const running = new PtyProcess({ master: pair.master, slaveName: pair.slaveName }, child, file);
    open.delete(pair.master);
    return running;
  } catch (error) {
    for (const fd of [...open].reverse()) closeFd(fd);
    if (child) discardChild(child);
    throw error;
  }
}
