// How a process ended, in the one shape every nsinit package gives its users: a container's
// wait() and a pty command's wait() resolve with the same ExitResult.
import { constants } from 'node:os';
import type { ExitStatus } from './binding.js';

export interface ExitResult {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  /** The signal's name, or null when the process exited (or the signal has no name, e.g. a real-time one). */
  signal: NodeJS.Signals | null;
  /** Shell convention: the code, or 128 + the signal number. */
  status: number;
  /** The kernel's OOM killer ended it: its cgroup counted an OOM kill (false for a process without one). */
  oomKilled: boolean;
}

/** The name of a signal number (`9` → `'SIGKILL'`), or null for one Node has no name for. */
export function signalName(signal: number): NodeJS.Signals | null {
  for (const [name, value] of Object.entries(constants.signals)) {
    if (value === signal) return name as NodeJS.Signals;
  }
  return null;
}

/** `waitExit`'s numbers as an ExitResult; `oomKilled` is for the caller to tell, from a cgroup. */
export function exitResult(status: ExitStatus, options: { oomKilled?: boolean } = {}): ExitResult {
  return {
    code: status.code,
    signal: status.signal === null ? null : signalName(status.signal),
    status: status.status,
    oomKilled: options.oomKilled ?? false,
  };
}
