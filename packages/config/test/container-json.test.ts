import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CAPABILITY_NAMES,
  type CapabilityName,
  containerJsonSchema,
  convertContainerJson,
  type DeepReadonly,
  DOCKER_DEFAULT_CAPABILITIES,
  decideCapabilities,
  type OciConfig,
  parseOciConfig,
  type RuntimeOptions,
} from '../src/index.js';
import { expectConfigError, readFixture, tempDirs } from './helpers.js';

/** The networks and routes a converted container.json carries as data, for run()'s network option. */
const networksOf = (runtime: RuntimeOptions) => runtime.network?.networks;
const routesOf = (runtime: RuntimeOptions) => runtime.network?.routes;

const temp = tempDirs();
afterEach(() => temp.cleanup());

const FEB_2014_DROPPED = [
  'CAP_SETPCAP',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_NET_ADMIN',
];

function allBut(dropped: readonly string[]): CapabilityName[] {
  return CAPABILITY_NAMES.filter((name) => !dropped.includes(name));
}

function expectCapabilities(config: DeepReadonly<OciConfig>, keep: readonly string[]): void {
  const caps = config.process?.capabilities;
  expect(caps?.bounding).toEqual(keep);
  expect(caps?.effective).toEqual(keep);
  expect(caps?.permitted).toEqual(keep);
  expect(caps?.inheritable).toEqual([]);
  expect(caps?.ambient).toEqual([]);
}

/** What a restricted container gets: the 2014 restrict_sys lists joined with runc's. */
const RESTRICTED_READONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'];
const RESTRICTED_MASKED = [
  '/proc/kcore',
  '/proc/acpi',
  '/proc/asound',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
];

function expectRestricted(config: DeepReadonly<OciConfig>): void {
  expect(config.mounts?.find((m) => m.destination === '/sys')?.options).toContain('ro');
  expect(config.linux?.readonlyPaths).toEqual(RESTRICTED_READONLY);
  expect(config.linux?.maskedPaths).toEqual(RESTRICTED_MASKED);
}

/** The mounts every converted container gets, with the 2014 options (sysfs read-only unless restrict_sys is off). */
function systemMounts(sysfsReadOnly = true) {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: sysfsReadOnly ? ['nosuid', 'noexec', 'nodev', 'ro'] : ['nosuid', 'noexec', 'nodev'],
    },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=620', 'gid=5'],
    },
  ];
}

