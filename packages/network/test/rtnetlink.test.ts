// rtnetlink operations against the kernel, entirely inside network namespaces this file
// creates (and removes); results are checked with iproute2's JSON output.
import { closeSync, openSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, NetlinkError, RouteNetlink } from '../src/index.js';
import { createNamespace, linkNames, type TestNamespace } from './netns-harness.js';

interface IpLink {
  ifname: string;
  mtu: number;
  address: string;
  master?: string;
  operstate: string;
  flags: string[];
  txqlen?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind: string };
}
interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; broadcast?: string }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  prefsrc?: string;
  scope?: string;
  protocol?: string;
  metric?: number;
}

let host: TestNamespace;
let guest: TestNamespace;
let netlink: RouteNetlink;

beforeEach(async () => {
  host = await createNamespace();
  guest = await createNamespace();
  netlink = RouteNetlink.open({ netns: { pid: host.pid } });
});

afterEach(async () => {
  netlink.close();
  await host.destroy();
  await guest.destroy();
});

const link = (ns: TestNamespace, name: string) =>
  ns.ipJson<IpLink[]>(['-d', 'link', 'show', 'dev', name])[0]!;

describe('links', () => {
  it('lists and gets the links of a namespace', () => {
    const links = netlink.listLinks();
    expect(links.map((l) => l.name)).toEqual(['lo']);
    expect(netlink.getLink('lo')).toMatchObject({ index: 1, name: 'lo', up: false, mtu: 65536 });
    expect(netlink.getLink(1).name).toBe('lo');
    expect(netlink.findLink('nope0')).toBeUndefined();
    expect(() => netlink.getLink('nope0')).toThrow(
      expect.objectContaining({ errnoName: 'ENODEV', operation: 'get link "nope0"' }),
    );
  });

  it('creates a bridge and a veth pair with the peer straight in another namespace', () => {
    netlink.createBridge({ name: 'br-test', mtu: 1450, mac: '02:00:00:00:01:00', up: true });
    netlink.createVeth({
      name: 'vh-test',
      master: 'br-test',
      mtu: 1450,
      txQueueLen: 321,
      up: true,
      peer: { name: 'eth0', netns: { pid: guest.pid }, mtu: 1450, mac: '02:00:00:00:01:02', txQueueLen: 123 },
    });
    expect(link(host, 'br-test')).toMatchObject({
      mtu: 1450,
      address: '02:00:00:00:01:00',
      linkinfo: { info_kind: 'bridge' },
    });
    const hostEnd = link(host, 'vh-test');
    expect(hostEnd).toMatchObject({
      mtu: 1450,
      master: 'br-test',
      txqlen: 321,
      linkinfo: { info_kind: 'veth' },
    });
    expect(hostEnd.flags).toContain('UP');
    const peer = link(guest, 'eth0');
    expect(peer).toMatchObject({
      mtu: 1450,
      address: '02:00:00:00:01:02',
      txqlen: 123,
      linkinfo: { info_kind: 'veth' },
    });
    expect(peer.flags).not.toContain('UP');
    expect(linkNames(host)).not.toContain('eth0');

    const ours = netlink.getLink('vh-test');
    expect(ours).toMatchObject({
      kind: 'veth',
      master: netlink.getLink('br-test').index,
      up: true,
      txQueueLen: 321,
    });
    expect(ours.linkNetnsId).toBeDefined(); // its peer lives in another namespace
  });

  it('sets name, MTU, MAC, queue length, up/down and master in one request each', () => {
    netlink.createBridge({ name: 'br-test' });
    netlink.createVeth({ name: 'va', peer: { name: 'vb' } });
    netlink.setLink('va', { name: 'va-renamed', mtu: 1300, mac: '02:00:00:00:02:01', txQueueLen: 77 });
    netlink.setLink('va-renamed', { master: 'br-test', up: true });
    let va = link(host, 'va-renamed');
    expect(va).toMatchObject({ mtu: 1300, address: '02:00:00:00:02:01', txqlen: 77, master: 'br-test' });
    expect(va.flags).toContain('UP');
    netlink.setLink('va-renamed', { master: null, up: false });
    va = link(host, 'va-renamed');
    expect(va.master).toBeUndefined();
    expect(va.flags).not.toContain('UP');
    expect(linkNames(host)).not.toContain('va');
  });

  it('moves a link into another namespace, by pid or by fd', () => {
    netlink.createVeth({ name: 'va', peer: { name: 'vb' } });
    netlink.setLink('va', { netns: { pid: guest.pid } });
    const fd = openSync(guest.path, 'r');
    try {
      netlink.setLink('vb', { netns: { fd } });
    } finally {
      closeSync(fd);
    }
    expect(linkNames(host)).toEqual(['lo']);
    expect(linkNames(guest).sort()).toEqual(['lo', 'va', 'vb']);
  });

  it('deletes a veth pair by deleting one end', () => {
    netlink.createVeth({ name: 'va', peer: { name: 'vb', netns: { pid: guest.pid } } });
    netlink.deleteLink('va');
    expect(linkNames(host)).toEqual(['lo']);
    expect(linkNames(guest)).toEqual(['lo']);
    expect(() => netlink.deleteLink('va')).toThrow(expect.objectContaining({ errnoName: 'ENODEV' }));
  });

  it('refuses a clash with EEXIST and bad names before sending anything', () => {
    netlink.createVeth({ name: 'va', peer: { name: 'vb' } });
    expect(() => netlink.createVeth({ name: 'va', peer: { name: 'vc' } })).toThrow(
      expect.objectContaining({ errnoName: 'EEXIST', operation: 'create veth "va" (peer "vc")' }),
    );
    expect(() => netlink.createBridge({ name: 'a-name-that-is-too-long' })).toThrow(InvalidArgumentError);
    expect(() => netlink.setLink('va', { mac: 'not-a-mac' })).toThrow(InvalidArgumentError);
    expect(() => netlink.setLink(0, { up: true })).toThrow(InvalidArgumentError);
    expect(linkNames(host).sort()).toEqual(['lo', 'va', 'vb']);
  });
});

