// nsinit as an OCI runtime, driven through its CLI as an engine drives runc: create, start,
// state, kill, delete across separate processes; exec into a running container; a runtime
// SIGKILLed at every step of create leaves a container that `delete --force` removes from
// disk alone. Every test compares the host before and after (state root, this file's
// cgroups, mounts) and checks that no process of its containers is left.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { adoptPtyMaster, ConsoleSocket } from '@nsinit/pty';
import { create, loadContainer, type OciConfig } from 'nsinit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  type CliResult,
  hostSnapshot,
  isAlive,
  makeBundle,
  requireRoot,
  runcSpec,
  scratch,
  testIds,
} from '../src/harness.js';

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;
const ids = testIds('oci');
let before: ReturnType<typeof hostSnapshot>;
/** Pids of every init this file made, to prove none is left. */
const inits = new Map<number, string>();

/** runc spec's config, on the busybox rootfs, with `args` and a cgroup named after the test id. */
function bundleConfig(args: string[], extra: Record<string, unknown> = {}) {
  const spec = runcSpec() as Record<string, unknown> & { process: Record<string, unknown> };
  return {
    ...spec,
    root: { path: 'rootfs', readonly: false },
    process: { ...spec.process, terminal: false, args },
    hostname: 'oci-test',
    ...extra,
  };
}

function writeConfig(args: string[], extra: Record<string, unknown> = {}): void {
  writeFileSync(bundle.configPath, JSON.stringify(bundleConfig(args, extra), null, 2));
}

let outputs = 0;
/**
 * The CLI to completion, its output through files: a container made by `create` or `run -d`
 * inherits the runtime's stdout and stderr (as under runc), and a pipe would stay open with it.
 */
function cliWith(args: string[], env: NodeJS.ProcessEnv = process.env): CliResult {
  const out = join(work.path, `out.${++outputs}`);
  const err = join(work.path, `err.${outputs}`);
  const outFd = openSync(out, 'w');
  const errFd = openSync(err, 'w');
  try {
    const result = spawnSync(process.execPath, [CLI, '--root', stateRoot, ...args], {
      stdio: ['ignore', outFd, errFd],
      env,
      timeout: 30_000,
    });
    if (result.error) throw result.error;
    return {
      status: result.status,
      signal: result.signal,
      stdout: readFileSync(out, 'utf8'),
      stderr: readFileSync(err, 'utf8'),
    };
  } finally {
    closeSync(outFd);
    closeSync(errFd);
    rmSync(out);
    rmSync(err);
  }
}

const cli = (...args: string[]): CliResult => cliWith(args);

function ok(result: CliResult): string {
  expect(result.status, `${result.stderr}${result.stdout}`).toBe(0);
  return result.stdout;
}

function state(id: string): { status: string; pid: number; bundle: string; id: string } {
  return JSON.parse(ok(cli('state', id)));
}

function remember(id: string): number {
  const { pid } = state(id);
  if (pid > 0) inits.set(pid, readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[21] ?? '');
  return pid;
}

const alive = isAlive;

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(() => {
  requireRoot();
  work = scratch('oci-runtime');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'));
  before = hostSnapshot([], stateRoot, ids.marker);
});

/** Containers a describe block shares between its tests (removed in its afterAll). */
const shared = new Set<string>();

