import { fstatSync, writeSync } from 'node:fs';
import net from 'node:net';
import {
  type ChildError,
  ChildReportDecoder,
  encodeContextFrame,
  type SyncContext,
  SyncProtocolError,
  systemErrorCode,
} from '@nsinit/native';
import { SyncAbortError, SyncChannelError } from './errors.js';

export interface AwaitChildReportOptions {
  /** Stops waiting (the promise rejects with an AbortError); the channel itself stays open. */
  signal?: AbortSignal;
}

/** What `awaitReady()` resolves with: READY came, or the child's end closed without it. */
export type AwaitReadyResult = { ready: true } | { ready: false; report: ChildError | null };

type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** A pending await: `check` says how it settles in the channel's current state, or undefined while it cannot tell. */
interface Waiter {
  check(): Outcome<unknown> | undefined;
  settle(outcome: Outcome<unknown>): void;
}

function describeSystemError(error: Error): string {
  const code = systemErrorCode(error) ?? error.message;
  return 'syscall' in error && typeof error.syscall === 'string' ? `${code} (${error.syscall})` : code;
}

/**
 * The parent's end of the socketpair shared with the init helper: it carries the go frame to
 * the child and the child's report back — a PID frame (CLONE_PARENT), a READY frame
 * (AWAIT_START), an ERROR frame, each optional and in that order — or EOF, when `execve`
 * closes the child's end.
 *
 * Reading starts at construction and the frames are decoded as they arrive, so a report the
 * child sends before the go signal is kept, and a PID or READY frame is known the moment it
 * is complete. `go()` throws only for the caller's own mistakes; every delivery or protocol
 * problem surfaces through the awaits.
 */
export class SyncChannel implements Disposable {
  readonly #fd: number;
  readonly #socket: net.Socket;
  readonly #decoder = new ChildReportDecoder();
  /** 'open' until the child's end closes ('eof') or the channel breaks ('failed'). */
  #readState: 'open' | 'eof' | 'failed' = 'open';
  #readFailure: Error | undefined;
  #goAttempted = false;
  #goFailure: Error | undefined;
  #closed = false;
  readonly #waiters = new Set<Waiter>();

