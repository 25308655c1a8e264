import { readFileSync } from 'node:fs';
import { detectCgroupLayout } from '@nsinit/cgroups';
import { describe, expect, it } from 'vitest';
import { readHostFacts, readOpenFilesHardLimit } from '../src/host.js';

// The parsing of mountinfo and /proc/self/cgroup is @nsinit/cgroups' (and tested there).
describe('readHostFacts', () => {
  it('reads this host: cap_last_cap, its cgroup layout, and what a path is', () => {
    const host = readHostFacts();
    expect(host.capLastCap).toBe(Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')));
    expect(host.cgroupLayout()).toEqual(detectCgroupLayout());
    expect(host.cgroupLayout()).toBe(host.cgroupLayout());
    // Parsed once while the mount table and our cgroups stay as they are: not again per container.
    expect(readHostFacts().cgroupLayout()).toBe(host.cgroupLayout());
    expect(host.isDirectory('/proc')).toBe(true);
    expect(host.isDirectory('/proc/self/status')).toBe(false);
    expect(host.isDirectory('/nonexistent/nsinit')).toBeNull();
  });

  it('tells the root of a procfs from anything else, in or out of a procfs', () => {
    const host = readHostFacts();
    expect(host.isProcRoot('/proc')).toBe(true);
    expect(host.isProcRoot('/proc/')).toBe(true);
    // Inside a procfs, but not its root; a directory, but not a procfs.
    expect(host.isProcRoot('/proc/self')).toBe(false);
    expect(host.isProcRoot('/proc/sys')).toBe(false);
    expect(host.isProcRoot('/')).toBe(false);
    expect(host.isProcRoot('/nonexistent/nsinit')).toBeNull();
  });

  it("knows a namespace file of nsinit's own namespace from another one", () => {
    const host = readHostFacts();
    expect(host.isOwnNamespace('network', '/proc/self/ns/net')).toBe(true);
    expect(host.isOwnNamespace('ipc', `/proc/${process.pid}/ns/ipc`)).toBe(true);
    expect(host.isOwnNamespace('uts', '/proc/thread-self/ns/uts')).toBe(true);
    // Another type's namespace file is never the same namespace.
    expect(host.isOwnNamespace('network', '/proc/self/ns/ipc')).toBe(false);
    expect(host.isOwnNamespace('uts', '/proc/self/ns/net')).toBe(false);
    expect(host.isOwnNamespace('network', '/nonexistent/nsinit')).toBe(false);
  });
});

describe('readOpenFilesHardLimit', () => {
  it('reads the hard limit of Max open files, unlimited as RLIM_INFINITY', () => {
    const limits = (hard: string) =>
      `Limit                     Soft Limit           Hard Limit           Units\nMax processes             32768                32768                processes\nMax open files            20000                ${hard}                files\n`;
    expect(readOpenFilesHardLimit(limits('20000'))).toBe(20_000n);
    expect(readOpenFilesHardLimit(limits('unlimited'))).toBe(0xffff_ffff_ffff_ffffn);
    expect(() => readOpenFilesHardLimit('Limit Soft Hard\n')).toThrow(/no "Max open files" line/);
    expect(readOpenFilesHardLimit()).toBeGreaterThan(0n);
  });
});
