/** Base class of every error thrown by @nsinit/syncpipe; `code` is stable, the message is for people. */
export abstract class SyncError extends Error {
  abstract readonly code: string;
}

/**
 * Bytes on the sync socket do not follow the frame format of native/PROGRAM.md.
 * `offset` is the byte offset (from the start of the buffer) where the problem was found.
 */
export class SyncProtocolError extends SyncError {
  override readonly name = 'SyncProtocolError';
  readonly code = 'ERR_NSINIT_SYNC_PROTOCOL';

  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`sync protocol error at byte offset ${offset}: ${reason}`);
  }
}

/** A value given to an encoder cannot be represented in a frame (too long, NUL byte, not UTF-8, ...). */
export class SyncEncodeError extends SyncError {
  override readonly name = 'SyncEncodeError';
  readonly code = 'ERR_NSINIT_SYNC_ENCODE';
}

/**
 * The channel itself failed: the socket reported an error, the child went away before taking
 * the go frame, or the channel was used after close(). The system error, if any, is `cause`.
 */
export class SyncChannelError extends SyncError {
  override readonly name = 'SyncChannelError';
  readonly code = 'ERR_NSINIT_SYNC_CHANNEL';
}

/** Waiting was cancelled through an AbortSignal; named and coded like Node's own AbortError. */
export class SyncAbortError extends SyncError {
  override readonly name = 'AbortError';
  readonly code = 'ABORT_ERR';
}
