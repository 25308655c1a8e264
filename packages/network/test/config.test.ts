import { describe, expect, it } from 'vitest';
import {
  NetworkConfigError,
  networkNamespaceNeeds,
  parseNetworkAnnotation,
  parseNetworkConfig,
  type VethNetwork,
} from '../src/index.js';

/** The parsed entries with addresses and prefixes as their text, for readable comparisons. */
function plain(value: unknown): unknown {
  const isAddress = (v: unknown) =>
    typeof v === 'object' && v !== null && 'text' in v && ('bytes' in v || 'prefixLength' in v);
  return JSON.parse(JSON.stringify(value, (_key, v) => (isAddress(v) ? v.text : v)));
}

function configError(input: { networks?: unknown; routes?: unknown }): NetworkConfigError {
  try {
    parseNetworkConfig(input);
  } catch (error) {
    if (error instanceof NetworkConfigError) return error;
    throw error;
  }
  throw new Error('expected a NetworkConfigError');
}

describe('2014 spellings', () => {
  // Feb-Jun 2014: the veth settings live in a `context` map.
  const early = {
    type: 'veth',
    context: { bridge: 'docker0', prefix: 'dock' },
    address: '172.17.0.100/16',
    gateway: '172.17.42.1',
    mtu: 1500,
  };
  // Jun 24 2014 on: flat fields, and later MAC, IPv6 and txqueuelen.
  const flat = {
    type: 'veth',
    bridge: 'docker0',
    veth_prefix: 'dock',
    address: '172.17.0.100/16',
    gateway: '172.17.42.1',
    mtu: 1500,
  };
  // @nsinit/config's flattened Network2014.
  const camel = {
    type: 'veth',
    bridge: 'docker0',
    vethPrefix: 'dock',
    address: '172.17.0.100/16',
    gateway: '172.17.42.1',
    mtu: 1500,
  };

  it('reads the early context map, the flat fields and the camelCase form alike', () => {
    const expected = {
      type: 'veth',
      label: 'networks[0] (veth)',
      bridge: 'docker0',
      hostPrefix: 'dock',
      interfaceName: 'eth0',
      address: '172.17.0.100/16',
      gateway: '172.17.42.1',
      mtu: 1500,
    };
    for (const entry of [early, flat, camel]) {
      expect(plain(parseNetworkConfig({ networks: [entry] }).networks)).toEqual([expected]);
    }
  });

  it('reads the later fields: MAC, IPv6 address and gateway, txqueuelen, interface name', () => {
    const [veth] = parseNetworkConfig({
      networks: [
        {
          ...flat,
          mac_address: '02:42:AC:11:00:64',
          ipv6_address: '2001:db8::100/64',
          ipv6_gateway: '2001:db8::1',
          txqueuelen: 500,
          interface_name: 'eth1',
        },
      ],
    }).networks as [VethNetwork];
    expect(plain(veth)).toMatchObject({
      macAddress: '02:42:ac:11:00:64',
      ipv6Address: '2001:db8::100/64',
      ipv6Gateway: '2001:db8::1',
      txQueueLen: 500,
      interfaceName: 'eth1',
    });
  });

  it('accepts the loopback entry of the 2014 samples and ignores its address, gateway and MTU', () => {
    const config = parseNetworkConfig({
      networks: [{ type: 'loopback', address: '127.0.0.1/0', gateway: 'localhost', mtu: 1500 }, flat],
    });
    expect(plain(config.networks[0])).toEqual({ type: 'loopback', label: 'networks[0] (loopback)' });
  });

  it('reads netns entries in both spellings', () => {
    for (const entry of [
      { type: 'netns', context: { nspath: '/var/run/netns/web' } },
      { type: 'netns', ns_path: '/var/run/netns/web' },
      { type: 'netns', nsPath: '/var/run/netns/web' },
    ]) {
      expect(parseNetworkConfig({ networks: [entry] }).networks).toEqual([
        { type: 'netns', label: 'networks[0] (netns)', path: '/var/run/netns/web' },
      ]);
    }
  });

  it('reads the routes of the Docker 1.0 sample', () => {
    const { routes } = parseNetworkConfig({
      routes: [
        { gateway: '172.17.42.1', interface_name: 'eth0' },
        { destination: '192.168.0.0/24', interface_name: 'eth0' },
      ],
    });
    expect(plain(routes)).toEqual([
      { label: 'routes[0]', gateway: '172.17.42.1', interfaceName: 'eth0' },
      { label: 'routes[1]', destination: '192.168.0.0/24', interfaceName: 'eth0' },
    ]);
  });

  it("treats empty strings and zeros as absent, as Go's zero values were", () => {
    const [veth] = parseNetworkConfig({
      networks: [{ ...flat, gateway: '', mtu: 0, mac_address: '', txqueuelen: 0, context: null }],
    }).networks as [VethNetwork];
    expect(veth.gateway).toBeUndefined();
    expect(veth.mtu).toBeUndefined();
    expect(veth.macAddress).toBeUndefined();
    expect(veth.txQueueLen).toBeUndefined();
  });

  it('defaults the host prefix to "veth" and the container interface to eth0', () => {
    const [veth] = parseNetworkConfig({ networks: [{ type: 'veth', bridge: 'br0' }] }).networks as [
      VethNetwork,
    ];
    expect(veth).toMatchObject({ hostPrefix: 'veth', interfaceName: 'eth0' });
  });

  it('gives nothing for no networks and no routes', () => {
    expect(parseNetworkConfig({})).toEqual({ networks: [], routes: [] });
  });
});

