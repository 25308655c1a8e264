// The manager on this machine's real cgroup2 mount (hybrid host: it holds only hugetlb),
// as root: create, procs, clone3 into the cgroup, freeze, kill, events, destroy, and
// device rules as an eBPF program. The layout is narrowed to the cgroup2 mount, so the
// manager acts as it does on a pure v2 host. Nothing enables a controller in a cgroup
// the test did not create.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { native, queryCgroupDevicePrograms } from '@nsinit/native';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CgroupLayout,
  type CgroupManager,
  createCgroupManager,
  detectCgroupLayout,
} from '../src/index.js';
import { cleanUp, eventually, track, workload } from './workload.js';

const layout = detectCgroupLayout();
const usable = process.getuid?.() === 0 && layout.unified !== null;
const v2Only: CgroupLayout = { mode: 'v2', v1: [], unified: layout.unified };
const testName = () => `nsinit-test-${randomBytes(4).toString('hex')}`;
const events = (manager: CgroupManager) =>
  readFileSync(`${manager.paths.unified!.directory}/cgroup.events`, 'utf8');
const rootSubtreeControl = () => readFileSync(`${layout.unified!.mountPoint}/cgroup.subtree_control`, 'utf8');

let subtreeControlBefore: string;
beforeAll(() => {
  if (usable) subtreeControlBefore = rootSubtreeControl();
});
afterEach(async () => {
  for (const dir of await cleanUp()) expect(existsSync(dir), `${dir} is left behind`).toBe(false);
  expect(rootSubtreeControl()).toBe(subtreeControlBefore);
});

