// The codec against bytes the kernel and iproute2 produced (test/fixtures, see capture.mjs):
// decoding real replies, encoding requests as `ip` does, multipart dumps over several
// datagrams, ACKs and error replies with and without extended acks.
import { describe, expect, it } from 'vitest';
import {
  AttributeSet,
  attr,
  constants as C,
  decodeAddress,
  decodeError,
  decodeLink,
  decodeMessages,
  decodeRoute,
  encodeAttributes,
  encodeIfInfo,
  encodeMessage,
  type Link,
  NetlinkError,
  NetlinkProtocolError,
  NetlinkSocket,
  RouteNetlink,
} from '../src/index.js';
import { datagramsOf, loadFixture, ReplayTransport, rewrite, seqOf } from './replay.js';

const linkDump = loadFixture('link-dump');
const addressDump = loadFixture('address-dump');
const routeDump = loadFixture('route-dump');

/**
 * The message type of a request datagram. iproute2 sends its whole request buffer, zeros past
 * nlmsg_len included (the kernel stops at them), so its requests are read by the header only.
 */
function requestType(datagram: Uint8Array): number {
  return new DataView(datagram.buffer, datagram.byteOffset).getUint16(4, true);
}

/** The request datagram of `type`, cut to its nlmsg_len. */
function requestOf(fixture: ReturnType<typeof loadFixture>, type: number): Uint8Array {
  const datagram = datagramsOf(fixture, 'request').findLast((d) => requestType(d) === type);
  if (!datagram) throw new Error(`${fixture.command}: no request of type ${type}`);
  return datagram.subarray(0, new DataView(datagram.buffer, datagram.byteOffset).getUint32(0, true));
}

/** The fixture's replies that answer its last request of `type` (its dump or its ACK). */
function repliesTo(fixture: ReturnType<typeof loadFixture>, type: number): Uint8Array[] {
  let seq: number | undefined;
  for (const request of datagramsOf(fixture, 'request')) {
    if (requestType(request) === type) seq = seqOf(request);
  }
  if (seq === undefined) throw new Error(`${fixture.command}: no request of type ${type}`);
  return datagramsOf(fixture, 'reply').filter((d) => seqOf(d) === seq);
}

function linksOf(datagrams: Uint8Array[]): Link[] {
  return datagrams
    .flatMap(decodeMessages)
    .filter((m) => m.type === C.RTM_NEWLINK)
    .map(decodeLink);
}

/** Attributes as a comparable tree: type -> hex bytes, text, or the nested tree (NESTED bit ignored). */
type Tree = [number, string | Tree][];
type Shape = 'nested' | 'ifinfomsg' | 'string' | 'raw';
function tree(bytes: Uint8Array, shapeOf: (path: number[]) => Shape, path: number[] = []): Tree {
  const attributes = AttributeSet.decode(bytes, 'tree');
  return attributes.list.map((a) => {
    const kind = shapeOf([...path, a.type]);
    if (kind === 'nested') return [a.type, tree(a.value, shapeOf, [...path, a.type])];
    if (kind === 'string') return [a.type, Buffer.from(a.value).toString('latin1').replace(/\0$/, '')];
    if (kind === 'ifinfomsg') {
      return [
        a.type,
        [
          [-1, Buffer.from(a.value.subarray(0, 16)).toString('hex')],
          ...tree(a.value.subarray(16), shapeOf, [...path, a.type]),
        ],
      ];
    }
    return [a.type, Buffer.from(a.value).toString('hex')];
  });
}