describe('errors name the entry and the field', () => {
  it.each<[string, { networks?: unknown; routes?: unknown }, string, string, RegExp]>([
    [
      'a missing bridge',
      { networks: [{ type: 'loopback' }, { type: 'veth' }] },
      'networks[1] (veth)',
      'bridge',
      /is missing/,
    ],
    [
      'a bad address',
      { networks: [{ type: 'veth', bridge: 'br0', address: '198.18.0.300/24' }] },
      'networks[0] (veth)',
      'address',
      /not an address with a prefix length/,
    ],
    [
      'an address without prefix',
      { networks: [{ type: 'veth', bridge: 'br0', address: '198.18.0.2' }] },
      'networks[0] (veth)',
      'address',
      /198\.18\.0\.2/,
    ],
    [
      'a gateway of another family',
      { networks: [{ type: 'veth', bridge: 'br0', address: '198.18.0.2/24', gateway: '2001:db8::1' }] },
      'networks[0] (veth)',
      'gateway',
      /same family/,
    ],
    [
      'an IPv4 ipv6_address',
      { networks: [{ type: 'veth', bridge: 'br0', ipv6_address: '198.18.0.2/24' }] },
      'networks[0] (veth)',
      'ipv6_address',
      /not an IPv6/,
    ],
    [
      'an unknown type',
      { networks: [{ type: 'macvlan' }] },
      'networks[0]',
      'type',
      /not a network strategy type/,
    ],
    ['no type', { networks: [{ bridge: 'br0' }] }, 'networks[0]', 'type', /missing/],
    [
      'an unknown field',
      { networks: [{ type: 'veth', bridge: 'br0', veth_prefx: 'x' }] },
      'networks[0]',
      'veth_prefx',
      /not a known field/,
    ],
    [
      'an unknown context key',
      { networks: [{ type: 'veth', context: { bridge: 'br0', brige: 'x' } }] },
      'networks[0]',
      'context.brige',
      /not a known field/,
    ],
    [
      'two spellings that disagree',
      { networks: [{ type: 'veth', bridge: 'br0', context: { bridge: 'br1' } }] },
      'networks[0]',
      'context.bridge',
      /contradicts bridge/,
    ],
    [
      'a multicast MAC',
      { networks: [{ type: 'veth', bridge: 'br0', mac_address: '01:00:5e:00:00:01' }] },
      'networks[0] (veth)',
      'mac_address',
      /multicast/,
    ],
    [
      'a bad MAC',
      { networks: [{ type: 'veth', bridge: 'br0', mac_address: '02:42' }] },
      'networks[0] (veth)',
      'mac_address',
      /not a MAC/,
    ],
    [
      'a prefix too long for a suffix',
      { networks: [{ type: 'veth', bridge: 'br0', veth_prefix: 'averylongpref' }] },
      'networks[0] (veth)',
      'veth_prefix',
      /at most 11 bytes/,
    ],
    [
      'an MTU out of range',
      { networks: [{ type: 'veth', bridge: 'br0', mtu: 70000 }] },
      'networks[0] (veth)',
      'mtu',
      /from 68 to 65535/,
    ],
    [
      'an MTU that is a string',
      { networks: [{ type: 'veth', bridge: 'br0', mtu: '1500' }] },
      'networks[0] (veth)',
      'mtu',
      /not an integer/,
    ],
    [
      'a bad bridge name',
      { networks: [{ type: 'veth', bridge: 'br/0' }] },
      'networks[0] (veth)',
      'bridge',
      /not a valid interface name/,
    ],
    [
      'a relative netns path',
      { networks: [{ type: 'netns', ns_path: 'run/netns/x' }] },
      'networks[0] (netns)',
      'ns_path',
      /not an absolute path/,
    ],
    ['a netns without path', { networks: [{ type: 'netns' }] }, 'networks[0] (netns)', 'ns_path', /missing/],
    [
      'two netns entries',
      {
        networks: [
          { type: 'netns', ns_path: '/a' },
          { type: 'netns', ns_path: '/b' },
        ],
      },
      'networks[1] (netns)',
      '',
      /only one netns/,
    ],
    ['an entry that is no object', { networks: ['veth'] }, 'networks[0]', '', /must be an object/],
    ['networks that are no list', { networks: { type: 'veth' } }, 'networks', '', /must be a list/],
    [
      'a route without destination or gateway',
      { routes: [{ interface_name: 'eth0' }] },
      'routes[0]',
      '',
      /destination or a gateway/,
    ],
    [
      'a route mixing families',
      { routes: [{ destination: '198.18.0.0/24', gateway: '2001:db8::1' }] },
      'routes[0]',
      '',
      /mixes IPv4 and IPv6/,
    ],
    [
      'a route with a bad gateway',
      { routes: [{ gateway: '198.18.0' }] },
      'routes[0]',
      'gateway',
      /not an IP address/,
    ],
  ])('%s', (_what, input, entry, field, message) => {
    const error = configError(input);
    expect(error.code).toBe('ERR_NSINIT_NETWORK_CONFIG');
    expect(error.entry).toBe(entry);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(entry)).toBe(true);
  });
});

