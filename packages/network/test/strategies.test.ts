// The strategies end to end, inside namespaces this file creates: a "host" namespace holding
// a bridge (198.18.0.1/24, 2001:db8::1/64) and "containers" that are namespaces held by a
// sleeping process. Nothing touches the machine's own interfaces.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namespaceType } from '@nsinit/native';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CLONE_NEWNET,
  NamespaceError,
  type NetworkRecord,
  NetworkSetupError,
  namespaceToJoin,
  openNetworkNamespace,
  parseNetworkConfig,
  removeNetworks,
  sameNamespace,
  setUpNetworks,
} from '../src/index.js';
import { createNamespace, linkNames, type TestNamespace } from './netns-harness.js';

// Pass-through unless a test scripts it: how host-name clashes are provoked.
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, randomBytes: vi.fn(original.randomBytes) };
});

interface IpLink {
  ifname: string;
  mtu: number;
  address: string;
  master?: string;
  flags: string[];
  txqlen?: number;
}
interface IpAddr {
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

const BRIDGE = 'br-nsinit';
let host: TestNamespace;
const containers: TestNamespace[] = [];

async function container(): Promise<TestNamespace> {
  const ns = await createNamespace();
  containers.push(ns);
  return ns;
}

beforeEach(async () => {
  host = await createNamespace();
  for (const args of [
    ['link', 'add', BRIDGE, 'type', 'bridge'],
    ['link', 'set', BRIDGE, 'up'],
    ['addr', 'add', '198.18.0.1/24', 'dev', BRIDGE],
    ['-6', 'addr', 'add', '2001:db8::1/64', 'nodad', 'dev', BRIDGE],
  ]) {
    host.run('ip', args);
  }
});

afterEach(async () => {
  vi.mocked(randomBytes).mockReset();
  for (const ns of containers.splice(0)) await ns.destroy();
  await host.destroy();
});

function vethConfig(address: string, ipv6: string, extra: Record<string, unknown> = {}) {
  return parseNetworkConfig({
    networks: [
      { type: 'loopback' },
      {
        type: 'veth',
        bridge: BRIDGE,
        veth_prefix: 'nsi',
        address,
        gateway: '198.18.0.1',
        mtu: 1400,
        ipv6_address: ipv6,
        ipv6_gateway: '2001:db8::1',
        txqueuelen: 500,
        ...extra,
      },
    ],
    routes: [{ destination: '198.19.0.0/16', gateway: '198.18.0.1', interface_name: 'eth0' }],
  });
}

const hostVeths = () => linkNames(host).filter((name) => name.startsWith('nsi'));

describe('loopback and veth', () => {
  it('configures two containers on one bridge that reach each other, and removes them', async () => {
    const a = await container();
    const b = await container();
    const recordsA = setUpNetworks({
      config: vethConfig('198.18.0.2/24', '2001:db8::2/64', { mac_address: '02:42:c6:12:00:02' }),
      pid: a.pid,
      hostNetns: { pid: host.pid },
    });
    const recordsB = setUpNetworks({
      config: vethConfig('198.18.0.3/24', '2001:db8::3/64'),
      pid: b.pid,
      hostNetns: { pid: host.pid },
    });

    expect(recordsA[0]).toEqual({ type: 'loopback' });
    const vethA = recordsA[1] as Extract<NetworkRecord, { type: 'veth' }>;
    expect(vethA).toMatchObject({ type: 'veth', bridge: BRIDGE, containerInterface: 'eth0' });
    expect(vethA.hostInterface).toMatch(/^nsi[0-9a-f]{7}$/);

    // Host side: on the bridge, MTU and queue length set, up; the recorded ifindex is its own.
    const hostEnd = host.ipJson<IpLink[]>(['link', 'show', 'dev', vethA.hostInterface])[0]!;
    expect(hostEnd).toMatchObject({ master: BRIDGE, mtu: 1400, txqlen: 500 });
    expect(hostEnd.flags).toContain('UP');
    expect(host.ipJson<{ ifindex: number }[]>(['link', 'show', 'dev', vethA.hostInterface])[0]!.ifindex).toBe(
      vethA.hostIndex,
    );

    // Container side: lo up, eth0 with address, MAC, MTU, queue length, up; routes.
    const addresses = a.ipJson<IpAddr[]>(['addr', 'show']);
    expect(addresses.find((l) => l.ifname === 'lo')!.flags).toContain('UP');
    const eth0 = addresses.find((l) => l.ifname === 'eth0')!;
    expect(eth0).toMatchObject({ mtu: 1400, address: '02:42:c6:12:00:02' });
    expect(eth0.flags).toContain('UP');
    expect(eth0.addr_info).toContainEqual(
      expect.objectContaining({ family: 'inet', local: '198.18.0.2', prefixlen: 24 }),
    );
    expect(eth0.addr_info).toContainEqual(
      expect.objectContaining({ family: 'inet6', local: '2001:db8::2', prefixlen: 64 }),
    );
    expect(a.ipJson<IpLink[]>(['link', 'show', 'dev', 'eth0'])[0]!.txqlen).toBe(500);
    const routes = a.ipJson<IpRoute[]>(['route', 'show']);
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: '198.18.0.1', dev: 'eth0' }),
    );
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: '198.19.0.0/16', gateway: '198.18.0.1', dev: 'eth0' }),
    );
    expect(a.ipJson<IpRoute[]>(['-6', 'route', 'show'])).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: '2001:db8::1', dev: 'eth0' }),
    );

    // The two containers reach each other, and the host, over the bridge.
    expect(a.run('busybox', ['ping', '-c1', '-W3', '198.18.0.3'])).toMatch(/1 packets received/);
    expect(b.run('busybox', ['ping', '-c1', '-W3', '198.18.0.1'])).toMatch(/1 packets received/);
    expect(a.run('busybox', ['ping6', '-c1', '-W3', '2001:db8::3'])).toMatch(/1 packets received/);

    expect(hostVeths()).toHaveLength(2);
    removeNetworks(recordsA, { hostNetns: { pid: host.pid } });
    removeNetworks(recordsB, { hostNetns: { pid: host.pid } });
    expect(hostVeths()).toEqual([]);
    expect(linkNames(a)).toEqual(['lo']);
    expect(linkNames(b)).toEqual(['lo']);
    // Removing again is fine: what is gone is gone.
    removeNetworks(recordsA, { hostNetns: { pid: host.pid } });
  });

  it('removes the veth when a later step fails, and names the entry that failed', async () => {
    const a = await container();
    const config = parseNetworkConfig({
      networks: [{ type: 'veth', bridge: BRIDGE, veth_prefix: 'nsi', address: '198.18.0.2/24' }],
      routes: [{ destination: '198.19.0.0/16', interface_name: 'eth9' }],
    });
    expect(() => setUpNetworks({ config, pid: a.pid, hostNetns: { pid: host.pid } })).toThrow(
      expect.objectContaining({
        code: 'ERR_NSINIT_NETWORK_SETUP',
        entry: 'routes[0]',
        message: expect.stringMatching(/^routes\[0\]: get link "eth9" failed: .*ENODEV/),
      }),
    );
    expect(hostVeths()).toEqual([]);
    expect(linkNames(a)).toEqual(['lo']);
  });

  it('refuses a missing bridge, naming the entry, and creates nothing', async () => {
    const a = await container();
    const config = parseNetworkConfig({
      networks: [{ type: 'loopback' }, { type: 'veth', context: { bridge: 'no-such-br', prefix: 'nsi' } }],
    });
    let error: unknown;
    try {
      setUpNetworks({ config, pid: a.pid, hostNetns: { pid: host.pid } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NetworkSetupError);
    expect(error).toMatchObject({ entry: 'networks[1] (veth)' });
    expect((error as Error).message).toMatch(
      /bridge "no-such-br" does not exist in the host's network namespace/,
    );
    expect(hostVeths()).toEqual([]);
    expect(linkNames(a)).toEqual(['lo']);
  });

  it('explains a clash with an interface the container already has', async () => {
    const a = await container();
    a.run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
    expect(() =>
      setUpNetworks({
        config: vethConfig('198.18.0.2/24', '2001:db8::2/64'),
        pid: a.pid,
        hostNetns: { pid: host.pid },
      }),
    ).toThrow(/networks\[1\] \(veth\): the container's namespace already has an interface named "eth0"/);
    expect(hostVeths()).toEqual([]);
  });

  it('retries another host name when the random one is taken', async () => {
    const a = await container();
    host.run('ip', ['link', 'add', 'nsiaaaaaaa', 'type', 'veth', 'peer', 'name', 'taken-peer']);
    vi.mocked(randomBytes).mockImplementationOnce(() => Buffer.from('aaaaaaaa', 'hex'));
    const records = setUpNetworks({
      config: vethConfig('198.18.0.2/24', '2001:db8::2/64'),
      pid: a.pid,
      hostNetns: { pid: host.pid },
    });
    const veth = records[1] as Extract<NetworkRecord, { type: 'veth' }>;
    expect(veth.hostInterface).not.toBe('nsiaaaaaaa');
    expect(vi.mocked(randomBytes).mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(linkNames(host)).toContain('nsiaaaaaaa');
    expect(linkNames(a)).toContain('eth0');
  });

  it('gives up after ten taken names, leaving nothing of its own', async () => {
    const a = await container();
    host.run('ip', ['link', 'add', 'nsiaaaaaaa', 'type', 'veth', 'peer', 'name', 'taken-peer']);
    vi.mocked(randomBytes).mockImplementation(() => Buffer.from('aaaaaaaa', 'hex'));
    expect(() =>
      setUpNetworks({
        config: vethConfig('198.18.0.2/24', '2001:db8::2/64'),
        pid: a.pid,
        hostNetns: { pid: host.pid },
      }),
    ).toThrow(/10 random host interface names with prefix "nsi" were all taken/);
    expect(hostVeths()).toEqual(['nsiaaaaaaa']);
    expect(linkNames(a)).toEqual(['lo']);
  });

  it('refuses to configure a container that shares the host namespace', () => {
    expect(() =>
      setUpNetworks({
        config: vethConfig('198.18.0.2/24', '2001:db8::2/64'),
        pid: host.pid,
        hostNetns: { pid: host.pid },
      }),
    ).toThrow(/networks\[0\] \(loopback\): the container shares the host's network namespace/);
    expect(hostVeths()).toEqual([]);
  });

  it('does not delete a link that took a removed veth name (another ifindex)', async () => {
    const a = await container();
    const records = setUpNetworks({
      config: vethConfig('198.18.0.2/24', '2001:db8::2/64'),
      pid: a.pid,
      hostNetns: { pid: host.pid },
    });
    const veth = records[1] as Extract<NetworkRecord, { type: 'veth' }>;
    host.run('ip', ['link', 'del', veth.hostInterface]);
    host.run('ip', ['link', 'add', veth.hostInterface, 'type', 'veth', 'peer', 'name', 'newcomer']);
    removeNetworks(records, { hostNetns: { pid: host.pid } });
    expect(linkNames(host)).toContain(veth.hostInterface);
  });

  it('does nothing for a config without networks or routes', () => {
    expect(setUpNetworks({ config: parseNetworkConfig({}), pid: host.pid })).toEqual([]);
  });
});

describe('netns', () => {
  it('configures the other entries inside the namespace to join', async () => {
    const own = await container();
    const shared = await container();
    const config = parseNetworkConfig({
      networks: [
        { type: 'netns', ns_path: shared.path },
        { type: 'loopback' },
        { type: 'veth', bridge: BRIDGE, veth_prefix: 'nsi', address: '198.18.0.5/24' },
      ],
    });
    expect(namespaceToJoin(config)).toEqual({
      type: 'netns',
      label: 'networks[0] (netns)',
      path: shared.path,
    });
    const records = setUpNetworks({ config, pid: own.pid, hostNetns: { pid: host.pid } });
    expect(records[0]).toEqual({ type: 'netns', path: shared.path });
    expect(linkNames(shared).sort()).toEqual(['eth0', 'lo']);
    expect(linkNames(own)).toEqual(['lo']);
    expect(shared.run('busybox', ['ping', '-c1', '-W3', '198.18.0.1'])).toMatch(/1 packets received/);
    removeNetworks(records, { hostNetns: { pid: host.pid } });
    expect(linkNames(shared)).toEqual(['lo']);
  });

  it('names a namespace path that cannot be joined', async () => {
    const own = await container();
    const config = parseNetworkConfig({
      networks: [{ type: 'netns', ns_path: '/run/netns/nsinit-no-such-ns' }],
    });
    expect(() => setUpNetworks({ config, pid: own.pid })).toThrow(
      /networks\[0\] \(netns\): cannot open network namespace \/run\/netns\/nsinit-no-such-ns: ENOENT/,
    );
  });
});

describe('openNetworkNamespace', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('opens a network namespace file and gives the SETNS type', async () => {
    const ns = await container();
    const fd = openNetworkNamespace(ns.path);
    try {
      expect(namespaceType({ fd })).toBe(CLONE_NEWNET);
      const again = openNetworkNamespace(ns.path);
      expect(sameNamespace(fd, again)).toBe(true);
      closeSync(again);
      const own = openNetworkNamespace('/proc/self/ns/net');
      expect(sameNamespace(fd, own)).toBe(false);
      closeSync(own);
    } finally {
      closeSync(fd);
    }
  });

  it('refuses a namespace of another type, a plain file and a missing path', () => {
    expect(() => openNetworkNamespace('/proc/self/ns/uts')).toThrow(
      expect.objectContaining({
        code: 'ERR_NSINIT_NETWORK_NAMESPACE',
        message: expect.stringMatching(/not a network namespace/),
      }),
    );
    const temp = mkdtempSync(join(tmpdir(), 'nsinit-netns-'));
    dir = temp;
    const file = join(temp, 'plain');
    writeFileSync(file, '');
    expect(() => openNetworkNamespace(file)).toThrow(NamespaceError);
    expect(() => openNetworkNamespace(file)).toThrow(/is not a namespace file/);
    expect(() => openNetworkNamespace(join(temp, 'missing'))).toThrow(
      /cannot open network namespace .*: ENOENT/,
    );
  });
});
