// The v1 manager against fake hierarchies in a temp dir, with every file-system call it
// makes recorded: what a container start costs in calls, now that it happens for every
// container. (The kernel's side is faked by the files the test lays out; the real
// hierarchies are in manager-v1.test.ts.)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CgroupLayout, createCgroupManager, resourcesFromOci } from '../src/index.js';

const { calls, busy } = vi.hoisted(() => ({
  calls: [] as string[],
  /** How many more times rmdir answers EBUSY, as for a cgroup whose last process is still exiting. */
  busy: { times: 0 },
}));
vi.mock('node:timers/promises', async (importOriginal) => {
  const timers = await importOriginal<typeof import('node:timers/promises')>();
  return {
    ...timers,
    setImmediate: () => {
      calls.push('next turn');
      return timers.setImmediate();
    },
    setTimeout: (ms: number) => {
      calls.push(`sleep ${ms} ms`);
      return timers.setTimeout(0);
    },
  };
});
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fds = new Map<number, string>();
  const record = <F extends (...args: never[]) => unknown>(
    name: string,
    call: F,
    show: (...args: Parameters<F>) => string,
  ) =>
    ((...args: Parameters<F>) => {
      calls.push(`${name} ${show(...args)}`);
      return call(...args);
    }) as F;
  const openSync = ((...args: Parameters<typeof fs.openSync>) => {
    const fd = fs.openSync(...args);
    fds.set(fd, String(args[0]));
    calls.push(`open ${String(args[0])}`);
    return fd;
  }) as typeof fs.openSync;
  const writeSync = ((fd: number, data: string) => {
    calls.push(`write ${fds.get(fd)} ${data}`);
    return fs.writeSync(fd, data);
  }) as typeof fs.writeSync;
  const wrapped = {
    openSync,
    writeSync,
    closeSync: record('close', fs.closeSync, (fd) => fds.get(fd) ?? String(fd)),
    mkdirSync: record('mkdir', fs.mkdirSync, (path) => String(path)),
    rmdirSync: record(
      'rmdir',
      ((path: Parameters<typeof fs.rmdirSync>[0]) => {
        if (busy.times > 0) {
          busy.times -= 1;
          throw Object.assign(new Error(`EBUSY: resource busy or locked, rmdir '${String(path)}'`), {
            code: 'EBUSY',
          });
        }
        fs.rmdirSync(path);
      }) as typeof fs.rmdirSync,
      (path) => String(path),
    ),
    existsSync: record('exists', fs.existsSync, (path) => String(path)),
    readFileSync: record('read', fs.readFileSync, (path) => String(path)),
    writeFileSync: record('writeFile', fs.writeFileSync, (path, data) => `${String(path)} ${String(data)}`),
  };
  return { ...fs, ...wrapped, default: { ...fs, ...wrapped } };
});

let root: string;
let layout: CgroupLayout;
/** The calls since the last look, with paths under the fake root. */
const recorded = () => calls.splice(0).map((call) => call.replaceAll(root, ''));

