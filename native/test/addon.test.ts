// The addon on its own: spawn a sealed static busybox in place of the init
// helper (busybox picks its applet from argv[0]), so these tests need nothing
// but the addon and Debian's busybox-static.
import { spawn as spawnProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUTS,
  candidateDirs,
  NativeLoadError,
  native,
  type SpawnOptions,
} from '../lib/index.js';

const BUSYBOX = '/bin/busybox';

let busybox: number;
beforeAll(() => {
  if (!existsSync(BUSYBOX)) throw new Error(`these tests need ${BUSYBOX} (apt-get install busybox-static)`);
  busybox = native().createSealedMemfd({ name: 'busybox-under-test', path: BUSYBOX, executable: true });
});
afterAll(() => closeSync(busybox));

/** Runs busybox with the given fds placed (stdin from /dev/null unless placed) and returns its stdout and exit. */
async function run(argv: string[], extra: Partial<SpawnOptions> = {}) {
  const [out, outWrite] = native().pipe();
  const devNull = openSync('/dev/null', 'r');
  try {
    const child = native().spawn({
      helperFd: busybox,
      argv,
      cloneFlags: 0,
      fds: [
        { from: devNull, to: 0 },
        { from: outWrite, to: 1 },
        { from: outWrite, to: 2 },
      ],
      ...extra,
    });
    closeSync(outWrite);
    const exit = await native().waitExit({ pidfd: child.pidfd });
    closeSync(child.pidfd);
    return { exit, stdout: readFileSync(out, 'utf8'), pid: child.pid };
  } finally {
    closeSync(out);
    closeSync(devNull);
  }
}

