// The helper's decoder and go frame, run as a real process. Nothing here may run an op
// on the host: every program is either invalid by construction or harmless (exec of
// /bin/true after the go frame).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MountAttr, MountFlags } from '../lib/constants.js';
import { encodeProgram, type InitOp, OPCODES, RLIM_INFINITY } from '../lib/program.js';
import { decodeChildReport } from '../lib/report.js';
import {
  assertHelperBuilt,
  contextFrame,
  OP_INDEX_NONE,
  onlyError,
  runHelper,
  syncFrame,
} from './helper-harness.js';

beforeAll(assertHelperBuilt);

const u16 = (value: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
};
const u32 = (value: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
};
const u64 = (value: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return b;
};
const str = (text: string | Buffer) => {
  const bytes = Buffer.from(text);
  return Buffer.concat([u32(bytes.length), bytes]);
};
const strs = (items: string[]) => Buffer.concat([u32(items.length), ...items.map((item) => str(item))]);
const rawOp = (opcode: number, payload: Buffer, flags = 0) =>
  Buffer.concat([u16(opcode), u16(flags), u32(payload.length), payload]);
const header = (count: number, version = 2, magic = 'NSIP') =>
  Buffer.concat([Buffer.from(magic, 'latin1'), u32(version), u32(count)]);
const rawProgram = (ops: Buffer[], count = ops.length) => Buffer.concat([header(count), ...ops]);
const execTrue = rawOp(OPCODES.exec, Buffer.concat([u32(1), str('/bin/true'), u32(0)]));

/** Exercises most field kinds and op flags; never run as a whole (only its truncations are). */
const RICH_PROGRAM: InitOp[] = [
  { op: 'dumpable', on: false },
  { op: 'waitGo', fd: 4 },
  {
    op: 'fsmount',
    fstype: 'proc',
    source: 'proc',
    options: ['hidepid=2'],
    target: '/proc',
    attrSet: MountAttr.NOSUID | MountAttr.NODEV,
    propagation: 0,
    dirs: ['a'],
    links: ['b', 'a'],
    targetRealDir: true,
  },
  {
    op: 'bind',
    source: '/srv',
    target: '/srv',
    attrSet: MountAttr.RDONLY | MountAttr.NOATIME,
    attrClr: MountAttr.ATIME_MASK,
    propagation: MountFlags.SLAVE,
    sourceProcRoot: true,
    recursive: true,
    attrRecursive: true,
  },
  { op: 'mkdir', path: '/dev/pts', mode: 0o755 },
  { op: 'mknod', path: '/dev/null', mode: 0o020666, major: 1, minor: 3 },
  { op: 'symlink', target: '/proc/self/fd', path: '/dev/fd', ignoreExisting: true },
  { op: 'setrlimit', resource: 7, soft: 1024n, hard: RLIM_INFINITY },
  { op: 'setgroups', gids: [1, 2, 3] },
  { op: 'capset', effective: 1n, permitted: 3n, inheritable: 0n },
  {
    op: 'setattr',
    path: '/sys',
    attrSet: MountAttr.RDONLY,
    attrClr: 0,
    propagation: 0,
    bindFirst: true,
    recursive: true,
  },
  { op: 'openRoot', path: '/', bind: true, attrSet: MountAttr.RDONLY, noSymlinks: true },
  { op: 'pivotRoot' },
  { op: 'writeFile', path: '/proc/sys/net/ipv4/ip_forward', data: '1' },
  { op: 'setns', fd: 5, nstype: 0x6c000000, pidfd: true },
  { op: 'cloneParent' },
  { op: 'joinSessionKeyring', name: '_ses.c1' },
  { op: 'checkExec', args: ['sh', '-c', 'true'], env: ['PATH=/bin'] },
  { op: 'awaitStart', fd: 6 },
  { op: 'exec', args: ['/bin/sh', '-c', 'true'], env: ['PATH=/bin', 'HOME=/'] },
];

async function expectRejected(program: Uint8Array, detail?: RegExp) {
  const error = onlyError(await runHelper(program));
  expect(error.opIndex).toBe(OP_INDEX_NONE);
  expect(error.opcode).toBe(0);
  expect(error.errno).toBe(0);
  if (detail) expect(error.detail).toMatch(detail);
  else expect(error.detail).not.toBe('');
  return error;
}

