// Go's time.ParseDuration, for `events --interval` (runc's flag is a Go duration): a sign,
// then one or more decimal numbers, each with a unit — "300ms", "-1.5h", "1m30s", ".5s".
// A lone "0" needs no unit.

const UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 MICRO SIGN
  μs: 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX = 2n ** 63n;

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/** The duration in nanoseconds; errors worded as Go's (`time: invalid duration "5x"`). */
export function parseGoDuration(text: string): number {
  const invalid = () => new DurationError(`time: invalid duration ${JSON.stringify(text)}`);
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0n;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    const [consumed, whole = '', fraction] = number;
    // No digits at all (".s", "-.s"), or no number where one must start.
    if (whole === '' && (fraction === undefined || fraction === '')) throw invalid();
    rest = rest.slice(consumed.length);
    const unitName = /^[^.\d]*/.exec(rest)![0];
    if (unitName === '') throw new DurationError(`time: missing unit in duration ${JSON.stringify(text)}`);
    rest = rest.slice(unitName.length);
    const unit = UNITS[unitName];
    if (unit === undefined)
      throw new DurationError(
        `time: unknown unit ${JSON.stringify(unitName)} in duration ${JSON.stringify(text)}`,
      );
    let value = BigInt(whole === '' ? '0' : whole) * unit;
    if (value > MAX) throw invalid();
    if (fraction) {
      // Go computes the fraction's share in float64 too.
      value += BigInt(Math.trunc(Number(`0.${fraction}`) * Number(unit)));
      if (value > MAX) throw invalid();
    }
    total += value;
    if (total > MAX) throw invalid();
  }
  if (!negative && total > MAX - 1n) throw invalid();
  return Number(negative ? -total : total);
}