beforeEach(() => {
  root = mkdtempSync(`${tmpdir()}/nsinit-cgroup1-`);
  const hierarchy = (controller: string, ownCgroup = '/') => {
    mkdirSync(`${root}/${controller}${ownCgroup}`, { recursive: true });
    return { mountPoint: `${root}/${controller}`, root: '/', ownCgroup, controllers: [controller] };
  };
  // As on this machine: our memory cgroup is nested, the others are the root.
  layout = {
    mode: 'v1',
    v1: [hierarchy('cpuset'), hierarchy('memory', '/sandbox/own'), hierarchy('devices'), hierarchy('blkio')],
    unified: null,
  };
  writeFileSync(`${root}/cpuset/cpuset.cpus`, '0-1\n');
  writeFileSync(`${root}/cpuset/cpuset.mems`, '0\n');
  calls.length = 0;
  busy.times = 0;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the v1 manager on fake hierarchies', () => {
  it("creates the cgroup with one mkdir per hierarchy and copies the parent's cpuset without reading the new one", async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout });
    expect(recorded()).toEqual([
      'mkdir /cpuset/ctr',
      'read /cpuset/cpuset.cpus',
      'writeFile /cpuset/ctr/cpuset.cpus 0-1',
      'read /cpuset/cpuset.mems',
      'writeFile /cpuset/ctr/cpuset.mems 0',
      'mkdir /memory/sandbox/own/ctr',
      'mkdir /devices/ctr',
      'mkdir /blkio/ctr',
    ]);
    expect(manager.paths.created).toEqual([
      `${root}/cpuset/ctr`,
      `${root}/memory/sandbox/own/ctr`,
      `${root}/devices/ctr`,
      `${root}/blkio/ctr`,
    ]);
  });

  it('still makes missing parents, top down, and records only those it made', async () => {
    const manager = await createCgroupManager({ parent: 'pod/web', name: 'ctr', layout });
    const memory = recorded().filter((call) => call.startsWith('mkdir /memory'));
    expect(memory).toEqual([
      'mkdir /memory/sandbox/own/pod/web/ctr',
      'mkdir /memory/sandbox',
      'mkdir /memory/sandbox/own',
      'mkdir /memory/sandbox/own/pod',
      'mkdir /memory/sandbox/own/pod/web',
      'mkdir /memory/sandbox/own/pod/web/ctr',
    ]);
    expect(manager.paths.created.filter((dir) => dir.startsWith(`${root}/memory`))).toEqual([
      `${root}/memory/sandbox/own/pod`,
      `${root}/memory/sandbox/own/pod/web`,
      `${root}/memory/sandbox/own/pod/web/ctr`,
    ]);
  });

  it('sets default device rules with one open per file, one write per rule, and nothing for other controllers', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout });
    // What the kernel shows in a new devices cgroup.
    writeFileSync(`${root}/devices/ctr/devices.allow`, '');
    writeFileSync(`${root}/devices/ctr/devices.deny`, '');
    recorded();
    await manager.set(resourcesFromOci(undefined));
    expect(recorded()).toEqual([
      'open /devices/ctr/devices.deny',
      'write /devices/ctr/devices.deny a *:* rwm',
      'open /devices/ctr/devices.allow',
      'write /devices/ctr/devices.allow c *:* m',
      'write /devices/ctr/devices.allow b *:* m',
      'write /devices/ctr/devices.allow c 1:3 rwm',
      'write /devices/ctr/devices.allow c 1:8 rwm',
      'write /devices/ctr/devices.allow c 1:7 rwm',
      'write /devices/ctr/devices.allow c 5:0 rwm',
      'write /devices/ctr/devices.allow c 1:5 rwm',
      'write /devices/ctr/devices.allow c 1:9 rwm',
      'write /devices/ctr/devices.allow c 136:* rwm',
      'write /devices/ctr/devices.allow c 5:2 rwm',
      'write /devices/ctr/devices.allow c 10:200 rwm',
      'close /devices/ctr/devices.deny',
      'close /devices/ctr/devices.allow',
    ]);
  });

  it('reads the memory and blkio facts only when it sets memory or blkio', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout });
    const memory = `${root}/memory/sandbox/own/ctr`;
    writeFileSync(`${memory}/memory.limit_in_bytes`, '9223372036854771712\n');
    writeFileSync(`${memory}/memory.memsw.limit_in_bytes`, '9223372036854771712\n');
    writeFileSync(`${root}/blkio/ctr/blkio.weight`, '100\n');
    recorded();
    await manager.set({ memory: { limit: 1 << 20 }, blockIO: { weight: 500 } });
    expect(recorded().filter((call) => !call.startsWith('close'))).toEqual([
      'read /memory/sandbox/own/ctr/memory.limit_in_bytes',
      'exists /memory/sandbox/own/ctr/memory.memsw.limit_in_bytes',
      'exists /blkio/ctr/blkio.weight',
      'open /memory/sandbox/own/ctr/memory.limit_in_bytes',
      'write /memory/sandbox/own/ctr/memory.limit_in_bytes 1048576',
      'open /blkio/ctr/blkio.weight',
      'write /blkio/ctr/blkio.weight 500',
    ]);
    expect(readFileSync(`${root}/blkio/ctr/blkio.weight`, 'utf8')).toBe('500\n');
  });

  it('fails a write to a missing file with ENOENT and the hint, closing what it opened', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout });
    writeFileSync(`${root}/devices/ctr/devices.deny`, '');
    recorded();
    await expect(manager.set(resourcesFromOci(undefined))).rejects.toMatchObject({
      code: 'ERR_NSINIT_CGROUP',
      path: `${root}/devices/ctr/devices.allow`,
      value: 'c *:* m',
      message: `cannot write "c *:* m" to ${root}/devices/ctr/devices.allow: ENOENT (no such file: is the controller enabled for this cgroup?)`,
    });
    expect(recorded().filter((call) => call.startsWith('close'))).toEqual([
      'close /devices/ctr/devices.deny',
    ]);
  });

  it("reads no limit as null, never as the kernel's unlimited page counter, and counts OOM kills", async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout: { ...layout, v1: [layout.v1[1]!] } });
    const dir = `${root}/memory/sandbox/own/ctr`;
    const NONE = '9223372036854771712\n';
    for (const [file, text] of Object.entries({
      'memory.usage_in_bytes': '4096\n',
      'memory.max_usage_in_bytes': '8192\n',
      'memory.limit_in_bytes': NONE,
      'memory.failcnt': '0\n',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
      'memory.memsw.usage_in_bytes': '4096\n',
      'memory.memsw.limit_in_bytes': NONE,
      'memory.stat': `cache 0\nrss 4096\nhierarchical_memory_limit ${NONE}hierarchical_memsw_limit ${NONE}`,
    })) {
      writeFileSync(`${dir}/${file}`, text);
    }
    expect(manager.stats()).toEqual({
      memory: {
        usage: 4096,
        maxUsage: 8192,
        limit: null,
        failcnt: 0,
        oomEvents: null,
        oomKills: 2,
        swap: { usage: 0, limit: null },
        stat: { cache: 0, rss: 4096, hierarchical_memory_limit: null, hierarchical_memsw_limit: null },
      },
    });
    expect(manager.oomKills()).toBe(2);
    // A kernel before 4.13 counts no OOM kills: unknown, not zero.
    writeFileSync(`${dir}/memory.oom_control`, 'oom_kill_disable 0\nunder_oom 0\n');
    expect(manager.oomKills()).toBeNull();
  });

  it('retries a removal the kernel refuses while a process exits on the next turns of the event loop first', async () => {
    const manager = await createCgroupManager({ name: 'ctr', layout: { ...layout, v1: [layout.v1[2]!] } });
    recorded();
    busy.times = 3;
    await manager.destroy();
    expect(recorded()).toEqual([
      ...Array.from({ length: 3 }, () => ['rmdir /devices/ctr', 'next turn']).flat(),
      'rmdir /devices/ctr',
    ]);
    // A process that takes longer: then pauses of 1, 2, 4 ... ms.
    const again = await createCgroupManager({ name: 'ctr', layout: { ...layout, v1: [layout.v1[2]!] } });
    recorded();
    busy.times = 11;
    await again.destroy();
    expect(recorded().filter((call) => call !== 'rmdir /devices/ctr')).toEqual([
      ...Array.from({ length: 8 }, () => 'next turn'),
      'sleep 1 ms',
      'sleep 2 ms',
      'sleep 4 ms',
    ]);
  });
});
