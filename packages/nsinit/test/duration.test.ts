import { describe, expect, it } from 'vitest';
import { parseGoDuration } from '../src/duration.js';

describe('parseGoDuration', () => {
  it("reads Go's durations, in nanoseconds", () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['5s', 5e9],
      ['500ms', 5e8],
      ['1m30s', 90e9],
      ['1h2m3s4ms5us6ns', 3_723_004_005_006],
      ['1.5h', 5.4e12],
      ['.5s', 5e8],
      ['5.s', 5e9],
      ['+3us', 3000],
      ['3µs', 3000],
      ['3μs', 3000],
      ['-1.5s', -1.5e9],
      ['0s', 0],
    ];
    for (const [text, ns] of cases) expect(parseGoDuration(text), text).toBe(ns);
  });

  it("refuses what Go refuses, in Go's words", () => {
    expect(() => parseGoDuration('')).toThrow('time: invalid duration ""');
    expect(() => parseGoDuration('5')).toThrow('time: missing unit in duration "5"');
    expect(() => parseGoDuration('1m5')).toThrow('time: missing unit in duration "1m5"');
    expect(() => parseGoDuration('5x')).toThrow('time: unknown unit "x" in duration "5x"');
    expect(() => parseGoDuration('5 s')).toThrow('time: unknown unit " s" in duration "5 s"');
    expect(() => parseGoDuration('.s')).toThrow('time: invalid duration ".s"');
    expect(() => parseGoDuration('-')).toThrow('time: invalid duration "-"');
    expect(() => parseGoDuration('s')).toThrow('time: invalid duration "s"');
    expect(() => parseGoDuration('3000000h')).toThrow('time: invalid duration "3000000h"');
  });
});
