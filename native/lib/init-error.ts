// The one place a helper's report and the program it ran become an error for people: the op
// that failed (by index, name and what it does), the errno by name and meaning, the detail.
import { errnoLabel, errnoMessage } from './errno.js';
import { describeOp, type InitOp, OPCODES, opName } from './program.js';
import type { ChildError } from './report.js';

const ENOENT = 2;
const EACCES = 13;

export type InitErrorCode =
  /** The command does not exist, or may not be executed (ENOENT or EACCES from the EXEC or CHECK_EXEC op). */
  | 'ERR_NSINIT_COMMAND_NOT_FOUND'
  /** Any other op failed, or the helper could not read its program or the go signal. */
  | 'ERR_NSINIT_INIT_FAILED';

/** The init helper reported a failed operation: the command never ran. */
export class InitError extends Error {
  override readonly name = 'InitError';

  constructor(
    readonly code: InitErrorCode,
    message: string,
    /** Index of the failed operation in the init program, 0xffffffff when no op is to blame. */
    readonly opIndex: number,
    /** Its name, e.g. `fsmount` or `exec` (`opcode 0` for a program that did not decode). */
    readonly op: string,
    /** Positive errno from the helper, 0 when the failure was no system call's. */
    readonly errno: number,
    /** e.g. `ENOENT`. */
    readonly errnoCode: string,
    /** The helper's own words, e.g. `exec "nope": not found in PATH`. */
    readonly detail: string,
  ) {
    super(message);
  }
}

export interface InitErrorContext {
  /** What was being started, first in the message: `container web`, `pty spawn`. */
  subject: string;
  /** Where a command without a slash is looked up, for the hint (default `its PATH`). */
  searchPath?: string;
}

/**
 * The typed error for the helper's report about `ops`: ERR_NSINIT_COMMAND_NOT_FOUND when
 * the EXEC or CHECK_EXEC op failed with ENOENT or EACCES, ERR_NSINIT_INIT_FAILED otherwise.
 */
export function initError(report: ChildError, ops: readonly InitOp[], context: InitErrorContext): InitError {
  const op = ops[report.opIndex];
  const name = opName(report.opcode) ?? `opcode ${report.opcode}`;
  const { errno, detail } = report;
  const errnoCode = errnoLabel(errno);
  if ((op?.op === 'exec' || op?.op === 'checkExec') && (errno === ENOENT || errno === EACCES)) {
    const command = op.args[0] ?? '';
    const how =
      errno === EACCES ? 'permission denied' : command.includes('/') ? 'no such file' : 'not found in $PATH';
    return new InitError(
      'ERR_NSINIT_COMMAND_NOT_FOUND',
      `${context.subject}: cannot run "${command}": ${how} (${errnoCode}); ` +
        `check the command and ${context.searchPath ?? 'its PATH'}`,
      report.opIndex,
      name,
      errno,
      errnoCode,
      detail,
    );
  }
  // A report about no op in particular: the helper could not read its program or the go signal.
  const where = op
    ? describeOp(op)
    : report.opcode === OPCODES.waitGo
      ? 'reading the go signal'
      : 'decoding the init program';
  const reason = errno === 0 ? detail : `${errnoMessage(errno)} (${errnoCode})`;
  const extra = detail && errno !== 0 && detail !== where ? ` [${detail}]` : '';
  return new InitError(
    'ERR_NSINIT_INIT_FAILED',
    `${context.subject}: init failed ${op ? `at op ${report.opIndex} (${where})` : where}: ${reason}${extra}`,
    report.opIndex,
    name,
    errno,
    errnoCode,
    detail,
  );
}
