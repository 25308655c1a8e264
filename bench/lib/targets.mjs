// The targets, checked against what this run measured.
import { formatBytes, formatRatio } from './stats.mjs';

const KIB = 1024;

function rowOf(sections, sectionId, name) {
  return sections.find((s) => s.id === sectionId)?.data.rows?.find((row) => row.name === name) ?? null;
}

/** One entry per target whose measurement ran: what was asked, what was measured, met or not. */
export function checkTargets(sections) {
  const targets = [];
  const add = (target, value, limit, format = formatRatio) => {
    if (value == null || !Number.isFinite(value)) return;
    targets.push({
      target,
      measured: format(value),
      value,
      limit,
      met: limit == null ? null : value <= limit,
    });
  };

  const library = rowOf(sections, 'lifecycle', 'nsinit library');
  if (library) {
    const net = library.ratios['× crun (net)'];
    add(
      `library lifecycle ≤ 0.25× crun run${net === undefined ? '' : ' (crun in its wrapper)'}`,
      library.ratios['× crun'],
      0.25,
    );
    add('library lifecycle ≤ 0.25× crun run (crun net of its wrapper)', net, 0.25);
    add('library lifecycle vs runc run (no target)', library.ratios['× runc'], null);
  }
  add(
    'library lifecycle ≤ 1.5× the unshare floor',
    rowOf(sections, 'floors', 'nsinit library')?.ratios['× unshare'],
    1.5,
  );

  const lifecycleRows = sections.find((s) => s.id === 'lifecycle')?.data.rows ?? [];
  for (const row of lifecycleRows.filter((r) => r.name.startsWith('nsinit CLI'))) {
    const label = row.name.replace('nsinit CLI', 'CLI lifecycle');
    add(
      `${label} vs runc run (no fixed target: as close as Node start-up allows)`,
      row.ratios['× runc'],
      null,
    );
  }
  const cliRows = sections.find((s) => s.id === 'cli-startup')?.data.rows ?? [];
  for (const row of cliRows.filter((r) => r.name.startsWith('nsinit --version'))) {
    add(`\`${row.name}\` ≤ 1.2× node -e 0`, row.ratios['× node -e 0'], 1.2);
  }

  const memory = sections.find((s) => s.id === 'memory')?.data.library;
  if (memory) {
    add(
      'supervisor RSS ≤ 100 KiB per additional container',
      memory.perAdditionalContainer.from1to100,
      100 * KIB,
      formatBytes,
    );
  }
  add(
    'library lifecycle at a 2 GiB heap ≤ 1.2× at 100 MiB',
    rowOf(sections, 'heap', 'nsinit library, 2 GiB heap')?.ratios['× 100 MiB'],
    1.2,
  );
  return targets;
}
