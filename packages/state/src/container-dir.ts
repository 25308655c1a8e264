import {
  chmodSync,
  closeSync,
  constants,
  type Dirent,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { flock, mkfifo, systemErrorCode } from '@nsinit/native';
import { TEMP_FILE_PATTERN, writeFileAtomically } from './atomic-file.js';
import {
  ContainerExistsError,
  ContainerLockedError,
  ContainerNotFoundError,
  CorruptStateError,
  InvalidStateError,
  quoteId,
  StateError,
  StateRootError,
} from './errors.js';
import { isValidContainerId, validateContainerId } from './id.js';
import { checkPid } from './proc.js';
import { type ContainerState, findStateProblem } from './state-file.js';

export const PID_FILE = 'pid';
export const STATE_FILE = 'state.json';
/**
 * A created container's init waits on this FIFO's read end until `start` writes a byte into
 * it (runc's exec.fifo). It exists from create to start: a live init and the FIFO is a
 * created container; a live init without it, a started one.
 */
export const EXEC_FIFO = 'exec.fifo';

// Others may traverse into the dir (to reach a file they are told the path of) but not list it.
const CONTAINER_DIR_MODE = 0o711;
// The 2014 nsinit wrote its pid file with mode 0655, which set execute bits by mistake.
const PID_FILE_MODE = 0o644;
// The state names the rootfs, bundle and annotations: for the owner of the state root only.
const STATE_FILE_MODE = 0o600;
const EXEC_FIFO_MODE = 0o600;

/** A directory entry that is not ours: remove() refuses to delete what it did not write. */
export class ContainerDirNotEmptyError extends StateError {
  override readonly name = 'ContainerDirNotEmptyError';
  readonly code = 'ERR_NSINIT_STATE_NOT_EMPTY';
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (systemErrorCode(error) !== 'ENOENT') throw error;
  }
}

/**
 * One container's directory under the state root: `<root>/<id>/` holding `pid` and
 * `state.json`. Get one from createContainerDir() or loadContainerDir().
 */
export class ContainerDir implements Disposable {
  readonly root: string;
  readonly id: string;
  readonly path: string;
  #lockFd: number | undefined;

  constructor(root: string, id: string) {
    validateContainerId(id);
    this.root = resolve(root);
    this.id = id;
    this.path = join(this.root, id);
  }

  get pidFilePath(): string {
    return join(this.path, PID_FILE);
  }

  get stateFilePath(): string {
    return join(this.path, STATE_FILE);
  }

  /** Whether this object holds the container's lock. */
  get locked(): boolean {
    return this.#lockFd !== undefined;
  }

