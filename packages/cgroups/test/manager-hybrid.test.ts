// The manager on this machine as it is, hybrid: the v1 hierarchies and the cgroup2 mount
// together, composed. Each controller goes to the version that serves it; apply, kill and
// destroy go to both. Every cgroup is nsinit-test-<random> under the test process's own.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createCgroupManager, detectCgroupLayout } from '../src/index.js';
import { cleanUp, eventually, track, workload } from './workload.js';

const layout = detectCgroupLayout();
const usable =
  process.getuid?.() === 0 &&
  layout.mode === 'hybrid' &&
  ['memory', 'pids', 'devices', 'cpuset'].every((c) => layout.v1.some((h) => h.controllers.includes(c)));
const testName = () => `nsinit-test-${randomBytes(4).toString('hex')}`;

afterEach(async () => {
  for (const dir of await cleanUp()) expect(existsSync(dir), `${dir} is left behind`).toBe(false);
});

describe.skipIf(!usable)('the manager on this hybrid host', () => {
  it('routes resources and stats to v1, kills through cgroup.kill, and leaves nothing', async () => {
    const manager = track(await createCgroupManager({ name: testName(), layout }));
    expect(manager.mode).toBe('hybrid');
    await manager.set({ pids: { limit: 10 }, memory: { limit: 64 << 20 } });
    expect(readFileSync(`${manager.paths.v1.pids}/pids.max`, 'utf8')).toBe('10\n');
    const family = await workload('sleep 30 & sleep 30 & wait');
    await manager.apply(family.pid);
    expect(readFileSync(`/proc/${family.pid}/cgroup`, 'utf8')).toContain(
      `0::${manager.paths.unified!.directory.slice(layout.unified!.mountPoint.length)}\n`,
    );
    family.go();
    await eventually(() => manager.pids().length === 3, 'three processes');
    expect(manager.stats()).toMatchObject({ memory: { limit: 64 << 20 }, pids: { current: 3, limit: 10 } });
    expect(manager.oomKills()).toBe(0);
    // A sub-cgroup of the container's own, in the unified hierarchy and in a v1 one.
    const moved = manager.pids().find((pid) => pid !== family.pid)!;
    for (const dir of [manager.paths.unified!.directory, manager.paths.v1.pids!]) {
      mkdirSync(`${dir}/inner`);
      writeFileSync(`${dir}/inner/cgroup.procs`, String(moved));
    }
    await manager.killAll({ timeoutMs: 3000 });
    expect(manager.pids()).toEqual([]);
    expect(await family.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await manager.destroy({ timeoutMs: 3000 });
    for (const dir of manager.paths.created) expect(existsSync(dir)).toBe(false);
  });
});
