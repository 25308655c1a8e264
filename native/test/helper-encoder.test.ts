// The init program encoder (lib/program.ts): exact bytes, validation, descriptions.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  MountAttr,
  MountFlags,
} from '../lib/constants.js';
import {
  describeOp,
  encodeProgram,
  type InitOp,
  OPCODES,
  opName,
  PROGRAM_VERSION,
  ProgramEncodeError,
  RLIM_INFINITY,
} from '../lib/program.js';

const exec: InitOp = { op: 'exec', args: ['/bin/true'], env: [] };

/** Throws the error encodeProgram throws, for matching. */
function encodeError(ops: readonly unknown[]): ProgramEncodeError {
  try {
    encodeProgram(ops as InitOp[]);
  } catch (error) {
    if (error instanceof ProgramEncodeError) return error;
    throw error;
  }
  throw new Error('encodeProgram accepted the program');
}

describe('encodeProgram', () => {
  it('encodes the header and ops little-endian, exactly', () => {
    const bytes = encodeProgram([{ op: 'mkdir', path: '/a', mode: 0o755 }, exec]);
    expect(bytes.toString('hex')).toBe(
      [
        '4e534950', // "NSIP"
        '02000000', // version 2
        '02000000', // 2 ops
        '0400', // MKDIR
        '0000', // no flags
        '0a000000', // payload: 10 bytes
        '02000000', // path: 2 bytes
        '2f61', // "/a"
        'ed010000', // mode 0755
        '1b00', // EXEC
        '0000',
        '15000000', // payload: 21 bytes
        '01000000', // 1 arg
        '09000000', // 9 bytes
        Buffer.from('/bin/true').toString('hex'),
        '00000000', // no env
      ].join(''),
    );
  });

  it('encodes op flags, u64 values, string lists and empty strings', () => {
    const bytes = encodeProgram([
      {
        op: 'fsmount',
        fstype: 'proc',
        source: '',
        options: ['hidepid=2'],
        target: '/proc',
        attrSet: MountAttr.NOSUID | MountAttr.NODEV | MountAttr.NOEXEC,
        propagation: 0,
        dirs: [],
        links: [],
        targetRealDir: true,
      },
      { op: 'setrlimit', resource: 7, soft: 1024n, hard: RLIM_INFINITY },
      exec,
    ]);
    const fsmount = bytes.subarray(12, 12 + 8 + 54);
    expect(fsmount.toString('hex')).toBe(
      [
        '2700', // FSMOUNT
        '0100', // TARGET_REAL_DIR
        '36000000', // payload: 54 bytes
        '04000000',
        Buffer.from('proc').toString('hex'),
        '00000000', // source: empty
        '01000000', // 1 option
        '09000000',
        Buffer.from('hidepid=2').toString('hex'),
        '05000000',
        Buffer.from('/proc').toString('hex'),
        '0e000000', // MOUNT_ATTR_NOSUID | NODEV | NOEXEC
        '00000000', // propagation: unchanged
        '00000000', // no dirs
        '00000000', // no links
      ].join(''),
    );
    const setrlimit = bytes.subarray(12 + fsmount.length, 12 + fsmount.length + 8 + 20);
    expect(setrlimit.toString('hex')).toBe(
      ['0f00', '0000', '14000000', '07000000', '0004000000000000', 'ffffffffffffffff'].join(''),
    );
  });

  it('accepts bytes as file data, and a number or a bigint as u64 values', () => {
    const withBytes = encodeProgram([{ op: 'writeFile', path: '/f', data: Uint8Array.of(0xff, 0xfe) }, exec]);
    expect(withBytes.subarray(12 + 8 + 6, 12 + 8 + 12).toString('hex')).toBe('02000000fffe');
    const unshare = (flags: bigint | number): InitOp => ({ op: 'unshare', flags });
    expect(encodeProgram([unshare(0x20000), exec])).toEqual(encodeProgram([unshare(0x20000n), exec]));
  });

  it('refuses mount attributes and propagation the kernel would refuse', () => {
    const bind = (fields: Partial<Extract<InitOp, { op: 'bind' }>>): InitOp => ({
      op: 'bind',
      source: '/a',
      target: '/b',
      attrSet: 0,
      attrClr: 0,
      propagation: 0,
      ...fields,
    });
    const problem = (op: InitOp) => {
      try {
        encodeProgram([op, exec]);
        return undefined;
      } catch (error) {
        return (error as ProgramEncodeError).message;
      }
    };
    expect(problem(bind({ attrSet: MountAttr.RDONLY, attrClr: MountAttr.NOSUID }))).toBeUndefined();
    expect(problem(bind({ attrSet: MountAttr.NOATIME }))).toMatch(
      /attrClr an atime mode needs the whole atime field/,
    );
    expect(problem(bind({ attrSet: 0x30, attrClr: MountAttr.ATIME_MASK }))).toMatch(/atime mode 0x30/);
    expect(problem(bind({ attrSet: 0x100000 }))).toMatch(/attrSet has unknown mount attributes 0x100000/);
    expect(problem(bind({ propagation: (MountFlags.PRIVATE | MountFlags.REC) as never }))).toMatch(
      /propagation 0x44000 is not/,
    );
    expect(problem(bind({ source: 'relative' }))).toMatch(/source must be an absolute path/);
    const fsmount = (fields: Partial<Extract<InitOp, { op: 'fsmount' }>>): InitOp => ({
      op: 'fsmount',
      fstype: 'tmpfs',
      source: '',
      options: [],
      target: '/t',
      attrSet: 0,
      propagation: 0,
      dirs: [],
      links: [],
      ...fields,
    });
    expect(problem(fsmount({ fstype: '' }))).toMatch(/fstype must not be empty/);
    expect(problem(fsmount({ dirs: ['a/b'] }))).toMatch(/dirs "a\/b" is not one path component/);
    expect(problem(fsmount({ links: ['a'] }))).toMatch(/links must hold name\/target pairs/);
    expect(problem(fsmount({ links: ['..', 'x'] }))).toMatch(/links "\.\." is not one path component/);
    expect(problem(fsmount({ options: ['=x'] }))).toMatch(/options\[0\] has no name/);
    expect(problem({ op: 'openRoot', path: '/r', attrSet: MountAttr.RDONLY })).toMatch(/attrSet needs bind/);
  });

  it('encodes the ops of create, start and exec, with the PIDFD flag of setns', () => {
    const bytes = encodeProgram([
      { op: 'setns', fd: 5, nstype: CLONE_NEWUTS | CLONE_NEWNET, pidfd: true },
      { op: 'cloneParent' },
      { op: 'joinSessionKeyring', name: 'k' },
      { op: 'checkExec', args: ['sh'], env: [] },
      { op: 'awaitStart', fd: 6 },
      exec,
    ]);
    expect(bytes.subarray(12, bytes.length - (8 + 21)).toString('hex')).toBe(
      [
        '2600', // SETNS
        '0100', // PIDFD
        '08000000',
        '05000000',
        '00000044', // CLONE_NEWUTS | CLONE_NEWNET
        '2800', // CLONE_PARENT
        '0000',
        '00000000', // no payload
        '2b00', // JOIN_SESSION_KEYRING
        '0000',
        '05000000',
        '01000000',
        '6b', // "k"
        '2a00', // CHECK_EXEC
        '0000',
        '0e000000',
        '01000000', // 1 arg
        '02000000',
        '7368', // "sh"
        '00000000', // no env
        '2900', // AWAIT_START
        '0000',
        '04000000',
        '06000000',
      ].join(''),
    );
  });

  it('takes one namespace per fd, and a set of them (the user namespace too) with a pidfd', () => {
    const setns = (nstype: number, pidfd?: boolean): InitOp => ({ op: 'setns', fd: 5, nstype, pidfd });
    for (const nstype of [CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWNET]) {
      expect(() => encodeProgram([setns(nstype), exec])).not.toThrow();
    }
    const all = CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWTIME | CLONE_NEWUSER;
    expect(() => encodeProgram([setns(all | 0x20000 | 0x2000000, true), exec])).not.toThrow();
    expect(encodeError([setns(CLONE_NEWUSER), exec]).message).toMatch(
      /nstype 0x10000000 is not one namespace flag/,
    );
    expect(encodeError([setns(CLONE_NEWUTS | CLONE_NEWNET), exec]).message).toMatch(
      /is not one namespace flag/,
    );
    expect(encodeError([setns(0, true), exec]).message).toMatch(/nstype 0x0 is not a set of namespace flags/);
    expect(encodeError([setns(CLONE_NEWNET | 0x100, true), exec]).field).toBe('nstype');
    expect(encodeError([{ op: 'checkExec', args: [], env: [] }, exec]).field).toBe('args');
  });

  it('keeps the frames of a program in their order: one cloneParent before one awaitStart', () => {
    const clone: InitOp = { op: 'cloneParent' };
    const start: InitOp = { op: 'awaitStart', fd: 5 };
    expect(() => encodeProgram([clone, start, exec])).not.toThrow();
    expect(encodeError([start, clone, exec])).toMatchObject({
      opIndex: 1,
      message: expect.stringMatching(/cloneParent must come before awaitStart \(op 0\)/),
    });
    expect(encodeError([clone, clone, exec]).message).toMatch(
      /op 1 .*: a second cloneParent \(the first is op 0\)/,
    );
    expect(encodeError([start, start, exec]).message).toMatch(/a second awaitStart/);
  });

  it('names the op and the field of what the helper would reject', () => {
    const cases: [unknown[], number, string | undefined, RegExp][] = [
      [
        [{ op: 'mkdir', path: 'relative', mode: 0o755 }, exec],
        0,
        'path',
        /op 0 \(mkdir relative\): path must be an absolute path/,
      ],
      [[{ op: 'mkdir', path: '/a\0b', mode: 0o755 }, exec], 0, 'path', /NUL/],
      [
        [{ op: 'mkdir', path: '/a', mode: 0o10000 }, exec],
        0,
        'mode',
        /mode must be an integer from 0 to 4095/,
      ],
      [
        [{ op: 'sethostname', name: 'x'.repeat(131073) }, exec],
        0,
        'name',
        /131073 bytes long, over the limit of 131072/,
      ],
      [[{ op: 'exec', args: ['/x'], env: Array(65537).fill('A=1') }], 0, 'env', /65537 entries/],
      [[{ op: 'exec', args: [], env: [] }], 0, 'args', /must not be empty/],
      [[{ op: 'exec', args: ['/x', 1], env: [] }], 0, 'args[1]', /must be a string/],
      [[{ op: 'setresuid', uid: 0xffffffff }, exec], 0, 'uid', /uid must be an integer from 0 to 4294967294/],
      [[{ op: 'close', fd: -1 }, exec], 0, 'fd', /fd must be an integer/],
      [[{ op: 'dup2', from: 1.5, to: 3 }, exec], 0, 'from', /from must be an integer/],
      [[{ op: 'keepcaps', on: 1 }, exec], 0, 'on', /must be a boolean/],
      [[{ op: 'ambient', mask: -1n }, exec], 0, 'mask', /must be a bigint from 0 to 2\^64-1/],
      [
        [{ op: 'capset', effective: 1n << 64n, permitted: 0n, inheritable: 0n }, exec],
        0,
        'effective',
        /2\^64-1/,
      ],
      [[{ op: 'setgroups', gids: [1, 2 ** 32] }, exec], 0, 'gids[1]', /from 0 to 4294967295/],
      [[{ op: 'pdeathsig', signal: 65 }, exec], 0, 'signal', /from 0 to 64/],
      [
        [{ op: 'mknod', path: '/f', mode: 0o100644, major: 0, minor: 0 }, exec],
        0,
        'mode',
        /not a char, block or fifo mode/,
      ],
      [
        [{ op: 'bind', source: 'rel', target: '/t', attrSet: 0, attrClr: 0, propagation: 0 }, exec],
        0,
        'source',
        /absolute/,
      ],
      [
        [{ op: 'setattr', path: '/p', attrSet: 0, attrClr: 0, propagation: 0, bindfirst: true }, exec],
        0,
        'bindfirst',
        /is not a field of setattr/,
      ],
      [
        [{ op: 'setattr', path: '/p', attrSet: 0, attrClr: 0, propagation: 0, recursive: 'yes' }, exec],
        0,
        'recursive',
        /must be a boolean/,
      ],
      [[{ op: 'fork' }, exec], 0, 'op', /unknown op "fork"/],
      [[exec, exec], 0, 'op', /exec must be the last op/],
      [[{ op: 'setsid' }], 0, 'op', /the last op must be exec/],
      [[{ op: 'setsid' }, null, exec], 1, undefined, /op 1 \(an unreadable op\): not an object/],
    ];
    for (const [ops, opIndex, field, message] of cases) {
      const error = encodeError(ops);
      expect(error.code).toBe('ERR_NSINIT_PROGRAM');
      expect({ opIndex: error.opIndex, field: error.field }).toEqual({ opIndex, field });
      expect(error.message).toMatch(message);
    }
  });

  it('enforces the program limits', () => {
    expect(encodeError([]).message).toMatch(/has no ops/);
    expect(encodeError(Array(4097).fill(exec)).message).toMatch(/4097 ops, over the limit of 4096/);
    const big: InitOp = { op: 'writeFile', path: '/f', data: 'x'.repeat(131072) };
    const error = encodeError([...Array(32).fill(big), exec]);
    expect(error.opIndex).toBe(31);
    expect(error.message).toMatch(/grows past 4194304 bytes/);
    expect(encodeProgram([...Array(31).fill(big), exec]).length).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
});

describe('opcodes and names', () => {
  it('match the table of PROGRAM.md, name for name', () => {
    const doc = readFileSync(new URL('../PROGRAM.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| (\d+) \| `([A-Z_0-9]+)` \|/gm)];
    const fromDoc = Object.fromEntries(
      rows.map(([, code, name]) => [
        name!.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
        Number(code),
      ]),
    );
    expect(fromDoc).toEqual({ ...OPCODES });
    expect(doc).toMatch(new RegExp(`version:u32 = ${PROGRAM_VERSION}\\b`));
  });

  it('map an opcode back to its op name', () => {
    expect(opName(27)).toBe('exec');
    expect(opName(OPCODES.waitGo)).toBe('waitGo');
    expect(opName(0)).toBeUndefined();
    expect(opName(34)).toBe('unshare');
    expect(opName(39)).toBe('fsmount');
    expect(opName(40)).toBe('cloneParent');
    expect(opName(43)).toBe('joinSessionKeyring');
    expect(opName(44)).toBeUndefined();
  });

  it('export every MS_* flag by name', () => {
    expect(MountFlags.BIND).toBe(0x1000);
    expect(MountFlags.REC | MountFlags.PRIVATE).toBe(0x44000);
  });
});

describe('describeOp', () => {
  const cases: [InitOp, string][] = [
    [
      {
        op: 'fsmount',
        fstype: 'proc',
        source: 'proc',
        options: [],
        target: '/proc',
        attrSet: MountAttr.NOSUID | MountAttr.NOEXEC,
        propagation: 0,
        dirs: [],
        links: [],
      },
      'mount proc on /proc (nosuid, noexec)',
    ],
    [
      {
        op: 'bind',
        source: '/srv',
        target: '/data',
        attrSet: MountAttr.RDONLY | MountAttr.STRICTATIME,
        attrClr: MountAttr.ATIME_MASK,
        propagation: 0,
      },
      'bind /srv on /data (read-only, strictatime)',
    ],
    [
      { op: 'setattr', path: '/', attrSet: 0, attrClr: 0, propagation: MountFlags.PRIVATE },
      'set / attributes private',
    ],
    [
      { op: 'setattr', path: '/proc/sys', attrSet: MountAttr.RDONLY, attrClr: 0, propagation: 0 },
      'set /proc/sys (read-only)',
    ],
    [
      { op: 'openRoot', path: '/r', bind: true, attrSet: MountAttr.RDONLY },
      'bind the root /r onto itself (read-only)',
    ],
    [{ op: 'mknod', path: '/dev/null', mode: 0o020666, major: 1, minor: 3 }, 'mknod /dev/null (char 1:3)'],
    [
      { op: 'setrlimit', resource: 7, soft: 1024n, hard: RLIM_INFINITY },
      'setrlimit RLIMIT_NOFILE soft 1024 hard unlimited',
    ],
    [{ op: 'umask', mask: 0o22 }, 'umask 0022'],
    [{ op: 'exec', args: ['sh', '-c', 'x'], env: [] }, 'exec "sh"'],
    [{ op: 'symlink', target: '/proc/self/fd', path: '/dev/fd' }, 'symlink /dev/fd -> /proc/self/fd'],
    [{ op: 'boundingDrop', mask: 0x2000n }, 'drop capabilities 0x2000 from the bounding set'],
    [{ op: 'setns', fd: 5, nstype: CLONE_NEWNET }, 'join the network namespace behind fd 5'],
    [
      { op: 'setns', fd: 6, nstype: CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID, pidfd: true },
      'enter the uts, network and pid namespaces of the process behind pidfd 6',
    ],
    [
      { op: 'cloneParent' },
      'go on in a new process beside the helper (a child of its parent), in the pid namespace joined',
    ],
    [{ op: 'awaitStart', fd: 7 }, 'report ready, then wait for the start on fd 7'],
    [{ op: 'checkExec', args: ['nginx', '-g'], env: [] }, 'check that "nginx" can be executed'],
    [{ op: 'joinSessionKeyring', name: '_ses.c1' }, 'join the session keyring "_ses.c1"'],
    [{ op: 'joinSessionKeyring', name: '' }, 'join a new anonymous session keyring'],
  ];
  it.each(cases.map(([op, text]) => ({ op, text })))('says $text', ({ op, text }) => {
    expect(describeOp(op)).toBe(text);
  });
});
