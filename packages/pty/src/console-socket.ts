// The OCI console socket (runc's `--console-socket`): the runtime connects to a Unix
// socket and sends the pty master in one message (SCM_RIGHTS), the pts name as payload.
// Both ends are here: sendConsoleMaster() for a runtime, ConsoleSocket for a receiver
// (an engine, or a test).
import { closeSync, unlinkSync } from 'node:fs';
import {
  acceptUnixSocket,
  cancelWaitFd,
  connectUnixSocket,
  listenUnixSocket,
  receiveFd,
  sendFd,
  systemErrorCode,
  waitFd,
} from '@nsinit/native';
import { PtyError } from './errors.js';

/** A pty master with its pts name, as the console socket carries it. */
export interface ConsoleMaster {
  /** The master fd; owned by whoever holds this (adoptPtyMaster() makes a stream of it). */
  master: number;
  slaveName: string;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Connects to the console socket at `socketPath` and sends `pty.master` with `pty.slaveName`
 * as payload, as runc does. The caller keeps its copy of the master (close it once sent
 * when the receiver is to own the console alone).
 */
export function sendConsoleMaster(socketPath: string, pty: ConsoleMaster): void {
  let socket: number;
  try {
    socket = connectUnixSocket({ path: socketPath });
  } catch (cause) {
    throw new PtyError(
      'ERR_NSINIT_PTY_CONSOLE_SOCKET',
      `cannot connect to the console socket ${socketPath}: ${describe(cause)}; is the receiver listening there?`,
      { cause },
    );
  }
  try {
    sendFd({ socket, fd: pty.master, payload: pty.slaveName });
  } catch (cause) {
    throw new PtyError(
      'ERR_NSINIT_PTY_CONSOLE_SOCKET',
      `cannot send the console ${pty.slaveName} over ${socketPath}: ${describe(cause)}`,
      { cause },
    );
  } finally {
    closeSync(socket);
  }
}

export interface AcceptOptions {
  /** Stops waiting; the promise rejects with the signal's reason. The socket stays open. */
  signal?: AbortSignal;
}

/**
 * A listening console socket: each `accept()` takes the next connection and resolves with
 * the master it carries. `close()` stops pending accepts and removes the socket file.
 */
export class ConsoleSocket implements Disposable {
  readonly path: string;
  #listener: number | null;
  /** Fds with a pending readiness wait, cancelled by close() before anything is closed. */
  readonly #waiting = new Set<number>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, listener: number) {
    this.path = path;
    this.#listener = listener;
  }

  /** Binds and listens on `path` (which must not exist yet). */
  static listen(path: string): ConsoleSocket {
    try {
      return new ConsoleSocket(path, listenUnixSocket({ path }));
    } catch (cause) {
      throw new PtyError(
        'ERR_NSINIT_PTY_CONSOLE_SOCKET',
        `cannot listen on the console socket ${path}: ${describe(cause)}`,
        { cause },
      );
    }
  }

  /** The master sent by the next runtime that connects. Calls are served one after another. */
  accept(options: AcceptOptions = {}): Promise<ConsoleMaster> {
    const next = this.#queue.then(() => this.#acceptOne(options.signal));
    this.#queue = next.catch(() => {});
    return next;
  }

  close(): void {
    if (this.#listener === null) return;
    for (const fd of this.#waiting) cancelWaitFd({ fd });
    closeSync(this.#listener);
    this.#listener = null;
    try {
      unlinkSync(this.path);
    } catch (error) {
      if (systemErrorCode(error) !== 'ENOENT') throw error;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #acceptOne(signal: AbortSignal | undefined): Promise<ConsoleMaster> {
    const connection = await this.#until(
      () => acceptUnixSocket({ socket: this.#openListener() }),
      () => this.#openListener(),
      signal,
    );
    try {
      const received = await this.#until(
        () => receiveFd({ socket: connection }),
        () => connection,
        signal,
      );
      return { master: received.fd, slaveName: received.payload.toString('utf8') };
    } catch (cause) {
      if (cause instanceof PtyError || signal?.aborted) throw cause;
      throw new PtyError(
        'ERR_NSINIT_PTY_CONSOLE_SOCKET',
        `receiving a console on ${this.path} failed: ${describe(cause)}`,
        { cause },
      );
    } finally {
      closeSync(connection);
    }
  }

  #openListener(): number {
    if (this.#listener === null) {
      throw new PtyError('ERR_NSINIT_PTY_CLOSED', `the console socket ${this.path} is closed`);
    }
    return this.#listener;
  }

  /** Tries `attempt` until it returns something, waiting for `fd()` to be readable in between. */
  async #until<T>(attempt: () => T | null, fd: () => number, signal: AbortSignal | undefined): Promise<T> {
    for (;;) {
      signal?.throwIfAborted();
      const result = attempt();
      if (result !== null) return result;
      const waitingOn = fd();
      const onAbort = () => cancelWaitFd({ fd: waitingOn });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.add(waitingOn);
      try {
        await waitFd({ fd: waitingOn, events: 'readable' });
      } finally {
        this.#waiting.delete(waitingOn);
        signal?.removeEventListener('abort', onAbort);
      }
      this.#openListener();
    }
  }
}
