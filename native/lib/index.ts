import { findHelper, loadBinding, type NativeBinding } from './binding.js';

export {
  candidateDirs,
  type ExitStatus,
  type FdPlacement,
  findHelper,
  type NativeBinding,
  NativeLoadError,
  type ProcessBinding,
  type SpawnedProcess,
  type SpawnOptions,
} from './binding.js';
export * from './bpf.js';
export * from './constants.js';
export * from './errno.js';
export * from './exit.js';
export * from './fdpass.js';
export * from './fs.js';
export * from './init-error.js';
export * from './launch.js';
export * from './netlink.js';
export * from './program.js';
export * from './pty.js';
export * from './report.js';

let binding: NativeBinding | undefined;

/** The addon, loaded on first use so that importing this package never fails. */
export function native(): NativeBinding {
  binding ??= loadBinding();
  return binding;
}

let sealedHelper: number | undefined;

/**
 * The init helper copied once per process into a sealed memfd: every container
 * executes that copy, so none can reach or rewrite a host binary (CVE-2019-5736).
 * The fd stays open for the life of the process (or worker thread).
 */
export function helperFd(): number {
  sealedHelper ??= native().createSealedMemfd({ name: 'nsinit-init', path: findHelper(), executable: true });
  return sealedHelper;
}

export const spawn: NativeBinding['spawn'] = (options) => native().spawn(options);
export const waitExit: NativeBinding['waitExit'] = (options) => native().waitExit(options);
export const cancelWaitExit: NativeBinding['cancelWaitExit'] = (options) => native().cancelWaitExit(options);
export const pidfdSendSignal: NativeBinding['pidfdSendSignal'] = (options) =>
  native().pidfdSendSignal(options);
export const pidfdOpen: NativeBinding['pidfdOpen'] = (pid) => native().pidfdOpen(pid);
export const createSealedMemfd: NativeBinding['createSealedMemfd'] = (options) =>
  native().createSealedMemfd(options);
export const socketPair: NativeBinding['socketPair'] = () => native().socketPair();
export const pipe: NativeBinding['pipe'] = () => native().pipe();
export const flock: NativeBinding['flock'] = (options) => native().flock(options);
