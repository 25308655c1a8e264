/** The typed surface of src/pty.cc: pty pairs, window sizes, termios (issue 4). */
import { native } from './index.js';

export interface WindowSize {
  /** Columns, 1..65535. */
  cols: number;
  /** Rows, 1..65535. */
  rows: number;
}

export interface OpenedPty {
  /** The master (`/dev/ptmx`), CLOEXEC; owned by the caller. */
  master: number;
  /** The slave, opened through the master (TIOCGPTPEER) O_RDWR|O_NOCTTY|CLOEXEC; owned by the caller. */
  slave: number;
  /** The slave's path in the devpts instance behind `/dev/ptmx`, e.g. `/dev/pts/3`. */
  slaveName: string;
}

/**
 * A terminal's settings as `tcgetattr` returns them. The flag words are opaque (their
 * bits differ between architectures): store them, restore them, or derive the raw
 * variant with `makeRawTermios`.
 */
export interface Termios {
  iflag: number;
  oflag: number;
  cflag: number;
  lflag: number;
  line: number;
  /** The control characters, NCCS (32) of them. */
  cc: number[];
  /** Speeds as B* constants, not bauds. */
  ispeed: number;
  ospeed: number;
}

export interface PtyBinding {
  /**
   * A new pty pair, both ends blocking: `/dev/ptmx` opened O_RDWR|O_NOCTTY|O_CLOEXEC,
   * unlocked, its window size set when `cols` and `rows` are given, and the slave opened
   * from the master (TIOCGPTPEER), never by path (CVE-2025-52565). With `root` (a directory
   * fd, a container's root), the multiplexer is that root's `/dev/pts/ptmx` instead — resolved
   * inside it without following any link, and refused (ENODEV) unless it is the ptmx of a devpts
   * — so the pty is `/dev/pts/N` in the container (`slaveName` says so). With `devpts` (the fd of
   * a devpts mount, e.g. from mountDetached), that devpts' own `ptmx`, checked the same way.
   */
  openPty(options?: Partial<WindowSize> & { root?: number; devpts?: number }): OpenedPty;
  /** TIOCGWINSZ on a terminal fd (either end of a pty). */
  getWindowSize(options: { fd: number }): WindowSize;
  /** TIOCSWINSZ: the foreground process group of the terminal gets SIGWINCH. */
  setWindowSize(options: { fd: number } & WindowSize): void;
  /** tcgetattr. */
  getTermios(options: { fd: number }): Termios;
  /** tcsetattr; `when`: 'now' (TCSANOW, the default), 'drain' (TCSADRAIN) or 'flush' (TCSAFLUSH). */
  setTermios(options: { fd: number; termios: Termios; when?: 'now' | 'drain' | 'flush' }): void;
  /**
   * `cfmakeraw` on a copy: no echo, no line editing, no signals from keys, no input or
   * output processing (unlike Node's `setRawMode`, which keeps output processing on).
   */
  makeRawTermios(options: { termios: Termios }): Termios;
  /** O_NONBLOCK on or off for the open file description (shared by every dup, and by a receiver over a socket). */
  setNonBlocking(options: { fd: number; nonBlocking: boolean }): void;
  /** A CLOEXEC duplicate: the same open file description under a second number (libuv watches numbers). */
  duplicateFd(options: { fd: number }): number;
  /**
   * A detached copy of the mount of the file behind `fd` (`open_tree(OPEN_TREE_CLONE)`, CLOEXEC),
   * e.g. of a console's pts, to hand to a child in a new mount namespace: the kernel clones
   * only mounts of the caller's own namespace (a pts opened here fails with EINVAL there), but
   * the child may attach this copy with `move_mount`. Attached once at most.
   */
  detachedMount(options: { fd: number }): number;
  /**
   * Reads a non-blocking terminal fd into `buffer` until a read would block (`stop: 'again'`),
   * the other side is gone (EIO or EOF: `'end'`), or less than 4 KiB of room is left (`'full'`:
   * a read of a pty returns at most its line discipline's 4 KiB). `bytes` were read before
   * that. One call where a read per 4 KiB would take many; other errors throw.
   */
  readAvailable(options: { fd: number; buffer: Uint8Array }): {
    bytes: number;
    stop: 'full' | 'again' | 'end';
  };
}

export const openPty: PtyBinding['openPty'] = (options) => native().openPty(options);
export const getWindowSize: PtyBinding['getWindowSize'] = (options) => native().getWindowSize(options);
export const setWindowSize: PtyBinding['setWindowSize'] = (options) => native().setWindowSize(options);
export const getTermios: PtyBinding['getTermios'] = (options) => native().getTermios(options);
export const setTermios: PtyBinding['setTermios'] = (options) => native().setTermios(options);
export const makeRawTermios: PtyBinding['makeRawTermios'] = (options) => native().makeRawTermios(options);
export const setNonBlocking: PtyBinding['setNonBlocking'] = (options) => native().setNonBlocking(options);
export const duplicateFd: PtyBinding['duplicateFd'] = (options) => native().duplicateFd(options);
export const detachedMount: PtyBinding['detachedMount'] = (options) => native().detachedMount(options);
export const readAvailable: PtyBinding['readAvailable'] = (options) => native().readAvailable(options);
