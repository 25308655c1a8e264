// What any runtime pays at least, measured in the same way and run as the library lifecycle.
import { command, libraryLifecycle, nodeEnvironments } from '../lib/contenders.mjs';
import { describeSampling, interleave } from '../lib/harness.mjs';
import { timingRows, timingTable } from '../lib/tables.mjs';

export const UNSHARE_FLOOR = 'unshare --fork --pid --mount --uts --ipc --net /bin/true';

export default {
  id: 'floors',
  title: 'Reference floors',
  defaultIterations: 100,
  async measure(fixture, { iterations, warmup, onRound }) {
    const contenders = [
      { name: 'nsinit library', run: libraryLifecycle(fixture) },
      {
        name: UNSHARE_FLOOR,
        run: command('unshare', ['--fork', '--pid', '--mount', '--uts', '--ipc', '--net', '/bin/true']),
      },
      { name: 'spawn /bin/true', run: command('/bin/true', []) },
      ...nodeEnvironments().map(({ label, env }) => ({
        name: `node -e 0${label}`,
        run: command(process.execPath, ['-e', '0'], env),
      })),
    ];
    const samples = await interleave(contenders, { iterations, warmup, onRound });
    const references = [{ column: '× unshare', name: UNSHARE_FLOOR }];
    const rows = timingRows(contenders, samples, references);
    const method =
      `${describeSampling({ iterations, warmup })}, each spawned from this Node ` +
      'process with `child_process.spawn` and timed to its exit (the library row repeats the lifecycle for the ' +
      'ratio in the same run). `unshare` makes the same five namespaces but no rootfs, pivot_root or /proc; ' +
      '`spawn /bin/true` is what starting any process costs from Node; `node -e 0` is the start-up every CLI ' +
      'written for Node pays.';
    return { method, table: timingTable(rows, references), data: { rows } };
  },
};
