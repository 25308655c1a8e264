// A pty master as a Node Duplex, with our own non-blocking reads and writes and
// readiness waits on the libuv loop (waitFd).
//
// Not Node's tty.ReadStream (libuv's tty handle), the reader node-pty uses: libuv takes
// POLLHUP after a short read for the end of the stream, right for pipes and sockets but
// not for a pty master, whose reads stop at the line discipline's 4 KiB buffer while
// more is queued behind it. When the slave side closes, the tail of the output is lost.
// libuv also cannot reopen a pty master, so it writes to one in blocking mode and spins
// on EAGAIN inside the event loop when the slave side has no room.
//
// Reads wait on the master; writes wait on a duplicate of it (libuv watches an fd number
// once per loop). The kernel reports EIO on the master once every holder of the slave
// has closed it, after everything queued was read: that is the end of the stream.
import { closeSync, writeSync } from 'node:fs';
import { Duplex, type DuplexOptions } from 'node:stream';
import {
  cancelWaitFd,
  duplicateFd,
  getWindowSize,
  openPty as openPtyPair,
  readAvailable,
  setNonBlocking,
  setWindowSize,
  systemErrorCode,
  type WindowSize,
  waitFd,
} from '@nsinit/native';
import { PtyError } from './errors.js';

export type { WindowSize } from '@nsinit/native';

/** The size of a new pty when none is given, as a VT100. */
export const DEFAULT_WINDOW_SIZE: Readonly<WindowSize> = Object.freeze({ cols: 80, rows: 24 });

/**
 * How much `readPending()` reads at most in one call. What processes that have exited
 * wrote is bounded by the pty's buffers (a few pages); the limit only matters when a
 * process still holding the slave keeps writing, which must not hold the caller forever.
 */
const PENDING_READ_LIMIT = 4 * 1024 * 1024;
/** One chunk of output is read into this before it is pushed. */
const SCRATCH_BYTES = 64 * 1024;

let scratch: Buffer | undefined;
/** Shared by every Pty of this thread: reads are synchronous, and what they fill is handed on at once. */
function readScratch(): Buffer {
  scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES);
  return scratch;
}

/**
 * The first `bytes` of the scratch buffer as a chunk of their own. A mostly full scratch
 * buffer is handed over whole (a fresh one is made for the next read): copying it would
 * cost more than the few KiB it leaves unused.
 */
function takeChunk(bytes: number): Buffer {
  const filled = readScratch();
  if (bytes < SCRATCH_BYTES / 2) return Buffer.from(filled.subarray(0, bytes));
  scratch = undefined;
  return filled.subarray(0, bytes);
}

export interface PtyOptions {
  /** Columns, 1..65535 (default 80). */
  cols?: number;
  /** Rows, 1..65535 (default 24). */
  rows?: number;
  /**
   * A directory fd of a container's root: the pty comes from the devpts at its /dev/pts (so it
   * is /dev/pts/N in there), found without leaving that root or following a link, and refused
   * unless it is a devpts' ptmx. Default: this process's /dev/ptmx.
   */
  root?: number;
  /** The fd of a devpts mount (e.g. a container's, made detached): the pty comes from its ptmx. */
  devpts?: number;
}

/** The fds a Pty takes over. */
export interface PtyFds {
  master: number;
  /** The slave, when this process holds one (openPty); closed with the Pty. */
  slave?: number | null;
  /** The slave's path, e.g. `/dev/pts/3`. */
  slaveName: string;
}

/** Checks a window size the way the kernel's struct winsize stores it (u16, 0 means unknown). */
export function checkWindowSize(cols: unknown, rows: unknown, what: string): WindowSize {
  for (const [name, value] of [
    ['cols', cols],
    ['rows', rows],
  ] as const) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
      throw new TypeError(`${what}: ${name} must be an integer from 1 to 65535, got ${String(value)}`);
    }
  }
  return { cols: cols as number, rows: rows as number };
}

/**
 * A pty master as a Duplex: what the slave side writes comes out, what you write goes to
 * the slave side as typed input. The Pty owns the master (and the slave while it holds
 * one): `destroy()` closes them. The master is made non-blocking when the stream is first
 * read or written.
 *
 * When the last holder of the slave closes it, the kernel reports EIO on the master: the
 * terminal is over, and this stream ends normally ('end'), never with an error. Writes
 * still in flight then are dropped (nobody is left to read them); after 'end' the writable
 * side ends too, as a socket's does when its peer has gone.
 */
