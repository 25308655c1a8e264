// rtnetlink operations on links, addresses and routes, over one NETLINK_ROUTE socket.
import { type Address, addressFamilyNumber, decodeAddress, encodeIfAddr } from './codec/address.js';
import { type Attribute, attr, encodeAttributes } from './codec/attributes.js';
import {
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_F_NODAD,
  IFA_FLAGS,
  IFA_LOCAL,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_NET_NS_PID,
  IFLA_TXQLEN,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_SETLINK,
  RTN_UNICAST,
  RTPROT_BOOT,
  VETH_INFO_PEER,
} from './codec/constants.js';
import { decodeLink, encodeIfInfo, type Link } from './codec/link.js';
import { decodeRoute, encodeRtMsg, type Route } from './codec/route.js';
import { InvalidArgumentError, isNetlinkErrno, NetlinkProtocolError } from './errors.js';
import {
  broadcastOf,
  type IpAddress,
  type IpFamily,
  type IpPrefix,
  parseIp,
  parseIpPrefix,
  parseMac,
} from './ip.js';
import { describeNetns, type NamespaceRef, NetlinkSocket, type NetlinkSocketOptions } from './socket.js';

/** A link by ifindex or by name. */
export type LinkRef = number | string;

/** What a new link (or a veth peer) gets when it is created. */
export interface NewLinkOptions {
  name: string;
  mtu?: number;
  /** "02:42:ac:11:00:02" */
  mac?: string;
  txQueueLen?: number;
  /** Bring it up at once. */
  up?: boolean;
}

export interface VethOptions extends NewLinkOptions {
  /** Enslave this end to a bridge (or other master) at creation. */
  master?: LinkRef;
  /**
   * The other end; created straight inside `peer.netns` when given. It starts down: the kernel
   * cannot open a veth end before its pair is complete (ENOTCONN), so bring it up afterwards.
   */
  peer: Omit<NewLinkOptions, 'up'> & { netns?: NamespaceRef };
}

export interface BridgeOptions extends NewLinkOptions {}

/** Changes to an existing link, sent in one request. Renaming needs the link down. */
export interface LinkChanges {
  name?: string;
  mtu?: number;
  mac?: string;
  txQueueLen?: number;
  up?: boolean;
  /** Enslave to this bridge, or `null` to release from the current one. */
  master?: LinkRef | null;
  /** Move the link into another network namespace (it leaves this one, and goes down). */
  netns?: NamespaceRef;
}

export interface AddressOptions {
  /** IPv6: skip duplicate address detection, so the address is usable at once. */
  noDad?: boolean;
}

/** A route to add or delete. Family comes from the addresses; at least one must be given. */
export interface RouteSpec {
  /** "198.18.0.0/24"; a default route when absent. */
  destination?: string;
  gateway?: string;
  /** Preferred source address for traffic on this route. */
  source?: string;
  /** The output link; without a gateway the route is on-link (scope link). */
  device?: LinkRef;
  /** Routing table; default main (254). */
  table?: number;
  metric?: number;
}

/** The name rules of the kernel's dev_valid_name(): 1-15 bytes, no '/', ':' or white space, not '.' or '..'. */
export function validLinkName(name: string): boolean {
  return (
    name.length > 0 && Buffer.byteLength(name) <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name)
  );
}

/**
 * rtnetlink over one socket, opened in this process's network namespace or in another one
 * (`RouteNetlink.open({ netns: { pid } })`): links, addresses and routes. Every call is one
 * or two synchronous round trips; failures throw NetlinkError with the errno and the kernel's
 * own explanation. Close it (or `using` it) when done: an open socket keeps its namespace alive.
 */
export class RouteNetlink implements Disposable {
  /** Over an existing socket (which it then owns); `RouteNetlink.open` is the usual way in. */
  constructor(private readonly socket: NetlinkSocket) {}

  static open(options: NetlinkSocketOptions = {}): RouteNetlink {
    return new RouteNetlink(NetlinkSocket.open(options));
  }

  close(): void {
    this.socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // -- links ------------------------------------------------------------------------------

  listLinks(): Link[] {
    const header = encodeIfInfo({ family: AF_UNSPEC });
    const attributes = [attr.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)];
    return this.socket.dump({ type: RTM_GETLINK, header, attributes }, 'list links').map(decodeLink);
  }

