// The in-process library on a busybox rootfs: isolation, identity, stdio,
// exit statuses, aborts, failures that leave nothing, and many runs in a row.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import {
  type Container,
  InitError,
  MaxBufferError,
  type OciConfig,
  output,
  type RunOptions,
  run,
} from 'nsinit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids, footprint, makeBundle, requireRoot, scratch, TEST_USER } from '../src/harness.js';

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;

beforeAll(() => {
  requireRoot();
  work = scratch('lib');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'));
});
afterAll(() => work.cleanup());

function config(
  overrides: Partial<OciConfig> = {},
  process: Partial<NonNullable<OciConfig['process']>> = {},
): OciConfig {
  return {
    ociVersion: '1.0.2',
    process: {
      args: ['sh'],
      cwd: '/',
      env: ['PATH=/bin:/usr/bin', 'HOME=/root'],
      user: { uid: 0, gid: 0 },
      ...process,
    },
    root: { path: bundle.rootfs },
    hostname: 'lib-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    ],
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network' }],
    },
    ...overrides,
  } as OciConfig;
}

async function runToEnd(cfg: OciConfig, options: RunOptions = {}) {
  const container = await run(cfg, { stateRoot, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const [stdout, stderr, exit] = await Promise.all([
    text(container.stdout!),
    text(container.stderr!),
    container.wait(),
  ]);
  return { stdout, stderr, exit, container };
}

function sh(script: string): RunOptions {
  return { args: ['sh', '-c', script] };
}

describe('isolation', () => {
  it('runs as pid 1 with its own hostname', async () => {
    const { stdout, exit } = await runToEnd(config(), sh('echo $$; hostname; cat /proc/1/comm; :'));
    expect(stdout).toBe('1\nlib-test\nsh\n');
    expect(exit).toEqual({ code: 0, signal: null, status: 0, oomKilled: false });
  });

  it('cannot see host processes', async () => {
    const { stdout } = await runToEnd(
      config(),
      sh(`ls -d /proc/[0-9]* | wc -l; test -e /proc/${process.pid} && echo host-visible || echo hidden`),
    );
    const [count, visible] = stdout.trim().split('\n');
    // sh (pid 1), ls and wc.
    expect(Number(count)).toBeLessThanOrEqual(3);
    expect(visible).toBe('hidden');
  });

  it('has its own mount table rooted at the busybox rootfs, without the host mounts', async () => {
    const { stdout } = await runToEnd(config(), sh('cat /proc/self/mountinfo'));
    const mountPoints = stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[4]);
    expect(mountPoints).toEqual(['/', '/proc', '/dev', '/tmp']);
    // The host's table differs: this worker sees far more.
    expect(readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length).toBeGreaterThan(
      mountPoints.length,
    );
    const { stdout: listing } = await runToEnd(config(), sh('ls /'));
    expect(listing.split('\n')).toContain('bin');
    expect(listing).not.toContain('work');
  });

  it('has its own network namespace with only loopback', async () => {
    const { stdout } = await runToEnd(config(), sh('ls /sys/class/net 2>/dev/null || cat /proc/net/dev'));
    expect(stdout).toContain('lo');
    expect(stdout).not.toMatch(/eth|ens|enp/);
  });

  it('joins existing network and uts namespaces given by path', async () => {
    const netns = `nsinit-e2e-${process.pid}`;
    const host = spawn('unshare', ['--uts', 'sh', '-c', 'hostname joined-uts && exec sleep 30'], {
      stdio: 'ignore',
    });
    try {
      execFileSync('ip', ['netns', 'add', netns]);
      execFileSync('ip', ['-n', netns, 'link', 'add', 'nsinit0', 'type', 'veth', 'peer', 'name', 'nsinit1']);
      // Wait until the helper process has set its hostname in its own uts namespace.
      const utsPath = `/proc/${host.pid}/ns/uts`;
      for (let i = 0; i < 100 && readFileSync(`/proc/${host.pid}/comm`, 'utf8').trim() !== 'sleep'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const cfg = config({
        hostname: '',
        linux: {
          namespaces: [
            { type: 'mount' },
            { type: 'pid' },
            { type: 'network', path: `/run/netns/${netns}` },
            { type: 'uts', path: utsPath },
          ],
        },
      });
      const { stdout, exit } = await runToEnd(cfg, sh('hostname; grep -o nsinit0 /proc/net/dev'));
      expect(exit.status).toBe(0);
      expect(stdout).toBe('joined-uts\nnsinit0\n');
    } finally {
      host.kill('SIGKILL');
      spawnSync('ip', ['netns', 'delete', netns]);
    }
  });

  it('gets the default soft RLIMIT_NOFILE back when the config sets none (Node raised its own)', async () => {
    const hard = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+\S+\s+(\S+)/m)![1]!;
    const { stdout } = await runToEnd(config(), sh('ulimit -n; ulimit -Hn'));
    expect(stdout).toBe(`${Math.min(1024, Number(hard))}\n${hard}\n`);
  });

  it('runs as the configured uid, gid and supplementary groups', async () => {
    const { stdout } = await runToEnd(
      config(
        {},
        { user: { uid: TEST_USER.uid, gid: TEST_USER.gid, additionalGids: [10] }, cwd: '/home/tester' },
      ),
      sh('id -u; id -g; id -G; pwd; grep -E "^(Uid|Gid|CapEff)" /proc/self/status'),
    );
    const lines = stdout.trim().split('\n');
    expect(lines.slice(0, 4)).toEqual(['1000', '1000', '1000 10', '/home/tester']);
    expect(lines[4]).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/);
    expect(lines[5]).toMatch(/^Gid:\s+1000\s+1000\s+1000\s+1000$/);
    // A non-root user without a capabilities section gets none.
    expect(lines[6]).toMatch(/^CapEff:\s+0+$/);
  });

  it('roots a cgroup namespace at the devices cgroup the container was put in', async () => {
    const cfg = config({
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro', 'nosuid', 'nodev', 'noexec'] },
        {
          destination: '/sys/fs/cgroup',
          type: 'cgroup',
          source: 'cgroup',
          options: ['ro', 'nosuid', 'nodev', 'noexec'],
        },
      ],
      linux: {
        namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'uts' }, { type: 'cgroup' }],
        resources: { devices: [{ allow: false, access: 'rwm' }] },
      },
    });
    const { stdout, exit, container } = await runToEnd(
      cfg,
      sh('grep -E ":devices:" /proc/self/cgroup; head -1 /sys/fs/cgroup/devices/devices.list'),
    );
    expect(exit.status).toBe(0);
    const [membership, firstRule] = stdout.trim().split('\n');
    expect(membership).toMatch(/^\d+:devices:\/$/);
    // Deny-all, then runc's default list: mknod of any char device comes first.
    expect(firstRule).toBe('c *:* m');
    // Its own cgroup is gone (others' nsinit-* cgroups on this machine are none of this test's business).
    expect(readdirSync('/sys/fs/cgroup/devices')).not.toContain(`nsinit-${container.id}`);
  });

  it('refuses writes to a read-only root', async () => {
    const { stdout, stderr } = await runToEnd(
      config({ root: { path: bundle.rootfs, readonly: true } }),
      sh('touch /etc/x; echo status=$?; touch /tmp/x && echo tmp-ok'),
    );
    expect(stderr).toContain('Read-only file system');
    expect(stdout).toBe('status=1\ntmp-ok\n');
    expect(existsSync(join(bundle.rootfs, 'etc/x'))).toBe(false);
  });
});

