// Network setup of one container's veth, @nsinit/network against the same steps as `ip`
// commands, all four contenders round-robin in one run (medians):
//
//   peer created inside the container's namespace (what nsinit's veth strategy does)
//     @nsinit/network   createVeth with the peer's netns, addresses, both up, default route
//     ip commands       ip link add ... peer name P netns C; ip addr add; ip -n C addr add;
//                       ip link set up; ip -n C link set up; ip -n C route add default
//   peer moved after creation (the 2014 sequence: create, then IFLA_NET_NS_FD)
//     @nsinit/network   the same with a separate move request
//     ip commands       the same with ip link set P netns C
//
// The TypeScript path opens its sockets (one inside the container's namespace) in every run.
// Moving a link to another namespace costs the kernel tens of milliseconds (RCU grace
// periods), whoever asks, which is why nsinit creates the peer in place.
// Everything runs inside a private network and mount namespace this script re-executes itself
// in (a tmpfs on /run holds the `ip netns` names): nothing touches the machine's interfaces,
// nothing outlives the run. Addresses come from 198.18.0.0/15.
// Usage: node netlink.mjs [iterations=200]   (root; build first: pnpm --filter @nsinit/network... run build)
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const inside = process.argv[2] === '--inside';
const iterations = Number((inside ? process.argv[3] : process.argv[2]) ?? 200);

if (!inside) {
  const script = fileURLToPath(import.meta.url);
  const args = ['--net', '--mount', '--propagation', 'private', '--', process.execPath, script, '--inside'];
  const run = spawnSync('unshare', [...args, String(iterations)], {
    stdio: 'inherit',
    env: { ...process.env, NSINIT_BENCH_OUTER_NETNS: String(statSync('/proc/self/ns/net').ino) },
  });
  process.exit(run.status ?? 1);
}

// Refuse to run `--inside` anywhere but the private namespaces made above: run by hand, it
// would create its namespaces and veths on the machine itself.
const outerNetns = process.env.NSINIT_BENCH_OUTER_NETNS;
if (!outerNetns || String(statSync('/proc/self/ns/net').ino) === outerNetns) {
  console.error(
    'netlink.mjs --inside must run in the private network namespace it makes: run `node netlink.mjs`',
  );
  process.exit(2);
}

const { RouteNetlink } = await import('../packages/network/dist/index.js').catch((error) => {
  console.error('netlink.mjs needs the built packages: pnpm --filter @nsinit/network... run build');
  throw error;
});

function must(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

// `ip netns` keeps its names on /run/netns: a tmpfs private to this mount namespace.
must('mount', ['-t', 'tmpfs', 'nsinit-bench', '/run']);

/** The i-th /30 of 198.18.0.0/15 (32768 of them): host end .1, container end .2. */
function addresses(i) {
  const block = ((198 << 24) | (18 << 16)) + (i % 32768) * 4;
  const ip = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  return { hostIp: ip(block + 1), containerIp: ip(block + 2) };
}

let counter = 0;

/** A fresh container namespace, link names and addresses for one run. */
function prepare() {
  const i = counter++;
  const run = { ns: `c${i}`, host: `vh${i}`, peer: `vp${i}`, ...addresses(i) };
  must('ip', ['netns', 'add', run.ns]);
  return run;
}

function cleanup(run) {
  must('ip', ['link', 'del', run.host]); // the pair goes with it
  must('ip', ['netns', 'del', run.ns]);
}

function withSockets(run, steps) {
  const nsFd = openSync(`/run/netns/${run.ns}`, 'r');
  const host = RouteNetlink.open();
  let container;
  try {
    steps(
      host,
      () => {
        container ??= RouteNetlink.open({ netns: { fd: nsFd } });
        return container;
      },
      nsFd,
    );
  } finally {
    container?.close();
    host.close();
    closeSync(nsFd);
  }
}

function configureNetlink(run, host, container) {
  host.addAddress(run.host, `${run.hostIp}/30`);
  container().addAddress(run.peer, `${run.containerIp}/30`);
  host.setLink(run.host, { up: true });
  container().setLink(run.peer, { up: true });
  container().addRoute({ gateway: run.hostIp });
}

function configureIp(run) {
  must('ip', ['addr', 'add', `${run.hostIp}/30`, 'dev', run.host]);
  must('ip', ['-n', run.ns, 'addr', 'add', `${run.containerIp}/30`, 'dev', run.peer]);
  must('ip', ['link', 'set', run.host, 'up']);
  must('ip', ['-n', run.ns, 'link', 'set', run.peer, 'up']);
  must('ip', ['-n', run.ns, 'route', 'add', 'default', 'via', run.hostIp]);
}

const contenders = {
  'in place: @nsinit/network': (run) =>
    withSockets(run, (host, container, nsFd) => {
      host.createVeth({ name: run.host, peer: { name: run.peer, netns: { fd: nsFd } } });
      configureNetlink(run, host, container);
    }),
  'in place: ip commands': (run) => {
    must('ip', ['link', 'add', run.host, 'type', 'veth', 'peer', 'name', run.peer, 'netns', run.ns]);
    configureIp(run);
  },
  'moved: @nsinit/network': (run) =>
    withSockets(run, (host, container, nsFd) => {
      host.createVeth({ name: run.host, peer: { name: run.peer } });
      host.setLink(run.peer, { netns: { fd: nsFd } });
      configureNetlink(run, host, container);
    }),
  'moved: ip commands': (run) => {
    must('ip', ['link', 'add', run.host, 'type', 'veth', 'peer', 'name', run.peer]);
    must('ip', ['link', 'set', run.peer, 'netns', run.ns]);
    configureIp(run);
  },
};

/** One run on fresh names, checked the same way for every contender; returns milliseconds. */
function measure(contender) {
  const run = prepare();
  const start = process.hrtime.bigint();
  contender(run);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  const route = must('ip', ['-n', run.ns, 'route', 'show', 'default']);
  const up = must('ip', ['-n', run.ns, '-o', 'link', 'show', 'dev', run.peer]);
  if (!route.includes(`via ${run.hostIp} dev ${run.peer}`) || !up.includes(',UP')) {
    throw new Error(`run ${run.ns} did not configure the container side: ${route} ${up}`);
  }
  cleanup(run);
  return elapsed;
}

const entries = Object.entries(contenders);
const samples = Object.fromEntries(entries.map(([name]) => [name, []]));
for (const [, contender] of entries) for (let i = 0; i < 5; i++) measure(contender); // warm up
for (let i = 0; i < iterations; i++) {
  // Rotate the order, so no contender always runs right after another one's cleanup.
  for (let k = 0; k < entries.length; k++) {
    const [name, contender] = entries[(i + k) % entries.length];
    samples[name].push(measure(contender));
  }
}

const quantile = (values, q) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const medians = Object.fromEntries(entries.map(([name]) => [name, quantile(samples[name], 0.5)]));
console.log(
  `veth pair, peer into the container, 2 addresses, both up, default route: ${iterations} runs each, round-robin (ms)`,
);
console.log('contender                     median      p10      p90');
for (const [name] of entries) {
  const values = samples[name];
  console.log(
    `${name.padEnd(26)} ${medians[name].toFixed(3).padStart(9)} ${quantile(values, 0.1).toFixed(3).padStart(8)} ${quantile(values, 0.9).toFixed(3).padStart(8)}`,
  );
}
for (const way of ['in place', 'moved']) {
  const ratio = medians[`${way}: ip commands`] / medians[`${way}: @nsinit/network`];
  console.log(`${way}: ip commands / @nsinit/network = ${ratio.toFixed(1)}x (medians)`);
}
