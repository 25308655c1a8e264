export { writePidFile } from './atomic-file.js';
export {
  ContainerDir,
  ContainerDirNotEmptyError,
  createContainerDir,
  EXEC_FIFO,
  listContainers,
  loadContainerDir,
  PID_FILE,
  STATE_FILE,
} from './container-dir.js';
export {
  ContainerExistsError,
  ContainerLockedError,
  ContainerNotFoundError,
  CorruptStateError,
  InvalidIdError,
  InvalidStateError,
  StateError,
  StateRootError,
} from './errors.js';
export { isValidContainerId, MAX_CONTAINER_ID_LENGTH, validateContainerId } from './id.js';
export {
  isSameProcess,
  type ProcStat,
  ProcStatParseError,
  parseProcStat,
  readProcessStartTime,
  readProcStat,
} from './proc.js';
export { DEFAULT_STATE_ROOT, openStateRoot } from './root.js';
export { type ContainerState, STATE_VERSION } from './state-file.js';