describe('messages', () => {
  it('splits a datagram into its messages and keeps each payload unpadded', () => {
    const [dump] = repliesTo(linkDump, C.RTM_GETLINK);
    const messages = decodeMessages(dump!);
    expect(messages.map((m) => m.type)).toEqual([C.RTM_NEWLINK, C.RTM_NEWLINK, C.RTM_NEWLINK, C.RTM_NEWLINK]);
    for (const m of messages) expect(m.flags & C.NLM_F_MULTI).toBe(C.NLM_F_MULTI);
    const total = messages.reduce((sum, m) => sum + ((16 + m.payload.length + 3) & ~3), 0);
    expect(total).toBe(dump!.length);
  });

  it('rejects a message whose length overruns the datagram', () => {
    const [dump] = repliesTo(linkDump, C.RTM_GETLINK);
    expect(() => decodeMessages(dump!.subarray(0, dump!.length - 8))).toThrow(NetlinkProtocolError);
    expect(() => decodeMessages(dump!.subarray(0, 10))).toThrow(/stray bytes/);
    const short = Uint8Array.from(dump!.subarray(0, 16));
    new DataView(short.buffer).setUint32(0, 8, true); // nlmsg_len below the header size
    expect(() => decodeMessages(short)).toThrow(/claims 8 bytes/);
  });

  it('encodes a header with the length, type, flags and sequence number', () => {
    const ipRequest = requestOf(linkDump, C.RTM_GETLINK);
    // ip link show asks for AF_PACKET links, with IFLA_EXT_MASK RTEXT_FILTER_VF.
    const AF_PACKET = 17;
    const bytes = encodeMessage({
      type: C.RTM_GETLINK,
      flags: C.NLM_F_REQUEST | C.NLM_F_DUMP,
      seq: 0x01020304,
      header: encodeIfInfo({ family: AF_PACKET }),
      attributes: [attr.u32(C.IFLA_EXT_MASK, 1)],
    });
    expect(Buffer.from(rewrite(bytes, { seq: seqOf(ipRequest) })).toString('hex')).toBe(
      Buffer.from(ipRequest).toString('hex'),
    );
  });
});

describe('attributes', () => {
  it('pads every attribute to 4 bytes and sets the NESTED bit on nests', () => {
    const bytes = encodeAttributes([
      attr.string(C.IFLA_IFNAME, 'eth0'),
      attr.nested(C.IFLA_LINKINFO, [attr.string(C.IFLA_INFO_KIND, 'veth')]),
      attr.u8(C.IFLA_OPERSTATE, 6),
    ]);
    expect(Buffer.from(bytes).toString('hex')).toBe(
      // len 9 "eth0\0" + 3 pad | len 16 type 18|NESTED { len 9 kind "veth\0" + 3 pad } | len 5, u8 6 + 3 pad
      '0900030065746830000000001000128009000100766574680000000005001000' + '06000000',
    );
    const decoded = AttributeSet.decode(bytes, 'test');
    expect(decoded.string(C.IFLA_IFNAME)).toBe('eth0');
    expect(decoded.nested(C.IFLA_LINKINFO, 'IFLA_LINKINFO')?.string(C.IFLA_INFO_KIND)).toBe('veth');
    expect(decoded.u8(C.IFLA_OPERSTATE)).toBe(6);
    expect(decoded.list.find((a) => a.type === C.IFLA_LINKINFO)?.nested).toBe(true);
  });

  it('rejects an attribute that claims more bytes than remain, or a value of the wrong size', () => {
    const bytes = encodeAttributes([attr.u32(C.IFLA_MTU, 1500)]);
    expect(() => AttributeSet.decode(bytes.subarray(0, 6), 'test')).toThrow(/claims 8 bytes, 6 remain/);
    expect(() => AttributeSet.decode(bytes.subarray(0, 2), 'test')).toThrow(/2 stray bytes/);
    const wrongSize = AttributeSet.decode(encodeAttributes([attr.u8(C.IFLA_MTU, 1)]), 'test');
    expect(() => wrongSize.u32(C.IFLA_MTU)).toThrow(/has 1 bytes, expected 4/);
  });
});

