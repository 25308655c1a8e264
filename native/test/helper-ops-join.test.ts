// Joining a running process's namespaces, the way `exec` into a container does: SETNS with a
// pidfd (several namespaces at once) or with namespace fds (now also pid and time), then
// CLONE_PARENT into the joined pid namespace. Run for real as root; the namespaces are held by
// `unshare` processes released after the tests, and every process the helper makes is reaped.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
} from '../lib/constants.js';
import { pidfdOpen } from '../lib/index.js';
import { encodeProgram, type InitOp, OPCODES } from '../lib/program.js';
import { decodeChildReport } from '../lib/report.js';
import {
  assertHelperBuilt,
  childrenOfThisProcess,
  holdNamespaces,
  launchHelper,
  type NamespaceHolder,
  onlyError,
  parentOf,
  reapChild,
  runHelper,
} from './helper-harness.js';

const EINVAL = 22;
const ESRCH = 3;
const PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

const sh = (script: string): InitOp => ({ op: 'exec', args: ['/bin/sh', '-c', script], env: [PATH] });

/** uts and net namespaces with a hostname of their own, held by a process that is their only member. */
let utsNet: NamespaceHolder;
/** A pid and a time namespace, held by the forked child of `unshare` (pid 1 there). */
let pidTime: NamespaceHolder;
let dir: string;

beforeAll(async () => {
  assertHelperBuilt();
  utsNet = await holdNamespaces(['--uts', '--net'], 'hostname nsinit-pidfd');
  pidTime = await holdNamespaces(['--pid', '--time', '--fork']);
});

