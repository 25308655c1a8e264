import { describe, expect, it } from 'vitest';
import { phasedTimingRows, phasedTimingTable } from '../lib/tables.mjs';

describe('phasedTimingRows and phasedTimingTable', () => {
  const contenders = [
    { name: 'after' },
    { name: 'before' },
    { name: 'detect' },
    { name: 'older', installed: false, note: 'not measured: no git history' },
  ];
  const samples = new Map([
    ['after', [3, 5, 4]],
    ['before', [8, 10, 9]],
    ['detect', [0.5, 0.25, 0.75]],
  ]);
  // One entry per run, the warm-up run first: it must not count.
  const phasesByName = new Map([
    ['after', { create: [100, 1, 2, 3], destroy: [100, 2, 2, 2] }],
    ['before', { create: [100, 5, 6, 7], destroy: [100, 3, 3, 3] }],
  ]);
  const references = [{ column: '× before', name: 'before' }];
  const rows = phasedTimingRows(contenders, samples, references, phasesByName, 1);

  it('adds the median of each phase, warm-up runs dropped, to the timing rows', () => {
    expect(rows[0]).toMatchObject({ name: 'after', median: 4, phases: { create: 2, destroy: 2 } });
    expect(rows[0].ratios['× before']).toBeCloseTo(4 / 9);
    expect(rows[1].phases).toEqual({ create: 6, destroy: 3 });
    expect(rows[2].phases).toBeNull();
  });

  it('prints three decimals, blank phases where none were timed, and why a row was not measured', () => {
    const table = phasedTimingTable(rows, references, ['create', 'destroy']);
    expect(table.columns).toEqual([
      'contender',
      'median ms',
      'min ms',
      'max ms',
      '× before',
      'create',
      'destroy',
    ]);
    expect(table.rows).toEqual([
      ['after', '4.000', '3.000', '5.000', '0.44×', '2.000', '2.000'],
      ['before', '9.000', '8.000', '10.000', '1.00×', '6.000', '3.000'],
      ['detect', '0.500', '0.250', '0.750', '0.06×', '', ''],
      ['older', 'not measured: no git history', '', '', '', '', ''],
    ]);
  });
});
