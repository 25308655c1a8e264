import { describe, expect, it } from 'vitest';
import { formatIp, formatMac, parseIp, parseIpPrefix, parseMac } from '../src/index.js';
import { broadcastOf } from '../src/ip.js';

const hex = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : undefined);

describe('parseIp', () => {
  it('reads IPv4 dotted quads', () => {
    expect(parseIp('198.18.0.1')).toEqual({
      family: 4,
      bytes: Uint8Array.of(198, 18, 0, 1),
      text: '198.18.0.1',
    });
  });

  it.each([
    ['::', '00000000000000000000000000000000', '::'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:db8::', '20010db8000000000000000000000000', '2001:db8::'],
    ['fe80::a:b', 'fe8000000000000000000000000a000b', 'fe80::a:b'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
    ['::ffff:198.18.0.1', '00000000000000000000ffffc6120001', '::ffff:198.18.0.1'],
    ['2001:db8::198.18.0.1', '20010db80000000000000000c6120001', '2001:db8::c612:1'],
  ])('reads IPv6 %s', (text, bytes, canonical) => {
    const ip = parseIp(text);
    expect(ip?.family).toBe(6);
    expect(hex(ip?.bytes)).toBe(bytes);
    expect(ip?.text).toBe(canonical);
  });

  it.each(['', '1.2.3', '256.1.1.1', '01.2.3.4', 'fe80::1%eth0', '1::2::3', 'localhost', '198.18.0.1/24'])(
    'rejects %j',
    (text) => {
      expect(parseIp(text)).toBeUndefined();
    },
  );
});

describe('formatIp', () => {
  it.each([
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of two equal runs
    ['20010000000000010000000000000001', '2001:0:0:1::1'], // the longer run wins
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // one zero group stays
    ['00000000000000000000000000000000', '::'],
  ])('writes %s as %s (RFC 5952)', (bytes, text) => {
    expect(formatIp(Buffer.from(bytes, 'hex'))).toBe(text);
  });

  it('agrees with the WHATWG URL serializer on random addresses', () => {
    let state = 0x2545f491;
    const next = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return state >>> 0;
    };
    for (let i = 0; i < 500; i++) {
      // Mostly zero groups, so that runs of zeros of every length occur.
      const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? next() & 0xffff : 0));
      const bytes = new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff]));
      const full = groups.map((g) => g.toString(16)).join(':');
      const expected = new URL(`http://[${full}]/`).hostname.slice(1, -1);
      // URL writes ::ffff:a.b.c.d in hex groups; formatIp keeps the dotted form ip(8) shows.
      if (expected.startsWith('::ffff:') && groups.slice(0, 5).every((g) => g === 0)) continue;
      expect(formatIp(bytes)).toBe(expected);
      expect(parseIp(full)?.text).toBe(expected);
    }
  });

  it('refuses a byte count that is no address', () => {
    expect(() => formatIp(new Uint8Array(5))).toThrow(RangeError);
  });
});

describe('prefixes', () => {
  it('reads address/length and writes it canonically', () => {
    expect(parseIpPrefix('198.18.0.2/24')).toMatchObject({ prefixLength: 24, text: '198.18.0.2/24' });
    expect(parseIpPrefix('2001:DB8::2/64')).toMatchObject({ prefixLength: 64, text: '2001:db8::2/64' });
    expect(parseIpPrefix('0.0.0.0/0')?.prefixLength).toBe(0);
  });

  it.each(['198.18.0.2', '198.18.0.2/33', '198.18.0.2/024', '/24', '::/129', 'x/8', '198.18.0.2/-1'])(
    'rejects %j',
    (text) => {
      expect(parseIpPrefix(text)).toBeUndefined();
    },
  );

  it('computes the broadcast address', () => {
    expect(broadcastOf(parseIpPrefix('198.18.0.77/26')!).text).toBe('198.18.0.127');
  });
});

describe('MAC addresses', () => {
  it('reads colon or dash notation and writes lower-case colons', () => {
    expect(hex(parseMac('02:42:AC:11:00:02'))).toBe('0242ac110002');
    expect(hex(parseMac('02-42-ac-11-00-02'))).toBe('0242ac110002');
    expect(formatMac(Uint8Array.of(2, 0x42, 0xac, 0x11, 0, 2))).toBe('02:42:ac:11:00:02');
  });

  it.each(['02:42:ac:11:00', '02:42:ac:11:00:02:03', '0242.ac11.0002', 'zz:42:ac:11:00:02'])(
    'rejects %j',
    (text) => {
      expect(parseMac(text)).toBeUndefined();
    },
  );
});
