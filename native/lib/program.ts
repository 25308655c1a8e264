// The init program's encoder: TypeScript side of the contract in ../PROGRAM.md.
// Every op is described once in LAYOUTS (its fields in payload order, its flag
// bits); one generic loop validates and encodes it. Validation mirrors what the
// helper's decoder rejects, so a bad program fails here, with the op and field
// named, instead of as an opaque report from inside the container.

import {
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  MountAttr,
  MountFlags,
  type Propagation,
} from './constants.js';

export const PROGRAM_VERSION = 2;

/** The format's limits; the helper rejects anything beyond them. */
export const PROGRAM_LIMITS = {
  maxBytes: 4 * 1024 * 1024,
  maxOps: 4096,
  maxStringBytes: 131072,
  maxListEntries: 65536,
} as const;

const MOUNT_ATTRS_KNOWN =
  MountAttr.RDONLY |
  MountAttr.NOSUID |
  MountAttr.NODEV |
  MountAttr.NOEXEC |
  MountAttr.ATIME_MASK |
  MountAttr.NODIRATIME |
  MountAttr.NOSYMFOLLOW;

/** SETRLIMIT's "no limit". */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** Bytes of a string field: text is encoded as UTF-8. */
export type ProgramBytes = string | Uint8Array;

/**
 * One operation of the init program. `op` is the opcode name of PROGRAM.md in
 * camelCase (`WAIT_GO` → `waitGo`, `SETHOSTNAME` → `sethostname`); fields keep the
 * payload's names; op flags are optional booleans; u64 values are bigints.
 */
