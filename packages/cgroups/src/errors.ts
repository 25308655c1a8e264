export class CgroupError extends Error {
  readonly code = 'ERR_NSINIT_CGROUP';
  constructor(
    message: string,
    /** The cgroup file or directory involved. */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CgroupError';
  }
}

/** `what failed on path: ENOENT (message)` from a Node system error. */
export function systemCause(error: unknown): string {
  const system = error as { code?: unknown; message?: unknown };
  return typeof system?.code === 'string' ? system.code : String(system?.message ?? error);
}