describe('links', () => {
  it('decodes the links of a dump: names, kinds, MACs, MTU, master and veth peer', () => {
    const links = linksOf(repliesTo(linkDump, C.RTM_GETLINK));
    const byName = new Map(links.map((l) => [l.name, l]));
    expect([...byName.keys()].sort()).toEqual(['fx-br0', 'fx-veth0', 'fx-veth1', 'lo']);
    expect(byName.get('lo')).toMatchObject({ index: 1, hardwareType: 772, mtu: 65536, up: false });
    expect(byName.get('lo')!.kind).toBeUndefined();
    const bridge = byName.get('fx-br0')!;
    const veth0 = byName.get('fx-veth0')!;
    const veth1 = byName.get('fx-veth1')!;
    expect(bridge).toMatchObject({ kind: 'bridge', mac: '02:00:00:00:00:20', up: true, hardwareType: 1 });
    expect(veth0).toMatchObject({
      kind: 'veth',
      mac: '02:00:00:00:00:10',
      mtu: 1400,
      up: true,
      master: bridge.index,
    });
    expect(veth0.parentIndex).toBe(veth1.index);
    expect(veth1).toMatchObject({
      kind: 'veth',
      mac: '02:00:00:00:00:11',
      up: false,
      parentIndex: veth0.index,
    });
    expect(veth1.master).toBeUndefined();
  });

  it('reassembles a dump that spans several datagrams, up to NLMSG_DONE', () => {
    // ip addr show dumps the links first: two datagrams of RTM_NEWLINK, then NLMSG_DONE.
    const replies = repliesTo(addressDump, C.RTM_GETLINK);
    expect(replies.length).toBe(3);
    const transport = new ReplayTransport(replies.map((bytes) => ({ bytes })));
    const links = new RouteNetlink(new NetlinkSocket(transport)).listLinks();
    expect(links.map((l) => l.name).sort()).toEqual(['fx-br0', 'fx-veth0', 'fx-veth1', 'lo']);
    expect(transport.remaining).toBe(0);
    const [request] = decodeMessages(transport.sent[0]!);
    expect(request!.type).toBe(C.RTM_GETLINK);
    expect(request!.flags).toBe(C.NLM_F_REQUEST | C.NLM_F_DUMP);
  });

  it('encodes a veth pair as ip link add ... type veth peer name ... does', () => {
    const ip = loadFixture('veth-create');
    // ip first probes with an empty RTM_NEWLINK; the veth request is the last one.
    const [ipRequest] = decodeMessages(requestOf(ip, C.RTM_NEWLINK));
    const ack = datagramsOf(ip, 'reply').at(-1)!;
    const transport = new ReplayTransport([{ bytes: ack }]);
    new RouteNetlink(new NetlinkSocket(transport)).createVeth({
      name: 'fx-veth2',
      peer: { name: 'fx-veth3' },
    });
    const [ours] = decodeMessages(transport.sent[0]!);
    expect(ours!.type).toBe(ipRequest!.type);
    expect(ours!.flags).toBe(ipRequest!.flags);
    const shape = (path: number[]): Shape => {
      const last = path.at(-1);
      if (path.length === 1)
        return last === C.IFLA_LINKINFO ? 'nested' : last === C.IFLA_IFNAME ? 'string' : 'raw';
      if (path.length === 2)
        return last === C.IFLA_INFO_DATA ? 'nested' : last === C.IFLA_INFO_KIND ? 'string' : 'raw';
      if (path.length === 3) return last === C.VETH_INFO_PEER ? 'ifinfomsg' : 'raw';
      return last === C.IFLA_IFNAME ? 'string' : 'raw';
    };
    const attributesOf = (payload: Uint8Array) => tree(payload.subarray(16), shape);
    // Same structure and values; ip leaves the NUL off IFLA_INFO_KIND and the NESTED bit off nests.
    expect(attributesOf(ours!.payload)).toEqual(attributesOf(ipRequest!.payload));
    expect(attributesOf(ours!.payload)).toContainEqual([C.IFLA_IFNAME, 'fx-veth2']);
    expect(Buffer.from(ours!.payload.subarray(0, 16))).toEqual(
      Buffer.from(ipRequest!.payload.subarray(0, 16)),
    );
  });
});

