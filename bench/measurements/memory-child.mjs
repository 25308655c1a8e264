// A fresh supervisor for memory.mjs: RSS with 0 (after warm-up), 1, 10 and 100 sleeping containers.
// argv: <config.json of `sleep 1000`> <state root> <comma-separated container counts>
// Reports one JSON message over IPC, then kills and awaits every container it started.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from 'nsinit';

const [configPath, stateRoot, countList] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const counts = countList.split(',').map(Number);

/** Settled memory: garbage collected twice, a moment for the allocator to return pages. */
async function memoryNow(containers) {
  globalThis.gc();
  await sleep(50);
  globalThis.gc();
  await sleep(50);
  const { rss, heapUsed, external } = process.memoryUsage();
  return { containers, rss, heapUsed, external };
}

const containers = [];
try {
  // Warm-up: load everything a container start touches (addon, helper memfd, compiled code).
  for (let i = 0; i < 5; i++) {
    const warmUp = await run(config, { args: ['/bin/true'], stateRoot, stdio: 'ignore' });
    await warmUp.wait();
  }
  const levels = [await memoryNow(0)];
  for (const count of counts) {
    while (containers.length < count) containers.push(await run(config, { stateRoot, stdio: 'ignore' }));
    levels.push(await memoryNow(count));
  }
  process.send({ levels });
} finally {
  for (const container of containers) container.kill('SIGKILL');
  await Promise.all(containers.map((container) => container.wait()));
}
