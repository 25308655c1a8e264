// The lifecycle engines drive: `create`, `start`, wait for the exit, `delete`, as separate CLI
// calls, for runc, crun and nsinit; and each CLI's start-up alone, to say how much of each call
// is process start-up.
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingVerbs } from '../../test-e2e/src/engines.mjs';
import { probeContenders } from '../lib/clients.mjs';
import { command } from '../lib/contenders.mjs';
import { hiddenUnifiedWrapper } from '../lib/fixture.mjs';
import { describeSampling, interleave, msSince, runCommand, startCommand } from '../lib/harness.mjs';
import { formatNumber } from '../lib/stats.mjs';
import { phasedTimingRows, phasedTimingTable } from '../lib/tables.mjs';

const PHASES = ['create', 'start', 'wait', 'delete'];
const VERBS = ['create', 'start', 'delete'];
/** The CLI calls one split lifecycle makes (the wait is not a call). */
const CALLS = 3;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** True once `pid` has exited (gone, or a zombie its new parent has not reaped yet). */
function exited(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * The container's init is not our child after `create` (runc and crun leave it to the nearest
 * subreaper): it is watched through /proc every millisecond, the same for every runtime.
 */
async function waitForExit(pid) {
  const deadline = Date.now() + 30_000;
  while (!exited(pid)) {
    if (Date.now() > deadline) throw new Error(`the container's init ${pid} did not exit within 30 s`);
    await sleep(1);
  }
}

/**
 * `create`, whose container keeps the stdio it was given once the runtime has exited: a pipe
 * would never close, so stderr goes to a file, read when the call fails.
 */