export class Pty extends Duplex {
  /** The master's fd. Owned by this Pty; closed once the terminal ends or the stream is destroyed. */
  readonly master: number;
  readonly slaveName: string;
  #slave: number | null;
  #size: WindowSize;
  /** A duplicate of the master that writes go to and wait on. */
  #writeFd: number | undefined;
  #masterClosed = false;
  #terminalEnded = false;
  #nonBlocking = false;
  /** A readiness wait on the master is pending; it resumes reading. */
  #readWaitPending = false;

  constructor(fds: PtyFds, options: DuplexOptions = {}) {
    // A terminal has no half-close: its input ends when its output does.
    super({ ...options, allowHalfOpen: false, decodeStrings: true });
    this.master = fds.master;
    this.slaveName = fds.slaveName;
    this.#slave = fds.slave ?? null;
    this.#size = getWindowSize({ fd: fds.master });
  }

  /** The slave's fd while this Pty holds it (to hand to a child), else null. */
  get slave(): number | null {
    return this.#slave;
  }

  /**
   * Closes this process's slave fd. Do it once the child has its copy: the stream ends
   * (EIO) only when every holder of the slave has closed it.
   */
  closeSlave(): void {
    if (this.#slave === null) return;
    const slave = this.#slave;
    this.#slave = null;
    closeSync(slave);
  }

  get cols(): number {
    return this.#size.cols;
  }

  get rows(): number {
    return this.#size.rows;
  }

  /** The window size the kernel holds now (TIOCGWINSZ). */
  get size(): WindowSize {
    this.#assertMasterOpen('read the window size of');
    this.#size = getWindowSize({ fd: this.master });
    return { ...this.#size };
  }

  /** Sets the window size; the foreground process group on the slave side gets SIGWINCH. */
  resize(cols: number, rows: number): void {
    const size = checkWindowSize(cols, rows, `resize ${this.slaveName}`);
    this.#assertMasterOpen('resize');
    setWindowSize({ fd: this.master, ...size });
    this.#size = size;
  }

  /** True once the slave side has closed (EIO): no more output will come. */
  get terminalEnded(): boolean {
    return this.#terminalEnded;
  }

  /**
   * Reads what the kernel holds for the master right now into this stream's buffer (past
   * its high-water mark), until a read would block, or until the slave side is closed (EIO:
   * the stream then ends). Returns true when the terminal has ended.
   *
   * Call it once the processes writing to the slave have exited: the pty driver hands their
   * last output to the master asynchronously, and the kernel completes that hand-over
   * before a read of the master may report EAGAIN, so nothing they wrote is lost. Output of
   * processes that still hold the slave keeps flowing through the stream afterwards.
   */
  readPending(): boolean {
    for (let total = 0; total < PENDING_READ_LIMIT; ) {
      const read = this.#readChunk(true);
      if (typeof read !== 'number') break;
      total += read;
    }
    return this.#terminalEnded;
  }

  override _read(): void {
    if (!this.#readWaitPending) this.#readAvailable();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#writeAll(chunk).then(() => callback(), callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.#writeAll(Buffer.concat(chunks.map((c) => c.chunk))).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Ending our side sends nothing: a terminal has no EOF of its own (^D is just input).
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    try {
      this.#closeMaster();
      this.closeSlave();
    } catch (closeError) {
      callback(error ?? (closeError as Error));
      return;
    }
    callback(error);
  }

  #assertMasterOpen(action: string): void {
    if (this.#masterClosed) {
      throw new PtyError(
        'ERR_NSINIT_PTY_CLOSED',
        `cannot ${action} ${this.slaveName}: its master is closed (${this.#terminalEnded ? 'the terminal ended' : 'the stream was destroyed'})`,
      );
    }
  }

  #makeNonBlocking(): void {
    if (this.#nonBlocking) return;
    // Only once the stream is used: a master sent over a console socket stays as opened.
    setNonBlocking({ fd: this.master, nonBlocking: true });
    this.#nonBlocking = true;
  }

  /** Reads and pushes until the consumer has enough, the kernel has nothing (then waits), or the end. */
  #readAvailable(): void {
    for (;;) {
      const read = this.#readChunk(false);
      if (read === 'again') {
        this.#waitReadable();
        return;
      }
      if (read !== 'more') return;
    }
  }

  #waitReadable(): void {
    this.#readWaitPending = true;
    waitFd({ fd: this.master, events: 'readable' }).then(
      (ready) => {
        this.#readWaitPending = false;
        // Not ready: cancelled because the master is being closed.
        if (ready) this.#readAvailable();
      },
      (error: Error) => {
        this.#readWaitPending = false;
        this.destroy(error);
      },
    );
  }

