// Addresses: struct ifaddrmsg (8 bytes) and the IFA_* attributes.
import { NetlinkProtocolError } from '../errors.js';
import { formatIp, type IpFamily } from '../ip.js';
import { LITTLE_ENDIAN } from './attributes.js';
import {
  AF_INET,
  AF_INET6,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  RTM_NEWADDR,
} from './constants.js';
import { type NetlinkMessage, splitPayload } from './message.js';

export const IFADDRMSG_LENGTH = 8;

export interface IfAddr {
  family: number;
  prefixLength?: number;
  /** The low 8 IFA_F_* bits (the rest go in IFA_FLAGS). */
  flags?: number;
  scope?: number;
  index?: number;
}

export function encodeIfAddr(info: IfAddr): Uint8Array {
  const bytes = new Uint8Array(IFADDRMSG_LENGTH);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, info.family);
  view.setUint8(1, info.prefixLength ?? 0);
  view.setUint8(2, info.flags ?? 0);
  view.setUint8(3, info.scope ?? 0);
  view.setUint32(4, info.index ?? 0, LITTLE_ENDIAN);
  return bytes;
}

export interface Address {
  family: IpFamily;
  /** ifindex of the link holding the address. */
  index: number;
  /** The address itself: IFA_LOCAL when present (IPv4), else IFA_ADDRESS. */
  address: string;
  prefixLength: number;
  /** "198.18.0.2/24" */
  cidr: string;
  /** IFA_ADDRESS when it differs from the local address (point-to-point peers). */
  peer?: string;
  broadcast?: string;
  label?: string;
  /** RT_SCOPE_* (0 global, 253 link, 254 host). */
  scope: number;
  /** IFA_F_* bits (IFA_FLAGS when present). */
  flags: number;
}

export function familyOf(addressFamily: number): IpFamily | undefined {
  return addressFamily === AF_INET ? 4 : addressFamily === AF_INET6 ? 6 : undefined;
}

export function decodeAddress(message: NetlinkMessage): Address {
  if (message.type !== RTM_NEWADDR) {
    throw new NetlinkProtocolError(`expected RTM_NEWADDR, got message type ${message.type}`);
  }
  const { header, attributes } = splitPayload(message, IFADDRMSG_LENGTH);
  const family = familyOf(header.getUint8(0));
  if (family === undefined)
    throw new NetlinkProtocolError(`RTM_NEWADDR of address family ${header.getUint8(0)}`);
  const size = family === 4 ? 4 : 16;
  const ip = (type: number, name: string): string | undefined => {
    const bytes = attributes.get(type);
    if (bytes === undefined) return undefined;
    if (bytes.length !== size) {
      throw new NetlinkProtocolError(`RTM_NEWADDR: ${name} has ${bytes.length} bytes, expected ${size}`);
    }
    return formatIp(bytes);
  };
  const local = ip(IFA_LOCAL, 'IFA_LOCAL');
  const peer = ip(IFA_ADDRESS, 'IFA_ADDRESS');
  const address = local ?? peer;
  if (address === undefined) throw new NetlinkProtocolError('RTM_NEWADDR without IFA_LOCAL or IFA_ADDRESS');
  const prefixLength = header.getUint8(1);
  const result: Address = {
    family,
    index: header.getUint32(4, LITTLE_ENDIAN),
    address,
    prefixLength,
    cidr: `${address}/${prefixLength}`,
    scope: header.getUint8(3),
    flags: attributes.u32(IFA_FLAGS) ?? header.getUint8(2),
  };
  if (peer !== undefined && peer !== address) result.peer = peer;
  const broadcast = ip(IFA_BROADCAST, 'IFA_BROADCAST');
  if (broadcast !== undefined) result.broadcast = broadcast;
  const label = attributes.string(IFA_LABEL);
  if (label !== undefined) result.label = label;
  return result;
}
