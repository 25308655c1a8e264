import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { flock } from '@nsinit/native';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ContainerDir,
  ContainerDirNotEmptyError,
  ContainerExistsError,
  ContainerLockedError,
  ContainerNotFoundError,
  type ContainerState,
  CorruptStateError,
  createContainerDir,
  DEFAULT_STATE_ROOT,
  InvalidIdError,
  InvalidStateError,
  listContainers,
  loadContainerDir,
  openStateRoot,
  StateRootError,
  writePidFile,
} from '../src/index.js';

let scratch = '';
let root = '';

beforeEach(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'nsinit-state-test-'));
  root = await openStateRoot(path.join(scratch, 'root'));
});

afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function modeOf(file: string): Promise<number> {
  return (await stat(file)).mode & 0o7777;
}

function sampleState(id: string): ContainerState {
  return {
    version: 1,
    id,
    pid: 4242,
    pidStartTime: '123456',
    rootfs: '/var/lib/nsinit/rootfs',
    bundle: null,
    created: '2014-06-26T12:00:00.000Z',
    annotations: { 'org.example.owner': 'tests' },
  };
}

describe('openStateRoot', () => {
  it('defaults to /run/nsinit', () => {
    expect(DEFAULT_STATE_ROOT).toBe('/run/nsinit');
  });

  it('creates the root and its parents with mode 0700 and returns its absolute path', async () => {
    const nested = path.join(scratch, 'a', 'b', 'root');
    expect(await openStateRoot(nested)).toBe(nested);
    expect(await modeOf(nested)).toBe(0o700);
    expect(await openStateRoot(path.relative(process.cwd(), nested))).toBe(nested);
  });

  it('gives a root it creates exactly 0700, whatever the umask', async () => {
    const previous = process.umask(0o077);
    try {
      const root = path.join(scratch, 'umask', 'root');
      openStateRoot(root);
      expect(await modeOf(root)).toBe(0o700);
    } finally {
      process.umask(previous);
    }
    const previousLoose = process.umask(0o277);
    try {
      const root = path.join(scratch, 'umask-owner', 'root');
      openStateRoot(root);
      expect(await modeOf(root)).toBe(0o700);
    } finally {
      process.umask(previousLoose);
    }
  });

  it('never changes the mode of a root that exists (it may be a directory others use)', async () => {
    for (const mode of [0o755, 0o711, 0o1777, 0o750]) {
      const existing = path.join(scratch, `existing-${mode.toString(8)}`);
      await mkdir(existing);
      await chmod(existing, mode);
      await writeFile(path.join(existing, 'keep'), 'x');
      expect(openStateRoot(existing)).toBe(existing);
      expect(await modeOf(existing)).toBe(mode);
      expect(await readdir(existing)).toEqual(['keep']);
    }
  });

  it('refuses a root that is a symbolic link, leaving its target alone; a symlinked parent is fine', async () => {
    const target = path.join(scratch, 'target');
    await mkdir(target);
    await chmod(target, 0o755);
    const link = path.join(scratch, 'link');
    await symlink(target, link);
    expect(() => openStateRoot(link)).toThrow(StateRootError);
    expect(() => openStateRoot(link)).toThrow(
      `the state root ${link} is a symbolic link; give the directory it points to, or another root`,
    );
    expect(await modeOf(target)).toBe(0o755);
    // A dangling one is not followed to create its target either.
    const dangling = path.join(scratch, 'dangling');
    await symlink(path.join(scratch, 'nowhere'), dangling);
    expect(() => openStateRoot(dangling)).toThrow(/is a symbolic link/);
    expect(existsSync(path.join(scratch, 'nowhere'))).toBe(false);
    // /var/run -> /run: a symlink before the last component is how many systems are laid out.
    expect(openStateRoot(path.join(link, 'root'))).toBe(path.join(link, 'root'));
    expect(await modeOf(path.join(target, 'root'))).toBe(0o700);
  });

  it('refuses a root others may write to without the sticky bit, and accepts one with it', async () => {
    const open = path.join(scratch, 'world-writable');
    await mkdir(open);
    await chmod(open, 0o777);
    expect(() => openStateRoot(open)).toThrow(StateRootError);
    expect(() => openStateRoot(open)).toThrow(
      `the state root ${open} is writable by others (mode 0777) without the sticky bit, so anyone could replace or remove container state in it; run \`chmod o-w\` (or \`chmod +t\`) on it, or choose another root`,
    );
    expect(await modeOf(open)).toBe(0o777);
    await chmod(open, 0o1777);
    expect(openStateRoot(open)).toBe(open);
    expect(await modeOf(open)).toBe(0o1777);
  });

  it('refuses a root that is a file, or below one', async () => {
    const file = path.join(scratch, 'file');
    await writeFile(file, 'x');
    expect(() => openStateRoot(file)).toThrow(StateRootError);
    expect(() => openStateRoot(file)).toThrow(`the state root ${file} exists but is not a directory`);
    expect(() => openStateRoot(path.join(file, 'sub'))).toThrow(/a component of its path is not a directory/);
  });
});

