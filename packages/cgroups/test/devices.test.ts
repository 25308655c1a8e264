// DevicesCgroupV1 against this machine's v1 devices hierarchy, as root. Every cgroup
// is created under the test process's own devices cgroup with a random name, and
// removed (with any process put in it killed first) after each test.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CgroupError,
  cgroupPathIn,
  type DeviceRule,
  DevicesCgroupV1,
  findV1Hierarchy,
  parseHierarchies,
  parseProcCgroup,
} from '../src/index.js';

const hierarchy = findV1Hierarchy(parseHierarchies(readFileSync('/proc/self/mountinfo', 'utf8')), 'devices');
const ownCgroup = hierarchy
  ? cgroupPathIn(hierarchy, parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')))
  : '/';
const usable = hierarchy !== undefined && process.getuid?.() === 0;

const created: string[] = [];
const children: ChildProcess[] = [];

/** A cgroup path under our own, e.g. /nsinit-test-1a2b3c4d; registered for removal before it exists. */
function testCgroupPath(): string {
  const path = `${ownCgroup === '/' ? '' : ownCgroup}/nsinit-test-${randomBytes(4).toString('hex')}`;
  created.push(`${hierarchy!.mountPoint}${path}`);
  return path;
}

async function sleepingChild(): Promise<ChildProcess> {
  const child = spawn('sleep', ['5'], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return child;
}

function devicesCgroupOf(pid: number): string | undefined {
  return parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).get('devices');
}

const DENY_ALL: DeviceRule = { allow: false, type: 'a', major: null, minor: null, access: 'rwm' };
const NULL_RW: DeviceRule = { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' };

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    }
  }
  for (const dir of created.splice(0).reverse()) {
    for (let attempt = 0; existsSync(dir); attempt++) {
      try {
        rmdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 50) throw error;
        await sleep(10);
      }
    }
  }
});

describe.skipIf(!usable)(`DevicesCgroupV1 on ${hierarchy?.mountPoint ?? 'a v1 devices hierarchy'}`, () => {
  it('creates a cgroup and writes its rules in order', async () => {
    const path = testCgroupPath();
    const cgroup = await DevicesCgroupV1.create(hierarchy!.mountPoint, path);
    expect(cgroup.path).toBe(`${hierarchy!.mountPoint}${path}`);
    await cgroup.setRules([DENY_ALL, NULL_RW]);
    expect(readFileSync(`${cgroup.path}/devices.list`, 'utf8')).toBe('c 1:3 rw\n');
    // Later rules change what earlier ones allowed.
    await cgroup.setRules([
      { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' },
      { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
    ]);
    expect(readFileSync(`${cgroup.path}/devices.list`, 'utf8')).toBe('c 1:3 r\nc 136:* rwm\n');
  });

  it('moves a process in, and is removed once the process has gone', async () => {
    const path = testCgroupPath();
    const cgroup = await DevicesCgroupV1.create(hierarchy!.mountPoint, path);
    await cgroup.setRules([DENY_ALL, NULL_RW]);
    const child = await sleepingChild();
    expect(devicesCgroupOf(child.pid!)).toBe(ownCgroup);
    await cgroup.addProcess(child.pid!);
    expect(devicesCgroupOf(child.pid!)).toBe(path);

    process.kill(child.pid!, 'SIGKILL');
    // No wait for the exit: destroy retries while the kernel still reports the cgroup busy.
    await cgroup.destroy();
    expect(existsSync(cgroup.path)).toBe(false);
    // Destroying what is already gone is not an error.
    await cgroup.destroy();
  });

  it('refuses to take over a cgroup that already exists, and leaves it alone', async () => {
    const path = testCgroupPath();
    mkdirSync(`${hierarchy!.mountPoint}${path}`);
    const error = await DevicesCgroupV1.create(hierarchy!.mountPoint, path).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(CgroupError);
    expect(error).toMatchObject({
      code: 'ERR_NSINIT_CGROUP',
      path: `${hierarchy!.mountPoint}${path}`,
      message: `cannot create the devices cgroup ${hierarchy!.mountPoint}${path}: it already exists and is not ours`,
    });
    expect(existsSync(`${hierarchy!.mountPoint}${path}`)).toBe(true);
  });

  it('names the errno when it cannot create the cgroup, move a process, or write a rule', async () => {
    const missingParent = `${hierarchy!.mountPoint}/nsinit-test-no-such-parent-${randomBytes(4).toString('hex')}/child`;
    await expect(DevicesCgroupV1.create('', missingParent)).rejects.toThrow(
      `cannot create the devices cgroup ${missingParent}: ENOENT`,
    );
    expect(existsSync(missingParent)).toBe(false);

    const cgroup = await DevicesCgroupV1.create(hierarchy!.mountPoint, testCgroupPath());
    await expect(cgroup.addProcess(99_999_999)).rejects.toThrow(
      `cannot move pid 99999999 into ${cgroup.path}: ESRCH`,
    );
  });

  it('checks every rule before writing any: a malformed one changes nothing', async () => {
    const cgroup = await DevicesCgroupV1.create(hierarchy!.mountPoint, testCgroupPath());
    const before = readFileSync(`${cgroup.path}/devices.list`, 'utf8');
    await expect(cgroup.setRules([DENY_ALL, { ...NULL_RW, access: 'rwx' }])).rejects.toThrow(
      'device rule access "rwx" must be some of r, w and m',
    );
    expect(readFileSync(`${cgroup.path}/devices.list`, 'utf8')).toBe(before);
  });

  it('fails destroy with EBUSY while a process stays inside, after retrying', async () => {
    const cgroup = await DevicesCgroupV1.create(hierarchy!.mountPoint, testCgroupPath());
    const child = await sleepingChild();
    await cgroup.addProcess(child.pid!);
    const error = await cgroup.destroy().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CgroupError);
    expect((error as CgroupError).message).toBe(`cannot remove ${cgroup.path}: EBUSY`);
    expect(existsSync(cgroup.path)).toBe(true);
  });
});
