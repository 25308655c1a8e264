// Containers per second with N lifecycles in flight: one Node process against N parallel runc/crun.
import { command, libraryLifecycle, runtimeLifecycle } from '../lib/contenders.mjs';
import { describeSampling, interleave, msSince } from '../lib/harness.mjs';
import { formatNumber, formatRatio, ratio, summarize } from '../lib/stats.mjs';
import { NOT_INSTALLED } from '../lib/tables.mjs';
import { CRUN_WRAPPER } from './lifecycle.mjs';

const IN_FLIGHT = [1, 2, 4, 8];
const CONTAINERS_PER_WORKER = 12;

/**
 * Runs `total` lifecycles with `inFlight` of them at a time, slot i running `lifecycleOf(i)`
 * back to back; returns containers per second.
 */
async function throughput(total, inFlight, lifecycleOf) {
  let started = 0;
  const worker = async (lifecycle) => {
    while (started < total) {
      started++;
      await lifecycle();
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, (_, slot) => worker(lifecycleOf(slot))));
  return total / (msSince(start) / 1000);
}

/** A rate with its spread: "123 (110–130)". */
function rateCell(summary) {
  if (!summary) return NOT_INSTALLED;
  return `${formatNumber(summary.median, 0)} (${formatNumber(summary.min, 0)}–${formatNumber(summary.max, 0)})`;
}

/** Per-container costs add up on a saturated machine: crun's rate without its wrapper's share. */
function netRate(rate, wrapperRate) {
  if (rate == null || wrapperRate == null) return null;
  const seconds = 1 / rate - 1 / wrapperRate;
  return seconds > 0 ? 1 / seconds : null;
}

export default {
  id: 'concurrency',
  title: 'Concurrency: containers per second',
  defaultIterations: 5,
  async measure(fixture, { iterations, warmup, onRound }) {
    const { runc, crun } = fixture.runtimes;
    const wrapped = crun.installed && fixture.crunWrapperOnly;
    const levels = [];
    for (const inFlight of IN_FLIGHT) {
      const total = CONTAINERS_PER_WORKER * inFlight;
      const lifecycles = [
        {
          name: 'nsinit library',
          lifecycleOf: (slot) => libraryLifecycle(fixture, fixture.slotBundle(slot)),
        },
        ...(runc.installed
          ? [
              {
                name: runc.name,
                lifecycleOf: (slot) => runtimeLifecycle(fixture, runc, fixture.slotBundle(slot)),
              },
            ]
          : []),
        ...(crun.installed
          ? [
              {
                name: crun.name,
                lifecycleOf: (slot) => runtimeLifecycle(fixture, crun, fixture.slotBundle(slot)),
              },
            ]
          : []),
        ...(wrapped ? [{ name: CRUN_WRAPPER, lifecycleOf: () => command(...fixture.crunWrapperOnly) }] : []),
      ];
      const contenders = lifecycles.map(({ name, lifecycleOf }) => ({
        name,
        run: () => throughput(total, inFlight, lifecycleOf),
      }));
      const samples = await interleave(contenders, {
        iterations,
        warmup,
        onRound: (done, all) => onRound?.(done, all, `N=${inFlight}`),
      });
      const rates = Object.fromEntries([...samples].map(([name, values]) => [name, summarize(values)]));
      const crunRate = wrapped
        ? netRate(rates[crun.name]?.median, rates[CRUN_WRAPPER]?.median)
        : rates[crun.name]?.median;
      const nsinit = rates['nsinit library'].median;
      levels.push({
        inFlight,
        containersPerBatch: total,
        rates,
        crunNetRate: wrapped ? crunRate : null,
        ratios: { runc: ratio(nsinit, rates[runc.name]?.median), crun: ratio(nsinit, crunRate) },
      });
    }
    const crunColumn = wrapped ? 'crun run /s (net)' : 'crun run /s';
    const table = {
      columns: [
        'in flight',
        'nsinit library /s',
        'runc run /s',
        crunColumn,
        'nsinit × runc',
        'nsinit × crun',
      ],
      rows: levels.map((level) => [
        String(level.inFlight),
        rateCell(level.rates['nsinit library']),
        rateCell(level.rates[runc.name]),
        wrapped
          ? `${formatNumber(level.crunNetRate, 0)} (raw ${rateCell(level.rates[crun.name])})`
          : rateCell(level.rates[crun.name]),
        formatRatio(level.ratios.runc),
        formatRatio(level.ratios.crun),
      ]),
    };
    const method =
      `For each N, ${describeSampling({ iterations, warmup }, 'batch')}; a batch is ` +
      `${CONTAINERS_PER_WORKER}·N lifecycles of /bin/true with N in flight at a time: N concurrent \`run()\` + ` +
      '`wait()` chains in this one Node process, against N parallel `runc run` / `crun run` processes. Cells ' +
      'are median containers per second (min–max); ratios are nsinit over the other runtime (higher is better).' +
      (wrapped
        ? " crun runs in its cgroup wrapper; its net rate removes the wrapper's per-container cost, measured " +
          'the same way (1/net = 1/crun − 1/wrapper).'
        : '');
    return { method, table, data: { levels } };
  },
};
