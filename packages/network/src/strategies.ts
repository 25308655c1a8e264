// The network strategies of nsinit (2014's loopback, veth and netns), and running them.
import { randomBytes } from 'node:crypto';
import { closeSync } from 'node:fs';
import type {
  LoopbackNetwork,
  NetnsNetwork,
  NetworkConfig,
  NetworkEntry,
  RouteEntry,
  VethNetwork,
} from './config.js';
import { InvalidArgumentError, isNetlinkErrno, NetworkSetupError } from './errors.js';
import { openNetworkNamespace, sameNamespace } from './namespace.js';
import { RouteNetlink } from './rtnetlink.js';
import type { NamespaceRef } from './socket.js';

/** The "host" side's network namespace: an fd, a pid's, or a path (e.g. /run/netns/x), which state.json can record. */
export type HostNamespace = NamespaceRef | { path: string };

/** What a strategy made: JSON-safe, for state.json, and enough to remove it later. */
export type NetworkRecord =
  | { type: 'loopback' }
  | {
      type: 'veth';
      /** The host end, e.g. "veth3f9a1c2". */
      hostInterface: string;
      /** Its ifindex: removal checks it, so a reused name is never deleted by mistake. */
      hostIndex: number;
      bridge: string;
      /** The container end, e.g. "eth0". */
      containerInterface: string;
    }
  | { type: 'netns'; path: string };

/** What a strategy works with while the container waits for its go signal. */
export interface StrategyContext {
  /** A socket in the host's network namespace, where bridges and host veth ends live. */
  host: RouteNetlink;
  /** A socket in the container's network namespace. */
  container: RouteNetlink;
  /** An fd of the container's network namespace (to create links straight inside it). */
  containerNetnsFd: number;
  /** Registers how to remove what was just created; undos run in reverse when a later step fails. */
  onUndo(undo: () => void): void;
}

export interface NetworkStrategy<Entry extends NetworkEntry = NetworkEntry> {
  readonly type: Entry['type'];
  /** Creates the host side and configures the container side; returns what it made. */
  create(entry: Entry, context: StrategyContext): NetworkRecord;
  /** Removes what `create` made on the host (idempotent: what is already gone is fine). */
  remove(record: NetworkRecord, host: RouteNetlink): void;
}

/** `lo` up inside the container. */
export const loopbackStrategy: NetworkStrategy<LoopbackNetwork> = {
  type: 'loopback',
  create(_entry, { container }) {
    container.setLink('lo', { up: true });
    return { type: 'loopback' };
  },
  // Nothing of the host's changed; `lo` goes with the container's namespace.
  remove() {},
};

const HOST_NAME_ATTEMPTS = 10;
const MAX_SUFFIX_LENGTH = 7;

/** The host end's name: the prefix and random hex digits, 15 bytes at most. */
export function hostVethName(prefix: string): string {
  const length = Math.min(MAX_SUFFIX_LENGTH, 15 - Buffer.byteLength(prefix));
  return prefix + randomBytes(4).toString('hex').slice(0, length);
}

/**
 * A veth pair: the host end (prefix + random suffix, retried on a clash) on the bridge, with
 * the MTU and queue length, up; the peer created straight inside the container's namespace
 * under its final name (eth0) with MTU, MAC and queue length; then up, its addresses and
 * default routes. Deleting the host end removes both.
 */
export const vethStrategy: NetworkStrategy<VethNetwork> = {
  type: 'veth',
  create(entry, { host, container, containerNetnsFd, onUndo }) {
    const bridge = host.findLink(entry.bridge);
    if (!bridge) {
      throw new NetworkSetupError(
        entry.label,
        `bridge "${entry.bridge}" does not exist in the host's network namespace; ` +
          `create it first (ip link add ${entry.bridge} type bridge) or fix "bridge"`,
      );
    }
    const shared = { mtu: entry.mtu, txQueueLen: entry.txQueueLen };
    let hostInterface: string | undefined;
    for (let attempt = 1; hostInterface === undefined; attempt++) {
      const candidate = hostVethName(entry.hostPrefix);
      try {
        host.createVeth({
          name: candidate,
          master: bridge.index,
          up: true,
          ...shared,
          peer: {
            name: entry.interfaceName,
            netns: { fd: containerNetnsFd },
            mac: entry.macAddress,
            ...shared,
          },
        });
        hostInterface = candidate;
      } catch (error) {
        if (!isNetlinkErrno(error, 'EEXIST')) throw error;
        if (!host.findLink(candidate)) {
          throw new NetworkSetupError(
            entry.label,
            `the container's namespace already has an interface named "${entry.interfaceName}"; ` +
              'give this network another interface_name',
            { cause: error },
          );
        }
        if (attempt === HOST_NAME_ATTEMPTS) {
          throw new NetworkSetupError(
            entry.label,
            `${attempt} random host interface names with prefix "${entry.hostPrefix}" were all taken`,
            { cause: error },
          );
        }
      }
    }
    const created = hostInterface;
    // The pair exists from here on (creation is one atomic request): removing it is the undo.
    onUndo(() => deleteLinkIfPresent(host, created));
    const hostIndex = host.getLink(created).index;
    const peer = container.getLink(entry.interfaceName).index;
    container.setLink(peer, { up: true });
    if (entry.address) container.addAddress(peer, entry.address.text);
    if (entry.gateway) container.addRoute({ gateway: entry.gateway.text, device: peer });
    if (entry.ipv6Address) container.addAddress(peer, entry.ipv6Address.text, { noDad: true });
    if (entry.ipv6Gateway) container.addRoute({ gateway: entry.ipv6Gateway.text, device: peer });
    return {
      type: 'veth',
      hostInterface: created,
      hostIndex,
      bridge: entry.bridge,
      containerInterface: entry.interfaceName,
    };
  },
  remove(record, host) {
    if (record.type !== 'veth') return;
    const link = host.findLink(record.hostInterface);
    if (link && link.index === record.hostIndex) deleteLinkIfPresent(host, link.index);
  },
};

