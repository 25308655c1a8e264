// Links: struct ifinfomsg (16 bytes) and the IFLA_* attributes we read.
import { NetlinkProtocolError } from '../errors.js';
import { formatMac } from '../ip.js';
import { LITTLE_ENDIAN } from './attributes.js';
import {
  IFF_LOWER_UP,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_TXQLEN,
  OPER_STATES,
  RTM_NEWLINK,
} from './constants.js';
import { type NetlinkMessage, splitPayload } from './message.js';

export const IFINFOMSG_LENGTH = 16;

export interface IfInfo {
  family?: number;
  /** ARPHRD_* */
  type?: number;
  index?: number;
  flags?: number;
  /** Which bits of `flags` to change. */
  change?: number;
}

export function encodeIfInfo(info: IfInfo = {}): Uint8Array {
  const bytes = new Uint8Array(IFINFOMSG_LENGTH);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, info.family ?? 0);
  view.setUint16(2, info.type ?? 0, LITTLE_ENDIAN);
  view.setInt32(4, info.index ?? 0, LITTLE_ENDIAN);
  view.setUint32(8, info.flags ?? 0, LITTLE_ENDIAN);
  view.setUint32(12, info.change ?? 0, LITTLE_ENDIAN);
  return bytes;
}

export interface Link {
  index: number;
  name: string;
  /** IFF_* bits. */
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** The carrier is up (IFF_LOWER_UP). */
  lowerUp: boolean;
  /** ARPHRD_* (1 ethernet, 772 loopback). */
  hardwareType: number;
  mtu?: number;
  /** "02:42:ac:11:00:02" */
  mac?: string;
  /** ifindex of the bridge (or other master) this link is enslaved to. */
  master?: number;
  txQueueLen?: number;
  /** IFLA_INFO_KIND: "veth", "bridge", "dummy" ...; absent for lo and physical devices. */
  kind?: string;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the namespace `linkNetnsId` names, if set). */
  parentIndex?: number;
  /** IFLA_LINK_NETNSID: the peer namespace's id as this namespace knows it. */
  linkNetnsId?: number;
  /** "up", "down", "lowerlayerdown" ... (RFC 2863 operational state). */
  operState?: string;
}

export function decodeLink(message: NetlinkMessage): Link {
  const { header, attributes } = splitPayload(message, RTM_NEWLINK, IFINFOMSG_LENGTH);
  const flags = header.getUint32(8, LITTLE_ENDIAN);
  const index = header.getInt32(4, LITTLE_ENDIAN);
  const name = attributes.string(IFLA_IFNAME);
  if (name === undefined)
    throw new NetlinkProtocolError(`RTM_NEWLINK for ifindex ${index} has no IFLA_IFNAME`);
  const link: Link = {
    index,
    name,
    flags,
    up: (flags & IFF_UP) !== 0,
    lowerUp: (flags & IFF_LOWER_UP) !== 0,
    hardwareType: header.getUint16(2, LITTLE_ENDIAN),
  };
  const mtu = attributes.u32(IFLA_MTU);
  if (mtu !== undefined) link.mtu = mtu;
  const mac = attributes.get(IFLA_ADDRESS);
  if (mac !== undefined) link.mac = formatMac(mac);
  const master = attributes.u32(IFLA_MASTER);
  if (master !== undefined) link.master = master;
  const txQueueLen = attributes.u32(IFLA_TXQLEN);
  if (txQueueLen !== undefined) link.txQueueLen = txQueueLen;
  const kind = attributes.nested(IFLA_LINKINFO, 'IFLA_LINKINFO')?.string(IFLA_INFO_KIND);
  if (kind !== undefined) link.kind = kind;
  const parentIndex = attributes.u32(IFLA_LINK);
  if (parentIndex !== undefined && parentIndex !== index) link.parentIndex = parentIndex;
  const linkNetnsId = attributes.i32(IFLA_LINK_NETNSID);
  if (linkNetnsId !== undefined) link.linkNetnsId = linkNetnsId;
  const operState = attributes.u8(IFLA_OPERSTATE);
  if (operState !== undefined) link.operState = OPER_STATES[operState] ?? `state ${operState}`;
  return link;
}