describe('addresses', () => {
  it('decodes IPv4 and IPv6 addresses with broadcast, label and flags', () => {
    const addresses = repliesTo(addressDump, C.RTM_GETADDR)
      .flatMap(decodeMessages)
      .filter((m) => m.type === C.RTM_NEWADDR)
      .map(decodeAddress);
    const links = linksOf(repliesTo(addressDump, C.RTM_GETLINK));
    const bridge = links.find((l) => l.name === 'fx-br0')!;
    const v4 = addresses.find((a) => a.cidr === '198.18.0.1/24');
    expect(v4).toMatchObject({
      family: 4,
      index: bridge.index,
      broadcast: '198.18.0.255',
      label: 'fx-br0',
      scope: 0,
    });
    const v6 = addresses.find((a) => a.cidr === '2001:db8::1/64');
    expect(v6).toMatchObject({ family: 6, index: bridge.index, scope: 0 });
    expect(v6!.flags & C.IFA_F_NODAD).toBe(C.IFA_F_NODAD);
    const loopback = addresses.filter((a) => a.index === 1);
    expect(loopback).toEqual([]); // lo is down and has no address in a fresh namespace
  });

  it('encodes an address as ip addr add ... brd + does, byte for byte', () => {
    const ip = loadFixture('address-add');
    const ipRequest = requestOf(ip, C.RTM_NEWADDR);
    const index = new DataView(ipRequest.buffer, ipRequest.byteOffset).getUint32(16 + 4, true);
    const transport = new ReplayTransport([{ bytes: datagramsOf(ip, 'reply').at(-1)! }]);
    new RouteNetlink(new NetlinkSocket(transport)).addAddress(index, '198.18.1.2/24');
    expect(Buffer.from(rewrite(transport.sent[0]!, { seq: seqOf(ipRequest) })).toString('hex')).toBe(
      Buffer.from(ipRequest).toString('hex'),
    );
  });
});

describe('routes', () => {
  it('decodes the main table: a default route via a gateway and a connected prefix', () => {
    const routes = repliesTo(routeDump, C.RTM_GETROUTE)
      .flatMap(decodeMessages)
      .filter((m) => m.type === C.RTM_NEWROUTE)
      .map(decodeRoute)
      .filter((r) => r.table === C.RT_TABLE_MAIN && r.family === 4);
    expect(routes).toContainEqual(
      expect.objectContaining({
        destination: '0.0.0.0/0',
        gateway: '198.18.0.254',
        protocol: C.RTPROT_BOOT,
        scope: 0,
      }),
    );
    expect(routes).toContainEqual(
      expect.objectContaining({
        destination: '198.18.0.0/24',
        source: '198.18.0.1',
        scope: C.RT_SCOPE_LINK,
        protocol: 2,
      }),
    );
  });

  it('encodes a route as ip route add ... via ... does, byte for byte', () => {
    const ip = loadFixture('route-add');
    const ipRequest = requestOf(ip, C.RTM_NEWROUTE);
    const transport = new ReplayTransport([{ bytes: datagramsOf(ip, 'reply')[0]! }]);
    new RouteNetlink(new NetlinkSocket(transport)).addRoute({
      destination: '198.18.2.0/24',
      gateway: '198.18.0.254',
    });
    expect(Buffer.from(rewrite(transport.sent[0]!, { seq: seqOf(ipRequest) })).toString('hex')).toBe(
      Buffer.from(ipRequest).toString('hex'),
    );
  });
});