describe('the helper decoder', () => {
  it('runs a minimal valid program: exec /bin/true exits 0 and reports nothing', async () => {
    const run = await runHelper(encodeProgram([{ op: 'exec', args: ['/bin/true'], env: [] }]));
    expect(run).toMatchObject({ status: 0, signal: null, stderr: '' });
    expect(run.report.length).toBe(0);
  });

  it('rejects every truncation of a valid program', { timeout: 120_000 }, async () => {
    const program = encodeProgram(RICH_PROGRAM);
    const lengths = Array.from({ length: program.length }, (_, length) => length);
    // A few at a time: each is a process, and the machine is shared.
    for (let start = 0; start < lengths.length; start += 4) {
      await Promise.all(
        lengths.slice(start, start + 4).map((length) => expectRejected(program.subarray(0, length))),
      );
    }
  });

  it('rejects random bytes', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        await expectRejected(bytes);
      }),
      { seed: 0x5eed, numRuns: 200 },
    );
  });

  it('rejects random ops behind a valid header', { timeout: 120_000 }, async () => {
    // Real opcodes with random flags and payloads reach deep into the field decoders. The
    // header announces one op more than given, so no program here can ever be valid.
    const randomOp = fc
      .record({
        opcode: fc.integer({ min: 1, max: 43 }),
        flags: fc.constantFrom(0, 0, 1, 2, 4, 0x8000),
        payload: fc.uint8Array({ maxLength: 48 }),
      })
      .map(({ opcode, flags, payload }) => rawOp(opcode, Buffer.from(payload), flags));
    await fc.assert(
      fc.asyncProperty(fc.array(randomOp, { maxLength: 6 }), async (ops) => {
        await expectRejected(rawProgram(ops, ops.length + 1));
      }),
      { seed: 0xc0de, numRuns: 200 },
    );
  });

  it('rejects a bad magic, version or op count', async () => {
    const valid = encodeProgram([{ op: 'exec', args: ['/bin/true'], env: [] }]);
    await expectRejected(Buffer.concat([Buffer.from('NSIX'), valid.subarray(4)]), /magic/);
    await expectRejected(Buffer.concat([header(1, 1), valid.subarray(12)]), /version 1 is not supported/);
    await expectRejected(header(0), /op count 0/);
    await expectRejected(Buffer.concat([header(4097), valid.subarray(12)]), /op count 4097/);
    await expectRejected(Buffer.alloc(0), /truncated/);
  });

  it('rejects lengths and counts past the limits before reading them', async () => {
    await expectRejected(
      rawProgram([rawOp(OPCODES.mkdir, Buffer.concat([u32(131073), u32(0o755)])), execTrue]),
      /131073 bytes exceeds/,
    );
    await expectRejected(
      rawProgram([rawOp(OPCODES.exec, Buffer.concat([u32(65537), str('/x'), u32(0)]))]),
      /65537 entries exceed/,
    );
    await expectRejected(
      rawProgram([rawOp(OPCODES.exec, Buffer.concat([u32(1000), str('/x'), u32(0)]))]),
      /cannot fit/,
    );
    await expectRejected(
      rawProgram([rawOp(OPCODES.setsid, Buffer.alloc(0)), execTrue]).subarray(0, 16),
      /2 ops cannot fit/,
    );
    const hugePayload = Buffer.concat([u16(OPCODES.setsid), u16(0), u32(0xffff_ffff)]);
    await expectRejected(rawProgram([hugePayload, execTrue]), /payload of 4294967295 bytes/);
  });

  it('rejects a program file larger than 4 MiB with EFBIG', async () => {
    const error = onlyError(await runHelper(Buffer.alloc(4 * 1024 * 1024 + 1)));
    expect(error).toMatchObject({ opIndex: OP_INDEX_NONE, opcode: 0, errno: 27 });
    expect(error.detail).toMatch(/4194305 bytes exceed/);
  });

  it('rejects NUL bytes in strings', async () => {
    await expectRejected(
      rawProgram([rawOp(OPCODES.mkdir, Buffer.concat([str('/a\0b'), u32(0o755)])), execTrue]),
      /NUL/,
    );
    await expectRejected(
      rawProgram([rawOp(OPCODES.exec, Buffer.concat([u32(1), str('/bin/true'), u32(1), str('A=\0')]))]),
      /NUL/,
    );
  });

  it('rejects unknown opcodes and flag bits', async () => {
    for (const opcode of [0, 44, 0xffff]) {
      await expectRejected(
        rawProgram([rawOp(opcode, Buffer.alloc(0)), execTrue]),
        new RegExp(`unknown opcode ${opcode}`),
      );
    }
    await expectRejected(
      rawProgram([rawOp(OPCODES.setsid, Buffer.alloc(0), 1), execTrue]),
      /unknown flag bits 0x1/,
    );
    await expectRejected(
      rawProgram([rawOp(OPCODES.setns, Buffer.concat([u32(5), u32(0x40000000)]), 2), execTrue]),
      /SETNS: unknown flag bits 0x2/,
    );
    const setattr = Buffer.concat([str('/'), u32(0), u32(0), u32(0)]);
    await expectRejected(
      rawProgram([rawOp(OPCODES.setattr, setattr, 8), execTrue]),
      /SETATTR: unknown flag bits 0x8/,
    );
  });

  it('rejects payloads with bytes left over or missing, and bytes after the last op', async () => {
    await expectRejected(
      rawProgram([rawOp(OPCODES.setsid, Buffer.alloc(1)), execTrue]),
      /SETSID: 1 unexpected bytes/,
    );
    await expectRejected(
      rawProgram([rawOp(OPCODES.umask, Buffer.alloc(2)), execTrue]),
      /UMASK mask: truncated/,
    );
    await expectRejected(
      Buffer.concat([rawProgram([execTrue]), Buffer.alloc(1)]),
      /program: 1 unexpected bytes/,
    );
  });

  it('rejects values out of range', async () => {
    const cases: [Buffer, RegExp][] = [
      [rawOp(OPCODES.mkdir, Buffer.concat([str('relative'), u32(0o755)])), /not absolute/],
      [
        rawOp(OPCODES.mkdir, Buffer.concat([str('/a'), u32(0o10000)])),
        /MKDIR mode: 4096 is above the limit of 4095/,
      ],
      [rawOp(OPCODES.close, u32(0x8000_0000)), /CLOSE fd: 2147483648 is above/],
      [rawOp(OPCODES.setresuid, u32(0xffff_ffff)), /SETRESUID uid/],
      [rawOp(OPCODES.keepcaps, u32(2)), /KEEPCAPS on/],
      [rawOp(OPCODES.pdeathsig, u32(65)), /PDEATHSIG signal/],
      [rawOp(OPCODES.setrlimit, Buffer.concat([u32(16), u64(0n), u64(0n)])), /SETRLIMIT resource/],
      [
        rawOp(OPCODES.mknod, Buffer.concat([str('/x'), u32(0o100644), u32(0), u32(0)])),
        /not a device or fifo mode/,
      ],
      [rawOp(OPCODES.mknod, Buffer.concat([str('/x'), u32(0o020666), u32(0x1000), u32(0)])), /MKNOD major/],
    ];
    for (const [op, detail] of cases) await expectRejected(rawProgram([op, execTrue]), detail);
  });

  it('rejects rules that span fields and ops', async () => {
    const bind = (attrSet: number, attrClr: number, propagation: number) =>
      rawOp(
        OPCODES.bind,
        Buffer.concat([str('/s'), str('/t'), u32(attrSet), u32(attrClr), u32(propagation)]),
      );
    await expectRejected(rawProgram([bind(0x10, 0, 0), execTrue]), /needs the whole atime field cleared/);
    await expectRejected(rawProgram([bind(0x30, 0x70, 0), execTrue]), /atime mode 0x30/);
    await expectRejected(rawProgram([bind(0x400, 0, 0), execTrue]), /unknown mount attributes 0x400/);
    await expectRejected(rawProgram([bind(0, 0, 0x44000), execTrue]), /propagation 0x44000 is not one of/);
    const fsmount = (dirs: string[], links: string[]) =>
      rawOp(
        OPCODES.fsmount,
        Buffer.concat([str('tmpfs'), str(''), u32(0), str('/t'), u32(0), u32(0), strs(dirs), strs(links)]),
      );
    await expectRejected(
      rawProgram([fsmount(['a/b'], []), execTrue]),
      /dir "a\/b" is not one path component/,
    );
    await expectRejected(rawProgram([fsmount([], ['x'])]), /links holds 1 strings/);
    await expectRejected(
      rawProgram([fsmount([], ['..', 'x']), execTrue]),
      /link "\.\." is not one path component/,
    );
    await expectRejected(rawProgram([rawOp(OPCODES.exec, Buffer.concat([u32(0), u32(0)]))]), /args is empty/);
    await expectRejected(
      rawProgram([rawOp(OPCODES.checkExec, Buffer.concat([u32(0), u32(0)])), execTrue]),
      /op 0 CHECK_EXEC: args is empty/,
    );
    const setns = (nstype: number, flags = 0) =>
      rawOp(OPCODES.setns, Buffer.concat([u32(5), u32(nstype)]), flags);
    for (const nstype of [0, 0x10000000, 0x44000000, 0x1]) {
      await expectRejected(
        rawProgram([setns(nstype), execTrue]),
        new RegExp(`SETNS: nstype 0x${nstype.toString(16)} is not one namespace flag`),
      );
    }
    for (const nstype of [0, 0x40000001]) {
      await expectRejected(
        rawProgram([setns(nstype, 1), execTrue]),
        new RegExp(`SETNS: nstype 0x${nstype.toString(16)} is not a set of namespace flags`),
      );
    }
    const cloneParent = rawOp(OPCODES.cloneParent, Buffer.alloc(0));
    const awaitStart = rawOp(OPCODES.awaitStart, u32(5));
    await expectRejected(
      rawProgram([awaitStart, cloneParent, execTrue]),
      /program: CLONE_PARENT at op 1 comes after AWAIT_START at op 0/,
    );
    await expectRejected(
      rawProgram([cloneParent, cloneParent, execTrue]),
      /program: a second CLONE_PARENT at op 1 \(the first is op 0\)/,
    );
    await expectRejected(rawProgram([awaitStart, awaitStart, execTrue]), /a second AWAIT_START at op 1/);
    await expectRejected(rawProgram([execTrue, execTrue]), /EXEC at op 0 is not the last op/);
    await expectRejected(rawProgram([rawOp(OPCODES.setsid, Buffer.alloc(0))]), /the last op must be EXEC/);
  });

  it('reads the program from a regular file only', async () => {
    const error = onlyError(
      await runHelper(encodeProgram([{ op: 'exec', args: ['/bin/true'], env: [] }]), { argv: ['0', '4'] }),
    );
    expect(error).toMatchObject({ opIndex: OP_INDEX_NONE, opcode: 0, errno: 22 });
    expect(error.detail).toMatch(/program fd 0: not a regular file/);
  });

  it('keeps a detail valid UTF-8 whatever bytes the program held', async () => {
    const path = Buffer.concat([Buffer.from('relative-'), Buffer.from([0xff, 0xfe]), Buffer.from('-ü')]);
    const error = await expectRejected(
      rawProgram([rawOp(OPCODES.mkdir, Buffer.concat([str(path), u32(0o755)])), execTrue]),
    );
    expect(error.detail).toContain('relative-??-ü');
  });
});

