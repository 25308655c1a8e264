// Netlink messages: struct nlmsghdr (16 bytes), a family header, attributes; several per datagram.
import { NetlinkProtocolError } from '../errors.js';
import {
  type Attribute,
  AttributeSet,
  align4,
  attributesLength,
  LITTLE_ENDIAN,
  writeAttributes,
} from './attributes.js';
import {
  MESSAGE_TYPE_NAMES,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from './constants.js';

export const NLMSG_HDRLEN = 16;

export interface NetlinkHeader {
  type: number;
  flags: number;
  seq: number;
  /** Port id of the sender: 0 for the kernel. */
  pid: number;
}

export interface NetlinkMessage extends NetlinkHeader {
  /** Everything after the header (family header and attributes), unpadded. */
  payload: Uint8Array;
}

/** What a request carries: its header fields, the family header (ifinfomsg ...), its attributes. */
export interface NetlinkRequest {
  type: number;
  flags: number;
  seq: number;
  /** The fixed-size header of the message family, e.g. encodeIfInfo(...). */
  header: Uint8Array;
  attributes?: readonly Attribute[];
}

export function encodeMessage(request: NetlinkRequest): Uint8Array {
  const attributes = request.attributes ?? [];
  const headerEnd = NLMSG_HDRLEN + align4(request.header.length);
  const length = headerEnd + attributesLength(attributes);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, length, LITTLE_ENDIAN);
  view.setUint16(4, request.type, LITTLE_ENDIAN);
  view.setUint16(6, request.flags, LITTLE_ENDIAN);
  view.setUint32(8, request.seq, LITTLE_ENDIAN);
  view.setUint32(12, 0, LITTLE_ENDIAN);
  bytes.set(request.header, NLMSG_HDRLEN);
  writeAttributes(bytes, headerEnd, attributes);
  return bytes;
}

function readHeader(view: DataView, at: number): NetlinkHeader & { length: number } {
  return {
    length: view.getUint32(at, LITTLE_ENDIAN),
    type: view.getUint16(at + 4, LITTLE_ENDIAN),
    flags: view.getUint16(at + 6, LITTLE_ENDIAN),
    seq: view.getUint32(at + 8, LITTLE_ENDIAN),
    pid: view.getUint32(at + 12, LITTLE_ENDIAN),
  };
}

/** Splits one received datagram into its messages; a length that does not fit is an error. */
export function decodeMessages(datagram: Uint8Array): NetlinkMessage[] {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const messages: NetlinkMessage[] = [];
  let at = 0;
  while (at < datagram.length) {
    if (datagram.length - at < NLMSG_HDRLEN) {
      throw new NetlinkProtocolError(`netlink datagram: ${datagram.length - at} stray bytes at byte ${at}`);
    }
    const { length, ...header } = readHeader(view, at);
    if (length < NLMSG_HDRLEN || at + length > datagram.length) {
      throw new NetlinkProtocolError(
        `netlink datagram: message at byte ${at} (${messageTypeName(header.type)}) claims ${length} bytes, ` +
          `${datagram.length - at} remain`,
      );
    }
    messages.push({ ...header, payload: datagram.subarray(at + NLMSG_HDRLEN, at + length) });
    at = Math.min(datagram.length, at + align4(length));
  }
  return messages;
}

export function messageTypeName(type: number): string {
  return MESSAGE_TYPE_NAMES[type] ?? `message type ${type}`;
}

/** A message of `type`: its fixed header, checked for size, and the attributes after it. */
export function splitPayload(
  message: NetlinkMessage,
  type: number,
  headerLength: number,
): { header: DataView; attributes: AttributeSet } {
  const name = messageTypeName(type);
  if (message.type !== type) {
    throw new NetlinkProtocolError(`expected ${name}, got message type ${message.type}`);
  }
  if (message.payload.length < headerLength) {
    throw new NetlinkProtocolError(
      `${name}: ${message.payload.length} bytes of payload, its header alone takes ${headerLength}`,
    );
  }
  const p = message.payload;
  return {
    header: new DataView(p.buffer, p.byteOffset, headerLength),
    attributes: AttributeSet.decode(p.subarray(align4(headerLength)), name),
  };
}

/** An NLMSG_ERROR message: an acknowledgement (errno 0) or a refusal. */
export interface ErrorReply {
  /** Positive errno; 0 acknowledges success. */
  errno: number;
  /** The header of the request this answers. */
  request: NetlinkHeader;
  /** The kernel's explanation (extended ack), if any. */
  kernelMessage?: string;
  /** Byte offset of the offending attribute in the request (extended ack), if given. */
  offset?: number;
}

export function decodeError(message: NetlinkMessage): ErrorReply {
  if (message.type !== NLMSG_ERROR) {
    throw new NetlinkProtocolError(`expected NLMSG_ERROR, got ${messageTypeName(message.type)}`);
  }
  const p = message.payload;
  if (p.length < 4 + NLMSG_HDRLEN) {
    throw new NetlinkProtocolError(`NLMSG_ERROR: ${p.length} bytes of payload, at least 20 expected`);
  }
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const error = view.getInt32(0, LITTLE_ENDIAN);
  if (error > 0) throw new NetlinkProtocolError(`NLMSG_ERROR: positive error ${error}`);
  const { length: requestLength, ...request } = readHeader(view, 4);
  // With NETLINK_CAP_ACK (or on success) only the request's header is echoed back.
  const echoed = message.flags & NLM_F_CAPPED || error === 0 ? NLMSG_HDRLEN : requestLength;
  const tlvStart = 4 + align4(echoed);
  const reply: ErrorReply = { errno: 0 - error, request };
  if (message.flags & NLM_F_ACK_TLVS) {
    if (tlvStart > p.length) {
      throw new NetlinkProtocolError(`NLMSG_ERROR: echoed request of ${echoed} bytes overruns the message`);
    }
    const tlvs = AttributeSet.decode(p.subarray(tlvStart), 'NLMSG_ERROR extended ack');
    const kernelMessage = tlvs.string(NLMSGERR_ATTR_MSG);
    const offset = tlvs.u32(NLMSGERR_ATTR_OFFS);
    if (kernelMessage) reply.kernelMessage = kernelMessage;
    if (offset !== undefined) reply.offset = offset;
  }
  return reply;
}
