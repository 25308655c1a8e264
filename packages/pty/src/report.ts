// The init helper's ERROR frame (native/PROGRAM.md, "Sync frames"), decoded strictly.
// Kept here rather than imported from @nsinit/syncpipe: leaf packages do not depend on
// each other, and spawn() needs only this one frame type, never the go signal.
import { PtyError } from './errors.js';

const MAGIC = 'NSSP';
const HEADER_BYTES = 12;
const TYPE_ERROR = 2;
const MAX_PAYLOAD_BYTES = 65536;
const MAX_DETAIL_BYTES = 4096;
const FIXED_ERROR_BYTES = 16;

/** The most a report can hold: one frame. */
export const MAX_REPORT_BYTES = HEADER_BYTES + MAX_PAYLOAD_BYTES;

export interface HelperFailure {
  /** Index of the failed op, 0xffffffff when no op is to blame (a malformed program). */
  opIndex: number;
  opcode: number;
  errno: number;
  detail: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(problem: string): PtyError {
  return new PtyError(
    'ERR_NSINIT_PTY_PROTOCOL',
    `the init helper's report is malformed: ${problem}; @nsinit/pty and the built helper of @nsinit/native do not match (rebuild @nsinit/native)`,
  );
}

/** null for an empty report (the command was exec'd), else its one ERROR frame. */
export function decodeReport(report: Buffer): HelperFailure | null {
  if (report.length === 0) return null;
  if (report.length < HEADER_BYTES) throw malformed(`${report.length} bytes, shorter than a frame header`);
  if (report.toString('latin1', 0, 4) !== MAGIC) throw malformed('bad magic');
  const type = report.readUInt16LE(4);
  if (type !== TYPE_ERROR) throw malformed(`frame type ${type}, expected ERROR (${TYPE_ERROR})`);
  if (report.readUInt16LE(6) !== 0) throw malformed('reserved header field is not 0');
  const length = report.readUInt32LE(8);
  if (length > MAX_PAYLOAD_BYTES || HEADER_BYTES + length !== report.length) {
    throw malformed(
      `payload length ${length} does not match the ${report.length - HEADER_BYTES} bytes that follow`,
    );
  }
  const payload = report.subarray(HEADER_BYTES);
  if (length < FIXED_ERROR_BYTES) throw malformed(`ERROR payload of ${length} bytes`);
  if (payload.readUInt16LE(6) !== 0) throw malformed('reserved ERROR field is not 0');
  const errno = payload.readInt32LE(8);
  if (errno < 0) throw malformed(`negative errno ${errno}`);
  const detailLength = payload.readUInt32LE(12);
  if (detailLength > MAX_DETAIL_BYTES || FIXED_ERROR_BYTES + detailLength !== length) {
    throw malformed(`detail length ${detailLength} does not fill the frame`);
  }
  let detail: string;
  try {
    detail = utf8.decode(payload.subarray(FIXED_ERROR_BYTES));
  } catch {
    throw malformed('detail is not UTF-8');
  }
  return { opIndex: payload.readUInt32LE(0), opcode: payload.readUInt16LE(4), errno, detail };
}
