import { systemErrorCode } from '@nsinit/native';

export class CgroupError extends Error {
  readonly code = 'ERR_NSINIT_CGROUP';
  /** The value that was refused, when a write or a resource value failed. */
  readonly value: string | undefined;
  constructor(
    message: string,
    /** The cgroup file or directory involved ('' when no file is, e.g. a malformed rule). */
    readonly path: string,
    options?: { cause?: unknown; value?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CgroupError';
    this.value = options?.value;
  }
}

/** What a failed system call says in `cannot ... ${path}: ENOENT`: its errno name, else its message. */
export function systemCause(error: unknown): string {
  return systemErrorCode(error) ?? String((error as { message?: unknown } | null)?.message ?? error);
}
