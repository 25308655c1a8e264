import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CgroupError, cgroupDirectory, detectCgroupLayout, parseCgroupMounts } from '../src/index.js';

// This VM: v1 controllers each mounted alone, cgroup2 at unified, the process in a memory cgroup of its own.
const HYBRID_MOUNTINFO = `23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_PROC_CGROUP = `9:name=systemd:/
4:memory:/process_api/e699d8
3:cpuset:/
1:cpu:/
0::/
`;

describe('detectCgroupLayout', () => {
  it('reads a hybrid host: v1 hierarchies with our cgroup in each, and the cgroup2 mount', () => {
    expect(detectCgroupLayout({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_PROC_CGROUP })).toEqual({
      mode: 'hybrid',
      v1: [
        { mountPoint: '/sys/fs/cgroup/cpu', root: '/', controllers: ['cpu'], ownCgroup: '/' },
        { mountPoint: '/sys/fs/cgroup/cpuset', root: '/', controllers: ['cpuset'], ownCgroup: '/' },
        {
          mountPoint: '/sys/fs/cgroup/memory',
          root: '/',
          controllers: ['memory'],
          ownCgroup: '/process_api/e699d8',
        },
        { mountPoint: '/sys/fs/cgroup/systemd', root: '/', controllers: ['name=systemd'], ownCgroup: '/' },
      ],
      unified: { mountPoint: '/sys/fs/cgroup/unified', root: '/', ownCgroup: '/' },
    });
  });

  it('reads a pure v2 host; a named v1 hierarchy beside it does not make it hybrid', () => {
    const mountinfo = `26 25 0:24 / /sys/fs/cgroup rw,nosuid shared:7 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:25 / /run/systemd-v1 rw shared:8 - cgroup cgroup rw,name=systemd
`;
    expect(
      detectCgroupLayout({ mountinfo, procCgroup: '1:name=systemd:/\n0::/user.slice/session-2.scope\n' }),
    ).toEqual({
      mode: 'v2',
      v1: [],
      unified: { mountPoint: '/sys/fs/cgroup', root: '/', ownCgroup: '/user.slice/session-2.scope' },
    });
  });

  it('reads a v1 host, once per hierarchy even when a hierarchy is mounted twice', () => {
    const mountinfo = `32 28 0:29 /docker/abc /mnt/cpu rw - cgroup cgroup rw,cpuacct,cpu
33 28 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
`;
    expect(detectCgroupLayout({ mountinfo, procCgroup: '2:cpu,cpuacct:/docker/abc\n0::/\n' })).toEqual({
      mode: 'v1',
      v1: [
        {
          mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
          root: '/',
          controllers: ['cpu', 'cpuacct'],
          ownCgroup: '/docker/abc',
        },
      ],
      unified: null,
    });
  });

  it('fails clearly on a host without cgroups', () => {
    expect(() =>
      detectCgroupLayout({ mountinfo: '23 27 0:22 / /sys rw - sysfs sysfs rw\n', procCgroup: '' }),
    ).toThrow('no cgroup hierarchy is mounted (neither cgroup v1 controllers nor cgroup2)');
  });

  it('matches what this machine mounts', () => {
    const layout = detectCgroupLayout();
    const mounted = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
    expect(layout.unified?.mountPoint).toBe(mounted.find((h) => h.fsType === 'cgroup2')?.mountPoint);
    expect(layout.v1.map((h) => h.mountPoint)).toEqual(
      mounted.filter((h) => h.fsType === 'cgroup' && h.controllers.length > 0).map((h) => h.mountPoint),
    );
  });
});

describe('cgroupDirectory', () => {
  const hierarchy = { mountPoint: '/sys/fs/cgroup/cpu', root: '/', ownCgroup: '/' };

  it('places a cgroup path under the mount point', () => {
    expect(cgroupDirectory(hierarchy, '/')).toBe('/sys/fs/cgroup/cpu');
    expect(cgroupDirectory(hierarchy, '/a/b')).toBe('/sys/fs/cgroup/cpu/a/b');
  });

  it('accounts for a mount that shows a subtree, and refuses cgroups outside it', () => {
    const subtree = { ...hierarchy, mountPoint: '/mnt/cpu', root: '/docker/abc' };
    expect(cgroupDirectory(subtree, '/docker/abc')).toBe('/mnt/cpu');
    expect(cgroupDirectory(subtree, '/docker/abc/ctr')).toBe('/mnt/cpu/ctr');
    expect(() => cgroupDirectory(subtree, '/docker/abcd')).toThrow(CgroupError);
    expect(() => cgroupDirectory(subtree, '/other')).toThrow(
      'cgroup /other is outside /docker/abc, the part of the hierarchy mounted at /mnt/cpu',
    );
  });
});
