// Runs the built init helper the way the addon will: the program on fd 3 (a temp
// file here; the helper only needs fstat + pread), the report socket on fd 4 (a
// 'pipe' stdio is a UNIX socketpair). Its report is read with lib/report.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChildError, decodeChildReport, encodeContextFrame } from '../lib/report.js';

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

/**
 * A network namespace of its own, held by a `sleep` under `unshare --net` after `setup`
 * (shell commands) ran in it; `release()` ends the holder, and the namespace with it.
 */
export async function holdNetworkNamespace(
  setup: string,
): Promise<{ pid: number; path: string; release(): Promise<void> }> {
  const holder: ChildProcess = spawn(
    'unshare',
    ['--net', '--', 'sh', '-c', `${setup} && echo ready && exec sleep 300`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [chunk] = (await once(holder.stdout!, 'data')) as [Buffer];
  if (chunk.toString() !== 'ready\n')
    throw new Error(`the namespace holder said ${JSON.stringify(chunk.toString())}`);
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
