// Issue 9: a container whose config says nothing about devices still gets a devices cgroup
// with the default rules. Without them a process with CAP_MKNOD (root here) can make a node
// for a host block device and open it read-write. Checked on this machine's real v1 devices
// controller and, as an eBPF program, on its cgroup2 mount; the control shows that the
// same process in a cgroup without device rules can, so the test would catch their loss.
// The block device is loop0 (7:0), which the host has: opening it attaches nothing and
// does no I/O, and an existing minor keeps the loop driver from creating a new device.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// A 2014 container.json reaches this package as the OCI config @nsinit/config makes of it.
import { convertContainerJson } from '../../config/src/index.js';
import {
  type CgroupLayout,
  type CgroupManager,
  createCgroupManager,
  detectCgroupLayout,
  resourcesFromOci,
} from '../src/index.js';
import { cleanUp, track, workload } from './workload.js';

const layout = detectCgroupLayout();
const root = process.getuid?.() === 0;
const hasLoop0 = existsSync('/dev/loop0');
const devicesV1 = layout.v1.find((hierarchy) => hierarchy.controllers.includes('devices'));
/** The devices hierarchy alone: the rules go to v1 and nothing else is involved. */
const v1Devices: CgroupLayout | null = devicesV1 ? { mode: 'v1', v1: [devicesV1], unified: null } : null;
/** The cgroup2 mount alone, as on a pure v2 host: the rules become an eBPF program. */
const v2Only: CgroupLayout | null = layout.unified ? { mode: 'v2', v1: [], unified: layout.unified } : null;
const testName = () => `nsinit-test-${randomBytes(4).toString('hex')}`;

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nsinit-devices-'));
});
afterEach(async () => {
  for (const dir of await cleanUp()) expect(existsSync(dir), `${dir} is left behind`).toBe(false);
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * What a process in the cgroup can do: mknod a node for loop0, open it read-write and
 * read-only, open /dev/null. Each line says ok or denied; the shell's own messages
 * (with the errno text) follow on stderr.
 */
async function probe(manager: CgroupManager): Promise<string> {
  const node = join(scratch, 'loop');
  const script = [
    `mknod ${node} b 7 0 && echo mknod-ok || echo mknod-denied`,
    `if (exec 3<>${node}); then echo loop-rw-ok; else echo loop-rw-denied; fi`,
    `if (exec 3<${node}); then echo loop-r-ok; else echo loop-r-denied; fi`,
    'if (exec 3<>/dev/null); then echo null-rw-ok; else echo null-rw-denied; fi',
    `rm -f ${node}`,
  ].join('\n');
  const shell = await workload(script);
  await manager.apply(shell.pid);
  shell.go();
  expect(await shell.exited).toEqual({ code: 0, signal: null });
  return shell.output();
}

const verdicts = (output: string) => output.split('\n').filter((line) => /^[a-z-]+-(ok|denied)$/.test(line));

describe.skipIf(!root || !hasLoop0)('the default device rules keep host block devices out of reach', () => {
  describe.skipIf(!v1Devices)('on the v1 devices controller', () => {
    it('deny a process read and write on a loop device it made, and allow /dev/null', async () => {
      const manager = track(await createCgroupManager({ name: testName(), layout: v1Devices! }));
      // The config says nothing about devices: no linux.resources, no linux.devices.
      await manager.set(resourcesFromOci(undefined, undefined));
      const output = await probe(manager);
      // runc allows mknod of any node (b *:* m); using one is what the rules decide.
      expect(verdicts(output)).toEqual(['mknod-ok', 'loop-rw-denied', 'loop-r-denied', 'null-rw-ok']);
      expect(output).toMatch(/loop: Operation not permitted/);
    });

    it('do so for a 2014 container.json without device keys too', async () => {
      const manager = track(await createCgroupManager({ name: testName(), layout: v1Devices! }));
      const { linux } = convertContainerJson({ cgroups: { memory: 0 } }, { baseDir: scratch }).config;
      await manager.set(resourcesFromOci(linux?.resources, linux?.devices));
      expect(verdicts(await probe(manager))).toEqual([
        'mknod-ok',
        'loop-rw-denied',
        'loop-r-denied',
        'null-rw-ok',
      ]);
    });

    it('control: without device rules the same process opens the loop device read-write', async () => {
      const manager = track(await createCgroupManager({ name: testName(), layout: v1Devices! }));
      await manager.set({ devices: [] });
      expect(verdicts(await probe(manager))).toEqual(['mknod-ok', 'loop-rw-ok', 'loop-r-ok', 'null-rw-ok']);
    });
  });

  describe.skipIf(!v2Only)('as an eBPF program on cgroup v2', () => {
    it('deny a process read and write on a loop device it made, and allow /dev/null', async () => {
      const manager = track(await createCgroupManager({ name: testName(), layout: v2Only! }));
      await manager.set(resourcesFromOci(undefined, undefined));
      const output = await probe(manager);
      expect(verdicts(output)).toEqual(['mknod-ok', 'loop-rw-denied', 'loop-r-denied', 'null-rw-ok']);
      expect(output).toMatch(/loop: Operation not permitted/);
    });

    it('control: without device rules the same process opens the loop device read-write', async () => {
      const manager = track(await createCgroupManager({ name: testName(), layout: v2Only! }));
      await manager.set({ devices: [] });
      expect(verdicts(await probe(manager))).toEqual(['mknod-ok', 'loop-rw-ok', 'loop-r-ok', 'null-rw-ok']);
    });
  });
});