afterEach(() => {
  // Whatever a failed test left: removed so the next one starts clean.
  for (const id of spawnSync('ls', [stateRoot], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
    if (!shared.has(id)) cli('delete', '--force', id);
  }
});

afterAll(() => {
  try {
    for (const [pid, startTime] of inits) expect(alive(pid, startTime), `init ${pid} is left`).toBe(false);
    expect(hostSnapshot([], stateRoot, ids.marker)).toEqual({ ...before, stateEntries: [] });
  } finally {
    work?.cleanup();
  }
});

describe('create, start, state, kill, delete across processes', () => {
  it('create leaves the init waiting; start runs the command; a second start fails; kill; delete', async () => {
    const id = ids.next();
    writeConfig(['sh', '-c', 'echo started > /tmp/started; exec sleep 60']);
    const pidFile = join(work.path, `${id}.pid`);
    ok(cli('create', '--bundle', bundle.dir, '--pid-file', pidFile, id));
    const pid = remember(id);
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(pid);
    const created = state(id);
    expect(created).toMatchObject({ id, status: 'created', pid, bundle: bundle.dir });
    // The command has not run: it waits for start.
    expect(existsSync(join(bundle.rootfs, 'tmp/started'))).toBe(false);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('nsinit-init');

    ok(cli('start', id));
    await until(() => existsSync(join(bundle.rootfs, 'tmp/started')), 'the command to run');
    expect(state(id).status).toBe('running');
    const again = cli('start', id);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/started already/);

    // Not stopped: a plain delete is refused and changes nothing.
    const refused = cli('delete', id);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/not stopped: running/);
    expect(state(id).status).toBe('running');

    ok(cli('kill', id, 'KILL'));
    await until(() => state(id).status === 'stopped', 'the container to stop');
    expect(state(id).pid).toBe(0);
    ok(cli('delete', id));
    expect(cli('state', id).status).toBe(1);
    rmSync(join(bundle.rootfs, 'tmp/started'));
  });

  it('kill takes signal names with or without SIG, and numbers; --all reaches every process', async () => {
    const id = ids.next();
    // The init of a pid namespace gets only the signals it handles (and KILL): a trap for USR1.
    const marks = join(bundle.rootfs, 'tmp/usr1');
    writeConfig(['sh', '-c', 'trap "echo usr1 >> /tmp/usr1" USR1; while :; do sleep 1 & wait; done']);
    ok(cli('run', '--detach', '--bundle', bundle.dir, id));
    const pid = remember(id);
    const count = () => (existsSync(marks) ? readFileSync(marks, 'utf8').split('\n').length - 1 : 0);
    for (const [index, name] of ['SIGUSR1', 'usr1', 'USR1', '10'].entries()) {
      ok(cli('kill', id, name));
      await until(() => count() === index + 1, `the USR1 trap to run for ${name}`);
    }
    const unknown = cli('kill', id, 'NOPE');
    expect(unknown.status).not.toBe(0);
    ok(cli('kill', id, 'KILL'));
    await until(() => state(id).status === 'stopped', 'KILL to end it');
    expect(alive(pid, inits.get(pid)!)).toBe(false);
    rmSync(marks);
    ok(cli('delete', id));
    expect(cli('kill', id, 'KILL').stderr).toMatch(/does not exist/);

    const id2 = ids.next();
    writeConfig(['sh', '-c', 'sleep 60 & sleep 60 & wait']);
    ok(cli('run', '-d', '--bundle', bundle.dir, id2));
    remember(id2);
    await until(() => JSON.parse(ok(cli('ps', '--format', 'json', id2))).length === 3, 'three processes');
    ok(cli('kill', '--all', id2, '9'));
    await until(() => state(id2).status === 'stopped', 'kill --all');
    ok(cli('delete', id2));
  });

  it('create fails when the command does not exist, and leaves nothing', () => {
    const id = ids.next();
    writeConfig(['/bin/no-such-command']);
    const result = cli('create', '--bundle', bundle.dir, id);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no-such-command/);
    expect(existsSync(join(stateRoot, id))).toBe(false);
    expect(hostSnapshot([], stateRoot, ids.marker).cgroups).toEqual([]);
  });

  it('list, ps, pause/resume, events --stats, update and a foreground run with --keep', async () => {
    const id = ids.next();
    writeConfig(['sleep', '60']);
    ok(cli('run', '-d', '--bundle', bundle.dir, id));
    const pid = remember(id);
    const listed = JSON.parse(ok(cli('list', '--format', 'json'))) as { id: string; status: string }[];
    expect(listed.find((entry) => entry.id === id)?.status).toBe('running');
    expect(ok(cli('list', '-q')).split('\n')).toContain(id);
    expect(JSON.parse(ok(cli('ps', '--format', 'json', id)))).toEqual([pid]);
    expect(ok(cli('ps', id))).toMatch(new RegExp(`\\b${pid}\\b.*sleep 60`));
    ok(cli('pause', id));
    expect(state(id).status).toBe('paused');
    ok(cli('resume', id));
    expect(state(id).status).toBe('running');
    const event = JSON.parse(ok(cli('events', '--stats', id)));
    expect(event).toMatchObject({ type: 'stats', id });
    ok(cli('update', '--pids-limit', '42', id));
    const pidsDir = JSON.parse(readFileSync(join(stateRoot, id, 'state.json'), 'utf8')).cgroupPaths.v1.pids;
    expect(readFileSync(join(pidsDir, 'pids.max'), 'utf8').trim()).toBe('42');
    // containerd's shim: a LinuxResources document on stdin.
    const viaStdin = spawnSync(
      process.execPath,
      [CLI, '--root', stateRoot, 'update', '--resources', '-', id],
      {
        input: JSON.stringify({ pids: { limit: 43 } }),
        encoding: 'utf8',
      },
    );
    expect(viaStdin.status, viaStdin.stderr).toBe(0);
    expect(readFileSync(join(pidsDir, 'pids.max'), 'utf8').trim()).toBe('43');
    const features = JSON.parse(ok(cli('features')));
    expect(features.linux.namespaces).toContain('pid');
    expect(features.linux.namespaces).not.toContain('user');
    const deleted = cli('delete', '--force', id);
    ok(deleted);

    const kept = ids.next();
    writeConfig(['sh', '-c', 'exit 3']);
    expect(cli('run', '--keep', '--bundle', bundle.dir, kept).status).toBe(3);
    expect(state(kept).status).toBe('stopped');
    ok(cli('delete', kept));
  });

  it("deleting a container never removes a neighbour's cgroup in a parent it made", async () => {
    const parent = `${ids.marker}parent`;
    const [a, b] = [ids.next(), ids.next()];
    for (const id of [a, b]) {
      writeConfig(['sleep', '60'], {
        linux: { ...(bundleConfig([]) as { linux?: object }).linux, cgroupsPath: `/${parent}/${id}` },
      });
      ok(cli('run', '-d', '--bundle', bundle.dir, id));
      remember(id);
    }
    const pathsOf = (id: string) =>
      JSON.parse(readFileSync(join(stateRoot, id, 'state.json'), 'utf8')).cgroupPaths as {
        v1: Record<string, string>;
        unified: { directory: string } | null;
        created: string[];
      };
    const bPaths = pathsOf(b);
    // a made the parent on its way; b found it.
    expect(pathsOf(a).created.some((dir) => dir.endsWith(`/${parent}`))).toBe(true);
    expect(bPaths.created.some((dir) => dir.endsWith(`/${parent}`))).toBe(false);
    ok(cli('delete', '--force', a));
    for (const dir of Object.values(bPaths.v1)) expect(existsSync(dir), dir).toBe(true);
    expect(state(b).status).toBe('running');
    ok(cli('delete', '--force', b));
    // The parent a made outlived it (b was inside then): it is this test's to remove.
    const leaves = [...Object.values(bPaths.v1), ...(bPaths.unified ? [bPaths.unified.directory] : [])];
    for (const dir of new Set(leaves.map((leaf) => leaf.slice(0, leaf.lastIndexOf('/'))))) {
      if (existsSync(dir)) rmdirSync(dir);
    }
  });

  it('delete --force of an unknown container succeeds, delete of one fails (as runc)', () => {
    expect(cli('delete', '--force', 'no-such-container').status).toBe(0);
    const result = cli('delete', 'no-such-container');
    expect(result.status).toBe(1);
  });
});

