import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseGroup,
  parsePasswd,
  RootfsFileError,
  readRootfsFile,
  resolveUser2014,
  UserResolutionError,
} from '../src/index.js';
import { tempDirs } from './helpers.js';

const temp = tempDirs();
afterEach(() => temp.cleanup());

const PASSWD = [
  '# comment',
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'broken line',
  'bad:x:notanumber:1::/:/bin/sh',
  'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
  '',
].join('\n');

const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'adm:x:4:syslog,daemon',
  'www-data:x:33:',
  'web:x:500:www-data,daemon',
  '',
].join('\n');

async function rootfsWith(files: Record<string, string>): Promise<string> {
  const rootfs = await temp.make();
  await mkdir(path.join(rootfs, 'etc'));
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(rootfs, name), content);
  return rootfs;
}

describe('parsePasswd / parseGroup', () => {
  it('parses entries and skips comments and malformed lines', () => {
    expect(parsePasswd(PASSWD)).toEqual([
      { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' },
      { name: 'daemon', uid: 1, gid: 1, home: '/usr/sbin', shell: '/usr/sbin/nologin' },
      { name: 'www-data', uid: 33, gid: 33, home: '/var/www', shell: '/usr/sbin/nologin' },
    ]);
    expect(parseGroup(GROUP).find((g) => g.name === 'adm')).toEqual({
      name: 'adm',
      gid: 4,
      members: ['syslog', 'daemon'],
    });
    expect(parseGroup('x:x:1:\r\n').at(0)).toEqual({ name: 'x', gid: 1, members: [] });
  });
});

describe('resolveUser2014', () => {
  it('maps "" to root without reading anything', () => {
    expect(resolveUser2014('', '/nonexistent')).toEqual({ uid: 0, gid: 0 });
  });

  it('resolves a name to its uid, primary gid and supplementary groups', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    expect(resolveUser2014('daemon', rootfs)).toEqual({ uid: 1, gid: 1, additionalGids: [4, 500] });
    expect(resolveUser2014('root', rootfs)).toEqual({ uid: 0, gid: 0 });
  });

  it('resolves name:group, uid:group and name:gid', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    expect(resolveUser2014('www-data:adm', rootfs)).toEqual({ uid: 33, gid: 4, additionalGids: [500] });
    expect(resolveUser2014('33:web', rootfs)).toEqual({ uid: 33, gid: 500 });
    expect(resolveUser2014('daemon:0', rootfs)).toEqual({ uid: 1, gid: 0, additionalGids: [4, 500] });
  });

  it('uses the passwd gid for a bare uid, and 0 for a uid passwd does not list', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    expect(resolveUser2014('33', rootfs)).toEqual({ uid: 33, gid: 33, additionalGids: [500] });
    expect(resolveUser2014('4000', rootfs)).toEqual({ uid: 4000, gid: 0 });
    expect(resolveUser2014('4000:4001', rootfs)).toEqual({ uid: 4000, gid: 4001 });
  });

  it('needs no passwd file for numeric ids', () => {
    expect(resolveUser2014('1000:1000', '/nonexistent-rootfs')).toEqual({ uid: 1000, gid: 1000 });
  });

  it('fails for unknown names, bad syntax and ids beyond uint32', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    expect(() => resolveUser2014('nobody', rootfs)).toThrow(UserResolutionError);
    expect(() => resolveUser2014('nobody', rootfs)).toThrow(
      `user "nobody" not found in ${rootfs}/etc/passwd`,
    );
    expect(() => resolveUser2014('daemon:nogroup', rootfs)).toThrow(
      `group "nogroup" not found in ${rootfs}/etc/group`,
    );
    expect(() => resolveUser2014('a:b:c', rootfs)).toThrow(/expected "user"/);
    expect(() => resolveUser2014('daemon:', rootfs)).toThrow(/expected "user"/);
    expect(() => resolveUser2014('daemon', '/nonexistent-rootfs')).toThrow(/not found/);
  });

  it('refuses ids no process can have: 4294967295 is (uid_t)-1, "leave unchanged" to setuid', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    const invalid = 'is not a valid id (0 to 4294967294)';
    expect(() => resolveUser2014('4294967295', rootfs)).toThrow(`4294967295 ${invalid}`);
    expect(() => resolveUser2014('4294967296:0', rootfs)).toThrow(`4294967296 ${invalid}`);
    expect(() => resolveUser2014('0:4294967295', rootfs)).toThrow(`4294967295 ${invalid}`);
    expect(() => resolveUser2014('daemon:99999999999999999999', rootfs)).toThrow(
      `99999999999999999999 ${invalid}`,
    );
    expect(() => resolveUser2014('4294967295', rootfs)).toThrow(UserResolutionError);
    expect(resolveUser2014('4294967294:4294967294', rootfs)).toEqual({ uid: 4294967294, gid: 4294967294 });
  });

  it('skips passwd and group entries whose ids no process can have', () => {
    expect(parsePasswd('minus-one:x:4294967295:0::/:/bin/sh\nok:x:4294967294:1::/:/bin/sh\n')).toEqual([
      { name: 'ok', uid: 4294967294, gid: 1, home: '/', shell: '/bin/sh' },
    ]);
    expect(parseGroup('minus-one:x:4294967295:\n')).toEqual([]);
  });
});

