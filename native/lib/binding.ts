// The typed surface of the compiled addon (src/addon.cc) and its loader.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BpfBinding } from './bpf.js';
import type { FdPassingBinding } from './fdpass.js';
import type { FsBinding } from './fs.js';
import type { NetlinkBinding } from './netlink.js';
import type { PtyBinding } from './pty.js';

export interface FdPlacement {
  /** An fd open in this process. */
  from: number;
  /** The number it gets in the child. */
  to: number;
}

export interface SpawnOptions {
  /** The sealed helper executable (see `helperFd()`). */
  helperFd: number;
  argv: readonly string[];
  env?: readonly string[];
  /** CLONE_NEW* flags only. */
  cloneFlags: number;
  /** Every fd the child gets; anything else is closed before the helper runs. */
  fds: readonly FdPlacement[];
  /** A cgroup v2 directory fd: the child starts in it (CLONE_INTO_CGROUP). */
  cgroupFd?: number;
  /** Signal the child receives when the spawning thread exits. */
  parentDeathSignal?: number;
}

export interface SpawnedProcess {
  pid: number;
  /** Owned by the caller: close it after `waitExit` settles. */
  pidfd: number;
}

export interface ExitStatus {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** Signal number, or null when it exited. */
  signal: number | null;
  /** Shell convention: the code, or 128 + the signal. */
  status: number;
  coreDumped?: boolean;
}

/** src/addon.cc: processes, pidfds, memfds, pipes, locks. */
export interface ProcessBinding {
  spawn(options: SpawnOptions): SpawnedProcess;
  /**
   * Resolves once the process has exited and been reaped. One wait per pidfd at a time. With
   * `ref: false` the watch does not keep this process's event loop alive (default true).
   */
  waitExit(options: { pidfd: number; ref?: boolean }): Promise<ExitStatus>;
  /**
   * Stops the pending waitExit on `pidfd` without reaping the process, whose exit is then for
   * whoever inherits it (a subreaper) once this process ends; that wait rejects with code
   * ERR_NSINIT_WAIT_CANCELLED. False when no wait is pending on the fd.
   */
  cancelWaitExit(options: { pidfd: number }): boolean;
  /** False when the process is already gone. */
  pidfdSendSignal(options: { pidfd: number; signal: number }): boolean;
  /**
   * pidfd_open(2): a pidfd (CLOEXEC, the caller's to close) of the process `pid` of this pid
   * namespace; ESRCH when there is none. For a child this process did not spawn (the init
   * helper's CLONE_PARENT sibling): `waitExit` then watches and reaps it.
   */
  pidfdOpen(pid: number): number;
  createSealedMemfd(
    options: { name: string; executable?: boolean } & ({ path: string } | { contents: Uint8Array }),
  ): number;
  /** A connected AF_UNIX stream pair, both ends CLOEXEC. */
  socketPair(): [number, number];
  /** [read end, write end], both CLOEXEC. */
  pipe(): [number, number];
  /** False when `wait` is false and another holder has the lock. */
  flock(options: { fd: number; operation: 'exclusive' | 'shared' | 'unlock'; wait?: boolean }): boolean;
}

/** Everything the compiled addon exports; each feature's functions are typed in its own file. */
export interface NativeBinding
  extends ProcessBinding,
    PtyBinding,
    FdPassingBinding,
    NetlinkBinding,
    BpfBinding,
    FsBinding {}

export class NativeLoadError extends Error {
  readonly code = 'ERR_NSINIT_NATIVE_LOAD';
  constructor(
    readonly what: string,
    readonly tried: readonly { path: string; error: string }[],
  ) {
    super(
      `could not load ${what}; tried:\n${tried.map((t) => `  ${t.path}: ${t.error}`).join('\n')}\n` +
        'Rebuild it with `pnpm --filter @nsinit/native run build` (needs make, g++ and the Node headers), ' +
        'or point NSINIT_NATIVE_DIR at a folder holding nsinit.node and nsinit-init.',
    );
    this.name = 'NativeLoadError';
  }
}

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Where a built artefact may live, most specific first. */
export function candidateDirs(): string[] {
  const dirs = [
    `${packageDir}build/Release`,
    `${packageDir}build/Debug`,
    `${packageDir}prebuilds/linux-${process.arch}`,
  ];
  const override = process.env.NSINIT_NATIVE_DIR;
  return override ? [override, ...dirs] : dirs;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

export function loadBinding(): NativeBinding {
  const require = createRequire(import.meta.url);
  const tried: { path: string; error: string }[] = [];
  for (const dir of candidateDirs()) {
    const path = `${dir}/nsinit.node`;
    try {
      return require(path) as NativeBinding;
    } catch (error) {
      tried.push({ path, error: errorText(error) });
    }
  }
  throw new NativeLoadError('the nsinit addon (nsinit.node)', tried);
}

export function findHelper(): string {
  const tried: { path: string; error: string }[] = [];
  for (const dir of candidateDirs()) {
    const path = `${dir}/nsinit-init`;
    if (existsSync(path)) return path;
    tried.push({ path, error: 'not found' });
  }
  throw new NativeLoadError('the init helper (nsinit-init)', tried);
}