describe('create and run flags: preserved fds, socket activation, the session keyring, spec', () => {
  /** The CLI with extra fds from 3 on (each a file opened for writing). */
  function withFds(args: string[], files: string[], prefix: string[] = []): CliResult {
    const fds = files.map((file) => openSync(file, 'w'));
    try {
      const result = spawnSync(
        prefix[0] ?? process.execPath,
        [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), CLI, '--root', stateRoot, ...args],
        {
          stdio: ['ignore', 'pipe', 'pipe', ...fds],
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  it('--preserve-fds N passes fds 3 … 3+N-1 on, and nothing else', () => {
    const id = ids.next();
    const files = [join(work.path, 'fd3'), join(work.path, 'fd4')];
    writeConfig(['sh', '-c', 'echo three >&3; echo four >&4; ls /proc/self/fd']);
    const result = withFds(['run', '--preserve-fds', '2', '--bundle', bundle.dir, id], files);
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(files[0]!, 'utf8')).toBe('three\n');
    expect(readFileSync(files[1]!, 'utf8')).toBe('four\n');
    // stdio, the two, and ls's own directory fd.
    expect(result.stdout.trim().split('\n').map(Number)).toEqual([0, 1, 2, 3, 4, 5]);
    const without = withFds(['run', '--bundle', bundle.dir, ids.next()], files);
    expect(without.status).toBe(0);
    expect(without.stdout.trim().split('\n').map(Number)).toEqual([0, 1, 2, 3]);
  });

  it("passes systemd's LISTEN_FDS on when LISTEN_PID names the runtime, with LISTEN_PID=1 inside", () => {
    const id = ids.next();
    const file = join(work.path, 'listen3');
    writeConfig(['sh', '-c', 'echo "$LISTEN_FDS $LISTEN_PID" >&3']);
    // exec keeps the shell's pid: LISTEN_PID=$$ names the runtime.
    const result = withFds(
      ['run', '--bundle', bundle.dir, id],
      [file],
      ['/bin/sh', '-c', 'LISTEN_FDS=1 LISTEN_PID=$$ exec "$@"', 'sh'],
    );
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('1 1\n');
  });

  it('gives the container a fresh session keyring (_ses.<id>) unless --no-new-keyring', () => {
    // runc's config masks /proc/keys inside; the host's lists every keyring root may view.
    writeConfig(['sleep', '60']);
    const fresh = ids.next();
    ok(cli('run', '-d', '--bundle', bundle.dir, fresh));
    const kept = ids.next();
    ok(cli('run', '-d', '--no-new-keyring', '--bundle', bundle.dir, kept));
    const keys = readFileSync('/proc/keys', 'utf8');
    expect(keys).toMatch(new RegExp(`keyring\\s+_ses\\.${fresh}:`));
    expect(keys).not.toContain(`_ses.${kept}`);
    ok(cli('delete', '--force', fresh));
    ok(cli('delete', '--force', kept));
  });

  it('plan and create --dry-run print the init program in words and create nothing; --systemd-cgroup is refused', () => {
    writeConfig(['sh']);
    const id = ids.next();
    for (const args of [
      ['plan', '--bundle', bundle.dir],
      ['create', '--dry-run', '--bundle', bundle.dir, id],
    ]) {
      const out = ok(cli(...args));
      expect(out).toMatch(/new namespaces: mount, uts, ipc, pid, network/);
      expect(out).toMatch(/open root .*rootfs/);
      expect(out).toMatch(/mount proc on \/proc/);
      expect(out).toMatch(/exec/);
    }
    expect(existsSync(join(stateRoot, id))).toBe(false);
    expect(hostSnapshot([], stateRoot, ids.marker).cgroups).toEqual([]);
    const systemd = cliWith(['--systemd-cgroup', 'create', '--bundle', bundle.dir, id]);
    expect(systemd.status).toBe(1);
    expect(systemd.stderr).toMatch(/systemd/);
    expect(existsSync(join(stateRoot, id))).toBe(false);
  });

  it("spec writes runc's config.json byte for byte, and refuses to overwrite one", () => {
    const ours = scratch('spec-ours');
    const theirs = scratch('spec-runc');
    try {
      ok(cli('spec', '--bundle', ours.path));
      expect(spawnSync('runc', ['spec'], { cwd: theirs.path }).status).toBe(0);
      expect(readFileSync(join(ours.path, 'config.json'), 'utf8')).toBe(
        readFileSync(join(theirs.path, 'config.json'), 'utf8'),
      );
      expect(cli('spec', '--bundle', ours.path).status).toBe(1);
    } finally {
      ours.cleanup();
      theirs.cleanup();
    }
  });
});

describe('exec into a running container', () => {
  let id: string;
  let initPid: number;

  beforeAll(() => {
    id = ids.next();
    shared.add(id);
    writeConfig(['sleep', '300'], {});
    ok(cli('run', '-d', '--bundle', bundle.dir, id));
    initPid = remember(id);
  });
  afterAll(() => {
    cli('delete', '--force', id);
    shared.delete(id);
  });

  it('enters every namespace and the cgroup of the init, as its child in the pid namespace', () => {
    const pidFile = join(work.path, 'exec.pid');
    ok(cli('exec', '--detach', '--pid-file', pidFile, id, 'sleep', '30'));
    const execPid = Number(readFileSync(pidFile, 'utf8'));
    try {
      for (const ns of ['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup']) {
        expect(readlinkSync(`/proc/${execPid}/ns/${ns}`), ns).toBe(readlinkSync(`/proc/${initPid}/ns/${ns}`));
      }
      expect(readFileSync(`/proc/${execPid}/cgroup`, 'utf8')).toBe(
        readFileSync(`/proc/${initPid}/cgroup`, 'utf8'),
      );
      // Two pids: the host's and the container's.
      expect(readFileSync(`/proc/${execPid}/status`, 'utf8')).toMatch(/NSpid:\s+\d+\s+\d+/);
      expect(JSON.parse(ok(cli('ps', '--format', 'json', id)))).toContain(execPid);
    } finally {
      process.kill(execPid, 'SIGKILL');
    }
  });

  it('runs in the foreground with the exit status, the config process, and the flags laid over it', () => {
    expect(cli('exec', id, 'sh', '-c', 'exit 7').status).toBe(7);
    expect(ok(cli('exec', id, 'hostname')).trim()).toBe('oci-test');
    expect(ok(cli('exec', '--user', '1000:1000', id, 'id')).trim()).toMatch(/^uid=1000.*gid=1000/);
    expect(ok(cli('exec', '--cwd', '/tmp', id, 'pwd')).trim()).toBe('/tmp');
    expect(ok(cli('exec', '-e', 'FOO=bar', id, 'sh', '-c', 'echo $FOO')).trim()).toBe('bar');
    expect(
      ok(cli('exec', '--additional-gids', '10', id, 'id', '-G'))
        .trim()
        .split(' '),
    ).toContain('10');
  });

  it('leaves no fd of the runtime open in the process, and caps as the config gives them', () => {
    // ls's own directory fd is the only one beyond stdio.
    expect(
      ok(cli('exec', id, 'ls', '/proc/self/fd'))
        .trim()
        .split('\n')
        .map(Number),
    ).toEqual([0, 1, 2, 3]);
    const capEff = (extra: string[]) =>
      /CapEff:\s+([0-9a-f]+)/.exec(ok(cli('exec', ...extra, id, 'cat', '/proc/self/status')))![1];
    const plain = capEff([]);
    expect(plain).toBe(/CapEff:\s+([0-9a-f]+)/.exec(readFileSync(`/proc/${initPid}/status`, 'utf8'))![1]);
    const withAdmin = BigInt(`0x${capEff(['--cap', 'CAP_SYS_ADMIN'])}`);
    expect(withAdmin & (1n << 21n)).toBe(1n << 21n);
    expect(ok(cli('exec', '--no-new-privs', id, 'cat', '/proc/self/status'))).toMatch(/NoNewPrivs:\s+1/);
  });

  it('takes a process.json with --process', () => {
    const processFile = join(work.path, 'process.json');
    writeFileSync(
      processFile,
      JSON.stringify({
        args: ['sh', '-c', 'echo $A; id -u; pwd'],
        env: ['A=b', 'PATH=/bin'],
        cwd: '/root',
        user: { uid: 1000, gid: 1000 },
      }),
    );
    expect(ok(cli('exec', '--process', processFile, id))).toBe('b\n1000\n/root\n');
  });

  it("gives a tty exec its own terminal in the container's devpts, sent over --console-socket", async () => {
    const socketPath = join(work.path, 'exec-console.sock');
    const receiver = ConsoleSocket.listen(socketPath);
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [
        CLI,
        '--root',
        stateRoot,
        'exec',
        '-t',
        '--console-socket',
        socketPath,
        id,
        'sh',
      ]);
      const master = adoptPtyMaster(await receiver.accept());
      let text = '';
      master.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      // The container's own pty: its name resolves inside (ttyname works), as under runc.
      expect(master.slaveName).toMatch(/^\/dev\/pts\/\d+$/);
      master.write('tty; ls /dev/pts; exit 5\r');
      const status = await new Promise<number | null>((resolve) => child!.on('exit', resolve));
      await until(() => /\/dev\/pts\/\d+\r\n/.test(text), 'the shell to answer');
      expect(text).not.toMatch(/not a tty/);
      expect(status).toBe(5);
      master.destroy();
    } finally {
      receiver.close();
    }
  });

  it('never takes a pty from anything but a devpts: a ptmx planted by the image is refused', () => {
    // No /dev mount and no devpts: /dev/pts/ptmx is the image's own file (here a symlink to the
    // host's multiplexer path and, next, a regular file); exec -t must not fall back to ours.
    const planted = ids.next();
    const spec = bundleConfig(['sleep', '60']) as { mounts?: { destination: string }[] };
    const mounts = (spec.mounts ?? []).filter((m) => !m.destination.startsWith('/dev'));
    writeConfig(['sleep', '60'], { mounts });
    const pts = join(bundle.rootfs, 'dev/pts');
    mkdirSync(pts, { recursive: true });
    // The masked paths need the image's own /dev/null then.
    expect(spawnSync('mknod', [join(bundle.rootfs, 'dev/null'), 'c', '1', '3']).status).toBe(0);
    try {
      ok(cli('run', '-d', '--bundle', bundle.dir, planted));
      remember(planted);
      for (const plant of ['link', 'file']) {
        rmSync(join(pts, 'ptmx'), { force: true });
        if (plant === 'link') symlinkSync('/dev/ptmx', join(pts, 'ptmx'));
        else writeFileSync(join(pts, 'ptmx'), '');
        const result = cli('exec', '-t', planted, 'true');
        expect(result.status, plant).toBe(255);
        expect(result.stderr).toMatch(/ptmx/);
      }
    } finally {
      cli('delete', '--force', planted);
      rmSync(pts, { recursive: true, force: true });
      rmSync(join(bundle.rootfs, 'dev/null'), { force: true });
    }
  });

  it('refuses a paused container unless --ignore-paused', () => {
    ok(cli('pause', id));
    try {
      const refused = cli('exec', id, 'true');
      // runc's exec fails with 255 (its other verbs with 1).
      expect(refused.status).toBe(255);
      expect(refused.stderr).toMatch(/paused/);
    } finally {
      ok(cli('resume', id));
    }
  });

  it('never signals or enters a process that took over a recorded pid (start time checked)', () => {
    // A host process stands in for a reused pid: state.json names it with the init's start time.
    const decoy = spawn('sleep', ['60'], { stdio: 'ignore' });
    const stateFile = join(stateRoot, id, 'state.json');
    const original = readFileSync(stateFile, 'utf8');
    try {
      writeFileSync(stateFile, original.replace(`"pid": ${initPid}`, `"pid": ${decoy.pid}`));
      expect(state(id).status).toBe('stopped');
      expect(cli('kill', id, 'KILL').status).toBe(1);
      expect(cli('exec', id, 'true').status).toBe(255);
      expect(decoy.exitCode).toBe(null);
      expect(readFileSync(`/proc/${decoy.pid}/stat`, 'utf8')).toMatch(/ S /);
    } finally {
      writeFileSync(stateFile, original);
      decoy.kill('SIGKILL');
    }
  });
});

