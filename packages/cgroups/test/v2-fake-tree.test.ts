// The v2 manager against a fake cgroup2 tree in a temp dir: every file it writes, with
// every value, in order. (The kernel's side is faked by the files the test lays out.)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type CgroupLayout,
  type CgroupManagerOptions,
  createCgroupManager,
  loadCgroupManager,
  planCgroupPaths,
} from '../src/index.js';

const { written } = vi.hoisted(() => ({ written: [] as string[] }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeFileSync: typeof fs.writeFileSync = (file, data, options) => {
    written.push(`${String(file)}=${String(data)}`);
    fs.writeFileSync(file, data, options);
  };
  return { ...fs, default: { ...fs, writeFileSync }, writeFileSync };
});

let root: string;
let layout: CgroupLayout;
/** Writes as paths under the fake root. */
const writes = () => written.splice(0).map((line) => line.slice(root.length));

beforeEach(() => {
  root = mkdtempSync(`${tmpdir()}/nsinit-cgroup2-`);
  // The root offers every controller and hands none down; /app is our own (pre-existing) cgroup.
  writeFileSync(`${root}/cgroup.controllers`, 'cpuset cpu io memory hugetlb pids\n');
  writeFileSync(`${root}/cgroup.subtree_control`, '');
  mkdirSync(`${root}/app`);
  writeFileSync(`${root}/app/cgroup.controllers`, '');
  writeFileSync(`${root}/app/cgroup.subtree_control`, '');
  layout = { mode: 'v2', v1: [], unified: { mountPoint: root, root: '/', ownCgroup: '/app' } };
  written.length = 0;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the v2 manager on a fake tree', () => {
  it('creates the cgroup under our own and enables cpu, io, memory and pids down the path', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout });
    expect(manager.paths).toEqual({
      v1: {},
      unified: { directory: `${root}/app/ctr`, mountPoint: root },
      created: [`${root}/app/ctr`],
    });
    expect(writes()).toEqual([
      '/cgroup.subtree_control=+cpu +io +memory +pids',
      '/app/cgroup.subtree_control=+cpu +io +memory +pids',
    ]);
  });

  it('writes every resource, converted, after enabling the controllers it needs', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout, controllers: [] });
    expect(writes()).toEqual([]);
    // What the kernel would show once the root hands memory down to /app.
    writeFileSync(`${root}/app/cgroup.controllers`, 'memory\n');
    writeFileSync(`${root}/app/ctr/memory.swap.max`, 'max\n');
    written.length = 0;
    await manager.set({
      memory: { limit: 64 << 20, swap: 96 << 20, reservation: 16 << 20 },
      cpu: { shares: 1024, quota: 50_000, period: 100_000, cpus: '0' },
      pids: { limit: 64 },
      blockIO: { weight: 1000, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 4096 }] },
      hugepageLimits: [{ pageSize: '1GB', limit: 0 }],
      unified: { 'memory.high': '60M' },
    });
    expect(writes()).toEqual([
      // memory is in /app already: it only needs /app to hand it down; the rest comes from the root.
      '/cgroup.subtree_control=+cpu +cpuset +pids +io +hugetlb',
      '/app/cgroup.subtree_control=+memory +cpu +cpuset +pids +io +hugetlb',
      '/app/ctr/memory.max=67108864',
      '/app/ctr/memory.swap.max=33554432',
      '/app/ctr/memory.low=16777216',
      '/app/ctr/cpu.weight=100',
      '/app/ctr/cpu.max=50000 100000',
      '/app/ctr/cpuset.cpus=0',
      '/app/ctr/pids.max=64',
      '/app/ctr/io.weight=10000',
      '/app/ctr/io.max=8:0 rbps=4096',
      '/app/ctr/hugetlb.1GB.max=0',
      '/app/ctr/memory.high=60M',
    ]);
  });

  it('creates what planCgroupPaths planned for the same options, without planning again', async () => {
    let layoutReads = 0;
    const options: CgroupManagerOptions = {
      name: 'ctr',
      controllers: [],
      get layout() {
        layoutReads += 1;
        return layout;
      },
    };
    const planned = planCgroupPaths(options);
    const manager = await createCgroupManager(options);
    expect(layoutReads).toBe(1);
    expect(manager.paths).toEqual({ ...planned, created: [`${root}/app/ctr`] });
  });

  it('refuses a memory limit below the usage when asked to check first, writing nothing', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout, controllers: [] });
    writeFileSync(`${root}/app/ctr/cgroup.controllers`, 'memory\n');
    writeFileSync(`${root}/app/ctr/memory.current`, `${64 << 20}\n`);
    written.length = 0;
    await expect(
      manager.set({ pids: { limit: 8 }, memory: { limit: 32 << 20, checkBeforeUpdate: true } }),
    ).rejects.toMatchObject({
      path: `${root}/app/ctr/memory.current`,
      value: String(32 << 20),
      message: `memory.limit ${32 << 20} is below the ${64 << 20} bytes in use (${root}/app/ctr/memory.current)`,
    });
    expect(writes().filter((write) => !write.includes('subtree_control'))).toEqual([]);
    await manager.set({ memory: { limit: 128 << 20, checkBeforeUpdate: true } });
    expect(writes()).toEqual([`/app/ctr/memory.max=${128 << 20}`]);
  });

  it('counts OOM kills from memory.events, and none without the memory controller', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout, controllers: [] });
    expect(manager.oomKills()).toBeNull();
    writeFileSync(
      `${root}/app/ctr/memory.events`,
      'low 0\nhigh 0\nmax 9\noom 4\noom_kill 3\noom_group_kill 0\n',
    );
    expect(manager.oomKills()).toBe(3);
  });

  it('uses io.bfq.weight where the kernel has it, and writes no swap file where it has none', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout, controllers: [] });
    writeFileSync(`${root}/app/ctr/io.bfq.weight`, 'default 100\n');
    writeFileSync(`${root}/app/ctr/cgroup.controllers`, 'io memory\n');
    written.length = 0;
    await manager.set({ blockIO: { weight: 500 }, memory: { limit: -1 } });
    expect(writes()).toEqual(['/app/ctr/memory.max=max', '/app/ctr/io.bfq.weight=500']);
  });

  it('checks every value before writing anything', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout, controllers: [] });
    await expect(manager.set({ pids: { limit: 8 }, memory: { swappiness: 30 } })).rejects.toThrow(
      'memory.swappiness 30: cgroup v2 has no per-cgroup swappiness',
    );
    await expect(manager.set({ pids: { limit: 8 }, unified: { 'cgroup.kill': '1' } })).rejects.toThrow(
      'managed by the runtime',
    );
    await expect(manager.set({ pids: { limit: 8 }, network: { classId: 1 } })).rejects.toThrow(
      "the container's cgroup has no net_cls controller: no v1 net_cls hierarchy and no net_cls controller in cgroup v2",
    );
    expect(writes()).toEqual([]);
  });

  it('refuses a controller the hierarchy does not offer, naming its cgroup.controllers', async () => {
    await expect(createCgroupManager({ name: 'ctr', layout, controllers: ['rdma'] })).rejects.toMatchObject({
      code: 'ERR_NSINIT_CGROUP',
      path: `${root}/cgroup.controllers`,
      value: 'rdma',
      message: `the cgroup v2 hierarchy at ${root} offers no rdma controller`,
    });
    // Nothing is left of the attempt.
    expect(readFileSync(`${root}/app/cgroup.subtree_control`, 'utf8')).toBe('');
    expect(() => readFileSync(`${root}/app/ctr/cgroup.procs`)).toThrow();
  });

  it('freezes and thaws through cgroup.freeze, waiting for cgroup.events', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout, controllers: [] });
    const events = `${root}/app/ctr/cgroup.events`;
    writeFileSync(events, 'populated 1\nfrozen 0\n');
    writeFileSync(`${root}/app/ctr/cgroup.freeze`, '0\n');
    written.length = 0;
    // The "kernel" reports frozen a little later.
    setTimeout(() => writeFileSync(events, 'populated 1\nfrozen 1\n'), 30);
    await manager.freeze();
    expect(manager.freezerState()).toBe('frozen');
    setTimeout(() => writeFileSync(events, 'populated 1\nfrozen 0\n'), 30);
    await manager.thaw();
    expect(writes().filter((w) => !w.includes('cgroup.events'))).toEqual([
      '/app/ctr/cgroup.freeze=1',
      '/app/ctr/cgroup.freeze=0',
    ]);
  });

  it('gives up freezing after the timeout, thaws again and says so', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout, controllers: [] });
    writeFileSync(`${root}/app/ctr/cgroup.events`, 'populated 1\nfrozen 0\n');
    await expect(manager.freeze({ timeoutMs: 50 })).rejects.toThrow(
      `${root}/app/ctr did not freeze in time: it is still freezing`,
    );
    expect(readFileSync(`${root}/app/ctr/cgroup.freeze`, 'utf8')).toBe('0');
  });

  it('reads stats in the shared shape', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout, controllers: [] });
    const dir = `${root}/app/ctr`;
    writeFileSync(`${dir}/memory.current`, '4096\n');
    writeFileSync(`${dir}/memory.peak`, '8192\n');
    writeFileSync(`${dir}/memory.max`, 'max\n');
    writeFileSync(`${dir}/memory.events`, 'low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\noom_group_kill 0\n');
    writeFileSync(`${dir}/memory.swap.current`, '0\n');
    writeFileSync(`${dir}/memory.swap.max`, '1024\n');
    writeFileSync(`${dir}/memory.stat`, 'anon 4096\nfile 0\n');
    writeFileSync(
      `${dir}/cpu.stat`,
      'usage_usec 30\nuser_usec 20\nsystem_usec 10\nnr_periods 5\nnr_throttled 2\nthrottled_usec 7\n',
    );
    writeFileSync(`${dir}/pids.current`, '3\n');
    writeFileSync(`${dir}/pids.max`, '10\n');
    writeFileSync(`${dir}/io.stat`, '8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n');
    writeFileSync(`${dir}/hugetlb.2MB.current`, '0\n');
    writeFileSync(`${dir}/hugetlb.2MB.events`, 'max 1\n');
    expect(manager.stats()).toEqual({
      memory: {
        usage: 4096,
        maxUsage: 8192,
        limit: null,
        failcnt: 3,
        oomEvents: 2,
        oomKills: 1,
        swap: { usage: 0, limit: 1024 },
        stat: { anon: 4096, file: 0 },
      },
      cpu: {
        usageNs: 30_000,
        userNs: 20_000,
        systemNs: 10_000,
        throttling: { periods: 5, throttledPeriods: 2, throttledTimeNs: 7000 },
      },
      pids: { current: 3, limit: 10 },
      blockIO: { devices: [{ major: 8, minor: 0, readBytes: 1, writeBytes: 2, readOps: 3, writeOps: 4 }] },
      hugetlb: { '2MB': { usage: 0, maxUsage: null, failcnt: 1 } },
    });
    writeFileSync(`${dir}/pids.max`, 'max\n');
    writeFileSync(`${dir}/memory.swap.max`, 'max\n');
    expect(manager.stats()).toMatchObject({
      pids: { current: 3, limit: null },
      memory: { swap: { usage: 0, limit: null } },
    });
    writeFileSync(`${dir}/pids.max`, 'lots\n');
    expect(() => manager.stats()).toThrow(`cannot parse ${dir}/pids.max: "lots" is not a number`);
  });

  it('loads from recorded paths and removes only what it created', async () => {
    const manager = await createCgroupManager({ parent: 'nsinit', name: 'ctr', layout, controllers: [] });
    expect(manager.paths.created).toEqual([`${root}/app/nsinit`, `${root}/app/nsinit/ctr`]);
    const loaded = loadCgroupManager(JSON.parse(JSON.stringify(manager.paths)));
    expect(loaded.paths).toEqual(manager.paths);
    await loaded.destroy();
    expect(() => readFileSync(`${root}/app/nsinit`)).toThrow(/ENOENT/);
    expect(readFileSync(`${root}/app/cgroup.controllers`, 'utf8')).toBe('');
    expect(() => loadCgroupManager({ v1: {}, unified: { directory: 'relative' }, created: [] })).toThrow(
      'recorded cgroup paths are malformed',
    );
    expect(() => loadCgroupManager({ v1: { cpu: '/a/../b' }, unified: null, created: [] })).toThrow(
      'recorded cgroup path "/a/../b" is not a clean absolute path',
    );
  });

  it('refuses placements that leave the hierarchy or are not one name', async () => {
    await expect(createCgroupManager({ name: '../x', layout })).rejects.toThrow(
      'name "../x" must be one non-empty path component',
    );
    await expect(createCgroupManager({ path: '../../x', layout })).rejects.toThrow(
      'path "../../x" leaves the hierarchy or names none',
    );
    await expect(createCgroupManager({ path: '/', layout })).rejects.toThrow('the root cgroup');
    await expect(createCgroupManager({ path: '/x', name: 'y', layout })).rejects.toThrow(
      'give either path, or parent and name',
    );
    const absolute = await createCgroupManager({ path: '/system/ctr', layout, controllers: [] });
    expect(absolute.paths.unified?.directory).toBe(`${root}/system/ctr`);
  });
});
