// A NETLINK_ROUTE socket: requests answered by an acknowledgement, and multipart dumps.
// Blocking by design: the kernel answers rtnetlink requests at once, and one synchronous
// round trip costs a few microseconds where a trip through the event loop would cost more.
import { closeSync } from 'node:fs';
import { netlinkReceive, netlinkSend, openRouteNetlink } from '@nsinit/native';
import { type Attribute, LITTLE_ENDIAN } from './codec/attributes.js';
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
} from './codec/constants.js';
import {
  decodeError,
  decodeMessages,
  type ErrorReply,
  encodeMessage,
  type NetlinkMessage,
} from './codec/message.js';
import { NetlinkError, type NetlinkErrorOptions, NetlinkProtocolError } from './errors.js';

/** A network namespace: an fd of it (kept open by the caller), or a process in it. */
export type NamespaceRef = { fd: number } | { pid: number };

/** How errors name a namespace: "netns fd 7", "the netns of pid 42". */
export function describeNetns(netns: NamespaceRef): string {
  return 'fd' in netns ? `netns fd ${netns.fd}` : `the netns of pid ${netns.pid}`;
}

export interface NetlinkSocketOptions {
  /** Open the socket inside this network namespace (default: this process's). */
  netns?: NamespaceRef;
  /** How long to wait for each reply; default 5000 ms. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DUMP_ATTEMPTS = 5;
const EBADF = 9;
const EAGAIN = 11;

/** The request of one round trip: what goes after the netlink header. */
export interface RouteRequest {
  type: number;
  /** NLM_F_* beyond REQUEST and ACK (e.g. CREATE | EXCL). */
  flags?: number;
  header: Uint8Array;
  attributes?: readonly Attribute[];
}

/** Moves whole datagrams to and from the kernel; NetlinkSocket does the protocol on top. */
export interface NetlinkTransport {
  send(datagram: Uint8Array): void;
  /** The next datagram; throws (ETIMEDOUT) when none comes within `timeoutMs`. */
  receive(timeoutMs: number): Uint8Array;
  close(): void;
}

/** A NETLINK_ROUTE socket of the addon, in this process's namespace or the one given. */
export function openRouteTransport(netns?: NamespaceRef): NetlinkTransport {
  const fd = openRouteNetlink(
    netns === undefined ? {} : 'fd' in netns ? { netnsFd: netns.fd } : { pid: netns.pid },
  );
  let open = true;
  return {
    send: (data) => netlinkSend({ fd, data }),
    receive: (timeoutMs) => netlinkReceive({ fd, timeoutMs }),
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export class NetlinkSocket implements Disposable {
  #transport: NetlinkTransport | undefined;
  #seq = 0;
  readonly timeoutMs: number;

  /** Speaks netlink over `transport` (which it then owns); `NetlinkSocket.open` is the usual way in. */
  constructor(transport: NetlinkTransport, options: { timeoutMs?: number } = {}) {
    this.#transport = transport;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  static open(options: NetlinkSocketOptions = {}): NetlinkSocket {
    const { netns } = options;
    let transport: NetlinkTransport;
    try {
      transport = openRouteTransport(netns);
    } catch (error) {
      const where = netns === undefined ? '' : ` in ${describeNetns(netns)}`;
      throw nativeFailure(`open a NETLINK_ROUTE socket${where}`, error);
    }
    return new NetlinkSocket(transport, options);
  }

  get closed(): boolean {
    return this.#transport === undefined;
  }

  close(): void {
    const transport = this.#transport;
    this.#transport = undefined;
    transport?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Sends `request` with NLM_F_ACK and returns the messages that came before the
   * acknowledgement (the answer of a GET; none for NEW/SET/DEL). A refusal throws
   * NetlinkError naming `operation`.
   */
  request(request: RouteRequest, operation: string): NetlinkMessage[] {
    const seq = this.send(request, NLM_F_REQUEST | NLM_F_ACK | (request.flags ?? 0), operation);
    const replies: NetlinkMessage[] = [];
    for (;;) {
      for (const message of this.receive(operation)) {
        if (message.seq !== seq || message.type === NLMSG_NOOP) continue;
        if (message.type === NLMSG_ERROR) {
          const reply = decodeError(message);
          if (reply.errno !== 0) throw new NetlinkError(operation, reply.errno, kernelMessageOf(reply));
          return replies;
        }
        if (message.type === NLMSG_OVERRUN) throw new NetlinkProtocolError(`${operation}: NLMSG_OVERRUN`);
        replies.push(message);
      }
    }
  }

  /**
   * A multipart dump: every message up to NLMSG_DONE, possibly over several datagrams.
   * A dump the kernel marks inconsistent (NLM_F_DUMP_INTR: the table changed meanwhile)
   * is run again, a few times at most.
   */
  dump(request: RouteRequest, operation: string): NetlinkMessage[] {
    for (let attempt = 1; ; attempt++) {
      const { messages, interrupted } = this.dumpOnce(request, operation);
      if (!interrupted) return messages;
      if (attempt === DUMP_ATTEMPTS) {
        throw new NetlinkError(operation, EAGAIN, {
          detail: `the dump was interrupted by concurrent changes ${DUMP_ATTEMPTS} times in a row`,
        });
      }
    }
  }

  private dumpOnce(
    request: RouteRequest,
    operation: string,
  ): { messages: NetlinkMessage[]; interrupted: boolean } {
    const seq = this.send(request, NLM_F_REQUEST | NLM_F_DUMP | (request.flags ?? 0), operation);
    const messages: NetlinkMessage[] = [];
    let interrupted = false;
    for (;;) {
      for (const message of this.receive(operation)) {
        if (message.seq !== seq || message.type === NLMSG_NOOP) continue;
        if (message.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (message.type === NLMSG_DONE) {
          // NLMSG_DONE carries the dump's own status: an int, 0 or a negative errno.
          const p = message.payload;
          const status =
            p.length >= 4 ? new DataView(p.buffer, p.byteOffset, 4).getInt32(0, LITTLE_ENDIAN) : 0;
          if (status < 0) throw new NetlinkError(operation, -status);
          return { messages, interrupted };
        }
        if (message.type === NLMSG_ERROR) {
          const reply = decodeError(message);
          throw new NetlinkError(operation, reply.errno, kernelMessageOf(reply));
        }
        if (message.type === NLMSG_OVERRUN) throw new NetlinkProtocolError(`${operation}: NLMSG_OVERRUN`);
        messages.push(message);
      }
    }
  }

  private send(request: RouteRequest, flags: number, operation: string): number {
    const transport = this.transportFor(operation);
    // Sequence numbers tell this request's replies from late answers to an earlier one that timed out.
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    const data = encodeMessage({
      type: request.type,
      flags,
      seq: this.#seq,
      header: request.header,
      attributes: request.attributes ?? [],
    });
    try {
      transport.send(data);
    } catch (error) {
      throw nativeFailure(operation, error);
    }
    return this.#seq;
  }

  private receive(operation: string): NetlinkMessage[] {
    const transport = this.transportFor(operation);
    let datagram: Uint8Array;
    try {
      datagram = transport.receive(this.timeoutMs);
    } catch (error) {
      throw nativeFailure(operation, error);
    }
    return decodeMessages(datagram);
  }

  private transportFor(operation: string): NetlinkTransport {
    if (this.#transport === undefined) {
      throw new NetlinkError(operation, EBADF, { detail: 'the netlink socket is closed' });
    }
    return this.#transport;
  }
}

function kernelMessageOf(reply: ErrorReply): NetlinkErrorOptions {
  return reply.kernelMessage === undefined ? {} : { kernelMessage: reply.kernelMessage };
}

/** A system error from the addon (Node-style: `errno` negative, message with the syscall) as a NetlinkError. */
function nativeFailure(operation: string, error: unknown): NetlinkError {
  const { errno, message } = (error ?? {}) as { errno?: unknown; message?: unknown };
  // EIO when the addon gave no errno: it always does for system errors, so this is only a fallback.
  const positive = typeof errno === 'number' && errno !== 0 ? Math.abs(errno) : 5;
  return new NetlinkError(operation, positive, { cause: error, detail: String(message) });
}
