// What the channel takes and gives, and the frame errors it throws: the codec's, from @nsinit/native.
export {
  type ChildError,
  type SyncContext,
  SyncEncodeError,
  SyncError,
  SyncProtocolError,
} from '@nsinit/native';
export { type AwaitChildReportOptions, SyncChannel } from './channel.js';
export { SyncAbortError, SyncChannelError } from './errors.js';
