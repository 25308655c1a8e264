// Adversarial tests for issue 9 ("safe by default"): each tries, as a hostile config, image
// or neighbour would, one way out of the container that nsinit used to leave open, and
// checks that the host is unchanged afterwards (canary files, mount table, cgroup tree,
// state root).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { DOCKER_DEFAULT_CAPABILITIES } from '@nsinit/config';
import { type OciConfig, type RunOptions, run } from 'nsinit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type HostSnapshot,
  hostSnapshot,
  makeBundle,
  nsinit,
  requireRoot,
  scratch,
  TEST_USER,
  testIds,
} from '../src/harness.js';
import { startExchangeLoop } from '../src/race.js';

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;
/** A host folder no container may write: attacks aim at it. */
let hostData: string;
let before: HostSnapshot;

const ids = testIds('escapes');
const snapshot = () =>
  hostSnapshot([hostData, '/etc/hostname', '/proc/sys/net/ipv4/ip_forward'], stateRoot, ids.marker);

beforeAll(() => {
  requireRoot();
  work = scratch('escapes');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'));
  hostData = join(work.path, 'host-data');
  mkdirSync(hostData);
  writeFileSync(join(hostData, 'secret'), "the host's own\n");
});
afterAll(() => work.cleanup());
beforeEach(() => {
  before = snapshot();
});
afterEach(() => {
  expect(snapshot()).toEqual(before);
});

const DOCKER_CAPS = [...DOCKER_DEFAULT_CAPABILITIES];

function config(
  overrides: Partial<OciConfig> = {},
  process: Partial<NonNullable<OciConfig['process']>> = {},
): OciConfig {
  return {
    ociVersion: '1.0.2',
    process: {
      args: ['sh'],
      cwd: '/',
      env: ['PATH=/bin'],
      user: { uid: 0, gid: 0 },
      capabilities: { bounding: DOCKER_CAPS, effective: DOCKER_CAPS, permitted: DOCKER_CAPS },
      ...process,
    },
    root: { path: bundle.rootfs },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    ],
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network' }],
    },
    ...overrides,
  } as OciConfig;
}

async function runToEnd(cfg: OciConfig, script: string, options: RunOptions = {}) {
  const container = await run(cfg, {
    id: ids.next(),
    stateRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    args: ['sh', '-c', script],
    ...options,
  });
  const [stdout, stderr, exit] = await Promise.all([
    text(container.stdout!),
    text(container.stderr!),
    container.wait(),
  ]);
  return { stdout, stderr, status: exit.status };
}

async function startError(cfg: OciConfig, script = 'true'): Promise<Error & { code?: string }> {
  const error = await runToEnd(cfg, script).then(
    () => new Error('the container started'),
    (e: unknown) => e as Error,
  );
  return error;
}

describe('1. a bind mount is attached with its flags: a swapping neighbour never gets it writable', () => {
  it('keeps read-only binds read-only and inside the root over 300 starts against a renameat2 loop', async () => {
    // The volume a neighbour shares with the container. Its `x` and `y` trade places all the
    // time; y/data is a symlink to a mount point, so a remount that looked `/vol/x/data` up a
    // second time would land there and leave the bind of the host folder writable.
    const volume = join(work.path, 'volume');
    mkdirSync(join(volume, 'x/data'), { recursive: true });
    mkdirSync(join(volume, 'x/rdata'), { recursive: true });
    mkdirSync(join(volume, 'y'), { recursive: true });
    symlinkSync('/tmp', join(volume, 'y/data'));
    symlinkSync('/tmp', join(volume, 'y/rdata'));
    const cfg = config({
      mounts: [
        ...config().mounts!,
        { destination: '/vol', type: 'bind', source: volume, options: ['rbind', 'rw'] },
        { destination: '/vol/x/data', type: 'bind', source: hostData, options: ['bind', 'ro'] },
        { destination: '/vol/x/rdata', type: 'bind', source: hostData, options: ['rbind', 'ro', 'nosuid'] },
      ],
    });
    // Every mount of the host folder, as the container sees it: mount point and options.
    const script = `awk '$4 == "${hostData}" {print $5, $6}' /proc/self/mountinfo; for d in /vol/x/data /vol/x/rdata /vol/y/data /vol/y/rdata /tmp; do touch $d/pwned 2>/dev/null; done; true`;
    const loop = await startExchangeLoop(join(volume, 'x'), join(volume, 'y'));
    const seen = { started: 0, refused: 0, mounts: 0 };
    try {
      for (let i = 0; i < 300; i++) {
        const result = await runToEnd(cfg, script).catch((error: unknown) => error as Error);
        if (result instanceof Error) {
          seen.refused++;
          continue;
        }
        seen.started++;
        for (const line of result.stdout.trim().split('\n').filter(Boolean)) {
          const [mountPoint, options] = line.split(' ');
          seen.mounts++;
          expect(options!.split(',')).toContain('ro');
          expect(mountPoint).toMatch(/^\/(vol\/[xy]\/r?data|tmp)$/);
        }
      }
    } finally {
      await loop.stop();
    }
    expect(readdirSync(hostData)).toEqual(['secret']);
    // The attack ran: most starts got through, with the host folder mounted somewhere.
    expect(seen.started).toBeGreaterThan(100);
    expect(seen.mounts).toBeGreaterThan(seen.started);
  });
});

