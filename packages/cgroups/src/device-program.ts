// The eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) that enforces a device policy on
// cgroup v2. The kernel runs it for every device open and mknod in the cgroup with a
// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }, where
// access_type is (access bits << 16) | device type; the program returns 1 to allow.
import { endianness } from 'node:os';
import {
  ACCESS_MKNOD,
  ACCESS_READ,
  ACCESS_WRITE,
  type DeviceException,
  type DevicePolicy,
} from './device-policy.js';

export interface BpfInstruction {
  /** Operation code: class | operation | source. */
  code: number;
  /** Destination and source registers, 0-10. */
  dst: number;
  src: number;
  /** Signed 16-bit offset: of a memory access, or of a jump from the next instruction. */
  offset: number;
  /** Signed 32-bit immediate. */
  imm: number;
}

// Opcodes used here (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W = 0x61; // dst = *(u32 *)(src + offset)
const ALU32_MOV_REG = 0xbc; // dst = src (32-bit)
const ALU32_MOV_IMM = 0xb4; // dst = imm (32-bit)
const ALU32_AND_IMM = 0x54; // dst &= imm (32-bit)
const ALU32_RSH_IMM = 0x74; // dst >>= imm (32-bit)
const JMP_JEQ_IMM = 0x15; // if dst == imm: skip offset
const JMP_JNE_IMM = 0x55; // if dst != imm: skip offset
const JMP_EXIT = 0x95; // return r0

const DEVICE_BLOCK = 1;
const DEVICE_CHAR = 2;
const ALL_ACCESS = ACCESS_MKNOD | ACCESS_READ | ACCESS_WRITE;

// Registers: r1 holds the context on entry; the program keeps the request in r2-r6.
const R0 = 0;
const CONTEXT = 1;
const TYPE = 3;
const ACCESS = 4;
const MAJOR = 5;
const MINOR = 6;
const SCRATCH = 7;

const instruction = (
  code: number,
  dst: number,
  src: number,
  offset: number,
  imm: number,
): BpfInstruction => ({
  code,
  dst,
  src,
  offset,
  imm,
});

function returnVerdict(allow: boolean): BpfInstruction[] {
  return [instruction(ALU32_MOV_IMM, R0, 0, 0, allow ? 1 : 0), instruction(JMP_EXIT, 0, 0, 0, 0)];
}

/**
 * The checks of one exception followed by its verdict; each check jumps past the
 * rest of the block when the request does not match. Under a deny-all default an
 * exception allows a request whose accesses it all grants (v1: "provided access
 * cannot have more than the exception"); under allow-all it denies a request sharing
 * any access with it.
 */
function exceptionBlock(exception: DeviceException, defaultAllow: boolean): BpfInstruction[] {
  // Each test is [register, value]: jump past the block when they differ.
  const tests: [number, number][] = [[TYPE, exception.type === 'b' ? DEVICE_BLOCK : DEVICE_CHAR]];
  if (exception.major !== null) tests.push([MAJOR, exception.major]);
  if (exception.minor !== null) tests.push([MINOR, exception.minor]);
  // A request always asks for at least one access, all of which rwm covers.
  const checkAccess = exception.access !== ALL_ACCESS;
  const verdict = returnVerdict(!defaultAllow);
  const block: BpfInstruction[] = [];
  // A jump's offset counts the instructions after it to the end of the block.
  let remaining = tests.length + (checkAccess ? 3 : 0) + verdict.length;
  for (const [register, value] of tests) {
    remaining -= 1;
    block.push(instruction(JMP_JNE_IMM, register, 0, remaining, value));
  }
  if (checkAccess) {
    // deny-all: skip when the request asks for any access outside the exception's;
    // allow-all: skip when it asks for none of the exception's.
    const mask = defaultAllow ? exception.access : ALL_ACCESS & ~exception.access;
    block.push(
      instruction(ALU32_MOV_REG, SCRATCH, ACCESS, 0, 0),
      instruction(ALU32_AND_IMM, SCRATCH, 0, 0, mask),
      instruction(defaultAllow ? JMP_JEQ_IMM : JMP_JNE_IMM, SCRATCH, 0, verdict.length, 0),
    );
  }
  block.push(...verdict);
  return block;
}

/** The program deciding device accesses as `policy` says. */
export function deviceProgram(policy: DevicePolicy): BpfInstruction[] {
  if (policy.exceptions.length === 0) return returnVerdict(policy.defaultAllow);
  return [
    instruction(LDX_MEM_W, 2, CONTEXT, 0, 0), // r2 = access_type
    instruction(ALU32_MOV_REG, TYPE, 2, 0, 0),
    instruction(ALU32_AND_IMM, TYPE, 0, 0, 0xffff), // device type
    instruction(ALU32_MOV_REG, ACCESS, 2, 0, 0),
    instruction(ALU32_RSH_IMM, ACCESS, 0, 0, 16), // access bits
    instruction(LDX_MEM_W, MAJOR, CONTEXT, 4, 0),
    instruction(LDX_MEM_W, MINOR, CONTEXT, 8, 0),
    ...policy.exceptions.flatMap((exception) => exceptionBlock(exception, policy.defaultAllow)),
    ...returnVerdict(policy.defaultAllow),
  ];
}

/** struct bpf_insn as the kernel reads it, in this host's byte order. */
export function encodeBpfProgram(program: readonly BpfInstruction[], byteOrder = endianness()): Uint8Array {
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  const little = byteOrder === 'LE';
  program.forEach((insn, index) => {
    const at = index * 8;
    view.setUint8(at, insn.code);
    // The register nibbles are bit fields: dst is the low nibble on little-endian hosts.
    view.setUint8(at + 1, little ? (insn.src << 4) | insn.dst : (insn.dst << 4) | insn.src);
    view.setInt16(at + 2, insn.offset, little);
    view.setInt32(at + 4, insn.imm, little);
  });
  return bytes;
}