describe('addresses and routes', () => {
  beforeEach(() => {
    netlink.createVeth({ name: 'va', up: true, peer: { name: 'vb' } });
    netlink.setLink('vb', { up: true });
  });

  it('adds, lists and deletes IPv4 and IPv6 addresses', () => {
    netlink.addAddress('va', '198.18.0.1/24');
    netlink.addAddress('va', '2001:db8::1/64', { noDad: true });
    const shown = host.ipJson<IpAddr[]>(['addr', 'show', 'dev', 'va'])[0]!.addr_info;
    expect(shown).toContainEqual(
      expect.objectContaining({
        family: 'inet',
        local: '198.18.0.1',
        prefixlen: 24,
        broadcast: '198.18.0.255',
      }),
    );
    expect(shown).toContainEqual(
      expect.objectContaining({ family: 'inet6', local: '2001:db8::1', prefixlen: 64 }),
    );
    const listed = netlink.listAddresses({ link: 'va' }).map((a) => a.cidr);
    expect(listed).toContain('198.18.0.1/24');
    expect(listed).toContain('2001:db8::1/64');
    expect(netlink.listAddresses({ link: 'va', family: 4 }).map((a) => a.cidr)).toEqual(['198.18.0.1/24']);
    expect(() => netlink.addAddress('va', '198.18.0.1/24')).toThrow(
      expect.objectContaining({ errnoName: 'EEXIST' }),
    );

    netlink.deleteAddress('va', '198.18.0.1/24');
    netlink.deleteAddress('va', '2001:db8::1/64');
    const left = host.ipJson<IpAddr[]>(['addr', 'show', 'dev', 'va'])[0]!.addr_info.map((a) => a.local);
    expect(left).not.toContain('198.18.0.1');
    expect(left).not.toContain('2001:db8::1');
    expect(() => netlink.addAddress('va', '198.18.0.1')).toThrow(InvalidArgumentError);
  });

  it('adds a default route via a gateway, an on-link prefix route with a source, and deletes them', () => {
    netlink.addAddress('va', '198.18.0.2/24');
    netlink.addRoute({ gateway: '198.18.0.1' });
    netlink.addRoute({ destination: '198.19.0.0/16', device: 'va', source: '198.18.0.2', metric: 50 });
    netlink.addAddress('va', '2001:db8::2/64', { noDad: true });
    netlink.addRoute({ gateway: '2001:db8::1', device: 'va' });
    const v4 = host.ipJson<IpRoute[]>(['route', 'show']);
    expect(v4).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '198.18.0.1', dev: 'va' }));
    expect(v4).toContainEqual(
      expect.objectContaining({
        dst: '198.19.0.0/16',
        dev: 'va',
        prefsrc: '198.18.0.2',
        scope: 'link',
        metric: 50,
      }),
    );
    const v6 = host.ipJson<IpRoute[]>(['-6', 'route', 'show']);
    expect(v6).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '2001:db8::1', dev: 'va' }));

    const listed = netlink.listRoutes({ family: 4 });
    expect(listed).toContainEqual(
      expect.objectContaining({
        destination: '0.0.0.0/0',
        gateway: '198.18.0.1',
        protocol: 3 /* boot, as ip route add */,
      }),
    );
    expect(listed).toContainEqual(
      expect.objectContaining({ destination: '198.19.0.0/16', source: '198.18.0.2', priority: 50 }),
    );
    expect(netlink.listRoutes({ family: 6 })).toContainEqual(
      expect.objectContaining({ destination: '::/0', gateway: '2001:db8::1' }),
    );

    expect(() => netlink.addRoute({ gateway: '198.18.0.1' })).toThrow(
      expect.objectContaining({ errnoName: 'EEXIST' }),
    );
    netlink.addRoute({ gateway: '198.18.0.3' }, { replace: true });
    expect(host.ipJson<IpRoute[]>(['route', 'show', 'default'])).toEqual([
      expect.objectContaining({ gateway: '198.18.0.3' }),
    ]);

    netlink.deleteRoute({ gateway: '198.18.0.3' });
    netlink.deleteRoute({ destination: '198.19.0.0/16', device: 'va' });
    const after = host.ipJson<IpRoute[]>(['route', 'show']).map((r) => r.dst);
    expect(after).toEqual(['198.18.0.0/24']);
  });

  it("reports the kernel's reason for a refused route", () => {
    netlink.addAddress('va', '198.18.0.2/24');
    try {
      netlink.addRoute({ destination: '198.18.9.0/24', gateway: '198.51.100.1' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(NetlinkError);
      expect(error).toMatchObject({
        errnoName: 'ENETUNREACH',
        kernelMessage: expect.stringMatching(/gateway/i),
      });
    }
    expect(() => netlink.addRoute({ destination: '198.18.9.0/24', gateway: '2001:db8::1' })).toThrow(
      /mixes IPv4 and IPv6/,
    );
    expect(() => netlink.addRoute({ device: 'va' })).toThrow(/needs a destination, a gateway or a source/);
  });
});