async function create(command, args, errorFile) {
  const fd = openSync(errorFile, 'w');
  try {
    const { code, signal } = await startCommand(command, args, { stdio: ['ignore', 'ignore', fd] }).exited;
    if (code !== 0) {
      const stderr = readFileSync(errorFile, 'utf8').trim() || '(no stderr)';
      throw new Error(
        `${[command, ...args].join(' ')} ${signal ? `was killed by ${signal}` : `exited with ${code}`}: ${stderr}`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/** One create + start + wait + delete of the /bin/true bundle; each phase goes to `phases`. */
function splitLifecycle(fixture, invoke, phases, pidDir) {
  return async () => {
    const id = fixture.nextId('split');
    const pidFile = join(pidDir, `${id}.pid`);
    const timings = {};
    const timed = async (phase, work) => {
      const start = process.hrtime.bigint();
      await work();
      timings[phase] = msSince(start);
    };
    const createArgs = ['create', '--bundle', fixture.trueBundle.dir, '--pid-file', pidFile, id];
    await timed('create', () => create(...invoke(createArgs), join(pidDir, 'create.stderr')));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await timed('start', () => runCommand(...invoke(['start', id])));
    await timed('wait', () => waitForExit(pid));
    await timed('delete', () => runCommand(...invoke(['delete', id])));
    for (const phase of PHASES) phases[phase].push(timings[phase]);
    return PHASES.reduce((sum, phase) => sum + timings[phase], 0);
  };
}

export default {
  id: 'split-lifecycle',
  title: 'Split lifecycle: create, start, wait, delete of /bin/true as separate CLI calls',
  defaultIterations: 30,
  async measure(fixture, { iterations, warmup, onRound }) {
    const { runc, crun } = fixture.runtimes;
    const nsinitRoot = join(fixture.stateRoots.cli, '..', 'nsinit-split');
    const direct = (argv) => [argv[0], argv.slice(1)];
    const wrap = fixture.hybridCgroups ? hiddenUnifiedWrapper : direct;
    const runtimes = [
      { name: 'runc', installed: runc.installed, argv: ['runc', '--root', runc.stateRoot], wrap: direct },
      { name: 'crun', installed: crun.installed, argv: ['crun', '--root', crun.stateRoot], wrap },
      {
        name: 'nsinit',
        installed: true,
        argv: [process.execPath, fixture.cliPath, '--root', nsinitRoot],
        wrap: direct,
      },
    ];
    const missing = missingVerbs({ argv: [process.execPath, fixture.cliPath] }, VERBS);
    const nsinitSkip = missing.length > 0 ? `skipped: no ${missing.join('/')} verbs in this build yet` : null;
    // Containers an interrupted run left in nsinit's state root (runc's and crun's are the fixture's).
    const removeLeftovers = async () => {
      if (!existsSync(nsinitRoot)) return;
      for (const id of readdirSync(nsinitRoot)) {
        const args = [fixture.cliPath, '--root', nsinitRoot, 'delete', '--force', id];
        await runCommand(process.execPath, args, { cleanup: true });
      }
    };
    const forget = fixture.onCleanup(removeLeftovers);

    const pidDir = fixture.scratchDir('split-pids');
    const phasesByName = new Map();
    const lifecycleName = (name) => `${name} create + start + wait + delete`;
    const contenders = [];
    for (const runtime of runtimes) {
      const name = lifecycleName(runtime.name);
      const invoke = (args) => runtime.wrap([...runtime.argv, ...args]);
      if (!runtime.installed) contenders.push({ name, installed: false });
      else if (runtime.name === 'nsinit' && nsinitSkip)
        contenders.push({ name, installed: false, note: nsinitSkip });
      else {
        const phases = Object.fromEntries(PHASES.map((phase) => [phase, []]));
        phasesByName.set(name, phases);
        contenders.push({ name, run: splitLifecycle(fixture, invoke, phases, pidDir) });
      }
    }
    const startups = [
      { name: 'node -e 0', run: command(process.execPath, ['-e', '0']) },
      { name: 'runc --version', installed: runc.installed, run: command('runc', ['--version']) },
      {
        name: `crun --version${fixture.hybridCgroups ? ' (in its wrapper)' : ''}`,
        installed: crun.installed,
        run: command(...wrap(['crun', '--version'])),
      },
      { name: 'nsinit --version', run: command(process.execPath, [fixture.cliPath, '--version']) },
    ];
    contenders.push(...startups);
    let probed = contenders;
    let samples;
    try {
      // A lifecycle that fails (an nsinit whose verbs are not finished) becomes a row saying so.
      probed = await probeContenders(contenders);
      for (const phases of phasesByName.values())
        for (const values of Object.values(phases)) values.length = 0;
      samples = await interleave(
        probed.filter((c) => c.installed !== false),
        { iterations, warmup, onRound },
      );
    } finally {
      await removeLeftovers();
      forget();
    }
    const references = [{ column: '× runc', name: lifecycleName('runc') }];
    const rows = phasedTimingRows(probed, samples, references, phasesByName, warmup);

    // How much of each lifecycle is the start-up of its three CLI processes.
    const median = (name) => rows.find((row) => row.name === name)?.median ?? null;
    const shares = runtimes
      .map((runtime, i) => {
        const lifecycle = median(lifecycleName(runtime.name));
        const startup = median(startups[i + 1].name);
        if (lifecycle == null || startup == null) return null;
        const share = (CALLS * startup) / lifecycle;
        return `${runtime.name} ${CALLS} × ${formatNumber(startup)} ms = ${formatNumber(CALLS * startup)} ms, ${(share * 100).toFixed(0)}% of its lifecycle`;
      })
      .filter(Boolean);
    const method = [
      `${describeSampling({ iterations, warmup })}. Each run is what an engine (podman's conmon, containerd's shim) makes`,
      'the runtime do for one container: `<runtime> --root <state root> create --bundle <bundle> --pid-file <file> <id>`,',
      '`start <id>`, a wait for the exit of the pid in the pid file (watched in /proc every millisecond, since the',
      "container's init is not the caller's child), and `delete <id>`, each call a new process, timed to its exit;",
      `the phase medians are the last columns. The bundle is the lifecycle measurement's (/bin/true, five namespaces,`,
      `/proc). nsinit is \`node ${fixture.cliShown}\`;`,
      fixture.hybridCgroups
        ? 'crun runs in its cgroup wrapper, as in the lifecycle measurement (every call pays it);'
        : '',
      "`node -e 0` and each CLI's `--version` show the start-up every call pays:",
      shares.length > 0 ? `${shares.join('; ')}.` : 'no lifecycle was measured.',
    ]
      .filter(Boolean)
      .join(' ');
    return {
      method,
      table: phasedTimingTable(rows, references, PHASES),
      data: { rows, startupShares: shares },
    };
  },
};
