// Does the parent's heap size slow the spawn? The library lifecycle in Node processes holding
// 100 MiB and 2 GiB of live JavaScript heap, interleaved.
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describeSampling, interleave, startCommand } from '../lib/harness.mjs';
import { formatBytes, ratio } from '../lib/stats.mjs';
import { timingRows, timingTable } from '../lib/tables.mjs';

const HEAPS = [
  { label: '100 MiB heap', mebibytes: 100 },
  { label: '2 GiB heap', mebibytes: 2048 },
];
const CHILD = fileURLToPath(new URL('./heap-child.mjs', import.meta.url));

/** Starts a heap child and waits until its ballast is allocated. */
async function startHeapChild(fixture, mebibytes) {
  const args = [
    '--max-old-space-size=4096',
    CHILD,
    String(mebibytes),
    fixture.trueBundle.configPath,
    fixture.stateRoots.library,
  ];
  const process_ = startCommand(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    killFirst: true,
  });
  const failed = process_.exited.then(({ code, stderr }) => {
    throw new Error(`heap-child.mjs (${mebibytes} MiB) exited with ${code}: ${stderr.trim()}`);
  });
  failed.catch(() => {});
  /** Sends a task and resolves with the child's answer, or rejects if the child dies first. */
  const ask = (task) => {
    const answer = once(process_.child, 'message').then(([message]) => message);
    if (task !== undefined) process_.child.send(task);
    return Promise.race([answer, failed]);
  };
  const ready = await ask();
  return { ...process_, ready, ask };
}

export default {
  id: 'heap',
  title: "Spawn cost against the parent's heap",
  defaultIterations: 60,
  async measure(fixture, { iterations, warmup, onRound }) {
    const children = [];
    try {
      for (const heap of HEAPS) children.push({ heap, ...(await startHeapChild(fixture, heap.mebibytes)) });
      const contenders = children.flatMap(({ heap, ask }) => [
        { name: `nsinit library, ${heap.label}`, run: async () => (await ask('lifecycle')).ms },
        { name: `spawn /bin/true, ${heap.label}`, run: async () => (await ask('spawn')).ms },
      ]);
      const samples = await interleave(contenders, { iterations, warmup, onRound });
      const rows = timingRows(contenders, samples);
      const [small, large] = HEAPS.map((heap) => heap.label);
      for (const what of ['nsinit library', 'spawn /bin/true']) {
        const base = rows.find((row) => row.name === `${what}, ${small}`);
        const big = rows.find((row) => row.name === `${what}, ${large}`);
        base.ratios['× 100 MiB'] = 1;
        big.ratios['× 100 MiB'] = ratio(big.median, base.median);
      }
      const heaps = children.map(({ heap, ready }) => ({
        ...heap,
        heapUsed: ready.heapUsed,
        rss: ready.rss,
      }));
      const method =
        `${describeSampling({ iterations, warmup })}, timed inside two child ` +
        'Node processes (`--max-old-space-size=4096`) that keep arrays of doubles live: ' +
        heaps
          .map((h) => `${h.label}: heapUsed ${formatBytes(h.heapUsed)}, RSS ${formatBytes(h.rss)}`)
          .join('; ') +
        '. Each runs the library lifecycle of /bin/true, and a plain `child_process.spawn` of /bin/true for ' +
        "comparison (libuv's spawn forks, so it copies the parent's page tables).";
      return { method, table: timingTable(rows, [{ column: '× 100 MiB' }]), data: { heaps, rows } };
    } finally {
      for (const { child, exited } of children) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  },
};