export type InitOp =
  | { op: 'waitGo'; fd: number }
  | { op: 'setsid' }
  | {
      /** A bind mount made as one detached clone: attributes and propagation are set before it is attached. */
      op: 'bind';
      /** A host path, or a path in root with `sourceInRoot`. */
      source: string;
      /** In root. */
      target: string;
      /** MOUNT_ATTR_* to set and to clear on the clone (its top mount, or all with `attrRecursive`). */
      attrSet: number;
      attrClr: number;
      propagation: Propagation;
      sourceInRoot?: boolean;
      /** The target's last component must be a real directory (for /proc and /sys). */
      targetRealDir?: boolean;
      /** Clone the source's submounts too (rbind). */
      recursive?: boolean;
      attrRecursive?: boolean;
      propagationRecursive?: boolean;
      /** The target may lie on a procfs (the lxcfs files runc allows); otherwise that is refused. */
      targetOnProc?: boolean;
      /** The source must be the root of a procfs (a bind over /proc). */
      sourceProcRoot?: boolean;
    }
  | {
      /** A fresh filesystem (fsopen, fsconfig per option, fsmount) attached onto `target`. */
      op: 'fsmount';
      fstype: string;
      /** Empty: none. */
      source: string;
      /** Filesystem options: `key=value` or a flag `key`. */
      options: readonly string[];
      /** In root. */
      target: string;
      /** MOUNT_ATTR_* of the new mount (one atime mode at most). */
      attrSet: number;
      propagation: Propagation;
      /** Directories made at the new filesystem's top before it is attached (one component each). */
      dirs: readonly string[];
      /** Symlinks made there too: name, target, name, target, ... */
      links: readonly string[];
      targetRealDir?: boolean;
      targetOnProc?: boolean;
    }
  | { op: 'mkdir'; path: string; mode: number }
  | {
      op: 'mknod';
      path: string /** S_IFCHR, S_IFBLK or S_IFIFO with permission bits. */;
      mode: number;
      major: number;
      minor: number;
    }
  | { op: 'symlink' /** Stored verbatim. */; target: string; path: string; ignoreExisting?: boolean }
  | { op: 'createFile'; path: string; mode: number }
  | {
      op: 'openRoot';
      path: string;
      /** With `bind`: MOUNT_ATTR_* set on every mount of the root. */
      attrSet?: number;
      /** Make the directory a mount of its own: a recursive clone of it attached onto itself. */
      bind?: boolean;
      /** Refuse a path with any symlink in it. */
      noSymlinks?: boolean;
    }
  | { op: 'pivotRoot' }
  | { op: 'moveRoot' }
  | {
      /** mount_setattr on the mount at `path` (in root). */
      op: 'setattr';
      path: string;
      attrSet: number;
      attrClr: number;
      propagation: Propagation;
      /** Recursively bind `path` onto itself first, with the new attributes set before it is attached. */
      bindFirst?: boolean;
      recursive?: boolean;
      ignoreMissing?: boolean;
    }
  | { op: 'mask'; path: string }
  | { op: 'sethostname'; name: string }
  | { op: 'setdomainname'; name: string }
  | { op: 'setrlimit' /** RLIMIT_* number. */; resource: number; soft: bigint; hard: bigint }
  | { op: 'setgroups'; gids: readonly number[] }
  | { op: 'setresgid'; gid: number }
  | { op: 'setresuid'; uid: number }
  | { op: 'keepcaps'; on: boolean }
  | { op: 'boundingDrop' /** Bit n drops capability n. */; mask: bigint }
  | { op: 'capset'; effective: bigint; permitted: bigint; inheritable: bigint }
  | { op: 'ambient' /** Bit n raises capability n; every other is cleared. */; mask: bigint }
  | { op: 'noNewPrivs' }
  | { op: 'chdir'; path: string }
  | { op: 'umask'; mask: number }
  | { op: 'resetSignals' }
  | { op: 'exec'; args: readonly string[]; env: readonly string[] }
  | { op: 'dumpable'; on: boolean }
  | { op: 'pdeathsig'; signal: number; checkParent?: boolean }
  | { op: 'cloexecFrom'; fd: number }
  | { op: 'dup2'; from: number; to: number }
  | { op: 'writeFile'; path: string; data: ProgramBytes }
  | { op: 'close'; fd: number }
  | { op: 'unshare' /** CLONE_NEWNS, NEWUTS, NEWIPC, NEWNET or NEWCGROUP. */; flags: bigint | number }
  | { op: 'chown'; path: string; uid: number; gid: number }
  | { op: 'setCtty'; fd: number }
  | {
      op: 'bindFd';
      fd: number;
      /** In root; must exist, not a symlink; a file, or with `directory` a directory. */
      target: string;
      /** The target is a directory (a detached mount of a whole filesystem, e.g. a console's devpts). */
      directory?: boolean;
    }
  | {
      /** setns(fd, nstype): join namespaces (the parent opened the fd). */
      op: 'setns';
      /** A namespace fd, or with `pidfd` a pidfd. */
      fd: number;
      /**
       * CLONE_NEW* flags. Without `pidfd` exactly one of NS, UTS, IPC, NET, CGROUP, PID, TIME;
       * with it any non-empty set of those and USER, entered all at once (Linux 5.8). A pid
       * namespace only takes the children: `cloneParent` goes there.
       */
      nstype: number;
      /** `fd` is a pidfd: enter the process's namespaces named in `nstype`. */
      pidfd?: boolean;
    }
  | {
      /**
       * Go on in a new process, a child of the helper's parent in the pid namespace joined by
       * `setns` (the helper reports its pid in a PID frame and exits 0). Fails (EINVAL) when the
       * helper is a pid namespace's init.
       */
      op: 'cloneParent';
    }
  | {
      /**
       * Send a READY frame, then wait for the start: one byte on `fd`, the read end of a FIFO
       * (opened O_RDONLY|O_NONBLOCK), which is closed then. ECANCELED when a writer closed it
       * without writing.
       */
      op: 'awaitStart';
      fd: number;
    }
  | {
      /** Resolve `args[0]` as `exec` would and check that it may be executed, without running it. */
      op: 'checkExec';
      args: readonly string[];
      env: readonly string[];
    }
  | {
      /** Join (or create) the session keyring `name` and add the user's search permission, as runc does; empty: a new anonymous one. */
      op: 'joinSessionKeyring';
      name: string;
    };

export type InitOpName = InitOp['op'];

/** Opcode numbers by op name, to name the op of a child's ERROR frame. */
export const OPCODES = Object.freeze({
  waitGo: 1,
  setsid: 2,
  bind: 3,
  mkdir: 4,
  mknod: 5,
  symlink: 6,
  createFile: 7,
  openRoot: 8,
  pivotRoot: 9,
  moveRoot: 10,
  setattr: 11,
  mask: 12,
  sethostname: 13,
  setdomainname: 14,
  setrlimit: 15,
  setgroups: 16,
  setresgid: 17,
  setresuid: 18,
  keepcaps: 19,
  boundingDrop: 20,
  capset: 21,
  ambient: 22,
  noNewPrivs: 23,
  chdir: 24,
  umask: 25,
  resetSignals: 26,
  exec: 27,
  dumpable: 28,
  pdeathsig: 29,
  cloexecFrom: 30,
  dup2: 31,
  writeFile: 32,
  close: 33,
  unshare: 34,
  chown: 35,
  setCtty: 36,
  bindFd: 37,
  setns: 38,
  fsmount: 39,
  cloneParent: 40,
  awaitStart: 41,
  checkExec: 42,
  joinSessionKeyring: 43,
} as const satisfies Record<InitOpName, number>);

