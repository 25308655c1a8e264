export { type AttachOptions, attachTerminal, setRawMode, type TerminalAttachment } from './attach.js';
export {
  type AcceptOptions,
  type ConsoleMaster,
  ConsoleSocket,
  sendConsoleMaster,
} from './console-socket.js';
export { PtyError, type PtyErrorCode, PtySpawnError } from './errors.js';
export {
  adoptPtyMaster,
  checkWindowSize,
  DEFAULT_WINDOW_SIZE,
  openPty,
  Pty,
  type PtyFds,
  type PtyOptions,
  type WindowSize,
} from './pty.js';
export { type ExitStatus, PtyProcess, type PtySpawnOptions, spawn, type Subscription } from './spawn.js';
