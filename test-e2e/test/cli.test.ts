// The CLI as a user runs it: the embedded default, exit statuses, clear errors,
// and nothing left behind.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids, makeBundle, nsinit, nsinitAsync, requireRoot, scratch } from '../src/harness.js';

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;

beforeAll(() => {
  requireRoot();
  work = scratch('cli');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'));
});
afterAll(() => work.cleanup());

function busyboxConfig(overrides: Record<string, unknown> = {}) {
  return {
    ociVersion: '1.0.2',
    process: { args: ['sh'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
    root: { path: 'rootfs' },
    hostname: 'box',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network' }],
    },
    ...overrides,
  };
}

function writeConfig(name: string, config: unknown): string {
  const path = join(bundle.dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/**
 * The init pid of a container a CLI run started, once it runs `command`: state.json is
 * written before the init is released, so the pid alone does not say the command started.
 */
async function containerPid(id: string, command: string): Promise<number> {
  const statePath = join(stateRoot, id, 'state.json');
  const deadline = Date.now() + 10_000;
  const running = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === command;
    } catch {
      return false;
    }
  };
  for (;;) {
    if (existsSync(statePath)) {
      const { pid } = JSON.parse(readFileSync(statePath, 'utf8')) as { pid: number };
      if (running(pid)) return pid;
    }
    if (Date.now() > deadline) throw new Error(`container ${id} never ran ${command}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function expectNothingLeft() {
  expect(existsSync(stateRoot) ? readdirSync(stateRoot) : []).toEqual([]);
  expect(childPids()).toEqual([]);
}

describe('nsinit exec', () => {
  it('runs the embedded default with no config: own hostname, pid 1', () => {
    const result = nsinit(['--root', stateRoot, 'exec', '--', 'sh', '-c', 'hostname; echo $$']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('nsinit\n1\n');
    expect(result.status).toBe(0);
    expectNothingLeft();
  });

  it('gives the embedded default a read-only host root and a writable fresh /tmp', () => {
    const result = nsinit([
      '--root',
      stateRoot,
      'exec',
      '--',
      'sh',
      '-c',
      'touch /etc/nsinit-must-not-exist 2>&1; echo x > /tmp/f && cat /tmp/f',
    ]);
    expect(result.stdout).toMatch(/Read-only file system\nx\n$/);
    expect(existsSync('/etc/nsinit-must-not-exist')).toBe(false);
    expect(result.status).toBe(0);
  });

  it('exits with the container status: 0, 3, and 128+9 for a SIGKILLed container', async () => {
    const config = writeConfig('exit.json', busyboxConfig());
    expect(nsinit(['--root', stateRoot, 'exec', '--config', config, '--', 'true']).status).toBe(0);
    expect(nsinit(['--root', stateRoot, 'exec', '--config', config, '--', 'sh', '-c', 'exit 3']).status).toBe(
      3,
    );

    const child = nsinitAsync([
      '--root',
      stateRoot,
      'exec',
      '--config',
      config,
      '--id',
      'to-kill',
      '--',
      'sleep',
      '60',
    ]);
    const pid = await containerPid('to-kill', 'sleep');
    process.kill(pid, 'SIGKILL');
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(status).toBe(137);
    expectNothingLeft();
  });

  it('switches the root with MS_MOVE + chroot on --no-pivot, and for a container.json with no_pivot_root', () => {
    const config = writeConfig('nopivot.json', busyboxConfig());
    const script = 'echo $$; hostname; ls / | head -1; cut -d" " -f5 /proc/self/mountinfo | tr "\\n" " "';
    const flag = nsinit([
      '--root',
      stateRoot,
      'exec',
      '--no-pivot',
      '--config',
      config,
      '--',
      'sh',
      '-c',
      script,
    ]);
    expect(flag.stderr).toBe('');
    expect(flag.stdout).toBe('1\nbox\nbin\n/ /proc ');
    expect(flag.status).toBe(0);

    const legacy = join(bundle.rootfs, 'container.json');
    writeFileSync(
      legacy,
      JSON.stringify({
        hostname: 'moved',
        no_pivot_root: true,
        namespaces: { NEWNS: true, NEWPID: true, NEWUTS: true },
        environment: ['PATH=/bin'],
      }),
    );
    const fromJson = nsinit([
      '--root',
      stateRoot,
      'exec',
      '--config',
      legacy,
      '--',
      'sh',
      '-c',
      'echo $$; hostname',
    ]);
    expect(fromJson.stderr).toBe('');
    expect(fromJson.stdout).toBe('1\nmoved\n');
    expectNothingLeft();
  });

  it('forwards SIGTERM to the container', async () => {
    const config = writeConfig('trap.json', busyboxConfig());
    const child = nsinitAsync([
      '--root',
      stateRoot,
      'exec',
      '--config',
      config,
      '--',
      'sh',
      '-c',
      "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
    ]);
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk;
        if (out.includes('ready')) resolve();
      }),
    );
    child.kill('SIGTERM');
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(out).toContain('got-term');
    expect(status).toBe(7);
    expectNothingLeft();
  });

  it('fails a missing command with a clear one-line error, status 255, nothing left', () => {
    const config = writeConfig('missing.json', busyboxConfig());
    const result = nsinit(['--root', stateRoot, 'exec', '--config', config, '--', 'no-such-command']);
    expect(result.status).toBe(255);
    expect(result.stderr).toMatch(
      /^nsinit: container [0-9a-f]{12}: cannot run "no-such-command": not found in \$PATH \(ENOENT\)/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expectNothingLeft();
  });

  it('fails a bad config naming the field, status 255, nothing left', () => {
    const config = writeConfig(
      'bad.json',
      busyboxConfig({ process: { args: ['sh'], cwd: 'relative', user: { uid: -1, gid: 0 } } }),
    );
    const result = nsinit(['--root', stateRoot, 'exec', '--config', config]);
    expect(result.status).toBe(255);
    expect(result.stderr).toMatch(
      /^nsinit: .*bad\.json: process\.user\.uid: expected a non-negative integer \(and 1 more issue\)\n$/,
    );
    expectNothingLeft();
  });

  it('refuses a config feature it does not implement rather than ignoring it', () => {
    const config = writeConfig(
      'seccomp.json',
      busyboxConfig({
        linux: { namespaces: [{ type: 'mount' }], seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } },
      }),
    );
    const result = nsinit(['--root', stateRoot, 'exec', '--config', config, '--', 'true']);
    expect(result.status).toBe(255);
    expect(result.stderr).toBe('nsinit: linux.seccomp is not supported yet\n');
    expectNothingLeft();
  });

  it('fails a missing rootfs clearly', () => {
    const config = writeConfig('noroot.json', busyboxConfig({ root: { path: 'does-not-exist' } }));
    const result = nsinit(['--root', stateRoot, 'exec', '--config', config, '--', 'true']);
    expect(result.status).toBe(255);
    expect(result.stderr).toMatch(/root\.path .*does-not-exist does not exist/);
    expectNothingLeft();
  });

  it('refuses a second container with an id in use', async () => {
    const config = writeConfig('dup.json', busyboxConfig());
    const first = nsinitAsync([
      '--root',
      stateRoot,
      'exec',
      '--config',
      config,
      '--id',
      'dup',
      '--',
      'sleep',
      '60',
    ]);
    const pid = await containerPid('dup', 'sleep');
    const second = nsinit(['--root', stateRoot, 'exec', '--config', config, '--id', 'dup', '--', 'true']);
    expect(second.status).toBe(255);
    expect(second.stderr).toMatch(/"dup" already exists/);
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => first.on('exit', resolve));
    expectNothingLeft();
  });

  it('prints help and rejects unknown commands', () => {
    const help = nsinit(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/exec \[options\]/);
    // Usage errors exit 1, as runc's do.
    const bad = nsinit(['frobnicate']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("unknown command 'frobnicate'");
  });

  it("brings the embedded default's loopback up", () => {
    // IFF_UP is bit 0 of the flags (a loopback's operstate stays "unknown" when it is up).
    const result = nsinit([
      '--root',
      stateRoot,
      'exec',
      '--',
      'sh',
      '-c',
      'cat /sys/class/net/lo/flags; cat /sys/class/net/lo/operstate',
    ]);
    expect(result.stderr).toBe('');
    const [flags, operstate] = result.stdout.trim().split('\n');
    expect(Number(flags) & 1).toBe(1);
    expect(operstate).not.toBe('down');
    expect(result.status).toBe(0);
    expectNothingLeft();
  });
});

describe('the command line', () => {
  it("prints the version for -v (runc's spelling) and --version", () => {
    const short = nsinit(['-v']);
    expect(short).toMatchObject({ status: 0, stderr: '' });
    // runc's three lines: version, commit, spec.
    expect(short.stdout).toMatch(/^nsinit version \d+\.\d+\.\d+\ncommit: \S+\nspec: \d+\.\d+\.\d+\n$/);
    expect(nsinit(['--version']).stdout).toBe(short.stdout);
  });

  it('answers a usage error with one line and where to look', () => {
    const bad = nsinit(['exec', '--bogus']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe("nsinit: unknown option '--bogus'\nsee 'nsinit exec --help'\n");
    expect(bad.stdout).toBe('');
  });

  it('writes JSON lines to stderr with --log-format json and no --log', () => {
    const result = nsinit([
      '--log-format',
      'json',
      '--root',
      stateRoot,
      'exec',
      '--config',
      join(work.path, 'missing.json'),
    ]);
    expect(result.status).toBe(255);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'error',
      msg: expect.stringContaining('missing.json'),
    });
  });

  it("refuses --id '' and --root '' rather than using the defaults, and creates nothing", () => {
    for (const args of [
      ['--root', stateRoot, 'exec', '--id', '', '--', 'true'],
      ['--root', '', 'exec', '--', 'true'],
    ]) {
      const result = nsinit(args);
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/is invalid\. an empty (container id|state root) names nothing/);
    }
    expectNothingLeft();
    expect(existsSync(stateRoot) ? readdirSync(stateRoot) : []).toEqual([]);
  });
});
