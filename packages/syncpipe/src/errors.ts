// The channel's own errors. The frame errors (SyncProtocolError, SyncEncodeError) and their base
// class SyncError come with the codec, from @nsinit/native.
import { SyncError } from '@nsinit/native';

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