/** The op name of an opcode, or undefined for a number that is none. */
export function opName(opcode: number): InitOpName | undefined {
  for (const [name, code] of Object.entries(OPCODES)) if (code === opcode) return name as InitOpName;
  return undefined;
}

export class ProgramEncodeError extends Error {
  readonly code = 'ERR_NSINIT_PROGRAM';
  /** Index of the offending op, when one is to blame. */
  readonly opIndex: number | undefined;
  /** Name of the offending field or flag, when one is to blame. */
  readonly field: string | undefined;

  constructor(message: string, opIndex?: number, field?: string) {
    super(message);
    this.name = 'ProgramEncodeError';
    this.opIndex = opIndex;
    this.field = field;
  }
}

type FieldKind =
  | { kind: 'u32'; max: number /** Encoded when the field is left out. */; default?: number }
  | { kind: 'bool' }
  | { kind: 'u64' }
  | { kind: 'str' }
  | { kind: 'path' }
  | { kind: 'strlist' }
  | { kind: 'u32list' };

const U32_MAX = 0xffff_ffff;
const u32 = (max = U32_MAX): FieldKind => ({ kind: 'u32', max });
const FD = u32(0x7fff_ffff);
const MODE = u32(0o7777);
/** (uid_t)-1 means "leave unchanged" to setresuid: never encode it by accident. */
const ID = u32(U32_MAX - 1);
const BOOL: FieldKind = { kind: 'bool' };
const U64: FieldKind = { kind: 'u64' };
const STR: FieldKind = { kind: 'str' };
const PATH: FieldKind = { kind: 'path' };
const ATTRS = u32();

type OpOf<K extends InitOpName> = Extract<InitOp, { op: K }>;
type FieldName<T> = Exclude<keyof T, 'op'> & string;

interface Layout<T> {
  /** Payload fields in wire order. */
  fields: readonly (readonly [FieldName<T>, FieldKind])[];
  /** Op flag bit of each boolean option. */
  flags?: { readonly [F in FieldName<T>]?: number };
}

const LAYOUTS: { readonly [K in InitOpName]: Layout<OpOf<K>> } = {
  waitGo: { fields: [['fd', FD]] },
  setsid: { fields: [] },
  bind: {
    fields: [
      ['source', PATH],
      ['target', PATH],
      ['attrSet', ATTRS],
      ['attrClr', ATTRS],
      ['propagation', u32()],
    ],
    flags: {
      sourceInRoot: 1,
      targetRealDir: 2,
      recursive: 4,
      attrRecursive: 8,
      propagationRecursive: 16,
      targetOnProc: 32,
      sourceProcRoot: 64,
    },
  },
  mkdir: {
    fields: [
      ['path', PATH],
      ['mode', MODE],
    ],
  },
  mknod: {
    fields: [
      ['path', PATH],
      ['mode', u32()],
      ['major', u32(0xfff)],
      ['minor', u32(0xfffff)],
    ],
  },
  symlink: {
    fields: [
      ['target', STR],
      ['path', PATH],
    ],
    flags: { ignoreExisting: 1 },
  },
  createFile: {
    fields: [
      ['path', PATH],
      ['mode', MODE],
    ],
  },
  openRoot: {
    fields: [
      ['path', PATH],
      ['attrSet', { kind: 'u32', max: U32_MAX, default: 0 }],
    ],
    flags: { bind: 1, noSymlinks: 2 },
  },
  pivotRoot: { fields: [] },
  moveRoot: { fields: [] },
  setattr: {
    fields: [
      ['path', PATH],
      ['attrSet', ATTRS],
      ['attrClr', ATTRS],
      ['propagation', u32()],
    ],
    flags: { bindFirst: 1, recursive: 2, ignoreMissing: 4 },
  },
  mask: { fields: [['path', PATH]] },
  sethostname: { fields: [['name', STR]] },
  setdomainname: { fields: [['name', STR]] },
  setrlimit: {
    fields: [
      ['resource', u32(15)],
      ['soft', U64],
      ['hard', U64],
    ],
  },
  setgroups: { fields: [['gids', { kind: 'u32list' }]] },
  setresgid: { fields: [['gid', ID]] },
  setresuid: { fields: [['uid', ID]] },
  keepcaps: { fields: [['on', BOOL]] },
  boundingDrop: { fields: [['mask', U64]] },
  capset: {
    fields: [
      ['effective', U64],
      ['permitted', U64],
      ['inheritable', U64],
    ],
  },
  ambient: { fields: [['mask', U64]] },
  noNewPrivs: { fields: [] },
  chdir: { fields: [['path', PATH]] },
  umask: { fields: [['mask', u32(0o777)]] },
  resetSignals: { fields: [] },
  exec: {
    fields: [
      ['args', { kind: 'strlist' }],
      ['env', { kind: 'strlist' }],
    ],
  },
  dumpable: { fields: [['on', BOOL]] },
  pdeathsig: { fields: [['signal', u32(64)]], flags: { checkParent: 1 } },
  cloexecFrom: { fields: [['fd', FD]] },
  dup2: {
    fields: [
      ['from', FD],
      ['to', FD],
    ],
  },
  writeFile: {
    fields: [
      ['path', PATH],
      ['data', STR],
    ],
  },
  close: { fields: [['fd', FD]] },
  unshare: { fields: [['flags', U64]] },
  chown: {
    fields: [
      ['path', PATH],
      ['uid', ID],
      ['gid', ID],
    ],
  },
  setCtty: { fields: [['fd', FD]] },
  bindFd: {
    fields: [
      ['fd', FD],
      ['target', PATH],
    ],
    flags: { directory: 1 },
  },
  setns: {
    fields: [
      ['fd', FD],
      ['nstype', u32()],
    ],
    flags: { pidfd: 1 },
  },
  fsmount: {
    fields: [
      ['fstype', STR],
      ['source', STR],
      ['options', { kind: 'strlist' }],
      ['target', PATH],
      ['attrSet', ATTRS],
      ['propagation', u32()],
      ['dirs', { kind: 'strlist' }],
      ['links', { kind: 'strlist' }],
    ],
    flags: { targetRealDir: 1, targetOnProc: 2 },
  },
  cloneParent: { fields: [] },
  awaitStart: { fields: [['fd', FD]] },
  checkExec: {
    fields: [
      ['args', { kind: 'strlist' }],
      ['env', { kind: 'strlist' }],
    ],
  },
  joinSessionKeyring: { fields: [['name', STR]] },
};

