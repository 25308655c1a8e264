import { describe, expect, it } from 'vitest';
import {
  InvalidIdError,
  isValidContainerId,
  MAX_CONTAINER_ID_LENGTH,
  validateContainerId,
} from '../src/index.js';

const good = [
  'a',
  'web-1',
  'A_b+c.d-e',
  '0',
  '.hidden',
  '..dots',
  'dots..',
  'x'.repeat(MAX_CONTAINER_ID_LENGTH),
];

const bad: Array<[string, RegExp]> = [
  ['', /must not be empty/],
  ['.', /must not be "\." or "\.\."/],
  ['..', /must not be "\." or "\.\."/],
  ['a/b', /contains "\/"/],
  ['../etc', /contains "\/"/],
  ['with space', /contains " "/],
  ['tab\t', /contains "\\t"/],
  ['new\nline', /contains "\\n"/],
  ['nul\0', /contains "\\u0000"/],
  ['ünï', /contains "ü"/],
  ['emoji😀', /contains "😀"/],
  ['colon:x', /contains ":"/],
  ['x'.repeat(MAX_CONTAINER_ID_LENGTH + 1), /is 249 characters long, the limit is 248/],
];

describe('validateContainerId', () => {
  it.each(good)('accepts %j', (id) => {
    expect(() => validateContainerId(id)).not.toThrow();
    expect(isValidContainerId(id)).toBe(true);
  });

  it.each(bad)('rejects %j', (id, reason) => {
    let thrown: unknown;
    try {
      validateContainerId(id);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidIdError);
    const error = thrown as InvalidIdError;
    expect(error.code).toBe('ERR_NSINIT_STATE_INVALID_ID');
    expect(error.message).toMatch(reason);
    expect(error.id).toBe(id);
    expect(isValidContainerId(id)).toBe(false);
  });

  it('quotes the id in the message, shortened when long', () => {
    expect(() => validateContainerId('a b')).toThrow('invalid container id "a b": contains " "');
    expect(() => validateContainerId('y'.repeat(2000))).toThrow(`invalid container id "${'y'.repeat(80)}…"`);
  });

  it('rejects what is not a string', () => {
    expect(() => validateContainerId(42)).toThrow(/must be a string, got number/);
  });
});