describe('2. no capabilities section means no capabilities', () => {
  const sets = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status | awk '{print $2}' | sort -u";
  for (const user of [
    { uid: 0, gid: 0 },
    { uid: TEST_USER.uid, gid: TEST_USER.gid },
  ]) {
    it(`gives uid ${user.uid} empty effective, permitted, inheritable, bounding and ambient sets`, async () => {
      const cfg = config({}, { user, capabilities: undefined });
      const { stdout, status } = await runToEnd(
        cfg,
        `${sets}; mknod /tmp/n c 1 3 2>/dev/null && echo mknod-worked; true`,
      );
      expect(status).toBe(0);
      expect(stdout).toBe('0000000000000000\n');
    });
  }
});

describe('3. every container gets the default device rules', () => {
  // Block devices of the host a container with CAP_MKNOD can make nodes for: loop, and zram
  // where the host has it. (This sandbox refuses its own disk to everyone, root included.)
  const blockMajors = () =>
    readFileSync('/proc/devices', 'utf8')
      .split('Block devices:')[1]!
      .split('\n')
      .map((line) => line.trim().split(' '))
      .filter(([, name]) => name === 'loop' || name === 'zram')
      .map(([major, name]) => ({ major: Number(major), name: name! }));
  const openEach = (devices: { major: number; name: string }[]) =>
    devices
      .map(
        ({ major, name }) =>
          `mknod /dev/x-${name} b ${major} 0 && (exec 3<>/dev/x-${name}) 2>/dev/null && echo opened-${name}`,
      )
      .join('; ');

  it('cannot open a block device it made with CAP_MKNOD, without any linux.resources', async () => {
    const devices = blockMajors();
    expect(devices.map((d) => d.name)).toContain('loop');
    const script = `${openEach(devices)}; echo ok > /dev/null && head -c1 /dev/zero | wc -c`;
    const { stdout, status } = await runToEnd(config(), script);
    expect(stdout).toBe('1\n');
    expect(status).toBe(0);
  });

  it("applies them to the CLI's embedded default as well", () => {
    const result = nsinit([
      '--root',
      stateRoot,
      'exec',
      '--id',
      ids.next(),
      '--',
      'sh',
      '-c',
      `${openEach(blockMajors())}; cat /dev/null && echo null-ok`,
    ]);
    expect(result.stdout).toBe('null-ok\n');
  });

  it('still lets a config that allows every device use them (a privileged container)', async () => {
    const devices = blockMajors();
    const cfg = config({
      linux: { ...config().linux, resources: { devices: [{ allow: true, access: 'rwm' }] } },
    });
    const { stdout } = await runToEnd(cfg, openEach(devices));
    expect(stdout).toBe(devices.map((d) => `opened-${d.name}\n`).join(''));
  });
});

