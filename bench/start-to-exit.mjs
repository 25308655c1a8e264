// Start-to-exit time of /bin/true in a busybox rootfs (mount, pid, uts, ipc and
// net namespaces, pivot_root, /proc mounted), measured round-robin in one run:
//   nsinit (in-process)  run() + wait() from this Node process
//   unshare              `unshare --fork --pid --mount --uts --ipc --net /bin/true` (no rootfs, no pivot)
//   runc run             `runc run` on the same bundle
//   crun run             `crun run` on the same bundle (crun refuses the hybrid cgroup layout
//                        here, so it runs inside a private mount namespace with
//                        /sys/fs/cgroup/unified hidden)
// Usage: node start-to-exit.mjs [iterations=200]
// Needs root, busybox-static, and (optionally) runc and crun.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from 'nsinit';

const iterations = Number(process.argv[2] ?? 200);
const work = mkdtempSync(join(tmpdir(), 'nsinit-bench-'));

function buildRootfs(dir) {
  for (const sub of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc']) mkdirSync(join(dir, sub), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'true']) symlinkSync('busybox', join(dir, 'bin', applet));
}

const config = {
  ociVersion: '1.0.2',
  process: { terminal: false, args: ['/bin/true'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
  root: { path: 'rootfs' },
  mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
  linux: { namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })) },
};

const bundle = join(work, 'bundle');
buildRootfs(join(bundle, 'rootfs'));
writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
const nsinitConfig = { ...config, root: { path: join(bundle, 'rootfs') } };
// The default state root, /run/nsinit, is a tmpfs: what a real deployment pays for its fsyncs.
const stateRoot = '/run/nsinit';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const timed = (fn) => async () => {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const mustSucceed = (what, result) => {
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}): ${result.stderr}`);
};

let counter = 0;
const contenders = {
  'nsinit (in-process)': timed(async () => {
    const container = await run(nsinitConfig, { stateRoot, stdio: 'ignore' });
    const exit = await container.wait();
    if (exit.status !== 0) throw new Error(`nsinit: status ${exit.status}`);
  }),
  unshare: timed(() =>
    mustSucceed('unshare', spawnSync('unshare', ['--fork', '--pid', '--mount', '--uts', '--ipc', '--net', '/bin/true'], { encoding: 'utf8' })),
  ),
};
if (has('runc')) {
  contenders['runc run'] = timed(() =>
    mustSucceed('runc', spawnSync('runc', ['--root', join(work, 'runc'), 'run', `b${counter++}`], { cwd: bundle, encoding: 'utf8' })),
  );
}
if (has('crun')) {
  const script = `mount --make-rprivate / && mount -t tmpfs none /sys/fs/cgroup/unified && exec crun --root ${join(work, 'crun')} run "$1"`;
  contenders['crun run'] = timed(() =>
    mustSucceed('crun', spawnSync('unshare', ['--mount', 'sh', '-c', script, 'sh', `c${counter++}`], { cwd: bundle, encoding: 'utf8' })),
  );
}

const samples = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
try {
  for (const measure of Object.values(contenders)) for (let i = 0; i < 5; i++) await measure(); // warm up
  for (let i = 0; i < iterations; i++) {
    for (const [name, measure] of Object.entries(contenders)) samples[name].push(await measure());
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const base = quantile(samples['nsinit (in-process)'], 0.5);
console.log(`start-to-exit of /bin/true, ${iterations} runs each, round-robin (ms)`);
console.log('contender              median     p10     p90   median / nsinit');
for (const [name, values] of Object.entries(samples)) {
  const median = quantile(values, 0.5);
  console.log(
    `${name.padEnd(20)} ${median.toFixed(2).padStart(8)} ${quantile(values, 0.1).toFixed(2).padStart(7)} ${quantile(values, 0.9).toFixed(2).padStart(7)}   ${(median / base).toFixed(2)}x`,
  );
}

