// launchInit(): the one launch sequence of every caller (a container's init, a command on a
// pty): the encoded program in a sealed memfd, the sync socket, clone3 into the namespaces
// with every fd placed and the sealed helper exec'd, the exit watched from the start.
import { closeSync, readSync } from 'node:fs';
import type { ExitStatus, FdPlacement } from './binding.js';
import { systemErrorCode } from './errno.js';
import { createSealedMemfd, helperFd, pidfdSendSignal, socketPair, spawn, waitExit } from './index.js';
import { type InitError, type InitErrorContext, initError } from './init-error.js';
import { encodeProgram, type InitOp } from './program.js';
import { type ChildError, decodeChildReport, MAX_CHILD_REPORT_BYTES } from './report.js';

/** Where the helper finds its sync socket and its program unless told otherwise: right after stdio. */
export const DEFAULT_REPORT_FD = 3;
export const DEFAULT_PROGRAM_FD = 4;

const SIGKILL = 9;

export interface LaunchOptions {
  /** The init program: its ops (encoded here), or an encoding made elsewhere with the ops it encodes. */
  program: readonly InitOp[] | { ops: readonly InitOp[]; encoded: Uint8Array };
  /** The child's fds besides the sync socket and the program (stdio, namespaces to join ...); all else is closed. */
  fds?: readonly FdPlacement[];
  /** The number of the sync socket in the child, the helper's report fd (default 3). */
  reportFd?: number;
  /** The number of the program's memfd in the child (default 4). */
  programFd?: number;
  /** CLONE_NEW* flags (default none: the helper runs in this process's namespaces). */
  cloneFlags?: number;
  /** A cgroup v2 directory fd (O_PATH): the child is born in it (CLONE_INTO_CGROUP). */
  cgroupFd?: number;
  /** Sent to the child when the launching thread exits; 0 or absent for none. */
  parentDeathSignal?: number;
  /**
   * Whether watching the child's exit keeps this process alive (default true). False for a
   * child that may outlive us (a detached container): it is still reaped if it ends first.
   */
  keepAlive?: boolean;
  /** How the InitError for the child's report names what was started. */
  errorContext: InitErrorContext;
}

/**
 * A launched init helper, a direct child of this process. With CLONE_PARENT in its program this
 * is the intermediate, which exits 0 once it reported the new process's pid (a PID frame): that
 * process is a child of this one too (`pidfdOpen` and `waitExit` it).
 */
export interface InitChild {
  readonly pid: number;
  /** The caller's: close it once `exited` has settled (a number closed earlier may be reused under the wait). */
  readonly pidfd: number;
  /** Settles once the child has exited and was reaped; watched from the launch, so no exit is missed. */
  readonly exited: Promise<ExitStatus>;
  /**
   * The parent's end of the sync socket, the caller's to close: for a program that waits for
   * the go signal (WAIT_GO), reports a pid (CLONE_PARENT) or waits for the start (AWAIT_START),
   * hand it to @nsinit/syncpipe's SyncChannel (go, the PID and READY frames, the child's report).
   * Null for any other program: its report was read before launchInit returned.
   */
  readonly syncFd: number | null;
  /** The typed error for the child's report on this program. */
  initError(report: ChildError): InitError;
}

/**
 * Ops after which the caller must read the channel while the child lives: the go signal, the
 * PID frame of the process that goes on, the READY frame before the start.
 */
const CHANNEL_OPS: ReadonlySet<InitOp['op']> = new Set(['waitGo', 'cloneParent', 'awaitStart']);

/** Reads the helper's report to EOF: nothing once it exec'd the command (CLOEXEC closed its end). */
function readReport(fd: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  const buffer = Buffer.allocUnsafe(MAX_CHILD_REPORT_BYTES + 1);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer, 0, buffer.length, null);
    } catch (error) {
      if (systemErrorCode(error) === 'EINTR') continue;
      throw error;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
    total += n;
    // More than a frame can hold: the decoder says what is wrong with it.
    if (total > MAX_CHILD_REPORT_BYTES) break;
  }
  return Buffer.concat(chunks, total);
}

/** Kills and reaps a child that is never handed out; its pidfd closes once it is reaped. */
function discard(child: InitChild): void {
  pidfdSendSignal({ pidfd: child.pidfd, signal: SIGKILL });
  child.exited.catch(() => {}).finally(() => closeSync(child.pidfd));
}

/**
 * Starts the init helper on `program` with the fds placed, in new namespaces and a cgroup as
 * asked. A program that waits for the go signal (WAIT_GO), reports a pid (CLONE_PARENT) or waits
 * for the start (AWAIT_START) returns a child whose channel is `syncFd`. Any other runs straight
 * to its exec, which nothing in it waits for: then launchInit returns once the command was
 * exec'd — like child_process.spawn — and throws the InitError of the op that failed instead
 * (the child killed and reaped, nothing left open).
 * Throws the system error of a failed spawn (`syscall`: clone3, execveat ...) with everything closed.
 */
export function launchInit(options: LaunchOptions): InitChild {
  const { ops, encoded } =
    'encoded' in options.program
      ? options.program
      : { ops: options.program, encoded: encodeProgram(options.program) };
  const reportFd = options.reportFd ?? DEFAULT_REPORT_FD;
  const programFd = options.programFd ?? DEFAULT_PROGRAM_FD;
  const [parentEnd, childEnd] = socketPair();
  let memfd: number | undefined;
  let spawned: { pid: number; pidfd: number };
  try {
    memfd = createSealedMemfd({ name: 'nsinit-program', contents: encoded });
    spawned = spawn({
      helperFd: helperFd(),
      argv: ['nsinit-init', String(programFd), String(reportFd)],
      cloneFlags: options.cloneFlags ?? 0,
      fds: [...(options.fds ?? []), { from: childEnd, to: reportFd }, { from: memfd, to: programFd }],
      ...(options.cgroupFd !== undefined ? { cgroupFd: options.cgroupFd } : {}),
      ...(options.parentDeathSignal ? { parentDeathSignal: options.parentDeathSignal } : {}),
    });
  } catch (error) {
    closeSync(parentEnd);
    throw error;
  } finally {
    // The helper runs on its own copies (spawn returns once it was exec'd); ours of the child's
    // end would keep the socket open after the command's exec, and EOF would never come.
    closeSync(childEnd);
    if (memfd !== undefined) closeSync(memfd);
  }

  const exited = waitExit({ pidfd: spawned.pidfd, ref: options.keepAlive ?? true });
  // Nobody may ever wait; a failed waitid still reaches those who do.
  exited.catch(() => {});
  const talks = ops.some((op) => CHANNEL_OPS.has(op.op));
  const child: InitChild = {
    pid: spawned.pid,
    pidfd: spawned.pidfd,
    exited,
    syncFd: talks ? parentEnd : null,
    initError: (report) => initError(report, ops, options.errorContext),
  };
  if (talks) return child;

  let report: ChildError | null;
  try {
    report = decodeChildReport(readReport(parentEnd));
  } catch (error) {
    discard(child);
    throw error;
  } finally {
    closeSync(parentEnd);
  }
  if (report) {
    discard(child);
    throw child.initError(report);
  }
  return child;
}
