// containerd 1.6 and its runc shim (containerd-shim-runc-v2) with the runtime under test as
// `ctr run --runc-binary` (nsinit; E2E_CLIENT_RUNTIME=/usr/sbin/runc or crun for the others):
// run --rm, exit codes, run -d + task exec + kill + delete, task ps, pause/resume, a signal to an
// attached run, -t through the shim's console socket. One private containerd for the file, the
// busybox image imported once (through podman's OCI archive); nothing is left afterwards.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientBed,
  type Containerd,
  clientBed,
  createPodman,
  entries,
  IMAGE,
  onTerminal,
  runSync,
  startContainerd,
  waitFor,
} from '../src/clients.js';

/** What the shim calls (logged through the wrapper on this machine). */
const VERBS = ['create', 'start', 'delete', 'exec', 'kill', 'ps', 'pause', 'resume'];
const REF = `${IMAGE}:latest`;

let bed: ClientBed;
let ctr: Containerd;
let stopped = false;

/** `ctr run <flags>` of container `id` running `command`, with the runtime under test. */
const runArgs = (id: string, flags: string[], ...command: string[]) => [
  'run',
  ...ctr.runArgs(bed.wrapper, id),
  ...flags,
  REF,
  id,
  ...command,
];

/** `ctr task exec` of `command` in container `id` as process `execId`, to its end. */
const taskExec = (id: string, execId: string, ...command: string[]) =>
  ctr.run(['task', 'exec', '--fifo-dir', ctr.fifoDir, '--exec-id', execId, id, ...command]);

/** Waits until task `id` has the status `want` (RUNNING, PAUSED, STOPPED). */
const taskStatus = (id: string, want: string) =>
  waitFor(`task ${id} to be ${want}`, () => ctr.tasks()[id] === want);

beforeAll(async () => {
  bed = clientBed('containerd', {
    commands: ['containerd', 'ctr', 'containerd-shim-runc-v2', 'podman', 'script'],
    verbs: VERBS,
    wrapperRoot: false,
  });
  // The image: podman imports the rootfs and saves it as an OCI archive, then goes away.
  const podman = createPodman({
    dir: join(bed.dir, 'podman'),
    runtimePath: bed.wrapper,
    cgroupParent: bed.cgroupParent,
  });
  const archive = join(bed.dir, 'bb.oci');
  try {
    podman.importRootfs(bed.rootfs, IMAGE);
    podman.saveOciArchive(IMAGE, archive);
  } finally {
    await podman.cleanup();
  }
  ctr = await startContainerd({ dir: join(bed.dir, 'containerd'), cgroupParent: bed.cgroupParent });
  ctr.importArchive(archive, IMAGE);
}, 180_000);

afterAll(async () => {
  if (ctr && !stopped) await ctr.stop();
  bed?.leftovers();
}, 180_000);

