import { describe, expect, it } from 'vitest';
import { parseSignal, SignalError } from '../src/signals.js';

describe('parseSignal', () => {
  it('reads names in any case, with or without SIG, as runc does', () => {
    for (const name of ['KILL', 'kill', 'SIGKILL', 'sigkill', 'SigKill']) expect(parseSignal(name)).toBe(9);
    expect(parseSignal('TERM')).toBe(15);
    expect(parseSignal('hup')).toBe(1);
    expect(parseSignal('SIGSTKFLT')).toBe(16);
    expect(parseSignal('io')).toBe(29);
    expect(parseSignal('sys')).toBe(31);
  });

  it("reads numbers as Go's Atoi does, and '' as SIGTERM (runc's default)", () => {
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal('09')).toBe(9);
    expect(parseSignal('+9')).toBe(9);
    expect(parseSignal('0')).toBe(0);
    expect(parseSignal('64')).toBe(64);
    expect(parseSignal('')).toBe(15);
  });

  it('refuses the names runc 1.1.5 does not know (checked against it) and numbers kill(2) refuses', () => {
    for (const name of [
      'SIGIOT',
      'IOT',
      'SIGPOLL',
      'SIGCLD',
      'SIGUNUSED',
      'RTMIN',
      'SIGRTMIN+1',
      'SIG',
      'SIGEMT',
      ' 9',
      '9x',
    ]) {
      expect(() => parseSignal(name), name).toThrow(
        new SignalError(`unknown signal ${JSON.stringify(name)}`),
      );
    }
    expect(() => parseSignal('65')).toThrow(/invalid signal "65": signal numbers go from 0 to 64/);
    expect(() => parseSignal('-9')).toThrow(/invalid signal "-9"/);
  });
});
