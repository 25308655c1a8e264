import { fstatSync, writeSync } from 'node:fs';
import net from 'node:net';
import {
  type ChildError,
  decodeChildReport,
  encodeContextFrame,
  MAX_CHILD_REPORT_BYTES,
  type SyncContext,
  SyncProtocolError,
  systemErrorCode,
} from '@nsinit/native';
import { SyncAbortError, SyncChannelError } from './errors.js';

export interface AwaitChildReportOptions {
  /** Stops waiting (the promise rejects with an AbortError); the channel itself stays open. */
  signal?: AbortSignal;
}

type Outcome = { ok: true; report: ChildError | null } | { ok: false; error: Error };

function describeSystemError(error: Error): string {
  const code = systemErrorCode(error) ?? error.message;
  return 'syscall' in error && typeof error.syscall === 'string' ? `${code} (${error.syscall})` : code;
}

/**
 * The parent's end of the socketpair shared with the init helper: it carries the go frame to
 * the child and the child's error report (or EOF, when `execve` closes the child's end) back.
 *
 * Reading starts at construction, so a report the child sends before the go signal is kept.
 * `go()` throws only for the caller's own mistakes; every delivery or protocol problem
 * surfaces through `awaitChildReport()`.
 */
export class SyncChannel implements Disposable {
  readonly #fd: number;
  readonly #socket: net.Socket;
  readonly #chunks: Buffer[] = [];
  #receivedBytes = 0;
  /** 'open' until the child's end closes ('eof') or the channel breaks ('failed'). */
  #readState: 'open' | 'eof' | 'failed' = 'open';
  #readFailure: Error | undefined;
  #goAttempted = false;
  #goFailure: Error | undefined;
  #closed = false;
  readonly #waiters = new Set<(outcome: Outcome) => void>();

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
   * was exec'd, or the child died before saying anything: its exit status tells which). Rejects
   * with SyncProtocolError for bytes that are not exactly one ERROR frame (including more than one
   * frame's worth), SyncChannelError for a socket failure, for a go frame the child never received,
   * or for close() before the end; AbortError when `signal` aborts.
   */
  awaitChildReport(options: AwaitChildReportOptions = {}): Promise<ChildError | null> {
    const { signal } = options;
    return new Promise((resolve, reject) => {
      const settle = (outcome: Outcome): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(settle);
        if (outcome.ok) resolve(outcome.report);
        else reject(outcome.error);
      };
      const onAbort = (): void => {
        settle({
          ok: false,
          error: new SyncAbortError("stopped waiting for the child's report: aborted", {
            cause: signal?.reason,
          }),
        });
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      const outcome = this.#outcome();
      if (outcome !== undefined) {
        settle(outcome);
        return;
      }
      this.#waiters.add(settle);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Destroy the socket (closing the fd). Idempotent; pending awaitChildReport() calls reject. */
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

  #onData(chunk: Buffer): void {
    if (this.#readState !== 'open') return;
    this.#receivedBytes += chunk.length;
    if (this.#receivedBytes > MAX_CHILD_REPORT_BYTES) {
      this.#socket.destroy();
      this.#finishReading(
        'failed',
        new SyncProtocolError(
          `the child sent more than ${MAX_CHILD_REPORT_BYTES} bytes, more than one frame can hold`,
          MAX_CHILD_REPORT_BYTES,
        ),
      );
      return;
    }
    this.#chunks.push(chunk);
  }

  #finishReading(state: 'eof' | 'failed', failure?: Error): void {
    if (this.#readState !== 'open') return;
    this.#readState = state;
    this.#readFailure = failure;
    const outcome = this.#outcome();
    if (outcome === undefined) return;
    for (const settle of [...this.#waiters]) settle(outcome);
  }

  #outcome(): Outcome | undefined {
    if (this.#readState === 'open') return undefined;
    const received = Buffer.concat(this.#chunks);
    let decoded: Outcome;
    try {
      decoded = { ok: true, report: decodeChildReport(received) };
    } catch (error) {
      decoded = { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
    if (this.#readState === 'failed') {
      // A child that exits right after its report, with our go frame unread, resets the
      // connection (ECONNRESET) after its bytes: the complete report is still the answer.
      const protocolViolation = this.#readFailure instanceof SyncProtocolError;
      if (decoded.ok && decoded.report !== null && !protocolViolation) return decoded;
      return { ok: false, error: this.#readFailure ?? new SyncChannelError('the sync channel failed') };
    }
    if (decoded.ok && decoded.report === null && this.#goFailure !== undefined) {
      return { ok: false, error: this.#goFailure };
    }
    return decoded;
  }
}