describe('sockets in other namespaces', () => {
  let other: TestNamespace;
  beforeAll(async () => {
    other = await createNamespace();
  });
  afterAll(async () => {
    await other.destroy();
  });

  it('opens by pid or by fd and stays in that namespace', () => {
    const byPid = RouteNetlink.open({ netns: { pid: other.pid } });
    const fd = openSync(other.path, 'r');
    const byFd = RouteNetlink.open({ netns: { fd } });
    closeSync(fd);
    try {
      byPid.createVeth({ name: 'seen-by-fd', peer: { name: 'peer0' } });
      expect(byFd.getLink('seen-by-fd').kind).toBe('veth');
      expect(linkNames(other)).toContain('seen-by-fd');
      expect(netlink.findLink('seen-by-fd')).toBeUndefined();
    } finally {
      byPid.close();
      byFd.close();
    }
  });

  it('names the namespace when it cannot be entered', () => {
    expect(() => RouteNetlink.open({ netns: { pid: 0x7ffffff0 } })).toThrow(
      expect.objectContaining({ errnoName: 'ENOENT', message: expect.stringMatching(/pid 2147483632/) }),
    );
    const notNetns = openSync('/proc/self/ns/uts', 'r');
    try {
      expect(() => RouteNetlink.open({ netns: { fd: notNetns } })).toThrow(
        expect.objectContaining({ errnoName: 'EINVAL', message: expect.stringMatching(/setns/) }),
      );
    } finally {
      closeSync(notNetns);
    }
  });
});
