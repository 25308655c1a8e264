import { errnoLabel, errnoMessage } from '@nsinit/native';

/** Base class of every error thrown by @nsinit/network; `code` is stable, the message is for people. */
export abstract class NetworkError extends Error {
  abstract readonly code: string;
}

export interface NetlinkErrorOptions extends ErrorOptions {
  /** The kernel's own explanation (extended ack). */
  kernelMessage?: string;
  /** Our explanation, when the failure is not the kernel's answer (a timeout, a closed socket). */
  detail?: string;
}

/** A netlink request failed: the kernel refused it, or it never got an answer; `errno` says why. */
export class NetlinkError extends NetworkError {
  override readonly name = 'NetlinkError';
  readonly code = 'ERR_NSINIT_NETLINK';
  /** E.g. 'EEXIST'. */
  readonly errnoName: string;
  /** The kernel's own explanation (extended ack), when it gave one. */
  readonly kernelMessage: string | undefined;

  constructor(
    /** What was asked, e.g. `create veth "veth1a2b3c4" (peer "eth0")`. */
    readonly operation: string,
    /** Positive errno, as the kernel and `os.constants.errno` number it. */
    readonly errno: number,
    options: NetlinkErrorOptions = {},
  ) {
    const name = errnoLabel(errno);
    const text = errnoMessage(errno);
    const { kernelMessage, detail, ...errorOptions } = options;
    super(
      `${operation} failed: ${text} (${name})${detail ? `: ${detail}` : ''}` +
        `${kernelMessage ? `; the kernel says: ${kernelMessage}` : ''}`,
      errorOptions,
    );
    this.errnoName = name;
    this.kernelMessage = kernelMessage;
  }
}

/** A netlink message that does not parse: a kernel or capture we do not understand. Nothing is guessed. */
export class NetlinkProtocolError extends NetworkError {
  override readonly name = 'NetlinkProtocolError';
  readonly code = 'ERR_NSINIT_NETLINK_PROTOCOL';
}

/** A value handed to a function of this package is not valid (a link name, a MAC, an address); nothing was sent. */
export class InvalidArgumentError extends NetworkError {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'ERR_NSINIT_NETWORK_INVALID_ARGUMENT';
}

/** A `networks[]` or `routes[]` entry that is not valid; `entry` names it, e.g. "networks[1] (veth)". */
export class NetworkConfigError extends NetworkError {
  override readonly name = 'NetworkConfigError';
  readonly code = 'ERR_NSINIT_NETWORK_CONFIG';

  constructor(
    readonly entry: string,
    /** The offending key, e.g. "address"; empty when the entry as a whole is wrong. */
    readonly field: string,
    reason: string,
  ) {
    super(`${entry}${field ? ` ${field}` : ''}: ${reason}`);
  }
}

/** Setting up (or removing) a network entry failed; `cause` holds the underlying error. */
export class NetworkSetupError extends NetworkError {
  override readonly name = 'NetworkSetupError';
  readonly code = 'ERR_NSINIT_NETWORK_SETUP';

  constructor(
    /** The entry, e.g. "networks[1] (veth)", or "routes[0]". */
    readonly entry: string,
    /** What went wrong with it (the message without the entry). */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${entry}: ${reason}`, options);
  }
}

/** A path given as a network namespace is not one (or cannot be opened). */
export class NamespaceError extends NetworkError {
  override readonly name = 'NamespaceError';
  readonly code = 'ERR_NSINIT_NETWORK_NAMESPACE';

  constructor(
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** True when `error` is the kernel refusing with one of `names` (e.g. 'ENODEV'). */
export function isNetlinkErrno(error: unknown, ...names: string[]): error is NetlinkError {
  return error instanceof NetlinkError && names.includes(error.errnoName);
}
