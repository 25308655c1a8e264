// The console ops of the init helper, run for real as root under `unshare`: SET_CTTY
// makes a pts the controlling terminal, BIND_FD bind-mounts it onto a file in the root
// (never onto a symlink). The pts comes from a pty pair this test opens; the helper gets
// its slave at fd 5. Mounts happen in a private mount namespace that dies with the run.
import {
  closeSync,
  constants as fsConstants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mountDetached } from '../lib/fs.js';
import { encodeProgram, type InitOp, OPCODES } from '../lib/program.js';
import { detachedMount, getTermios, makeRawTermios, openPty, setTermios } from '../lib/pty.js';
import { decodeChildReport } from '../lib/report.js';
import { assertHelperBuilt, type HelperRun, onlyError, runHelper } from './helper-harness.js';

beforeAll(assertHelperBuilt);

const CONSOLE_FD = 5;
const EPERM = 1;
const ENOTTY = 25;
const EISDIR = 21;
const ELOOP = 40;
const EINVAL = 22;
const ENOTDIR = 20;
const UNIX98_PTY_SLAVE_MAJOR = 136;
const PATH = 'PATH=/usr/bin:/bin';

let root: string;
let pty: { master: number; slave: number; slaveName: string };
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nsinit-console-'));
  pty = openPty({ cols: 91, rows: 27 });
});
afterEach(() => {
  closeSync(pty.master);
  closeSync(pty.slave);
  rmSync(root, { recursive: true, force: true });
});

interface RunOptions {
  /** Shell commands run in the new namespaces before the helper. */
  before?: string;
  /** Shell commands run in the same mount namespace once the helper is done (to inspect its mounts). */
  after?: string;
  /** What the helper gets at fd 5; default the pty's slave. */
  consoleFd?: number;
}

/** Runs the helper on `ops` inside fresh mount and pid namespaces, the pty's slave at fd 5. */
function run(ops: InitOp[], { before = '', after = '', consoleFd }: RunOptions = {}): Promise<HelperRun> {
  // sh -c SCRIPT HELPER 3 4: the script runs the helper as "$0".
  const script = `${before} "$0" 3 4; status=$?; ${after} exit $status`;
  return runHelper(encodeProgram(ops), {
    wrap: ['unshare', '--mount', '--pid', '--fork', '--', 'sh', '-c', script],
    env: { ROOT: root, PTS: pty.slaveName },
    extraFds: [consoleFd ?? pty.slave],
  });
}

const sh = (script: string): InitOp => ({
  op: 'exec',
  args: ['/bin/sh', '-c', script],
  env: [PATH, `ROOT=${root}`],
});

const VTIME = 5;
const VMIN = 6;

/** What the slave side wrote so far, read from the master: VMIN 0 and VTIME 5 make a read return after 0.5 s at most. */
function masterOutput(): string {
  const termios = getTermios({ fd: pty.master });
  const cc = [...termios.cc];
  cc[VMIN] = 0;
  cc[VTIME] = 5;
  setTermios({ fd: pty.master, termios: { ...termios, cc } });
  const buffer = Buffer.alloc(4096);
  return buffer.subarray(0, readSync(pty.master, buffer)).toString();
}

describe('SET_CTTY', () => {
  it('makes the pts the controlling terminal of the new session', async () => {
    const result = await run([
      { op: 'setsid' },
      { op: 'setCtty', fd: CONSOLE_FD },
      // /dev/tty opens only with a controlling terminal; tty_nr in /proc/<pid>/stat names it.
      sh('stty size </dev/tty; cut -d" " -f7 /proc/self/stat'),
    ]);
    expect(decodeChildReport(result.report), result.stderr).toBeNull();
    expect(result.status).toBe(0);
    const ptsNumber = Number(pty.slaveName.slice('/dev/pts/'.length));
    // tty_nr packs the device as (minor & 0xff) | major << 8 | (minor & ~0xff) << 12.
    const ttyNr = (ptsNumber & 0xff) | (UNIX98_PTY_SLAVE_MAJOR << 8) | ((ptsNumber & ~0xff) << 12);
    expect(result.stdout).toBe(`27 91\n${ttyNr}\n`);
  });

  it('fails with EPERM outside a new session and ENOTTY on a non-terminal', async () => {
    const notLeader = onlyError(await run([{ op: 'setCtty', fd: CONSOLE_FD }, sh('true')]));
    expect(notLeader).toMatchObject({ opIndex: 0, opcode: OPCODES.setCtty, errno: EPERM });
    expect(notLeader.detail).toContain(`fd ${CONSOLE_FD} the controlling terminal`);

    const notATerminal = onlyError(await run([{ op: 'setsid' }, { op: 'setCtty', fd: 0 }, sh('true')]));
    expect(notATerminal).toMatchObject({ opIndex: 1, opcode: OPCODES.setCtty, errno: ENOTTY });
  });
});

