// Real clients for the benchmarks: nsinit, runc and crun as runtimes of a private podman and a
// private containerd, set up by the end-to-end tests' engines.mjs (the same isolation, the same
// clean-up) in the fixture's work dir, and removed with the fixture.
import { join } from 'node:path';
import {
  createPodman,
  describeRuntime,
  missingVerbs,
  startContainerd,
  watchHost,
  which,
  writeRuntimeWrapper,
} from '../../test-e2e/src/engines.mjs';
import { buildRootfs } from './fixture.mjs';
import { interleave } from './harness.mjs';
import { timingRows, timingTable } from './tables.mjs';

/** The verbs a client needs to run a container to its end. */
const CLIENT_VERBS = ['create', 'start', 'delete', 'kill', 'state'];

export const IMAGE = 'localhost/bb';

/**
 * nsinit, runc and crun as the clients call them: each a wrapper script (one executable; crun in
 * its cgroup wrapper on a hybrid host), or a `skip` note: not installed, or an nsinit without the
 * verbs yet. `ownRoot`: the wrapper passes a state root in the fixture's state dir (podman passes
 * none; the containerd shim passes its own).
 */
function clientRuntimes(fixture, { ownRoot }) {
  const binDir = fixture.scratchDir('runtimes');
  return ['nsinit', 'runc', 'crun'].map((name) => {
    const runtime = describeRuntime(name, fixture.cliPath);
    if (!runtime.installed) return { name, skip: 'not installed' };
    const missing = missingVerbs(runtime, CLIENT_VERBS);
    if (missing.length > 0) return { name, skip: `skipped: no ${missing.join('/')} verbs in this build yet` };
    const root = ownRoot ? { root: join(fixture.stateRoots.cli, '..', `${name}-clients`) } : {};
    return { name, skip: null, wrapper: writeRuntimeWrapper(binDir, runtime, root) };
  });
}

/** Why the clients cannot run here, or null: a missing command. */
function clientsMissing(commands) {
  const missing = commands.filter((command) => which(command) === null);
  return missing.length > 0 ? `${missing.join(', ')} not installed` : null;
}

/**
 * Registers `stop` (returning a line per thing it had to force) to run at the fixture's cleanup,
 * together with the check of what the clients wrote outside their directory; returns a function
 * that runs both now and unregisters them.
 */
function cleanUpWith(fixture, stop) {
  const host = watchHost();
  const undo = async () => {
    const problems = [...(await stop()), ...host.settle()];
    if (problems.length > 0) throw new Error(`the clients left: ${problems.join('; ')}`);
  };
  const forget = fixture.onCleanup(undo);
  return async () => {
    forget();
    await undo();
  };
}

/**
 * A private podman store with the busybox rootfs imported as IMAGE, and `close()`, which removes it
 * (also run at the fixture's cleanup). `runtimePath` is the default runtime; `podman.command(args,
 * other)` runs with another one.
 */
export async function benchPodman(fixture, runtimePath) {
  const dir = fixture.scratchDir('podman');
  const podman = createPodman({ dir, runtimePath, cgroupParent: fixture.nextId('nsinit-bench-podman') });
  const close = cleanUpWith(fixture, () => podman.cleanup());
  try {
    const rootfs = join(dir, 'rootfs');
    buildRootfs(rootfs);
    podman.importRootfs(rootfs, IMAGE);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  return { podman, close };
}

/**
 * A private containerd with IMAGE:latest imported (through a podman store, removed once the
 * archive is written), and `close()`, which stops it (also run at the fixture's cleanup).
 */
export async function benchContainerd(fixture, runtimePath) {
  const archive = join(fixture.scratchDir('oci-archive'), 'bb.oci');
  const { podman, close: closePodman } = await benchPodman(fixture, runtimePath);
  try {
    podman.saveOciArchive(IMAGE, archive);
  } finally {
    await closePodman();
  }
  const ctr = await startContainerd({
    dir: fixture.scratchDir('containerd'),
    cgroupParent: fixture.nextId('nsinit-bench-containerd'),
  });
  const close = cleanUpWith(fixture, () => ctr.stop());
  try {
    ctr.importArchive(archive, IMAGE);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  return { ctr, close };
}

/**
 * Runs each contender once, untimed: one that fails (an nsinit whose verbs do not do all a client
 * asks yet) becomes a row with the start of its error instead of ending the whole benchmark.
 */
export async function probeContenders(contenders) {
  const probed = [];
  for (const contender of contenders) {
    if (contender.installed === false) {
      probed.push(contender);
      continue;
    }
    try {
      await contender.run();
      probed.push(contender);
    } catch (error) {
      const reason = error.message.split(': ').slice(-3).join(': ').replace(/\s+/g, ' ').slice(0, 160);
      probed.push({ name: contender.name, installed: false, note: `fails: ${reason}` });
    }
  }
  return probed;
}

/**
 * One client measurement: a contender `<label>, <runtime>` per runtime (nsinit, runc, crun),
 * interleaved, with "× runc"; a row with the reason for a runtime that is skipped, missing or
 * fails. `start(wrapper)` sets the client up (with any usable runtime's wrapper) and resolves to
 * `{ runner(wrapper), close() }`: `runner` gives one timed run with that runtime.
 */
export async function measureClient(
  fixture,
  { iterations, warmup, onRound },
  { label, commands, ownRoot, start },
) {
  const missing = clientsMissing(commands);
  const runtimes = clientRuntimes(fixture, { ownRoot }).map((runtime) =>
    missing ? { name: runtime.name, skip: missing } : runtime,
  );
  const ready = runtimes.find((runtime) => !runtime.skip);
  const client = ready ? await start(ready.wrapper) : null;
  let contenders = runtimes.map((runtime) =>
    runtime.skip
      ? { name: `${label}, ${runtime.name}`, installed: false, note: runtime.skip }
      : { name: `${label}, ${runtime.name}`, run: client.runner(runtime.wrapper) },
  );
  let samples;
  try {
    contenders = await probeContenders(contenders);
    samples = await interleave(
      contenders.filter((c) => c.installed !== false),
      { iterations, warmup, onRound },
    );
  } finally {
    await client?.close();
  }
  const references = [{ column: '× runc', name: `${label}, runc` }];
  const rows = timingRows(contenders, samples, references);
  // timingTable, with a row's reason where its median would be.
  const table = timingTable(rows, references);
  table.rows = table.rows.map((cells, i) =>
    rows[i].installed || !rows[i].note ? cells : [cells[0], rows[i].note, ...cells.slice(2)],
  );
  return { table, data: { rows } };
}
