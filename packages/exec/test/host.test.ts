import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cgroupMountsOf, readHostFacts } from '../src/host.js';

// A hybrid host as this VM is: v1 controllers each mounted alone on a tmpfs at
// /sys/fs/cgroup, cgroup2 at unified, the process in a memory cgroup of its own.
const HYBRID_MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334432k,nr_inodes=3083608,mode=755
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

const HYBRID_PROC_CGROUP = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/e699d8ec1d83feb76901d96b5ddba355
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

describe('cgroupMountsOf', () => {
  it('reads a hybrid host: every v1 hierarchy and cgroup2, with our cgroup in each', () => {
    const v1 = (name: string, ownCgroup = '/') => ({
      mountPoint: `/sys/fs/cgroup/${name}`,
      fsType: 'cgroup',
      controllers: [name === 'systemd' ? 'name=systemd' : name],
      ownCgroup,
    });
    expect(cgroupMountsOf(HYBRID_MOUNTINFO, HYBRID_PROC_CGROUP)).toEqual([
      v1('cpu'),
      v1('cpuacct'),
      v1('cpuset'),
      v1('memory', '/process_api/e699d8ec1d83feb76901d96b5ddba355'),
      v1('devices'),
      v1('freezer'),
      v1('blkio'),
      v1('pids'),
      v1('systemd'),
      { mountPoint: '/sys/fs/cgroup/unified', fsType: 'cgroup2', controllers: [], ownCgroup: '/' },
    ]);
  });

  it('reads a pure cgroup2 host', () => {
    const mountinfo = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:7 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
    expect(cgroupMountsOf(mountinfo, '0::/user.slice/user-1000.slice/session-2.scope\n')).toEqual([
      {
        mountPoint: '/sys/fs/cgroup',
        fsType: 'cgroup2',
        controllers: [],
        ownCgroup: '/user.slice/user-1000.slice/session-2.scope',
      },
    ]);
  });

  it('reads a v1 host with co-mounted cpu,cpuacct and options that are not controllers', () => {
    const mountinfo = `28 24 0:25 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
29 28 0:26 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
32 28 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpuacct,cpu
33 28 0:30 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,clone_children,cpuset
34 28 0:31 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
`;
    // /proc/self/cgroup may list co-mounted controllers in another order than the mount options.
    const procCgroup = `11:cpuset:/docker/abc
4:net_prio,net_cls:/net
3:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/user-1000.slice/session-2.scope
`;
    expect(cgroupMountsOf(mountinfo, procCgroup)).toEqual([
      {
        mountPoint: '/sys/fs/cgroup/systemd',
        fsType: 'cgroup',
        controllers: ['name=systemd'],
        ownCgroup: '/user.slice/user-1000.slice/session-2.scope',
      },
      {
        mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
        fsType: 'cgroup',
        controllers: ['cpuacct', 'cpu'],
        ownCgroup: '/user.slice',
      },
      {
        mountPoint: '/sys/fs/cgroup/cpuset',
        fsType: 'cgroup',
        controllers: ['cpuset'],
        ownCgroup: '/docker/abc',
      },
      {
        mountPoint: '/sys/fs/cgroup/net_cls,net_prio',
        fsType: 'cgroup',
        controllers: ['net_cls', 'net_prio'],
        ownCgroup: '/net',
      },
    ]);
  });

  it('unescapes mount points (\\040 is a space), and puts a process the host does not list at the root', () => {
    const mountinfo = `40 31 0:37 / /mnt/my\\040cgroups/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /mnt/tab\\011and\\134backslash rw,relatime - cgroup2 none rw
`;
    expect(cgroupMountsOf(mountinfo, '')).toEqual([
      { mountPoint: '/mnt/my cgroups/pids', fsType: 'cgroup', controllers: ['pids'], ownCgroup: '/' },
      { mountPoint: '/mnt/tab\tand\\backslash', fsType: 'cgroup2', controllers: [], ownCgroup: '/' },
    ]);
  });

  it('finds nothing on a host without cgroups', () => {
    expect(cgroupMountsOf('27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n', '0::/\n')).toEqual([]);
  });
});

describe('readHostFacts', () => {
  it('reads this host: cap_last_cap, its cgroup mounts, and what a path is', () => {
    const host = readHostFacts();
    expect(host.capLastCap).toBe(Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')));
    expect(host.cgroupMounts()).toEqual(
      cgroupMountsOf(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8')),
    );
    expect(host.isDirectory('/proc')).toBe(true);
    expect(host.isDirectory('/proc/self/status')).toBe(false);
    expect(host.isDirectory('/nonexistent/nsinit')).toBeNull();
  });
});
