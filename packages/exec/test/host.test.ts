import { readFileSync } from 'node:fs';
import { detectCgroupLayout } from '@nsinit/cgroups';
import { describe, expect, it } from 'vitest';
import { readHostFacts } from '../src/host.js';

// The parsing of mountinfo and /proc/self/cgroup is @nsinit/cgroups' (and tested there).
describe('readHostFacts', () => {
  it('reads this host: cap_last_cap, its cgroup layout, and what a path is', () => {
    const host = readHostFacts();
    expect(host.capLastCap).toBe(Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')));
    expect(host.cgroupLayout()).toEqual(detectCgroupLayout());
    expect(host.cgroupLayout()).toBe(host.cgroupLayout());
    expect(host.isDirectory('/proc')).toBe(true);
    expect(host.isDirectory('/proc/self/status')).toBe(false);
    expect(host.isDirectory('/nonexistent/nsinit')).toBeNull();
  });
});
