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

/** `what failed on path: ENOENT (message)` from a Node system error. */
export function systemCause(error: unknown): string {
  const system = error as { code?: unknown; message?: unknown };
  return typeof system?.code === 'string' ? system.code : String(system?.message ?? error);
}

/** The errno code of a Node system error ('ENOENT'), or undefined. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
