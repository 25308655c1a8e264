// The device policy a rule list leaves (checked against the v1 kernel's own reading of
// the same writes) and the eBPF program built from it, instruction by instruction, and
// by running it on a small interpreter of the instructions it uses.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACCESS_MKNOD,
  ACCESS_READ,
  ACCESS_WRITE,
  CgroupError,
  type CgroupManager,
  createCgroupManager,
  DEFAULT_ALLOWED_DEVICES,
  type DevicePolicy,
  type DeviceRule,
  detectCgroupLayout,
  deviceProgram,
  deviceRulesPolicy,
  encodeBpfProgram,
  resourcesFromOci,
} from '../src/index.js';

const rule = (
  allow: boolean,
  type: DeviceRule['type'],
  major: number | null,
  minor: number | null,
  access: string,
): DeviceRule => ({
  allow,
  type,
  major,
  minor,
  access,
});
const DENY_ALL = rule(false, 'a', null, null, 'rwm');
const ALLOW_ALL = rule(true, 'a', null, null, 'rwm');
const R = ACCESS_READ;
const W = ACCESS_WRITE;
const M = ACCESS_MKNOD;

describe('deviceRulesPolicy', () => {
  it('starts from allow-all, and a rule for all devices resets the default and the exceptions', () => {
    expect(deviceRulesPolicy([])).toEqual({ defaultAllow: true, exceptions: [] });
    expect(deviceRulesPolicy([rule(false, 'c', 1, 3, 'w'), DENY_ALL])).toEqual({
      defaultAllow: false,
      exceptions: [],
    });
    expect(deviceRulesPolicy([DENY_ALL, rule(true, 'c', 1, 3, 'rw'), ALLOW_ALL])).toEqual({
      defaultAllow: true,
      exceptions: [],
    });
  });

  it('adds the accesses of rules against the default, and takes those of rules like it from the same device only', () => {
    expect(
      deviceRulesPolicy([
        DENY_ALL,
        rule(true, 'c', 1, 3, 'r'),
        rule(true, 'c', 1, 3, 'w'), // merged into the exception for c 1:3
        rule(true, 'c', 136, null, 'rwm'),
        rule(false, 'c', 1, 3, 'r'), // taken from c 1:3
        rule(false, 'c', 136, 1, 'rwm'), // not the same device as c 136:*: no change
        rule(true, 'b', 8, 0, 'm'),
        rule(false, 'b', 8, 0, 'm'), // nothing left: the exception goes
      ]),
    ).toEqual({
      defaultAllow: false,
      exceptions: [
        { type: 'c', major: 1, minor: 3, access: W },
        { type: 'c', major: 136, minor: null, access: R | W | M },
      ],
    });
    expect(deviceRulesPolicy([rule(false, 'c', 1, 5, 'rw')])).toEqual({
      defaultAllow: true,
      exceptions: [{ type: 'c', major: 1, minor: 5, access: R | W }],
    });
  });

  it('refuses a rule the kernel would refuse', () => {
    expect(() => deviceRulesPolicy([rule(true, 'c', 1, 3, 'rx')])).toThrow(CgroupError);
    expect(() => deviceRulesPolicy([rule(true, 'c', 4096, 3, 'r')])).toThrow(
      'device rule "c 4096:3 r": major 4096 is not a Linux device major (0-4095)',
    );
    expect(() => deviceRulesPolicy([rule(true, 'b', 8, -1, 'r')])).toThrow(
      'minor -1 is not a Linux device minor',
    );
  });
});

// ---------------------------------------------------------------------------------------
// The same rules written to a real v1 devices cgroup: devices.list shows the kernel's
// exceptions under deny-all (under allow-all it shows only "a *:* rwm").

const devicesHierarchy = detectCgroupLayout().v1.find((h) => h.controllers.includes('devices'));
const made: CgroupManager[] = [];
afterEach(async () => {
  for (const cgroup of made.splice(0)) {
    const directory = cgroup.paths.v1.devices!;
    await cgroup.destroy();
    expect(existsSync(directory)).toBe(false);
  }
});

function formatPolicy(policy: DevicePolicy): string {
  if (policy.defaultAllow) return 'a *:* rwm\n';
  const access = (bits: number) => `${bits & R ? 'r' : ''}${bits & W ? 'w' : ''}${bits & M ? 'm' : ''}`;
  const number = (n: number | null) => (n === null ? '*' : String(n));
  return policy.exceptions
    .map((e) => `${e.type} ${number(e.major)}:${number(e.minor)} ${access(e.access)}\n`)
    .join('');
}

