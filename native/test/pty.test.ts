// The addon's pty calls: pairs, window sizes, termios and fd flags.
import {
  closeSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  writeSync,
} from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  detachedMount,
  duplicateFd,
  getTermios,
  getWindowSize,
  makeRawTermios,
  type OpenedPty,
  openPty,
  readAvailable,
  setNonBlocking,
  setTermios,
  setWindowSize,
} from '../lib/index.js';

// <asm-generic/termbits.h>, the values on x86-64 and arm64 (the flag words are opaque to
// the API; the tests check what cfmakeraw did with them).
const ICRNL = 0o400;
const IXON = 0o2000;
const OPOST = 0o1;
const ISIG = 0o1;
const ICANON = 0o2;
const ECHO = 0o10;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const UNIX98_PTY_SLAVE_MAJOR = 136;

const opened: number[] = [];
function pair(options?: { cols?: number; rows?: number }): OpenedPty {
  const pty = openPty(options);
  opened.push(pty.master, pty.slave);
  return pty;
}
afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
});

function fdFlags(fd: number): number {
  return Number.parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
}

function readAll(fd: number, bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  let got = 0;
  while (got < bytes) got += readSync(fd, buffer, got, bytes - got, null);
  return buffer.toString();
}

describe('openPty', () => {
  it('opens a master and its slave (through the master), both CLOEXEC and blocking', () => {
    const pty = pair();
    expect(pty.slaveName).toMatch(/^\/dev\/pts\/\d+$/);
    expect(readlinkSync(`/proc/self/fd/${pty.master}`)).toBe('/dev/ptmx');
    expect(readlinkSync(`/proc/self/fd/${pty.slave}`)).toBe(pty.slaveName);
    const rdev = fstatSync(pty.slave).rdev;
    expect((rdev >> 8) & 0xfff).toBe(UNIX98_PTY_SLAVE_MAJOR);
    expect(rdev & 0xff).toBe(Number(pty.slaveName.slice('/dev/pts/'.length)));
    for (const fd of [pty.master, pty.slave]) {
      expect(fdFlags(fd) & O_CLOEXEC).not.toBe(0);
      expect(fdFlags(fd) & O_NONBLOCK).toBe(0);
    }
  });

  it('connects the two ends: slave output on the master, master input on the slave', () => {
    const pty = pair();
    setTermios({ fd: pty.slave, termios: makeRawTermios({ termios: getTermios({ fd: pty.slave }) }) });
    writeSync(pty.slave, 'from the slave');
    expect(readAll(pty.master, 14)).toBe('from the slave');
    writeSync(pty.master, 'typed');
    expect(readAll(pty.slave, 5)).toBe('typed');
  });

  it('sets the window size it is given, on both ends', () => {
    const pty = pair({ cols: 132, rows: 43 });
    expect(getWindowSize({ fd: pty.master })).toEqual({ cols: 132, rows: 43 });
    expect(getWindowSize({ fd: pty.slave })).toEqual({ cols: 132, rows: 43 });
  });

  it('rejects a half or out-of-range window size without opening anything', () => {
    const before = readdirSync('/proc/self/fd').length;
    expect(() => openPty({ cols: 80 })).toThrow(/both options.cols and options.rows/);
    expect(() => openPty({ cols: 0, rows: 24 })).toThrow(/options.cols must be an integer from 1 to 65535/);
    expect(() => openPty({ cols: 80, rows: 65536 })).toThrow(/options.rows/);
    expect(() => openPty({ cols: 80.5, rows: 24 })).toThrow(TypeError);
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });
});

describe('window sizes', () => {
  it('reads back what the master set on the slave', () => {
    const pty = pair();
    setWindowSize({ fd: pty.master, cols: 200, rows: 50 });
    expect(getWindowSize({ fd: pty.slave })).toEqual({ cols: 200, rows: 50 });
  });

  it('fails on a non-terminal with the errno', () => {
    const fd = openSync('/dev/null', 'r');
    try {
      expect(() => getWindowSize({ fd })).toThrow(
        expect.objectContaining({ code: 'ENOTTY', syscall: 'ioctl(TIOCGWINSZ)' }),
      );
      expect(() => setWindowSize({ fd, cols: 1, rows: 1 })).toThrow(
        expect.objectContaining({ code: 'ENOTTY' }),
      );
      expect(() => getTermios({ fd })).toThrow(
        expect.objectContaining({ code: 'ENOTTY', syscall: 'tcgetattr' }),
      );
    } finally {
      closeSync(fd);
    }
  });
});

