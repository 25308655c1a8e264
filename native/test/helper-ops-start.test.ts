// The ops behind a create that another process starts: CHECK_EXEC (the command must exist before
// the wait) and AWAIT_START (READY, then the wait for one byte on a FIFO). Run for real; the
// FIFOs and files live in a temp dir removed after each test, every helper is reaped.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initError } from '../lib/init-error.js';
import type { InitChild } from '../lib/launch.js';
import { encodeProgram, type InitOp, OPCODES } from '../lib/program.js';
import { decodeChildReport } from '../lib/report.js';
import { assertHelperBuilt, launchHelper, onlyError, runHelper } from './helper-harness.js';

const ENOENT = 2;
const EACCES = 13;
const EBUSY = 16;
const ECANCELED = 125;
const PATH = 'PATH=/usr/bin:/bin';
const NOBODY = 65534;

const sh = (script: string): InitOp => ({ op: 'exec', args: ['/bin/sh', '-c', script], env: [PATH] });

let dir: string;
beforeAll(assertHelperBuilt);
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsinit-start-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A FIFO in the temp dir and its read end, opened as a create opens it: O_RDONLY|O_NONBLOCK. */
function fifo(): { path: string; readEnd: number } {
  const path = join(dir, 'start.fifo');
  execFileSync('mkfifo', [path]);
  return { path, readEnd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK) };
}

/** What a start does: open the FIFO to write (a reader is there, so this does not block), write, close. */
function start(path: string, byte = true): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    if (byte) writeSync(fd, Buffer.from([0]));
  } finally {
    closeSync(fd);
  }
}

/** launchHelper with the FIFO's read end at 5. */
function launch(ops: InitOp[], readEnd: number) {
  const { child, reader, output } = launchHelper(ops, { fds: [readEnd] });
  return { child, reader: reader!, output };
}

const stillRunning = (child: InitChild, ms: number) =>
  Promise.race([
    child.exited.then(() => 'exited'),
    new Promise((resolve) => setTimeout(resolve, ms, 'running')),
  ]);

describe('AWAIT_START', () => {
  it('reports READY, then waits for the byte on the FIFO (no writer yet is no hang-up), then goes on', async () => {
    const { path, readEnd } = fifo();
    const marker = join(dir, 'started');
    const { child, reader, output } = launch(
      [{ op: 'waitGo', fd: 3 }, { op: 'awaitStart', fd: 5 }, sh(`touch ${marker}`)],
      readEnd,
    );
    try {
      reader.go();
      expect(await reader.next()).toEqual({ type: 'ready' });
      // Nothing runs before the start, however long it takes.
      expect(await stillRunning(child, 300)).toBe('running');
      expect(existsSync(marker)).toBe(false);
      start(path);
      expect(await reader.ended).toEqual({ pid: null, ready: true, error: null });
      expect(await child.exited).toMatchObject({ code: 0 });
      expect(existsSync(marker)).toBe(true);
      expect(output()).toBe('');
    } finally {
      reader.close();
      closeSync(child.pidfd);
    }
  });

  it('closes the FIFO before going on', async () => {
    const { path, readEnd } = fifo();
    const { child, reader, output } = launch(
      [{ op: 'waitGo', fd: 3 }, { op: 'awaitStart', fd: 5 }, sh('ls /proc/self/fd | tr "\\n" " "')],
      readEnd,
    );
    try {
      reader.go();
      expect(await reader.next()).toEqual({ type: 'ready' });
      start(path);
      expect(await reader.ended).toMatchObject({ ready: true, error: null });
      expect(await child.exited).toMatchObject({ code: 0 });
      // ls's own directory fd takes the lowest free number, 3 (the report fd closed on exec).
      expect(output()).toBe('0 1 2 3 ');
    } finally {
      reader.close();
      closeSync(child.pidfd);
    }
  });

  it('fails with ECANCELED when a writer closes the FIFO without writing', async () => {
    const { path, readEnd } = fifo();
    const { child, reader, output } = launch(
      [{ op: 'waitGo', fd: 3 }, { op: 'awaitStart', fd: 5 }, sh('echo ran')],
      readEnd,
    );
    try {
      reader.go();
      expect(await reader.next()).toEqual({ type: 'ready' });
      start(path, false);
      expect(await reader.ended).toEqual({
        pid: null,
        ready: true,
        error: {
          opIndex: 1,
          opcode: OPCODES.awaitStart,
          errno: ECANCELED,
          detail: 'the start was abandoned',
        },
      });
      expect(await child.exited).toMatchObject({ code: 1 });
      expect(output()).toBe('');
    } finally {
      reader.close();
      closeSync(child.pidfd);
    }
  });

  it('exits 1, not by SIGPIPE, when a failure after READY meets a closed channel', async () => {
    const { path, readEnd } = fifo();
    const { child, reader, output } = launch(
      [
        { op: 'waitGo', fd: 3 },
        { op: 'resetSignals' }, // SIGPIPE unblocked and at its default: it would kill
        { op: 'awaitStart', fd: 5 },
        { op: 'chdir', path: '/nsinit-nonexistent' },
        sh('echo ran'),
      ],
      readEnd,
    );
    try {
      reader.go();
      expect(await reader.next()).toEqual({ type: 'ready' });
      // A create's parent reads READY and goes away.
      reader.close();
      start(path);
      expect(await child.exited).toMatchObject({ code: 1, signal: null });
      expect(output()).toBe('');
    } finally {
      closeSync(child.pidfd);
    }
  });

  it('fails when READY cannot be written, without waiting for the start', async () => {
    const { readEnd } = fifo();
    const { child, reader, output } = launch(
      [{ op: 'waitGo', fd: 3 }, { op: 'resetSignals' }, { op: 'awaitStart', fd: 5 }, sh('echo ran')],
      readEnd,
    );
    try {
      // The go frame is queued for the child; our end is gone before READY (EPIPE, and no SIGPIPE).
      reader.go();
      reader.close();
      // Nobody ever opens the FIFO: exiting at all shows the op did not wait.
      expect(await child.exited).toMatchObject({ code: 1, signal: null });
      expect(output()).toBe('');
    } finally {
      closeSync(child.pidfd);
    }
  });

  it('refuses the report fd (EBUSY)', async () => {
    const error = onlyError(await runHelper(encodeProgram([{ op: 'awaitStart', fd: 4 }, sh('true')])));
    expect(error).toMatchObject({ opIndex: 0, opcode: OPCODES.awaitStart, errno: EBUSY });
    expect(error.detail).toBe('await start on fd 4: it is the report channel');
  });
});

