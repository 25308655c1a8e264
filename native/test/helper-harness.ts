// Runs the built init helper the way the addon will: the program on fd 3 (a temp
// file here; the helper only needs fstat + pread), the report socket on fd 4 (a
// 'pipe' stdio is a UNIX socketpair). Also a strict reader for its ERROR frames,
// kept local so these tests do not depend on @nsinit/syncpipe.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export interface ErrorFrame {
  opIndex: number;
  opcode: number;
  errno: number;
  detail: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads every frame in `report`, throwing on anything that is not a well-formed ERROR frame. */
export function parseErrorFrames(report: Buffer): ErrorFrame[] {
  const frames: ErrorFrame[] = [];
  let at = 0;
  while (at < report.length) {
    if (report.length - at < 12) throw new Error(`truncated frame header at byte ${at}`);
    if (report.toString('latin1', at, at + 4) !== 'NSSP') throw new Error(`bad magic at byte ${at}`);
    const type = report.readUInt16LE(at + 4);
    const reserved = report.readUInt16LE(at + 6);
    const length = report.readUInt32LE(at + 8);
    if (type !== 2) throw new Error(`frame type ${type} at byte ${at}, expected ERROR (2)`);
    if (reserved !== 0) throw new Error(`reserved header field ${reserved} at byte ${at}`);
    if (length > 65536 || at + 12 + length > report.length)
      throw new Error(`bad payload length ${length} at byte ${at}`);
    const payload = report.subarray(at + 12, at + 12 + length);
    if (length < 16) throw new Error(`ERROR payload of ${length} bytes is too short`);
    if (payload.readUInt16LE(6) !== 0) throw new Error('reserved ERROR field is not 0');
    const detailLength = payload.readUInt32LE(12);
    if (detailLength > 4096 || 16 + detailLength !== length)
      throw new Error(`detail length ${detailLength} does not fill the frame`);
    frames.push({
      opIndex: payload.readUInt32LE(0),
      opcode: payload.readUInt16LE(4),
      errno: payload.readInt32LE(8),
      detail: utf8.decode(payload.subarray(16)),
    });
    at += 12 + length;
  }
  return frames;
}

/** The run's one ERROR frame, after checking it failed the documented way: exit 1, no signal. */
export function onlyError(run: HelperRun): ErrorFrame {
  const frames = parseErrorFrames(run.report);
  if (run.signal !== null || run.status !== 1 || frames.length !== 1) {
    throw new Error(
      `expected exit 1 with one ERROR frame, got status ${run.status} signal ${run.signal} and ${frames.length} frames ` +
        `(${JSON.stringify(frames)}; stderr ${JSON.stringify(run.stderr)})`,
    );
  }
  return frames[0]!;
}

export function contextFrame(entries: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  const u32 = (value: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    return b;
  };
  parts.push(u32(entries.length));
  for (const [key, value] of entries) {
    for (const text of [key, value]) {
      const bytes = Buffer.from(text);
      parts.push(u32(bytes.length), bytes);
    }
  }
  return syncFrame(1, Buffer.concat(parts));
}

export function syncFrame(type: number, payload: Buffer, reserved = 0): Buffer {
  const header = Buffer.alloc(12);
  header.write('NSSP', 0, 'latin1');
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(reserved, 6);
  header.writeUInt32LE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

/**
 * A network namespace of its own, held by a `sleep` under `unshare --net` after `setup`
 * (shell commands) ran in it; `release()` ends the holder, and the namespace with it.
 */
export async function holdNetworkNamespace(setup: string): Promise<{ pid: number; path: string; release(): Promise<void> }> {
  const holder: ChildProcess = spawn('unshare', ['--net', '--', 'sh', '-c', `${setup} && echo ready && exec sleep 300`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(holder.stdout!, 'data')) as [Buffer];
  if (chunk.toString() !== 'ready\n') throw new Error(`the namespace holder said ${JSON.stringify(chunk.toString())}`);
  return {
    pid: holder.pid!,
    path: `/proc/${holder.pid}/ns/net`,
    async release() {
      if (holder.exitCode !== null || holder.signalCode !== null) return;
      const exited = once(holder, 'exit');
      holder.kill('SIGKILL');
      await exited;
    },
  };
}