describe.skipIf(!devicesHierarchy || process.getuid?.() !== 0)(
  'deviceRulesPolicy against the v1 devices controller',
  () => {
    const cases: DeviceRule[][] = [
      [DENY_ALL, ...DEFAULT_ALLOWED_DEVICES],
      [
        DENY_ALL,
        rule(true, 'c', 1, 3, 'r'),
        rule(true, 'c', 1, 3, 'w'),
        rule(false, 'c', 1, 3, 'r'),
        rule(true, 'b', 8, null, 'm'),
      ],
      [
        DENY_ALL,
        rule(true, 'c', null, null, 'm'),
        rule(true, 'c', 5, null, 'rw'),
        rule(false, 'c', 5, 1, 'rw'),
        rule(true, 'c', 5, 1, 'r'),
      ],
      [rule(false, 'c', 1, 3, 'w'), rule(true, 'c', 1, 3, 'w')],
      [
        DENY_ALL,
        rule(true, 'c', 1, 3, 'r'),
        rule(true, 'c', 1, 3, 'm'),
        rule(true, 'c', 1, null, 'w'),
        rule(true, 'c', 1, 3, 'w'),
      ],
      [DENY_ALL, rule(true, 'c', 1, 3, 'rwm'), ALLOW_ALL, DENY_ALL, rule(true, 'c', 1, 5, 'm')],
      // What a config without linux.resources gets, with its one device node (/dev/fuse).
      resourcesFromOci(undefined, [{ type: 'c', major: 10, minor: 229 }]).devices!,
    ];
    it.each(cases.map((rules, index) => [index, rules] as const))(
      'case %i reads as the kernel reads it',
      async (_, rules) => {
        // Only the v1 devices hierarchy: the rules are written there, in order.
        const layout = { mode: 'v1' as const, v1: [devicesHierarchy!], unified: null };
        const cgroup = await createCgroupManager({
          name: `nsinit-test-${randomBytes(4).toString('hex')}`,
          layout,
        });
        made.push(cgroup);
        await cgroup.set({ devices: rules });
        expect(formatPolicy(deviceRulesPolicy(rules))).toBe(
          readFileSync(`${cgroup.paths.v1.devices}/devices.list`, 'utf8'),
        );
      },
    );
  },
);

// ---------------------------------------------------------------------------------------
// The program. The test decodes the bytes on its own, so the encoding is checked too.

const REGISTER = (n: number) => `r${n}`;

/** One instruction as assembly text, from its 8 bytes (little-endian host). */
function disassemble(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    const code = view.getUint8(at);
    const dst = REGISTER(view.getUint8(at + 1) & 0xf);
    const src = REGISTER(view.getUint8(at + 1) >> 4);
    const offset = view.getInt16(at + 2, true);
    const imm = view.getInt32(at + 4, true);
    const text = new Map<number, string>([
      [0x61, `${dst} = *(u32 *)(${src} + ${offset})`],
      [0xbc, `w${dst.slice(1)} = w${src.slice(1)}`],
      [0xb4, `w${dst.slice(1)} = ${imm}`],
      [0x54, `w${dst.slice(1)} &= ${imm}`],
      [0x74, `w${dst.slice(1)} >>= ${imm}`],
      [0x15, `if ${dst} == ${imm} goto +${offset}`],
      [0x55, `if ${dst} != ${imm} goto +${offset}`],
      [0x95, 'exit'],
    ]);
    out.push(text.get(code) ?? `unknown opcode 0x${code.toString(16)}`);
  }
  return out;
}

const PROLOGUE = [
  'r2 = *(u32 *)(r1 + 0)',
  'w3 = w2',
  'w3 &= 65535',
  'w4 = w2',
  'w4 >>= 16',
  'r5 = *(u32 *)(r1 + 4)',
  'r6 = *(u32 *)(r1 + 8)',
];