describe('CHECK_EXEC', () => {
  const check = (args: string[], env: string[] = [PATH]): InitOp => ({ op: 'checkExec', args, env });

  it('finds the command and goes on without running it', async () => {
    const run = await runHelper(
      encodeProgram([check(['sh', '-c', 'echo checked']), check(['/bin/true']), sh('echo exec')]),
    );
    expect(decodeChildReport(run.report), run.stderr).toBeNull();
    expect(run).toMatchObject({ status: 0, stdout: 'exec\n' });
  });

  it('says what EXEC would say, errno and detail, for every failure of the search', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'tool'), '#!/bin/sh\n', { mode: 0o644 });
    const cases: [string[], string[]][] = [
      [['nsinit-no-such-command'], [PATH]],
      [['/nsinit/no/such/file'], [PATH]],
      [['/etc/passwd'], [PATH]],
      [[dir], [PATH]],
      [['tool'], [`PATH=/nsinit-none:${bin}`]],
      [['sh'], ['HOME=/']],
      [[''], [PATH]],
    ];
    for (const [args, env] of cases) {
      const checked = onlyError(await runHelper(encodeProgram([check(args, env), sh('true')])));
      const executed = onlyError(await runHelper(encodeProgram([{ op: 'exec', args, env }])));
      expect({ ...checked, opcode: OPCODES.exec }).toEqual(executed);
      expect(checked.opcode).toBe(OPCODES.checkExec);
    }
    const notFound = onlyError(
      await runHelper(encodeProgram([check(['nsinit-no-such-command']), sh('true')])),
    );
    expect(notFound).toMatchObject({
      errno: ENOENT,
      detail: 'exec "nsinit-no-such-command": not found in PATH',
    });
    const denied = onlyError(await runHelper(encodeProgram([check(['tool'], [`PATH=${bin}`]), sh('true')])));
    expect(denied).toMatchObject({ errno: EACCES, detail: 'exec "tool": permission denied in PATH' });
    const directory = onlyError(await runHelper(encodeProgram([check([dir]), sh('true')])));
    expect(directory).toMatchObject({ errno: EACCES, detail: `exec "${dir}"` });
  });

  it('checks with the effective ids: a file only root may execute is EACCES for nobody', async () => {
    chmodSync(dir, 0o755);
    const tool = join(dir, 'tool');
    writeFileSync(tool, '#!/bin/sh\n', { mode: 0o700 });
    const asNobody: InitOp[] = [
      { op: 'setresgid', gid: NOBODY },
      { op: 'setresuid', uid: NOBODY },
    ];
    expect((await runHelper(encodeProgram([check([tool]), sh('true')]))).status).toBe(0);
    const error = onlyError(await runHelper(encodeProgram([...asNobody, check([tool]), sh('true')])));
    expect(error).toMatchObject({
      opIndex: 2,
      opcode: OPCODES.checkExec,
      errno: EACCES,
      detail: `exec "${tool}"`,
    });
    chmodSync(tool, 0o755);
    expect((await runHelper(encodeProgram([...asNobody, check([tool]), sh('true')]))).status).toBe(0);
  });

  it("becomes the caller's command-not-found error", async () => {
    const ops: InitOp[] = [check(['nsinit-no-such-command']), sh('true')];
    const error = initError(onlyError(await runHelper(encodeProgram(ops))), ops, {
      subject: 'container c1',
      searchPath: "the container's PATH",
    });
    expect(error).toMatchObject({
      code: 'ERR_NSINIT_COMMAND_NOT_FOUND',
      op: 'checkExec',
      message:
        'container c1: cannot run "nsinit-no-such-command": not found in $PATH (ENOENT); ' +
        "check the command and the container's PATH",
    });
  });
});
