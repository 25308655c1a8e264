export { type AwaitChildReportOptions, SyncChannel } from './channel.js';
export {
  type ChildError,
  decodeChildReport,
  decodeContextFrame,
  encodeContextFrame,
  encodeErrorFrame,
  errnoName,
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  FRAME_TYPE_CONTEXT,
  FRAME_TYPE_ERROR,
  MAX_CHILD_REPORT_BYTES,
  MAX_CONTEXT_ENTRIES,
  MAX_CONTEXT_STRING_BYTES,
  MAX_ERROR_DETAIL_BYTES,
  MAX_FRAME_PAYLOAD_BYTES,
  NO_OP_INDEX,
  type SyncContext,
} from './codec.js';
export { SyncAbortError, SyncChannelError, SyncEncodeError, SyncError, SyncProtocolError } from './errors.js';
