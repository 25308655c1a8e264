// The strict decoder of the init helper's ERROR frame (native/PROGRAM.md, "Sync frames").
import { describe, expect, it } from 'vitest';
import { decodeReport } from '../src/report.js';

function errorFrame(opIndex: number, opcode: number, errno: number, detail: string | Buffer): Buffer {
  const text = Buffer.from(detail);
  const payload = Buffer.alloc(16 + text.length);
  payload.writeUInt32LE(opIndex, 0);
  payload.writeUInt16LE(opcode, 4);
  payload.writeInt32LE(errno, 8);
  payload.writeUInt32LE(text.length, 12);
  text.copy(payload, 16);
  const header = Buffer.alloc(12);
  header.write('NSSP', 0, 'latin1');
  header.writeUInt16LE(2, 4);
  header.writeUInt32LE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

describe('decodeReport', () => {
  it('reads nothing as exec succeeded and one ERROR frame as the failure', () => {
    expect(decodeReport(Buffer.alloc(0))).toBeNull();
    expect(decodeReport(errorFrame(4, 27, 2, 'exec "nope": not found in PATH'))).toEqual({
      opIndex: 4,
      opcode: 27,
      errno: 2,
      detail: 'exec "nope": not found in PATH',
    });
  });

  it.each([
    ['a truncated header', errorFrame(0, 27, 2, 'x').subarray(0, 8), /shorter than a frame header/],
    ['bad magic', Buffer.concat([Buffer.from('XXXX'), errorFrame(0, 27, 2, 'x').subarray(4)]), /bad magic/],
    ['trailing bytes', Buffer.concat([errorFrame(0, 27, 2, 'x'), Buffer.from([0])]), /does not match/],
    ['a negative errno', errorFrame(0, 27, -1, 'x'), /negative errno/],
    ['a detail that is not UTF-8', errorFrame(0, 27, 2, Buffer.from([0xff])), /not UTF-8/],
  ])('rejects %s as a build mismatch', (_what, report, problem) => {
    expect(() => decodeReport(report)).toThrow(
      expect.objectContaining({ code: 'ERR_NSINIT_PTY_PROTOCOL', message: expect.stringMatching(problem) }),
    );
  });

  it('rejects a frame of another type or with reserved bits set', () => {
    const context = errorFrame(0, 27, 2, 'x');
    context.writeUInt16LE(1, 4);
    expect(() => decodeReport(context)).toThrow(/frame type 1, expected ERROR/);
    const reserved = errorFrame(0, 27, 2, 'x');
    reserved.writeUInt16LE(1, 12 + 6);
    expect(() => decodeReport(reserved)).toThrow(/reserved ERROR field/);
  });
});
