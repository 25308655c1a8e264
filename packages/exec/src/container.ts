// The handle of a running container: its pid, stdio streams, wait and kill.
import { closeSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { type ExitStatus, pidfdSendSignal } from '@nsinit/native';
import type { Pty } from '@nsinit/pty';
import { abortError } from './errors.js';

export interface ExitResult {
  /** Exit code, or null when a signal ended the container. */
  code: number | null;
  /** The signal's name, or null when the container exited. */
  signal: NodeJS.Signals | null;
  /** Shell convention: the code, or 128 + the signal number. */
  status: number;
}

/** A signal name or number; numbers pass through unchanged. */
export function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') return signal;
  const number = constants.signals[signal];
  if (number === undefined) throw new TypeError(`unknown signal ${signal}`);
  return number;
}

function signalName(number: number): NodeJS.Signals | null {
  for (const [name, value] of Object.entries(constants.signals)) if (value === number) return name as NodeJS.Signals;
  return null;
}

export function toExitResult(status: ExitStatus): ExitResult {
  return {
    code: status.code,
    signal: status.signal === null ? null : signalName(status.signal),
    status: status.status,
  };
}

/**
 * Containers still running when the process exits: killed (they would die of
 * the parent-death signal anyway) and their state dirs removed synchronously,
 * so an exiting program leaves nothing in the state root.
 */
const live = new Set<Container>();
let exitHookInstalled = false;
function trackLive(container: Container): void {
  live.add(container);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.killAndForgetSync();
  });
}

export interface ContainerParts {
  id: string;
  pid: number;
  pidfd: number;
  stateDir: string;
  stdio: [Writable | null, Readable | null, Readable | null];
  /** The console, when the container has a terminal and its master stayed here. */
  terminal: Pty | null;
  /** Settles once the init has exited and been reaped. */
  exited: Promise<ExitStatus>;
  /** Removes the state dir and closes what the container held; runs once, after the exit. */
  cleanup: () => Promise<void>;
  signal?: AbortSignal;
  killSignal: number;
}

export class Container implements AsyncDisposable {
  readonly id: string;
  /** The init's pid in this process's pid namespace. */
  readonly pid: number;
  /** The container's state directory (pid file, state.json). */
  readonly stateDir: string;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /**
   * The container's terminal (its console), when it has one: read its output, write its
   * input, `resize()` it. `attachTerminal` from @nsinit/pty connects it to this process's tty.
   */
  readonly terminal: Pty | null;
  readonly #pidfd: number;
  readonly #done: Promise<ExitResult>;
  #exited = false;
  #aborted = false;

  constructor(parts: ContainerParts) {
    this.id = parts.id;
    this.pid = parts.pid;
    this.stateDir = parts.stateDir;
    [this.stdin, this.stdout, this.stderr] = parts.stdio;
    this.terminal = parts.terminal;
    this.#pidfd = parts.pidfd;
    const onAbort = () => {
      this.#aborted = true;
      this.kill(parts.killSignal);
    };
    parts.signal?.addEventListener('abort', onAbort, { once: true });
    trackLive(this);
    this.#done = parts.exited.then(
      async (status) => {
        this.#exited = true;
        live.delete(this);
        parts.signal?.removeEventListener('abort', onAbort);
        closeSync(this.#pidfd);
        // What the container wrote last is in the stream before wait() says it is over.
        this.terminal?.readPending();
        await parts.cleanup();
        const result = toExitResult(status);
        if (this.#aborted && parts.signal) throw Object.assign(abortError(parts.signal), { exit: result });
        return result;
      },
    );
    // wait() is optional: a rejection nobody awaits must not crash the process.
    this.#done.catch(() => {});
  }

  /**
   * Resolves with the exit once the container has exited and its state is gone.
   * Rejects with an AbortError (carrying `exit`) when the run's signal killed it.
   */
  wait(): Promise<ExitResult> {
    return this.#done;
  }

  /** Sends a signal to the init; false when it has already exited. */
  kill(signal: NodeJS.Signals | number = 'SIGKILL'): boolean {
    if (this.#exited) return false;
    return pidfdSendSignal({ pidfd: this.#pidfd, signal: signalNumber(signal) });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** @internal Used at process exit only. */
  killAndForgetSync(): void {
    if (this.#exited) return;
    pidfdSendSignal({ pidfd: this.#pidfd, signal: constants.signals.SIGKILL });
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Kills the container if it still runs and waits until it is gone. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill('SIGKILL');
    await this.#done.catch(() => {});
  }
}
