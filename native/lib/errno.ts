// errno numbers and names, the one place every nsinit package turns them into words.
// Numbers come from the kernel (the helper's report, netlink acks, the addon); names and
// messages from Node, so they read like Node's own system errors.
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

const names: ReadonlyMap<number, string> = (() => {
  const byNumber = new Map<number, string>();
  // Aliases share a number (EWOULDBLOCK = EAGAIN); the first name Node lists wins.
  for (const [name, value] of Object.entries(constants.errno)) {
    if (!byNumber.has(value)) byNumber.set(value, name);
  }
  return byNumber;
})();

// Errnos Node names but libuv has no text for, in glibc's words (lower-cased like libuv's).
const MISSING_FROM_LIBUV: Readonly<Record<string, string>> = {
  EBADMSG: 'bad message',
  ECHILD: 'no child processes',
  EDEADLK: 'resource deadlock avoided',
  EDOM: 'numerical argument out of domain',
  EDQUOT: 'disk quota exceeded',
  EIDRM: 'identifier removed',
  EINPROGRESS: 'operation now in progress',
  EMULTIHOP: 'multihop attempted',
  ENETRESET: 'network dropped connection on reset',
  ENOEXEC: 'exec format error',
  ENOLCK: 'no locks available',
  ENOLINK: 'link has been severed',
  ENOMSG: 'no message of desired type',
  ENOSR: 'out of streams resources',
  ENOSTR: 'device not a stream',
  ESTALE: 'stale file handle',
  ETIME: 'timer expired',
};

let messages: Map<number, [string, string]> | undefined;

/** The symbolic name of a positive errno (`2` → `'ENOENT'`), or undefined when Node does not know it. */
export function errnoName(errno: number): string | undefined {
  return names.get(errno);
}

/**
 * The name of a positive errno for a message or an error's `errnoCode`: `'ENOENT'`, else
 * `'errno 1234'` for a number Node does not know, `'no errno'` for 0 (a failure that was no
 * system call's).
 */
export function errnoLabel(errno: number): string {
  return errnoName(errno) ?? (errno === 0 ? 'no errno' : `errno ${errno}`);
}

/**
 * What a positive errno means, in libuv's words as Node's system errors give them
 * (`2` → `'no such file or directory'`); `'unknown error 1234'` for one libuv has no text for.
 */
export function errnoMessage(errno: number): string {
  messages ??= getSystemErrorMap();
  const name = errnoName(errno);
  return messages.get(-errno)?.[1] ?? (name && MISSING_FROM_LIBUV[name]) ?? `unknown error ${errno}`;
}

/** The `code` of a Node system error (`'ENOENT'`, `'EAGAIN'` ...), or undefined for anything else. */
export function systemErrorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
