/** The typed surface of src/netlink.cc: NETLINK_ROUTE sockets, optionally in a network namespace (issue 6). */
import { native } from './index.js';

/** Where the socket lives: this process's network namespace by default. */
export interface RouteNetlinkOptions {
  /** An fd of a network namespace (`/proc/<pid>/ns/net`, `/run/netns/<name>`); the caller keeps owning it. */
  netnsFd?: number;
  /** The network namespace of this process (opened from `/proc/<pid>/ns/net`). */
  pid?: number;
}

export interface NetlinkBinding {
  /**
   * A NETLINK_ROUTE socket (CLOEXEC, extended acks on, error replies capped to the header),
   * opened inside the namespace given: a short-lived thread of the addon joins it, opens the
   * socket and exits, and the socket stays in that namespace for life. Close it with `closeSync`.
   */
  openRouteNetlink(options?: RouteNetlinkOptions): number;
  /** Sends one datagram (one or more netlink messages) to the kernel. */
  netlinkSend(options: { fd: number; data: Uint8Array }): void;
  /**
   * Blocks until one datagram arrives (the kernel answers at once) and returns it whole;
   * throws ETIMEDOUT after `timeoutMs`.
   */
  netlinkReceive(options: { fd: number; timeoutMs: number }): Uint8Array;
  /** The CLONE_NEW* flag of a namespace fd (`ioctl(NS_GET_NSTYPE)`); throws when the fd is no namespace. */
  namespaceType(options: { fd: number }): number;
}

export const openRouteNetlink: NetlinkBinding['openRouteNetlink'] = (options) =>
  native().openRouteNetlink(options);
export const netlinkSend: NetlinkBinding['netlinkSend'] = (options) => native().netlinkSend(options);
export const netlinkReceive: NetlinkBinding['netlinkReceive'] = (options) => native().netlinkReceive(options);
export const namespaceType: NetlinkBinding['namespaceType'] = (options) => native().namespaceType(options);
