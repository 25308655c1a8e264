// openat2: the kernel's in-root resolution, for paths inside a tree someone else may write.
import {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AT_FDCWD,
  O_PATH,
  openat2,
  RESOLVE_BENEATH,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
} from '../lib/index.js';

const O_CLOEXEC = 0o2000000;
const IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

let root: string;
let outside: string;
let rootFd: number;
const opened = new Set<number>();
function own(fd: number): number {
  opened.add(fd);
  return fd;
}
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nsinit-openat2-root-'));
  outside = mkdtempSync(join(tmpdir(), 'nsinit-openat2-host-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'inside\n');
  writeFileSync(join(outside, 'passwd'), 'host\n');
  rootFd = own(openat2({ dirfd: AT_FDCWD, path: root, flags: O_PATH | constants.O_DIRECTORY, resolve: 0 }));
});
afterEach(() => {
  for (const fd of opened) closeSync(fd);
  opened.clear();
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function readFd(fd: number): string {
  const buffer = Buffer.alloc(4096);
  const n = readSync(fd, buffer, 0, buffer.length, 0);
  return buffer.toString('utf8', 0, n);
}

function readIn(path: string, resolve: number): string {
  return readFd(own(openat2({ dirfd: rootFd, path, flags: constants.O_RDONLY, resolve })));
}

function fdFlags(fd: number): number {
  return Number.parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
}

function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected an error, but nothing was thrown');
}

describe('openat2 with RESOLVE_IN_ROOT', () => {
  it('resolves an absolute symlink inside the root, where a plain open reaches the host', () => {
    symlinkSync(join(outside, 'passwd'), join(root, 'etc/link'));
    // Without in-root resolution the image's symlink names a host file.
    expect(readIn('etc/link', 0)).toBe('host\n');
    // In the root, the same target is looked up under the root: not there.
    expect(thrown(() => readIn('etc/link', IN_ROOT)).code).toBe('ENOENT');
    mkdirSync(join(root, outside), { recursive: true });
    writeFileSync(join(root, outside, 'passwd'), 'the root copy\n');
    expect(readIn('etc/link', IN_ROOT)).toBe('the root copy\n');
    // An absolute path given to openat2 itself starts at the root too.
    expect(readIn('/etc/passwd', IN_ROOT)).toBe('inside\n');
  });

  it('resolves a symlinked parent directory inside the root', () => {
    symlinkSync(outside, join(root, 'data'));
    expect(readIn('data/passwd', 0)).toBe('host\n');
    expect(thrown(() => readIn('data/passwd', IN_ROOT)).code).toBe('ENOENT');
  });

  it('keeps ".." from climbing above the root', () => {
    const up = `${'../'.repeat(20)}${outside.slice(1)}/passwd`;
    symlinkSync(up, join(root, 'etc/up'));
    expect(readIn('etc/up', 0)).toBe('host\n');
    expect(thrown(() => readIn('etc/up', IN_ROOT)).code).toBe('ENOENT');
    expect(readIn(`../../../..${'/etc/passwd'}`, IN_ROOT)).toBe('inside\n');
  });

  it('refuses what RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS refuse', () => {
    symlinkSync('passwd', join(root, 'etc/relative'));
    expect(readIn('etc/relative', IN_ROOT)).toBe('inside\n');
    expect(thrown(() => readIn('etc/relative', RESOLVE_NO_SYMLINKS)).code).toBe('ELOOP');
    expect(thrown(() => readIn('../x', RESOLVE_BENEATH)).code).toBe('EXDEV');
  });
});

describe('openat2 with RESOLVE_NO_MAGICLINKS', () => {
  it('refuses /proc/self/root, which a plain lookup follows to the host root', () => {
    const procSelf = own(openat2({ dirfd: AT_FDCWD, path: '/proc/self', flags: O_PATH, resolve: 0 }));
    const hostRoot = own(openat2({ dirfd: procSelf, path: 'root', flags: O_PATH, resolve: 0 }));
    expect(readlinkSync(`/proc/self/fd/${hostRoot}`)).toBe('/');
    const error = thrown(() =>
      openat2({ dirfd: procSelf, path: 'root', flags: O_PATH, resolve: RESOLVE_NO_MAGICLINKS }),
    );
    expect(error.code).toBe('ELOOP');
    // Through an absolute path, and through an fd's magic link, the same.
    const absolute = { dirfd: AT_FDCWD, path: '/proc/self/root/etc', flags: O_PATH };
    own(openat2({ ...absolute, resolve: 0 }));
    expect(thrown(() => openat2({ ...absolute, resolve: RESOLVE_NO_MAGICLINKS })).code).toBe('ELOOP');
    const viaFd = { dirfd: AT_FDCWD, path: `/proc/self/fd/${rootFd}/etc/passwd`, flags: constants.O_RDONLY };
    expect(readFd(own(openat2({ ...viaFd, resolve: 0 })))).toBe('inside\n');
    expect(thrown(() => openat2({ ...viaFd, resolve: RESOLVE_NO_MAGICLINKS })).code).toBe('ELOOP');
  });
});

describe('openat2 fds and errors', () => {
  it('returns CLOEXEC fds, with O_PATH when asked', () => {
    const file = own(
      openat2({ dirfd: rootFd, path: 'etc/passwd', flags: constants.O_RDONLY, resolve: IN_ROOT }),
    );
    expect(fdFlags(file) & O_CLOEXEC).toBe(O_CLOEXEC);
    expect(fstatSync(file).isFile()).toBe(true);
    expect(fdFlags(rootFd) & O_CLOEXEC).toBe(O_CLOEXEC);
    expect(fdFlags(rootFd) & O_PATH).toBe(O_PATH);
  });

  it('creates a file with the given mode', () => {
    const fd = own(
      openat2({
        dirfd: rootFd,
        path: 'etc/new',
        flags: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
        mode: 0o640,
        resolve: IN_ROOT,
      }),
    );
    expect(fstatSync(fd).mode & 0o777).toBe(0o640 & ~process.umask());
  });

  it('throws Node-style system errors naming the path', () => {
    const error = thrown(() => openat2({ dirfd: rootFd, path: 'etc/missing', flags: 0, resolve: IN_ROOT }));
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'openat2', path: 'etc/missing' });
    expect(error.message).toBe(
      `openat2 failed: No such file or directory (ENOENT): "etc/missing" from fd ${rootFd}`,
    );
    const badFd = thrown(() => openat2({ dirfd: 999_999, path: 'x', flags: 0, resolve: 0 }));
    expect(badFd).toMatchObject({ code: 'EBADF', syscall: 'openat2', path: 'x' });
    // Unknown resolve bits are the kernel's to refuse.
    expect(thrown(() => openat2({ dirfd: rootFd, path: 'etc', flags: 0, resolve: 0x8000 })).code).toBe(
      'EINVAL',
    );
  });

  it('rejects malformed options with a TypeError', () => {
    const call = (options: unknown) => thrown(() => openat2(options as Parameters<typeof openat2>[0]));
    expect(call({ dirfd: -1, path: 'x', flags: 0, resolve: 0 })).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    expect(call({ dirfd: rootFd, path: 7, flags: 0, resolve: 0 }).message).toBe(
      'openat2: options.path must be a string',
    );
    expect(call({ dirfd: rootFd, path: 'a\0b', flags: 0, resolve: 0 }).message).toBe(
      'openat2: options.path contains a NUL byte',
    );
    expect(call({ dirfd: rootFd, path: 'x', flags: 0 }).message).toMatch(
      /options.resolve must be an integer/,
    );
    expect(call({ dirfd: rootFd, path: 'x', flags: 0.5, resolve: 0 }).message).toMatch(/options.flags/);
    expect(call(undefined).message).toBe('openat2: expected an options object');
  });
});
