// The one place a helper's report becomes a typed error (lib/init-error.ts); the messages are
// those of a container (@nsinit/exec words them through the context).
import { describe, expect, it } from 'vitest';
import { InitError, initError } from '../lib/init-error.js';
import { type InitOp, OPCODES } from '../lib/program.js';
import type { ChildError } from '../lib/report.js';

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

const fail = (failure: ChildError, ops: readonly InitOp[]) =>
  initError(failure, ops, { subject: 'container c1', searchPath: "the container's PATH" });

describe('initError', () => {
  it('reports a command not found in PATH, naming it', () => {
    const error = fail(report(4, OPCODES.exec, ENOENT, 'exec "no-such-command": not found in PATH'), PROGRAM);
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
    expect(fail(report(0, OPCODES.exec, ENOENT, 'exec "/bin/nope"'), ops).message).toBe(
      `container c1: cannot run "/bin/nope": no such file (ENOENT); check the command and the container's PATH`,
    );
    const denied = fail(report(0, OPCODES.exec, EACCES, 'exec "/bin/nope"'), ops);
    expect(denied.code).toBe('ERR_NSINIT_COMMAND_NOT_FOUND');
    expect(denied.message).toBe(
      `container c1: cannot run "/bin/nope": permission denied (EACCES); check the command and the container's PATH`,
    );
  });

  it('names the failed op, the errno name and its message; a detail that adds something is kept', () => {
    const plain = fail(report(3, OPCODES.fsmount, ENODEV, 'mount proc on /proc'), PROGRAM);
    expect(plain).toMatchObject({
      code: 'ERR_NSINIT_INIT_FAILED',
      message: 'container c1: init failed at op 3 (mount proc on /proc): no such device (ENODEV)',
      opIndex: 3,
      op: 'fsmount',
      errno: ENODEV,
      errnoCode: 'ENODEV',
    });
    const detailed = fail(
      report(3, OPCODES.fsmount, ENOENT, 'mount proc on /proc: open the target'),
      PROGRAM,
    );
    expect(detailed.message).toBe(
      'container c1: init failed at op 3 (mount proc on /proc): no such file or directory (ENOENT) [mount proc on /proc: open the target]',
    );
  });

  it('uses the detail as the reason when the failure was no system call', () => {
    const error = fail(report(2, OPCODES.mkdir, 0, 'mkdir /proc: the helper ran out of road'), PROGRAM);
    expect(error.message).toBe(
      'container c1: init failed at op 2 (mkdir /proc): mkdir /proc: the helper ran out of road',
    );
    expect(error.code).toBe('ERR_NSINIT_INIT_FAILED');
  });

  it('reports a bad go signal and a bad program without naming an op that does not exist', () => {
    const go = fail(report(NO_OP_INDEX, OPCODES.waitGo, 0, 'no go frame: the parent went away'), PROGRAM);
    expect(go).toMatchObject({
      code: 'ERR_NSINIT_INIT_FAILED',
      message: 'container c1: init failed reading the go signal: no go frame: the parent went away',
      opIndex: NO_OP_INDEX,
      op: 'waitGo',
    });
    const decode = fail(
      report(NO_OP_INDEX, 0, 0, 'op 3 MKDIR path: path "dev" is not absolute (byte 57)'),
      PROGRAM,
    );
    expect(decode.message).toBe(
      'container c1: init failed decoding the init program: op 3 MKDIR path: path "dev" is not absolute (byte 57)',
    );
    expect(decode.op).toBe('opcode 0');
  });

  it('does not treat ENOENT of an op other than exec as a missing command', () => {
    const error = fail(report(2, OPCODES.mkdir, ENOENT, 'mkdir /proc'), PROGRAM);
    expect(error.code).toBe('ERR_NSINIT_INIT_FAILED');
    expect(error.message).toBe(
      'container c1: init failed at op 2 (mkdir /proc): no such file or directory (ENOENT)',
    );
  });
});

describe('initError context', () => {
  it('names the subject and where the command was looked up', () => {
    const ops: InitOp[] = [{ op: 'exec', args: ['nope'], env: [] }];
    const failure = report(0, OPCODES.exec, ENOENT, 'exec "nope": not found in PATH');
    expect(
      initError(failure, ops, { subject: 'spawn "nope"', searchPath: 'the PATH of options.env' }).message,
    ).toBe(
      'spawn "nope": cannot run "nope": not found in $PATH (ENOENT); check the command and the PATH of options.env',
    );
    expect(initError(failure, ops, { subject: 'x' }).message).toMatch(/check the command and its PATH$/);
  });

  it('gives an errno Node has no name for as a number', () => {
    const error = fail(report(2, OPCODES.mkdir, 4000, 'mkdir /proc'), PROGRAM);
    expect(error).toMatchObject({ errno: 4000, errnoCode: 'errno 4000' });
    expect(error.message).toBe(
      'container c1: init failed at op 2 (mkdir /proc): unknown error 4000 (errno 4000)',
    );
  });
});