// Generous: a loaded 2-core machine makes each client call take seconds.
describe(`containerd with ${process.env.E2E_CLIENT_RUNTIME || 'nsinit'}`, { timeout: 120_000 }, () => {
  it('run --rm prints the output and removes the task and container', () => {
    const result = ctr.run(runArgs('once', ['--rm'], 'sh', '-c', 'echo hello from containerd; id -u'));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('hello from containerd\n0\n');
    expect(result.status).toBe(0);
    expect(ctr.tasks()).toEqual({});
    expect(ctr.ok(['containers', 'ls', '-q']).stdout).toBe('');
  });

  it('passes exit codes through', () => {
    expect(ctr.run(runArgs('seven', ['--rm'], 'sh', '-c', 'exit 7')).status).toBe(7);
    expect(ctr.run(runArgs('zero', ['--rm'], 'true')).status).toBe(0);
  });

  it('run -d, then task exec, kill and delete', async () => {
    ctr.ok(runArgs('detached', ['-d'], 'sleep', '1000'));
    expect(ctr.tasks()).toEqual({ detached: 'RUNNING' });
    const exec = taskExec('detached', 'x', 'sh', '-c', 'echo in exec; exit 4');
    expect(exec.stdout).toBe('in exec\n');
    expect(exec.status).toBe(4);
    // busybox sleep as the pid namespace's init ignores SIGTERM: SIGKILL it.
    ctr.ok(['task', 'kill', '--signal', 'SIGKILL', 'detached']);
    await taskStatus('detached', 'STOPPED');
    ctr.ok(['task', 'delete', 'detached']);
    ctr.ok(['containers', 'rm', 'detached']);
    expect(ctr.tasks()).toEqual({});
  });

  it('task ps lists the processes of the container', () => {
    ctr.ok(runArgs('listed', ['-d'], 'sleep', '1000'));
    const init = ctr.ok(['task', 'ls']).stdout.match(/^listed\s+(\d+)\s+RUNNING$/m)?.[1];
    expect(init).toBeDefined();
    const pids = ctr.ok(['task', 'ps', 'listed']).stdout.trim().split('\n').slice(1);
    expect(pids.map((row) => row.trim().split(/\s+/)[0])).toEqual([init]);
    ctr.ok(['task', 'delete', '--force', 'listed']);
    ctr.ok(['containers', 'rm', 'listed']);
  });

  it('task pause and resume freeze and thaw the container', async () => {
    ctr.ok(runArgs('frozen', ['-d'], 'sleep', '1000'));
    ctr.ok(['task', 'pause', 'frozen']);
    await taskStatus('frozen', 'PAUSED');
    ctr.ok(['task', 'resume', 'frozen']);
    await taskStatus('frozen', 'RUNNING');
    const exec = taskExec('frozen', 'y', 'echo', 'thawed');
    expect(exec.stdout).toBe('thawed\n');
    ctr.ok(['task', 'delete', '--force', 'frozen']);
    ctr.ok(['containers', 'rm', 'frozen']);
  });

  it('task kill delivers a signal to an attached run, which exits with the container', async () => {
    const script = 'trap "echo got USR1; exit 42" USR1; echo ready; while :; do sleep 0.1; done';
    const [command, args] = ctr.command(runArgs('signalled', ['--rm'], 'sh', '-c', script));
    const attached = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    attached.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const exit = once(attached, 'exit');
    await waitFor('the trap to be set', () => output.includes('ready') || attached.exitCode !== null);
    ctr.ok(['task', 'kill', '--signal', 'SIGUSR1', 'signalled']);
    const [code] = await exit;
    expect(output).toBe('ready\ngot USR1\n');
    expect(code).toBe(42);
  });

  it('run -t attaches a terminal through the console socket', () => {
    const [command, args] = onTerminal(...ctr.command(runArgs('tty', ['--rm', '-t'], 'sh')));
    const shell = runSync(command, args, { input: 'echo $((6 * 7)); tty; exit 3\n' });
    // Lines end in \r\n on a terminal (\r\r\n through ctr, which leaves its own terminal cooked).
    expect(shell.stdout).toMatch(/\n42\r+\n/);
    // The container's own devpts, as runc and crun give it (ttyname works inside).
    expect(shell.stdout).toMatch(/\n\/dev\/pts\/\d+\r+\n/);
    expect(shell.status).toBe(3);
  });

  it('called the runtime with the verbs it is known to use', () => {
    expect(bed.verbs().sort()).toEqual([...VERBS].sort());
    const create = bed.calls().find((args) => args.includes('create'));
    // The shim's global options: its state root, a JSON log it reads the error from on failure.
    expect(create).toEqual([
      '--root',
      expect.stringMatching(/\/runtime-root\/default$/),
      '--log',
      expect.stringMatching(/\/log\.json$/),
      '--log-format',
      'json',
      'create',
      '--bundle',
      expect.any(String),
      '--pid-file',
      expect.stringMatching(/\/init\.pid$/),
      'once',
    ]);
    expect(bed.calls().some((args) => args.includes('--console-socket'))).toBe(true);
    expect(entries(bed.configsDir)).toContain('once.json');
  });

  it('leaves nothing behind', async () => {
    expect(await ctr.stop()).toEqual([]);
    stopped = true;
    expect(bed.leftovers()).toEqual([]);
  });
});
