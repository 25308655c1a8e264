// The parts of the parent sequence that need no container: turning the helper's
// report into an error, the undo stack, and fd ownership. (test-e2e starts containers.)
import { closeSync, fstatSync, openSync } from 'node:fs';
import type { InitOp } from '@nsinit/native';
import { OPCODES } from '@nsinit/native';
import type { ChildError } from '@nsinit/syncpipe';
import { afterEach, describe, expect, it } from 'vitest';
import { InitError } from '../src/errors.js';
import { OwnedFds } from '../src/fds.js';
import { initError } from '../src/run.js';
import { UndoStack } from '../src/undo.js';

const NO_OP_INDEX = 0xffff_ffff;
const ENOENT = 2;
const EACCES = 13;
const ENODEV = 19;

const PROGRAM: InitOp[] = [
  { op: 'dumpable', on: false },
  { op: 'waitGo', fd: 3 },
  { op: 'mkdir', path: '/proc', mode: 0o755 },
  {
    op: 'fsmount',
    fstype: 'proc',
    source: 'proc',
    options: [],
    target: '/proc',
    attrSet: 0,
    propagation: 0,
    dirs: [],
    links: [],
    targetRealDir: true,
    targetOnProc: true,
  },
  { op: 'exec', args: ['no-such-command', '-x'], env: ['PATH=/bin'] },
];

const report = (opIndex: number, opcode: number, errno: number, detail: string): ChildError => ({
  opIndex,
  opcode,
  errno,
  detail,
});

describe('initError', () => {
  it('reports a command not found in PATH, naming it', () => {
    const error = initError(
      report(4, OPCODES.exec, ENOENT, 'exec "no-such-command": not found in PATH'),
      PROGRAM,
      'c1',
    );
    expect(error).toBeInstanceOf(InitError);
    expect(error).toMatchObject({
      code: 'ERR_NSINIT_COMMAND_NOT_FOUND',
      message: `container c1: cannot run "no-such-command": not found in $PATH (ENOENT); check the command and the container's PATH`,
      opIndex: 4,
      op: 'exec',
      errno: ENOENT,
      errnoCode: 'ENOENT',
      detail: 'exec "no-such-command": not found in PATH',
    });
  });

  it('tells a missing path from a command it cannot execute', () => {
    const ops: InitOp[] = [{ op: 'exec', args: ['/bin/nope'], env: [] }];
    expect(initError(report(0, OPCODES.exec, ENOENT, 'exec "/bin/nope"'), ops, 'c1').message).toBe(
      `container c1: cannot run "/bin/nope": no such file (ENOENT); check the command and the container's PATH`,
    );
    const denied = initError(report(0, OPCODES.exec, EACCES, 'exec "/bin/nope"'), ops, 'c1');
    expect(denied.code).toBe('ERR_NSINIT_COMMAND_NOT_FOUND');
    expect(denied.message).toBe(
      `container c1: cannot run "/bin/nope": permission denied (EACCES); check the command and the container's PATH`,
    );
  });

  it('names the failed op, the errno name and its message; a detail that adds something is kept', () => {
    const plain = initError(report(3, OPCODES.fsmount, ENODEV, 'mount proc on /proc'), PROGRAM, 'c1');
    expect(plain).toMatchObject({
      code: 'ERR_NSINIT_INIT_FAILED',
      message: 'container c1: init failed at op 3 (mount proc on /proc): no such device (ENODEV)',
      opIndex: 3,
      op: 'fsmount',
      errno: ENODEV,
      errnoCode: 'ENODEV',
    });
    const detailed = initError(
      report(3, OPCODES.fsmount, ENOENT, 'mount proc on /proc: open the target'),
      PROGRAM,
      'c1',
    );
    expect(detailed.message).toBe(
      'container c1: init failed at op 3 (mount proc on /proc): no such file or directory (ENOENT) [mount proc on /proc: open the target]',
    );
  });

  it('uses the detail as the reason when the failure was no system call', () => {
    const error = initError(
      report(2, OPCODES.mkdir, 0, 'mkdir /proc: the helper ran out of road'),
      PROGRAM,
      'c1',
    );
    expect(error.message).toBe(
      'container c1: init failed at op 2 (mkdir /proc): mkdir /proc: the helper ran out of road',
    );
    expect(error.code).toBe('ERR_NSINIT_INIT_FAILED');
  });

  it('reports a bad go signal and a bad program without naming an op that does not exist', () => {
    const go = initError(
      report(NO_OP_INDEX, OPCODES.waitGo, 0, 'no go frame: the parent went away'),
      PROGRAM,
      'c1',
    );
    expect(go).toMatchObject({
      code: 'ERR_NSINIT_INIT_FAILED',
      message: 'container c1: init failed reading the go signal: no go frame: the parent went away',
      opIndex: NO_OP_INDEX,
      op: 'waitGo',
    });
    const decode = initError(
      report(NO_OP_INDEX, 0, 0, 'op 3 MKDIR path: path "dev" is not absolute (byte 57)'),
      PROGRAM,
      'c1',
    );
    expect(decode.message).toBe(
      'container c1: init failed decoding the init program: op 3 MKDIR path: path "dev" is not absolute (byte 57)',
    );
    expect(decode.op).toBe('opcode 0');
  });

  it('does not treat ENOENT of an op other than exec as a missing command', () => {
    const error = initError(report(2, OPCODES.mkdir, ENOENT, 'mkdir /proc'), PROGRAM, 'c1');
    expect(error.code).toBe('ERR_NSINIT_INIT_FAILED');
    expect(error.message).toBe(
      'container c1: init failed at op 2 (mkdir /proc): no such file or directory (ENOENT)',
    );
  });
});