describe("4. the container's /sys/fs/cgroup shows its own cgroup only", () => {
  const cgroupMount = (options: string[]) => ({
    destination: '/sys/fs/cgroup',
    type: 'cgroup',
    source: 'cgroup',
    options,
  });
  const withCgroups = (options: string[], cgroupNamespace: boolean) =>
    config({
      mounts: [
        ...config().mounts!,
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        cgroupMount(options),
      ],
      linux: {
        namespaces: [
          ...config().linux!.namespaces!,
          ...(cgroupNamespace ? [{ type: 'cgroup' as const }] : []),
        ],
      },
    });
  // What the container can see and do in its cgroups: processes listed in the pids hierarchy,
  // subfolders, the v1 root-only release_agent, and a write to pids.max.
  const probe = [
    'cat /sys/fs/cgroup/pids/cgroup.procs | wc -l',
    'find /sys/fs/cgroup/pids /sys/fs/cgroup/memory -mindepth 1 -type d | wc -l',
    'ls /sys/fs/cgroup/*/release_agent 2>/dev/null | wc -l',
    '(echo 7 > /sys/fs/cgroup/pids/pids.max) 2>/dev/null && echo wrote || echo read-only',
  ].join('; ');

  for (const options of [
    ['ro', 'nosuid', 'nodev', 'noexec'],
    ['rw', 'nosuid', 'nodev', 'noexec'],
  ]) {
    it(`without a cgroup namespace, binds its own cgroup read-only (config says ${options[0]})`, async () => {
      const { stdout, status } = await runToEnd(withCgroups(options, false), probe);
      expect(status).toBe(0);
      // Only the container's processes (sh, cat, wc), no other cgroup, no release_agent, no writes.
      expect(stdout.trim().split('\n')).toEqual([expect.stringMatching(/^[1-3]$/), '0', '0', 'read-only']);
    });
  }

  it('with a cgroup namespace of its own, mounts the hierarchies fresh: writable as the config says, and only its own', async () => {
    const script = `${probe}; cat /sys/fs/cgroup/pids/pids.max; grep :pids: /proc/self/cgroup`;
    const { stdout, status } = await runToEnd(withCgroups(['rw', 'nosuid', 'nodev', 'noexec'], true), script);
    expect(status).toBe(0);
    // The limit it wrote is its own cgroup's: the root of its namespace.
    expect(stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^[1-3]$/),
      '0',
      '0',
      'wrote',
      '7',
      expect.stringMatching(/^\d+:pids:\/$/),
    ]);
  });

  it('leaves no sub-cgroup behind that the container made in its writable namespace', async () => {
    const script = 'mkdir -p /sys/fs/cgroup/pids/a/b /sys/fs/cgroup/memory/a && echo made';
    const { stdout } = await runToEnd(withCgroups(['rw'], true), script);
    expect(stdout).toBe('made\n');
    // afterEach compares the host's cgroup tree with the one before.
  });

  it("keeps a joined cgroup namespace (someone else's) read-only, with binds of its own cgroup", async () => {
    const cfg = withCgroups(['rw'], false);
    cfg.linux!.namespaces!.push({ type: 'cgroup', path: '/proc/self/ns/cgroup' });
    const { stdout } = await runToEnd(cfg, probe);
    expect(stdout.trim().split('\n')).toEqual([expect.stringMatching(/^[1-3]$/), '0', '0', 'read-only']);
  });
});

describe('6. a bundle whose rootfs is a symlink', () => {
  it('is refused, and the folder it leads to gets nothing', async () => {
    const elsewhere = join(work.path, 'elsewhere');
    mkdirSync(elsewhere);
    const link = join(work.path, 'rootfs-link');
    symlinkSync(elsewhere, link);
    try {
      const error = await startError(config({ root: { path: link } }));
      expect(error.message).toBe(
        `root.path must not be a symlink: ${link} leads to ${elsewhere}; name the real path if that is the root filesystem you mean`,
      );
      expect(readdirSync(elsewhere)).toEqual([]);
      // Named by its real path, the same folder is taken (and the start fails later: it holds no sh).
      const real = await startError(config({ root: { path: elsewhere } }));
      expect(real.message).not.toMatch(/symlink/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
      rmSync(link);
    }
  });
  it('still takes a bundle reached through a symlinked folder: only root.path itself is checked', () => {
    const link = join(work.path, 'bundle-link');
    const configPath = join(bundle.dir, 'link-test.json');
    writeFileSync(configPath, JSON.stringify({ ...config(), root: { path: 'rootfs' } }));
    symlinkSync(bundle.dir, link);
    try {
      const result = nsinit([
        '--root',
        stateRoot,
        'exec',
        '--id',
        ids.next(),
        '--config',
        join(link, 'link-test.json'),
        '--',
        'true',
      ]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(link);
      rmSync(configPath);
    }
  });
});

describe('7. sysctls only in namespaces the container owns', () => {
  it('refuses net.* in the network namespace nsinit runs in, and leaves the host value alone', async () => {
    const cfg = config({
      linux: {
        namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'network', path: '/proc/self/ns/net' }],
        sysctl: {
          'net.ipv4.ip_forward':
            readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1' ? '0' : '1',
        },
      },
    });
    const error = await startError(cfg);
    expect(error.message).toMatch(
      /^linux\.sysctl\["net\.ipv4\.ip_forward"\]: is not allowed in the network namespace nsinit itself runs in/,
    );
  });

  it("sets net.* in a network namespace of the container's own, and in a joined one that is not ours", async () => {
    const own = await runToEnd(
      config({ linux: { ...config().linux, sysctl: { 'net.ipv4.ip_forward': '1' } } }),
      'cat /proc/sys/net/ipv4/ip_forward',
    );
    expect(own.stdout).toBe('1\n');
    const name = `nsinit-e2e-${process.pid}`;
    expect(spawnSync('ip', ['netns', 'add', name]).status).toBe(0);
    try {
      const cfg = config({
        linux: {
          namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'network', path: `/run/netns/${name}` }],
          sysctl: { 'net.ipv4.ip_forward': '1' },
        },
      });
      expect((await runToEnd(cfg, 'cat /proc/sys/net/ipv4/ip_forward')).stdout).toBe('1\n');
    } finally {
      spawnSync('ip', ['netns', 'delete', name]);
    }
  });

  it('refuses kernel.* keys that no namespace isolates', async () => {
    const error = await startError(
      config({ linux: { ...config().linux, sysctl: { 'kernel.core_pattern': '|/bin/sh' } } }),
    );
    expect(error.message).toBe('linux.sysctl["kernel.core_pattern"]: is not in a separate kernel namespace');
  });
});

