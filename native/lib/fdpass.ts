/**
 * The typed surface of src/fdpass.cc: fds over Unix sockets (SCM_RIGHTS), and readiness
 * waits on the libuv loop for fds no Node handle watches (issue 4).
 */
import { native } from './index.js';

export interface ReceivedFd {
  /** The fd that arrived, CLOEXEC; owned by the caller. */
  fd: number;
  /** The bytes of the message that carried it (for the OCI console socket: the pts name). */
  payload: Buffer;
}

export interface FdPassingBinding {
  /** A blocking, CLOEXEC SOCK_STREAM socket connected to the Unix socket at `path` (at most 107 bytes). */
  connectUnixSocket(options: { path: string }): number;
  /**
   * A non-blocking, CLOEXEC SOCK_STREAM socket bound to `path` (which must not exist) and
   * listening. The caller closes it and removes `path`.
   */
  listenUnixSocket(options: { path: string; backlog?: number }): number;
  /** The next connection on a listening socket (CLOEXEC, blocking), or null when none is waiting. */
  acceptUnixSocket(options: { socket: number }): number | null;
  /**
   * One sendmsg carrying `fd` (SCM_RIGHTS) with `payload` (1..65536 bytes; a stream socket
   * needs data to carry an fd). The caller keeps owning `fd`.
   */
  sendFd(options: { socket: number; fd: number; payload: string | Uint8Array }): void;
  /**
   * The next message on `socket` without waiting (null when none is there yet). It must
   * carry exactly one fd: none, or the peer closing first, throws ENOMSG; several throw
   * EBADMSG (every fd that came is closed first). The payload is what that one recvmsg
   * returned, at most `maxPayloadBytes` (default 4096).
   */
  receiveFd(options: { socket: number; maxPayloadBytes?: number }): ReceivedFd | null;
  /**
   * Resolves true once `fd` is readable or writable (or hung up: the next read or write
   * tells), false when cancelled. libuv watches an fd number once per loop: at most one
   * wait per fd, and none on an fd a Node stream watches (wait on a `duplicateFd` copy).
   * Sets O_NONBLOCK on the fd.
   */
  waitFd(options: { fd: number; events: 'readable' | 'writable' }): Promise<boolean>;
  /** Ends the pending wait on `fd` (it resolves false); call it before closing the fd. False when none was pending. */
  cancelWaitFd(options: { fd: number }): boolean;
}

export const connectUnixSocket: FdPassingBinding['connectUnixSocket'] = (options) =>
  native().connectUnixSocket(options);
export const listenUnixSocket: FdPassingBinding['listenUnixSocket'] = (options) =>
  native().listenUnixSocket(options);
export const acceptUnixSocket: FdPassingBinding['acceptUnixSocket'] = (options) =>
  native().acceptUnixSocket(options);
export const sendFd: FdPassingBinding['sendFd'] = (options) => native().sendFd(options);
export const receiveFd: FdPassingBinding['receiveFd'] = (options) => native().receiveFd(options);
export const waitFd: FdPassingBinding['waitFd'] = (options) => native().waitFd(options);
export const cancelWaitFd: FdPassingBinding['cancelWaitFd'] = (options) => native().cancelWaitFd(options);