describe('deviceProgram', () => {
  const program = (policy: DevicePolicy) => disassemble(encodeBpfProgram(deviceProgram(policy), 'LE'));

  it('is a bare verdict when there are no exceptions', () => {
    expect(program({ defaultAllow: true, exceptions: [] })).toEqual(['w0 = 1', 'exit']);
    expect(program({ defaultAllow: false, exceptions: [] })).toEqual(['w0 = 0', 'exit']);
  });

  it('under deny-all, allows a request whose accesses an exception all grants', () => {
    expect(
      program({
        defaultAllow: false,
        exceptions: [
          { type: 'c', major: 1, minor: 3, access: R | W | M },
          { type: 'c', major: 136, minor: null, access: R | W },
          { type: 'b', major: null, minor: null, access: M },
        ],
      }),
    ).toEqual([
      ...PROLOGUE,
      // c 1:3 rwm: any access
      'if r3 != 2 goto +4',
      'if r5 != 1 goto +3',
      'if r6 != 3 goto +2',
      'w0 = 1',
      'exit',
      // c 136:* rw: nothing but r and w (mknod is bit 1)
      'if r3 != 2 goto +6',
      'if r5 != 136 goto +5',
      'w7 = w4',
      'w7 &= 1',
      'if r7 != 0 goto +2',
      'w0 = 1',
      'exit',
      // b *:* m: nothing but mknod
      'if r3 != 1 goto +5',
      'w7 = w4',
      'w7 &= 6',
      'if r7 != 0 goto +2',
      'w0 = 1',
      'exit',
      'w0 = 0',
      'exit',
    ]);
  });

  it('under allow-all, denies a request sharing any access with an exception', () => {
    expect(
      program({
        defaultAllow: true,
        exceptions: [
          { type: 'c', major: 1, minor: 5, access: W },
          { type: 'b', major: 8, minor: null, access: R | W | M },
        ],
      }),
    ).toEqual([
      ...PROLOGUE,
      'if r3 != 2 goto +7',
      'if r5 != 1 goto +6',
      'if r6 != 5 goto +5',
      'w7 = w4',
      'w7 &= 4',
      'if r7 == 0 goto +2',
      'w0 = 0',
      'exit',
      'if r3 != 1 goto +3',
      'if r5 != 8 goto +2',
      'w0 = 0',
      'exit',
      'w0 = 1',
      'exit',
    ]);
  });

  it('encodes struct bpf_insn in either byte order', () => {
    const insn = [{ code: 0x55, dst: 3, src: 0, offset: 4, imm: 0x12345 }];
    expect([...encodeBpfProgram(insn, 'LE')]).toEqual([0x55, 0x03, 0x04, 0x00, 0x45, 0x23, 0x01, 0x00]);
    expect([...encodeBpfProgram(insn, 'BE')]).toEqual([0x55, 0x30, 0x00, 0x04, 0x00, 0x01, 0x23, 0x45]);
  });
});

// ---------------------------------------------------------------------------------------
// Running programs: every request against an independent reading of the kernel's rules.

/** The instructions deviceProgram emits, executed. */
function run(
  bytes: Uint8Array,
  request: { type: number; access: number; major: number; minor: number },
): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const context = [(request.access << 16) | request.type, request.major, request.minor];
  const registers = new Array<number>(11).fill(0);
  for (let pc = 0, steps = 0; steps < 10_000; steps++) {
    const at = pc * 8;
    const code = view.getUint8(at);
    const dst = view.getUint8(at + 1) & 0xf;
    const src = view.getUint8(at + 1) >> 4;
    const offset = view.getInt16(at + 2, true);
    const imm = view.getInt32(at + 4, true);
    pc += 1;
    if (code === 0x61) registers[dst] = context[offset / 4]! >>> 0;
    else if (code === 0xbc) registers[dst] = registers[src]! >>> 0;
    else if (code === 0xb4) registers[dst] = imm >>> 0;
    else if (code === 0x54) registers[dst] = (registers[dst]! & imm) >>> 0;
    else if (code === 0x74) registers[dst] = registers[dst]! >>> imm;
    else if (code === 0x15) pc += registers[dst] === imm ? offset : 0;
    else if (code === 0x55) pc += registers[dst] !== imm ? offset : 0;
    else if (code === 0x95) return registers[0]!;
    else throw new Error(`opcode 0x${code.toString(16)}`);
  }
  throw new Error('no exit');
}

