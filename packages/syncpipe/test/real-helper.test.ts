// SyncChannel on the real init helper, launched by @nsinit/native's launchInit (whose syncFd is a
// raw socket this process owns): the ops behind create, start and exec, as @nsinit/exec runs
// them. Needs the built addon and helper; every process is reaped, the FIFO's dir removed.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InitChild, type InitOp, launchInit, OPCODES, pidfdOpen, pipe, waitExit } from '@nsinit/native';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SyncChannel } from '../src/index.js';

const ENOENT = 2;
const ECANCELED = 125;
const START_FD = 5;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsinit-syncpipe-real-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The FIFO a create leaves for the start, its read end opened O_RDONLY|O_NONBLOCK. */
function startFifo(): { path: string; readEnd: number } {
  const path = join(dir, 'exec.fifo');
  execFileSync('mkfifo', [path]);
  return { path, readEnd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK) };
}

function start(path: string, byte: boolean): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    if (byte) writeSync(fd, Buffer.from([1]));
  } finally {
    closeSync(fd);
  }
}

/** Launches `ops` with stdout on a pipe and `readEnd` at START_FD; the channel owns the sync fd. */
function launch(ops: InitOp[], readEnd: number) {
  const [out, outWrite] = pipe();
  let child: InitChild;
  try {
    child = launchInit({
      program: ops,
      fds: [
        { from: outWrite, to: 1 },
        { from: readEnd, to: START_FD },
      ],
      errorContext: { subject: 'container c1' },
    });
  } catch (error) {
    closeSync(out);
    throw error;
  } finally {
    closeSync(outWrite);
    closeSync(readEnd);
  }
  const output = () => {
    try {
      return readFileSync(out, 'utf8');
    } finally {
      closeSync(out);
    }
  };
  return { child, channel: new SyncChannel(child.syncFd!), output };
}

async function reap(pid: number) {
  const pidfd = pidfdOpen(pid);
  try {
    return await waitExit({ pidfd });
  } finally {
    closeSync(pidfd);
  }
}

const sh = (script: string): InitOp => ({
  op: 'exec',
  args: ['/bin/sh', '-c', script],
  env: ['PATH=/usr/bin:/bin'],
});

describe('SyncChannel on the real helper', () => {
  it('a create that another process starts: PID, READY, then the command after the start', async () => {
    const fifo = startFifo();
    const { child, channel, output } = launch(
      [
        { op: 'waitGo', fd: 3 },
        { op: 'cloneParent' },
        { op: 'checkExec', args: ['sh'], env: ['PATH=/usr/bin:/bin'] },
        { op: 'awaitStart', fd: START_FD },
        sh('echo started'),
      ],
      fifo.readEnd,
    );
    try {
      const pid = channel.awaitChildPid();
      const ready = channel.awaitReady();
      channel.go({});
      const grandchild = await pid;
      expect(grandchild).toEqual(expect.any(Number));
      expect(await ready).toEqual({ ready: true });
      // The intermediate is done; the process that goes on waits for the start.
      expect(await child.exited).toMatchObject({ code: 0 });
      start(fifo.path, true);
      expect(await channel.awaitChildReport()).toBeNull();
      expect(await reap(grandchild!)).toMatchObject({ code: 0 });
      expect(output()).toBe('started\n');
    } finally {
      channel.close();
      closeSync(child.pidfd);
    }
  });

  it('an abandoned start: READY, then the ECANCELED report', async () => {
    const fifo = startFifo();
    const ops: InitOp[] = [{ op: 'waitGo', fd: 3 }, { op: 'awaitStart', fd: START_FD }, sh('echo started')];
    const { child, channel, output } = launch(ops, fifo.readEnd);
    try {
      channel.go({});
      expect(await channel.awaitReady()).toEqual({ ready: true });
      start(fifo.path, false);
      const report = await channel.awaitChildReport();
      expect(report).toMatchObject({ opIndex: 1, errno: ECANCELED, detail: 'the start was abandoned' });
      expect(child.initError(report!)).toMatchObject({ code: 'ERR_NSINIT_INIT_FAILED', op: 'awaitStart' });
      expect(await channel.awaitChildPid()).toBeNull();
      expect(await child.exited).toMatchObject({ code: 1 });
      expect(output()).toBe('');
    } finally {
      channel.close();
      closeSync(child.pidfd);
    }
  });

  it('a create whose command does not exist fails before READY', async () => {
    const fifo = startFifo();
    const ops: InitOp[] = [
      { op: 'waitGo', fd: 3 },
      { op: 'checkExec', args: ['nsinit-no-such-command'], env: ['PATH=/usr/bin:/bin'] },
      { op: 'awaitStart', fd: START_FD },
      { op: 'exec', args: ['nsinit-no-such-command'], env: ['PATH=/usr/bin:/bin'] },
    ];
    const { child, channel, output } = launch(ops, fifo.readEnd);
    try {
      channel.go({});
      const result = await channel.awaitReady();
      expect(result).toEqual({
        ready: false,
        report: {
          opIndex: 1,
          opcode: OPCODES.checkExec,
          errno: ENOENT,
          detail: 'exec "nsinit-no-such-command": not found in PATH',
        },
      });
      if (result.ready) throw new Error('unreachable');
      expect(child.initError(result.report!)).toMatchObject({ code: 'ERR_NSINIT_COMMAND_NOT_FOUND' });
      expect(await child.exited).toMatchObject({ code: 1 });
      expect(output()).toBe('');
    } finally {
      channel.close();
      closeSync(child.pidfd);
    }
  });
});