describe('exits and signals', () => {
  it('reports exit codes 0 and 3', async () => {
    expect((await runToEnd(config(), { args: ['true'] })).exit.status).toBe(0);
    expect((await runToEnd(config(), sh('exit 3'))).exit).toEqual({
      code: 3,
      signal: null,
      status: 3,
      oomKilled: false,
    });
  });

  it('reports a SIGKILLed container as 137', async () => {
    const container = await run(config(), { stateRoot, stdio: 'ignore', args: ['sleep', '60'] });
    expect(container.kill('SIGKILL')).toBe(true);
    expect(await container.wait()).toEqual({ code: null, signal: 'SIGKILL', status: 137, oomKilled: false });
    expect(container.kill()).toBe(false);
  });

  it('pipes stdin through', async () => {
    const container = await run(config(), { stateRoot, args: ['sh', '-c', 'tr a-z A-Z'] });
    container.stdin!.end('hello\n');
    expect(await text(container.stdout!)).toBe('HELLO\n');
    expect((await container.wait()).status).toBe(0);
  });

  it('kills the container when the signal aborts after the start, and wait() rejects with an AbortError', async () => {
    const controller = new AbortController();
    const container = await run(config(), {
      stateRoot,
      stdio: 'ignore',
      args: ['sleep', '60'],
      signal: controller.signal,
    });
    controller.abort();
    await expect(container.wait()).rejects.toMatchObject({
      name: 'AbortError',
      code: 'ABORT_ERR',
      exit: { status: 137 },
    });
    expect(readdirSync(stateRoot)).toEqual([]);
  });

  it('unwinds a start aborted before it completes and leaves nothing', async () => {
    const before = footprint(stateRoot);
    const controller = new AbortController();
    controller.abort();
    await expect(
      run(config(), { stateRoot, args: ['true'], signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(footprint(stateRoot)).toEqual(before);
  });

  it('leaves nothing when aborted at any moment of the start', async () => {
    await runToEnd(config(), { args: ['true'] }); // the sealed helper fd is opened once per process
    const before = footprint(stateRoot);
    const outcomes = new Set<string>();
    for (let delay = 0; delay < 24; delay++) {
      const controller = new AbortController();
      // 0: as soon as the I/O phase comes; then later and later into the start.
      const timer =
        delay === 0
          ? setImmediate(() => controller.abort())
          : setTimeout(() => controller.abort(), delay / 4);
      try {
        const container = await run(config(), {
          stateRoot,
          stdio: 'ignore',
          args: ['sleep', '60'],
          signal: controller.signal,
        });
        // Started before the abort came: the abort kills it, and wait() says so.
        await expect(container.wait()).rejects.toMatchObject({ name: 'AbortError', exit: { status: 137 } });
        outcomes.add('killed after the start');
      } catch (error) {
        expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
        outcomes.add('start unwound');
      }
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
      expect(footprint(stateRoot)).toEqual(before);
    }
    expect(outcomes.has('start unwound')).toBe(true);
  });

  it('is disposable: await using kills and cleans up', async () => {
    let container: Container | undefined;
    {
      await using c = await run(config(), { stateRoot, stdio: 'ignore', args: ['sleep', '60'] });
      container = c;
      expect(readdirSync(stateRoot)).toEqual([c.id]);
    }
    expect(container.exited).toBe(true);
    expect(readdirSync(stateRoot)).toEqual([]);
  });
});

describe('failures leave nothing behind', () => {
  it('a command that does not exist: typed error, no child, no fds, no state', async () => {
    const before = footprint(stateRoot);
    const error = await run(config(), { stateRoot, args: ['/bin/nope'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InitError);
    expect(error).toMatchObject({ code: 'ERR_NSINIT_COMMAND_NOT_FOUND', op: 'exec', errnoCode: 'ENOENT' });
    expect((error as Error).message).toContain('"/bin/nope"');
    expect(footprint(stateRoot)).toEqual(before);
  });

  it('an operation failing inside the container names it, with errno and path', async () => {
    const before = footprint(stateRoot);
    const bad = config({
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/mnt', type: 'no-such-fs', source: 'x' },
      ],
    });
    const error = await run(bad, { stateRoot, args: ['true'] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_NSINIT_INIT_FAILED', op: 'fsmount', errnoCode: 'ENODEV' });
    expect((error as Error).message).toMatch(
      /init failed at op \d+ \(mount no-such-fs on \/mnt\): no such device \(ENODEV\) \[mount no-such-fs on \/mnt: open a no-such-fs filesystem\]$/,
    );
    expect(footprint(stateRoot)).toEqual(before);
  });

  it("names a filesystem option the kernel refuses, with the kernel's own words", async () => {
    const before = footprint(stateRoot);
    const bad = config({
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['mode=1777', 'nosiud'] },
      ],
    });
    const error = await run(bad, { stateRoot, args: ['true'] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_NSINIT_INIT_FAILED', op: 'fsmount', errnoCode: 'EINVAL' });
    expect((error as Error).message).toMatch(
      /\[mount tmpfs on \/tmp: option "nosiud" tmpfs: Unknown parameter 'nosiud'\]$/,
    );
    expect(footprint(stateRoot)).toEqual(before);
  });

  it('a bad config: validation error before anything is created', async () => {
    const before = footprint(stateRoot);
    const bad = {
      ...config(),
      process: { args: ['true'], cwd: '/', user: { uid: 'root', gid: 0 } },
    } as unknown as OciConfig;
    await expect(run(bad, { stateRoot })).rejects.toMatchObject({ code: 'ERR_NSINIT_CONFIG_INVALID' });
    expect(footprint(stateRoot)).toEqual(before);
  });

  it('100 sequential containers leave fds, the state root and the process table as they were', async () => {
    const cfg = config();
    await runToEnd(cfg, { args: ['true'] }); // warm up: the sealed helper fd is opened once per process
    const before = footprint(stateRoot);
    for (let i = 0; i < 100; i++) {
      const container = await run(cfg, { stateRoot, stdio: 'ignore', args: ['true'] });
      expect((await container.wait()).status).toBe(0);
    }
    expect(footprint(stateRoot)).toEqual(before);
    expect(childPids()).toEqual([]);
  });
});

describe('output(): a container as a function', () => {
  it('resolves with stdout, stderr and the exit, feeding stdin from input', async () => {
    const result = await output(config({}, { args: ['sh', '-c', 'tr a-z A-Z; echo oops >&2; exit 4'] }), {
      stateRoot,
      input: 'hello\n',
    });
    expect(result).toEqual({
      stdout: 'HELLO\n',
      stderr: 'oops\n',
      exit: { code: 4, signal: null, status: 4, oomKilled: false },
    });
  });

  it('kills a container that prints past maxBuffer, keeping what came before', async () => {
    const before = footprint(stateRoot);
    const error = await output(config({}, { args: ['sh', '-c', 'while :; do echo 0123456789; done'] }), {
      stateRoot,
      maxBuffer: 4096,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaxBufferError);
    expect(error).toMatchObject({ code: 'ERR_NSINIT_MAX_BUFFER', stream: 'stdout', maxBuffer: 4096 });
    const { output: partial } = error as MaxBufferError;
    expect(partial.stdout).toHaveLength(4096);
    expect(partial.stdout.startsWith('0123456789\n')).toBe(true);
    expect(partial.exit).toMatchObject({ signal: 'SIGKILL', status: 137 });
    expect(footprint(stateRoot)).toEqual(before);
  });

  it('rejects with an AbortError carrying what was printed when its signal aborts', async () => {
    const controller = new AbortController();
    const running = output(config({}, { args: ['sh', '-c', 'echo started; sleep 30'] }), {
      stateRoot,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 200);
    await expect(running).rejects.toMatchObject({
      name: 'AbortError',
      stdout: 'started\n',
      exit: { status: 137 },
    });
  });
});
