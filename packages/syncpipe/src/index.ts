// What the channel takes and gives, and the frame errors it throws: the codec's, from @nsinit/native.
export {
  type ChildError,
  type ChildReport,
  type SyncContext,
  SyncEncodeError,
  SyncError,
  SyncProtocolError,
} from '@nsinit/native';
export { type AwaitChildReportOptions, type AwaitReadyResult, SyncChannel } from './channel.js';
export { SyncAbortError, SyncChannelError } from './errors.js';
