// Sections of the report: a title, the method in a sentence or two, a table, and the raw data.
import { formatNumber, formatRatio, median, ratio, summarize } from './stats.mjs';

export const NOT_INSTALLED = 'not installed';

/**
 * A row per contender from interleaved samples (ms). A contender with `installed: false`
 * gets a "not installed" row. `references` name the contenders the ratio columns divide
 * by, e.g. [{ column: '× runc', name: 'runc run' }]; a reference may instead carry its own
 * `median` (a derived figure such as crun net of its wrapper).
 */
export function timingRows(contenders, samples, references = []) {
  const summaries = new Map();
  for (const contender of contenders) {
    const values = samples.get(contender.name);
    summaries.set(contender.name, contender.installed === false || !values ? null : summarize(values));
  }
  const referenceMedians = references.map((reference) =>
    reference.median !== undefined ? reference.median : (summaries.get(reference.name)?.median ?? null),
  );
  return contenders.map((contender) => {
    const summary = summaries.get(contender.name);
    return {
      name: contender.name,
      installed: contender.installed !== false,
      ...(summary ?? { n: 0, median: null, min: null, max: null }),
      ratios: Object.fromEntries(
        references.map((reference, i) => [
          reference.column,
          summary ? ratio(summary.median, referenceMedians[i]) : null,
        ]),
      ),
      ...(contender.note ? { note: contender.note } : {}),
    };
  });
}

/** The Markdown cells of timing rows: contender, median, min, max (ms), then the ratios. */
export function timingTable(rows, references = []) {
  return {
    columns: ['contender', 'median ms', 'min ms', 'max ms', ...references.map((r) => r.column)],
    rows: rows.map((row) =>
      row.installed
        ? [
            row.note ? `${row.name} (${row.note})` : row.name,
            formatNumber(row.median),
            formatNumber(row.min),
            formatNumber(row.max),
            ...references.map((r) => formatRatio(row.ratios[r.column])),
          ]
        : [row.name, NOT_INSTALLED, '', '', ...references.map(() => '')],
    ),
  };
}

/**
 * timingRows, each with the median of every phase its contender timed on its own:
 * `phasesByName` maps a contender to { phase: [ms, ...] } with one entry per run, the
 * `warmup` runs first (dropped, as interleave drops their samples). Contenders without
 * phases get `phases: null`.
 */
export function phasedTimingRows(contenders, samples, references, phasesByName, warmup) {
  return timingRows(contenders, samples, references).map((row) => {
    const phases = phasesByName.get(row.name);
    return {
      ...row,
      phases: phases
        ? Object.fromEntries(
            Object.entries(phases).map(([phase, values]) => [phase, median(values.slice(warmup))]),
          )
        : null,
    };
  });
}

/** The Markdown cells of phased rows, in ms with three decimals: timingTable's, then one column per phase. */
export function phasedTimingTable(rows, references, phaseNames) {
  return {
    columns: [
      'contender',
      'median ms',
      'min ms',
      'max ms',
      ...references.map((r) => r.column),
      ...phaseNames,
    ],
    rows: rows.map((row) =>
      row.installed
        ? [
            row.name,
            formatNumber(row.median, 3),
            formatNumber(row.min, 3),
            formatNumber(row.max, 3),
            ...references.map((r) => formatRatio(row.ratios[r.column])),
            ...phaseNames.map((phase) => (row.phases ? formatNumber(row.phases[phase], 3) : '')),
          ]
        : [
            row.name,
            row.note ?? NOT_INSTALLED,
            '',
            '',
            ...references.map(() => ''),
            ...phaseNames.map(() => ''),
          ],
    ),
  };
}