/**
 * Joining an existing namespace by path. The init program does the joining (a SETNS op
 * before anything else, with the fd from `openNetworkNamespace`); at setup time the other
 * entries are configured inside that namespace. Nothing is created, nothing to remove.
 */
export const netnsStrategy: NetworkStrategy<NetnsNetwork> = {
  type: 'netns',
  create(entry) {
    return { type: 'netns', path: entry.path };
  },
  remove() {},
};

const STRATEGIES: {
  readonly [T in NetworkEntry['type']]: NetworkStrategy<Extract<NetworkEntry, { type: T }>>;
} = {
  loopback: loopbackStrategy,
  veth: vethStrategy,
  netns: netnsStrategy,
};

export function strategyFor<T extends NetworkEntry['type']>(
  type: T,
): NetworkStrategy<Extract<NetworkEntry, { type: T }>> {
  return STRATEGIES[type];
}

/** The `netns` entry of a config, if any: the namespace the init program must join. */
export function namespaceToJoin(config: NetworkConfig): NetnsNetwork | undefined {
  return config.networks.find((n): n is NetnsNetwork => n.type === 'netns');
}

/** What a network config asks of the container's network namespace. */
export interface NetworkNamespaceNeeds {
  /** A namespace to join by path (a `netns` entry) instead of a new one. */
  joinPath?: string;
  /** Whether anything is configured inside the namespace (loopback, veth, routes): it must be the container's own. */
  configuresNamespace: boolean;
}

export function networkNamespaceNeeds(config: NetworkConfig): NetworkNamespaceNeeds {
  const joinPath = namespaceToJoin(config)?.path;
  return {
    ...(joinPath ? { joinPath } : {}),
    configuresNamespace: config.routes.length > 0 || config.networks.some((n) => n.type !== 'netns'),
  };
}

export interface SetUpNetworksOptions {
  config: NetworkConfig;
  /** The container's init process, still waiting for its go signal. */
  pid: number;
  /** Where bridges and host veth ends live; default this process's network namespace. */
  hostNetns?: HostNamespace;
  /** Per netlink reply; default 5000 ms. */
  timeoutMs?: number;
}

/**
 * Step 8 of the parent sequence: every `networks[]` entry in order, then `routes[]`, all
 * configured from here through netlink sockets opened inside the container's network
 * namespace (or the one a `netns` entry names). Returns what was made, for state.json;
 * remove it with `removeNetworks`. On failure, everything made so far is removed first and
 * the NetworkSetupError names the entry.
 */