const S_IFMT = 0o170000;
const DEVICE_TYPES: ReadonlyMap<number, string> = new Map([
  [0o020000, 'char'],
  [0o060000, 'block'],
  [0o010000, 'fifo'],
]);

/** Appends little-endian values; every op payload is built in one so its length is known. */
const PROGRAM_MAGIC = Buffer.from('NSIP', 'latin1');

class Writer {
  // One growing buffer: a program is hundreds of small fields, and a Buffer per field
  // cost more than the rest of a container start's planning.
  private buffer = Buffer.allocUnsafe(256);
  length = 0;

  private reserve(size: number): number {
    const at = this.length;
    if (at + size > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, at + size));
      this.buffer.copy(grown, 0, 0, at);
      this.buffer = grown;
    }
    this.length = at + size;
    return at;
  }

  // reserve() may replace the buffer: take the offset before touching it.
  bytes(bytes: Uint8Array): void {
    const at = this.reserve(bytes.byteLength);
    this.buffer.set(bytes, at);
  }

  u16(value: number): void {
    const at = this.reserve(2);
    this.buffer.writeUInt16LE(value, at);
  }

  u32(value: number): void {
    const at = this.reserve(4);
    this.buffer.writeUInt32LE(value, at);
  }

  u64(value: bigint): void {
    const at = this.reserve(8);
    this.buffer.writeBigUInt64LE(value, at);
  }

  patchU32(at: number, value: number): void {
    this.buffer.writeUInt32LE(value, at);
  }

  finish(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

/** Reports a problem with one op; `where` is filled in by encodeProgram. */
class FieldProblem {
  constructor(
    readonly field: string | undefined,
    readonly problem: string,
  ) {}
}

function stringBytes(value: unknown, field: string, path: boolean): Buffer {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new FieldProblem(field, `must be a string${path ? '' : ' or bytes'}, got ${typeof value}`);
  }
  if (path && typeof value !== 'string') throw new FieldProblem(field, 'must be a string');
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  if (bytes.includes(0)) throw new FieldProblem(field, 'contains a NUL byte');
  if (bytes.length > PROGRAM_LIMITS.maxStringBytes) {
    throw new FieldProblem(
      field,
      `is ${bytes.length} bytes long, over the limit of ${PROGRAM_LIMITS.maxStringBytes}`,
    );
  }
  if (path && bytes[0] !== 0x2f)
    throw new FieldProblem(field, `must be an absolute path, got ${JSON.stringify(value)}`);
  return bytes;
}

function writeString(out: Writer, value: unknown, field: string, path = false): void {
  const bytes = stringBytes(value, field, path);
  out.u32(bytes.length);
  out.bytes(bytes);
}

function listOf(value: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new FieldProblem(field, 'must be an array');
  if (value.length > PROGRAM_LIMITS.maxListEntries) {
    throw new FieldProblem(
      field,
      `has ${value.length} entries, over the limit of ${PROGRAM_LIMITS.maxListEntries}`,
    );
  }
  return value;
}

