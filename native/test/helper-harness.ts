// Runs the built init helper the way the addon will: the program on fd 3 (a temp
// file here; the helper only needs fstat + pread), the report socket on fd 4 (a
// 'pipe' stdio is a UNIX socketpair). Its report is read with lib/report.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net, { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidfdOpen, pipe, waitExit } from '../lib/index.js';
import { type InitChild, launchInit } from '../lib/launch.js';
import type { InitOp } from '../lib/program.js';
import {
  type ChildError,
  type ChildFrame,
  type ChildReport,
  ChildReportDecoder,
  decodeChildReport,
  encodeContextFrame,
} from '../lib/report.js';

/** NSINIT_TEST_HELPER runs the suite against another build (e.g. one with sanitizers). */
export const HELPER =
  process.env.NSINIT_TEST_HELPER ?? fileURLToPath(new URL('../build/Release/nsinit-init', import.meta.url));

export const OP_INDEX_NONE = 0xffff_ffff;

export function assertHelperBuilt(): void {
  if (!existsSync(HELPER)) {
    throw new Error(`${HELPER} is missing: build it with \`cd native && node-gyp build --nodedir=/usr\``);
  }
}

export interface HelperRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Everything the helper wrote to the report socket. */
  report: Buffer;
}

export interface RunOptions {
  /** Written to the report socket before its write side is shut down (the go signal). */
  go?: Buffer;
  /** Command to run the helper under, e.g. ['unshare', '--uts', '--']. */
  wrap?: readonly string[];
  /** Replaces the helper's ['3', '4'] arguments. */
  argv?: readonly string[];
  /** Extra environment for the wrapper (the helper's own environment is irrelevant to it). */
  env?: NodeJS.ProcessEnv;
  /** Fds of this process the helper gets at 5, 6, ... (after the program and the report socket). */
  extraFds?: readonly number[];
}

const KILL_AFTER_MS = 10_000;

function spawnHelper(programFd: number, options: RunOptions): Promise<HelperRun> {
  const [command, ...args] = [...(options.wrap ?? []), HELPER, ...(options.argv ?? ['3', '4'])];
  const child = spawn(command!, args, {
    stdio: ['ignore', 'pipe', 'pipe', programFd, 'pipe', ...(options.extraFds ?? [])],
    env: { ...process.env, ...options.env },
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const report: Buffer[] = [];
  const socket = child.stdio[4] as Socket;
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  socket.on('data', (chunk: Buffer) => report.push(chunk));
  // A helper that rejects its program exits without reading the go frame: EPIPE is expected.
  socket.on('error', () => {});
  // Only a real go frame is written: even an empty write fails with EPIPE once the helper
  // has exited, and the failed write would destroy the socket before its report is read.
  if (options.go) socket.end(options.go);
  else socket.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({
        status,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        report: Buffer.concat(report),
      });
    });
  });
}