describe('the annotation of an OCI config, and what the networks need of the namespace', () => {
  it('parses the annotation, naming it in errors; an empty one is no network', () => {
    const field = 'annotations["org.nsinit.network"]';
    const parsed = parseNetworkAnnotation(JSON.stringify({ networks: [{ type: 'loopback' }] }), field);
    expect(parsed?.networks.map((n) => n.type)).toEqual(['loopback']);
    expect(parseNetworkAnnotation('{"networks":[],"routes":[]}', field)).toBeNull();
    expect(() => parseNetworkAnnotation('{not json', field)).toThrow(
      /^annotations\["org\.nsinit\.network"\]: not JSON: /,
    );
    expect(() => parseNetworkAnnotation('[]', field)).toThrow(NetworkConfigError);
  });

  it('says whether the namespace is joined by path and whether anything is configured inside it', () => {
    const needs = (input: { networks?: unknown; routes?: unknown }) =>
      networkNamespaceNeeds(parseNetworkConfig(input));
    expect(needs({ networks: [{ type: 'loopback' }] })).toEqual({ configuresNamespace: true });
    expect(needs({ networks: [{ type: 'netns', ns_path: '/run/netns/web' }] })).toEqual({
      joinPath: '/run/netns/web',
      configuresNamespace: false,
    });
    expect(
      needs({
        networks: [{ type: 'netns', ns_path: '/run/netns/web' }],
        routes: [{ gateway: '198.18.0.1' }],
      }),
    ).toEqual({
      joinPath: '/run/netns/web',
      configuresNamespace: true,
    });
  });
});