function checkU32(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new FieldProblem(field, `must be an integer from 0 to ${max}, got ${String(value)}`);
  }
  return value;
}

function checkU64(value: unknown, field: string): bigint {
  const big = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof big !== 'bigint' || big < 0n || big > RLIM_INFINITY) {
    throw new FieldProblem(field, `must be a bigint from 0 to 2^64-1, got ${String(value)}`);
  }
  return big;
}

function writeField(out: Writer, kind: FieldKind, value: unknown, field: string): void {
  switch (kind.kind) {
    case 'u32':
      out.u32(checkU32(value ?? kind.default, field, kind.max));
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw new FieldProblem(field, `must be a boolean, got ${typeof value}`);
      out.u32(value ? 1 : 0);
      return;
    case 'u64':
      out.u64(checkU64(value, field));
      return;
    case 'str':
    case 'path':
      writeString(out, value, field, kind.kind === 'path');
      return;
    case 'strlist': {
      const list = listOf(value, field);
      out.u32(list.length);
      for (const [i, item] of list.entries()) {
        if (typeof item !== 'string')
          throw new FieldProblem(`${field}[${i}]`, `must be a string, got ${typeof item}`);
        writeString(out, item, `${field}[${i}]`);
      }
      return;
    }
    case 'u32list': {
      const list = listOf(value, field);
      out.u32(list.length);
      for (const [i, item] of list.entries()) out.u32(checkU32(item, `${field}[${i}]`, U32_MAX));
    }
  }
}

function checkAttrs(set: number, clear: number): void {
  for (const [field, value] of [
    ['attrSet', set],
    ['attrClr', clear],
  ] as const) {
    if ((value & ~MOUNT_ATTRS_KNOWN) !== 0)
      throw new FieldProblem(field, `has unknown mount attributes ${hex(value & ~MOUNT_ATTRS_KNOWN)}`);
  }
  const atime = set & MountAttr.ATIME_MASK;
  if (atime !== MountAttr.RELATIME && atime !== MountAttr.NOATIME && atime !== MountAttr.STRICTATIME) {
    throw new FieldProblem('attrSet', `atime mode ${hex(atime)} is not relatime, noatime or strictatime`);
  }
  const cleared = clear & MountAttr.ATIME_MASK;
  if (
    (atime !== 0 && cleared !== MountAttr.ATIME_MASK) ||
    (cleared !== 0 && cleared !== MountAttr.ATIME_MASK)
  ) {
    throw new FieldProblem(
      'attrClr',
      'an atime mode needs the whole atime field (MOUNT_ATTR__ATIME) cleared',
    );
  }
}

function checkPropagation(propagation: number): void {
  if (
    ![0, MountFlags.PRIVATE, MountFlags.SLAVE, MountFlags.SHARED, MountFlags.UNBINDABLE].includes(propagation)
  ) {
    throw new FieldProblem(
      'propagation',
      `${hex(propagation)} is not MS_PRIVATE, MS_SLAVE, MS_SHARED or MS_UNBINDABLE`,
    );
  }
}

const UNSHAREABLE = BigInt(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP);
/** What one namespace fd may join; a pidfd may also enter the user namespace. */
const JOINABLE = UNSHAREABLE | BigInt(CLONE_NEWPID | CLONE_NEWTIME);
const PIDFD_JOINABLE = JOINABLE | BigInt(CLONE_NEWUSER);

