// The sync frames (lib/report.ts, native/PROGRAM.md "Sync frames"): exact bytes, strict decoding.
import { describe, expect, it } from 'vitest';
import {
  type ChildError,
  type ChildFrame,
  ChildReportDecoder,
  decodeChildFrames,
  decodeChildReport,
  decodeContextFrame,
  encodeContextFrame,
  encodeErrorFrame,
  encodePidFrame,
  encodeReadyFrame,
  MAX_CHILD_REPORT_BYTES,
  MAX_CONTEXT_ENTRIES,
  MAX_CONTEXT_STRING_BYTES,
  MAX_ERROR_DETAIL_BYTES,
  MAX_FRAME_PAYLOAD_BYTES,
  NO_OP_INDEX,
  SyncEncodeError,
  SyncProtocolError,
} from '../lib/report.js';

const mountFailure: ChildError = { opIndex: 3, opcode: 3, errno: 2, detail: 'mount proc on /proc' };

/** Deterministic PRNG (mulberry32) so a failing random case can be replayed. */
function randomBytes(seed: number): (length: number) => Buffer {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return (length) => {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = next() & 0xff;
    return out;
  };
}

function protocolError(run: () => unknown): SyncProtocolError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SyncProtocolError);
    return error as SyncProtocolError;
  }
  throw new Error('expected a SyncProtocolError, nothing was thrown');
}