afterAll(async () => {
  await Promise.all([utsNet?.release(), pidTime?.release()]);
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsinit-join-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ns = (pid: number | 'self', name: string) => readlinkSync(`/proc/${pid}/ns/${name}`);

/** Runs `ops` through the harness with `fds` at 5, 6, ...; closes them after. */
async function runWithFds(ops: InitOp[], fds: number[]) {
  try {
    return await runHelper(encodeProgram(ops), { extraFds: fds });
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

describe('SETNS into a mount namespace', () => {
  it("resolves every later path in the joined namespace's root, never in the helper's old one", async () => {
    // A mount namespace whose root is a tmpfs (pivot_root), with a file the host does not have.
    const root = join(dir, 'root');
    const holder = await holdNamespaces(
      ['--mount', '--propagation', 'private'],
      `mkdir -p ${root} && mount -t tmpfs t ${root} && mkdir ${root}/bin ${root}/old && ` +
        `cp /bin/busybox ${root}/bin/ && ln -s busybox ${root}/bin/sleep && echo before > ${root}/marker && ` +
        `cd ${root} && pivot_root . old && /bin/busybox umount -l /old`,
    );
    try {
      const run = await runWithFds(
        [
          { op: 'setns', fd: 5, nstype: CLONE_NEWNS, pidfd: true },
          { op: 'close', fd: 5 },
          // In root: /marker exists only in the joined namespace's root.
          { op: 'writeFile', path: '/marker', data: 'written from the joined root' },
          { op: 'exec', args: ['/bin/sleep', '0'], env: [PATH] },
        ],
        [pidfdOpen(holder.pid)],
      );
      expect(decodeChildReport(run.report), run.stderr).toBeNull();
      expect(run.status).toBe(0);
      expect(readFileSync(`/proc/${holder.pid}/root/marker`, 'utf8')).toBe('written from the joined root');
      expect(existsSync('/marker')).toBe(false);
    } finally {
      await holder.release();
    }
  });
});

describe('SETNS with a pidfd', () => {
  it("enters the process's uts and network namespaces at once, and nothing else", async () => {
    const run = await runWithFds(
      [
        { op: 'setns', fd: 5, nstype: CLONE_NEWUTS | CLONE_NEWNET, pidfd: true },
        { op: 'close', fd: 5 },
        sh('hostname; readlink /proc/self/ns/uts /proc/self/ns/net /proc/self/ns/ipc /proc/self/ns/mnt'),
      ],
      [pidfdOpen(utsNet.pid)],
    );
    expect(decodeChildReport(run.report), run.stderr).toBeNull();
    expect(run.status).toBe(0);
    const [hostname, uts, net, ipc, mnt] = run.stdout.trim().split('\n');
    expect(hostname).toBe('nsinit-pidfd');
    expect(uts).toBe(ns(utsNet.pid, 'uts'));
    expect(net).toBe(ns(utsNet.pid, 'net'));
    expect(uts).not.toBe(ns('self', 'uts'));
    // Not asked for: left as they were.
    expect(ipc).toBe(ns('self', 'ipc'));
    expect(mnt).toBe(ns('self', 'mnt'));
  });

  it('fails with ESRCH for a process that is gone', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pidfd = pidfdOpen(sleeper.pid!);
    const gone = once(sleeper, 'exit');
    sleeper.kill('SIGKILL');
    await gone;
    const error = onlyError(
      await runWithFds(
        [{ op: 'setns', fd: 5, nstype: CLONE_NEWUTS | CLONE_NEWIPC, pidfd: true }, sh('true')],
        [pidfd],
      ),
    );
    expect(error).toMatchObject({ opIndex: 0, opcode: OPCODES.setns, errno: ESRCH });
    expect(error.detail).toBe('setns pidfd 5 (0xc000000)');
  });

  it('reports the kernel refusing one namespace of the set: the user namespace it is in (EINVAL)', async () => {
    const error = onlyError(
      await runWithFds(
        [{ op: 'setns', fd: 5, nstype: CLONE_NEWUTS | CLONE_NEWUSER, pidfd: true }, sh('hostname')],
        [pidfdOpen(utsNet.pid)],
      ),
    );
    expect(error).toMatchObject({ opIndex: 0, opcode: OPCODES.setns, errno: EINVAL });
  });
});

describe('SETNS of a pid or time namespace by its fd', () => {
  it('moves only the children into the pid namespace, and the helper itself into the time namespace', async () => {
    const run = await runWithFds(
      [
        { op: 'setns', fd: 5, nstype: CLONE_NEWPID },
        { op: 'setns', fd: 6, nstype: CLONE_NEWTIME },
        { op: 'close', fd: 5 },
        { op: 'close', fd: 6 },
        // $$, not self: readlink is the shell's child, born in the joined pid namespace.
        sh('readlink /proc/$$/ns/pid /proc/$$/ns/pid_for_children /proc/$$/ns/time'),
      ],
      [
        openSync(`/proc/${pidTime.pid}/ns/pid_for_children`, 'r'),
        openSync(`/proc/${pidTime.pid}/ns/time_for_children`, 'r'),
      ],
    );
    expect(decodeChildReport(run.report), run.stderr).toBeNull();
    const [pid, pidForChildren, time] = run.stdout.trim().split('\n');
    expect(pid).toBe(ns('self', 'pid'));
    expect(pidForChildren).toBe(ns(pidTime.pid, 'pid_for_children'));
    expect(pidForChildren).not.toBe(pid);
    expect(time).toBe(ns(pidTime.pid, 'time_for_children'));
    expect(time).not.toBe(ns('self', 'time'));
  });
});

/** launchHelper for a program that talks on the channel. */
function launch(ops: InitOp[], fds: number[] = [], cloneFlags = 0) {
  const { child, reader, output } = launchHelper(ops, { fds, cloneFlags });
  return { child, reader: reader!, output };
}

describe('CLONE_PARENT', () => {
  it('goes on in a child of this process, reporting its pid first; the intermediate exits 0', async () => {
    const { child, reader, output } = launch([{ op: 'waitGo', fd: 3 }, { op: 'cloneParent' }, sh('exit 7')]);
    try {
      expect(child.syncFd).not.toBeNull();
      reader.go();
      const frame = await reader.next();
      expect(frame).toMatchObject({ type: 'pid' });
      const pid = (frame as { pid: number }).pid;
      expect(pid).not.toBe(child.pid);
      expect(parentOf(pid)).toBe(process.pid);
      expect(await reapChild(pid)).toMatchObject({ code: 7, signal: null });
      expect(await reader.ended).toEqual({ pid, ready: false, error: null });
      expect(await child.exited).toMatchObject({ code: 0, signal: null });
      expect(output()).toBe('');
    } finally {
      reader.close();
      closeSync(child.pidfd);
    }
  });

  it('runs the command of [waitGo, cloneParent, exec /bin/true], waited for by a pidfd of its own', async () => {
    const { child, reader, output } = launch([
      { op: 'waitGo', fd: 3 },
      { op: 'cloneParent' },
      { op: 'exec', args: ['/bin/true'], env: [] },
    ]);
    try {
      reader.go();
      const { pid } = (await reader.ended) as { pid: number };
      expect(parentOf(pid)).toBe(process.pid);
      expect(await reapChild(pid)).toMatchObject({ code: 0, status: 0 });
      expect(await child.exited).toMatchObject({ code: 0 });
      output();
    } finally {
      reader.close();
      closeSync(child.pidfd);
    }
  });

  it('puts the new process into the pid namespace joined before: two NSpid entries', async () => {
    const { child, reader, output } = launch(
      [
        { op: 'setns', fd: 5, nstype: CLONE_NEWPID },
        { op: 'close', fd: 5 },
        { op: 'cloneParent' },
        // Read by the new process itself (builtins, then exec): its children would show their own.
        sh(
          'while read -r line; do case $line in NSpid*) echo "$line";; esac; done </proc/self/status; ' +
            'exec readlink /proc/self/ns/pid',
        ),
      ],
      [openSync(`/proc/${pidTime.pid}/ns/pid_for_children`, 'r')],
    );
    try {
      // No WAIT_GO: the channel is still the caller's, for the PID frame.
      const first = await reader.next();
      expect(first).toMatchObject({ type: 'pid' });
      const { pid } = first as { pid: number };
      expect(parentOf(pid)).toBe(process.pid);
      expect(await reapChild(pid)).toMatchObject({ code: 0 });
      expect(await reader.next()).toBeNull();
      const [nspid, pidns] = output().trim().split('\n');
      const ids = nspid!.split(/\s+/).slice(1).map(Number);
      expect(ids).toHaveLength(2);
      expect(ids[0]).toBe(pid);
      expect(ids[1]).toBeGreaterThan(1);
      expect(pidns).toBe(ns(pidTime.pid, 'pid_for_children'));
      expect(await child.exited).toMatchObject({ code: 0 });
    } finally {
      reader.close();
      closeSync(child.pidfd);
    }
  });

  it('always sends the PID frame before the new process reports a failure', async () => {
    for (let i = 0; i < 20; i++) {
      const { child, reader, output } = launch([
        { op: 'waitGo', fd: 3 },
        { op: 'cloneParent' },
        { op: 'chdir', path: '/nsinit-nonexistent' },
        { op: 'exec', args: ['/bin/true'], env: [] },
      ]);
      try {
        reader.go();
        // The decoder refuses an ERROR frame followed by a PID frame: the order is checked here.
        const report = await reader.ended;
        expect(report.pid).not.toBeNull();
        expect(report.error).toMatchObject({ opIndex: 2, opcode: OPCODES.chdir, errno: 2 });
        expect(await reapChild(report.pid!)).toMatchObject({ code: 1 });
        expect(await child.exited).toMatchObject({ code: 0 });
        output();
      } finally {
        reader.close();
        closeSync(child.pidfd);
      }
    }
  });

  it('lets nothing run when the PID frame cannot be written: both exit 1', async () => {
    const before = childrenOfThisProcess();
    const marker = join(dir, 'ran');
    const { child, reader, output } = launch([
      { op: 'waitGo', fd: 3 },
      { op: 'cloneParent' },
      sh(`touch ${marker}`),
    ]);
    try {
      // The go frame is queued for the child, and our end is gone before it can answer.
      reader.go();
      reader.close();
      expect(await child.exited).toMatchObject({ code: 1, signal: null });
      const born = [...childrenOfThisProcess()].filter((pid) => !before.has(pid) && pid !== child.pid);
      expect(born).toHaveLength(1);
      expect(await reapChild(born[0]!)).toMatchObject({ code: 1, signal: null });
      expect(existsSync(marker)).toBe(false);
      expect(output()).toBe('');
    } finally {
      closeSync(child.pidfd);
    }
  });

  it("fails (EINVAL) in a pid namespace's init, which cannot give its parent a child", async () => {
    const { child, reader, output } = launch(
      [{ op: 'waitGo', fd: 3 }, { op: 'cloneParent' }, sh('true')],
      [],
      CLONE_NEWPID,
    );
    try {
      reader.go();
      const report = await reader.ended;
      expect(report).toEqual({
        pid: null,
        ready: false,
        error: { opIndex: 1, opcode: OPCODES.cloneParent, errno: EINVAL, detail: 'clone into the parent' },
      });
      expect(await child.exited).toMatchObject({ code: 1 });
      output();
    } finally {
      reader.close();
      closeSync(child.pidfd);
    }
  });
});