describe('createContainerDir', () => {
  it('creates <root>/<id> with mode 0711', async () => {
    const dir = await createContainerDir(root, 'web-1');
    expect(dir.path).toBe(path.join(root, 'web-1'));
    expect(dir.id).toBe('web-1');
    expect(await modeOf(dir.path)).toBe(0o711);
  });

  it('lets only the first of two creations succeed and leaves the first untouched', async () => {
    const first = await createContainerDir(root, 'dup');
    await first.writePid(100);
    const before = await stat(first.path);
    expect(() => createContainerDir(root, 'dup')).toThrow(ContainerExistsError);
    expect(() => createContainerDir(root, 'dup')).toThrow(`container "dup" already exists in ${root}`);
    expect(() => createContainerDir(root, 'dup')).toThrow(
      expect.objectContaining({ code: 'ERR_NSINIT_STATE_EXISTS' }),
    );
    expect(await readdir(first.path)).toEqual(['pid']);
    expect(await readFile(first.pidFilePath, 'utf8')).toBe('100');
    expect((await stat(first.path)).mtimeMs).toBe(before.mtimeMs);
  });

  it('lets exactly one of many creations of one id win', () => {
    const results = Array.from({ length: 8 }, () => {
      try {
        return createContainerDir(root, 'race');
      } catch (error) {
        return error;
      }
    });
    expect(results.filter((result) => result instanceof ContainerDir)).toHaveLength(1);
    const losers = results.filter((result) => !(result instanceof ContainerDir));
    expect(losers).toHaveLength(7);
    for (const loser of losers) expect(loser).toBeInstanceOf(ContainerExistsError);
  });

  it('creates nothing for a bad id', async () => {
    expect(() => createContainerDir(root, '../escape')).toThrow(InvalidIdError);
    expect(() => createContainerDir(root, '..')).toThrow(InvalidIdError);
    expect(() => createContainerDir(root, 'n'.repeat(300))).toThrow(
      /is 300 characters long, the limit is 248/,
    );
    expect(await readdir(root)).toEqual([]);
    expect(await readdir(scratch)).toEqual(['root']);
  });

  it('says so when the root is missing', async () => {
    expect(() => createContainerDir(path.join(scratch, 'nowhere'), 'c')).toThrow(StateRootError);
  });
});

describe('loadContainerDir and listContainers', () => {
  it('loads an existing container and reports a missing one', async () => {
    await createContainerDir(root, 'present');
    expect((await loadContainerDir(root, 'present')).path).toBe(path.join(root, 'present'));
    expect(() => loadContainerDir(root, 'absent')).toThrow(ContainerNotFoundError);
    expect(() => loadContainerDir(root, 'absent')).toThrow(`container "absent" does not exist in ${root}`);
    expect(() => loadContainerDir(root, 'a/b')).toThrow(InvalidIdError);
    await writeFile(path.join(root, 'plainfile'), '');
    expect(() => loadContainerDir(root, 'plainfile')).toThrow(CorruptStateError);
  });

  it('lists container directories by id, sorted, skipping anything else', async () => {
    for (const id of ['zeta', 'alpha', 'mid.1']) await createContainerDir(root, id);
    await writeFile(path.join(root, 'stray-file'), '');
    await mkdir(path.join(root, 'not an id'));
    expect(await listContainers(root)).toEqual(['alpha', 'mid.1', 'zeta']);
    expect(await listContainers(path.join(scratch, 'missing-root'))).toEqual([]);
  });
});

