// Typed errors of @nsinit/exec. Every error carries a stable `code`; messages say
// what failed, where, and (when there is something to do) what to do.
import type { InitErrorCode } from '@nsinit/native';

/**
 * The init helper's report about a failed op: the launcher's InitError (ERR_NSINIT_INIT_FAILED,
 * ERR_NSINIT_COMMAND_NOT_FOUND), the same for a container as for a pty command.
 */
export { InitError } from '@nsinit/native';

/** Every code an error of @nsinit/exec carries: its own, and InitError's. */
export type ExecErrorCode =
  | 'ERR_NSINIT_UNSUPPORTED'
  | 'ERR_NSINIT_CONFIG_INVALID'
  | 'ERR_NSINIT_ROOTFS'
  | 'ERR_NSINIT_STEP'
  | 'ERR_NSINIT_OOM_KILLED'
  | 'ERR_NSINIT_MAX_BUFFER'
  /** exec: the container's init exited before the process could enter it. */
  | 'ERR_NSINIT_NOT_RUNNING'
  /** exec: the helper ended without starting the process (killed). */
  | 'ERR_NSINIT_EXEC_FAILED'
  | InitErrorCode;

export class ExecError extends Error {
  constructor(
    readonly code: Exclude<ExecErrorCode, InitErrorCode>,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ExecError';
  }
}

/** A config field asks for something nsinit does not implement (yet): never silently ignored. */
export class UnsupportedFeatureError extends ExecError {
  constructor(
    readonly field: string,
    detail?: string,
  ) {
    super('ERR_NSINIT_UNSUPPORTED', `${field} is not supported yet${detail ? ` (${detail})` : ''}`);
    this.name = 'UnsupportedFeatureError';
  }
}

/** A config that parses but cannot run as given (a semantic error). */
export class InvalidConfigError extends ExecError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super('ERR_NSINIT_CONFIG_INVALID', `${field}: ${problem}`);
    this.name = 'InvalidConfigError';
  }
}

/** One step of the parent sequence failed; `step` names it and `cause` holds the system error. */
export class StepError extends ExecError {
  readonly errno: number | undefined;
  readonly syscall: string | undefined;
  readonly path: string | undefined;
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    const system = cause as {
      code?: unknown;
      errno?: unknown;
      syscall?: unknown;
      path?: unknown;
      message?: unknown;
    };
    super(
      'ERR_NSINIT_STEP',
      `${step}: ${typeof system?.message === 'string' ? system.message : String(cause)}`,
      { cause },
    );
    this.name = 'StepError';
    this.errno = typeof system?.errno === 'number' ? system.errno : undefined;
    this.syscall = typeof system?.syscall === 'string' ? system.syscall : undefined;
    this.path = typeof system?.path === 'string' ? system.path : undefined;
  }
}

export function abortError(signal: AbortSignal): Error {
  const error = new Error('the operation was aborted', { cause: signal.reason });
  error.name = 'AbortError';
  (error as Error & { code: string }).code = 'ABORT_ERR';
  return error;
}