/** Rules that span fields, as the helper's decoder checks them. */
function checkOp(op: InitOp): void {
  if (op.op === 'setns') {
    const type = BigInt(op.nstype);
    if (op.pidfd) {
      if (type === 0n || (type & ~PIDFD_JOINABLE) !== 0n) {
        throw new FieldProblem(
          'nstype',
          `${hex(op.nstype)} is not a set of namespace flags the helper may join`,
        );
      }
    } else if (type === 0n || (type & ~JOINABLE) !== 0n || (type & (type - 1n)) !== 0n) {
      throw new FieldProblem('nstype', `${hex(op.nstype)} is not one namespace flag the helper may join`);
    }
  }
  if (op.op === 'unshare') {
    const flags = checkU64(op.flags, 'flags');
    if (flags === 0n || (flags & ~UNSHAREABLE) !== 0n) {
      throw new FieldProblem('flags', `${hex(flags)} are not namespace flags the helper may unshare`);
    }
  }
  switch (op.op) {
    case 'bind':
      checkAttrs(op.attrSet, op.attrClr);
      checkPropagation(op.propagation);
      return;
    case 'setattr':
      checkAttrs(op.attrSet, op.attrClr);
      checkPropagation(op.propagation);
      return;
    case 'openRoot':
      if ((op.attrSet ?? 0) !== 0 && !op.bind) throw new FieldProblem('attrSet', 'needs bind');
      checkAttrs(op.attrSet ?? 0, (op.attrSet ?? 0) & MountAttr.ATIME_MASK ? MountAttr.ATIME_MASK : 0);
      return;
    case 'fsmount':
      if (op.fstype === '') throw new FieldProblem('fstype', 'must not be empty');
      checkAttrs(op.attrSet, op.attrSet & MountAttr.ATIME_MASK ? MountAttr.ATIME_MASK : 0);
      checkPropagation(op.propagation);
      for (const [i, option] of op.options.entries()) {
        if (option === '' || option.startsWith('=')) throw new FieldProblem(`options[${i}]`, 'has no name');
      }
      if (op.links.length % 2 !== 0) throw new FieldProblem('links', 'must hold name/target pairs');
      for (const [field, names] of [
        ['dirs', op.dirs],
        ['links', op.links.filter((_, i) => i % 2 === 0)],
      ] as const) {
        for (const name of names) {
          if (name === '' || name === '.' || name === '..' || name.includes('/')) {
            throw new FieldProblem(field, `${JSON.stringify(name)} is not one path component`);
          }
        }
      }
      return;
    case 'mknod':
      if ((op.mode & ~(S_IFMT | 0o7777)) !== 0 || !DEVICE_TYPES.has(op.mode & S_IFMT)) {
        throw new FieldProblem('mode', `0o${op.mode.toString(8)} is not a char, block or fifo mode`);
      }
      return;
    case 'exec':
    case 'checkExec':
      if (op.args.length === 0) throw new FieldProblem('args', 'must not be empty');
      return;
    default:
  }
}

const knownKeys = new Map<string, ReadonlySet<string>>();

/** The keys an op of this layout may carry, computed once per layout. */
function keysOf(name: string, layout: Layout<Record<string, unknown>>): ReadonlySet<string> {
  let keys = knownKeys.get(name);
  if (keys === undefined) {
    keys = new Set(['op', ...layout.fields.map(([field]) => field), ...Object.keys(layout.flags ?? {})]);
    knownKeys.set(name, keys);
  }
  return keys;
}

/** Appends one op (header and payload) to `out`. */
function encodeOp(op: InitOp, out: Writer): void {
  const layout = (LAYOUTS as Readonly<Record<string, Layout<Record<string, unknown>>>>)[op.op];
  if (layout === undefined) throw new FieldProblem('op', `unknown op ${JSON.stringify(op.op)}`);
  const values: Readonly<Record<string, unknown>> = op;
  const known = keysOf(op.op, layout);
  for (const key in values) {
    if (!known.has(key) && values[key] !== undefined)
      throw new FieldProblem(key, `is not a field of ${op.op}`);
  }

  let flags = 0;
  if (layout.flags) {
    for (const [name, bit] of Object.entries(layout.flags)) {
      const value = values[name];
      if (value !== undefined && typeof value !== 'boolean') {
        throw new FieldProblem(name, `must be a boolean, got ${typeof value}`);
      }
      if (value === true) flags |= bit ?? 0;
    }
  }
  out.u16(OPCODES[op.op]);
  out.u16(flags);
  const lengthAt = out.length;
  out.u32(0); // the payload length, known once the payload is written
  for (const [name, kind] of layout.fields) writeField(out, kind, values[name], name);
  checkOp(op);
  out.patchU32(lengthAt, out.length - lengthAt - 4);
}

function safeDescription(op: unknown): string {
  try {
    return describeOp(op as InitOp);
  } catch {
    return 'an unreadable op';
  }
}

/**
 * Encodes and validates a program. Throws ProgramEncodeError naming the op and
 * field for anything the helper would reject.
 */