describe('spawn and waitExit', () => {
  it('a watch with ref: false reaps a child that ends first but does not keep the process alive', async () => {
    const addon = new URL('../dist/index.js', import.meta.url).href;
    // A Node process that spawns a long sleep, watches it unref'd, and has nothing else to do:
    // it must end at once (printing the pid), leaving the sleep to be reparented.
    const script = `
      const { native } = await import(${JSON.stringify(addon)});
      const fs = await import('node:fs');
      const helper = native().createSealedMemfd({ name: 'bb', path: '/bin/busybox', executable: true });
      const child = native().spawn({ helperFd: helper, argv: ['sleep', '30'], cloneFlags: 0, fds: [] });
      native().waitExit({ pidfd: child.pidfd, ref: false });
      process.stdout.write(String(child.pid));
    `;
    const started = Date.now();
    const node = spawnProcess(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    node.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const [code] = await once(node, 'exit');
    const pid = Number(out);
    try {
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(20_000);
      // Still alive: the watch neither killed it nor waited for it.
      expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/\(memfd:bb\) S /);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
    expect(() => native().waitExit({ pidfd: 0, ref: 1 as unknown as boolean })).toThrow(
      /ref must be a boolean/,
    );
  });

  it('reports exit codes and signals in the shell convention', async () => {
    expect((await run(['true'])).exit).toEqual({ code: 0, signal: null, status: 0 });
    expect((await run(['sh', '-c', 'exit 3'])).exit).toEqual({ code: 3, signal: null, status: 3 });
    const killed = await run(['sh', '-c', 'kill -9 $$']);
    expect(killed.exit).toMatchObject({ code: null, signal: constants.signals.SIGKILL, status: 137 });
  });

  it('creates the requested namespaces', async () => {
    const { stdout, exit } = await run(['sh', '-c', 'echo $$; hostname ns-test; hostname'], {
      cloneFlags: CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWNS,
    });
    expect(exit.code).toBe(0);
    expect(stdout).toBe('1\nns-test\n');
  });

  it('places fds at their numbers, even over each other, and closes everything else', async () => {
    const [aRead, aWrite] = native().pipe();
    const [bRead, bWrite] = native().pipe();
    try {
      // Swap: a's write end goes where b's is now, and b's where a's is now.
      const [out, outWrite] = native().pipe();
      const child = native().spawn({
        helperFd: busybox,
        argv: [
          'sh',
          '-c',
          `echo A >&${bWrite}; echo B >&${aWrite}; ls /proc/self/fd | sort -n | tr '\\n' ' '`,
        ],
        cloneFlags: 0,
        fds: [
          { from: outWrite, to: 1 },
          { from: aWrite, to: bWrite },
          { from: bWrite, to: aWrite },
        ],
      });
      closeSync(outWrite);
      closeSync(aWrite);
      closeSync(bWrite);
      expect((await native().waitExit({ pidfd: child.pidfd })).code).toBe(0);
      closeSync(child.pidfd);
      const listed = readFileSync(out, 'utf8').trim().split(' ').map(Number);
      closeSync(out);
      // 1 and the two swapped fds; `ls` adds one fd of its own for the directory it reads.
      const expected = [1, aWrite, bWrite].sort((x, y) => x - y);
      expect(listed.filter((fd) => expected.includes(fd))).toEqual(expected);
      expect(listed.length).toBe(expected.length + 1);
      expect(readFileSync(aRead, 'utf8')).toBe('A\n');
      expect(readFileSync(bRead, 'utf8')).toBe('B\n');
    } finally {
      closeSync(aRead);
      closeSync(bRead);
    }
  });
});

describe('signals, failures and the other calls', () => {
  it('signals through the pidfd and reports false once the process is gone', async () => {
    const child = native().spawn({ helperFd: busybox, argv: ['sleep', '30'], cloneFlags: 0, fds: [] });
    // The child starts with every signal blocked (the real helper unblocks them), so only SIGKILL lands here.
    expect(native().pidfdSendSignal({ pidfd: child.pidfd, signal: constants.signals.SIGKILL })).toBe(true);
    expect(await native().waitExit({ pidfd: child.pidfd })).toMatchObject({
      signal: constants.signals.SIGKILL,
      status: 137,
    });
    expect(native().pidfdSendSignal({ pidfd: child.pidfd, signal: 0 })).toBe(false);
    closeSync(child.pidfd);
  });

  it('opens a pidfd by pid (CLOEXEC) that signals, and waits for a child of ours', async () => {
    const child = native().spawn({ helperFd: busybox, argv: ['sleep', '30'], cloneFlags: 0, fds: [] });
    const pidfd = native().pidfdOpen(child.pid);
    try {
      expect(pidfd).not.toBe(child.pidfd);
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${pidfd}`, 'utf8'))![1]!;
      const O_CLOEXEC = 0o2000000; // Node's fs.constants lacks it
      expect(Number.parseInt(flags, 8) & O_CLOEXEC).toBe(O_CLOEXEC);
      expect(native().pidfdSendSignal({ pidfd, signal: constants.signals.SIGKILL })).toBe(true);
      // Either pidfd may reap it: the first to wait does.
      expect(await native().waitExit({ pidfd })).toMatchObject({ signal: constants.signals.SIGKILL });
      expect(native().pidfdSendSignal({ pidfd: child.pidfd, signal: 0 })).toBe(false);
    } finally {
      closeSync(pidfd);
      closeSync(child.pidfd);
    }
  });

  it('refuses a pid that names no process (ESRCH) and one that is no pid', () => {
    // Above the kernel's pid_max limit (2^22): never a process.
    expect(() => native().pidfdOpen(0x7fff_fff0)).toThrow(
      expect.objectContaining({
        code: 'ESRCH',
        syscall: 'pidfd_open',
        message: expect.stringMatching(/pid 2147483632/),
      }),
    );
    for (const pid of [0, -1, 1.5, 2 ** 31, '1']) {
      expect(() => native().pidfdOpen(pid as number)).toThrow(/pid must be an integer from 1/);
    }
  });

  it('resolves at once for a process that already exited', async () => {
    const child = native().spawn({ helperFd: busybox, argv: ['true'], cloneFlags: 0, fds: [] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await native().waitExit({ pidfd: child.pidfd })).toMatchObject({ code: 0 });
    closeSync(child.pidfd);
  });

  it('throws a system error naming execveat when the helper is not executable', () => {
    const junk = native().createSealedMemfd({ name: 'junk', contents: Buffer.from('not an executable\n') });
    try {
      expect(() => native().spawn({ helperFd: junk, argv: ['x'], cloneFlags: 0, fds: [] })).toThrow(
        expect.objectContaining({ code: 'ENOEXEC', syscall: 'execveat' }),
      );
    } finally {
      closeSync(junk);
    }
  });

  it('names the errno of a failed clone3 (EAGAIN in a pids cgroup at its limit)', async () => {
    // A Node process of our own, moved into a v1 pids cgroup whose limit it already exceeds
    // (migration may exceed pids.max, forking may not), calls spawn: clone3 fails with EAGAIN.
    const addon = candidateDirs()
      .map((dir) => `${dir}/nsinit.node`)
      .find((path) => existsSync(path));
    if (!addon) throw new Error('the addon is not built');
    const cgroup = `/sys/fs/cgroup/pids/nsinit-test-clone3-${process.pid}`;
    if (!existsSync('/sys/fs/cgroup/pids/cgroup.procs'))
      throw new Error('this test needs the v1 pids controller');
    const script = `
      const addon = require(process.argv[1]);
      const helperFd = addon.createSealedMemfd({ name: 'true', path: '/bin/true', executable: true });
      process.stdin.once('data', () => {
        let outcome;
        try {
          addon.spawn({ helperFd, argv: ['true'], cloneFlags: 0, fds: [] });
          outcome = { spawned: true };
        } catch (error) {
          outcome = { code: error.code, errno: error.errno, syscall: error.syscall, message: error.message };
        }
        process.stdout.write(JSON.stringify(outcome) + '\\n', () => process.exit(0));
      });
      process.stdout.write('ready\\n');`;
    mkdirSync(cgroup);
    const child = spawnProcess(process.execPath, ['-e', script, addon], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      expect((await lines.next()).value).toBe('ready');
      writeFileSync(`${cgroup}/pids.max`, '1');
      writeFileSync(`${cgroup}/cgroup.procs`, String(child.pid));
      child.stdin!.write('go');
      const outcome = JSON.parse((await lines.next()).value as string);
      expect(outcome).toEqual({
        code: 'EAGAIN',
        errno: -constants.errno.EAGAIN,
        syscall: 'clone3',
        message: 'clone3 failed: Resource temporarily unavailable (EAGAIN)',
      });
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      rmdirSync(cgroup);
    }
  });

  it('rejects bad options with a TypeError instead of spawning', () => {
    expect(() => native().spawn({ helperFd: busybox, argv: [], cloneFlags: 0, fds: [] })).toThrow(/argv/);
    expect(() =>
      native().spawn({ helperFd: busybox, argv: ['true'], cloneFlags: 0x100 /* CLONE_VM */, fds: [] }),
    ).toThrow(/CLONE_NEW/);
    expect(() =>
      native().spawn({
        helperFd: busybox,
        argv: ['true'],
        cloneFlags: 0,
        fds: [
          { from: 0, to: 1 },
          { from: 2, to: 1 },
        ],
      }),
    ).toThrow(/two placements/);
  });

  it('seals memfds against writes', () => {
    const fd = native().createSealedMemfd({ name: 'sealed', contents: Buffer.from('x') });
    try {
      expect(() => writeSync(fd, 'y')).toThrow(expect.objectContaining({ code: 'EPERM' }));
      expect(readFileSync(fd, 'utf8')).toBe('x');
    } finally {
      closeSync(fd);
    }
  });

  it('creates CLOEXEC socket pairs and pipes', () => {
    for (const pair of [native().socketPair(), native().pipe()]) {
      expect(pair).toHaveLength(2);
      for (const fd of pair) {
        const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!;
        expect(Number.parseInt(flags, 8) & 0o2000000 /* O_CLOEXEC */).not.toBe(0);
      }
      closeSync(pair[0]);
      closeSync(pair[1]);
    }
  });

  it('takes and releases flock locks', () => {
    const a = openSync('/proc/self/exe', 'r');
    const b = openSync('/proc/self/exe', 'r');
    try {
      expect(native().flock({ fd: a, operation: 'exclusive' })).toBe(true);
      expect(native().flock({ fd: b, operation: 'exclusive' })).toBe(false);
      expect(native().flock({ fd: a, operation: 'unlock' })).toBe(true);
      expect(native().flock({ fd: b, operation: 'shared' })).toBe(true);
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });

  it('says every path it tried when the addon cannot be found', () => {
    const previous = process.env.NSINIT_NATIVE_DIR;
    process.env.NSINIT_NATIVE_DIR = '/nonexistent/nsinit';
    try {
      expect(candidateDirs()[0]).toBe('/nonexistent/nsinit');
      const error = new NativeLoadError(
        'x',
        candidateDirs().map((path) => ({ path, error: 'not found' })),
      );
      expect(error.message).toContain('/nonexistent/nsinit: not found');
      expect(error.code).toBe('ERR_NSINIT_NATIVE_LOAD');
    } finally {
      if (previous === undefined) delete process.env.NSINIT_NATIVE_DIR;
      else process.env.NSINIT_NATIVE_DIR = previous;
    }
  });
});
