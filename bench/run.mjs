// `pnpm bench`: runs the measurements, prints their tables, writes bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createFixture } from './lib/fixture.mjs';
import { renderChart, renderMarkdown, replaceResultsBlock } from './lib/report.mjs';
import { checkTargets } from './lib/targets.mjs';
import cgroup from './measurements/cgroup.mjs';
import cliStartup from './measurements/cli-startup.mjs';
import clientContainerd from './measurements/client-containerd.mjs';
import clientPodman from './measurements/client-podman.mjs';
import concurrency from './measurements/concurrency.mjs';
import floors from './measurements/floors.mjs';
import heap from './measurements/heap.mjs';
import lifecycle from './measurements/lifecycle.mjs';
import memory from './measurements/memory.mjs';
import splitLifecycle from './measurements/split-lifecycle.mjs';

const MEASUREMENTS = [
  lifecycle,
  floors,
  cliStartup,
  concurrency,
  memory,
  heap,
  cgroup,
  splitLifecycle,
  clientPodman,
  clientContainerd,
];
const HERE = fileURLToPath(new URL('.', import.meta.url));
const DOCS = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

const USAGE = `Usage: pnpm bench [-- options]   (or: node bench/run.mjs [options], as root)

  --only <ids>         comma-separated measurements (default: all)
                       ${MEASUREMENTS.map((m) => `${m.id} (${m.defaultIterations})`).join(', ')}
  --iterations <n>     samples per contender (rounds for concurrency and memory);
                       default: the number in parentheses above
  --warmup <n>         warm-up rounds discarded before sampling (default 3; 1 for concurrency)
  --out <dir>          where results go (default bench/results)
  --no-write           print the tables only
  --docs               also put the results into docs/benchmarks.md (between its markers)
  -h, --help           this text
`;

function positiveInteger(value, option) {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || (option === '--iterations' && number === 0)) {
    throw new Error(
      `${option} ${value}: expected a ${option === '--iterations' ? 'positive' : 'non-negative'} integer`,
    );
  }
  return number;
}

function parseOptions(argv) {
  // `pnpm bench -- --only x` may hand the `--` through.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    options: {
      only: { type: 'string' },
      iterations: { type: 'string' },
      warmup: { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean' },
      docs: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const ids = values.only ? values.only.split(',').map((id) => id.trim()) : MEASUREMENTS.map((m) => m.id);
  const unknown = ids.filter((id) => !MEASUREMENTS.some((m) => m.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `--only: unknown measurement ${unknown.join(', ')}; known: ${MEASUREMENTS.map((m) => m.id).join(', ')}`,
    );
  }
  return {
    help: values.help ?? false,
    selected: MEASUREMENTS.filter((m) => ids.includes(m.id)),
    iterations: values.iterations === undefined ? null : positiveInteger(values.iterations, '--iterations'),
    warmup: values.warmup === undefined ? null : positiveInteger(values.warmup, '--warmup'),
    out: values.out ?? join(HERE, 'results'),
    write: !values['no-write'],
    docs: values.docs ?? false,
  };
}

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: HERE,
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain'], { cwd: HERE, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit}+changes` : commit;
  } catch {
    return null;
  }
}

function describeMachine(fixture) {
  const nsinitPackage = JSON.parse(readFileSync(new URL(import.meta.resolve('nsinit/package.json')), 'utf8'));
  return {
    date: new Date().toISOString(),
    host: {
      kernel: release(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
      memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
      node: process.versions.node,
    },
    nsinit: nsinitPackage.version,
    commit: gitCommit(),
    runtimes: Object.fromEntries(
      Object.values(fixture.runtimes).map((r) => [r.binary, r.installed ? r.version : null]),
    ),
    hybridCgroups: fixture.hybridCgroups,
    stateRoots: fixture.stateFilesystem,
    loadAverage: { start: loadavg().map((l) => l.toFixed(2)) },
  };
}

function progress(title) {
  return (done, all, detail) => {
    if (process.stderr.isTTY)
      process.stderr.write(`\r  ${title}${detail ? ` ${detail}` : ''}: round ${done}/${all}  `);
  };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  const fixture = createFixture();
  const stopEarly = (signal) => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    fixture
      .cleanup()
      .catch((error) => process.stderr.write(`bench: ${error.message}\n`))
      .finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
  };
  process.once('SIGINT', stopEarly);
  process.once('SIGTERM', stopEarly);

  const sections = [];
  let meta;
  try {
    meta = describeMachine(fixture);
    meta.options = {
      only: options.selected.map((m) => m.id),
      iterations: options.iterations,
      warmup: options.warmup,
    };
    for (const measurement of options.selected) {
      const started = Date.now();
      process.stderr.write(`${measurement.title}…\n`);
      const sampling = {
        iterations: options.iterations ?? measurement.defaultIterations,
        warmup: options.warmup ?? (measurement.id === 'concurrency' ? 1 : 3),
      };
      const section = await measurement.measure(fixture, { ...sampling, onRound: progress(measurement.id) });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      sections.push({
        id: measurement.id,
        title: measurement.title,
        ...sampling,
        seconds: Number(seconds),
        ...section,
      });
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      process.stderr.write(`  done in ${seconds} s\n`);
    }
  } finally {
    await fixture.cleanup();
  }
  meta.loadAverage.end = loadavg().map((l) => l.toFixed(2));

  const results = { meta, targets: checkTargets(sections), sections };
  process.stdout.write(`\n${renderMarkdown(results, null)}`);
  if (!options.write) return;
  mkdirSync(options.out, { recursive: true });
  const stamp = meta.date.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
  const chart = renderChart(results);
  for (const name of [stamp, 'latest']) {
    writeFileSync(join(options.out, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(options.out, `${name}.md`), renderMarkdown(results, chart ? `${name}.svg` : null));
    if (chart) writeFileSync(join(options.out, `${name}.svg`), chart);
  }
  process.stderr.write(
    `\nwrote ${join(options.out, `${stamp}.{md,json${chart ? ',svg' : ''}}`)} and latest.*\n`,
  );
  if (options.docs) {
    const chartFromDocs = chart ? relative(dirname(DOCS), join(options.out, 'latest.svg')) : null;
    writeFileSync(
      DOCS,
      replaceResultsBlock(readFileSync(DOCS, 'utf8'), renderMarkdown(results, chartFromDocs)),
    );
    process.stderr.write(`updated the results in ${DOCS}\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exitCode = 1;
});
