// Memory per running container: the library's supervisor RSS against runc's and crun's processes.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startCommand } from '../lib/harness.mjs';
import { formatBytes, median } from '../lib/stats.mjs';
import { NOT_INSTALLED } from '../lib/tables.mjs';

const LIBRARY_COUNTS = [1, 10, 100];
const RUNTIME_COUNTS = [1, 10];
const CHILD = fileURLToPath(new URL('./memory-child.mjs', import.meta.url));

/** VmRSS of a process, in bytes. */
function rssOf(pid) {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

function commOf(pid) {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/** One fresh Node supervisor starting 1, 10, then 100 sleeping containers. */
async function libraryRound(fixture) {
  const args = [
    '--expose-gc',
    CHILD,
    fixture.sleepBundle.configPath,
    fixture.stateRoots.library,
    LIBRARY_COUNTS.join(','),
  ];
  const { child, exited } = startCommand(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    killFirst: true,
  });
  const report = new Promise((resolve) => child.once('message', resolve));
  const { code, stderr } = await exited;
  if (code !== 0) throw new Error(`memory-child.mjs exited with ${code}: ${stderr.trim()}`);
  return (await report).levels;
}

/** Waits until the runtime reports the container running with `sleep` exec'd; fails if the runtime exits first. */
async function untilRunning(runtime, id, exited) {
  let gone = null;
  exited.then((result) => {
    gone = result;
  });
  for (let waited = 0; waited < 10_000; waited += 10) {
    if (gone) throw new Error(`${runtime.binary} run ${id} exited with ${gone.code}: ${gone.stderr.trim()}`);
    const state = runtime.state(id);
    if (state?.status === 'running' && state.pid > 0 && commOf(state.pid) === 'sleep') return;
    await sleep(10);
  }
  throw new Error(`${runtime.binary} run ${id} did not reach running with sleep in 10 s`);
}

/** `<runtime> run` in the foreground keeps one runtime process per container: their summed RSS. */
async function runtimeRound(fixture, runtime) {
  const started = [];
  const levels = [];
  try {
    for (const count of RUNTIME_COUNTS) {
      while (started.length < count) {
        const id = fixture.nextId(`${runtime.binary}-mem`);
        const [command, args] = runtime.run(id, fixture.sleepBundle.dir);
        const { child, exited } = startCommand(command, args);
        started.push({ id, child, exited });
        await untilRunning(runtime, id, exited);
      }
      await sleep(100);
      let total = 0;
      for (const { child } of started) {
        // The wrapper (unshare, sh) exec's into the runtime, so the pid is the runtime's by now.
        const comm = commOf(child.pid);
        if (comm !== runtime.binary)
          throw new Error(`pid ${child.pid} is ${comm}, expected ${runtime.binary}`);
        total += rssOf(child.pid);
      }
      levels.push({ containers: count, rss: total });
    }
    return levels;
  } finally {
    for (const { id } of started) await runtime.remove(id);
    await Promise.all(started.map(({ exited }) => exited));
  }
}

/** The median over rounds of each level's RSS. */
function medianLevels(rounds) {
  return rounds[0].map((level, i) => ({
    containers: level.containers,
    rss: median(rounds.map((round) => round[i].rss)),
  }));
}

export default {
  id: 'memory',
  title: 'Memory with sleeping containers',
  defaultIterations: 3,
  async measure(fixture, { iterations, onRound }) {
    const { runc, crun } = fixture.runtimes;
    const runtimes = [runc, crun].filter((runtime) => runtime.installed);
    const rounds = { library: [], ...Object.fromEntries(runtimes.map((r) => [r.binary, []])) };
    for (let round = 0; round < iterations; round++) {
      rounds.library.push(await libraryRound(fixture));
      for (const runtime of runtimes) rounds[runtime.binary].push(await runtimeRound(fixture, runtime));
      onRound?.(round + 1, iterations);
    }

    const library = medianLevels(rounds.library);
    const rssAt = (levels, count) => levels.find((level) => level.containers === count)?.rss ?? null;
    const perAdditional = (from, to) => (rssAt(library, to) - rssAt(library, from)) / (to - from);
    const libraryData = {
      levels: library,
      perAdditionalContainer: { from1to10: perAdditional(1, 10), from1to100: perAdditional(1, 100) },
    };
    const runtimeData = Object.fromEntries(
      [runc, crun].map((runtime) => {
        if (!runtime.installed) return [runtime.binary, null];
        const levels = medianLevels(rounds[runtime.binary]);
        return [runtime.binary, { levels, perContainer: rssAt(levels, 10) / 10 }];
      }),
    );

    const countColumns = LIBRARY_COUNTS.map((count) => `${count} running`);
    const table = {
      columns: ['supervisor', 'after warm-up', ...countColumns, 'per container'],
      rows: [
        [
          'nsinit library: the Node process',
          formatBytes(rssAt(library, 0)),
          ...LIBRARY_COUNTS.map((count) => formatBytes(rssAt(library, count))),
          `${formatBytes(libraryData.perAdditionalContainer.from1to100)} (each additional, 1→100)`,
        ],
        ...[runc, crun].map((runtime) => {
          const data = runtimeData[runtime.binary];
          if (!data)
            return [`${runtime.name}: its processes`, NOT_INSTALLED, ...countColumns.map(() => ''), ''];
          return [
            `${runtime.name}: one ${runtime.binary} process per container, summed`,
            '—',
            ...LIBRARY_COUNTS.map((count) => formatBytes(rssAt(data.levels, count))),
            formatBytes(data.perContainer),
          ];
        }),
      ],
    };
    const method =
      `Median of ${iterations} rounds. nsinit: a fresh Node process (\`--expose-gc\`) loads the library, runs five ` +
      'warm-up containers, then starts `sleep 1000` containers (`stdio: "ignore"`) up to 1, 10 and 100, and ' +
      'reads its own RSS after two garbage collections at each level; the per-container figure is the RSS ' +
      'growth from 1 to 100 divided by 99. runc and crun: `run` in the foreground keeps one runtime process per ' +
      "container, so the figure is the sum of those processes' VmRSS (/proc/<pid>/status) with 1 and 10 " +
      "containers running (sleep exec'd), divided by the count. The containers' own processes are not counted " +
      'on either side. Everything is killed and deleted afterwards.';
    return { method, table, data: { library: libraryData, ...runtimeData } };
  },
};
