import { describe, expect, it } from 'vitest';
import {
  CgroupError,
  type CgroupMount,
  cgroupPathIn,
  DEFAULT_ALLOWED_DEVICES,
  type DeviceRule,
  formatDeviceRule,
  parseCgroupMounts,
  parseProcCgroup,
} from '../src/index.js';

const MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,clone_children,cpuset_v2_mode,cpuset
35 31 0:32 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,noprefix,favordynmods,devices
36 31 0:33 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:16 - cgroup2 cgroup2 rw,nsdelegate
37 31 0:34 / /mnt/with\\040space ro,relatime - cgroup cgroup ro,pids
`;

const hierarchy = (mountPoint: string, fsType: CgroupMount['fsType'], controllers: string[]) => ({
  mountPoint,
  fsType,
  controllers,
});

/** What each mount is, without where its subtree is rooted. */
const parseHierarchies = (mountinfo: string) =>
  parseCgroupMounts(mountinfo).map(({ mountPoint, fsType, controllers }) => ({
    mountPoint,
    fsType,
    controllers,
  }));

describe('parseCgroupMounts', () => {
  it('lists the cgroup mounts with their controllers, skipping other filesystems and non-controller options', () => {
    expect(parseHierarchies(MOUNTINFO)).toEqual([
      hierarchy('/sys/fs/cgroup/systemd', 'cgroup', ['name=systemd']),
      hierarchy('/sys/fs/cgroup/cpu,cpuacct', 'cgroup', ['cpu', 'cpuacct']),
      hierarchy('/sys/fs/cgroup/cpuset', 'cgroup', ['cpuset']),
      hierarchy('/sys/fs/cgroup/devices', 'cgroup', ['devices']),
      hierarchy('/sys/fs/cgroup/unified', 'cgroup2', []),
      hierarchy('/mnt/with space', 'cgroup', ['pids']),
    ]);
  });

  it('finds nothing in empty or malformed text', () => {
    expect(parseHierarchies('')).toEqual([]);
    expect(parseHierarchies('not mountinfo at all\n\n')).toEqual([]);
  });
});

describe('parseProcCgroup', () => {
  it('maps each hierarchy (controllers, or "" for cgroup2) to the cgroup path', () => {
    const text = `12:pids:/user.slice/user-1000.slice
4:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/user-1000.slice/session-2.scope
0::/odd:path

`;
    expect(parseProcCgroup(text)).toEqual(
      new Map([
        ['pids', '/user.slice/user-1000.slice'],
        ['cpu,cpuacct', '/user.slice'],
        ['name=systemd', '/user.slice/user-1000.slice/session-2.scope'],
        ['', '/odd:path'],
      ]),
    );
  });
});

describe('cgroupPathIn', () => {
  const own = parseProcCgroup('5:cpuacct,cpu:/a\n3:devices:/b\n1:name=systemd:/c\n0::/d\n');

  it('matches v1 hierarchies by their controller set, in any order', () => {
    expect(cgroupPathIn(hierarchy('/x', 'cgroup', ['cpu', 'cpuacct']), own)).toBe('/a');
    expect(cgroupPathIn(hierarchy('/x', 'cgroup', ['devices']), own)).toBe('/b');
    expect(cgroupPathIn(hierarchy('/x', 'cgroup', ['name=systemd']), own)).toBe('/c');
    // Only the whole set matches: cpu alone is another hierarchy.
    expect(cgroupPathIn(hierarchy('/x', 'cgroup', ['cpu']), own)).toBe('/');
  });

  it('uses the "" entry for cgroup2, and the root when the process is not listed', () => {
    expect(cgroupPathIn(hierarchy('/x', 'cgroup2', []), own)).toBe('/d');
    expect(cgroupPathIn(hierarchy('/x', 'cgroup2', []), new Map())).toBe('/');
    expect(cgroupPathIn(hierarchy('/x', 'cgroup', ['memory']), own)).toBe('/');
  });
});

describe('formatDeviceRule', () => {
  const rule = (
    type: DeviceRule['type'],
    major: number | null,
    minor: number | null,
    access: string,
  ): DeviceRule => ({
    allow: true,
    type,
    major,
    minor,
    access,
  });

  it('writes every shape the v1 controller takes', () => {
    expect(formatDeviceRule(rule('a', null, null, 'rwm'))).toBe('a *:* rwm');
    expect(formatDeviceRule(rule('a', 1, 3, 'r'))).toBe('a *:* r');
    expect(formatDeviceRule(rule('c', 1, 3, 'rw'))).toBe('c 1:3 rw');
    expect(formatDeviceRule(rule('b', null, null, 'm'))).toBe('b *:* m');
    expect(formatDeviceRule(rule('c', 136, null, 'rwm'))).toBe('c 136:* rwm');
    expect(formatDeviceRule(rule('c', null, 5, 'mr'))).toBe('c *:5 mr');
    expect(formatDeviceRule({ ...rule('b', 8, 0, 'w'), allow: false })).toBe('b 8:0 w');
  });

  it('refuses access that is not some of r, w and m, each once', () => {
    for (const access of ['', 'x', 'rr', 'rwmr', 'RW', 'r w', 'rwmx']) {
      expect(() => formatDeviceRule(rule('c', 1, 3, access)), access).toThrow(CgroupError);
      expect(() => formatDeviceRule(rule('c', 1, 3, access))).toThrow(
        `device rule access "${access}" must be some of r, w and m`,
      );
    }
  });

  it('formats the devices every container may use as runc lists them', () => {
    expect(DEFAULT_ALLOWED_DEVICES.map(formatDeviceRule)).toEqual([
      'c *:* m',
      'b *:* m',
      'c 1:3 rwm',
      'c 1:8 rwm',
      'c 1:7 rwm',
      'c 5:0 rwm',
      'c 1:5 rwm',
      'c 1:9 rwm',
      'c 136:* rwm',
      'c 5:2 rwm',
      'c 10:200 rwm',
    ]);
    expect(DEFAULT_ALLOWED_DEVICES.every((r) => r.allow)).toBe(true);
    expect(Object.isFrozen(DEFAULT_ALLOWED_DEVICES)).toBe(true);
  });
});
