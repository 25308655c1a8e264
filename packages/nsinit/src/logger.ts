// nsinit's log lines: in runc's text or JSON format to the --log file; on stderr, a plain
// `nsinit: ...` line for people, or with --log-format json and no --log file, the JSON lines
// themselves (a supervisor that asked for JSON parses stderr).
import { appendFileSync } from 'node:fs';

type LogFormat = 'text' | 'json';
export interface GlobalOptions {
  /** The state root; commander fills in the default. */
  root: string;
  log?: string;
  logFormat: LogFormat;
  debug?: boolean;
}

type Level = 'debug' | 'warning' | 'error';
export type Logger = (level: Level, message: string) => void;

function formatted(format: LogFormat, level: Level, message: string): string {
  const time = new Date().toISOString();
  return format === 'json'
    ? JSON.stringify({ level, msg: message, time })
    : `time="${time}" level=${level} msg=${JSON.stringify(message)}`;
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