/** Runs the helper on `program`; the temp file holding it is gone when this resolves. */
export async function runHelper(program: Uint8Array, options: RunOptions = {}): Promise<HelperRun> {
  const dir = mkdtempSync(join(tmpdir(), 'nsinit-helper-'));
  try {
    const file = join(dir, 'program');
    writeFileSync(file, program);
    const fd = openSync(file, 'r');
    try {
      return await spawnHelper(fd, options);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The run's one ERROR frame, after checking it failed the documented way: exit 1, no signal. */
export function onlyError(run: HelperRun): ChildError {
  let report: ChildError | null = null;
  let problem = '';
  try {
    report = decodeChildReport(run.report);
  } catch (error) {
    problem = `; the report is not one ERROR frame: ${(error as Error).message}`;
  }
  if (run.signal !== null || run.status !== 1 || report === null) {
    throw new Error(
      `expected exit 1 with one ERROR frame, got status ${run.status} signal ${run.signal} and ${JSON.stringify(report)}` +
        `${problem} (stderr ${JSON.stringify(run.stderr)})`,
    );
  }
  return report;
}

/** The go frame of `entries` (lib/report.ts's encoder). */
export function contextFrame(entries: readonly (readonly [string, string])[]): Buffer {
  return encodeContextFrame(new Map(entries));
}

/** A frame with any type, reserved field and payload, for the decoder to reject. */
export function syncFrame(type: number, payload: Buffer, reserved = 0): Buffer {
  const header = Buffer.alloc(12);
  header.write('NSSP', 0, 'latin1');
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(reserved, 6);
  header.writeUInt32LE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

/** Namespaces held by a `sleep` under `unshare <flags>` after `setup` (shell commands) ran in them. */
export interface NamespaceHolder {
  /** The `unshare` process: with `--fork` its child holds the namespaces (see its `*_for_children`). */
  pid: number;
  /** Ends the holder, and its namespaces with it. */
  release(): Promise<void>;
}

export async function holdNamespaces(flags: readonly string[], setup = 'true'): Promise<NamespaceHolder> {
  // With --fork, --kill-child: the forked holder dies with unshare (SIGKILLed below).
  const killChild = flags.includes('--fork') ? ['--kill-child'] : [];
  const holder: ChildProcess = spawn(
    'unshare',
    [...flags, ...killChild, '--', 'sh', '-c', `${setup} && echo ready && exec sleep 300`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [chunk] = (await once(holder.stdout!, 'data')) as [Buffer];
  if (chunk.toString() !== 'ready\n')
    throw new Error(`the namespace holder said ${JSON.stringify(chunk.toString())}`);
  return {
    pid: holder.pid!,
    async release() {
      if (holder.exitCode !== null || holder.signalCode !== null) return;
      const exited = once(holder, 'exit');
      holder.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A network namespace of its own, held by a `sleep` under `unshare --net` after `setup`
 * (shell commands) ran in it; `release()` ends the holder, and the namespace with it.
 */
export async function holdNetworkNamespace(
  setup: string,
): Promise<{ pid: number; path: string; release(): Promise<void> }> {
  const holder = await holdNamespaces(['--net'], setup);
  return { ...holder, path: `/proc/${holder.pid}/ns/net` };
}

/**
 * The parent's end of a launched helper's sync socket (launchInit's syncFd, owned from here on),
 * its frames decoded as they arrive, as @nsinit/syncpipe's channel does.
 */
export class FrameReader {
  readonly #socket: Socket;
  readonly #decoder = new ChildReportDecoder();
  readonly #frames: ChildFrame[] = [];
  readonly #waiting: ((frame: ChildFrame | null) => void)[] = [];
  #eof = false;
  #failure: Error | undefined;
  /** The whole report at EOF; rejects for a protocol error or a socket failure. */
  readonly ended: Promise<ChildReport>;

  constructor(fd: number) {
    this.#socket = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    this.ended = new Promise((resolve, reject) => {
      this.#socket.on('data', (chunk: Buffer) => {
        try {
          for (const frame of this.#decoder.push(chunk)) this.#deliver(frame);
        } catch (error) {
          this.#failure = error as Error;
          this.#socket.destroy();
          reject(error);
          this.#flush();
        }
      });
      this.#socket.on('end', () => {
        this.#eof = true;
        try {
          resolve(this.#decoder.end());
        } catch (error) {
          this.#failure = error as Error;
          reject(error);
        }
        this.#flush();
      });
      this.#socket.on('error', (error) => {
        this.#failure ??= error;
        reject(error);
        this.#flush();
      });
    });
    this.ended.catch(() => {});
  }

  /** The go signal: an empty CONTEXT frame, then our write side shut down. */
  go(): void {
    this.#socket.end(encodeContextFrame({}));
  }

  /** The next frame, or null at EOF; rejects once the channel failed. */
  next(): Promise<ChildFrame | null> {
    const frame = this.#frames.shift();
    if (frame) return Promise.resolve(frame);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#eof) return Promise.resolve(null);
    return new Promise((resolve, reject) =>
      this.#waiting.push((next) => (next === null && this.#failure ? reject(this.#failure) : resolve(next))),
    );
  }

  /** Closes our end (the fd with it). */
  close(): void {
    this.#socket.destroy();
  }

  #deliver(frame: ChildFrame): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(frame);
    else this.#frames.push(frame);
  }

  #flush(): void {
    for (const waiter of this.#waiting.splice(0)) waiter(null);
  }
}

/** The pids of this process's children (of any of its threads), zombies included. */
export function childrenOfThisProcess(): Set<number> {
  const pids = new Set<number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim();
    for (const pid of text ? text.split(' ') : []) pids.add(Number(pid));
  }
  return pids;
}

/** The parent pid of `pid`, from /proc/<pid>/stat (a zombie still has one). */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: the fields follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[1]);
}

/**
 * launchInit on `ops` with stdin on /dev/null, stdout and stderr on one pipe, and `fds` placed at
 * 5, 6, ... (closed here, like every other fd of ours). `reader` owns the sync fd when the
 * program talks on it; `output()` reads the pipe to its end (once every writer, a CLONE_PARENT
 * child too, closed it) and closes it.
 */
export function launchHelper(
  ops: readonly InitOp[],
  options: { fds?: readonly number[]; cloneFlags?: number } = {},
): { child: InitChild; reader: FrameReader | null; output(): string } {
  const fds = options.fds ?? [];
  const [out, outWrite] = pipe();
  const devNull = openSync('/dev/null', 'r');
  let child: InitChild;
  try {
    child = launchInit({
      program: ops,
      fds: [
        { from: devNull, to: 0 },
        { from: outWrite, to: 1 },
        { from: outWrite, to: 2 },
        ...fds.map((from, i) => ({ from, to: 5 + i })),
      ],
      cloneFlags: options.cloneFlags ?? 0,
      errorContext: { subject: 'test' },
    });
  } catch (error) {
    closeSync(out);
    throw error;
  } finally {
    closeSync(outWrite);
    closeSync(devNull);
    for (const fd of fds) closeSync(fd);
  }
  const output = () => {
    try {
      return readFileSync(out, 'utf8');
    } finally {
      closeSync(out);
    }
  };
  return { child, reader: child.syncFd === null ? null : new FrameReader(child.syncFd), output };
}

/** Waits for and reaps `pid`, a child of this process that `spawn` did not make (CLONE_PARENT's). */
export async function reapChild(pid: number) {
  const pidfd = pidfdOpen(pid);
  try {
    return await waitExit({ pidfd });
  } finally {
    closeSync(pidfd);
  }
}
