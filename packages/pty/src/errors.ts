// Typed errors of @nsinit/pty: every error has a stable `code`; the message says
// what failed, on which terminal or path, and what to do when there is something to do.

export type PtyErrorCode =
  /** The pty's master is closed (the stream was destroyed, or the terminal ended). */
  | 'ERR_NSINIT_PTY_CLOSED'
  /** `spawn()` could not start the command (see PtySpawnError). */
  | 'ERR_NSINIT_PTY_SPAWN'
  /** `spawn()`: the command does not exist or may not be executed. */
  | 'ERR_NSINIT_PTY_COMMAND_NOT_FOUND'
  /** The init helper's report was malformed (a build mismatch between this package and @nsinit/native). */
  | 'ERR_NSINIT_PTY_PROTOCOL'
  /** Sending or receiving a console over an OCI console socket failed. */
  | 'ERR_NSINIT_PTY_CONSOLE_SOCKET';

export class PtyError extends Error {
  constructor(
    readonly code: PtyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PtyError';
  }
}

/** The helper reported a failure before the command ran: the op that failed, with its errno. */
export class PtySpawnError extends PtyError {
  constructor(
    code: 'ERR_NSINIT_PTY_SPAWN' | 'ERR_NSINIT_PTY_COMMAND_NOT_FOUND',
    message: string,
    /** The command as given to spawn(). */
    readonly file: string,
    /** The init program op that failed, e.g. `exec` or `chdir`. */
    readonly op: string,
    /** Positive errno, 0 when the failure was no system call's. */
    readonly errno: number,
    /** e.g. `ENOENT`. */
    readonly errnoCode: string,
    /** The helper's own words, e.g. `exec "nope": not found in PATH`. */
    readonly detail: string,
  ) {
    super(code, message);
    this.name = 'PtySpawnError';
  }
}

/** The code of a Node system error (`EAGAIN`, `EIO` ...), if `error` is one. */
export function systemErrorCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}
