// The manager on this machine's real cgroup v1 hierarchies, as root. Every cgroup is
// nsinit-test-<random> under the test process's own cgroup in each hierarchy (the
// memory one is nested: this sandbox runs in a memory cgroup of its own); each test's
// processes are killed by pid and its cgroups removed, and the test checks they are gone.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CgroupError,
  type CgroupLayout,
  cgroupDirectory,
  createCgroupManager,
  DEFAULT_ALLOWED_DEVICES,
  detectCgroupLayout,
  loadCgroupManager,
} from '../src/index.js';
import { cleanUp, eventually, track, workload } from './workload.js';

const layout = detectCgroupLayout();
const has = (controller: string) => layout.v1.some((h) => h.controllers.includes(controller));
const usable =
  process.getuid?.() === 0 && ['memory', 'pids', 'cpu', 'cpuset', 'freezer', 'devices'].every(has);
/** Only the v1 hierarchies, so that nothing goes through cgroup2 (a hybrid host has both). */
const v1Only: CgroupLayout = { ...layout, mode: 'v1', unified: null };
const testName = () => `nsinit-test-${randomBytes(4).toString('hex')}`;

afterEach(async () => {
  for (const dir of await cleanUp()) expect(existsSync(dir), `${dir} is left behind`).toBe(false);
});

