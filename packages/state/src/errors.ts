/** Base class of every error thrown by @nsinit/state; `code` is stable, the message is for people. */
export abstract class StateError extends Error {
  abstract readonly code: string;
}

/** The state root cannot be used (not a directory, or missing when a container dir is made in it). */
export class StateRootError extends StateError {
  override readonly name = 'StateRootError';
  readonly code = 'ERR_NSINIT_STATE_ROOT';
}

/** A container id outside `[A-Za-z0-9_+.-]+`, `.`/`..`, or too long. */
export class InvalidIdError extends StateError {
  override readonly name = 'InvalidIdError';
  readonly code = 'ERR_NSINIT_STATE_INVALID_ID';

  constructor(
    readonly id: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`invalid container id ${quoteId(id)}: ${reason}`, options);
  }
}

export class ContainerExistsError extends StateError {
  override readonly name = 'ContainerExistsError';
  readonly code = 'ERR_NSINIT_STATE_EXISTS';

  constructor(
    readonly id: string,
    readonly root: string,
  ) {
    super(
      `container ${quoteId(id)} already exists in ${root}; pick another id or delete that container first`,
    );
  }
}

export class ContainerNotFoundError extends StateError {
  override readonly name = 'ContainerNotFoundError';
  readonly code = 'ERR_NSINIT_STATE_NOT_FOUND';
}

/** Another holder (this process or another) has the container's lock. */
export class ContainerLockedError extends StateError {
  override readonly name = 'ContainerLockedError';
  readonly code = 'ERR_NSINIT_STATE_LOCKED';

  constructor(
    readonly id: string,
    readonly path: string,
  ) {
    super(
      `container ${quoteId(id)} is locked by another operation (flock on ${path}); try again when it ends`,
    );
  }
}

/** A file in the container dir does not hold what nsinit writes there. */
export class CorruptStateError extends StateError {
  override readonly name = 'CorruptStateError';
  readonly code = 'ERR_NSINIT_STATE_CORRUPT';

  constructor(
    readonly path: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`corrupt container state in ${path}: ${reason}`, options);
  }
}

/** A value handed to this package is not valid (a pid, a state object); nothing was written. */
export class InvalidStateError extends StateError {
  override readonly name = 'InvalidStateError';
  readonly code = 'ERR_NSINIT_STATE_INVALID';
}

/** Quote an id for a message, shortened: ids come from users and may be long or odd. */
export function quoteId(id: string): string {
  const shown = id.length > 80 ? `${id.slice(0, 80)}…` : id;
  return JSON.stringify(shown);
}
