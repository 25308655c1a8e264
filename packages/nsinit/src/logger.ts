// nsinit's log lines: in runc's text or JSON format to the --log file; on stderr, a plain
// `nsinit: ...` line for people, or with --log-format json and no --log file, the JSON lines
// themselves (a supervisor that asked for JSON parses stderr).
import { appendFileSync } from 'node:fs';
import { goQuote, marshalGo } from './go-json.js';

type LogFormat = 'text' | 'json';
export interface GlobalOptions {
  /** The state root; commander fills in the default. */
  root: string;
  log?: string;
  logFormat: LogFormat;
  debug?: boolean;
  /** --systemd-cgroup: accepted as runc's flag; the verbs refuse it (no systemd cgroup driver here). */
  systemdCgroup?: boolean;
  /** --rootless true|false|auto (runc's; Go's boolean spellings are read as true or false). Default auto. */
  rootless?: 'true' | 'false' | 'auto';
  /** --criu PATH: accepted as runc's flag and ignored (no checkpoint/restore). */
  criu?: string;
}

type Level = 'debug' | 'warning' | 'error';
export type Logger = (level: Level, message: string) => void;

/** logrus' text formatter quotes a value only when it holds more than [A-Za-z0-9-._/@^+]. */
function logrusValue(value: string): string {
  return /^[A-Za-z0-9\-._/@^+]*$/.test(value) ? value : goQuote(value);
}

/** A line as runc's logrus writes it: JSON keys level, msg, time (its order); or the text form. */
export function formatted(format: LogFormat, level: Level, message: string): string {
  const time = new Date().toISOString();
  return format === 'json'
    ? marshalGo({ level, msg: message, time })
    : `time=${logrusValue(time)} level=${level} msg=${logrusValue(message)}`;
}

export function makeLogger(options: GlobalOptions): Logger {
  return (level: Level, message: string) => {
    if (level === 'debug' && !options.debug) return;
    if (options.log) {
      appendFileSync(options.log, `${formatted(options.logFormat, level, message)}\n`);
      if (level !== 'debug')
        process.stderr.write(`nsinit: ${level === 'error' ? '' : `${level}: `}${message}\n`);
    } else if (options.logFormat === 'json') {
      process.stderr.write(`${formatted('json', level, message)}\n`);
    } else {
      process.stderr.write(`nsinit: ${level === 'error' ? '' : `${level}: `}${message}\n`);
    }
  };
}
