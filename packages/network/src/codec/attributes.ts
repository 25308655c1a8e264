// Netlink attributes (struct nlattr / rtattr): u16 length, u16 type, value, padded to 4 bytes.
// Integers are in the host's byte order; addresses are raw network-order bytes.
import { endianness } from 'node:os';
import { NetlinkProtocolError } from '../errors.js';
import { formatIp, type IpFamily } from '../ip.js';
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';

export const LITTLE_ENDIAN = endianness() === 'LE';
export const NLA_HDRLEN = 4;
const MAX_ATTRIBUTE_LENGTH = 0xffff;

/** An attribute to encode: raw bytes, or a list of attributes nested inside it. */
export type Attribute = { type: number; value: Uint8Array } | { type: number; nested: readonly Attribute[] };

export const align4 = (length: number): number => (length + 3) & ~3;

const encoder = new TextEncoder();

function number(type: number, size: 1 | 2 | 4, value: number, signed = false): Attribute {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  if (size === 1) view.setUint8(0, value);
  else if (size === 2) view.setUint16(0, value, LITTLE_ENDIAN);
  else if (signed) view.setInt32(0, value, LITTLE_ENDIAN);
  else view.setUint32(0, value, LITTLE_ENDIAN);
  return { type, value: bytes };
}

/** Builders for the attribute kinds rtnetlink uses. */
export const attr = {
  u8: (type: number, value: number): Attribute => number(type, 1, value),
  u32: (type: number, value: number): Attribute => number(type, 4, value),
  i32: (type: number, value: number): Attribute => number(type, 4, value, true),
  /** NUL-terminated, as the kernel's NLA_STRING/NLA_NUL_STRING policies accept. */
  string: (type: number, value: string): Attribute => {
    const text = encoder.encode(value);
    const bytes = new Uint8Array(text.length + 1);
    bytes.set(text);
    return { type, value: bytes };
  },
  bytes: (type: number, value: Uint8Array): Attribute => ({ type, value }),
  nested: (type: number, nested: readonly Attribute[]): Attribute => ({ type, nested }),
};

/** Bytes `list` takes once encoded, padding included. */
export function attributesLength(list: readonly Attribute[]): number {
  let total = 0;
  for (const attribute of list) total += align4(attributeLength(attribute));
  return total;
}

function attributeLength(attribute: Attribute): number {
  const length =
    NLA_HDRLEN + ('nested' in attribute ? attributesLength(attribute.nested) : attribute.value.length);
  if (length > MAX_ATTRIBUTE_LENGTH) {
    throw new RangeError(`netlink attribute type ${attribute.type} is ${length} bytes, over the 65535 limit`);
  }
  return length;
}

/** Writes `list` at `offset` of `target` (which must have room: see attributesLength); returns the end. */
export function writeAttributes(target: Uint8Array, offset: number, list: readonly Attribute[]): number {
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  let at = offset;
  for (const attribute of list) {
    const length = attributeLength(attribute);
    view.setUint16(at, length, LITTLE_ENDIAN);
    if ('nested' in attribute) {
      view.setUint16(at + 2, attribute.type | NLA_F_NESTED, LITTLE_ENDIAN);
      writeAttributes(target, at + NLA_HDRLEN, attribute.nested);
    } else {
      view.setUint16(at + 2, attribute.type, LITTLE_ENDIAN);
      target.set(attribute.value, at + NLA_HDRLEN);
    }
    // Padding stays zero: targets are freshly allocated.
    at += align4(length);
  }
  return at;
}

export function encodeAttributes(list: readonly Attribute[]): Uint8Array {
  const bytes = new Uint8Array(attributesLength(list));
  writeAttributes(bytes, 0, list);
  return bytes;
}

export interface RawAttribute {
  /** The type without the NESTED / NET_BYTEORDER bits. */
  type: number;
  nested: boolean;
  value: Uint8Array;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Decoded attributes of one message (or of one nested attribute); `where` names them in errors. */
export class AttributeSet {
  private constructor(
    readonly list: readonly RawAttribute[],
    private readonly where: string,
  ) {}

  /** Parses `bytes` as a run of attributes; anything that does not fit exactly is an error. */
  static decode(bytes: Uint8Array, where: string): AttributeSet {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const list: RawAttribute[] = [];
    let at = 0;
    while (at < bytes.length) {
      if (bytes.length - at < NLA_HDRLEN) {
        throw new NetlinkProtocolError(`${where}: ${bytes.length - at} stray bytes after the last attribute`);
      }
      const length = view.getUint16(at, LITTLE_ENDIAN);
      const rawType = view.getUint16(at + 2, LITTLE_ENDIAN);
      if (length < NLA_HDRLEN || at + length > bytes.length) {
        throw new NetlinkProtocolError(
          `${where}: attribute type ${rawType & NLA_TYPE_MASK} at byte ${at} claims ${length} bytes, ` +
            `${bytes.length - at} remain`,
        );
      }
      list.push({
        type: rawType & NLA_TYPE_MASK,
        nested: (rawType & NLA_F_NESTED) !== 0,
        value: bytes.subarray(at + NLA_HDRLEN, at + length),
      });
      // The last attribute may go unpadded.
      at = Math.min(bytes.length, at + align4(length));
    }
    return new AttributeSet(list, where);
  }

  get(type: number): Uint8Array | undefined {
    return this.list.find((a) => a.type === type)?.value;
  }

  u8(type: number): number | undefined {
    const value = this.sized(type, 1);
    return value?.[0];
  }

  u32(type: number): number | undefined {
    const value = this.sized(type, 4);
    return value && new DataView(value.buffer, value.byteOffset, 4).getUint32(0, LITTLE_ENDIAN);
  }

  i32(type: number): number | undefined {
    const value = this.sized(type, 4);
    return value && new DataView(value.buffer, value.byteOffset, 4).getInt32(0, LITTLE_ENDIAN);
  }

  /** A string attribute, without its terminating NUL. */
  string(type: number): string | undefined {
    const value = this.get(type);
    if (!value) return undefined;
    const end = value.indexOf(0);
    return decoder.decode(end < 0 ? value : value.subarray(0, end));
  }

  /** An address attribute of a `family` message as text; `name` names it in errors. */
  ip(type: number, name: string, family: IpFamily): string | undefined {
    const value = this.get(type);
    if (value === undefined) return undefined;
    const size = family === 4 ? 4 : 16;
    if (value.length !== size) {
      throw new NetlinkProtocolError(`${this.where}: ${name} has ${value.length} bytes, expected ${size}`);
    }
    return formatIp(value);
  }

  /** The attributes nested inside attribute `type`. */
  nested(type: number, name: string): AttributeSet | undefined {
    const value = this.get(type);
    return value && AttributeSet.decode(value, `${this.where} ${name}`);
  }

  private sized(type: number, size: number): Uint8Array | undefined {
    const value = this.get(type);
    if (value && value.length !== size) {
      throw new NetlinkProtocolError(
        `${this.where}: attribute type ${type} has ${value.length} bytes, expected ${size}`,
      );
    }
    return value;
  }
}
