// container.json `networks[]` and `routes[]`, in every 2014 spelling, parsed into one typed shape.
import { NetworkConfigError } from './errors.js';
import { type IpAddress, type IpPrefix, parseIp, parseIpPrefix, parseMac } from './ip.js';
import { validLinkName } from './rtnetlink.js';

export interface LoopbackNetwork {
  type: 'loopback';
  /** Names the entry in errors: "networks[0] (loopback)". */
  label: string;
}

export interface VethNetwork {
  type: 'veth';
  label: string;
  /** The bridge in the host's namespace the host end is attached to. */
  bridge: string;
  /** The host end is named this plus a random hex suffix (15 bytes in all). */
  hostPrefix: string;
  /** The container end's name; "eth0" unless `interface_name` says otherwise. */
  interfaceName: string;
  address?: IpPrefix;
  gateway?: IpAddress;
  mtu?: number;
  macAddress?: string;
  ipv6Address?: IpPrefix;
  ipv6Gateway?: IpAddress;
  txQueueLen?: number;
}

export interface NetnsNetwork {
  type: 'netns';
  label: string;
  /** An existing network namespace to join, e.g. /var/run/netns/web or /proc/<pid>/ns/net. */
  path: string;
}

export type NetworkEntry = LoopbackNetwork | VethNetwork | NetnsNetwork;
export type NetworkType = NetworkEntry['type'];

export interface RouteEntry {
  /** "routes[0]" */
  label: string;
  /** Absent: a default route. */
  destination?: IpPrefix;
  /** Preferred source address. */
  source?: IpAddress;
  gateway?: IpAddress;
  /** The container's interface the route leaves by. */
  interfaceName?: string;
}

export interface NetworkConfig {
  networks: NetworkEntry[];
  routes: RouteEntry[];
}

export const NETWORK_TYPES: readonly NetworkType[] = ['loopback', 'veth', 'netns'];
export const DEFAULT_VETH_PREFIX = 'veth';
export const DEFAULT_INTERFACE_NAME = 'eth0';
/** Random hex digits after the prefix: at least this many must fit in 15 bytes. */
export const MIN_SUFFIX_LENGTH = 4;

// Each field and the names it has had: 2014 snake_case (Jun 24+), the early `context` map
// (Feb-Jun), and the camelCase of @nsinit/config's flattened Network2014.
const NETWORK_FIELDS = {
  type: ['type'],
  address: ['address'],
  gateway: ['gateway'],
  mtu: ['mtu'],
  bridge: ['bridge', 'context.bridge'],
  vethPrefix: ['veth_prefix', 'vethPrefix', 'context.prefix'],
  nsPath: ['ns_path', 'nsPath', 'context.nspath'],
  macAddress: ['mac_address', 'macAddress'],
  ipv6Address: ['ipv6_address', 'ipv6Address'],
  ipv6Gateway: ['ipv6_gateway', 'ipv6Gateway'],
  txQueueLen: ['txqueuelen', 'txQueueLen'],
  interfaceName: ['interface_name', 'interfaceName'],
} as const;

const ROUTE_FIELDS = {
  destination: ['destination'],
  source: ['source'],
  gateway: ['gateway'],
  interfaceName: ['interface_name', 'interfaceName'],
} as const;

type Fields<T extends Record<string, readonly string[]>> = { [K in keyof T]?: string | number };

/**
 * Parses `networks` and `routes` as a container.json has them (any 2014 spelling, or
 * @nsinit/config's `networks2014` / `routes2014`). Empty strings and zero numbers count as
 * absent, as Go's zero values did. Throws NetworkConfigError naming the entry and the field.
 */
/**
 * The networks of an OCI config's annotation (JSON of `{ networks, routes }`, any 2014
 * spelling): null when it names none. `field` names the annotation in errors.
 */
