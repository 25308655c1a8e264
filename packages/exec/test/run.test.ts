// The parts of the parent sequence that need no container: the undo stack and fd ownership.
// (Turning the helper's report into an error is @nsinit/native's, tested there; test-e2e
// starts containers.)
import { closeSync, fstatSync, openSync } from 'node:fs';
import { InitError as NativeInitError } from '@nsinit/native';
import { afterEach, describe, expect, it } from 'vitest';
import { InitError } from '../src/errors.js';
import { OwnedFds } from '../src/fds.js';
import { UndoStack } from '../src/undo.js';

describe('InitError', () => {
  it("is the launcher's, so that one instanceof holds for containers and pty commands", () => {
    expect(InitError).toBe(NativeInitError);
  });
});

describe('UndoStack', () => {
  it('undoes in reverse order, waiting for each', async () => {
    const undo = new UndoStack();
    const done: string[] = [];
    undo.push('first', () => {
      done.push('first');
    });
    undo.push('second', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      done.push('second');
    });
    undo.push('third', () => {
      done.push('third');
    });
    expect(await undo.unwind()).toEqual([]);
    expect(done).toEqual(['third', 'second', 'first']);
    // Unwinding empties the stack.
    expect(await undo.unwind()).toEqual([]);
    expect(done).toHaveLength(3);
  });

  it('runs every undo even when some fail, and returns the failures naming what was undone', async () => {
    const undo = new UndoStack();
    const done: string[] = [];
    const cause = new Error('EBUSY');
    undo.push('remove the cgroup', () => {
      done.push('cgroup');
    });
    undo.push('close the socket', () => {
      throw 'not an Error';
    });
    undo.push('kill the child', async () => {
      throw cause;
    });
    const failures = await undo.unwind();
    expect(done).toEqual(['cgroup']);
    expect(failures.map((failure) => failure.message)).toEqual([
      'undo kill the child: EBUSY',
      'undo close the socket: not an Error',
    ]);
    expect(failures[0]!.cause).toBe(cause);
  });

  it('forgets everything on commit', async () => {
    const undo = new UndoStack();
    let ran = false;
    undo.push('anything', () => {
      ran = true;
    });
    undo.commit();
    expect(await undo.unwind()).toEqual([]);
    expect(ran).toBe(false);
  });

  it('drops one undo through the function push returns, once ownership moves on', async () => {
    const undo = new UndoStack();
    const done: string[] = [];
    undo.push('a', () => {
      done.push('a');
    });
    const releaseB = undo.push('b', () => {
      done.push('b');
    });
    undo.push('c', () => {
      done.push('c');
    });
    releaseB();
    releaseB();
    await undo.unwind();
    expect(done).toEqual(['c', 'a']);
  });
});

describe('OwnedFds', () => {
  const opened: number[] = [];
  const openDevNull = () => {
    const fd = openSync('/dev/null', 'r');
    opened.push(fd);
    return fd;
  };
  const isOpen = (fd: number) => {
    try {
      fstatSync(fd);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EBADF') return false;
      throw error;
    }
  };

  afterEach(() => {
    for (const fd of opened.splice(0)) if (isOpen(fd)) closeSync(fd);
  });

  it('closes an fd it owns once, and never one it does not own', () => {
    const owned = new OwnedFds();
    const fd = owned.add(openDevNull());
    const stranger = openDevNull();
    owned.close(fd);
    expect(isOpen(fd)).toBe(false);
    // A second close must not hit whatever reuses the number.
    const reused = openDevNull();
    owned.close(fd);
    expect(isOpen(reused)).toBe(true);
    owned.close(stranger);
    expect(isOpen(stranger)).toBe(true);
  });

  it('hands an fd over on release: closeAll leaves it open', () => {
    const owned = new OwnedFds();
    const kept = owned.add(openDevNull());
    const dropped = owned.add(openDevNull());
    expect(owned.release(kept)).toBe(kept);
    owned.closeAll();
    expect(isOpen(kept)).toBe(true);
    expect(isOpen(dropped)).toBe(false);
  });

  it('closes every fd it still owns on closeAll, once', () => {
    const owned = new OwnedFds();
    const fds = [openDevNull(), openDevNull(), openDevNull()].map((fd) => owned.add(fd));
    owned.closeAll();
    expect(fds.map(isOpen)).toEqual([false, false, false]);
    const reused = openDevNull();
    owned.closeAll();
    expect(isOpen(reused)).toBe(true);
  });
});
