// Summaries of samples and the ratios between contenders.

/** The middle value (mean of the two middle ones for an even count); NaN for no samples. */
export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** n, median, min and max of a list of samples. */
export function summarize(values) {
  if (values.length === 0) return { n: 0, median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { n: values.length, median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** a / b, or null when either side is missing or b is zero, so a table can print "—". */
export function ratio(a, b) {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

/** A number with a fixed count of decimals; "—" for a missing value. */
export function formatNumber(value, decimals = 2) {
  return value == null || !Number.isFinite(value) ? '—' : value.toFixed(decimals);
}

/** A ratio as "0.25×"; "—" for a missing one. */
export function formatRatio(value) {
  return value == null ? '—' : `${value.toFixed(2)}×`;
}

/** Bytes in KiB below 1 MiB, in MiB (one decimal) from there. */
export function formatBytes(bytes) {
  if (bytes == null || !Number.isFinite(bytes)) return '—';
  const kib = bytes / 1024;
  return Math.abs(kib) >= 1024 ? `${(kib / 1024).toFixed(1)} MiB` : `${kib.toFixed(0)} KiB`;
}
