// Child processes for the real-cgroup tests, and their cleanup: every workload is a
// `sh -c` that waits for a line on stdin, so the test can move it into a cgroup before
// it does anything; afterwards each one still running is killed by its pid.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupManager } from '../src/index.js';

export interface Workload {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Lets the script run past its `read`. */
  go(): void;
  /** Resolves with the exit signal or code, whenever it comes (also if it already came). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Workload[] = [];
const managers: CgroupManager[] = [];

export async function workload(script: string): Promise<Workload> {
  const child = spawn('sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  await once(child, 'spawn');
  const started_: Workload = {
    child,
    pid: child.pid!,
    output: () => output,
    go: () => child.stdin.end('go\n'),
    exited,
  };
  started.push(started_);
  return started_;
}

/** Registers a manager for destruction after the test (its processes are killed first). */
export function track<M extends CgroupManager>(manager: M): M {
  managers.push(manager);
  return manager;
}

/** Waits until `condition` holds, polling, or fails after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Kills what the test started (by pid), then removes its cgroups; returns the directories that were created. */
export async function cleanUp(): Promise<string[]> {
  for (const { child, pid, exited } of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGKILL');
      await exited;
    }
  }
  const removed: string[] = [];
  for (const manager of managers.splice(0)) {
    // Grandchildren (a workload's own children) may still be inside, unless the test removed it already.
    if (manager.paths.created.every((dir) => existsSync(dir)) && manager.pids().length > 0)
      await manager.killAll();
    await manager.destroy();
    removed.push(...manager.paths.created);
  }
  return removed;
}