export function encodeProgram(ops: readonly InitOp[]): Buffer {
  if (!Array.isArray(ops)) throw new ProgramEncodeError('init program: ops must be an array');
  if (ops.length === 0) throw new ProgramEncodeError('init program: has no ops (it must end with exec)');
  if (ops.length > PROGRAM_LIMITS.maxOps) {
    throw new ProgramEncodeError(
      `init program: ${ops.length} ops, over the limit of ${PROGRAM_LIMITS.maxOps}`,
    );
  }
  const out = new Writer();
  // The ops that write a sync frame: each at most once, PID (cloneParent) before READY (awaitStart).
  const frameOps = new Map<'cloneParent' | 'awaitStart', number>();
  out.bytes(PROGRAM_MAGIC);
  out.u32(PROGRAM_VERSION);
  out.u32(ops.length);
  for (const [index, op] of ops.entries()) {
    // Only an error needs the description: building it for every op would dominate the encoding.
    const where = () => `init program op ${index} (${safeDescription(op)})`;
    if (typeof op !== 'object' || op === null)
      throw new ProgramEncodeError(`${where()}: not an object`, index);
    const last = index === ops.length - 1;
    if (op.op === 'exec' && !last) {
      throw new ProgramEncodeError(
        `${where()}: exec must be the last op (it only returns on failure)`,
        index,
        'op',
      );
    }
    if (last && op.op !== 'exec')
      throw new ProgramEncodeError(`${where()}: the last op must be exec`, index, 'op');
    if (op.op === 'cloneParent' || op.op === 'awaitStart') {
      const first = frameOps.get(op.op);
      if (first !== undefined) {
        throw new ProgramEncodeError(`${where()}: a second ${op.op} (the first is op ${first})`, index, 'op');
      }
      const ready = frameOps.get('awaitStart');
      if (op.op === 'cloneParent' && ready !== undefined) {
        throw new ProgramEncodeError(
          `${where()}: cloneParent must come before awaitStart (op ${ready}): the PID frame goes before READY`,
          index,
          'op',
        );
      }
      frameOps.set(op.op, index);
    }
    try {
      encodeOp(op, out);
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error;
      const field = error.field === undefined ? '' : `${error.field} `;
      throw new ProgramEncodeError(`${where()}: ${field}${error.problem}`, index, error.field);
    }
    if (out.length > PROGRAM_LIMITS.maxBytes) {
      throw new ProgramEncodeError(
        `${where()}: the program grows past ${PROGRAM_LIMITS.maxBytes} bytes here`,
        index,
      );
    }
  }
  return out.finish();
}

const RLIMIT_NAMES = [
  'RLIMIT_CPU',
  'RLIMIT_FSIZE',
  'RLIMIT_DATA',
  'RLIMIT_STACK',
  'RLIMIT_CORE',
  'RLIMIT_RSS',
  'RLIMIT_NPROC',
  'RLIMIT_NOFILE',
  'RLIMIT_MEMLOCK',
  'RLIMIT_AS',
  'RLIMIT_LOCKS',
  'RLIMIT_SIGPENDING',
  'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE',
  'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME',
];

const hex = (value: bigint | number): string => `0x${value.toString(16)}`;
const limit = (value: bigint): string => (value === RLIM_INFINITY ? 'unlimited' : String(value));
const onOff = (on: boolean): string => (on ? 'on' : 'off');

const PROPAGATION_NAMES: ReadonlyMap<number, string> = new Map([
  [MountFlags.PRIVATE, 'private'],
  [MountFlags.SLAVE, 'slave'],
  [MountFlags.SHARED, 'shared'],
  [MountFlags.UNBINDABLE, 'unbindable'],
]);

const ATTR_WORDS: readonly [number, string][] = [
  [MountAttr.RDONLY, 'read-only'],
  [MountAttr.NOSUID, 'nosuid'],
  [MountAttr.NODEV, 'nodev'],
  [MountAttr.NOEXEC, 'noexec'],
  [MountAttr.NODIRATIME, 'nodiratime'],
  [MountAttr.NOSYMFOLLOW, 'nosymfollow'],
];

/** ` (read-only, nosuid)` for the attributes set, or nothing. */
function attrWords(attrs: number): string {
  const words = ATTR_WORDS.filter(([bit]) => (attrs & bit) !== 0).map(([, word]) => word);
  const atime = attrs & MountAttr.ATIME_MASK;
  if (atime === MountAttr.NOATIME) words.push('noatime');
  if (atime === MountAttr.STRICTATIME) words.push('strictatime');
  return words.length === 0 ? '' : ` (${words.join(', ')})`;
}

const NAMESPACE_WORDS: readonly [number, string][] = [
  [CLONE_NEWNS, 'mount'],
  [CLONE_NEWUTS, 'uts'],
  [CLONE_NEWIPC, 'ipc'],
  [CLONE_NEWNET, 'network'],
  [CLONE_NEWCGROUP, 'cgroup'],
  [CLONE_NEWPID, 'pid'],
  [CLONE_NEWTIME, 'time'],
  [CLONE_NEWUSER, 'user'],
];

/** `uts and network namespaces` for CLONE_NEWUTS | CLONE_NEWNET; unknown bits in hex. */
function namespaceWords(nstype: number): string {
  const words = NAMESPACE_WORDS.filter(([bit]) => (nstype & bit) !== 0).map(([, word]) => word);
  const known = NAMESPACE_WORDS.reduce((all, [bit]) => all | bit, 0);
  const unknown = nstype & ~known;
  if (unknown !== 0 || words.length === 0) words.push(hex(unknown >>> 0));
  const list = words.length === 1 ? words[0] : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
  return `${list} namespace${words.length === 1 ? '' : 's'}`;
}

