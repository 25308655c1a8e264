// 64-bit kernel values as JavaScript sees them: "none" is null, never a rounded number.
import { describe, expect, it } from 'vitest';
import { parseCount, parseFlatKeyed, parseKernelValue } from '../src/files.js';

describe('parseKernelValue', () => {
  it("reads max, -1 and v1's unlimited page counter as none", () => {
    expect(parseKernelValue('max\n', 'f')).toBeNull();
    expect(parseKernelValue('-1\n', 'f')).toBeNull();
    // LONG_MAX rounded down to 4 KiB and to 64 KiB pages: 9223372036854772000 as a number.
    expect(parseKernelValue('9223372036854771712\n', 'f')).toBeNull();
    expect(parseKernelValue('9223372036854710272\n', 'f')).toBeNull();
  });

  it('reads every other value as its number', () => {
    expect(parseKernelValue('0\n', 'f')).toBe(0);
    expect(parseKernelValue('16777216\n', 'f')).toBe(16 << 20);
    expect(parseKernelValue(String(Number.MAX_SAFE_INTEGER), 'f')).toBe(Number.MAX_SAFE_INTEGER);
    // Beyond 2^53 (8 PiB, 104 days of CPU time in ns) the nearest number: no limit or count gets there.
    expect(parseKernelValue('123456789012345678', 'f')).toBe(Number('123456789012345678'));
  });

  it('refuses what is not a kernel number, naming the file', () => {
    expect(() => parseKernelValue('lots', '/x/pids.max')).toThrow(
      'cannot parse /x/pids.max: "lots" is not a number',
    );
    expect(() => parseKernelValue('-2', 'f')).toThrow('"-2" is not a number');
    expect(() => parseCount('max\n', '/x/memory.current')).toThrow(
      'cannot parse /x/memory.current: "max" is not a count',
    );
  });

  it('reads flat-keyed files with none as null', () => {
    expect(parseFlatKeyed('rss 4096\nhierarchical_memory_limit 9223372036854771712\n', 'f')).toEqual(
      new Map([
        ['rss', 4096],
        ['hierarchical_memory_limit', null],
      ]),
    );
  });
});
