// podman 4.3 + conmon with the runtime under test (nsinit; E2E_CLIENT_RUNTIME=/usr/sbin/runc or
// crun for the others): run --rm, exit codes, run -d + exec + stop + rm, run -it through conmon's
// console socket, logs, ps/top, pause/unpause, kill. One private podman store for the file
// (clients.ts, engines.mjs), the busybox image imported once; nothing is left afterwards.
//
// Every container runs with --security-opt seccomp=unconfined: podman's config.json otherwise
// carries its seccomp profile, and nsinit has no seccomp yet (it refuses such a config rather
// than run without the filter).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientBed,
  clientBed,
  createPodman,
  entries,
  IMAGE,
  onTerminal,
  type Podman,
  runSync,
  waitFor,
} from '../src/clients.js';

/** What podman 4.3 calls (logged through the wrapper on this machine). */
const VERBS = ['create', 'start', 'delete', 'exec', 'kill', 'pause', 'resume'];

let bed: ClientBed;
let podman: Podman;
let stopped = false;

/** podman run's options for every container here: podman's defaults for this machine, no seccomp. */
const runArgs = (...more: string[]) => [
  'run',
  ...podman.containerArgs,
  '--security-opt',
  'seccomp=unconfined',
  ...more,
];

/** A container's state as podman reports it (running, paused, exited, …). */
const status = (name: string) => podman.ok(['inspect', '--format', '{{.State.Status}}', name]).stdout.trim();

beforeAll(() => {
  bed = clientBed('podman', { commands: ['podman', 'conmon', 'script'], verbs: VERBS, wrapperRoot: true });
  podman = createPodman({
    dir: `${bed.dir}/podman`,
    runtimePath: bed.wrapper,
    cgroupParent: bed.cgroupParent,
  });
  podman.importRootfs(bed.rootfs, IMAGE);
}, 180_000);

afterAll(async () => {
  if (podman && !stopped) await podman.cleanup();
  bed?.leftovers();
}, 180_000);