  /** Takes ownership of `fd`, the parent's end of a SOCK_STREAM socketpair; close() closes it. */
  constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) {
      throw new SyncChannelError(`the sync channel needs a file descriptor number, got ${String(fd)}`);
    }
    let isSocket: boolean;
    try {
      isSocket = fstatSync(fd).isSocket();
    } catch (cause) {
      throw new SyncChannelError(
        `fd ${fd} is not usable as the sync channel: ${systemErrorCode(cause) ?? cause}`,
        {
          cause,
        },
      );
    }
    if (!isSocket) {
      throw new SyncChannelError(
        `fd ${fd} is not a socket; the sync channel must be one end of a socketpair`,
      );
    }
    this.#fd = fd;
    // allowHalfOpen: the child may close its end (early error report) before we send the go frame.
    this.#socket = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('end', () => this.#finishReading('eof'));
    this.#socket.on('error', (error: Error) => {
      this.#finishReading(
        'failed',
        new SyncChannelError(`the sync channel failed: ${describeSystemError(error)}`, { cause: error }),
      );
    });
  }

  /**
   * Send the go signal: one CONTEXT frame, then shut down our write side so the child reads EOF.
   * Throws for a context that cannot be encoded (nothing is sent then), a second call, or a call
   * after close(). A child that is already gone is not an error here: awaitChildReport() says so.
   */
  go(context: SyncContext): void {
    if (this.#closed) throw new SyncChannelError('go() was called after close()');
    if (this.#goAttempted) throw new SyncChannelError('go() was already called; the go signal is sent once');
    const frame = encodeContextFrame(context);
    this.#goAttempted = true;
    if (this.#socket.destroyed) {
      // The fd is closed (and its number may already belong to another file): write nothing.
      this.#goFailure = this.#readFailure;
      return;
    }
    // Written synchronously instead of through the stream: a failed stream write destroys the
    // socket, dropping an error report the child sent before it exited that we have not read yet.
    let written = 0;
    while (written < frame.length) {
      try {
        written += writeSync(this.#fd, frame, written);
      } catch (cause) {
        const code = systemErrorCode(cause);
        if (code === 'EAGAIN') {
          // The socket buffer is full (only with a tiny wmem_default): let libuv finish the write.
          this.#socket.write(frame.subarray(written));
          break;
        }
        if (code === 'EPIPE' || code === 'ECONNRESET') {
          this.#goFailure = new SyncChannelError(
            `the child closed the sync channel before the go frame was delivered (${code}); ` +
              'it never received the go signal; its exit status tells why',
            { cause },
          );
          return;
        }
        throw new SyncChannelError(`writing the go frame to fd ${this.#fd} failed: ${code ?? cause}`, {
          cause,
        });
      }
    }
    this.#socket.end();
  }

  /**
   * Resolve with the child's ERROR report, or null when its end closed without one (the command
   * was exec'd, or the child died before saying anything: its exit status tells which). PID and
   * READY frames before it are fine (see awaitChildPid and awaitReady). Rejects with
   * SyncProtocolError for bytes that are not the child's frames in their order (anything after
   * the ERROR frame included), SyncChannelError for a socket failure, for a go frame the child
   * never received, or for close() before the end; AbortError when `signal` aborts.
   */
  awaitChildReport(options: AwaitChildReportOptions = {}): Promise<ChildError | null> {
    return this.#wait("the child's report", options.signal, () => this.#outcome());
  }

  /**
   * Resolve as soon as the child's READY frame has arrived (AWAIT_START: it waits for the start;
   * the socket stays open, the caller may close it), or once its end closed without one: then
   * with its ERROR report, or null. Rejects as awaitChildReport does — but a READY frame that
   * arrived is the answer whatever came after it.
   */
  awaitReady(options: AwaitChildReportOptions = {}): Promise<AwaitReadyResult> {
    return this.#wait(
      "the child's READY frame",
      options.signal,
      (): Outcome<AwaitReadyResult> | undefined => {
        if (this.#decoder.report.ready) return { ok: true, value: { ready: true } };
        const outcome = this.#outcome();
        if (outcome === undefined || !outcome.ok) return outcome;
        return { ok: true, value: { ready: false, report: outcome.value } };
      },
    );
  }

  /**
   * Resolve with the pid of the PID frame as soon as it has arrived (CLONE_PARENT: the process
   * that goes on, a child of this process, by its pid in this process's pid namespace), or with
   * null once the child's end closed without one (awaitChildReport says why). Rejects as
   * awaitChildReport does — but a PID frame that arrived is the answer whatever came after it.
   */
  awaitChildPid(options: AwaitChildReportOptions = {}): Promise<number | null> {
    return this.#wait("the child's PID frame", options.signal, (): Outcome<number | null> | undefined => {
      const { pid } = this.#decoder.report;
      if (pid !== null) return { ok: true, value: pid };
      const outcome = this.#outcome();
      if (outcome === undefined || !outcome.ok) return outcome;
      return { ok: true, value: null };
    });
  }

  /** Destroy the socket (closing the fd). Idempotent; pending awaits reject. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#finishReading(
      'failed',
      new SyncChannelError("the sync channel was closed before the child's report"),
    );
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #wait<T>(what: string, signal: AbortSignal | undefined, check: () => Outcome<T> | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check,
        settle: (outcome) => {
          signal?.removeEventListener('abort', onAbort);
          this.#waiters.delete(waiter);
          if (outcome.ok) resolve(outcome.value as T);
          else reject(outcome.error);
        },
      };
      const onAbort = (): void => {
        waiter.settle({
          ok: false,
          error: new SyncAbortError(`stopped waiting for ${what}: aborted`, { cause: signal?.reason }),
        });
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      const outcome = check();
      if (outcome !== undefined) {
        waiter.settle(outcome);
        return;
      }
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Settles every waiter that can now tell. */
  #notify(): void {
    for (const waiter of [...this.#waiters]) {
      const outcome = waiter.check();
      if (outcome !== undefined) waiter.settle(outcome);
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#readState !== 'open') return;
    try {
      if (this.#decoder.push(chunk).length > 0) this.#notify();
    } catch (error) {
      // The child broke the protocol: nothing it sends from now on can be trusted.
      this.#socket.destroy();
      this.#finishReading('failed', error instanceof Error ? error : new Error(String(error)));
    }
  }

  #finishReading(state: 'eof' | 'failed', failure?: Error): void {
    if (this.#readState !== 'open') return;
    this.#readState = state;
    this.#readFailure = failure;
    this.#notify();
  }

  /** How the report ends: undefined while the child's end is open. */
  #outcome(): Outcome<ChildError | null> | undefined {
    if (this.#readState === 'open') return undefined;
    let decoded: Outcome<ChildError | null>;
    try {
      decoded = { ok: true, value: this.#decoder.end().error };
    } catch (error) {
      decoded = { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
    if (this.#readState === 'failed') {
      // A child that exits right after its report, with our go frame unread, resets the
      // connection (ECONNRESET) after its bytes: the complete report is still the answer.
      const protocolViolation = this.#readFailure instanceof SyncProtocolError;
      if (decoded.ok && decoded.value !== null && !protocolViolation) return decoded;
      return { ok: false, error: this.#readFailure ?? new SyncChannelError('the sync channel failed') };
    }
    if (decoded.ok && decoded.value === null && this.#goFailure !== undefined) {
      return { ok: false, error: this.#goFailure };
    }
    return decoded;
  }
}
