// Numbers as runc's flags read them, so that what runc accepts parses to the same value here:
// Go's strconv integers (urfave/cli's Int and Uint flags take base 0: 0x1f, 0o17, 017, 0b101,
// 1_000; runc's own parsing of update's string flags takes base 10), and docker/go-units'
// RAMInBytes (v0.4.0, the one runc 1.1 vendors) for memory sizes: 512m, 1.5g, 64KiB, 1024.
// The JS number of a value is exact up to 2^53; a larger one is refused here, not rounded.

export class NumberSyntaxError extends Error {
  override readonly name = 'NumberSyntaxError';
}

/** Go's rule for `_` in a base-0 literal: only between digits (a base prefix counts as one). */
function underscoresOk(digits: string, prefixed: boolean): boolean {
  if (!digits.includes('_')) return true;
  return !(digits.includes('__') || digits.endsWith('_') || (!prefixed && digits.startsWith('_')));
}

function exact(value: bigint, text: string, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
    throw new NumberSyntaxError(`${what} ${JSON.stringify(text)}: too large`);
  return Number(value);
}

/**
 * strconv.ParseInt(text, base, 64) (`signed`) or ParseUint (no sign allowed): base 10, or
 * base 0 as Go's flag package reads an int flag.
 */
export function parseGoInteger(text: string, options: { base: 0 | 10; signed: boolean }): number {
  const what = options.signed ? 'integer' : 'unsigned integer';
  const bad = () => new NumberSyntaxError(`invalid ${what} ${JSON.stringify(text)}`);
  const match = /^([+-]?)(.*)$/s.exec(text)!;
  const sign = match[1]!;
  let body = match[2]!;
  if (sign !== '' && !options.signed) throw bad();
  let radix = 10;
  let prefixed = false;
  if (options.base === 0) {
    const prefix = /^0([xXoObB])/.exec(body)?.[1]?.toLowerCase();
    if (prefix !== undefined) {
      radix = prefix === 'x' ? 16 : prefix === 'o' ? 8 : 2;
      body = body.slice(2);
      prefixed = true;
    } else if (/^0./.test(body)) {
      radix = 8;
      body = body.slice(1);
      prefixed = true;
    }
    if (!underscoresOk(body, prefixed)) throw bad();
    body = body.replaceAll('_', '');
  }
  const digit = { 2: '[01]', 8: '[0-7]', 10: '\\d', 16: '[\\da-fA-F]' }[radix];
  if (!new RegExp(`^${digit}+$`).test(body)) throw bad();
  const magnitude = [...body.toLowerCase()].reduce(
    (value, char) => value * BigInt(radix) + BigInt(Number.parseInt(char, 16)),
    0n,
  );
  const limit = options.signed ? 2n ** 63n - (sign === '-' ? 0n : 1n) : 2n ** 64n - 1n;
  if (magnitude > limit) throw new NumberSyntaxError(`${what} ${JSON.stringify(text)}: value out of range`);
  return exact(sign === '-' ? -magnitude : magnitude, text, what);
}

const RAM_UNITS: Readonly<Record<string, number>> = {
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};

/**
 * go-units' RAMInBytes: a decimal number, one optional space, an optional k/m/g/t/p, an
 * optional i and an optional b, any case ("512m", "1.5 GiB", "64kb", "100B"); the number of
 * bytes, truncated. runc's `-1` (unlimited) is not a size: the caller takes it before this.
 */
export function parseRamInBytes(text: string): number {
  const match = /^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!match) throw new NumberSyntaxError(`invalid size: '${text}'`);
  // go-units' pattern lets "1.2.3" through; Go's ParseFloat then refuses it.
  if ((match[1]!.match(/\./g) ?? []).length > 1)
    throw new NumberSyntaxError(`strconv.ParseFloat: parsing ${JSON.stringify(match[1])}: invalid syntax`);
  const bytes = Math.trunc(Number(match[1]) * (RAM_UNITS[(match[3] ?? '').toLowerCase()] ?? 1));
  if (!Number.isSafeInteger(bytes)) throw new NumberSyntaxError(`invalid size: '${text}': too large`);
  return bytes;
}

/** runc's memory flags (`update --memory` and the like): `-1` for unlimited, or a RAMInBytes size. */
export function parseMemoryFlag(text: string): number {
  return text === '-1' ? -1 : parseRamInBytes(text);
}