export function parseNetworkAnnotation(json: string, field: string): NetworkConfig | null {
  let input: unknown;
  try {
    input = JSON.parse(json);
  } catch (error) {
    throw new NetworkConfigError(field, '', `not JSON: ${(error as Error).message}`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new NetworkConfigError(field, '', 'expected a JSON object with "networks" and "routes"');
  }
  const parsed = parseNetworkConfig(input as { networks?: unknown; routes?: unknown });
  return parsed.networks.length === 0 && parsed.routes.length === 0 ? null : parsed;
}

export function parseNetworkConfig(input: { networks?: unknown; routes?: unknown }): NetworkConfig {
  const networks = listOf(input.networks, 'networks').map((raw, i) => parseNetwork(raw, i));
  const netns = networks.filter((n) => n.type === 'netns');
  if (netns.length > 1) {
    throw new NetworkConfigError(
      netns[1]!.label,
      '',
      `only one netns entry is allowed (${netns[0]!.label} is one)`,
    );
  }
  const routes = listOf(input.routes, 'routes').map((raw, i) => parseRoute(raw, i));
  return { networks, routes };
}

function listOf(value: unknown, name: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new NetworkConfigError(name, '', 'must be a list');
  return value;
}

function parseNetwork(raw: unknown, index: number): NetworkEntry {
  const where = `networks[${index}]`;
  const fields = readFields(raw, where, NETWORK_FIELDS);
  const type = fields.type;
  if (typeof type !== 'string') {
    throw new NetworkConfigError(where, 'type', `is missing: give one of ${NETWORK_TYPES.join(', ')}`);
  }
  if (!(NETWORK_TYPES as readonly string[]).includes(type)) {
    throw new NetworkConfigError(
      where,
      'type',
      `${JSON.stringify(type)} is not a network strategy type (${NETWORK_TYPES.join(', ')})`,
    );
  }
  const label = `${where} (${type})`;
  const field = new FieldReader(label, fields);
  switch (type as NetworkType) {
    case 'loopback':
      // The 2014 samples gave loopback an address ("127.0.0.1/0"), a gateway ("localhost") and
      // an MTU; the loopback strategy never used them, so they are accepted and ignored.
      return { type: 'loopback', label };
    case 'netns': {
      const path = field.string('nsPath', 'ns_path');
      if (path === undefined)
        throw new NetworkConfigError(label, 'ns_path', 'is missing: the namespace to join');
      if (!path.startsWith('/')) {
        throw new NetworkConfigError(label, 'ns_path', `${JSON.stringify(path)} is not an absolute path`);
      }
      return { type: 'netns', label, path };
    }
    case 'veth':
      return parseVeth(label, field);
  }
}

function parseVeth(label: string, field: FieldReader<typeof NETWORK_FIELDS>): VethNetwork {
  const bridge = field.linkName('bridge', 'bridge');
  if (bridge === undefined) {
    throw new NetworkConfigError(label, 'bridge', 'is missing: the host bridge to attach the veth to');
  }
  const hostPrefix = field.string('vethPrefix', 'veth_prefix') ?? DEFAULT_VETH_PREFIX;
  const maxPrefix = 15 - MIN_SUFFIX_LENGTH;
  if (Buffer.byteLength(hostPrefix) > maxPrefix || !validLinkName(`${hostPrefix}0`)) {
    throw new NetworkConfigError(
      label,
      'veth_prefix',
      `${JSON.stringify(hostPrefix)} must be at most ${maxPrefix} bytes of an interface name (no '/', ':' or spaces)`,
    );
  }
  const interfaceName = field.linkName('interfaceName', 'interface_name') ?? DEFAULT_INTERFACE_NAME;
  const entry: VethNetwork = { type: 'veth', label, bridge, hostPrefix, interfaceName };
  const address = field.prefix('address', 'address');
  if (address) entry.address = address;
  const gateway = field.ip('gateway', 'gateway');
  if (gateway) {
    if (address && address.address.family !== gateway.family) {
      throw new NetworkConfigError(
        label,
        'gateway',
        `${gateway.text} is not of the same family as address ${address.text}`,
      );
    }
    entry.gateway = gateway;
  }
  const ipv6Address = field.prefix('ipv6Address', 'ipv6_address');
  if (ipv6Address) {
    if (ipv6Address.address.family !== 6) {
      throw new NetworkConfigError(label, 'ipv6_address', `${ipv6Address.text} is not an IPv6 address`);
    }
    entry.ipv6Address = ipv6Address;
  }
  const ipv6Gateway = field.ip('ipv6Gateway', 'ipv6_gateway');
  if (ipv6Gateway) {
    if (ipv6Gateway.family !== 6) {
      throw new NetworkConfigError(label, 'ipv6_gateway', `${ipv6Gateway.text} is not an IPv6 address`);
    }
    entry.ipv6Gateway = ipv6Gateway;
  }
  const mtu = field.integer('mtu', 'mtu', 68, 65535);
  if (mtu !== undefined) entry.mtu = mtu;
  const txQueueLen = field.integer('txQueueLen', 'txqueuelen', 1, 0xffffffff);
  if (txQueueLen !== undefined) entry.txQueueLen = txQueueLen;
  const mac = field.string('macAddress', 'mac_address');
  if (mac !== undefined) {
    const bytes = parseMac(mac);
    if (!bytes)
      throw new NetworkConfigError(label, 'mac_address', `${JSON.stringify(mac)} is not a MAC address`);
    if (bytes[0]! & 1) {
      throw new NetworkConfigError(
        label,
        'mac_address',
        `${mac} is a multicast address; an interface needs a unicast one`,
      );
    }
    entry.macAddress = mac.toLowerCase().replaceAll('-', ':');
  }
  return entry;
}

function parseRoute(raw: unknown, index: number): RouteEntry {
  const label = `routes[${index}]`;
  const field = new FieldReader(label, readFields(raw, label, ROUTE_FIELDS));
  const route: RouteEntry = { label };
  const destination = field.prefix('destination', 'destination');
  if (destination) route.destination = destination;
  const source = field.ip('source', 'source');
  if (source) route.source = source;
  const gateway = field.ip('gateway', 'gateway');
  if (gateway) route.gateway = gateway;
  const interfaceName = field.linkName('interfaceName', 'interface_name');
  if (interfaceName !== undefined) route.interfaceName = interfaceName;
  if (!destination && !gateway) {
    throw new NetworkConfigError(label, '', 'needs a destination or a gateway (a default route)');
  }
  const families = new Set([destination?.address.family, source?.family, gateway?.family].filter((f) => f));
  if (families.size > 1) {
    throw new NetworkConfigError(label, '', 'mixes IPv4 and IPv6 addresses');
  }
  return route;
}

/** The fields of one entry under their canonical names, checking every spelling agrees. */
function readFields<T extends Record<string, readonly string[]>>(
  raw: unknown,
  where: string,
  spec: T,
): Fields<T> {
  if (!isRecord(raw)) throw new NetworkConfigError(where, '', 'must be an object');
  const known = new Map<string, keyof T>();
  for (const [canonical, spellings] of Object.entries(spec)) {
    for (const spelling of spellings) known.set(spelling, canonical as keyof T);
  }
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'context' && [...known.keys()].some((k) => k.startsWith('context.'))) {
      if (value === undefined || value === null) continue;
      if (!isRecord(value)) throw new NetworkConfigError(where, 'context', 'must be an object of strings');
      for (const [inner, innerValue] of Object.entries(value)) flat[`context.${inner}`] = innerValue;
    } else {
      flat[key] = value;
    }
  }
  const out: Fields<T> = {};
  const from: Partial<Record<keyof T, string>> = {};
  for (const [key, value] of Object.entries(flat)) {
    const canonical = known.get(key);
    if (canonical === undefined) {
      throw new NetworkConfigError(where, key, `is not a known field (${[...known.keys()].join(', ')})`);
    }
    if (value === undefined || value === null || value === '' || value === 0) continue;
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new NetworkConfigError(where, key, `must be a string or a number, not ${typeof value}`);
    }
    const previous = out[canonical];
    if (previous !== undefined && previous !== value) {
      throw new NetworkConfigError(
        where,
        key,
        `${JSON.stringify(value)} contradicts ${from[canonical]} ${JSON.stringify(previous)}`,
      );
    }
    out[canonical] = value;
    from[canonical] = key;
  }
  return out;
}

