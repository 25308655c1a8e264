// The container's stdin, stdout and stderr: which fd each gets in the child,
// and the parent's stream for each 'pipe'.
import { openSync } from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { pipe } from '@nsinit/native';
import type { OwnedFds } from './fds.js';

/** 'pipe': a stream in the handle; 'inherit': this process's fd; 'ignore': /dev/null; a number: that fd. */
export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number;

export interface PreparedStdio {
  /** The fds to place at 0, 1 and 2 in the child. */
  childFds: [number, number, number];
  /** Child-side fds this process opened: closed right after the spawn. */
  childOwned: number[];
  /** Parent ends of the 'pipe's, wrapped into streams once the child runs. */
  parentFds: [number | null, number | null, number | null];
}

export function normalizeStdio(
  stdio: StdioOption | readonly StdioOption[] | undefined,
): [StdioOption, StdioOption, StdioOption] {
  if (stdio === undefined) return ['pipe', 'pipe', 'pipe'];
  if (!Array.isArray(stdio)) return [stdio as StdioOption, stdio as StdioOption, stdio as StdioOption];
  if (stdio.length !== 3) throw new TypeError('options.stdio must be one value or an array of three');
  return [stdio[0]!, stdio[1]!, stdio[2]!];
}

export function prepareStdio(stdio: [StdioOption, StdioOption, StdioOption], owned: OwnedFds): PreparedStdio {
  const prepared: PreparedStdio = { childFds: [0, 1, 2], childOwned: [], parentFds: [null, null, null] };
  let devNull: number | undefined;
  for (const [index, option] of stdio.entries()) {
    if (option === 'inherit') {
      prepared.childFds[index] = index;
    } else if (option === 'ignore') {
      if (devNull === undefined) {
        devNull = owned.add(openSync('/dev/null', 'r+'));
        prepared.childOwned.push(devNull);
      }
      prepared.childFds[index] = devNull;
    } else if (option === 'pipe') {
      const [readEnd, writeEnd] = pipe().map((fd) => owned.add(fd)) as [number, number];
      const [childEnd, parentEnd] = index === 0 ? [readEnd, writeEnd] : [writeEnd, readEnd];
      prepared.childFds[index] = childEnd;
      prepared.childOwned.push(childEnd);
      prepared.parentFds[index] = parentEnd;
    } else if (typeof option === 'number' && Number.isInteger(option) && option >= 0) {
      prepared.childFds[index] = option;
    } else {
      throw new TypeError(`options.stdio[${index}] must be 'pipe', 'inherit', 'ignore' or an fd number`);
    }
  }
  return prepared;
}

/** Wraps the parent ends in streams, which take the fds over. */
export function openStreams(
  parentFds: PreparedStdio['parentFds'],
  owned: OwnedFds,
): [Writable | null, Readable | null, Readable | null] {
  const [stdin, stdout, stderr] = parentFds.map((fd) => (fd === null ? null : owned.release(fd)));
  return [
    stdin === null ? null : new net.Socket({ fd: stdin, readable: false, writable: true }),
    stdout === null ? null : new net.Socket({ fd: stdout, readable: true, writable: false }),
    stderr === null ? null : new net.Socket({ fd: stderr, readable: true, writable: false }),
  ];
}

/**
 * Whether a terminal is wanted (the option, else the process's `terminal`) and its size (the
 * option's, else the process's consoleSize, else the pty's default); null for none. The option
 * errors: a terminal with stdio, a console socket without a terminal.
 */
export function terminalRequest(
  option: boolean | { cols: number; rows: number } | undefined,
  process: { terminal?: boolean; consoleSize?: { width?: number; height?: number } } | undefined,
  stdio: unknown,
  consoleSocket: string | undefined,
): { cols: number; rows: number } | Record<string, never> | null {
  const wanted = option === undefined ? (process?.terminal ?? false) : option !== false;
  if (wanted && stdio !== undefined) throw new TypeError('options.stdio and a terminal exclude each other');
  if (!wanted && consoleSocket !== undefined) throw new TypeError('options.consoleSocket needs a terminal');
  if (!wanted) return null;
  if (typeof option === 'object') return option;
  const size = process?.consoleSize;
  return size?.width && size.height ? { cols: size.width, rows: size.height } : {};
}
