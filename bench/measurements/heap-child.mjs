// A Node process holding <MiB> of live JavaScript heap that runs, on request, one library lifecycle
// of /bin/true or one plain child_process spawn of /bin/true, and reports how long it took.
// argv: <MiB> <config.json of /bin/true> <state root>
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { run } from 'nsinit';

const [mebibytes, configPath, stateRoot] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));

// Arrays of unboxed doubles, 512 KiB each, allocated at their final length (so no garbage is
// left behind by growth): every page written, all of it reachable.
const CHUNK = 1 << 16;
const ballast = [];
for (let bytes = 0; bytes < Number(mebibytes) * 2 ** 20; bytes += CHUNK * 8) {
  const chunk = new Array(CHUNK);
  for (let i = 0; i < CHUNK; i++) chunk[i] = i + 0.5;
  ballast.push(chunk);
}
globalThis.ballast = ballast;

async function lifecycle() {
  const container = await run(config, { stateRoot, stdio: 'ignore' });
  const exit = await container.wait();
  if (exit.status !== 0) throw new Error(`/bin/true exited with status ${exit.status}`);
}

function spawnTrue() {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`/bin/true exited with ${code}`)),
    );
  });
}

const tasks = { lifecycle, spawn: spawnTrue };
process.on('message', async (task) => {
  const start = process.hrtime.bigint();
  await tasks[task]();
  process.send({ ms: Number(process.hrtime.bigint() - start) / 1e6 });
});
const { heapUsed, rss } = process.memoryUsage();
process.send({ ready: true, heapUsed, rss });
