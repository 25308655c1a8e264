import { describe, expect, it } from 'vitest';
import { formatBytes, formatNumber, formatRatio, median, ratio, summarize } from '../lib/stats.mjs';

describe('median', () => {
  it('takes the middle of an odd count and the mean of the two middles of an even one', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('is NaN for no samples', () => {
    expect(median([])).toBeNaN();
  });
});

describe('summarize', () => {
  it('gives n, median, min and max', () => {
    expect(summarize([7, 2, 9, 4])).toEqual({ n: 4, median: 5.5, min: 2, max: 9 });
  });
});

describe('ratio', () => {
  it('divides, and gives null when a side is missing or the divisor is zero', () => {
    expect(ratio(3, 4)).toBe(0.75);
    expect(ratio(null, 4)).toBeNull();
    expect(ratio(3, undefined)).toBeNull();
    expect(ratio(3, 0)).toBeNull();
    expect(ratio(Number.NaN, 2)).toBeNull();
  });
});

describe('formatting', () => {
  it('prints a dash for missing values', () => {
    expect(formatNumber(null)).toBe('—');
    expect(formatRatio(null)).toBe('—');
    expect(formatBytes(undefined)).toBe('—');
  });

  it('prints ratios with a times sign and bytes in KiB below 1 MiB, MiB from there', () => {
    expect(formatRatio(0.254)).toBe('0.25×');
    expect(formatBytes(66 * 1024)).toBe('66 KiB');
    expect(formatBytes(1023 * 1024)).toBe('1023 KiB');
    expect(formatBytes(3252 * 1024)).toBe('3.2 MiB');
    expect(formatBytes(63.5 * 2 ** 20)).toBe('63.5 MiB');
  });
});
