// The handle of a running container: its pid, stdio streams, wait and kill; stats, pause and
// resume of its cgroup (shared with loadContainer's handle); and its end when this process
// ends first.
import { closeSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { isMainThread } from 'node:worker_threads';
import type { CgroupStats } from '@nsinit/cgroups';
import { type ExitResult, type ExitStatus, exitResult, pidfdSendSignal } from '@nsinit/native';
import type { Pty } from '@nsinit/pty';
import { loadContainerDir } from '@nsinit/state';
import { abortError } from './errors.js';
import { CgroupVerbs, endContainerSync, signalNumber, startCreated } from './load-container.js';

export type { ExitResult };
export { signalNumber };

// ---------------------------------------------------------------------------------------
// When this process ends first. Its containers would die of the parent-death signal, but
// their cgroups, networks and state directories would stay, and the next run with the same
// id would fail. So on every way out — process.exit(), an uncaught exception (both emit
// 'exit'), and SIGTERM, SIGINT or SIGHUP left to their default action (which emit nothing) —
// each live container is killed, waited for and removed, synchronously.

/** Containers started here whose end has not been cleaned up yet. */
const live = new Set<Container>();
/** The fatal signals a program commonly gets; the others (SIGQUIT, …) dump core or are rare. */
const ENDING_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/** How long the end of all containers may take at process exit before giving up (and recording what is left). */
const EXIT_CLEANUP_MS = 5_000;

function endAllSync(): void {
  const deadline = Date.now() + EXIT_CLEANUP_MS;
  for (const container of live) {
    live.delete(container);
    const failures = container.endSync(deadline);
    if (failures.length > 0) {
      // The process is ending: a warning event would never be printed, so write it now.
      writeSync(
        2,
        `nsinit: container ${container.id} could not be removed completely as this process ended: ${failures.join('; ')}; ` +
          `what is left is recorded in ${container.stateDir}/state.json: loadContainer(root, id).destroy() removes it\n`,
      );
    }
  }
  unwatchProcessEnd();
}

function onEndingSignal(signal: NodeJS.Signals): void {
  // Someone else listens: the signal's default action (ending the process) is not what happens,
  // so it is not ours to end anything either.
  if (process.listenerCount(signal) > 1) return;
  endAllSync();
  // What Node's own handler does before dying of SIGINT or SIGTERM.
  if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
  // Our listener is gone, so the signal's default action is back: die of it, as without nsinit.
  process.kill(process.pid, signal);
}

let watching = false;

/**
 * A listener changes what a signal does (Node no longer dies of it), so they are there only
 * while containers are live, and the handler dies of the signal again after the cleanup.
 */
function watchProcessEnd(): void {
  if (watching) return;
  watching = true;
  process.on('exit', endAllSync);
  // Signals reach only the main thread's listeners.
  if (isMainThread) for (const signal of ENDING_SIGNALS) process.on(signal, onEndingSignal);
}

function unwatchProcessEnd(): void {
  if (!watching) return;
  watching = false;
  process.off('exit', endAllSync);
  if (isMainThread) for (const signal of ENDING_SIGNALS) process.off(signal, onEndingSignal);
}

function trackLive(container: Container): void {
  live.add(container);
  watchProcessEnd();
}

function untrack(container: Container): void {
  live.delete(container);
  if (live.size === 0) unwatchProcessEnd();
}

export interface ContainerParts {
  id: string;
  pid: number;
  pidfd: number;
  /** The init's start time (/proc/<pid>/stat field 22), as state.json records it. */
  pidStartTime: string;
  /** Left for a later delete when it exits (or this process ends): killed, never removed. */
  keep?: boolean;
  /** The container's state directory; its state.json records the cgroup and the networks. */
  stateDir: string;
  stdio: [Writable | null, Readable | null, Readable | null];
  /** The console, when the container has a terminal and its master stayed here. */
  terminal: Pty | null;
  /** Settles once the init has exited and been reaped. */
  exited: Promise<ExitStatus>;
  /** Removes the state dir and closes what the container held; runs once, after the exit. */
  cleanup: () => Promise<void>;
  /** After the exit, before the cleanup: whether the kernel OOM-killed a process of the container's cgroup. */
  oomKilled: () => boolean;
  signal?: AbortSignal;
  killSignal: number;
}

/**
 * A running container. Its stream types follow run()'s `stdio` option: with
 * `['ignore', 'pipe', 'pipe']`, `stdout` and `stderr` are Readables and `stdin` is null.
 */
export class Container<
  Stdin extends Writable | null = Writable | null,
  Stdout extends Readable | null = Readable | null,
  Stderr extends Readable | null = Readable | null,
> implements AsyncDisposable
{
  readonly id: string;
  /** The init's pid in this process's pid namespace. */
  readonly pid: number;
  /** The container's state directory (pid file, state.json). */
  readonly stateDir: string;
  readonly stdin: Stdin;
  readonly stdout: Stdout;
  readonly stderr: Stderr;
  /**
   * The container's terminal (its console), when it has one: read its output, write its
   * input, `resize()` it. `attachTerminal` from @nsinit/pty connects it to this process's tty.
   */
  readonly terminal: Pty | null;
  readonly #pidfd: number;
  readonly #keep: boolean;
  readonly #done: Promise<ExitResult>;
  readonly #cgroup: CgroupVerbs;
  #exited = false;
  #aborted = false;

  constructor(parts: ContainerParts) {
    this.id = parts.id;
    this.pid = parts.pid;
    this.stateDir = parts.stateDir;
    // run() built the streams its stdio option asked for: the types follow that option.
    [this.stdin, this.stdout, this.stderr] = parts.stdio as [Stdin, Stdout, Stderr];
    this.terminal = parts.terminal;
    this.#pidfd = parts.pidfd;
    this.#keep = parts.keep ?? false;
    this.#cgroup = new CgroupVerbs(
      this.id,
      () => loadContainerDir(dirname(this.stateDir), this.id).readState().cgroupPaths,
      () => !this.#exited,
    );
    const onAbort = () => {
      this.#aborted = true;
      this.kill(parts.killSignal);
    };
    parts.signal?.addEventListener('abort', onAbort, { once: true });
    trackLive(this);
    this.#done = parts.exited.then(async (status) => {
      this.#exited = true;
      parts.signal?.removeEventListener('abort', onAbort);
      closeSync(this.#pidfd);
      // What the container wrote last is in the stream before wait() says it is over.
      this.terminal?.readPending();
      // The OOM killer ended it if it died of SIGKILL and its cgroup counted an OOM kill (a child
      // of the init OOM-killed does not make the init's own exit an OOM kill). Read before the
      // cleanup removes the cgroup that counts it.
      const oomKilled = status.signal === constants.signals.SIGKILL && parts.oomKilled();
      // Still live until its cleanup is done: an exit in the middle finishes it synchronously.
      try {
        await parts.cleanup();
      } finally {
        untrack(this);
      }
      const result = exitResult(status, { oomKilled });
      if (this.#aborted && parts.signal) throw Object.assign(abortError(parts.signal), { exit: result });
      return result;
    });
    // wait() is optional: a rejection nobody awaits must not crash the process.
    this.#done.catch(() => {});
  }

  /**
   * Resolves with the exit once the container has exited and its state is gone.
   * Rejects with an AbortError (carrying `exit`) when the run's signal killed it.
   */
  wait(): Promise<ExitResult> {
    return this.#done;
  }

  /**
   * Sends a signal to the init; false when it has already exited. A SIGKILL also thaws a
   * paused container, whose processes could not die of it otherwise.
   */
  kill(signal: NodeJS.Signals | number = 'SIGKILL'): boolean {
    if (this.#exited) return false;
    const number = signalNumber(signal);
    const sent = pidfdSendSignal({ pidfd: this.#pidfd, signal: number });
    if (sent && number === constants.signals.SIGKILL) this.#cgroup.thawIfFrozen();
    return sent;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Lets a created container (create()) exec its command. Throws ContainerError
   * `ERR_NSINIT_CONTAINER_NOT_CREATED` when it is not waiting for start: started already, or stopped.
   */
  start(): void {
    startCreated(dirname(this.stateDir), this.id, () => !this.#exited);
  }

  /** Resource usage of the container's cgroup (memory, cpu, pids, block I/O, hugetlb). */
  stats(): CgroupStats {
    return this.#cgroup.stats();
  }

  /** Freezes every process of the container; resolves once they are all stopped. */
  pause(): Promise<void> {
    return this.#cgroup.pause();
  }

  /** Thaws a paused container. */
  resume(): Promise<void> {
    return this.#cgroup.resume();
  }

  /**
   * @internal At process exit: SIGKILL on the pidfd, then every other process of the cgroup,
   * a synchronous wait, and the removal of the networks, the cgroup and the state directory.
   * Returns what could not be removed (it stays recorded in state.json).
   */
  endSync(deadline: number): string[] {
    if (!this.#exited) {
      try {
        pidfdSendSignal({ pidfd: this.#pidfd, signal: constants.signals.SIGKILL });
      } catch {
        // Gone already; the cgroup is still swept below.
      }
    }
    // Kept: killed (above), and left recorded for delete.
    if (this.#keep) return [];
    return endContainerSync(this.stateDir, this.id, deadline);
  }

  /** Kills the container if it still runs and waits until it is gone. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill('SIGKILL');
    await this.#done.catch(() => {});
  }
}
