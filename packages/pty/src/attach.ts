// Attaching the caller's terminal to a pty: raw mode on the caller's side (the pty does
// the line discipline), the window size copied at start and on every SIGWINCH, and both
// directions pumped with backpressure.
import type { Readable, Writable } from 'node:stream';
import { isatty } from 'node:tty';
import { getTermios, getWindowSize, makeRawTermios, setTermios } from '@nsinit/native';
import type { Pty } from './pty.js';

/**
 * Puts the terminal on `fd` in raw mode (`cfmakeraw`: no echo, no line editing, no signals
 * from keys, no input or output processing) and returns a function that restores the
 * settings it found. They are restored at process exit too, uncaught exceptions included.
 *
 * Node's `setRawMode` is not enough for an attach: it keeps output processing on, so a
 * program that moves the cursor with a bare line feed would get a carriage return too.
 */
export function setRawMode(fd: number): () => void {
  const saved = getTermios({ fd });
  let restored = false;
  const restoreAtExit = () => {
    try {
      restore();
    } catch {
      // The terminal is gone (hung up, closed): nothing is left to restore.
    }
  };
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restoreAtExit);
    setTermios({ fd, termios: saved });
  };
  process.on('exit', restoreAtExit);
  setTermios({ fd, termios: makeRawTermios({ termios: saved }) });
  return restore;
}

type Stream<T> = T & { fd?: unknown };

export interface AttachOptions {
  /** Typed input (default `process.stdin`). */
  input?: Stream<Readable>;
  /** Where the pty's output goes (default `process.stdout`); not ended with the pty. */
  output?: Stream<Writable>;
  /**
   * The caller's terminal: raw mode goes on it, and its window size onto the pty. Default:
   * the input's fd when it is a terminal (`process.stdin.fd`), else the output's; none
   * when neither is (streams without an `fd`, such as a tty.ReadStream you made, say it here).
   */
  terminal?: number;
  /** Raw mode on the caller's terminal (default true when the input comes from it). */
  raw?: boolean;
}

export interface TerminalAttachment {
  /**
   * Resolves once the pty's output has ended (the terminal closed) and all of it has been
   * written to the output; the attachment is detached by then. Rejects on a stream error.
   */
  readonly finished: Promise<void>;
  /** Stops pumping and resizing and restores the caller's terminal. Idempotent. */
  detach(): void;
}

function terminalFd(stream: { fd?: unknown }): number | undefined {
  return typeof stream.fd === 'number' && isatty(stream.fd) ? stream.fd : undefined;
}

/**
 * Connects the caller's terminal to `pty`: input to the pty, the pty's output to `output`,
 * raw mode on the caller's terminal, and its window size onto the pty, now and on every
 * SIGWINCH.
 */
export function attachTerminal(pty: Pty, options: AttachOptions = {}): TerminalAttachment {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const inputTerminal = terminalFd(input);
  const terminal = options.terminal ?? inputTerminal ?? terminalFd(output);
  // Raw mode only where the input comes from: a terminal that only shows output keeps its settings.
  const raw = options.raw ?? (options.terminal !== undefined || inputTerminal !== undefined);

  const restoreMode = raw && terminal !== undefined ? setRawMode(terminal) : undefined;
  const copySize = () => {
    if (terminal === undefined || pty.destroyed || pty.terminalEnded) return;
    const { cols, rows } = getWindowSize({ fd: terminal });
    // 0 x 0: a terminal that does not know its size (a serial line): keep the pty's.
    if (cols > 0 && rows > 0) pty.resize(cols, rows);
  };
  let detached = false;
  const detach = () => {
    if (detached) return;
    detached = true;
    process.off('SIGWINCH', copySize);
    input.unpipe(pty);
    pty.unpipe(output);
    if (input.listenerCount('data') === 0) input.pause();
    restoreMode?.();
  };

  try {
    copySize();
    if (terminal !== undefined) process.on('SIGWINCH', copySize);
    input.pipe(pty, { end: false });
    pty.pipe(output, { end: false });
  } catch (error) {
    detach();
    throw error;
  }

  const finished = new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => {
      detach();
      reject(error);
    };
    pty.once('error', fail);
    output.once('error', fail);
    pty.once('end', () => {
      // An empty write completes after every write before it: the output is flushed.
      output.write(Buffer.alloc(0), (error) => {
        pty.off('error', fail);
        output.off('error', fail);
        detach();
        if (error) reject(error);
        else resolve();
      });
    });
  });
  return { finished, detach };
}