describe('BIND_FD', () => {
  // The helper clones the mount behind the fd, and the kernel clones only mounts of the
  // caller's mount namespace: a pts opened in the parent's namespace fails with EINVAL in a
  // new one (see the next test). Reopened by path inside the namespace, it is the copy there.
  it('bind-mounts the pts onto an empty file in the root', async () => {
    // The raw slave keeps "\n" as it is on the way to the master.
    setTermios({ fd: pty.slave, termios: makeRawTermios({ termios: getTermios({ fd: pty.slave }) }) });
    writeFileSync(join(root, 'console'), '');
    const result = await run(
      [
        { op: 'openRoot', path: root },
        { op: 'bindFd', fd: CONSOLE_FD, target: '/console' },
        sh('stat -c "%t %T" "$ROOT/console"; echo through-the-console >"$ROOT/console"'),
      ],
      { before: 'exec 5<>"$PTS";' },
    );
    expect(decodeChildReport(result.report), result.stderr).toBeNull();
    expect(result.status).toBe(0);
    const ptsNumber = Number(pty.slaveName.slice('/dev/pts/'.length));
    expect(result.stdout).toBe(`88 ${ptsNumber.toString(16)}\n`); // major 136 (0x88): a Unix98 pts
    expect(masterOutput()).toBe('through-the-console\n');
    // The mount lived in the namespace of the run; the host's file is untouched.
    expect(readFileSync(join(root, 'console'), 'utf8')).toBe('');
  });

  it('attaches a detached mount of the pts made in the parent, which a new mount namespace cannot clone', async () => {
    writeFileSync(join(root, 'console'), '');
    const detached = detachedMount({ fd: pty.slave });
    try {
      const result = await run(
        [
          { op: 'openRoot', path: root },
          { op: 'bindFd', fd: CONSOLE_FD, target: '/console' },
          sh('stat -c "%t" "$ROOT/console"'),
        ],
        { consoleFd: detached },
      );
      expect(decodeChildReport(result.report), result.stderr).toBeNull();
      expect(result.stdout).toBe(`${UNIX98_PTY_SLAVE_MAJOR.toString(16)}\n`);
    } finally {
      closeSync(detached);
    }
    // The plain pts of the parent's namespace: neither cloned (EINVAL) nor attachable as a mount.
    const failure = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'bindFd', fd: CONSOLE_FD, target: '/console' },
        sh('true'),
      ]),
    );
    expect(failure).toMatchObject({ opIndex: 1, opcode: OPCODES.bindFd, errno: EINVAL });
    expect(failure.detail).toBe(`bind fd ${CONSOLE_FD} on /console`);
  });

  it('refuses a symlink with ELOOP and a directory with EISDIR, mounting nothing', async () => {
    writeFileSync(join(root, 'planted-target'), '');
    symlinkSync('planted-target', join(root, 'console'));
    mkdirSync(join(root, 'dir'));
    const after = 'grep -c -F "$ROOT" /proc/self/mountinfo;';

    const symlink = await run(
      [{ op: 'openRoot', path: root }, { op: 'bindFd', fd: CONSOLE_FD, target: '/console' }, sh('true')],
      { after },
    );
    expect(onlyError(symlink)).toMatchObject({ opIndex: 1, opcode: OPCODES.bindFd, errno: ELOOP });
    expect(symlink.stdout).toBe('0\n');

    const directory = await run(
      [{ op: 'openRoot', path: root }, { op: 'bindFd', fd: CONSOLE_FD, target: '/dir' }, sh('true')],
      { after },
    );
    expect(onlyError(directory)).toMatchObject({ opIndex: 1, opcode: OPCODES.bindFd, errno: EISDIR });
    expect(directory.stdout).toBe('0\n');
  });

  it('with DIRECTORY attaches a devpts the parent mounted detached onto a real directory, never a symlink', async () => {
    const devpts = mountDetached({ fstype: 'devpts', options: ['ptmxmode=0666'], attrSet: 0 });
    const inDevpts = openPty({ devpts });
    try {
      mkdirSync(join(root, 'pts'));
      const result = await run(
        [
          { op: 'openRoot', path: root },
          { op: 'bindFd', fd: CONSOLE_FD, target: '/pts', directory: true },
          sh('ls "$ROOT/pts"; stat -f -c %T "$ROOT/pts"'),
        ],
        { consoleFd: devpts },
      );
      expect(decodeChildReport(result.report), result.stderr).toBeNull();
      // The parent's pty is in it: the container would see its console as /dev/pts/0.
      expect(inDevpts.slaveName).toBe('/dev/pts/0');
      expect(result.stdout).toBe('0\nptmx\ndevpts\n');

      rmSync(join(root, 'pts'), { recursive: true });
      mkdirSync(join(root, 'elsewhere'));
      symlinkSync('elsewhere', join(root, 'pts'));
      const after = 'grep -c -F "$ROOT" /proc/self/mountinfo;';
      const symlink = await run(
        [
          { op: 'openRoot', path: root },
          { op: 'bindFd', fd: CONSOLE_FD, target: '/pts', directory: true },
          sh('true'),
        ],
        { consoleFd: devpts, after },
      );
      expect(onlyError(symlink)).toMatchObject({ opIndex: 1, opcode: OPCODES.bindFd, errno: ENOTDIR });
      expect(symlink.stdout).toBe('0\n');
      writeFileSync(join(root, 'file'), '');
      const file = await run(
        [
          { op: 'openRoot', path: root },
          { op: 'bindFd', fd: CONSOLE_FD, target: '/file', directory: true },
          sh('true'),
        ],
        { consoleFd: devpts },
      );
      expect(onlyError(file)).toMatchObject({ opIndex: 1, opcode: OPCODES.bindFd, errno: ENOTDIR });
    } finally {
      closeSync(inDevpts.master);
      closeSync(inDevpts.slave);
      closeSync(devpts);
    }
  });

  it('openPty never takes a multiplexer that is not a devpts ptmx', () => {
    writeFileSync(join(root, 'ptmx'), '');
    const dir = openSync(root, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    try {
      expect(() => openPty({ devpts: dir })).toThrow(/not the ptmx of a devpts/);
      rmSync(join(root, 'ptmx'));
      symlinkSync('/dev/ptmx', join(root, 'ptmx'));
      expect(() => openPty({ devpts: dir })).toThrow(/ELOOP|symbolic/);
    } finally {
      closeSync(dir);
    }
  });
});
