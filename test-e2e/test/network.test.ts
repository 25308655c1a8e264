// Network strategies end to end, entirely inside a network namespace this file creates
// as the "host" (it holds the bridge); addresses from 198.18.0.0/15; nothing touches
// the machine's own interfaces.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { type OciConfig, type RunOptions, run } from 'nsinit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle, requireRoot, scratch } from '../src/harness.js';

const HOST_NS = `nsinit-e2e-net-${process.pid}`;
const ip = (...args: string[]) => execFileSync('ip', ['-n', HOST_NS, ...args], { encoding: 'utf8' });

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;

beforeAll(() => {
  requireRoot();
  work = scratch('net');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'));
  execFileSync('ip', ['netns', 'add', HOST_NS]);
  ip('link', 'add', 'br0', 'type', 'bridge');
  ip('addr', 'add', '198.18.7.1/24', 'dev', 'br0');
  ip('link', 'set', 'br0', 'up');
});
afterAll(() => {
  spawnSync('ip', ['netns', 'delete', HOST_NS]);
  work.cleanup();
});

const config: () => OciConfig = () =>
  ({
    ociVersion: '1.0.2',
    // ping needs a raw socket: without a capabilities section a container has none.
    process: {
      args: ['sh'],
      cwd: '/',
      env: ['PATH=/bin'],
      user: { uid: 0, gid: 0 },
      capabilities: { bounding: ['CAP_NET_RAW'], effective: ['CAP_NET_RAW'], permitted: ['CAP_NET_RAW'] },
    },
    root: { path: bundle.rootfs },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'network' }] },
  }) as OciConfig;

function network(address: string): RunOptions['network'] {
  return {
    hostNetns: `/run/netns/${HOST_NS}`,
    networks: [
      { type: 'loopback' },
      { type: 'veth', bridge: 'br0', vethPrefix: 'nse', address, gateway: '198.18.7.1', mtu: 1400 },
    ],
  };
}

const hostVeths = () => ip('-o', 'link', 'show', 'type', 'veth').trim();

describe('veth networks on a bridge', () => {
  it('configures eth0 with the address, MTU and default route, and two containers reach each other', async () => {
    const a = await run(config(), {
      stateRoot,
      stdio: 'ignore',
      args: ['sleep', '30'],
      network: network('198.18.7.2/24'),
    });
    try {
      expect(hostVeths()).toMatch(/nse[0-9a-f]+.*master br0/);
      const b = await run(config(), {
        stateRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
        args: [
          'sh',
          '-c',
          'ip -o addr show eth0; ip -o link show eth0; ip route; ping -c 1 -W 2 198.18.7.2 >/dev/null && echo reached; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo loopback',
        ],
        network: network('198.18.7.3/24'),
      });
      const [out, err] = await Promise.all([text(b.stdout!), text(b.stderr!)]);
      expect((await b.wait()).status, err).toBe(0);
      expect(out).toMatch(/eth0\s+inet 198\.18\.7\.3\/24/);
      expect(out).toMatch(/eth0@if\d+: .*mtu 1400/);
      expect(out).toMatch(/^default via 198\.18\.7\.1 dev eth0/m);
      expect(out).toContain('reached\nloopback\n');
    } finally {
      a.kill('SIGKILL');
      await a.wait();
    }
    expect(hostVeths()).toBe('');
  });

  it('removes the veth when the start fails after it was made', async () => {
    await expect(
      run(config(), { stateRoot, args: ['/bin/nope'], network: network('198.18.7.4/24') }),
    ).rejects.toMatchObject({
      code: 'ERR_NSINIT_COMMAND_NOT_FOUND',
    });
    expect(hostVeths()).toBe('');
  });

  it('refuses a missing bridge, naming the network entry, and leaves nothing', async () => {
    const good = network('198.18.7.5/24')!;
    const bad = {
      ...good,
      networks: good.networks!.map((n, i) => (i === 1 ? { ...n, bridge: 'no-such-br' } : n)),
    };
    await expect(run(config(), { stateRoot, args: ['true'], network: bad })).rejects.toThrow(
      /networks\[1\] \(veth\)/,
    );
    expect(hostVeths()).toBe('');
  });
});