describe('convertContainerJson: the 2014 shapes', () => {
  it('converts the February 2014 shipped sample (strings, drop list, veth, cgroups)', async () => {
    const baseDir = await temp.make();
    const { config, runtime } = convertContainerJson(readFixture('container-json/feb-2014-sample.json'), {
      baseDir,
    });
    expect(config.ociVersion).toBe('1.2.0');
    // No root_fs: early 2014 nsinit ran with the rootfs as its working directory, the file's folder.
    expect(config.root).toEqual({ path: baseDir, readonly: false });
    expect(config.hostname).toBe('koye');
    expect(config.process?.terminal).toBe(true);
    expect(config.process?.env).toEqual([
      'HOME=/',
      'PATH=PATH=$PATH:/bin:/usr/bin:/sbin:/usr/sbin',
      'container=docker',
      'TERM=xterm-256color',
    ]);
    expect(config.process?.cwd).toBe('/');
    expect(config.process?.user).toEqual({ uid: 0, gid: 0 });
    expect(config.process?.args).toBeUndefined();
    expect(config.linux?.namespaces).toEqual([
      { type: 'ipc' },
      { type: 'mount' },
      { type: 'pid' },
      { type: 'uts' },
      { type: 'network' },
    ]);
    expectCapabilities(config, allBut(FEB_2014_DROPPED));
    expect(config.process?.capabilities?.bounding).toHaveLength(41 - 15);
    // No restrict_sys: restricted all the same (2014 left /sys and /proc/sys writable).
    expect(config.mounts).toEqual(systemMounts());
    expectRestricted(config);
    expect(config.linux?.cgroupsPath).toBe('docker/docker-koye');
    expect(config.linux?.resources).toEqual({ memory: { limit: 5248000 } });
    expect(runtime).toMatchObject({ noPivotRoot: false });
    expect(networksOf(runtime)).toEqual([
      {
        type: 'veth',
        bridge: 'docker0',
        vethPrefix: 'dock',
        address: '172.17.0.100/16',
        gateway: '172.17.42.1',
        mtu: 1500,
      },
    ]);
    expect(routesOf(runtime)).toEqual([]);
    expect(parseOciConfig(config)).toEqual(config);
  });

  it('converts the March 2014 object forms ({key, enabled} namespaces and capabilities_mask)', async () => {
    const baseDir = await temp.make();
    const { config, runtime } = convertContainerJson(readFixture('container-json/mar-2014-objects.json'), {
      baseDir,
    });
    // NEWUSER is listed but not enabled.
    expect(config.linux?.namespaces?.map((n) => n.type)).toEqual(['mount', 'uts', 'ipc', 'pid', 'network']);
    // Only entries with enabled=false are dropped; MKNOD (enabled) stays.
    expectCapabilities(config, allBut(['CAP_SETPCAP', 'CAP_SYS_MODULE', 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN']));
    expect(config.linux?.resources).toEqual({ memory: { limit: 5248000, swap: -1 }, cpu: { shares: 1024 } });
    expect(config.process?.apparmorProfile).toBe('docker-default');
    expect(config.process?.selinuxLabel).toBeUndefined();
    expect(config.linux?.mountLabel).toBeUndefined();
    expect(networksOf(runtime)?.map((n) => n.type)).toEqual(['loopback', 'veth']);
    expect(networksOf(runtime)?.[1]).toMatchObject({ vethPrefix: 'dock', bridge: 'docker0' });
  });

  it('converts the Docker v0.11 shape (maps for namespaces and capabilities_mask, devtmpfs)', async () => {
    const baseDir = await temp.make();
    const { config, runtime } = convertContainerJson(readFixture('container-json/v0.11.json'), { baseDir });
    expect(config.linux?.namespaces?.map((n) => n.type).sort()).toEqual([
      'ipc',
      'mount',
      'network',
      'pid',
      'uts',
    ]);
    // false = drop; MKNOD is true and stays; SYSLOG (added in April) is dropped.
    const dropped = [...FEB_2014_DROPPED.filter((c) => c !== 'CAP_MKNOD'), 'CAP_SYSLOG'];
    expectCapabilities(config, allBut(dropped));
    expect(config.process?.capabilities?.bounding).toContain('CAP_MKNOD');
    // {type: "devtmpfs"} asked for the /dev tmpfs, which every converted config already has.
    expect(config.mounts).toEqual(systemMounts());
    expect(config.linux?.cgroupsPath).toBe('docker/docker-koye');
    expect(config.linux?.resources).toBeUndefined();
    expect(networksOf(runtime)).toEqual([
      { type: 'loopback', address: '127.0.0.1/0', gateway: 'localhost', mtu: 1500 },
      {
        type: 'veth',
        address: '172.17.42.2/16',
        gateway: '172.17.42.1',
        mtu: 1500,
        bridge: 'docker0',
        vethPrefix: 'veth',
      },
    ]);
  });

  it('converts the Docker v1.0.0 shape (keep list, device_nodes, routes)', async () => {
    const baseDir = await temp.make();
    const { config, runtime } = convertContainerJson(readFixture('container-json/v1.0.0.json'), { baseDir });
    // ["MKNOD"] is a KEEP list here: device_nodes and routes only exist after the May 2014 flip.
    expectCapabilities(config, ['CAP_MKNOD']);
    expect(config.linux?.devices).toEqual([
      { type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o666 },
      { type: 'c', path: '/dev/zero', major: 1, minor: 5, fileMode: 0o666 },
      { type: 'c', path: '/dev/full', major: 1, minor: 7, fileMode: 0o666 },
      { type: 'c', path: '/dev/tty', major: 5, minor: 0, fileMode: 0o666 },
      { type: 'c', path: '/dev/urandom', major: 1, minor: 9, fileMode: 0o666 },
      { type: 'c', path: '/dev/random', major: 1, minor: 8, fileMode: 0o666 },
    ]);
    expect(routesOf(runtime)).toEqual([
      { gateway: '172.17.42.1', interfaceName: 'eth0' },
      { destination: '192.168.0.0/24', interfaceName: 'eth0' },
    ]);
  });

  it('converts the June 2014 minimal.json (mount_config, restrict_sys, user "daemon" from the rootfs)', async () => {
    const baseDir = await temp.make();
    await mkdir(path.join(baseDir, 'etc'));
    await writeFile(
      path.join(baseDir, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n',
    );
    await writeFile(
      path.join(baseDir, 'etc/group'),
      'root:x:0:\ndaemon:x:1:\nadm:x:4:syslog,daemon\ntty:x:5:\n',
    );
    const { config, runtime } = convertContainerJson(readFixture('container-json/jun-2014-minimal.json'), {
      baseDir,
    });

    expect(config.process?.user).toEqual({ uid: 1, gid: 1, additionalGids: [4] });
    expectCapabilities(
      config,
      CAPABILITY_NAMES.filter(
        (c) => DOCKER_DEFAULT_CAPABILITIES.includes(c) && c !== 'CAP_FSETID' && c !== 'CAP_AUDIT_WRITE',
      ),
    );
    // restrict_sys: /sys read-only, /proc/sys & co read-only, /proc/kcore & co masked.
    expect(config.mounts).toEqual([
      ...systemMounts(),
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'nodev'] },
    ]);
    expectRestricted(config);
    expect(config.linux?.devices).toEqual([
      { type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o666 },
      { type: 'c', path: '/dev/zero', major: 1, minor: 5, fileMode: 0o666 },
      // minor_number absent: Go's zero value.
      { type: 'c', path: '/dev/tty', major: 5, minor: 0, fileMode: 0o666 },
    ]);
    expect(config.linux?.resources?.devices).toEqual([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', access: 'm' },
      { allow: true, type: 'b', access: 'm' },
      { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
      { allow: true, type: 'c', major: 4, minor: 0, access: 'rwm' },
      { allow: true, type: 'c', major: 136, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    ]);
    expect(runtime).toMatchObject({ noPivotRoot: false });
    expect(networksOf(runtime)).toEqual([
      { type: 'loopback', address: '127.0.0.1/0', gateway: 'localhost', mtu: 1500 },
    ]);
  });

  it('converts the November 2014 shape (namespaces [{name, path}], rlimits, root_fs, mount_config)', async () => {
    const baseDir = await temp.make();
    const { config, runtime, warnings } = convertContainerJson(readFixture('container-json/nov-2014.json'), {
      baseDir,
    });
    // "restrict_sys": false is the one way to a writable /sys and /proc/sys, and it is said aloud.
    expect(config.mounts?.slice(0, 5)).toEqual(systemMounts(false));
    expect(config.linux?.readonlyPaths).toBeUndefined();
    expect(warnings).toEqual([
      '"restrict_sys": false leaves /sys and /proc/sys writable: the container can change kernel settings of the whole host (kernel.core_pattern, vm.drop_caches, ...); remove it to restrict them',
    ]);
    expect(config.root).toEqual({ path: path.join(baseDir, 'rootfs'), readonly: true });
    expect(runtime).toEqual({ noPivotRoot: true });
    expect(config.linux?.namespaces).toEqual([
      { type: 'mount' },
      { type: 'uts' },
      { type: 'ipc' },
      { type: 'pid' },
      { type: 'network', path: '/var/run/netns/shared' },
    ]);
    expect(config.process?.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 },
      { type: 'RLIMIT_NPROC', hard: 4096, soft: 2048 },
    ]);
    // Numeric ids need no passwd (this rootfs does not even exist).
    expect(config.process?.user).toEqual({ uid: 1000, gid: 1000 });
    expect(config.process?.cwd).toBe('/home/app');
    expectCapabilities(
      config,
      CAPABILITY_NAMES.filter((c) => DOCKER_DEFAULT_CAPABILITIES.includes(c)),
    );
    expect(config.mounts?.slice(5)).toEqual([
      { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind'] },
      {
        destination: '/shared',
        type: 'bind',
        source: path.join(baseDir, 'shared'),
        options: ['rbind', 'ro', 'private'],
      },
    ]);
    expect(config.linux?.mountLabel).toBe('system_u:object_r:svirt_sandbox_file_t:s0:c1,c2');
    expect(config.process?.apparmorProfile).toBe('docker-default');
    expect(config.process?.selinuxLabel).toBe('system_u:system_r:svirt_lxc_net_t:s0:c1,c2');
    expect(config.linux?.cgroupsPath).toBe('nsinit/nov');
    expect(config.linux?.resources).toEqual({
      memory: { limit: 104857600, reservation: 52428800, swap: 209715200 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
    });
    expect(config.linux?.maskedPaths).toBeUndefined();
  });

  it('accepts the February 21 single `network` object', async () => {
    const baseDir = await temp.make();
    const { runtime } = convertContainerJson(
      {
        namespaces: ['NEWNET'],
        network: { type: 'veth', context: { bridge: 'br0', prefix: 'v' }, mtu: 1500 },
      },
      { baseDir },
    );
    expect(networksOf(runtime)).toEqual([{ type: 'veth', bridge: 'br0', vethPrefix: 'v', mtu: 1500 }]);
  });

  it('copies May 2014 device names from the host /dev, skipping missing optional ones', async () => {
    const baseDir = await temp.make();
    const { config } = convertContainerJson(
      { required_device_nodes: ['null'], optional_device_nodes: ['nsinit-no-such-device', 'zero'] },
      { baseDir },
    );
    expect(config.linux?.devices).toEqual([
      { type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o666 },
      { type: 'c', path: '/dev/zero', major: 1, minor: 5, fileMode: 0o666 },
    ]);
    let error = expectConfigError(() =>
      convertContainerJson({ device_nodes: { required: ['nsinit-no-such-device'] } }, { baseDir }),
    );
    expect(error.issues[0]).toEqual({
      path: 'device_nodes.required[0]',
      message: 'required device /dev/nsinit-no-such-device does not exist on the host',
    });
    error = expectConfigError(() =>
      convertContainerJson({ required_device_nodes: ['../etc/passwd'] }, { baseDir }),
    );
    expect(error.issues[0]?.path).toBe('required_device_nodes[0]');
  });

  it('joins cgroup parent and name into one cgroupsPath relative to the runtime’s cgroup', async () => {
    const baseDir = await temp.make();
    const withParent = convertContainerJson({ cgroups: { name: 'ct', parent: '/a/b/' } }, { baseDir });
    expect(withParent.config.linux?.cgroupsPath).toBe('a/b/ct');
    const withoutParent = convertContainerJson({ cgroups: { name: 'ct' } }, { baseDir });
    expect(withoutParent.config.linux?.cgroupsPath).toBe('ct');
  });

  it('maps every 2014 namespace name, including NEWUSER', async () => {
    const baseDir = await temp.make();
    const { config } = convertContainerJson(
      { namespaces: ['NEWNS', 'NEWUTS', 'NEWIPC', 'NEWPID', 'NEWNET', 'NEWUSER'] },
      { baseDir },
    );
    expect(config.linux?.namespaces?.map((n) => n.type)).toEqual([
      'mount',
      'uts',
      'ipc',
      'pid',
      'network',
      'user',
    ]);
  });

  it('treats JSON null as absent, as Go did', async () => {
    const baseDir = await temp.make();
    const { config, runtime } = convertContainerJson(
      { hostname: null, namespaces: { NEWNS: true }, capabilities: null, mount_config: { mounts: null } },
      { baseDir },
    );
    expect(config.hostname).toBeUndefined();
    expect(config.mounts).toEqual(systemMounts());
    expect(networksOf(runtime)).toBeUndefined();
  });

  it('resolves a relative working_dir and bind destination against "/"', async () => {
    const baseDir = await temp.make();
    const { config } = convertContainerJson(
      {
        working_dir: 'srv/app',
        mounts: [{ type: 'bind', source: '/x', destination: '../../data', writable: true }],
      },
      { baseDir },
    );
    expect(config.process?.cwd).toBe('/srv/app');
    expect(config.mounts?.at(-1)?.destination).toBe('/data');
  });
});

describe('convertContainerJson: capabilities, drop or keep', () => {
  const dropListOnly = { capabilities: ['SYS_ADMIN', 'NET_ADMIN', 'MKNOD'] };

  it('reads a list of only Feb 2014 drop-list names, without later-era keys, as DROP', () => {
    const decision = decideCapabilities(containerJsonSchema.parse(dropListOnly), []);
    expect(decision.semantics).toBe('drop');
    expect(decision.keep).toEqual(allBut(['CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_MKNOD']));
  });

  it('reads the same list as KEEP when the document has later-era keys', () => {
    for (const marker of [
      { routes: [] },
      { restrict_sys: false },
      { mount_config: {} },
      { device_nodes: [] },
      { rlimits: [] },
      { root_fs: '/r' },
      { namespaces: { NEWNS: true } },
      { namespaces: [{ name: 'NEWNS' }] },
    ]) {
      const decision = decideCapabilities(containerJsonSchema.parse({ ...dropListOnly, ...marker }), []);
      expect(decision.semantics, JSON.stringify(marker)).toBe('keep');
      expect(decision.keep).toEqual(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_MKNOD']);
    }
  });

  it('reads a list with names outside the Feb 2014 vocabulary as KEEP', () => {
    const decision = decideCapabilities(containerJsonSchema.parse({ capabilities: ['MKNOD', 'CHOWN'] }), []);
    expect(decision.semantics).toBe('keep');
    expect(decision.keep).toEqual(['CAP_CHOWN', 'CAP_MKNOD']);
    expect(decision.reason).toMatch(/CHOWN/);
  });

  it('reads capabilities_mask as DROP whatever it contains', () => {
    const decision = decideCapabilities(
      containerJsonSchema.parse({ capabilities_mask: ['CHOWN'], routes: [] }),
      [],
    );
    expect(decision.semantics).toBe('drop');
    expect(decision.keep).toEqual(allBut(['CAP_CHOWN']));
  });

  it('without any capabilities key: none, whatever the era, saying so where 2014 gave everything', async () => {
    const baseDir = await temp.make();
    const early = convertContainerJson({ hostname: 'x', namespaces: ['NEWNS'] }, { baseDir });
    expectCapabilities(early.config, []);
    expect(early.warnings).toEqual([
      'no "capabilities": the container gets no capabilities, where an early-2014 nsinit gave it every one. ' +
        'List those it needs in "capabilities" (e.g. ["CHOWN", "KILL"]), or drop from all of them with "capabilities_mask" (e.g. ["SYS_ADMIN"])',
    ]);
    // A later-era file got none in 2014 too: nothing to say.
    const later = convertContainerJson({ hostname: 'x', mount_config: {} }, { baseDir });
    expectCapabilities(later.config, []);
    expect(later.warnings).toEqual([]);
    expect(decideCapabilities(containerJsonSchema.parse({ hostname: 'x' }), []).keep).toEqual([]);
  });

  it('keeps everything for a drop list that drops nothing, as 2014 did, with a warning', async () => {
    const baseDir = await temp.make();
    for (const [doc, key] of [
      [{ capabilities_mask: {} }, 'capabilities_mask'],
      [{ capabilities_mask: [] }, 'capabilities_mask'],
      [{ capabilities_mask: { MKNOD: true } }, 'capabilities_mask'],
      [{ capabilities: [] }, 'capabilities'],
      [{ capabilities: { MKNOD: true } }, 'capabilities'],
    ] as const) {
      const { config, warnings } = convertContainerJson(doc, { baseDir });
      expectCapabilities(config, CAPABILITY_NAMES);
      expect(warnings, JSON.stringify(doc)).toEqual([
        `"${key}" is a drop list that drops nothing, so the container keeps every capability (CAP_SYS_ADMIN and CAP_SYS_MODULE included), as in 2014. ` +
          `List the capabilities to drop, or remove "${key}" to give the container none`,
      ]);
    }
    // A drop list that drops something is what it says: no warning.
    expect(convertContainerJson({ capabilities_mask: ['SYS_ADMIN'] }, { baseDir }).warnings).toEqual([]);
  });

  it('accepts names with the CAP_ prefix', async () => {
    const baseDir = await temp.make();
    const { config } = convertContainerJson({ capabilities: ['CAP_CHOWN', 'kill'] }, { baseDir });
    expectCapabilities(config, ['CAP_CHOWN', 'CAP_KILL']);
  });

  it('rejects unknown names and both keys at once, with their paths', async () => {
    const baseDir = await temp.make();
    let error = expectConfigError(() =>
      convertContainerJson({ capabilities: ['CHOWN', 'FLY'] }, { baseDir }),
    );
    expect(error.issues).toEqual([{ path: 'capabilities[1]', message: 'unknown capability "FLY"' }]);
    error = expectConfigError(() =>
      convertContainerJson({ capabilities_mask: { TELEPORT: false } }, { baseDir }),
    );
    expect(error.issues[0]?.path).toBe('capabilities_mask.TELEPORT');
    error = expectConfigError(() =>
      convertContainerJson({ capabilities: [], capabilities_mask: [] }, { baseDir }),
    );
    expect(error.issues[0]?.path).toBe('capabilities_mask');
  });
});

describe('convertContainerJson: /sys and /proc/sys restricted by default', () => {
  it('restricts a document that does not mention restrict_sys, with no warning', async () => {
    const baseDir = await temp.make();
    const { config, warnings } = convertContainerJson(
      { namespaces: ['NEWNS'], capabilities: ['CHOWN'] },
      { baseDir },
    );
    expect(config.mounts).toEqual(systemMounts());
    expectRestricted(config);
    expect(warnings).toEqual([]);
  });

  it('restricts on restrict_sys: true and on any non-empty context.restrictions (2014 tested for non-empty)', async () => {
    const baseDir = await temp.make();
    for (const doc of [
      { restrict_sys: true },
      { context: { restrictions: 'true' } },
      { context: { restrictions: 'false' } },
    ]) {
      const { config, warnings } = convertContainerJson({ ...doc, capabilities: ['CHOWN'] }, { baseDir });
      expectRestricted(config);
      expect(warnings, JSON.stringify(doc)).toEqual([]);
    }
  });

  it('leaves /sys and /proc/sys writable only when asked explicitly, and warns', async () => {
    const baseDir = await temp.make();
    for (const [doc, asked] of [
      [{ restrict_sys: false }, '"restrict_sys": false'],
      [{ context: { restrictions: '' } }, 'an empty "context.restrictions"'],
    ] as const) {
      const { config, warnings } = convertContainerJson({ ...doc, capabilities: ['CHOWN'] }, { baseDir });
      expect(config.mounts).toEqual(systemMounts(false));
      expect(config.linux?.readonlyPaths).toBeUndefined();
      expect(config.linux?.maskedPaths).toBeUndefined();
      expect(warnings).toEqual([
        `${asked} leaves /sys and /proc/sys writable: the container can change kernel settings of the whole host (kernel.core_pattern, vm.drop_caches, ...); remove it to restrict them`,
      ]);
    }
  });
});

describe('convertContainerJson: errors', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['an environment entry without "="', { environment: ['A=1', 'NOPE'] }, 'environment[1]', /KEY=VALUE/],
    [
      'an unknown namespace',
      { namespaces: ['NEWNS', 'NEWTIME'] },
      'namespaces[1]',
      /unknown namespace "NEWTIME"/,
    ],
    [
      'a relative namespace path',
      { namespaces: [{ name: 'NEWNET', path: 'netns' }] },
      'namespaces[0].path',
      /absolute/,
    ],
    [
      'an unsupported mount type',
      { mounts: [{ type: 'nfs', destination: '/x' }] },
      'mounts[0].type',
      /"nfs"/,
    ],
    [
      'a bind mount without source',
      { mount_config: { mounts: [{ type: 'bind', destination: '/x' }] } },
      'mount_config.mounts[0].source',
      /required/,
    ],
    [
      'an unknown rlimit number',
      { rlimits: [{ type: 16, hard: 1, soft: 1 }] },
      'rlimits[0].type',
      /unknown rlimit number 16/,
    ],
    [
      'a wildcard device node',
      { device_nodes: [{ type: 99, path: '/dev/x', major_number: 1, minor_number: -1 }] },
      'device_nodes[0].minor_number',
      /wildcard/,
    ],
    [
      'an unknown device type',
      { device_nodes: [{ type: 120, path: '/dev/x' }] },
      'device_nodes[0].type',
      /unknown device type 120/,
    ],
    ['a NUL byte', { hostname: 'a\u0000b' }, 'hostname', /NUL byte/],
    [
      'a hostname longer than the kernel allows',
      { hostname: 'h'.repeat(65) },
      'hostname',
      /^65 bytes long \(UTF-8\), more than the kernel's limit of 64 bytes; use a shorter name$/,
    ],
    ['a wrongly typed field', { tty: 'yes' }, 'tty', /expected a boolean, got a string/],
    [
      'namespaces of a wrong shape',
      { namespaces: 'NEWNS' },
      'namespaces',
      /expected an array or an object, got a string/,
    ],
    [
      'a namespace entry of a wrong type',
      { namespaces: [1] },
      'namespaces[0]',
      /expected a string or an object, got a number/,
    ],
  ];
  for (const [what, json, jsonPath, message] of cases) {
    it(`rejects ${what} at ${jsonPath}`, async () => {
      const baseDir = await temp.make();
      const error = expectConfigError(() =>
        convertContainerJson(json, { baseDir, source: '/x/container.json' }),
      );
      expect(error.code).toBe('ERR_NSINIT_CONFIG_INVALID');
      expect(error.issues[0]?.path).toBe(jsonPath);
      expect(error.issues[0]?.message).toMatch(message);
      expect(error.message.startsWith(`/x/container.json: ${jsonPath}: `)).toBe(true);
    });
  }

  it('rejects a document that is not an object', async () => {
    const baseDir = await temp.make();
    const error = expectConfigError(() => convertContainerJson(['NEWNS'], { baseDir }));
    expect(error.message).toBe('container.json: expected an object, got an array');
  });

  it('rejects a document nested deeper than 256 levels before walking it, not with a stack overflow', async () => {
    const baseDir = await temp.make();
    let tower: unknown = 'x';
    for (let level = 0; level < 100_000; level++) tower = [tower];
    const error = expectConfigError(() =>
      convertContainerJson(
        { namespaces: ['NEWNS'], environment: tower },
        { baseDir, source: '/x/container.json' },
      ),
    );
    expect(error.message).toBe(
      '/x/container.json: nested deeper than 256 levels; a container configuration needs only a few',
    );
    // 256 levels are fine (here rejected for their type, not their depth).
    tower = 'x';
    for (let level = 0; level < 255; level++) tower = [tower];
    expect(
      expectConfigError(() => convertContainerJson({ environment: tower }, { baseDir })).issues[0]?.path,
    ).toBe('environment[0]');
  });

  it('rejects duplicated namespaces across 2014 forms', async () => {
    const baseDir = await temp.make();
    const error = expectConfigError(() =>
      convertContainerJson({ namespaces: ['NEWNS', 'NEWPID', 'NEWNS'] }, { baseDir }),
    );
    expect(error.issues).toEqual([{ path: 'namespaces[2]', message: 'duplicated namespace "NEWNS"' }]);
  });

  it('rejects a user name the rootfs does not know, naming its passwd file', async () => {
    const baseDir = await temp.make();
    await mkdir(path.join(baseDir, 'etc'));
    await writeFile(path.join(baseDir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    const error = expectConfigError(() => convertContainerJson({ user: 'daemon' }, { baseDir }));
    expect(error.issues[0]?.path).toBe('user');
    expect(error.issues[0]?.message).toContain(
      `user "daemon" not found in ${path.join(baseDir, 'etc/passwd')}`,
    );
  });

  it('rejects a numeric user or group beyond the last valid id, naming the range', async () => {
    const baseDir = await temp.make();
    for (const user of ['4294967295', '1000:4294967295', '4294967296']) {
      const error = expectConfigError(() => convertContainerJson({ user }, { baseDir }));
      const id = user.split(':').at(-1);
      expect(error.message).toBe(`container.json: user: ${id} is not a valid id (0 to 4294967294)`);
    }
  });

  it('collects every problem, not only the first', async () => {
    const baseDir = await temp.make();
    const error = expectConfigError(() =>
      convertContainerJson(
        { namespaces: ['NEWFOO'], capabilities: ['BAR'], rlimits: [{ type: 99, hard: 1, soft: 1 }] },
        { baseDir },
      ),
    );
    expect(error.issues.map((i) => i.path).sort()).toEqual([
      'capabilities[0]',
      'namespaces[0]',
      'rlimits[0].type',
    ]);
  });

  it('accepts a thawed freezer state and refuses to start a container frozen', async () => {
    const baseDir = await temp.make();
    expect(() =>
      convertContainerJson({ namespaces: ['NEWNS'], cgroups: { name: 'c', freezer: 'THAWED' } }, { baseDir }),
    ).not.toThrow();
    const error = expectConfigError(() =>
      convertContainerJson({ namespaces: ['NEWNS'], cgroups: { name: 'c', freezer: 'FROZEN' } }, { baseDir }),
    );
    expect(error.issues).toEqual([
      {
        path: 'cgroups.freezer',
        message: '"FROZEN": a container starts thawed; freeze a running one with `nsinit pause`',
      },
    ]);
  });
});