describe('acknowledgements and errors', () => {
  it('reads an ACK: errno 0 and the header of the request it answers', () => {
    const ip = loadFixture('route-add');
    const [ack] = decodeMessages(datagramsOf(ip, 'reply')[0]!);
    const reply = decodeError(ack!);
    expect(reply.errno).toBe(0);
    expect(reply.request).toMatchObject({ type: C.RTM_NEWROUTE, seq: seqOf(datagramsOf(ip, 'request')[0]!) });
  });

  it('reads a refusal that echoes the whole request (no NETLINK_CAP_ACK)', () => {
    const ip = loadFixture('error-exists');
    const [refusal] = decodeMessages(datagramsOf(ip, 'reply').at(-1)!);
    expect(refusal!.flags & C.NLM_F_CAPPED).toBe(0);
    const reply = decodeError(refusal!);
    expect(reply).toMatchObject({ errno: 17, request: { type: C.RTM_NEWLINK } });
    expect(reply.kernelMessage).toBeUndefined();
  });

  it("reads the kernel's extended ack after the echoed request", () => {
    const ip = loadFixture('error-extack');
    const [refusal] = decodeMessages(datagramsOf(ip, 'reply')[0]!);
    expect(refusal!.flags & C.NLM_F_ACK_TLVS).toBe(C.NLM_F_ACK_TLVS);
    expect(decodeError(refusal!)).toMatchObject({
      errno: 101,
      request: { type: C.RTM_NEWROUTE },
      kernelMessage: 'Nexthop has invalid gateway',
    });
  });

  it('turns a refusal into a NetlinkError with the operation, errno name and kernel message', () => {
    const ip = loadFixture('error-extack');
    const transport = new ReplayTransport([{ bytes: datagramsOf(ip, 'reply')[0]! }]);
    const netlink = new RouteNetlink(new NetlinkSocket(transport));
    const error = (() => {
      try {
        netlink.addRoute({ destination: '198.18.3.0/24', gateway: '198.51.100.1' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({
      code: 'ERR_NSINIT_NETLINK',
      errno: 101,
      errnoName: 'ENETUNREACH',
      kernelMessage: 'Nexthop has invalid gateway',
      operation: 'add route 198.18.3.0/24 via 198.51.100.1',
    });
    expect((error as Error).message).toMatch(
      /add route 198\.18\.3\.0\/24 via 198\.51\.100\.1 failed: .*ENETUNREACH.*Nexthop/,
    );
  });

  it('skips replies to an earlier request (another sequence number)', () => {
    const ip = loadFixture('route-add');
    const ack = datagramsOf(ip, 'reply')[0]!;
    const stale = rewrite(datagramsOf(loadFixture('error-extack'), 'reply')[0]!, { seq: 0xdead });
    const transport = new ReplayTransport([{ bytes: stale, keepSeq: true }, { bytes: ack }]);
    new RouteNetlink(new NetlinkSocket(transport)).addRoute({
      destination: '198.18.2.0/24',
      gateway: '198.18.0.254',
    });
    expect(transport.remaining).toBe(0);
  });

  it('runs a dump again when the kernel marks it interrupted, and gives up after five', () => {
    const replies = repliesTo(linkDump, C.RTM_GETLINK);
    const interrupted = replies.map((bytes) => ({ bytes: rewrite(bytes, { addFlags: C.NLM_F_DUMP_INTR }) }));
    const twice = new ReplayTransport([...interrupted, ...replies.map((bytes) => ({ bytes }))]);
    expect(new RouteNetlink(new NetlinkSocket(twice)).listLinks()).toHaveLength(4);
    expect(twice.sent).toHaveLength(2);

    const always = new ReplayTransport(Array.from({ length: 5 }, () => interrupted).flat());
    expect(() => new RouteNetlink(new NetlinkSocket(always)).listLinks()).toThrow(
      expect.objectContaining({ errnoName: 'EAGAIN', message: expect.stringMatching(/interrupted/) }),
    );
  });

  it('fails a dump whose NLMSG_DONE carries an error', () => {
    const replies = repliesTo(linkDump, C.RTM_GETLINK);
    const done = Uint8Array.from(replies.at(-1)!);
    expect(decodeMessages(done)[0]!.type).toBe(C.NLMSG_DONE);
    new DataView(done.buffer).setInt32(16, -105, true); // ENOBUFS
    const transport = new ReplayTransport([{ bytes: done }]);
    expect(() => new RouteNetlink(new NetlinkSocket(transport)).listLinks()).toThrow(
      expect.objectContaining({ errnoName: 'ENOBUFS', operation: 'list links' }),
    );
  });

  it('reports a missing reply as ETIMEDOUT and a closed socket as EBADF', () => {
    const socket = new NetlinkSocket(new ReplayTransport([]));
    const netlink = new RouteNetlink(socket);
    expect(() => netlink.listLinks()).toThrow(expect.objectContaining({ errnoName: 'ETIMEDOUT' }));
    netlink.close();
    expect(socket.closed).toBe(true);
    expect(() => netlink.listLinks()).toThrow(expect.objectContaining({ errnoName: 'EBADF' }));
  });
});
