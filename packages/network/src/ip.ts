// IP addresses, prefixes and MAC addresses as netlink carries them: raw bytes in network order.
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
  /** Canonical text ("198.18.0.1", "2001:db8::1"). */
  text: string;
}

/** An address with a prefix length: "198.18.0.2/24" is host 198.18.0.2 on 198.18.0.0/24. */
export interface IpPrefix {
  address: IpAddress;
  prefixLength: number;
  /** Canonical text, e.g. "198.18.0.2/24". */
  text: string;
}

/** The address in `text` (IPv4 dotted quad or IPv6, no zone), or undefined. */
export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) {
    const bytes = Uint8Array.from(text.split('.'), Number);
    return { family: 4, bytes, text: formatIp(bytes) };
  }
  if (isIPv6(text) && !text.includes('%')) {
    const bytes = parseIpv6(text);
    return { family: 6, bytes, text: formatIp(bytes) };
  }
  return undefined;
}

/** "address/length", or undefined when either half is not valid. */
export function parseIpPrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIp(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!address || !/^(0|[1-9][0-9]{0,2})$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  if (prefixLength > address.bytes.length * 8) return undefined;
  return { address, prefixLength, text: `${address.text}/${prefixLength}` };
}

/** The IPv4 broadcast address of a prefix (every host bit set). */
export function broadcastOf(prefix: IpPrefix): IpAddress {
  const bytes = Uint8Array.from(prefix.address.bytes);
  for (let bit = prefix.prefixLength; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  }
  return { family: prefix.address.family, bytes, text: formatIp(bytes) };
}

/** Canonical text of 4 or 16 address bytes (RFC 5952 for IPv6). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.subarray(12).join('.')}`;
  }
  // The longest run of two or more zero groups (the first one on a tie) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function parseIpv6(text: string): Uint8Array {
  // isIPv6 has accepted the text: at most one "::", groups of 1-4 hex digits, maybe an IPv4 tail,
  // which becomes two hex groups first ("::ffff:1.2.3.4" -> "::ffff:102:304").
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  let hexText = text;
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    hexText = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const hexGroups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const doubleColon = hexText.indexOf('::');
  let groups: number[];
  if (doubleColon >= 0) {
    const head = hexGroups(hexText.slice(0, doubleColon));
    const after = hexGroups(hexText.slice(doubleColon + 2));
    groups = [...head, ...new Array<number>(8 - head.length - after.length).fill(0), ...after];
  } else {
    groups = hexGroups(hexText);
  }
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** Six bytes of a MAC written "02:42:ac:11:00:02" (or with dashes), or undefined. */
export function parseMac(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) return undefined;
  return Uint8Array.from(text.split(/[:-]/), (part) => Number.parseInt(part, 16));
}

/** "02:42:ac:11:00:02": lower-case hex bytes joined by colons. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