describe.skipIf(!usable)('cgroup v1 manager on this machine', () => {
  it('creates the cgroup in every hierarchy under our own cgroup there, and moves a process in', async () => {
    const name = testName();
    const manager = track(await createCgroupManager({ name, layout: v1Only }));
    for (const hierarchy of v1Only.v1) {
      const expected = cgroupDirectory(
        hierarchy,
        `${hierarchy.ownCgroup === '/' ? '' : hierarchy.ownCgroup}/${name}`,
      );
      for (const controller of hierarchy.controllers) expect(manager.paths.v1[controller]).toBe(expected);
    }
    const memory = v1Only.v1.find((h) => h.controllers.includes('memory'))!;
    expect(manager.paths.v1.memory).toBe(`${cgroupDirectory(memory, memory.ownCgroup)}/${name}`);
    expect(manager.mode).toBe('v1');

    const sleeper = await workload('sleep 30');
    await manager.apply(sleeper.pid);
    const procCgroup = readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8');
    expect(procCgroup).toContain(`:pids:/${name}\n`);
    expect(procCgroup).toContain(`:memory:${memory.ownCgroup}/${name}\n`);
    expect(manager.pids()).toEqual([sleeper.pid]);
    await expect(manager.apply(99_999_999)).rejects.toThrow(
      /cannot write "99999999" to .*cgroup\.procs: ESRCH/,
    );
  });

  it('enforces a memory limit: a process allocating past it is OOM-killed, and stats count it', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    await manager.set({ memory: { limit: 16 << 20, swap: 16 << 20 } });
    expect(manager.oomKills()).toBe(0);
    expect(readFileSync(`${manager.paths.v1.memory}/memory.limit_in_bytes`, 'utf8')).toBe(`${16 << 20}\n`);
    expect(readFileSync(`${manager.paths.v1.memory}/memory.memsw.limit_in_bytes`, 'utf8')).toBe(
      `${16 << 20}\n`,
    );
    const hog = await workload('exec dd if=/dev/zero of=/dev/null bs=64M count=1');
    await manager.apply(hog.pid);
    hog.go();
    expect(await hog.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(manager.oomKills()).toBe(1);
    const { memory } = manager.stats();
    expect(memory?.oomKills).toBe(1);
    expect(memory?.limit).toBe(16 << 20);
    expect(memory?.maxUsage).toBeGreaterThan(15 << 20);
    expect(memory?.swap).toEqual({ usage: 0, limit: 0 });
  });

  it('enforces a pids limit: a fork loop stops at it', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    await manager.set({ pids: { limit: 4 } });
    const forker = await workload(
      'i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; echo all forked',
    );
    await manager.apply(forker.pid);
    forker.go();
    await forker.exited;
    // sh and three sleeps fit; the fifth fork failed and ended the loop (dash exits on it).
    expect(forker.output()).toContain('Cannot fork');
    expect(forker.output()).not.toContain('all forked');
    expect(manager.stats().pids).toEqual({ current: 3, limit: 4 });
    await manager.killAll();
    expect(manager.pids()).toEqual([]);
  });

  it('pins a process to a cpuset, inheriting the parent memory nodes it was not given', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    const parentDir = manager.paths.v1.cpuset!.slice(0, manager.paths.v1.cpuset!.lastIndexOf('/'));
    const parentCpus = readFileSync(`${parentDir}/cpuset.cpus`, 'utf8').trim();
    // New v1 cpusets start from the parent's cpus and mems, or no process could join.
    expect(readFileSync(`${manager.paths.v1.cpuset}/cpuset.cpus`, 'utf8').trim()).toBe(parentCpus);
    const lastCpu = parentCpus.split(/[,-]/).at(-1)!;
    await manager.set({ cpu: { cpus: lastCpu } });
    const reader = await workload('grep Cpus_allowed_list /proc/self/status');
    await manager.apply(reader.pid);
    reader.go();
    await reader.exited;
    expect(reader.output()).toBe(`Cpus_allowed_list:\t${lastCpu}\n`);
    expect(readFileSync(`${manager.paths.v1.cpuset}/cpuset.mems`, 'utf8')).toBe(
      readFileSync(`${parentDir}/cpuset.mems`, 'utf8'),
    );
  });

  it('throttles a busy process to its cpu quota, as cpu.stat shows', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    await manager.set({ cpu: { quota: 1000, period: 10_000, shares: 512 } });
    expect(readFileSync(`${manager.paths.v1.cpu}/cpu.cfs_quota_us`, 'utf8')).toBe('1000\n');
    expect(readFileSync(`${manager.paths.v1.cpu}/cpu.shares`, 'utf8')).toBe('512\n');
    const spinner = await workload('while :; do :; done');
    await manager.apply(spinner.pid);
    spinner.go();
    // User and system time are sampled at ticks: running 1 ms in 10, the first may take a while.
    await eventually(() => {
      const cpu = manager.stats().cpu;
      // throttled_time grows when a throttled period ends, a little after nr_throttled does.
      return (
        (cpu?.throttling?.throttledPeriods ?? 0) >= 3 &&
        (cpu?.throttling?.throttledTimeNs ?? 0) > 0 &&
        cpu!.userNs + cpu!.systemNs > 0
      );
    }, 'throttled periods, throttled time and sampled cpu time');
    expect(manager.stats().cpu?.usageNs).toBeGreaterThan(0);
  });

  it('freezes: no progress while frozen, and progress again once thawed', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    const ticker = await workload('while :; do echo tick; sleep 0.01; done');
    await manager.apply(ticker.pid);
    ticker.go();
    await eventually(() => ticker.output().length > 0, 'the first tick');
    await manager.freeze();
    expect(manager.freezerState()).toBe('frozen');
    expect(readFileSync(`${manager.paths.v1.freezer}/freezer.state`, 'utf8')).toBe('FROZEN\n');
    await sleep(20); // output already in the pipe arrives
    const whileFrozen = ticker.output().length;
    await sleep(150);
    expect(ticker.output().length).toBe(whileFrozen);
    await manager.thaw();
    expect(manager.freezerState()).toBe('thawed');
    await eventually(() => ticker.output().length > whileFrozen, 'a tick after thawing');
  });

  it('denies devices its rules do not allow', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    await manager.set({
      devices: [
        { allow: false, type: 'a', major: null, minor: null, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 5, access: 'r' }, // /dev/zero, read only
      ],
    });
    expect(readFileSync(`${manager.paths.v1.devices}/devices.list`, 'utf8')).toBe('c 1:5 r\n');
    const opener = await workload('head -c 3 /dev/zero | wc -c; cat /dev/null; echo > /dev/zero');
    await manager.apply(opener.pid);
    opener.go();
    await opener.exited;
    expect(opener.output()).toMatch(/^3\n/);
    expect(opener.output()).toContain('/dev/null: Operation not permitted');
    expect(opener.output()).toMatch(/\/dev\/zero: Operation not permitted/);
    // The defaults allow /dev/null again.
    await manager.set({ devices: [...DEFAULT_ALLOWED_DEVICES] });
    const again = await workload('cat /dev/null && echo null-ok');
    await manager.apply(again.pid);
    again.go();
    await again.exited;
    expect(again.output()).toBe('null-ok\n');
  });

  it('kills every process, frozen or not, by freezing, signalling each pid and thawing', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    const family = await workload('sleep 30 & sleep 30 & wait');
    await manager.apply(family.pid);
    family.go();
    await eventually(() => manager.pids().length === 3, 'three processes');
    await manager.freeze();
    await manager.killAll();
    expect(manager.pids()).toEqual([]);
    expect(manager.freezerState()).toBe('thawed');
    expect(await family.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('counts no OOM kills without a memory hierarchy, rather than saying none happened', async () => {
    const manager = track(
      await createCgroupManager({ name: testName(), layout: v1Only, controllers: ['pids'] }),
    );
    expect(manager.oomKills()).toBeNull();
    expect(manager.stats().memory).toBeUndefined();
  });

  it("reports no limit as null, not as the kernel's unlimited page counter", async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    expect(readFileSync(`${manager.paths.v1.memory}/memory.limit_in_bytes`, 'utf8')).toMatch(
      /^92233720368547\d{5}\n$/,
    );
    const { memory, pids } = manager.stats();
    expect(memory?.limit).toBeNull();
    expect(memory?.stat.hierarchical_memory_limit).toBeNull();
    expect(pids?.limit).toBeNull();
    for (const value of Object.values(memory?.stat ?? {})) {
      if (value !== null) expect(Number.isSafeInteger(value), `${value}`).toBe(true);
    }
  });

  it('kills processes a container moved into sub-cgroups of its own, and destroy then leaves nothing', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    const family = await workload('sleep 30 & sleep 30 & wait');
    await manager.apply(family.pid);
    family.go();
    await eventually(() => manager.pids().length === 3, 'three processes');
    const moved = manager.pids().find((pid) => pid !== family.pid)!;
    // What a container with a writable cgroup namespace may do: cgroups of its own below
    // ours, in every hierarchy, with one of its processes moved down there.
    for (const dir of new Set(Object.values(manager.paths.v1))) {
      let below = dir;
      for (const name of ['inner', 'deeper']) {
        const parent = below;
        below = `${below}/${name}`;
        mkdirSync(below);
        if (dir === manager.paths.v1.cpuset) {
          for (const file of ['cpuset.cpus', 'cpuset.mems'])
            writeFileSync(`${below}/${file}`, readFileSync(`${parent}/${file}`, 'utf8').trim());
        }
      }
      writeFileSync(`${below}/cgroup.procs`, String(moved));
      expect(readFileSync(`${dir}/cgroup.procs`, 'utf8')).not.toContain(`${moved}\n`);
    }
    expect(manager.pids()).toContain(moved);
    await manager.killAll({ timeoutMs: 3000 });
    expect(manager.pids()).toEqual([]);
    expect(await family.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await manager.destroy({ timeoutMs: 3000 });
    for (const dir of manager.paths.created) expect(existsSync(dir)).toBe(false);
  });

  it('sends other signals once, without waiting for the processes to go', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    const trapper = await workload("trap 'echo got-term; exit 3' TERM; while :; do sleep 0.01; done");
    await manager.apply(trapper.pid);
    trapper.go();
    await sleep(50);
    await manager.killAll({ signal: 'SIGTERM' });
    expect(await trapper.exited).toEqual({ code: 3, signal: null });
    expect(trapper.output()).toContain('got-term');
  });

  it('is driven from recorded paths in another manager: stats, freeze, kill, destroy', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    await manager.set({ pids: { limit: 10 } });
    const sleeper = await workload('sleep 30');
    await manager.apply(sleeper.pid);
    const loaded = loadCgroupManager(JSON.parse(JSON.stringify(manager.paths)));
    expect(loaded.stats().pids).toEqual({ current: 1, limit: 10 });
    await loaded.freeze();
    expect(manager.freezerState()).toBe('frozen');
    await loaded.killAll();
    await loaded.destroy();
    for (const dir of manager.paths.created) expect(existsSync(dir)).toBe(false);
  });

  it('removes what it created and never a parent that was there before', async () => {
    const parent = testName();
    const pidsHierarchy = v1Only.v1.find((h) => h.controllers.includes('pids'))!;
    const parentDir = `${cgroupDirectory(pidsHierarchy, pidsHierarchy.ownCgroup)}/${parent}`;
    mkdirSync(parentDir);
    try {
      const manager = track(await createCgroupManager({ parent, name: 'ctr', layout: v1Only }));
      expect(manager.paths.v1.pids).toBe(`${parentDir}/ctr`);
      expect(manager.paths.created).toContain(`${parentDir}/ctr`);
      expect(manager.paths.created).not.toContain(parentDir);
      // Elsewhere the parent is new, hence this container's, and goes with it.
      expect(manager.paths.created).toContain(manager.paths.v1.memory!.slice(0, -'/ctr'.length));
      const sleeper = await workload('sleep 30');
      await manager.apply(sleeper.pid);
      process.kill(sleeper.pid, 'SIGKILL');
      // No wait for the exit: destroy retries while the kernel still counts it.
      await manager.destroy();
      for (const dir of manager.paths.created) expect(existsSync(dir)).toBe(false);
      expect(existsSync(parentDir)).toBe(true);
    } finally {
      rmdirSync(parentDir);
    }
  });

  it('refuses a cgroup that exists already, and leaves nothing of the attempt', async () => {
    const name = testName();
    const pidsHierarchy = v1Only.v1.find((h) => h.controllers.includes('pids'))!;
    const existing = `${cgroupDirectory(pidsHierarchy, pidsHierarchy.ownCgroup)}/${name}`;
    mkdirSync(existing);
    try {
      const error = await createCgroupManager({ name, layout: v1Only }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CgroupError);
      expect(error).toMatchObject({
        path: existing,
        message: `cannot create the cgroup ${existing}: it already exists and is not this container’s`,
      });
      for (const hierarchy of v1Only.v1) {
        const dir = cgroupDirectory(
          hierarchy,
          `${hierarchy.ownCgroup === '/' ? '' : hierarchy.ownCgroup}/${name}`,
        );
        expect(existsSync(dir)).toBe(dir === existing);
      }
    } finally {
      rmdirSync(existing);
    }
  });

  it('removes sub-cgroups a container made inside its own (a writable cgroup namespace), and nothing above', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    for (const dir of new Set(Object.values(manager.paths.v1)))
      mkdirSync(`${dir}/made-inside/deeper`, { recursive: true });
    await manager.destroy();
    for (const dir of manager.paths.created) expect(existsSync(dir)).toBe(false);
    for (const hierarchy of v1Only.v1)
      expect(existsSync(cgroupDirectory(hierarchy, hierarchy.ownCgroup))).toBe(true);
  });

  it('fails destroy with the pids still inside after retrying', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    const sleeper = await workload('sleep 30');
    await manager.apply(sleeper.pid);
    await expect(manager.destroy({ timeoutMs: 50 })).rejects.toThrow(
      `(processes ${sleeper.pid} are still inside)`,
    );
  });

  it('refuses resources this host has no controller for, before writing anything', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v1Only }));
    await expect(
      manager.set({ pids: { limit: 5 }, hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }),
    ).rejects.toThrow("the container's cgroup has no hugetlb controller: no v1 hugetlb hierarchy");
    await expect(manager.set({ unified: { 'memory.high': '1' } })).rejects.toThrow(
      'unified resources need cgroup v2',
    );
    expect(readFileSync(`${manager.paths.v1.pids}/pids.max`, 'utf8')).toBe('max\n');
  });
});