describe('8. mounts on and inside /proc', () => {
  const withMount = (mount: Record<string, unknown>, image?: () => void) => {
    image?.();
    return config({ mounts: [...config().mounts!, mount] as OciConfig['mounts'] });
  };

  it.each([
    [
      { destination: '/proc', type: 'bind', source: '/tmp', options: ['rbind'] },
      'mounts[3].source: /tmp is not a procfs',
    ],
    [{ destination: '/proc', type: 'tmpfs', source: 'tmpfs' }, 'mounts[3].type: "tmpfs" on /proc'],
    [
      { destination: '/proc/sys/kernel', type: 'tmpfs', source: 'tmpfs' },
      'mounts[3].destination: /proc/sys/kernel is inside /proc',
    ],
    [
      { destination: '/proc/self/attr', type: 'tmpfs', source: 'tmpfs' },
      'mounts[3].destination: /proc/self/attr is inside /proc',
    ],
    [
      { destination: '/proc/sys', type: 'bind', source: '/tmp', options: ['bind'] },
      'mounts[3].destination: /proc/sys is inside /proc',
    ],
  ])('refuses %j before anything is created', async (mount, message) => {
    const error = await startError(withMount(mount));
    expect(error.message).toContain(message);
  });

  it('refuses a bind of a procfs directory that is not its root (a host process, /proc/sys) over /proc', async () => {
    const error = await startError(
      withMount({ destination: '/proc', type: 'bind', source: '/proc/1', options: ['rbind'] }),
    );
    expect(error.message).toContain('mounts[3].source: /proc/1 is not a procfs');
  });

  it('refuses a mount that an image symlink would turn onto the procfs', async () => {
    const link = join(bundle.rootfs, 'data');
    try {
      // The mount comes after the container's /proc: /data resolves, inside the root, to that procfs.
      const cfg = withMount({ destination: '/data', type: 'tmpfs', source: 'tmpfs' }, () =>
        symlinkSync('/proc', link),
      );
      const error = await startError(cfg);
      expect(error.message).toMatch(
        /mount tmpfs on \/data\): operation not permitted \(EPERM\) \[mount on \/data: the target is inside a procfs\]/,
      );
    } finally {
      rmSync(link);
    }
  });

  it('refuses an image whose /proc is a symlink', async () => {
    const proc = join(bundle.rootfs, 'proc');
    rmSync(proc, { recursive: true });
    symlinkSync('/tmp', proc);
    try {
      const error = await startError(config());
      expect(error.message).toMatch(/mount proc on \/proc\): not a directory \(ENOTDIR\)/);
    } finally {
      rmSync(proc);
      mkdirSync(proc);
    }
  });

  it("allows a fresh proc, a bind of a whole procfs, and runc's files inside /proc", async () => {
    const meminfo = join(work.path, 'meminfo');
    writeFileSync(meminfo, 'MemTotal: 42 kB\n');
    const cfg = withMount({
      destination: '/proc/meminfo',
      type: 'bind',
      source: meminfo,
      options: ['bind', 'ro'],
    });
    expect((await runToEnd(cfg, 'head -1 /proc/meminfo')).stdout).toBe('MemTotal: 42 kB\n');
    const whole = config({
      mounts: [{ destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] }],
      linux: { namespaces: [{ type: 'mount' }, { type: 'uts' }] },
    });
    expect((await runToEnd(whole, 'test -r /proc/self/status && echo procfs')).stdout).toBe('procfs\n');
  });
});
