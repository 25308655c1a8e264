// The addon's NETLINK_ROUTE sockets on their own: opened in this or another network
// namespace (one this file creates under `unshare --net`), one datagram out, one in.
// Messages are built by hand here so that these tests need no @nsinit/network.
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLONE_NEWNET,
  CLONE_NEWUTS,
  namespaceType,
  netlinkReceive,
  netlinkSend,
  openRouteNetlink,
} from '../lib/index.js';
import { holdNetworkNamespace } from './helper-harness.js';

const RTM_GETLINK = 18;
const NLM_F_REQUEST = 1;
const NLM_F_DUMP = 0x300;
const NLMSG_DONE = 3;
const O_CLOEXEC = 0o2000000;

let holder: Awaited<ReturnType<typeof holdNetworkNamespace>>;

beforeAll(async () => {
  // A network namespace with a veth pair whose names only it has.
  holder = await holdNetworkNamespace('ip link add nl-probe0 type veth peer name nl-probe1');
});

afterAll(() => holder.release());

/** A link dump request: nlmsghdr + an empty ifinfomsg. */
function linkDumpRequest(seq: number): Uint8Array {
  const bytes = Buffer.alloc(32);
  bytes.writeUInt32LE(32, 0);
  bytes.writeUInt16LE(RTM_GETLINK, 4);
  bytes.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  bytes.writeUInt32LE(seq, 8);
  return bytes;
}

/** Every datagram of a link dump, joined, up to NLMSG_DONE. */
function dumpLinks(fd: number): Buffer {
  netlinkSend({ fd, data: linkDumpRequest(7) });
  const parts: Buffer[] = [];
  for (;;) {
    const datagram = Buffer.from(netlinkReceive({ fd, timeoutMs: 2000 }));
    parts.push(datagram);
    for (let at = 0; at + 16 <= datagram.length; at += (datagram.readUInt32LE(at) + 3) & ~3) {
      expect(datagram.readUInt32LE(at + 8)).toBe(7);
      if (datagram.readUInt16LE(at + 4) === NLMSG_DONE) return Buffer.concat(parts);
    }
  }
}

function fdFlags(fd: number): number {
  const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return Number.parseInt(flags![1]!, 8);
}

/** The network namespace of every thread of this process. */
function threadNamespaces(): Set<string> {
  return new Set(readdirSync('/proc/self/task').map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`)));
}

describe('openRouteNetlink', () => {
  it('opens a CLOEXEC socket in this process namespace', () => {
    const fd = openRouteNetlink();
    try {
      expect(fdFlags(fd) & O_CLOEXEC).toBe(O_CLOEXEC);
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/^socket:\[\d+\]$/);
      expect(dumpLinks(fd).includes('nl-probe0')).toBe(false);
    } finally {
      closeSync(fd);
    }
  });

  it('opens a socket inside the namespace of a pid or an fd, leaving every thread where it was', () => {
    const before = threadNamespaces();
    const byPid = openRouteNetlink({ pid: holder.pid });
    const nsFd = openSync(holder.path, 'r');
    const byFd = openRouteNetlink({ netnsFd: nsFd });
    closeSync(nsFd);
    try {
      expect(fdFlags(byPid) & O_CLOEXEC).toBe(O_CLOEXEC);
      expect(fdFlags(byFd) & O_CLOEXEC).toBe(O_CLOEXEC);
      for (const fd of [byPid, byFd]) {
        const dump = dumpLinks(fd);
        expect(dump.includes('nl-probe0')).toBe(true);
        expect(dump.includes('nl-probe1')).toBe(true);
      }
      expect(threadNamespaces()).toEqual(before);
      expect(before.size).toBe(1);
    } finally {
      closeSync(byPid);
      closeSync(byFd);
    }
  });

  it('reports what could not be entered', () => {
    expect(() => openRouteNetlink({ pid: 0x7ffffff0 })).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        syscall: 'open',
        message: expect.stringMatching(/\/proc\/2147483632\/ns\/net/),
      }),
    );
    const uts = openSync('/proc/self/ns/uts', 'r');
    try {
      expect(() => openRouteNetlink({ netnsFd: uts })).toThrow(
        expect.objectContaining({ code: 'EINVAL', syscall: 'setns' }),
      );
    } finally {
      closeSync(uts);
    }
    expect(() => openRouteNetlink({ pid: 1, netnsFd: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => openRouteNetlink({ pid: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });
});

describe('netlinkSend and netlinkReceive', () => {
  it('times out when nothing arrives', () => {
    const fd = openRouteNetlink();
    try {
      expect(() => netlinkReceive({ fd, timeoutMs: 20 })).toThrow(
        expect.objectContaining({
          code: 'ETIMEDOUT',
          message: expect.stringMatching(/no netlink reply within 20 ms/),
        }),
      );
    } finally {
      closeSync(fd);
    }
  });

  it('refuses data that is not a Uint8Array, and a closed fd', () => {
    const fd = openRouteNetlink();
    closeSync(fd);
    expect(() => netlinkSend({ fd, data: 'x' as unknown as Uint8Array })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => netlinkSend({ fd, data: linkDumpRequest(1) })).toThrow(
      expect.objectContaining({ code: 'EBADF' }),
    );
  });
});

describe('namespaceType', () => {
  it('names the type of a namespace fd and refuses anything else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsinit-nstype-'));
    const fds: number[] = [];
    try {
      const net = openSync('/proc/self/ns/net', 'r');
      fds.push(net);
      const uts = openSync('/proc/self/ns/uts', 'r');
      fds.push(uts);
      writeFileSync(join(dir, 'plain'), '');
      const plain = openSync(join(dir, 'plain'), 'r');
      fds.push(plain);
      expect(namespaceType({ fd: net })).toBe(CLONE_NEWNET);
      expect(namespaceType({ fd: uts })).toBe(CLONE_NEWUTS);
      expect(() => namespaceType({ fd: plain })).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
    } finally {
      for (const fd of fds) closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