export function setUpNetworks(options: SetUpNetworksOptions): NetworkRecord[] {
  const { config, timeoutMs } = options;
  if (config.networks.length === 0 && config.routes.length === 0) return [];
  checkedPid(options.pid);
  const undos: (() => void)[] = [];
  const sockets: RouteNetlink[] = [];
  const fds: number[] = [];
  const records: NetworkRecord[] = [];
  const joined = namespaceToJoin(config);
  let current = joined?.label ?? config.networks[0]?.label ?? config.routes[0]!.label;
  try {
    const containerNetnsFd = openNetworkNamespace(joined?.path ?? `/proc/${options.pid}/ns/net`);
    fds.push(containerNetnsFd);
    const hostNetnsFd = openNetworkNamespace(hostNamespacePath(options.hostNetns));
    fds.push(hostNetnsFd);
    const firstOwn = config.networks.find((n) => n.type !== 'netns')?.label ?? config.routes[0]?.label;
    if (firstOwn !== undefined && sameNamespace(containerNetnsFd, hostNetnsFd)) {
      throw new NetworkSetupError(
        firstOwn,
        "the container shares the host's network namespace: give it one of its own " +
          '(a network namespace in linux.namespaces) or remove its networks and routes',
      );
    }
    const host = RouteNetlink.open({ netns: { fd: hostNetnsFd }, timeoutMs });
    sockets.push(host);
    const container = RouteNetlink.open({ netns: { fd: containerNetnsFd }, timeoutMs });
    sockets.push(container);
    const context: StrategyContext = {
      host,
      container,
      containerNetnsFd,
      onUndo: (undo) => undos.push(undo),
    };
    for (const entry of config.networks) {
      current = entry.label;
      records.push(createWith(entry, context));
    }
    for (const route of config.routes) {
      current = route.label;
      addRoute(route, container);
    }
    return records;
  } catch (error) {
    throw setupFailure(current, error, runUndos(undos));
  } finally {
    for (const socket of sockets) socket.close();
    for (const fd of fds) closeSync(fd);
  }
}

function createWith(entry: NetworkEntry, context: StrategyContext): NetworkRecord {
  switch (entry.type) {
    case 'loopback':
      return strategyFor('loopback').create(entry, context);
    case 'veth':
      return strategyFor('veth').create(entry, context);
    case 'netns':
      return strategyFor('netns').create(entry, context);
  }
}

function addRoute(route: RouteEntry, container: RouteNetlink): void {
  // Replace, not add: the 2014 samples repeat the veth's default route in routes[].
  container.addRoute(
    {
      destination: route.destination?.text,
      gateway: route.gateway?.text,
      source: route.source?.text,
      device: route.interfaceName,
    },
    { replace: true },
  );
}

/**
 * Removes what `setUpNetworks` made (from state.json, at exit or after a crash): host veth
 * ends that still exist with the recorded ifindex. What is already gone is fine. Tries every
 * record, then throws NetworkSetupError if any removal failed.
 */
export function removeNetworks(
  records: readonly NetworkRecord[],
  options: { hostNetns?: HostNamespace; timeoutMs?: number } = {},
): void {
  if (!records.some((r) => r.type === 'veth')) return;
  const hostNetnsFd = openNetworkNamespace(hostNamespacePath(options.hostNetns));
  let host: RouteNetlink | undefined;
  try {
    host = RouteNetlink.open({ netns: { fd: hostNetnsFd }, timeoutMs: options.timeoutMs });
    const socket = host;
    const failures: string[] = [];
    let firstError: unknown;
    records.forEach((record, i) => {
      try {
        strategyFor(record.type).remove(record, socket);
      } catch (error) {
        firstError ??= error;
        failures.push(`network ${i} (${record.type}): ${(error as Error).message}`);
      }
    });
    if (failures.length > 0) {
      throw new NetworkSetupError('removing networks', failures.join('; '), { cause: firstError });
    }
  } finally {
    host?.close();
    closeSync(hostNetnsFd);
  }
}

function deleteLinkIfPresent(host: RouteNetlink, link: string | number): void {
  try {
    host.deleteLink(link);
  } catch (error) {
    if (!isNetlinkErrno(error, 'ENODEV')) throw error;
  }
}

function runUndos(undos: (() => void)[]): unknown[] {
  const failures: unknown[] = [];
  for (const undo of undos.reverse()) {
    try {
      undo();
    } catch (error) {
      failures.push(error);
    }
  }
  return failures;
}

/** The error of a failed setup, naming the entry, with what its cleanup ran into. */
function setupFailure(entry: string, error: unknown, cleanup: unknown[]): NetworkSetupError {
  if (error instanceof NetworkSetupError && cleanup.length === 0) return error;
  const alsoFailed =
    cleanup.length === 0
      ? ''
      : `; removing what was made also failed: ${cleanup.map((e) => (e as Error).message).join('; ')}`;
  if (error instanceof NetworkSetupError) {
    return new NetworkSetupError(error.entry, `${error.reason}${alsoFailed}`, { cause: error });
  }
  return new NetworkSetupError(entry, `${(error as Error).message}${alsoFailed}`, { cause: error });
}

function hostNamespacePath(netns: HostNamespace | undefined): string {
  if (netns === undefined) return '/proc/self/ns/net';
  if ('path' in netns) return netns.path;
  return 'fd' in netns ? `/proc/self/fd/${netns.fd}` : `/proc/${checkedPid(netns.pid)}/ns/net`;
}

function checkedPid(pid: number): number {
  if (!Number.isInteger(pid) || pid < 1) throw new InvalidArgumentError(`${pid} is not a process id`);
  return pid;
}
