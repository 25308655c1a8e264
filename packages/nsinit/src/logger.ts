// nsinit's log lines: stderr, and with --log a file in runc's text or JSON format.
import { appendFileSync } from 'node:fs';

type LogFormat = 'text' | 'json';
export interface GlobalOptions {
  root?: string;
  log?: string;
  logFormat: LogFormat;
  debug?: boolean;
}

export type Logger = (level: 'debug' | 'warning' | 'error', message: string) => void;

export function makeLogger(options: GlobalOptions): Logger {
  return (level: 'debug' | 'warning' | 'error', message: string) => {
    if (level === 'debug' && !options.debug) return;
    if (options.log) {
      const time = new Date().toISOString();
      const line =
        options.logFormat === 'json'
          ? JSON.stringify({ level, msg: message, time })
          : `time="${time}" level=${level} msg=${JSON.stringify(message)}`;
      appendFileSync(options.log, `${line}\n`);
    }
    if (level !== 'debug' || !options.log) process.stderr.write(`nsinit: ${level === 'error' ? '' : `${level}: `}${message}\n`);
  };
}