// Generous: a loaded 2-core machine makes each client call take seconds.
describe(`podman with ${process.env.E2E_CLIENT_RUNTIME || 'nsinit'}`, { timeout: 120_000 }, () => {
  it('run --rm prints the output and removes the container', () => {
    const result = podman.run(runArgs('--rm', IMAGE, 'sh', '-c', 'echo hello from $(hostname -s); id -u'));
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^hello from \w+\n0\n$/);
    expect(result.status).toBe(0);
    expect(podman.ok(['ps', '--all', '--quiet']).stdout).toBe('');
    // podman's delete removed the runtime's state too.
    expect(entries(bed.runtimeRoot)).toEqual([]);
  });

  it('passes exit codes through', () => {
    expect(podman.run(runArgs('--rm', IMAGE, 'sh', '-c', 'exit 7')).status).toBe(7);
    expect(podman.run(runArgs('--rm', IMAGE, 'true')).status).toBe(0);
    // A command that does not exist: podman's own 127 (the runtime's create or start fails).
    expect(podman.run(runArgs('--rm', IMAGE, '/no/such/command')).status).toBe(127);
  });

  it('run -d, then exec, stop and rm', () => {
    const script = 'trap "echo stopping; exit 0" TERM; echo started; while :; do sleep 0.1; done';
    podman.ok(runArgs('-d', '--name', 'detached', IMAGE, 'sh', '-c', script));
    expect(status('detached')).toBe('running');
    const exec = podman.run(['exec', 'detached', 'sh', '-c', 'echo in $(hostname -s); cat /proc/1/cmdline']);
    expect(exec.status).toBe(0);
    expect(exec.stdout).toMatch(/^in \w+\nsh\0-c\0trap/);
    expect(podman.run(['exec', 'detached', 'sh', '-c', 'exit 3']).status).toBe(3);
    // SIGTERM reaches the trap: stop returns at once, not after its 10 s timeout.
    podman.ok(['stop', 'detached']);
    expect(status('detached')).toBe('exited');
    expect(podman.ok(['inspect', '--format', '{{.State.ExitCode}}', 'detached']).stdout.trim()).toBe('0');
    podman.ok(['rm', 'detached']);
    expect(entries(bed.runtimeRoot)).toEqual([]);
  });

  it('run -it and exec -it attach a terminal through the console socket', () => {
    // Typed into the terminal; the shell answers on it and exits with 3.
    const typed = 'echo $((6 * 7)); tty; exit 3\n';
    const run = runSync(...onTerminal(...podman.command(runArgs('--rm', '-it', IMAGE, 'sh'))), {
      env: podman.env,
      input: typed,
    });
    podman.ok(runArgs('-d', '--name', 'attached', IMAGE, 'sleep', '1000'));
    const exec = runSync(...onTerminal(...podman.command(['exec', '-it', 'attached', 'sh'])), {
      env: podman.env,
      input: typed,
    });
    podman.ok(['rm', '--force', '--time', '0', 'attached']);
    for (const shell of [run, exec]) {
      // Lines end in \r\n on a terminal.
      expect(shell.stdout).toMatch(/\n42\r+\n/);
      // The container's own devpts, as runc and crun give it (ttyname works inside).
      expect(shell.stdout).toMatch(/\n\/dev\/pts\/\d+\r+\n/);
      expect(shell.status).toBe(3);
    }
  });

  it('logs keeps what the container wrote', async () => {
    podman.ok(
      runArgs('-d', '--name', 'logger', IMAGE, 'sh', '-c', 'echo to stdout; echo to stderr >&2; exit 4'),
    );
    expect(podman.ok(['wait', 'logger']).stdout.trim()).toBe('4');
    const logs = podman.ok(['logs', 'logger']);
    expect(logs.stdout).toBe('to stdout\n');
    expect(logs.stderr).toBe('to stderr\n');
    podman.ok(['rm', 'logger']);
  });

  it('ps lists a running container and top its processes', () => {
    podman.ok(runArgs('-d', '--name', 'listed', IMAGE, 'sleep', '1000'));
    const listed = JSON.parse(podman.ok(['ps', '--format', 'json']).stdout) as {
      Names: string[];
      State: string;
    }[];
    expect(listed.map((c) => [c.Names[0], c.State])).toEqual([['listed', 'running']]);
    // top reads the container's processes from the pid the runtime wrote to --pid-file.
    expect(podman.ok(['top', 'listed', 'pid', 'args']).stdout).toMatch(/\n\s*1\s+sleep 1000\s*$/);
    podman.ok(['rm', '--force', '--time', '0', 'listed']);
  });

  it('pause and unpause freeze and thaw the container', () => {
    podman.ok(runArgs('-d', '--name', 'frozen', IMAGE, 'sleep', '1000'));
    podman.ok(['pause', 'frozen']);
    expect(status('frozen')).toBe('paused');
    podman.ok(['unpause', 'frozen']);
    expect(status('frozen')).toBe('running');
    expect(podman.ok(['exec', 'frozen', 'echo', 'thawed']).stdout).toBe('thawed\n');
    podman.ok(['rm', '--force', '--time', '0', 'frozen']);
  });

  it('kill delivers a signal', async () => {
    const script = 'trap "echo got USR1; exit 42" USR1; echo ready; while :; do sleep 0.1; done';
    podman.ok(runArgs('-d', '--name', 'signalled', IMAGE, 'sh', '-c', script));
    await waitFor('the trap to be set', () => podman.ok(['logs', 'signalled']).stdout.includes('ready'));
    podman.ok(['kill', '--signal', 'USR1', 'signalled']);
    expect(podman.ok(['wait', 'signalled']).stdout.trim()).toBe('42');
    expect(podman.ok(['logs', 'signalled']).stdout).toBe('ready\ngot USR1\n');
    podman.ok(['rm', 'signalled']);
  });

  it('called the runtime with the verbs it is known to use', () => {
    expect(bed.verbs().sort()).toEqual([...VERBS].sort());
    const create = bed.calls().find((args) => args.includes('create'));
    // The runtime's own log for conmon to read on failure, then the bundle, the pid file, the id.
    expect(create).toEqual([
      '--log-format=json',
      '--log',
      expect.stringMatching(/\/oci-log$/),
      'create',
      '--bundle',
      expect.stringMatching(/\/userdata$/),
      '--pid-file',
      expect.stringMatching(/\/pidfile$/),
      expect.stringMatching(/^[0-9a-f]{64}$/),
    ]);
    expect(bed.calls().some((args) => args.includes('--console-socket'))).toBe(true);
    expect(entries(bed.configsDir).length).toBeGreaterThan(0);
  });

  it('leaves nothing behind', async () => {
    expect(await podman.cleanup()).toEqual([]);
    stopped = true;
    expect(bed.leftovers()).toEqual([]);
  });
});