/** A valid ERROR frame with the header's payload length recomputed after `edit`. */
function editedErrorFrame(edit: (payload: Buffer) => Buffer): Buffer {
  const frame = encodeErrorFrame(mountFailure);
  const payload = edit(Buffer.from(frame.subarray(12)));
  const header = Buffer.from(frame.subarray(0, 12));
  header.writeUInt32LE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

describe('ERROR frames', () => {
  it('match the byte layout of PROGRAM.md', () => {
    const expected = Buffer.concat([
      Buffer.from('NSSP', 'latin1'),
      Buffer.from([2, 0, 0, 0, 35, 0, 0, 0]),
      Buffer.from([3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 19, 0, 0, 0]),
      Buffer.from('mount proc on /proc', 'utf8'),
    ]);
    expect(encodeErrorFrame(mountFailure)).toEqual(expected);
    expect(decodeChildReport(expected)).toEqual(mountFailure);
  });

  it('round-trip extreme and non-ASCII values', () => {
    const reports: ChildError[] = [
      { opIndex: NO_OP_INDEX, opcode: 0, errno: 0, detail: '' },
      { opIndex: 0, opcode: 0xffff, errno: 0x7fffffff, detail: 'exec "/bin/ünïcødé ☃ 𝄞"' },
      { opIndex: 4095, opcode: 27, errno: 13, detail: 'x'.repeat(MAX_ERROR_DETAIL_BYTES) },
    ];
    for (const report of reports) {
      expect(decodeChildReport(encodeErrorFrame(report))).toEqual(report);
    }
  });

  it("an empty report means the command was exec'd", () => {
    expect(decodeChildReport(Buffer.alloc(0))).toBeNull();
  });

  it('reject every truncation of a frame', () => {
    const frame = encodeErrorFrame(mountFailure);
    for (let length = 1; length < frame.length; length++) {
      const error = protocolError(() => decodeChildReport(frame.subarray(0, length)));
      expect(error.message).toMatch(/truncated/);
      expect(error.offset).toBe(length);
    }
  });

  it('reject trailing bytes, including a second frame', () => {
    const frame = encodeErrorFrame(mountFailure);
    const error = protocolError(() => decodeChildReport(Buffer.concat([frame, frame])));
    expect(error.message).toContain(`${frame.length} trailing bytes after the ERROR frame`);
    expect(error.offset).toBe(frame.length);
  });

  it('reject bad magic, naming the first wrong byte', () => {
    const frame = encodeErrorFrame(mountFailure);
    frame[2] = 0x58;
    const error = protocolError(() => decodeChildReport(frame));
    expect(error.message).toContain('bad magic');
    expect(error.offset).toBe(2);
    expect(protocolError(() => decodeChildReport(Buffer.from('oops'))).offset).toBe(0);
  });

  it('reject a CONTEXT frame or an unknown type from the child', () => {
    const context = protocolError(() => decodeChildReport(encodeContextFrame({})));
    expect(context.message).toContain(
      'expected a PID, READY or ERROR frame from the child, got type 1 (CONTEXT)',
    );
    expect(context.offset).toBe(4);
    const frame = encodeErrorFrame(mountFailure);
    frame.writeUInt16LE(9, 4);
    expect(protocolError(() => decodeChildReport(frame)).message).toContain('got type 9 (unknown)');
  });

  it('reject non-zero reserved fields', () => {
    const header = encodeErrorFrame(mountFailure);
    header.writeUInt16LE(1, 6);
    expect(protocolError(() => decodeChildReport(header)).offset).toBe(6);
    const payload = encodeErrorFrame(mountFailure);
    payload.writeUInt16LE(7, 12 + 6);
    const error = protocolError(() => decodeChildReport(payload));
    expect(error.message).toContain('reserved ERROR field is 7');
    expect(error.offset).toBe(18);
  });

  it('reject a payload length over the limit before waiting for the bytes', () => {
    const frame = encodeErrorFrame(mountFailure);
    frame.writeUInt32LE(MAX_FRAME_PAYLOAD_BYTES + 1, 8);
    const error = protocolError(() => decodeChildReport(frame));
    expect(error.message).toContain('exceeds the limit of 65536');
    expect(error.offset).toBe(8);
  });

  it('reject a negative errno', () => {
    const frame = encodeErrorFrame(mountFailure);
    frame.writeInt32LE(-2, 12 + 8);
    const error = protocolError(() => decodeChildReport(frame));
    expect(error.message).toContain('errno is -2');
    expect(error.offset).toBe(20);
  });

  it('reject a detail length over the limit, past the payload, or short of it', () => {
    const tooLong = editedErrorFrame((payload) => {
      payload.writeUInt32LE(MAX_ERROR_DETAIL_BYTES + 1, 12);
      return payload;
    });
    expect(protocolError(() => decodeChildReport(tooLong)).message).toContain('detail is 4097 bytes long');
    const pastEnd = editedErrorFrame((payload) => {
      payload.writeUInt32LE(100, 12);
      return payload;
    });
    const past = protocolError(() => decodeChildReport(pastEnd));
    expect(past.message).toContain('detail needs 100 bytes from offset 28');
    expect(past.offset).toBe(28);
    const unused = editedErrorFrame((payload) => Buffer.concat([payload, Buffer.from([0, 0])]));
    const extra = protocolError(() => decodeChildReport(unused));
    expect(extra.message).toContain('2 unused bytes at the end of the ERROR payload');
    expect(extra.offset).toBe(unused.length - 2);
    const missingDetail = editedErrorFrame((payload) => payload.subarray(0, 10));
    expect(protocolError(() => decodeChildReport(missingDetail)).message).toContain('errno needs 4 bytes');
  });

  it('reject a detail with a NUL byte or invalid UTF-8', () => {
    const withNul = encodeErrorFrame(mountFailure);
    withNul[28 + 5] = 0;
    const nul = protocolError(() => decodeChildReport(withNul));
    expect(nul.message).toContain('NUL');
    expect(nul.offset).toBe(33);
    const badUtf8 = encodeErrorFrame(mountFailure);
    badUtf8[28 + 1] = 0xc3;
    badUtf8[28 + 2] = 0x28;
    const utf8 = protocolError(() => decodeChildReport(badUtf8));
    expect(utf8.message).toContain('not valid UTF-8');
    expect(utf8.offset).toBe(28);
  });

  it('reject random bytes', () => {
    const random = randomBytes(0x5eed);
    for (let i = 0; i < 2000; i++) {
      const bytes = random(1 + (i % 97));
      protocolError(() => decodeChildReport(bytes));
    }
  });

  it('either reject a random payload behind a valid header or decode it to what re-encodes identically', () => {
    const random = randomBytes(2014);
    let decoded = 0;
    for (let i = 0; i < 2000; i++) {
      const payload = random(i % 40);
      // Half the cases get plausible fixed fields and a short detail length, so some decode.
      if (i % 2 === 0 && payload.length >= 16) {
        payload.writeUInt16LE(0, 6);
        payload[11]! &= 0x7f;
        payload.writeUInt32LE(payload[12]! % 8, 12);
      }
      const header = Buffer.from([0x4e, 0x53, 0x53, 0x50, 2, 0, 0, 0, 0, 0, 0, 0]);
      header.writeUInt32LE(payload.length, 8);
      const frame = Buffer.concat([header, payload]);
      let report: ChildError | null;
      try {
        report = decodeChildReport(frame);
      } catch (error) {
        expect(error).toBeInstanceOf(SyncProtocolError);
        continue;
      }
      expect(report).not.toBeNull();
      expect(encodeErrorFrame(report!)).toEqual(frame);
      decoded++;
    }
    expect(decoded).toBeGreaterThan(0);
  });

  it('refuse to encode values outside the format', () => {
    const bad: Array<Partial<ChildError>> = [
      { opIndex: -1 },
      { opIndex: 2 ** 32 },
      { opIndex: 1.5 },
      { opcode: 0x10000 },
      { errno: -1 },
      { detail: 'a\0b' },
      { detail: 'x'.repeat(MAX_ERROR_DETAIL_BYTES + 1) },
      { detail: '\ud800' },
    ];
    for (const change of bad) {
      expect(() => encodeErrorFrame({ ...mountFailure, ...change })).toThrow(SyncEncodeError);
    }
  });
});

describe("a child's report: PID, READY, ERROR", () => {
  const pid = encodePidFrame(4242);
  const ready = encodeReadyFrame();
  const error = encodeErrorFrame(mountFailure);

  it('match the byte layout of PROGRAM.md', () => {
    expect(pid).toEqual(Buffer.from('4e5353500300000004000000' + '92100000', 'hex'));
    expect(ready).toEqual(Buffer.from('4e5353500400000000000000', 'hex'));
    expect(MAX_CHILD_REPORT_BYTES).toBe(pid.length + ready.length + 12 + MAX_FRAME_PAYLOAD_BYTES);
  });

  it('decode each frame optional, in the one order', () => {
    const cases: [Buffer[], { pid: number | null; ready: boolean; error: ChildError | null }][] = [
      [[], { pid: null, ready: false, error: null }],
      [[pid], { pid: 4242, ready: false, error: null }],
      [[ready], { pid: null, ready: true, error: null }],
      [[pid, ready], { pid: 4242, ready: true, error: null }],
      [[pid, error], { pid: 4242, ready: false, error: mountFailure }],
      [[ready, error], { pid: null, ready: true, error: mountFailure }],
      [[pid, ready, error], { pid: 4242, ready: true, error: mountFailure }],
    ];
    for (const [frames, report] of cases) {
      expect(decodeChildFrames(Buffer.concat(frames))).toEqual(report);
      expect(decodeChildReport(Buffer.concat(frames))).toEqual(report.error);
    }
  });

  it('reject a frame twice or out of order, naming what came', () => {
    const cases: [Buffer[], number, RegExp][] = [
      [
        [ready, pid],
        ready.length + 4,
        /expected an ERROR frame from the child, got type 3 \(PID\) after the READY frame/,
      ],
      [
        [pid, pid],
        pid.length + 4,
        /expected a READY or ERROR frame from the child, got type 3 \(PID\) after the PID frame/,
      ],
      [
        [ready, ready],
        ready.length + 4,
        /got type 4 \(READY\) after the READY frame \(a child sends PID, READY, ERROR/,
      ],
      [[error, ready], error.length, /12 trailing bytes after the ERROR frame/],
      [[error, error], error.length, /trailing bytes after the ERROR frame/],
      [[pid, encodeContextFrame({})], pid.length + 4, /got type 1 \(CONTEXT\) after the PID frame$/],
    ];
    for (const [frames, offset, message] of cases) {
      const problem = protocolError(() => decodeChildFrames(Buffer.concat(frames)));
      expect(problem.offset).toBe(offset);
      expect(problem.reason).toMatch(message);
    }
  });

  it('reject a PID frame without a process id and a READY frame with a payload', () => {
    const zero = Buffer.from(pid);
    zero.writeUInt32LE(0, 12);
    expect(protocolError(() => decodeChildFrames(zero)).message).toContain('pid 0 is no process id');
    const negative = Buffer.from(pid);
    negative.writeUInt32LE(0x8000_0000, 12);
    expect(protocolError(() => decodeChildFrames(negative)).offset).toBe(12);
    const long = Buffer.concat([
      pid.subarray(0, 8),
      Buffer.from([5, 0, 0, 0]),
      pid.subarray(12),
      Buffer.from([0]),
    ]);
    expect(protocolError(() => decodeChildFrames(long)).message).toContain(
      '1 unused bytes at the end of the PID payload',
    );
    const full = Buffer.concat([ready.subarray(0, 8), Buffer.from([1, 0, 0, 0, 0])]);
    expect(protocolError(() => decodeChildFrames(full)).message).toContain(
      'unused bytes at the end of the READY payload',
    );
    expect(() => encodePidFrame(0)).toThrow(SyncEncodeError);
    expect(() => encodePidFrame(2 ** 31)).toThrow(SyncEncodeError);
  });

  it('decode byte by byte: each frame the moment its last byte arrives', () => {
    const stream = Buffer.concat([pid, ready, error]);
    const decoder = new ChildReportDecoder();
    const seen: [number, ChildFrame][] = [];
    for (let i = 0; i < stream.length; i++) {
      for (const frame of decoder.push(stream.subarray(i, i + 1))) seen.push([i + 1, frame]);
    }
    expect(seen).toEqual([
      [pid.length, { type: 'pid', pid: 4242 }],
      [pid.length + ready.length, { type: 'ready' }],
      [stream.length, { type: 'error', error: mountFailure }],
    ]);
    expect(decoder.receivedBytes).toBe(stream.length);
    expect(decoder.end()).toEqual({ pid: 4242, ready: true, error: mountFailure });
  });

  it('reject bad bytes at once, keeping the frames before them, and stay failed', () => {
    const decoder = new ChildReportDecoder();
    let thrown: unknown;
    try {
      decoder.push(Buffer.concat([pid, Buffer.from('NSX')]));
    } catch (caught) {
      thrown = caught;
    }
    expect(thrown).toBeInstanceOf(SyncProtocolError);
    expect((thrown as SyncProtocolError).offset).toBe(pid.length + 2);
    expect(decoder.report).toEqual({ pid: 4242, ready: false, error: null });
    expect(() => decoder.push(ready)).toThrow(thrown as Error);
    expect(() => decoder.end()).toThrow(thrown as Error);
  });

  it('reject an announced payload over the limit before its bytes, and a frame cut short at the end', () => {
    const decoder = new ChildReportDecoder();
    const header = Buffer.from(ready);
    header.writeUInt32LE(MAX_FRAME_PAYLOAD_BYTES + 1, 8);
    expect(() => decoder.push(Buffer.concat([pid, header]))).toThrow(/exceeds the limit of 65536/);
    const cut = new ChildReportDecoder();
    expect(cut.push(Buffer.concat([pid, error.subarray(0, 20)]))).toEqual([{ type: 'pid', pid: 4242 }]);
    const problem = protocolError(() => cut.end());
    expect(problem.message).toContain(
      'truncated frame: the header announces 35 payload bytes, only 8 follow',
    );
    expect(problem.offset).toBe(pid.length + 20);
  });
});

describe('CONTEXT frames', () => {
  it('match the byte layout of PROGRAM.md', () => {
    const expected = Buffer.concat([
      Buffer.from('NSSP', 'latin1'),
      Buffer.from([1, 0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0x61, 1, 0, 0, 0, 0x62]),
    ]);
    expect(encodeContextFrame({ a: 'b' })).toEqual(expected);
    expect(decodeContextFrame(expected)).toEqual(new Map([['a', 'b']]));
  });

  it('round-trip Maps and plain objects, keeping order', () => {
    const context = new Map([
      ['veth_host', 'veth1a2b'],
      ['veth_child', 'veth3c4d'],
      ['', 'empty key'],
      ['ns_path', ''],
      ['ünïcødé', '☃ 𝄞'],
    ]);
    expect([...decodeContextFrame(encodeContextFrame(context))]).toEqual([...context]);
    expect(decodeContextFrame(encodeContextFrame(Object.fromEntries(context)))).toEqual(context);
    expect(decodeContextFrame(encodeContextFrame({}))).toEqual(new Map());
  });

  it('accept the limits and refuse one past them', () => {
    const most = new Map<string, string>();
    for (let i = 0; i < MAX_CONTEXT_ENTRIES; i++) most.set(`k${i}`, 'v');
    expect(decodeContextFrame(encodeContextFrame(most)).size).toBe(MAX_CONTEXT_ENTRIES);
    most.set('one-more', 'v');
    expect(() => encodeContextFrame(most)).toThrow(/257 entries, the limit is 256/);

    const longest = 'k'.repeat(MAX_CONTEXT_STRING_BYTES);
    expect(decodeContextFrame(encodeContextFrame({ [longest]: longest })).get(longest)).toBe(longest);
    expect(() => encodeContextFrame({ [`${longest}k`]: '' })).toThrow(
      /4097 bytes of UTF-8, the limit is 4096/,
    );
    // Two-byte characters: 2049 of them are 4098 bytes, though only 2049 UTF-16 units.
    expect(() => encodeContextFrame({ k: 'é'.repeat(2049) })).toThrow(SyncEncodeError);

    const big: Record<string, string> = {};
    for (let i = 0; i < 20; i++) big[`k${i}`] = 'v'.repeat(MAX_CONTEXT_STRING_BYTES);
    expect(() => encodeContextFrame(big)).toThrow(/payload is \d+ bytes, the frame limit is 65536/);
  });

  it('refuse to encode NUL bytes, lone surrogates and non-strings', () => {
    expect(() => encodeContextFrame({ 'a\0': 'b' })).toThrow(/NUL byte at position 1/);
    expect(() => encodeContextFrame({ a: 'b\0' })).toThrow(SyncEncodeError);
    expect(() => encodeContextFrame({ a: '\udc00' })).toThrow(/lone UTF-16 surrogate/);
    expect(() => encodeContextFrame(new Map([['a', 1 as unknown as string]]))).toThrow(
      /must be a string, got number/,
    );
  });

  it('reject every truncation, an entry count over the limit, duplicate keys and trailing bytes', () => {
    const frame = encodeContextFrame({ veth_host: 'veth1a2b', veth_child: 'veth3c4d' });
    for (let length = 1; length < frame.length; length++) {
      protocolError(() => decodeContextFrame(frame.subarray(0, length)));
    }
    const tooMany = Buffer.from(frame);
    tooMany.writeUInt32LE(MAX_CONTEXT_ENTRIES + 1, 12);
    expect(protocolError(() => decodeContextFrame(tooMany)).message).toContain('257 entries');

    const duplicate = encodeContextFrame({ a: 'b', c: 'd' });
    duplicate[12 + 4 + 4 + 1 + 4 + 1 + 4] = 0x61;
    const dup = protocolError(() => decodeContextFrame(duplicate));
    expect(dup.message).toContain('key #1 "a" appears twice');
    expect(dup.offset).toBe(12 + 4 + 10);

    const fewer = Buffer.from(frame);
    fewer.writeUInt32LE(1, 12);
    expect(protocolError(() => decodeContextFrame(fewer)).message).toMatch(
      /unused bytes at the end of the CONTEXT/,
    );
    expect(() => decodeContextFrame(Buffer.concat([frame, Buffer.from([0])]))).toThrow(/1 trailing bytes/);
    expect(() => decodeContextFrame(encodeErrorFrame(mountFailure))).toThrow(
      /expected frame type 1 \(CONTEXT\), got 2 \(ERROR\)/,
    );
    expect(() => decodeContextFrame(Buffer.alloc(0))).toThrow(/truncated frame header: 0 of 12/);
  });
});