describe('reading files inside a rootfs', () => {
  it('follows symlinks as the container would, never out of the rootfs', async () => {
    const rootfs = await rootfsWith({ 'etc/real-passwd': 'inside:x:7:7::/:/bin/sh\n' });
    const outside = await temp.make();
    await writeFile(path.join(outside, 'passwd'), 'outside:x:8:8::/:/bin/sh\n');
    // An absolute target is relative to the rootfs, not to the host.
    await symlink('/etc/real-passwd', path.join(rootfs, 'etc/passwd'));
    expect(readRootfsFile(rootfs, '/etc/passwd')).toBe('inside:x:7:7::/:/bin/sh\n');
    // ".." cannot climb above the rootfs either: the target lands on the rootfs's own copy.
    await symlink(`../../../../../../..${outside}/passwd`, path.join(rootfs, 'etc/group'));
    expect(readRootfsFile(rootfs, '/etc/group')).toBeUndefined();
    await mkdir(path.join(rootfs, outside), { recursive: true });
    await writeFile(path.join(rootfs, outside, 'passwd'), 'clamped:x:9:9::/:/bin/sh\n');
    expect(readRootfsFile(rootfs, '/etc/group')).toBe('clamped:x:9:9::/:/bin/sh\n');
    // A symlinked directory resolves inside the rootfs too: the rootfs's copy, not the host's.
    await symlink(outside, path.join(rootfs, 'data'));
    expect(readRootfsFile(rootfs, '/data/passwd')).toBe('clamped:x:9:9::/:/bin/sh\n');
  });

  it('returns undefined for missing files and rejects non-regular files and loops', async () => {
    const rootfs = await rootfsWith({});
    expect(readRootfsFile(rootfs, '/etc/passwd')).toBeUndefined();
    expect(readRootfsFile(rootfs, '/etc/passwd/x')).toBeUndefined();
    expect(readRootfsFile('/nonexistent-rootfs', '/etc/passwd')).toBeUndefined();
    expect(() => readRootfsFile(rootfs, '/etc')).toThrow(
      `/etc in the rootfs ${rootfs} is not a regular file; the image must hold a file there`,
    );
    await symlink('loop-b', path.join(rootfs, 'etc/loop-a'));
    await symlink('loop-a', path.join(rootfs, 'etc/loop-b'));
    const loop = thrown(() => readRootfsFile(rootfs, '/etc/loop-a'));
    expect(loop).toBeInstanceOf(RootfsFileError);
    expect(loop).toMatchObject({
      code: 'ERR_NSINIT_ROOTFS_FILE',
      rootfs,
      containerPath: '/etc/loop-a',
      errnoCode: 'ELOOP',
    });
    expect(loop.message).toMatch(
      new RegExp(`^cannot open /etc/loop-a in the rootfs ${rootfs}: a symlink on its path loops`),
    );
  });

  it('does not hang on a FIFO', async () => {
    const rootfs = await rootfsWith({});
    execFileSync('mkfifo', [path.join(rootfs, 'etc/passwd')]);
    expect(() => readRootfsFile(rootfs, '/etc/passwd')).toThrow(/is not a regular file/);
    expect(() => resolveUser2014('daemon', rootfs)).toThrow(UserResolutionError);
  });

  it('refuses magic links such as /proc/self/root, which lead to the host root', () => {
    // /proc/self as a "rootfs": its `root` is a magic link to this process's root, the host's.
    const error = thrown(() => readRootfsFile('/proc/self', '/root/etc/passwd'));
    expect(error).toMatchObject({ code: 'ERR_NSINIT_ROOTFS_FILE', errnoCode: 'ELOOP' });
    expect(error.message).toContain('/root/etc/passwd in the rootfs /proc/self');
  });

  it('closes every fd it opened, on success and on failure', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD });
    await symlink('group', path.join(rootfs, 'etc/group'));
    const before = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 20; i++) {
      readRootfsFile(rootfs, '/etc/passwd');
      readRootfsFile(rootfs, '/etc/missing');
      thrown(() => readRootfsFile(rootfs, '/etc'));
      thrown(() => readRootfsFile(rootfs, '/etc/group'));
    }
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });
});

function thrown(fn: () => unknown): RootfsFileError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RootfsFileError) return error;
    throw error;
  }
  throw new Error('expected a RootfsFileError, but nothing was thrown');
}
