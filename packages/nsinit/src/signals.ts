// `kill`'s signal argument, as runc 1.1 reads it: a number, or a name in any case with or
// without its SIG prefix. The names are those Go's x/sys/unix knows (one per number, no
// aliases: SIGIOT, SIGPOLL, SIGCLD and the real-time names are unknown to runc, so here too);
// the numbers are this platform's.
import { constants } from 'node:os';

const NAMES = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
] as const;

/** SIGRTMAX on Linux: the highest number kill(2) takes. */
const MAX_SIGNAL = 64;

export class SignalError extends Error {
  override readonly name = 'SignalError';
}

/**
 * The signal number for `kill`'s argument; `''` is runc's default, SIGTERM. runc passes any
 * integer on to kill(2) (which refuses what is not 0–64); here that range is checked first.
 */
export function parseSignal(text: string): number {
  if (text === '') return constants.signals.SIGTERM;
  // Go's strconv.Atoi: an optional sign and decimal digits.
  if (/^[+-]?\d+$/.test(text)) {
    const number = Number(text);
    if (number < 0 || number > MAX_SIGNAL)
      throw new SignalError(
        `invalid signal ${JSON.stringify(text)}: signal numbers go from 0 to ${MAX_SIGNAL}`,
      );
    return number;
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!(NAMES as readonly string[]).includes(name))
    throw new SignalError(`unknown signal ${JSON.stringify(text)}`);
  return constants.signals[name as (typeof NAMES)[number]];
}
