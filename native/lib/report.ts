// The sync frames between the parent and the init helper (../PROGRAM.md, "Sync frames"): the
// parent's CONTEXT frame (the go signal) and the helper's report — a PID frame (CLONE_PARENT), a
// READY frame (AWAIT_START), an ERROR frame, each at most once and in that order. The TypeScript
// side of helper/report.c; every constant here must match that page. Both halves of each frame
// are here: the parent's, and the child's for tests and children written in JavaScript.

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
export const FRAME_TYPE_CONTEXT = 1;
export const FRAME_TYPE_ERROR = 2;
export const FRAME_TYPE_PID = 3;
export const FRAME_TYPE_READY = 4;
/** The most a well-behaved child can ever send: a PID frame, a READY frame and one frame of the largest allowed size. */
export const MAX_CHILD_REPORT_BYTES =
  FRAME_HEADER_BYTES + 4 + FRAME_HEADER_BYTES + FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES;
/** `opIndex` of an error that belongs to no operation: a malformed init program or go frame. */
export const NO_OP_INDEX = 0xffffffff;

const MAGIC_BYTES = Buffer.from(FRAME_MAGIC, 'latin1');
const FRAME_TYPE_NAMES: Readonly<Record<number, string>> = {
  [FRAME_TYPE_CONTEXT]: 'CONTEXT',
  [FRAME_TYPE_ERROR]: 'ERROR',
  [FRAME_TYPE_PID]: 'PID',
  [FRAME_TYPE_READY]: 'READY',
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

/** One frame of a child's report, as the decoder meets it. */
export type ChildFrame =
  | { type: 'pid'; pid: number }
  | { type: 'ready' }
  | { type: 'error'; error: ChildError };

/** Everything a child reported: each frame at most once, in this order. */
export interface ChildReport {
  /** CLONE_PARENT's new process, by its pid in the helper's (and so the parent's) pid namespace. */
  pid: number | null;
  /** AWAIT_START: the child is ready and waits for the start. */
  ready: boolean;
  /** The op that failed, or null. */
  error: ChildError | null;
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

/** Encode a child's PID frame, as the helper's CLONE_PARENT writes it (for tests and JS children). */
export function encodePidFrame(pid: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32LE(checkInteger(pid, 1, MAX_PID, 'pid'), 0);
  return encodeFrame(FRAME_TYPE_PID, payload);
}

/** Encode a child's READY frame, as the helper's AWAIT_START writes it (for tests and JS children). */
export function encodeReadyFrame(): Buffer {
  return encodeFrame(FRAME_TYPE_READY, Buffer.alloc(0));
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** A pid is a positive int. */
const MAX_PID = 0x7fffffff;

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

/** Checks the magic of the frame at `at`, as far as `buffer` holds it. */
function checkMagic(buffer: Buffer, at: number): void {
  const length = Math.min(buffer.length - at, MAGIC_BYTES.length);
  for (let i = 0; i < length; i++) {
    if (buffer[at + i] !== MAGIC_BYTES[i]) {
      const seen = buffer.subarray(at, at + length).toString('hex');
      throw new SyncProtocolError(`bad magic 0x${seen}, expected "${FRAME_MAGIC}"`, at + i);
    }
  }
}

/**
 * The checked header of the frame at `at` (its whole 12 bytes must be there): `checkType`
 * throws for a type that may not come here; the reserved field must be 0 and the payload
 * length within the limit, known before any payload byte arrives.
 */
function readHeader(buffer: Buffer, at: number, checkType: (type: number) => void): number {
  checkMagic(buffer, at);
  checkType(buffer.readUInt16LE(at + 4));
  const reserved = buffer.readUInt16LE(at + 6);
  if (reserved !== 0) {
    throw new SyncProtocolError(`reserved header field is ${reserved}, must be 0`, at + 6);
  }
  const payloadLength = buffer.readUInt32LE(at + 8);
  if (payloadLength > MAX_FRAME_PAYLOAD_BYTES) {
    throw new SyncProtocolError(
      `payload length ${payloadLength} exceeds the limit of ${MAX_FRAME_PAYLOAD_BYTES}`,
      at + 8,
    );
  }
  return payloadLength;
}

/** The error for bytes that end inside the frame at `at`. */
function truncated(buffer: Buffer, at: number): SyncProtocolError {
  const held = buffer.length - at;
  if (held < FRAME_HEADER_BYTES) {
    return new SyncProtocolError(
      `truncated frame header: ${held} of ${FRAME_HEADER_BYTES} bytes`,
      buffer.length,
    );
  }
  return new SyncProtocolError(
    `truncated frame: the header announces ${buffer.readUInt32LE(at + 8)} payload bytes, ` +
      `only ${held - FRAME_HEADER_BYTES} follow`,
    buffer.length,
  );
}

/** Checks that `buffer` holds exactly one frame of `expectedType` and returns a reader of its payload. */
function openFrame(buffer: Buffer, expectedType: number): PayloadReader {
  checkMagic(buffer, 0);
  if (buffer.length < FRAME_HEADER_BYTES) throw truncated(buffer, 0);
  const payloadLength = readHeader(buffer, 0, (type) => {
    if (type !== expectedType) {
      throw new SyncProtocolError(
        `expected frame type ${frameTypeLabel(expectedType)}, got ${frameTypeLabel(type)}`,
        4,
      );
    }
  });
  const end = FRAME_HEADER_BYTES + payloadLength;
  if (buffer.length < end) throw truncated(buffer, 0);
  if (buffer.length > end) {
    throw new SyncProtocolError(`${buffer.length - end} trailing bytes after the frame`, end);
  }
  const frameName = FRAME_TYPE_NAMES[expectedType] ?? String(expectedType);
  return new PayloadReader(buffer, FRAME_HEADER_BYTES, end, frameName);
}

function readError(reader: PayloadReader): ChildError {
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

/** The child's frames in the one order they may come: each at most once. */
const CHILD_ORDER = [FRAME_TYPE_PID, FRAME_TYPE_READY, FRAME_TYPE_ERROR] as const;

/**
 * Decodes a child's report as its bytes arrive, so that a PID or READY frame is known the
 * moment it is complete while the socket stays open. Strict: a frame out of order or twice, a
 * frame the child never sends, or any byte after the ERROR frame is a SyncProtocolError (with
 * its offset from the start of the stream) as soon as its first telling byte arrives. Once
 * one was thrown the decoder stays failed. What it keeps is bounded by the format: a PID, a
 * READY and one frame of the largest size, anything beyond being refused.
 */
export class ChildReportDecoder {
  #buffer: Buffer = Buffer.alloc(0);
  /** Offset of the first byte not yet decoded into a frame. */
  #position = 0;
  /** Index in CHILD_ORDER of the next frame type that may come. */
  #next = 0;
  readonly #report: ChildReport = { pid: null, ready: false, error: null };
  #failure: SyncProtocolError | undefined;

  /** Bytes received so far. */
  get receivedBytes(): number {
    return this.#buffer.length;
  }

  /** What was decoded so far, including the frames complete before a protocol error (a copy). */
  get report(): ChildReport {
    return { ...this.#report };
  }

  /**
   * Takes the next bytes of the stream; returns the frames they completed, in order. Throws
   * SyncProtocolError for bytes that break the format (the frames completed before them are
   * in `report`).
   */
  push(chunk: Uint8Array): ChildFrame[] {
    if (this.#failure) throw this.#failure;
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    const frames: ChildFrame[] = [];
    try {
      for (let frame = this.#decodeNext(); frame !== undefined; frame = this.#decodeNext()) {
        frames.push(frame);
      }
    } catch (error) {
      if (error instanceof SyncProtocolError) this.#failure = error;
      throw error;
    }
    return frames;
  }

  /** The stream ended (EOF): the whole report. Throws for a frame cut short or an earlier protocol error. */
  end(): ChildReport {
    if (this.#failure) throw this.#failure;
    if (this.#position < this.#buffer.length) {
      this.#failure = truncated(this.#buffer, this.#position);
      throw this.#failure;
    }
    return this.report;
  }

  /** The frame complete at #position, undefined while its bytes are still to come. */
  #decodeNext(): ChildFrame | undefined {
    const buffer = this.#buffer;
    const at = this.#position;
    if (at === buffer.length) return undefined;
    if (this.#report.error !== null) {
      throw new SyncProtocolError(`${buffer.length - at} trailing bytes after the ERROR frame`, at);
    }
    checkMagic(buffer, at);
    if (buffer.length - at < FRAME_HEADER_BYTES) return undefined;
    const payloadLength = readHeader(buffer, at, (type) => this.#checkOrder(type, at + 4));
    const end = at + FRAME_HEADER_BYTES + payloadLength;
    if (buffer.length < end) return undefined;
    const type = buffer.readUInt16LE(at + 4);
    const reader = new PayloadReader(buffer, at + FRAME_HEADER_BYTES, end, FRAME_TYPE_NAMES[type]!);
    let frame: ChildFrame;
    if (type === FRAME_TYPE_PID) {
      const pidAt = reader.position;
      const pid = reader.u32('pid');
      if (pid < 1 || pid > MAX_PID) throw new SyncProtocolError(`pid ${pid} is no process id`, pidAt);
      reader.finish();
      this.#report.pid = pid;
      frame = { type: 'pid', pid };
    } else if (type === FRAME_TYPE_READY) {
      reader.finish();
      this.#report.ready = true;
      frame = { type: 'ready' };
    } else {
      const error = readError(reader);
      this.#report.error = error;
      frame = { type: 'error', error };
    }
    this.#next = CHILD_ORDER.indexOf(type as (typeof CHILD_ORDER)[number]) + 1;
    this.#position = end;
    return frame;
  }

  #checkOrder(type: number, offset: number): void {
    const allowed = CHILD_ORDER.slice(this.#next);
    if ((allowed as readonly number[]).includes(type)) return;
    const names = allowed.map((t) => FRAME_TYPE_NAMES[t]);
    const expected = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
    const previous =
      this.#next === 0 ? '' : ` after the ${FRAME_TYPE_NAMES[CHILD_ORDER[this.#next - 1]!]} frame`;
    const why = (CHILD_ORDER as readonly number[]).includes(type)
      ? ' (a child sends PID, READY, ERROR, each at most once, in this order)'
      : '';
    throw new SyncProtocolError(
      `expected ${/^[AEIOU]/.test(expected!) ? 'an' : 'a'} ${expected} frame from the child, got type ${frameTypeLabel(type)}${previous}${why}`,
      offset,
    );
  }
}

/** Decode everything the child sent before its end closed: its PID, READY and ERROR frames, each optional. */
export function decodeChildFrames(buffer: Buffer): ChildReport {
  const decoder = new ChildReportDecoder();
  decoder.push(buffer);
  return decoder.end();
}

/**
 * Decode everything the child sent before its end closed, for its error. Null means the command
 * was exec'd (or the child died without a word — the exit status tells); a PID or READY frame
 * may come before (see decodeChildFrames).
 */
export function decodeChildReport(buffer: Buffer): ChildError | null {
  return decodeChildFrames(buffer).error;
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