describe('the library: create(), start(), exec() and delete() in one process', () => {
  it('a created container waits for start(); its handle waits for the exit and removes it', async () => {
    const id = ids.next();
    const container = await create(bundleConfig(['sh', '-c', 'echo ran; exit 4']) as OciConfig, {
      id,
      stateRoot,
      bundleDir: bundle.dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const loaded = loadContainer(stateRoot, id);
    expect(loaded.state().status).toBe('created');
    let text = '';
    container.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    // Nothing ran yet.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(text).toBe('');
    container.start();
    expect(() => container.start()).toThrow(/started already|stopped/);
    const exit = await container.wait();
    expect(exit.code).toBe(4);
    expect(text).toBe('ran\n');
    expect(existsSync(join(stateRoot, id))).toBe(false);
  });

  it('found by id from its state: start, exec with piped stdio, ps, kill --all, delete', async () => {
    const id = ids.next();
    // Not detached: this process stays its reaper, so nothing is left a zombie.
    const owner = await create(bundleConfig(['sleep', '60']) as OciConfig, {
      id,
      stateRoot,
      bundleDir: bundle.dir,
      stdio: 'ignore',
    });
    inits.set(owner.pid, readFileSync(`/proc/${owner.pid}/stat`, 'utf8').split(' ')[21] ?? '');
    const created = loadContainer(stateRoot, id);
    expect(created.state().status).toBe('created');
    created.start();
    expect(created.state().status).toBe('running');
    const shell = await created.exec(
      {
        args: ['sh', '-c', 'read line; echo "got $line"; id -u'],
        cwd: '/',
        env: ['PATH=/bin'],
        user: { uid: 1000, gid: 1000 },
      },
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    shell.stdin.end('hello\n');
    let text = '';
    for await (const chunk of shell.stdout) text += chunk;
    expect((await shell.wait()).code).toBe(0);
    expect(text).toBe('got hello\n1000\n');
    expect(created.ps()).toEqual([created.pid]);
    await expect(created.delete()).rejects.toThrow(/not stopped: running/);
    await created.kill('SIGKILL', { all: true });
    await created.delete();
    expect((await owner.wait()).signal).toBe('SIGKILL');
    expect(existsSync(join(stateRoot, id))).toBe(false);
  });
});

describe('events: OOM kills and stats on an interval', () => {
  it('streams stats every interval and an oom event when the OOM killer strikes in the cgroup', async () => {
    const id = ids.next();
    const config = bundleConfig(['sh', '-c', 'while :; do sleep 0.2; done']) as OciConfig & {
      linux: Record<string, unknown>;
    };
    const limited = {
      ...config,
      linux: {
        ...config.linux,
        resources: { memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } },
      },
    } as OciConfig;
    const container = await create(limited, { id, stateRoot, bundleDir: bundle.dir, stdio: 'ignore' });
    container.start();
    const loaded = loadContainer(stateRoot, id);
    const abort = new AbortController();
    const seen: string[] = [];
    try {
      for await (const event of loaded.events({ intervalMs: 100, signal: abort.signal })) {
        seen.push(event.type);
        if (event.type === 'stats') {
          expect(event.data.pids?.current).toBeGreaterThan(0);
          // Twice the stats, then a process of the container that needs more than the limit.
          if (seen.filter((type) => type === 'stats').length === 2) {
            const hog = await loaded.exec(
              {
                args: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'],
                cwd: '/',
                env: ['PATH=/bin'],
              },
              { stdio: 'ignore' },
            );
            expect((await hog.wait()).signal).toBe('SIGKILL');
          }
        }
        if (event.type === 'oom') abort.abort();
      }
    } finally {
      container.kill('SIGKILL');
      await container.wait().catch(() => {});
    }
    expect(seen.filter((type) => type === 'stats').length).toBeGreaterThanOrEqual(2);
    expect(seen).toContain('oom');
  });
});

describe('a runtime SIGKILLed at any step of create', () => {
  // Every step of run.ts's sequence a create goes through (the console's only with a terminal).
  const steps = [
    'create the state directory',
    'make the exec FIFO',
    'prepare stdio',
    'open the namespaces to join',
    'create the cgroup',
    'open the cgroup for the spawn',
    'spawn the init helper',
    'write the pid and state',
    'join the cgroup',
    'set up the networks',
    'send the go signal',
    'record the container as created',
  ];

  for (const step of steps) {
    it(`leaves what delete --force removes: killed at "${step}"`, async () => {
      const id = ids.next();
      writeConfig(['sleep', '60'], {
        annotations: { 'org.nsinit.network': JSON.stringify({ networks: [{ type: 'loopback' }] }) },
      });
      const result = cliWith(['create', '--bundle', bundle.dir, id], {
        ...process.env,
        NSINIT_TEST_KILL_AT: step,
      });
      expect(result.signal, result.stderr).toBe('SIGKILL');
      const statePath = join(stateRoot, id, 'state.json');
      const recorded = existsSync(statePath)
        ? (JSON.parse(readFileSync(statePath, 'utf8')) as { pid: number; pidStartTime: string })
        : null;
      ok(cli('delete', '--force', id));
      expect(existsSync(join(stateRoot, id))).toBe(false);
      if (recorded && recorded.pid > 0) {
        await until(() => !alive(recorded.pid, recorded.pidStartTime), `init ${recorded.pid} to be gone`);
      }
      expect(hostSnapshot([], stateRoot, ids.marker)).toEqual({ ...before, stateEntries: [] });
    });
  }

  it('a state directory left without state.json is removed by delete --force', () => {
    const id = ids.next();
    const dir = join(stateRoot, id);
    spawnSync('mkdir', ['-p', dir]);
    expect(cli('state', id).status).toBe(1);
    ok(cli('delete', '--force', id));
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses to follow a symlink put in place of the exec FIFO', () => {
    const id = ids.next();
    writeConfig(['true']);
    ok(cli('create', '--bundle', bundle.dir, id));
    remember(id);
    const fifo = join(stateRoot, id, 'exec.fifo');
    rmSync(fifo);
    symlinkSync('/dev/null', fifo);
    expect(cli('start', id).status).toBe(1);
    rmSync(fifo);
    ok(cli('delete', '--force', id));
  });
});