describe('UndoStack', () => {
  it('undoes in reverse order, waiting for each', async () => {
    const undo = new UndoStack();
    const done: string[] = [];
    undo.push('first', () => {
      done.push('first');
    });
    undo.push('second', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      done.push('second');
    });
    undo.push('third', () => {
      done.push('third');
    });
    expect(await undo.unwind()).toEqual([]);
    expect(done).toEqual(['third', 'second', 'first']);
    // Unwinding empties the stack.
    expect(await undo.unwind()).toEqual([]);
    expect(done).toHaveLength(3);
  });

  it('runs every undo even when some fail, and returns the failures naming what was undone', async () => {
    const undo = new UndoStack();
    const done: string[] = [];
    const cause = new Error('EBUSY');
    undo.push('remove the cgroup', () => {
      done.push('cgroup');
    });
    undo.push('close the socket', () => {
      throw 'not an Error';
    });
    undo.push('kill the child', async () => {
      throw cause;
    });
    const failures = await undo.unwind();
    expect(done).toEqual(['cgroup']);
    expect(failures.map((failure) => failure.message)).toEqual([
      'undo kill the child: EBUSY',
      'undo close the socket: not an Error',
    ]);
    expect(failures[0]!.cause).toBe(cause);
  });

  it('forgets everything on commit', async () => {
    const undo = new UndoStack();
    let ran = false;
    undo.push('anything', () => {
      ran = true;
    });
    undo.commit();
    expect(await undo.unwind()).toEqual([]);
    expect(ran).toBe(false);
  });

  it('drops one undo through the function push returns, once ownership moves on', async () => {
    const undo = new UndoStack();
    const done: string[] = [];
    undo.push('a', () => {
      done.push('a');
    });
    const releaseB = undo.push('b', () => {
      done.push('b');
    });
    undo.push('c', () => {
      done.push('c');
    });
    releaseB();
    releaseB();
    await undo.unwind();
    expect(done).toEqual(['c', 'a']);
  });
});

describe('OwnedFds', () => {
  const opened: number[] = [];
  const openDevNull = () => {
    const fd = openSync('/dev/null', 'r');
    opened.push(fd);
    return fd;
  };
  const isOpen = (fd: number) => {
    try {
      fstatSync(fd);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EBADF') return false;
      throw error;
    }
  };

  afterEach(() => {
    for (const fd of opened.splice(0)) if (isOpen(fd)) closeSync(fd);
  });

  it('closes an fd it owns once, and never one it does not own', () => {
    const owned = new OwnedFds();
    const fd = owned.add(openDevNull());
    const stranger = openDevNull();
    owned.close(fd);
    expect(isOpen(fd)).toBe(false);
    // A second close must not hit whatever reuses the number.
    const reused = openDevNull();
    owned.close(fd);
    expect(isOpen(reused)).toBe(true);
    owned.close(stranger);
    expect(isOpen(stranger)).toBe(true);
  });

  it('hands an fd over on release: closeAll leaves it open', () => {
    const owned = new OwnedFds();
    const kept = owned.add(openDevNull());
    const dropped = owned.add(openDevNull());
    expect(owned.release(kept)).toBe(kept);
    owned.closeAll();
    expect(isOpen(kept)).toBe(true);
    expect(isOpen(dropped)).toBe(false);
  });

  it('closes every fd it still owns on closeAll, once', () => {
    const owned = new OwnedFds();
    const fds = [openDevNull(), openDevNull(), openDevNull()].map((fd) => owned.add(fd));
    owned.closeAll();
    expect(fds.map(isOpen)).toEqual([false, false, false]);
    const reused = openDevNull();
    owned.closeAll();
    expect(isOpen(reused)).toBe(true);
  });
});
