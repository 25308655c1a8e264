// The cgroup device program functions of src/bpf.cc, as root, on this machine's cgroup2
// mount. Programs here are hand-assembled (the generator is @nsinit/cgroups'); each test
// makes its own cgroup, and removes it with any process put in it killed by pid.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attachCgroupDeviceProgram,
  detachCgroupDeviceProgram,
  loadCgroupDeviceProgram,
  openBpfProgramById,
  queryCgroupDevicePrograms,
} from '../lib/index.js';

/** struct bpf_insn on a little-endian host: code, dst | src << 4, offset, imm. */
function insn(code: number, dst: number, src: number, offset: number, imm: number): number[] {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, code);
  view.setUint8(1, dst | (src << 4));
  view.setInt16(2, offset, true);
  view.setInt32(4, imm, true);
  return [...bytes];
}
const program = (...instructions: number[][]) => new Uint8Array(instructions.flat());
const EXIT = insn(0x95, 0, 0, 0, 0);
const verdict = (allow: boolean) => program(insn(0xb4, 0, 0, 0, allow ? 1 : 0), EXIT);
/** Allows everything but character device 1:3 (/dev/null). */
const DENY_DEV_NULL = program(
  insn(0x61, 2, 1, 4, 0), // r2 = major
  insn(0x61, 3, 1, 8, 0), // r3 = minor
  insn(0x55, 2, 0, 3, 1), // if major != 1 goto allow
  insn(0x55, 3, 0, 2, 3), // if minor != 3 goto allow
  insn(0xb4, 0, 0, 0, 0),
  EXIT,
  insn(0xb4, 0, 0, 0, 1),
  EXIT,
);

const unifiedMount = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .find((line) => line.includes(' - cgroup2 '))
  ?.split(' ')[4];
const usable = process.getuid?.() === 0 && unifiedMount !== undefined && endianness() === 'LE';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function ownedFd(fd: number): number {
  cleanups.push(() => closeSync(fd));
  return fd;
}

/** A fresh cgroup under the cgroup2 mount's root, opened; removed after the test. */
function testCgroup(): { dir: string; fd: number } {
  const dir = `${unifiedMount}/nsinit-test-bpf-${randomBytes(4).toString('hex')}`;
  mkdirSync(dir);
  cleanups.push(async () => {
    for (let attempt = 0; existsSync(dir); attempt++) {
      try {
        rmdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || attempt > 100) throw error;
        await sleep(10);
      }
    }
  });
  return { dir, fd: ownedFd(openSync(dir, 'r')) };
}

/** `sh -c script` in the cgroup, run to its end; returns what it wrote. */
async function runIn(dir: string, script: string): Promise<string> {
  const child: ChildProcessWithoutNullStreams = spawn('sh', ['-c', `read go; ${script}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    }
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  await once(child, 'spawn');
  writeFileSync(`${dir}/cgroup.procs`, String(child.pid));
  child.stdin.end('go\n');
  await exited;
  return output;
}

describe.skipIf(!usable)(`cgroup device programs on ${unifiedMount}`, () => {
  it('loads, attaches, lists, opens by id and detaches a program', () => {
    const cgroup = testCgroup();
    const programFd = ownedFd(
      loadCgroupDeviceProgram({ instructions: verdict(true), license: 'Apache-2.0' }),
    );
    expect(queryCgroupDevicePrograms({ cgroupFd: cgroup.fd })).toEqual([]);
    attachCgroupDeviceProgram({ cgroupFd: cgroup.fd, programFd });
    const ids = queryCgroupDevicePrograms({ cgroupFd: cgroup.fd });
    expect(ids).toHaveLength(1);
    const byId = ownedFd(openBpfProgramById({ id: ids[0]! }));
    detachCgroupDeviceProgram({ cgroupFd: cgroup.fd, programFd: byId });
    expect(queryCgroupDevicePrograms({ cgroupFd: cgroup.fd })).toEqual([]);
  });

  it('makes the kernel refuse the devices the program denies, to processes in the cgroup', async () => {
    const cgroup = testCgroup();
    const programFd = loadCgroupDeviceProgram({ instructions: DENY_DEV_NULL, license: 'Apache-2.0' });
    try {
      attachCgroupDeviceProgram({ cgroupFd: cgroup.fd, programFd });
    } finally {
      // The cgroup holds its own reference: the program stays after its fd is closed.
      closeSync(programFd);
    }
    const output = await runIn(cgroup.dir, 'cat /dev/null; head -c 2 /dev/zero | wc -c');
    expect(output).toBe('cat: /dev/null: Operation not permitted\n2\n');
    expect(queryCgroupDevicePrograms({ cgroupFd: cgroup.fd })).toHaveLength(1);
  });

  it('runs every program attached, each of which must allow', async () => {
    const cgroup = testCgroup();
    for (const instructions of [verdict(true), DENY_DEV_NULL]) {
      attachCgroupDeviceProgram({
        cgroupFd: cgroup.fd,
        programFd: ownedFd(loadCgroupDeviceProgram({ instructions, license: 'GPL' })),
      });
    }
    expect(queryCgroupDevicePrograms({ cgroupFd: cgroup.fd })).toHaveLength(2);
    expect(await runIn(cgroup.dir, 'cat /dev/null && echo ok')).toBe(
      'cat: /dev/null: Operation not permitted\n',
    );
  });

  it("fails a program the verifier refuses with the verifier's words", () => {
    // exit without setting r0
    const error = (() => {
      try {
        loadCgroupDeviceProgram({ instructions: program(EXIT), license: 'Apache-2.0' });
      } catch (caught) {
        return caught as NodeJS.ErrnoException;
      }
    })();
    expect(error).toMatchObject({ code: 'EACCES', syscall: 'bpf(BPF_PROG_LOAD)' });
    expect(error?.message).toMatch(
      /^bpf\(BPF_PROG_LOAD\) failed: .*\(EACCES\): 1 instructions; verifier: .*R0 !read_ok/s,
    );
  });

  it('fails attaching to something that is not a cgroup', () => {
    const dir = mkdtempSync(`${tmpdir()}/nsinit-bpf-`);
    cleanups.push(() => rmdirSync(dir));
    const notCgroup = ownedFd(openSync(dir, 'r'));
    const programFd = ownedFd(
      loadCgroupDeviceProgram({ instructions: verdict(true), license: 'Apache-2.0' }),
    );
    expect(() => attachCgroupDeviceProgram({ cgroupFd: notCgroup, programFd })).toThrow(
      expect.objectContaining({ syscall: 'bpf(BPF_PROG_ATTACH)', code: 'EBADF' }),
    );
    expect(() => openBpfProgramById({ id: 0xffff_fff0 })).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });
});

describe('argument checks', () => {
  it('refuses malformed options with a TypeError, before any syscall', () => {
    const bad = [
      () => loadCgroupDeviceProgram({ instructions: [1, 2] as unknown as Uint8Array, license: 'x' }),
      () => loadCgroupDeviceProgram({ instructions: new Uint8Array(12), license: 'x' }),
      () => loadCgroupDeviceProgram({ instructions: new Uint8Array(0), license: 'x' }),
      () => loadCgroupDeviceProgram({ instructions: verdict(true), license: 1 as unknown as string }),
      () => attachCgroupDeviceProgram({ cgroupFd: -1, programFd: 0 }),
      () => queryCgroupDevicePrograms({} as { cgroupFd: number }),
      () => openBpfProgramById({ id: 1.5 }),
    ];
    for (const call of bad)
      expect(call).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