describe('pid file', () => {
  it('holds the decimal pid without a newline, mode 0644, replaced atomically', async () => {
    const dir = await createContainerDir(root, 'p');
    await dir.writePid(31337);
    expect(await readFile(dir.pidFilePath, 'utf8')).toBe('31337');
    expect(await modeOf(dir.pidFilePath)).toBe(0o644);
    await dir.writePid(7);
    expect(await readFile(dir.pidFilePath, 'utf8')).toBe('7');
    expect(await readdir(dir.path)).toEqual(['pid']);
    await dir.deletePid();
    await dir.deletePid();
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('keeps mode 0644 under a strict umask', async () => {
    const dir = await createContainerDir(root, 'umask');
    const previous = process.umask(0o077);
    try {
      await dir.writePid(1);
    } finally {
      process.umask(previous);
    }
    expect(await modeOf(dir.pidFilePath)).toBe(0o644);
  });

  it('refuses what is not a pid, writing nothing', async () => {
    const dir = await createContainerDir(root, 'badpid');
    for (const pid of [0, -1, 1.5, Number.NaN]) {
      expect(() => dir.writePid(pid)).toThrow(InvalidStateError);
    }
    expect(await readdir(dir.path)).toEqual([]);
  });
});

describe('state.json', () => {
  it('round-trips, with mode 0600 and no temp files left', async () => {
    const dir = await createContainerDir(root, 's');
    const state = sampleState('s');
    await dir.writeState(state);
    expect(await dir.readState()).toEqual(state);
    expect(await modeOf(dir.stateFilePath)).toBe(0o600);
    const changed = { ...state, pid: 4243, bundle: '/srv/bundle', annotations: undefined };
    await dir.writeState(changed);
    expect(await dir.readState()).toEqual({
      ...state,
      pid: 4243,
      bundle: '/srv/bundle',
      annotations: undefined,
    });
    expect(await readdir(dir.path)).toEqual(['state.json']);
  });

  it('leaves the previous file and no temp file when the final rename fails', async () => {
    const dir = await createContainerDir(root, 'atomic');
    // A directory where state.json belongs makes rename(2) fail after the temp file is written.
    await mkdir(dir.stateFilePath);
    expect(() => dir.writeState(sampleState('atomic'))).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(await readdir(dir.path)).toEqual(['state.json']);
    expect((await stat(dir.stateFilePath)).isDirectory()).toBe(true);
  });

  it('refuses an invalid state and keeps the one on disk', async () => {
    const dir = await createContainerDir(root, 'keep');
    await dir.writeState(sampleState('keep'));
    const broken: unknown[] = [
      { ...sampleState('keep'), pid: -1 },
      { ...sampleState('keep'), version: 2 },
      { ...sampleState('keep'), pidStartTime: 123 },
      { ...sampleState('keep'), rootfs: 'relative/rootfs' },
      { ...sampleState('keep'), created: 'yesterday' },
      { ...sampleState('keep'), annotations: { a: 1 } },
      { ...sampleState('keep'), extra: true },
      { ...sampleState('other') },
    ];
    for (const state of broken) {
      expect(() => dir.writeState(state as ContainerState)).toThrow(InvalidStateError);
    }
    expect(await dir.readState()).toEqual(sampleState('keep'));
    expect(await readdir(dir.path)).toEqual(['state.json']);
  });

  it('names the file and the problem when state.json is corrupt', async () => {
    const dir = await createContainerDir(root, 'corrupt');
    expect(() => dir.readState()).toThrow(ContainerNotFoundError);
    const cases: Array<[string, RegExp]> = [
      ['{"version":1,', /not JSON/],
      ['[]', /expected a JSON object, got an array/],
      [JSON.stringify({ ...sampleState('corrupt'), pid: '12' }), /"pid" is "12", not a pid/],
      [
        JSON.stringify({ ...sampleState('corrupt'), bundle: 'rel' }),
        /"bundle" is "rel", neither null nor an absolute/,
      ],
      [JSON.stringify({ ...sampleState('corrupt'), id: 'someone-else' }), /"id" is "someone-else"/],
      [JSON.stringify({ ...sampleState('corrupt'), surprise: 1 }), /unknown field "surprise"/],
    ];
    for (const [text, problem] of cases) {
      await writeFile(dir.stateFilePath, text);
      const error = (() => {
        try {
          dir.readState();
        } catch (reason) {
          return reason;
        }
      })();
      expect(error).toBeInstanceOf(CorruptStateError);
      expect((error as CorruptStateError).code).toBe('ERR_NSINIT_STATE_CORRUPT');
      expect((error as Error).message).toContain(dir.stateFilePath);
      expect((error as Error).message).toMatch(problem);
    }
  });
});

describe('locking and removal', () => {
  it('lets one holder lock a container; a second fails until the first unlocks', async () => {
    const dir = await createContainerDir(root, 'locked');
    dir.lock();
    dir.lock();
    expect(dir.locked).toBe(true);
    const other = await loadContainerDir(root, 'locked');
    expect(() => other.lock()).toThrow(ContainerLockedError);
    expect(() => other.lock()).toThrow(
      `container "locked" is locked by another operation (flock on ${dir.path})`,
    );
    expect(other.locked).toBe(false);
    dir.unlock();
    other.lock();
    expect(other.locked).toBe(true);
    other[Symbol.dispose]();
    expect(other.locked).toBe(false);
  });

  it('holds a real flock that another process sees', async () => {
    const dir = await createContainerDir(root, 'crossproc');
    const tryLock = () =>
      spawnSync('flock', ['--nonblock', '--conflict-exit-code', '99', dir.path, 'true']).status;
    dir.lock();
    expect(tryLock()).toBe(99);
    dir.unlock();
    expect(tryLock()).toBe(0);
  });

  it('removes everything it wrote, releases the lock, and can be repeated', async () => {
    const dir = await createContainerDir(root, 'gone');
    dir.lock();
    await dir.writePid(1);
    await dir.writeState(sampleState('gone'));
    await writeFile(path.join(dir.path, '.state.json.0123456789ab.tmp'), 'left by a crash');
    const observer = openSync(dir.path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      expect(flock({ fd: observer, operation: 'exclusive', wait: false })).toBe(false);
      await dir.remove();
      expect(dir.locked).toBe(false);
      // The fd opened before removal still names the (now deleted) directory: its lock is free.
      expect(flock({ fd: observer, operation: 'exclusive', wait: false })).toBe(true);
    } finally {
      closeSync(observer);
    }
    expect(await readdir(root)).toEqual([]);
    await dir.remove();
    expect(() => loadContainerDir(root, 'gone')).toThrow(ContainerNotFoundError);
    expect(() => dir.lock()).toThrow(ContainerNotFoundError);
  });

  it('leaves files it does not know, says which, and still releases the lock', async () => {
    const dir = await createContainerDir(root, 'foreign');
    dir.lock();
    await dir.writePid(1);
    await writeFile(path.join(dir.path, 'console.sock'), '');
    expect(() => dir.remove()).toThrow(ContainerDirNotEmptyError);
    expect(() => dir.remove()).toThrow(/"console\.sock"/);
    expect(dir.locked).toBe(false);
    expect(await readdir(dir.path)).toEqual(['console.sock']);
  });
});

describe('exec FIFO (create → start)', () => {
  it('is made with mode 0600; its read end opens without a writer; start writes one byte and removes it', async () => {
    const dir = createContainerDir(root, 'fifo1');
    const readEnd = dir.openExecFifo();
    try {
      expect((await stat(dir.execFifoPath)).isFIFO()).toBe(true);
      expect(await modeOf(dir.execFifoPath)).toBe(0o600);
      expect(dir.hasExecFifo()).toBe(true);
      expect(dir.releaseExecFifo()).toBe(true);
      const byte = Buffer.alloc(4);
      const { readSync } = await import('node:fs');
      expect(readSync(readEnd, byte, 0, 4, null)).toBe(1);
      expect(byte.toString('latin1', 0, 1)).toBe('0');
      expect(dir.hasExecFifo()).toBe(false);
      // A second start finds no FIFO.
      expect(dir.releaseExecFifo()).toBe(false);
    } finally {
      closeSync(readEnd);
      dir.remove();
    }
  });

  it('start fails (and the FIFO goes) when nobody waits on it any more (ENXIO)', () => {
    const dir = createContainerDir(root, 'fifo2');
    closeSync(dir.openExecFifo());
    expect(dir.releaseExecFifo()).toBe(false);
    expect(dir.hasExecFifo()).toBe(false);
    dir.remove();
  });

  it('refuses a regular file put where the FIFO goes (it never writes into one)', async () => {
    const dir = createContainerDir(root, 'fifo3');
    await writeFile(dir.execFifoPath, 'x');
    expect(dir.hasExecFifo()).toBe(false);
    expect(() => dir.releaseExecFifo()).toThrow(CorruptStateError);
    expect(await readFile(dir.execFifoPath, 'utf8')).toBe('x');
    await rm(dir.execFifoPath);
    dir.remove();
  });

  it('refuses a symlink put where the FIFO goes, even to a FIFO elsewhere', async () => {
    const dir = createContainerDir(root, 'fifo4');
    const other = createContainerDir(root, 'fifo5');
    const readEnd = other.openExecFifo();
    try {
      await symlink(other.execFifoPath, dir.execFifoPath);
      expect(dir.hasExecFifo()).toBe(false);
      expect(() => dir.releaseExecFifo()).toThrow();
      // The other container's init was not released.
      expect(other.hasExecFifo()).toBe(true);
    } finally {
      closeSync(readEnd);
      await rm(dir.execFifoPath);
      dir.remove();
      other.remove();
    }
  });

  it('remove() takes the FIFO with it', async () => {
    const dir = createContainerDir(root, 'fifo6');
    closeSync(dir.openExecFifo());
    dir.remove();
    expect(existsSync(dir.path)).toBe(false);
  });
});

describe('phase and heldByAnother', () => {
  it('accepts pid 0 only while creating', () => {
    const dir = createContainerDir(root, 'phase1');
    dir.writeState({ ...sampleState('phase1'), phase: 'creating', pid: 0, pidStartTime: '0' });
    expect(dir.readState().phase).toBe('creating');
    expect(() => dir.writeState({ ...sampleState('phase1'), phase: 'created', pid: 0 })).toThrow(
      InvalidStateError,
    );
    expect(() => dir.writeState({ ...sampleState('phase1'), pid: 0 })).toThrow(InvalidStateError);
    expect(() =>
      dir.writeState({ ...sampleState('phase1'), phase: 'running' as unknown as 'created' }),
    ).toThrow(InvalidStateError);
    dir.remove();
  });

  it('tells whether another open of the directory holds the lock', () => {
    const holder = createContainerDir(root, 'held1');
    const other = loadContainerDir(root, 'held1');
    expect(other.heldByAnother()).toBe(false);
    holder.lock();
    expect(other.heldByAnother()).toBe(true);
    expect(holder.heldByAnother()).toBe(false);
    holder.unlock();
    expect(other.heldByAnother()).toBe(false);
    holder.remove();
  });
});

describe('writePidFile (--pid-file)', () => {
  it('replaces a symlink planted at the path instead of writing through it, and writes the pid whole', async () => {
    const canary = path.join(scratch, 'canary');
    await writeFile(canary, 'untouched');
    const pidFile = path.join(scratch, 'init.pid');
    await symlink(canary, pidFile);
    writePidFile(pidFile, 4242);
    expect(await readFile(canary, 'utf8')).toBe('untouched');
    expect((await stat(pidFile)).isFile()).toBe(true);
    expect(await readFile(pidFile, 'utf8')).toBe('4242');
    expect(await modeOf(pidFile)).toBe(0o644);
    // Nothing of the write is left beside it.
    expect((await readdir(scratch)).sort()).toEqual(['canary', 'init.pid', 'root']);
  });
});
