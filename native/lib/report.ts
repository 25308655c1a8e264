// The sync frames between the parent and the init helper (../PROGRAM.md, "Sync frames"): the
// parent's CONTEXT frame (the go signal) and the helper's ERROR frame (its report). The TypeScript
// side of helper/report.c; every constant here must match that page. Both halves of each frame are
// here: the parent's, and the child's for tests and children written in JavaScript.

/** Base class of the errors about the sync frames and channel; `code` is stable, the message is for people. */
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

export const FRAME_MAGIC = 'NSSP';
export const FRAME_HEADER_BYTES = 12;
export const MAX_FRAME_PAYLOAD_BYTES = 65536;
export const MAX_CONTEXT_ENTRIES = 256;
export const MAX_CONTEXT_STRING_BYTES = 4096;
export const MAX_ERROR_DETAIL_BYTES = 4096;
/** The most a well-behaved child can ever send: one frame of the largest allowed size. */
export const MAX_CHILD_REPORT_BYTES = FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES;

export const FRAME_TYPE_CONTEXT = 1;
export const FRAME_TYPE_ERROR = 2;
/** `opIndex` of an error that belongs to no operation: a malformed init program or go frame. */
export const NO_OP_INDEX = 0xffffffff;

const MAGIC_BYTES = Buffer.from(FRAME_MAGIC, 'latin1');
const FRAME_TYPE_NAMES: Readonly<Record<number, string>> = {
  [FRAME_TYPE_CONTEXT]: 'CONTEXT',
  [FRAME_TYPE_ERROR]: 'ERROR',
};

/** What the helper reports when it cannot run the program to `execve`. */
export interface ChildError {
  /** Index of the failing operation in the init program, or NO_OP_INDEX. */
  opIndex: number;
  /** Opcode of the failing operation (0 when none). */
  opcode: number;
  /** errno of the failing system call (0 when the failure was not a system call). */
  errno: number;
  /** Short English text naming the path or value involved, e.g. `mount proc on /proc`. */
  detail: string;
}

export type SyncContext = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

// ---------------------------------------------------------------------------------------------
// Encoding

