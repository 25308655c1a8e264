// Routes: struct rtmsg (12 bytes) and the RTA_* attributes.
import type { IpFamily } from '../ip.js';
import { ipFamilyOf } from './address.js';
import {
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_NEWROUTE,
} from './constants.js';
import { type NetlinkMessage, splitPayload } from './message.js';

export const RTMSG_LENGTH = 12;

export interface RtMsg {
  family: number;
  destinationLength?: number;
  /** RT_TABLE_* (low 8 bits; RTA_TABLE carries the full number). */
  table?: number;
  /** RTPROT_* */
  protocol?: number;
  /** RT_SCOPE_* */
  scope?: number;
  /** RTN_* */
  type?: number;
}

export function encodeRtMsg(info: RtMsg): Uint8Array {
  const bytes = new Uint8Array(RTMSG_LENGTH);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, info.family);
  view.setUint8(1, info.destinationLength ?? 0);
  // rtm_src_len and rtm_tos stay 0: source routing and TOS routes are out of scope.
  view.setUint8(4, info.table ?? 0);
  view.setUint8(5, info.protocol ?? 0);
  view.setUint8(6, info.scope ?? 0);
  view.setUint8(7, info.type ?? 0);
  return bytes;
}

export interface Route {
  family: IpFamily;
  /** "0.0.0.0/0" or "::/0" for a default route. */
  destination: string;
  gateway?: string;
  /** Preferred source address (RTA_PREFSRC). */
  source?: string;
  /** ifindex of the output link. */
  outputIndex?: number;
  /** RT_TABLE_* (254 main, 255 local). */
  table: number;
  /** RTPROT_* (2 kernel, 3 boot, 4 static). */
  protocol: number;
  /** RT_SCOPE_* (0 universe, 253 link, 254 host). */
  scope: number;
  /** RTN_* (1 unicast, 2 local, 3 broadcast ...). */
  type: number;
  /** The metric (RTA_PRIORITY). */
  priority?: number;
}

export function decodeRoute(message: NetlinkMessage): Route {
  const { header, attributes } = splitPayload(message, RTM_NEWROUTE, RTMSG_LENGTH);
  const family = ipFamilyOf('RTM_NEWROUTE', header.getUint8(0));
  const destinationLength = header.getUint8(1);
  const destination = attributes.ip(RTA_DST, 'RTA_DST', family) ?? (family === 4 ? '0.0.0.0' : '::');
  const route: Route = {
    family,
    destination: `${destination}/${destinationLength}`,
    table: attributes.u32(RTA_TABLE) ?? header.getUint8(4),
    protocol: header.getUint8(5),
    scope: header.getUint8(6),
    type: header.getUint8(7),
  };
  const gateway = attributes.ip(RTA_GATEWAY, 'RTA_GATEWAY', family);
  if (gateway !== undefined) route.gateway = gateway;
  const source = attributes.ip(RTA_PREFSRC, 'RTA_PREFSRC', family);
  if (source !== undefined) route.source = source;
  const outputIndex = attributes.u32(RTA_OIF);
  if (outputIndex !== undefined) route.outputIndex = outputIndex;
  const priority = attributes.u32(RTA_PRIORITY);
  if (priority !== undefined) route.priority = priority;
  return route;
}
