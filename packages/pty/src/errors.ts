// Typed errors of @nsinit/pty: every error has a stable `code`; the message says
// what failed, on which terminal or path, and what to do when there is something to do.

export type PtyErrorCode =
  /** The pty's master is closed (the stream was destroyed, or the terminal ended). */
  | 'ERR_NSINIT_PTY_CLOSED'
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
