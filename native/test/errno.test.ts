// errno numbers in words (lib/errno.ts), the way Node's system errors put them.
import { describe, expect, it } from 'vitest';
import { errnoLabel, errnoMessage, errnoName, systemErrorCode } from '../lib/errno.js';

describe('errno names and messages', () => {
  it('names errno values the way Node does', () => {
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(13)).toBe('EACCES');
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(0)).toBeUndefined();
    expect(errnoName(100000)).toBeUndefined();
  });

  it('labels every number, known or not', () => {
    expect(errnoLabel(19)).toBe('ENODEV');
    expect(errnoLabel(0)).toBe('no errno');
    expect(errnoLabel(100000)).toBe('errno 100000');
  });

  it("says what an errno means in libuv's words, and glibc's where libuv has none", () => {
    expect(errnoMessage(2)).toBe('no such file or directory');
    expect(errnoMessage(17)).toBe('file already exists');
    expect(errnoMessage(8)).toBe('exec format error');
    expect(errnoMessage(100000)).toBe('unknown error 100000');
  });

  it('takes the code of a Node system error only', () => {
    const enoent = Object.assign(new Error('open failed'), { code: 'ENOENT' });
    expect(systemErrorCode(enoent)).toBe('ENOENT');
    expect(systemErrorCode({ code: 'ENOENT' })).toBeUndefined();
    expect(systemErrorCode(new Error('plain'))).toBeUndefined();
    expect(systemErrorCode(Object.assign(new Error('odd'), { code: 7 }))).toBeUndefined();
    expect(systemErrorCode(undefined)).toBeUndefined();
  });
});
