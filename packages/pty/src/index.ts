// spawn() throws it for a command that cannot run; the same error as a container's.
export { InitError, type InitErrorCode } from '@nsinit/native';
export { type AttachOptions, attachTerminal, setRawMode, type TerminalAttachment } from './attach.js';
export {
  type AcceptOptions,
  type ConsoleMaster,
  ConsoleSocket,
  sendConsoleMaster,
} from './console-socket.js';
export { PtyError, type PtyErrorCode } from './errors.js';
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
export { type ExitResult, PtyProcess, type PtySpawnOptions, type Subscription, spawn } from './spawn.js';