/** security/device_cgroup.c: match_exception (deny-all) and match_exception_partial (allow-all). */
function kernelAllows(
  policy: DevicePolicy,
  request: { type: number; access: number; major: number; minor: number },
): boolean {
  const matches = policy.exceptions.filter(
    (e) =>
      (e.type === 'b' ? 1 : 2) === request.type &&
      (e.major === null || e.major === request.major) &&
      (e.minor === null || e.minor === request.minor),
  );
  if (policy.defaultAllow) return !matches.some((e) => (request.access & e.access) !== 0);
  return matches.some((e) => (request.access & ~e.access) === 0);
}

describe('the program of the default rules (a config without linux.resources)', () => {
  // Built in each test, so that a mapper giving no rules fails the tests rather than the file.
  const program = () =>
    encodeBpfProgram(deviceProgram(deviceRulesPolicy(resourcesFromOci(undefined).devices ?? [])), 'LE');
  const BLOCK = 1;
  const CHAR = 2;
  const cases: [string, boolean, { type: number; access: number; major: number; minor: number }][] = [
    ['mknod of a loop device node', true, { type: BLOCK, access: M, major: 7, minor: 0 }],
    ['read and write of loop0', false, { type: BLOCK, access: R | W, major: 7, minor: 0 }],
    ['read of loop0', false, { type: BLOCK, access: R, major: 7, minor: 0 }],
    ['write of zram0', false, { type: BLOCK, access: W, major: 253, minor: 0 }],
    ['read of a virtio disk', false, { type: BLOCK, access: R, major: 254, minor: 0 }],
    ['read and write of /dev/mem', false, { type: CHAR, access: R | W, major: 1, minor: 1 }],
    ['read of /dev/tty1', false, { type: CHAR, access: R, major: 4, minor: 1 }],
    ['read and write of /dev/null', true, { type: CHAR, access: R | W, major: 1, minor: 3 }],
    ['read of /dev/zero', true, { type: CHAR, access: R, major: 1, minor: 5 }],
    ['write of /dev/full', true, { type: CHAR, access: W, major: 1, minor: 7 }],
    ['read of /dev/random', true, { type: CHAR, access: R, major: 1, minor: 8 }],
    ['mknod, read and write of /dev/urandom', true, { type: CHAR, access: R | W | M, major: 1, minor: 9 }],
    ['read and write of /dev/tty', true, { type: CHAR, access: R | W, major: 5, minor: 0 }],
    ['read and write of a pty', true, { type: CHAR, access: R | W, major: 136, minor: 4 }],
    ['read and write of /dev/ptmx', true, { type: CHAR, access: R | W, major: 5, minor: 2 }],
    ['read and write of /dev/net/tun', true, { type: CHAR, access: R | W, major: 10, minor: 200 }],
    ['read of /dev/fuse (not a default)', false, { type: CHAR, access: R, major: 10, minor: 229 }],
  ];
  it.each(cases)('%s: allowed %s', (_, allowed, request) => {
    expect(run(program(), request)).toBe(allowed ? 1 : 0);
  });
});

describe('deviceProgram decisions', () => {
  const policies: [string, DeviceRule[]][] = [
    ['the default container rules', [DENY_ALL, ...DEFAULT_ALLOWED_DEVICES]],
    [
      'a blacklist',
      [rule(false, 'c', 1, 5, 'w'), rule(false, 'b', 8, null, 'rwm'), rule(false, 'c', 10, 200, 'm')],
    ],
    [
      'partial accesses',
      [DENY_ALL, rule(true, 'c', 1, null, 'r'), rule(true, 'c', 1, 3, 'w'), rule(true, 'b', null, 0, 'rm')],
    ],
  ];
  it.each(policies)('match the kernel rules for every request: %s', (_, rules) => {
    const policy = deviceRulesPolicy(rules);
    const bytes = encodeBpfProgram(deviceProgram(policy), 'LE');
    let checked = 0;
    for (const type of [1, 2])
      for (const access of [1, 2, 3, 4, 5, 6, 7])
        for (const major of [0, 1, 5, 8, 10, 136, 4095])
          for (const minor of [0, 1, 3, 5, 8, 9, 200]) {
            const request = { type, access, major, minor };
            expect(run(bytes, request), JSON.stringify(request)).toBe(kernelAllows(policy, request) ? 1 : 0);
            checked++;
          }
    expect(checked).toBe(2 * 7 * 7 * 7);
  });
});