describe.skipIf(!usable)(`cgroup v2 manager on ${layout.unified?.mountPoint}`, () => {
  it('creates the cgroup under our own, moves processes in, and reports them in cgroup.events', async () => {
    const name = testName();
    const manager = track(await createCgroupManager({ name, layout: v2Only }));
    const own = layout.unified!.ownCgroup === '/' ? '' : layout.unified!.ownCgroup;
    expect(manager.paths.unified?.directory).toBe(`${layout.unified!.mountPoint}${own}/${name}`);
    expect(manager.mode).toBe('v2');
    expect(events(manager)).toMatch(/^populated 0$/m);

    const sleeper = await workload('sleep 30');
    await manager.apply(sleeper.pid);
    expect(readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8')).toContain(`0::${own}/${name}\n`);
    expect(readFileSync(`${manager.paths.unified!.directory}/cgroup.procs`, 'utf8')).toBe(`${sleeper.pid}\n`);
    expect(manager.pids()).toEqual([sleeper.pid]);
    expect(events(manager)).toMatch(/^populated 1$/m);
    // cpu.stat is a core file: usage is there without the cpu controller, throttling is not.
    expect(manager.stats()).toEqual({
      cpu: {
        usageNs: expect.any(Number),
        userNs: expect.any(Number),
        systemNs: expect.any(Number),
        throttling: null,
      },
    });
  });

  it('starts a child inside the cgroup with clone3 (CLONE_INTO_CGROUP)', async () => {
    const name = testName();
    const manager = track(await createCgroupManager({ name, layout: v2Only }));
    const busybox = native().createSealedMemfd({ name: 'busybox', path: '/bin/busybox', executable: true });
    const cgroupFd = manager.cgroupFdForClone()!;
    const [out, outWrite] = native().pipe();
    try {
      const child = native().spawn({
        helperFd: busybox,
        argv: ['cat', '/proc/self/cgroup'],
        cloneFlags: 0,
        fds: [{ from: outWrite, to: 1 }],
        cgroupFd,
      });
      closeSync(outWrite);
      const exit = await native().waitExit({ pidfd: child.pidfd });
      closeSync(child.pidfd);
      expect(exit.status).toBe(0);
      const own = layout.unified!.ownCgroup === '/' ? '' : layout.unified!.ownCgroup;
      expect(readFileSync(out, 'utf8')).toContain(`0::${own}/${name}\n`);
    } finally {
      for (const fd of [out, cgroupFd, busybox]) closeSync(fd);
    }
  });

  it('freezes through cgroup.freeze, waiting for cgroup.events, and thaws', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v2Only }));
    const ticker = await workload('while :; do echo tick; sleep 0.01; done');
    await manager.apply(ticker.pid);
    ticker.go();
    await eventually(() => ticker.output().length > 0, 'the first tick');
    await manager.freeze();
    expect(events(manager)).toMatch(/^frozen 1$/m);
    expect(manager.freezerState()).toBe('frozen');
    await sleep(20);
    const whileFrozen = ticker.output().length;
    await sleep(150);
    expect(ticker.output().length).toBe(whileFrozen);
    await manager.thaw();
    expect(events(manager)).toMatch(/^frozen 0$/m);
    await eventually(() => ticker.output().length > whileFrozen, 'a tick after thawing');
  });

  it('kills every process with cgroup.kill and waits until the cgroup is empty', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v2Only }));
    const family = await workload('sleep 30 & sleep 30 & wait');
    await manager.apply(family.pid);
    family.go();
    await eventually(() => manager.pids().length === 3, 'three processes');
    await manager.killAll();
    expect(events(manager)).toMatch(/^populated 0$/m);
    expect(await family.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await manager.destroy();
    expect(existsSync(manager.paths.unified!.directory)).toBe(false);
  });

  it('kills processes a container moved into sub-cgroups of its own, and destroy then leaves nothing', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v2Only }));
    const family = await workload('sleep 30 & sleep 30 & wait');
    await manager.apply(family.pid);
    family.go();
    await eventually(() => manager.pids().length === 3, 'three processes');
    const moved = manager.pids().find((pid) => pid !== family.pid)!;
    // What a container with a writable cgroup namespace may do.
    const below = `${manager.paths.unified!.directory}/inner/deeper`;
    mkdirSync(below, { recursive: true });
    writeFileSync(`${below}/cgroup.procs`, String(moved));
    expect(readFileSync(`${manager.paths.unified!.directory}/cgroup.procs`, 'utf8')).not.toContain(
      `${moved}\n`,
    );
    expect(manager.pids()).toContain(moved);
    await manager.killAll({ timeoutMs: 3000 });
    expect(manager.pids()).toEqual([]);
    expect(events(manager)).toMatch(/^populated 0$/m);
    expect(await family.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await manager.destroy({ timeoutMs: 3000 });
    expect(existsSync(manager.paths.unified!.directory)).toBe(false);
  });

  it('counts no OOM kills where the hierarchy has no memory controller', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v2Only }));
    expect(manager.oomKills()).toBeNull();
  });

  it('enforces device rules with an eBPF program, and replaces it when the rules change', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v2Only }));
    const denyAll = { allow: false, type: 'a', major: null, minor: null, access: 'rwm' } as const;
    await manager.set({ devices: [denyAll, { allow: true, type: 'c', major: 1, minor: 5, access: 'r' }] });
    const attached = () => {
      const fd = openSync(manager.paths.unified!.directory, 'r');
      try {
        return queryCgroupDevicePrograms({ cgroupFd: fd });
      } finally {
        closeSync(fd);
      }
    };
    expect(attached()).toHaveLength(1);
    const opener = await workload('head -c 3 /dev/zero | wc -c; cat /dev/null; echo > /dev/zero');
    await manager.apply(opener.pid);
    opener.go();
    await opener.exited;
    expect(opener.output()).toMatch(/^3\n/);
    expect(opener.output()).toContain('/dev/null: Operation not permitted');
    expect(opener.output()).toMatch(/\/dev\/zero: Operation not permitted/);

    const [first] = attached();
    await manager.set({ devices: [denyAll, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }] });
    expect(attached()).toHaveLength(1);
    expect(attached()[0]).not.toBe(first);
    const again = await workload('cat /dev/null && echo null-ok; head -c 1 /dev/zero');
    await manager.apply(again.pid);
    again.go();
    await again.exited;
    expect(again.output()).toMatch(/^null-ok\n[^\n]*\/dev\/zero[^\n]*: Operation not permitted\n$/);
  });

  it('refuses resources whose controller the hierarchy lacks, without touching any parent', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout: v2Only }));
    await expect(manager.set({ memory: { limit: 1 << 20 } })).rejects.toThrow(
      "the container's cgroup has no memory controller: no v1 memory hierarchy and no memory controller in cgroup v2",
    );
    await expect(
      createCgroupManager({ name: testName(), layout: v2Only, controllers: ['memory'] }),
    ).rejects.toThrow(`the cgroup v2 hierarchy at ${layout.unified!.mountPoint} offers no memory controller`);
  });
});