describe('the helper command line', () => {
  const valid = encodeProgram([{ op: 'exec', args: ['/bin/true'], env: [] }]);
  it.each([
    [[]],
    [['3']],
    [['x', '4']],
    [['3', '3']],
    [['-1', '4']],
    [['03', '4']],
    [['3', '4', '5']],
    [['3', '99']],
  ])('exits 2 with usage on stderr and no report for argv %j', async (argv) => {
    const run = await runHelper(valid, { argv });
    expect(run).toMatchObject({ status: 2, signal: null });
    expect(run.stderr).toMatch(/nsinit-init/);
    expect(run.report.length).toBe(0);
  });
});

describe('WAIT_GO', () => {
  const program = encodeProgram([
    { op: 'waitGo', fd: 4 },
    { op: 'exec', args: ['/bin/true'], env: [] },
  ]);

  async function expectBadGoFrame(go: Buffer, detail: RegExp) {
    const error = onlyError(await runHelper(program, { go }));
    expect(error).toMatchObject({ opIndex: OP_INDEX_NONE, opcode: OPCODES.waitGo, errno: 0 });
    expect(error.detail).toMatch(detail);
  }

  it('goes on after one valid CONTEXT frame and EOF', async () => {
    for (const entries of [
      [],
      [
        ['network', 'veth0'],
        ['', ''],
      ],
    ] as const) {
      const run = await runHelper(program, { go: contextFrame(entries) });
      expect(run).toMatchObject({ status: 0, signal: null });
      expect(run.report.length).toBe(0);
    }
  });

  it('accepts the largest frame the limits allow', async () => {
    const big = 'k'.repeat(4096);
    const entries = Array.from({ length: 15 }, (_, i) => [`${i}`, big] as const);
    const run = await runHelper(program, { go: contextFrame(entries) });
    expect(run).toMatchObject({ status: 0, signal: null });
  });

  it('fails when the parent closes the channel without a frame', async () => {
    await expectBadGoFrame(Buffer.alloc(0), /without one/);
  });

  it('fails on garbage, truncation and trailing bytes', async () => {
    const frame = contextFrame([['key', 'value']]);
    await expectBadGoFrame(Buffer.from('garbage that is not a frame'), /magic/);
    for (const length of [1, 11, 12, frame.length - 1])
      await expectBadGoFrame(frame.subarray(0, length), /truncated/);
    await expectBadGoFrame(Buffer.concat([frame, Buffer.alloc(1)]), /unexpected bytes/);
    await expectBadGoFrame(Buffer.concat([frame, frame]), /unexpected bytes/);
  });

  it('checks the frame header strictly', async () => {
    const payload = u32(0);
    await expectBadGoFrame(syncFrame(2, payload), /type 2 is not CONTEXT/);
    await expectBadGoFrame(syncFrame(1, payload, 1), /reserved field is 1/);
    const oversize = syncFrame(1, payload);
    oversize.writeUInt32LE(65537, 8);
    await expectBadGoFrame(oversize, /payload of 65537 bytes exceeds/);
  });

  it('checks the context strictly', async () => {
    await expectBadGoFrame(syncFrame(1, u32(257)), /257 entries exceed the limit of 256/);
    await expectBadGoFrame(
      syncFrame(1, Buffer.concat([u32(1), str('k'.repeat(4097)), str('v')])),
      /context key: string of 4097 bytes/,
    );
    await expectBadGoFrame(
      syncFrame(1, Buffer.concat([u32(1), str('k'), str('v\0')])),
      /context value: string contains a NUL/,
    );
    await expectBadGoFrame(
      syncFrame(1, Buffer.concat([u32(1), str('k'), str('v'), Buffer.alloc(1)])),
      /context: 1 unexpected bytes/,
    );
    await expectBadGoFrame(
      syncFrame(1, Buffer.concat([u32(2), str('k'), str('v')])),
      /context key: truncated/,
    );
  });

  it('reports a read error as the op failing, with its errno', async () => {
    const error = onlyError(
      await runHelper(
        encodeProgram([
          { op: 'waitGo', fd: 9 },
          { op: 'exec', args: ['/bin/true'], env: [] },
        ]),
      ),
    );
    expect(error).toMatchObject({ opIndex: 0, opcode: OPCODES.waitGo, errno: 9 });
    expect(error.detail).toBe('read the go frame from fd 9');
  });

  it('leaves none of its own fds to the command: exec closes the report channel', async () => {
    const run = await runHelper(
      encodeProgram([
        { op: 'waitGo', fd: 4 },
        { op: 'exec', args: ['/bin/ls', '-l', '/proc/self/fd'], env: [] },
      ]),
      { go: contextFrame([]) },
    );
    expect(run.status).toBe(0);
    expect(decodeChildReport(run.report)).toBeNull();
    const fds = new Map([...run.stdout.matchAll(/ (\d+) -> (.*)$/gm)].map((m) => [Number(m[1]), m[2]]));
    // The report socket was fd 4; the program file was fd 3, and the helper's root fd took
    // 3 once the program was read. Now 3 is only ls's own directory fd.
    expect(fds.has(4)).toBe(false);
    expect(fds.get(3)).toMatch(/^\/proc\/\d+\/fd$/);
  });
});
