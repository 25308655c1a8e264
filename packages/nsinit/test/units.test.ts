import { describe, expect, it } from 'vitest';
import { parseGoInteger, parseMemoryFlag, parseRamInBytes } from '../src/units.js';

describe('parseRamInBytes', () => {
  // Each accepted or refused by runc 1.1.5's `update --memory` on this host.
  it('reads sizes as go-units 0.4 RAMInBytes (binary units, any case, b and i optional)', () => {
    const cases: [string, number][] = [
      ['1024', 1024],
      ['5B', 5],
      ['5i', 5],
      ['5ib', 5],
      ['5iB', 5],
      ['64k', 64 * 1024],
      ['64KB', 64 * 1024],
      ['5 MiB', 5 * 2 ** 20],
      ['5mb', 5 * 2 ** 20],
      ['1.5g', 1.5 * 2 ** 30],
      ['2T', 2 * 2 ** 40],
      ['5P', 5 * 2 ** 50],
      ['0.5k', 512],
      ['1.0001k', 1024],
    ];
    for (const [text, bytes] of cases) expect(parseRamInBytes(text), text).toBe(bytes);
  });

  it('refuses what runc refuses, with its words', () => {
    for (const text of ['5x', '5  m', '-2', '0x10', '5kk', ' 5', '', '5KiBB']) {
      expect(() => parseRamInBytes(text), text).toThrow(`invalid size: '${text}'`);
    }
    expect(() => parseRamInBytes('1.2.3')).toThrow('strconv.ParseFloat: parsing "1.2.3": invalid syntax');
  });

  it('takes -1 (unlimited) as a memory flag', () => {
    expect(parseMemoryFlag('-1')).toBe(-1);
    expect(parseMemoryFlag('1m')).toBe(2 ** 20);
    expect(() => parseMemoryFlag('-2')).toThrow();
  });
});

describe('parseGoInteger', () => {
  it("reads base 0 as Go's flag package (prefixes, leading-zero octal, underscores)", () => {
    const base0 = (text: string) => parseGoInteger(text, { base: 0, signed: true });
    expect(base0('42')).toBe(42);
    expect(base0('-42')).toBe(-42);
    expect(base0('0x1f')).toBe(31);
    expect(base0('0X1F')).toBe(31);
    expect(base0('0o17')).toBe(15);
    expect(base0('017')).toBe(15);
    expect(base0('0b101')).toBe(5);
    expect(base0('1_000')).toBe(1000);
    expect(base0('0x_1f')).toBe(31);
    expect(base0('0')).toBe(0);
    for (const bad of ['08', '1__0', '_1', '1_', '0x', '', '1.5', ' 1', 'x'])
      expect(() => base0(bad), bad).toThrow();
  });

  it('reads base 10 without prefixes or underscores; unsigned takes no sign', () => {
    expect(parseGoInteger('010', { base: 10, signed: false })).toBe(10);
    expect(parseGoInteger('+5', { base: 10, signed: true })).toBe(5);
    expect(() => parseGoInteger('+5', { base: 10, signed: false })).toThrow('invalid unsigned integer "+5"');
    expect(() => parseGoInteger('-1', { base: 10, signed: false })).toThrow('invalid unsigned integer "-1"');
    expect(() => parseGoInteger('0x10', { base: 10, signed: true })).toThrow('invalid integer "0x10"');
    expect(() => parseGoInteger('1_0', { base: 10, signed: true })).toThrow();
  });

  it('refuses what a double cannot hold exactly, and what 64 bits cannot', () => {
    expect(parseGoInteger(String(Number.MAX_SAFE_INTEGER), { base: 10, signed: true })).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    expect(() => parseGoInteger('9007199254740993', { base: 10, signed: true })).toThrow(/too large/);
    expect(() => parseGoInteger('9223372036854775808', { base: 10, signed: true })).toThrow(/out of range/);
  });
});