describe('termios', () => {
  it('round-trips the settings and makes a raw copy without touching the original', () => {
    const pty = pair();
    const cooked = getTermios({ fd: pty.slave });
    expect(cooked.cc).toHaveLength(32);
    expect(cooked.lflag & ICANON).not.toBe(0);
    const raw = makeRawTermios({ termios: cooked });
    expect(raw.lflag & (ICANON | ECHO | ISIG)).toBe(0);
    expect(raw.oflag & OPOST).toBe(0);
    expect(raw.iflag & (ICRNL | IXON)).toBe(0);
    expect(getTermios({ fd: pty.slave })).toEqual(cooked);

    setTermios({ fd: pty.slave, termios: raw });
    expect(getTermios({ fd: pty.slave }).lflag & ICANON).toBe(0);
    setTermios({ fd: pty.slave, termios: cooked, when: 'drain' });
    expect(getTermios({ fd: pty.slave })).toEqual(cooked);
  });

  it('rejects malformed settings', () => {
    const pty = pair();
    const termios = getTermios({ fd: pty.slave });
    expect(() => setTermios({ fd: pty.slave, termios: { ...termios, cc: [1, 2] } })).toThrow(
      /termios.cc must be an array of 32/,
    );
    expect(() => setTermios({ fd: pty.slave, termios: { ...termios, lflag: -1 } })).toThrow(/termios.lflag/);
    expect(() => setTermios({ fd: pty.slave, termios, when: 'later' as 'now' })).toThrow(
      /'now', 'drain' or 'flush'/,
    );
  });
});

describe('fd flags', () => {
  it('switches O_NONBLOCK on the open file description, shared by its duplicates', () => {
    const pty = pair();
    const copy = duplicateFd({ fd: pty.master });
    opened.push(copy);
    expect(copy).not.toBe(pty.master);
    expect(fdFlags(copy) & O_CLOEXEC).not.toBe(0);
    setNonBlocking({ fd: pty.master, nonBlocking: true });
    expect(fdFlags(copy) & O_NONBLOCK).not.toBe(0);
    expect(() => readSync(copy, Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    setNonBlocking({ fd: copy, nonBlocking: false });
    expect(fdFlags(pty.master) & O_NONBLOCK).toBe(0);
  });

  it('clones the mount of a pts into a detached mount of the same device', () => {
    const pty = pair();
    const tree = detachedMount({ fd: pty.slave });
    opened.push(tree);
    expect(fstatSync(tree).rdev).toBe(fstatSync(pty.slave).rdev);
    expect(fdFlags(tree) & O_CLOEXEC).not.toBe(0);
    expect(() => detachedMount({ fd: 99999 })).toThrow(
      expect.objectContaining({ code: 'EBADF', syscall: 'open_tree' }),
    );
  });

  it('reads what is queued in one call: until it would block, the buffer is full, or the end', () => {
    const pty = pair();
    setTermios({ fd: pty.slave, termios: makeRawTermios({ termios: getTermios({ fd: pty.slave }) }) });
    setNonBlocking({ fd: pty.master, nonBlocking: true });
    writeSync(pty.slave, Buffer.alloc(6000, 'a'));
    // Room for one read of the line discipline (at most 4 KiB), then less than that: full.
    const small = readAvailable({ fd: pty.master, buffer: Buffer.alloc(5000) });
    expect(small.stop).toBe('full');
    expect(small.bytes).toBeGreaterThan(0);
    const rest = readAvailable({ fd: pty.master, buffer: Buffer.alloc(65536) });
    expect(rest).toEqual({ bytes: 6000 - small.bytes, stop: 'again' });
    writeSync(pty.slave, 'tail');
    closeSync(pty.slave);
    opened.splice(opened.indexOf(pty.slave), 1);
    const buffer = Buffer.alloc(65536);
    expect(readAvailable({ fd: pty.master, buffer })).toEqual({ bytes: 4, stop: 'end' });
    expect(buffer.subarray(0, 4).toString()).toBe('tail');
    expect(() => readAvailable({ fd: 99999, buffer })).toThrow(
      expect.objectContaining({ code: 'EBADF', syscall: 'read' }),
    );
  });
});
