import { readFileSync } from 'node:fs';
import { systemErrorCode } from '@nsinit/native';
import { InvalidStateError, StateError } from './errors.js';

/** `/proc/<pid>/stat` could not be parsed (a kernel format nsinit does not know). */
export class ProcStatParseError extends StateError {
  override readonly name = 'ProcStatParseError';
  readonly code = 'ERR_NSINIT_STATE_PROC_STAT';
}

export interface ProcStat {
  pid: number;
  /** The command name, without the parentheses; may itself contain spaces and parentheses. */
  comm: string;
  /** One letter: R, S, D, Z (zombie), X (dead), T, t, I, ... */
  state: string;
  /** Field 22, start time after boot in clock ticks, kept as the decimal string the kernel wrote. */
  startTime: string;
}

const STATE_FIELD = 3;
const START_TIME_FIELD = 22;

/**
 * Parse the text of `/proc/<pid>/stat`. The comm (field 2) is free text in parentheses that may
 * contain `) (` itself, so the fields after it are found from the last `)`.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open === -1 || close < open) {
    throw new ProcStatParseError(`no "(comm)" in /proc stat line ${JSON.stringify(text.slice(0, 120))}`);
  }
  const pid = Number(text.slice(0, open));
  // Fields after the comm, numbered from STATE_FIELD.
  const rest = text
    .slice(close + 1)
    .trim()
    .split(' ');
  const state = rest[0] ?? '';
  const startTime = rest[START_TIME_FIELD - STATE_FIELD] ?? '';
  if (!Number.isInteger(pid) || pid <= 0 || !/^[A-Za-z]$/.test(state) || !/^\d+$/.test(startTime)) {
    throw new ProcStatParseError(
      `unexpected /proc stat line ${JSON.stringify(text.slice(0, 120))}: ` +
        `pid ${JSON.stringify(text.slice(0, open))}, state ${JSON.stringify(state)}, ` +
        `start time (field ${START_TIME_FIELD}) ${JSON.stringify(startTime)}`,
    );
  }
  return { pid, comm: text.slice(open + 2, close), state, startTime };
}

export function checkPid(pid: unknown): number {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new InvalidStateError(`a pid must be a positive integer, got ${String(pid)}`);
  }
  return pid;
}

/** `/proc/<pid>/stat` parsed, or null when no such process exists. */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${checkPid(pid)}/stat`, 'utf8');
  } catch (error) {
    // ESRCH: the process exited between open and read.
    const code = systemErrorCode(error);
    if (code === 'ENOENT' || code === 'ESRCH') return null;
    throw error;
  }
  return parseProcStat(text);
}

/** Field 22 of `/proc/<pid>/stat` (start time in clock ticks after boot), or null if no such process. */
export function readProcessStartTime(pid: number): string | null {
  return readProcStat(pid)?.startTime ?? null;
}

/**
 * True only if `pid` is alive (not a zombie or dead) and started at `startTime`: a pid reused by
 * another process after the container's init exited is never mistaken for it.
 */
export function isSameProcess(pid: number, startTime: string): boolean {
  const stat = readProcStat(pid);
  if (stat === null) return false;
  return stat.state !== 'Z' && stat.state !== 'X' && stat.startTime === startTime;
}
