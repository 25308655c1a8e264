// Throughput of `cat` of a 64 MiB file through a pty: @nsinit/pty's spawn() beside
// node-pty's, round-robin in one run, each sample in a fresh Node process, medians.
// Not a test (no pass/fail): run it by hand.
//
//   node bench/pty-throughput.mjs [--rounds 7] [--mib 64]
//
// Needs the built packages (`pnpm build`, or `pnpm --filter @nsinit/pty... run build`).
// node-pty is not a workspace dependency: it is installed on first use into
// bench/.cache/node-pty with npm, which builds it against the local Node headers
// (`nodedir` in .npmrc), never downloading them.
//
// Each sample counts the bytes that reached the consumer by the time the library said the
// command had exited (nsinit: wait(); node-pty: onExit), against what `cat` wrote with the
// pty's CR-LF translation: a run that lost its tail is reported as incomplete.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const NODE_PTY_VERSION = '1.1.0';
const NODE_PTY_PREFIX = fileURLToPath(new URL('.cache/node-pty/', import.meta.url));
const NSINIT_PTY = fileURLToPath(new URL('../packages/pty/dist/index.js', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const LINE_BYTES = 100; // 99 characters and a newline, like text output

const CONTENDERS = {
  'nsinit (Buffer)': { library: 'nsinit', encoding: null },
  'nsinit (utf8)': { library: 'nsinit', encoding: 'utf8' },
  'node-pty (Buffer)': { library: 'node-pty', encoding: null },
  'node-pty (utf8, its default)': { library: 'node-pty', encoding: 'utf8' },
};

// ---------------------------------------------------------------------------
// One sample, in a child process: argv = --sample <library> <encoding> <file> <expected bytes>

async function sampleNsinit(file, encoding) {
  const { spawn } = await import(pathToFileURL(NSINIT_PTY).href);
  let bytes = 0;
  const started = process.hrtime.bigint();
  const child = spawn('cat', [file], { cols: 80, rows: 24 });
  if (encoding) child.setEncoding(encoding);
  child.on('data', (chunk) => {
    bytes += encoding ? Buffer.byteLength(chunk, encoding) : chunk.length;
  });
  const status = await child.wait();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  child.destroy();
  return { ms, bytes, status: status.status };
}

function sampleNodePty(file, encoding) {
  const nodePty = createRequire(join(NODE_PTY_PREFIX, 'package.json'))('node-pty');
  return new Promise((resolve) => {
    let bytes = 0;
    const started = process.hrtime.bigint();
    const child = nodePty.spawn('cat', [file], { cols: 80, rows: 24, encoding });
    child.onData((chunk) => {
      bytes += encoding ? Buffer.byteLength(chunk, encoding) : chunk.length;
    });
    child.onExit(({ exitCode }) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ ms, bytes, status: exitCode });
    });
  });
}

async function runSample([library, encoding, file, expected]) {
  const decode = encoding === 'null' ? null : encoding;
  const result = library === 'nsinit' ? await sampleNsinit(file, decode) : await sampleNodePty(file, decode);
  process.stdout.write(`${JSON.stringify({ ...result, complete: result.bytes === Number(expected) })}\n`);
}

// ---------------------------------------------------------------------------
// The run

function ensureBuilt() {
  if (!existsSync(NSINIT_PTY)) {
    throw new Error(`${NSINIT_PTY} is missing: build the packages first (pnpm build)`);
  }
}

function ensureNodePty() {
  const load = () => createRequire(join(NODE_PTY_PREFIX, 'package.json'))('node-pty');
  try {
    return load();
  } catch {
    console.error(`installing node-pty@${NODE_PTY_VERSION} into ${NODE_PTY_PREFIX} ...`);
  }
  const install = spawnSync('npm', ['install', '--prefix', NODE_PTY_PREFIX, `node-pty@${NODE_PTY_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (install.status !== 0)
    throw new Error(`npm install node-pty@${NODE_PTY_VERSION} failed (status ${install.status})`);
  try {
    return load();
  } catch (error) {
    throw new Error(`node-pty was installed but does not load (did its native build run?): ${error.message}`);
  }
}

/** A file of `mib` MiB of text lines; returns its path and the bytes a pty turns it into (LF -> CR LF). */
function createInput(dir, mib) {
  const file = join(dir, 'input.txt');
  const fd = openSync(file, 'w');
  const size = mib * 1024 * 1024;
  const block = 1024 * LINE_BYTES;
  let written = 0;
  let lines = 0;
  try {
    while (written < size) {
      const text = Buffer.from(randomBytes(block).toString('base64').slice(0, block));
      for (let end = LINE_BYTES - 1; end < text.length; end += LINE_BYTES) text[end] = 0x0a;
      const chunk = text.subarray(0, Math.min(text.length, size - written));
      for (const byte of chunk) if (byte === 0x0a) lines++;
      writeSync(fd, chunk);
      written += chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  return { file, expected: size + lines };
}

function sample(contender, file, expected) {
  const { library, encoding } = CONTENDERS[contender];
  const output = execFileSync(
    process.execPath,
    [SELF, '--sample', library, String(encoding), file, String(expected)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(output.trim().split('\n').at(-1));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main() {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '7' }, mib: { type: 'string', default: '64' } },
  });
  const rounds = Number(values.rounds);
  const mib = Number(values.mib);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds ${values.rounds}: expected a positive integer`);
  if (!Number.isInteger(mib) || mib < 1) throw new Error(`--mib ${values.mib}: expected a positive integer`);

  ensureBuilt();
  ensureNodePty();
  const dir = mkdtempSync(join(tmpdir(), 'nsinit-pty-bench-'));
  try {
    const { file, expected } = createInput(dir, mib);
    const names = Object.keys(CONTENDERS);
    const samples = Object.fromEntries(names.map((name) => [name, []]));
    // One warm-up of each (page cache, first load of the addon), then rotating rounds.
    for (const name of names) sample(name, file, expected);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(round + i) % names.length];
        samples[name].push(sample(name, file, expected));
      }
      process.stderr.write(`round ${round + 1}/${rounds}\n`);
    }

    const mb = expected / 1e6;
    console.log(
      `\ncat of ${mib} MiB through a pty (${(expected / 1048576).toFixed(1)} MiB after CR-LF), ${rounds} rounds:\n`,
    );
    console.log('| contender | median | MB/s (median) | fastest | slowest | complete output at exit |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const name of names) {
      const runs = samples[name];
      const ms = runs.map((run) => run.ms);
      const complete = runs.filter((run) => run.complete).length;
      console.log(
        `| ${name} | ${median(ms).toFixed(0)} ms | ${(mb / (median(ms) / 1000)).toFixed(1)} | ` +
          `${Math.min(...ms).toFixed(0)} ms | ${Math.max(...ms).toFixed(0)} ms | ${complete}/${runs.length} |`,
      );
    }
    const failed = names.flatMap((name) => samples[name].filter((run) => run.status !== 0).map(() => name));
    if (failed.length > 0) console.log(`\ncat failed in: ${failed.join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--sample') await runSample(process.argv.slice(3));
else await main();
