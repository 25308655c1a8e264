#!/usr/bin/env node
// Two builds of nsinit side by side in one process: the library lifecycle of /bin/true (run()
// + wait(), the lifecycle measurement's container) with this checkout and with another one
// built elsewhere, interleaved A B A B, so that a change can be checked for a regression
// against the build before it on the same machine at the same moment.
//
//   git worktree add /tmp/before <commit> && (cd /tmp/before && pnpm install && pnpm build)
//   node bench/compare-builds.mjs /tmp/before [--iterations 200]
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ociConfig } from './lib/fixture.mjs';
import { summarize } from './lib/stats.mjs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { iterations: { type: 'string', default: '200' }, warmup: { type: 'string', default: '10' } },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/compare-builds.mjs <other checkout, built> [--iterations N] [--warmup N]');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('compare-builds: run as root (containers need it)');
  process.exit(2);
}
const iterations = Number(values.iterations);
const warmup = Number(values.warmup);

const here = resolve(import.meta.dirname, '..');
const there = resolve(positionals[0]);
const builds = [
  { name: 'this checkout', dir: here },
  { name: `baseline (${there})`, dir: there },
];
for (const build of builds) {
  build.run = (await import(pathToFileURL(join(build.dir, 'packages/nsinit/dist/index.js')).href)).run;
  build.samples = [];
}

const work = mkdtempSync(join(tmpdir(), 'nsinit-compare-'));
try {
  const rootfs = join(work, 'rootfs');
  for (const sub of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc'])
    mkdirSync(join(rootfs, sub), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  symlinkSync('busybox', join(rootfs, 'bin/true'));
  const config = ociConfig(rootfs, ['/bin/true']);
  const stateRoot = join('/dev/shm', `nsinit-compare-${process.pid}`);

  const once = async (build) => {
    const start = process.hrtime.bigint();
    const container = await build.run(config, { stateRoot, stdio: 'ignore' });
    await container.wait();
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  for (let round = 0; round < warmup + iterations; round++) {
    // The build that opens a round alternates, so that neither always follows the other.
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const build of order) {
      const ms = await once(build);
      if (round >= warmup) build.samples.push(ms);
    }
  }
  rmSync(stateRoot, { recursive: true, force: true });

  const [current, baseline] = builds.map((build) => ({ name: build.name, ...summarize(build.samples) }));
  console.log(
    `library lifecycle of /bin/true, ${iterations} interleaved runs each after ${warmup} warm-up rounds:`,
  );
  for (const row of [current, baseline]) {
    console.log(
      `  ${row.name.padEnd(48)} median ${row.median.toFixed(2)} ms  (min ${row.min.toFixed(2)}, max ${row.max.toFixed(2)})`,
    );
  }
  console.log(`  this checkout / baseline: ${(current.median / baseline.median).toFixed(2)}×`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
