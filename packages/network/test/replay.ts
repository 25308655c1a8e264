// Captured netlink traffic (test/fixtures/*.json, made by capture.mjs) and a transport that
// replays the kernel's side of it to a NetlinkSocket.
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import type { NetlinkTransport } from '../src/index.js';

export interface Fixture {
  description: string;
  command: string;
  kernel: string;
  datagrams: { direction: 'request' | 'reply'; bytes: Uint8Array }[];
}

export function loadFixture(name: string): Fixture {
  const raw = JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as {
    description: string;
    command: string;
    kernel: string;
    datagrams: { direction: 'request' | 'reply'; hex: string }[];
  };
  return {
    ...raw,
    datagrams: raw.datagrams.map((d) => ({
      direction: d.direction,
      bytes: Uint8Array.from(Buffer.from(d.hex, 'hex')),
    })),
  };
}

/** The datagrams of one direction, in order. */
export function datagramsOf(fixture: Fixture, direction: 'request' | 'reply'): Uint8Array[] {
  return fixture.datagrams.filter((d) => d.direction === direction).map((d) => d.bytes);
}

const LITTLE = endianness() === 'LE';

/** Messages in a datagram, each as [offset, length]. */
function messageSpans(datagram: Uint8Array): [number, number][] {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const spans: [number, number][] = [];
  for (let at = 0; at + 16 <= datagram.length; ) {
    const length = view.getUint32(at, LITTLE);
    spans.push([at, length]);
    at += (length + 3) & ~3;
  }
  return spans;
}

export function seqOf(datagram: Uint8Array): number {
  return new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength).getUint32(8, LITTLE);
}

/** A copy of `datagram` with every message's sequence number (and flags, when given) changed. */
export function rewrite(datagram: Uint8Array, change: { seq?: number; addFlags?: number }): Uint8Array {
  const copy = Uint8Array.from(datagram);
  const view = new DataView(copy.buffer);
  for (const [at] of messageSpans(copy)) {
    if (change.seq !== undefined) view.setUint32(at + 8, change.seq, LITTLE);
    if (change.addFlags !== undefined)
      view.setUint16(at + 6, view.getUint16(at + 6, LITTLE) | change.addFlags, LITTLE);
  }
  return copy;
}

/**
 * Plays the kernel: records what is sent, answers each receive with the next queued
 * datagram, its sequence numbers set to those of the last request (unless told otherwise).
 */
export class ReplayTransport implements NetlinkTransport {
  readonly sent: Uint8Array[] = [];
  closed = false;

  constructor(private readonly replies: { bytes: Uint8Array; keepSeq?: boolean }[]) {}

  send(datagram: Uint8Array): void {
    this.sent.push(Uint8Array.from(datagram));
  }

  receive(): Uint8Array {
    const next = this.replies.shift();
    if (!next) throw Object.assign(new Error('replay: no reply left'), { errno: -110, code: 'ETIMEDOUT' });
    const last = this.sent.at(-1);
    return next.keepSeq || !last ? next.bytes : rewrite(next.bytes, { seq: seqOf(last) });
  }

  close(): void {
    this.closed = true;
  }

  get remaining(): number {
    return this.replies.length;
  }
}