  /** The link, or NetlinkError ENODEV when there is none. */
  getLink(ref: LinkRef): Link {
    const selector = linkSelector(ref);
    const replies = this.socket.request(
      {
        type: RTM_GETLINK,
        header: encodeIfInfo({ index: selector.index }),
        attributes: [...selector.attributes, attr.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)],
      },
      `get link ${describeLink(ref)}`,
    );
    const [reply] = replies;
    if (!reply) throw new NetlinkProtocolError(`get link ${describeLink(ref)}: acknowledged without a link`);
    return decodeLink(reply);
  }

  /** The link, or undefined when there is none. */
  findLink(ref: LinkRef): Link | undefined {
    try {
      return this.getLink(ref);
    } catch (error) {
      if (isNetlinkErrno(error, 'ENODEV')) return undefined;
      throw error;
    }
  }

  /** A veth pair; the peer goes straight into `peer.netns` when given, configured and maybe up. */
  createVeth(options: VethOptions): void {
    const { peer } = options;
    const peerAttributes = newLinkAttributes(peer, 'veth peer');
    if (peer.netns) peerAttributes.push(netnsAttribute(peer.netns));
    const attributes = newLinkAttributes(options, 'veth');
    if (options.master !== undefined) attributes.push(attr.u32(IFLA_MASTER, this.indexOf(options.master)));
    attributes.push(
      attr.nested(IFLA_LINKINFO, [
        attr.string(IFLA_INFO_KIND, 'veth'),
        attr.nested(IFLA_INFO_DATA, [
          attr.bytes(VETH_INFO_PEER, concat(encodeIfInfo(), encodeAttributes(peerAttributes))),
        ]),
      ]),
    );
    this.createLink(
      options,
      attributes,
      `create veth "${options.name}" (peer "${peer.name}"${peer.netns ? ` in ${describeNetns(peer.netns)}` : ''})`,
    );
  }

  createBridge(options: BridgeOptions): void {
    const attributes = newLinkAttributes(options, 'bridge');
    attributes.push(attr.nested(IFLA_LINKINFO, [attr.string(IFLA_INFO_KIND, 'bridge')]));
    this.createLink(options, attributes, `create bridge "${options.name}"`);
  }

  /** RTM_NEWLINK of a link that must not exist yet, up at once when `options.up`. */
  private createLink(options: NewLinkOptions, attributes: readonly Attribute[], operation: string): void {
    this.socket.request(
      {
        type: RTM_NEWLINK,
        flags: NLM_F_CREATE | NLM_F_EXCL,
        header: encodeIfInfo(options.up ? { flags: IFF_UP, change: IFF_UP } : {}),
        attributes,
      },
      operation,
    );
  }

  setLink(ref: LinkRef, changes: LinkChanges): void {
    // A link named in the request is found by IFLA_IFNAME, which then cannot carry a new name.
    const selector = linkSelector(changes.name === undefined ? ref : this.indexOf(ref));
    const attributes: Attribute[] = [...selector.attributes];
    const what: string[] = [];
    if (changes.name !== undefined) {
      attributes.push(attr.string(IFLA_IFNAME, checkedName(changes.name, 'new name')));
      what.push(`name "${changes.name}"`);
    }
    if (changes.mtu !== undefined) {
      attributes.push(attr.u32(IFLA_MTU, checkedU32(changes.mtu, 'mtu')));
      what.push(`mtu ${changes.mtu}`);
    }
    if (changes.mac !== undefined) {
      attributes.push(attr.bytes(IFLA_ADDRESS, checkedMac(changes.mac)));
      what.push(`mac ${changes.mac}`);
    }
    if (changes.txQueueLen !== undefined) {
      attributes.push(attr.u32(IFLA_TXQLEN, checkedU32(changes.txQueueLen, 'txQueueLen')));
      what.push(`txqueuelen ${changes.txQueueLen}`);
    }
    if (changes.master !== undefined) {
      attributes.push(attr.u32(IFLA_MASTER, changes.master === null ? 0 : this.indexOf(changes.master)));
      what.push(changes.master === null ? 'nomaster' : `master ${describeLink(changes.master)}`);
    }
    if (changes.netns !== undefined) {
      attributes.push(netnsAttribute(changes.netns));
      what.push(`into ${describeNetns(changes.netns)}`);
    }
    if (changes.up !== undefined) what.push(changes.up ? 'up' : 'down');
    const up = changes.up === undefined ? {} : { flags: changes.up ? IFF_UP : 0, change: IFF_UP };
    this.socket.request(
      { type: RTM_SETLINK, header: encodeIfInfo({ index: selector.index, ...up }), attributes },
      `set link ${describeLink(ref)} ${what.join(', ') || '(no change)'}`,
    );
  }

  /** Deletes the link (both ends, for a veth). */
  deleteLink(ref: LinkRef): void {
    const selector = linkSelector(ref);
    this.socket.request(
      { type: RTM_DELLINK, header: encodeIfInfo({ index: selector.index }), attributes: selector.attributes },
      `delete link ${describeLink(ref)}`,
    );
  }

  // -- addresses --------------------------------------------------------------------------

  listAddresses(filter: { link?: LinkRef; family?: IpFamily } = {}): Address[] {
    const index = filter.link === undefined ? undefined : this.indexOf(filter.link);
    const family = addressFamilyNumber(filter.family);
    return this.socket
      .dump({ type: RTM_GETADDR, header: encodeIfAddr({ family }) }, 'list addresses')
      .map(decodeAddress)
      .filter((address) => index === undefined || address.index === index);
  }

  /** Adds "address/prefix" to the link (IPv4 with its broadcast address, as `ip addr add ... brd +`). */
  addAddress(ref: LinkRef, cidr: string, options: AddressOptions = {}): void {
    const prefix = checkedPrefix(cidr, 'address');
    const index = this.indexOf(ref);
    const attributes = addressAttributes(prefix);
    if (prefix.address.family === 4 && prefix.prefixLength < 31) {
      attributes.push(attr.bytes(IFA_BROADCAST, broadcastOf(prefix).bytes));
    }
    const flags = prefix.address.family === 6 && options.noDad ? IFA_F_NODAD : 0;
    if (flags) attributes.push(attr.u32(IFA_FLAGS, flags));
    this.socket.request(
      {
        type: RTM_NEWADDR,
        flags: NLM_F_CREATE | NLM_F_EXCL,
        header: encodeIfAddr({
          family: addressFamilyNumber(prefix.address.family),
          prefixLength: prefix.prefixLength,
          flags,
          index,
        }),
        attributes,
      },
      `add address ${prefix.text} to link ${describeLink(ref)}`,
    );
  }

  deleteAddress(ref: LinkRef, cidr: string): void {
    const prefix = checkedPrefix(cidr, 'address');
    const index = this.indexOf(ref);
    this.socket.request(
      {
        type: RTM_DELADDR,
        header: encodeIfAddr({
          family: addressFamilyNumber(prefix.address.family),
          prefixLength: prefix.prefixLength,
          index,
        }),
        attributes: addressAttributes(prefix),
      },
      `delete address ${prefix.text} from link ${describeLink(ref)}`,
    );
  }

  // -- routes -----------------------------------------------------------------------------

  /** Routes of one table (default main), both families unless one is given. */
  listRoutes(filter: { family?: IpFamily; table?: number } = {}): Route[] {
    const family = addressFamilyNumber(filter.family);
    const table = filter.table ?? RT_TABLE_MAIN;
    return this.socket
      .dump({ type: RTM_GETROUTE, header: encodeRtMsg({ family }) }, 'list routes')
      .map(decodeRoute)
      .filter((route) => route.table === table);
  }

  /** Adds a route; `replace` overwrites an existing route to the same destination (`ip route replace`). */
  addRoute(route: RouteSpec, options: { replace?: boolean } = {}): void {
    const { family, attributes, destinationLength, table, text } = this.routeRequest(route);
    const onLink = route.gateway === undefined && route.device !== undefined;
    this.socket.request(
      {
        type: RTM_NEWROUTE,
        flags: NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_EXCL),
        header: encodeRtMsg({
          family,
          destinationLength,
          table,
          protocol: RTPROT_BOOT,
          scope: onLink ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
          type: RTN_UNICAST,
        }),
        attributes,
      },
      `${options.replace ? 'replace' : 'add'} route ${text}`,
    );
  }

  deleteRoute(route: RouteSpec): void {
    const { family, attributes, destinationLength, table, text } = this.routeRequest(route);
    // Scope "nowhere" and no protocol or type: match whatever route has these addresses.
    this.socket.request(
      {
        type: RTM_DELROUTE,
        header: encodeRtMsg({ family, destinationLength, table, scope: 255 }),
        attributes,
      },
      `delete route ${text}`,
    );
  }

  private routeRequest(route: RouteSpec): {
    family: number;
    attributes: Attribute[];
    destinationLength: number;
    table: number;
    text: string;
  } {
    const destination =
      route.destination === undefined ? undefined : checkedPrefix(route.destination, 'destination');
    const gateway = route.gateway === undefined ? undefined : checkedIp(route.gateway, 'gateway');
    const source = route.source === undefined ? undefined : checkedIp(route.source, 'source');
    const families = new Set([destination?.address.family, gateway?.family, source?.family].filter((f) => f));
    if (families.size === 0) {
      throw new InvalidArgumentError(
        'a route needs a destination, a gateway or a source address to know its family',
      );
    }
    if (families.size > 1) {
      throw new InvalidArgumentError(
        `route mixes IPv4 and IPv6: destination ${route.destination}, gateway ${route.gateway}, source ${route.source}`,
      );
    }
    const ipFamily = [...families][0] as IpFamily;
    const attributes: Attribute[] = [];
    const table = route.table ?? RT_TABLE_MAIN;
    if (table > 255) attributes.push(attr.u32(RTA_TABLE, checkedU32(table, 'table')));
    if (destination && destination.prefixLength > 0)
      attributes.push(attr.bytes(RTA_DST, destination.address.bytes));
    if (gateway) attributes.push(attr.bytes(RTA_GATEWAY, gateway.bytes));
    if (source) attributes.push(attr.bytes(RTA_PREFSRC, source.bytes));
    if (route.device !== undefined) attributes.push(attr.u32(RTA_OIF, this.indexOf(route.device)));
    if (route.metric !== undefined)
      attributes.push(attr.u32(RTA_PRIORITY, checkedU32(route.metric, 'metric')));
    const text = [
      destination?.text ?? 'default',
      gateway ? `via ${gateway.text}` : '',
      route.device !== undefined ? `dev ${describeLink(route.device)}` : '',
      source ? `src ${source.text}` : '',
      table !== RT_TABLE_MAIN ? `table ${table}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return {
      family: addressFamilyNumber(ipFamily),
      attributes,
      destinationLength: destination?.prefixLength ?? 0,
      table: table > 255 ? 0 : table,
      text,
    };
  }

  private indexOf(ref: LinkRef): number {
    if (typeof ref === 'number') return checkedIndex(ref);
    return this.getLink(ref).index;
  }
}

function linkSelector(ref: LinkRef): { index: number; attributes: Attribute[] } {
  if (typeof ref === 'number') return { index: checkedIndex(ref), attributes: [] };
  return { index: 0, attributes: [attr.string(IFLA_IFNAME, checkedName(ref, 'link name'))] };
}

function newLinkAttributes(options: NewLinkOptions, what: string): Attribute[] {
  const attributes = [attr.string(IFLA_IFNAME, checkedName(options.name, `${what} name`))];
  if (options.mtu !== undefined) attributes.push(attr.u32(IFLA_MTU, checkedU32(options.mtu, `${what} mtu`)));
  if (options.mac !== undefined) attributes.push(attr.bytes(IFLA_ADDRESS, checkedMac(options.mac)));
  if (options.txQueueLen !== undefined) {
    attributes.push(attr.u32(IFLA_TXQLEN, checkedU32(options.txQueueLen, `${what} txQueueLen`)));
  }
  return attributes;
}

function netnsAttribute(netns: NamespaceRef): Attribute {
  return 'fd' in netns
    ? attr.u32(IFLA_NET_NS_FD, checkedU32(netns.fd, 'netns fd'))
    : attr.u32(IFLA_NET_NS_PID, checkedIndex(netns.pid));
}

function addressAttributes(prefix: IpPrefix): Attribute[] {
  return [attr.bytes(IFA_LOCAL, prefix.address.bytes), attr.bytes(IFA_ADDRESS, prefix.address.bytes)];
}

function describeLink(ref: LinkRef): string {
  return typeof ref === 'number' ? `ifindex ${ref}` : `"${ref}"`;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function checkedName(name: string, what: string): string {
  if (!validLinkName(name)) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(name)} is not a valid interface name (1-15 bytes, no '/', ':' or spaces)`,
    );
  }
  return name;
}

function checkedIndex(index: number): number {
  if (!Number.isInteger(index) || index < 1 || index > 0x7fffffff) {
    throw new InvalidArgumentError(`${index} is not a valid ifindex or pid (an integer from 1)`);
  }
  return index;
}

function checkedU32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new InvalidArgumentError(`${what} ${value} is not an integer from 0 to 4294967295`);
  }
  return value;
}

function checkedMac(text: string): Uint8Array {
  const mac = parseMac(text);
  if (!mac)
    throw new InvalidArgumentError(`${JSON.stringify(text)} is not a MAC address (like 02:42:ac:11:00:02)`);
  return mac;
}

function checkedPrefix(text: string, what: string): IpPrefix {
  const prefix = parseIpPrefix(text);
  if (!prefix)
    throw new InvalidArgumentError(`${what} ${JSON.stringify(text)} is not an address/prefix-length`);
  return prefix;
}

function checkedIp(text: string, what: string): IpAddress {
  const ip = parseIp(text);
  if (!ip) throw new InvalidArgumentError(`${what} ${JSON.stringify(text)} is not an IP address`);
  return ip;
}
