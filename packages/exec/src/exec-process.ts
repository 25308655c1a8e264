// exec into a running container (runc's `exec`, the 2014 nsinit's `nsenter`): the same sealed
// helper, started in the container's cgroup, enters every namespace of its init at once through
// a pidfd, forks into its pid namespace (the new process is this process's child, so its exit
// status is ours to read), takes on the process's identity and settings, and execs. No
// JavaScript and no fd of ours reaches the container.
import { closeSync, constants as fsConstants, openSync, readlinkSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { CgroupManager } from '@nsinit/cgroups';
import { type DeepReadonly, type OciProcess, parseOciConfig } from '@nsinit/config';
import {
  type ExitResult,
  exitResult,
  launchInit,
  O_PATH,
  pidfdOpen,
  pidfdSendSignal,
  waitExit,
} from '@nsinit/native';
import { openPty, type Pty, sendConsoleMaster } from '@nsinit/pty';
import { readProcessStartTime, writePidFile } from '@nsinit/state';
import { SyncChannel } from '@nsinit/syncpipe';
import { compileExecProcess, NAMESPACE_FLAGS, type NamespaceType } from './compile.js';
import { ExecError } from './errors.js';
import { childFdLayout, OwnedFds } from './fds.js';
import { readHostFacts } from './host.js';
import { signalNumber } from './load-container.js';
import type { StdioSpec } from './run.js';
import { normalizeStdio, openStreams, prepareStdio, terminalRequest } from './stdio.js';
import { UndoStack } from './undo.js';

export interface ExecProcessOptions<S extends StdioSpec = StdioSpec> {
  /** As run()'s: one value for all three streams or one each. Default 'pipe'. Not with a terminal. */
  stdio?: S;
  /** A terminal of its own (a new pty) for the process, optionally of a size. Default: process.terminal. */
  terminal?: boolean | { cols: number; rows: number };
  /** With a terminal: send its master to this Unix socket (runc's console socket) instead of keeping it. */
  consoleSocket?: string;
  /**
   * The process outlives this one: no parent-death signal, and this process never reaps it —
   * its exit status is for the subreaper it is left to (conmon, a containerd shim) or init.
   */
  detach?: boolean;
  /** Written (atomically) with the process's pid once it runs. */
  pidFile?: string;
  /** This process's fds 3 … 3+N-1, passed on at the same numbers. */
  preserveFds?: number;
  /** Exec even into a paused container (the process starts frozen). */
  ignorePaused?: boolean;
  /** A fresh session keyring, as runc gives every exec. Default true. */
  newSessionKeyring?: boolean;
  onWarning?: (message: string) => void;
}

type StreamFor<V, T> = [V] extends ['pipe'] ? T : 'pipe' extends V ? T | null : null;
type Nth<S, I extends 0 | 1 | 2> = S extends readonly [unknown, unknown, unknown] ? S[I] : S;

/** A process started in a container by exec(): its pid, streams, terminal, wait and kill. */
export interface ExecProcess<
  Stdin extends Writable | null = Writable | null,
  Stdout extends Readable | null = Readable | null,
  Stderr extends Readable | null = Readable | null,
> {
  /** Its pid in this process's pid namespace. */
  readonly pid: number;
  readonly stdin: Stdin;
  readonly stdout: Stdout;
  readonly stderr: Stderr;
  /** Its terminal, when it has one and the master stayed here. */
  readonly terminal: Pty | null;
  /** Resolves with its exit (it is this process's child until this process ends). */
  wait(): Promise<ExitResult>;
  /** Signals it through its pidfd; false once it has exited. */
  kill(signal?: NodeJS.Signals | number): boolean;
}

export type ExecProcessFor<S extends StdioSpec> = ExecProcess<
  StreamFor<Nth<S, 0>, Writable>,
  StreamFor<Nth<S, 1>, Readable>,
  StreamFor<Nth<S, 2>, Readable>
>;

/** The running container an exec enters, as its state.json records it. */
export interface ExecTarget {
  id: string;
  pid: number;
  pidStartTime: string;
  cgroup: CgroupManager;
}

/** Namespaces an exec enters when the init's differs from ours (user namespaces are not supported yet). */
const ENTERED: readonly NamespaceType[] = ['mount', 'uts', 'ipc', 'network', 'pid', 'cgroup', 'time'];
const PROC_NS_NAME: Record<NamespaceType, string> = {
  mount: 'mnt',
  uts: 'uts',
  ipc: 'ipc',
  network: 'net',
  pid: 'pid',
  cgroup: 'cgroup',
  time: 'time',
  user: 'user',
};

/** The CLONE_NEW* flags of the namespaces `pid` is in and we are not. */
function namespacesOf(pid: number): number {
  let flags = 0;
  for (const type of ENTERED) {
    const name = PROC_NS_NAME[type];
    const theirs = readlinkSync(`/proc/${pid}/ns/${name}`);
    if (theirs !== readlinkSync(`/proc/self/ns/${name}`)) flags |= NAMESPACE_FLAGS[type];
  }
  return flags;
}

/**
 * The init's root directory (an O_PATH fd of /proc/<pid>/root), checked against the recorded
 * start time once it is open: never the root of a process that took over a reused pid.
 */
function containerRoot(target: ExecTarget, owned: OwnedFds): number {
  const fd = owned.add(openSync(`/proc/${target.pid}/root`, O_PATH | fsConstants.O_DIRECTORY));
  if (readProcessStartTime(target.pid) !== target.pidStartTime) {
    throw new ExecError(
      'ERR_NSINIT_NOT_RUNNING',
      `container ${target.id}: its init (pid ${target.pid}) has exited`,
    );
  }
  return fd;
}

/** A process given to exec, validated as the runtime-spec's `process` of a config is. */
function validProcess(process: DeepReadonly<OciProcess>): DeepReadonly<OciProcess> {
  return parseOciConfig({ ociVersion: '1.2.0', root: { path: '/' }, process }).process!;
}

/** @internal LoadedContainer.exec() checks the container's status first; use that. */
export async function execInContainer<const S extends StdioSpec>(
  target: ExecTarget,
  rawProcess: DeepReadonly<OciProcess>,
  options: ExecProcessOptions<S>,
): Promise<ExecProcessFor<S>> {
  const processSpec = validProcess(rawProcess);
  const layout = childFdLayout(options.preserveFds);
  const pidfdFd = layout.firstExtraFd;
  const size = terminalRequest(options.terminal, processSpec, options.stdio, options.consoleSocket);

  const undo = new UndoStack();
  const owned = new OwnedFds();
  undo.push('close fds', () => owned.closeAll());
  try {
    // The init by a pidfd, checked against the recorded start time once the fd pins it: a pid
    // reused since cannot be entered.
    const initPidfd = owned.add(pidfdOpen(target.pid));
    if (readProcessStartTime(target.pid) !== target.pidStartTime) {
      throw new ExecError(
        'ERR_NSINIT_NOT_RUNNING',
        `container ${target.id}: its init (pid ${target.pid}) has exited`,
      );
    }
    const compiled = compileExecProcess({
      process: { ...processSpec, terminal: size !== null },
      pidfdFd: pidfdFd,
      namespaces: namespacesOf(target.pid),
      syncFd: layout.syncFd,
      firstClosedFd: layout.syncFd,
      ...(options.detach ? {} : { parentDeathSignal: signalNumber('SIGKILL') }),
      sessionKeyring: options.newSessionKeyring === false ? null : `_ses.${target.id}`,
      host: readHostFacts(),
    });
    const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'NsinitWarning'));
    for (const warning of compiled.warnings) warn(warning);

    let pty: Pty | null = null;
    if (size !== null) {
      // In the container's own devpts, so that it is /dev/pts/N in there (ttyname works).
      const root = containerRoot(target, owned);
      pty = openPty({ ...size, root });
      owned.close(root);
    }
    if (pty) {
      const opened = pty;
      undo.push('close the terminal', () => {
        opened.destroy();
      });
    }
    const prepared = pty
      ? {
          childFds: [pty.slave!, pty.slave!, pty.slave!] as [number, number, number],
          childOwned: [],
          parentFds: [null, null, null] as [null, null, null],
        }
      : prepareStdio(normalizeStdio(options.stdio), owned);
    const cloneFd = target.cgroup.cgroupFdForClone();
    const cloneCgroupFd = cloneFd === null ? null : owned.add(cloneFd);

    const helper = launchInit({
      program: compiled.ops,
      reportFd: layout.syncFd,
      programFd: layout.programFd,
      fds: [
        { from: prepared.childFds[0], to: 0 },
        { from: prepared.childFds[1], to: 1 },
        { from: prepared.childFds[2], to: 2 },
        ...layout.preserved,
        { from: initPidfd, to: pidfdFd },
      ],
      ...(cloneCgroupFd !== null ? { cgroupFd: cloneCgroupFd } : {}),
      errorContext: { subject: `exec in container ${target.id}`, searchPath: "the process's PATH" },
    });
    owned.add(helper.pidfd);
    undo.push(`kill and reap the exec helper ${helper.pid}`, async () => {
      pidfdSendSignal({ pidfd: helper.pidfd, signal: 9 });
      await helper.exited;
    });
    const sync = new SyncChannel(helper.syncFd!);
    undo.push('close the sync channel', () => sync.close());
    const childPid = sync.awaitChildPid();
    const report = sync.awaitChildReport();
    childPid.catch(() => {});
    report.catch(() => {});
    for (const fd of prepared.childOwned) owned.close(fd);
    owned.close(initPidfd);
    if (cloneCgroupFd !== null) owned.close(cloneCgroupFd);
    pty?.closeSlave();
    const streams = openStreams(prepared.parentFds, owned);
    undo.push('destroy stdio streams', () => {
      for (const stream of streams) stream?.destroy();
    });
    if (pty && options.consoleSocket) sendConsoleMaster(options.consoleSocket, pty);

    // The v1 hierarchies (v2's was joined at the spawn), then the go signal.
    await target.cgroup.apply(helper.pid);
    sync.go({});
    const pid = await childPid;
    // The new process is our child (CLONE_PARENT): pinned by a pidfd before anything can reap it.
    const pidfd = pid === null ? null : owned.add(pidfdOpen(pid));
    // A detached process is never watched: its exit status is the subreaper's, and even the
    // first, non-blocking look of a wait would reap it if it had ended already.
    const exited = pidfd === null || options.detach ? null : waitExit({ pidfd });
    exited?.catch(() => {});
    if (pidfd !== null) {
      undo.push(`kill the exec'd process ${pid}`, async () => {
        pidfdSendSignal({ pidfd, signal: 9 });
        await exited;
      });
    }
    const failure = await report;
    const helperStatus = await helper.exited;
    if (failure) throw helper.initError(failure);
    if (pid === null || pidfd === null) {
      throw new ExecError(
        'ERR_NSINIT_EXEC_FAILED',
        `exec in container ${target.id}: the helper ended before it started the process (status ${helperStatus.code}, signal ${helperStatus.signal})`,
      );
    }
    sync.close();
    if (options.pidFile !== undefined) writePidFile(options.pidFile, pid);
    undo.commit();
    closeSync(owned.release(helper.pidfd));
    owned.release(pidfd);
    if (pty && options.consoleSocket) pty.destroy();
    if (options.detach || exited === null) {
      // Its exit status is for whoever inherits it once this process ends (the subreaper that
      // ran us: conmon, a containerd shim): we must not reap it, even if it ends first.
      closeSync(pidfd);
      const [stdin, stdout, stderr] = streams;
      const gone = Promise.reject(
        new ExecError('ERR_NSINIT_EXEC_FAILED', `process ${pid} was detached: its exit is its reaper's`),
      );
      gone.catch(() => {});
      return {
        pid,
        stdin,
        stdout,
        stderr,
        terminal: null,
        wait: () => gone,
        kill: () => false,
      } as unknown as ExecProcessFor<S>;
    }

    let done = false;
    const finished = exited.then((status) => {
      done = true;
      closeSync(pidfd);
      return exitResult(status);
    });
    finished.catch(() => {});
    const [stdin, stdout, stderr] = streams;
    return {
      pid,
      stdin,
      stdout,
      stderr,
      terminal: pty && !options.consoleSocket ? pty : null,
      wait: () => finished,
      kill: (signal = 'SIGKILL') => !done && pidfdSendSignal({ pidfd, signal: signalNumber(signal) }),
    } as ExecProcessFor<S>;
  } catch (error) {
    const failures = await undo.unwind();
    if (failures.length > 0 && error instanceof Error) {
      error.message += `; cleanup also failed: ${failures.map((f) => f.message).join('; ')}`;
    }
    throw error;
  }
}
