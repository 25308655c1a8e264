// Addresses: struct ifaddrmsg (8 bytes) and the IFA_* attributes.
import { NetlinkProtocolError } from '../errors.js';
import type { IpFamily } from '../ip.js';
import { LITTLE_ENDIAN } from './attributes.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
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

/** The IP family of an address or route message (`what`); AF_INET and AF_INET6 only. */
export function ipFamilyOf(what: string, addressFamily: number): IpFamily {
  if (addressFamily === AF_INET) return 4;
  if (addressFamily === AF_INET6) return 6;
  throw new NetlinkProtocolError(`${what} of address family ${addressFamily}`);
}

/** The AF_* number of an IP family; AF_UNSPEC (both families) when none is given. */
export function addressFamilyNumber(family: IpFamily | undefined): number {
  return family === 4 ? AF_INET : family === 6 ? AF_INET6 : AF_UNSPEC;
}

export function decodeAddress(message: NetlinkMessage): Address {
  const { header, attributes } = splitPayload(message, RTM_NEWADDR, IFADDRMSG_LENGTH);
  const family = ipFamilyOf('RTM_NEWADDR', header.getUint8(0));
  const local = attributes.ip(IFA_LOCAL, 'IFA_LOCAL', family);
  const peer = attributes.ip(IFA_ADDRESS, 'IFA_ADDRESS', family);
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
  const broadcast = attributes.ip(IFA_BROADCAST, 'IFA_BROADCAST', family);
  if (broadcast !== undefined) result.broadcast = broadcast;
  const label = attributes.string(IFA_LABEL);
  if (label !== undefined) result.label = label;
  return result;
}