/** One line naming what an op does, e.g. `mount proc on /proc`, for error messages. */
export function describeOp(op: InitOp): string {
  switch (op.op) {
    case 'waitGo':
      return `wait for the go signal on fd ${op.fd}`;
    case 'setsid':
      return 'setsid';
    case 'bind':
      return `bind ${op.source} on ${op.target}${attrWords(op.attrSet)}`;
    case 'fsmount':
      return `mount ${op.fstype} on ${op.target}${attrWords(op.attrSet)}`;
    case 'mkdir':
      return `mkdir ${op.path}`;
    case 'mknod':
      return `mknod ${op.path} (${DEVICE_TYPES.get(op.mode & S_IFMT) ?? `mode 0o${op.mode.toString(8)}`} ${op.major}:${op.minor})`;
    case 'symlink':
      return `symlink ${op.path} -> ${op.target}`;
    case 'createFile':
      return `create file ${op.path}`;
    case 'openRoot':
      return op.bind
        ? `bind the root ${op.path} onto itself${attrWords(op.attrSet ?? 0)}`
        : `open root ${op.path}`;
    case 'pivotRoot':
      return 'pivot_root into the new root';
    case 'moveRoot':
      return 'move the new root onto / and chroot';
    case 'setattr':
      return `set ${op.path}${attrWords(op.attrSet) || ' attributes'}${op.propagation ? ` ${PROPAGATION_NAMES.get(op.propagation)}` : ''}`;
    case 'mask':
      return `mask ${op.path}`;
    case 'sethostname':
      return `sethostname ${JSON.stringify(op.name)}`;
    case 'setdomainname':
      return `setdomainname ${JSON.stringify(op.name)}`;
    case 'setrlimit':
      return `setrlimit ${RLIMIT_NAMES[op.resource] ?? `resource ${op.resource}`} soft ${limit(op.soft)} hard ${limit(op.hard)}`;
    case 'setgroups':
      return `setgroups [${op.gids.join(', ')}]`;
    case 'setresgid':
      return `setresgid ${op.gid}`;
    case 'setresuid':
      return `setresuid ${op.uid}`;
    case 'keepcaps':
      return `keepcaps ${onOff(op.on)}`;
    case 'boundingDrop':
      return `drop capabilities ${hex(op.mask)} from the bounding set`;
    case 'capset':
      return `capset effective ${hex(op.effective)} permitted ${hex(op.permitted)} inheritable ${hex(op.inheritable)}`;
    case 'ambient':
      return `set the ambient capabilities to ${hex(op.mask)}`;
    case 'noNewPrivs':
      return 'set no_new_privs';
    case 'chdir':
      return `chdir ${op.path}`;
    case 'umask':
      return `umask 0${op.mask.toString(8).padStart(3, '0')}`;
    case 'resetSignals':
      return 'reset signal dispositions and unblock signals';
    case 'exec':
      return `exec ${JSON.stringify(op.args[0] ?? '')}`;
    case 'dumpable':
      return `dumpable ${onOff(op.on)}`;
    case 'pdeathsig':
      return `set the parent-death signal to ${op.signal}`;
    case 'cloexecFrom':
      return `mark fds from ${op.fd} close-on-exec`;
    case 'dup2':
      return `dup2 fd ${op.from} to ${op.to}`;
    case 'writeFile':
      return `write ${op.path}`;
    case 'close':
      return `close fd ${op.fd}`;
    case 'unshare':
      return `unshare ${hex(BigInt(op.flags))}`;
    case 'chown':
      return `chown ${op.path} to ${op.uid}:${op.gid}`;
    case 'setCtty':
      return `make fd ${op.fd} the controlling terminal`;
    case 'bindFd':
      return `bind fd ${op.fd} on ${op.target}`;
    case 'setns':
      return op.pidfd
        ? `enter the ${namespaceWords(op.nstype)} of the process behind pidfd ${op.fd}`
        : `join the ${namespaceWords(op.nstype)} behind fd ${op.fd}`;
    case 'cloneParent':
      return 'go on in a new process beside the helper (a child of its parent), in the pid namespace joined';
    case 'awaitStart':
      return `report ready, then wait for the start on fd ${op.fd}`;
    case 'checkExec':
      return `check that ${JSON.stringify(op.args[0] ?? '')} can be executed`;
    case 'joinSessionKeyring':
      return op.name === ''
        ? 'join a new anonymous session keyring'
        : `join the session keyring ${JSON.stringify(op.name)}`;
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}