  /**
   * Take the container's exclusive lock (flock on the directory) without waiting. Throws
   * ContainerLockedError when anyone else holds it — another process, or another ContainerDir
   * object in this one; does nothing when this object already holds it. Released by unlock(),
   * remove(), disposal, or the end of the process.
   */
  lock(): void {
    if (this.#lockFd !== undefined) return;
    let fd: number;
    try {
      // Node opens every file O_CLOEXEC, so no child process inherits (and prolongs) the lock.
      fd = openSync(this.path, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (error) {
      if (systemErrorCode(error) === 'ENOENT') {
        throw new ContainerNotFoundError(`container ${quoteId(this.id)} does not exist in ${this.root}`, {
          cause: error,
        });
      }
      throw error;
    }
    try {
      if (!flock({ fd, operation: 'exclusive', wait: false }))
        throw new ContainerLockedError(this.id, this.path);
      // A holder that has just let go may have removed the container first.
      if (fstatSync(fd).nlink === 0) {
        throw new ContainerNotFoundError(`container ${quoteId(this.id)} was removed from ${this.root}`);
      }
      this.#lockFd = fd;
    } finally {
      if (this.#lockFd !== fd) closeSync(fd);
    }
  }

  /** Release the lock if this object holds it (closing the fd releases the flock). */
  /**
   * True when another holder has the lock (the process making or running the container);
   * false when it could be had (and it is released again at once) or this handle holds it.
   */
  heldByAnother(): boolean {
    if (this.#lockFd !== undefined) return false;
    try {
      this.lock();
    } catch (error) {
      if (error instanceof ContainerLockedError) return true;
      if (error instanceof ContainerNotFoundError) return false;
      throw error;
    }
    this.unlock();
    return false;
  }

  unlock(): void {
    const fd = this.#lockFd;
    if (fd === undefined) return;
    this.#lockFd = undefined;
    closeSync(fd);
  }

  /** Write `<dir>/pid`: the decimal pid, no newline, mode 0644, replaced atomically. */
  writePid(pid: number): void {
    writeFileAtomically(this.path, PID_FILE, String(checkPid(pid)), PID_FILE_MODE);
  }

  deletePid(): void {
    unlinkIfPresent(this.pidFilePath);
  }

  /** Write `state.json` (mode 0600) through a temp file and a rename: never a partial file. */
  get execFifoPath(): string {
    return join(this.path, EXEC_FIFO);
  }

  /**
   * Makes the exec FIFO and returns its read end (O_RDONLY|O_NONBLOCK, so the open does not
   * wait for a writer) for the init, which waits on it until start(). The caller owns the fd.
   */
  openExecFifo(): number {
    mkfifo({ path: this.execFifoPath, mode: EXEC_FIFO_MODE });
    try {
      return openSync(this.execFifoPath, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      unlinkIfPresent(this.execFifoPath);
      throw error;
    }
  }

  /** True while the container waits for start (its exec FIFO exists). */
  hasExecFifo(): boolean {
    try {
      return lstatSync(this.execFifoPath).isFIFO();
    } catch (error) {
      if (systemErrorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  /**
   * start: one byte into the exec FIFO lets the waiting init go on to exec the command; the
   * FIFO is removed, so a second start finds none. False when there is no FIFO or nobody waits
   * on it (ENXIO: the init is gone). Call it holding the lock, so two starts cannot both write.
   */
  releaseExecFifo(): boolean {
    let fd: number;
    try {
      fd = openSync(this.execFifoPath, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (error) {
      const code = systemErrorCode(error);
      if (code === 'ENOENT') return false;
      if (code === 'ENXIO') {
        unlinkIfPresent(this.execFifoPath);
        return false;
      }
      throw error;
    }
    try {
      // Only the FIFO itself: a symlink (O_NOFOLLOW) or a file put in its place is never written.
      if (!fstatSync(fd).isFIFO()) throw new CorruptStateError(this.execFifoPath, 'not a FIFO');
      writeSync(fd, '0');
    } finally {
      closeSync(fd);
    }
    unlinkIfPresent(this.execFifoPath);
    return true;
  }

  writeState(state: ContainerState): void {
    const problem = findStateProblem(state);
    if (problem !== undefined) {
      throw new InvalidStateError(`refusing to write ${this.stateFilePath}: ${problem}`);
    }
    if (state.id !== this.id) {
      throw new InvalidStateError(
        `refusing to write ${this.stateFilePath}: "id" is ${quoteId(state.id)}, the directory is for ${quoteId(this.id)}`,
      );
    }
    writeFileAtomically(this.path, STATE_FILE, `${JSON.stringify(state, null, 2)}\n`, STATE_FILE_MODE);
  }

  /** Read and check `state.json`; CorruptStateError (naming the file) for anything malformed. */
  readState(): ContainerState {
    const path = this.stateFilePath;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if (systemErrorCode(error) === 'ENOENT') {
        throw new ContainerNotFoundError(
          `container ${quoteId(this.id)} has no ${STATE_FILE} in ${this.path}: it is still being created, or its creation failed`,
          { cause: error },
        );
      }
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new CorruptStateError(path, `not JSON (${error instanceof Error ? error.message : error})`, {
        cause: error,
      });
    }
    const problem = findStateProblem(value);
    if (problem !== undefined) throw new CorruptStateError(path, problem);
    const state = value as ContainerState;
    if (state.id !== this.id) {
      throw new CorruptStateError(
        path,
        `"id" is ${quoteId(state.id)}, the directory is for ${quoteId(this.id)}`,
      );
    }
    return state;
  }

  /**
   * Delete the pid file, state.json, temp files left by an interrupted write, and the directory;
   * then release the lock. Idempotent. Files it does not know are left alone (and reported).
   */
  remove(): void {
    try {
      unlinkIfPresent(this.pidFilePath);
      unlinkIfPresent(this.stateFilePath);
      unlinkIfPresent(this.execFifoPath);
      // Usually that empties it. Removing needs no fd, so it works even when this process has
      // run out of them (EMFILE), which is when an undo most needs to work.
      if (this.removeIfEmpty()) return;
      // What an interrupted atomic write left behind: listing needs an fd, so let ours go first.
      this.unlock();
      for (const name of readdirSync(this.path)) {
        if (TEMP_FILE_PATTERN.test(name)) unlinkIfPresent(join(this.path, name));
      }
      if (this.removeIfEmpty()) return;
      const left = readdirSync(this.path)
        .map((name) => JSON.stringify(name))
        .join(', ');
      throw new ContainerDirNotEmptyError(
        `cannot remove ${this.path}: it holds files nsinit did not write (${left}); remove them first`,
      );
    } finally {
      this.unlock();
    }
  }

  /** rmdir: true when the directory is gone, false when something is still in it. */
  private removeIfEmpty(): boolean {
    try {
      rmdirSync(this.path);
      return true;
    } catch (error) {
      const code = systemErrorCode(error);
      if (code === 'ENOENT') return true;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw error;
    }
  }

  [Symbol.dispose](): void {
    this.unlock();
  }
}

/**
 * Create `<root>/<id>` (mode 0711) atomically: exactly one caller can create a given id, any
 * other gets ContainerExistsError. `root` must exist (see openStateRoot()).
 */
export function createContainerDir(root: string, id: string): ContainerDir {
  const dir = new ContainerDir(root, id);
  try {
    mkdirSync(dir.path, { mode: CONTAINER_DIR_MODE });
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === 'EEXIST') throw new ContainerExistsError(id, dir.root);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new StateRootError(
        `the state root ${dir.root} does not exist or is not a directory; open it first`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  try {
    // mkdir's mode is reduced by the umask.
    chmodSync(dir.path, CONTAINER_DIR_MODE);
  } catch (error) {
    try {
      rmdirSync(dir.path);
    } catch {}
    throw error;
  }
  return dir;
}

/** The directory of an existing container; ContainerNotFoundError when there is none. */
export function loadContainerDir(root: string, id: string): ContainerDir {
  const dir = new ContainerDir(root, id);
  let isDirectory: boolean;
  try {
    isDirectory = lstatSync(dir.path).isDirectory();
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === 'ENOENT') {
      throw new ContainerNotFoundError(`container ${quoteId(id)} does not exist in ${dir.root}`, {
        cause: error,
      });
    }
    throw error;
  }
  if (!isDirectory) throw new CorruptStateError(dir.path, 'not a directory');
  return dir;
}

/** Ids of the containers under `root`, sorted; an absent root has none. */
export function listContainers(root: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(resolve(root), { withFileTypes: true });
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isDirectory() && isValidContainerId(entry.name))
    .map((entry) => entry.name)
    .sort();
}