function encodeString(value: unknown, limit: number, what: string): Buffer {
  if (typeof value !== 'string') {
    throw new SyncEncodeError(`${what} must be a string, got ${typeof value}`);
  }
  const bytes = Buffer.from(value, 'utf8');
  // Buffer.from silently replaces lone surrogates with U+FFFD; refuse instead of sending other text.
  if (bytes.toString('utf8') !== value) {
    throw new SyncEncodeError(`${what} contains a lone UTF-16 surrogate and cannot be encoded as UTF-8`);
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new SyncEncodeError(
      `${what} contains a NUL byte at position ${nul}; frame strings cannot hold NUL`,
    );
  }
  if (bytes.length > limit) {
    throw new SyncEncodeError(`${what} is ${bytes.length} bytes of UTF-8, the limit is ${limit}`);
  }
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32LE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

function encodeFrame(type: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) {
    throw new SyncEncodeError(
      `${FRAME_TYPE_NAMES[type]} payload is ${payload.length} bytes, the frame limit is ${MAX_FRAME_PAYLOAD_BYTES}`,
    );
  }
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  MAGIC_BYTES.copy(header, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(0, 6);
  header.writeUInt32LE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

function contextEntries(context: SyncContext): Array<[unknown, unknown]> {
  if (context instanceof Map) return [...context.entries()];
  if (typeof context !== 'object' || context === null) {
    throw new SyncEncodeError(`the context must be a Map or a plain object of strings, got ${context}`);
  }
  return Object.entries(context);
}

/** Encode the parent's CONTEXT frame (the go frame): string keys and values, in iteration order. */
export function encodeContextFrame(context: SyncContext): Buffer {
  const entries = contextEntries(context);
  if (entries.length > MAX_CONTEXT_ENTRIES) {
    throw new SyncEncodeError(
      `the context has ${entries.length} entries, the limit is ${MAX_CONTEXT_ENTRIES}`,
    );
  }
  const count = Buffer.alloc(4);
  count.writeUInt32LE(entries.length, 0);
  const parts: Buffer[] = [count];
  for (const [key, value] of entries) {
    const keyBytes = encodeString(key, MAX_CONTEXT_STRING_BYTES, `context key ${JSON.stringify(key)}`);
    parts.push(keyBytes);
    parts.push(encodeString(value, MAX_CONTEXT_STRING_BYTES, `context value of ${JSON.stringify(key)}`));
  }
  return encodeFrame(FRAME_TYPE_CONTEXT, Buffer.concat(parts));
}

function checkInteger(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SyncEncodeError(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Encode a child's ERROR frame, as the helper writes it (for tests and children written in JS). */
export function encodeErrorFrame(error: ChildError): Buffer {
  const fixed = Buffer.alloc(12);
  fixed.writeUInt32LE(checkInteger(error.opIndex, 0, 0xffffffff, 'opIndex'), 0);
  fixed.writeUInt16LE(checkInteger(error.opcode, 0, 0xffff, 'opcode'), 4);
  fixed.writeUInt16LE(0, 6);
  fixed.writeInt32LE(checkInteger(error.errno, 0, 0x7fffffff, 'errno'), 8);
  const detail = encodeString(error.detail, MAX_ERROR_DETAIL_BYTES, 'detail');
  return encodeFrame(FRAME_TYPE_ERROR, Buffer.concat([fixed, detail]));
}

// ---------------------------------------------------------------------------------------------
// Decoding

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads the fields of one payload; every offset it reports is relative to the whole buffer. */
class PayloadReader {
  #position: number;

  constructor(
    private readonly buffer: Buffer,
    start: number,
    private readonly end: number,
    private readonly frameName: string,
  ) {
    this.#position = start;
  }

  get position(): number {
    return this.#position;
  }

  #take(size: number, field: string): number {
    const at = this.#position;
    if (at + size > this.end) {
      throw new SyncProtocolError(
        `${this.frameName} payload ends at offset ${this.end}, but ${field} needs ${size} bytes from offset ${at}`,
        at,
      );
    }
    this.#position += size;
    return at;
  }

  u16(field: string): number {
    return this.buffer.readUInt16LE(this.#take(2, field));
  }

  u32(field: string): number {
    return this.buffer.readUInt32LE(this.#take(4, field));
  }

  i32(field: string): number {
    return this.buffer.readInt32LE(this.#take(4, field));
  }

  string(limit: number, field: string): string {
    const lengthAt = this.#position;
    const length = this.u32(`the length of ${field}`);
    if (length > limit) {
      throw new SyncProtocolError(`${field} is ${length} bytes long, the limit is ${limit}`, lengthAt);
    }
    const start = this.#take(length, field);
    const bytes = this.buffer.subarray(start, start + length);
    const nul = bytes.indexOf(0);
    if (nul !== -1) {
      throw new SyncProtocolError(`${field} contains a NUL byte`, start + nul);
    }
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new SyncProtocolError(
        `${field} (${length} bytes from offset ${start}) is not valid UTF-8`,
        start,
      );
    }
  }

  finish(): void {
    if (this.#position !== this.end) {
      throw new SyncProtocolError(
        `${this.end - this.#position} unused bytes at the end of the ${this.frameName} payload`,
        this.#position,
      );
    }
  }
}

function frameTypeLabel(type: number): string {
  return `${type} (${FRAME_TYPE_NAMES[type] ?? 'unknown'})`;
}

/** Checks that `buffer` holds exactly one frame of `expectedType` and returns a reader of its payload. */
function openFrame(buffer: Buffer, expectedType: number): PayloadReader {
  const magicLength = Math.min(buffer.length, MAGIC_BYTES.length);
  for (let i = 0; i < magicLength; i++) {
    if (buffer[i] !== MAGIC_BYTES[i]) {
      const seen = buffer.subarray(0, magicLength).toString('hex');
      throw new SyncProtocolError(`bad magic 0x${seen}, expected "${FRAME_MAGIC}"`, i);
    }
  }
  if (buffer.length < FRAME_HEADER_BYTES) {
    throw new SyncProtocolError(
      `truncated frame header: ${buffer.length} of ${FRAME_HEADER_BYTES} bytes`,
      buffer.length,
    );
  }
  const type = buffer.readUInt16LE(4);
  if (type !== expectedType) {
    throw new SyncProtocolError(
      `expected frame type ${frameTypeLabel(expectedType)}, got ${frameTypeLabel(type)}`,
      4,
    );
  }
  const reserved = buffer.readUInt16LE(6);
  if (reserved !== 0) {
    throw new SyncProtocolError(`reserved header field is ${reserved}, must be 0`, 6);
  }
  const payloadLength = buffer.readUInt32LE(8);
  if (payloadLength > MAX_FRAME_PAYLOAD_BYTES) {
    throw new SyncProtocolError(
      `payload length ${payloadLength} exceeds the limit of ${MAX_FRAME_PAYLOAD_BYTES}`,
      8,
    );
  }
  const end = FRAME_HEADER_BYTES + payloadLength;
  if (buffer.length < end) {
    throw new SyncProtocolError(
      `truncated frame: the header announces ${payloadLength} payload bytes, ` +
        `only ${buffer.length - FRAME_HEADER_BYTES} follow`,
      buffer.length,
    );
  }
  if (buffer.length > end) {
    throw new SyncProtocolError(`${buffer.length - end} trailing bytes after the frame`, end);
  }
  const frameName = FRAME_TYPE_NAMES[expectedType] ?? String(expectedType);
  return new PayloadReader(buffer, FRAME_HEADER_BYTES, end, frameName);
}

/**
 * Decode everything the child sent before its end closed. Empty means the command was exec'd
 * (or the child died without a word — the exit status tells); otherwise it must be one ERROR frame.
 */
export function decodeChildReport(buffer: Buffer): ChildError | null {
  if (buffer.length === 0) return null;
  const reader = openFrame(buffer, FRAME_TYPE_ERROR);
  const opIndex = reader.u32('op_index');
  const opcode = reader.u16('opcode');
  const reservedAt = reader.position;
  const reserved = reader.u16('reserved');
  if (reserved !== 0) {
    throw new SyncProtocolError(`reserved ERROR field is ${reserved}, must be 0`, reservedAt);
  }
  const errnoAt = reader.position;
  const errno = reader.i32('errno');
  if (errno < 0) {
    throw new SyncProtocolError(`errno is ${errno}; errno values are never negative`, errnoAt);
  }
  const detail = reader.string(MAX_ERROR_DETAIL_BYTES, 'detail');
  reader.finish();
  return { opIndex, opcode, errno, detail };
}

/** Decode the parent's CONTEXT frame, as the helper's WAIT_GO does (for tests and JS children). */
export function decodeContextFrame(buffer: Buffer): Map<string, string> {
  const reader = openFrame(buffer, FRAME_TYPE_CONTEXT);
  const countAt = reader.position;
  const count = reader.u32('count');
  if (count > MAX_CONTEXT_ENTRIES) {
    throw new SyncProtocolError(`context has ${count} entries, the limit is ${MAX_CONTEXT_ENTRIES}`, countAt);
  }
  const context = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const keyAt = reader.position;
    const key = reader.string(MAX_CONTEXT_STRING_BYTES, `key #${i}`);
    // A Map would silently keep only one of two equal keys; the sender meant something else.
    if (context.has(key)) {
      throw new SyncProtocolError(`key #${i} ${JSON.stringify(key)} appears twice`, keyAt);
    }
    context.set(key, reader.string(MAX_CONTEXT_STRING_BYTES, `value of key ${JSON.stringify(key)}`));
  }
  reader.finish();
  return context;
}
