// A hybrid host on fake trees in a temp dir: v1 hierarchies for memory and devices, a
// cgroup2 mount offering pids. The manager composes the v1 and the v2 manager and routes
// each controller to one of them: a joined v1 hierarchy first, else cgroup v2.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CgroupLayout, createCgroupManager } from '../src/index.js';

let root: string;
let layout: CgroupLayout;

beforeEach(() => {
  root = mkdtempSync(`${tmpdir()}/nsinit-hybrid-`);
  for (const dir of ['memory', 'devices', 'unified']) mkdirSync(`${root}/${dir}`);
  writeFileSync(`${root}/unified/cgroup.controllers`, 'pids\n');
  layout = {
    mode: 'hybrid',
    v1: [
      { mountPoint: `${root}/memory`, root: '/', ownCgroup: '/', controllers: ['memory'] },
      { mountPoint: `${root}/devices`, root: '/', ownCgroup: '/', controllers: ['devices'] },
    ],
    unified: { mountPoint: `${root}/unified`, root: '/', ownCgroup: '/' },
  };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Lays out what the kernel shows in a new cgroup, for the files the test reads or writes. */
function kernelFiles(dir: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) writeFileSync(`${dir}/${file}`, text);
}

describe('the manager on a hybrid host (fake trees)', () => {
  it('sets each resource through the version that serves it: memory and devices in v1, pids in v2', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout });
    expect(manager.mode).toBe('hybrid');
    expect(manager.paths).toEqual({
      v1: { memory: `${root}/memory/ctr`, devices: `${root}/devices/ctr` },
      unified: { directory: `${root}/unified/ctr`, mountPoint: `${root}/unified` },
      created: [`${root}/memory/ctr`, `${root}/devices/ctr`, `${root}/unified/ctr`],
    });
    // The v2 default controllers: pids is what the hierarchy offers and no v1 one serves.
    expect(readFileSync(`${root}/unified/cgroup.subtree_control`, 'utf8')).toBe('+pids');
    // Shorter than what is written over it: a regular file, unlike a cgroup file, keeps a longer old tail.
    kernelFiles(`${root}/memory/ctr`, { 'memory.limit_in_bytes': '0\n' });
    kernelFiles(`${root}/devices/ctr`, { 'devices.allow': '', 'devices.deny': '' });
    await manager.set({
      memory: { limit: 1 << 20 },
      pids: { limit: 5 },
      // In v1 these are devices.* writes; were they routed to v2, an eBPF program would be loaded.
      devices: [
        { allow: false, type: 'a', major: null, minor: null, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
      ],
    });
    expect(readFileSync(`${root}/memory/ctr/memory.limit_in_bytes`, 'utf8')).toBe(String(1 << 20));
    expect(readFileSync(`${root}/devices/ctr/devices.deny`, 'utf8')).toBe('a *:* rwm');
    expect(readFileSync(`${root}/devices/ctr/devices.allow`, 'utf8')).toBe('c 1:3 rw');
    expect(readFileSync(`${root}/unified/ctr/pids.max`, 'utf8')).toBe('5');
    await expect(manager.set({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] })).rejects.toThrow(
      "the container's cgroup has no hugetlb controller: no v1 hugetlb hierarchy and no hugetlb controller in cgroup v2",
    );
  });

  it('reads stats, OOM kills and the freezer from the version that serves each', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout });
    kernelFiles(`${root}/memory/ctr`, {
      'memory.usage_in_bytes': '4096\n',
      'memory.max_usage_in_bytes': '4096\n',
      'memory.limit_in_bytes': `${1 << 20}\n`,
      'memory.failcnt': '0\n',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
      'memory.stat': 'rss 4096\n',
    });
    kernelFiles(`${root}/unified/ctr`, {
      // v2 counts differently: were memory read here, these would show.
      'memory.events': 'low 0\nhigh 0\nmax 0\noom 7\noom_kill 7\n',
      'pids.current': '2\n',
      'pids.max': 'max\n',
      'cpu.stat': 'usage_usec 3\nuser_usec 2\nsystem_usec 1\n',
      'cgroup.freeze': '0\n',
      'cgroup.events': 'populated 1\nfrozen 0\n',
    });
    expect(manager.stats()).toEqual({
      memory: {
        usage: 4096,
        maxUsage: 4096,
        limit: 1 << 20,
        failcnt: 0,
        oomEvents: null,
        oomKills: 2,
        swap: null,
        stat: { rss: 4096 },
      },
      cpu: { usageNs: 3000, userNs: 2000, systemNs: 1000, throttling: null },
      pids: { current: 2, limit: null },
    });
    expect(manager.oomKills()).toBe(2);
    // No v1 freezer hierarchy: cgroup.freeze serves.
    expect(manager.freezerState()).toBe('thawed');
  });
});
