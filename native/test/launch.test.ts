// launchInit (lib/launch.ts): the one launch sequence, with the real helper. A program without
// WAIT_GO is launched through to its exec; one with WAIT_GO waits for the go frame on syncFd.
import { closeSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { InitError } from '../lib/init-error.js';
import { type InitChild, launchInit } from '../lib/launch.js';
import { encodeProgram, type InitOp } from '../lib/program.js';
import { type ChildError, decodeChildReport, encodeContextFrame } from '../lib/report.js';
import { assertHelperBuilt, launchHelper } from './helper-harness.js';

assertHelperBuilt();

const errorContext = { subject: 'test' };
const openFds = () => readdirSync('/proc/self/fd').length;

/** Runs `ops` with stdout (and stderr) on a pipe; resolves with the output and the exit. */
async function launchWithOutput(ops: readonly InitOp[]) {
  const { child, output } = launchHelper(ops);
  try {
    const exit = await child.exited;
    return { child, exit, output: output() };
  } finally {
    closeSync(child.pidfd);
  }
}

/** Sends the go frame on a child's syncFd and reads its report, as a SyncChannel does. */
function goAndReport(child: InitChild): Promise<ChildError | null> {
  const socket = new net.Socket({ fd: child.syncFd!, readable: true, writable: true, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.end(encodeContextFrame({}));
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('end', () => {
      socket.destroy();
      resolve(decodeChildReport(Buffer.concat(chunks)));
    });
  });
}

describe('a program without WAIT_GO', () => {
  it('returns once the command runs, with exactly the fds placed: the sync socket and the program are closed', async () => {
    const { child, exit, output } = await launchWithOutput([
      { op: 'exec', args: ['/bin/sh', '-c', 'ls /proc/self/fd | tr "\\n" " "; exit 3'], env: [] },
    ]);
    expect(child.syncFd).toBeNull();
    // `ls` opens one fd of its own for the directory: the lowest free one, 3 (were 3 and 4 still open, 5).
    expect(output).toBe('0 1 2 3 ');
    expect(exit).toMatchObject({ code: 3, signal: null, status: 3 });
  });

  it('throws the InitError of the failed op, with the child reaped and nothing left open', async () => {
    const before = openFds();
    const ops: InitOp[] = [{ op: 'exec', args: ['nsinit-no-such-command'], env: ['PATH=/nonexistent'] }];
    let caught: unknown;
    try {
      launchInit({ program: ops, errorContext: { subject: 'spawn', searchPath: 'the PATH given' } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InitError);
    expect(caught).toMatchObject({
      code: 'ERR_NSINIT_COMMAND_NOT_FOUND',
      op: 'exec',
      errnoCode: 'ENOENT',
      message:
        'spawn: cannot run "nsinit-no-such-command": not found in $PATH (ENOENT); check the command and the PATH given',
    });
    // The pidfd closes once the child is reaped.
    await vi.waitFor(() => expect(openFds()).toBe(before));
  });

  it('takes an encoding made elsewhere, naming ops from the ops given with it', () => {
    const ops: InitOp[] = [
      { op: 'chdir', path: '/nonexistent' },
      { op: 'exec', args: ['/bin/true'], env: [] },
    ];
    const encoded = encodeProgram(ops);
    expect(() => launchInit({ program: { ops, encoded }, errorContext })).toThrow(
      expect.objectContaining({
        code: 'ERR_NSINIT_INIT_FAILED',
        op: 'chdir',
        opIndex: 0,
        errnoCode: 'ENOENT',
      }),
    );
  });

  it('closes everything it opened when the spawn fails', () => {
    const before = openFds();
    const ops: InitOp[] = [{ op: 'exec', args: ['/bin/true'], env: [] }];
    // Two placements onto the program's number: the addon refuses before cloning.
    expect(() => launchInit({ program: ops, fds: [{ from: 0, to: 4 }], errorContext })).toThrow(
      /two placements/,
    );
    expect(openFds()).toBe(before);
  });
});

describe('a program with WAIT_GO', () => {
  it('waits for the go frame on syncFd, then runs the command', async () => {
    const child = launchInit({
      program: [
        { op: 'waitGo', fd: 3 },
        { op: 'exec', args: ['/bin/sh', '-c', 'exit 5'], env: [] },
      ],
      errorContext,
    });
    try {
      expect(child.syncFd).not.toBeNull();
      // Still waiting: nothing ends it before the go frame.
      const early = await Promise.race([
        child.exited,
        new Promise((resolve) => setTimeout(resolve, 100, 'waiting')),
      ]);
      expect(early).toBe('waiting');
      expect(await goAndReport(child)).toBeNull();
      expect(await child.exited).toMatchObject({ code: 5 });
    } finally {
      await child.exited.catch(() => {});
      closeSync(child.pidfd);
    }
  });

  it("turns the report that follows the go frame into the program's InitError", async () => {
    const ops: InitOp[] = [
      { op: 'waitGo', fd: 3 },
      { op: 'mkdir', path: '/proc/nsinit-not-here', mode: 0o755 },
      { op: 'exec', args: ['/bin/true'], env: [] },
    ];
    const child = launchInit({ program: ops, errorContext: { subject: 'container t' } });
    try {
      const report = await goAndReport(child);
      expect(report).not.toBeNull();
      expect(child.initError(report!)).toMatchObject({
        code: 'ERR_NSINIT_INIT_FAILED',
        op: 'mkdir',
        opIndex: 1,
        message: expect.stringMatching(
          /^container t: init failed at op 1 \(mkdir \/proc\/nsinit-not-here\): /,
        ),
      });
      expect(await child.exited).toMatchObject({ code: 1 });
    } finally {
      closeSync(child.pidfd);
    }
  });
});
