import { describe, expect, it } from 'vitest';
import {
  RESULTS_END,
  RESULTS_START,
  renderChart,
  renderMarkdown,
  replaceResultsBlock,
} from '../lib/report.mjs';
import { timingRows, timingTable } from '../lib/tables.mjs';
import { checkTargets } from '../lib/targets.mjs';

const samples = new Map([
  ['nsinit library', [5, 4, 6]],
  ['runc run', [40, 30, 50]],
  ['crun run', [20, 24, 22]],
]);
const contenders = [
  { name: 'nsinit library' },
  { name: 'runc run' },
  { name: 'crun run' },
  { name: 'youki run', installed: false },
];

describe('timingRows and timingTable', () => {
  const references = [
    { column: '× runc', name: 'runc run' },
    { column: '× crun (net)', median: 16 },
  ];
  const rows = timingRows(contenders, samples, references);

  it('summarizes each contender and divides its median by each reference', () => {
    expect(rows[0]).toMatchObject({ name: 'nsinit library', n: 3, median: 5, min: 4, max: 6 });
    expect(rows[0].ratios['× runc']).toBeCloseTo(0.125);
    expect(rows[0].ratios['× crun (net)']).toBeCloseTo(5 / 16);
  });

  it('keeps a row for a runtime that is not installed, with no figures', () => {
    expect(rows[3]).toMatchObject({ name: 'youki run', installed: false, median: null });
    const table = timingTable(rows, references);
    expect(table.columns).toEqual(['contender', 'median ms', 'min ms', 'max ms', '× runc', '× crun (net)']);
    expect(table.rows[3]).toEqual(['youki run', 'not installed', '', '', '', '']);
    expect(table.rows[0]).toEqual(['nsinit library', '5.00', '4.00', '6.00', '0.13×', '0.31×']);
  });
});

function resultsWith(sections) {
  const meta = {
    date: '2026-01-01T00:00:00.000Z',
    host: { kernel: '6.18', cpus: 2, cpuModel: 'Test CPU', memory: '24 GiB', node: '20.20.2' },
    nsinit: '0.1.0',
    commit: 'abc1234',
    runtimes: { runc: 'runc version 1.1.5', crun: null },
    stateRoots: 'tmpfs (/dev/shm)',
    loadAverage: { start: ['0.50', '0.40', '0.30'], end: ['0.60', '0.50', '0.40'] },
  };
  return { meta, targets: checkTargets(sections), sections };
}

const lifecycleSection = (rows) => ({
  id: 'lifecycle',
  title: 'Container lifecycle',
  method: 'Interleaved.',
  table: timingTable(rows, []),
  data: { rows },
});

describe('checkTargets', () => {
  it('checks each target whose measurement ran, and only those', () => {
    const lifecycleRows = timingRows(contenders, samples, [
      { column: '× runc', name: 'runc run' },
      { column: '× crun', name: 'crun run' },
    ]);
    const memory = {
      id: 'memory',
      data: { library: { perAdditionalContainer: { from1to10: 90 * 1024, from1to100: 120 * 1024 } } },
    };
    const targets = checkTargets([lifecycleSection(lifecycleRows), memory]);
    expect(targets.map((t) => [t.target, t.measured, t.met])).toEqual([
      ['library lifecycle ≤ 0.25× crun run', '0.23×', true],
      ['library lifecycle vs runc run (no target)', '0.13×', null],
      ['supervisor RSS ≤ 100 KiB per additional container', '120 KiB', false],
    ]);
  });
});

describe('renderMarkdown', () => {
  it('writes the host, the targets, the chart link and one table per section', () => {
    const rows = timingRows(contenders, samples, [
      { column: '× runc', name: 'runc run' },
      { column: '× crun', name: 'crun run' },
    ]);
    const markdown = renderMarkdown(resultsWith([lifecycleSection(rows)]), 'latest.svg');
    expect(markdown).toContain('2× Test CPU, 24 GiB, Linux 6.18, Node 20.20.2, nsinit 0.1.0 (abc1234)');
    expect(markdown).toContain('crun not installed');
    expect(markdown).toContain('| library lifecycle ≤ 0.25× crun run | 0.23× | yes |');
    expect(markdown).toContain('![lifecycle medians](latest.svg)');
    expect(markdown).toContain(
      '## Container lifecycle\n\nInterleaved.\n\n| contender | median ms | min ms | max ms |\n',
    );
    expect(markdown).toContain('| youki run | not installed |');
  });
});

describe('renderChart', () => {
  it('draws one bar per measured lifecycle row, longest for the slowest, with escaped labels', () => {
    const rows = timingRows(
      [...contenders, { name: 'a <b> & c' }],
      new Map([...samples, ['a <b> & c', [1]]]),
    );
    const svg = renderChart(resultsWith([lifecycleSection(rows)]));
    const widths = [...svg.matchAll(/<rect x="\d+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(4);
    expect(Math.max(...widths)).toBe(widths[1]);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg).toContain('40.00 ms');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('draws nothing when no lifecycle was measured', () => {
    expect(renderChart(resultsWith([]))).toBeNull();
  });
});

describe('replaceResultsBlock', () => {
  it('replaces only the text between the markers, with headings one level down', () => {
    const document = `# Benchmarks\n\nMethod.\n\n${RESULTS_START}\nold numbers\n${RESULTS_END}\n\nAfter.\n`;
    expect(replaceResultsBlock(document, '# nsinit benchmarks\n\n## Targets\n\n| a |\n')).toBe(
      `# Benchmarks\n\nMethod.\n\n${RESULTS_START}\n\n## nsinit benchmarks\n\n### Targets\n\n| a |\n\n${RESULTS_END}\n\nAfter.\n`,
    );
  });

  it('refuses a document without the markers', () => {
    expect(() => replaceResultsBlock('# Benchmarks\n', 'x')).toThrow(/has no/);
  });
});