  /**
   * One chunk: reads until the kernel has nothing more, the scratch buffer is full, or the
   * end, and pushes what came. Returns the bytes pushed when `pending` (readPending ignores
   * the consumer), else 'more' when the consumer wants more; 'again' when the kernel had
   * nothing, 'enough' when the consumer has enough, 'end' when the terminal is over.
   */
  #readChunk(pending: boolean): number | 'more' | 'again' | 'enough' | 'end' {
    if (this.#terminalEnded || this.#masterClosed) return 'end';
    this.#makeNonBlocking();
    let read: { bytes: number; stop: 'full' | 'again' | 'end' };
    try {
      // A read stops at the line discipline's buffer (4 KiB): this reads on while more is queued.
      read = readAvailable({ fd: this.master, buffer: readScratch() });
    } catch (error) {
      this.destroy(error as Error);
      return 'end';
    }
    const wantsMore = read.bytes === 0 || this.push(takeChunk(read.bytes));
    if (read.stop === 'end') {
      this.#endOfTerminal();
      return 'end';
    }
    if (pending) return read.stop === 'again' ? 'again' : read.bytes;
    if (read.stop === 'again' && wantsMore) return 'again';
    return wantsMore ? 'more' : 'enough';
  }

  #endOfTerminal(): void {
    if (this.#terminalEnded) return;
    this.#terminalEnded = true;
    this.#closeMaster();
    this.push(null);
  }

  #closeMaster(): void {
    if (this.#writeFd !== undefined) {
      const fd = this.#writeFd;
      this.#writeFd = undefined;
      // A pending wait must end before its fd number can be closed (and reused).
      cancelWaitFd({ fd });
      closeSync(fd);
    }
    if (!this.#masterClosed) {
      this.#masterClosed = true;
      cancelWaitFd({ fd: this.master });
      closeSync(this.master);
    }
  }

  /** The fd writes go to, or undefined once the terminal is gone. */
  #writableFd(): number | undefined {
    if (this.#masterClosed) return undefined;
    if (this.#writeFd === undefined) {
      this.#makeNonBlocking();
      this.#writeFd = duplicateFd({ fd: this.master });
    }
    return this.#writeFd;
  }

  async #writeAll(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const fd = this.#writableFd();
      if (fd === undefined) return;
      try {
        offset += writeSync(fd, chunk, offset, chunk.length - offset);
      } catch (error) {
        const code = systemErrorCode(error);
        if (code === 'EAGAIN') {
          // False: the write fd was closed meanwhile (terminal ended or stream destroyed).
          if (!(await waitFd({ fd, events: 'writable' }))) return;
          continue;
        }
        if (code === 'EIO') return;
        throw error;
      }
    }
  }
}

/**
 * Opens a new pty pair (`/dev/ptmx`; the slave opened through the master, never by path)
 * with the given window size. The returned Pty owns both ends; hand `pty.slave` to a child
 * (e.g. as its stdio), then call `pty.closeSlave()`.
 */
export function openPty(options: PtyOptions = {}): Pty {
  const size = checkWindowSize(
    options.cols ?? DEFAULT_WINDOW_SIZE.cols,
    options.rows ?? DEFAULT_WINDOW_SIZE.rows,
    'openPty',
  );
  const pair = openPtyPair({
    ...size,
    ...(options.root !== undefined ? { root: options.root } : {}),
    ...(options.devpts !== undefined ? { devpts: options.devpts } : {}),
  });
  try {
    return new Pty(pair);
  } catch (error) {
    closeSync(pair.master);
    closeSync(pair.slave);
    throw error;
  }
}

/**
 * A Pty over a master this process received (e.g. from an OCI console socket). It takes
 * the fd over: destroying the Pty closes it.
 */
export function adoptPtyMaster(received: { master: number; slaveName: string }): Pty {
  try {
    return new Pty({ master: received.master, slaveName: received.slaveName });
  } catch (error) {
    closeSync(received.master);
    throw error;
  }
}