class FieldReader<T extends Record<string, readonly string[]>> {
  constructor(
    private readonly label: string,
    private readonly fields: Fields<T>,
  ) {}

  /** `name` is how errors call the field (its 2014 spelling). */
  string(key: keyof T, name: string): string | undefined {
    const value = this.fields[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string')
      throw new NetworkConfigError(this.label, name, `must be a string, not ${value}`);
    return value;
  }

  integer(key: keyof T, name: string, min: number, max: number): number | undefined {
    const value = this.fields[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new NetworkConfigError(
        this.label,
        name,
        `${JSON.stringify(value)} is not an integer from ${min} to ${max}`,
      );
    }
    return value;
  }

  linkName(key: keyof T, name: string): string | undefined {
    const text = this.string(key, name);
    if (text !== undefined && !validLinkName(text)) {
      throw new NetworkConfigError(this.label, name, `${JSON.stringify(text)} is not a valid interface name`);
    }
    return text;
  }

  ip(key: keyof T, name: string): IpAddress | undefined {
    const text = this.string(key, name);
    if (text === undefined) return undefined;
    const ip = parseIp(text);
    if (!ip) throw new NetworkConfigError(this.label, name, `${JSON.stringify(text)} is not an IP address`);
    return ip;
  }

  prefix(key: keyof T, name: string): IpPrefix | undefined {
    const text = this.string(key, name);
    if (text === undefined) return undefined;
    const prefix = parseIpPrefix(text);
    if (!prefix) {
      throw new NetworkConfigError(
        this.label,
        name,
        `${JSON.stringify(text)} is not an address with a prefix length (like 198.18.0.2/24)`,
      );
    }
    return prefix;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
